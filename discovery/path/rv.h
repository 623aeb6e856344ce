/*
 * rv.h - client of a pcp relay: rendezvous records and relay pipes.
 *
 * The wire protocol is in core/PROTOCOL.md ("Rendezvous and relay"). Every
 * function returns 0 or a negative enum pcp_err and prints nothing. Every
 * blocking call gives up after timeout_ms and polls `cancel` (may be NULL)
 * at least every 100 ms, returning PCP_ERR_CANCELLED when it became
 * non-zero.
 */
#ifndef PCP_RV_H
#define PCP_RV_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "rvproto.h"

/* The protocol's sizes (RV_KEY_HEX, RV_RECORD_MAX, RV_WAIT_MAX_S,
 * RV_RECORDS_MAX, RV_PUNCH_BLOB_MAX, ...) and names are in rvproto.h,
 * shared with the relay; what follows is the client's own. */
/* rv_pipe's first wait after a 409 (room busy); it doubles up to
 * RV_PIPE_BACKOFF_MAX_MS. */
#define RV_PIPE_BACKOFF_MS 200
#define RV_PIPE_BACKOFF_MAX_MS 1000
/* rv_get has no timeout of its own: it allows RV_CONNECT_MS to connect,
 * then wait_s seconds plus RV_GET_SLACK_MS for the relay's answer. */
#define RV_CONNECT_MS 5000
#define RV_GET_SLACK_MS 5000

/* A parsed relay URL: http://HOST[:PORT][/PREFIX], https://... (TLS,
 * default port 443) or HOST[:PORT]. */
struct rv_url {
    int tls;
    char host[256];   /* without brackets */
    char port[8];     /* decimal */
    char prefix[256]; /* "" or "/something", no trailing '/' */
};

/* PCP_ERR_INVAL for anything else (ftp://, user@, a query, a bad port). */
int rv_url_parse(const char *url, struct rv_url *out);

/* The URL as "http[s]://HOST:PORT[/PREFIX]" (IPv6 in brackets): the form
 * the relay order hashes. */
void rv_url_text(const struct rv_url *u, char *out, size_t cap);

/* The rendezvous key (RV_KEY_HEX digits + NUL) for (bucket, channel). */
void rv_key(char out[RV_KEY_HEX + 1], uint64_t bucket, unsigned channel);

/* RV_ROOM_HEX / RV_OWNER_HEX random hex digits + NUL (libsodium). */
void rv_random_hex(char *out, size_t hex_digits);

/* A relay's connection parameters. token may be NULL (or "": none); it
 * must be printable ASCII without spaces, else PCP_ERR_INVAL. */
struct rv_client {
    struct rv_url url;
    const char *token;
    const atomic_int *cancel;
};

/* "HOST:PORT" ([V6]:PORT) for messages. */
void rv_shown(const struct rv_client *c, char *out, size_t cap);

/* A list of relays in the order both sides try them for a code's channel,
 * without talking: a rendezvous hash of (channel, canonical URL), highest
 * first (core/PROTOCOL.md, "Several relays"). idx gets n indexes into c. */
#define RV_RELAYS_MAX 8
void rv_order(const struct rv_client *c, size_t n, unsigned channel, size_t *idx);

/* PUT a record; *observed (may be NULL) gets the address the relay saw.
 * PCP_ERR_RELAY_AUTH on 401, PCP_ERR_RELAY_BUSY on 409/429/503,
 * PCP_ERR_TOO_BIG on 413, PCP_ERR_PROTO on anything malformed,
 * PCP_ERR_NET / PCP_ERR_TIMEOUT on connection trouble. */
int rv_put(const struct rv_client *c, const char *key, const char *owner, const void *rec,
           size_t len, int timeout_ms, struct sockaddr_storage *observed);

/* GET with long-poll: waits up to wait_s (0..RV_WAIT_MAX_S) on the relay.
 * PCP_ERR_NOT_FOUND on 404. rec gets up to RV_RECORD_MAX bytes; *len its
 * length (PCP_ERR_TOO_BIG when the record is longer than cap). *observed
 * (may be NULL) gets X-Pcp-Observed from a 200 or 404, AF_UNSPEC when the
 * relay sent none; a malformed one is PCP_ERR_PROTO. When several senders
 * hold records under key, this is the newest one only: see
 * rv_get_rooms. */
int rv_get(const struct rv_client *c, const char *key, int wait_s, uint8_t *rec, size_t cap,
           size_t *len, struct sockaddr_storage *observed);

/* GET ?all=1, long-poll as rv_get: the rooms of every sender's record
 * under key that parses (rv_records_parse), newest first, into
 * rooms[0..*n), at most max (1..RV_RECORDS_MAX is all there can be). A
 * relay of one record per key answers with that one. PCP_ERR_NOT_FOUND on
 * 404; PCP_ERR_PROTO when no record in the answer parses. A stranger may
 * have put records too: try each room (a wrong one fails at the
 * handshake, costing nothing), and GET again when none worked. */
int rv_get_rooms(const struct rv_client *c, const char *key, int wait_s,
                 char rooms[][RV_ROOM_HEX + 1], size_t max, size_t *n,
                 struct sockaddr_storage *observed);

/* DELETE the owner's record (best effort at exit). */
int rv_delete(const struct rv_client *c, const char *key, const char *owner, int timeout_ms);

/* Enter relay room `room`: connect, send the Upgrade request, read the 101
 * response (byte by byte, so that nothing after it is consumed) and hand
 * the connected, blocking socket to the caller in *fd_out. A 409 (room
 * busy: a pairing half-way, or a stranger's pairs fill it) is tried again
 * after RV_PIPE_BACKOFF_MS, doubling, while timeout_ms lasts; then, and
 * on 429/503, PCP_ERR_RELAY_BUSY. timeout_ms bounds the whole. */
int rv_pipe(const struct rv_client *c, const char *room, int timeout_ms, int *fd_out);

/* Punch coordination (POST /v1/punch/ROOM): wait up to wait_s at the relay
 * for the other side of room, from local_port (0: any; else shared, see
 * net_dial_from) so that the relay observes the address the punch will
 * use. blob (at most RV_PUNCH_BLOB_MAX bytes) goes to the other side as
 * it is. PCP_ERR_NOT_FOUND when the other side did not come. */
struct rv_punch_answer {
    struct sockaddr_storage peer;     /* the other side, as the relay saw it */
    struct sockaddr_storage observed; /* this side, as the relay saw it */
    unsigned delay_ms;                /* wait this long, then dial */
    uint8_t blob[RV_PUNCH_BLOB_MAX];  /* the other side's blob */
    size_t blob_len;
};
int rv_punch(const struct rv_client *c, const char *room, char side, uint16_t local_port,
             const void *blob, size_t blen, int wait_s, struct rv_punch_answer *ans);
/* The body of a punch answer: "peer ADDR:PORT\ndelay MS\nblob HEX\n"
 * (MS 0..30000, HEX lowercase, even, at most 2 * RV_PUNCH_BLOB_MAX
 * digits). PCP_ERR_PROTO for anything else. */
int rv_punch_parse(const uint8_t *body, size_t len, struct rv_punch_answer *ans);

/* The text record: "v=1\nroom=ROOM\n". */
int rv_record_make(char *out, size_t cap, const char *room);
/* Parse a record: PCP_ERR_PROTO when v is not 1 or room is missing or not
 * RV_ROOM_HEX hex digits; unknown keys are ignored. room gets the room.
 * Strict about the rest: 1..RV_RECORD_MAX bytes, every line "key=value"
 * with a non-empty key (no empty lines, no control characters, CR
 * included), v and room once each, the room in lowercase hex as
 * rv_random_hex draws it; the newline after the last line is optional. */
int rv_record_parse(const uint8_t *rec, size_t len, char room[RV_ROOM_HEX + 1]);
/* Parse a GET ?all=1 body: 1..RV_RECORDS_MAX records, each ending in a
 * newline, one empty line between two (a lone record without its final
 * newline, as an older relay sends it, is fine too); at most
 * RV_RECORDS_BODY_MAX bytes. A record that rv_record_parse refuses is
 * skipped (another sender's junk must not hide the real one); the framing
 * is strict: an empty record, an empty line at the start or the end, two
 * empty lines in a row or more than RV_RECORDS_MAX records are
 * PCP_ERR_PROTO. Returns how many distinct rooms went into rooms[], in
 * the body's order, at most max (>= 1); PCP_ERR_PROTO when none. */
int rv_records_parse(const uint8_t *body, size_t len, char rooms[][RV_ROOM_HEX + 1], size_t max);

/* HTTP/1.1 response head parsing (exposed for tests and fuzzing). */
struct http_resp {
    int status;
    long long content_length;        /* -1 when absent */
    char observed[RVP_OBSERVED_MAX]; /* X-Pcp-Observed, "" when absent */
    int upgrade;                     /* "Upgrade: pcp-relay/1" present */
};
/* Parse the head in buf[0..len) (ending with CRLF CRLF). Strict: status
 * line "HTTP/1.x NNN reason", header lines "Name: value", no obs-fold, no
 * NUL or bare CR, at most 8 KiB and 64 headers, one Content-Length.
 * Also refused: bare LF, bytes after the blank line, a second
 * X-Pcp-Observed or one of 64 bytes or more, any Transfer-Encoding (bodies
 * are read by Content-Length only). PCP_ERR_PROTO on anything else. */
int http_parse_response(const uint8_t *buf, size_t len, struct http_resp *out);

#endif
