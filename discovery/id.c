/*
 * id.c - the discovery id and the mDNS instance name derived from it.
 *
 * Both are functions of the time bucket and the public channel only; the
 * password must never reach this file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "discovery.h"
#include "err.h"

uint64_t discovery_now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t discovery_bucket(uint64_t now_ns)
{
    return now_ns - now_ns % DISCOVERY_BUCKET_NS;
}

int discovery_id(char *out, size_t len, uint64_t bucket, unsigned channel)
{
    if (!out || len == 0)
        return PCP_ERR_INVAL;
    int n = snprintf(out, len, "/pcp/%" PRIu64 "/%u", bucket, channel);
    if (n < 0 || (size_t)n >= len) {
        out[0] = '\0';
        return PCP_ERR_INVAL;
    }
    return 0;
}

int mdns_instance_name(char *out, size_t len, uint64_t bucket, unsigned channel)
{
    char id[64];
    uint8_t h[32];
    int e;

    if (!out || len < MDNS_INSTANCE_LEN)
        return PCP_ERR_INVAL;
    if ((e = discovery_id(id, sizeof(id), bucket, channel)) != 0)
        return e;
    if (crypto_generichash(h, sizeof(h), (const unsigned char *)id, strlen(id), NULL, 0) != 0)
        return PCP_ERR_CRYPTO;
    memcpy(out, "pcp-", 4);
    sodium_bin2hex(out + 4, len - 4, h, 8);
    return 0;
}
