/*
 * mdns.c - announcing a sender over multicast DNS and finding one
 * (RFC 6762, DNS-SD RFC 6763).
 *
 * The responder answers only for its own instance, its host name and the
 * _pcp._tcp service PTR, and only to queries that arrived on a chosen
 * interface addressed to the mDNS group (so it never tells an off-link
 * host anything). The querier asks from an ephemeral port and accepts only
 * answers about the names it asked for, from on-link sources.
 * Nothing here prints; every failure is a negative enum pcp_err.
 */
#define __APPLE_USE_RFC_3542 /* macOS: IPV6_RECVPKTINFO, struct in6_pktinfo */
#include "mdns_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "net.h"
#include "sys.h"

uint64_t (*mdns_clock_ns)(void) = discovery_now_ns;

/* Pure part: names, answers, announcements, the querier's state. */

int mdns_names_init(struct mdns_names *n, uint64_t bucket, unsigned channel)
{
    char label[MDNS_INSTANCE_LEN], text[96];
    int e;

    memset(n, 0, sizeof(*n));
    n->bucket = bucket;
    if ((e = mdns_instance_name(label, sizeof(label), bucket, channel)) != 0)
        return e;
    if ((e = dns_name_from_text(&n->service, MDNS_SERVICE)) != 0)
        return e;
    snprintf(text, sizeof(text), "%s.%s", label, MDNS_SERVICE);
    if ((e = dns_name_from_text(&n->instance, text)) != 0)
        return e;
    snprintf(text, sizeof(text), "%s.local", label);
    return dns_name_from_text(&n->host, text);
}

enum { R_PTR = 1, R_SRV = 2, R_TXT = 4, R_A = 8, R_AAAA = 16 };

static void add_records(struct dns_builder *b, int section, const struct mdns_service *s,
                        const struct mdns_names *n, const struct mdns_addrs *a, unsigned which,
                        uint32_t ttl, int cf)
{
    if (which & R_PTR)
        dns_add_ptr(b, section, &n->service, ttl, &n->instance);
    if (which & R_SRV)
        dns_add_srv(b, section, &n->instance, cf, ttl, 0, 0, s->port, &n->host);
    if (which & R_TXT)
        dns_add_txt(b, section, &n->instance, cf, ttl, s->txt);
    if (which & R_A)
        for (size_t i = 0; i < a->n4; i++)
            dns_add_a(b, section, &n->host, cf, ttl, a->a4[i]);
    if (which & R_AAAA)
        for (size_t i = 0; i < a->n6; i++)
            dns_add_aaaa(b, section, &n->host, cf, ttl, a->a6[i]);
}

int mdns_answer(const struct mdns_service *s, const struct mdns_addrs *a, const struct dns_msg *q,
                int legacy, struct dns_builder *b, unsigned *inst_mask, int *all_qu)
{
    unsigned ans[2] = {0, 0}, add[2] = {0, 0};
    int matched = 0, qu = 1;

    dns_builder_init(b, legacy ? q->id : 0, DNS_FLAG_QR | DNS_FLAG_AA);
    *inst_mask = 0;
    *all_qu = 0;
    if ((q->flags & DNS_FLAG_QR) || DNS_OPCODE(q->flags) != 0)
        return 0;
    for (size_t k = 0; k < q->nq; k++) {
        const struct dns_question *qq = &q->q[k];
        uint16_t t = qq->type;
        int any = t == DNS_TYPE_ANY, hit = 0;
        if (qq->klass != DNS_CLASS_IN && qq->klass != DNS_CLASS_ANY)
            continue;
        for (int i = 0; i < s->ninst && i < 2; i++) {
            const struct mdns_names *n = &s->inst[i];
            unsigned before = ans[i];
            /* Browsing finds the current instance only; the previous one
             * is for receivers that ask for it by name. */
            if (i == 0 && dns_name_eq(&qq->name, &n->service) && (any || t == DNS_TYPE_PTR)) {
                ans[i] |= R_PTR;
                add[i] |= R_SRV | R_TXT | R_A | R_AAAA;
            }
            if (dns_name_eq(&qq->name, &n->instance)) {
                if (any || t == DNS_TYPE_SRV) {
                    ans[i] |= R_SRV;
                    add[i] |= R_A | R_AAAA;
                }
                if (any || t == DNS_TYPE_TXT)
                    ans[i] |= R_TXT;
            }
            if (dns_name_eq(&qq->name, &n->host)) {
                if ((any || t == DNS_TYPE_A) && a->n4 > 0)
                    ans[i] |= R_A;
                if ((any || t == DNS_TYPE_AAAA) && a->n6 > 0)
                    ans[i] |= R_AAAA;
            }
            if (ans[i] != before) {
                *inst_mask |= 1u << i;
                hit = 1;
            }
        }
        if (hit) {
            matched = 1;
            qu &= qq->unicast;
        }
    }
    if (!matched)
        return 0;
    *all_qu = qu;
    uint32_t ttl = legacy ? MDNS_LEGACY_TTL : MDNS_TTL;
    int cf = !legacy;
    if (legacy)
        for (size_t k = 0; k < q->nq; k++)
            dns_add_question(b, &q->q[k].name, q->q[k].type, 0);
    for (int i = 0; i < 2; i++)
        if (ans[i])
            add_records(b, DNS_SEC_AN, s, &s->inst[i], a, ans[i], ttl, cf);
    for (int i = 0; i < 2; i++)
        if (add[i] & ~ans[i])
            add_records(b, DNS_SEC_AR, s, &s->inst[i], a, add[i] & ~ans[i], ttl, cf);
    int e = dns_builder_finish(b);
    return e ? e : 1;
}

int mdns_announce_build(const struct mdns_service *s, int i, const struct mdns_addrs *a,
                        uint32_t ttl, struct dns_builder *b)
{
    dns_builder_init(b, 0, DNS_FLAG_QR | DNS_FLAG_AA);
    if (i < 0 || i >= s->ninst || i > 1)
        return PCP_ERR_INVAL;
    add_records(b, DNS_SEC_AN, s, &s->inst[i], a, R_PTR | R_SRV | R_TXT | R_A | R_AAAA, ttl, 1);
    return dns_builder_finish(b);
}

int mdns_query_init(struct mdns_query *q, uint64_t bucket, unsigned channel)
{
    int e;
    memset(q, 0, sizeof(*q));
    if ((e = mdns_names_init(&q->want[0], bucket, channel)) != 0)
        return e;
    q->nwant = 1;
    if (bucket >= DISCOVERY_BUCKET_NS) {
        if ((e = mdns_names_init(&q->want[1], bucket - DISCOVERY_BUCKET_NS, channel)) != 0)
            return e;
        q->nwant = 2;
    }
    return 0;
}

int mdns_query_build(const struct mdns_query *q, uint16_t id, struct dns_builder *b)
{
    dns_builder_init(b, id, 0);
    if (!q->have_srv) {
        for (size_t i = 0; i < q->nwant; i++) {
            dns_add_question(b, &q->want[i].instance, DNS_TYPE_SRV, 1);
            dns_add_question(b, &q->want[i].instance, DNS_TYPE_TXT, 1);
        }
    } else {
        if (!q->have_txt)
            dns_add_question(b, &q->instance, DNS_TYPE_TXT, 1);
        if (!q->have_host) {
            dns_add_question(b, &q->target, DNS_TYPE_A, 1);
            dns_add_question(b, &q->target, DNS_TYPE_AAAA, 1);
        }
    }
    return dns_builder_finish(b);
}

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
    }
    return 0;
}

/* Append ss (port set to the record's) unless full, unusable or known. */
static int add_addr(struct mdns_record *rec, const struct sockaddr_storage *ss, unsigned ifindex)
{
    struct sockaddr_storage c;
    memset(&c, 0, sizeof(c));
    if (ss->ss_family == AF_INET) {
        struct sockaddr_in *d = (struct sockaddr_in *)&c;
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        uint32_t h = ntohl(s4->sin_addr.s_addr);
        if (h == 0 || h >= 0xe0000000u) /* unspecified, multicast, reserved, broadcast */
            return 0;
        d->sin_family = AF_INET;
        d->sin_addr = s4->sin_addr;
        d->sin_port = htons(rec->port);
    } else if (ss->ss_family == AF_INET6) {
        struct sockaddr_in6 *d = (struct sockaddr_in6 *)&c;
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) || IN6_IS_ADDR_MULTICAST(&s6->sin6_addr) ||
            IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
            return 0;
        d->sin6_family = AF_INET6;
        d->sin6_addr = s6->sin6_addr;
        d->sin6_port = htons(rec->port);
        if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr))
            d->sin6_scope_id = ifindex;
    } else {
        return 0;
    }
    for (size_t i = 0; i < rec->naddr; i++)
        if (net_addr_same(&rec->addr[i], &c, 0))
            return 0;
    if (rec->naddr >= MDNS_MAX_ADDRS)
        return 0;
    rec->addr[rec->naddr++] = c;
    return 1;
}

static int wanted(const struct mdns_query *q, const struct dns_name *n)
{
    for (size_t i = 0; i < q->nwant; i++)
        if (dns_name_eq(n, &q->want[i].instance))
            return 1;
    return 0;
}

int mdns_query_feed(struct mdns_query *q, const struct dns_msg *m,
                    const struct sockaddr_storage *src, unsigned ifindex)
{
    int learnt = 0, src_lo = is_loopback(src);

    if (!(m->flags & DNS_FLAG_QR) || DNS_OPCODE(m->flags) != 0 || DNS_RCODE(m->flags) != 0)
        return 0;
    /* SRV first, then TXT and addresses, so that their order in the
     * packet does not matter. TTL 0 is a goodbye, not an answer. */
    for (size_t i = 0; i < m->nrr && !q->have_srv; i++) {
        const struct dns_rr *rr = &m->rr[i];
        if (rr->type != DNS_TYPE_SRV || rr->klass != DNS_CLASS_IN || rr->ttl == 0 ||
            rr->u.srv.port == 0 || !wanted(q, &rr->name))
            continue;
        q->have_srv = 1;
        q->instance = rr->name;
        q->target = rr->u.srv.target;
        q->rec.port = rr->u.srv.port;
        add_addr(&q->rec, src, ifindex); /* the answer's source goes first */
        learnt = 1;
    }
    if (!q->have_srv)
        return 0;
    for (size_t i = 0; i < m->nrr; i++) {
        const struct dns_rr *rr = &m->rr[i];
        struct sockaddr_storage ss;
        if (rr->klass != DNS_CLASS_IN || rr->ttl == 0)
            continue;
        if (rr->type == DNS_TYPE_TXT && !q->have_txt && dns_name_eq(&rr->name, &q->instance)) {
            dns_txt_join(rr, q->rec.txt, sizeof(q->rec.txt));
            q->have_txt = 1;
            learnt = 1;
            continue;
        }
        if ((rr->type != DNS_TYPE_A && rr->type != DNS_TYPE_AAAA) ||
            !dns_name_eq(&rr->name, &q->target))
            continue;
        memset(&ss, 0, sizeof(ss));
        if (rr->type == DNS_TYPE_A) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            s4->sin_family = AF_INET;
            memcpy(&s4->sin_addr, rr->u.a, 4);
        } else {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            s6->sin6_family = AF_INET6;
            memcpy(&s6->sin6_addr, rr->u.aaaa, 16);
        }
        /* A remote host naming a loopback address would send us to a
         * service of our own machine. */
        if (is_loopback(&ss) && !src_lo)
            continue;
        q->have_host = 1;
        learnt |= add_addr(&q->rec, &ss, ifindex);
    }
    return learnt;
}

int mdns_query_complete(const struct mdns_query *q)
{
    return q->have_srv && q->have_txt && q->have_host && q->rec.naddr > 0;
}

/* Sockets and interfaces. */

#define MAX_IFACES 32

struct iface {
    unsigned idx;
    int loopback;
    int joined4, joined6;
    struct mdns_addrs a;
    uint8_t m4[MDNS_MAX_ADDRS][4]; /* netmasks, for the on-link check */
    uint8_t m6[MDNS_MAX_ADDRS][16];
    /* responder only */
    int ann_left;        /* announcements still to send */
    uint64_t ann_at;     /* when the next one is due (ms) */
    uint64_t last_mc[2]; /* last multicast of inst[i] here (ms) */
    unsigned pend;       /* multicast answers held back by the 1 s rule */
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct iface *find_iface(struct iface *ifs, size_t n, unsigned idx)
{
    for (size_t i = 0; i < n; i++)
        if (ifs[i].idx == idx)
            return &ifs[i];
    return NULL;
}

/* The up, multicast-capable interfaces (or just `only`) with their
 * addresses. State kept per interface (joins, timers) is carried over from
 * the previous list by index. */
static int scan_ifaces(struct iface *ifs, size_t *n, unsigned only)
{
    struct ifaddrs *all, *ifa;
    struct iface *next = calloc(MAX_IFACES, sizeof(*next));
    size_t nn = 0;

    if (!next)
        return PCP_ERR_NOMEM;
    if (getifaddrs(&all) != 0) {
        free(next);
        return PCP_ERR_NET;
    }
    for (ifa = all; ifa; ifa = ifa->ifa_next) {
        unsigned idx;
        struct iface *f;
        if (!ifa->ifa_name ||
            (ifa->ifa_flags & (IFF_UP | IFF_MULTICAST)) != (IFF_UP | IFF_MULTICAST))
            continue;
        if ((idx = if_nametoindex(ifa->ifa_name)) == 0 || (only && idx != only))
            continue;
        if (!(f = find_iface(next, nn, idx))) {
            if (nn == MAX_IFACES)
                continue;
            f = &next[nn++];
            struct iface *old = find_iface(ifs, *n, idx);
            if (old) {
                *f = *old;
            } else {
                memset(f, 0, sizeof(*f));
                f->idx = idx;
            }
            f->loopback = (ifa->ifa_flags & IFF_LOOPBACK) != 0;
            f->a.n4 = f->a.n6 = 0;
        }
        if (!ifa->ifa_addr)
            continue;
        if (ifa->ifa_addr->sa_family == AF_INET && f->a.n4 < MDNS_MAX_ADDRS) {
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)ifa->ifa_addr;
            memcpy(f->a.a4[f->a.n4], &s4->sin_addr, 4);
            memset(f->m4[f->a.n4], 0xff, 4);
            if (ifa->ifa_netmask)
                memcpy(f->m4[f->a.n4], &((const struct sockaddr_in *)ifa->ifa_netmask)->sin_addr,
                       4);
            f->a.n4++;
        } else if (ifa->ifa_addr->sa_family == AF_INET6 && f->a.n6 < MDNS_MAX_ADDRS) {
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ifa->ifa_addr;
            memcpy(f->a.a6[f->a.n6], &s6->sin6_addr, 16);
            memset(f->m6[f->a.n6], 0xff, 16);
            if (ifa->ifa_netmask)
                memcpy(f->m6[f->a.n6], &((const struct sockaddr_in6 *)ifa->ifa_netmask)->sin6_addr,
                       16);
            f->a.n6++;
        }
    }
    freeifaddrs(all);
    memcpy(ifs, next, nn * sizeof(*next));
    *n = nn;
    free(next);
    return 0;
}

/* 1 when src is an address of this host, on any interface. */
static int own_addr(const struct sockaddr_storage *src)
{
    struct ifaddrs *all, *ifa;
    int own = 0;
    if (getifaddrs(&all) != 0)
        return 0;
    for (ifa = all; ifa && !own; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != src->ss_family)
            continue;
        struct sockaddr_storage a;
        memset(&a, 0, sizeof(a));
        memcpy(&a, ifa->ifa_addr,
               src->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                         : sizeof(struct sockaddr_in6));
        if (src->ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&a)->sin6_scope_id =
                ((const struct sockaddr_in6 *)src)->sin6_scope_id;
        own = net_addr_same(&a, src, 0);
    }
    freeifaddrs(all);
    return own;
}

/* RFC 6762 section 11: take answers only from the link, or from this host
 * itself (with discovery kept to lo, a packet multicast there, or a
 * unicast reply, carries the host's own address of another interface). */
static int on_link(const struct iface *ifs, size_t n, const struct sockaddr_storage *src)
{
    if (is_loopback(src))
        return 1;
    if (src->ss_family == AF_INET6 &&
        IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)src)->sin6_addr))
        return 1;
    for (size_t i = 0; i < n; i++) {
        const struct iface *f = &ifs[i];
        if (src->ss_family == AF_INET) {
            const uint8_t *s = (const uint8_t *)&((const struct sockaddr_in *)src)->sin_addr;
            for (size_t k = 0; k < f->a.n4; k++) {
                size_t j = 0;
                while (j < 4 && (s[j] & f->m4[k][j]) == (f->a.a4[k][j] & f->m4[k][j]))
                    j++;
                if (j == 4)
                    return 1;
            }
        } else if (src->ss_family == AF_INET6) {
            const uint8_t *s = (const uint8_t *)&((const struct sockaddr_in6 *)src)->sin6_addr;
            for (size_t k = 0; k < f->a.n6; k++) {
                size_t j = 0;
                while (j < 16 && (s[j] & f->m6[k][j]) == (f->a.a6[k][j] & f->m6[k][j]))
                    j++;
                if (j == 16)
                    return 1;
            }
        }
    }
    return own_addr(src);
}

static int open_sock(int family, uint16_t port)
{
    int s = sys_socket(family, SOCK_DGRAM, 0, SYS_CLOEXEC | SYS_NONBLOCK);
    int one = 1, hops = 255;

    if (s < 0)
        return -1;
    if (port) {
        if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
            goto fail;
#ifdef SO_REUSEPORT
        if (setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
            goto fail;
#endif
    }
    if (family == AF_INET) {
        struct sockaddr_in sa;
        if (setsockopt(s, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) != 0 ||
            setsockopt(s, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one)) != 0 ||
            setsockopt(s, IPPROTO_IP, IP_MULTICAST_TTL, &hops, sizeof(hops)) != 0 ||
            setsockopt(s, IPPROTO_IP, IP_TTL, &hops, sizeof(hops)) != 0)
            goto fail;
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_ANY);
        if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            goto fail;
    } else {
        struct sockaddr_in6 sa;
        if (setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0 ||
            setsockopt(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) != 0 ||
            setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &one, sizeof(one)) != 0 ||
            setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) != 0 ||
            setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) != 0)
            goto fail;
        memset(&sa, 0, sizeof(sa));
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons(port);
        sa.sin6_addr = in6addr_any;
        if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            goto fail;
    }
    return s;
fail:
    close(s);
    return -1;
}

static void join(int s4, int s6, struct iface *f)
{
    /* MCAST_JOIN_GROUP names the interface by its index on Linux, macOS
     * and the BSDs alike (macOS reads only an ip_mreq from
     * IP_ADD_MEMBERSHIP, and would ignore an ip_mreqn's index). */
    if (s4 >= 0 && !f->joined4) {
        struct group_req g;
        memset(&g, 0, sizeof(g));
        g.gr_interface = f->idx;
        struct sockaddr_in *a = (struct sockaddr_in *)&g.gr_group;
        a->sin_family = AF_INET;
        inet_pton(AF_INET, "224.0.0.251", &a->sin_addr);
        if (setsockopt(s4, IPPROTO_IP, MCAST_JOIN_GROUP, &g, sizeof(g)) == 0 || errno == EADDRINUSE)
            f->joined4 = 1;
    }
    if (s6 >= 0 && !f->joined6) {
        struct group_req g;
        memset(&g, 0, sizeof(g));
        g.gr_interface = f->idx;
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&g.gr_group;
        a->sin6_family = AF_INET6;
        inet_pton(AF_INET6, "ff02::fb", &a->sin6_addr);
        if (setsockopt(s6, IPPROTO_IPV6, MCAST_JOIN_GROUP, &g, sizeof(g)) == 0 ||
            errno == EADDRINUSE)
            f->joined6 = 1;
    }
}

/* Whether a packet that arrived on interface ifindex is for the querier:
 * only from an interface it asks on (a socket in the group also gets what
 * other sockets joined elsewhere). A loopback interface carries only this
 * host's packets, multicast on it (in a namespace with nothing but lo)
 * from the unspecified address: such a source becomes the loopback
 * address, which is what it means. */
static int heard_on(const struct iface *ifs, size_t n, unsigned ifindex,
                    struct sockaddr_storage *src)
{
    const struct iface *f = NULL;
    for (size_t i = 0; i < n && !f; i++)
        if (ifs[i].idx == ifindex)
            f = &ifs[i];
    if (!f)
        return 0;
    if (f->loopback && src->ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)src;
        if (a->sin_addr.s_addr == htonl(INADDR_ANY))
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (f->loopback && src->ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)src;
        if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
            a->sin6_addr = in6addr_loopback;
    }
    return 1;
}

/* The interface IPv4 multicast leaves by: by index where the system
 * takes one (Linux's ip_mreqn, macOS's IP_MULTICAST_IFINDEX), else by
 * the interface's first address. */
static int mcast_if4(int s4, const struct iface *f)
{
#if SYS_LINUX
    struct ip_mreqn m;
    memset(&m, 0, sizeof(m));
    m.imr_ifindex = (int)f->idx;
    return setsockopt(s4, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof(m));
#elif defined(IP_MULTICAST_IFINDEX)
    unsigned idx = f->idx;
    return setsockopt(s4, IPPROTO_IP, IP_MULTICAST_IFINDEX, &idx, sizeof(idx));
#else
    struct in_addr a;
    memcpy(&a, f->a.a4[0], 4);
    return setsockopt(s4, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof(a));
#endif
}

/* Send p to the mDNS group on interface f over whichever families it has
 * addresses for. */
static void send_mcast(int s4, int s6, const struct iface *f, const uint8_t *p, size_t len)
{
    if (s4 >= 0 && f->a.n4 > 0) {
        struct sockaddr_in to;
        memset(&to, 0, sizeof(to));
        to.sin_family = AF_INET;
        to.sin_port = htons(MDNS_PORT);
        inet_pton(AF_INET, "224.0.0.251", &to.sin_addr);
        if (mcast_if4(s4, f) == 0)
            (void)!sendto(s4, p, len, 0, (struct sockaddr *)&to, sizeof(to));
    }
    if (s6 >= 0 && f->a.n6 > 0) {
        struct sockaddr_in6 to;
        int idx = (int)f->idx;
        memset(&to, 0, sizeof(to));
        to.sin6_family = AF_INET6;
        to.sin6_port = htons(MDNS_PORT);
        to.sin6_scope_id = f->idx;
        inet_pton(AF_INET6, "ff02::fb", &to.sin6_addr);
        if (setsockopt(s6, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx)) == 0)
            (void)!sendto(s6, p, len, 0, (struct sockaddr *)&to, sizeof(to));
    }
}

/* One datagram with its source, arrival interface and whether it was sent
 * to a multicast group. 0 = got one, 1 = nothing left, <0 = error. */
static int recv_pkt(int s, uint8_t *buf, size_t cap, size_t *len, struct sockaddr_storage *src,
                    unsigned *ifindex, int *to_group)
{
    union {
        struct cmsghdr h;
        uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
    } cb;
    struct iovec iov = {buf, cap};
    struct msghdr mh;
    struct cmsghdr *c;

    memset(&mh, 0, sizeof(mh));
    memset(src, 0, sizeof(*src));
    mh.msg_name = src;
    mh.msg_namelen = sizeof(*src);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cb.b;
    mh.msg_controllen = sizeof(cb.b);
    ssize_t n = recvmsg(s, &mh, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 1 : PCP_ERR_NET;
    *len = (size_t)n;
    *ifindex = 0;
    *to_group = 0;
    for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            *ifindex = (unsigned)pi.ipi_ifindex;
            *to_group = IN_MULTICAST(ntohl(pi.ipi_addr.s_addr));
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            *ifindex = pi.ipi6_ifindex;
            *to_group = IN6_IS_ADDR_MULTICAST(&pi.ipi6_addr);
        }
    }
    if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        *len = 0; /* larger than any mDNS packet: drop it */
    return 0;
}

/* The responder. */

#define RESCAN_MS 5000
#define ANNOUNCE_GAP_MS 1000
#define MC_GAP_MS 1000 /* RFC 6762 section 6: one multicast per record per second */

struct mdns_responder {
    pthread_t th;
    int wake[2];
    int s4, s6;
    unsigned only;
    unsigned channel;
    struct mdns_service svc;
    struct iface ifs[MAX_IFACES];
    size_t nifs;
    uint64_t scanned_at;
    uint8_t pkt[DNS_PKT_MAX];
    struct dns_msg msg;
};

static void announce_iface(struct mdns_responder *r, struct iface *f, int i, uint32_t ttl,
                           uint64_t now)
{
    struct dns_builder b;
    if (mdns_announce_build(&r->svc, i, &f->a, ttl, &b) == 0) {
        send_mcast(r->s4, r->s6, f, b.w.p, b.w.len);
        f->last_mc[i] = now;
    }
    dns_builder_free(&b);
}

static void rescan(struct mdns_responder *r, uint64_t now)
{
    size_t before = r->nifs;
    unsigned old[MAX_IFACES];
    for (size_t i = 0; i < before; i++)
        old[i] = r->ifs[i].idx;
    if (scan_ifaces(r->ifs, &r->nifs, r->only) != 0)
        return;
    for (size_t i = 0; i < r->nifs; i++) {
        struct iface *f = &r->ifs[i];
        int known = 0;
        for (size_t k = 0; k < before; k++)
            known |= old[k] == f->idx;
        join(r->s4, r->s6, f);
        if (!known) { /* a new interface: announce there too */
            f->ann_left = 2;
            f->ann_at = now;
        }
    }
    r->scanned_at = now;
}

/* The bucket moved on: the current instance becomes the previous one, the
 * one before is withdrawn, and the new one is announced. */
static void roll(struct mdns_responder *r, uint64_t bucket, uint64_t now)
{
    struct mdns_names next;
    if (mdns_names_init(&next, bucket, r->channel) != 0)
        return;
    if (r->svc.ninst == 2)
        for (size_t k = 0; k < r->nifs; k++)
            announce_iface(r, &r->ifs[k], 1, 0, now);
    r->svc.inst[1] = r->svc.inst[0];
    r->svc.inst[0] = next;
    r->svc.ninst = 2;
    for (size_t k = 0; k < r->nifs; k++) {
        struct iface *f = &r->ifs[k];
        f->last_mc[1] = f->last_mc[0];
        f->last_mc[0] = 0;
        f->pend = (f->pend & 1u) << 1;
        f->ann_left = 2;
        f->ann_at = now;
    }
}

static void handle_query(struct mdns_responder *r, int s, size_t len,
                         const struct sockaddr_storage *src, unsigned ifindex, int to_group,
                         uint64_t now)
{
    struct iface *f = find_iface(r->ifs, r->nifs, ifindex);
    struct dns_builder b;
    unsigned mask;
    int qu, legacy, e;
    uint16_t sport;

    /* Only what reached the group on one of our interfaces: a unicast
     * packet may come from anywhere, and we talk only to the link. */
    if (!f || !to_group || len == 0 || dns_parse(&r->msg, r->pkt, len) != 0)
        return;
    if (src->ss_family == AF_INET)
        sport = ntohs(((const struct sockaddr_in *)src)->sin_port);
    else
        sport = ntohs(((const struct sockaddr_in6 *)src)->sin6_port);
    legacy = sport != MDNS_PORT;
    e = mdns_answer(&r->svc, &f->a, &r->msg, legacy, &b, &mask, &qu);
    if (e == 1) {
        /* A QU question gets a unicast answer, unless the records have not
         * been multicast here for a quarter of their TTL (RFC 6762 5.4). */
        int recent = 1;
        for (int i = 0; i < 2; i++)
            if ((mask & (1u << i)) && now - f->last_mc[i] > MDNS_TTL * 1000 / 4)
                recent = 0;
        if (legacy || (qu && recent)) {
            struct sockaddr_storage to = *src;
            if (to.ss_family == AF_INET6 &&
                IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)&to)->sin6_addr))
                ((struct sockaddr_in6 *)&to)->sin6_scope_id = ifindex;
            socklen_t tl =
                to.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
            (void)!sendto(s, b.w.p, b.w.len, 0, (struct sockaddr *)&to, tl);
        } else {
            f->pend |= mask; /* sent from the timer, at most once a second */
        }
    }
    dns_builder_free(&b);
}

static void timers(struct mdns_responder *r, uint64_t now, uint64_t *next)
{
    uint64_t bucket = discovery_bucket(mdns_clock_ns());
    if (bucket != r->svc.inst[0].bucket && bucket > r->svc.inst[0].bucket)
        roll(r, bucket, now);
    if (now - r->scanned_at >= RESCAN_MS)
        rescan(r, now);
    *next = now + RESCAN_MS;
    for (size_t k = 0; k < r->nifs; k++) {
        struct iface *f = &r->ifs[k];
        if (f->ann_left > 0) {
            if (now >= f->ann_at) {
                announce_iface(r, f, 0, MDNS_TTL, now);
                f->pend &= ~1u;
                f->ann_left--;
                f->ann_at = now + ANNOUNCE_GAP_MS;
            }
            if (f->ann_left > 0 && f->ann_at < *next)
                *next = f->ann_at;
        }
        for (int i = 0; i < r->svc.ninst; i++) {
            if (!(f->pend & (1u << i)))
                continue;
            uint64_t due = f->last_mc[i] + MC_GAP_MS;
            if (f->last_mc[i] == 0 || now >= due) {
                announce_iface(r, f, i, MDNS_TTL, now);
                f->pend &= ~(1u << i);
            } else if (due < *next) {
                *next = due;
            }
        }
    }
}

static void *responder_main(void *arg)
{
    struct mdns_responder *r = arg;
    struct pollfd pf[3];
    uint64_t next = 0;

    for (;;) {
        uint64_t now = mono_ms();
        timers(r, now, &next);
        now = mono_ms();
        int wait = next > now ? (int)(next - now) : 0;
        if (wait > 1000) /* look at the clock for the bucket every second */
            wait = 1000;
        pf[0].fd = r->wake[0];
        pf[1].fd = r->s4;
        pf[2].fd = r->s6;
        for (int i = 0; i < 3; i++) {
            pf[i].events = POLLIN;
            pf[i].revents = 0;
        }
        if (poll(pf, 3, wait) < 0 && errno != EINTR)
            break;
        if (pf[0].revents)
            break;
        for (int i = 1; i < 3; i++) {
            if (!(pf[i].revents & POLLIN))
                continue;
            struct sockaddr_storage src;
            size_t len;
            unsigned ifindex;
            int to_group;
            for (int k = 0; k < 64; k++) {
                if (recv_pkt(pf[i].fd, r->pkt, sizeof(r->pkt), &len, &src, &ifindex, &to_group) !=
                    0)
                    break;
                handle_query(r, pf[i].fd, len, &src, ifindex, to_group, mono_ms());
            }
        }
    }
    /* Goodbye: every record again with TTL 0. */
    uint64_t now = mono_ms();
    for (size_t k = 0; k < r->nifs; k++)
        for (int i = 0; i < r->svc.ninst; i++)
            announce_iface(r, &r->ifs[k], i, 0, now);
    return NULL;
}

static void responder_free(struct mdns_responder *r)
{
    if (r->s4 >= 0)
        close(r->s4);
    if (r->s6 >= 0)
        close(r->s6);
    if (r->wake[0] >= 0)
        close(r->wake[0]);
    if (r->wake[1] >= 0)
        close(r->wake[1]);
    free(r);
}

static int iface_index(const char *ifname, unsigned *idx)
{
    *idx = 0;
    if (!ifname || !*ifname)
        return 0;
    if ((*idx = if_nametoindex(ifname)) == 0)
        return PCP_ERR_INVAL;
    return 0;
}

int mdns_responder_start(struct mdns_responder **out, const char *ifname, unsigned channel,
                         uint16_t port, const char *txt)
{
    struct mdns_responder *r;
    sigset_t all, old;
    int e;

    if (!out)
        return PCP_ERR_INVAL;
    *out = NULL;
    if (port == 0 || (txt && strlen(txt) > 255))
        return PCP_ERR_INVAL;
    if (!(r = calloc(1, sizeof(*r))))
        return PCP_ERR_NOMEM;
    r->s4 = r->s6 = r->wake[0] = r->wake[1] = -1;
    r->channel = channel;
    r->svc.port = port;
    snprintf(r->svc.txt, sizeof(r->svc.txt), "%s", txt ? txt : "");
    if ((e = iface_index(ifname, &r->only)) != 0)
        goto fail;
    if ((e = mdns_names_init(&r->svc.inst[0], discovery_bucket(mdns_clock_ns()), channel)) != 0)
        goto fail;
    r->svc.ninst = 1;
    if ((e = scan_ifaces(r->ifs, &r->nifs, r->only)) != 0)
        goto fail;
    e = PCP_ERR_NET;
    if (r->only && r->nifs == 0) /* exists, but is down or cannot multicast */
        goto fail;
    if (sys_pipe(r->wake, SYS_CLOEXEC) != 0)
        goto fail;
    r->s4 = open_sock(AF_INET, MDNS_PORT);
    r->s6 = open_sock(AF_INET6, MDNS_PORT);
    if (r->s4 < 0 && r->s6 < 0)
        goto fail;
    uint64_t now = mono_ms();
    for (size_t k = 0; k < r->nifs; k++) {
        join(r->s4, r->s6, &r->ifs[k]);
        r->ifs[k].ann_left = 2;
        r->ifs[k].ann_at = now;
    }
    r->scanned_at = now;
    /* Signals belong to the caller's threads, not to ours. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    e = pthread_create(&r->th, NULL, responder_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        e = PCP_ERR_NOMEM;
        goto fail;
    }
    *out = r;
    return 0;
fail:
    responder_free(r);
    return e;
}

void mdns_responder_stop(struct mdns_responder *r)
{
    if (!r)
        return;
    (void)!write(r->wake[1], "x", 1);
    pthread_join(r->th, NULL);
    responder_free(r);
}

/* The querier. */

#define GRACE_MS 1000    /* after an SRV, how long to wait for TXT/A/AAAA */
#define MAX_GAP_MS 2000  /* longest pause between two queries */
#define FIRST_GAP_MS 250 /* queries at 0, 250, 500, 1000, 2000 ms, ... */

static void send_query(int s4, int s6, const struct iface *ifs, size_t n,
                       const struct mdns_query *q)
{
    struct dns_builder b;
    uint16_t id = (uint16_t)randombytes_uniform(65536);
    if (mdns_query_build(q, id, &b) == 0)
        for (size_t k = 0; k < n; k++)
            send_mcast(s4, s6, &ifs[k], b.w.p, b.w.len);
    dns_builder_free(&b);
}

int mdns_lookup(const char *ifname, unsigned channel, int timeout_ms, const atomic_int *cancel,
                struct mdns_record *out)
{
    struct mdns_query *q = NULL;
    struct dns_msg *m = NULL;
    struct iface *ifs = NULL;
    uint8_t *pkt = NULL;
    size_t nifs = 0;
    unsigned only = 0;
    /* s4, s6 ask and hear the answers sent back to them; l4, l6 are on
     * the mDNS port in the group, to hear a sender that starts after our
     * question announce itself at once, not at our next one. */
    int s4 = -1, s6 = -1, l4 = -1, l6 = -1, e;
    uint64_t start, deadline, next_q, gap = FIRST_GAP_MS, grace = 0;
    int sent = 0;

    if (!out || timeout_ms < 0)
        return PCP_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    if ((e = iface_index(ifname, &only)) != 0)
        return e;
    if (sodium_init() < 0)
        return PCP_ERR_CRYPTO;
    q = calloc(1, sizeof(*q));
    m = malloc(sizeof(*m));
    ifs = calloc(MAX_IFACES, sizeof(*ifs));
    pkt = malloc(DNS_PKT_MAX);
    e = PCP_ERR_NOMEM;
    if (!q || !m || !ifs || !pkt)
        goto out;
    if ((e = mdns_query_init(q, discovery_bucket(mdns_clock_ns()), channel)) != 0)
        goto out;
    if ((e = scan_ifaces(ifs, &nifs, only)) != 0)
        goto out;
    e = PCP_ERR_NET;
    if (only && nifs == 0)
        goto out;
    s4 = open_sock(AF_INET, 0);
    s6 = open_sock(AF_INET6, 0);
    if (s4 < 0 && s6 < 0)
        goto out;
    l4 = open_sock(AF_INET, MDNS_PORT);
    l6 = open_sock(AF_INET6, MDNS_PORT);
    for (size_t k = 0; k < nifs; k++)
        join(l4, l6, &ifs[k]);

    start = mono_ms();
    deadline = start + (uint64_t)timeout_ms;
    next_q = start;
    for (;;) {
        uint64_t now = mono_ms();
        if (cancel && *cancel) {
            e = PCP_ERR_CANCELLED;
            goto out;
        }
        if (mdns_query_complete(q) || (grace && now >= grace && q->rec.naddr > 0)) {
            *out = q->rec;
            e = 0;
            goto out;
        }
        if (now >= deadline) {
            if (q->have_srv && q->rec.naddr > 0) {
                *out = q->rec;
                e = 0;
            } else {
                e = PCP_ERR_NOT_FOUND;
            }
            goto out;
        }
        /* The bucket moved on while nothing answered: ask for the new one
         * (and so the one before it), as a sender that started since
         * announces only that. */
        uint64_t b = discovery_bucket(mdns_clock_ns());
        if (!q->have_srv && b > q->want[0].bucket) {
            if ((e = mdns_query_init(q, b, channel)) != 0)
                goto out;
            next_q = now;
            gap = FIRST_GAP_MS;
        }
        if (now >= next_q) {
            if (sent > 0) { /* interfaces come and go; the first scan is fresh */
                scan_ifaces(ifs, &nifs, only);
                for (size_t k = 0; k < nifs; k++)
                    join(l4, l6, &ifs[k]);
            }
            send_query(s4, s6, ifs, nifs, q);
            next_q = now + gap;
            if (sent++ > 0 && gap < MAX_GAP_MS)
                gap *= 2;
        }
        uint64_t until = next_q < deadline ? next_q : deadline;
        if (grace && grace < until)
            until = grace;
        int wait = until > now ? (int)(until - now) : 0;
        if (wait > 100)
            wait = 100;
        struct pollfd pf[4] = {{s4, POLLIN, 0}, {s6, POLLIN, 0}, {l4, POLLIN, 0}, {l6, POLLIN, 0}};
        if (poll(pf, 4, wait) < 0) {
            if (errno == EINTR)
                continue;
            e = PCP_ERR_NET;
            goto out;
        }
        for (int i = 0; i < 4; i++) {
            if (!(pf[i].revents & POLLIN))
                continue;
            for (int k = 0; k < 64; k++) {
                struct sockaddr_storage src;
                size_t len;
                unsigned ifindex;
                int to_group;
                if (recv_pkt(pf[i].fd, pkt, DNS_PKT_MAX, &len, &src, &ifindex, &to_group) != 0)
                    break;
                if (len == 0 || !heard_on(ifs, nifs, ifindex, &src) || !on_link(ifs, nifs, &src) ||
                    dns_parse(m, pkt, len) != 0)
                    continue;
                int had_srv = q->have_srv;
                if (mdns_query_feed(q, m, &src, ifindex) && !had_srv && q->have_srv) {
                    grace = mono_ms() + GRACE_MS;
                    if (!mdns_query_complete(q)) /* ask for what is missing now */
                        next_q = mono_ms();
                }
            }
        }
    }
out:
    if (s4 >= 0)
        close(s4);
    if (s6 >= 0)
        close(s6);
    if (l4 >= 0)
        close(l4);
    if (l6 >= 0)
        close(l6);
    free(q);
    free(m);
    free(ifs);
    free(pkt);
    return e;
}
