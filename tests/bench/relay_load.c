/*
 * relay_load - load on a pcp relay: many pairs at once through one relay,
 * every byte checked. It prints figures; what they must be is for the
 * caller to decide (tests/bench/relay.sh, tests/e2e/t_relay_load.sh).
 *
 *   relay_load [options] HOST:PORT ROOMS MIB   ROOMS pairs, MIB MiB each way
 *   relay_load --idle [options] HOST:PORT ROOMS   ROOMS lone peers, held 1 s
 *   relay_load --plain [options] MIB           one pair over plain loopback TCP
 *
 * Options:
 *   --check          compare the content of every byte received (counts are
 *                    always checked)
 *   --oneway         only the first peer of a pair sends
 *   --eager          each peer sends as soon as it has its 101, before the
 *                    other has arrived (by default every pair starts at once
 *                    when every handshake is over)
 *   --relay-pid PID  sample the relay's /proc/PID: peak RSS, CPU seconds,
 *                    and for --idle the RSS per lone peer
 *   --parallel N     handshakes in progress at once (512)
 *   --timeout S      give up after S seconds (600)
 *
 * Pairs: 2 x ROOMS non-blocking sockets in one epoll loop, each pair in a
 * random room of its own (core/PROTOCOL.md, "Rendezvous and relay"). Once
 * every socket has its 101 (or has failed), all of them start at once:
 * each side sends MIB MiB of a pseudo-random stream seeded by the room and
 * the direction, shuts down its write half, and reads until EOF, checking
 * the count (and with --check the content) against the same generator.
 * MB/s counts the bytes delivered both ways over the time from that start
 * to the last EOF. Output: one "name value" line per figure (rooms,
 * transfer_seconds, aggregate_MBps, pairs_intact, relay_peak_rss_kib,
 * relay_cpu_seconds, relay_rss_per_idle_room_bytes, ...); failures on
 * stderr. Exits 1 when a pair failed, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RD_CHUNK (256u * 1024u)
#define RD_ROUNDS 4
#define WR_CHUNK (64u * 1024u)
#define WR_ROUNDS 4
#define HEAD_MAX 1024
#define MAX_EVENTS 256
#define MAX_REPORTS 10

enum pstate { P_WAIT, P_CONN, P_HEAD, P_READY, P_DONE, P_FAIL };

struct peer {
    int fd;
    uint8_t state, eof, shut;
    uint32_t events;
    size_t req_off, head_len;
    uint64_t sent, got;
    char *head; /* the 101 head, while it is coming */
};

struct room {
    char hex[33];
    uint64_t seed[2]; /* the stream side i sends */
};

struct ctx {
    /* settings */
    int idle, plain, check, oneway, eager;
    long relay_pid;
    uint32_t parallel;
    double timeout_s;
    uint64_t bytes; /* per direction */
    char host[256], port[16];
    struct sockaddr_storage addr;
    socklen_t addrlen;
    /* state */
    uint32_t nrooms, sides, npeers, next, inflight, ready, done, failed;
    struct room *rooms;
    struct peer *peers;
    int ep, go, reports;
    uint8_t *rbuf, *ebuf, *tbuf;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("relay_load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- the streams: splitmix64 of (seed, word index), any offset ---------- */

static inline uint64_t word_at(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void gen(uint64_t seed, uint64_t off, uint8_t *out, size_t n)
{
    uint64_t w = off / 8;
    size_t skip = (size_t)(off % 8);
    if (skip) { /* the rest of a word begun before */
        uint8_t b[8];
        uint64_t v = word_at(seed, w++);
        memcpy(b, &v, 8);
        size_t take = 8 - skip < n ? 8 - skip : n;
        memcpy(out, b + skip, take);
        out += take;
        n -= take;
    }
    for (; n >= 8; n -= 8, out += 8) {
        uint64_t v = word_at(seed, w++);
        memcpy(out, &v, 8);
    }
    if (n) {
        uint8_t b[8];
        uint64_t v = word_at(seed, w);
        memcpy(b, &v, 8);
        memcpy(out, b, n);
    }
}

/* ---- the relay's /proc ------------------------------------------------- */

/* A "Name:   N kB" line of /proc/PID/status, in KiB; 0 when unknown. */
static unsigned long proc_kib(long pid, const char *name)
{
    char path[64], line[256];
    unsigned long v = 0;
    size_t n = strlen(name);
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            v = strtoul(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* utime + stime of /proc/PID/stat, in seconds; -1 when unknown. */
static double proc_cpu(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    /* After the name: field 3 (state) onwards; utime and stime are 14, 15. */
    unsigned long long ut, st;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- peers -------------------------------------------------------------- */

static uint32_t room_of(const struct ctx *c, uint32_t i)
{
    return i / c->sides;
}

static int side_of(const struct ctx *c, uint32_t i)
{
    return (int)(i % c->sides);
}

static uint64_t tx_total(const struct ctx *c, uint32_t i)
{
    return c->idle || (c->oneway && side_of(c, i) == 1) ? 0 : c->bytes;
}

static uint64_t rx_total(const struct ctx *c, uint32_t i)
{
    return c->idle || (c->oneway && side_of(c, i) == 0) ? 0 : c->bytes;
}

static void peer_fail(struct ctx *c, uint32_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void peer_fail(struct ctx *c, uint32_t i, const char *fmt, ...)
{
    struct peer *p = &c->peers[i];
    if (p->state == P_FAIL || p->state == P_DONE)
        return;
    if (c->reports < MAX_REPORTS) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "relay_load: room %u side %d: ", room_of(c, i), side_of(c, i));
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    } else if (c->reports == MAX_REPORTS) {
        fprintf(stderr, "relay_load: (more failures not shown)\n");
    }
    c->reports++;
    if (p->state == P_CONN || p->state == P_HEAD)
        c->inflight--;
    if (p->state == P_READY)
        c->ready--;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    free(p->head);
    p->head = NULL;
    p->state = P_FAIL;
    c->failed++;
}

static void set_interest(struct ctx *c, uint32_t i, uint32_t ev)
{
    struct peer *p = &c->peers[i];
    if (p->events == ev)
        return;
    struct epoll_event e = {.events = ev, .data.u32 = i};
    if (epoll_ctl(c->ep, EPOLL_CTL_MOD, p->fd, &e) != 0)
        die("epoll_ctl: %s", strerror(errno));
    p->events = ev;
}

static void add_peer(struct ctx *c, uint32_t i, int fd, uint32_t ev)
{
    struct peer *p = &c->peers[i];
    struct epoll_event e = {.events = ev, .data.u32 = i};
    p->fd = fd;
    p->events = ev;
    if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &e) != 0)
        die("epoll_ctl: %s", strerror(errno));
}

static void start_peer(struct ctx *c, uint32_t i)
{
    struct peer *p = &c->peers[i];
    int fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket: %s (raise the open-file limit?)", strerror(errno));
    p->state = P_CONN;
    c->inflight++;
    p->head = malloc(HEAD_MAX);
    if (!p->head)
        die("out of memory");
    add_peer(c, i, fd, EPOLLOUT);
    if (connect(fd, (struct sockaddr *)&c->addr, c->addrlen) != 0 && errno != EINPROGRESS)
        peer_fail(c, i, "connect: %s", strerror(errno));
}

/* Data has come in: count it and, with --check, compare it. */
static int consume(struct ctx *c, uint32_t i, const uint8_t *buf, size_t n)
{
    struct peer *p = &c->peers[i];
    uint64_t want = rx_total(c, i);
    if (p->got + n > want) {
        peer_fail(c, i, "%llu byte(s) more than the %llu sent",
                  (unsigned long long)(p->got + n - want), (unsigned long long)want);
        return -1;
    }
    if (c->check) {
        const struct room *r = &c->rooms[room_of(c, i)];
        gen(r->seed[c->sides == 2 ? !side_of(c, i) : 0], p->got, c->ebuf, n);
        if (memcmp(buf, c->ebuf, n) != 0) {
            size_t k = 0;
            while (buf[k] == c->ebuf[k])
                k++;
            peer_fail(c, i, "content differs at byte %llu", (unsigned long long)(p->got + k));
            return -1;
        }
    }
    p->got += n;
    return 0;
}

/* Move data for a paired (or about to be paired) peer. */
static void pump_peer(struct ctx *c, uint32_t i, uint32_t ev)
{
    struct peer *p = &c->peers[i];
    if (!p->eof && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        for (int k = 0; k < RD_ROUNDS; k++) {
            ssize_t n = recv(p->fd, c->rbuf, RD_CHUNK, 0);
            if (n > 0) {
                if (consume(c, i, c->rbuf, (size_t)n) != 0)
                    return;
                if ((size_t)n < RD_CHUNK)
                    break;
            } else if (n == 0) {
                p->eof = 1;
                if (p->got != rx_total(c, i)) {
                    peer_fail(c, i, "EOF after %llu of %llu byte(s)", (unsigned long long)p->got,
                              (unsigned long long)rx_total(c, i));
                    return;
                }
                break;
            } else if (errno == EINTR) {
                continue;
            } else if (errno == EAGAIN) {
                break;
            } else {
                peer_fail(c, i, "recv after %llu byte(s): %s", (unsigned long long)p->got,
                          strerror(errno));
                return;
            }
        }
    }
    uint64_t total = tx_total(c, i);
    int go = c->go || c->eager;
    if (go && !p->shut && (ev & EPOLLOUT)) {
        for (int k = 0; k < WR_ROUNDS && p->sent < total; k++) {
            size_t len = total - p->sent < WR_CHUNK ? (size_t)(total - p->sent) : WR_CHUNK;
            gen(c->rooms[room_of(c, i)].seed[side_of(c, i)], p->sent, c->tbuf, len);
            ssize_t n = send(p->fd, c->tbuf, len, MSG_NOSIGNAL);
            if (n > 0) {
                p->sent += (uint64_t)n;
                if ((size_t)n < len)
                    break;
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && errno == EAGAIN) {
                break;
            } else {
                peer_fail(c, i, "send after %llu byte(s): %s", (unsigned long long)p->sent,
                          n < 0 ? strerror(errno) : "nothing written");
                return;
            }
        }
    }
    if (go && !p->shut && p->sent == total) {
        if (shutdown(p->fd, SHUT_WR) != 0) {
            peer_fail(c, i, "shutdown: %s", strerror(errno));
            return;
        }
        p->shut = 1;
    }
    if (p->shut && p->eof) {
        close(p->fd);
        p->fd = -1;
        p->state = P_DONE;
        c->ready--;
        c->done++;
        return;
    }
    set_interest(c, i, (p->eof ? 0 : EPOLLIN) | (go && !p->shut ? EPOLLOUT : 0));
}

static void on_connect(struct ctx *c, uint32_t i)
{
    struct peer *p = &c->peers[i];
    int err = 0;
    socklen_t len = sizeof(err);
    if (p->req_off == 0) {
        if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err == EINPROGRESS)
            return;
        if (err) {
            peer_fail(c, i, "connect: %s", strerror(err));
            return;
        }
    }
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET /v1/pipe/%s HTTP/1.1\r\nHost: %s:%s\r\nConnection: Upgrade\r\n"
                     "Upgrade: pcp-relay/1\r\n\r\n",
                     c->rooms[room_of(c, i)].hex, c->host, c->port);
    ssize_t w = send(p->fd, req + p->req_off, (size_t)n - p->req_off, MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (w <= 0) {
        peer_fail(c, i, "sending the request: %s", w < 0 ? strerror(errno) : "nothing written");
        return;
    }
    p->req_off += (size_t)w;
    if (p->req_off == (size_t)n) {
        p->state = P_HEAD;
        set_interest(c, i, EPOLLIN);
    }
}

static void on_head(struct ctx *c, uint32_t i)
{
    struct peer *p = &c->peers[i];
    ssize_t n = recv(p->fd, p->head + p->head_len, HEAD_MAX - 1 - p->head_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        peer_fail(c, i, "closed before a whole 101 head (%s)", n < 0 ? strerror(errno) : "EOF");
        return;
    }
    p->head_len += (size_t)n;
    p->head[p->head_len] = 0;
    char *end = strstr(p->head, "\r\n\r\n");
    if (!end) {
        if (p->head_len == HEAD_MAX - 1)
            peer_fail(c, i, "an answer head of more than %d bytes", HEAD_MAX);
        return;
    }
    if (strncmp(p->head, "HTTP/1.1 101 ", 13) != 0) {
        p->head[strcspn(p->head, "\r\n")] = 0;
        peer_fail(c, i, "answered '%s'", p->head);
        return;
    }
    size_t used = (size_t)(end + 4 - p->head), extra = p->head_len - used;
    uint8_t tail[HEAD_MAX];
    memcpy(tail, end + 4, extra);
    free(p->head);
    p->head = NULL;
    p->state = P_READY;
    c->inflight--;
    c->ready++;
    /* Bytes right behind the head are already the other side's. */
    if (extra > 0 && consume(c, i, tail, extra) != 0)
        return;
    if (c->eager)
        pump_peer(c, i, EPOLLOUT);
    else
        set_interest(c, i, EPOLLIN);
}

static void on_event(struct ctx *c, uint32_t i, uint32_t ev)
{
    switch (c->peers[i].state) {
    case P_CONN:
        on_connect(c, i);
        break;
    case P_HEAD:
        on_head(c, i);
        break;
    case P_READY:
        if (!c->go && c->idle && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
            peer_fail(c, i, "a lone peer was closed or spoken to");
            break;
        }
        pump_peer(c, i, ev);
        break;
    default:
        break;
    }
}

/* Every handshake over: let them all go at once. */
static void barrier(struct ctx *c)
{
    c->go = 1;
    for (uint32_t i = 0; i < c->npeers; i++)
        if (c->peers[i].state == P_READY)
            pump_peer(c, i, EPOLLOUT);
}

/* Run the loop until every peer is done or failed (--idle: until every
 * handshake is over). 0, or -1 on the timeout. */
static int loop(struct ctx *c, double t0, double *t_go)
{
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        while (c->inflight < c->parallel && c->next < c->npeers)
            start_peer(c, c->next++);
        if (!c->go && c->next == c->npeers && c->inflight == 0) {
            *t_go = now();
            if (c->idle)
                return 0;
            barrier(c);
        }
        if (c->go && c->done + c->failed == c->npeers)
            return 0;
        if (now() - t0 > c->timeout_s)
            return -1;
        int n = epoll_wait(c->ep, evs, MAX_EVENTS, 100);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int k = 0; k < n; k++)
            on_event(c, evs[k].data.u32, evs[k].events);
    }
}

/* ---- setup -------------------------------------------------------------- */

static void parse_hostport(struct ctx *c, const char *s)
{
    const char *colon;
    if (s[0] == '[') {
        const char *e = strchr(s, ']');
        if (!e || e[1] != ':')
            die("bad address '%s' (want HOST:PORT or [V6]:PORT)", s);
        snprintf(c->host, sizeof(c->host), "%.*s", (int)(e - s - 1), s + 1);
        colon = e + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            die("bad address '%s' (want HOST:PORT)", s);
        snprintf(c->host, sizeof(c->host), "%.*s", (int)(colon - s), s);
    }
    snprintf(c->port, sizeof(c->port), "%s", colon + 1);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
    int e = getaddrinfo(c->host, c->port, &hints, &res);
    if (e != 0)
        die("%s: %s", s, gai_strerror(e));
    memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
    c->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
}

static void raise_nofile(uint32_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        die("getrlimit: %s", strerror(errno));
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)need + 32)
        die("%u sockets need a larger open-file limit than %llu", need,
            (unsigned long long)rl.rlim_cur);
}

static void make_rooms(struct ctx *c)
{
    c->rooms = calloc(c->nrooms, sizeof(*c->rooms));
    c->peers = calloc(c->npeers, sizeof(*c->peers));
    c->rbuf = malloc(RD_CHUNK);
    c->ebuf = malloc(RD_CHUNK);
    c->tbuf = malloc(WR_CHUNK);
    if (!c->rooms || !c->peers || !c->rbuf || !c->ebuf || !c->tbuf)
        die("out of memory");
    for (uint32_t r = 0; r < c->nrooms; r++) {
        uint8_t id[16];
        randombytes_buf(id, sizeof(id));
        sodium_bin2hex(c->rooms[r].hex, sizeof(c->rooms[r].hex), id, sizeof(id));
        uint64_t a, b;
        memcpy(&a, id, 8);
        memcpy(&b, id + 8, 8);
        c->rooms[r].seed[0] = a ^ (b << 17 | b >> 47);
        c->rooms[r].seed[1] = c->rooms[r].seed[0] ^ 0xa5a5a5a5a5a5a5a5ull;
    }
    for (uint32_t i = 0; i < c->npeers; i++)
        c->peers[i].fd = -1;
    c->ep = epoll_create1(EPOLL_CLOEXEC);
    if (c->ep < 0)
        die("epoll_create1: %s", strerror(errno));
}

/* --plain: the two ends of one loopback TCP connection, ready at once. */
static void plain_pair(struct ctx *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &len) != 0)
        die("loopback listener: %s", strerror(errno));
    int s0 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s0 < 0 || connect(s0, (struct sockaddr *)&a, sizeof(a)) != 0)
        die("loopback connect: %s", strerror(errno));
    int s1 = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (s1 < 0)
        die("accept: %s", strerror(errno));
    close(l);
    int fds[2] = {s0, s1};
    for (uint32_t i = 0; i < 2; i++) {
        if (fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK) != 0)
            die("O_NONBLOCK: %s", strerror(errno));
        add_peer(c, i, fds[i], EPOLLIN);
        c->peers[i].state = P_READY;
        c->ready++;
    }
    c->next = c->npeers;
}

static void ctx_free(struct ctx *c)
{
    for (uint32_t i = 0; i < c->npeers; i++) {
        if (c->peers[i].fd >= 0)
            close(c->peers[i].fd);
        free(c->peers[i].head);
    }
    close(c->ep);
    free(c->rooms);
    free(c->peers);
    free(c->rbuf);
    free(c->ebuf);
    free(c->tbuf);
}

static void usage(void)
{
    fprintf(stderr, "usage: relay_load [--check] [--oneway] [--eager] [--relay-pid PID]\n"
                    "                  [--parallel N] [--timeout S] HOST:PORT ROOMS MIB\n"
                    "       relay_load --idle [--relay-pid PID] [--parallel N] HOST:PORT ROOMS\n"
                    "       relay_load --plain [--check] [--oneway] MIB\n");
    exit(2);
}

static unsigned long num(const char *s, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || errno || v > max)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    struct ctx c = {.parallel = 512, .timeout_s = 600, .relay_pid = 0};
    const char *pos[3];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--check"))
            c.check = 1;
        else if (!strcmp(a, "--oneway"))
            c.oneway = 1;
        else if (!strcmp(a, "--eager"))
            c.eager = 1;
        else if (!strcmp(a, "--idle"))
            c.idle = 1;
        else if (!strcmp(a, "--plain"))
            c.plain = 1;
        else if (!strcmp(a, "--relay-pid") && i + 1 < argc)
            c.relay_pid = (long)num(argv[++i], 1u << 30);
        else if (!strcmp(a, "--parallel") && i + 1 < argc)
            c.parallel = (uint32_t)num(argv[++i], 1u << 24);
        else if (!strcmp(a, "--timeout") && i + 1 < argc)
            c.timeout_s = (double)num(argv[++i], 86400);
        else if (a[0] == '-' && a[1] == '-')
            usage();
        else if (npos < 3)
            pos[npos++] = a;
        else
            usage();
    }
    if (sodium_init() < 0)
        die("libsodium failed to start");
    if (c.parallel == 0 || c.idle + c.plain > 1 || (c.idle && (c.eager || c.oneway || c.check)))
        usage();
    if (c.plain) {
        if (npos != 1)
            usage();
        c.nrooms = 1;
        c.bytes = (uint64_t)num(pos[0], 1u << 24) << 20;
    } else {
        if (npos != (c.idle ? 2 : 3))
            usage();
        parse_hostport(&c, pos[0]);
        c.nrooms = (uint32_t)num(pos[1], 1000000);
        if (!c.idle)
            c.bytes = (uint64_t)num(pos[2], 1u << 24) << 20;
    }
    if (c.nrooms == 0)
        usage();
    c.sides = c.idle ? 1 : 2;
    c.npeers = c.nrooms * c.sides;
    raise_nofile(c.npeers);
    make_rooms(&c);

    unsigned long rss0 = c.relay_pid ? proc_kib(c.relay_pid, "VmRSS") : 0;
    double cpu0 = c.relay_pid ? proc_cpu(c.relay_pid) : -1;
    double self0 = self_cpu();
    double t0 = now(), t_go = t0;
    if (c.plain)
        plain_pair(&c);
    int rc = loop(&c, t0, &t_go);
    double t1 = now();
    if (rc != 0) {
        uint32_t cnt[P_FAIL + 1] = {0};
        for (uint32_t i = 0; i < c.npeers; i++)
            cnt[c.peers[i].state]++;
        fprintf(stderr,
                "relay_load: timed out after %.0f s: %u waiting, %u connecting, %u in the "
                "handshake, %u moving data, %u done, %u failed\n",
                c.timeout_s, cnt[P_WAIT], cnt[P_CONN], cnt[P_HEAD], cnt[P_READY], cnt[P_DONE],
                cnt[P_FAIL]);
    }

    if (c.idle) {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        unsigned long rss1 = c.relay_pid ? proc_kib(c.relay_pid, "VmRSS") : 0;
        /* Still open, and nothing came: the relay holds every lone peer. */
        uint32_t closed = 0;
        for (uint32_t i = 0; i < c.npeers; i++) {
            struct pollfd pf = {.fd = c.peers[i].fd, .events = POLLIN | POLLRDHUP};
            if (c.peers[i].state == P_READY && poll(&pf, 1, 0) != 0)
                closed++;
        }
        printf("idle_rooms %u\n", c.nrooms);
        printf("idle_upgraded %u\n", c.ready);
        printf("idle_closed_by_relay %u\n", closed);
        printf("setup_seconds %.3f\n", t_go - t0);
        if (c.relay_pid) {
            printf("relay_rss_before_kib %lu\n", rss0);
            printf("relay_rss_with_kib %lu\n", rss1);
            printf("relay_rss_per_idle_room_bytes %.0f\n",
                   ((double)rss1 - (double)rss0) * 1024.0 / c.nrooms);
        }
        ctx_free(&c);
        return rc != 0 || c.failed || closed ? 1 : 0;
    }

    uint64_t delivered = 0;
    for (uint32_t i = 0; i < c.npeers; i++)
        delivered += c.peers[i].got;
    uint32_t intact = 0;
    for (uint32_t r = 0; r < c.nrooms; r++)
        intact += c.peers[2 * r].state == P_DONE && c.peers[2 * r + 1].state == P_DONE;
    double xfer = t1 - t_go;
    printf("mode %s%s\n", c.plain ? "plain" : "relay", c.oneway ? " oneway" : "");
    printf("rooms %u\n", c.nrooms);
    printf("mib_per_direction %llu\n", (unsigned long long)(c.bytes >> 20));
    printf("content_checked %s\n", c.check ? "yes" : "no");
    printf("setup_seconds %.3f\n", t_go - t0);
    printf("transfer_seconds %.3f\n", xfer);
    printf("wall_seconds %.3f\n", t1 - t0);
    printf("delivered_bytes %llu\n", (unsigned long long)delivered);
    printf("aggregate_MBps %.1f\n", xfer > 0 ? (double)delivered / xfer / 1e6 : 0.0);
    printf("pairs_intact %u\n", intact);
    printf("pairs_failed %u\n", c.nrooms - intact);
    printf("load_cpu_seconds %.2f\n", self_cpu() - self0);
    if (c.relay_pid) {
        double cpu1 = proc_cpu(c.relay_pid);
        printf("relay_peak_rss_kib %lu\n", proc_kib(c.relay_pid, "VmHWM"));
        printf("relay_rss_kib %lu\n", proc_kib(c.relay_pid, "VmRSS"));
        if (cpu0 >= 0 && cpu1 >= 0)
            printf("relay_cpu_seconds %.2f\n", cpu1 - cpu0);
    }
    ctx_free(&c);
    return rc != 0 || intact != c.nrooms ? 1 : 0;
}
