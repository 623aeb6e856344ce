/*
 * tls.h - TLS to an https:// relay, under a plain descriptor (tls.c).
 */
#ifndef PCP_TLS_H
#define PCP_TLS_H

#include <stdatomic.h>

/* Make a TLS connection over the connected socket fd, verifying that the
 * certificate names host (the system's CAs, or the file in PCP_RELAY_CA),
 * and return in *app_fd a descriptor that carries the plaintext both ways;
 * fd then belongs to a thread that ends when both directions are done.
 * On error fd is still the caller's: PCP_ERR_TLS (no TLS, or a certificate
 * that does not verify), PCP_ERR_TIMEOUT, PCP_ERR_CANCELLED, PCP_ERR_NET. */
int tls_wrap(int fd, const char *host, int timeout_ms, const atomic_int *cancel, int *app_fd);

#endif
