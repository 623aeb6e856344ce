/*
 * mbox.c - the two flows of mbox.h: a receiver's attempt (mbox_connect)
 * and the sender's answering thread (mbox_sender_*). The codec is in
 * mbox_codec.c.
 */
#include "mbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "discovery.h"
#include "err.h"
#include "net.h"
#include "portmap.h"
#include "spake2.h"

/* The receiver waits this long for the sender's S2 once its R2 is out;
 * the sender this long for an R2 once its S1 is out (after that the
 * attempt, which holds our proof, is a wrong guess). */
#define S2_WAIT_MS 8000
#define R2_WAIT_MS 15000
/* How long a side waits for the router's mapping of the punch port and
 * for the DHT's nodes to say what address they see. */
#define MAP_WAIT_MS 600
/* After an S1 whose cB failed, for another that checks. */
#define BAD_WAIT_MS 3000

/* ---- this side's candidates --------------------------------------------- */

static void add(struct mbox_cands *c, const struct sockaddr_storage *a, enum mbox_cand_kind k)
{
    for (size_t i = 0; i < c->n; i++)
        if (net_addr_same(&c->addr[i], a, 1))
            return;
    if (c->n < MBOX_MAX_CANDS) {
        c->addr[c->n] = *a;
        c->kind[c->n++] = k;
    }
}

/* The router's mapping, the address the DHT's nodes see (with the punch
 * port, which most NATs keep), this host's own public addresses, its LAN
 * addresses. */
static void collect(const struct mbox_cfg *cfg, int64_t until, struct mbox_cands *c,
                    const char **portmap)
{
    struct sockaddr_storage a;
    struct in_addr pub;
    uint16_t port = cfg->prep->port;
    memset(c, 0, sizeof(*c));
    *portmap = "none";
    int64_t left = until - net_now_ms();
    if (cfg->prep->pm && portmap_get(cfg->prep->pm, left > 0 ? (int)left : 0, &a, portmap) == 0 &&
        dht_addr_public(&a))
        add(c, &a, MBOX_CAND_MAPPED);
    while (dht_public_v4(cfg->dht, &pub) != 0 && net_now_ms() < until &&
           !(cfg->cancel && atomic_load(cfg->cancel)))
        usleep(50 * 1000);
    int have_pub = 0, ours = 0;
    if (dht_public_v4(cfg->dht, &pub) == 0) {
        memset(&a, 0, sizeof(a));
        struct sockaddr_in *s4 = (struct sockaddr_in *)&a;
        s4->sin_family = AF_INET;
        s4->sin_addr = pub;
        s4->sin_port = htons(port);
        if ((have_pub = dht_addr_public(&a)) != 0)
            add(c, &a, MBOX_CAND_PUBLIC);
    }
    struct sockaddr_storage own[MBOX_MAX_CANDS];
    size_t n = dht_local_addrs(port, own, MBOX_MAX_CANDS);
    for (size_t i = 0; i < n; i++)
        add(c, &own[i], MBOX_CAND_PUBLIC);
    /* LAN addresses; and whether the address the nodes see is one of
     * ours (no NAT between). */
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        ifs = NULL;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        ours |= have_pub && ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == pub.s_addr;
        memset(&a, 0, sizeof(a));
        memcpy(&a, i->ifa_addr, sizeof(struct sockaddr_in));
        ((struct sockaddr_in *)&a)->sin_port = htons(port);
        if (!dht_addr_public(&a) && punch_addr_ok(&a, 0))
            add(c, &a, MBOX_CAND_LAN);
    }
    if (ifs)
        freeifaddrs(ifs);
    c->nat = have_pub && !ours;
}

/* What to dial of the other side's candidates: LAN addresses only on one
 * of our own subnets. */
static size_t targets(const struct mbox_cands *c, struct sockaddr_storage *t, int *mapped)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n && n < PUNCH_MAX_TARGETS; i++) {
        if (c->kind[i] == MBOX_CAND_LAN && !dht_addr_onlink(&c->addr[i]))
            continue;
        t[n] = c->addr[i];
        mapped[n++] = c->kind[i] == MBOX_CAND_MAPPED;
    }
    return n;
}

static int punch(const struct mbox_cfg *cfg, int receiver, const uint8_t tx[32],
                 const uint8_t rx[32], const struct mbox_cands *mine,
                 const struct mbox_cands *theirs, const char *portmap, struct punch_result *res)
{
    struct sockaddr_storage t[PUNCH_MAX_TARGETS];
    int mapped[PUNCH_MAX_TARGETS];
    struct punch_direct pd = {.receiver = receiver,
                              .tx = tx,
                              .rx = rx,
                              .lfd = cfg->prep->lfd,
                              .port = cfg->prep->port,
                              .behind_nat = mine->nat,
                              .portmap = portmap,
                              .targets = t,
                              .mapped = mapped,
                              .cancel = cfg->cancel};
    pd.n = targets(theirs, t, mapped);
    return punch_direct(&pd, res);
}

static int put_msg(const struct mbox_cfg *cfg, char role, uint64_t bucket, uint8_t type,
                   const uint8_t aid[MBOX_AIDBYTES], const uint8_t *body, size_t blen)
{
    uint8_t v[MBOX_VALUE_MAX], key[DHT_KEYBYTES];
    size_t n = mbox_make(v, sizeof(v), type, aid, body, blen);
    if (n == 0)
        return PCP_ERR_INVAL;
    dht_mbox_key(key, role, bucket, cfg->channel);
    return dht_put(cfg->dht, key, v, n);
}

/* ---- the receiver ------------------------------------------------------- */

/* The next message of type for our aid, by deadline. */
static int next_for(const struct mbox_cfg *cfg, const uint8_t aid[MBOX_AIDBYTES], uint8_t type,
                    int64_t deadline, uint8_t *buf, struct mbox_msg *m)
{
    for (;;) {
        int64_t left = deadline - net_now_ms();
        size_t len;
        int tag;
        if (left <= 0)
            return PCP_ERR_TIMEOUT;
        int e = dht_next(cfg->dht, (int)left, cfg->cancel, buf, &len, &tag);
        if (e)
            return e;
        if (mbox_parse(buf, len, m) == 0 && m->type == type &&
            sodium_memcmp(m->aid, aid, MBOX_AIDBYTES) == 0)
            return 0;
    }
}

/* R1, then the S1s that come for our aid until one's cB checks. */
static int recv_spake(const struct mbox_cfg *cfg, uint64_t b, const uint8_t aid[MBOX_AIDBYTES],
                      int64_t deadline, struct spake2_ctx *ctx, uint8_t conf[SPAKE2_CONFIRMBYTES])
{
    uint8_t pa[SPAKE2_SHAREBYTES], buf[DHT_VALUE_MAX];
    struct mbox_msg m;
    struct spake2_ctx start;
    int e, bad = 0;
    if ((e = spake2_start(&start, SPAKE2_ROLE_A, cfg->pw, cfg->pwlen, (const uint8_t *)cfg->aad,
                          strlen(cfg->aad), pa)) != 0 ||
        (e = put_msg(cfg, 's', b, MBOX_R1, aid, pa, sizeof(pa))) != 0)
        goto out;
    for (;;) {
        if ((e = next_for(cfg, aid, MBOX_S1, deadline, buf, &m)) != 0) {
            e = e == PCP_ERR_TIMEOUT ? (bad ? PCP_ERR_BAD_CODE : PCP_ERR_NOT_FOUND) : e;
            break;
        }
        /* Anyone who saw our R1 can answer it: a forged S1 fails its
         * check and the next one is looked at. */
        *ctx = start;
        if (spake2_finish(ctx, m.body, conf) == 0 &&
            spake2_verify(ctx, m.body + SPAKE2_SHAREBYTES) == 0)
            break;
        spake2_clear(ctx);
        /* Most likely the code is wrong: a little longer for a sender
         * that may still answer, then say so. */
        if (!bad && deadline > net_now_ms() + BAD_WAIT_MS)
            deadline = net_now_ms() + BAD_WAIT_MS;
        bad = 1;
    }
out:
    spake2_clear(&start);
    return e;
}

int mbox_connect(const struct mbox_cfg *cfg, int timeout_ms, uint8_t tx[32], uint8_t rx[32],
                 struct punch_result *res, int *proven)
{
    int64_t deadline = net_now_ms() + timeout_ms;
    uint64_t b = discovery_bucket(discovery_now_ns());
    uint8_t aid[MBOX_AIDBYTES], key[DHT_KEYBYTES], conf[SPAKE2_CONFIRMBYTES];
    uint8_t body[MBOX_CONFIRMBYTES + MBOX_SEALED_MAX], buf[DHT_VALUE_MAX];
    struct spake2_ctx ctx;
    struct punch_keys k;
    struct mbox_cands mine, theirs;
    struct mbox_msg m;
    const char *portmap;
    int e;
    *proven = 0;
    memset(res, 0, sizeof(*res));
    res->fd = -1;
    randombytes_buf(aid, sizeof(aid));
    dht_mbox_key(key, 'r', b, cfg->channel);
    if ((e = dht_listen(cfg->dht, key, 0)) != 0)
        return e;
    if ((e = recv_spake(cfg, b, aid, deadline, &ctx, conf)) != 0)
        return e;
    *proven = 1;
    e = spake2_traffic_keys(&ctx, tx, rx);
    spake2_clear(&ctx);
    if (e)
        goto out;
    punch_keys_derive(tx, rx, 1, &k);
    collect(cfg, net_now_ms() + MAP_WAIT_MS, &mine, &portmap);
    memcpy(body, conf, sizeof(conf));
    size_t sl = mbox_cands_seal(&mine, k.box, body + MBOX_CONFIRMBYTES, MBOX_SEALED_MAX);
    if (sl == 0 || (e = put_msg(cfg, 's', b, MBOX_R2, aid, body, MBOX_CONFIRMBYTES + sl)) != 0) {
        e = e ? e : PCP_ERR_INVAL;
        goto out;
    }
    /* The sender's candidates: a forged S2 does not open. */
    int64_t s2_by = net_now_ms() + S2_WAIT_MS;
    for (;;) {
        if ((e = next_for(cfg, aid, MBOX_S2, s2_by < deadline ? s2_by : deadline, buf, &m)) != 0)
            goto out;
        if (mbox_cands_open(m.body, m.body_len, k.box, &theirs) == 0)
            break;
    }
    e = punch(cfg, 1, tx, rx, &mine, &theirs, portmap, res);
out:
    sodium_memzero(conf, sizeof(conf));
    sodium_memzero(&k, sizeof(k));
    if (e) {
        sodium_memzero(tx, 32);
        sodium_memzero(rx, 32);
        if (e != PCP_ERR_CANCELLED && *proven)
            e = PCP_ERR_TIMEOUT;
    }
    return e;
}

/* ---- the sender --------------------------------------------------------- */

struct attempt {
    int used;
    uint8_t aid[MBOX_AIDBYTES];
    uint64_t bucket; /* of the key its R1 came under: the answers go there */
    int64_t since;   /* S1 out */
    int counted;     /* already a wrong guess (an R2 that failed) */
    struct spake2_ctx ctx;
};

struct mbox_sender {
    struct mbox_cfg cfg;
    atomic_int stop;
    int wakefd;
    pthread_t th;
    pthread_mutex_t mu; /* guards what follows */
    int wrong;
    int ready;
    uint8_t tx[32], rx[32];
    struct punch_result res;
    /* the thread's own */
    struct attempt at[MBOX_ATTEMPTS];
    uint64_t listening; /* the bucket of the middle listen */
};

static void wake(struct mbox_sender *s)
{
    if (write(s->wakefd, "d", 1) < 0) {
        /* full: a wake-up is pending already */
    }
}

/* The attempt holds our proof and has not proven the code: one wrong
 * guess (once), and with end set the attempt is over. */
static void wrong_guess(struct mbox_sender *s, struct attempt *a, int end)
{
    if (!a->counted) {
        a->counted = 1;
        pthread_mutex_lock(&s->mu);
        s->wrong++;
        pthread_mutex_unlock(&s->mu);
        wake(s);
    }
    if (end) {
        spake2_clear(&a->ctx);
        a->used = 0;
    }
}

/* Listen on the sender's mailbox of the previous, current and next
 * bucket (a receiver's clock may be a bucket off), following the clock;
 * the tag is the bucket's index. */
static void follow_buckets(struct mbox_sender *s)
{
    uint64_t b = discovery_bucket(discovery_now_ns());
    if (b == s->listening)
        return;
    for (int d = -1; d <= 1; d++) {
        uint64_t old = s->listening + (uint64_t)(int64_t)d * DISCOVERY_BUCKET_NS;
        if (s->listening && (old + DISCOVERY_BUCKET_NS < b || old > b + DISCOVERY_BUCKET_NS))
            dht_unlisten(s->cfg.dht, (int)(old / DISCOVERY_BUCKET_NS));
    }
    for (int d = -1; d <= 1; d++) {
        uint64_t nb = b + (uint64_t)(int64_t)d * DISCOVERY_BUCKET_NS;
        uint64_t lo = s->listening - DISCOVERY_BUCKET_NS, hi = s->listening + DISCOVERY_BUCKET_NS;
        if (s->listening && nb >= lo && nb <= hi)
            continue; /* listened on already */
        uint8_t key[DHT_KEYBYTES];
        dht_mbox_key(key, 's', nb, s->cfg.channel);
        dht_listen(s->cfg.dht, key, (int)(nb / DISCOVERY_BUCKET_NS));
    }
    s->listening = b;
}

static struct attempt *find(struct mbox_sender *s, const uint8_t aid[MBOX_AIDBYTES])
{
    for (size_t i = 0; i < MBOX_ATTEMPTS; i++)
        if (s->at[i].used && sodium_memcmp(s->at[i].aid, aid, MBOX_AIDBYTES) == 0)
            return &s->at[i];
    return NULL;
}

/* A new R1: answer with S1, in a free place or the oldest's. */
static void on_r1(struct mbox_sender *s, const struct mbox_msg *m, uint64_t bucket)
{
    struct attempt *a = NULL;
    for (size_t i = 0; i < MBOX_ATTEMPTS && !a; i++)
        if (!s->at[i].used)
            a = &s->at[i];
    if (!a) {
        a = &s->at[0];
        for (size_t i = 1; i < MBOX_ATTEMPTS; i++)
            if (s->at[i].since < a->since)
                a = &s->at[i];
        wrong_guess(s, a, 1);
    }
    uint8_t m2[SPAKE2_SHAREBYTES + SPAKE2_CONFIRMBYTES];
    if (spake2_start(&a->ctx, SPAKE2_ROLE_B, s->cfg.pw, s->cfg.pwlen, (const uint8_t *)s->cfg.aad,
                     strlen(s->cfg.aad), m2) != 0 ||
        spake2_finish(&a->ctx, m->body, m2 + SPAKE2_SHAREBYTES) != 0) {
        spake2_clear(&a->ctx); /* not a share: not an attempt */
        return;
    }
    a->used = 1;
    a->counted = 0;
    memcpy(a->aid, m->aid, MBOX_AIDBYTES);
    a->bucket = bucket;
    a->since = net_now_ms();
    if (put_msg(&s->cfg, 'r', bucket, MBOX_S1, a->aid, m2, sizeof(m2)) != 0) {
        spake2_clear(&a->ctx);
        a->used = 0;
    }
    sodium_memzero(m2, sizeof(m2));
}

/* An R2: the receiver's proof, its candidates; ours back, then the punch. */
static void on_r2(struct mbox_sender *s, struct attempt *a, const struct mbox_msg *m)
{
    uint8_t tx[32], rx[32], sealed[MBOX_SEALED_MAX];
    struct punch_keys k;
    struct mbox_cands mine, theirs;
    struct punch_result res;
    const char *portmap;
    /* An R2 that fails: a wrong guess, or a forgery (an attempt's aid is
     * public: anyone may race its R2). Either way one guess, once, and
     * the attempt stays open for an R2 that checks until its time is up. */
    struct spake2_ctx t = a->ctx; /* a failed check wipes it: a copy */
    if (spake2_verify(&t, m->body) != 0) {
        wrong_guess(s, a, 0);
        return;
    }
    int e = spake2_traffic_keys(&t, tx, rx);
    spake2_clear(&t);
    spake2_clear(&a->ctx);
    a->used = 0;
    if (e)
        return;
    punch_keys_derive(tx, rx, 0, &k);
    if (mbox_cands_open(m->body + MBOX_CONFIRMBYTES, m->body_len - MBOX_CONFIRMBYTES, k.box,
                        &theirs) != 0)
        memset(&theirs, 0, sizeof(theirs)); /* our listener may still be reached */
    collect(&s->cfg, net_now_ms() + MAP_WAIT_MS, &mine, &portmap);
    size_t sl = mbox_cands_seal(&mine, k.box, sealed, sizeof(sealed));
    if (sl && put_msg(&s->cfg, 'r', a->bucket, MBOX_S2, m->aid, sealed, sl) == 0 &&
        punch(&s->cfg, 0, tx, rx, &mine, &theirs, portmap, &res) == 0) {
        pthread_mutex_lock(&s->mu);
        if (!s->ready) {
            s->ready = 1;
            memcpy(s->tx, tx, 32);
            memcpy(s->rx, rx, 32);
            s->res = res;
            res.fd = -1;
        }
        pthread_mutex_unlock(&s->mu);
        if (res.fd >= 0)
            close(res.fd);
        wake(s);
    }
    sodium_memzero(tx, sizeof(tx));
    sodium_memzero(rx, sizeof(rx));
    sodium_memzero(&k, sizeof(k));
}

static void *sender_main(void *arg)
{
    struct mbox_sender *s = arg;
    uint8_t buf[DHT_VALUE_MAX];
    while (!atomic_load(&s->stop)) {
        follow_buckets(s);
        int64_t now = net_now_ms();
        for (size_t i = 0; i < MBOX_ATTEMPTS; i++)
            if (s->at[i].used && now - s->at[i].since > R2_WAIT_MS)
                wrong_guess(s, &s->at[i], 1);
        size_t len;
        int tag;
        struct mbox_msg m;
        if (dht_next(s->cfg.dht, 200, &s->stop, buf, &len, &tag) != 0 ||
            mbox_parse(buf, len, &m) != 0)
            continue;
        uint64_t bucket = (uint64_t)tag * DISCOVERY_BUCKET_NS;
        struct attempt *a = find(s, m.aid);
        if (m.type == MBOX_R1 && !a)
            on_r1(s, &m, bucket);
        else if (m.type == MBOX_R2 && a)
            on_r2(s, a, &m);
    }
    return NULL;
}

int mbox_sender_start(struct mbox_sender **out, const struct mbox_cfg *cfg, int wakefd)
{
    struct mbox_sender *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (!s)
        return PCP_ERR_NOMEM;
    s->cfg = *cfg;
    s->cfg.cancel = &s->stop;
    s->wakefd = wakefd;
    atomic_init(&s->stop, 0);
    pthread_mutex_init(&s->mu, NULL);
    if (pthread_create(&s->th, NULL, sender_main, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return PCP_ERR_NOMEM;
    }
    *out = s;
    return 0;
}

int mbox_sender_poll(struct mbox_sender *s, int *wrong, uint8_t tx[32], uint8_t rx[32],
                     struct punch_result *res)
{
    pthread_mutex_lock(&s->mu);
    *wrong = s->wrong;
    s->wrong = 0;
    int ready = s->ready == 1;
    if (ready) {
        s->ready = 2; /* taken */
        memcpy(tx, s->tx, 32);
        memcpy(rx, s->rx, 32);
        *res = s->res;
        sodium_memzero(s->tx, sizeof(s->tx));
        sodium_memzero(s->rx, sizeof(s->rx));
    }
    pthread_mutex_unlock(&s->mu);
    return ready;
}

void mbox_sender_stop(struct mbox_sender *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    for (size_t i = 0; i < MBOX_ATTEMPTS; i++)
        spake2_clear(&s->at[i].ctx);
    if (s->ready == 1 && s->res.fd >= 0)
        close(s->res.fd);
    sodium_memzero(s->tx, sizeof(s->tx));
    sodium_memzero(s->rx, sizeof(s->rx));
    pthread_mutex_destroy(&s->mu);
    free(s);
}
