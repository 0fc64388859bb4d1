// GPGME for Swift: gpgme_check_version is a macro that also initialises the library's internals.
#ifndef RETL_GPGME_SHIM_H
#define RETL_GPGME_SHIM_H
#include <gpgme.h>

/// Initialises gpgme; returns its version text, or NULL when the library is older than `required`.
static inline const char *_Nullable retl_gpgme_check_version(const char *_Nullable required) {
    return gpgme_check_version(required);
}

/// gpgme_err_code and gpgme_err_source are inline functions over bit masks; exposed under stable names.
static inline unsigned int retl_gpgme_err_code(gpgme_error_t err) { return gpgme_err_code(err); }
static inline unsigned int retl_gpgme_err_source(gpgme_error_t err) { return gpgme_err_source(err); }

/// An error value a callback (the passphrase callback) returns to gpgme, from a gpg-error code.
static inline gpgme_error_t retl_gpgme_error(unsigned int code) {
    return gpgme_err_make(GPG_ERR_SOURCE_USER_1, (gpgme_err_code_t)code);
}

/// The decrypt result's bit fields, read in C so Swift never depends on their layout.
static inline int retl_gpgme_decrypt_legacy_nomdc(gpgme_decrypt_result_t _Nonnull result) {
    return result->legacy_cipher_nomdc;
}
static inline int retl_gpgme_decrypt_wrong_key_usage(gpgme_decrypt_result_t _Nonnull result) {
    return result->wrong_key_usage;
}

/// The key's and subkey's bit fields (expired, revoked, can_encrypt, secret), read in C for the same reason.
static inline int retl_gpgme_key_expired(gpgme_key_t _Nonnull key) { return key->expired; }
static inline int retl_gpgme_key_revoked(gpgme_key_t _Nonnull key) { return key->revoked; }
static inline int retl_gpgme_subkey_expired(gpgme_subkey_t _Nonnull subkey) { return subkey->expired; }
static inline int retl_gpgme_subkey_revoked(gpgme_subkey_t _Nonnull subkey) { return subkey->revoked; }
static inline int retl_gpgme_subkey_can_encrypt(gpgme_subkey_t _Nonnull subkey) { return subkey->can_encrypt; }
static inline int retl_gpgme_subkey_secret(gpgme_subkey_t _Nonnull subkey) { return subkey->secret; }

#endif
