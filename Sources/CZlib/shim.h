// zlib for Swift: inflateInit2/deflateInit2 are macros that pass the library version and the
// stream size; wrapped so the checks they perform still happen.
#ifndef RETL_ZLIB_SHIM_H
#define RETL_ZLIB_SHIM_H
#include <zlib.h>

static inline int retl_inflate_init2(z_streamp _Nonnull stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}

static inline int retl_deflate_init2(z_streamp _Nonnull stream, int level, int window_bits) {
    return deflateInit2(stream, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
}

#endif
