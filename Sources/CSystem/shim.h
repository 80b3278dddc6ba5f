/* Plain functions over OpenSSL's libcrypto and glibc, so Swift can call them. No logic beyond forwarding. */
#ifndef GOLIVE_CSYSTEM_SHIM_H
#define GOLIVE_CSYSTEM_SHIM_H

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <fcntl.h>
#include <spawn.h>
#include <stddef.h>

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

/* SHA-256 of a buffer (32 bytes out). */
static inline void golive_sha256(const void *data, size_t len, unsigned char *out) {
    SHA256((const unsigned char *)data, len, out);
}

/* HMAC-SHA1 (20 bytes out), as used by hashed known_hosts entries. */
static inline void golive_hmac_sha1(const void *key, int keylen, const void *data, size_t len, unsigned char *out) {
    unsigned int outlen = 20;
    HMAC(EVP_sha1(), key, keylen, (const unsigned char *)data, len, out, &outlen);
}

#endif
