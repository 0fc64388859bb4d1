/*
 * libssh2-floor: the fastest a libssh2 client can read one file over SFTP on this machine, doing nothing else.
 *
 * Reads REMOTE over CONNECTIONS sessions at once (each its own byte range and thread), with the same
 * pipelined libssh2_sftp_read into a large buffer as responsys-etl, but writes nothing to disk and hashes
 * nothing: the bytes are thrown away. bench/sftp-download.sh runs it beside OpenSSH's sftp, so its time is
 * the floor under any libssh2-based download here (responsys-etl's included). Bench tooling only, for a
 * server the bench script started on 127.0.0.1; it does not check the host key.
 *
 *   libssh2-floor HOST PORT USER PRIVATE_KEY REMOTE SIZE CONNECTIONS
 *
 * Prints `seconds=… cpu_seconds=…` (wall time, and user + system CPU of this process). FLOOR_CIPHER and
 * FLOOR_MAC (libssh2's algorithm names) try other algorithms; the server must offer them.
 */
#include <arpa/inet.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { READ_BUFFER = 2 << 20 };

struct range_job {
    const char *host, *user, *key, *remote;
    int port;
    long long start, end;
    int failed;
};

static double now_seconds(void) {
    struct timespec spec;
    clock_gettime(CLOCK_MONOTONIC, &spec);
    return (double)spec.tv_sec + (double)spec.tv_nsec / 1e9;
}

static int fail(struct range_job *job, const char *what) {
    fprintf(stderr, "libssh2-floor: %s\n", what);
    job->failed = 1;
    return 1;
}

/* One session: connect, authenticate, read [start, end) and discard it. */
static void *read_range(void *argument) {
    struct range_job *job = argument;
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)job->port)};
    inet_pton(AF_INET, job->host, &address.sin_addr);
    if (connect(sock, (struct sockaddr *)&address, sizeof address) != 0) {
        fail(job, "cannot connect");
        return NULL;
    }
    LIBSSH2_SESSION *session = libssh2_session_init();
    /* FLOOR_CIPHER / FLOOR_MAC: try other algorithms (libssh2's names), e.g. aes128-cbc, hmac-sha1. */
    if (session && getenv("FLOOR_CIPHER"))
        libssh2_session_method_pref(session, LIBSSH2_METHOD_CRYPT_SC, getenv("FLOOR_CIPHER"));
    if (session && getenv("FLOOR_MAC"))
        libssh2_session_method_pref(session, LIBSSH2_METHOD_MAC_SC, getenv("FLOOR_MAC"));
    if (!session || libssh2_session_handshake(session, sock) != 0) {
        fail(job, "handshake failed");
        return NULL;
    }
    if (libssh2_userauth_publickey_fromfile(session, job->user, NULL, job->key, NULL) != 0) {
        fail(job, "authentication failed");
        return NULL;
    }
    LIBSSH2_SFTP *sftp = libssh2_sftp_init(session);
    LIBSSH2_SFTP_HANDLE *file = sftp ? libssh2_sftp_open(sftp, job->remote, LIBSSH2_FXF_READ, 0) : NULL;
    if (!file) {
        fail(job, "cannot open the remote file");
        return NULL;
    }
    libssh2_sftp_seek64(file, (libssh2_uint64_t)job->start);
    char *buffer = malloc(READ_BUFFER);
    long long offset = job->start;
    while (offset < job->end) {
        long long want = job->end - offset < READ_BUFFER ? job->end - offset : READ_BUFFER;
        ssize_t count = libssh2_sftp_read(file, buffer, (size_t)want);
        if (count <= 0) {
            fail(job, "read failed or ended early");
            break;
        }
        offset += count;
    }
    free(buffer);
    libssh2_sftp_close(file);
    libssh2_sftp_shutdown(sftp);
    libssh2_session_disconnect(session, "done");
    libssh2_session_free(session);
    close(sock);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: libssh2-floor HOST PORT USER PRIVATE_KEY REMOTE SIZE CONNECTIONS\n");
        return 2;
    }
    long long size = atoll(argv[6]);
    int connections = atoi(argv[7]);
    if (connections < 1 || connections > 16 || size <= 0) {
        fprintf(stderr, "libssh2-floor: SIZE must be positive and CONNECTIONS 1 to 16\n");
        return 2;
    }
    libssh2_init(0);
    struct range_job jobs[16];
    pthread_t threads[16];
    double started = now_seconds();
    for (int index = 0; index < connections; index++) {
        jobs[index] = (struct range_job){
            .host = argv[1], .port = atoi(argv[2]), .user = argv[3], .key = argv[4], .remote = argv[5],
            .start = size * index / connections, .end = size * (index + 1) / connections,
        };
        pthread_create(&threads[index], NULL, read_range, &jobs[index]);
    }
    int failed = 0;
    for (int index = 0; index < connections; index++) {
        pthread_join(threads[index], NULL);
        failed |= jobs[index].failed;
    }
    double seconds = now_seconds() - started;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
                 (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
    if (failed) return 1;
    printf("seconds=%.3f cpu_seconds=%.3f\n", seconds, cpu);
    libssh2_exit();
    return 0;
}
