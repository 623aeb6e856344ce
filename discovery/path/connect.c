/*
 * connect.c - the receiver's way to its sender (path_connect): mDNS, the
 * DHT and the relays looked at by three threads at once, the candidates
 * they find tried by the calling thread one after the other, each with
 * its connection and handshake, until one handshake succeeds; then the
 * punch upgrade when that one came through a relay. The DHT's finder runs
 * its handshake and punch in the mailboxes itself (mbox.h) and hands over
 * a connection proven already. It prints nothing
 * and never exits: a failed candidate is told through cfg->event, the
 * failure in the connection's why and tried list.
 *
 * Why several candidates: anyone on the LAN can answer mDNS, and (since
 * the relay keeps several senders' records under one key) anyone can
 * enter a record at the relay. Only the handshake tells the sender from a stranger, so one
 * candidate that fails it must not end the search.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "code.h"
#include "err.h"
#include "handshake.h"
#include "net.h"
#include "path_priv.h"
#include "mbox.h"
#include "punch.h"
#include "sys.h"

/* The LAN's head start: other candidates wait this long for mDNS. */
#define DIRECT_HEAD_START_MS 2000
/* After a candidate failed, the lookups still running get this long to
 * find another before the receiver gives up: a genuine sender is usually
 * found within a second, while a wrong code should still fail fast. */
#define FIND_MORE_MS 3000
/* A connection and each handshake read get at most this long, and at
 * least FIND_TRY_MIN_MS when they share the time left with others. */
#define FIND_TRY_MS 10000
#define FIND_TRY_MIN_MS 3000
#define FIND_MAX_CANDS (1 + 1 + PATH_MAX_ROOMS)

/* What the finder threads share with the one that tries. mu guards
 * everything below it; cv is signalled when a candidate arrives or a
 * finder ends, and when the search is cancelled. */
struct path_look {
    /* set before the threads start, read-only after */
    const struct path_cfg *cfg;
    unsigned channel;
    int64_t deadline_ms;
    /* cfg's relays in their order for the channel, cancelled with the
     * search, and where each is in cfg->relay. */
    struct rv_client clients[RV_RELAYS_MAX];
    const struct rv_client *relays[RV_RELAYS_MAX];
    size_t nclients;
    const uint8_t *pw; /* the code's password and the handshake's AAD */
    size_t pwlen;
    const char *aad;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* The lookups' own APIs (mdns_lookup, dht_next, rv_*) poll a
     * `const atomic_int *`: this flag is only their view of `stop`,
     * written together with it under mu. */
    atomic_int cancel;
    int stop;
    struct path_cand c[FIND_MAX_CANDS];
    int tried[FIND_MAX_CANDS];
    size_t n;
    int running[3], err[3];
    struct path_dht dht_st;
    /* The DHT finder's connection until try_all takes it (fd -1: none),
     * and the 'G' that tells the sender it was taken. */
    struct path_conn ready;
    uint8_t go[PUNCH_WORDBYTES];
};

const struct path_cfg *path_look_cfg(const struct path_look *lk)
{
    return lk->cfg;
}

unsigned path_look_channel(const struct path_look *lk)
{
    return lk->channel;
}

int path_look_left_ms(const struct path_look *lk)
{
    int64_t left = lk->deadline_ms - net_now_ms();
    return left > 0 ? (int)left : 0;
}

const atomic_int *path_look_cancel(const struct path_look *lk)
{
    return &lk->cancel;
}

/* Under mu: wait on cv until at (net_now_ms's clock, CLOCK_MONOTONIC). */
static void wait_until(struct path_look *f, int64_t at)
{
    sys_cond_wait_until(&f->cv, &f->mu, at);
}

int path_look_sleep(struct path_look *lk, int ms)
{
    pthread_mutex_lock(&lk->mu);
    int64_t at = net_now_ms() + ms;
    while (!lk->stop && net_now_ms() < at)
        wait_until(lk, at);
    int stop = lk->stop;
    pthread_mutex_unlock(&lk->mu);
    return stop;
}

void path_look_add(struct path_look *lk, const struct path_cand *c)
{
    pthread_mutex_lock(&lk->mu);
    if (lk->n < FIND_MAX_CANDS) {
        struct path_cand *d = &lk->c[lk->n];
        *d = *c;
        if (d->naddr > MDNS_MAX_ADDRS)
            d->naddr = MDNS_MAX_ADDRS;
        lk->tried[lk->n++] = 0;
        pthread_cond_broadcast(&lk->cv);
    }
    pthread_mutex_unlock(&lk->mu);
}

void path_look_dht_stats(struct path_look *lk, const struct path_dht *st)
{
    pthread_mutex_lock(&lk->mu);
    lk->dht_st = *st;
    pthread_mutex_unlock(&lk->mu);
}

void path_look_ready(struct path_look *lk, int fd, uint8_t tx[32], uint8_t rx[32],
                     const struct punch_result *res)
{
    struct path_cand c;
    memset(&c, 0, sizeof(c));
    c.via = PATH_VIA_DHT;
    c.ready = 1;
    pthread_mutex_lock(&lk->mu);
    struct path_conn *r = &lk->ready;
    if (r->fd >= 0) {
        close(fd); /* one is enough */
    } else {
        r->fd = fd;
        memcpy(r->tx, tx, 32);
        memcpy(r->rx, rx, 32);
        r->path = res->path;
        r->peer = res->peer;
        r->attempts = res->attempts;
        r->punch_ms = res->ms;
        r->portmap = res->portmap;
        memcpy(lk->go, res->go, sizeof(lk->go));
    }
    pthread_mutex_unlock(&lk->mu);
    sodium_memzero(tx, 32);
    sodium_memzero(rx, 32);
    path_look_add(lk, &c);
}

static void add_addrs(struct path_look *lk, enum path_via via, const struct sockaddr_storage *a,
                      size_t n)
{
    struct path_cand c;
    memset(&c, 0, sizeof(c));
    c.via = via;
    c.naddr = n < MDNS_MAX_ADDRS ? n : MDNS_MAX_ADDRS;
    memcpy(c.addr, a, c.naddr * sizeof(*a));
    path_look_add(lk, &c);
}

int path_look_mdns(struct path_look *lk)
{
    struct mdns_record rec;
    int e = mdns_lookup(lk->cfg->ifname, lk->channel, path_look_left_ms(lk), &lk->cancel, &rec);
    if (e == 0)
        add_addrs(lk, PATH_VIA_MDNS, rec.addr, rec.naddr);
    return e;
}

/* The mailboxes: SPAKE2, sealed candidates, a punch (mbox.h). The DHT
 * node stops as soon as the attempt ends: it costs the transfer nothing. */
int path_look_dht(struct path_look *lk)
{
    struct pcp_dht *d;
    struct punch_prep prep = {.lfd = -1};
    struct path_dht st = {-1, 0, 0, 0, 0};
    struct punch_result res;
    int64_t t0 = net_now_ms();
    int proven = 0, e = dht_open(&d, lk->cfg->dht_bootstrap);
    if (e == 0 && (e = punch_prepare(&prep, 1)) == 0) {
        uint8_t tx[32], rx[32];
        struct mbox_cfg mc = {.dht = d,
                              .channel = lk->channel,
                              .pw = lk->pw,
                              .pwlen = lk->pwlen,
                              .aad = lk->aad,
                              .prep = &prep,
                              .cancel = &lk->cancel};
        e = mbox_connect(&mc, path_look_left_ms(lk), tx, rx, &res, &proven);
        st.answered = e == 0 || proven || e == PCP_ERR_BAD_CODE;
        st.proven = proven;
        st.dials = res.attempts;
        if (e == 0)
            path_look_ready(lk, res.fd, tx, rx, &res);
    }
    if (d)
        st.reachable = st.answered ? 1 : dht_put_state(d);
    dht_close(d);
    punch_prep_end(&prep);
    st.ms = (int)(net_now_ms() - t0);
    path_look_dht_stats(lk, &st);
    return e;
}

/* GET the rooms under (bucket, channel) at relay r and add those not seen
 * before (at most PATH_MAX_ROOMS in all) as candidates. */
static int rv_try(struct path_look *f, size_t r, uint64_t bucket, int wait_s,
                  char seen[][RV_ROOM_HEX + 1], size_t *nseen)
{
    char key[RV_KEY_HEX + 1], rooms[PATH_MAX_ROOMS][RV_ROOM_HEX + 1];
    size_t n = 0;
    rv_key(key, bucket, f->channel);
    int e = rv_get_rooms(&f->clients[r], key, wait_s, rooms, PATH_MAX_ROOMS, &n, NULL);
    for (size_t i = 0; e == 0 && i < n && *nseen < PATH_MAX_ROOMS; i++) {
        size_t k = 0;
        while (k < *nseen && strcmp(seen[k], rooms[i]) != 0)
            k++;
        if (k < *nseen)
            continue;
        memcpy(seen[(*nseen)++], rooms[i], sizeof(rooms[i]));
        struct path_cand c;
        memset(&c, 0, sizeof(c));
        c.via = PATH_VIA_RELAY;
        c.relay = f->relays[r];
        memcpy(c.room, rooms[i], sizeof(c.room));
        path_look_add(f, &c);
    }
    return e;
}

/* One relay's records: the current and the previous bucket, the current
 * one long-polled for up to wait_s while nothing was found. */
static int relay_ask(struct path_look *f, size_t r, int wait_s, char seen[][RV_ROOM_HEX + 1],
                     size_t *nseen)
{
    uint64_t b = discovery_bucket(discovery_now_ns());
    int e = rv_try(f, r, b - DISCOVERY_BUCKET_NS, 0, seen, nseen);
    if (e == 0 || e == PCP_ERR_NOT_FOUND)
        e = rv_try(f, r, b, *nseen ? 0 : wait_s, seen, nseen);
    return e;
}

/* The senders' records at the relays, in their order for this channel
 * (the sender waits at the first that answers it). Each round asks every
 * relay not known to be down, long-polling the first that answers for a
 * few seconds, the others without waiting: a sender that could not reach
 * the first waits at the next. Once something was found, it asks again
 * every second while the search goes on: a stranger's record may have
 * been all there was, and the sender's may come next. */
int path_look_relay(struct path_look *f)
{
    char seen[PATH_MAX_ROOMS][RV_ROOM_HEX + 1];
    size_t nseen = 0;
    int err = PCP_ERR_NOT_FOUND, stop = 0;
    int64_t down_until[RV_RELAYS_MAX] = {0};
    while (!stop && path_look_left_ms(f) > 0 && nseen < PATH_MAX_ROOMS) {
        int waited = 0, reached = 0;
        for (size_t r = 0; r < f->nclients && !stop; r++) {
            if (net_now_ms() < down_until[r])
                continue;
            int left = path_look_left_ms(f) / 1000, wait = f->nclients > 1 ? 3 : 10;
            int e = relay_ask(f, r, waited || nseen ? 0 : left < wait ? left : wait, seen, &nseen);
            if (e == PCP_ERR_RELAY_AUTH || e == PCP_ERR_CANCELLED)
                return nseen ? 0 : e;
            if (e == 0 || e == PCP_ERR_NOT_FOUND) {
                waited = reached = 1;
            } else {
                err = e; /* unreachable: the next; this one again in a while */
                down_until[r] = net_now_ms() + 3000;
            }
            stop = path_look_sleep(f, 0);
        }
        if (!stop && (nseen || !reached))
            stop = path_look_sleep(f, 1000);
    }
    return nseen ? 0 : err;
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, 4) == 0 &&
               ((const struct sockaddr_in *)a)->sin_port ==
                   ((const struct sockaddr_in *)b)->sin_port;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0 &&
           ((const struct sockaddr_in6 *)a)->sin6_port ==
               ((const struct sockaddr_in6 *)b)->sin6_port;
}

/* Under mu: the next candidate to try, -1 for none yet. The LAN first;
 * the others only once the LAN had its head start (or its lookup ended),
 * the DHT's direct path before the relay. A DHT candidate loses the
 * addresses already dialled (the sender found on the LAN is often in the
 * DHT too): the same peer would say the same again. */
static int pick(struct path_look *f, int others_ok, const struct sockaddr_storage *done,
                size_t ndone)
{
    for (size_t i = 0; i < f->n; i++)
        if (!f->tried[i] && f->c[i].ready)
            return (int)i; /* proven already */
    for (int pass = PATH_VIA_MDNS; pass <= PATH_VIA_RELAY; pass++) {
        if (pass != PATH_VIA_MDNS && !others_ok)
            break;
        for (size_t i = 0; i < f->n; i++) {
            struct path_cand *c = &f->c[i];
            if (f->tried[i] || c->via != (enum path_via)pass)
                continue;
            for (size_t k = 0; c->via == PATH_VIA_DHT && k < c->naddr;) {
                int seen = 0;
                for (size_t j = 0; j < ndone && !seen; j++)
                    seen = same_addr(&c->addr[k], &done[j]);
                if (!seen) {
                    k++;
                    continue;
                }
                c->naddr--;
                memmove(&c->addr[k], &c->addr[k + 1], (c->naddr - k) * sizeof(c->addr[0]));
            }
            if (c->via != PATH_VIA_RELAY && c->naddr == 0) {
                f->tried[i] = 1;
                continue;
            }
            return (int)i;
        }
    }
    return -1;
}

static size_t untried(const struct path_look *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += !f->tried[i];
    return n;
}

static const char *via_name(enum path_via v)
{
    return v == PATH_VIA_MDNS ? "mdns" : v == PATH_VIA_DHT ? "dht" : "relay";
}

struct finder {
    struct path_look *lk;
    enum path_via via;
    int (*fn)(struct path_look *lk);
    pthread_t th;
    int started;
};

static void *finder_main(void *arg)
{
    struct finder *fd = arg;
    struct path_look *lk = fd->lk;
    int e = fd->fn(lk);
    pthread_mutex_lock(&lk->mu);
    lk->err[fd->via] = e;
    lk->running[fd->via] = 0;
    pthread_cond_broadcast(&lk->cv);
    pthread_mutex_unlock(&lk->mu);
    return NULL;
}

/* One candidate: its connection (the addresses raced, or the relay room)
 * within conn_ms and the handshake on it, each read within hs_ms. */
static int try_cand(const struct path_ops *ops, struct path_look *lk, const struct path_cand *c,
                    const uint8_t *pw, size_t pwlen, const char *aad, int conn_ms, int hs_ms,
                    struct path_conn *out, struct path_try *t, struct sockaddr_storage *peer)
{
    int fd = -1, e;
    memset(t, 0, sizeof(*t));
    t->via = via_name(c->via);
    memset(peer, 0, sizeof(*peer));
    if (c->via == PATH_VIA_RELAY)
        snprintf(t->peer, sizeof(t->peer), "room %.8s", c->room);
    else
        net_addr_str(&c->addr[0], 1, t->peer, sizeof(t->peer));
    if (c->ready) {
        struct path_conn *r = &lk->ready;
        pthread_mutex_lock(&lk->mu);
        out->fd = r->fd;
        memcpy(out->tx, r->tx, 32);
        memcpy(out->rx, r->rx, 32);
        out->path = r->path;
        out->attempts = r->attempts;
        out->punch_ms = r->punch_ms;
        out->portmap = r->portmap;
        *peer = r->peer;
        r->fd = -1;
        sodium_memzero(r->tx, 32);
        sodium_memzero(r->rx, 32);
        pthread_mutex_unlock(&lk->mu);
        t->connected = 1;
        net_addr_str(peer, 1, t->peer, sizeof(t->peer));
        if (out->fd < 0 || send(out->fd, lk->go, sizeof(lk->go), SYS_NOSIGNAL) != sizeof(lk->go))
            return PCP_ERR_CLOSED;
        return frame_reader_init(&out->fr, out->fd) == 0 ? 0 : PCP_ERR_NOMEM;
    }
    e = ops->dial(lk->cfg, c, conn_ms, &fd, peer);
    if (c->via != PATH_VIA_RELAY && e == 0)
        net_addr_str(peer, 1, t->peer, sizeof(t->peer));
    else if (c->via != PATH_VIA_RELAY && c->naddr > 1) {
        size_t l = strlen(t->peer);
        snprintf(t->peer + l, sizeof(t->peer) - l, " and %zu more", c->naddr - 1);
    }
    if (e == 0) {
        t->connected = 1;
        net_set_timeout(fd, hs_ms);
        e = frame_reader_init(&out->fr, fd);
        if (e == 0)
            e = handshake_receiver_by(fd, &out->fr, pw, pwlen, aad, net_now_ms() + hs_ms, out->tx,
                                      out->rx);
    }
    t->err = e;
    if (e == 0) {
        out->fd = fd;
        return 0;
    }
    frame_reader_free(&out->fr);
    sodium_memzero(out->tx, sizeof(out->tx));
    sodium_memzero(out->rx, sizeof(out->rx));
    if (fd >= 0)
        close(fd);
    return e;
}

static int any_running(const struct path_look *lk)
{
    return lk->running[PATH_VIA_MDNS] || lk->running[PATH_VIA_DHT] || lk->running[PATH_VIA_RELAY];
}

static int lan_failed(const struct path_look *lk)
{
    int e = lk->err[PATH_VIA_MDNS];
    return e != 0 && e != PCP_ERR_NOT_FOUND && e != PCP_ERR_CANCELLED;
}

static void dht_event(struct path_look *lk)
{
    path_emit(lk->cfg, &(struct path_event){.kind = PATH_EV_DHT_LOOKUP,
                                            .dht = &lk->dht_st,
                                            .err = lk->err[PATH_VIA_DHT]});
}

static int dht_settled(const struct path_look *lk)
{
    return !lk->running[PATH_VIA_DHT] &&
           (lk->dht_st.proven || lk->err[PATH_VIA_DHT] == PCP_ERR_BAD_CODE);
}

/* The state of one search, between the steps of path_connect. */
struct search {
    struct path_look lk;
    struct path_ops ops;
    struct finder fnd[3];
    int64_t head, more_until;
    int dht_shown;
    struct sockaddr_storage done[PATH_MAX_TRIES];
    size_t ndone;
    uint8_t pw[2 * CODE_MAX_WORDS];
    size_t pwlen;
    char aad[32];
};

/* Under mu: wait for the next candidate to try (-1: none will come). */
static int next_cand(struct search *s, struct path_cand *c, size_t *others)
{
    struct path_look *lk = &s->lk;
    int i = -1;
    for (;;) {
        int64_t now = net_now_ms();
        if (lan_failed(lk))
            return -1; /* a bad interface: said at once */
        if ((i = pick(lk, now >= s->head || !lk->running[PATH_VIA_MDNS], s->done, s->ndone)) >= 0)
            break;
        if (!any_running(lk) || now >= s->more_until)
            return -1;
        /* The DHT found the sender and it did not connect (or it said the
         * code is wrong): with no relay to look at, there is no more to
         * wait for once the LAN had its head start. */
        if (dht_settled(lk) && !lk->running[PATH_VIA_RELAY] && now >= s->head)
            return -1;
        if (s->fnd[PATH_VIA_DHT].started && !lk->running[PATH_VIA_DHT] && !s->dht_shown) {
            s->dht_shown = 1;
            dht_event(lk);
        }
        /* Woken by a finder; or at the head start's end when a candidate
         * waits for it. */
        wait_until(lk, now < s->head && untried(lk) ? s->head
                       : s->more_until < INT64_MAX  ? s->more_until
                                                    : lk->deadline_ms + 60000);
    }
    lk->tried[i] = 1;
    *c = lk->c[i];
    /* Who else might still be tried: the candidates waiting, and one more
     * while a lookup goes on. */
    *others = untried(lk) + (size_t)any_running(lk);
    return i;
}

/* Try candidates until one handshake succeeds: 0, or the last error. */
static int try_all(struct search *s, struct path_conn *out)
{
    struct path_look *lk = &s->lk;
    const struct path_cfg *cfg = lk->cfg;
    while (out->ntried < PATH_MAX_TRIES) {
        struct path_cand c;
        size_t others = 0;
        pthread_mutex_lock(&lk->mu);
        int i = next_cand(s, &c, &others);
        pthread_mutex_unlock(&lk->mu);
        if (i < 0)
            return PCP_ERR_NOT_FOUND;
        /* Alone, a candidate gets the usual time. With others waiting,
         * each gets its share of what is left of the timeout: a forged one
         * that accepts and then says nothing must not use up the time of
         * the sender that comes after it. */
        int64_t left = lk->deadline_ms - net_now_ms();
        int conn_ms = FIND_TRY_MS, hs_ms = cfg->handshake_ms > 0 ? cfg->handshake_ms : FIND_TRY_MS;
        if (out->ntried > 0 && left <= 0)
            return PCP_ERR_NOT_FOUND;
        if (others > 0 || out->ntried > 0) {
            int64_t share = left / (int64_t)(others + 1);
            share = share < FIND_TRY_MIN_MS ? FIND_TRY_MIN_MS : share;
            hs_ms = conn_ms = (int)(share < FIND_TRY_MS ? share : FIND_TRY_MS);
        }
        struct path_try *t = &out->tried[out->ntried];
        struct sockaddr_storage peer;
        int e = try_cand(&s->ops, lk, &c, s->pw, s->pwlen, s->aad, conn_ms, hs_ms, out, t, &peer);
        if (c.via == PATH_VIA_RELAY) {
            char shown[300];
            out->relay = c.relay ? c.relay : cfg->relay;
            rv_shown(out->relay, shown, sizeof(shown));
            snprintf(out->who, sizeof(out->who), "relay %s", shown);
        } else if (t->connected)
            net_addr_str(&peer, 0, out->who, sizeof(out->who));
        if (e == 0) {
            if (!c.ready)
                out->path = c.via == PATH_VIA_MDNS  ? "lan"
                            : c.via == PATH_VIA_DHT ? "direct"
                                                    : "relayed";
            out->found_by = t->via;
            out->peer = peer;
            memset(t, 0, sizeof(*t));
            return 0;
        }
        out->ntried++;
        if (t->connected && s->ndone < PATH_MAX_TRIES)
            s->done[s->ndone++] = peer;
        path_emit(cfg, &(struct path_event){.kind = PATH_EV_TRIED, .err = e, .tried = t});
        s->more_until = net_now_ms() + FIND_MORE_MS;
    }
    return PCP_ERR_NOT_FOUND;
}

static void search_start(struct search *s, const struct path_cfg *cfg, const struct pcp_code *code)
{
    struct path_look *lk = &s->lk;
    int64_t start = net_now_ms();
    lk->cfg = cfg;
    lk->channel = code_channel(code);
    lk->deadline_ms = start + cfg->timeout_ms;
    size_t order[RV_RELAYS_MAX];
    lk->nclients = cfg->relay ? (cfg->nrelays < RV_RELAYS_MAX ? cfg->nrelays : RV_RELAYS_MAX) : 0;
    rv_order(cfg->relay, lk->nclients, lk->channel, order);
    for (size_t i = 0; i < lk->nclients; i++) {
        lk->relays[i] = &cfg->relay[order[i]];
        lk->clients[i] = *lk->relays[i];
        lk->clients[i].cancel = &lk->cancel;
    }
    lk->err[0] = lk->err[1] = lk->err[2] = PCP_ERR_NOT_FOUND;
    lk->dht_st.reachable = -1;
    pthread_mutex_init(&lk->mu, NULL);
    sys_cond_init(&lk->cv);
    path_ops_resolve(cfg, &s->ops);
    s->pwlen = code_password(code, s->pw);
    snprintf(s->aad, sizeof(s->aad), "pcp/1/%u", lk->channel);
    lk->pw = s->pw;
    lk->pwlen = s->pwlen;
    lk->aad = s->aad;
    path_conn_init(&lk->ready);
    s->more_until = INT64_MAX;
    int want[3] = {!cfg->relay_only, cfg->dht, cfg->relay != NULL};
    s->head = want[PATH_VIA_MDNS] ? start + DIRECT_HEAD_START_MS : start;
    for (int v = 0; v < 3; v++) {
        struct finder *f = &s->fnd[v];
        *f = (struct finder){.lk = lk,
                             .via = (enum path_via)v,
                             .fn = v == PATH_VIA_MDNS  ? s->ops.mdns
                                   : v == PATH_VIA_DHT ? s->ops.dht
                                                       : s->ops.relay};
        /* Set before the thread starts, which clears it when it ends. */
        lk->running[v] = want[v];
        f->started = want[v] && pthread_create(&f->th, NULL, finder_main, f) == 0;
        if (!f->started)
            lk->running[v] = 0;
    }
}

static void search_end(struct search *s)
{
    struct path_look *lk = &s->lk;
    pthread_mutex_lock(&lk->mu);
    lk->stop = 1;
    lk->cancel = 1;
    pthread_cond_broadcast(&lk->cv);
    pthread_mutex_unlock(&lk->mu);
    for (int v = 0; v < 3; v++)
        if (s->fnd[v].started)
            pthread_join(s->fnd[v].th, NULL);
    pthread_cond_destroy(&lk->cv);
    pthread_mutex_destroy(&lk->mu);
    path_conn_close(&lk->ready); /* not taken */
    if (s->fnd[PATH_VIA_DHT].started && !s->dht_shown)
        dht_event(lk);
    sodium_memzero(s->pw, sizeof(s->pw));
}

/* Every candidate failed: when every peer that answered the handshake
 * said the code is wrong, the code most likely is; several are "not
 * found"; one keeps its own error. */
static int tried_err(const struct path_conn *c)
{
    int bad = 0, other = 0;
    for (size_t i = 0; i < c->ntried; i++) {
        bad += c->tried[i].err == PCP_ERR_BAD_CODE;
        other += c->tried[i].connected && c->tried[i].err != PCP_ERR_BAD_CODE;
    }
    if (bad && !other)
        return PCP_ERR_BAD_CODE;
    return c->ntried > 1 ? PCP_ERR_NOT_FOUND : c->tried[c->ntried - 1].err;
}

static int search_fail(struct search *s, struct path_conn *c)
{
    struct path_why *w = &c->why;
    const struct path_look *lk = &s->lk;
    if (lan_failed(lk)) {
        w->stage = PATH_STAGE_MDNS;
        return lk->err[PATH_VIA_MDNS];
    }
    if (c->ntried) {
        w->stage = PATH_STAGE_TRIED;
        return tried_err(c);
    }
    w->stage = PATH_STAGE_NOT_FOUND;
    w->rv_err = lk->err[PATH_VIA_RELAY];
    w->dht_err = lk->err[PATH_VIA_DHT];
    w->dht_used = s->fnd[PATH_VIA_DHT].started;
    w->dht_st = lk->dht_st;
    if (w->rv_err == PCP_ERR_RELAY_AUTH)
        return w->rv_err;
    /* The one sender found, through the DHT, said the code is wrong. */
    return w->dht_err == PCP_ERR_BAD_CODE ? w->dht_err : PCP_ERR_NOT_FOUND;
}

int path_connect(const struct path_cfg *cfg, const struct pcp_code *code, struct path_conn *c)
{
    struct search *s = calloc(1, sizeof(*s));
    int e;
    path_conn_init(c);
    if (!s)
        return PCP_ERR_NOMEM;
    if (cfg->relay && !cfg->relay_only && (c->keep = path_keep_new()) != NULL)
        punch_prepare(c->keep, 1); /* a direct path may be tried later */
    search_start(s, cfg, code);
    if (cfg->relay && !s->fnd[PATH_VIA_RELAY].started) {
        c->why.stage = PATH_STAGE_RELAY;
        e = PCP_ERR_NOMEM;
    } else {
        e = try_all(s, c);
    }
    search_end(s);
    if (e != 0 && c->why.stage == PATH_STAGE_NONE)
        e = search_fail(s, c);
    int (*upgrade)(const struct path_cfg *, struct path_conn *, int) = s->ops.upgrade;
    free(s);
    if (e == 0 && !strcmp(c->path, "relayed") && (e = upgrade(cfg, c, 1)) != 0)
        c->why.stage = PATH_STAGE_HANDSHAKEN;
    return e;
}
