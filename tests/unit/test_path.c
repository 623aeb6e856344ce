/*
 * Unit tests for discovery/path/: path_connect racing FAKE finders (no
 * mDNS, DHT or relay is asked; nothing leaves the process) whose
 * candidates are dialled through a fake dial into socketpairs: a stranger
 * that speaks garbage, senders with the wrong code, and a real
 * handshake_sender with the right one.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "code.h"
#include "err.h"
#include "handshake.h"
#include "net.h"
#include "path.h"
#include "punch.h"

enum peer_kind { PEER_GARBAGE, PEER_RIGHT, PEER_WRONG };

/* The scenario: what each finder finds and who answers there. */
static struct {
    struct pcp_code right, wrong;
    enum peer_kind dht_peer, relay_peer;
    int dht_finds, relay_finds;
    pthread_t th[4];
    int fds[4];
    size_t nth;
    uint8_t sender_tx[32], sender_rx[32];
    int sender_rc;
    int tried_events;
    int dht_ready;              /* the DHT finder hands over a connection */
    int ready_peer;             /* its far end */
    int ready_wiped;            /* path_look_ready wiped the finder's keys */
    const struct path_cfg *cfg; /* what path_connect was given */
    int look_ok;                /* what a finder sees through path_look_* was right */
} sc;

struct peer_arg {
    int fd;
    enum peer_kind kind;
};
static struct peer_arg args[4];

static void *peer_main(void *p)
{
    struct peer_arg *a = p;
    if (a->kind == PEER_GARBAGE) {
        uint8_t junk[64];
        memset(junk, 0xa5, sizeof(junk));
        if (write(a->fd, junk, sizeof(junk)) < 0) {
            /* the receiver went away already */
        }
        char c;
        while (read(a->fd, &c, 1) > 0)
            ;
        return NULL;
    }
    uint8_t pw[2 * CODE_MAX_WORDS], tx[32], rx[32];
    char aad[32];
    size_t pwlen = code_password(a->kind == PEER_RIGHT ? &sc.right : &sc.wrong, pw);
    /* The channel is the right code's: only the words differ. */
    snprintf(aad, sizeof(aad), "pcp/1/%u", code_channel(&sc.right));
    struct frame_reader fr;
    int e = frame_reader_init(&fr, a->fd);
    if (e == 0)
        e = handshake_sender_by(a->fd, &fr, pw, pwlen, aad, net_now_ms() + 5000, tx, rx);
    frame_reader_free(&fr);
    if (a->kind == PEER_RIGHT) {
        sc.sender_rc = e;
        memcpy(sc.sender_tx, tx, sizeof(tx));
        memcpy(sc.sender_rx, rx, sizeof(rx));
    }
    sodium_memzero(tx, sizeof(tx));
    sodium_memzero(rx, sizeof(rx));
    return NULL;
}

static int fake_dial(const struct path_cfg *cfg, const struct path_cand *c, int timeout_ms, int *fd,
                     struct sockaddr_storage *peer)
{
    (void)cfg;
    (void)timeout_ms;
    int sv[2];
    if (sc.nth == 4 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return PCP_ERR_NET;
    struct peer_arg *a = &args[sc.nth];
    a->fd = sv[1];
    a->kind = c->via == PATH_VIA_RELAY ? sc.relay_peer : sc.dht_peer;
    if (pthread_create(&sc.th[sc.nth], NULL, peer_main, a) != 0) {
        close(sv[0]);
        close(sv[1]);
        return PCP_ERR_NOMEM;
    }
    sc.fds[sc.nth++] = sv[1];
    if (c->naddr)
        *peer = c->addr[0];
    *fd = sv[0];
    return 0;
}

static int fake_mdns(struct path_look *lk)
{
    (void)lk;
    return PCP_ERR_NOT_FOUND;
}

/* A finder sees the search through path_look_*: the caller's cfg, the
 * code's channel, time left, a cancel flag not yet set. (Checked in the
 * test's thread: cmocka cannot fail from this one.) */
static int fake_dht(struct path_look *lk)
{
    const atomic_int *cancel = path_look_cancel(lk);
    sc.look_ok = path_look_cfg(lk) == sc.cfg && path_look_channel(lk) == code_channel(&sc.right) &&
                 path_look_left_ms(lk) > 0 && cancel && !atomic_load(cancel);
    struct path_dht st = {1, 0, 0, 0, 3};
    if (sc.dht_ready) {
        int sv[2];
        struct punch_result res;
        uint8_t tx[32], rx[32];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            return PCP_ERR_NET;
        memset(&res, 0, sizeof(res));
        res.path = "punched";
        res.portmap = "none";
        memset(res.go, 'G', sizeof(res.go));
        memset(tx, 0x11, sizeof(tx));
        memset(rx, 0x22, sizeof(rx));
        sc.ready_peer = sv[1];
        path_look_ready(lk, sv[0], tx, rx, &res);
        sc.ready_wiped = sodium_is_zero(tx, sizeof(tx)) && sodium_is_zero(rx, sizeof(rx));
        st.answered = st.proven = 1;
        path_look_dht_stats(lk, &st);
        return 0;
    }
    if (!sc.dht_finds) {
        path_look_dht_stats(lk, &st);
        return PCP_ERR_NOT_FOUND;
    }
    struct path_cand c;
    memset(&c, 0, sizeof(c));
    c.via = PATH_VIA_DHT;
    c.naddr = 1;
    struct sockaddr_in *s = (struct sockaddr_in *)&c.addr[0];
    s->sin_family = AF_INET;
    s->sin_port = htons(4000);
    inet_pton(AF_INET, "192.0.2.1", &s->sin_addr);
    path_look_add(lk, &c);
    st.answered = 1;
    path_look_dht_stats(lk, &st);
    return 0;
}

/* The relay's room comes a moment later: the DHT's stranger is tried
 * first. */
static int fake_relay(struct path_look *lk)
{
    if (!sc.relay_finds)
        return PCP_ERR_NOT_FOUND;
    if (path_look_sleep(lk, 300))
        return PCP_ERR_CANCELLED;
    struct path_cand c;
    memset(&c, 0, sizeof(c));
    c.via = PATH_VIA_RELAY;
    memset(c.room, 'a', RV_ROOM_HEX);
    path_look_add(lk, &c);
    return 0;
}

/* Stay on the relay: there is nobody to punch with. */
static int fake_upgrade(const struct path_cfg *cfg, struct path_conn *c, int receiver)
{
    (void)cfg;
    (void)receiver;
    c->path = "relayed";
    return 0;
}

static void on_event(void *ud, const struct path_event *ev)
{
    (void)ud;
    if (ev->kind == PATH_EV_TRIED)
        sc.tried_events++;
}

static const struct path_ops fake_ops = {.mdns = fake_mdns,
                                         .dht = fake_dht,
                                         .relay = fake_relay,
                                         .dial = fake_dial,
                                         .upgrade = fake_upgrade};
static struct rv_client no_client = {.url = {.host = "relay.test", .port = "9474"}};

static struct path_cfg cfg(void)
{
    return (struct path_cfg){.relay = &no_client,
                             .nrelays = 1,
                             .relay_only = 1, /* no mDNS, no punch preparation */
                             .dht = 1,
                             .timeout_ms = 10000,
                             .event = on_event,
                             .ops = &fake_ops};
}

static int setup(void **state)
{
    (void)state;
    memset(&sc, 0, sizeof(sc));
    sc.sender_rc = 1;
    assert_int_equal(code_generate(&sc.right, 4), 0);
    do
        assert_int_equal(code_generate(&sc.wrong, 4), 0);
    while (!memcmp(&sc.wrong, &sc.right, sizeof(sc.right)));
    return 0;
}

static void join_peers(void)
{
    for (size_t i = 0; i < sc.nth; i++) {
        pthread_join(sc.th[i], NULL);
        close(sc.fds[i]);
    }
    sc.nth = 0;
}

/* A stranger in the DHT fails the handshake; the sender in the relay's
 * room is the one path_connect returns, the stranger in its tried list. */
static void test_relay_after_stranger(void **state)
{
    (void)state;
    struct path_cfg c = cfg();
    struct path_conn conn;
    sc.dht_finds = sc.relay_finds = 1;
    sc.dht_peer = PEER_GARBAGE;
    sc.relay_peer = PEER_RIGHT;
    sc.cfg = &c;
    sc.look_ok = 0;
    int e = path_connect(&c, &sc.right, &conn);
    assert_int_equal(e, 0);
    assert_true(sc.look_ok);
    assert_true(conn.fd >= 0);
    assert_string_equal(conn.found_by, "relay");
    assert_string_equal(conn.path, "relayed");
    assert_string_equal(conn.who, "relay relay.test:9474");
    assert_int_equal(conn.ntried, 1);
    assert_string_equal(conn.tried[0].via, "dht");
    assert_string_equal(conn.tried[0].peer, "192.0.2.1:4000");
    assert_int_equal(conn.tried[0].connected, 1);
    assert_int_not_equal(conn.tried[0].err, 0);
    assert_int_not_equal(conn.tried[0].err, PCP_ERR_BAD_CODE);
    assert_int_equal(sc.tried_events, 1);
    path_conn_close(&conn); /* the sender reads its end */
    join_peers();
    assert_int_equal(sc.sender_rc, 0);
    uint8_t zero[32] = {0};
    assert_memory_equal(conn.tx, zero, sizeof(zero)); /* wiped */
    assert_int_equal(conn.fd, -1);
    path_conn_close(&conn); /* twice is fine */
    sodium_memzero(sc.sender_tx, sizeof(sc.sender_tx));
    sodium_memzero(sc.sender_rx, sizeof(sc.sender_rx));
}

/* The same, and the keys agree with the sender's. */
static void test_keys_agree(void **state)
{
    (void)state;
    struct path_cfg c = cfg();
    struct path_conn conn;
    sc.relay_finds = 1;
    sc.relay_peer = PEER_RIGHT;
    assert_int_equal(path_connect(&c, &sc.right, &conn), 0);
    uint8_t tx[32], rx[32];
    memcpy(tx, conn.tx, sizeof(tx));
    memcpy(rx, conn.rx, sizeof(rx));
    path_conn_close(&conn);
    join_peers();
    assert_int_equal(sc.sender_rc, 0);
    assert_memory_equal(tx, sc.sender_rx, sizeof(tx));
    assert_memory_equal(rx, sc.sender_tx, sizeof(rx));
    assert_int_equal(conn.ntried, 0);
    sodium_memzero(tx, sizeof(tx));
    sodium_memzero(rx, sizeof(rx));
}

/* The DHT finder's connection, proven in the mailboxes and punched, is
 * taken before the relay's room (which would also answer): its keys, its
 * path, and the 'G' that tells the sender it was chosen went out on it. */
static void test_dht_ready(void **state)
{
    (void)state;
    struct path_cfg c = cfg();
    struct path_conn conn;
    uint8_t want_tx[32], want_rx[32], go[sizeof(((struct punch_result *)0)->go)], g0[sizeof(go)];
    sc.dht_ready = 1;
    sc.relay_finds = 1;
    sc.relay_peer = PEER_RIGHT;
    assert_int_equal(path_connect(&c, &sc.right, &conn), 0);
    assert_string_equal(conn.found_by, "dht");
    assert_string_equal(conn.path, "punched");
    memset(want_tx, 0x11, sizeof(want_tx));
    memset(want_rx, 0x22, sizeof(want_rx));
    assert_memory_equal(conn.tx, want_tx, 32);
    assert_memory_equal(conn.rx, want_rx, 32);
    assert_true(sc.ready_wiped);
    memset(g0, 'G', sizeof(g0));
    assert_int_equal(recv(sc.ready_peer, go, sizeof(go), MSG_DONTWAIT), (ssize_t)sizeof(go));
    assert_memory_equal(go, g0, sizeof(go));
    assert_int_equal(conn.ntried, 0);
    path_conn_close(&conn);
    close(sc.ready_peer);
    join_peers();
}

/* Every candidate says the code is wrong: PCP_ERR_BAD_CODE, both listed. */
static void test_all_wrong(void **state)
{
    (void)state;
    struct path_cfg c = cfg();
    struct path_conn conn;
    sc.dht_finds = sc.relay_finds = 1;
    sc.dht_peer = sc.relay_peer = PEER_WRONG;
    int e = path_connect(&c, &sc.right, &conn);
    join_peers();
    assert_int_equal(e, PCP_ERR_BAD_CODE);
    assert_int_equal(conn.why.stage, PATH_STAGE_TRIED);
    assert_int_equal(conn.ntried, 2);
    assert_string_equal(conn.tried[0].via, "dht");
    assert_string_equal(conn.tried[1].via, "relay");
    assert_int_equal(conn.tried[0].err, PCP_ERR_BAD_CODE);
    assert_int_equal(conn.tried[1].err, PCP_ERR_BAD_CODE);
    assert_int_equal(conn.fd, -1);
    path_conn_close(&conn);
}

/* Nobody found anywhere: PCP_ERR_NOT_FOUND with the DHT's figures. */
static void test_none(void **state)
{
    (void)state;
    struct path_cfg c = cfg();
    struct path_conn conn;
    int e = path_connect(&c, &sc.right, &conn);
    assert_int_equal(e, PCP_ERR_NOT_FOUND);
    assert_int_equal(conn.why.stage, PATH_STAGE_NOT_FOUND);
    assert_int_equal(conn.why.dht_used, 1);
    assert_int_equal(conn.why.dht_st.reachable, 1);
    assert_int_equal(conn.why.rv_err, PCP_ERR_NOT_FOUND);
    assert_int_equal(conn.ntried, 0);
    path_conn_close(&conn);
}

/* The sender: a free loopback port, announced on lo only. */
static long free_port(void)
{
    int fd;
    uint16_t port = 0;
    if (net_listen(0, &fd, &port) != 0)
        return -1;
    close(fd);
    return port;
}

struct dialer {
    long port;
    int rc;
};

static void *receiver_main(void *p)
{
    struct dialer *d = p;
    struct sockaddr_storage to, peer;
    struct sockaddr_in *s = (struct sockaddr_in *)&to;
    uint8_t pw[2 * CODE_MAX_WORDS], tx[32], rx[32];
    char aad[32];
    int fd = -1;
    memset(&to, 0, sizeof(to));
    s->sin_family = AF_INET;
    s->sin_port = htons((uint16_t)d->port);
    s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    size_t pwlen = code_password(&sc.right, pw);
    snprintf(aad, sizeof(aad), "pcp/1/%u", code_channel(&sc.right));
    d->rc = net_connect_race(&to, 1, 0, 250, 5000, NULL, &fd, &peer);
    if (d->rc == 0) {
        struct frame_reader fr;
        d->rc = frame_reader_init(&fr, fd);
        if (d->rc == 0)
            d->rc = handshake_receiver_by(fd, &fr, pw, pwlen, aad, net_now_ms() + 5000, tx, rx);
        frame_reader_free(&fr);
        char c;
        while (read(fd, &c, 1) > 0) /* until the sender closes */
            ;
        close(fd);
    }
    sodium_memzero(tx, sizeof(tx));
    sodium_memzero(rx, sizeof(rx));
    return NULL;
}

static struct path_cfg sender_cfg(long port, int timeout_ms)
{
    return (struct path_cfg){
        .ifname = "lo", .port = port, .timeout_ms = timeout_ms, .event = on_event};
}

/* A receiver with the code on the LAN: path_accept gives its connection. */
static void test_offer_accept(void **state)
{
    (void)state;
    long port = free_port();
    assert_true(port > 0);
    struct path_cfg c = sender_cfg(port, 10000);
    struct path_offer *off = NULL;
    struct path_conn conn;
    path_conn_init(&conn);
    int e = path_offer(&c, &sc.right, &off);
    if (e != 0 && off && path_offer_why(off)->stage == PATH_STAGE_MDNS) {
        path_offer_end(off);
        skip(); /* no multicast on lo here */
    }
    assert_int_equal(e, 0);
    struct dialer d = {.port = port, .rc = 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, receiver_main, &d), 0);
    e = path_accept(off, &conn);
    path_offer_end(off);
    assert_int_equal(e, 0);
    assert_string_equal(conn.path, "lan");
    assert_string_equal(conn.who, "127.0.0.1");
    path_conn_close(&conn);
    pthread_join(th, NULL);
    assert_int_equal(d.rc, 0);
}

/* Nobody comes: PCP_ERR_NOT_FOUND once the timeout passed. */
static void test_offer_timeout(void **state)
{
    (void)state;
    struct path_cfg c = sender_cfg(0, 300);
    struct path_offer *off = NULL;
    struct path_conn conn;
    path_conn_init(&conn);
    int e = path_offer(&c, &sc.right, &off);
    if (e != 0 && off && path_offer_why(off)->stage == PATH_STAGE_MDNS) {
        path_offer_end(off);
        skip();
    }
    assert_int_equal(e, 0);
    e = path_accept(off, &conn);
    path_offer_end(off);
    assert_int_equal(e, PCP_ERR_NOT_FOUND);
    assert_int_equal(conn.why.stage, PATH_STAGE_TIMEOUT);
    assert_int_equal(conn.fd, -1);
    path_conn_close(&conn);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_relay_after_stranger, setup),
        cmocka_unit_test_setup(test_keys_agree, setup),
        cmocka_unit_test_setup(test_dht_ready, setup),
        cmocka_unit_test_setup(test_all_wrong, setup),
        cmocka_unit_test_setup(test_none, setup),
        cmocka_unit_test_setup(test_offer_accept, setup),
        cmocka_unit_test_setup(test_offer_timeout, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
