/* libFuzzer target: what a relay (or anything pretending to be one) sends
 * back, and what a user types as a relay URL. The bytes go through the
 * response head parser (whole, and cut at the first blank line as the
 * client reads it), the record parser, the observed-address parser, the
 * URL parser, the punch answer parser and a peer's punch candidates. What
 * parses must be sane and survive a round trip: a record rebuilt from its
 * room, an address printed and parsed again, a URL put back together and
 * parsed again (abort otherwise). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "err.h"
#include "net.h"
#include "punch.h"
#include "rv.h"
#include "rvproto.h"

static void check_head(const uint8_t *data, size_t size)
{
    struct http_resp r;
    if (http_parse_response(data, size, &r) != 0) {
        if (r.status != 0 || r.content_length != -1 || r.observed[0] || r.upgrade)
            abort();
        return;
    }
    if (size > 8192 || size < 4 || memcmp(data + size - 4, "\r\n\r\n", 4) != 0 ||
        memchr(data, 0, size) != NULL)
        abort();
    if (r.status < 100 || r.status > 599 || r.content_length < -1 ||
        r.content_length > 999999999999999999ll || (r.upgrade != 0 && r.upgrade != 1) ||
        memchr(r.observed, 0, sizeof(r.observed)) == NULL)
        abort();
    /* the only blank line is the last one */
    for (size_t i = 0; i + 4 < size; i++)
        if (memcmp(data + i, "\r\n\r\n", 4) == 0)
            abort();
}

static void check_addr(const char *s, size_t len)
{
    struct sockaddr_storage a, b;
    char text[80];
    if (net_addr_parse(s, len, &a) != 0) {
        if (a.ss_family != AF_UNSPEC)
            abort();
        return;
    }
    if (a.ss_family != AF_INET && a.ss_family != AF_INET6)
        abort();
    net_addr_str(&a, 1, text, sizeof(text));
    if (net_addr_parse(text, strlen(text), &b) != 0)
        abort();
    uint16_t pa = a.ss_family == AF_INET ? ((struct sockaddr_in *)&a)->sin_port
                                         : ((struct sockaddr_in6 *)&a)->sin6_port;
    uint16_t pb = b.ss_family == AF_INET ? ((struct sockaddr_in *)&b)->sin_port
                                         : ((struct sockaddr_in6 *)&b)->sin6_port;
    if (pa == 0 || pa != pb)
        abort();
    /* v4-mapped IPv6 prints as IPv4; anything else comes back the same */
    if (a.ss_family == b.ss_family &&
        memcmp(&a, &b,
               a.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)))
        abort();
}

static void check_record(const uint8_t *data, size_t size)
{
    char room[RV_ROOM_HEX + 1], again[RV_ROOM_HEX + 1], rec[RV_RECORD_MAX];
    if (rv_record_parse(data, size, room) != 0)
        return;
    if (strlen(room) != RV_ROOM_HEX || strspn(room, "0123456789abcdef") != RV_ROOM_HEX)
        abort();
    if (rv_record_make(rec, sizeof(rec), room) != 0 ||
        rv_record_parse((const uint8_t *)rec, strlen(rec), again) != 0 || strcmp(room, again) != 0)
        abort();
}

static void check_url(const uint8_t *data, size_t size)
{
    struct rv_url u, v;
    char s[1024], back[600];
    if (size >= sizeof(s))
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    if (rv_url_parse(s, &u) != 0)
        return;
    size_t pl = strlen(u.prefix);
    unsigned long port = strtoul(u.port, NULL, 10);
    if (!u.host[0] || port == 0 || port > 65535 ||
        (pl && (u.prefix[0] != '/' || u.prefix[pl - 1] == '/')))
        abort();
    snprintf(back, sizeof(back), strchr(u.host, ':') ? "%s://[%s]:%s%s/" : "%s://%s:%s%s/",
             u.tls ? "https" : "http", u.host, u.port, u.prefix);
    if (rv_url_parse(back, &v) != 0 || memcmp(&u, &v, sizeof(u)) != 0)
        abort();
}

/* A punch answer: what parses has a peer address, a bounded delay and a
 * blob that fits. */
static void check_punch(const uint8_t *data, size_t size)
{
    struct rv_punch_answer a;
    if (rv_punch_parse(data, size, &a) != 0)
        return;
    if ((a.peer.ss_family != AF_INET && a.peer.ss_family != AF_INET6) ||
        a.delay_ms > RVP_DELAY_MAX_MS || a.blob_len > RV_PUNCH_BLOB_MAX)
        abort();
}

/* A peer's candidate lines (after opening the seal): a mapped address of
 * either family, else only global IPv6. */
static void check_cands(const uint8_t *data, size_t size)
{
    struct punch_cand c[PUNCH_MAX_CANDS];
    int n = punch_cands_parse((const char *)data, size, c);
    if (n > PUNCH_MAX_CANDS)
        abort();
    for (int i = 0; i < n; i++) {
        const struct sockaddr_storage *a = &c[i].addr;
        if (a->ss_family != AF_INET6 && !(c[i].mapped && a->ss_family == AF_INET))
            abort();
        if (!c[i].mapped && (((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr[0] & 0xe0) != 0x20)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    check_head(data, size);
    /* as the client reads it: up to and including the first blank line */
    for (size_t i = 0; i + 4 <= size; i++) {
        if (memcmp(data + i, "\r\n\r\n", 4) == 0) {
            check_head(data, i + 4);
            check_record(data + i + 4, size - i - 4);
            break;
        }
    }
    check_record(data, size);
    check_addr((const char *)data, size);
    check_url(data, size);
    check_punch(data, size);
    check_cands(data, size);
    return 0;
}
