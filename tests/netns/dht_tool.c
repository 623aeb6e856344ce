/*
 * dht_tool - look into, and forge, the DHT's mailboxes (discovery/dht.h)
 * for the DHT tests (run it only inside network namespaces made by a test).
 * A CHANNEL is the index of the code's first word (0..2047); its keys are
 * the four of dht_mbox_key: roles 's' and 'r', the current bucket and the
 * previous one.
 *
 *   dht_tool dump BOOTSTRAP CHANNEL SECONDS
 *       listen on the four keys for SECONDS and print every value that
 *       arrives as lower-case hex, one a line (a value is printed once)
 *   dht_tool forge BOOTSTRAP CHANNEL SECONDS [r2]
 *       for SECONDS, put into the four keys what anyone could: every
 *       second garbage (random bytes, "pcp2" with an unknown type) and
 *       mailbox values of a wrong size for their type; in the first five
 *       seconds one R1 each (a random aid; a random valid share, the last
 *       one random bytes) into the sender's mailbox, five in all, so that
 *       at most five of the sender's wrong guesses go; and for each aid of
 *       someone else's R1 it sees, an S1 (a valid share, a random
 *       confirmation) and an S2 of random bytes into the receivers'
 *       mailbox at once, another such S2 when the sender's S1 for that aid
 *       comes (with r2 also an R2 of random bytes into the sender's
 *       mailbox with each, racing the receiver's). Then prints "forged N
 *       r1 N s1 N s2 N r2 N aids N answered N": values put in all, of each
 *       kind, others' aids seen, and S1s that came for the forged R1s.
 *       Exit 1 when no put was ever stored.
 *
 * SIGTERM ends either early, as if SECONDS were up.
 *
 * The layout is mbox.h's, written out here as a stranger would have to:
 * "pcp2" ‖ type (R1 1, S1 2, R2 3, S2 4) ‖ aid (16) ‖ body; R1's body
 * 32 bytes, S1's 64, R2's 32 + sealed, S2's sealed; sealed is 40..552.
 */
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dht.h"
#include "discovery.h"
#include "err.h"

#define MAGIC "pcp2"
#define AID 16
#define HDR (4 + 1 + AID)
#define SEALED_MIN 40  /* crypto_secretbox's nonce and MAC */
#define SEALED_MAX 552 /* ... and 512 bytes of candidates */
enum { R1 = 1, S1 = 2, R2 = 3, S2 = 4 };
#define MAX_AIDS 64

struct forger {
    struct pcp_dht *d;
    uint8_t key[4][DHT_KEYBYTES]; /* tag: role 's' 0, 1; 'r' 2, 3; even current */
    uint8_t own[5][AID];          /* our R1s' aids */
    unsigned nown;
    struct {
        uint8_t aid[AID];
        int tag; /* the 's' key its R1 came under */
        unsigned s2;
    } seen[MAX_AIDS];
    unsigned nseen;
    uint8_t mine[1024][16]; /* hashes of what we put: they come back to us */
    unsigned nmine;
    unsigned forged, r1, s1, s2, r2, answered;
};

static atomic_int stop; /* SIGTERM: end early, as if SECONDS were up */

static void on_term(int sig)
{
    (void)sig;
    atomic_store(&stop, 1);
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static void put(struct forger *f, int tag, const uint8_t *v, size_t len)
{
    if (dht_put(f->d, f->key[tag], v, len) != 0)
        return;
    f->forged++;
    crypto_generichash(f->mine[f->nmine % 1024], 16, v, len, NULL, 0);
    f->nmine++;
}

static int is_mine(const struct forger *f, const uint8_t *v, size_t len)
{
    uint8_t h[16];
    crypto_generichash(h, sizeof(h), v, len, NULL, 0);
    for (unsigned i = 0; i < f->nmine && i < 1024; i++)
        if (!memcmp(f->mine[i], h, sizeof(h)))
            return 1;
    return 0;
}

/* A value of type with aid and a random body of blen bytes; with point,
 * the body starts with a valid share (a ristretto255 point) instead. */
static void put_msg(struct forger *f, int tag, uint8_t type, const uint8_t aid[AID], size_t blen,
                    int point)
{
    uint8_t v[DHT_VALUE_MAX];
    if (HDR + blen > sizeof(v))
        return;
    memcpy(v, MAGIC, 4);
    v[4] = type;
    memcpy(v + 5, aid, AID);
    randombytes_buf(v + HDR, blen);
    if (point && blen >= crypto_core_ristretto255_BYTES)
        crypto_core_ristretto255_random(v + HDR);
    put(f, tag, v, HDR + blen);
}

static size_t sealed_len(void)
{
    return SEALED_MIN + randombytes_uniform(SEALED_MAX - SEALED_MIN + 1);
}

/* Every second: garbage and values of a wrong size, into each key. */
static void put_garbage(struct forger *f)
{
    static const size_t wrong[][2] = {
        {R1, 31},
        {R1, 33},
        {S1, 63},
        {S1, 96},
        {R2, 32 + SEALED_MIN - 1},
        {R2, 31},
        {S2, SEALED_MIN - 1},
        {S2, SEALED_MAX + 1},
        {S2, 0},
    };
    for (int tag = 0; tag < 4; tag++) {
        uint8_t v[DHT_VALUE_MAX], aid[AID];
        size_t len = 1 + randombytes_uniform(200);
        randombytes_buf(v, len);
        put(f, tag, v, len);
        memcpy(v, MAGIC, 4);
        v[4] = (uint8_t)(5 + randombytes_uniform(251)); /* no such type */
        put(f, tag, v, HDR + 32);
        put(f, tag, (const uint8_t *)MAGIC, 4);
        size_t k = randombytes_uniform(sizeof(wrong) / sizeof(wrong[0]));
        randombytes_buf(aid, AID);
        put_msg(f, tag, (uint8_t)wrong[k][0], aid, wrong[k][1], 0);
    }
}

static int is_own(const struct forger *f, const uint8_t *aid)
{
    for (unsigned i = 0; i < f->nown; i++)
        if (!memcmp(f->own[i], aid, AID))
            return 1;
    return 0;
}

/* Someone else's value: forge against its attempt. */
static void react(struct forger *f, const uint8_t *v, size_t len, int tag, int r2)
{
    if (len < HDR || memcmp(v, MAGIC, 4) != 0 || is_mine(f, v, len))
        return;
    const uint8_t *aid = v + 5;
    if (v[4] == S1 && tag >= 2 && is_own(f, aid)) {
        f->answered++;
        return;
    }
    if (is_own(f, aid))
        return;
    unsigned i = 0;
    while (i < f->nseen && memcmp(f->seen[i].aid, aid, AID) != 0)
        i++;
    if (v[4] == R1 && tag < 2 && len == HDR + 32 && i == f->nseen && i < MAX_AIDS) {
        memcpy(f->seen[i].aid, aid, AID);
        f->seen[i].tag = tag;
        f->seen[i].s2 = 0;
        f->nseen++;
        /* The receivers' mailbox of the same bucket, racing the sender. */
        put_msg(f, tag + 2, S1, aid, 64, 1);
        f->s1++;
        put_msg(f, tag + 2, S2, aid, sealed_len(), 0);
        f->s2++;
        if (r2) {
            put_msg(f, tag, R2, aid, 32 + sealed_len(), 0);
            f->r2++;
        }
    } else if (v[4] == S1 && tag >= 2 && i < f->nseen && f->seen[i].s2 < 2) {
        /* The sender answered it: race its S2 too. */
        f->seen[i].s2++;
        put_msg(f, tag, S2, aid, sealed_len(), 0);
        f->s2++;
        if (r2) {
            put_msg(f, f->seen[i].tag, R2, aid, 32 + sealed_len(), 0);
            f->r2++;
        }
    }
}

static void hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static struct forger f;
    char *end;
    if (sodium_init() < 0)
        return 1;
    if (argc < 5 || argc > 6 || (strcmp(argv[1], "dump") && strcmp(argv[1], "forge")) ||
        (argc == 6 && (strcmp(argv[1], "forge") || strcmp(argv[5], "r2")))) {
        fprintf(stderr, "usage: see dht_tool.c\n");
        return 2;
    }
    unsigned long channel = strtoul(argv[3], &end, 10);
    long seconds = strtol(argv[4], NULL, 10);
    if (*end || channel > 2047 || seconds <= 0) {
        fprintf(stderr, "usage: see dht_tool.c\n");
        return 2;
    }
    memset(&f, 0, sizeof(f));
    int e = dht_open(&f.d, argv[2]);
    if (e) {
        fprintf(stderr, "dht_open: %s\n", pcp_strerror(e));
        return 1;
    }
    uint64_t b = discovery_bucket(discovery_now_ns());
    for (int tag = 0; tag < 4; tag++) {
        dht_mbox_key(f.key[tag], tag < 2 ? 's' : 'r', b - (uint64_t)(tag % 2) * DISCOVERY_BUCKET_NS,
                     (unsigned)channel);
        if ((e = dht_listen(f.d, f.key[tag], tag)) != 0) {
            fprintf(stderr, "dht_listen: %s\n", pcp_strerror(e));
            return 1;
        }
    }
    signal(SIGTERM, on_term);
    int forge = !strcmp(argv[1], "forge"), r2 = argc == 6;
    uint64_t start = now_ms(), deadline = start + (uint64_t)seconds * 1000u, next = start;
    for (uint64_t t = start; t < deadline && !atomic_load(&stop); t = now_ms()) {
        if (forge && t >= next) {
            put_garbage(&f);
            if (f.nown < 5) {
                /* The current bucket's mailbox, the last one the previous'. */
                randombytes_buf(f.own[f.nown], AID);
                put_msg(&f, f.nown == 4 ? 1 : 0, R1, f.own[f.nown], 32, f.nown < 4);
                f.nown++;
                f.r1++;
            }
            next += 1000;
        }
        uint8_t v[DHT_VALUE_MAX];
        size_t len;
        int tag, wait = (int)((forge && next < deadline ? next : deadline) - t);
        if (dht_next(f.d, wait > 0 ? wait : 1, &stop, v, &len, &tag) != 0)
            continue;
        if (forge)
            react(&f, v, len, tag, r2);
        else
            hex(v, len);
    }
    int stored = dht_put_state(f.d);
    if (forge)
        printf("forged %u r1 %u s1 %u s2 %u r2 %u aids %u answered %u\n", f.forged, f.r1, f.s1,
               f.s2, f.r2, f.nseen, f.answered);
    dht_close(f.d);
    if (forge && stored != 1) {
        fprintf(stderr, "no node took a forged value\n");
        return 1;
    }
    return 0;
}
