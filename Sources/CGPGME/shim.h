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

#endif
