/* Plain functions over OpenSSL's libcrypto, so Swift can call them. No logic beyond forwarding. */
#ifndef GOLIVE_CSYSTEM_SHIM_H
#define GOLIVE_CSYSTEM_SHIM_H

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stddef.h>

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
