/*
 * dns.h - the DNS wire format (RFC 1035) as mDNS (RFC 6762) uses it: a
 * strict parser for untrusted packets and a builder with name compression.
 *
 * Names are kept in uncompressed wire form (length-prefixed labels ending
 * with the root label), so that a label may hold any byte and comparison
 * needs no escaping; dns_name_eq() folds ASCII case as DNS requires.
 * The parser reads only through bounds-checked readers, follows compression
 * pointers only strictly backwards (so every name ends), and answers
 * PCP_ERR_PROTO for anything it does not fully understand the shape of.
 */
#ifndef PCP_DNS_H
#define PCP_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define DNS_NAME_MAX 255 /* wire form, root label included */
#define DNS_LABEL_MAX 63
#define DNS_MAX_JUMPS 128    /* compression pointers followed per name */
#define DNS_MAX_QUESTIONS 64 /* more in one packet is refused */
#define DNS_MAX_RRS 128      /* answer + authority + additional */
#define DNS_PKT_MAX 9000     /* largest mDNS packet we send or accept */
#define DNS_HEADER_LEN 12

enum {
    DNS_TYPE_A = 1,
    DNS_TYPE_PTR = 12,
    DNS_TYPE_TXT = 16,
    DNS_TYPE_AAAA = 28,
    DNS_TYPE_SRV = 33,
    DNS_TYPE_NSEC = 47,
    DNS_TYPE_ANY = 255,
};

#define DNS_CLASS_IN 1
#define DNS_CLASS_ANY 255
/* Top bit of the class: "unicast response" in a question (QU), "cache
 * flush" in a record (RFC 6762 sections 5.4 and 10.2). */
#define DNS_CLASS_TOPBIT 0x8000

#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_AA 0x0400
#define DNS_FLAG_TC 0x0200
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_RCODE(flags) ((flags)&0xf)

enum dns_section { DNS_SEC_QD = 0, DNS_SEC_AN = 1, DNS_SEC_NS = 2, DNS_SEC_AR = 3 };

struct dns_name {
    uint8_t len; /* bytes used in b, root label included; 0 = unset */
    uint8_t b[DNS_NAME_MAX];
};

struct dns_question {
    struct dns_name name;
    uint16_t type;
    uint16_t klass;  /* without the QU bit */
    uint8_t unicast; /* QU bit */
};

struct dns_rr {
    struct dns_name name;
    uint16_t type;
    uint16_t klass;      /* without the cache-flush bit */
    uint8_t cache_flush; /* top bit of the class */
    uint8_t section;     /* enum dns_section */
    uint32_t ttl;
    uint16_t rdlen;
    const uint8_t *rdata; /* points into the parsed packet */
    union {
        uint8_t a[4];
        uint8_t aaaa[16];
        struct dns_name ptr;
        struct {
            uint16_t priority, weight, port;
            struct dns_name target;
        } srv;
        /* TXT: rdata holds length-prefixed strings that exactly fill it
         * (checked by the parser). */
    } u;
};

struct dns_msg {
    uint16_t id;
    uint16_t flags;
    size_t nq;
    size_t nrr;
    struct dns_question q[DNS_MAX_QUESTIONS];
    struct dns_rr rr[DNS_MAX_RRS];
};

/* Parse a whole packet. Record data of A, AAAA, PTR, SRV and TXT is checked
 * and decoded; other types are kept as raw rdata. Trailing bytes, too many
 * records, bad names or bad rdata are PCP_ERR_PROTO. `m` may refer into
 * `pkt` afterwards (rdata), so keep the packet while using it. */
int dns_parse(struct dns_msg *m, const uint8_t *pkt, size_t len);

/* Read one possibly compressed name at r->off of the whole message `r`
 * (r->p must be the message start); names bytes up to `end` may be read
 * before the first pointer. Advances r->off past the name. */
int dns_read_name(struct rbuf *r, size_t end, struct dns_name *out);

/* "a.b.local" (a trailing dot is allowed) into wire form. Labels must be
 * 1..63 bytes; no escapes. */
int dns_name_from_text(struct dns_name *n, const char *text);
/* Wire form to dotted text, with '.', '\\' and bytes outside printable
 * ASCII written as \DDD. PCP_ERR_TOO_BIG when out is too small. */
int dns_name_to_text(const struct dns_name *n, char *out, size_t len);
/* 1 when equal, ignoring ASCII case. */
int dns_name_eq(const struct dns_name *a, const struct dns_name *b);

/* A TXT record's strings joined with ' ' into out (always NUL-terminated,
 * cut short when out is small); bytes outside printable ASCII become '?'. */
void dns_txt_join(const struct dns_rr *rr, char *out, size_t len);

/*
 * The builder. Sections must be filled in order (questions, answers,
 * authority, additional); errors are sticky and reported by
 * dns_builder_finish().
 */
#define DNS_BUILD_PTRS 128 /* name positions remembered for compression */

struct dns_builder {
    struct wbuf w;
    int section;
    int err;
    uint16_t count[4];
    size_t nptr;
    uint16_t ptr[DNS_BUILD_PTRS];
};

void dns_builder_init(struct dns_builder *b, uint16_t id, uint16_t flags);
void dns_builder_free(struct dns_builder *b);
void dns_add_question(struct dns_builder *b, const struct dns_name *n, uint16_t type, int unicast);
void dns_add_a(struct dns_builder *b, int section, const struct dns_name *n, int cache_flush,
               uint32_t ttl, const uint8_t a[4]);
void dns_add_aaaa(struct dns_builder *b, int section, const struct dns_name *n, int cache_flush,
                  uint32_t ttl, const uint8_t aaaa[16]);
void dns_add_ptr(struct dns_builder *b, int section, const struct dns_name *n, uint32_t ttl,
                 const struct dns_name *target);
void dns_add_srv(struct dns_builder *b, int section, const struct dns_name *n, int cache_flush,
                 uint32_t ttl, uint16_t priority, uint16_t weight, uint16_t port,
                 const struct dns_name *target);
/* `txt` is split at spaces into strings (at most 255 bytes each); an empty
 * txt gives the single empty string RFC 6763 asks for. */
void dns_add_txt(struct dns_builder *b, int section, const struct dns_name *n, int cache_flush,
                 uint32_t ttl, const char *txt);
/* Patch the header counts; the packet is at b->w.p, b->w.len bytes. */
int dns_builder_finish(struct dns_builder *b);

#endif
