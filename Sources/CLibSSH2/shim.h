// libssh2 for Swift: the library's convenience calls are macros over *_ex functions, which Swift
// cannot import. These wrappers take explicit UTF-8 byte lengths, computed here with strlen, so a
// caller never passes a character count.
#ifndef RETL_LIBSSH2_SHIM_H
#define RETL_LIBSSH2_SHIM_H
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <openssl/evp.h>
#include <string.h>

static inline LIBSSH2_SESSION *_Nullable retl_ssh2_session_init(void) {
    return libssh2_session_init_ex(NULL, NULL, NULL, NULL);
}

static inline int retl_ssh2_session_disconnect(LIBSSH2_SESSION *_Nonnull session, const char *_Nonnull reason) {
    return libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, reason, "");
}

static inline char *_Nullable retl_ssh2_userauth_list(LIBSSH2_SESSION *_Nonnull session,
                                                     const char *_Nonnull username) {
    return libssh2_userauth_list(session, username, (unsigned int)strlen(username));
}

static inline int retl_ssh2_userauth_publickey_fromfile(LIBSSH2_SESSION *_Nonnull session,
                                                        const char *_Nonnull username,
                                                        const char *_Nullable publickey,
                                                        const char *_Nonnull privatekey,
                                                        const char *_Nullable passphrase) {
    return libssh2_userauth_publickey_fromfile_ex(session, username, (unsigned int)strlen(username), publickey,
                                                  privatekey, passphrase);
}

static inline int retl_ssh2_userauth_publickey_frommemory(LIBSSH2_SESSION *_Nonnull session,
                                                          const char *_Nonnull username,
                                                          const char *_Nonnull privatekey, size_t privatekey_len,
                                                          const char *_Nullable passphrase) {
    return libssh2_userauth_publickey_frommemory(session, username, strlen(username), NULL, 0, privatekey,
                                                 privatekey_len, passphrase);
}

static inline LIBSSH2_SFTP_HANDLE *_Nullable retl_sftp_open(LIBSSH2_SFTP *_Nonnull sftp, const char *_Nonnull path,
                                                            unsigned long flags, long mode) {
    return libssh2_sftp_open_ex(sftp, path, (unsigned int)strlen(path), flags, mode, LIBSSH2_SFTP_OPENFILE);
}

static inline LIBSSH2_SFTP_HANDLE *_Nullable retl_sftp_opendir(LIBSSH2_SFTP *_Nonnull sftp,
                                                               const char *_Nonnull path) {
    return libssh2_sftp_open_ex(sftp, path, (unsigned int)strlen(path), 0, 0, LIBSSH2_SFTP_OPENDIR);
}

static inline int retl_sftp_readdir(LIBSSH2_SFTP_HANDLE *_Nonnull handle, char *_Nonnull buffer, size_t buffer_len,
                                    char *_Nullable longentry, size_t longentry_len,
                                    LIBSSH2_SFTP_ATTRIBUTES *_Nonnull attrs) {
    return libssh2_sftp_readdir_ex(handle, buffer, buffer_len, longentry, longentry_len, attrs);
}

static inline int retl_sftp_close(LIBSSH2_SFTP_HANDLE *_Nonnull handle) { return libssh2_sftp_close_handle(handle); }

static inline int retl_sftp_stat(LIBSSH2_SFTP *_Nonnull sftp, const char *_Nonnull path,
                                 LIBSSH2_SFTP_ATTRIBUTES *_Nonnull attrs) {
    return libssh2_sftp_stat_ex(sftp, path, (unsigned int)strlen(path), LIBSSH2_SFTP_STAT, attrs);
}

static inline int retl_sftp_lstat(LIBSSH2_SFTP *_Nonnull sftp, const char *_Nonnull path,
                                  LIBSSH2_SFTP_ATTRIBUTES *_Nonnull attrs) {
    return libssh2_sftp_stat_ex(sftp, path, (unsigned int)strlen(path), LIBSSH2_SFTP_LSTAT, attrs);
}

static inline int retl_sftp_fstat(LIBSSH2_SFTP_HANDLE *_Nonnull handle, LIBSSH2_SFTP_ATTRIBUTES *_Nonnull attrs) {
    return libssh2_sftp_fstat_ex(handle, attrs, 0);
}

static inline int retl_sftp_rename(LIBSSH2_SFTP *_Nonnull sftp, const char *_Nonnull from, const char *_Nonnull to) {
    return libssh2_sftp_rename_ex(sftp, from, (unsigned int)strlen(from), to, (unsigned int)strlen(to),
                                  LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
                                      LIBSSH2_SFTP_RENAME_NATIVE);
}

static inline int retl_sftp_unlink(LIBSSH2_SFTP *_Nonnull sftp, const char *_Nonnull path) {
    return libssh2_sftp_unlink_ex(sftp, path, (unsigned int)strlen(path));
}

static inline int retl_sftp_mkdir(LIBSSH2_SFTP *_Nonnull sftp, const char *_Nonnull path, long mode) {
    return libssh2_sftp_mkdir_ex(sftp, path, (unsigned int)strlen(path), mode);
}

static inline void retl_sftp_seek(LIBSSH2_SFTP_HANDLE *_Nonnull handle, libssh2_uint64_t offset) {
    libssh2_sftp_seek64(handle, offset);
}

#if defined(__linux__)
#include <fcntl.h>
/// Starts writeback of a byte range of a file being downloaded, without waiting (Linux). <fcntl.h> declares
/// sync_file_range only under _GNU_SOURCE, which a module header cannot set for the system modules.
#ifndef SYNC_FILE_RANGE_WRITE
#define SYNC_FILE_RANGE_WRITE 2
extern int sync_file_range(int fd, __off64_t offset, __off64_t nbytes, unsigned int flags);
#endif
static inline int retl_start_writeback(int fd, long long offset, long long length) {
    return sync_file_range(fd, (__off64_t)offset, (__off64_t)length, SYNC_FILE_RANGE_WRITE);
}
#endif

/// The attribute flags and file-type bits are macros too; constants Swift can read.
static const unsigned long RETL_SFTP_ATTR_SIZE = LIBSSH2_SFTP_ATTR_SIZE;
static const unsigned long RETL_SFTP_ATTR_ACMODTIME = LIBSSH2_SFTP_ATTR_ACMODTIME;
static const unsigned long RETL_SFTP_ATTR_PERMISSIONS = LIBSSH2_SFTP_ATTR_PERMISSIONS;
static const unsigned long RETL_SFTP_S_IFMT = LIBSSH2_SFTP_S_IFMT;
static const unsigned long RETL_SFTP_S_IFREG = LIBSSH2_SFTP_S_IFREG;
static const unsigned long RETL_SFTP_S_IFLNK = LIBSSH2_SFTP_S_IFLNK;
static const unsigned long RETL_SFTP_S_IFDIR = LIBSSH2_SFTP_S_IFDIR;

#endif
