/*
 * mdns_priv.h - the parts of mdns.c that touch no socket: which records the
 * responder answers with, and what the querier learns from a packet. Kept
 * apart so that the unit tests and the fuzzer drive them with bytes alone.
 * Not part of the public API.
 */
#ifndef PCP_MDNS_PRIV_H
#define PCP_MDNS_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "discovery.h"
#include "dns.h"

#define MDNS_PORT 5353
#define MDNS_TTL 120       /* every record: a sender is short-lived */
#define MDNS_LEGACY_TTL 10 /* RFC 6762 section 6.7 */

/* The wall clock that decides buckets: discovery_now_ns. Tests may point
 * it elsewhere, before starting a responder or a lookup, to make a bucket
 * roll over on cue. */
extern uint64_t (*mdns_clock_ns)(void);

/* The names of one announced instance. */
struct mdns_names {
    uint64_t bucket;
    struct dns_name service;  /* _pcp._tcp.local */
    struct dns_name instance; /* pcp-{hex}._pcp._tcp.local */
    struct dns_name host;     /* pcp-{hex}.local */
};

int mdns_names_init(struct mdns_names *n, uint64_t bucket, unsigned channel);

/* Addresses of one interface, for A and AAAA records. */
struct mdns_addrs {
    size_t n4, n6;
    uint8_t a4[MDNS_MAX_ADDRS][4];
    uint8_t a6[MDNS_MAX_ADDRS][16];
};

/* What a responder stands for: the current instance and, for receivers
 * whose clock is one bucket behind, the previous one. */
struct mdns_service {
    struct mdns_names inst[2]; /* [0] current, [1] previous */
    int ninst;
    uint16_t port;
    char txt[256];
};

/*
 * Answer the questions of query `q` that are about `s`. Builds into `b`
 * (already initialised by the caller is not needed: this initialises it) a
 * unicast reply: with `legacy` (the query came from a port other than
 * 5353) it echoes the id and the questions, caps TTLs at 10 s and sets no
 * cache-flush bit (RFC 6762 section 6.7). *inst_mask gets bit i for each
 * instance s->inst[i] asked about; *all_qu is 1 when every question that
 * matched carried the QU bit. Returns 1 when something matched, 0 when
 * nothing did (b is then empty but must still be freed), negative on
 * error.
 */
int mdns_answer(const struct mdns_service *s, const struct mdns_addrs *a, const struct dns_msg *q,
                int legacy, struct dns_builder *b, unsigned *inst_mask, int *all_qu);

/* An unsolicited response about s->inst[i]: PTR, SRV, TXT, A, AAAA, with
 * `ttl` (0 = goodbye). Initialises `b`. */
int mdns_announce_build(const struct mdns_service *s, int i, const struct mdns_addrs *a,
                        uint32_t ttl, struct dns_builder *b);

/* The querier's progress. */
struct mdns_query {
    struct mdns_names want[2]; /* current and previous bucket */
    size_t nwant;
    int have_srv, have_txt, have_host;
    struct dns_name instance; /* the instance that answered first */
    struct dns_name target;   /* its SRV target */
    struct mdns_record rec;
};

int mdns_query_init(struct mdns_query *q, uint64_t bucket, unsigned channel);
/* The next question packet: SRV and TXT of both instances, or, once an SRV
 * is known, whatever of TXT/A/AAAA is still missing. QU bit set. */
int mdns_query_build(const struct mdns_query *q, uint16_t id, struct dns_builder *b);
/* Learn from one parsed packet that arrived from `src` on interface
 * `ifindex`. Returns 1 when it taught something new, else 0. */
int mdns_query_feed(struct mdns_query *q, const struct dns_msg *m,
                    const struct sockaddr_storage *src, unsigned ifindex);
/* 1 when SRV, TXT and at least one A/AAAA record of the target are in. */
int mdns_query_complete(const struct mdns_query *q);

#endif
