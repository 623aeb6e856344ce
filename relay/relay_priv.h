/*
 * relay_priv.h - the relay's parts, shared between its files and tests.
 */
#ifndef PCP_RELAY_PRIV_H
#define PCP_RELAY_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net.h"
#include "relay.h"
#include "rvproto.h"

/* The protocol's sizes and names (RV_KEY_HEX, RV_RECORDS_MAX,
 * RV_PUNCH_BLOB_MAX, RVP_HDR_*, ...) are in rvproto.h, shared with the
 * client; what follows is the relay's own policy. */
/* Of the RV_RECORDS_MAX senders a key holds at once, how many may come
 * from one address (prefix): a key squatted in advance still has room
 * for the real sender. */
#define RV_KEY_PER_ADDR 2
#define PUNCH_TTL_S 60 /* a punch meeting is forgotten after this */

/* ---- counters (metrics.c prints them) ---------------------------------- */

struct relay_stats {
    _Atomic uint64_t rooms_open, rooms_paired, pairs_total, bytes_relayed;
    _Atomic uint64_t records, puts, gets, gets_hit, deletes;
    _Atomic uint64_t punches, punch_meetings;
    _Atomic uint64_t refused_auth, refused_limit, refused_full, refused_bad;
    _Atomic uint64_t refused_key_full; /* a PUT to a key with RV_RECORDS_MAX senders */
    _Atomic uint64_t refused_draining; /* a PUT or a pipe while draining (SIGTERM) */
    _Atomic uint64_t closed_idle, closed_arrival, closed_bytes;
    _Atomic uint64_t closed_silent; /* pairs dissolved: a side said nothing */
    uint64_t start_ms;
};

/* Milliseconds on the monotonic clock. */
#define relay_now_ms() ((uint64_t)net_now_ms())

/* ---- per-address accounting -------------------------------------------- */

/* Whose share a request takes, as 16 bytes: an IPv4 address mapped into
 * IPv6 (an IPv4-mapped IPv6 address alike), an IPv6 address cut to its
 * first v6_prefix bits (32..128), the rest zero; one subscriber usually
 * holds a whole /64. */
void ip_key(const struct sockaddr *sa, unsigned v6_prefix, uint8_t out[16]);

struct ipcap;
struct ipcap *ipcap_new(void);
void ipcap_free(struct ipcap *t);
/* Take one unit for ip unless it already holds `max`; 0 or
 * PCP_ERR_RELAY_BUSY. Thread-safe. */
int ipcap_take(struct ipcap *t, const uint8_t ip[16], unsigned max);
void ipcap_give(struct ipcap *t, const uint8_t ip[16]);

/* ---- rendezvous records ------------------------------------------------ */

struct rv_store;
struct rv_store *rv_store_new(struct ipcap *cap, struct relay_stats *st);
void rv_store_free(struct rv_store *s);
/* Drop records and punch meetings past their time; returns how many
 * records are left. */
size_t rv_store_sweep(struct rv_store *s, uint64_t now_ms);

enum rv_method { RV_M_GET, RV_M_PUT, RV_M_DELETE, RV_M_POST, RV_M_OTHER };

/* One API request, as the HTTP layer saw it. */
struct rv_req {
    enum rv_method method;
    const char *path;  /* "/v1/rv/KEY" ... */
    const char *owner; /* RVP_HDR_OWNER or NULL */
    const char *wait;  /* ?wait= or NULL */
    const char *all;   /* GET: ?all= ("1": every record) or NULL */
    const char *side;  /* punch: ?side= ("s" or "r") or NULL */
    const char *rtt;   /* punch: X-Pcp-Rtt (milliseconds) or NULL */
    const uint8_t *body;
    size_t body_len;
    int body_too_big;
    uint8_t ip[16];                  /* ip_key of the caller */
    char observed[RVP_OBSERVED_MAX]; /* "ADDR:PORT" of the caller */
    uint64_t now_ms;
    uint64_t deadline_ms; /* long-poll: 0 the first time, then as returned */
};

struct rv_resp {
    int status;
    uint8_t body[RV_RECORDS_BODY_MAX + 128];
    size_t body_len;
    const char *content_type;
    /* GET found nothing yet: suspend until deadline_ms or a PUT of key
     * (for a punch, "p/ROOM": until the other side arrives). */
    int wait;
    uint64_t deadline_ms;
    char key[RV_KEY_HEX + 1];
    /* A PUT stored key, or a punch's second side came: wake key's waiters. */
    int stored;
};

/* Handle a rendezvous request (/v1/rv/... or /v1/punch/...). Never fails: every outcome is
 * an HTTP status with a one-line text body. Thread-safe. */
void rv_handle(struct rv_store *s, const struct relay_limits *lim, const struct rv_req *rq,
               struct rv_resp *rs);

/* ---- pipes ------------------------------------------------------------- */

struct pump;
/* Close a socket the pump was given (MHD's upgrade close). */
typedef void (*pump_close_fn)(void *handle);

/* A room holds one waiting peer; the next arrival is paired with it and
 * the pair leaves the room, which can take a waiting peer again while
 * the pair runs. At most PUMP_ROOM_PAIRS pairs of one room at once. A
 * pair that has carried no byte either way PUMP_SILENT_MS after the
 * pairing is dissolved (both closed) once someone else wants its room (a
 * peer waits there, or was refused for want of a place): a stranger who
 * read the record and joined to sit on the sender's waiting connection
 * is gone within seconds of the real receiver's arrival, and the sender
 * enters again. (The receiver speaks first, at once.) */
#define PUMP_ROOM_PAIRS 4
#define PUMP_SILENT_MS 5000

struct pump *pump_new(struct relay_stats *st, struct ipcap *cap, pump_close_fn close_fn);
void pump_free(struct pump *p);
void pump_set_limits(struct pump *p, const struct relay_limits *lim);
/* Reserve a place in room for an arriving peer before the 101 is sent:
 * 0 and *serial (which pairing the place is in), PCP_ERR_RELAY_BUSY (409:
 * a pairing of the room is half-way, or PUMP_ROOM_PAIRS pairs run) or
 * PCP_ERR_TOO_BIG (too many rooms or this address's cap: 503/429 by
 * *why: 1 global, 2 per-address). */
int pump_reserve(struct pump *p, const char *room, const uint8_t ip[16], int *why,
                 uint64_t *serial);
/* Give back a reservation that never became a pipe. */
void pump_unreserve(struct pump *p, const char *room, uint64_t serial, const uint8_t ip[16]);
/* The upgraded socket for a reservation; handle goes to close_fn. */
void pump_attach(struct pump *p, const char *room, uint64_t serial, const uint8_t ip[16], int fd,
                 void *handle);
/* One pass of the pump's clock (deadlines, silent pairs, idle pipes, rate
 * windows) at now, as pump_main runs it; for tests. */
void pump_tick(struct pump *p, uint64_t now);
/* Run the loop until pump_stop(); then close everything. */
void *pump_main(void *p);
/* Stop: now (drain_ms 0) or once the pipes are done, at most drain_ms. */
void pump_stop(struct pump *p, unsigned drain_ms);
size_t pump_rooms(struct pump *p);

/* ---- the HTTP side ----------------------------------------------------- */

/* Prometheus text and the HTML status page into out (NUL-terminated). */
size_t relay_metrics(const struct relay_stats *st, size_t rooms, size_t conns, int draining,
                     char *out, size_t cap);
size_t relay_status_html(const struct relay_stats *st, size_t rooms, char *out, size_t cap);

#endif
