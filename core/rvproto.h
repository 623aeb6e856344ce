/*
 * rvproto.h - the facts of the relay protocol, defined once for both of
 * its ends: the relay (relay/, `pcp relay`) and its client (discovery/path/rv.c,
 * discovery/path/punch.c). Sizes, paths, header names, query keys, the punch
 * answer's words, and the two checks every untrusted field goes through
 * (lowercase hex, bounded decimal). core/PROTOCOL.md ("Rendezvous and
 * relay") is the prose; a change here is a change of the wire protocol.
 * Nothing here touches the network, allocates, prints or exits.
 */
#ifndef PCP_RVPROTO_H
#define PCP_RVPROTO_H

#include <stddef.h>
#include <stdint.h>

/* ---- sizes and times ----------------------------------------------------- */

#define RV_DEFAULT_PORT 9474
#define RV_KEY_HEX 64   /* rendezvous key: hex digits */
#define RV_ROOM_HEX 32  /* relay room (and punch room): hex digits */
#define RV_OWNER_HEX 32 /* record owner (X-Pcp-Owner): hex digits */
#define RV_RECORD_MAX 1024
#define RV_WAIT_MAX_S 30 /* ?wait=: 0..RV_WAIT_MAX_S seconds of long-poll */
#define RV_WAIT_DIGITS 2 /* ... in at most this many digits */
#define RV_TTL_S 300     /* a record lives this long after its PUT */
/* A key holds up to RV_RECORDS_MAX senders' records; GET ?all=1 sends
 * them all in one body, each ending in a newline, an empty line between
 * two: at most RV_RECORDS_BODY_MAX bytes. */
#define RV_RECORDS_MAX 8
#define RV_RECORDS_BODY_MAX (RV_RECORDS_MAX * (RV_RECORD_MAX + 2))
/* A side's punch candidates (sealed, opaque to the relay). */
#define RV_PUNCH_BLOB_MAX 256
/* X-Pcp-Rtt: 0..RVP_RTT_MAX_MS; the punch answer's delay is half a
 * difference of two of them. */
#define RVP_RTT_MAX_MS 60000
#define RVP_RTT_DIGITS 18
#define RVP_DELAY_MAX_MS (RVP_RTT_MAX_MS / 2)
#define RVP_DELAY_DIGITS 5
/* X-Pcp-Observed: "ADDR:PORT" and its NUL fit in this many bytes. */
#define RVP_OBSERVED_MAX 64

/* ---- names on the wire --------------------------------------------------- */

#define RVP_PATH_API "/v1/"         /* every API path starts so */
#define RVP_PATH_RV "/v1/rv/"       /* + KEY: records (PUT, GET, DELETE) */
#define RVP_PATH_PIPE "/v1/pipe/"   /* + ROOM: a relay pipe (GET, Upgrade) */
#define RVP_PATH_PUNCH "/v1/punch/" /* + ROOM: punch coordination (POST) */
#define RVP_Q_WAIT "wait"           /* long-poll seconds */
#define RVP_Q_ALL "all"             /* GET: "1" for every sender's record */
#define RVP_Q_SIDE "side"           /* punch: RVP_SIDE_SENDER or _RECEIVER */
#define RVP_SIDE_SENDER 's'
#define RVP_SIDE_RECEIVER 'r'
#define RVP_HDR_OWNER "X-Pcp-Owner"
#define RVP_HDR_OBSERVED "X-Pcp-Observed"
#define RVP_HDR_RTT "X-Pcp-Rtt"
#define RVP_UPGRADE "pcp-relay/1" /* the Upgrade token of a pipe */
#define RVP_AUTH_BEARER "Bearer " /* Authorization: Bearer TOKEN */
/* A PUT's answer: RVP_PUT_OBSERVED ADDR:PORT \n (the caller as seen). */
#define RVP_PUT_OBSERVED "observed "
/* A punch answer: RVP_PUNCH_PEER ADDR:PORT \n RVP_PUNCH_DELAY MS \n
 * RVP_PUNCH_BLOB HEX \n. */
#define RVP_PUNCH_PEER "peer "
#define RVP_PUNCH_DELAY "delay "
#define RVP_PUNCH_BLOB "blob "

/* Length of a string literal above, without its NUL. */
#define RVP_LEN(lit) (sizeof(lit) - 1)

/* ---- the checks ---------------------------------------------------------- */

/* 1 when s[0..n) are all lowercase hex digits (no NUL needed; n 0: 1). */
int rvp_hex_span(const char *s, size_t n);

/* 1 when s is non-NULL and exactly n lowercase hex digits, then a NUL. */
int rvp_is_hex(const char *s, size_t n);

/* s[0..n): 1..max_digits ASCII digits (no sign, no blanks, no NUL needed)
 * worth at most max, into *out. Leading zeros count as digits. -1 for
 * anything else, an overflow of 64 bits included. */
int rvp_dec(const char *s, size_t n, size_t max_digits, uint64_t max, uint64_t *out);

#endif
