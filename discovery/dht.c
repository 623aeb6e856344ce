/*
 * dht.c - the DHT's mailbox keys and this host's public addresses
 * (always), and a node of OpenDHT's network through its C library (when
 * PCP_HAVE_OPENDHT).
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

void dht_mbox_key(uint8_t out[DHT_KEYBYTES], char role, uint64_t bucket, unsigned channel)
{
    char id[64];
    uint8_t pre[11] = "pcp mbox ? ";
    crypto_generichash_state st;
    pre[9] = (uint8_t)role;
    discovery_id(id, sizeof(id), bucket, channel);
    crypto_generichash_init(&st, NULL, 0, DHT_KEYBYTES);
    crypto_generichash_update(&st, pre, sizeof(pre));
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

int dht_listen(struct pcp_dht *d, const uint8_t key[DHT_KEYBYTES], int tag)
{
    (void)d;
    (void)key;
    (void)tag;
    return PCP_ERR_UNSUPPORTED;
}

void dht_unlisten(struct pcp_dht *d, int tag)
{
    (void)d;
    (void)tag;
}

int dht_put(struct pcp_dht *d, const uint8_t key[DHT_KEYBYTES], const uint8_t *v, size_t len)
{
    (void)d;
    (void)key;
    (void)v;
    (void)len;
    return PCP_ERR_UNSUPPORTED;
}

int dht_put_state(struct pcp_dht *d)
{
    (void)d;
    return 0;
}

int dht_next(struct pcp_dht *d, int timeout_ms, const atomic_int *cancel, uint8_t *buf, size_t *len,
             int *tag)
{
    (void)d;
    (void)timeout_ms;
    (void)cancel;
    (void)buf;
    (void)len;
    (void)tag;
    return PCP_ERR_UNSUPPORTED;
}

int dht_public_v4(struct pcp_dht *d, struct in_addr *out)
{
    (void)d;
    (void)out;
    return PCP_ERR_UNSUPPORTED;
}

void dht_close(struct pcp_dht *d)
{
    (void)d;
}

#else /* PCP_HAVE_OPENDHT */

#include <opendht/opendht_c.h>
#include <pthread.h>
#include <stdatomic.h>

/* A value from OpenDHT's thread, waiting for dht_next. */
struct queued {
    int tag;
    size_t len;
    uint8_t data[DHT_VALUE_MAX];
};

/* What was seen already: a hash of key and bytes, so that a value that
 * comes again (from another node, or a listen's refresh) is queued once. */
#define SEEN_MAX 256

struct listen {
    struct pcp_dht *d; /* set once: a late callback of a cancelled listen still finds it */
    int used;
    int tag;
    dht_infohash key;
    dht_op_token *token;
};

/* A put made before the bootstrap is known waits for it. */
#define PENDING_MAX 8
struct pending {
    dht_infohash key;
    dht_value *val;
};

struct pcp_dht {
    dht_runner *runner;
    _Atomic int put_state; /* -1 under way (or none), 0 failed, 1 stored */
    /* Filled by OpenDHT's thread, emptied by dht_next. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct queued *q; /* DHT_QUEUE_MAX of them, a ring */
    size_t qhead, nq;
    uint8_t seen[SEEN_MAX][16];
    size_t nseen, seen_at;
    /* The bootstrap name, resolved by a thread of its own: a name server
     * that does not answer must not hold up the LAN or the relay. The
     * handle is freed by the last of dht_close and that thread. rmu, never
     * taken in OpenDHT's callbacks, guards what follows and the calls into
     * the runner made under it. */
    pthread_mutex_t rmu;
    char host[DHT_HOST_MAX], port[6];
    int refs, closed, resolving;
    struct listen ls[DHT_LISTENS_MAX];
    struct pending pend[PENDING_MAX];
    size_t npend;
};

static char version[48];

static void ping_done(bool ok, void *ud)
{
    (void)ok;
    (void)ud;
}

static void put_done(bool ok, void *ud)
{
    struct pcp_dht *d = ud;
    /* One stored is enough to say the network took us. */
    if (ok)
        atomic_store(&d->put_state, 1);
    else
        atomic_compare_exchange_strong(&d->put_state, &(int){-1}, 0);
}

/* OpenDHT's thread: keep a copy for dht_next, nothing more. */
static bool on_value(const dht_value *v, bool expired, void *ud)
{
    struct listen *l = ud;
    struct pcp_dht *d = l->d;
    if (expired)
        return true;
    dht_data_view dv = dht_value_get_data(v);
    if (dv.size == 0 || dv.size > DHT_VALUE_MAX)
        return true;
    uint8_t h[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, l->key.d, sizeof(l->key.d));
    crypto_generichash_update(&st, dv.data, dv.size);
    crypto_generichash_final(&st, h, sizeof(h));
    pthread_mutex_lock(&d->mu);
    size_t i = 0;
    while (i < d->nseen && memcmp(d->seen[i], h, sizeof(h)) != 0)
        i++;
    if (i == d->nseen && d->nq < DHT_QUEUE_MAX) {
        memcpy(d->seen[d->seen_at], h, sizeof(h)); /* the oldest goes */
        d->seen_at = (d->seen_at + 1) % SEEN_MAX;
        if (d->nseen < SEEN_MAX)
            d->nseen++;
        struct queued *q = &d->q[(d->qhead + d->nq++) % DHT_QUEUE_MAX];
        q->tag = l->tag;
        q->len = dv.size;
        memcpy(q->data, dv.data, dv.size);
        pthread_cond_signal(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
    return true;
}

static void on_listen_end(void *ud)
{
    (void)ud;
}

static void dht_unref(struct pcp_dht *d)
{
    pthread_mutex_lock(&d->rmu);
    int last = --d->refs == 0;
    pthread_mutex_unlock(&d->rmu);
    if (!last)
        return;
    for (size_t i = 0; i < d->npend; i++)
        dht_value_unref(d->pend[i].val);
    free(d->q);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->rmu);
    free(d);
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

/* Under rmu: ping the bootstrap's addresses, then start the listens and
 * make the puts that waited for them. */
static void bootstrap_resolved(struct pcp_dht *d, const struct addrinfo *res)
{
    for (const struct addrinfo *ai = res; ai && !d->closed; ai = ai->ai_next)
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            dht_runner_ping(d->runner, ai->ai_addr, ai->ai_addrlen, ping_done, NULL);
    for (size_t i = 0; i < DHT_LISTENS_MAX && !d->closed; i++)
        if (d->ls[i].used)
            d->ls[i].token =
                dht_runner_listen(d->runner, &d->ls[i].key, on_value, on_listen_end, &d->ls[i]);
    for (size_t i = 0; i < d->npend; i++) {
        if (!d->closed)
            dht_runner_put(d->runner, &d->pend[i].key, d->pend[i].val, put_done, d, false);
        dht_value_unref(d->pend[i].val);
    }
    d->npend = 0;
    d->resolving = 0;
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
    d->refs = 1;
    atomic_init(&d->put_state, -1);
    if (!(d->q = calloc(DHT_QUEUE_MAX, sizeof(*d->q))) || !(d->runner = dht_runner_new())) {
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

/* Under rmu. */
static void unlisten(struct pcp_dht *d, struct listen *l)
{
    if (l->token) {
        dht_runner_cancel_listen(d->runner, &l->key, l->token);
        dht_op_token_delete(l->token);
        l->token = NULL;
    }
}

void dht_unlisten(struct pcp_dht *d, int tag)
{
    pthread_mutex_lock(&d->rmu);
    for (size_t i = 0; i < DHT_LISTENS_MAX; i++) {
        if (d->ls[i].used && d->ls[i].tag == tag) {
            unlisten(d, &d->ls[i]);
            d->ls[i].used = 0; /* the slot is free again */
        }
    }
    pthread_mutex_unlock(&d->rmu);
}

int dht_listen(struct pcp_dht *d, const uint8_t key[DHT_KEYBYTES], int tag)
{
    int e = 0;
    size_t i = 0;
    pthread_mutex_lock(&d->rmu);
    while (i < DHT_LISTENS_MAX && d->ls[i].used)
        i++;
    if (i == DHT_LISTENS_MAX) {
        e = PCP_ERR_TOO_BIG;
    } else {
        struct listen *l = &d->ls[i];
        l->d = d;
        l->used = 1;
        l->tag = tag;
        memcpy(l->key.d, key, DHT_KEYBYTES);
        /* Before the bootstrap is known a listen would ask no node. */
        if (!d->resolving && !d->closed)
            l->token = dht_runner_listen(d->runner, &l->key, on_value, on_listen_end, l);
    }
    pthread_mutex_unlock(&d->rmu);
    return e;
}

int dht_put(struct pcp_dht *d, const uint8_t key[DHT_KEYBYTES], const uint8_t *v, size_t len)
{
    if (len == 0 || len > DHT_VALUE_MAX)
        return PCP_ERR_INVAL;
    dht_infohash h;
    memcpy(h.d, key, DHT_KEYBYTES);
    dht_value *val = dht_value_new(v, len);
    if (!val)
        return PCP_ERR_NOMEM;
    int e = 0;
    /* Not "permanent": the node would keep it alive past our end. */
    pthread_mutex_lock(&d->rmu);
    if (!d->resolving) {
        if (!d->closed)
            dht_runner_put(d->runner, &h, val, put_done, d, false);
        dht_value_unref(val);
    } else if (d->npend < PENDING_MAX) {
        d->pend[d->npend++] = (struct pending){h, val};
    } else {
        dht_value_unref(val);
        e = PCP_ERR_TOO_BIG;
    }
    pthread_mutex_unlock(&d->rmu);
    return e;
}

int dht_put_state(struct pcp_dht *d)
{
    return atomic_load(&d->put_state);
}

int dht_next(struct pcp_dht *d, int timeout_ms, const atomic_int *cancel, uint8_t *buf, size_t *len,
             int *tag)
{
    int64_t deadline = net_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int e = PCP_ERR_TIMEOUT;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        if (d->nq > 0) {
            struct queued *q = &d->q[d->qhead];
            d->qhead = (d->qhead + 1) % DHT_QUEUE_MAX;
            d->nq--;
            memcpy(buf, q->data, q->len);
            *len = q->len;
            *tag = q->tag;
            e = 0;
            break;
        }
        if (cancel && atomic_load(cancel)) {
            e = PCP_ERR_CANCELLED;
            break;
        }
        if (net_now_ms() >= deadline)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&d->cv, &d->mu, &ts);
    }
    pthread_mutex_unlock(&d->mu);
    return e;
}

int dht_public_v4(struct pcp_dht *d, struct in_addr *out)
{
    int e = PCP_ERR_NOT_FOUND;
    pthread_mutex_lock(&d->rmu);
    struct sockaddr **a = d->closed ? NULL : dht_runner_get_public_address(d->runner);
    pthread_mutex_unlock(&d->rmu);
    for (size_t i = 0; a && a[i]; i++) {
        if (e != 0 && a[i]->sa_family == AF_INET) {
            *out = ((struct sockaddr_in *)a[i])->sin_addr;
            e = 0;
        }
        free(a[i]);
    }
    free(a);
    return e;
}

void dht_close(struct pcp_dht *d)
{
    if (!d)
        return;
    /* The resolver calls nothing in the runner once closed is set. */
    pthread_mutex_lock(&d->rmu);
    d->closed = 1;
    for (size_t i = 0; i < DHT_LISTENS_MAX; i++)
        if (d->ls[i].used)
            unlisten(d, &d->ls[i]);
    pthread_mutex_unlock(&d->rmu);
    if (d->runner)
        dht_runner_delete(d->runner); /* joins its threads: no callback after this */
    d->runner = NULL;
    dht_unref(d);
}

#endif /* PCP_HAVE_OPENDHT */
