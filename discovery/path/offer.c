/*
 * offer.c - where the sender waits for its receiver (path_offer, path_accept):
 * the LAN listener and its mDNS announcement, the relay room and its
 * rendezvous record (at the first relay of the list that takes it), the
 * DHT's mailbox (answered by mbox.h's thread); and the handshakes with
 * whoever comes.
 * It prints nothing and never exits: what the user should hear goes to
 * cfg->event, the question of a new code to cfg->ask_new_code.
 *
 * Each connection gets a thread of its own (at most ACCEPT_SLOTS at once,
 * ACCEPT_PER_SOURCE of them from one source), and each handshake has an
 * absolute deadline, so a stranger that stalls holds one slot for a few
 * seconds and blocks nobody. The first handshake that succeeds wins; the
 * others are shut down and joined.
 *
 * A peer that got message 2 and then sent a wrong confirmation, left or ran
 * out of time could test one guess: that is a wrong guess. PATH_MAX_WRONG
 * of them spend the code. The k-th wrong guess from a source (an IPv4
 * address, an IPv6 /64, or the relay room) makes its next handshake wait
 * until min(2^k, 60) s have passed, so one guesser cannot spend the code
 * in a moment and others are not slowed. The wait holds the connection
 * rather than closing it, and a source in its back-off gets one handshake
 * at a time (more are closed at once): a user who mistyped and
 * at once tries again from the same machine is served a moment later, not
 * turned away, and a guesser still gets one guess per wait.
 *
 * Only the main thread counts; the threads report through the mutex and
 * wake it with a byte on a pipe; a held thread waits on the condition
 * variable, so that stopping needs no polling.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "code.h"
#include "dht.h"
#include "discovery.h"
#include "err.h"
#include "handshake.h"
#include "net.h"
#include "path_priv.h"
#include "portmap.h"
#include "mbox.h"
#include "punch.h"
#include "sys.h"

#define ACCEPT_SLOTS 8
#define ACCEPT_PER_SOURCE 3
#define ACCEPT_SOURCES 64 /* remembered for the back-off; the oldest goes first */
#define BACKOFF_MAX_S 60

/* Where the sender waits: its listening socket on the LAN and, with a
 * relay, a connection parked in its relay room plus the rendezvous record
 * that names the room, renewed when the five-minute bucket rolls over and
 * before it expires. A room whose connection starts a handshake is left to
 * it: the sender parks in a fresh room and points the record there, so a
 * stranger in the room keeps nobody out. */
struct meet {
    const struct path_cfg *cfg;
    unsigned channel;
    /* The relays in their order for the channel; the sender waits at
     * relay, order[ri], and moves on to the next when it fails twice. */
    size_t order[RV_RELAYS_MAX], ri, nrelays;
    const struct rv_client *relay;
    int fails;
    int lfd, rfd, wakefd, published, warned;
    char room[RV_ROOM_HEX + 1], owner[RV_OWNER_HEX + 1], key[RV_KEY_HEX + 1];
    uint64_t bucket, put_ms, retry_ms;
    uint16_t lport;
};

#define RECORD_RENEW_MS 120000
/* How long a relay has to take the record or the waiting connection. */
#define MEET_PUT_MS 3000

static int meet_publish(struct meet *mt, int now)
{
    uint64_t b = discovery_bucket(discovery_now_ns());
    if (!now && b == mt->bucket && (uint64_t)net_now_ms() - mt->put_ms < RECORD_RENEW_MS)
        return 0;
    char rec[128], key[RV_KEY_HEX + 1];
    rv_record_make(rec, sizeof(rec), mt->room);
    rv_key(key, b, mt->channel);
    int e = rv_put(mt->relay, key, mt->owner, rec, strlen(rec), MEET_PUT_MS, NULL);
    if (e == 0) {
        memcpy(mt->key, key, sizeof(key));
        mt->bucket = b;
        mt->put_ms = (uint64_t)net_now_ms();
        mt->published = 1;
    } else {
        mt->put_ms = (uint64_t)net_now_ms() - RECORD_RENEW_MS + 5000; /* try again in 5 s */
    }
    return e;
}

static void meet_warn(struct meet *mt, int e)
{
    if (mt->warned++ == 0)
        path_emit(mt->cfg, &(struct path_event){.kind = PATH_EV_RELAY_WARN, .err = e});
}

static void meet_leave_relay(struct meet *mt);

/* Wait at relay number i of the order (a fresh room, published at once). */
static void meet_use(struct meet *mt, size_t i)
{
    mt->ri = i % mt->nrelays;
    mt->relay = &mt->cfg->relay[mt->order[mt->ri]];
    mt->fails = 0;
    mt->retry_ms = 0;
    mt->put_ms = 0;
    rv_random_hex(mt->room, RV_ROOM_HEX);
}

/* The relay failed (e): twice in a row, or once when it refused the
 * record (busy or draining: 429, 503), and there is another: go there. */
static void meet_failed(struct meet *mt, int e, int at_once)
{
    meet_warn(mt, e);
    if ((++mt->fails < 2 && !at_once) || mt->nrelays < 2)
        return;
    meet_leave_relay(mt);
    meet_use(mt, mt->ri + 1);
    char shown[300];
    rv_shown(mt->relay, shown, sizeof(shown));
    path_emit(mt->cfg, &(struct path_event){.kind = PATH_EV_RELAY_NEXT, .err = e, .text = shown});
}

/* Leave the room and withdraw the record (a new room comes with the next
 * meet_wait). */
static void meet_leave_relay(struct meet *mt)
{
    if (mt->rfd >= 0)
        close(mt->rfd);
    mt->rfd = -1;
    if (mt->published)
        rv_delete(mt->relay, mt->key, mt->owner, 2000);
    mt->published = 0;
}

/* The next connection that may be a receiver: from the LAN (*relayed 0,
 * *peer set) or through the relay (*relayed 1); 1 when woken by wakefd. */
static int meet_wait(struct meet *mt, int timeout_ms, int *fd, struct sockaddr_storage *peer,
                     int *relayed)
{
    uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : (uint64_t)net_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (mt->relay) {
            int e = meet_publish(mt, 0);
            if (e == PCP_ERR_RELAY_AUTH)
                return e;
            if (e)
                meet_failed(mt, e, e == PCP_ERR_RELAY_BUSY);
            if (!e && mt->rfd < 0 && (uint64_t)net_now_ms() >= mt->retry_ms) {
                e = rv_pipe(mt->relay, mt->room, MEET_PUT_MS, &mt->rfd);
                if (e == PCP_ERR_RELAY_AUTH)
                    return e;
                if (e) {
                    mt->rfd = -1;
                    mt->retry_ms = (uint64_t)net_now_ms() + 2000;
                    meet_failed(mt, e, 0);
                } else {
                    mt->fails = 0;
                }
            }
        }
        struct pollfd p[3];
        nfds_t n = 0;
        p[n++] = (struct pollfd){.fd = mt->wakefd, .events = POLLIN};
        if (mt->lfd >= 0)
            p[n++] = (struct pollfd){.fd = mt->lfd, .events = POLLIN};
        if (mt->rfd >= 0)
            p[n++] = (struct pollfd){.fd = mt->rfd, .events = POLLIN};
        if (poll(p, n, 500) < 0 && errno != EINTR)
            return PCP_ERR_NET;
        if (p[0].revents) {
            char drain[64];
            while (read(mt->wakefd, drain, sizeof(drain)) > 0)
                ;
            return 1;
        }
        for (nfds_t i = 1; i < n; i++) {
            if (!p[i].revents)
                continue;
            if (p[i].fd == mt->lfd) {
                if (net_accept(mt->lfd, 100, NULL, fd, peer) != 0)
                    continue;
                *relayed = 0;
                return 0;
            }
            /* The relay room: the receiver's first bytes, or its end. */
            char c;
            if (recv(mt->rfd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
                *fd = mt->rfd;
                mt->rfd = -1;
                memset(peer, 0, sizeof(*peer));
                *relayed = 1;
                /* The room is taken by this peer until its handshake ends:
                 * wait in a fresh one, named by the record at once. */
                rv_random_hex(mt->room, RV_ROOM_HEX);
                mt->put_ms = 0;
                return 0;
            }
            /* Ended with nothing said: the arrival deadline, or the relay
             * restarted and forgot the record too. Enter again, publish
             * again. */
            close(mt->rfd);
            mt->rfd = -1;
            mt->retry_ms = (uint64_t)net_now_ms() + 500;
            mt->put_ms = 0;
        }
        if ((uint64_t)net_now_ms() >= deadline)
            return PCP_ERR_TIMEOUT;
    }
}

/* One handshake at a time per slot. fd and done change under the mutex:
 * the main thread shuts a loser's fd down only while it is still open. */
struct path_slot {
    struct path_offer *a;
    pthread_t th;
    int used; /* a thread was started and is not joined yet */
    int done; /* it has finished */
    int fd;   /* -1 once closed (or handed to the winner) */
    int rc;
    int relayed;
    const struct rv_client *relay; /* the relay it came through */
    int64_t not_before;            /* the source's back-off: hold until then */
    size_t src;                    /* index in a->src */
    struct sockaddr_storage peer;
    struct frame_reader fr;
    uint8_t tx[32], rx[32];
};

/* A source: the relay room, an IPv4 address, or an IPv6 /64. */
struct source {
    uint8_t key[9]; /* 0: unused; 'r'; '4' + 4 bytes; '6' + 8 bytes */
    char who[64];   /* for messages: the last address seen */
    int busy;       /* handshakes now */
    int wrong;      /* wrong guesses, all codes */
    int tries;      /* wrong guesses at this code */
    int64_t until;  /* no handshake before this (net_now_ms) */
    int64_t seen;
};

struct path_offer {
    struct path_cfg c;
    /* The DHT's mailboxes: the node, the punch port, the answering thread. */
    struct pcp_dht *dht;
    struct punch_prep mprep;
    struct mbox_sender *mbox;
    struct path_why why;
    void *keep; /* the punch's listener and mapping, for a relayed winner */
    struct meet mt;
    struct mdns_responder *resp;
    struct pcp_code code;
    uint8_t pw[2 * CODE_MAX_WORDS];
    size_t pwlen;
    char aad[32];
    int wake[2];
    int64_t deadline; /* --timeout, or INT64_MAX */
    int wrong;        /* wrong guesses at this code */
    pthread_mutex_t mu;
    pthread_cond_t cv; /* stopping changed */
    int winner;        /* slot index, or -1; under mu */
    int stopping;      /* under mu: held handshakes give up */
    struct path_slot s[ACCEPT_SLOTS];
    struct source src[ACCEPT_SOURCES];
};

static void *serve(void *arg)
{
    struct path_slot *s = arg;
    struct path_offer *a = s->a;
    pthread_mutex_lock(&a->mu);
    while (!a->stopping && net_now_ms() < s->not_before)
        sys_cond_wait_until(&a->cv, &a->mu, s->not_before);
    int stopped = a->stopping;
    pthread_mutex_unlock(&a->mu);
    /* The stall timeout the transfer keeps after the handshake. */
    int e = stopped ? PCP_ERR_CANCELLED : net_set_timeout(s->fd, 10000);
    /* A peer that gave up while it was held must not cost a guess. */
    if (e == 0 && s->not_before && sys_peer_closed(s->fd))
        e = PCP_ERR_CLOSED;
    if (e == 0)
        e = frame_reader_init(&s->fr, s->fd);
    if (e == 0)
        e = handshake_sender_by(s->fd, &s->fr, a->pw, a->pwlen, a->aad,
                                net_now_ms() + HANDSHAKE_SENDER_MS, s->tx, s->rx);
    pthread_mutex_lock(&a->mu);
    if (e == 0 && a->winner < 0) {
        a->winner = (int)(s - a->s);
    } else {
        if (e == 0) /* a second receiver with the code: the first one has it */
            e = PCP_ERR_CLOSED;
        sodium_memzero(s->tx, sizeof(s->tx));
        sodium_memzero(s->rx, sizeof(s->rx));
        frame_reader_free(&s->fr);
        close(s->fd);
        s->fd = -1;
    }
    s->rc = e;
    s->done = 1;
    pthread_mutex_unlock(&a->mu);
    if (write(a->wake[1], "w", 1) < 0) {
        /* The pipe is full: the main thread has wake-ups to read already. */
    }
    return NULL;
}

static size_t source_of(struct path_offer *a, const struct sockaddr_storage *peer, int relayed)
{
    uint8_t key[9] = {'r'};
    struct sockaddr_storage p = *peer;
    if (!relayed) {
        net_addr_unmap(&p);
        if (p.ss_family == AF_INET) {
            key[0] = '4';
            memcpy(key + 1, &((const struct sockaddr_in *)&p)->sin_addr, 4);
        } else {
            key[0] = '6';
            memcpy(key + 1, &((const struct sockaddr_in6 *)&p)->sin6_addr, 8);
        }
    }
    size_t i, free_i = 0;
    int64_t oldest = INT64_MAX;
    for (i = 0; i < ACCEPT_SOURCES; i++) {
        if (a->src[i].key[0] && !memcmp(a->src[i].key, key, sizeof(key)))
            break;
        /* A source is forgotten only when none of its handshakes runs. */
        if (a->src[i].busy == 0 && a->src[i].seen < oldest) {
            oldest = a->src[i].seen;
            free_i = i;
        }
    }
    if (i == ACCEPT_SOURCES) {
        i = free_i;
        memset(&a->src[i], 0, sizeof(a->src[i]));
        memcpy(a->src[i].key, key, sizeof(key));
    }
    struct source *s = &a->src[i];
    if (relayed)
        snprintf(s->who, sizeof(s->who), "the relay");
    else
        net_addr_str(&p, 0, s->who, sizeof(s->who));
    s->seen = net_now_ms();
    return i;
}

/* Start a handshake on fd (held while its source waits out a back-off), or
 * close it at once: its source has ACCEPT_PER_SOURCE handshakes already (or
 * one, during its back-off), or every slot is taken. */
static void admit(struct path_offer *a, int fd, const struct sockaddr_storage *peer, int relayed)
{
    size_t si = source_of(a, peer, relayed);
    struct source *src = &a->src[si];
    size_t i;
    for (i = 0; i < ACCEPT_SLOTS && a->s[i].used; i++)
        ;
    int64_t now = net_now_ms();
    if (src->busy >= (now < src->until ? 1 : ACCEPT_PER_SOURCE) || i == ACCEPT_SLOTS) {
        close(fd);
        return;
    }
    struct path_slot *s = &a->s[i];
    memset(s, 0, sizeof(*s));
    s->a = a;
    s->fd = fd;
    s->peer = *peer;
    s->relayed = relayed;
    s->relay = relayed ? a->mt.relay : NULL;
    s->src = si;
    s->not_before = now < src->until ? src->until : 0;
    if (pthread_create(&s->th, NULL, serve, s) != 0) {
        close(fd);
        return;
    }
    s->used = 1;
    src->busy++;
}

/* Join the handshakes that ended and count their wrong guesses. */
static void reap(struct path_offer *a)
{
    for (size_t i = 0; i < ACCEPT_SLOTS; i++) {
        struct path_slot *s = &a->s[i];
        pthread_mutex_lock(&a->mu);
        int done = s->used && s->done;
        pthread_mutex_unlock(&a->mu);
        if (!done)
            continue;
        pthread_join(s->th, NULL);
        s->used = 0;
        struct source *src = &a->src[s->src];
        src->busy--;
        if (s->rc != PCP_ERR_BAD_CODE)
            continue; /* not a receiver of ours, or a winner: it learnt nothing */
        a->wrong++;
        src->tries++;
        src->wrong++;
        int wait_s = src->wrong >= 6 ? BACKOFF_MAX_S : 1 << src->wrong;
        src->until = net_now_ms() + wait_s * 1000;
        /* Not in the room meanwhile: a receiver that comes waits there as
         * the lone peer until we enter again. */
        if (s->relayed && a->mt.retry_ms < (uint64_t)src->until)
            a->mt.retry_ms = (uint64_t)src->until;
        path_emit(&a->c, &(struct path_event){.kind = PATH_EV_WRONG_GUESS,
                                              .text = src->who,
                                              .attempt = a->wrong,
                                              .max = PATH_MAX_WRONG,
                                              .wait_s = wait_s,
                                              .relayed = s->relayed});
    }
}

/* Shut every running handshake but the winner's down and join them. */
static void stop_all(struct path_offer *a)
{
    pthread_mutex_lock(&a->mu);
    a->stopping = 1;
    pthread_cond_broadcast(&a->cv);
    for (size_t i = 0; i < ACCEPT_SLOTS; i++)
        if (a->s[i].used && !a->s[i].done && a->s[i].fd >= 0 && (int)i != a->winner)
            shutdown(a->s[i].fd, SHUT_RDWR);
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < ACCEPT_SLOTS; i++) {
        struct path_slot *s = &a->s[i];
        if (!s->used)
            continue;
        pthread_join(s->th, NULL);
        s->used = 0;
        a->src[s->src].busy--;
    }
    pthread_mutex_lock(&a->mu);
    a->stopping = 0;
    pthread_mutex_unlock(&a->mu);
}

static int fail(struct path_why *why, enum path_stage stage, int e)
{
    why->stage = stage;
    return e;
}

/* Announce the code's channel: mDNS, the relay record, the DHT. */
static int announce(struct path_offer *a)
{
    int e;
    a->mt.channel = code_channel(&a->code);
    a->pwlen = code_password(&a->code, a->pw);
    snprintf(a->aad, sizeof(a->aad), "pcp/1/%u", a->mt.channel);
    if (a->mt.lfd >= 0 &&
        (e = mdns_responder_start(&a->resp, a->c.ifname, a->mt.channel, a->mt.lport, "v=1")) != 0)
        return fail(&a->why, PATH_STAGE_MDNS, e);
    if (a->c.relay) {
        /* The first relay in the channel's order that takes the record. */
        struct meet *mt = &a->mt;
        mt->nrelays = a->c.nrelays < RV_RELAYS_MAX ? a->c.nrelays : RV_RELAYS_MAX;
        rv_order(a->c.relay, mt->nrelays, mt->channel, mt->order);
        e = PCP_ERR_NOT_FOUND;
        for (size_t i = 0; i < mt->nrelays && e != 0 && e != PCP_ERR_RELAY_AUTH; i++) {
            if (i > 0) { /* the one before did not take it: say where we go */
                char shown[300];
                rv_shown(&a->c.relay[mt->order[i]], shown, sizeof(shown));
                path_emit(&a->c, &(struct path_event){
                                     .kind = PATH_EV_RELAY_NEXT, .err = e, .text = shown});
            }
            meet_use(mt, i);
            e = meet_publish(mt, 1);
        }
        if (e != 0)
            return fail(&a->why, PATH_STAGE_RELAY, e);
    }
    if (a->dht) {
        struct mbox_cfg mc = {.dht = a->dht,
                              .channel = a->mt.channel,
                              .pw = a->pw,
                              .pwlen = a->pwlen,
                              .aad = a->aad,
                              .prep = &a->mprep};
        if ((e = mbox_sender_start(&a->mbox, &mc, a->wake[1])) != 0)
            return fail(&a->why, PATH_STAGE_SYS, e);
    }
    return 0;
}

/* Stop being found: while the user decides, and at the end. */
static void unannounce(struct path_offer *a)
{
    mdns_responder_stop(a->resp);
    a->resp = NULL;
    if (a->c.relay)
        meet_leave_relay(&a->mt);
    mbox_sender_stop(a->mbox);
    a->mbox = NULL;
}

int path_offer(const struct path_cfg *c, const struct pcp_code *code, struct path_offer **out)
{
    struct path_offer *a = calloc(1, sizeof(*a));
    *out = NULL;
    if (!a)
        return PCP_ERR_NOMEM;
    a->c = *c;
    a->code = *code;
    a->winner = -1;
    a->mt = (struct meet){.cfg = &a->c, .lfd = -1, .rfd = -1};
    a->mprep.lfd = -1;
    a->wake[0] = a->wake[1] = -1;
    a->deadline = c->timeout_ms < 0 ? INT64_MAX : net_now_ms() + c->timeout_ms;
    pthread_mutex_init(&a->mu, NULL);
    sys_cond_init(&a->cv); /* deadlines on net_now_ms()'s clock */
    *out = a;
    if (sys_pipe(a->wake, SYS_CLOEXEC | SYS_NONBLOCK) != 0) {
        a->why.sys_errno = errno;
        return fail(&a->why, PATH_STAGE_SYS, PCP_ERR_NET);
    }
    a->mt.wakefd = a->wake[0];
    if (!c->relay_only) {
        int e;
        if ((e = net_listen((uint16_t)c->port, &a->mt.lfd, &a->mt.lport)) != 0)
            return fail(&a->why, PATH_STAGE_LISTEN, e);
        if (c->dht) {
            /* The punch port (and its mapping) for receivers that come
             * through the DHT's mailboxes. */
            if ((e = dht_open(&a->dht, c->dht_bootstrap)) != 0 ||
                (e = punch_prepare(&a->mprep, 1)) != 0) {
                path_emit(c, &(struct path_event){.kind = PATH_EV_DHT_JOIN_FAILED, .err = e});
                dht_close(a->dht);
                a->dht = NULL;
            }
        }
    }
    if (c->relay)
        rv_random_hex(a->mt.owner, RV_OWNER_HEX);
    int e = announce(a);
    if (e == 0 && c->relay && (a->keep = path_keep_new()) != NULL)
        /* For a direct path once a receiver came; with --force-relay no
         * port mapping (no multicast, no router asked). */
        punch_prepare(a->keep, !c->relay_only);
    return e;
}

const struct path_why *path_offer_why(const struct path_offer *o)
{
    return &o->why;
}

/* The bound is reached: say who tried; ask for a fresh code. */
static int spent(struct path_offer *a)
{
    char *who = a->why.who;
    size_t off = 0, cap = sizeof(a->why.who);
    who[0] = '\0';
    for (size_t i = 0; i < ACCEPT_SOURCES; i++) {
        struct source *s = &a->src[i];
        if (!s->key[0] || !s->tries || off >= cap)
            continue;
        int n = snprintf(who + off, cap - off, "%s%d from %s", off ? ", " : "", s->tries, s->who);
        off += n > 0 ? (size_t)n : 0;
    }
    if (off >= cap)
        memcpy(who + cap - 5, "...", 4);
    a->why.wrong = a->wrong;
    unannounce(a);
    if (!a->c.ask_new_code)
        return fail(&a->why, PATH_STAGE_SPENT, PCP_ERR_ATTEMPTS);
    if (!a->c.ask_new_code(a->c.ud, a->wrong, who))
        return fail(&a->why, PATH_STAGE_DECLINED, PCP_ERR_ATTEMPTS);
    if (code_generate(&a->code, a->c.words) != 0)
        return fail(&a->why, PATH_STAGE_NEW_CODE, PCP_ERR_INVAL);
    a->wrong = 0;
    for (size_t i = 0; i < ACCEPT_SOURCES; i++)
        a->src[i].tries = 0;
    int e = announce(a);
    if (e != 0)
        return e;
    char text[CODE_TEXT_MAX];
    code_format(&a->code, text, sizeof(text));
    path_emit(&a->c, &(struct path_event){.kind = PATH_EV_NEW_CODE, .text = text});
    return 0;
}

/* Found: stop announcing so that nobody else comes. */
static void quiesce(struct path_offer *a)
{
    stop_all(a);
    unannounce(a);
    if (a->mt.lfd >= 0)
        close(a->mt.lfd);
    a->mt.lfd = -1;
    dht_close(a->dht);
    a->dht = NULL;
    punch_prep_end(&a->mprep);
}

/* The winner's connection becomes c's; through the relay, the receiver
 * may lead on to a direct one. */
static int take(struct path_offer *a, struct path_slot *s, struct path_conn *c)
{
    c->fd = s->fd;
    c->fr = s->fr;
    memcpy(c->tx, s->tx, sizeof(c->tx));
    memcpy(c->rx, s->rx, sizeof(c->rx));
    sodium_memzero(s->tx, sizeof(s->tx));
    sodium_memzero(s->rx, sizeof(s->rx));
    s->fd = -1;
    c->keep = a->keep;
    a->keep = NULL;
    c->path = "lan";
    if (s->relayed) {
        c->relay = s->relay;
        struct path_ops ops;
        path_ops_resolve(&a->c, &ops);
        int e = ops.upgrade(&a->c, c, 0);
        return e ? fail(&c->why, PATH_STAGE_HANDSHAKEN, e) : 0;
    }
    c->peer = s->peer;
    net_addr_str(&s->peer, 0, c->who, sizeof(c->who));
    /* Straight to our port from a public address of another network:
     * it found us in the DHT. */
    struct sockaddr_storage p = s->peer;
    net_addr_unmap(&p);
    if (dht_addr_public(&p) && !dht_addr_onlink(&p))
        c->path = "direct";
    return 0;
}

/* What the DHT's mailboxes brought: wrong guesses, counted; 1 when a
 * receiver proved the code there and connected (c is then its
 * connection). */
static int mbox_news(struct path_offer *a, struct path_conn *c)
{
    struct punch_result res;
    int wrong;
    int ready = mbox_sender_poll(a->mbox, &wrong, c->tx, c->rx, &res);
    for (int i = 0; i < wrong; i++)
        path_emit(&a->c, &(struct path_event){.kind = PATH_EV_WRONG_GUESS,
                                              .text = "the DHT",
                                              .attempt = ++a->wrong,
                                              .max = PATH_MAX_WRONG});
    if (!ready)
        return 0;
    quiesce(a);
    c->fd = res.fd;
    c->path = res.path;
    c->peer = res.peer;
    c->attempts = res.attempts;
    c->punch_ms = res.ms;
    c->portmap = res.portmap;
    net_addr_str(&res.peer, 0, c->who, sizeof(c->who));
    if (frame_reader_init(&c->fr, c->fd) != 0) {
        path_conn_close(c);
        return 0;
    }
    return 1;
}

int path_accept(struct path_offer *a, struct path_conn *c)
{
    int fd, relayed, e;
    struct sockaddr_storage peer;
    path_conn_init(c);
    for (;;) {
        reap(a);
        if (a->mbox && mbox_news(a, c))
            return 0;
        pthread_mutex_lock(&a->mu);
        int w = a->winner;
        pthread_mutex_unlock(&a->mu);
        if (w >= 0) {
            quiesce(a);
            return take(a, &a->s[w], c);
        }
        if (a->wrong >= PATH_MAX_WRONG) {
            stop_all(a);
            if ((e = spent(a)) != 0) {
                c->why = a->why;
                return e;
            }
            continue;
        }
        int wait_ms = -1;
        if (a->deadline != INT64_MAX) {
            int64_t left = a->deadline - net_now_ms();
            wait_ms = left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
        }
        e = wait_ms == 0 ? PCP_ERR_TIMEOUT : meet_wait(&a->mt, wait_ms, &fd, &peer, &relayed);
        if (e == 1)
            continue;
        if (e == PCP_ERR_TIMEOUT)
            return fail(&c->why, PATH_STAGE_TIMEOUT, PCP_ERR_NOT_FOUND);
        if (e)
            return fail(&c->why, PATH_STAGE_WAIT, e);
        admit(a, fd, &peer, relayed);
    }
}

void path_offer_end(struct path_offer *a)
{
    if (!a)
        return;
    quiesce(a);
    for (int i = 0; i < 2; i++)
        if (a->wake[i] >= 0)
            close(a->wake[i]);
    path_keep_free(a->keep);
    sodium_memzero(a->pw, sizeof(a->pw));
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
