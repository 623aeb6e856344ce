/*
 * pump.c - relay rooms: pairing arrivals two by two and moving their
 * bytes with splice() through a kernel pipe per direction, so that no
 * byte is copied into this process. One epoll thread for every pipe.
 * Where there is no epoll and splice (macOS, the BSDs, or Linux built
 * with PCP_PORTABLE), the same thread polls with poll() and moves the
 * bytes through a buffer per direction instead: the "pipe" below is then
 * that buffer, and "in epoll" means in the set poll() is given.
 *
 * A `struct room` is one pairing: the room's waiting place while it has
 * fewer than two peers, a pipe once it has two. Several pairings of one
 * room id may live at once (hash chain, each with its serial): at most
 * one not yet paired, and up to PUMP_ROOM_PAIRS paired ones, so that a
 * stranger sitting on the sender's connection does not keep the
 * sender's next connection out of the room.
 *
 * A side's socket is in epoll for EPOLLIN while its outgoing pipe has room
 * and it has not ended, for EPOLLOUT while the pipe towards it holds
 * bytes, and not at all when it wants neither; a lone peer only for
 * EPOLLRDHUP, so that what it sends early waits in its socket buffer.
 * When a side ends, the other's write half is shut down once the pipe
 * towards it is empty; the room closes when both directions are done,
 * on an error, at the idle or arrival deadline, or at the byte cap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "relay_priv.h"
#include "sys.h"

#if SYS_LINUX
#include <sys/epoll.h>
#define EV_IN EPOLLIN
#define EV_OUT EPOLLOUT
#define EV_RDHUP EPOLLRDHUP
#define EV_HUP EPOLLHUP
#define EV_ERR EPOLLERR
#else
#include <poll.h>
#define EV_IN 0x1u
#define EV_OUT 0x2u
#define EV_RDHUP 0x4u
#define EV_HUP 0x8u
#define EV_ERR 0x10u
#define PUMP_POLL_MAX 1024 /* sockets one poll() watches */
#endif

#define PUMP_PIPE_SIZE (512 * 1024)
#define PUMP_BUDGET (2u << 20) /* bytes one direction moves per wake-up */
#define PUMP_TICK_MS 100
#define ROOM_BUCKETS 4096

struct room;

struct side {
    struct room *room;
    int idx;
    int fd;
    void *handle;
    int pipe[2];  /* what this side sends, on its way to the other */
    uint8_t *buf; /* ... without splice: a buffer, its bytes at off */
    size_t off;
    size_t inpipe;
    size_t cap; /* the pipe's real size */
    int eof, shut;
    int said;       /* has sent at least one byte */
    int registered; /* in epoll now */
    uint32_t events;
    uint8_t ip[16];
};

struct room {
    struct room *next;                /* hash chain */
    struct room *all_prev, *all_next; /* every room */
    char id[RV_ROOM_HEX + 1];
    uint64_t serial; /* this pairing among the room's */
    int reserved, n;
    struct side s[2];
    uint8_t rip[2][16]; /* addresses of reservations, in order */
    uint64_t created_ms, last_ms, paired_ms, bytes;
    uint64_t window_ms, window_bytes; /* rate cap */
    int throttled, dead;
    int wanted; /* paired, and someone was refused a place in its room */
    struct room *dead_next;
};

struct pump {
    pthread_mutex_t mu;
    int ep;
    struct relay_stats *st;
    struct ipcap *cap;
    pump_close_fn close_fn;
    struct relay_limits lim;
    struct room *b[ROOM_BUCKETS];
    struct room *all;
    struct room *dead;
    size_t nrooms;
    uint64_t serial; /* the last one given */
    int stopping;
    uint64_t drain_until;
};

struct pump *pump_new(struct relay_stats *st, struct ipcap *cap, pump_close_fn close_fn)
{
    struct pump *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
#if SYS_LINUX
    p->ep = epoll_create1(EPOLL_CLOEXEC);
    if (p->ep < 0) {
        free(p);
        return NULL;
    }
#else
    p->ep = -1;
#endif
    pthread_mutex_init(&p->mu, NULL);
    p->st = st;
    p->cap = cap;
    p->close_fn = close_fn;
    return p;
}

void pump_set_limits(struct pump *p, const struct relay_limits *lim)
{
    pthread_mutex_lock(&p->mu);
    p->lim = *lim;
    pthread_mutex_unlock(&p->mu);
}

size_t pump_rooms(struct pump *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->nrooms;
    pthread_mutex_unlock(&p->mu);
    return n;
}

static size_t room_hash(const char *id)
{
    return strtoul((char[4]){id[0], id[1], id[2], 0}, NULL, 16) % ROOM_BUCKETS;
}

/* The live pairing of room id with serial, or NULL. */
static struct room *room_get(struct pump *p, const char *id, uint64_t serial)
{
    for (struct room *r = p->b[room_hash(id)]; r; r = r->next)
        if (r->serial == serial && strcmp(r->id, id) == 0)
            return r->dead ? NULL : r;
    return NULL;
}

int pump_reserve(struct pump *p, const char *id, const uint8_t ip[16], int *why, uint64_t *serial)
{
    *why = 0;
    *serial = 0;
    pthread_mutex_lock(&p->mu);
    struct room **head = &p->b[room_hash(id)], *r = NULL;
    int rc = 0, pending = 0;
    unsigned pairs = 0;
    for (struct room *q = *head; q; q = q->next) {
        if (q->dead || strcmp(q->id, id) != 0)
            continue;
        if (q->n == 2)
            pairs++;
        else if (q->n + q->reserved < 2)
            r = q; /* the waiting place: join it */
        else
            pending = 1; /* two have been answered, not both attached yet */
    }
    if (p->stopping) {
        *why = 1;
        rc = PCP_ERR_TOO_BIG;
    } else if (pairs >= PUMP_ROOM_PAIRS || (!r && pending)) {
        /* As many pairs as a room may have (joining the waiting place
         * would make one more), or a pairing still half-way: a moment
         * later there is a place, or the caller tries again. */
        rc = PCP_ERR_RELAY_BUSY;
        /* Someone wants this room: its silent pairs may go (tick). */
        for (struct room *q = *head; q; q = q->next)
            if (!q->dead && q->n == 2 && strcmp(q->id, id) == 0)
                q->wanted = 1;
    } else if (!r && p->lim.max_rooms && p->nrooms >= p->lim.max_rooms) {
        *why = 1;
        rc = PCP_ERR_TOO_BIG;
    } else if (ipcap_take(p->cap, ip, p->lim.per_ip_rooms) != 0) {
        *why = 2;
        rc = PCP_ERR_TOO_BIG;
    } else if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r) {
            ipcap_give(p->cap, ip);
            *why = 1;
            rc = PCP_ERR_TOO_BIG;
        } else {
            memcpy(r->id, id, RV_ROOM_HEX);
            r->serial = ++p->serial;
            r->s[0].fd = r->s[1].fd = -1;
            for (int i = 0; i < 2; i++) {
                r->s[i].pipe[0] = r->s[i].pipe[1] = -1;
                r->s[i].room = r;
                r->s[i].idx = i;
            }
            r->created_ms = r->last_ms = relay_now_ms();
            r->next = *head;
            *head = r;
            r->all_next = p->all;
            if (p->all)
                p->all->all_prev = r;
            p->all = r;
            p->nrooms++;
            atomic_store(&p->st->rooms_open, p->nrooms);
        }
    }
    if (rc == 0 && r) {
        memcpy(r->rip[r->reserved++], ip, 16);
        *serial = r->serial;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* The socket's interest in the poller: ev (EV_*), added or changed. With
 * poll() the set is made afresh for each wait from the sides' events. */
static int poller_set(struct pump *p, struct side *s, uint32_t ev)
{
#if SYS_LINUX
    struct epoll_event e = {.events = ev, .data.ptr = s};
    return epoll_ctl(p->ep, s->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &e);
#else
    (void)p;
    (void)s;
    (void)ev;
    return 0;
#endif
}

static void poller_del(struct pump *p, struct side *s)
{
#if SYS_LINUX
    epoll_ctl(p->ep, EPOLL_CTL_DEL, s->fd, NULL);
#else
    (void)p;
    (void)s;
#endif
}

/* Unlink and queue for freeing after the current batch of events. */
static void room_kill(struct pump *p, struct room *r)
{
    if (r->dead)
        return;
    r->dead = 1;
    for (struct room **pp = &p->b[room_hash(r->id)]; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    if (r->all_prev)
        r->all_prev->all_next = r->all_next;
    else
        p->all = r->all_next;
    if (r->all_next)
        r->all_next->all_prev = r->all_prev;
    for (int i = 0; i < 2; i++) {
        struct side *s = &r->s[i];
        if (s->fd >= 0) {
            poller_del(p, s);
            p->close_fn(s->handle);
            s->fd = -1;
            ipcap_give(p->cap, s->ip);
        }
        for (int k = 0; k < 2; k++)
            if (s->pipe[k] >= 0)
                close(s->pipe[k]);
        free(s->buf);
    }
    for (int i = 0; i < r->reserved; i++)
        ipcap_give(p->cap, r->rip[i]);
    r->reserved = 0;
    if (r->n == 2)
        atomic_fetch_sub(&p->st->rooms_paired, 1);
    p->nrooms--;
    atomic_store(&p->st->rooms_open, p->nrooms);
    r->dead_next = p->dead;
    p->dead = r;
}

static void free_dead(struct pump *p)
{
    while (p->dead) {
        struct room *r = p->dead;
        p->dead = r->dead_next;
        free(r);
    }
}

/* Forget the reservation of ip (the first one made with it). */
static int drop_reservation(struct room *r, const uint8_t ip[16])
{
    for (int i = 0; i < r->reserved; i++) {
        if (memcmp(r->rip[i], ip, 16) == 0) {
            memmove(r->rip[i], r->rip[i + 1], (size_t)(r->reserved - i - 1) * 16);
            r->reserved--;
            return 1;
        }
    }
    return 0;
}

void pump_unreserve(struct pump *p, const char *id, uint64_t serial, const uint8_t ip[16])
{
    pthread_mutex_lock(&p->mu);
    struct room *r = room_get(p, id, serial);
    if (r && drop_reservation(r, ip)) {
        ipcap_give(p->cap, ip);
        if (r->reserved == 0 && r->n == 0)
            room_kill(p, r);
    }
    free_dead(p);
    pthread_mutex_unlock(&p->mu);
}

/* A side that wants nothing is taken out of epoll: EPOLLHUP and EPOLLERR
 * cannot be masked, and a socket we have shut down whose last bytes wait
 * for room in a full pipe would otherwise wake us in a loop. */
static void set_events(struct pump *p, struct side *s, uint32_t ev)
{
    if (s->fd < 0 || (s->registered && s->events == ev))
        return;
    if (ev == 0) {
        if (s->registered)
            poller_del(p, s);
        s->registered = 0;
        s->events = 0;
        return;
    }
    poller_set(p, s, ev);
    s->registered = 1;
    s->events = ev;
}

static void update_interest(struct pump *p, struct room *r)
{
    if (r->n < 2) {
        set_events(p, &r->s[0], EV_RDHUP);
        return;
    }
    for (int i = 0; i < 2; i++) {
        struct side *s = &r->s[i], *o = &r->s[!i];
        uint32_t ev = 0;
        if (!s->eof && s->inpipe < s->cap && !r->throttled)
            ev |= EV_IN; /* data, or the end (a read of 0) */
        if (o->inpipe > 0)
            ev |= EV_OUT;
        set_events(p, s, ev);
    }
}

static int make_pipe(struct side *s)
{
#if SYS_LINUX
    if (sys_pipe(s->pipe, SYS_CLOEXEC | SYS_NONBLOCK) != 0)
        return -1;
    /* Larger pipes move more per wake-up; an unprivileged relay may be
     * held to the default size (pipe-user-pages-soft), so ask. */
    fcntl(s->pipe[1], F_SETPIPE_SZ, PUMP_PIPE_SIZE);
    int cap = fcntl(s->pipe[1], F_GETPIPE_SZ);
    s->cap = cap > 0 ? (size_t)cap : 4096;
#else
    if (!(s->buf = malloc(PUMP_PIPE_SIZE)))
        return -1;
    s->cap = PUMP_PIPE_SIZE;
    s->off = 0;
#endif
    return 0;
}

/* Bytes from the side's socket into its pipe (at most want), and from
 * its pipe to the other's socket: what read/write or splice give. */
static ssize_t pipe_in(struct side *s, size_t want)
{
#if SYS_LINUX
    return splice(s->fd, NULL, s->pipe[1], NULL, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
#else
    if (s->off + s->inpipe + want > s->cap) { /* room at the end: move the bytes to the front */
        memmove(s->buf, s->buf + s->off, s->inpipe);
        s->off = 0;
    }
    return recv(s->fd, s->buf + s->off + s->inpipe, want, MSG_DONTWAIT);
#endif
}

static ssize_t pipe_out(struct side *s, int to)
{
#if SYS_LINUX
    return splice(s->pipe[0], NULL, to, NULL, s->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
#else
    ssize_t n = send(to, s->buf + s->off, s->inpipe, MSG_DONTWAIT | SYS_NOSIGNAL);
    if (n > 0)
        s->off = (size_t)n == s->inpipe ? 0 : s->off + (size_t)n;
    return n;
#endif
}

void pump_attach(struct pump *p, const char *id, uint64_t serial, const uint8_t ip[16], int fd,
                 void *handle)
{
    pthread_mutex_lock(&p->mu);
    struct room *r = room_get(p, id, serial);
    if (!r || r->n >= 2 || !drop_reservation(r, ip)) {
        /* The room went away (deadline, drain) between the 101 and now. */
        pthread_mutex_unlock(&p->mu);
        p->close_fn(handle);
        return;
    }
    struct side *s = &r->s[r->n];
    memcpy(s->ip, ip, 16);
    s->fd = fd;
    s->handle = handle;
    s->events = EV_RDHUP;
    sys_set_flags(fd, SYS_NONBLOCK);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    if (poller_set(p, s, s->events) != 0) {
        /* Count it as attached so that room_kill closes and gives back. */
        r->n++;
        room_kill(p, r);
        free_dead(p);
        pthread_mutex_unlock(&p->mu);
        return;
    }
    s->registered = 1;
    r->n++;
    r->last_ms = relay_now_ms();
    if (r->n == 2) {
        r->paired_ms = r->last_ms;
        if (make_pipe(&r->s[0]) != 0 || make_pipe(&r->s[1]) != 0) {
            room_kill(p, r);
            free_dead(p);
            pthread_mutex_unlock(&p->mu);
            return;
        }
        atomic_fetch_add(&p->st->rooms_paired, 1);
        atomic_fetch_add(&p->st->pairs_total, 1);
        update_interest(p, r);
    }
    pthread_mutex_unlock(&p->mu);
}

/* How many more bytes the rate cap lets through in this 100 ms window. */
static size_t rate_allowance(const struct pump *p, const struct room *r)
{
    if (!p->lim.room_rate)
        return SIZE_MAX;
    uint64_t per_window = p->lim.room_rate / (1000 / PUMP_TICK_MS);
    if (per_window == 0)
        per_window = 1;
    return r->window_bytes >= per_window ? 0 : (size_t)(per_window - r->window_bytes);
}

/* Move bytes from side i towards the other: 0, or -1 when the room must
 * close. */
static int transfer(struct pump *p, struct room *r, int i)
{
    struct side *s = &r->s[i], *o = &r->s[!i];
    size_t moved = 0;
    for (;;) {
        int progress = 0;
        size_t allow = rate_allowance(p, r);
        /* The byte cap: one byte past it is enough to close the room. */
        if (p->lim.room_bytes) {
            uint64_t queued = r->bytes + r->s[0].inpipe + r->s[1].inpipe;
            uint64_t left = queued > p->lim.room_bytes ? 0 : p->lim.room_bytes + 1 - queued;
            if (allow > left)
                allow = (size_t)left;
        }
        if (!s->eof && s->inpipe < s->cap && allow > 0) {
            size_t want = s->cap - s->inpipe;
            if (want > allow)
                want = allow;
            ssize_t n = pipe_in(s, want);
            if (n > 0) {
                s->inpipe += (size_t)n;
                s->said = 1;
                r->window_bytes += (uint64_t)n;
                progress = 1;
            } else if (n == 0) {
                s->eof = 1;
            } else if (errno != EAGAIN && errno != EINTR) {
                return -1;
            }
        }
        if (s->inpipe > 0) {
            ssize_t n = pipe_out(s, o->fd);
            if (n > 0) {
                s->inpipe -= (size_t)n;
                moved += (size_t)n;
                r->bytes += (uint64_t)n;
                atomic_fetch_add(&p->st->bytes_relayed, (uint64_t)n);
                progress = 1;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                return -1;
            }
        }
        if (!progress || moved >= PUMP_BUDGET)
            break;
    }
    if (moved)
        r->last_ms = relay_now_ms();
    if (p->lim.room_rate && rate_allowance(p, r) == 0)
        r->throttled = 1;
    if (s->eof && s->inpipe == 0 && !o->shut) {
        shutdown(o->fd, SHUT_WR);
        o->shut = 1;
    }
    return 0;
}

static void on_event(struct pump *p, struct side *s, uint32_t ev)
{
    struct room *r = s->room;
    if (r->dead)
        return;
    if (r->n < 2) {
        /* A lone peer half-closed while its partner, already answered, is
         * on its way in: keep what it sent for the partner and stop
         * watching until the partner is attached (or the arrival deadline
         * ends the room). */
        if (r->reserved > 0 && !(ev & (EV_HUP | EV_ERR))) {
            set_events(p, s, 0);
            return;
        }
        /* A lone peer left (or broke the rules by closing early). */
        room_kill(p, r);
        return;
    }
    if ((ev & EV_ERR) || transfer(p, r, 0) != 0 || transfer(p, r, 1) != 0) {
        room_kill(p, r);
        return;
    }
    if (p->lim.room_bytes && r->bytes + r->s[0].inpipe + r->s[1].inpipe > p->lim.room_bytes) {
        atomic_fetch_add(&p->st->closed_bytes, 1);
        room_kill(p, r);
        return;
    }
    int done = r->s[0].eof && r->s[1].eof && r->s[0].inpipe == 0 && r->s[1].inpipe == 0;
    /* HUP on a socket we have not shut down: it was reset, and nothing
     * more can reach it. (After our shutdown HUP is normal, and the bytes
     * it sent last may still wait in its buffer for room in the pipe.) */
    if (done || ((ev & EV_HUP) && !s->shut)) {
        room_kill(p, r);
        return;
    }
    update_interest(p, r);
}

/* 1 when r's room has a peer waiting (or on its way in) besides r. */
static int room_waiting(struct pump *p, const struct room *r)
{
    for (const struct room *q = p->b[room_hash(r->id)]; q; q = q->next)
        if (q != r && !q->dead && q->n < 2 && q->n + q->reserved > 0 && strcmp(q->id, r->id) == 0)
            return 1;
    return 0;
}

/* Deadlines, silent pairs, idle pipes, rate windows, draining. */
static void tick(struct pump *p, uint64_t now)
{
    for (struct room *r = p->all, *next; r; r = next) {
        next = r->all_next;
        if (r->n < 2 && r->n + r->reserved > 0 &&
            (p->stopping || now - r->created_ms > (uint64_t)p->lim.arrival_s * 1000u)) {
            if (r->n > 0 && !p->stopping)
                atomic_fetch_add(&p->st->closed_arrival, 1);
            if (r->n > 0)
                room_kill(p, r);
            continue;
        }
        /* A real receiver speaks at once: a pair that has carried not
         * one byte is a stranger sitting on the sender's waiting
         * connection (or peers that have gone). When someone else wants
         * the room, both ends close, and the sender, whose waiting
         * connection ended, enters again. (A silent pipe nobody else
         * asks for lives to the idle timeout, as before.) */
        if (r->n == 2 && !r->s[0].said && !r->s[1].said && now >= r->paired_ms + PUMP_SILENT_MS &&
            (r->wanted || room_waiting(p, r))) {
            atomic_fetch_add(&p->st->closed_silent, 1);
            room_kill(p, r);
            continue;
        }
        if (r->n == 2 && p->lim.idle_s && now - r->last_ms > (uint64_t)p->lim.idle_s * 1000u) {
            atomic_fetch_add(&p->st->closed_idle, 1);
            room_kill(p, r);
            continue;
        }
        if (now - r->window_ms >= PUMP_TICK_MS) {
            r->window_ms = now;
            r->window_bytes = 0;
            if (r->throttled) {
                r->throttled = 0;
                if (r->n == 2)
                    update_interest(p, r);
            }
        }
    }
}

void pump_tick(struct pump *p, uint64_t now)
{
    pthread_mutex_lock(&p->mu);
    tick(p, now);
    free_dead(p);
    pthread_mutex_unlock(&p->mu);
}

#if SYS_LINUX
/* Wait for events (without the lock) and handle them (with it). */
static void wait_events(struct pump *p)
{
    struct epoll_event evs[64];
    int n = epoll_wait(p->ep, evs, 64, PUMP_TICK_MS / 2);
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < n; i++)
        on_event(p, evs[i].data.ptr, evs[i].events);
}
#else
/* poll() has no set that lives on: the sides' interest is gathered under
 * the lock, polled without it (a side attached meanwhile waits for the
 * next round, within PUMP_TICK_MS / 2), and what came is handed to the
 * sides that still have those descriptors. A lone peer's only interest is
 * its hang-up, which poll() shows as readable: a peek tells a hang-up
 * from early bytes, which stay in its socket buffer (it is then watched
 * no more until its partner comes; the arrival deadline still holds). */
static void wait_events(struct pump *p)
{
    struct pollfd *pf = malloc(PUMP_POLL_MAX * sizeof(*pf));
    nfds_t n = 0;
    pthread_mutex_lock(&p->mu);
    for (struct room *r = p->all; r && pf; r = r->all_next)
        for (int i = 0; i < 2 && n < PUMP_POLL_MAX; i++) {
            struct side *s = &r->s[i];
            if (s->fd < 0 || !s->registered)
                continue;
            short want = (short)(((s->events & (EV_IN | EV_RDHUP)) ? POLLIN : 0) |
                                 ((s->events & EV_OUT) ? POLLOUT : 0));
            pf[n++] = (struct pollfd){.fd = s->fd, .events = want};
        }
    pthread_mutex_unlock(&p->mu);
    int got = pf ? poll(pf, n, PUMP_TICK_MS / 2) : -1;
    pthread_mutex_lock(&p->mu);
    for (nfds_t k = 0; got > 0 && k < n; k++) {
        if (!pf[k].revents)
            continue;
        struct side *s = NULL;
        for (struct room *r = p->all; r && !s; r = r->all_next)
            for (int i = 0; i < 2 && !s; i++)
                if (r->s[i].fd == pf[k].fd && r->s[i].registered && !r->dead)
                    s = &r->s[i];
        if (!s)
            continue; /* gone meanwhile */
        uint32_t ev = ((pf[k].revents & POLLIN) ? EV_IN : 0) |
                      ((pf[k].revents & POLLOUT) ? EV_OUT : 0) |
                      ((pf[k].revents & POLLHUP) ? EV_HUP : 0) |
                      ((pf[k].revents & (POLLERR | POLLNVAL)) ? EV_ERR : 0);
        if (s->events == EV_RDHUP && (ev & EV_IN)) {
            char c;
            ssize_t r = recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
            if (r > 0 || (r < 0 && errno == EAGAIN)) {
                set_events(p, s, 0); /* early bytes, not a hang-up */
                continue;
            }
            ev = r == 0 ? EV_RDHUP | EV_HUP : EV_ERR;
        }
        on_event(p, s, ev);
    }
    free(pf);
}
#endif

void *pump_main(void *arg)
{
    struct pump *p = arg;
    uint64_t last_tick = 0;
    for (;;) {
        wait_events(p); /* returns with the lock held */
        uint64_t now = relay_now_ms();
        if (now - last_tick >= PUMP_TICK_MS / 2) {
            tick(p, now);
            last_tick = now;
        }
        int quit = p->stopping && (p->nrooms == 0 || now >= p->drain_until);
        if (quit)
            while (p->all)
                room_kill(p, p->all);
        free_dead(p);
        pthread_mutex_unlock(&p->mu);
        if (quit)
            return NULL;
    }
}

void pump_stop(struct pump *p, unsigned drain_ms)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    p->drain_until = relay_now_ms() + drain_ms;
    pthread_mutex_unlock(&p->mu);
}

void pump_free(struct pump *p)
{
    if (!p)
        return;
    while (p->all)
        room_kill(p, p->all);
    free_dead(p);
    if (p->ep >= 0)
        close(p->ep);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
