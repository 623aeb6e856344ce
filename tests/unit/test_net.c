/*
 * Unit tests for core/net.c, on the loopback only: listen, accept with a
 * deadline and a cancel flag, the connect race skipping dead addresses,
 * whole reads and writes with a stall timeout, address printing and the
 * local-address test (which sends nothing); and the handshake's absolute
 * deadline (net_wait_by) against a peer that trickles bytes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "handshake.h"
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
    atomic_int cancel = 1;
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
    atomic_int cancel = 1;
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

static void test_wait_by(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(net_wait_by(sv[0], POLLIN, net_now_ms() + 50), PCP_ERR_TIMEOUT);
    assert_int_equal(net_wait_by(sv[0], POLLIN, net_now_ms() - 1), PCP_ERR_TIMEOUT);
    assert_int_equal(net_wait_by(sv[0], POLLOUT, net_now_ms() + 1000), 0);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(net_wait_by(sv[0], POLLIN, net_now_ms() + 1000), 0);
    int was = -1;
    assert_int_equal(net_set_nonblock(sv[0], 1, &was), 0);
    assert_int_equal(was, 0);
    assert_int_equal(net_set_nonblock(sv[0], 0, &was), 0);
    assert_int_equal(was, 1);
    close(sv[0]);
    close(sv[1]);
}

static void nap_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* A stranger that starts a 200-byte message 1 and sends one byte of it
 * every 40 ms (8 s in all, longer than the default deadline), until the
 * other end closes. */
static void *trickle(void *arg)
{
    int fd = *(int *)arg;
    uint8_t b[204] = {0, 0, 0, 200, 'p', 'c', 'p', '1'};
    for (size_t i = 0; i < sizeof(b); i++) {
        if (send(fd, b + i, 1, MSG_NOSIGNAL) != 1)
            break;
        nap_ms(40);
    }
    return NULL;
}

/* The sender's handshake ends at its deadline, however the bytes trickle:
 * with a read timeout alone each byte would renew it. */
static void test_handshake_deadline(void **state)
{
    (void)state;
    int sv[2];
    pthread_t th;
    struct frame_reader fr;
    uint8_t tx[32], rx[32];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(net_set_timeout(sv[1], 1000), 0);
    assert_int_equal(frame_reader_init(&fr, sv[1]), 0);
    assert_int_equal(pthread_create(&th, NULL, trickle, &sv[0]), 0);
    int64_t t0 = net_now_ms();
    assert_int_equal(handshake_sender_by(sv[1], &fr, (const uint8_t *)"\x00\x01\x00\x02", 4,
                                         "pcp/1/5", t0 + 300, tx, rx),
                     PCP_ERR_TIMEOUT);
    /* The default deadline of the old entry point holds too. */
    assert_int_equal(
        handshake_sender(sv[1], &fr, (const uint8_t *)"\x00\x01\x00\x02", 4, "pcp/1/5", tx, rx),
        PCP_ERR_TIMEOUT);
    shutdown(sv[1], SHUT_RDWR);
    pthread_join(th, NULL);
    frame_reader_free(&fr);
    close(sv[0]);
    close(sv[1]);
}

/* Between the two ends, one byte at a time with a pause after each: the
 * handshake's frame reads must resume across partial frames. */
struct pipe_pair {
    int a, b;
};

static void *dribble(void *arg)
{
    struct pipe_pair *p = arg;
    struct pollfd pf[2] = {{.fd = p->a, .events = POLLIN}, {.fd = p->b, .events = POLLIN}};
    for (;;) {
        if (poll(pf, 2, 5000) <= 0)
            return NULL;
        for (int i = 0; i < 2; i++) {
            uint8_t c;
            if (!pf[i].revents)
                continue;
            if (recv(pf[i].fd, &c, 1, 0) != 1)
                return NULL;
            if (send(pf[!i].fd, &c, 1, MSG_NOSIGNAL) != 1)
                return NULL;
            nap_ms(1);
        }
    }
}

struct side {
    int fd, rc;
    uint8_t tx[32], rx[32];
};

static void *receiver_side(void *arg)
{
    struct side *s = arg;
    struct frame_reader fr;
    assert_int_equal(frame_reader_init(&fr, s->fd), 0);
    s->rc = handshake_receiver_by(s->fd, &fr, (const uint8_t *)"\x00\x01\x00\x02", 4, "pcp/1/5",
                                  net_now_ms() + 10000, s->tx, s->rx);
    frame_reader_free(&fr);
    return NULL;
}

static void test_handshake_dribbled(void **state)
{
    (void)state;
    int x[2], y[2];
    pthread_t d, r;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, x), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, y), 0);
    struct pipe_pair pp = {x[1], y[1]};
    struct side rs = {.fd = x[0]}, ss = {.fd = y[0]};
    assert_int_equal(pthread_create(&d, NULL, dribble, &pp), 0);
    assert_int_equal(pthread_create(&r, NULL, receiver_side, &rs), 0);
    struct frame_reader fr;
    assert_int_equal(frame_reader_init(&fr, ss.fd), 0);
    ss.rc = handshake_sender_by(ss.fd, &fr, (const uint8_t *)"\x00\x01\x00\x02", 4, "pcp/1/5",
                                net_now_ms() + 10000, ss.tx, ss.rx);
    pthread_join(r, NULL);
    assert_int_equal(ss.rc, 0);
    assert_int_equal(rs.rc, 0);
    assert_memory_equal(ss.tx, rs.rx, 32);
    assert_memory_equal(ss.rx, rs.tx, 32);
    /* Blocking again, as the transfer wants it. */
    int was = -1;
    assert_int_equal(net_set_nonblock(ss.fd, 0, &was), 0);
    assert_int_equal(was, 0);
    frame_reader_free(&fr);
    shutdown(x[1], SHUT_RDWR);
    shutdown(y[1], SHUT_RDWR);
    pthread_join(d, NULL);
    for (int i = 0; i < 2; i++) {
        close(x[i]);
        close(y[i]);
    }
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
        cmocka_unit_test(test_wait_by),
        cmocka_unit_test(test_handshake_deadline),
        cmocka_unit_test(test_handshake_dribbled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
