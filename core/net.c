/*
 * net.c - socket helpers; see net.h. Sockets are blocking once connected:
 * the transfer threads rely on SO_RCVTIMEO/SO_SNDTIMEO for stalls rather
 * than on an event loop.
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "rvproto.h"
#include "sys.h"

int64_t net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static socklen_t ss_len(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void tune(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int listen_on(uint16_t port, int shared, int *fd_out, uint16_t *port_out)
{
    int one = 1, zero = 0;
    int fd = sys_socket(AF_INET6, SOCK_STREAM, 0, SYS_CLOEXEC);
    if (fd >= 0) {
        struct sockaddr_in6 a6;
        memset(&a6, 0, sizeof(a6));
        a6.sin6_family = AF_INET6;
        a6.sin6_addr = in6addr_any;
        a6.sin6_port = htons(port);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (shared)
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        if (bind(fd, (struct sockaddr *)&a6, sizeof(a6)) != 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        struct sockaddr_in a4;
        memset(&a4, 0, sizeof(a4));
        a4.sin_family = AF_INET;
        a4.sin_addr.s_addr = htonl(INADDR_ANY);
        a4.sin_port = htons(port);
        fd = sys_socket(AF_INET, SOCK_STREAM, 0, SYS_CLOEXEC);
        if (fd < 0)
            return PCP_ERR_NET;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (shared)
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) != 0) {
            close(fd);
            return PCP_ERR_NET;
        }
    }
    if (listen(fd, 16) != 0) {
        close(fd);
        return PCP_ERR_NET;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        close(fd);
        return PCP_ERR_NET;
    }
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return 0;
}

int net_listen(uint16_t port, int *fd_out, uint16_t *port_out)
{
    return listen_on(port, 0, fd_out, port_out);
}

int net_listen_shared(uint16_t port, int *fd_out, uint16_t *port_out)
{
    return listen_on(port, 1, fd_out, port_out);
}

int net_dial_from(const struct sockaddr_storage *to, uint16_t local_port, int *fd_out)
{
    int one = 1;
    int fd = sys_socket(to->ss_family, SOCK_STREAM, 0, SYS_NONBLOCK | SYS_CLOEXEC);
    if (fd < 0)
        return PCP_ERR_NET;
    if (local_port) {
        struct sockaddr_storage me;
        memset(&me, 0, sizeof(me));
        me.ss_family = to->ss_family;
        if (to->ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&me)->sin6_port = htons(local_port);
        else
            ((struct sockaddr_in *)&me)->sin_port = htons(local_port);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&me, ss_len(&me)) != 0) {
            close(fd);
            return PCP_ERR_NET;
        }
    }
    if (connect(fd, (const struct sockaddr *)to, ss_len(to)) != 0 && errno != EINPROGRESS) {
        int keep = errno;
        close(fd);
        errno = keep;
        return PCP_ERR_NET;
    }
    *fd_out = fd;
    return 0;
}

void net_abort(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd);
}

void net_ready(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    tune(fd);
}

int net_accept(int lfd, int timeout_ms, const atomic_int *cancel, int *fd_out,
               struct sockaddr_storage *peer)
{
    int64_t deadline = net_now_ms() + timeout_ms;
    for (;;) {
        if (cancel && *cancel)
            return PCP_ERR_CANCELLED;
        int64_t left = deadline - net_now_ms();
        if (timeout_ms >= 0 && left <= 0)
            return PCP_ERR_TIMEOUT;
        struct pollfd pfd = {.fd = lfd, .events = POLLIN};
        int wait = timeout_ms < 0 || left > 100 ? 100 : (int)left;
        int r = poll(&pfd, 1, wait);
        if (r < 0 && errno != EINTR)
            return PCP_ERR_NET;
        if (r <= 0)
            continue;
        socklen_t sl = sizeof(*peer);
        int fd = sys_accept(lfd, (struct sockaddr *)peer, &sl, SYS_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
                continue;
            return PCP_ERR_NET;
        }
        tune(fd);
        *fd_out = fd;
        return 0;
    }
}

int net_connect_race(const struct sockaddr_storage *addrs, size_t n, uint16_t local_port,
                     int stagger_ms, int timeout_ms, const atomic_int *cancel, int *fd_out,
                     struct sockaddr_storage *peer)
{
    enum { MAXC = 32 };
    struct pollfd pfd[MAXC];
    size_t idx[MAXC];
    size_t started = 0, live = 0;
    int result = PCP_ERR_NET;
    if (n > MAXC)
        n = MAXC;
    int64_t t0 = net_now_ms(), next = t0;
    for (;;) {
        int64_t now = net_now_ms();
        if (cancel && *cancel) {
            result = PCP_ERR_CANCELLED;
            break;
        }
        if (now - t0 >= timeout_ms) {
            result = live || started < n ? PCP_ERR_TIMEOUT : result;
            break;
        }
        /* Start the next dial when its turn comes, or at once when all
         * earlier ones have failed. */
        while (started < n && (now >= next || live == 0)) {
            const struct sockaddr_storage *a = &addrs[started++];
            int fd;
            if (net_dial_from(a, local_port, &fd) != 0)
                continue;
            pfd[live].fd = fd;
            pfd[live].events = POLLOUT;
            idx[live] = started - 1;
            live++;
            next = now + stagger_ms;
        }
        if (live == 0 && started >= n)
            break;
        int wait = 50;
        int r = poll(pfd, (nfds_t)live, wait);
        if (r < 0 && errno != EINTR)
            break;
        for (size_t i = 0; r > 0 && i < live; i++) {
            if (!pfd[i].revents)
                continue;
            int err = 0;
            socklen_t el = sizeof(err);
            getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err == 0 && (pfd[i].revents & POLLOUT)) {
                int fd = pfd[i].fd;
                net_ready(fd);
                *fd_out = fd;
                *peer = addrs[idx[i]];
                pfd[i] = pfd[--live];
                idx[i] = idx[live];
                result = 0;
                goto out;
            }
            close(pfd[i].fd);
            pfd[i] = pfd[--live];
            idx[i] = idx[live];
            i--;
        }
    }
out:
    for (size_t i = 0; i < live; i++)
        close(pfd[i].fd);
    return result;
}

int net_set_timeout(int fd, int timeout_ms)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
        return PCP_ERR_NET;
    return 0;
}

int net_wait_by(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - net_now_ms();
        if (left <= 0)
            return PCP_ERR_TIMEOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r < 0 && errno != EINTR)
            return PCP_ERR_NET;
        if (r > 0)
            return (p.revents & POLLNVAL) ? PCP_ERR_NET : 0;
    }
}

int net_set_nonblock(int fd, int on, int *was)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return PCP_ERR_NET;
    if (was)
        *was = (fl & O_NONBLOCK) != 0;
    int want = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
    return want == fl || fcntl(fd, F_SETFL, want) == 0 ? 0 : PCP_ERR_NET;
}

static int io_err(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK ? PCP_ERR_TIMEOUT : PCP_ERR_NET;
}

int net_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, SYS_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EPIPE || errno == ECONNRESET ? PCP_ERR_CLOSED : io_err();
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int net_read_all(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n > 0) {
        ssize_t r = recv(fd, b, n, 0);
        if (r == 0)
            return PCP_ERR_CLOSED;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno == ECONNRESET ? PCP_ERR_CLOSED : io_err();
        }
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

void net_addr_str(const struct sockaddr_storage *ss, int with_port, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        unsigned port = ntohs(a->sin_port);
        if (with_port)
            snprintf(out, outlen, "%s:%u", host, port);
        else
            snprintf(out, outlen, "%s", host);
        return;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], host, sizeof(host));
        } else {
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
            char ifn[IF_NAMESIZE];
            if (a->sin6_scope_id && if_indextoname(a->sin6_scope_id, ifn)) {
                size_t l = strlen(host);
                snprintf(host + l, sizeof(host) - l, "%%%s", ifn);
            }
        }
        unsigned port = ntohs(a->sin6_port);
        int bracket = !IN6_IS_ADDR_V4MAPPED(&a->sin6_addr);
        if (with_port)
            snprintf(out, outlen, bracket ? "[%s]:%u" : "%s:%u", host, port);
        else
            snprintf(out, outlen, "%s", host);
        return;
    }
    snprintf(out, outlen, "?");
}

void net_addr_unmap(struct sockaddr_storage *ss)
{
    const struct sockaddr_in6 s6 = *(const struct sockaddr_in6 *)ss;
    if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr))
        return;
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    memset(ss, 0, sizeof(*ss));
    s4->sin_family = AF_INET;
    memcpy(&s4->sin_addr, &s6.sin6_addr.s6_addr[12], 4);
    s4->sin_port = s6.sin6_port;
}

int net_addr_same(const struct sockaddr_storage *x, const struct sockaddr_storage *y, int with_port)
{
    if (x->ss_family != y->ss_family)
        return 0;
    if (x->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)x,
                                 *b = (const struct sockaddr_in *)y;
        return a->sin_addr.s_addr == b->sin_addr.s_addr &&
               (!with_port || a->sin_port == b->sin_port);
    }
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)x,
                              *b = (const struct sockaddr_in6 *)y;
    return memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0 && a->sin6_scope_id == b->sin6_scope_id &&
           (!with_port || a->sin6_port == b->sin6_port);
}

int net_addr_is_local(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            struct sockaddr_storage v4 = *ss;
            net_addr_unmap(&v4);
            return net_addr_is_local(&v4);
        }
        return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
               (a->s6_addr[0] & 0xfe) == 0xfc;
    }
    if (ss->ss_family == AF_INET) {
        uint32_t h = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
        return (h >> 24) == 127 || (h >> 24) == 10 || (h >> 20) == 0xac1 || (h >> 16) == 0xc0a8 ||
               (h >> 16) == 0xa9fe;
    }
    return 0;
}

/* The address format of the relay protocol and the DHT record: numeric
 * hosts only, no names, the port 1 to 65535 (rvproto.h's decimal parser). */
int net_addr_parse(const char *s, size_t len, struct sockaddr_storage *out)
{
    char host[INET6_ADDRSTRLEN];
    const char *h, *port;
    size_t hl;
    uint64_t portnum;
    int v6 = 0;

    if (!out)
        return PCP_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    if (!s || len == 0)
        return PCP_ERR_PROTO;
    if (s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (!rb || (size_t)(rb - s) + 1 >= len || rb[1] != ':')
            return PCP_ERR_PROTO;
        h = s + 1;
        hl = (size_t)(rb - h);
        port = rb + 2;
        v6 = 1;
    } else {
        const char *colon = memchr(s, ':', len);
        if (!colon)
            return PCP_ERR_PROTO;
        h = s;
        hl = (size_t)(colon - s);
        port = colon + 1;
    }
    if (hl == 0 || hl >= sizeof(host) || memchr(h, '\0', hl) != NULL ||
        rvp_dec(port, len - (size_t)(port - s), 5, 65535, &portnum) != 0 || portnum == 0)
        return PCP_ERR_PROTO;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return PCP_ERR_PROTO;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)portnum);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)out;
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return PCP_ERR_PROTO;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)portnum);
    }
    return 0;
}
