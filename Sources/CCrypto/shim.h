// OpenSSL libcrypto, for SHA-256 at hardware speed (SHA-NI/AVX2): the transform digests every event row
// and its whole output, which the pure-Swift digest cannot keep up with.
#ifndef RETL_CRYPTO_SHIM_H
#define RETL_CRYPTO_SHIM_H
// The low-level SHA256_* calls are deprecated in OpenSSL 3 in favour of EVP, but EVP (and the one-shot
// SHA256(), built on it) costs a provider lookup, a lock and an allocation per message, which dominates for
// the ~200-byte messages of event ids; the low-level calls are still supported and use the same SHA code.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/sha.h>

/// The SHA-256 implementation of the default provider, fetched once by the caller.
static inline EVP_MD *_Nullable retl_crypto_fetch_sha256(void) {
    return EVP_MD_fetch(NULL, "SHA256", NULL);
}

/// SHA-256 of `count` bytes into the 32 bytes at `digest`.
static inline void retl_crypto_sha256(const void *_Nonnull bytes, size_t count, unsigned char *_Nonnull digest) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, bytes, count);
    SHA256_Final(digest, &context);
}

#endif
