// libarchive for Swift: the headers are importable as they are; this shim keeps one include point.
#ifndef RETL_LIBARCHIVE_SHIM_H
#define RETL_LIBARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#endif
