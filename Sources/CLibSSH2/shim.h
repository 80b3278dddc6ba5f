/* Plain functions over libssh2's function-like macros, so Swift can call them.
 * Every name starts with golive_ssh2_. No logic beyond forwarding. */
#ifndef GOLIVE_CLIBSSH2_SHIM_H
#define GOLIVE_CLIBSSH2_SHIM_H

#include <libssh2.h>
#include <libssh2_sftp.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#define GOLIVE_SSH2_CHANNEL_WINDOW_DEFAULT (2 * 1024 * 1024)

static inline LIBSSH2_SESSION *golive_ssh2_session_init(void) {
    return libssh2_session_init_ex(NULL, NULL, NULL, NULL);
}

static inline int golive_ssh2_session_disconnect(LIBSSH2_SESSION *s, const char *description) {
    return libssh2_session_disconnect(s, description);
}

static inline int golive_ssh2_userauth_publickey_fromfile(LIBSSH2_SESSION *s, const char *user,
                                                          const char *pubkey, const char *privkey,
                                                          const char *passphrase) {
    return libssh2_userauth_publickey_fromfile(s, user, pubkey, privkey, passphrase);
}

static inline int golive_ssh2_userauth_password(LIBSSH2_SESSION *s, const char *user, const char *password) {
    return libssh2_userauth_password(s, user, password);
}

static inline LIBSSH2_CHANNEL *golive_ssh2_channel_open_session(LIBSSH2_SESSION *s) {
    return libssh2_channel_open_session(s);
}

static inline LIBSSH2_CHANNEL *golive_ssh2_channel_direct_tcpip(LIBSSH2_SESSION *s, const char *host, int port) {
    return libssh2_channel_direct_tcpip(s, host, port);
}

static inline int golive_ssh2_channel_exec(LIBSSH2_CHANNEL *c, const char *command) {
    return libssh2_channel_exec(c, command);
}

static inline ssize_t golive_ssh2_channel_read(LIBSSH2_CHANNEL *c, char *buf, size_t len) {
    return libssh2_channel_read(c, buf, len);
}

static inline ssize_t golive_ssh2_channel_read_stderr(LIBSSH2_CHANNEL *c, char *buf, size_t len) {
    return libssh2_channel_read_stderr(c, buf, len);
}

static inline ssize_t golive_ssh2_channel_write(LIBSSH2_CHANNEL *c, const char *buf, size_t len) {
    return libssh2_channel_write(c, buf, len);
}

static inline int golive_ssh2_channel_close(LIBSSH2_CHANNEL *c) {
    return libssh2_channel_close(c);
}

static inline LIBSSH2_SFTP_HANDLE *golive_ssh2_sftp_open(LIBSSH2_SFTP *sftp, const char *path,
                                                        unsigned long flags, long mode) {
    return libssh2_sftp_open(sftp, path, flags, mode);
}

static inline int golive_ssh2_sftp_close(LIBSSH2_SFTP_HANDLE *h) {
    return libssh2_sftp_close(h);
}

static inline int golive_ssh2_sftp_unlink(LIBSSH2_SFTP *sftp, const char *path) {
    return libssh2_sftp_unlink(sftp, path);
}

/* libssh2_session_hostkey()'s type (RSA=1 ... ED25519=6) to the LIBSSH2_KNOWNHOST_KEY_* bits. */
static inline int golive_ssh2_knownhost_keybits(int hostkey_type) {
    switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
    default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
    }
}

/* The message of the session's last error, or "" when there is none. */
static inline const char *golive_ssh2_last_error_message(LIBSSH2_SESSION *s) {
    char *msg = NULL;
    int len = 0;
    libssh2_session_last_error(s, &msg, &len, 0);
    return msg ? msg : "";
}

#endif
