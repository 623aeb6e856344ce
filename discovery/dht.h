/*
 * dht.h - mailboxes in OpenDHT's distributed hash table, for a transfer
 * across the Internet with no server of ours (core/PROTOCOL.md, "DHT
 * mailboxes").
 *
 * Two keys per discovery id (bucket and channel): the sender's mailbox,
 * which the sender listens on and receivers put to, and the receivers'
 * mailbox, the other way. What goes into them (discovery/path/mbox.h) is
 * a SPAKE2 exchange and then candidates sealed under the session's keys:
 * no value says anything about an address in clear. Nothing derived from
 * the password goes into a key. The keys are always built; the node
 * itself (dht_open and the rest) only with OpenDHT's C library
 * (PCP_HAVE_OPENDHT), else PCP_ERR_UNSUPPORTED.
 */
#ifndef PCP_DHT_H
#define PCP_DHT_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DHT_BOOTSTRAP_DEFAULT "bootstrap.jami.net:4222"
#define DHT_KEYBYTES 20 /* an OpenDHT InfoHash */
/* The largest mailbox value taken from the DHT; longer ones are dropped. */
#define DHT_VALUE_MAX 1024
/* Values waiting for dht_next; more are dropped until it reads some. */
#define DHT_QUEUE_MAX 32
/* Keys one node listens on at once. */
#define DHT_LISTENS_MAX 4

/* BLAKE2b-160("pcp mbox " ‖ role ‖ " " ‖ discovery id), role 's' (the
 * sender's mailbox: receivers put, the sender listens) or 'r' (the
 * receivers' mailbox: the sender puts, receivers listen). */
void dht_mbox_key(uint8_t out[DHT_KEYBYTES], char role, uint64_t bucket, unsigned channel);

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
 * holds up nothing else; listens and puts made before it is known wait
 * for it. */
int dht_open(struct pcp_dht **out, const char *bootstrap);

/* Listen on key (at most DHT_LISTENS_MAX keys, PCP_ERR_TOO_BIG beyond):
 * every value stored there, those already there included, is queued for
 * dht_next, tagged with `tag`. A value seen before on this node (the same
 * bytes under the same key) is queued once. */
int dht_listen(struct pcp_dht *d, const uint8_t key[DHT_KEYBYTES], int tag);
/* Stop the listens made with tag; what they queued stays. */
void dht_unlisten(struct pcp_dht *d, int tag);
/* Put len (<= DHT_VALUE_MAX) bytes under key, for OpenDHT's default
 * lifetime of a value (10 minutes); OpenDHT has no delete. */
int dht_put(struct pcp_dht *d, const uint8_t key[DHT_KEYBYTES], const uint8_t *v, size_t len);
/* How the puts went: 1 one was stored on a node, 0 all failed so far (no
 * node answered), -1 still under way or none yet. */
int dht_put_state(struct pcp_dht *d);
/* The next queued value: its bytes into buf (DHT_VALUE_MAX), *len, *tag.
 * Waits up to timeout_ms; cancel (may be NULL) is looked at every 20 ms.
 * PCP_ERR_TIMEOUT, PCP_ERR_CANCELLED. OpenDHT's callbacks run on its own
 * thread; they only queue what they get. */
int dht_next(struct pcp_dht *d, int timeout_ms, const atomic_int *cancel, uint8_t *buf, size_t *len,
             int *tag);
/* The IPv4 address the network's nodes see this node at (its NAT's
 * public address, or its own), once at least one has said so; else
 * PCP_ERR_NOT_FOUND. */
int dht_public_v4(struct pcp_dht *d, struct in_addr *out);

/* Cancel everything, stop the node, free. NULL is fine. */
void dht_close(struct pcp_dht *d);

#endif
