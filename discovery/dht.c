/*
 * dht.c - the public DHT record: its key and format (always), and a node
 * of OpenDHT's network through its C library (when PCP_HAVE_OPENDHT).
 * See dht.h.
 */
#include "dht.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "discovery.h"
#include "err.h"
#include "net.h"

void dht_key(uint8_t out[DHT_KEYBYTES], uint64_t bucket, unsigned channel)
{
    char id[64];
    crypto_generichash_state st;
    discovery_id(id, sizeof(id), bucket, channel);
    crypto_generichash_init(&st, NULL, 0, DHT_KEYBYTES);
    crypto_generichash_update(&st, (const uint8_t *)"pcp dht", 7);
    crypto_generichash_update(&st, (const uint8_t *)id, strlen(id));
    crypto_generichash_final(&st, out, DHT_KEYBYTES);
}

int dht_addr_public(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)a;
        uint32_t h = ntohl(s->sin_addr.s_addr);
        uint8_t b0 = (uint8_t)(h >> 24), b1 = (uint8_t)(h >> 16);
        return s->sin_port != 0 && b0 != 0 && b0 != 10 && b0 != 127 && b0 < 224 &&
               !(b0 == 100 && (b1 & 0xc0) == 64) && !(b0 == 169 && b1 == 254) &&
               !(b0 == 172 && (b1 & 0xf0) == 16) && !(b0 == 192 && b1 == 168);
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)a;
        return s->sin6_port != 0 && (s->sin6_addr.s6_addr[0] & 0xe0) == 0x20; /* 2000::/3 */
    }
    return 0;
}

int dht_record_make(char *out, size_t cap, uint64_t expires, const struct sockaddr_storage *a,
                    size_t n)
{
    if (n > DHT_MAX_ADDRS || cap == 0)
        return PCP_ERR_INVAL;
    int w = snprintf(out, cap, "v=1\nt=%" PRIu64 "\n", expires);
    size_t len = w > 0 ? (size_t)w : cap;
    for (size_t i = 0; i < n && len < cap; i++) {
        char s[64];
        net_addr_str(&a[i], 1, s, sizeof(s));
        w = snprintf(out + len, cap - len, "a=%s\n", s);
        len += w > 0 ? (size_t)w : cap;
    }
    return len < cap && len <= DHT_RECORD_MAX ? 0 : PCP_ERR_INVAL;
}

int dht_record_parse(const uint8_t *p, size_t len, struct dht_record *out)
{
    int have_v = 0, have_t = 0;
    memset(out, 0, sizeof(*out));
    if (len == 0 || len > DHT_RECORD_MAX)
        return PCP_ERR_PROTO;
    for (size_t i = 0; i < len; i++)
        if ((p[i] < 0x20 && p[i] != '\n') || p[i] >= 0x7f)
            return PCP_ERR_PROTO;
    const char *s = (const char *)p, *end = s + len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        const char *eq = memchr(s, '=', (size_t)(le - s));
        if (!eq || eq == s)
            return PCP_ERR_PROTO;
        size_t kl = (size_t)(eq - s), vl = (size_t)(le - eq - 1);
        const char *v = eq + 1;
        if (kl == 1 && *s == 'v') {
            if (have_v++ || vl != 1 || *v != '1')
                return PCP_ERR_PROTO;
        } else if (kl == 1 && *s == 't') {
            uint64_t t = 0;
            if (have_t++ || vl == 0 || vl > 19)
                return PCP_ERR_PROTO;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return PCP_ERR_PROTO;
                t = t * 10 + (uint64_t)(v[i] - '0');
            }
            out->expires = t;
        } else if (kl == 1 && *s == 'a') {
            if (out->naddr == DHT_MAX_ADDRS || net_addr_parse(v, vl, &out->addr[out->naddr]) != 0 ||
                !dht_addr_public(&out->addr[out->naddr]))
                return PCP_ERR_PROTO;
            out->naddr++;
        }
        s = nl ? nl + 1 : end;
    }
    return have_v && have_t && out->naddr > 0 ? 0 : PCP_ERR_PROTO;
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a,
                                 *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a,
                              *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

static int same_addrs(const struct dht_record *a, const struct dht_record *b)
{
    if (a->naddr != b->naddr)
        return 0;
    for (size_t i = 0; i < a->naddr; i++)
        if (!same_addr(&a->addr[i], &b->addr[i]))
            return 0;
    return 1;
}

int dht_record_offer(const uint8_t *p, size_t len, uint64_t now_s, struct dht_record *kept,
                     size_t *n, size_t max, struct dht_stats *st)
{
    struct dht_record r;
    size_t i, at;
    st->seen++;
    if (dht_record_parse(p, len, &r) != 0 || r.expires > now_s + DHT_TTL_S + DHT_SKEW_S) {
        /* No honest sender puts a t= that far ahead; believed, it would
         * outrank every genuine record for as long as it says. */
        st->invalid++;
        return PCP_ERR_PROTO;
    }
    if (r.expires <= now_s) {
        st->expired++;
        return PCP_ERR_TIMEOUT;
    }
    for (i = 0; i < *n; i++) {
        if (!same_addrs(&kept[i], &r))
            continue;
        if (kept[i].expires >= r.expires)
            return PCP_ERR_EXISTS;
        /* A refresh: the old one goes, the new one takes its place below. */
        memmove(&kept[i], &kept[i + 1], (*n - i - 1) * sizeof(*kept));
        (*n)--;
        break;
    }
    for (at = 0; at < *n && kept[at].expires >= r.expires; at++)
        ;
    if (at >= max)
        return PCP_ERR_EXISTS;
    if (*n == max)
        (*n)--; /* the earliest falls off */
    memmove(&kept[at + 1], &kept[at], (*n - at) * sizeof(*kept));
    kept[at] = r;
    (*n)++;
    return 0;
}

/* /proc/net/if_inet6 whole (a few lines per interface), or an empty
 * text where there is none. */
static size_t read_if_inet6(char *buf, size_t cap)
{
    size_t n = 0;
    int fd = open("/proc/net/if_inet6", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    for (ssize_t r; n < cap && (r = read(fd, buf + n, cap - n)) != 0;) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    return n;
}

size_t dht_local_addrs(uint16_t port, struct sockaddr_storage *out, size_t max)
{
    struct ifaddrs *ifs = NULL;
    size_t n = 0;
    char v6[16384];
    size_t v6len = read_if_inet6(v6, sizeof(v6));
    if (getifaddrs(&ifs) != 0)
        return 0;
    for (struct ifaddrs *i = ifs; i && n < max; i = i->ifa_next) {
        if (!i->ifa_addr ||
            (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
            continue;
        struct sockaddr_storage a;
        memset(&a, 0, sizeof(a));
        if (i->ifa_addr->sa_family == AF_INET) {
            memcpy(&a, i->ifa_addr, sizeof(struct sockaddr_in));
            ((struct sockaddr_in *)&a)->sin_port = htons(port);
        } else {
            memcpy(&a, i->ifa_addr, sizeof(struct sockaddr_in6));
            ((struct sockaddr_in6 *)&a)->sin6_port = htons(port);
            ((struct sockaddr_in6 *)&a)->sin6_scope_id = 0;
        }
        if (a.ss_family == AF_INET6 &&
            !dht_v6_publishable(v6, v6len, ((struct sockaddr_in6 *)&a)->sin6_addr.s6_addr))
            continue;
        if (dht_addr_public(&a))
            out[n++] = a;
    }
    freeifaddrs(ifs);
    return n;
}

int dht_addr_onlink(const struct sockaddr_storage *a)
{
    struct ifaddrs *ifs = NULL;
    int on = 0;
    size_t n = a->ss_family == AF_INET ? 4 : 16;
    const uint8_t *x = a->ss_family == AF_INET
                           ? (const uint8_t *)&((const struct sockaddr_in *)a)->sin_addr
                           : (const uint8_t *)&((const struct sockaddr_in6 *)a)->sin6_addr;
    if (getifaddrs(&ifs) != 0)
        return 0;
    for (struct ifaddrs *i = ifs; i && !on; i = i->ifa_next) {
        if (!i->ifa_addr || !i->ifa_netmask || i->ifa_addr->sa_family != a->ss_family)
            continue;
        const uint8_t *y = n == 4
                               ? (const uint8_t *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
                               : (const uint8_t *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
        const uint8_t *m =
            n == 4 ? (const uint8_t *)&((struct sockaddr_in *)i->ifa_netmask)->sin_addr
                   : (const uint8_t *)&((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr;
        size_t k = 0;
        while (k < n && (x[k] & m[k]) == (y[k] & m[k]))
            k++;
        on = k == n;
    }
    freeifaddrs(ifs);
    return on;
}

int dht_bootstrap_parse(const char *s, char host[DHT_HOST_MAX], char port[6])
{
    const char *h, *p;
    size_t hl;
    if (!s)
        return PCP_ERR_INVAL;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return PCP_ERR_INVAL;
        h = s + 1;
        hl = (size_t)(rb - h);
        p = rb + 2;
    } else {
        const char *colon = strchr(s, ':');
        if (!colon || strchr(colon + 1, ':'))
            return PCP_ERR_INVAL;
        h = s;
        hl = (size_t)(colon - s);
        p = colon + 1;
    }
    size_t pl = strlen(p);
    unsigned long pn = 0;
    if (hl == 0 || hl >= DHT_HOST_MAX || pl == 0 || pl > 5)
        return PCP_ERR_INVAL;
    for (size_t i = 0; i < hl; i++)
        if (h[i] <= ' ' || h[i] >= 0x7f || h[i] == '/' || h[i] == '[' || h[i] == ']')
            return PCP_ERR_INVAL;
    for (size_t i = 0; i < pl; i++) {
        if (p[i] < '0' || p[i] > '9')
            return PCP_ERR_INVAL;
        pn = pn * 10 + (unsigned long)(p[i] - '0');
    }
    if (pn < 1 || pn > 65535)
        return PCP_ERR_INVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    memcpy(port, p, pl + 1);
    return 0;
}

#ifndef PCP_HAVE_OPENDHT

const char *dht_version_text(void)
{
    return NULL;
}

int dht_open(struct pcp_dht **out, const char *bootstrap)
{
    (void)bootstrap;
    *out = NULL;
    return PCP_ERR_UNSUPPORTED;
}

int dht_put_record(struct pcp_dht *d, uint64_t bucket, unsigned channel, const char *rec)
{
    (void)d;
    (void)bucket;
    (void)channel;
    (void)rec;
    return PCP_ERR_UNSUPPORTED;
}

int dht_lookup(struct pcp_dht *d, unsigned channel, int timeout_ms, const atomic_int *cancel,
               struct dht_record *out, size_t max, size_t *n, struct dht_stats *st)
{
    (void)d;
    (void)channel;
    (void)timeout_ms;
    (void)cancel;
    (void)out;
    (void)max;
    (void)st;
    *n = 0;
    return PCP_ERR_UNSUPPORTED;
}

int dht_put_state(struct pcp_dht *d)
{
    (void)d;
    return 0;
}

void dht_close(struct pcp_dht *d)
{
    (void)d;
}

#else /* PCP_HAVE_OPENDHT */

#include <opendht/opendht_c.h>
#include <pthread.h>
#include <stdatomic.h>

#define QUEUE_MAX 16 /* records waiting for dht_lookup; more are dropped */
#define LISTENS 3    /* previous, current and next bucket */

struct queued {
    size_t len;
    uint8_t data[DHT_RECORD_MAX];
};

struct pcp_dht {
    dht_runner *runner;
    _Atomic int put_state; /* -1 under way (or none), 0 failed, 1 stored */
    _Atomic int get_state; /* the same for the lookup's one-off get */
    /* receiver: filled by OpenDHT's thread, emptied by dht_lookup */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct queued q[QUEUE_MAX];
    size_t nq;
    /* The bootstrap name, resolved by a thread of its own: a name server
     * that does not answer must not hold up the LAN or the relay. A put
     * made before it is known waits for it. The handle is freed by the
     * last of dht_close and that thread. rmu, never taken in OpenDHT's
     * callbacks, guards what follows and the calls into the runner made
     * under it. */
    pthread_mutex_t rmu;
    pthread_cond_t rcv; /* resolving went to 0 */
    char host[DHT_HOST_MAX], port[6];
    int refs, closed, resolving;
    dht_infohash put_key;
    dht_value *put_val; /* the put waiting for the bootstrap */
};

static char version[48];

static void put_done(bool ok, void *ud);

static void ping_done(bool ok, void *ud)
{
    (void)ok;
    (void)ud;
}

static void dht_unref(struct pcp_dht *d)
{
    pthread_mutex_lock(&d->rmu);
    int last = --d->refs == 0;
    pthread_mutex_unlock(&d->rmu);
    if (!last)
        return;
    if (d->put_val)
        dht_value_unref(d->put_val);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->rmu);
    pthread_cond_destroy(&d->rcv);
    free(d);
}

/* Waits on cv for at most 20 ms. */
static void wait_20ms(pthread_cond_t *cv, pthread_mutex_t *mu)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, mu, &ts);
}

static int bootstrap_lookup(const struct pcp_dht *d, int flags, struct addrinfo **res)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV | flags;
    *res = NULL;
    return getaddrinfo(d->host, d->port, &hints, res);
}

/* Under rmu: ping the bootstrap's addresses, then make the put that
 * waited for them. */
static void bootstrap_resolved(struct pcp_dht *d, const struct addrinfo *res)
{
    for (const struct addrinfo *ai = res; ai && !d->closed; ai = ai->ai_next)
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            dht_runner_ping(d->runner, ai->ai_addr, ai->ai_addrlen, ping_done, NULL);
    if (d->put_val) {
        if (!d->closed)
            dht_runner_put(d->runner, &d->put_key, d->put_val, put_done, d, false);
        dht_value_unref(d->put_val);
        d->put_val = NULL;
    }
    d->resolving = 0;
    pthread_cond_broadcast(&d->rcv);
}

static void *resolve_main(void *arg)
{
    struct pcp_dht *d = arg;
    struct addrinfo *res;
    if (bootstrap_lookup(d, 0, &res) != 0)
        res = NULL;
    pthread_mutex_lock(&d->rmu);
    bootstrap_resolved(d, res);
    pthread_mutex_unlock(&d->rmu);
    if (res)
        freeaddrinfo(res);
    dht_unref(d);
    return NULL;
}

const char *dht_version_text(void)
{
    snprintf(version, sizeof(version), "OpenDHT %s", dht_version());
    return version;
}

int dht_open(struct pcp_dht **out, const char *bootstrap)
{
    char host[DHT_HOST_MAX], port[6];
    *out = NULL;
    if (dht_bootstrap_parse(bootstrap, host, port) != 0)
        return PCP_ERR_INVAL;
    struct pcp_dht *d = calloc(1, sizeof(*d));
    if (!d)
        return PCP_ERR_NOMEM;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    pthread_mutex_init(&d->rmu, NULL);
    pthread_cond_init(&d->rcv, NULL);
    d->refs = 1;
    atomic_init(&d->put_state, -1);
    atomic_init(&d->get_state, -1);
    if (!(d->runner = dht_runner_new())) {
        dht_close(d);
        return PCP_ERR_NOMEM;
    }
    dht_runner_config cfg;
    dht_runner_config_default(&cfg);
    cfg.threaded = true;
    cfg.log = false;
    if (dht_runner_run_config(d->runner, 0, &cfg) != 0) {
        dht_close(d);
        return PCP_ERR_NET;
    }
    memcpy(d->host, host, sizeof(d->host));
    memcpy(d->port, port, sizeof(d->port));
    /* An address needs no name server: joined at once. */
    struct addrinfo *res;
    if (bootstrap_lookup(d, AI_NUMERICHOST, &res) == 0) {
        pthread_mutex_lock(&d->rmu);
        bootstrap_resolved(d, res);
        pthread_mutex_unlock(&d->rmu);
        freeaddrinfo(res);
        *out = d;
        return 0;
    }
    d->resolving = 1;
    d->refs = 2; /* the resolver's */
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int started = pthread_create(&t, &at, resolve_main, d) == 0;
    pthread_attr_destroy(&at);
    if (!started) {
        d->refs = 1;
        d->resolving = 0;
        dht_close(d);
        return PCP_ERR_NOMEM;
    }
    *out = d;
    return 0;
}

static void put_done(bool ok, void *ud)
{
    atomic_store(&((struct pcp_dht *)ud)->put_state, ok ? 1 : 0);
}

int dht_put_state(struct pcp_dht *d)
{
    return atomic_load(&d->put_state);
}

int dht_put_record(struct pcp_dht *d, uint64_t bucket, unsigned channel, const char *rec)
{
    uint8_t key[DHT_KEYBYTES];
    dht_infohash h;
    dht_key(key, bucket, channel);
    memcpy(h.d, key, sizeof(key));
    dht_value *v = dht_value_new((const uint8_t *)rec, strlen(rec));
    if (!v)
        return PCP_ERR_NOMEM;
    /* Not "permanent": the node would keep it alive past our end. The
     * caller puts a fresh one (a new t=) before the last runs out. */
    pthread_mutex_lock(&d->rmu);
    if (d->resolving) {
        if (d->put_val)
            dht_value_unref(d->put_val);
        d->put_key = h;
        d->put_val = v;
    } else {
        dht_runner_put(d->runner, &h, v, put_done, d, false);
        dht_value_unref(v);
    }
    pthread_mutex_unlock(&d->rmu);
    return 0;
}

/* OpenDHT's thread: keep a copy for dht_lookup, nothing more. */
static bool on_value(const dht_value *v, bool expired, void *ud)
{
    struct pcp_dht *d = ud;
    if (expired)
        return true;
    dht_data_view dv = dht_value_get_data(v);
    pthread_mutex_lock(&d->mu);
    if (d->nq < QUEUE_MAX && dv.size <= DHT_RECORD_MAX) {
        d->q[d->nq].len = dv.size;
        memcpy(d->q[d->nq].data, dv.data, dv.size);
        d->nq++;
        pthread_cond_signal(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
    return true;
}

static bool on_get(const dht_value *v, void *ud)
{
    return on_value(v, false, ud);
}

static void get_done(bool ok, void *ud)
{
    atomic_store(&((struct pcp_dht *)ud)->get_state, ok ? 1 : 0);
}

static void on_listen_end(void *ud)
{
    (void)ud;
}

struct listen {
    uint64_t bucket;
    dht_infohash key;
    dht_op_token *token;
};

static void listen_start(struct pcp_dht *d, struct listen *l, uint64_t bucket, unsigned channel)
{
    uint8_t key[DHT_KEYBYTES];
    dht_key(key, bucket, channel);
    memcpy(l->key.d, key, sizeof(key));
    l->bucket = bucket;
    l->token = dht_runner_listen(d->runner, &l->key, on_value, on_listen_end, d);
}

static void listen_stop(struct pcp_dht *d, struct listen *l)
{
    if (!l->token)
        return;
    dht_runner_cancel_listen(d->runner, &l->key, l->token);
    dht_op_token_delete(l->token);
    l->token = NULL;
}

int dht_lookup(struct pcp_dht *d, unsigned channel, int timeout_ms, const atomic_int *cancel,
               struct dht_record *out, size_t max, size_t *n, struct dht_stats *st)
{
    struct listen ls[LISTENS];
    struct dht_stats stats = {0, 0, 0, 0, -1};
    int64_t start = net_now_ms(), deadline = start + timeout_ms;
    int e = PCP_ERR_NOT_FOUND;
    *n = 0;
    memset(ls, 0, sizeof(ls));
    /* Listens started before the bootstrap is known would ask no node. */
    pthread_mutex_lock(&d->rmu);
    while (d->resolving && !(cancel && *cancel) && net_now_ms() < deadline)
        wait_20ms(&d->rcv, &d->rmu);
    pthread_mutex_unlock(&d->rmu);
    uint64_t b = discovery_bucket(discovery_now_ns());
    listen_start(d, &ls[0], b - DISCOVERY_BUCKET_NS, channel);
    listen_start(d, &ls[1], b, channel);
    /* A get besides the listens: its end says whether any node answered. */
    dht_runner_get(d->runner, &ls[1].key, on_get, get_done, d);
    pthread_mutex_lock(&d->mu);
    for (;;) {
        /* What arrived: the valid records, the latest t first. */
        while (d->nq > 0) {
            struct queued *q = &d->q[--d->nq];
            dht_record_offer(q->data, q->len, discovery_now_ns() / 1000000000u, out, n, max,
                             &stats);
        }
        if (cancel && *cancel) {
            e = *n ? 0 : PCP_ERR_CANCELLED;
            break;
        }
        int64_t now = net_now_ms();
        /* The first valid record: the others that come with it (other
         * nodes' answers, the other buckets' listens) are taken too, so
         * that a forged one is not all the caller gets. */
        if (*n > 0 && deadline > now + DHT_GATHER_MS)
            deadline = now + DHT_GATHER_MS;
        if (*n == max || now >= deadline) {
            e = *n ? 0 : PCP_ERR_NOT_FOUND;
            break;
        }
        /* The clock reached the next bucket: a sender that starts now
         * puts its record there. */
        uint64_t nb = discovery_bucket(discovery_now_ns());
        if (nb > ls[1].bucket && !ls[2].token) {
            pthread_mutex_unlock(&d->mu);
            listen_start(d, &ls[2], nb, channel);
            pthread_mutex_lock(&d->mu);
            continue;
        }
        wait_20ms(&d->cv, &d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    for (int i = 0; i < LISTENS; i++)
        listen_stop(d, &ls[i]);
    stats.ms = (int)(net_now_ms() - start);
    stats.reachable = stats.seen ? 1 : atomic_load(&d->get_state);
    if (st)
        *st = stats;
    return e;
}

void dht_close(struct pcp_dht *d)
{
    if (!d)
        return;
    /* The resolver calls nothing in the runner once closed is set. */
    pthread_mutex_lock(&d->rmu);
    d->closed = 1;
    pthread_mutex_unlock(&d->rmu);
    if (d->runner)
        dht_runner_delete(d->runner); /* joins its threads: no callback after this */
    d->runner = NULL;
    dht_unref(d);
}

#endif /* PCP_HAVE_OPENDHT */
