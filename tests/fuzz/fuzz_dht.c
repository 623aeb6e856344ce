/*
 * fuzz_dht.c - what comes out of the DHT: a mailbox value (anyone can put
 * one under a mailbox's key; mbox.h) and the candidates sealed in one,
 * and the --dht-bootstrap and /proc/net/if_inet6 syntaxes.
 *
 * A value that parses is made again, byte for byte, from what was parsed.
 * Candidates that parse hold only what may be dialled, and survive being
 * written out and parsed again, and sealed and opened again, unchanged.
 * Opening the input as sealed candidates under a fixed key must not
 * crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dht.h"
#include "err.h"
#include "mbox.h"
#include "punch.h"

static int same_cands(const struct mbox_cands *x, const struct mbox_cands *y)
{
    if (x->n != y->n || x->nat != y->nat)
        return 0;
    for (size_t i = 0; i < x->n; i++)
        if (x->kind[i] != y->kind[i] || memcmp(&x->addr[i], &y->addr[i], sizeof(x->addr[i])) != 0)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[32] = "fuzz_dht: a fixed secretbox key";
    if (sodium_init() < 0)
        abort();

    struct mbox_msg m;
    if (mbox_parse(data, size, &m) == 0) {
        uint8_t again[MBOX_VALUE_MAX];
        if (m.type < MBOX_R1 || m.type > MBOX_S2 || m.body != data + MBOX_HDRBYTES ||
            m.body_len + MBOX_HDRBYTES != size || size > MBOX_VALUE_MAX ||
            mbox_make(again, sizeof(again), m.type, m.aid, m.body, m.body_len) != size ||
            memcmp(again, data, size) != 0)
            abort();
    }

    struct mbox_cands c, back;
    if (mbox_cands_parse((const char *)data, size, &c) == 0) {
        char text[MBOX_CANDS_TEXT_MAX];
        uint8_t box[MBOX_SEALED_MAX];
        if (c.n == 0 || c.n > MBOX_MAX_CANDS || (c.nat != 0 && c.nat != 1))
            abort();
        for (size_t i = 0; i < c.n; i++)
            if (!punch_addr_ok(&c.addr[i], 0) ||
                (c.kind[i] != MBOX_CAND_LAN && !dht_addr_public(&c.addr[i])))
                abort();
        size_t tl = mbox_cands_text(&c, text, sizeof(text));
        if (tl == 0 || tl > size || mbox_cands_parse(text, tl, &back) != 0 ||
            !same_cands(&c, &back))
            abort();
        size_t bl = mbox_cands_seal(&c, key, box, sizeof(box));
        if (bl != MBOX_SEALED_MIN + tl || mbox_cands_open(box, bl, key, &back) != 0 ||
            !same_cands(&c, &back))
            abort();
    }
    int e = mbox_cands_open(data, size, key, &back);
    if (e == 0 ? back.n == 0 || back.n > MBOX_MAX_CANDS : e != PCP_ERR_CRYPTO && e != PCP_ERR_PROTO)
        abort();

    char s[512], host[DHT_HOST_MAX], port[6];
    size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
    memcpy(s, data, n);
    s[n] = '\0';
    if (dht_bootstrap_parse(s, host, port) == 0 && (strlen(host) == 0 || strlen(port) == 0))
        abort();

    /* The input as /proc/net/if_inet6, asked about its first listed
     * address (the input's first 32 bytes read as hex, where they are). */
    uint8_t a[16] = {0};
    for (size_t i = 0; i < 16 && 2 * i + 1 < size; i++)
        a[i] = (uint8_t)(data[2 * i] << 4 ^ data[2 * i + 1]);
    int v = dht_v6_publishable((const char *)data, size, a);
    if (v != 0 && v != 1)
        abort();
    return 0;
}
