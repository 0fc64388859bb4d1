// GPGME for Swift: gpgme_check_version is a macro that also initialises the library's internals.
#ifndef RETL_GPGME_SHIM_H
#define RETL_GPGME_SHIM_H
#include <gpgme.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <errno.h>

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

/// Grows a pipe gpgme made to talk to gpg (Linux F_SETPIPE_SZ, which glibc hides without _GNU_SOURCE).
/// Returns the new size, or -1 (errno set) where the system refuses or does not know the request.
static inline int retl_gpgme_set_pipe_size(int fd, int size) {
#if defined(__linux__)
    return fcntl(fd, 1031 /* F_SETPIPE_SZ */, size);
#else
    (void)fd; (void)size;
    errno = ENOSYS;
    return -1;
#endif
}

/// Moves up to `length` bytes between a pipe and a file inside the kernel (Linux splice(2), called
/// through syscall(2) because glibc declares it only under _GNU_SOURCE). `nonblocking` adds
/// SPLICE_F_NONBLOCK for the pipe side. Returns bytes moved, 0 at end of input, -1 with errno
/// (EINVAL/ENOSYS where splicing is not possible: the caller falls back to read and write).
static inline long retl_gpgme_splice(int from, int to, unsigned long length, int nonblocking) {
#if defined(__linux__) && defined(SYS_splice)
    return syscall(SYS_splice, from, (void *)0, to, (void *)0, length, nonblocking ? 0x02u : 0u);
#else
    (void)from; (void)to; (void)length; (void)nonblocking;
    errno = ENOSYS;
    return -1;
#endif
}

#endif
