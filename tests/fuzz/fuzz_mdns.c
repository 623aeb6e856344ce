/* libFuzzer target: the DNS parser over raw mDNS packets, and what both
 * sides of mdns do with a packet that parses: the querier's record
 * extraction and the responder's answer. Whatever parses must also survive
 * a rebuild: re-encoded with the builder and parsed again it must give the
 * same questions and records (abort otherwise). The querier and responder
 * stand for bucket 1700000100000000000, channel 1234, whose instance is
 * pcp-77f8473579c527db; the seed corpus uses that name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "dns.h"
#include "err.h"
#include "mdns_priv.h"

#define BUCKET 1700000100000000000ull
#define CHANNEL 1234u

static struct dns_msg m, m2;
static struct mdns_service svc;
static struct mdns_addrs addrs;
static struct mdns_query query;

static void init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    if (mdns_names_init(&svc.inst[0], BUCKET, CHANNEL) != 0 ||
        mdns_names_init(&svc.inst[1], BUCKET - DISCOVERY_BUCKET_NS, CHANNEL) != 0)
        abort();
    svc.ninst = 2;
    svc.port = 4242;
    strcpy(svc.txt, "v=1");
    addrs.n4 = 1;
    memcpy(addrs.a4[0], "\xc0\xa8\x01\x14", 4);
    addrs.n6 = 1;
    memcpy(addrs.a6[0], "\xfe\x80\0\0\0\0\0\0\0\0\0\0\0\0\x12\x34", 16);
}

static int same_name(const struct dns_name *a, const struct dns_name *b)
{
    return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

/* Re-encode what the builder can express and check it parses back. */
static void rebuild(const struct dns_msg *in)
{
    struct dns_builder b;
    size_t nq = 0, nrr = 0;
    dns_builder_init(&b, in->id, in->flags);
    for (size_t i = 0; i < in->nq; i++)
        if (in->q[i].klass == DNS_CLASS_IN) {
            dns_add_question(&b, &in->q[i].name, in->q[i].type, in->q[i].unicast);
            nq++;
        }
    for (size_t i = 0; i < in->nrr; i++) {
        const struct dns_rr *rr = &in->rr[i];
        if (rr->klass != DNS_CLASS_IN)
            continue;
        switch (rr->type) {
        case DNS_TYPE_A:
            dns_add_a(&b, rr->section, &rr->name, rr->cache_flush, rr->ttl, rr->u.a);
            break;
        case DNS_TYPE_AAAA:
            dns_add_aaaa(&b, rr->section, &rr->name, rr->cache_flush, rr->ttl, rr->u.aaaa);
            break;
        case DNS_TYPE_PTR:
            if (rr->cache_flush)
                continue;
            dns_add_ptr(&b, rr->section, &rr->name, rr->ttl, &rr->u.ptr);
            break;
        case DNS_TYPE_SRV:
            dns_add_srv(&b, rr->section, &rr->name, rr->cache_flush, rr->ttl, rr->u.srv.priority,
                        rr->u.srv.weight, rr->u.srv.port, &rr->u.srv.target);
            break;
        default:
            continue;
        }
        nrr++;
    }
    int e = dns_builder_finish(&b);
    if (e == 0) {
        if (dns_parse(&m2, b.w.p, b.w.len) != 0 || m2.nq != nq || m2.nrr != nrr ||
            m2.id != in->id || m2.flags != in->flags)
            abort();
        size_t k = 0;
        for (size_t i = 0; i < in->nq; i++) {
            if (in->q[i].klass != DNS_CLASS_IN)
                continue;
            if (!same_name(&m2.q[k].name, &in->q[i].name) || m2.q[k].type != in->q[i].type ||
                m2.q[k].unicast != in->q[i].unicast)
                abort();
            k++;
        }
        k = 0;
        for (size_t i = 0; i < in->nrr && k < m2.nrr; i++) {
            const struct dns_rr *rr = &in->rr[i], *r2 = &m2.rr[k];
            if (rr->klass != DNS_CLASS_IN ||
                (rr->type != DNS_TYPE_A && rr->type != DNS_TYPE_AAAA && rr->type != DNS_TYPE_PTR &&
                 rr->type != DNS_TYPE_SRV) ||
                (rr->type == DNS_TYPE_PTR && rr->cache_flush))
                continue;
            if (!same_name(&rr->name, &r2->name) || rr->type != r2->type || rr->ttl != r2->ttl ||
                rr->section != r2->section)
                abort();
            if (rr->type == DNS_TYPE_PTR && !same_name(&rr->u.ptr, &r2->u.ptr))
                abort();
            if (rr->type == DNS_TYPE_SRV && (!same_name(&rr->u.srv.target, &r2->u.srv.target) ||
                                             rr->u.srv.port != r2->u.srv.port))
                abort();
            k++;
        }
    } else if (e != PCP_ERR_TOO_BIG) {
        abort();
    }
    dns_builder_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[1100], txt[300];
    struct sockaddr_storage src;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&src;
    struct dns_builder b;
    unsigned mask;
    int qu;

    init();
    if (dns_parse(&m, data, size) != 0)
        return 0;
    for (size_t i = 0; i < m.nq; i++)
        dns_name_to_text(&m.q[i].name, text, sizeof(text));
    for (size_t i = 0; i < m.nrr; i++) {
        dns_name_to_text(&m.rr[i].name, text, sizeof(text));
        if (m.rr[i].type == DNS_TYPE_TXT) {
            dns_txt_join(&m.rr[i], txt, sizeof(txt));
            if (strlen(txt) >= sizeof(txt))
                abort();
        }
    }

    /* the querier, fed twice as if the packet came again */
    memset(&src, 0, sizeof(src));
    s4->sin_family = AF_INET;
    s4->sin_port = htons(5353);
    s4->sin_addr.s_addr = htonl(size & 1 ? 0x7f000001u : 0x0a000005u);
    if (mdns_query_init(&query, BUCKET, CHANNEL) != 0)
        abort();
    mdns_query_feed(&query, &m, &src, 3);
    mdns_query_feed(&query, &m, &src, 3);
    if (query.rec.naddr > MDNS_MAX_ADDRS || memchr(query.rec.txt, 0, sizeof(query.rec.txt)) == NULL)
        abort();
    if (mdns_query_complete(&query) && (query.rec.port == 0 || query.rec.naddr == 0))
        abort();
    if (mdns_query_build(&query, 1, &b) != 0 || dns_parse(&m2, b.w.p, b.w.len) != 0)
        abort();
    dns_builder_free(&b);

    /* the responder: what it answers must parse */
    int r = mdns_answer(&svc, &addrs, &m, (int)(size & 2), &b, &mask, &qu);
    if (r == 1 && dns_parse(&m2, b.w.p, b.w.len) != 0)
        abort();
    if (r < 0 && r != PCP_ERR_TOO_BIG)
        abort();
    dns_builder_free(&b);

    rebuild(&m);
    return 0;
}
