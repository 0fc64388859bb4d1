// OpenSSL libcrypto, for SHA-256 at hardware speed (SHA-NI/AVX2): the transform digests every event row
// and its whole output, which the pure-Swift digest cannot keep up with.
#ifndef RETL_CRYPTO_SHIM_H
#define RETL_CRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/err.h>

/// The SHA-256 implementation of the default provider, fetched once by the caller.
static inline EVP_MD *_Nullable retl_crypto_fetch_sha256(void) {
    return EVP_MD_fetch(NULL, "SHA256", NULL);
}

#endif
