/*
 * punch.h - after a handshake through the relay, try to replace the relayed
 * connection by a direct one: TCP simultaneous open through both NATs,
 * coordinated by the relay (core/PROTOCOL.md, "Direct connections").
 */
#ifndef PCP_PUNCH_H
#define PCP_PUNCH_H

#include <stdint.h>
#include <sys/socket.h>

#include "rv.h"
#include "stream.h"

/* Made when a transfer may come to need it (the sender starts waiting, the
 * receiver starts looking): the listener for the punch, on a fresh port
 * shared with the punch's dials, and the router's mapping of that port,
 * attempted meanwhile in a thread. */
struct portmap;
struct punch_prep {
    int lfd;
    uint16_t port;
    struct portmap *pm;
};
int punch_prepare(struct punch_prep *pr, int map);
/* Close the listener (unless punch_upgrade took it), remove the mapping. */
void punch_prep_end(struct punch_prep *pr);

struct punch_params {
    const struct rv_client *relay;
    int receiver;           /* 1: the receiver, which decides; 0: the sender */
    int try_direct;         /* receiver: 0 keeps the relay without trying */
    const uint8_t *tx, *rx; /* the session's traffic keys (32 bytes each) */
    int relay_fd;           /* the relayed connection, handshake done */
    struct frame_reader *relay_fr;
    struct punch_prep *prep; /* or NULL: a listener is made on the spot */
};

struct punch_result {
    int fd;                       /* the connection to go on with: relay_fd or a direct one */
    const char *path;             /* "relayed", "direct" or "punched" */
    struct sockaddr_storage peer; /* for a direct one */
    unsigned attempts;            /* connection attempts made */
    const char *portmap;          /* how our port was mapped: "natpmp", "upnp", "none" */
    int ms;                       /* how long the whole try took */
};

/* Both sides call this right after the handshake over the relay. res->fd
 * is then the connection to go on with, and relay_fr reads it: relay_fd
 * (the relay stays), or a direct connection whose far end has proven the
 * session keys (relay_fd is then closed); -1 when it failed after closing
 * relay_fd. Errors: the relayed connection failed (PCP_ERR_CLOSED,
 * PCP_ERR_TIMEOUT, PCP_ERR_PROTO), or PCP_ERR_NOMEM. */
int punch_upgrade(const struct punch_params *pp, struct punch_result *res);

/* Exposed for tests and fuzzing: the plaintext of a side's sealed
 * candidates, "m=ADDR:PORT" (its port mapped by its router) and
 * "v6=[ADDR]:PORT" (a global IPv6 address) lines, at most PUNCH_MAX_CANDS
 * kept; the rest and unknown lines are ignored. Returns how many it put
 * in out, or PCP_ERR_PROTO for malformed text. */
#define PUNCH_MAX_CANDS 4
struct punch_cand {
    struct sockaddr_storage addr;
    int mapped;
};
int punch_cands_parse(const char *text, size_t len, struct punch_cand *out);

#endif
