/*
 * fuzz_rv.c - the relay's handling of rendezvous requests and its config
 * parser. Input: one selector byte, then for a request "METHOD-BYTE PATH
 * \n OWNER \n WAIT \n BODY" (an empty OWNER or WAIT line means absent).
 * The store lives across inputs, so sequences of puts, gets and deletes
 * from one corpus run meet each other's records.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay_priv.h"

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
    if (rs->status == 200 && rq.method == RV_M_GET && rs->body_len > RV_RECORD_MAX)
        abort();
    free(rs);
    rv_store_sweep(store, now);
    return 0;
}
