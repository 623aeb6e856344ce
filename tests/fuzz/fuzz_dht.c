/*
 * fuzz_dht.c - the DHT record parser (records come from anyone who puts
 * one under a key), what a lookup keeps of it, and the --dht-bootstrap
 * syntax. A record that parses must hold only public addresses, and must
 * survive being made again from what was parsed and parsed once more,
 * unchanged. A lookup's list stays sorted (latest t first), within its
 * bounds, and holds nothing expired or too far in the future.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dht.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dht_record r, again;
    if (dht_record_parse(data, size, &r) == 0) {
        char rec[DHT_RECORD_MAX + 1];
        if (r.naddr == 0 || r.naddr > DHT_MAX_ADDRS)
            abort();
        for (size_t i = 0; i < r.naddr; i++)
            if (!dht_addr_public(&r.addr[i]))
                abort();
        /* Made again it may be longer (an address written out in full),
         * so only a record that fits must round-trip. */
        if (dht_record_make(rec, sizeof(rec), r.expires, r.addr, r.naddr) == 0) {
            if (dht_record_parse((const uint8_t *)rec, strlen(rec), &again) != 0 ||
                again.expires != r.expires || again.naddr != r.naddr ||
                memcmp(again.addr, r.addr, r.naddr * sizeof(r.addr[0])) != 0)
                abort();
        }
    }
    /* The input cut in two as two values arriving at one lookup, with a
     * clock that makes some of them valid. */
    static struct dht_record kept[DHT_LOOKUP_MAX];
    struct dht_stats st = {0, 0, 0, 0, -1};
    size_t nk = 0, half = size / 2;
    uint64_t now = r.expires > 200 ? r.expires - 200 : 1;
    dht_record_offer(data, half, now, kept, &nk, DHT_LOOKUP_MAX, &st);
    dht_record_offer(data + half, size - half, now, kept, &nk, DHT_LOOKUP_MAX, &st);
    dht_record_offer(data, size, now, kept, &nk, DHT_LOOKUP_MAX, &st);
    if (nk > DHT_LOOKUP_MAX || st.seen != 3 || st.invalid + st.expired > 3)
        abort();
    for (size_t i = 0; i < nk; i++)
        if (kept[i].expires <= now || kept[i].expires > now + DHT_TTL_S + DHT_SKEW_S ||
            (i > 0 && kept[i].expires > kept[i - 1].expires))
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
