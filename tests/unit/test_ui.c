/*
 * Unit tests for cmd/ui.c: the exit codes the README documents, their
 * JSON names, JSON string escaping and human sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd.h"
#include "err.h"

static void test_exit_codes(void **state)
{
    static const struct {
        int err, code;
        const char *name;
    } map[] = {
        {PCP_OK, 0, "error"}, /* the name is unused for success */
        {PCP_ERR_BAD_CODE, 3, "wrong_code"},
        {PCP_ERR_ATTEMPTS, 3, "wrong_code"},
        {PCP_ERR_INVAL, 2, "usage"},
        {PCP_ERR_BAD_WORD, 2, "usage"},
        {PCP_ERR_REFUSED, 4, "refused"},
        {PCP_ERR_CANCELLED, 5, "cancelled"},
        {PCP_ERR_IO, 6, "io"},
        {PCP_ERR_CHANGED, 6, "io"},
        {PCP_ERR_NOSPACE, 6, "io"},
        {PCP_ERR_RELAY_AUTH, 7, "network"},
        {PCP_ERR_RELAY_BUSY, 7, "network"},
        {PCP_ERR_TLS, 7, "network"},
        {PCP_ERR_NET, 7, "network"},
        {PCP_ERR_CLOSED, 7, "network"},
        {PCP_ERR_TIMEOUT, 7, "network"},
        {PCP_ERR_NOT_FOUND, 7, "network"},
        {PCP_ERR_TRUNCATED, 7, "network"},
        {PCP_ERR_PROTO, 8, "unsafe"},
        {PCP_ERR_TOO_BIG, 8, "unsafe"},
        {PCP_ERR_CRYPTO, 8, "unsafe"},
        {PCP_ERR_UNSAFE_PATH, 8, "unsafe"},
        {PCP_ERR_DIGEST, 8, "unsafe"},
        {PCP_ERR_EXISTS, 9, "exists"},
        {PCP_ERR_NOMEM, 1, "error"},
        {PCP_ERR_PEER, 1, "error"},
        {PCP_ERR_UNSUPPORTED, 1, "error"},
        {1, 1, "error"}, /* unknown codes */
        {-1000, 1, "error"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        assert_int_equal(ui_exit_code(map[i].err), map[i].code);
        if (map[i].err != PCP_OK)
            assert_string_equal(ui_err_name(map[i].err), map[i].name);
    }
}

static void test_json_str(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    (void)state;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    ui_json_str(f, "a\"b\\c\n\x1b[31m\x7f"
                   "d");
    fclose(f);
    assert_string_equal(buf, "\"a\\\"b\\\\c\\u000a\\u001b[31m\\u007fd\"");
    free(buf);
}

static void test_human_size(void **state)
{
    char s[32];
    (void)state;
    ui_human_size(0, s, sizeof(s));
    assert_string_equal(s, "0 B");
    ui_human_size(1023, s, sizeof(s));
    assert_string_equal(s, "1023 B");
    ui_human_size(1536, s, sizeof(s));
    assert_string_equal(s, "1.5 KiB");
    ui_human_size(1ull << 30, s, sizeof(s));
    assert_string_equal(s, "1.0 GiB");
    ui_human_size(UINT64_MAX, s, sizeof(s));
    assert_string_equal(s, "16384.0 PiB");
}

static void test_option_num(void **state)
{
    (void)state;
    long v = -7;
    assert_int_equal(ui_option_num("--n", "0", 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ui_option_num("--n", "10", 0, 10, &v), 0);
    assert_int_equal(v, 10);
    static const char *bad[] = {"",   "11", "-1", "+3",  " 3",
                                "3 ", "3x", "x",  "1.5", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = -7;
        assert_int_equal(ui_option_num("--n", bad[i], 0, 10, &v), -1);
        assert_int_equal(v, -7);
    }
}

static void test_config(void **state)
{
    (void)state;
    struct client_config c = {0};
    char err[256];
    static const char ok[] = "# mine\n relay = http://relay.example:9474 \r\nrelay-token=abc\n";
    assert_int_equal(ui_config_parse(&c, ok, strlen(ok), err, sizeof(err)), 0);
    assert_string_equal(c.relay, "http://relay.example:9474");
    assert_string_equal(c.relay_token, "abc");
    static const char defaults[] =
        "words = 6\nqr = yes\nout = /srv/My Files\nmdns-interface = br0\n"
        "dht = no\n";
    assert_int_equal(ui_config_parse(&c, defaults, strlen(defaults), err, sizeof(err)), 0);
    assert_string_equal(c.words, "6");
    assert_string_equal(c.qr, "yes");
    assert_string_equal(c.out, "/srv/My Files");
    assert_string_equal(c.mdns_interface, "br0");
    assert_string_equal(c.dht, "no");
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"relay\n", "line 1: expected 'key = value'"},
        {"\nrelais = x\n", "line 2: unknown setting 'relais'"},
        {"relay-token = a b\n", "line 1: bad value for relay-token"},
        {"words = 9\n", "line 1: bad value for words"},
        {"words = 12\n", "line 1: bad value for words"},
        {"qr = maybe\n", "line 1: bad value for qr"},
        {"dht = on\n", "line 1: bad value for dht"},
        {"out =\n", "line 1: bad value for out"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&c, 0, sizeof(c));
        assert_int_equal(ui_config_parse(&c, bad[i].text, strlen(bad[i].text), err, sizeof(err)),
                         PCP_ERR_INVAL);
        assert_string_equal(err, bad[i].err);
    }
}

static void test_mdns_ifname(void **state)
{
    (void)state;
    unsetenv("PCP_MDNS_INTERFACE");
    struct client_config cfg = {0};
    assert_null(ui_mdns_ifname(NULL, NULL));
    assert_null(ui_mdns_ifname("", &cfg));
    snprintf(cfg.mdns_interface, sizeof(cfg.mdns_interface), "br0");
    assert_string_equal(ui_mdns_ifname(NULL, &cfg), "br0"); /* the config file's */
    setenv("PCP_MDNS_INTERFACE", "lo", 1);
    assert_string_equal(ui_mdns_ifname(NULL, &cfg), "lo");     /* the environment beats it */
    assert_string_equal(ui_mdns_ifname("eth1", &cfg), "eth1"); /* the option wins */
    unsetenv("PCP_MDNS_INTERFACE");
}

/* Plain progress lines (no terminal): one per 10 %, and 100 % once even
 * when the last update before the end already reached it. */
static void test_progress_plain(void **state)
{
    (void)state;
    char path[] = "/tmp/pcp-test-ui-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    struct ui u;
    ui_init(&u, 0, "Sending");
    u.tty = 0;
    struct xfer_progress p = {.total = 1000, .nfiles = 1};
    const uint64_t steps[] = {50, 120, 150, 500, 1000, 1000};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        p.bytes = steps[i];
        p.seconds = 1.0 + (double)i;
        p.done = i == 5;
        ui_progress(&u, &p);
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[1024] = {0};
    assert_true(pread(fd, buf, sizeof(buf) - 1, 0) > 0);
    close(fd);
    unlink(path);
    int lines = 0, full = 0;
    for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
        lines++;
        full += strstr(l, " 100% ") != NULL;
    }
    assert_int_equal(lines, 3); /* 12 %, 50 %, 100 % */
    assert_int_equal(full, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes),     cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_progress_plain), cmocka_unit_test(test_human_size),
        cmocka_unit_test(test_option_num),     cmocka_unit_test(test_config),
        cmocka_unit_test(test_mdns_ifname),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
