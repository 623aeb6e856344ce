/*
 * rv.c - client of a pcp relay: rendezvous records (PUT, GET, DELETE under
 * /v1/rv/) and relay pipes (/v1/pipe/ROOM); see rv.h and core/PROTOCOL.md.
 *
 * One request per connection. Everything the relay sends is untrusted: the
 * response head is parsed strictly, a body is read only when its
 * Content-Length is under a small cap, and a pipe's 101 is read without
 * consuming a byte past its blank line, since what follows belongs to the
 * peer. Every wait is a poll() of at most 100 ms so that `cancel` is seen.
 * Never prints, never exits, and never sees the password: only the
 * channel, the bucket and random values go out.
 */
#include "rv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "discovery.h"
#include "err.h"
#include "tls.h"
#include "net.h"
#include "sys.h"

#define HEAD_MAX 8192   /* a response head, blank line included */
#define HEADERS_MAX 64  /* header lines in a response head */
#define BODY_MAX 4096   /* any body that is not a record */
#define SLICE_MS 100    /* longest poll() between looks at `cancel` */
#define STAGGER_MS 250  /* Happy Eyeballs delay between addresses */
#define MAX_ADDRS 16    /* addresses of the relay we try */
#define TOKEN_MAX 1024  /* longest bearer token we send */
#define OBSERVED_MAX 64 /* sizeof(struct http_resp.observed) */

/* ---- small character classes (no locale) ---- */

static int is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static int is_alnum(int ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* RFC 9110 tchar: what a header name is made of. */
static int is_tchar(int ch)
{
    return is_alnum(ch) || (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Header value and reason phrase: HTAB, SP, VCHAR, obs-text. */
static int is_field_char(int ch)
{
    return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/* RFC 3986 pchar without '@' (refused everywhere in a URL), plus '/'. */
static int is_path_char(int ch)
{
    return is_alnum(ch) || (ch != 0 && strchr("-._~!$&'()*+,;=:%/", ch) != NULL);
}

/* 1..5 digits, 1..65535. */
static int parse_port(const char *s, size_t n, unsigned *port)
{
    uint64_t v;
    if (rvp_dec(s, n, 5, 65535, &v) != 0 || v == 0)
        return -1;
    *port = (unsigned)v;
    return 0;
}

/* ---- URL, key, random hex ---- */

int rv_url_parse(const char *url, struct rv_url *out)
{
    const char *p, *auth_end, *host, *port = NULL;
    size_t hlen, plen = 0, pathlen;
    unsigned portnum = RV_DEFAULT_PORT;

    if (!url || !out)
        return PCP_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    /* No user info, query, fragment, white space or control anywhere. */
    for (p = url; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || ch == '@' || ch == '?' || ch == '#' || ch == '\\')
            return PCP_ERR_INVAL;
    }
    p = url;
    if (strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strncasecmp(p, "https://", 8) == 0) {
        p += 8;
        out->tls = 1;
        portnum = 443;
    } else if (strstr(p, "://") != NULL) {
        return PCP_ERR_INVAL;
    }

    auth_end = strchr(p, '/');
    if (!auth_end)
        auth_end = p + strlen(p);
    if (p < auth_end && p[0] == '[') {
        const char *rb = memchr(p, ']', (size_t)(auth_end - p));
        char tmp[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        if (!rb)
            return PCP_ERR_INVAL;
        host = p + 1;
        hlen = (size_t)(rb - host);
        if (rb + 1 < auth_end) {
            if (rb[1] != ':')
                return PCP_ERR_INVAL;
            port = rb + 2;
            plen = (size_t)(auth_end - port);
        }
        if (hlen == 0 || hlen >= sizeof(tmp))
            return PCP_ERR_INVAL;
        memcpy(tmp, host, hlen);
        tmp[hlen] = '\0';
        if (inet_pton(AF_INET6, tmp, &a6) != 1)
            return PCP_ERR_INVAL;
    } else {
        const char *colon = memchr(p, ':', (size_t)(auth_end - p));
        host = p;
        hlen = colon ? (size_t)(colon - p) : (size_t)(auth_end - p);
        if (colon) {
            port = colon + 1;
            plen = (size_t)(auth_end - port);
        }
        /* A name or an IPv4 address; an IPv6 address needs brackets. */
        if (hlen == 0)
            return PCP_ERR_INVAL;
        for (size_t i = 0; i < hlen; i++)
            if (!is_alnum(host[i]) && host[i] != '-' && host[i] != '.' && host[i] != '_')
                return PCP_ERR_INVAL;
    }
    if (hlen >= sizeof(out->host))
        return PCP_ERR_INVAL;
    if (port && parse_port(port, plen, &portnum) != 0)
        return PCP_ERR_INVAL;

    pathlen = strlen(auth_end);
    while (pathlen > 0 && auth_end[pathlen - 1] == '/')
        pathlen--;
    if (pathlen >= sizeof(out->prefix))
        return PCP_ERR_INVAL;
    for (size_t i = 0; i < pathlen; i++)
        if (!is_path_char(auth_end[i]))
            return PCP_ERR_INVAL;

    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    snprintf(out->port, sizeof(out->port), "%u", portnum);
    memcpy(out->prefix, auth_end, pathlen);
    out->prefix[pathlen] = '\0';
    return 0;
}

void rv_url_text(const struct rv_url *u, char *out, size_t cap)
{
    snprintf(out, cap, strchr(u->host, ':') ? "%s://[%s]:%s%s" : "%s://%s:%s%s",
             u->tls ? "https" : "http", u->host, u->port, u->prefix);
}

void rv_shown(const struct rv_client *c, char *out, size_t cap)
{
    snprintf(out, cap, strchr(c->url.host, ':') ? "[%s]:%s" : "%s:%s", c->url.host, c->url.port);
}

/* A relay's score for a channel: BLAKE2b-256 keyed "pcp relay order" over
 * the channel (2 bytes, big-endian) and the canonical URL, its first 8
 * bytes big-endian. */
static uint64_t relay_score(const struct rv_client *c, unsigned channel)
{
    static const char key[] = "pcp relay order";
    char url[600];
    uint8_t ch[2] = {(uint8_t)(channel >> 8), (uint8_t)channel}, h[32];
    crypto_generichash_state st;
    rv_url_text(&c->url, url, sizeof(url));
    crypto_generichash_init(&st, (const uint8_t *)key, sizeof(key) - 1, sizeof(h));
    crypto_generichash_update(&st, ch, sizeof(ch));
    crypto_generichash_update(&st, (const uint8_t *)url, strlen(url));
    crypto_generichash_final(&st, h, sizeof(h));
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return v;
}

void rv_order(const struct rv_client *c, size_t n, unsigned channel, size_t *idx)
{
    uint64_t score[RV_RELAYS_MAX];
    for (size_t i = 0; i < n && i < RV_RELAYS_MAX; i++) {
        score[i] = relay_score(&c[i], channel);
        idx[i] = i;
    }
    /* Insertion sort, highest first; equal scores (the same URL twice)
     * keep the list's order. */
    for (size_t i = 1; i < n && i < RV_RELAYS_MAX; i++)
        for (size_t j = i; j > 0 && score[idx[j]] > score[idx[j - 1]]; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
}

void rv_key(char out[RV_KEY_HEX + 1], uint64_t bucket, unsigned channel)
{
    /* "pcp1-rendezvous" is 15 bytes; the array's 16th is the zero pad. */
    static const unsigned char personal[crypto_generichash_blake2b_PERSONALBYTES] =
        "pcp1-rendezvous";
    char id[64];
    uint8_t h[RV_KEY_HEX / 2];

    /* 64 bytes always hold "/pcp/" + 20 digits + "/" + 10 digits. */
    if (discovery_id(id, sizeof(id), bucket, channel) != 0) {
        out[0] = '\0';
        return;
    }
    crypto_generichash_blake2b_salt_personal(h, sizeof(h), (const unsigned char *)id, strlen(id),
                                             NULL, 0, NULL, personal);
    sodium_bin2hex(out, RV_KEY_HEX + 1, h, sizeof(h));
}

void rv_random_hex(char *out, size_t hex_digits)
{
    uint8_t b[32];
    char hex[2 * sizeof(b) + 1];
    size_t done = 0;

    if (!out)
        return;
    while (done < hex_digits) {
        size_t want = hex_digits - done, n = (want + 1) / 2;
        if (n > sizeof(b))
            n = sizeof(b);
        randombytes_buf(b, n);
        sodium_bin2hex(hex, sizeof(hex), b, n);
        if (want > 2 * n)
            want = 2 * n;
        memcpy(out + done, hex, want);
        done += want;
    }
    out[hex_digits] = '\0';
    sodium_memzero(b, sizeof(b));
    sodium_memzero(hex, sizeof(hex));
}

/* ---- records ---- */

int rv_record_make(char *out, size_t cap, const char *room)
{
    if (!out || !rvp_is_hex(room, RV_ROOM_HEX))
        return PCP_ERR_INVAL;
    int n = snprintf(out, cap, "v=1\nroom=%s\n", room);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0)
            out[0] = '\0';
        return PCP_ERR_TOO_BIG;
    }
    return 0;
}

static int span_is(const uint8_t *p, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(p, s, n) == 0;
}

int rv_record_parse(const uint8_t *rec, size_t len, char room[RV_ROOM_HEX + 1])
{
    struct rbuf r;
    char got[RV_ROOM_HEX + 1];
    int have_v = 0, have_room = 0;

    if (!room || (!rec && len > 0))
        return PCP_ERR_INVAL;
    if (len == 0 || len > RV_RECORD_MAX)
        return PCP_ERR_PROTO;
    rbuf_init(&r, rec, len);
    while (rbuf_left(&r) > 0) {
        const uint8_t *line, *nl, *eq;
        size_t ll;
        nl = memchr(r.p + r.off, '\n', rbuf_left(&r));
        ll = nl ? (size_t)(nl - (r.p + r.off)) : rbuf_left(&r);
        if (rbuf_get_direct(&r, &line, ll) != 0 || (nl && rbuf_skip(&r, 1) != 0))
            return PCP_ERR_PROTO;
        for (size_t i = 0; i < ll; i++)
            if (line[i] < 0x20 || line[i] == 0x7f)
                return PCP_ERR_PROTO;
        eq = memchr(line, '=', ll);
        if (!eq || eq == line)
            return PCP_ERR_PROTO;
        size_t kl = (size_t)(eq - line), vl = ll - kl - 1;
        const uint8_t *val = eq + 1;
        if (span_is(line, kl, "v")) {
            if (have_v++ || !span_is(val, vl, "1"))
                return PCP_ERR_PROTO;
        } else if (span_is(line, kl, "room")) {
            if (have_room++ || vl != RV_ROOM_HEX || !rvp_hex_span((const char *)val, vl))
                return PCP_ERR_PROTO;
            memcpy(got, val, RV_ROOM_HEX);
            got[RV_ROOM_HEX] = '\0';
        }
        /* any other key: a later version's, ignored */
    }
    if (!have_v || !have_room)
        return PCP_ERR_PROTO;
    memcpy(room, got, sizeof(got));
    return 0;
}

int rv_records_parse(const uint8_t *body, size_t len, char rooms[][RV_ROOM_HEX + 1], size_t max)
{
    size_t off = 0, records = 0, n = 0;

    if (!rooms || max == 0 || (!body && len > 0))
        return PCP_ERR_INVAL;
    if (len == 0 || len > RV_RECORDS_BODY_MAX)
        return PCP_ERR_PROTO;
    while (off < len) {
        /* A record runs to the newline before the next empty line, or to
         * the end; it is never empty. */
        size_t end = off, next;
        if (body[off] == '\n' || ++records > RV_RECORDS_MAX)
            return PCP_ERR_PROTO;
        while (end + 1 < len && !(body[end] == '\n' && body[end + 1] == '\n'))
            end++;
        if (end + 1 < len) {
            end++; /* keep the record's own newline */
            next = end + 1;
            if (next == len)
                return PCP_ERR_PROTO; /* an empty line and nothing after it */
        } else {
            end = next = len;
        }
        char room[RV_ROOM_HEX + 1];
        if (rv_record_parse(body + off, end - off, room) == 0 && n < max) {
            size_t i = 0;
            while (i < n && memcmp(rooms[i], room, sizeof(room)) != 0)
                i++;
            if (i == n)
                memcpy(rooms[n++], room, sizeof(room));
        }
        off = next;
    }
    return n > 0 ? (int)n : PCP_ERR_PROTO;
}

/* ---- addresses ---- */

/* ---- HTTP response head ---- */

static int name_is(const uint8_t *p, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp((const char *)p, name, n) == 0;
}

static int parse_status_line(const uint8_t *l, size_t n, int *status)
{
    /* "HTTP/1.x NNN" then nothing, or SP and a reason (possibly empty) */
    if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ' ||
        !is_digit(l[9]) || !is_digit(l[10]) || !is_digit(l[11]) || l[9] < '1' || l[9] > '5')
        return PCP_ERR_PROTO;
    if (n > 12 && l[12] != ' ')
        return PCP_ERR_PROTO;
    for (size_t i = 13; i < n; i++)
        if (!is_field_char(l[i]))
            return PCP_ERR_PROTO;
    *status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    return 0;
}

/* The value in p[0..n) without the white space around it. */
static const uint8_t *trim_ows(const uint8_t *p, size_t n, size_t *len)
{
    while (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    *len = n;
    return p;
}

static int parse_header(const uint8_t *l, size_t n, struct http_resp *r, int *seen_cl,
                        int *seen_obs)
{
    const uint8_t *colon = memchr(l, ':', n);
    size_t nl;

    /* A line that starts with white space is obs-fold: not a tchar. */
    if (!colon || colon == l)
        return PCP_ERR_PROTO;
    nl = (size_t)(colon - l);
    for (size_t i = 0; i < nl; i++)
        if (!is_tchar(l[i]))
            return PCP_ERR_PROTO;
    for (size_t i = nl + 1; i < n; i++)
        if (!is_field_char(l[i]))
            return PCP_ERR_PROTO;
    size_t vl;
    const uint8_t *v = trim_ows(l + nl + 1, n - nl - 1, &vl);

    if (name_is(l, nl, "Content-Length")) {
        uint64_t x;
        if ((*seen_cl)++ || rvp_dec((const char *)v, vl, 18, UINT64_MAX, &x) != 0)
            return PCP_ERR_PROTO;
        r->content_length = (long long)x;
    } else if (name_is(l, nl, RVP_HDR_OBSERVED)) {
        if ((*seen_obs)++ || vl == 0 || vl >= sizeof(r->observed))
            return PCP_ERR_PROTO;
        memcpy(r->observed, v, vl);
        r->observed[vl] = '\0';
    } else if (name_is(l, nl, "Upgrade")) {
        if (name_is(v, vl, RVP_UPGRADE))
            r->upgrade = 1;
    } else if (name_is(l, nl, "Transfer-Encoding")) {
        return PCP_ERR_PROTO;
    }
    return 0;
}

int http_parse_response(const uint8_t *buf, size_t len, struct http_resp *out)
{
    struct http_resp r;
    size_t off = 0;
    int lines = 0, seen_cl = 0, seen_obs = 0, e;

    if (!out)
        return PCP_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    out->content_length = -1;
    if (!buf || len < 4 || len > HEAD_MAX || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0)
        return PCP_ERR_PROTO;
    memset(&r, 0, sizeof(r));
    r.content_length = -1;
    for (;;) {
        size_t end = off;
        /* A line ends at CR LF; a NUL, a bare CR or a bare LF is refused. */
        while (end < len && buf[end] != '\r' && buf[end] != '\n') {
            if (buf[end] == '\0')
                return PCP_ERR_PROTO;
            end++;
        }
        if (end + 1 >= len || buf[end] != '\r' || buf[end + 1] != '\n')
            return PCP_ERR_PROTO;
        const uint8_t *line = buf + off;
        size_t ll = end - off;
        off = end + 2;
        if (lines++ == 0) {
            if ((e = parse_status_line(line, ll, &r.status)) != 0)
                return e;
            continue;
        }
        if (ll == 0)
            break;
        if (lines - 2 >= HEADERS_MAX)
            return PCP_ERR_PROTO;
        if ((e = parse_header(line, ll, &r, &seen_cl, &seen_obs)) != 0)
            return e;
    }
    if (off != len)
        return PCP_ERR_PROTO;
    *out = r;
    return 0;
}

/* ---- one request on one connection ---- */

struct conn {
    int fd;
    int64_t deadline;
    const atomic_int *cancel;
};

/* Wait until the socket is ready for `events` (or in error, which the
 * next send or recv reports), looking at `cancel` every SLICE_MS. */
static int wait_fd(const struct conn *k, short events)
{
    for (;;) {
        if (k->cancel && *k->cancel)
            return PCP_ERR_CANCELLED;
        int64_t left = k->deadline - net_now_ms();
        if (left <= 0)
            return PCP_ERR_TIMEOUT;
        struct pollfd pfd = {.fd = k->fd, .events = events};
        int r = poll(&pfd, 1, left > SLICE_MS ? SLICE_MS : (int)left);
        if (r < 0 && errno != EINTR)
            return PCP_ERR_NET;
        if (r > 0)
            return 0;
    }
}

static int conn_write(const struct conn *k, const uint8_t *p, size_t n)
{
    while (n > 0) {
        int e = wait_fd(k, POLLOUT);
        if (e)
            return e;
        ssize_t w = send(k->fd, p, n, SYS_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return errno == EPIPE || errno == ECONNRESET ? PCP_ERR_CLOSED : PCP_ERR_NET;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One recv of up to n bytes once there is something; PCP_ERR_CLOSED at
 * the end of the stream. The socket stays blocking: MSG_DONTWAIT per call. */
static int conn_recv(const struct conn *k, uint8_t *p, size_t n, int flags, size_t *got)
{
    for (;;) {
        int e = wait_fd(k, POLLIN);
        if (e)
            return e;
        ssize_t r = recv(k->fd, p, n, flags | MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return errno == ECONNRESET ? PCP_ERR_CLOSED : PCP_ERR_NET;
        }
        if (r == 0)
            return PCP_ERR_CLOSED;
        *got = (size_t)r;
        return 0;
    }
}

static int conn_read_all(const struct conn *k, uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t got;
        int e = conn_recv(k, p, n, 0, &got);
        if (e)
            return e;
        p += got;
        n -= got;
    }
    return 0;
}

/* Read the response head up to and including its blank line, and not one
 * byte more: look with MSG_PEEK, then take exactly what belongs to the
 * head. PCP_ERR_CLOSED when the relay hung up without a byte,
 * PCP_ERR_PROTO when it hung up mid-head or the head is too long. */
static int read_head(const struct conn *k, uint8_t head[HEAD_MAX], size_t *head_len)
{
    size_t have = 0;
    while (have < HEAD_MAX) {
        size_t got, take, start = have >= 3 ? have - 3 : 0;
        int found = 0, e = conn_recv(k, head + have, HEAD_MAX - have, MSG_PEEK, &got);
        if (e)
            return e == PCP_ERR_CLOSED && have > 0 ? PCP_ERR_PROTO : e;
        take = got;
        for (size_t i = start; i + 4 <= have + got; i++) {
            if (memcmp(head + i, "\r\n\r\n", 4) == 0) {
                take = i + 4 - have;
                found = 1;
                break;
            }
        }
        if ((e = conn_read_all(k, head + have, take)) != 0)
            return e;
        have += take;
        if (found) {
            *head_len = have;
            return 0;
        }
    }
    return PCP_ERR_PROTO;
}

struct req {
    const char *method;
    const char *path;  /* after the prefix: "/v1/rv/KEY?wait=3" */
    const char *owner; /* RVP_HDR_OWNER, or NULL */
    const void *body;  /* with Content-Length, or NULL */
    size_t blen;
    int upgrade;         /* a pipe: Upgrade instead of Connection: close */
    uint16_t local_port; /* dial from this port (0: any) */
    int send_rtt;        /* RVP_HDR_RTT: how long the connect took */
};

static void put_str(struct wbuf *w, const char *s)
{
    wbuf_put_bytes(w, s, strlen(s));
}

static int token_ok(const char *t)
{
    size_t n = strnlen(t, TOKEN_MAX + 1);
    if (n > TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] <= 0x20 || t[i] >= 0x7f)
            return 0;
    return 1;
}

static int build_request(const struct rv_client *c, const struct req *q, int rtt_ms, struct wbuf *w)
{
    int has_token = c->token && c->token[0];

    if (has_token && !token_ok(c->token))
        return PCP_ERR_INVAL;
    put_str(w, q->method);
    put_str(w, " ");
    put_str(w, c->url.prefix);
    put_str(w, q->path);
    put_str(w, " HTTP/1.1\r\nHost: ");
    if (strchr(c->url.host, ':')) {
        put_str(w, "[");
        put_str(w, c->url.host);
        put_str(w, "]");
    } else {
        put_str(w, c->url.host);
    }
    put_str(w, ":");
    put_str(w, c->url.port);
    put_str(w, "\r\nUser-Agent: pcp/" PCP_VERSION "\r\n");
    if (has_token) {
        put_str(w, "Authorization: " RVP_AUTH_BEARER);
        put_str(w, c->token);
        put_str(w, "\r\n");
    }
    if (q->owner) {
        put_str(w, RVP_HDR_OWNER ": ");
        put_str(w, q->owner);
        put_str(w, "\r\n");
    }
    if (q->send_rtt) {
        char num[48];
        snprintf(num, sizeof(num), RVP_HDR_RTT ": %d\r\n", rtt_ms);
        put_str(w, num);
    }
    if (q->body) {
        char num[48];
        snprintf(num, sizeof(num), "Content-Length: %zu\r\n", q->blen);
        put_str(w, num);
    }
    put_str(w, q->upgrade ? "Connection: Upgrade\r\nUpgrade: " RVP_UPGRADE "\r\n\r\n"
                          : "Connection: close\r\n\r\n");
    if (q->body)
        wbuf_put_bytes(w, q->body, q->blen);
    return w->err;
}

/* Resolve the relay and connect to one of its addresses. */
static int dial(const struct rv_client *c, uint16_t local_port, int timeout_ms, int *fd,
                int *rtt_ms)
{
    struct addrinfo hints, *res = NULL;
    struct sockaddr_storage addrs[MAX_ADDRS], peer;
    size_t n = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    /* getaddrinfo cannot be interrupted: a name that takes long to resolve
     * delays `cancel` by that long. */
    if (getaddrinfo(c->url.host, c->url.port, &hints, &res) != 0)
        return PCP_ERR_NET;
    for (const struct addrinfo *ai = res; ai && n < MAX_ADDRS; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(addrs[0]))
            continue;
        memset(&addrs[n], 0, sizeof(addrs[n]));
        memcpy(&addrs[n], ai->ai_addr, ai->ai_addrlen);
        n++;
    }
    freeaddrinfo(res);
    if (n == 0)
        return PCP_ERR_NET;
    int64_t t0 = net_now_ms();
    int e = net_connect_race(addrs, n, local_port, STAGGER_MS, timeout_ms, c->cancel, fd, &peer);
    *rtt_ms = (int)(net_now_ms() - t0); /* a TCP connect: one round trip */
    if (e || !c->url.tls)
        return e;
    int left = timeout_ms - (int)(net_now_ms() - t0), app;
    if ((e = tls_wrap(*fd, c->url.host, left > 1000 ? left : 1000, c->cancel, &app)) != 0) {
        close(*fd);
        *fd = -1;
        return e;
    }
    *fd = app;
    return 0;
}

/* Send one request and read the response head, then, for a 200, exactly
 * Content-Length bytes of body into body[0..body_cap) (a longer one is
 * `too_big`). connect_ms bounds the connect; io_ms, when >= 0, the rest
 * from the moment it connected, else connect_ms bounds the whole. With
 * fd_out the connection is handed over once a head has been read. */
static int exchange(const struct rv_client *c, const struct req *q, int connect_ms, int io_ms,
                    struct http_resp *resp, uint8_t *body, size_t body_cap, size_t *body_len,
                    int too_big, int *fd_out)
{
    struct wbuf w;
    struct conn k = {.fd = -1, .cancel = c->cancel};
    uint8_t head[HEAD_MAX];
    size_t hlen;
    int64_t t0 = net_now_ms();
    int e;

    memset(resp, 0, sizeof(*resp));
    if (fd_out)
        *fd_out = -1;
    if (body_len)
        *body_len = 0;
    wbuf_init(&w);
    if (c->token && c->token[0] && !token_ok(c->token)) {
        e = PCP_ERR_INVAL;
        goto out;
    }
    int rtt;
    if ((e = dial(c, q->local_port, connect_ms, &k.fd, &rtt)) != 0 ||
        (e = build_request(c, q, rtt, &w)) != 0)
        goto out;
    k.deadline = io_ms >= 0 ? net_now_ms() + io_ms : t0 + connect_ms;
    if ((e = conn_write(&k, w.p, w.len)) != 0 || (e = read_head(&k, head, &hlen)) != 0 ||
        (e = http_parse_response(head, hlen, resp)) != 0)
        goto out;
    if (resp->status == 200 && body) {
        if (resp->content_length < 0) {
            e = PCP_ERR_PROTO;
            goto out;
        }
        if ((unsigned long long)resp->content_length > body_cap) {
            e = too_big;
            goto out;
        }
        if ((e = conn_read_all(&k, body, (size_t)resp->content_length)) != 0) {
            if (e == PCP_ERR_CLOSED)
                e = PCP_ERR_PROTO;
            goto out;
        }
        *body_len = (size_t)resp->content_length;
    }
    if (fd_out) {
        *fd_out = k.fd;
        k.fd = -1;
    }
out:
    if (k.fd >= 0)
        close(k.fd);
    wbuf_free(&w);
    return e;
}

/* What a refusal means; anything unexpected is the relay breaking the
 * protocol (or not being a pcp relay at all). */
static int status_err(int status)
{
    switch (status) {
    case 401:
        return PCP_ERR_RELAY_AUTH;
    case 404:
        return PCP_ERR_NOT_FOUND;
    case 409:
    case 429:
    case 503:
        return PCP_ERR_RELAY_BUSY;
    case 413:
        return PCP_ERR_TOO_BIG;
    default:
        return PCP_ERR_PROTO;
    }
}

static void clear_addr(struct sockaddr_storage *ss)
{
    if (ss) {
        memset(ss, 0, sizeof(*ss));
        ss->ss_family = AF_UNSPEC;
    }
}

int rv_put(const struct rv_client *c, const char *key, const char *owner, const void *rec,
           size_t len, int timeout_ms, struct sockaddr_storage *observed)
{
    char path[16 + RV_KEY_HEX];
    uint8_t body[BODY_MAX];
    size_t blen;
    struct http_resp resp;
    struct sockaddr_storage obs;
    int e;

    clear_addr(observed);
    if (!c || !rvp_is_hex(key, RV_KEY_HEX) || !rvp_is_hex(owner, RV_OWNER_HEX) || !rec ||
        len == 0 || timeout_ms <= 0)
        return PCP_ERR_INVAL;
    if (len > RV_RECORD_MAX)
        return PCP_ERR_TOO_BIG;
    snprintf(path, sizeof(path), RVP_PATH_RV "%s", key);
    struct req q = {.method = "PUT", .path = path, .owner = owner, .body = rec, .blen = len};
    e = exchange(c, &q, timeout_ms, -1, &resp, body, sizeof(body), &blen, PCP_ERR_PROTO, NULL);
    if (e)
        return e;
    if (resp.status != 200)
        return status_err(resp.status);
    /* "observed ADDR:PORT\n" */
    const size_t skip = RVP_LEN(RVP_PUT_OBSERVED);
    if (blen < skip || memcmp(body, RVP_PUT_OBSERVED, skip) != 0)
        return PCP_ERR_PROTO;
    if (body[blen - 1] == '\n')
        blen--;
    if ((e = net_addr_parse((const char *)body + skip, blen - skip, &obs)) != 0)
        return e;
    if (observed)
        *observed = obs;
    return 0;
}

/* GET /v1/rv/KEY?wait=S[&all=1] into body[0..cap); see rv_get.
 * PCP_ERR_INVAL for a bad client, key or wait_s. */
static int get_body(const struct rv_client *c, const char *key, int wait_s, int all, uint8_t *body,
                    size_t cap, size_t *len, struct sockaddr_storage *observed)
{
    char path[40 + RV_KEY_HEX];
    size_t blen;
    struct http_resp resp;
    int e;

    if (!c || !rvp_is_hex(key, RV_KEY_HEX) || wait_s < 0 || wait_s > RV_WAIT_MAX_S)
        return PCP_ERR_INVAL;
    snprintf(path, sizeof(path), RVP_PATH_RV "%s?" RVP_Q_WAIT "=%d%s", key, wait_s,
             all ? "&" RVP_Q_ALL "=1" : "");
    struct req q = {.method = "GET", .path = path};
    e = exchange(c, &q, RV_CONNECT_MS, wait_s * 1000 + RV_GET_SLACK_MS, &resp, body, cap, &blen,
                 PCP_ERR_TOO_BIG, NULL);
    if (e)
        return e;
    if (resp.status != 200 && resp.status != 404)
        return status_err(resp.status);
    if (resp.observed[0]) {
        struct sockaddr_storage obs;
        if ((e = net_addr_parse(resp.observed, strlen(resp.observed), &obs)) != 0)
            return e;
        if (observed)
            *observed = obs;
    }
    if (resp.status == 404)
        return PCP_ERR_NOT_FOUND;
    if (blen == 0)
        return PCP_ERR_PROTO;
    *len = blen;
    return 0;
}

int rv_get(const struct rv_client *c, const char *key, int wait_s, uint8_t *rec, size_t cap,
           size_t *len, struct sockaddr_storage *observed)
{
    uint8_t body[RV_RECORD_MAX];
    size_t blen = 0;
    int e;

    clear_addr(observed);
    if (len)
        *len = 0;
    if (!rec || cap == 0 || !len)
        return PCP_ERR_INVAL;
    e = get_body(c, key, wait_s, 0, body, cap < sizeof(body) ? cap : sizeof(body), &blen, observed);
    if (e)
        return e;
    memcpy(rec, body, blen);
    *len = blen;
    return 0;
}

int rv_get_rooms(const struct rv_client *c, const char *key, int wait_s,
                 char rooms[][RV_ROOM_HEX + 1], size_t max, size_t *n,
                 struct sockaddr_storage *observed)
{
    uint8_t body[RV_RECORDS_BODY_MAX];
    size_t blen = 0;
    int e;

    clear_addr(observed);
    if (n)
        *n = 0;
    if (!rooms || max == 0 || !n)
        return PCP_ERR_INVAL;
    e = get_body(c, key, wait_s, 1, body, sizeof(body), &blen, observed);
    if (e)
        return e;
    if ((e = rv_records_parse(body, blen, rooms, max)) < 0)
        return e;
    *n = (size_t)e;
    return 0;
}

int rv_delete(const struct rv_client *c, const char *key, const char *owner, int timeout_ms)
{
    char path[16 + RV_KEY_HEX];
    struct http_resp resp;
    int e;

    if (!c || !rvp_is_hex(key, RV_KEY_HEX) || !rvp_is_hex(owner, RV_OWNER_HEX) || timeout_ms <= 0)
        return PCP_ERR_INVAL;
    snprintf(path, sizeof(path), RVP_PATH_RV "%s", key);
    struct req q = {.method = "DELETE", .path = path, .owner = owner};
    e = exchange(c, &q, timeout_ms, -1, &resp, NULL, 0, NULL, PCP_ERR_PROTO, NULL);
    if (e)
        return e;
    return resp.status == 204 || resp.status == 200 ? 0 : status_err(resp.status);
}

/* Sleep ms, looking at `cancel` every SLICE_MS. */
static int nap(const atomic_int *cancel, int ms)
{
    int64_t end = net_now_ms() + ms;
    for (;;) {
        if (cancel && *cancel)
            return PCP_ERR_CANCELLED;
        int64_t left = end - net_now_ms();
        if (left <= 0)
            return 0;
        poll(NULL, 0, left < SLICE_MS ? (int)left : SLICE_MS);
    }
}

int rv_pipe(const struct rv_client *c, const char *room, int timeout_ms, int *fd_out)
{
    char path[16 + RV_ROOM_HEX];
    struct http_resp resp;
    int fd, backoff = RV_PIPE_BACKOFF_MS;

    if (fd_out)
        *fd_out = -1;
    if (!c || !rvp_is_hex(room, RV_ROOM_HEX) || timeout_ms <= 0 || !fd_out)
        return PCP_ERR_INVAL;
    snprintf(path, sizeof(path), RVP_PATH_PIPE "%s", room);
    struct req q = {.method = "GET", .path = path, .upgrade = 1};
    int64_t deadline = net_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - net_now_ms();
        if (left <= 0)
            return PCP_ERR_RELAY_BUSY;
        int e = exchange(c, &q, (int)left, -1, &resp, NULL, 0, NULL, PCP_ERR_PROTO, &fd);
        if (e)
            return e;
        if (resp.status == 101 && resp.upgrade)
            break;
        close(fd);
        if (resp.status != 409)
            return resp.status == 101 ? PCP_ERR_PROTO : status_err(resp.status);
        /* Busy: a pairing half-way, or strangers' pairs fill the room
         * (a silent one is dissolved within seconds). Again a little
         * later, at a random point of the back-off so that two clients
         * do not keep meeting. */
        int wait = backoff + (int)randombytes_uniform((uint32_t)backoff / 2 + 1);
        if (net_now_ms() + wait >= deadline)
            return PCP_ERR_RELAY_BUSY;
        if ((e = nap(c->cancel, wait)) != 0)
            return e;
        backoff = backoff * 2 > RV_PIPE_BACKOFF_MAX_MS ? RV_PIPE_BACKOFF_MAX_MS : backoff * 2;
    }
    *fd_out = fd;
    return 0;
}

int rv_punch_parse(const uint8_t *body, size_t len, struct rv_punch_answer *ans)
{
    const char *p = (const char *)body, *end = p + len, *nl;
    const size_t lpeer = RVP_LEN(RVP_PUNCH_PEER), ldelay = RVP_LEN(RVP_PUNCH_DELAY),
                 lblob = RVP_LEN(RVP_PUNCH_BLOB);
    memset(ans, 0, sizeof(*ans));
    /* "peer ADDR:PORT\n" */
    if (len < lpeer || memcmp(p, RVP_PUNCH_PEER, lpeer) != 0 || !(nl = memchr(p, '\n', len)))
        return PCP_ERR_PROTO;
    if (net_addr_parse(p + lpeer, (size_t)(nl - p) - lpeer, &ans->peer) != 0)
        return PCP_ERR_PROTO;
    p = nl + 1;
    /* "delay N\n", N 0..RVP_DELAY_MAX_MS */
    if ((size_t)(end - p) < ldelay || memcmp(p, RVP_PUNCH_DELAY, ldelay) != 0 ||
        !(nl = memchr(p, '\n', (size_t)(end - p))))
        return PCP_ERR_PROTO;
    uint64_t d;
    if (rvp_dec(p + ldelay, (size_t)(nl - p) - ldelay, RVP_DELAY_DIGITS, RVP_DELAY_MAX_MS, &d) != 0)
        return PCP_ERR_PROTO;
    ans->delay_ms = (unsigned)d;
    p = nl + 1;
    /* "blob HEX\n", the last line */
    if ((size_t)(end - p) < lblob + 1 || memcmp(p, RVP_PUNCH_BLOB, lblob) != 0 || end[-1] != '\n')
        return PCP_ERR_PROTO;
    const char *hex = p + lblob;
    size_t hexlen = (size_t)(end - 1 - hex);
    if (hexlen % 2 || hexlen / 2 > RV_PUNCH_BLOB_MAX || !rvp_hex_span(hex, hexlen) ||
        sodium_hex2bin(ans->blob, sizeof(ans->blob), hex, hexlen, NULL, &ans->blob_len, NULL) != 0)
        return PCP_ERR_PROTO;
    return 0;
}

int rv_punch(const struct rv_client *c, const char *room, char side, uint16_t local_port,
             const void *blob, size_t blen, int wait_s, struct rv_punch_answer *ans)
{
    char path[48 + RV_ROOM_HEX];
    uint8_t body[BODY_MAX];
    size_t len;
    struct http_resp resp;
    int e;

    if (!c || !rvp_is_hex(room, RV_ROOM_HEX) ||
        (side != RVP_SIDE_SENDER && side != RVP_SIDE_RECEIVER) || !ans ||
        blen > RV_PUNCH_BLOB_MAX || (blen && !blob) || wait_s < 0 || wait_s > RV_WAIT_MAX_S)
        return PCP_ERR_INVAL;
    snprintf(path, sizeof(path), RVP_PATH_PUNCH "%s?" RVP_Q_SIDE "=%c&" RVP_Q_WAIT "=%d", room,
             side, wait_s);
    static const uint8_t none[1];
    struct req q = {.method = "POST",
                    .path = path,
                    .body = blen ? blob : none,
                    .blen = blen,
                    .local_port = local_port,
                    .send_rtt = 1};
    e = exchange(c, &q, RV_CONNECT_MS, wait_s * 1000 + RV_GET_SLACK_MS, &resp, body, sizeof(body),
                 &len, PCP_ERR_PROTO, NULL);
    if (e)
        return e;
    if (resp.status != 200)
        return status_err(resp.status);
    if ((e = rv_punch_parse(body, len, ans)) != 0)
        return e;
    if (!resp.observed[0] || net_addr_parse(resp.observed, strlen(resp.observed), &ans->observed))
        return PCP_ERR_PROTO;
    return 0;
}
