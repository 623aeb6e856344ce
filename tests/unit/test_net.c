/*
 * Unit tests for core/net.c, on the loopback only: listen, accept with a
 * deadline and a cancel flag, the connect race skipping dead addresses,
 * whole reads and writes with a stall timeout, address printing and the
 * local-address test (which sends nothing).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "net.h"

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    memset(&ss, 0, sizeof(ss));
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port, uint32_t scope)
{
    struct sockaddr_storage ss;
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    memset(&ss, 0, sizeof(ss));
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    s->sin6_scope_id = scope;
    assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
    return ss;
}

/* A port on which nothing listens: bind one, note it, close it. */
static uint16_t dead_port(void)
{
    int fd;
    uint16_t port;
    assert_int_equal(net_listen(0, &fd, &port), 0);
    close(fd);
    return port;
}

static void test_listen_race_accept(void **state)
{
    int lfd, cfd, afd;
    uint16_t port;
    struct sockaddr_storage peer, from;
    (void)state;

    assert_int_equal(net_listen(0, &lfd, &port), 0);
    assert_true(port > 0);
    struct sockaddr_storage addrs[3] = {v4("127.0.0.1", dead_port()), v6("::1", dead_port(), 0),
                                        v4("127.0.0.1", port)};
    assert_int_equal(net_connect_race(addrs, 3, 0, 50, 5000, NULL, &cfd, &peer), 0);
    assert_memory_equal(&peer, &addrs[2], sizeof(struct sockaddr_in));
    assert_int_equal(net_accept(lfd, 1000, NULL, &afd, &from), 0);

    static const char msg[] = "hello over loopback";
    char got[sizeof(msg)];
    assert_int_equal(net_write_all(cfd, msg, sizeof(msg)), 0);
    assert_int_equal(net_read_all(afd, got, sizeof(got)), 0);
    assert_string_equal(got, msg);

    /* A stalled peer: the read gives up after the timeout. */
    assert_int_equal(net_set_timeout(afd, 100), 0);
    assert_int_equal(net_read_all(afd, got, 1), PCP_ERR_TIMEOUT);
    /* A closed peer: CLOSED, not a hang or a short read. */
    close(cfd);
    assert_int_equal(net_read_all(afd, got, 1), PCP_ERR_CLOSED);
    close(afd);
    close(lfd);
}

static void test_dual_stack(void **state)
{
    int lfd, cfd, afd;
    uint16_t port;
    struct sockaddr_storage peer, from;
    (void)state;
    assert_int_equal(net_listen(0, &lfd, &port), 0);
    struct sockaddr_storage a6 = v6("::1", port, 0);
    assert_int_equal(net_connect_race(&a6, 1, 0, 0, 5000, NULL, &cfd, &peer), 0);
    assert_int_equal(net_accept(lfd, 1000, NULL, &afd, &from), 0);
    close(cfd);
    close(afd);
    struct sockaddr_storage a4 = v4("127.0.0.1", port);
    assert_int_equal(net_connect_race(&a4, 1, 0, 0, 5000, NULL, &cfd, &peer), 0);
    assert_int_equal(net_accept(lfd, 1000, NULL, &afd, &from), 0);
    close(cfd);
    close(afd);
    close(lfd);
}

static void test_accept_timeout_cancel(void **state)
{
    int lfd, fd;
    uint16_t port;
    struct sockaddr_storage from;
    volatile int cancel = 1;
    (void)state;
    assert_int_equal(net_listen(0, &lfd, &port), 0);
    assert_int_equal(net_accept(lfd, 100, NULL, &fd, &from), PCP_ERR_TIMEOUT);
    assert_int_equal(net_accept(lfd, -1, &cancel, &fd, &from), PCP_ERR_CANCELLED);
    close(lfd);
}

static void test_race_all_dead(void **state)
{
    int fd;
    struct sockaddr_storage peer;
    volatile int cancel = 1;
    (void)state;
    struct sockaddr_storage addrs[2] = {v4("127.0.0.1", dead_port()), v4("127.0.0.1", dead_port())};
    assert_int_equal(net_connect_race(addrs, 2, 0, 10, 5000, NULL, &fd, &peer), PCP_ERR_NET);
    assert_int_equal(net_connect_race(addrs, 0, 0, 10, 5000, NULL, &fd, &peer), PCP_ERR_NET);
    assert_int_equal(net_connect_race(addrs, 2, 0, 10, 5000, &cancel, &fd, &peer),
                     PCP_ERR_CANCELLED);
}

static void test_addr_str(void **state)
{
    char s[80];
    (void)state;
    struct sockaddr_storage a = v4("192.0.2.7", 4242);
    net_addr_str(&a, 0, s, sizeof(s));
    assert_string_equal(s, "192.0.2.7");
    net_addr_str(&a, 1, s, sizeof(s));
    assert_string_equal(s, "192.0.2.7:4242");
    a = v6("2001:db8::1", 80, 0);
    net_addr_str(&a, 1, s, sizeof(s));
    assert_string_equal(s, "[2001:db8::1]:80");
    a = v6("fe80::1", 80, 1); /* scope 1 is lo everywhere */
    net_addr_str(&a, 0, s, sizeof(s));
    assert_string_equal(s, "fe80::1%lo");
    net_addr_str(&a, 1, s, sizeof(s));
    assert_string_equal(s, "[fe80::1%lo]:80");
    a = v6("::ffff:192.0.2.9", 7, 0);
    net_addr_str(&a, 1, s, sizeof(s));
    assert_string_equal(s, "192.0.2.9:7");
}

static void test_is_local(void **state)
{
    (void)state;
    static const char *local4[] = {"127.0.0.1",      "10.1.2.3",    "172.16.0.1",
                                   "172.31.255.255", "192.168.1.1", "169.254.3.4"};
    static const char *public4[] = {"8.8.8.8", "172.32.0.1", "192.0.2.1", "11.0.0.1"};
    for (size_t i = 0; i < sizeof(local4) / sizeof(*local4); i++) {
        struct sockaddr_storage a = v4(local4[i], 1);
        assert_true(net_addr_is_local(&a));
    }
    for (size_t i = 0; i < sizeof(public4) / sizeof(*public4); i++) {
        struct sockaddr_storage a = v4(public4[i], 1);
        assert_false(net_addr_is_local(&a));
    }
    struct sockaddr_storage a = v6("::1", 1, 0);
    assert_true(net_addr_is_local(&a));
    a = v6("fe80::1", 1, 0);
    assert_true(net_addr_is_local(&a));
    a = v6("fd12:3456::1", 1, 0);
    assert_true(net_addr_is_local(&a));
    a = v6("2001:db8::1", 1, 0);
    assert_false(net_addr_is_local(&a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_race_accept),
        cmocka_unit_test(test_dual_stack),
        cmocka_unit_test(test_accept_timeout_cancel),
        cmocka_unit_test(test_race_all_dead),
        cmocka_unit_test(test_addr_str),
        cmocka_unit_test(test_is_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
