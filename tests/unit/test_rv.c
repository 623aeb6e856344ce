/*
 * Unit tests for discovery/path/rv.c, the relay client: URL parsing, the
 * rendezvous key, records, observed addresses, the strict HTTP response
 * parser, and every request against a fake relay on 127.0.0.1 (a thread
 * that reads one request, keeps it for the test to inspect and writes a
 * canned answer, or none), including cancel and timeouts.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "net.h"
#include "punch.h"
#include "rv.h"
#include "rvproto.h"

static const char KEY[] = "eabd34de62a9cf76178604eb47439e2cc07253081d137a846747c924e378a2f2";
static const char OWNER[] = "0123456789abcdef0123456789abcdef";
static const char ROOM[] = "fedcba9876543210fedcba9876543210";

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- URL ---- */

static void url_ok(const char *in, const char *host, const char *port, const char *prefix)
{
    struct rv_url u;
    int e = rv_url_parse(in, &u);
    if (e != 0)
        fail_msg("rv_url_parse(\"%s\") = %d", in, e);
    assert_string_equal(u.host, host);
    assert_string_equal(u.port, port);
    assert_string_equal(u.prefix, prefix);
}

static void test_url_good(void **state)
{
    (void)state;
    url_ok("http://h", "h", "9474", "");
    url_ok("http://h:1", "h", "1", "");
    url_ok("h:1", "h", "1", "");
    url_ok("h", "h", "9474", "");
    url_ok("HTTP://relay.example.org:65535", "relay.example.org", "65535", "");
    url_ok("http://[::1]:9/p/q", "::1", "9", "/p/q");
    url_ok("[2001:db8::1]", "2001:db8::1", "9474", "");
    url_ok("http://192.0.2.1:80/", "192.0.2.1", "80", "");
    url_ok("http://h/pcp/", "h", "9474", "/pcp");
    url_ok("http://h//", "h", "9474", "");
    url_ok("http://h:0080/a-b_c.d~e", "h", "80", "/a-b_c.d~e");
    url_ok("https://relay.example.org/pcp", "relay.example.org", "443", "/pcp");
    url_ok("HTTPS://h:8443", "h", "8443", "");
    struct rv_url u;
    assert_int_equal(rv_url_parse("https://h", &u), 0);
    assert_int_equal(u.tls, 1);
    assert_int_equal(rv_url_parse("http://h", &u), 0);
    assert_int_equal(u.tls, 0);
}

/* The relay order: a rendezvous hash of (channel, canonical URL), highest
 * first; the vectors computed apart with Python's hashlib.blake2b(msg,
 * key=b"pcp relay order", digest_size=32), the first 8 bytes big-endian.
 * The same list in another order gives the same relays in the same order,
 * and the URL's spelling (a default port, no scheme) does not matter. */
static void test_order(void **state)
{
    (void)state;
    static const char *urls[] = {"http://relay-a.example:9474", "https://relay-b.example",
                                 "[2001:db8::7]:9474/pcp"};
    static const struct {
        unsigned channel;
        size_t order[3];
    } v[] = {{0, {0, 2, 1}}, {1234, {0, 1, 2}}, {2047, {2, 0, 1}}};
    struct rv_client c[3], rev[3];
    memset(c, 0, sizeof(c));
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(rv_url_parse(urls[i], &c[i].url), 0);
        rev[2 - i] = c[i];
    }
    char t[600];
    rv_url_text(&c[1].url, t, sizeof(t));
    assert_string_equal(t, "https://relay-b.example:443");
    rv_url_text(&c[2].url, t, sizeof(t));
    assert_string_equal(t, "http://[2001:db8::7]:9474/pcp");
    for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
        size_t idx[3], ridx[3];
        rv_order(c, 3, v[k].channel, idx);
        rv_order(rev, 3, v[k].channel, ridx);
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(idx[i], v[k].order[i]);
            assert_int_equal(ridx[i], 2 - v[k].order[i]);
        }
    }
}

static void test_url_bad(void **state)
{
    (void)state;
    char longhost[300];
    char longpath[300];
    struct rv_url u;
    static const char *bad[] = {
        "https://",
        "ftp://h",
        "user@h",
        "http://user:pw@h:1",
        "http://h/?x=1",
        "http://h?x",
        "http://h/#frag",
        "h:0",
        "h:70000",
        "h:abc",
        "h:",
        "h:-1",
        "h:123456",
        "",
        "http://",
        "http://:9",
        ":9",
        "[]:9",
        "[::1",
        "[::1]x",
        "[::1]:",
        "[not-v6]:9",
        "::1",
        "h:1:2",
        "h o",
        "h\t",
        "h/p q",
        "h/p\\q",
        "h!",
        "h/\x7f",
        "h/\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rv_url_parse(bad[i], &u) != PCP_ERR_INVAL)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    /* host: 255 characters fit, 256 do not */
    memset(longhost, 'a', sizeof(longhost));
    longhost[255] = '\0';
    assert_int_equal(rv_url_parse(longhost, &u), 0);
    assert_int_equal(strlen(u.host), 255);
    longhost[255] = 'a';
    longhost[256] = '\0';
    assert_int_equal(rv_url_parse(longhost, &u), PCP_ERR_INVAL);
    /* prefix: likewise, after the trailing '/' is gone */
    longpath[0] = 'h';
    memset(longpath + 1, '/', sizeof(longpath) - 1);
    for (size_t i = 2; i < sizeof(longpath); i += 2)
        longpath[i] = 'p';
    longpath[257] = '\0'; /* "h" + "/p" * 128: a 256-byte prefix */
    assert_int_equal(rv_url_parse(longpath, &u), PCP_ERR_INVAL);
    longpath[256] = '/'; /* "/p" * 127 + "/": 254 bytes once stripped */
    assert_int_equal(rv_url_parse(longpath, &u), 0);
    assert_int_equal(strlen(u.prefix), 254);
    assert_int_equal(rv_url_parse(NULL, &u), PCP_ERR_INVAL);
    assert_int_equal(rv_url_parse("h", NULL), PCP_ERR_INVAL);
}

/* ---- key, random ---- */

static void test_key(void **state)
{
    (void)state;
    char k[RV_KEY_HEX + 1];
    /* Computed independently with Python 3:
     *   hashlib.blake2b(b'/pcp/1700000100000000000/1234', digest_size=32,
     *                   person=b'pcp1-rendezvous').hexdigest()
     * (hashlib zero-pads person to 16 bytes, as the protocol says). */
    rv_key(k, 1700000100000000000ull, 1234);
    assert_string_equal(k, KEY);
    /* ... and with b'/pcp/0/0' */
    rv_key(k, 0, 0);
    assert_string_equal(k, "8adc0921d608d45583b18612cdd70fe9e5c308003411e8b4778eeb910449714a");
    /* ... and with b'/pcp/1700000400000000000/7' */
    rv_key(k, 1700000400000000000ull, 7);
    assert_string_equal(k, "403653051ea20283ec7e87ad629be9dadddae158d9c56a9ec7868c9f941eba14");
}

static void test_random_hex(void **state)
{
    (void)state;
    char a[RV_ROOM_HEX + 1], b[RV_ROOM_HEX + 1], odd[8], big[201];
    rv_random_hex(a, RV_ROOM_HEX);
    rv_random_hex(b, RV_ROOM_HEX);
    assert_int_equal(strlen(a), RV_ROOM_HEX);
    assert_int_equal(strspn(a, "0123456789abcdef"), RV_ROOM_HEX);
    assert_string_not_equal(a, b);
    memset(odd, 'x', sizeof(odd));
    rv_random_hex(odd, 7);
    assert_int_equal(strlen(odd), 7);
    assert_int_equal(strspn(odd, "0123456789abcdef"), 7);
    rv_random_hex(big, 200);
    assert_int_equal(strlen(big), 200);
    assert_int_equal(strspn(big, "0123456789abcdef"), 200);
    rv_random_hex(odd, 0);
    assert_string_equal(odd, "");
}

/* ---- records ---- */

static int parse_str(const char *s, char room[RV_ROOM_HEX + 1])
{
    return rv_record_parse((const uint8_t *)s, strlen(s), room);
}

static void test_record(void **state)
{
    (void)state;
    char rec[RV_RECORD_MAX], room[RV_ROOM_HEX + 1], small[20], big[RV_RECORD_MAX + 2];

    assert_int_equal(rv_record_make(rec, sizeof(rec), ROOM), 0);
    assert_string_equal(rec, "v=1\nroom=fedcba9876543210fedcba9876543210\n");
    assert_int_equal(parse_str(rec, room), 0);
    assert_string_equal(room, ROOM);
    /* make: a room that is not 32 lowercase hex digits, or no room to write */
    assert_int_equal(rv_record_make(rec, sizeof(rec), "FEDCBA9876543210FEDCBA9876543210"),
                     PCP_ERR_INVAL);
    assert_int_equal(rv_record_make(rec, sizeof(rec), "abc"), PCP_ERR_INVAL);
    assert_int_equal(rv_record_make(rec, sizeof(rec), NULL), PCP_ERR_INVAL);
    assert_int_equal(rv_record_make(small, sizeof(small), ROOM), PCP_ERR_TOO_BIG);
    assert_string_equal(small, "");

    /* unknown keys are ignored, in any order; the last newline is optional */
    memset(room, 0, sizeof(room));
    assert_int_equal(
        parse_str("x-future=what ever=1\nroom=00112233445566778899aabbccddeeff\nv=1", room), 0);
    assert_string_equal(room, "00112233445566778899aabbccddeeff");
    assert_int_equal(parse_str("v=1\nroom=fedcba9876543210fedcba9876543210\nname=\n", room), 0);

    static const char *bad[] = {
        "v=2\nroom=fedcba9876543210fedcba9876543210\n",
        "v=\nroom=fedcba9876543210fedcba9876543210\n",
        "v=01\nroom=fedcba9876543210fedcba9876543210\n",
        "room=fedcba9876543210fedcba9876543210\n",
        "v=1\n",
        "v=1\nroom=\n",
        "v=1\nroom=fedcba9876543210fedcba987654321\n",
        "v=1\nroom=fedcba9876543210fedcba98765432100\n",
        "v=1\nroom=FEDCBA9876543210FEDCBA9876543210\n",
        "v=1\nroom=fedcba9876543210fedcba987654321g\n",
        "v=1\nroom=fedcba9876543210fedcba9876543210\nroom=fedcba9876543210fedcba9876543210\n",
        "v=1\nv=1\nroom=fedcba9876543210fedcba9876543210\n",
        "v=1\n\nroom=fedcba9876543210fedcba9876543210\n",
        "v=1\nroom=fedcba9876543210fedcba9876543210\n\n",
        "v=1\r\nroom=fedcba9876543210fedcba9876543210\r\n",
        "v=1\nroom=fedcba9876543210fedcba9876543210\nnoequals\n",
        "v=1\nroom=fedcba9876543210fedcba9876543210\n=x\n",
        "v=1\nroom=fedcba9876543210fedcba9876543210\nx=\t\n",
        " v=1\nroom=fedcba9876543210fedcba9876543210\n",
        "v = 1\nroom=fedcba9876543210fedcba9876543210\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse_str(bad[i], room) != PCP_ERR_PROTO)
            fail_msg("accepted record %zu", i);
    /* a NUL inside, an empty record, one byte over the limit */
    static const uint8_t nul[] = "v=1\nroom=fedcba9876543210fedcba9876543210\nx=\0\n";
    assert_int_equal(rv_record_parse(nul, sizeof(nul) - 1, room), PCP_ERR_PROTO);
    assert_int_equal(rv_record_parse((const uint8_t *)"", 0, room), PCP_ERR_PROTO);
    int n = snprintf(big, sizeof(big), "v=1\nroom=%s\nx=", ROOM);
    memset(big + n, 'y', sizeof(big) - (size_t)n);
    assert_int_equal(rv_record_parse((const uint8_t *)big, RV_RECORD_MAX, room), 0);
    assert_int_equal(rv_record_parse((const uint8_t *)big, RV_RECORD_MAX + 1, room), PCP_ERR_PROTO);
}

/* Several senders' records in one body (GET ?all=1). */
static void test_records(void **state)
{
    (void)state;
    char rooms[RV_RECORDS_MAX][RV_ROOM_HEX + 1];
    static const char A[] = "v=1\nroom=00000000000000000000000000000001\n",
                      B[] = "v=1\nroom=00000000000000000000000000000002\n",
                      JUNK[] = "v=9\nroom=00000000000000000000000000000003\n";
    char body[RV_RECORDS_BODY_MAX + 2];
#define PARSE(s, max) rv_records_parse((const uint8_t *)(s), strlen(s), rooms, (max))
    /* one record, as an older relay sends it, with or without its newline */
    assert_int_equal(PARSE(A, 8), 1);
    assert_string_equal(rooms[0], "00000000000000000000000000000001");
    assert_int_equal(PARSE("v=1\nroom=00000000000000000000000000000001", 8), 1);
    /* two, in the body's order; a sender's junk is skipped, a room twice
     * counts once, max is respected */
    snprintf(body, sizeof(body), "%s\n%s\n%s\n%s", B, JUNK, A, B);
    assert_int_equal(PARSE(body, 8), 2);
    assert_string_equal(rooms[0], "00000000000000000000000000000002");
    assert_string_equal(rooms[1], "00000000000000000000000000000001");
    assert_int_equal(PARSE(body, 1), 1);
    assert_string_equal(rooms[0], "00000000000000000000000000000002");
    /* nothing that parses */
    assert_int_equal(PARSE(JUNK, 8), PCP_ERR_PROTO);
    /* framing: empty lines where there is no record, too many records */
    static const char two_blank[] = "v=1\nroom=00000000000000000000000000000001\n\n\nv=1\nroom="
                                    "00000000000000000000000000000002\n";
    static const char *bad[] = {
        "\nv=1\nroom=00000000000000000000000000000001\n",
        "v=1\nroom=00000000000000000000000000000001\n\n",
        two_blank,
        "\n",
        "\n\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (PARSE(bad[i], 8) != PCP_ERR_PROTO)
            fail_msg("accepted body %zu", i);
    size_t n = 0;
    for (int i = 0; i < RV_RECORDS_MAX + 1; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%sv=1\nroom=%032x\n", i ? "\n" : "",
                              i + 1);
    assert_int_equal(rv_records_parse((const uint8_t *)body, n, rooms, 8), PCP_ERR_PROTO);
    /* the last record dropped: eight are fine */
    n = (size_t)(strrchr(body, 'v') - body) - 1;
    assert_int_equal(rv_records_parse((const uint8_t *)body, n, rooms, 8), 8);
    assert_string_equal(rooms[7], "00000000000000000000000000000008");
    /* size limits and arguments */
    memset(body, 'x', sizeof(body));
    assert_int_equal(rv_records_parse((const uint8_t *)body, RV_RECORDS_BODY_MAX + 1, rooms, 8),
                     PCP_ERR_PROTO);
    assert_int_equal(rv_records_parse((const uint8_t *)body, 0, rooms, 8), PCP_ERR_PROTO);
    assert_int_equal(rv_records_parse(NULL, 1, rooms, 8), PCP_ERR_INVAL);
    assert_int_equal(PARSE(A, 0), PCP_ERR_INVAL);
#undef PARSE
}

/* ---- observed addresses ---- */

static void test_addr(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    char s[64];
    static const char *good[] = {"192.0.2.1:80", "[2001:db8::1]:65535", "[::ffff:10.0.0.1]:1"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(net_addr_parse(good[i], strlen(good[i]), &ss), 0);
        net_addr_str(&ss, 1, s, sizeof(s));
        assert_string_equal(s, i == 2 ? "10.0.0.1:1" : good[i]);
    }
    /* the length bounds it: no NUL needed */
    assert_int_equal(net_addr_parse("192.0.2.1:8080xyz", 14, &ss), 0);
    assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8080);
    static const char *bad[] = {
        "",           "192.0.2.1",   "192.0.2.1:",    "192.0.2.1:0",   "1.2.3.4:x",
        "1.2.3:4",    "1.2.3.4.5:6", "1.2.3.4:70000", "::1:80",        "[::1]",
        "[::1]:",     "[::1]80",     "[1.2.3.4]:5",   "[fe80::1%1]:5", "host.example:80",
        "1.2.3.4:5 ", " 1.2.3.4:5",  "1.2.3.4:+5",    "[]:5",          "1.2.3.4:123456"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (net_addr_parse(bad[i], strlen(bad[i]), &ss) != PCP_ERR_PROTO)
            fail_msg("accepted address \"%s\"", bad[i]);
        assert_int_equal(ss.ss_family, AF_UNSPEC);
    }
    assert_int_equal(net_addr_parse("1.2.3.4\0:5", 10, &ss), PCP_ERR_PROTO);
}

/* ---- HTTP response heads ---- */

static int head(const char *s, struct http_resp *r)
{
    return http_parse_response((const uint8_t *)s, strlen(s), r);
}

static void test_http_good(void **state)
{
    (void)state;
    struct http_resp r;

    assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-Pcp-Observed: "
                          "192.0.2.1:5\r\nServer: pcp\r\n\r\n",
                          &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.content_length, 12);
    assert_string_equal(r.observed, "192.0.2.1:5");
    assert_int_equal(r.upgrade, 0);

    assert_int_equal(head("HTTP/1.1 101 Switching Protocols\r\nUpgrade: pcp-relay/1\r\n"
                          "Connection: Upgrade\r\n\r\n",
                          &r),
                     0);
    assert_int_equal(r.status, 101);
    assert_int_equal(r.content_length, -1);
    assert_string_equal(r.observed, "");
    assert_int_equal(r.upgrade, 1);

    /* names are case-insensitive; white space around values is not part of them */
    assert_int_equal(head("HTTP/1.0 404 \r\ncontent-length:\t 0 \r\nUPGRADE: PCP-Relay/1\r\n"
                          "x-pcp-observed:   [::1]:9  \r\n\r\n",
                          &r),
                     0);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.content_length, 0);
    assert_int_equal(r.upgrade, 1);
    assert_string_equal(r.observed, "[::1]:9");

    /* no reason phrase at all; an empty value; obs-text in a value */
    assert_int_equal(head("HTTP/1.1 204\r\nX-Empty:\r\nX-Text: caf\xc3\xa9\r\n\r\n", &r), 0);
    assert_int_equal(r.status, 204);
    /* another upgrade protocol is not ours */
    assert_int_equal(head("HTTP/1.1 101 x\r\nUpgrade: websocket\r\n\r\n", &r), 0);
    assert_int_equal(r.upgrade, 0);
    /* the largest legal Content-Length (18 digits) */
    assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999\r\n\r\n", &r), 0);
    assert_true(r.content_length == 999999999999999999ll);

    /* exactly 64 headers, exactly 8 KiB */
    char buf[8192 + 64];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 64; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-H%d: v\r\n", i);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
    assert_int_equal(http_parse_response((const uint8_t *)buf, n, &r), 0);
    n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nX-Pad: ");
    memset(buf + n, 'p', 8192 - 4 - n);
    memcpy(buf + 8192 - 4, "\r\n\r\n", 4);
    assert_int_equal(http_parse_response((const uint8_t *)buf, 8192, &r), 0);
}

static void test_http_bad(void **state)
{
    (void)state;
    struct http_resp r;
    static const char *bad[] = {
        /* no head, no end of head */
        "",
        "\r\n\r\n",
        "HTTP/1.1 200 OK\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n",
        "HTTP/1.1 200 OK\n\n",
        "HTTP/1.1 200 OK\r\n\r\n\r\n",
        "HTTP/1.1 200 OK\r\n\r\nbody",
        /* status line */
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.2 200 OK\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n",
        "HTTP/1.1  200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 099 OK\r\n\r\n",
        "HTTP/1.1 600 OK\r\n\r\n",
        "HTTP/1.1 -20 OK\r\n\r\n",
        "HTTP/1.1 200 O\x01K\r\n\r\n",
        " HTTP/1.1 200 OK\r\n\r\n",
        "SSH-2.0-OpenSSH_9.6\r\n\r\n",
        /* Content-Length */
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1,1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000000\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        /* header syntax */
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n\tfolded\r\n\r\n",
        "HTTP/1.1 200 OK\r\n X-A: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\nb\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\x7f\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\x1b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-\xc3\xa9: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Pcp-Observed: 1.2.3.4:5\r\nX-Pcp-Observed: 1.2.3.4:5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Pcp-Observed: \r\n\r\n",
        ("HTTP/1.1 200 OK\r\nX-Pcp-Observed: "
         "[1111:2222:3333:4444:5555:6666:7777:8888]:65535-----------------\r\n\r\n"),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int e = head(bad[i], &r);
        if (e != PCP_ERR_PROTO)
            fail_msg("head %zu: %d", i, e);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.content_length, -1);
    }
    /* NUL in the status line and in a header */
    static const uint8_t nul1[] = "HTTP/1.1 200 O\0K\r\n\r\n";
    static const uint8_t nul2[] = "HTTP/1.1 200 OK\r\nX-A: \0\r\n\r\n";
    assert_int_equal(http_parse_response(nul1, sizeof(nul1) - 1, &r), PCP_ERR_PROTO);
    assert_int_equal(http_parse_response(nul2, sizeof(nul2) - 1, &r), PCP_ERR_PROTO);

    /* 65 headers; 8 KiB + 1 */
    char buf[8192 + 64];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-H%d: v\r\n", i);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
    assert_int_equal(http_parse_response((const uint8_t *)buf, n, &r), PCP_ERR_PROTO);
    n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nX-Pad: ");
    memset(buf + n, 'p', 8193 - 4 - n);
    memcpy(buf + 8193 - 4, "\r\n\r\n", 4);
    assert_int_equal(http_parse_response((const uint8_t *)buf, 8193, &r), PCP_ERR_PROTO);
    assert_int_equal(http_parse_response(NULL, 0, &r), PCP_ERR_PROTO);
    assert_int_equal(head("HTTP/1.1 200 OK\r\n\r\n", NULL), PCP_ERR_INVAL);
}

/* ---- a fake relay ---- */

struct fake {
    int lfd;
    uint16_t port;
    pthread_t th;
    const char *resp; /* written after the request, then the socket closes */
    size_t resp_len;
    size_t split; /* > 0: write resp[0..split), pause, then the rest */
    int delay_ms; /* before answering */
    int silent;   /* never answer; hold the connection until stop */
    atomic_int stop;
    char req[8192]; /* what the client sent: head and body */
    size_t req_len;
    int got; /* a whole request arrived */
};

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    struct sockaddr_storage from;
    int fd;
    if (net_accept(f->lfd, 10000, &f->stop, &fd, &from) != 0)
        return NULL;
    net_set_timeout(fd, 5000);
    /* the head, then Content-Length bytes of body */
    size_t need = 0;
    char *end = NULL;
    while (f->req_len < sizeof(f->req) - 1) {
        ssize_t r = recv(fd, f->req + f->req_len, sizeof(f->req) - 1 - f->req_len, 0);
        if (r <= 0)
            break;
        f->req_len += (size_t)r;
        f->req[f->req_len] = '\0';
        if (!end && (end = strstr(f->req, "\r\n\r\n")) != NULL) {
            const char *cl = strstr(f->req, "\r\nContent-Length: ");
            need = (size_t)(end + 4 - f->req) + (cl && cl < end ? strtoul(cl + 18, NULL, 10) : 0);
        }
        if (end && f->req_len >= need) {
            f->got = 1;
            break;
        }
    }
    if (f->silent) {
        while (!f->stop)
            sleep_ms(10);
    } else if (f->got) {
        if (f->delay_ms)
            sleep_ms(f->delay_ms);
        if (f->split) {
            net_write_all(fd, f->resp, f->split);
            sleep_ms(50);
            net_write_all(fd, f->resp + f->split, f->resp_len - f->split);
        } else {
            net_write_all(fd, f->resp, f->resp_len);
        }
    }
    close(fd);
    return NULL;
}

static void fake_listen(struct fake *f)
{
    struct sockaddr_in a;
    socklen_t sl = sizeof(a);
    int one = 1;
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &sl), 0);
    f->port = ntohs(a.sin_port);
}

static void fake_start(struct fake *f, const char *resp)
{
    f->resp = resp;
    f->resp_len = resp ? strlen(resp) : 0;
    fake_listen(f);
    assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_join(struct fake *f)
{
    f->stop = 1;
    pthread_join(f->th, NULL);
    close(f->lfd);
}

static struct fake *fake_new(const char *resp)
{
    struct fake *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    fake_start(f, resp);
    return f;
}

static void fake_free(struct fake *f)
{
    fake_join(f);
    free(f);
}

static struct rv_client client_for(const struct fake *f, const char *prefix, const char *token)
{
    struct rv_client c;
    char url[128];
    memset(&c, 0, sizeof(c));
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)f->port, prefix);
    assert_int_equal(rv_url_parse(url, &c.url), 0);
    c.token = token;
    return c;
}

/* The request head holds this exact header line. */
static int has_line(const struct fake *f, const char *line)
{
    char want[512];
    snprintf(want, sizeof(want), "\r\n%s\r\n", line);
    const char *end = strstr(f->req, "\r\n\r\n");
    const char *at = strstr(f->req, want);
    return end && at && at <= end;
}

static int starts_with(const struct fake *f, const char *s)
{
    return strncmp(f->req, s, strlen(s)) == 0;
}

static const char *body_of(const struct fake *f)
{
    const char *end = strstr(f->req, "\r\n\r\n");
    return end ? end + 4 : "";
}

/* ---- requests ---- */

static void test_put(void **state)
{
    (void)state;
    char line[128], rec[RV_RECORD_MAX];
    struct sockaddr_storage obs;
    struct fake *f = fake_new("HTTP/1.1 200 OK\r\nContent-Length: 26\r\nConnection: close\r\n\r\n"
                              "observed 203.0.113.7:4242\n");
    struct rv_client c = client_for(f, "/relay/", "s3cret-token");
    assert_int_equal(rv_record_make(rec, sizeof(rec), ROOM), 0);
    assert_int_equal(rv_put(&c, KEY, OWNER, rec, strlen(rec), 2000, &obs), 0);
    fake_join(f);

    snprintf(line, sizeof(line), "PUT /relay/v1/rv/%s HTTP/1.1\r\n", KEY);
    assert_true(starts_with(f, line));
    snprintf(line, sizeof(line), "Host: 127.0.0.1:%u", (unsigned)f->port);
    assert_true(has_line(f, line));
    assert_true(has_line(f, "Authorization: Bearer s3cret-token"));
    snprintf(line, sizeof(line), "X-Pcp-Owner: %s", OWNER);
    assert_true(has_line(f, line));
    snprintf(line, sizeof(line), "Content-Length: %zu", strlen(rec));
    assert_true(has_line(f, line));
    assert_true(has_line(f, "Connection: close"));
    assert_true(has_line(f, "User-Agent: pcp/" PCP_VERSION));
    assert_string_equal(body_of(f), rec);

    char s[64];
    net_addr_str(&obs, 1, s, sizeof(s));
    assert_string_equal(s, "203.0.113.7:4242");
    free(f);

    /* an IPv6 observed address, no newline, no token, observed not wanted */
    f = fake_new("HTTP/1.1 200 OK\r\nContent-Length: 24\r\n\r\nobserved [2001:db8::1]:9");
    c = client_for(f, "", NULL);
    assert_int_equal(rv_put(&c, KEY, OWNER, "x", 1, 2000, NULL), 0);
    fake_join(f);
    snprintf(line, sizeof(line), "PUT /v1/rv/%s HTTP/1.1\r\n", KEY);
    assert_true(starts_with(f, line));
    assert_null(strstr(f->req, "Authorization"));
    free(f);
}

static void test_put_args(void **state)
{
    (void)state;
    struct rv_client c;
    struct sockaddr_storage obs;
    char big[RV_RECORD_MAX + 1];
    memset(&c, 0, sizeof(c));
    assert_int_equal(rv_url_parse("127.0.0.1:1", &c.url), 0);
    memset(big, 'x', sizeof(big));
    assert_int_equal(rv_put(&c, "abc", OWNER, "x", 1, 100, &obs), PCP_ERR_INVAL);
    assert_int_equal(obs.ss_family, AF_UNSPEC);
    assert_int_equal(rv_put(&c, KEY, "ABC", "x", 1, 100, &obs), PCP_ERR_INVAL);
    assert_int_equal(rv_put(&c, KEY, OWNER, "x", 0, 100, &obs), PCP_ERR_INVAL);
    assert_int_equal(rv_put(&c, KEY, OWNER, big, sizeof(big), 100, &obs), PCP_ERR_TOO_BIG);
    assert_int_equal(rv_put(&c, KEY, OWNER, "x", 1, 0, &obs), PCP_ERR_INVAL);
    c.token = "two words";
    assert_int_equal(rv_put(&c, KEY, OWNER, "x", 1, 100, &obs), PCP_ERR_INVAL);
    c.token = "line\r\nX-Evil: 1";
    assert_int_equal(rv_put(&c, KEY, OWNER, "x", 1, 100, &obs), PCP_ERR_INVAL);
}

struct mapping {
    const char *resp;
    int want;
};

static void test_put_status(void **state)
{
    (void)state;
    static const struct mapping m[] = {
        {"HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nno!\n", PCP_ERR_RELAY_AUTH},
        {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", PCP_ERR_NOT_FOUND},
        {"HTTP/1.1 409 Conflict\r\nContent-Length: 0\r\n\r\n", PCP_ERR_RELAY_BUSY},
        {"HTTP/1.1 413 Too Large\r\n\r\n", PCP_ERR_TOO_BIG},
        {"HTTP/1.1 429 Too Many\r\nContent-Length: 0\r\n\r\n", PCP_ERR_RELAY_BUSY},
        {"HTTP/1.1 503 Busy\r\n\r\n", PCP_ERR_RELAY_BUSY},
        {"HTTP/1.1 500 Oops\r\n\r\n", PCP_ERR_PROTO},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: pcp-relay/1\r\n\r\n", PCP_ERR_PROTO},
        {"HELLO\r\n\r\n", PCP_ERR_PROTO},
        {"SSH-2.0-OpenSSH_9.6\r\n", PCP_ERR_PROTO},
        {"", PCP_ERR_CLOSED},
        /* a 200 must carry "observed ADDR:PORT" */
        {"HTTP/1.1 200 OK\r\n\r\n", PCP_ERR_PROTO},
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", PCP_ERR_PROTO},
        {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nobserved 1", PCP_ERR_PROTO},
        {"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nobserved 1.2.3.4:5", PCP_ERR_PROTO},
        {"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\nobserved 1.2.3.4\n", PCP_ERR_PROTO},
        {"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\nobserved: 1.2.3.4:5", PCP_ERR_PROTO},
        {"HTTP/1.1 200 OK\r\nContent-Length: 4097\r\n\r\nobserved 1.2.3.4:5\n", PCP_ERR_PROTO},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", PCP_ERR_PROTO},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        struct fake *f = fake_new(m[i].resp);
        struct rv_client c = client_for(f, "", NULL);
        int e = rv_put(&c, KEY, OWNER, "v=1", 3, 2000, NULL);
        fake_free(f);
        if (e != m[i].want)
            fail_msg("response %zu: got %d, want %d", i, e, m[i].want);
    }
}

static void test_get(void **state)
{
    (void)state;
    uint8_t rec[RV_RECORD_MAX];
    size_t len = 99;
    char line[160], s[64];
    struct sockaddr_storage obs;
    struct fake *f = fake_new("HTTP/1.1 200 OK\r\nX-Pcp-Observed: 198.51.100.2:777\r\n"
                              "Content-Length: 42\r\n\r\n"
                              "v=1\nroom=fedcba9876543210fedcba9876543210\n"
                              "trailing bytes the client never reads");
    struct rv_client c = client_for(f, "/a/b", "tok");
    assert_int_equal(rv_get(&c, KEY, 7, rec, sizeof(rec), &len, &obs), 0);
    fake_join(f);
    snprintf(line, sizeof(line), "GET /a/b/v1/rv/%s?wait=7 HTTP/1.1\r\n", KEY);
    assert_true(starts_with(f, line));
    snprintf(line, sizeof(line), "Host: 127.0.0.1:%u", (unsigned)f->port);
    assert_true(has_line(f, line));
    assert_true(has_line(f, "Authorization: Bearer tok"));
    assert_true(has_line(f, "Connection: close"));
    assert_null(strstr(f->req, "Content-Length"));
    assert_null(strstr(f->req, "X-Pcp-Owner"));
    assert_int_equal(len, 42);
    char room[RV_ROOM_HEX + 1];
    assert_int_equal(rv_record_parse(rec, len, room), 0);
    assert_string_equal(room, ROOM);
    net_addr_str(&obs, 1, s, sizeof(s));
    assert_string_equal(s, "198.51.100.2:777");
    free(f);

    /* 404 still reports the observed address */
    f = fake_new("HTTP/1.1 404 Not Found\r\nX-Pcp-Observed: [2001:db8::5]:1\r\n"
                 "Content-Length: 10\r\n\r\nno record\n");
    c = client_for(f, "", NULL);
    assert_int_equal(rv_get(&c, KEY, 0, rec, sizeof(rec), &len, &obs), PCP_ERR_NOT_FOUND);
    assert_int_equal(len, 0);
    assert_int_equal(obs.ss_family, AF_INET6);
    fake_free(f);

    /* no X-Pcp-Observed: AF_UNSPEC */
    f = fake_new("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
    c = client_for(f, "", NULL);
    assert_int_equal(rv_get(&c, KEY, 0, rec, sizeof(rec), &len, &obs), 0);
    assert_int_equal(len, 1);
    assert_int_equal(obs.ss_family, AF_UNSPEC);
    fake_free(f);

    /* bad arguments */
    assert_int_equal(rv_get(&c, KEY, -1, rec, sizeof(rec), &len, &obs), PCP_ERR_INVAL);
    assert_int_equal(rv_get(&c, KEY, RV_WAIT_MAX_S + 1, rec, sizeof(rec), &len, &obs),
                     PCP_ERR_INVAL);
    assert_int_equal(rv_get(&c, "nothex", 0, rec, sizeof(rec), &len, &obs), PCP_ERR_INVAL);
}

static void test_get_status(void **state)
{
    (void)state;
    static const struct mapping m[] = {
        {"HTTP/1.1 401 Unauthorized\r\n\r\n", PCP_ERR_RELAY_AUTH},
        {"HTTP/1.1 404 Not Found\r\n\r\n", PCP_ERR_NOT_FOUND},
        {"HTTP/1.1 409 Conflict\r\n\r\n", PCP_ERR_RELAY_BUSY},
        {"HTTP/1.1 413 Too Large\r\n\r\n", PCP_ERR_TOO_BIG},
        {"HTTP/1.1 429 Too Many\r\n\r\n", PCP_ERR_RELAY_BUSY},
        {"HTTP/1.1 503 Busy\r\n\r\n", PCP_ERR_RELAY_BUSY},
        {"HTTP/1.1 302 Found\r\nLocation: /\r\n\r\n", PCP_ERR_PROTO},
        {"garbage\r\n\r\n", PCP_ERR_PROTO},
        {"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nv=1\n", PCP_ERR_PROTO}, /* truncated */
        {"HTTP/1.1 200 OK\r\n\r\nv=1\n", PCP_ERR_PROTO},                      /* no length */
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", PCP_ERR_PROTO},      /* empty */
        {"HTTP/1.1 200 OK\r\nContent-Length: 1025\r\n\r\n", PCP_ERR_TOO_BIG},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-Pcp-Observed: 1.2.3.4\r\n\r\nx", PCP_ERR_PROTO},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-Pcp-Observed: 1.2.3.4:5\r\n"
         "X-Pcp-Observed: 1.2.3.4:5\r\n\r\nx",
         PCP_ERR_PROTO},
    };
    uint8_t rec[RV_RECORD_MAX];
    size_t len;
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        struct fake *f = fake_new(m[i].resp);
        struct rv_client c = client_for(f, "", NULL);
        int e = rv_get(&c, KEY, 0, rec, sizeof(rec), &len, NULL);
        fake_free(f);
        if (e != m[i].want)
            fail_msg("response %zu: got %d, want %d", i, e, m[i].want);
    }
    /* a record longer than the caller's buffer */
    struct fake *f = fake_new("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nv=1\nx");
    struct rv_client c = client_for(f, "", NULL);
    assert_int_equal(rv_get(&c, KEY, 0, rec, 4, &len, NULL), PCP_ERR_TOO_BIG);
    fake_free(f);
}

static void test_get_rooms(void **state)
{
    (void)state;
    char rooms[RV_RECORDS_MAX][RV_ROOM_HEX + 1], line[160];
    size_t n = 99;
    struct sockaddr_storage obs;
    struct fake *f = fake_new("HTTP/1.1 200 OK\r\nX-Pcp-Observed: 198.51.100.2:777\r\n"
                              "Content-Length: 85\r\n\r\n"
                              "v=1\nroom=fedcba9876543210fedcba9876543210\n\n"
                              "v=1\nroom=00000000000000000000000000000001\n");
    struct rv_client c = client_for(f, "", NULL);
    assert_int_equal(rv_get_rooms(&c, KEY, 3, rooms, RV_RECORDS_MAX, &n, &obs), 0);
    fake_join(f);
    snprintf(line, sizeof(line), "GET /v1/rv/%s?wait=3&all=1 HTTP/1.1\r\n", KEY);
    assert_true(starts_with(f, line));
    free(f);
    assert_int_equal(n, 2);
    assert_string_equal(rooms[0], ROOM);
    assert_string_equal(rooms[1], "00000000000000000000000000000001");
    assert_int_equal(obs.ss_family, AF_INET);
    /* a body of many records, longer than any other answer, is read whole */
    static char big[256 + RV_RECORDS_BODY_MAX], body[RV_RECORDS_BODY_MAX];
    size_t bl = 0;
    for (int i = 0; i < RV_RECORDS_MAX; i++) {
        bl += (size_t)snprintf(body + bl, sizeof(body) - bl, "%sv=1\nroom=%032x\nx=", i ? "\n" : "",
                               i + 1);
        memset(body + bl, 'p', 900);
        bl += 900;
        body[bl++] = '\n';
    }
    snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%.*s", bl, (int)bl,
             body);
    f = fake_new(big);
    c = client_for(f, "", NULL);
    assert_int_equal(rv_get_rooms(&c, KEY, 0, rooms, RV_RECORDS_MAX, &n, NULL), 0);
    assert_int_equal(n, RV_RECORDS_MAX);
    assert_string_equal(rooms[7], "00000000000000000000000000000008");
    fake_free(f);
    /* 404 and no records that parse */
    f = fake_new("HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nno record\n");
    c = client_for(f, "", NULL);
    assert_int_equal(rv_get_rooms(&c, KEY, 0, rooms, 8, &n, NULL), PCP_ERR_NOT_FOUND);
    assert_int_equal(n, 0);
    fake_free(f);
    f = fake_new("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nv=1\n");
    c = client_for(f, "", NULL);
    assert_int_equal(rv_get_rooms(&c, KEY, 0, rooms, 8, &n, NULL), PCP_ERR_PROTO);
    fake_free(f);
    assert_int_equal(rv_get_rooms(&c, KEY, 0, rooms, 0, &n, NULL), PCP_ERR_INVAL);
    assert_int_equal(rv_get_rooms(&c, "0", 0, rooms, 8, &n, NULL), PCP_ERR_INVAL);
}

static void test_delete(void **state)
{
    (void)state;
    char line[128];
    struct fake *f = fake_new("HTTP/1.1 204 No Content\r\n\r\n");
    struct rv_client c = client_for(f, "/p", "t");
    assert_int_equal(rv_delete(&c, KEY, OWNER, 2000), 0);
    fake_join(f);
    snprintf(line, sizeof(line), "DELETE /p/v1/rv/%s HTTP/1.1\r\n", KEY);
    assert_true(starts_with(f, line));
    snprintf(line, sizeof(line), "X-Pcp-Owner: %s", OWNER);
    assert_true(has_line(f, line));
    assert_true(has_line(f, "Authorization: Bearer t"));
    assert_true(has_line(f, "Connection: close"));
    free(f);

    static const struct mapping m[] = {
        {"HTTP/1.1 404 Not Found\r\n\r\n", PCP_ERR_NOT_FOUND},
        {"HTTP/1.1 409 Conflict\r\n\r\n", PCP_ERR_RELAY_BUSY},
        {"HTTP/1.1 401 Unauthorized\r\n\r\n", PCP_ERR_RELAY_AUTH},
        {"nonsense\r\n\r\n", PCP_ERR_PROTO},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        f = fake_new(m[i].resp);
        c = client_for(f, "", NULL);
        assert_int_equal(rv_delete(&c, KEY, OWNER, 2000), m[i].want);
        fake_free(f);
    }
}

static void check_pipe(size_t split)
{
    char line[128], got[16];
    int fd = 12345;
    struct fake *f = fake_new("HTTP/1.1 101 Switching Protocols\r\nUpgrade: pcp-relay/1\r\n"
                              "Connection: Upgrade\r\n\r\nHELLO");
    f->split = split;
    struct rv_client c = client_for(f, "/r", "tk");
    assert_int_equal(rv_pipe(&c, ROOM, 2000, &fd), 0);
    assert_true(fd >= 0);
    /* exactly what followed the head, then the end of the stream */
    assert_int_equal(net_set_timeout(fd, 2000), 0);
    assert_int_equal(net_read_all(fd, got, 5), 0);
    assert_memory_equal(got, "HELLO", 5);
    assert_int_equal(net_read_all(fd, got, 1), PCP_ERR_CLOSED);
    close(fd);
    fake_join(f);
    snprintf(line, sizeof(line), "GET /r/v1/pipe/%s HTTP/1.1\r\n", ROOM);
    assert_true(starts_with(f, line));
    assert_true(has_line(f, "Connection: Upgrade"));
    assert_true(has_line(f, "Upgrade: pcp-relay/1"));
    assert_true(has_line(f, "Authorization: Bearer tk"));
    assert_null(strstr(f->req, "Connection: close"));
    free(f);
}

static void test_pipe(void **state)
{
    (void)state;
    const size_t head_len = strlen("HTTP/1.1 101 Switching Protocols\r\nUpgrade: pcp-relay/1\r\n"
                                   "Connection: Upgrade\r\n\r\n");
    check_pipe(0);
    /* the head arriving in pieces, split inside and right after CR LF CR LF */
    check_pipe(head_len - 3);
    check_pipe(head_len - 1);
    check_pipe(head_len);
    check_pipe(10);

    static const struct mapping m[] = {
        {"HTTP/1.1 429 Too Many\r\n\r\n", PCP_ERR_RELAY_BUSY},
        {"HTTP/1.1 503 Full\r\n\r\n", PCP_ERR_RELAY_BUSY},
        {"HTTP/1.1 401 Unauthorized\r\n\r\n", PCP_ERR_RELAY_AUTH},
        {"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n", PCP_ERR_PROTO},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", PCP_ERR_PROTO},
        {"HTTP/1.1 200 OK\r\n\r\n", PCP_ERR_PROTO},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: pcp-relay/1\r\n", PCP_ERR_PROTO},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        int fd = 12345;
        struct fake *f = fake_new(m[i].resp);
        struct rv_client c = client_for(f, "", NULL);
        int e = rv_pipe(&c, ROOM, 2000, &fd);
        fake_free(f);
        if (e != m[i].want)
            fail_msg("response %zu: got %d, want %d", i, e, m[i].want);
        assert_int_equal(fd, -1);
    }
    int fd;
    struct rv_client c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(rv_url_parse("127.0.0.1:1", &c.url), 0);
    assert_int_equal(rv_pipe(&c, "0123", 100, &fd), PCP_ERR_INVAL);
    assert_int_equal(rv_pipe(&c, ROOM, 100, NULL), PCP_ERR_INVAL);
}

/* A fake relay that answers connection i with resps[i] (the last one
 * again for any after), counting them. */
struct multi {
    struct fake f; /* its listening socket */
    const char *const *resps;
    size_t nresp;
    int conns;
};

static void *multi_main(void *arg)
{
    struct multi *m = arg;
    while (!m->f.stop) {
        struct sockaddr_storage from;
        int fd;
        if (net_accept(m->f.lfd, 100, &m->f.stop, &fd, &from) != 0)
            continue;
        net_set_timeout(fd, 2000);
        char req[4096];
        size_t len = 0;
        while (len < sizeof(req) - 1) {
            ssize_t r = recv(fd, req + len, sizeof(req) - 1 - len, 0);
            if (r <= 0)
                break;
            len += (size_t)r;
            req[len] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        size_t i = (size_t)m->conns < m->nresp ? (size_t)m->conns : m->nresp - 1;
        m->conns++;
        net_write_all(fd, m->resps[i], strlen(m->resps[i]));
        close(fd);
    }
    return NULL;
}

static int pipe_through(const char *const *resps, size_t n, int timeout_ms, int *conns)
{
    struct multi m;
    memset(&m, 0, sizeof(m));
    m.resps = resps;
    m.nresp = n;
    fake_listen(&m.f);
    assert_int_equal(pthread_create(&m.f.th, NULL, multi_main, &m), 0);
    struct rv_client c = client_for(&m.f, "", NULL);
    int fd = -1, e = rv_pipe(&c, ROOM, timeout_ms, &fd);
    if (e == 0) {
        char got[5];
        assert_int_equal(net_set_timeout(fd, 2000), 0);
        assert_int_equal(net_read_all(fd, got, 5), 0);
        assert_memory_equal(got, "HELLO", 5);
        close(fd);
    } else {
        assert_int_equal(fd, -1);
    }
    fake_join(&m.f);
    *conns = m.conns;
    return e;
}

/* A 409 (room busy: a stranger paired with the sender's waiting
 * connection, for a few seconds) is tried again while time remains;
 * other refusals are not. */
static void test_pipe_retry(void **state)
{
    (void)state;
    static const char busy[] = "HTTP/1.1 409 Conflict\r\nContent-Length: 5\r\n\r\nbusy\n",
                      ok[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: pcp-relay/1\r\n"
                             "Connection: Upgrade\r\n\r\nHELLO",
                      full[] = "HTTP/1.1 429 Too Many\r\n\r\n";
    static const char *const later[] = {busy, busy, ok}, *const never[] = {busy},
                             *const limit[] = {full, ok};
    int conns;
    assert_int_equal(pipe_through(later, 3, 20000, &conns), 0);
    assert_int_equal(conns, 3);
    assert_int_equal(pipe_through(never, 1, 1500, &conns), PCP_ERR_RELAY_BUSY);
    assert_true(conns >= 2);
    assert_int_equal(pipe_through(limit, 2, 20000, &conns), PCP_ERR_RELAY_BUSY);
    assert_int_equal(conns, 1);
    /* no time for a second try */
    assert_int_equal(pipe_through(never, 1, 100, &conns), PCP_ERR_RELAY_BUSY);
    assert_int_equal(conns, 1);
}

/* An over-long head is refused rather than read forever. */
static void test_head_too_long(void **state)
{
    (void)state;
    size_t n = 10000;
    char *resp = malloc(n + 1);
    assert_non_null(resp);
    memcpy(resp, "HTTP/1.1 200 OK\r\nX-Pad: ", 24);
    memset(resp + 24, 'p', n - 24);
    resp[n] = '\0';
    struct fake *f = fake_new(resp);
    struct rv_client c = client_for(f, "", NULL);
    assert_int_equal(rv_put(&c, KEY, OWNER, "x", 1, 2000, NULL), PCP_ERR_PROTO);
    fake_free(f);
    free(resp);
}

struct canceller {
    atomic_int *flag;
    int after_ms;
};

static void *cancel_main(void *arg)
{
    struct canceller *k = arg;
    sleep_ms(k->after_ms);
    *k->flag = 1;
    return NULL;
}

static void test_cancel(void **state)
{
    (void)state;
    uint8_t rec[RV_RECORD_MAX];
    size_t len;
    atomic_int cancel = 0;
    pthread_t th;
    struct canceller k = {.flag = &cancel, .after_ms = 150};

    /* a long-poll the relay holds: cancel ends it within ~100 ms */
    struct fake *f = fake_new(NULL);
    f->silent = 1;
    struct rv_client c = client_for(f, "", NULL);
    c.cancel = &cancel;
    int64_t t0 = now_ms();
    assert_int_equal(pthread_create(&th, NULL, cancel_main, &k), 0);
    assert_int_equal(rv_get(&c, KEY, RV_WAIT_MAX_S, rec, sizeof(rec), &len, NULL),
                     PCP_ERR_CANCELLED);
    int64_t dt = now_ms() - t0;
    pthread_join(th, NULL);
    fake_free(f);
    assert_true(dt >= 140 && dt < 150 + 250); /* seen within a 100 ms slice */

    /* already cancelled: nothing is even dialled */
    f = fake_new("HTTP/1.1 204 No Content\r\n\r\n");
    c = client_for(f, "", NULL);
    c.cancel = &cancel;
    t0 = now_ms();
    assert_int_equal(rv_delete(&c, KEY, OWNER, 5000), PCP_ERR_CANCELLED);
    assert_true(now_ms() - t0 < 100);
    fake_free(f);
}

static void test_timeout(void **state)
{
    (void)state;
    uint8_t rec[RV_RECORD_MAX];
    size_t len;
    int fd;

    /* a relay that never answers: put and pipe give up after timeout_ms */
    struct fake *f = fake_new(NULL);
    f->silent = 1;
    struct rv_client c = client_for(f, "", NULL);
    int64_t t0 = now_ms();
    assert_int_equal(rv_put(&c, KEY, OWNER, "x", 1, 300, NULL), PCP_ERR_TIMEOUT);
    int64_t dt = now_ms() - t0;
    fake_free(f);
    assert_true(dt >= 290 && dt < 600);

    f = fake_new(NULL);
    f->silent = 1;
    c = client_for(f, "", NULL);
    t0 = now_ms();
    assert_int_equal(rv_pipe(&c, ROOM, 200, &fd), PCP_ERR_TIMEOUT);
    dt = now_ms() - t0;
    fake_free(f);
    assert_true(dt >= 190 && dt < 500);

    /* a long-poll answered 2.5 s after a 1 s wait still counts: the slack */
    f = fake_new("HTTP/1.1 404 Not Found\r\n\r\n");
    f->delay_ms = 2500;
    c = client_for(f, "", NULL);
    assert_int_equal(rv_get(&c, KEY, 1, rec, sizeof(rec), &len, NULL), PCP_ERR_NOT_FOUND);
    fake_free(f);

    /* ... but not forever: wait_s + RV_GET_SLACK_MS */
    f = fake_new(NULL);
    f->silent = 1;
    c = client_for(f, "", NULL);
    t0 = now_ms();
    assert_int_equal(rv_get(&c, KEY, 0, rec, sizeof(rec), &len, NULL), PCP_ERR_TIMEOUT);
    dt = now_ms() - t0;
    fake_free(f);
    assert_true(dt >= RV_GET_SLACK_MS - 10 && dt < RV_GET_SLACK_MS + 1000);
}

static void test_refused(void **state)
{
    (void)state;
    struct fake *f = fake_new(NULL);
    struct rv_client c = client_for(f, "", NULL);
    /* nothing listens once the fake is gone */
    f->stop = 1;
    fake_free(f);
    assert_int_equal(rv_delete(&c, KEY, OWNER, 1000), PCP_ERR_NET);
}

static void test_punch_parse(void **state)
{
    (void)state;
    struct rv_punch_answer a;
    static const char good[] = "peer 203.0.113.9:6000\ndelay 20\nblob 0102ff\n";
    assert_int_equal(rv_punch_parse((const uint8_t *)good, strlen(good), &a), 0);
    assert_int_equal(a.peer.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&a.peer)->sin_port), 6000);
    assert_int_equal(a.delay_ms, 20);
    assert_int_equal(a.blob_len, 3);
    assert_memory_equal(a.blob, "\x01\x02\xff", 3);
    static const char empty[] = "peer [2001:db8::1]:1\ndelay 0\nblob \n";
    assert_int_equal(rv_punch_parse((const uint8_t *)empty, strlen(empty), &a), 0);
    assert_int_equal(a.peer.ss_family, AF_INET6);
    assert_int_equal(a.blob_len, 0);
    static const char *bad[] = {
        "",
        "peer 203.0.113.9:6000\ndelay 20\nblob 0102ff", /* no last newline */
        "peer 203.0.113.9\ndelay 20\nblob \n",          /* no port */
        "peer 203.0.113.9:1\ndelay 30001\nblob \n",     /* delay too long */
        "peer 203.0.113.9:1\ndelay -1\nblob \n",
        "peer 203.0.113.9:1\ndelay \nblob \n",
        "peer 203.0.113.9:1\ndelay 1\nblob 0\n",        /* odd hex */
        "peer 203.0.113.9:1\ndelay 1\nblob 0A\n",       /* uppercase */
        "peer 203.0.113.9:1\ndelay 1\nblob 00\nmore\n", /* a line after */
        "peer 203.0.113.9:1\nblob 00\n",                /* no delay */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(rv_punch_parse((const uint8_t *)bad[i], strlen(bad[i]), &a),
                         PCP_ERR_PROTO);
    char big[64 + 2 * (RV_PUNCH_BLOB_MAX + 1)];
    int n = snprintf(big, sizeof(big), "peer 192.0.2.1:1\ndelay 0\nblob ");
    memset(big + n, 'a', 2 * (RV_PUNCH_BLOB_MAX + 1));
    big[n + 2 * (RV_PUNCH_BLOB_MAX + 1)] = '\n';
    assert_int_equal(
        rv_punch_parse((const uint8_t *)big, (size_t)n + 2 * (RV_PUNCH_BLOB_MAX + 1) + 1, &a),
        PCP_ERR_PROTO);
}

static void test_punch_cands(void **state)
{
    (void)state;
    struct punch_cand c[PUNCH_MAX_CANDS];
    static const char two[] = "v6=[2001:db8::1]:4000\nx=ignored\nm=198.51.100.7:5000\n";
    assert_int_equal(punch_cands_parse(two, strlen(two), c), 2);
    assert_int_equal(ntohs(((struct sockaddr_in6 *)&c[0].addr)->sin6_port), 4000);
    assert_false(c[0].mapped);
    assert_int_equal(c[1].addr.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&c[1].addr)->sin_port), 5000);
    assert_true(c[1].mapped);
    assert_int_equal(punch_cands_parse("", 0, c), 0);
    static const char many[] = "v6=[2001::1]:1\nv6=[2001::2]:1\nv6=[2001::3]:1\nv6=[2001::4]:1\n"
                               "v6=[2001::5]:1\n";
    assert_int_equal(punch_cands_parse(many, strlen(many), c), PUNCH_MAX_CANDS);
    static const char *bad[] = {
        "v6=[2001:db8::1]:4000", "v6=[fe80::1]:1\n", "v6=[fd00::1]:1\n", "v6=[::1]:1\n",
        "v6=192.0.2.1:1\n",      "v6=[2001::1]\n",   "m=198.51.100.7\n", "m=\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(punch_cands_parse(bad[i], strlen(bad[i]), c), PCP_ERR_PROTO);
}

/* The shared checks (core/rvproto.c) both ends of the protocol use. */
static void test_rvproto(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_true(rvp_hex_span("0123456789abcdef", 16));
    assert_true(rvp_hex_span("", 0));
    assert_false(rvp_hex_span("0A", 2));
    assert_false(rvp_hex_span("0g", 2));
    assert_true(rvp_hex_span("ab\n", 2)); /* only n bytes are looked at */
    assert_true(rvp_is_hex("00ff", 4));
    assert_false(rvp_is_hex("00ff", 3));
    assert_false(rvp_is_hex("00ff0", 4));
    assert_false(rvp_is_hex("00FF", 4));
    assert_false(rvp_is_hex(NULL, 0));
    assert_true(rvp_is_hex("", 0));

    assert_int_equal(rvp_dec("30", 2, 2, RV_WAIT_MAX_S, &v), 0);
    assert_int_equal(v, 30);
    assert_int_equal(rvp_dec("0", 1, 2, RV_WAIT_MAX_S, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(rvp_dec("31", 2, 2, RV_WAIT_MAX_S, &v), -1);
    assert_int_equal(rvp_dec("030", 3, 2, 100, &v), -1); /* too many digits */
    assert_int_equal(rvp_dec("", 0, 2, 100, &v), -1);
    assert_int_equal(rvp_dec("+1", 2, 2, 100, &v), -1);
    assert_int_equal(rvp_dec("-1", 2, 2, 100, &v), -1);
    assert_int_equal(rvp_dec(" 1", 2, 2, 100, &v), -1);
    assert_int_equal(rvp_dec("1 ", 2, 2, 100, &v), -1);
    assert_int_equal(rvp_dec("12x", 2, 2, 100, &v), 0); /* only n bytes */
    assert_int_equal(v, 12);
    assert_int_equal(rvp_dec("18446744073709551615", 20, 20, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(rvp_dec("18446744073709551616", 20, 20, UINT64_MAX, &v), -1);
    assert_int_equal(rvp_dec("000000000000000000000000001", 27, 27, 1, &v), 0);
    assert_int_equal(v, 1);
    v = 9;
    assert_int_equal(rvp_dec("99999", 5, 5, 65535, &v), -1);
    assert_int_equal(v, 9); /* untouched on failure */

    /* The names on the wire, pinned: a change here breaks old peers. */
    assert_string_equal(RVP_UPGRADE, "pcp-relay/1");
    assert_string_equal(RVP_HDR_OWNER, "X-Pcp-Owner");
    assert_string_equal(RVP_HDR_OBSERVED, "X-Pcp-Observed");
    assert_string_equal(RVP_HDR_RTT, "X-Pcp-Rtt");
    assert_string_equal(RVP_PATH_RV, "/v1/rv/");
    assert_string_equal(RVP_PATH_PIPE, "/v1/pipe/");
    assert_string_equal(RVP_PATH_PUNCH, "/v1/punch/");
    assert_int_equal(RV_KEY_HEX, 64);
    assert_int_equal(RV_ROOM_HEX, 32);
    assert_int_equal(RV_OWNER_HEX, 32);
    assert_int_equal(RV_RECORD_MAX, 1024);
    assert_int_equal(RV_RECORDS_MAX, 8);
    assert_int_equal(RV_PUNCH_BLOB_MAX, 256);
    assert_int_equal(RVP_DELAY_MAX_MS, 30000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_good),      cmocka_unit_test(test_punch_parse),
        cmocka_unit_test(test_punch_cands),   cmocka_unit_test(test_url_bad),
        cmocka_unit_test(test_key),           cmocka_unit_test(test_order),
        cmocka_unit_test(test_random_hex),    cmocka_unit_test(test_record),
        cmocka_unit_test(test_addr),          cmocka_unit_test(test_http_good),
        cmocka_unit_test(test_http_bad),      cmocka_unit_test(test_put),
        cmocka_unit_test(test_put_args),      cmocka_unit_test(test_put_status),
        cmocka_unit_test(test_get),           cmocka_unit_test(test_get_status),
        cmocka_unit_test(test_delete),        cmocka_unit_test(test_pipe),
        cmocka_unit_test(test_head_too_long), cmocka_unit_test(test_pipe_retry),
        cmocka_unit_test(test_records),       cmocka_unit_test(test_get_rooms),
        cmocka_unit_test(test_cancel),        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_refused),       cmocka_unit_test(test_rvproto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
