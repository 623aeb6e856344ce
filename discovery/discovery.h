/*
 * discovery.h - finding the sender: the discovery id and mDNS.
 *
 * Only the channel (the code's first word) and the time bucket ever go into
 * anything this module sends; never anything derived from the password.
 * Every function returns 0 or a negative enum pcp_err; nothing prints.
 */
#ifndef PCP_DISCOVERY_H
#define PCP_DISCOVERY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Discovery ids change every five minutes. */
#define DISCOVERY_BUCKET_NS (300ull * 1000000000ull)

/* Wall-clock time (CLOCK_REALTIME) in nanoseconds since the epoch. */
uint64_t discovery_now_ns(void);

/* The start of the bucket holding now_ns: now_ns - now_ns % BUCKET. */
uint64_t discovery_bucket(uint64_t now_ns);

/* "/pcp/{bucket}/{channel}" into out; PCP_ERR_INVAL when it does not fit. */
int discovery_id(char *out, size_t len, uint64_t bucket, unsigned channel);

/* DNS-SD service type that pcp announces under. */
#define MDNS_SERVICE "_pcp._tcp.local"
/* "pcp-" + 16 hex digits + NUL. */
#define MDNS_INSTANCE_LEN 21

/* The mDNS instance label for (bucket, channel): "pcp-{hex}", hex being the
 * first 8 bytes of BLAKE2b-256(discovery id). The sender's host name is the
 * same label under ".local". */
int mdns_instance_name(char *out, size_t len, uint64_t bucket, unsigned channel);

#define MDNS_MAX_ADDRS 16

/* What a lookup found. Every address carries `port`; the first one is the
 * address the answer came from (the most likely to be reachable), then the
 * A/AAAA records; IPv6 link-local addresses carry the scope of the
 * interface the answer arrived on. `txt` is the TXT record's strings joined
 * with ' ', control characters and non-ASCII bytes replaced by '?'. */
struct mdns_record {
    uint16_t port;
    size_t naddr;
    struct sockaddr_storage addr[MDNS_MAX_ADDRS];
    char txt[256];
};

struct mdns_responder;

/* Announce the instance for `channel` with `port` and `txt` (at most 255
 * characters; spaces separate TXT strings) on `ifname`, or on every up,
 * multicast-capable interface when NULL, and answer queries for it from a
 * thread of its own until mdns_responder_stop(). PCP_ERR_INVAL when
 * `ifname` does not exist, PCP_ERR_NET when no mDNS socket can be opened. */
int mdns_responder_start(struct mdns_responder **out, const char *ifname, unsigned channel,
                         uint16_t port, const char *txt);

/* Say goodbye (the records again with TTL 0), stop the thread and free.
 * NULL is allowed. */
void mdns_responder_stop(struct mdns_responder *r);

/* Look for the sender of `channel` (current and previous bucket) on
 * `ifname` or every multicast interface, for up to timeout_ms. `cancel`
 * (may be NULL) is polled at least every 100 ms. PCP_ERR_NOT_FOUND when
 * nothing answered in time, PCP_ERR_CANCELLED when *cancel became non-zero,
 * PCP_ERR_INVAL for an unknown interface. */
int mdns_lookup(const char *ifname, unsigned channel, int timeout_ms, const atomic_int *cancel,
                struct mdns_record *out);

#endif
