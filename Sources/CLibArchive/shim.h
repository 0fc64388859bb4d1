// libarchive for Swift: the headers are importable as they are; this shim keeps one include point.
#ifndef RETL_LIBARCHIVE_SHIM_H
#define RETL_LIBARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>

/// The AE_IF* file-type macros are casts Swift cannot import; these classify an entry instead.
static inline int retl_archive_entry_is_regular(struct archive_entry *_Nonnull entry) {
    return archive_entry_filetype(entry) == AE_IFREG;
}
static inline int retl_archive_entry_is_directory(struct archive_entry *_Nonnull entry) {
    return archive_entry_filetype(entry) == AE_IFDIR;
}
static inline int retl_archive_entry_is_symlink(struct archive_entry *_Nonnull entry) {
    return archive_entry_filetype(entry) == AE_IFLNK;
}
#endif
