// SQLite for Swift: SQLITE_TRANSIENT is a cast of -1 to a function pointer, which Swift cannot
// express; binding text through this wrapper makes SQLite copy the bytes before returning.
#ifndef RETL_SQLITE3_SHIM_H
#define RETL_SQLITE3_SHIM_H
#include <sqlite3.h>

static inline int retl_sqlite3_bind_text(sqlite3_stmt *_Nonnull stmt, int index, const char *_Nullable text,
                                         int byte_count) {
    return sqlite3_bind_text(stmt, index, text, byte_count, SQLITE_TRANSIENT);
}

static inline int retl_sqlite3_bind_blob(sqlite3_stmt *_Nonnull stmt, int index, const void *_Nullable bytes,
                                         int byte_count) {
    return sqlite3_bind_blob(stmt, index, bytes, byte_count, SQLITE_TRANSIENT);
}

// Extended result codes are macros built from other macros, which Swift does not import.
static inline int retl_sqlite3_constraint_notnull(void) { return SQLITE_CONSTRAINT_NOTNULL; }

#endif
