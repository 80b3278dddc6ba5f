/* Plain functions over OpenSSL's libcrypto and glibc, so Swift can call them: forwarding, and the
   socket calls whose C macros Swift cannot use (CMSG_*, sockaddr_un). */
#ifndef GOLIVE_CGOLIVESYSTEM_SHIM_H
#define GOLIVE_CGOLIVESYSTEM_SHIM_H

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <fcntl.h>
#include <spawn.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <unistd.h>

/* glibc's pipe2 (declared only under _GNU_SOURCE): a pipe whose ends close on exec. */
extern int pipe2(int pipefd[2], int flags);

static inline int golive_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

/* glibc 2.34+: the child closes every descriptor from `low` up (declared only under _GNU_SOURCE). */
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int low);

static inline int golive_spawn_close_from(posix_spawn_file_actions_t *actions, int low) {
    return posix_spawn_file_actions_addclosefrom_np(actions, low);
}

/* Sends one descriptor over a Unix socket (one data byte carrying SCM_RIGHTS), as OpenSSH's
   mm_send_fd does. 0 on success, -1 with errno. */
static inline int golive_send_fd(int sock, int fd) {
    char byte = 0;
    struct iovec vec = { &byte, 1 };
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int))]; } control;
    memset(&control, 0, sizeof(control));
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_iov = &vec;
    message.msg_iovlen = 1;
    message.msg_control = control.space;
    message.msg_controllen = sizeof(control.space);
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof(int));
    ssize_t sent;
    do { sent = sendmsg(sock, &message, MSG_NOSIGNAL); } while (sent < 0 && errno == EINTR);
    return sent == 1 ? 0 : -1;
}

/* Connects a new non-blocking, close-on-exec Unix stream socket to `path`; the socket, or -1 with errno. */
static inline int golive_connect_unix(const char *path) {
    struct sockaddr_un address;
    memset(&address, 0, sizeof(address));
    address.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(address.sun_path)) { errno = ENAMETOOLONG; return -1; }
    strcpy(address.sun_path, path);
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return -1;
    if (connect(sock, (struct sockaddr *)&address, sizeof(address)) != 0) { int saved = errno; close(sock); errno = saved; return -1; }
    int flags = fcntl(sock, F_GETFL);
    fcntl(sock, F_SETFL, flags | O_NONBLOCK);
    return sock;
}

/* SHA-256 of a buffer (32 bytes out). */
static inline void golive_sha256(const void *data, size_t len, unsigned char *out) {
    SHA256((const unsigned char *)data, len, out);
}

/* HMAC-SHA1 (20 bytes out), as used by hashed known_hosts entries. */
static inline void golive_hmac_sha1(const void *key, int keylen, const void *data, size_t len, unsigned char *out) {
    unsigned int outlen = 20;
    HMAC(EVP_sha1(), key, keylen, (const unsigned char *)data, len, out, &outlen);
}

static inline void golive_hmac_sha256(const void *key, int keylen, const void *data, size_t len, unsigned char *out) {
    unsigned int outlen = 32;
    HMAC(EVP_sha256(), key, keylen, (const unsigned char *)data, len, out, &outlen);
}

#endif
