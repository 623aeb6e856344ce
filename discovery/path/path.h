/*
 * path.h - from a code to a proven connection: the connection room.
 *
 * The sender offers (path_offer: the LAN listener and its mDNS
 * announcement, a relay room and its record, the DHT's mailbox) and accepts
 * (path_accept: handshakes with whoever comes, several at once, each with
 * a deadline, wrong guesses backed off and bounded, then the punch upgrade
 * when the winner came through the relay). The receiver connects
 * (path_connect: mDNS, the DHT and the relay asked at once, what they find
 * tried in turn, the punch upgrade when the one that answered is relayed).
 *
 * The room also holds what those connections are made of: the relay's
 * HTTP client, rendezvous records and pipes (rv.h), TLS to an https://
 * relay (tls.h), hole punching (punch.h) and port mapping (portmap.h);
 * only this folder and the tests use those headers.
 *
 * Nothing here prints or exits: progress and questions reach the caller
 * through cfg->event and cfg->ask_new_code, failures as an enum pcp_err
 * with path_why saying where. The finders, the dialling and the upgrade
 * are a table (struct path_ops) that a test replaces.
 */
#ifndef PCP_PATH_H
#define PCP_PATH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dht.h"
#include "discovery.h"
#include "rv.h"
#include "stream.h"

/* PATH_MAX_WRONG wrong guesses spend a code: with a 4-word code (33 bits
 * of password) a guesser's chance is at most 20 / 2^33, about 2.3e-9. */
#define PATH_MAX_WRONG 20
/* The receiver tries at most this many candidates. */
#define PATH_MAX_TRIES 6
#define PATH_MAX_ROOMS 4

struct pcp_code;

/* How the receiver's attempt through the DHT's mailboxes went. */
struct path_dht {
    int reachable;  /* 1 a node stored our first message, 0 none did, -1 not known */
    int answered;   /* a sender answered in the mailbox */
    int proven;     /* ... and the code checked both ways */
    unsigned dials; /* the punch's connection attempts */
    int ms;         /* how long the attempt took */
};

/* What a candidate that failed did (receiver). */
struct path_try {
    const char *via; /* "mdns", "dht", "relay" */
    char peer[96];   /* the address dialled (or the first one), or the room */
    int connected;   /* 1: err is the handshake's, 0: the connection's */
    int err;
};

enum path_event_kind {
    PATH_EV_DHT_JOIN_FAILED, /* sender: err; going on without the DHT */
    PATH_EV_RELAY_WARN,      /* sender: the relay failed (err), first time only */
    PATH_EV_RELAY_NEXT,      /* sender: it failed twice (err): waiting at text now */
    PATH_EV_WRONG_GUESS,     /* sender: attempt of max, from text, wait_s, relayed */
    PATH_EV_NEW_CODE,        /* sender: text is the new code, announced */
    PATH_EV_TRIED,           /* receiver: the candidate `tried` failed */
    PATH_EV_DHT_LOOKUP,      /* receiver: the attempt through the DHT ended: dht, err */
};

struct path_event {
    enum path_event_kind kind;
    int err;
    const char *text;
    int attempt, max, wait_s, relayed;
    const struct path_try *tried;
    const struct path_dht *dht;
};

/* Where it failed, for the caller's message. */
enum path_stage {
    PATH_STAGE_NONE,
    PATH_STAGE_SYS,        /* a pipe or a thread could not be made: sys_errno */
    PATH_STAGE_LISTEN,     /* sender: the TCP port */
    PATH_STAGE_MDNS,       /* announcing or looking on the LAN */
    PATH_STAGE_RELAY,      /* sender: the relay refused the record; receiver: no thread */
    PATH_STAGE_SPENT,      /* sender: PATH_MAX_WRONG wrong guesses, not asked */
    PATH_STAGE_DECLINED,   /* sender: asked, no new code */
    PATH_STAGE_NEW_CODE,   /* sender: a new code could not be made */
    PATH_STAGE_TIMEOUT,    /* sender: no receiver came within cfg->timeout_ms */
    PATH_STAGE_WAIT,       /* sender: waiting failed */
    PATH_STAGE_NOT_FOUND,  /* receiver: nothing was found */
    PATH_STAGE_TRIED,      /* receiver: every candidate failed (conn->tried) */
    PATH_STAGE_HANDSHAKEN, /* after the handshake: the peer went away */
};

struct path_why {
    enum path_stage stage;
    int sys_errno;
    /* sender, PATH_STAGE_SPENT / DECLINED */
    int wrong;
    char who[512]; /* "3 from 192.0.2.1, 1 from the relay" */
    /* receiver, PATH_STAGE_NOT_FOUND */
    int rv_err, dht_err, dht_used;
    struct path_dht dht_st;
};

/* A proven connection. */
struct path_conn {
    int fd; /* -1 when none */
    struct frame_reader fr;
    uint8_t tx[32], rx[32];
    const char *found_by;          /* receiver: "mdns", "dht", "relay" */
    const char *path;              /* "lan", "direct", "punched", "mapped", "relayed" */
    struct sockaddr_storage peer;  /* unset when relayed */
    char who[320];                 /* "ADDR:PORT" or "relay HOST:PORT" */
    const struct rv_client *relay; /* the relay it went through (into cfg->relay), or NULL */
    unsigned attempts;             /* the punch's connection attempts */
    int punch_ms;
    const char *portmap;                   /* "natpmp", "upnp", "none" */
    struct path_try tried[PATH_MAX_TRIES]; /* receiver: what failed first */
    size_t ntried;
    struct path_why why; /* after a failure */
    void *keep;          /* the punch's listener and mapping, while the connection lives */
};

/* A candidate: addresses (mDNS, the DHT) or a relay room; or (ready)
 * the DHT finder's connection, proven already (path_look_ready). */
enum path_via { PATH_VIA_MDNS, PATH_VIA_DHT, PATH_VIA_RELAY };
struct path_cand {
    enum path_via via;
    int ready;
    const struct rv_client *relay; /* a room: at this relay (into cfg->relay) */
    size_t naddr;
    struct sockaddr_storage addr[MDNS_MAX_ADDRS];
    char room[RV_ROOM_HEX + 1];
};

/* What a finder works with: path_look_add() hands a candidate over (any
 * thread); the finder returns 0 once it found something, else why not. */
struct path_look;
const struct path_cfg *path_look_cfg(const struct path_look *lk);
unsigned path_look_channel(const struct path_look *lk);
int path_look_left_ms(const struct path_look *lk);
const atomic_int *path_look_cancel(const struct path_look *lk);
/* Wait up to ms, or less when the search is cancelled; 1 when it is. */
int path_look_sleep(struct path_look *lk, int ms);
void path_look_add(struct path_look *lk, const struct path_cand *c);
/* For the DHT finder: how its attempt went. */
void path_look_dht_stats(struct path_look *lk, const struct path_dht *st);
/* For the DHT finder: its connection (fd, keys, and how from
 * mbox_connect's result, whose 'G' is sent when the connection is taken),
 * handed over as a ready candidate; the keys are wiped. */
struct punch_result;
void path_look_ready(struct path_look *lk, int fd, uint8_t tx[32], uint8_t rx[32],
                     const struct punch_result *res);

struct path_cfg;
struct path_ops {
    int (*mdns)(struct path_look *lk);
    int (*dht)(struct path_look *lk);
    int (*relay)(struct path_look *lk);
    /* Connect to a candidate within timeout_ms: *fd, and *peer for one
     * with addresses; PCP_ERR_* else. */
    int (*dial)(const struct path_cfg *cfg, const struct path_cand *c, int timeout_ms, int *fd,
                struct sockaddr_storage *peer);
    /* After a handshake through the relay: a direct path, or the relay
     * kept (conn->fd, fr, path, who, punch figures updated). */
    int (*upgrade)(const struct path_cfg *cfg, struct path_conn *conn, int receiver);
};

struct path_cfg {
    /* The relays, relay[0..nrelays) (NULL: none), tried in the order
     * rv_order gives for the code's channel, the same on both sides. */
    const struct rv_client *relay;
    size_t nrelays;
    int relay_only; /* --force-relay: no LAN, no DHT */
    int dht;
    const char *dht_bootstrap;
    const char *ifname; /* mDNS interface, NULL for every one */
    long port;          /* sender: TCP port, 0: any */
    int timeout_ms;     /* sender: -1 waits; receiver: how long to look */
    int handshake_ms;   /* receiver: each handshake read (0: 10 s) */
    unsigned words;     /* sender: of a new code */
    void (*event)(void *ud, const struct path_event *ev);
    /* Sender, the code spent: 1 for a new code (NULL: never). */
    int (*ask_new_code)(void *ud, int wrong, const char *who);
    void *ud;
    const struct path_ops *ops; /* NULL (or NULL members): the real ones */
};

/* Sender. path_offer starts waiting for the code; on failure *out may
 * still be set for path_offer_why, and path_offer_end frees it. */
struct path_offer;
int path_offer(const struct path_cfg *cfg, const struct pcp_code *code, struct path_offer **out);
const struct path_why *path_offer_why(const struct path_offer *o);
/* The next receiver that knows the code, with a direct path when there
 * is one; c->why says where it failed. */
int path_accept(struct path_offer *o, struct path_conn *c);
/* Stop listening, leave the room, withdraw the records. NULL is fine. */
void path_offer_end(struct path_offer *o);

/* Receiver: find the sender of code and prove it; c->why and c->tried say
 * what failed. */
int path_connect(const struct path_cfg *cfg, const struct pcp_code *code, struct path_conn *c);

/* path_conn_init: an empty connection (fd -1); path_accept and
 * path_connect begin with it. path_conn_close: close it, end the punch's
 * listener and mapping, wipe the keys; fine on an empty or failed one,
 * and twice. */
void path_conn_init(struct path_conn *c);
void path_conn_close(struct path_conn *c);

#endif
