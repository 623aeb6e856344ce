/*
 * A build without OpenDHT: discovery/dht.c compiled without
 * PCP_HAVE_OPENDHT still builds and links, says it has no DHT, and refuses
 * to start a node or use one with PCP_ERR_UNSUPPORTED (pcp then goes on
 * without it). The mailboxes' keys, which need no library, are the same.
 */
#include <stdio.h>
#include <string.h>

#include "dht.h"
#include "err.h"

int main(void)
{
    struct pcp_dht *d = (struct pcp_dht *)1;
    uint8_t k[DHT_KEYBYTES], buf[DHT_VALUE_MAX] = {0};
    size_t len = 0;
    int tag = 0;
    /* test_dht's vector: role 's', bucket 1795460400000000000, channel 22. */
    static const uint8_t want[DHT_KEYBYTES] = {0xf9, 0x94, 0x39, 0xca, 0x8a, 0xca, 0x11,
                                               0x3b, 0x06, 0x30, 0x5d, 0x74, 0xfe, 0xa6,
                                               0x55, 0x9e, 0x74, 0xf4, 0xb8, 0xea};
    dht_mbox_key(k, 's', 1795460400000000000ull, 22);
    if (dht_version_text() != NULL || dht_open(&d, DHT_BOOTSTRAP_DEFAULT) != PCP_ERR_UNSUPPORTED ||
        d != NULL || memcmp(k, want, sizeof(k)) != 0 ||
        dht_listen(NULL, k, 1) != PCP_ERR_UNSUPPORTED ||
        dht_put(NULL, k, buf, 1) != PCP_ERR_UNSUPPORTED ||
        dht_next(NULL, 0, NULL, buf, &len, &tag) != PCP_ERR_UNSUPPORTED) {
        fprintf(stderr, "the build without OpenDHT misbehaves\n");
        return 1;
    }
    dht_close(NULL);
    puts("PASS");
    return 0;
}
