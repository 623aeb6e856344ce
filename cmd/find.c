/*
 * find.c - the receiver's way to its sender (see cmd.h): mDNS, the DHT and
 * the relay looked at by three threads at once, the candidates they find
 * tried by the calling thread one after the other.
 *
 * Why several candidates: anyone on the LAN can answer mDNS, anyone at all
 * can put a DHT record under the channel's key, and (once the relay keeps
 * several senders' records under one key) anyone can enter a record at
 * the relay. Only the handshake tells the sender from a stranger, so one
 * candidate that fails it must not end the search.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd.h"
#include "dht.h"
#include "discovery.h"
#include "err.h"
#include "handshake.h"
#include "net.h"

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
#define FIND_MAX_ROOMS 4
#define FIND_MAX_CANDS (1 + DHT_LOOKUP_MAX + FIND_MAX_ROOMS)

enum via { VIA_LAN, VIA_DHT, VIA_RELAY };

struct cand {
    enum via via;
    int tried;
    size_t naddr;
    struct sockaddr_storage addr[MDNS_MAX_ADDRS];
    char room[RV_ROOM_HEX + 1];
};

/* What the finder threads share with the one that tries. mu guards
 * everything below it; cv is signalled when a candidate arrives or a
 * finder ends, and when `cancel` is set. The lookups' own APIs poll a
 * flag, so cancel stays a volatile int (written under mu). */
struct finders {
    /* set before the threads start, read-only after */
    const char *ifname, *bootstrap;
    unsigned channel;
    int64_t deadline_ms;
    struct rv_client client;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    volatile int cancel;
    struct cand c[FIND_MAX_CANDS];
    size_t n;
    int lan_running, dht_running, rv_running;
    int lan_err, dht_err, rv_err;
    struct dht_stats dht_st;
    size_t dht_found;
};

static int left_ms(const struct finders *f)
{
    int64_t left = f->deadline_ms - net_now_ms();
    return left > 0 ? (int)left : 0;
}

/* Under mu: wait on cv until at (net_now_ms's clock, CLOCK_MONOTONIC). */
static void wait_until(struct finders *f, int64_t at)
{
    struct timespec ts = {(time_t)(at / 1000), (long)(at % 1000) * 1000000L};
    pthread_cond_timedwait(&f->cv, &f->mu, &ts);
}

/* Under mu. */
static void add_cand(struct finders *f, enum via via, const struct sockaddr_storage *a,
                     size_t naddr, const char *room)
{
    if (f->n == FIND_MAX_CANDS)
        return;
    struct cand *c = &f->c[f->n++];
    memset(c, 0, sizeof(*c));
    c->via = via;
    c->naddr = naddr < MDNS_MAX_ADDRS ? naddr : MDNS_MAX_ADDRS;
    if (a)
        memcpy(c->addr, a, c->naddr * sizeof(*a));
    if (room)
        memcpy(c->room, room, sizeof(c->room));
    pthread_cond_broadcast(&f->cv);
}

static void *lan_main(void *arg)
{
    struct finders *f = arg;
    struct mdns_record rec;
    int e = mdns_lookup(f->ifname, f->channel, left_ms(f), &f->cancel, &rec);
    pthread_mutex_lock(&f->mu);
    if (e == 0)
        add_cand(f, VIA_LAN, rec.addr, rec.naddr, NULL);
    f->lan_err = e;
    f->lan_running = 0;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void *dht_main(void *arg)
{
    struct finders *f = arg;
    struct pcp_dht *d;
    struct dht_record r[DHT_LOOKUP_MAX];
    struct dht_stats st = {0, 0, 0, 0, -1};
    size_t n = 0;
    int e = dht_open(&d, f->bootstrap);
    if (e == 0) {
        e = dht_lookup(d, f->channel, left_ms(f), &f->cancel, r, DHT_LOOKUP_MAX, &n, &st);
        dht_close(d);
    }
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < n; i++)
        add_cand(f, VIA_DHT, r[i].addr, r[i].naddr, NULL);
    f->dht_err = e;
    f->dht_st = st;
    f->dht_found = n;
    f->dht_running = 0;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* GET the rooms under (bucket, channel) and add those not seen before
 * (at most FIND_MAX_ROOMS in all) as candidates. */
static int rv_try(struct finders *f, uint64_t bucket, int wait_s, char seen[][RV_ROOM_HEX + 1],
                  size_t *nseen)
{
    char key[RV_KEY_HEX + 1], rooms[FIND_MAX_ROOMS][RV_ROOM_HEX + 1];
    size_t n = 0;
    rv_key(key, bucket, f->channel);
    int e = rv_get_rooms(&f->client, key, wait_s, rooms, FIND_MAX_ROOMS, &n, NULL);
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; e == 0 && i < n && *nseen < FIND_MAX_ROOMS; i++) {
        size_t k = 0;
        while (k < *nseen && strcmp(seen[k], rooms[i]) != 0)
            k++;
        if (k < *nseen)
            continue;
        memcpy(seen[(*nseen)++], rooms[i], sizeof(rooms[i]));
        add_cand(f, VIA_RELAY, NULL, 0, rooms[i]);
    }
    pthread_mutex_unlock(&f->mu);
    return e;
}

/* The senders' records at the relay: the current and the previous bucket,
 * then long-polls on the current one. Once something was found, it asks
 * again every second while the search goes on: a stranger's record may
 * have been all there was, and the sender's may come next. */
static void *rv_main(void *arg)
{
    struct finders *f = arg;
    char seen[FIND_MAX_ROOMS][RV_ROOM_HEX + 1];
    size_t nseen = 0;
    int err = PCP_ERR_NOT_FOUND;
    while (!f->cancel && left_ms(f) > 0 && nseen < FIND_MAX_ROOMS) {
        uint64_t b = discovery_bucket(discovery_now_ns());
        int e = rv_try(f, b - DISCOVERY_BUCKET_NS, 0, seen, &nseen);
        if (e == 0 || e == PCP_ERR_NOT_FOUND) {
            int left = left_ms(f) / 1000;
            e = rv_try(f, b, nseen ? 0 : left < 10 ? left : 10, seen, &nseen);
        }
        if (e == PCP_ERR_RELAY_AUTH || e == PCP_ERR_CANCELLED) {
            err = e;
            break;
        }
        if (e && e != PCP_ERR_NOT_FOUND)
            err = e; /* the relay is unreachable: try again in a second */
        if ((e && e != PCP_ERR_NOT_FOUND) || nseen) {
            pthread_mutex_lock(&f->mu);
            if (!f->cancel)
                wait_until(f, net_now_ms() + 1000);
            pthread_mutex_unlock(&f->mu);
        }
    }
    pthread_mutex_lock(&f->mu);
    f->rv_err = nseen ? 0 : err;
    f->rv_running = 0;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
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
static int pick(struct finders *f, int others_ok, const struct sockaddr_storage *done, size_t ndone)
{
    for (int pass = VIA_LAN; pass <= VIA_RELAY; pass++) {
        if (pass != VIA_LAN && !others_ok)
            break;
        for (size_t i = 0; i < f->n; i++) {
            struct cand *c = &f->c[i];
            if (c->tried || c->via != (enum via)pass)
                continue;
            for (size_t k = 0; c->via == VIA_DHT && k < c->naddr;) {
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
            if (c->via != VIA_RELAY && c->naddr == 0) {
                c->tried = 1;
                continue;
            }
            return (int)i;
        }
    }
    return -1;
}

static size_t untried(const struct finders *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += !f->c[i].tried;
    return n;
}

static const char *via_name(enum via v)
{
    return v == VIA_LAN ? "mdns" : v == VIA_DHT ? "dht" : "relay";
}

static const char *via_text(const char *via)
{
    return !strcmp(via, "mdns") ? "the LAN" : !strcmp(via, "dht") ? "the DHT" : "the relay";
}

/* One candidate: its connection (the addresses raced, or the relay room)
 * within conn_ms and the handshake on it, each read within hs_ms. */
static int try_cand(struct find *f, const struct cand *c, int conn_ms, int hs_ms,
                    struct frame_reader *fr, uint8_t tx[32], uint8_t rx[32], struct find_try *t,
                    struct sockaddr_storage *peer)
{
    int fd = -1, e;
    memset(t, 0, sizeof(*t));
    t->via = via_name(c->via);
    memset(peer, 0, sizeof(*peer));
    if (c->via == VIA_RELAY) {
        snprintf(t->peer, sizeof(t->peer), "room %.8s", c->room);
        e = rv_pipe(&f->rly->client, c->room, conn_ms, &fd);
    } else {
        net_addr_str(&c->addr[0], 1, t->peer, sizeof(t->peer));
        e = net_connect_race(c->addr, c->naddr, 0, 250, conn_ms, NULL, &fd, peer);
        if (e == 0)
            net_addr_str(peer, 1, t->peer, sizeof(t->peer));
        else if (c->naddr > 1) {
            size_t l = strlen(t->peer);
            snprintf(t->peer + l, sizeof(t->peer) - l, " and %zu more", c->naddr - 1);
        }
    }
    if (e == 0) {
        t->connected = 1;
        net_set_timeout(fd, hs_ms);
        e = frame_reader_init(fr, fd);
        if (e == 0)
            e = handshake_receiver_by(fd, fr, f->pw, f->pwlen, f->aad, net_now_ms() + hs_ms, tx,
                                      rx);
    }
    t->err = e;
    if (e == 0) {
        f->fd = fd;
        return 0;
    }
    frame_reader_free(fr);
    if (fd >= 0)
        close(fd);
    return e;
}

static void dht_event(FILE *json, const struct finders *fs)
{
    fprintf(json,
            "{\"event\":\"dht\",\"found\":%s,\"records\":%u,\"expired\":%u,"
            "\"invalid\":%u,\"valid\":%zu,\"lookup_ms\":%d}\n",
            fs->dht_found ? "true" : "false", fs->dht_st.seen, fs->dht_st.expired,
            fs->dht_st.invalid, fs->dht_found, fs->dht_st.ms);
}

void find_tried_json(FILE *out, const struct find *f)
{
    fputc('[', out);
    for (size_t i = 0; i < f->ntried; i++) {
        const struct find_try *t = &f->tried[i];
        fprintf(out, "%s{\"via\":\"%s\",\"peer\":", i ? "," : "", t->via);
        ui_json_str(out, t->peer);
        fprintf(out, ",\"stage\":\"%s\",\"error\":\"%s\",\"message\":",
                t->connected ? "handshake" : "connect", ui_err_name(t->err));
        ui_json_str(out, pcp_strerror(t->err));
        fputc('}', out);
    }
    fputc(']', out);
}

/* "the LAN (192.0.2.1:4000: wrong code), the DHT (...)" */
static void tried_text(const struct find *f, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < f->ntried && o < cap; i++) {
        const struct find_try *t = &f->tried[i];
        int w =
            snprintf(out + o, cap - o, "%s%s (%s: %s%s)", i ? ", " : "", via_text(t->via), t->peer,
                     t->err == PCP_ERR_BAD_CODE ? ""
                     : t->connected             ? "handshake failed: "
                                                : "no connection: ",
                     t->err == PCP_ERR_BAD_CODE ? "wrong code" : pcp_strerror(t->err));
        o += w > 0 ? (size_t)w : cap;
    }
}

/* ui_fail, with the tries in the JSON event. */
static int fail(struct ui *u, const struct find *f, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct ui *u, const struct find *f, int err, const char *fmt, ...)
{
    char msg[1600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int code = ui_exit_code(err);
    if (u->tty)
        fputc('\n', stderr);
    if (u->json) {
        fprintf(u->json,
                "{\"event\":\"error\",\"code\":\"%s\",\"exit\":%d,\"message\":", ui_err_name(err),
                code);
        ui_json_str(u->json, msg);
        fprintf(u->json, ",\"tried\":");
        find_tried_json(u->json, f);
        fprintf(u->json, "}\n");
        fflush(u->json);
    }
    fprintf(stderr, "pcp: %s\n", msg);
    return code;
}

/* Nothing was found at all: why, as before candidates were tried. */
static int fail_none(struct find *f, struct ui *u, const struct finders *fs, int dht)
{
    const struct relay_choice *rly = f->rly;
    char dht_note[400] = "";
    if (fs->rv_err == PCP_ERR_RELAY_AUTH)
        return fail(u, f, fs->rv_err, "the relay %s refused: %s", rly->shown,
                    pcp_strerror(fs->rv_err));
    if (dht && fs->dht_err != PCP_ERR_NOT_FOUND && fs->dht_err != PCP_ERR_CANCELLED)
        snprintf(dht_note, sizeof(dht_note), "; the DHT: %s", pcp_strerror(fs->dht_err));
    else if (dht)
        snprintf(dht_note, sizeof(dht_note), "; the DHT: %s%s%s",
                 fs->dht_st.reachable != 1 ? "no node answered (can this host reach "
                 : fs->dht_st.expired      ? "only an expired record"
                 : fs->dht_st.invalid      ? "only invalid records"
                                           : "no record",
                 fs->dht_st.reachable != 1 ? rly->dht_bootstrap : "",
                 fs->dht_st.reachable != 1 ? "? --dht-bootstrap picks another node)" : "");
    return fail(u, f, PCP_ERR_NOT_FOUND,
                "no sender found for this code within %ld s. Check that 'pcp send' is "
                "running %s and that the first word is right%s%s%s%s.",
                f->timeout_s, rly->use ? "with the same relay" : "on the same network",
                f->ifname || rly->only ? "" : " (--mdns-interface picks the interface)",
                rly->use && fs->rv_err != PCP_ERR_NOT_FOUND ? "; the relay: " : "",
                rly->use && fs->rv_err != PCP_ERR_NOT_FOUND ? pcp_strerror(fs->rv_err) : "",
                dht_note);
}

/* Every candidate failed. When every peer that answered the handshake said
 * the code is wrong, the code most likely is (the tries are listed for the
 * case where a stranger said so); else one try keeps its own message and
 * several are "no sender found", with the list. */
static int fail_tried(struct find *f, struct ui *u)
{
    const struct find_try *last = &f->tried[f->ntried - 1];
    char list[1200];
    int bad = 0, other = 0;
    for (size_t i = 0; i < f->ntried; i++) {
        bad += f->tried[i].err == PCP_ERR_BAD_CODE;
        other += f->tried[i].connected && f->tried[i].err != PCP_ERR_BAD_CODE;
    }
    tried_text(f, list, sizeof(list));
    if (bad && !other && f->ntried == 1)
        return fail(u, f, PCP_ERR_BAD_CODE,
                    "wrong code: the sender at %s did not accept it. Check the words with the "
                    "sender and try again.",
                    f->who);
    if (bad && !other)
        return fail(u, f, PCP_ERR_BAD_CODE,
                    "wrong code: the sender did not accept it (tried: %s). Check the words "
                    "with the sender and try again.",
                    list);
    if (f->ntried > 1)
        return fail(u, f, PCP_ERR_NOT_FOUND,
                    "no sender found that completes the handshake (tried: %s)", list);
    if (last->connected)
        return fail(u, f, last->err, "handshake with %s failed: %s", f->who,
                    pcp_strerror(last->err));
    if (!strcmp(last->via, "dht"))
        return fail(u, f, last->err,
                    "found the sender in the DHT but cannot connect to its public "
                    "address(es): %s (a firewall? a relay would carry it)",
                    pcp_strerror(last->err));
    if (!strcmp(last->via, "relay"))
        return fail(u, f, last->err, "found the sender at the relay %s but cannot join it: %s",
                    f->rly->shown, pcp_strerror(last->err));
    return fail(u, f, last->err, "found the sender but cannot connect to it: %s",
                pcp_strerror(last->err));
}

int find_sender(struct find *f, struct ui *u, struct frame_reader *fr, uint8_t tx[32],
                uint8_t rx[32])
{
    const struct relay_choice *rly = f->rly;
    struct finders fs;
    pthread_t lan_t, dht_t, rv_t;
    int lan = !rly->only, dht = rly->dht, rv = rly->use, rc = EXIT_OK, dht_shown = 0;
    int64_t start = net_now_ms();
    int64_t head = lan ? start + DIRECT_HEAD_START_MS : start, more_until = INT64_MAX;
    struct sockaddr_storage done[FIND_MAX_TRIES];
    size_t ndone = 0;
    pthread_condattr_t ca;

    f->fd = -1;
    f->ntried = 0;
    memset(&fs, 0, sizeof(fs));
    fs.ifname = f->ifname;
    fs.bootstrap = rly->dht_bootstrap;
    fs.channel = f->channel;
    fs.deadline_ms = start + f->timeout_s * 1000;
    fs.client = rly->client;
    fs.client.cancel = &fs.cancel;
    fs.lan_err = fs.dht_err = fs.rv_err = PCP_ERR_NOT_FOUND;
    fs.dht_st.reachable = -1;
    pthread_mutex_init(&fs.mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&fs.cv, &ca);
    pthread_condattr_destroy(&ca);
    fs.lan_running = lan = lan && pthread_create(&lan_t, NULL, lan_main, &fs) == 0;
    fs.dht_running = dht = dht && pthread_create(&dht_t, NULL, dht_main, &fs) == 0;
    fs.rv_running = rv = rv && pthread_create(&rv_t, NULL, rv_main, &fs) == 0;
    if (rly->use && !rv)
        rc = ui_fail(u, PCP_ERR_NOMEM, "cannot start looking at the relay");

    while (rc == EXIT_OK && f->ntried < FIND_MAX_TRIES) {
        int i = -1;
        pthread_mutex_lock(&fs.mu);
        for (;;) {
            int64_t now = net_now_ms();
            if (fs.lan_err != 0 && fs.lan_err != PCP_ERR_NOT_FOUND &&
                fs.lan_err != PCP_ERR_CANCELLED)
                break; /* a bad --mdns-interface: said at once, below */
            if ((i = pick(&fs, now >= head || !fs.lan_running, done, ndone)) >= 0)
                break;
            if (!(fs.lan_running || fs.dht_running || fs.rv_running) || now >= more_until)
                break;
            if (u->json && dht && !fs.dht_running && !dht_shown) {
                dht_shown = 1;
                dht_event(u->json, &fs);
            }
            /* Woken by a finder; or at the head start's end when a
             * candidate waits for it. */
            wait_until(&fs, now < head && untried(&fs) ? head
                            : more_until < INT64_MAX   ? more_until
                                                       : fs.deadline_ms + 60000);
        }
        struct cand c;
        memset(&c, 0, sizeof(c));
        if (i >= 0) {
            fs.c[i].tried = 1;
            c = fs.c[i];
        }
        /* Who else might still be tried: the candidates waiting, and one
         * more while a lookup goes on. */
        size_t others = untried(&fs) + (fs.lan_running || fs.dht_running || fs.rv_running);
        int lan_err = fs.lan_err;
        pthread_mutex_unlock(&fs.mu);
        if (lan_err != 0 && lan_err != PCP_ERR_NOT_FOUND && lan_err != PCP_ERR_CANCELLED) {
            rc = ui_fail(u, lan_err, "cannot look on the local network%s%s: %s",
                         f->ifname ? " on interface " : "", f->ifname ? f->ifname : "",
                         pcp_strerror(lan_err));
            break;
        }
        if (i < 0)
            break;
        /* Alone, a candidate gets the usual time. With others waiting,
         * each gets its share of what is left of --timeout: a forged one
         * that accepts and then says nothing must not use up the time of
         * the sender that comes after it. */
        int64_t left = fs.deadline_ms - net_now_ms();
        int conn_ms = FIND_TRY_MS, hs_ms = f->handshake_ms > 0 ? f->handshake_ms : FIND_TRY_MS;
        if (f->ntried > 0 && left <= 0)
            break;
        if (others > 0 || f->ntried > 0) {
            int64_t share = left / (int64_t)(others + 1);
            share = share < FIND_TRY_MIN_MS ? FIND_TRY_MIN_MS : share;
            hs_ms = conn_ms = (int)(share < FIND_TRY_MS ? share : FIND_TRY_MS);
        }
        struct find_try *t = &f->tried[f->ntried];
        struct sockaddr_storage peer;
        int e = try_cand(f, &c, conn_ms, hs_ms, fr, tx, rx, t, &peer);
        if (c.via == VIA_RELAY)
            snprintf(f->who, sizeof(f->who), "relay %s", rly->shown);
        else if (t->connected)
            net_addr_str(&peer, 0, f->who, sizeof(f->who));
        if (e == 0) {
            f->path = c.via == VIA_LAN ? "lan" : c.via == VIA_DHT ? "direct" : "relayed";
            f->found_by = t->via;
            break;
        }
        f->ntried++;
        if (t->connected && ndone < FIND_MAX_TRIES)
            done[ndone++] = peer;
        if (!u->json)
            fprintf(stderr, "Tried %s (%s: %s); looking further...\n", via_text(t->via), t->peer,
                    e == PCP_ERR_BAD_CODE ? "wrong code" : pcp_strerror(e));
        more_until = net_now_ms() + FIND_MORE_MS;
    }

    pthread_mutex_lock(&fs.mu);
    fs.cancel = 1;
    pthread_cond_broadcast(&fs.cv);
    pthread_mutex_unlock(&fs.mu);
    if (lan)
        pthread_join(lan_t, NULL);
    if (dht)
        pthread_join(dht_t, NULL);
    if (rv)
        pthread_join(rv_t, NULL);
    pthread_cond_destroy(&fs.cv);
    pthread_mutex_destroy(&fs.mu);
    if (u->json && dht && !dht_shown)
        dht_event(u->json, &fs);
    if (rc == EXIT_OK && f->fd < 0)
        rc = f->ntried ? fail_tried(f, u) : fail_none(f, u, &fs, dht);
    return rc;
}
