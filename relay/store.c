/*
 * store.c - rendezvous records, per-address accounting, and the handling
 * of one rendezvous request (pure: the HTTP layer passes it in and sends
 * what comes back, so that a fuzzer can drive it directly).
 */
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "relay_priv.h"

/* ---- per-address accounting -------------------------------------------- */

void ip_key(const struct sockaddr *sa, unsigned v6_prefix, uint8_t out[16])
{
    memset(out, 0, 16);
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a->sin_addr, 4);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        memcpy(out, a, 16);
        /* An IPv4 client of a dual-stack socket stays one address: cut
         * to a /64 every IPv4 client would share one share. */
        if (IN6_IS_ADDR_V4MAPPED(a))
            return;
        if (v6_prefix < 32)
            v6_prefix = 32;
        for (unsigned bit = v6_prefix; bit < 128; bit++)
            out[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
    }
}

#define IPCAP_BUCKETS 1024

struct ipent {
    struct ipent *next;
    uint8_t ip[16];
    unsigned n;
};

struct ipcap {
    pthread_mutex_t mu;
    struct ipent *b[IPCAP_BUCKETS];
};

struct ipcap *ipcap_new(void)
{
    struct ipcap *t = calloc(1, sizeof(*t));
    if (t)
        pthread_mutex_init(&t->mu, NULL);
    return t;
}

void ipcap_free(struct ipcap *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < IPCAP_BUCKETS; i++) {
        while (t->b[i]) {
            struct ipent *e = t->b[i];
            t->b[i] = e->next;
            free(e);
        }
    }
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static size_t ip_hash(const uint8_t ip[16])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ ip[i]) * 16777619u;
    return h % IPCAP_BUCKETS;
}

int ipcap_take(struct ipcap *t, const uint8_t ip[16], unsigned max)
{
    int rc = 0;
    pthread_mutex_lock(&t->mu);
    struct ipent **pp = &t->b[ip_hash(ip)], *e;
    for (e = *pp; e && memcmp(e->ip, ip, 16) != 0; e = e->next)
        ;
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e) {
            rc = PCP_ERR_NOMEM;
            goto out;
        }
        memcpy(e->ip, ip, 16);
        e->next = *pp;
        *pp = e;
    }
    if (max && e->n >= max)
        rc = PCP_ERR_RELAY_BUSY;
    else
        e->n++;
out:
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void ipcap_give(struct ipcap *t, const uint8_t ip[16])
{
    pthread_mutex_lock(&t->mu);
    for (struct ipent **pp = &t->b[ip_hash(ip)]; *pp; pp = &(*pp)->next) {
        struct ipent *e = *pp;
        if (memcmp(e->ip, ip, 16) != 0)
            continue;
        if (e->n > 0)
            e->n--;
        if (e->n == 0) {
            *pp = e->next;
            free(e);
        }
        break;
    }
    pthread_mutex_unlock(&t->mu);
}

/* ---- records ----------------------------------------------------------- */

#define STORE_BUCKETS 4096

struct rec {
    struct rec *next;
    char key[RV_KEY_HEX + 1];
    char owner[RV_OWNER_HEX + 1];
    uint8_t ip[16];
    uint64_t expires_ms;
    size_t len;
    uint8_t data[RV_RECORD_MAX];
};

/* A punch meeting: the sender's and the receiver's request, each waiting
 * for the other's observed address and sealed candidates. */
struct punch_side {
    int present, answered;
    unsigned rtt_ms;
    char observed[RVP_OBSERVED_MAX];
    size_t len;
    uint8_t blob[RV_PUNCH_BLOB_MAX];
};

struct punch {
    struct punch *next;
    char room[RV_ROOM_HEX + 1];
    uint8_t ip[16]; /* whose per-address unit it holds */
    uint64_t expires_ms;
    struct punch_side side[2]; /* 0 sender, 1 receiver */
};

struct rv_store {
    pthread_mutex_t mu;
    struct ipcap *cap;
    struct relay_stats *st;
    size_t n, npunch;
    struct rec *b[STORE_BUCKETS];
    struct punch *punches;
};

struct rv_store *rv_store_new(struct ipcap *cap, struct relay_stats *st)
{
    struct rv_store *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    s->cap = cap;
    s->st = st;
    return s;
}

static void rec_drop(struct rv_store *s, struct rec **pp)
{
    struct rec *r = *pp;
    *pp = r->next;
    ipcap_give(s->cap, r->ip);
    sodium_memzero(r, sizeof(*r));
    free(r);
    s->n--;
    atomic_store(&s->st->records, s->n);
}

static void punch_drop(struct rv_store *s, struct punch **pp)
{
    struct punch *m = *pp;
    *pp = m->next;
    ipcap_give(s->cap, m->ip);
    free(m);
    s->npunch--;
}

void rv_store_free(struct rv_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < STORE_BUCKETS; i++)
        while (s->b[i])
            rec_drop(s, &s->b[i]);
    while (s->punches)
        punch_drop(s, &s->punches);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

size_t rv_store_sweep(struct rv_store *s, uint64_t now_ms)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < STORE_BUCKETS; i++) {
        struct rec **pp = &s->b[i];
        while (*pp) {
            if ((*pp)->expires_ms <= now_ms)
                rec_drop(s, pp);
            else
                pp = &(*pp)->next;
        }
    }
    for (struct punch **pp = &s->punches; *pp;) {
        if ((*pp)->expires_ms <= now_ms)
            punch_drop(s, pp);
        else
            pp = &(*pp)->next;
    }
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* The key is hex already: its first digits are as good a hash as any.
 * A key's records may be anywhere in the chain; a new one goes to the
 * head, so the chain meets them newest first. */
static struct rec **rec_chain(struct rv_store *s, const char *key)
{
    return &s->b[strtoul((char[4]){key[0], key[1], key[2], 0}, NULL, 16)];
}

/* The next record of key from *pp on (pp itself when it is one), NULL
 * at the end. */
static struct rec **rec_next(struct rec **pp, const char *key)
{
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return *pp ? pp : NULL;
}

static void reply(struct rv_resp *rs, int status, const char *text)
{
    rs->status = status;
    rs->content_type = "text/plain; charset=utf-8";
    int n = snprintf((char *)rs->body, sizeof(rs->body), "%s\n", text);
    rs->body_len = n < 0 ? 0 : (size_t)n < sizeof(rs->body) ? (size_t)n : sizeof(rs->body) - 1;
}

/* A number parameter: 1..max_digits digits worth at most max (absent:
 * 0); -1 when malformed. */
static long long parse_num(const char *s, size_t max_digits, uint64_t max)
{
    uint64_t v = 0;
    if (s && rvp_dec(s, strlen(s), max_digits, max, &v) != 0)
        return -1;
    return (long long)v;
}

/* 1 when the record has an empty line: the records of a key go out
 * separated by one, so that one could pass for two. */
static int has_empty_line(const uint8_t *p, size_t n)
{
    if (n > 0 && p[0] == '\n')
        return 1;
    for (size_t i = 1; i < n; i++)
        if (p[i] == '\n' && p[i - 1] == '\n')
            return 1;
    return 0;
}

/* A key holds up to RV_RECORDS_MAX senders' records, each with its owner
 * and TTL. A new owner is refused (409) when the key is full and (429)
 * when its address already has RV_KEY_PER_ADDR of them; nobody's record
 * is pushed out, so what was there first stays, and each record costs
 * its putter one of its address's shares, so that one address (an IPv6
 * prefix) cannot fill many keys. */
static void do_put(struct rv_store *s, const struct relay_limits *lim, const struct rv_req *rq,
                   const char *key, struct rv_resp *rs)
{
    if (!rvp_is_hex(rq->owner, RV_OWNER_HEX))
        return reply(rs, 400, RVP_HDR_OWNER " must be 32 lowercase hex digits");
    if (rq->body_too_big || rq->body_len > RV_RECORD_MAX)
        return reply(rs, 413, "a record is at most 1024 bytes");
    if (rq->body_len == 0)
        return reply(rs, 400, "empty record");
    if (has_empty_line(rq->body, rq->body_len))
        return reply(rs, 400, "a record has no empty line");
    pthread_mutex_lock(&s->mu);
    struct rec **pp = rec_chain(s, key), *r = NULL;
    unsigned n = 0, mine = 0;
    while ((pp = rec_next(pp, key)) != NULL) {
        if ((*pp)->expires_ms <= rq->now_ms) {
            rec_drop(s, pp); /* its place is free now, not at the next sweep */
            continue;
        }
        if (!sodium_memcmp((*pp)->owner, rq->owner, RV_OWNER_HEX))
            r = *pp;
        n++;
        mine += memcmp((*pp)->ip, rq->ip, 16) == 0;
        pp = &(*pp)->next;
    }
    if (!r) {
        const char *why = NULL;
        int status = 0;
        if (n >= RV_RECORDS_MAX) {
            atomic_fetch_add(&s->st->refused_key_full, 1);
            status = 409;
            why = "this rendezvous key has as many senders as it may; try a new code";
        } else if (mine >= RV_KEY_PER_ADDR) {
            atomic_fetch_add(&s->st->refused_limit, 1);
            status = 429;
            why = "too many records under this key from your address";
        } else if (lim->max_records && s->n >= lim->max_records) {
            atomic_fetch_add(&s->st->refused_limit, 1);
            status = 503;
            why = "the relay holds as many records as it may; try again later";
        } else if (ipcap_take(s->cap, rq->ip, lim->per_ip_rooms) != 0) {
            atomic_fetch_add(&s->st->refused_limit, 1);
            status = 429;
            why = "too many rooms and records from your address";
        } else if (!(r = calloc(1, sizeof(*r)))) {
            ipcap_give(s->cap, rq->ip);
            status = 503;
            why = "out of memory";
        }
        if (status) {
            pthread_mutex_unlock(&s->mu);
            return reply(rs, status, why);
        }
        memcpy(r->key, key, RV_KEY_HEX);
        memcpy(r->owner, rq->owner, RV_OWNER_HEX);
        memcpy(r->ip, rq->ip, 16);
        pp = rec_chain(s, key);
        r->next = *pp;
        *pp = r;
        s->n++;
        atomic_store(&s->st->records, s->n);
    }
    memcpy(r->data, rq->body, rq->body_len);
    r->len = rq->body_len;
    r->expires_ms = rq->now_ms + RV_TTL_S * 1000u;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(&s->st->puts, 1);
    char text[96];
    snprintf(text, sizeof(text), RVP_PUT_OBSERVED "%s", rq->observed);
    reply(rs, 200, text);
    rs->stored = 1;
}

/* Without ?all=1 the newest record alone, as a relay of one record per
 * key gave it (an older client parses one record and refuses an empty
 * line); with it every record, newest first, each ending in a newline and
 * an empty line between them. */
static void do_get(struct rv_store *s, const struct rv_req *rq, const char *key, struct rv_resp *rs)
{
    int wait = (int)parse_num(rq->wait, RV_WAIT_DIGITS, RV_WAIT_MAX_S);
    if (wait < 0)
        return reply(rs, 400, RVP_Q_WAIT " takes 0 to 30 seconds");
    if (rq->all && strcmp(rq->all, "0") != 0 && strcmp(rq->all, "1") != 0)
        return reply(rs, 400, RVP_Q_ALL " is 0 or 1");
    int all = rq->all && rq->all[0] == '1';
    uint64_t deadline = rq->deadline_ms ? rq->deadline_ms : rq->now_ms + (uint64_t)wait * 1000u;
    size_t o = 0;
    pthread_mutex_lock(&s->mu);
    for (struct rec **pp = rec_chain(s, key); (pp = rec_next(pp, key)) != NULL; pp = &(*pp)->next) {
        const struct rec *r = *pp;
        if (r->expires_ms <= rq->now_ms)
            continue;
        if (!all) {
            memcpy(rs->body, r->data, r->len);
            o = r->len;
            break;
        }
        /* RV_RECORDS_MAX records of RV_RECORD_MAX bytes and two more
         * each always fit; the check is for a store that broke its own
         * rules. */
        if (o + r->len + 2 > RV_RECORDS_BODY_MAX)
            break;
        if (o)
            rs->body[o++] = '\n';
        memcpy(rs->body + o, r->data, r->len);
        o += r->len;
        if (r->data[r->len - 1] != '\n')
            rs->body[o++] = '\n';
    }
    pthread_mutex_unlock(&s->mu);
    if (o) {
        rs->body_len = o;
        rs->status = 200;
        rs->content_type = "application/octet-stream";
        atomic_fetch_add(&s->st->gets_hit, 1);
        return;
    }
    if (rq->now_ms < deadline) {
        rs->wait = 1;
        rs->deadline_ms = deadline;
        return;
    }
    reply(rs, 404, "no record under this key");
}

/* Only the owner's own record goes; the other senders' stay. */
static void do_delete(struct rv_store *s, const struct rv_req *rq, const char *key,
                      struct rv_resp *rs)
{
    if (!rvp_is_hex(rq->owner, RV_OWNER_HEX))
        return reply(rs, 400, RVP_HDR_OWNER " must be 32 lowercase hex digits");
    int status = 404;
    pthread_mutex_lock(&s->mu);
    for (struct rec **pp = rec_chain(s, key); (pp = rec_next(pp, key)) != NULL; pp = &(*pp)->next) {
        if (sodium_memcmp((*pp)->owner, rq->owner, RV_OWNER_HEX) == 0) {
            rec_drop(s, pp);
            status = 204;
            break;
        }
        status = 409;
    }
    pthread_mutex_unlock(&s->mu);
    if (status == 204)
        atomic_fetch_add(&s->st->deletes, 1);
    reply(rs, status,
          status == 204   ? "deleted"
          : status == 404 ? "no record under this key"
                          : "this key holds only other senders' records");
    if (status == 204)
        rs->body_len = 0;
}

/* The answer to one side: the other's observed address, how long to wait
 * before dialling so that both dial at once (half the difference of their
 * round trips to here, as libp2p's DCUtR does), its sealed candidates. */
static void punch_answer(const struct punch *m, int me, struct rv_resp *rs)
{
    const struct punch_side *a = &m->side[me], *b = &m->side[!me];
    unsigned delay = b->rtt_ms > a->rtt_ms ? (b->rtt_ms - a->rtt_ms) / 2 : 0;
    int n =
        snprintf((char *)rs->body, sizeof(rs->body),
                 RVP_PUNCH_PEER "%s\n" RVP_PUNCH_DELAY "%u\n" RVP_PUNCH_BLOB, b->observed, delay);
    size_t o = (size_t)n;
    sodium_bin2hex((char *)rs->body + o, sizeof(rs->body) - o, b->blob, b->len);
    o += 2 * b->len;
    rs->body[o++] = '\n';
    rs->body_len = o;
    rs->status = 200;
    rs->content_type = "text/plain; charset=utf-8";
}

static struct punch **punch_find(struct rv_store *s, const char *room)
{
    struct punch **pp = &s->punches;
    while (*pp && strcmp((*pp)->room, room) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* POST /v1/punch/ROOM?side=s|r&wait=S: wait (long-poll) for the other
 * side, then both learn each other's observed address. A side that comes
 * again (its earlier request gave up) takes its own place over. */
static void do_punch(struct rv_store *s, const struct relay_limits *lim, const struct rv_req *rq,
                     const char *room, struct rv_resp *rs)
{
    int wait = (int)parse_num(rq->wait, RV_WAIT_DIGITS, RV_WAIT_MAX_S);
    if (wait < 0)
        return reply(rs, 400, RVP_Q_WAIT " takes 0 to 30 seconds");
    if (!rq->side || (rq->side[0] != RVP_SIDE_SENDER && rq->side[0] != RVP_SIDE_RECEIVER) ||
        rq->side[1] != 0)
        return reply(rs, 400, RVP_Q_SIDE " is s (sender) or r (receiver)");
    int me = rq->side[0] == RVP_SIDE_RECEIVER;
    long long rtt = parse_num(rq->rtt, RVP_RTT_DIGITS, RVP_RTT_MAX_MS);
    if (rtt < 0)
        return reply(rs, 400, RVP_HDR_RTT " is 0 to 60000 milliseconds");
    if (rq->body_too_big || rq->body_len > RV_PUNCH_BLOB_MAX)
        return reply(rs, 413, "punch candidates are at most 256 bytes");
    snprintf(rs->key, sizeof(rs->key), "p/%s", room);
    pthread_mutex_lock(&s->mu);
    struct punch **pp = punch_find(s, room), *m = *pp;
    if (rq->deadline_ms == 0) { /* arriving */
        if (!m) {
            if (lim->max_records && s->npunch >= lim->max_records) {
                pthread_mutex_unlock(&s->mu);
                atomic_fetch_add(&s->st->refused_limit, 1);
                return reply(rs, 503, "the relay coordinates as many punches as it may");
            }
            if (ipcap_take(s->cap, rq->ip, lim->per_ip_rooms) != 0) {
                pthread_mutex_unlock(&s->mu);
                atomic_fetch_add(&s->st->refused_limit, 1);
                return reply(rs, 429, "too many rooms and records from your address");
            }
            if (!(m = calloc(1, sizeof(*m)))) {
                ipcap_give(s->cap, rq->ip);
                pthread_mutex_unlock(&s->mu);
                return reply(rs, 503, "out of memory");
            }
            memcpy(m->room, room, RV_ROOM_HEX + 1);
            memcpy(m->ip, rq->ip, 16);
            m->expires_ms = rq->now_ms + PUNCH_TTL_S * 1000u;
            m->next = s->punches;
            s->punches = m;
            s->npunch++;
        }
        struct punch_side *me_s = &m->side[me];
        me_s->present = 1;
        me_s->answered = 0;
        me_s->rtt_ms = (unsigned)rtt;
        snprintf(me_s->observed, sizeof(me_s->observed), "%s", rq->observed);
        if (rq->body_len)
            memcpy(me_s->blob, rq->body, rq->body_len);
        me_s->len = rq->body_len;
        atomic_fetch_add(&s->st->punches, 1);
    }
    if (m && m->side[me].present && m->side[!me].present) {
        punch_answer(m, me, rs);
        if (rq->deadline_ms == 0) {
            rs->stored = 1; /* the other side is waiting: wake it */
            atomic_fetch_add(&s->st->punch_meetings, 1);
        }
        m->side[me].answered = 1;
        if (m->side[!me].answered)
            punch_drop(s, pp);
        pthread_mutex_unlock(&s->mu);
        return;
    }
    uint64_t deadline = rq->deadline_ms ? rq->deadline_ms : rq->now_ms + (uint64_t)wait * 1000u;
    if (rq->now_ms < deadline) {
        pthread_mutex_unlock(&s->mu);
        rs->wait = 1;
        rs->deadline_ms = deadline;
        return;
    }
    if (m) {
        m->side[me].present = 0;
        if (!m->side[!me].present)
            punch_drop(s, pp);
    }
    pthread_mutex_unlock(&s->mu);
    reply(rs, 404, "the other side did not come");
}

void rv_handle(struct rv_store *s, const struct relay_limits *lim, const struct rv_req *rq,
               struct rv_resp *rs)
{
    static const char prefix[] = RVP_PATH_RV, pprefix[] = RVP_PATH_PUNCH;
    rs->status = 0;
    rs->body_len = 0;
    rs->content_type = NULL;
    rs->wait = rs->stored = 0;
    rs->deadline_ms = 0;
    rs->key[0] = 0;
    if (strncmp(rq->path, pprefix, strlen(pprefix)) == 0) {
        const char *room = rq->path + strlen(pprefix);
        if (!rvp_is_hex(room, RV_ROOM_HEX)) {
            atomic_fetch_add(&s->st->refused_bad, 1);
            return reply(rs, 404, "no such API path; a punch room is 32 lowercase hex digits");
        }
        if (rq->method != RV_M_POST)
            return reply(rs, 405, "use POST");
        return do_punch(s, lim, rq, room, rs);
    }
    const char *key = rq->path + strlen(prefix);
    if (strncmp(rq->path, prefix, strlen(prefix)) != 0 || !rvp_is_hex(key, RV_KEY_HEX)) {
        atomic_fetch_add(&s->st->refused_bad, 1);
        return reply(rs, 404, "no such API path; a key is 64 lowercase hex digits");
    }
    memcpy(rs->key, key, RV_KEY_HEX + 1);
    switch (rq->method) {
    case RV_M_PUT:
        return do_put(s, lim, rq, key, rs);
    case RV_M_GET:
        atomic_fetch_add(&s->st->gets, rq->deadline_ms == 0);
        return do_get(s, rq, key, rs);
    case RV_M_DELETE:
        return do_delete(s, rq, key, rs);
    default:
        return reply(rs, 405, "use GET, PUT or DELETE");
    }
}
