/* Helpers behind the `tls` shell command (net/tls/cmds.c, echo.c). */
#ifndef SHOAL_TLS_CMDS_H
#define SHOAL_TLS_CMDS_H
#include <stdint.h>

/*
 * Poll the network and the TLS channels until cond(arg) is nonzero or ms pass. Returns 0, -ETIMEDOUT,
 * or -ECANCELED on Ctrl-C. For shell commands that wait.
 */
int tls_wait(int (*cond)(void *), void *arg, uint64_t ms);
/* Echo server on port for peers with key (identity id, NULL: default). Returns 0 or negative errno. */
int tls_echo_listen(uint16_t port, const char *key, const char *id);
/* Move the echo server's channels along (the shell loop calls it; so does tls_wait). Nonzero: did work. */
int tls_echo_poll(void);
/* Stop the echo server on port (its open channels go on until their peers close). 0 or -ENOENT. */
int tls_echo_stop(uint16_t port);
#endif
