/*
 * punch.c - from a relayed connection to a direct one.
 *
 * Both sides derive from the session keys a punch room (so only the two
 * of them can meet there), a key that seals their extra candidates (mapped
 * port, global IPv6 addresses) and a key that authenticates everything
 * else said here. After the handshake through the relay the receiver says,
 * in one authenticated frame on the relayed connection, whether it will
 * try ('P') or keep the relay ('G'). To try, each listens on one local
 * port and asks the relay, from that same port, for the other's observed
 * address (POST /v1/punch/ROOM); then both dial it, every TICK_MS, for
 * DIAL_MS, so that their SYNs cross and each NAT lets the other's through
 * (TCP simultaneous open), while the listener takes anything that reaches
 * it directly. The relay is not trusted with any of it: an address it
 * gives that this host should never dial (loopback, link-local, multicast,
 * unspecified) is dropped, and a word it could forge or replay is refused.
 * On each connection both sides first send a fresh nonce; once it has the
 * sender's, the receiver sends its proof over both nonces, the sender
 * checks it and answers with its own; the first connection whose sender
 * proved itself wins. So a proof is good for one connection only, and
 * neither side proves anything to a peer that has not given it a nonce.
 * The receiver then sends an authenticated 'G' on the connection to go on
 * with: the direct one, or the relayed one when none worked.
 */
#include "punch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "err.h"
#include "net.h"
#include "portmap.h"
#include "sys.h"

#define COORD_WAIT_S 5       /* how long the relay holds one side for the other */
#define DIAL_MS 4000         /* how long both sides dial */
#define TICK_MS 200          /* a refused attempt is made again this often */
#define PROOF_MS 1000        /* after dialling, for a connection to prove itself */
#define PORTMAP_WAIT_MS 2500 /* from its start, for the router's mapping */
#define SENDER_SLACK_MS 3000
#define MAX_CONNS 16
/* What a connection reads: the other's nonce, its proof, and (sender) the
 * receiver's 'G'. */
#define IN_PROOF PUNCH_NONCEBYTES
#define IN_GO (IN_PROOF + PUNCH_PROOFBYTES)
#define IN_ALL (IN_GO + PUNCH_WORDBYTES)

enum { K_ROOM = 1, K_BOX, K_AUTH };

void punch_keys_derive(const uint8_t *tx, const uint8_t *rx, int receiver, struct punch_keys *k)
{
    /* Both sides put the receiver-to-sender key first. */
    const uint8_t *r2s = receiver ? tx : rx, *s2r = receiver ? rx : tx;
    uint8_t master[crypto_kdf_KEYBYTES], room[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(master));
    crypto_generichash_update(&st, r2s, 32);
    crypto_generichash_update(&st, s2r, 32);
    crypto_generichash_final(&st, master, sizeof(master));
    crypto_kdf_derive_from_key(room, sizeof(room), K_ROOM, "pcppunch", master);
    crypto_kdf_derive_from_key(k->box, sizeof(k->box), K_BOX, "pcppunch", master);
    crypto_kdf_derive_from_key(k->auth, sizeof(k->auth), K_AUTH, "pcppunch", master);
    sodium_bin2hex(k->room, sizeof(k->room), room, sizeof(room));
    sodium_memzero(master, sizeof(master));
}

/* ---- candidates -------------------------------------------------------- */

static int global_v6(const struct in6_addr *a)
{
    return (a->s6_addr[0] & 0xe0) == 0x20; /* 2000::/3 */
}

int punch_cands_parse(const char *text, size_t len, struct punch_cand *out)
{
    int n = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return PCP_ERR_PROTO;
        size_t l = (size_t)(nl - p), k = l >= 3 && !memcmp(p, "v6=", 3)  ? 3
                                         : l >= 2 && !memcmp(p, "m=", 2) ? 2
                                                                         : 0;
        if (k && n < PUNCH_MAX_CANDS) {
            struct punch_cand *c = &out[n];
            if (net_addr_parse(p + k, l - k, &c->addr) != 0)
                return PCP_ERR_PROTO;
            c->mapped = k == 2;
            if (!c->mapped && (c->addr.ss_family != AF_INET6 ||
                               !global_v6(&((struct sockaddr_in6 *)&c->addr)->sin6_addr)))
                return PCP_ERR_PROTO;
            n++;
        }
        p = nl + 1;
    }
    return n;
}

/* The port the router maps for us, "m=ADDR:PORT\n", and this host's global
 * IPv6 addresses, "v6=[ADDR]:PORT\n" each, sealed. *v6 tells whether there
 * was one. */
static size_t seal_cands(const struct punch_keys *k, uint16_t port,
                         const struct sockaddr_storage *mapped, uint8_t *out, size_t cap, int *v6)
{
    char text[RV_PUNCH_BLOB_MAX];
    size_t tl = 0;
    struct ifaddrs *ifs = NULL;
    int n = 0;
    *v6 = 0;
    if (mapped) {
        char a[64];
        net_addr_str(mapped, 1, a, sizeof(a));
        tl = (size_t)snprintf(text, sizeof(text), "m=%s\n", a);
        n++;
    }
    if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i && n < PUNCH_MAX_CANDS; i = i->ifa_next) {
            if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6)
                continue;
            const struct in6_addr *a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
            char s[INET6_ADDRSTRLEN];
            if (!global_v6(a) || !inet_ntop(AF_INET6, a, s, sizeof(s)))
                continue;
            int w = snprintf(text + tl, sizeof(text) - tl, "v6=[%s]:%u\n", s, port);
            if (w < 0 ||
                (size_t)w + tl + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES > cap)
                break;
            tl += (size_t)w;
            n++;
            *v6 = 1;
        }
        freeifaddrs(ifs);
    }
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, (const uint8_t *)text, tl, out,
                          k->box);
    return crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + tl;
}

static int open_cands(const struct punch_keys *k, const uint8_t *blob, size_t len,
                      struct punch_cand *out)
{
    char text[RV_PUNCH_BLOB_MAX];
    if (len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES ||
        crypto_secretbox_open_easy((uint8_t *)text, blob + crypto_secretbox_NONCEBYTES,
                                   len - crypto_secretbox_NONCEBYTES, blob, k->box) != 0)
        return 0; /* not from our peer: no extra candidates */
    int n =
        punch_cands_parse(text, len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, out);
    return n < 0 ? 0 : n;
}

/* Is the address the relay saw one of this host's own (no NAT between)? */
static int is_own(const struct sockaddr_storage *ss, uint16_t port)
{
    struct sockaddr_storage a = *ss;
    net_addr_unmap(&a);
    uint16_t seen = ntohs(a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
                                                  : ((struct sockaddr_in *)&a)->sin_port);
    if (seen != port)
        return 0;
    int own = 0;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        return 0;
    for (struct ifaddrs *i = ifs; i && !own; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != a.ss_family)
            continue;
        if (a.ss_family == AF_INET)
            own = !memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr,
                          &((struct sockaddr_in *)&a)->sin_addr, 4);
        else
            own = !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
                          &((struct sockaddr_in6 *)&a)->sin6_addr, 16);
    }
    freeifaddrs(ifs);
    return own;
}

/* ---- addresses the relay gives ------------------------------------------ */

/* 127/8 or ::1 (IPv4-mapped forms unmapped by the caller). */
static int is_loopback(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    return a->ss_family == AF_INET6 &&
           IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a)->sin6_addr);
}

int punch_addr_ok(const struct sockaddr_storage *addr, int loopback_ok)
{
    struct sockaddr_storage a = *addr;
    net_addr_unmap(&a);
    if (is_loopback(&a))
        return loopback_ok && ((struct sockaddr_in *)&a)->sin_port != 0;
    if (a.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a;
        uint32_t v = ntohl(s4->sin_addr.s_addr);
        /* 0/8 "this network" (0.0.0.0 unspecified), 169.254/16 link-local
         * (169.254.169.254, the cloud metadata service, among them),
         * 224/4 multicast, 240/4 reserved and the broadcast address. */
        return s4->sin_port != 0 && (v >> 24) != 0 && (v >> 16) != 0xa9fe && (v >> 28) != 0xe &&
               (v >> 28) != 0xf;
    }
    if (a.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a;
        const struct in6_addr *x = &s6->sin6_addr;
        /* IPv4-mapped ones were unmapped and checked as IPv4 above; the
         * IPv4-compatible ::/96 (deprecated) is refused whole. */
        return s6->sin6_port != 0 && !IN6_IS_ADDR_UNSPECIFIED(x) && !IN6_IS_ADDR_LINKLOCAL(x) &&
               !IN6_IS_ADDR_MULTICAST(x) && !IN6_IS_ADDR_V4MAPPED(x) && !IN6_IS_ADDR_V4COMPAT(x);
    }
    return 0;
}

/* Is the relay itself on this host's loopback (a literal 127/8 or ::1
 * address, or "localhost")? Then loopback addresses from it are no more
 * than it can reach itself, and the two peers are on this host too. */
static int relay_local(const struct rv_client *c)
{
    struct sockaddr_storage a;
    memset(&a, 0, sizeof(a));
    if (!c)
        return 0;
    if (!strcasecmp(c->url.host, "localhost"))
        return 1;
    if (inet_pton(AF_INET, c->url.host, &((struct sockaddr_in *)&a)->sin_addr) == 1)
        a.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, c->url.host, &((struct sockaddr_in6 *)&a)->sin6_addr) == 1)
        a.ss_family = AF_INET6;
    net_addr_unmap(&a);
    return is_loopback(&a);
}

/* ---- what is said on a connection, authenticated ------------------------ */

void punch_proof_make(const uint8_t auth[crypto_auth_KEYBYTES], char role, uint8_t flags,
                      const uint8_t nr[PUNCH_NONCEBYTES], const uint8_t ns[PUNCH_NONCEBYTES],
                      uint8_t out[PUNCH_PROOFBYTES])
{
    uint8_t m[2 + 2 * PUNCH_NONCEBYTES] = {(uint8_t)role, flags};
    memcpy(m + 2, nr, PUNCH_NONCEBYTES);
    memcpy(m + 2 + PUNCH_NONCEBYTES, ns, PUNCH_NONCEBYTES);
    out[0] = flags;
    crypto_auth(out + 1, m, sizeof(m), auth);
}

int punch_proof_check(const uint8_t auth[crypto_auth_KEYBYTES], char role,
                      const uint8_t nr[PUNCH_NONCEBYTES], const uint8_t ns[PUNCH_NONCEBYTES],
                      const uint8_t in[PUNCH_PROOFBYTES])
{
    uint8_t m[2 + 2 * PUNCH_NONCEBYTES] = {(uint8_t)role, in[0]};
    memcpy(m + 2, nr, PUNCH_NONCEBYTES);
    memcpy(m + 2 + PUNCH_NONCEBYTES, ns, PUNCH_NONCEBYTES);
    return in[0] <= 7 && crypto_auth_verify(in + 1, m, sizeof(m), auth) == 0;
}

/* The message a word's MAC covers: label ‖ b ‖ (nonce_r ‖ nonce_s). */
static size_t word_msg(const char *label, uint8_t b, const uint8_t *nonces, uint8_t *m)
{
    size_t n = strlen(label);
    memcpy(m, label, n);
    m[n++] = b;
    if (nonces) {
        memcpy(m + n, nonces, 2 * PUNCH_NONCEBYTES);
        n += 2 * PUNCH_NONCEBYTES;
    }
    return n;
}

#define WORD_LABEL_MAX 8

void punch_word_make(const uint8_t auth[crypto_auth_KEYBYTES], const char *label, uint8_t b,
                     const uint8_t *nonces, uint8_t out[PUNCH_WORDBYTES])
{
    uint8_t m[WORD_LABEL_MAX + 1 + 2 * PUNCH_NONCEBYTES];
    if (strlen(label) > WORD_LABEL_MAX) {
        memset(out, 0, PUNCH_WORDBYTES); /* a programming error: a word nobody takes */
        return;
    }
    out[0] = b;
    crypto_auth(out + 1, m, word_msg(label, b, nonces, m), auth);
}

int punch_word_check(const uint8_t auth[crypto_auth_KEYBYTES], const char *label,
                     const uint8_t *nonces, const uint8_t in[PUNCH_WORDBYTES])
{
    uint8_t m[WORD_LABEL_MAX + 1 + 2 * PUNCH_NONCEBYTES];
    if (strlen(label) > WORD_LABEL_MAX || in[0] == 0)
        return 0;
    return crypto_auth_verify(in + 1, m, word_msg(label, in[0], nonces, m), auth) == 0 ? in[0] : 0;
}

/* ---- the dialling loop ------------------------------------------------- */

/* C_DIAL: connecting; C_PROOF: nonces and proofs; C_READY (sender): both
 * proved, waiting for the receiver's 'G'. */
enum cstate { C_DIAL, C_PROOF, C_READY };

struct conn {
    int fd;
    enum cstate st;
    int target; /* index into targets, -1 when accepted */
    int proved; /* receiver: our proof is out */
    size_t got;
    uint8_t nonces[2 * PUNCH_NONCEBYTES]; /* nonce_r ‖ nonce_s: ours drawn, theirs read */
    uint8_t in[IN_ALL];                   /* their nonce, proof and (sender) 'G' */
    struct sockaddr_storage peer;
};

struct loop {
    const struct punch_params *pp;
    const struct punch_keys *k;
    int lfd;
    uint16_t port;
    uint8_t my_flags;
    struct sockaddr_storage targets[PUNCH_MAX_TARGETS];
    int mapped[PUNCH_MAX_TARGETS]; /* targets[i] is the other's mapped port */
    int ntargets;
    int64_t last_dial[PUNCH_MAX_TARGETS];
    struct conn c[MAX_CONNS];
    int nc;
    unsigned attempts;
    int relay_err; /* sender: the relayed connection ended (its error) */
    const atomic_int *cancel;
};

static void conn_drop(struct loop *l, int i, int abort_it)
{
    if (abort_it)
        net_abort(l->c[i].fd);
    else
        close(l->c[i].fd);
    l->c[i] = l->c[--l->nc];
}

static int target_busy(const struct loop *l, int t)
{
    for (int i = 0; i < l->nc; i++)
        if (l->c[i].target == t)
            return 1;
    return 0;
}

/* Start a dial to each target that has none in flight, at most every
 * TICK_MS: an attempt a NAT refused is made again soon; one that is only
 * unanswered stays (the kernel repeats its SYN, and the other side's SYN
 * meeting it is what opens the connection). */
static void dial_tick(struct loop *l, int64_t now)
{
    for (int t = 0; t < l->ntargets && l->nc < MAX_CONNS; t++) {
        if (target_busy(l, t) || now - l->last_dial[t] < TICK_MS)
            continue;
        int fd;
        l->last_dial[t] = now;
        l->attempts++;
        if (net_dial_from(&l->targets[t], l->port, &fd) != 0)
            continue;
        l->c[l->nc++] = (struct conn){.fd = fd, .st = C_DIAL, .target = t, .peer = l->targets[t]};
    }
}

static uint8_t conn_flags(const struct loop *l, const struct conn *c)
{
    return (uint8_t)(l->my_flags | (c->target >= 0 && l->mapped[c->target] ? 2 : 0) |
                     (c->target >= 0 ? 4 : 0));
}

/* Where this side's nonce goes in nonce_r ‖ nonce_s. */
static uint8_t *my_nonce(const struct loop *l, struct conn *c)
{
    return c->nonces + (l->pp->receiver ? 0 : PUNCH_NONCEBYTES);
}

/* A connection is up: both sides send a fresh nonce first. */
static int conn_up(struct loop *l, struct conn *c)
{
    uint8_t *n = my_nonce(l, c);
    c->st = C_PROOF;
    c->got = 0;
    c->proved = 0;
    randombytes_buf(n, PUNCH_NONCEBYTES);
    return send(c->fd, n, PUNCH_NONCEBYTES, SYS_NOSIGNAL) == (ssize_t)PUNCH_NONCEBYTES ? 0 : -1;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
    return send(fd, p, n, SYS_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Read what the other side sent: its nonce, then its proof, then (on a
 * sender's C_READY connection) the receiver's 'G'. The receiver proves
 * itself as soon as it has the sender's nonce, not before; the sender
 * only after the receiver's proof checked. 1: the other's proof is
 * complete and good; 2: the receiver's 'G' came; 0 for more; -1 to drop. */
static int conn_read(struct loop *l, struct conn *c)
{
    const struct punch_params *pp = l->pp;
    size_t want = c->st == C_READY ? IN_ALL : IN_GO;
    uint8_t p[PUNCH_PROOFBYTES];
    ssize_t n = recv(c->fd, c->in + c->got, want - c->got, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return -1;
    if (n < 0)
        return 0;
    if (c->got < IN_PROOF && c->got + (size_t)n >= IN_PROOF)
        memcpy(c->nonces + (pp->receiver ? PUNCH_NONCEBYTES : 0), c->in, PUNCH_NONCEBYTES);
    c->got += (size_t)n;
    if (pp->receiver && !c->proved && c->got >= IN_PROOF) {
        punch_proof_make(l->k->auth, 'r', conn_flags(l, c), c->nonces, c->nonces + PUNCH_NONCEBYTES,
                         p);
        if (send_all(c->fd, p, sizeof(p)) != 0)
            return -1;
        c->proved = 1;
    }
    if (c->got < want)
        return 0;
    if (c->st == C_READY)
        return punch_word_check(l->k->auth, "direct", c->nonces, c->in + IN_GO) == 'G' ? 2 : -1;
    if (!punch_proof_check(l->k->auth, pp->receiver ? 's' : 'r', c->nonces,
                           c->nonces + PUNCH_NONCEBYTES, c->in + IN_PROOF))
        return -1;
    if (!pp->receiver) {
        punch_proof_make(l->k->auth, 's', conn_flags(l, c), c->nonces, c->nonces + PUNCH_NONCEBYTES,
                         p);
        if (send_all(c->fd, p, sizeof(p)) != 0)
            return -1;
    }
    return 1;
}

/* An authenticated word on the relayed connection, one frame: the
 * receiver's choice ('P' or 'G', label "choice") or, after a punch that
 * found nothing, its 'G' (label "relay"). PCP_ERR_CRYPTO for a word that
 * is not the receiver's: made up, or the other word replayed. */
static int relay_word(const struct punch_params *pp, const struct punch_keys *k, const char *label,
                      uint8_t *b)
{
    const uint8_t *f;
    size_t len;
    int e = frame_read(pp->relay_fr, PUNCH_WORDBYTES, &f, &len);
    if (e)
        return e;
    if (len != PUNCH_WORDBYTES)
        return PCP_ERR_PROTO;
    int w = punch_word_check(k->auth, label, NULL, f);
    if (w != 'P' && w != 'G')
        return PCP_ERR_CRYPTO;
    *b = (uint8_t)w;
    return 0;
}

static int relay_word_send(const struct punch_params *pp, const struct punch_keys *k,
                           const char *label, uint8_t b)
{
    uint8_t w[PUNCH_WORDBYTES];
    punch_word_make(k->auth, label, b, NULL, w);
    return frame_write(pp->relay_fd, w, sizeof(w));
}

static int relay_readable(const struct punch_params *pp)
{
    return pp->relay_fr->end > pp->relay_fr->start;
}

/*
 * Run until the receiver has chosen. Receiver: returns the index of the
 * first connection whose sender proved itself, or -1 at the deadline.
 * Sender: returns the index of the direct connection on which 'G' came,
 * or -2 when it came on the relay; -1 at the deadline. Errors negative
 * below -2 are enum pcp_err values shifted by -100.
 */
static int run(struct loop *l, int64_t dial_at, int64_t dial_end, int64_t deadline)
{
    const struct punch_params *pp = l->pp;
    for (;;) {
        int64_t now = net_now_ms();
        if (now >= deadline || (l->cancel && atomic_load(l->cancel)))
            return -1;
        /* Receiver: dialling is over and nothing is proving itself. */
        if (pp->receiver && now >= dial_end) {
            int proving = 0;
            for (int i = 0; i < l->nc; i++)
                proving |= l->c[i].st == C_PROOF;
            if (!proving)
                return -1;
        }
        /* Sender: with the relay gone, only a direct connection the
         * receiver chose can still come. */
        if (l->relay_err && l->nc == 0 && now >= dial_end)
            return -100 + l->relay_err;
        if (now >= dial_at && now < dial_end)
            dial_tick(l, now);
        struct pollfd p[MAX_CONNS + 2];
        int n = 0;
        for (int i = 0; i < l->nc; i++)
            p[n++] = (struct pollfd){.fd = l->c[i].fd,
                                     .events = (short)(l->c[i].st == C_DIAL ? POLLOUT : POLLIN)};
        int li = -1, ri = -1;
        if (l->lfd >= 0 && l->nc < MAX_CONNS) {
            li = n;
            p[n++] = (struct pollfd){.fd = l->lfd, .events = POLLIN};
        }
        if (!pp->receiver && !l->relay_err) {
            ri = n;
            p[n++] = (struct pollfd){.fd = pp->relay_fd, .events = POLLIN};
        }
        int wait = (int)(deadline - now);
        if (now < dial_end)
            wait = now < dial_at ? (int)(dial_at - now) : TICK_MS / 2;
        if (ri >= 0 && relay_readable(pp))
            wait = 0;
        if (poll(p, (nfds_t)n, wait < 0 ? 0 : wait) < 0 && errno != EINTR)
            return -100 + PCP_ERR_NET;
        if (ri >= 0 && (p[ri].revents || relay_readable(pp))) {
            /* The receiver's 'G' on the relay, or its end: the receiver
             * closes the relayed connection once it chose a direct one,
             * and that may be seen before its 'G' on the direct one. */
            uint8_t b;
            int e = relay_word(pp, l->k, "relay", &b);
            if (!e && b == 'G')
                return -2;
            l->relay_err = e ? e : PCP_ERR_PROTO;
            continue;
        }
        if (li >= 0 && (p[li].revents & POLLIN)) {
            struct sockaddr_storage peer;
            socklen_t sl = sizeof(peer);
            int fd = sys_accept(l->lfd, (struct sockaddr *)&peer, &sl, SYS_NONBLOCK | SYS_CLOEXEC);
            if (fd >= 0) {
                net_addr_unmap(&peer); /* the listener is dual-stack */
                struct conn *c = &l->c[l->nc++];
                *c = (struct conn){.fd = fd, .target = -1, .peer = peer};
                if (conn_up(l, c) != 0)
                    conn_drop(l, l->nc - 1, 1);
            }
        }
        /* The connections polled above are c[0..n) as they were; walk
         * them from the end so that drops do not disturb the rest. */
        int polled = li >= 0 ? li : ri >= 0 ? ri : n;
        for (int i = polled - 1; i >= 0; i--) {
            struct conn *c = &l->c[i];
            if (!p[i].revents)
                continue;
            if (c->st == C_DIAL) {
                int err = 0;
                socklen_t el = sizeof(err);
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err || !(p[i].revents & POLLOUT) || conn_up(l, c) != 0)
                    conn_drop(l, i, 1);
                continue;
            }
            int r = conn_read(l, c);
            if (r < 0)
                conn_drop(l, i, c->st != C_READY);
            else if (r == 2 || (r == 1 && pp->receiver))
                return i; /* sender: the receiver's 'G'; receiver: the sender proved itself */
            else if (r == 1)
                c->st = C_READY;
        }
    }
}

/* mapped: one side dialled the other's mapped port; punched: through
 * both NATs, or over IPv6 both sides' dials crossing (each one's stateful
 * firewall let the other's in as an answer); direct: one side took the
 * other's dial (no NAT, no firewall in the way). Both sides come to the
 * same answer from the two proofs. */
static const char *path_of(const struct loop *l, const struct conn *c)
{
    uint8_t mine = conn_flags(l, c), theirs = c->in[IN_PROOF];
    if ((mine | theirs) & 2)
        return "mapped";
    if (c->peer.ss_family == AF_INET6)
        return mine & theirs & 4 ? "punched" : "direct";
    return mine & theirs & 1 ? "punched" : "direct";
}

/* The connection w becomes res's: the caller reads it from here on. */
static void take_conn(struct loop *l, int w, struct punch_result *res)
{
    struct conn *c = &l->c[w];
    res->peer = c->peer;
    res->path = path_of(l, c);
    net_ready(c->fd);
    res->fd = c->fd;
    l->c[w] = l->c[--l->nc];
}

int punch_prepare(struct punch_prep *pr, int map)
{
    pr->pm = NULL;
    int e = net_listen_shared(0, &pr->lfd, &pr->port);
    if (e) {
        pr->lfd = -1;
        return e;
    }
    if (map)
        pr->pm = portmap_start(pr->port);
    return 0;
}

void punch_prep_end(struct punch_prep *pr)
{
    if (pr->lfd >= 0)
        close(pr->lfd);
    pr->lfd = -1;
    portmap_stop(pr->pm);
    pr->pm = NULL;
}

/* The punch listener (the prepared one, or a fresh one) and the meeting at
 * the relay: our sealed candidates out, the other side's answer in. */
static int meet(const struct punch_params *pp, const struct punch_keys *k, struct loop *l,
                struct punch_result *res, struct rv_punch_answer *ans, int *have_v6)
{
    if (pp->prep && pp->prep->lfd >= 0) {
        l->lfd = pp->prep->lfd;
        l->port = pp->prep->port;
        pp->prep->lfd = -1; /* ours to close now */
    } else if (net_listen_shared(0, &l->lfd, &l->port) != 0) {
        return PCP_ERR_NET;
    }
    uint8_t blob[RV_PUNCH_BLOB_MAX];
    struct sockaddr_storage mapped;
    const char *how;
    int has_map = pp->prep && portmap_get(pp->prep->pm, PORTMAP_WAIT_MS, &mapped, &how) == 0;
    if (has_map)
        res->portmap = how;
    size_t blen = seal_cands(k, l->port, has_map ? &mapped : NULL, blob, sizeof(blob), have_v6);
    return rv_punch(pp->relay, k->room, pp->receiver ? RVP_SIDE_RECEIVER : RVP_SIDE_SENDER, l->port,
                    blob, blen, COORD_WAIT_S, ans);
}

/* What to dial, from the relay's answer. Nothing the relay says is taken
 * on trust: an address of a kind this host should never dial is dropped
 * (an observed one counts as not ours), loopback too unless the relay is
 * itself on this host's loopback. */
static void set_targets(const struct punch_params *pp, const struct punch_keys *k, struct loop *l,
                        const struct rv_punch_answer *ans, int have_v6)
{
    int lo = relay_local(pp->relay);
    l->my_flags = !(punch_addr_ok(&ans->observed, lo) && is_own(&ans->observed, l->port));
    if (punch_addr_ok(&ans->peer, lo))
        l->targets[l->ntargets++] = ans->peer;
    /* The other's mapped port; IPv6 directly, when both sides have a
     * global address. */
    struct punch_cand cand[PUNCH_MAX_CANDS];
    int nc = open_cands(k, ans->blob, ans->blob_len, cand);
    for (int i = 0; i < nc; i++) {
        if ((!cand[i].mapped && !have_v6) || !punch_addr_ok(&cand[i].addr, lo))
            continue;
        /* A router that maps the port it also masquerades with makes the
         * mapped address the observed one: one target, which reaches the
         * other side because of the mapping. */
        int t = 0;
        while (t < l->ntargets && !net_addr_same(&l->targets[t], &cand[i].addr, 1))
            t++;
        l->mapped[t] |= cand[i].mapped;
        if (t == l->ntargets)
            l->targets[l->ntargets++] = cand[i].addr;
    }
}

int punch_upgrade(const struct punch_params *pp, struct punch_result *res)
{
    int64_t t0 = net_now_ms();
    struct punch_keys k;
    struct loop l;
    int e = 0;
    memset(res, 0, sizeof(*res));
    memset(&l, 0, sizeof(l));
    res->fd = pp->relay_fd;
    res->path = "relayed";
    res->portmap = "none";
    l.pp = pp;
    l.k = &k;
    l.lfd = -1;

    uint8_t b = 'G';
    punch_keys_derive(pp->tx, pp->rx, pp->receiver, &k);
    if (pp->receiver) {
        b = pp->try_direct ? 'P' : 'G';
        e = relay_word_send(pp, &k, "choice", b);
    } else {
        net_set_timeout(pp->relay_fd, (COORD_WAIT_S + 5) * 1000);
        e = relay_word(pp, &k, "choice", &b);
    }
    if (e || b == 'G') {
        sodium_memzero(&k, sizeof(k));
        return e;
    }

    struct rv_punch_answer ans;
    int have_v6 = 0, got = meet(pp, &k, &l, res, &ans, &have_v6) == 0;
    int64_t now = net_now_ms(), dial_at = now, dial_end = now;
    if (got) {
        set_targets(pp, &k, &l, &ans, have_v6);
        dial_at = now + ans.delay_ms;
        dial_end = dial_at + DIAL_MS;
    }
    /* The receiver decides at the end of dialling; the sender waits for
     * its word a little longer. */
    int64_t deadline = dial_end + PROOF_MS;
    if (!pp->receiver)
        deadline += SENDER_SLACK_MS + COORD_WAIT_S * 1000;
    int w = pp->receiver && !got ? -1 : run(&l, dial_at, dial_end, deadline);
    res->attempts = l.attempts;
    if (w <= -100) {
        e = w + 100;
    } else if (pp->receiver) {
        /* Tell the sender which connection we go on with. */
        if (w >= 0) {
            uint8_t g[PUNCH_WORDBYTES];
            punch_word_make(k.auth, "direct", 'G', l.c[w].nonces, g);
            if (send_all(l.c[w].fd, g, sizeof(g)) != 0) {
                conn_drop(&l, w, 1);
                w = -1;
            }
        }
        if (w < 0)
            e = relay_word_send(pp, &k, "relay", 'G');
    } else if (w == -1) {
        e = PCP_ERR_TIMEOUT; /* the receiver's word never came */
    }
    if (!e && w >= 0) {
        frame_reader_free(pp->relay_fr);
        close(pp->relay_fd);
        take_conn(&l, w, res);
        if ((e = frame_reader_init(pp->relay_fr, res->fd)) != 0) {
            close(res->fd);
            res->fd = -1;
        }
    }
    while (l.nc > 0)
        conn_drop(&l, l.nc - 1, 1);
    if (l.lfd >= 0)
        close(l.lfd);
    sodium_memzero(&k, sizeof(k));
    res->ms = (int)(net_now_ms() - t0);
    return e;
}

int punch_direct(const struct punch_direct *pd, struct punch_result *res)
{
    int64_t t0 = net_now_ms();
    struct punch_params pp = {.receiver = pd->receiver, .tx = pd->tx, .rx = pd->rx, .relay_fd = -1};
    struct punch_keys k;
    struct loop l;
    int e = 0;
    memset(res, 0, sizeof(*res));
    memset(&l, 0, sizeof(l));
    res->fd = -1;
    res->path = "none";
    res->portmap = pd->portmap ? pd->portmap : "none";
    l.pp = &pp;
    l.k = &k;
    l.lfd = pd->lfd;
    l.port = pd->port;
    l.my_flags = pd->behind_nat ? 1 : 0;
    l.relay_err = PCP_ERR_NOT_FOUND; /* no relay: nothing to wait for there */
    l.cancel = pd->cancel;
    for (size_t i = 0; i < pd->n && l.ntargets < PUNCH_MAX_TARGETS; i++) {
        l.targets[l.ntargets] = pd->targets[i];
        l.mapped[l.ntargets++] = pd->mapped ? pd->mapped[i] : 0;
    }
    punch_keys_derive(pd->tx, pd->rx, pd->receiver, &k);
    int64_t dial_at = net_now_ms(), dial_end = dial_at + (pd->dial_ms > 0 ? pd->dial_ms : DIAL_MS);
    /* The sender waits for the receiver's 'G' a little past the dialling. */
    int w = run(&l, dial_at, dial_end, dial_end + PROOF_MS + (pd->receiver ? 0 : SENDER_SLACK_MS));
    res->attempts = l.attempts;
    if (w < 0) {
        e = PCP_ERR_TIMEOUT;
    } else if (pd->receiver) {
        punch_word_make(k.auth, "direct", 'G', l.c[w].nonces, res->go);
    }
    if (!e)
        take_conn(&l, w, res);
    while (l.nc > 0)
        conn_drop(&l, l.nc - 1, 1);
    sodium_memzero(&k, sizeof(k));
    res->ms = (int)(net_now_ms() - t0);
    return e;
}
