/*
 * fuzz_dht.c - the DHT record parser (records come from anyone who puts
 * one under a key) and the --dht-bootstrap syntax. A record that parses
 * must hold only public addresses, and must survive being made again from
 * what was parsed and parsed once more, unchanged.
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
    char s[512], host[DHT_HOST_MAX], port[6];
    size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
    memcpy(s, data, n);
    s[n] = '\0';
    if (dht_bootstrap_parse(s, host, port) == 0 && (strlen(host) == 0 || strlen(port) == 0))
        abort();
    return 0;
}
