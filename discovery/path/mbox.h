/*
 * mbox.h - a handshake and a punch through the DHT's mailboxes (dht.h),
 * for two sides that have nothing else in common: no LAN, no relay
 * (core/PROTOCOL.md, "DHT mailboxes").
 *
 * A receiver's attempt has a random id (aid). Messages, each one DHT
 * value, "pcp2" ‖ type ‖ aid ‖ body:
 *
 *   R1  receiver -> sender's mailbox     pA (the SPAKE2 share, 32)
 *   S1  sender -> receivers' mailbox     pB ‖ cB (32 + 32)
 *   R2  receiver -> sender's mailbox     cA (32) ‖ sealed receiver candidates
 *   S2  sender -> receivers' mailbox     sealed sender candidates
 *
 * The SPAKE2 transcript is the direct handshake's (handshake.h), so its
 * vectors hold. Each side's candidates go out only once the other side's
 * confirmation checked: nothing about an address reaches anyone who has
 * not proven the code. Sealed: crypto_secretbox under a key from the
 * session's traffic keys (punch.h's box key), a fresh random nonce each.
 * Then both sides dial every candidate of the other's from their punch
 * port (punch_direct); the first connection whose far end proves the
 * session keys is the transfer's.
 *
 * The codec (mbox_parse, mbox_make, mbox_cands_*) is pure, for tests and
 * fuzzing; the two flows need a DHT node.
 */
#ifndef PCP_MBOX_H
#define PCP_MBOX_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dht.h"
#include "punch.h"

#define MBOX_MAGIC "pcp2"
#define MBOX_AIDBYTES 16
#define MBOX_HDRBYTES (4 + 1 + MBOX_AIDBYTES)
#define MBOX_SHAREBYTES 32
#define MBOX_CONFIRMBYTES 32
/* Sealed candidates: nonce ‖ MAC ‖ text of at most MBOX_CANDS_TEXT_MAX. */
#define MBOX_CANDS_TEXT_MAX 512
#define MBOX_SEALED_MIN (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
#define MBOX_SEALED_MAX (MBOX_SEALED_MIN + MBOX_CANDS_TEXT_MAX)
#define MBOX_VALUE_MAX (MBOX_HDRBYTES + MBOX_CONFIRMBYTES + MBOX_SEALED_MAX)

enum mbox_type { MBOX_R1 = 1, MBOX_S1 = 2, MBOX_R2 = 3, MBOX_S2 = 4 };

struct mbox_msg {
    uint8_t type;
    uint8_t aid[MBOX_AIDBYTES];
    const uint8_t *body; /* into the parsed bytes */
    size_t body_len;
};

/* Strict: the magic, a known type, and the body's size for that type (R1
 * 32, S1 64, R2 32 + MBOX_SEALED_MIN..MBOX_SEALED_MAX, S2
 * MBOX_SEALED_MIN..MBOX_SEALED_MAX). PCP_ERR_PROTO for anything else. */
int mbox_parse(const uint8_t *p, size_t len, struct mbox_msg *m);
/* The value for a message, into out (cap >= MBOX_VALUE_MAX will do);
 * its length, or 0 when the body's size is wrong for the type. */
size_t mbox_make(uint8_t *out, size_t cap, uint8_t type, const uint8_t aid[MBOX_AIDBYTES],
                 const uint8_t *body, size_t blen);

/* A side's candidates. Text lines "KIND=ADDR:PORT" (IPv6 in brackets):
 * a= a public address (the IPv4 the DHT's nodes see, with the punch port,
 * which most NATs keep; this host's own public IPv4 and global IPv6), m=
 * the router's mapping of the punch port, l= a LAN address; and "n=1"
 * when the side is behind a NAT. At most MBOX_MAX_CANDS addresses;
 * unknown keys ignored. */
#define MBOX_MAX_CANDS 8
enum mbox_cand_kind { MBOX_CAND_PUBLIC, MBOX_CAND_MAPPED, MBOX_CAND_LAN };
struct mbox_cands {
    size_t n;
    struct sockaddr_storage addr[MBOX_MAX_CANDS];
    enum mbox_cand_kind kind[MBOX_MAX_CANDS];
    int nat; /* the side is behind a NAT */
};
/* The text, into out (MBOX_CANDS_TEXT_MAX); its length, or 0 when it
 * does not fit. */
size_t mbox_cands_text(const struct mbox_cands *c, char *out, size_t cap);
/* Strict about what it takes: each address must parse, have a port, and
 * be one punch_addr_ok allows (no loopback); an a= or m= must be public
 * (dht_addr_public), an l= private or on-link. PCP_ERR_PROTO for a
 * malformed line, more than MBOX_MAX_CANDS addresses or no address. */
int mbox_cands_parse(const char *text, size_t len, struct mbox_cands *out);
/* Seal the candidates under key (crypto_secretbox, random nonce): the
 * sealed bytes' length, 0 when they do not fit in cap. mbox_cands_open:
 * 0, or PCP_ERR_CRYPTO (not sealed under key) or PCP_ERR_PROTO. */
size_t mbox_cands_seal(const struct mbox_cands *c, const uint8_t key[32], uint8_t *out, size_t cap);
int mbox_cands_open(const uint8_t *p, size_t len, const uint8_t key[32], struct mbox_cands *out);

/* What each side does; cancel ends it early (PCP_ERR_CANCELLED). */
struct mbox_cfg {
    struct pcp_dht *dht;
    unsigned channel;
    const uint8_t *pw; /* the code's password and the handshake's AAD */
    size_t pwlen;
    const char *aad;
    struct punch_prep *prep; /* the punch port, listening, and its mapping */
    const atomic_int *cancel;
};

/* Receiver: one attempt, within timeout_ms: R1, wait for S1, check cB,
 * R2, wait for S2, punch. On success *fd is a direct connection whose far
 * end proved the session keys, tx/rx the keys, res says how (path, peer,
 * attempts). PCP_ERR_BAD_CODE when cB did not check, PCP_ERR_NOT_FOUND
 * when no S1 came; PCP_ERR_TIMEOUT when the code was proven but the
 * sender's candidates never came or none of them connected (*proven is
 * then 1: the caller's message names --relay). */
int mbox_connect(const struct mbox_cfg *cfg, int timeout_ms, uint8_t tx[32], uint8_t rx[32],
                 struct punch_result *res, int *proven);

/* Sender: answers receivers' attempts in a thread of its own until
 * mbox_sender_stop, writing a byte to wakefd when there is news. Each
 * attempt whose cA fails, or that stops answering after S1 (holding our
 * proof), is a wrong guess. At most MBOX_ATTEMPTS at once; a new one
 * beyond takes the place of the oldest (which, past S1, is a wrong guess
 * too). mbox_sender_poll: the wrong guesses since the last call in
 * *wrong; 1 and a connection (as mbox_connect's) when an attempt proved
 * the code and connected, else 0. */
#define MBOX_ATTEMPTS 8
struct mbox_sender;
int mbox_sender_start(struct mbox_sender **out, const struct mbox_cfg *cfg, int wakefd);
int mbox_sender_poll(struct mbox_sender *s, int *wrong, uint8_t tx[32], uint8_t rx[32],
                     struct punch_result *res);
/* Stop (a punch under way ends within a tick), join, free. NULL is fine. */
void mbox_sender_stop(struct mbox_sender *s);

#endif
