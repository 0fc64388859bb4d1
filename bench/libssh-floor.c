/*
 * libssh-floor: the same measurement as libssh2-floor.c, on the other C SSH library in Debian (libssh 0.10,
 * package libssh-dev), for comparing the two libraries' cost per byte. Reads REMOTE over one session with
 * 64 pipelined 32 KiB requests in flight and throws the bytes away. Bench tooling only, for a server the
 * bench script started on 127.0.0.1; it does not check the host key. Not used by responsys-etl.
 *
 *   libssh-floor HOST PORT USER PRIVATE_KEY REMOTE SIZE
 *
 * Prints `seconds=… cpu_seconds=… cipher=…`.
 */
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

enum { REQUEST = 32 * 1024, IN_FLIGHT = 64 };

static double now_seconds(void) {
    struct timespec spec;
    clock_gettime(CLOCK_MONOTONIC, &spec);
    return (double)spec.tv_sec + (double)spec.tv_nsec / 1e9;
}

static int fail(const char *what, ssh_session session) {
    fprintf(stderr, "libssh-floor: %s: %s\n", what, session ? ssh_get_error(session) : "");
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: libssh-floor HOST PORT USER PRIVATE_KEY REMOTE SIZE\n");
        return 2;
    }
    long long size = atoll(argv[6]);
    unsigned int port = (unsigned int)atoi(argv[2]);
    double started = now_seconds();

    ssh_session session = ssh_new();
    ssh_options_set(session, SSH_OPTIONS_HOST, argv[1]);
    ssh_options_set(session, SSH_OPTIONS_PORT, &port);
    ssh_options_set(session, SSH_OPTIONS_USER, argv[3]);
    /* FLOOR_CIPHER: another server-to-client cipher (OpenSSH's names), e.g. aes128-gcm@openssh.com. */
    if (getenv("FLOOR_CIPHER")) ssh_options_set(session, SSH_OPTIONS_CIPHERS_S_C, getenv("FLOOR_CIPHER"));
    if (ssh_connect(session) != SSH_OK) return fail("connect", session);
    ssh_key key = NULL;
    if (ssh_pki_import_privkey_file(argv[4], NULL, NULL, NULL, &key) != SSH_OK) return fail("key", session);
    if (ssh_userauth_publickey(session, NULL, key) != SSH_AUTH_SUCCESS) return fail("auth", session);
    sftp_session sftp = sftp_new(session);
    if (!sftp || sftp_init(sftp) != SSH_OK) return fail("sftp", session);
    sftp_file file = sftp_open(sftp, argv[5], 0 /* O_RDONLY */, 0);
    if (!file) return fail("open", session);

    /* A ring of outstanding requests: each answer read is replaced by a request further on. */
    char *buffer = malloc(REQUEST);
    int ids[IN_FLIGHT];
    long long requested = 0, received = 0;
    int head = 0, pending = 0;
    while (pending < IN_FLIGHT && requested < size) {
        ids[(head + pending) % IN_FLIGHT] = sftp_async_read_begin(file, REQUEST);
        requested += REQUEST;
        pending++;
    }
    while (pending > 0) {
        int count = sftp_async_read(file, buffer, REQUEST, (uint32_t)ids[head]);
        if (count < 0) return fail("read", session);
        received += count;
        head = (head + 1) % IN_FLIGHT;
        pending--;
        if (requested < size) {
            ids[(head + pending) % IN_FLIGHT] = sftp_async_read_begin(file, REQUEST);
            requested += REQUEST;
            pending++;
        }
    }
    double seconds = now_seconds() - started;
    if (received != size) {
        fprintf(stderr, "libssh-floor: read %lld bytes of %lld\n", received, size);
        return 1;
    }
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
                 (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
    printf("seconds=%.3f cpu_seconds=%.3f cipher=%s\n", seconds, cpu, ssh_get_cipher_in(session));
    free(buffer);
    sftp_close(file);
    sftp_free(sftp);
    ssh_key_free(key);
    ssh_disconnect(session);
    ssh_free(session);
    return 0;
}
