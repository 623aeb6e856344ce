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

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RV_DEFAULT_PORT 9474
#define RV_KEY_HEX 64   /* rendezvous key: hex digits */
#define RV_ROOM_HEX 32  /* relay room: hex digits */
#define RV_OWNER_HEX 32 /* record owner: hex digits */
#define RV_RECORD_MAX 1024
#define RV_WAIT_MAX_S 30
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

/* The rendezvous key (RV_KEY_HEX digits + NUL) for (bucket, channel). */
void rv_key(char out[RV_KEY_HEX + 1], uint64_t bucket, unsigned channel);

/* RV_ROOM_HEX / RV_OWNER_HEX random hex digits + NUL (libsodium). */
void rv_random_hex(char *out, size_t hex_digits);

/* A relay's connection parameters. token may be NULL (or "": none); it
 * must be printable ASCII without spaces, else PCP_ERR_INVAL. */
struct rv_client {
    struct rv_url url;
    const char *token;
    const volatile int *cancel;
};

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
 * relay sent none; a malformed one is PCP_ERR_PROTO. */
int rv_get(const struct rv_client *c, const char *key, int wait_s, uint8_t *rec, size_t cap,
           size_t *len, struct sockaddr_storage *observed);

/* DELETE the owner's record (best effort at exit). */
int rv_delete(const struct rv_client *c, const char *key, const char *owner, int timeout_ms);

/* Enter relay room `room`: connect, send the Upgrade request, read the 101
 * response (byte by byte, so that nothing after it is consumed) and hand
 * the connected, blocking socket to the caller in *fd_out.
 * PCP_ERR_RELAY_BUSY on 409 (room in use) and limits. */
int rv_pipe(const struct rv_client *c, const char *room, int timeout_ms, int *fd_out);

/* Punch coordination (POST /v1/punch/ROOM): wait up to wait_s at the relay
 * for the other side of room, from local_port (0: any; else shared, see
 * net_dial_from) so that the relay observes the address the punch will
 * use. blob (at most RV_PUNCH_BLOB_MAX bytes) goes to the other side as
 * it is. PCP_ERR_NOT_FOUND when the other side did not come. */
#define RV_PUNCH_BLOB_MAX 256
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

/* "a.b.c.d:PORT" or "[v6]:PORT" (s[0..len), no NUL needed), PORT 1..65535,
 * into *out: the relay's observed address. PCP_ERR_PROTO otherwise. */
int rv_addr_parse(const char *s, size_t len, struct sockaddr_storage *out);

/* HTTP/1.1 response head parsing (exposed for tests and fuzzing). */
struct http_resp {
    int status;
    long long content_length; /* -1 when absent */
    char observed[64];        /* X-Pcp-Observed, "" when absent */
    int upgrade;              /* "Upgrade: pcp-relay/1" present */
};
/* Parse the head in buf[0..len) (ending with CRLF CRLF). Strict: status
 * line "HTTP/1.x NNN reason", header lines "Name: value", no obs-fold, no
 * NUL or bare CR, at most 8 KiB and 64 headers, one Content-Length.
 * Also refused: bare LF, bytes after the blank line, a second
 * X-Pcp-Observed or one of 64 bytes or more, any Transfer-Encoding (bodies
 * are read by Content-Length only). PCP_ERR_PROTO on anything else. */
int http_parse_response(const uint8_t *buf, size_t len, struct http_resp *out);

#endif
