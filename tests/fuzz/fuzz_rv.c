/*
 * fuzz_rv.c - the relay's handling of rendezvous requests, its config
 * parser, and the client's parser of a key's several records. Input: one
 * selector byte ('C' config, 'R' a GET ?all=1 body for rv_records_parse),
 * then for a request "METHOD-BYTE PATH \n OWNER \n WAIT \n BODY" (an
 * empty OWNER or WAIT line means absent; bits 0-1 of METHOD-BYTE are the
 * method, bit 2 asks for ?all=1). The store lives across inputs, so
 * sequences of puts, gets and deletes from one corpus run meet each
 * other's records; what a GET ?all=1 answers goes through the client's
 * parser too, which must never find its framing broken.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "relay_priv.h"
#include "rv.h"

/* rv_records_parse on body: a count within max of distinct rooms of 32
 * lowercase hex digits, or PCP_ERR_PROTO; returns what it returned. */
static int check_records(const uint8_t *body, size_t len)
{
    char rooms[RV_RECORDS_MAX][RV_ROOM_HEX + 1];
    size_t max = len % RV_RECORDS_MAX + 1;
    int n = rv_records_parse(body, len, rooms, max);
    if (n == PCP_ERR_PROTO)
        return n;
    if (n < 1 || (size_t)n > max)
        abort();
    for (int i = 0; i < n; i++) {
        if (!rvp_is_hex(rooms[i], RV_ROOM_HEX))
            abort();
        for (int k = 0; k < i; k++)
            if (!strcmp(rooms[i], rooms[k]))
                abort();
    }
    return n;
}

static struct rv_store *store;
static struct ipcap *cap;
static struct relay_stats stats;
static struct relay_config cfg;
static uint64_t now = 1000;

/* Next '\n'-terminated field as a NUL-terminated copy in out. */
static const uint8_t *field(const uint8_t *p, const uint8_t *end, char *out, size_t cap_)
{
    size_t n = 0;
    while (p < end && *p != '\n') {
        if (n + 1 < cap_)
            out[n++] = (char)*p;
        p++;
    }
    out[n] = 0;
    return p < end ? p + 1 : p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store) {
        cap = ipcap_new();
        store = rv_store_new(cap, &stats);
        relay_config_default(&cfg);
        cfg.lim.max_records = 64;
        cfg.lim.per_ip_rooms = 16;
    }
    if (size < 2)
        return 0;
    if (data[0] == 'R') {
        check_records(data + 1, size - 1);
        return 0;
    }
    if (data[0] == 'C') {
        struct relay_config c;
        char err[256];
        relay_config_default(&c);
        relay_config_parse(&c, (const char *)data + 1, size - 1, err, sizeof(err));
        return 0;
    }
    static char path[300], owner[80], wait[16];
    const uint8_t *p = data + 2, *end = data + size;
    p = field(p, end, path, sizeof(path));
    p = field(p, end, owner, sizeof(owner));
    p = field(p, end, wait, sizeof(wait));
    struct rv_req rq = {0};
    rq.method = (enum rv_method)(data[1] % 4);
    rq.path = path;
    rq.owner = owner[0] ? owner : NULL;
    rq.wait = wait[0] ? wait : NULL;
    rq.all = data[1] & 4 ? "1" : NULL;
    rq.body = p;
    rq.body_len = (size_t)(end - p);
    rq.ip[15] = data[0];
    memcpy(rq.observed, "192.0.2.1:1", 12);
    now += data[0] * 1000u;
    rq.now_ms = now;
    if (data[0] & 1)
        rq.deadline_ms = now + 5000;
    struct rv_resp *rs = malloc(sizeof(*rs));
    rv_handle(store, &cfg.lim, &rq, rs);
    if (rs->status == 200 && rq.method == RV_M_GET) {
        if (rs->body_len > (rq.all ? RV_RECORDS_BODY_MAX : RV_RECORD_MAX) || rs->body_len == 0)
            abort();
        /* The relay keeps records apart: however odd they are, the body
         * has one to eight records, each ending in a newline, and one
         * empty line between two. */
        size_t records = 1;
        for (size_t i = 0; rq.all && i < rs->body_len; i++) {
            if (rs->body[i] == '\n' && (i == 0 || rs->body[i - 1] == '\n')) {
                if (i == 0 || i + 1 >= rs->body_len || rs->body[i + 1] == '\n')
                    abort();
                records++;
            }
        }
        if (rq.all && (records > RV_RECORDS_MAX || rs->body[rs->body_len - 1] != '\n'))
            abort();
        check_records(rs->body, rs->body_len);
    }
    free(rs);
    rv_store_sweep(store, now);
    return 0;
}
