/*
 * punch.h - after a handshake through the relay, try to replace the relayed
 * connection by a direct one: TCP simultaneous open through both NATs,
 * coordinated by the relay (core/PROTOCOL.md, "Direct connections").
 */
#ifndef PCP_PUNCH_H
#define PCP_PUNCH_H

#include <sodium.h>
#include <stdatomic.h>
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
    /* punch_direct, receiver: the 'G' to send on fd once the caller takes
     * the connection (until then the sender waits for it). */
    uint8_t go[1 + crypto_auth_BYTES];
};

/* Both sides call this right after the handshake over the relay. res->fd
 * is then the connection to go on with, and relay_fr reads it: relay_fd
 * (the relay stays), or a direct connection whose far end has proven the
 * session keys (relay_fd is then closed); -1 when it failed after closing
 * relay_fd. Errors: the relayed connection failed (PCP_ERR_CLOSED,
 * PCP_ERR_TIMEOUT, PCP_ERR_PROTO), or PCP_ERR_NOMEM. */
int punch_upgrade(const struct punch_params *pp, struct punch_result *res);

/* The keys both sides derive from the session's traffic keys (tx, rx as
 * this side holds them): the punch room at the relay, the key that seals
 * candidates (here and in the DHT's mailboxes), the key that
 * authenticates what is said on the connections. */
struct punch_keys {
    char room[RV_ROOM_HEX + 1];
    uint8_t box[crypto_secretbox_KEYBYTES], auth[crypto_auth_KEYBYTES];
};
void punch_keys_derive(const uint8_t *tx, const uint8_t *rx, int receiver, struct punch_keys *k);

/* A punch with no relay (after a handshake through the DHT's mailboxes):
 * dial every target from the punch port at once, for dial_ms (0: the
 * usual 4 s), while the listener takes what reaches it; on each
 * connection the nonces and proofs of punch_upgrade. The receiver's 'G'
 * on the one it chose is left to the caller (res->go): it may have found
 * the sender another way meanwhile. lfd stays the caller's. res->fd: a connection
 * whose far end proved the session keys; PCP_ERR_TIMEOUT when none came,
 * PCP_ERR_NET. */
#define PUNCH_MAX_TARGETS 8
struct punch_direct {
    int receiver;
    const uint8_t *tx, *rx;
    int lfd;
    uint16_t port;
    int behind_nat;      /* this side's address as the world sees it is not its own */
    const char *portmap; /* how the port was mapped, for res */
    const struct sockaddr_storage *targets;
    const int *mapped; /* per target: it is the other's mapped port (or NULL) */
    size_t n;
    int dial_ms;
    const atomic_int *cancel; /* looked at every tick (may be NULL) */
};
int punch_direct(const struct punch_direct *pd, struct punch_result *res);

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

/* Exposed for tests: what is said on a direct connection and on the
 * relayed one (core/PROTOCOL.md, "Direct connections"). auth is the punch
 * key derived from the session keys. */
#define PUNCH_NONCEBYTES 16
#define PUNCH_PROOFBYTES (1 + crypto_auth_BYTES)
#define PUNCH_WORDBYTES (1 + crypto_auth_BYTES)
/* A side's proof on one connection: flags ‖ HMAC(auth, role ‖ flags ‖
 * nonce_r ‖ nonce_s), role 'r' or 's', flags bit 0: behind a NAT, bit 1:
 * dialled the other's mapped port. punch_proof_check: 1 when in is that
 * role's proof for these two nonces (flags at most 3), else 0. */
void punch_proof_make(const uint8_t auth[crypto_auth_KEYBYTES], char role, uint8_t flags,
                      const uint8_t nr[PUNCH_NONCEBYTES], const uint8_t ns[PUNCH_NONCEBYTES],
                      uint8_t out[PUNCH_PROOFBYTES]);
int punch_proof_check(const uint8_t auth[crypto_auth_KEYBYTES], char role,
                      const uint8_t nr[PUNCH_NONCEBYTES], const uint8_t ns[PUNCH_NONCEBYTES],
                      const uint8_t in[PUNCH_PROOFBYTES]);
/* The receiver's words: b ‖ HMAC(auth, label ‖ b [‖ nonce_r ‖ nonce_s]).
 * Labels: "choice" (its first frame on the relayed connection, 'P' or
 * 'G'), "relay" (its 'G' there after a punch found nothing), "direct"
 * (its 'G' on the direct connection it chose, with that connection's
 * nonces, 32 bytes; NULL for the other two). punch_word_check gives b
 * when the MAC is good, else 0. */
void punch_word_make(const uint8_t auth[crypto_auth_KEYBYTES], const char *label, uint8_t b,
                     const uint8_t *nonces, uint8_t out[PUNCH_WORDBYTES]);
int punch_word_check(const uint8_t auth[crypto_auth_KEYBYTES], const char *label,
                     const uint8_t *nonces, const uint8_t in[PUNCH_WORDBYTES]);
/* May an address the relay gave (the other's observed address, or a
 * candidate) be dialled? 0 for unspecified (0/8, ::), loopback (127/8,
 * ::1; unless loopback_ok: the relay is on this host's loopback itself),
 * link-local (169.254/16, 169.254.169.254 with them, fe80::/10),
 * multicast (224/4, ff00::/8), 240/4 and broadcast, the IPv4-mapped and
 * IPv4-compatible forms, and port 0. Private addresses (10/8, 172.16/12,
 * 192.168/16, fc00::/7) are fine: a relay on the LAN sees those. */
int punch_addr_ok(const struct sockaddr_storage *addr, int loopback_ok);

#endif
