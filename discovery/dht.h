/*
 * dht.h - the sender's public record in OpenDHT's distributed hash table,
 * for WAN discovery with no server of ours (core/PROTOCOL.md, "DHT").
 *
 * The key is a function of the discovery id (bucket and channel) only; the
 * record lists the sender's public addresses (public IPv4 and global IPv6
 * of its interfaces, the router's mapping) and when it stops being valid.
 * Nothing derived from the password goes into either. The record format
 * and the key are always built; the node itself (dht_open and the rest)
 * only with OpenDHT's C library (PCP_HAVE_OPENDHT), else PCP_ERR_UNSUPPORTED.
 */
#ifndef PCP_DHT_H
#define PCP_DHT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DHT_BOOTSTRAP_DEFAULT "bootstrap.jami.net:4222"
#define DHT_KEYBYTES 20 /* an OpenDHT InfoHash */
#define DHT_RECORD_MAX 512
#define DHT_MAX_ADDRS 8
/* A record is valid this long after it was put; the sender puts a fresh
 * one after half of it, and under the new key when the bucket rolls. */
#define DHT_TTL_S 300
/* How far a sender's clock may run ahead of the receiver's: a record whose
 * t= is more than DHT_TTL_S + DHT_SKEW_S ahead was put by no honest sender
 * (it would otherwise outrank every genuine record: see dht_lookup). */
#define DHT_SKEW_S 120
/* The most records a lookup returns: a forger can put as many as it
 * likes, so the receiver tries a few and then goes on to the relay. */
#define DHT_LOOKUP_MAX 4

/* BLAKE2b-160("pcp dht" ‖ discovery id). */
void dht_key(uint8_t out[DHT_KEYBYTES], uint64_t bucket, unsigned channel);

struct dht_record {
    uint64_t expires; /* Unix seconds */
    size_t naddr;
    struct sockaddr_storage addr[DHT_MAX_ADDRS];
};

struct dht_stats {
    unsigned seen;    /* records that arrived */
    unsigned expired; /* ... of which were out of date */
    unsigned invalid; /* ... or malformed, or t= too far ahead */
    int ms;           /* from the start of the lookup to the answer */
    int reachable;    /* 1 a node answered, 0 none did, -1 not known yet */
};

/* "v=1\nt=EXPIRES\na=ADDR:PORT\n..." with n (<= DHT_MAX_ADDRS) addresses;
 * PCP_ERR_INVAL when it does not fit. */
int dht_record_make(char *out, size_t cap, uint64_t expires, const struct sockaddr_storage *a,
                    size_t n);
/* Strict: 1..DHT_RECORD_MAX bytes of "key=value\n" lines (the last newline
 * optional, no control characters), v=1 and t once each, 1..DHT_MAX_ADDRS
 * a= lines, each a public address (not loopback, unspecified, multicast,
 * link-local or private) with a port; unknown keys ignored. PCP_ERR_PROTO
 * for anything else. Anyone can put a record under any key: this is what
 * stops one from sending a receiver to a service of its own network. */
int dht_record_parse(const uint8_t *p, size_t len, struct dht_record *out);

/* What a receiver makes of one value that arrived under its key, at
 * now_s (Unix seconds): counted in st (seen, and expired or invalid),
 * then, when it parses and 0 < t - now_s <= DHT_TTL_S + DHT_SKEW_S, kept
 * among kept[0..*n) (at most max, the latest t first). A record with the
 * same addresses as one kept (a sender's refresh, or the same value from
 * two nodes) is one record: the later t stays. When all max places are
 * taken the earliest t falls off. 0 kept, PCP_ERR_PROTO invalid (too far
 * in the future included), PCP_ERR_TIMEOUT expired, PCP_ERR_EXISTS
 * dropped (a duplicate, or the list is full of later ones). */
int dht_record_offer(const uint8_t *p, size_t len, uint64_t now_s, struct dht_record *kept,
                     size_t *n, size_t max, struct dht_stats *st);

/* 1 when the address may be published or dialled from a public record. */
int dht_addr_public(const struct sockaddr_storage *a);
/* 1 when the address is on the subnet of one of this host's interfaces. */
int dht_addr_onlink(const struct sockaddr_storage *a);

/* This host's public addresses with `port`: the public IPv4 and the global
 * IPv6 addresses of its interfaces, at most max. Of the IPv6 ones, only the
 * temporary addresses of an interface that has any (see below). */
size_t dht_local_addrs(uint16_t port, struct sockaddr_storage *out, size_t max);
/* 1 when the IPv6 address addr may be published, given the text of Linux's
 * /proc/net/if_inet6 (len bytes; empty where the system has none): not
 * tentative, deprecated or failed, and temporary (RFC 8981) unless its
 * interface has no usable temporary global address. A stable address may be
 * formed from the network card's MAC address and follow the machine
 * everywhere. An address the text does not list is publishable. */
int dht_v6_publishable(const char *text, size_t len, const uint8_t addr[16]);

/* "HOST:PORT" or "[V6]:PORT" into host and port (digits, 1..65535);
 * PCP_ERR_INVAL for anything else. */
#define DHT_HOST_MAX 256
int dht_bootstrap_parse(const char *s, char host[DHT_HOST_MAX], char port[6]);

/* "OpenDHT 2.4.12", or NULL when this build has no DHT. */
const char *dht_version_text(void);

struct pcp_dht;

/* Start a node on a random UDP port and join the network through
 * `bootstrap` ("HOST:PORT", "[V6]:PORT"). PCP_ERR_INVAL for a malformed
 * bootstrap, PCP_ERR_UNSUPPORTED without OpenDHT, PCP_ERR_NET when the
 * node cannot run. Joining happens in the background, the bootstrap name
 * resolved by a thread of its own: a name server that does not answer
 * holds up nothing else. */
int dht_open(struct pcp_dht **out, const char *bootstrap);

/* Sender: put `rec` under the key of (bucket, channel). OpenDHT has no
 * delete: a sender withdraws a record by putting no fresh one, and its t=
 * tells receivers when to stop believing it. */
int dht_put_record(struct pcp_dht *d, uint64_t bucket, unsigned channel, const char *rec);
/* How the last put went: 1 stored on a node, 0 failed (no node answered),
 * -1 still under way or none yet. */
int dht_put_state(struct pcp_dht *d);

/* Receiver: wait for a valid record under the current or the previous
 * bucket's key (and the next bucket's, once the clock gets there), for up
 * to timeout_ms; cancel (may be NULL) is looked at every 20 ms. Once one
 * arrived, what else arrives in the next DHT_GATHER_MS is taken too: up
 * to max records (dht_record_offer: distinct addresses, the latest t
 * first) go to out[0..*n). Anyone can put a record, so the caller tries
 * them in turn. PCP_ERR_NOT_FOUND, PCP_ERR_CANCELLED. OpenDHT's callbacks
 * run on its own thread; they only queue what they get, and this function
 * reads the queue. */
#define DHT_GATHER_MS 500
int dht_lookup(struct pcp_dht *d, unsigned channel, int timeout_ms, const atomic_int *cancel,
               struct dht_record *out, size_t max, size_t *n, struct dht_stats *st);

/* Cancel everything, stop the node, free. NULL is fine. */
void dht_close(struct pcp_dht *d);

#endif
