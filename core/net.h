/*
 * net.h - small, honest socket helpers: listen, race connects, read and
 * write whole buffers with a deadline. Each returns 0 or a negative
 * enum pcp_err and keeps errno; nothing here prints.
 */
#ifndef PCP_NET_H
#define PCP_NET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Listen on every address, IPv6 and IPv4 in one socket where the system
 * allows it; port 0 picks one. */
/* Milliseconds on the monotonic clock. */
int64_t net_now_ms(void);

int net_listen(uint16_t port, int *fd_out, uint16_t *port_out);
/* The same with SO_REUSEPORT, so that net_dial_from() may use the port too
 * (hole punching: one local port for the listener, the rendezvous
 * connection and every punch). */
int net_listen_shared(uint16_t port, int *fd_out, uint16_t *port_out);

/* A non-blocking connect to `to` from local_port (0: any; else shared
 * with SO_REUSEADDR and SO_REUSEPORT), in progress: poll for POLLOUT,
 * then SO_ERROR. */
int net_dial_from(const struct sockaddr_storage *to, uint16_t local_port, int *fd_out);
/* Close with a reset (SO_LINGER 0): a half-made punch attempt must not
 * keep its address pair busy. */
void net_abort(int fd);
/* Make a connected socket from net_dial_from() or accept blocking and
 * tuned like the others. */
void net_ready(int fd);

/* Wait up to timeout_ms for a connection; PCP_ERR_TIMEOUT when none came.
 * `cancel` (may be NULL) is polled. */
int net_accept(int lfd, int timeout_ms, const atomic_int *cancel, int *fd_out,
               struct sockaddr_storage *peer);

/* Dial every address (from local_port, 0: any), each started stagger_ms
 * after the previous one (Happy Eyeballs), and keep the first that
 * connects; the others are closed. */
int net_connect_race(const struct sockaddr_storage *addrs, size_t n, uint16_t local_port,
                     int stagger_ms, int timeout_ms, const atomic_int *cancel, int *fd_out,
                     struct sockaddr_storage *peer);

/* Apply a stall timeout to blocking reads and writes (0 = none). */
int net_set_timeout(int fd, int timeout_ms);

/* Wait until fd is ready for `events` (POLLIN, POLLOUT) or the deadline
 * (net_now_ms()'s clock) has passed: 0 (also for an error or hang-up,
 * which the next read or write reports), PCP_ERR_TIMEOUT, PCP_ERR_NET. */
int net_wait_by(int fd, short events, int64_t deadline_ms);
/* Switch O_NONBLOCK on or off; *was (may be NULL) gets whether it was on. */
int net_set_nonblock(int fd, int on, int *was);

int net_write_all(int fd, const void *p, size_t n);
int net_read_all(int fd, void *p, size_t n);

/* "192.0.2.1", "2001:db8::1", "fe80::1%eth0"; with_port gives
 * "192.0.2.1:80" and "[2001:db8::1]:80" (v4-mapped addresses print as v4). */
void net_addr_str(const struct sockaddr_storage *ss, int with_port, char *out, size_t outlen);

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes AF_INET, port kept;
 * anything else stays as it is. */
void net_addr_unmap(struct sockaddr_storage *ss);

/* Same family and address (and IPv6 scope), and with_port the same port. */
int net_addr_same(const struct sockaddr_storage *x, const struct sockaddr_storage *y,
                  int with_port);

/* 1 when the address is loopback, link-local or private (RFC 1918, ULA). */
int net_addr_is_local(const struct sockaddr_storage *ss);

/* "a.b.c.d:PORT" or "[v6]:PORT" (s[0..len), no NUL needed), PORT 1..65535,
 * into *out (a relay's observed address, a DHT record's address).
 * PCP_ERR_PROTO otherwise. */
int net_addr_parse(const char *s, size_t len, struct sockaddr_storage *out);

#endif
