/*
 * relay.h - `pcp relay`: the rendezvous API and relay pipes on one port.
 *
 * The wire protocol is in core/PROTOCOL.md ("Rendezvous and relay"). HTTP
 * goes through libmicrohttpd (one epoll thread); upgraded pipes move
 * through our own epoll + splice() loop (pump.c); one more thread keeps
 * time (expiry, long-poll deadlines, idle pipes). Nothing here prints
 * except through the log callback in the configuration.
 */
#ifndef PCP_RELAY_H
#define PCP_RELAY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct relay_limits {
    unsigned max_rooms;    /* rooms open at once (waiting or paired) */
    unsigned max_records;  /* rendezvous records held at once */
    unsigned max_conns;    /* HTTP connections at once, pipes included */
    unsigned per_ip_conns; /* connections at once from one address */
    unsigned per_ip_rooms; /* rooms and records at once for one address */
    unsigned ipv6_prefix;  /* IPv6 addresses count per this prefix (32..128) */
    unsigned arrival_s;    /* how long a lone peer waits for the other */
    unsigned idle_s;       /* a pipe with no traffic this long is closed */
    unsigned request_s;    /* an HTTP request idle this long is dropped */
    uint64_t room_bytes;   /* bytes one room may relay; 0 = no cap */
    uint64_t room_rate;    /* bytes per second per room; 0 = no cap */
    size_t conn_memory;    /* bytes of request buffer per connection */
};

struct relay_config {
    char listen[128]; /* "PORT", "ADDR:PORT" or "[V6]:PORT"; default "9474" */
    char token[256];  /* "" = public relay */
    unsigned drain_s; /* on SIGTERM, how long open pipes may finish */
    struct relay_limits lim;
};

/* Defaults for everything. */
void relay_config_default(struct relay_config *c);

/* Apply "key = value" lines (# comments, blank lines) over *c. Keys:
 * listen, token, drain, max-rooms, max-records, max-conns, per-ip-conns,
 * per-ip-rooms, ipv6-prefix, arrival-timeout, idle-timeout,
 * request-timeout, room-bytes, room-rate, conn-memory. On error returns PCP_ERR_INVAL and
 * puts "line N: what" into err. */
int relay_config_parse(struct relay_config *c, const char *text, size_t len, char *err,
                       size_t errlen);

/* Set one key as in a config line (also for command-line flags). */
int relay_config_set(struct relay_config *c, const char *key, const char *value, char *err,
                     size_t errlen);

struct relay;

/* Control from signal handlers: set *stop to drain and exit, *reload to
 * re-read the configuration through the reload callback. */
struct relay_hooks {
    volatile sig_atomic_t *stop;
    volatile sig_atomic_t *reload;
    /* Fill *c anew (config file + flags); non-zero keeps the old one. */
    int (*reload_config)(void *ud, struct relay_config *c);
    /* One line of log (no newline); may be NULL. */
    void (*log)(void *ud, const char *line);
    /* Called once listening, with the bound port. */
    void (*ready)(void *ud, uint16_t port);
    void *ud;
};

/* Run until *hooks->stop: listen, serve, drain. Returns 0 or a negative
 * enum pcp_err (PCP_ERR_NET when the port cannot be bound). */
int relay_run(const struct relay_config *c, const struct relay_hooks *hooks);

#endif
