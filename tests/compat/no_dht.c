/*
 * A build without OpenDHT: discovery/dht.c compiled without
 * PCP_HAVE_OPENDHT still builds and links, says it has no DHT, and refuses
 * to start a node with PCP_ERR_UNSUPPORTED (pcp then goes on without it).
 * The record format, which needs no library, works the same.
 */
#include <stdio.h>
#include <string.h>

#include "dht.h"
#include "err.h"

int main(void)
{
    struct pcp_dht *d = (struct pcp_dht *)1;
    struct dht_record r;
    const char *rec = "v=1\nt=5\na=203.0.113.7:1\n";
    if (dht_version_text() != NULL || dht_open(&d, DHT_BOOTSTRAP_DEFAULT) != PCP_ERR_UNSUPPORTED ||
        d != NULL || dht_record_parse((const unsigned char *)rec, strlen(rec), &r) != 0) {
        fprintf(stderr, "the build without OpenDHT misbehaves\n");
        return 1;
    }
    dht_close(NULL);
    puts("PASS");
    return 0;
}
