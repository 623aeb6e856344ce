/*
 * dht_tool - drive discovery/dht.c from the command line for the DHT
 * tests (run it only inside network namespaces made by a test).
 *
 *   dht_tool put BOOTSTRAP CHANNEL BUCKETS_BACK TTL_S ADDR:PORT
 *       put a record for ADDR:PORT, valid for TTL_S seconds, under the
 *       bucket BUCKETS_BACK buckets before now's; print "stored" once a
 *       node took it (exit 1 after 20 s if none did), then stay until
 *       killed, putting nothing more (as a sender killed with -9 would)
 *   dht_tool lookup BOOTSTRAP CHANNEL TIMEOUT_MS
 *       print "found ADDR..." for each record the lookup gives (the latest
 *       t first) or "not found", then "seen N expired N invalid N
 *       reachable N ms N"; exit 0 when found, 1 when not
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dht.h"
#include "discovery.h"
#include "err.h"
#include "net.h"

int main(int argc, char **argv)
{
    struct pcp_dht *d;
    if (argc < 5) {
        fprintf(stderr, "usage: see dht_tool.c\n");
        return 2;
    }
    unsigned channel = (unsigned)strtoul(argv[3], NULL, 10);
    int e = dht_open(&d, argv[2]);
    if (e) {
        fprintf(stderr, "dht_open: %s\n", pcp_strerror(e));
        return 1;
    }
    if (!strcmp(argv[1], "put") && argc == 7) {
        struct sockaddr_storage a;
        char rec[DHT_RECORD_MAX + 1];
        uint64_t back = strtoull(argv[4], NULL, 10);
        uint64_t b = discovery_bucket(discovery_now_ns()) - back * DISCOVERY_BUCKET_NS;
        if (net_addr_parse(argv[6], strlen(argv[6]), &a) != 0 ||
            dht_record_make(rec, sizeof(rec),
                            discovery_now_ns() / 1000000000u + strtoull(argv[5], NULL, 10), &a,
                            1) != 0)
            return 2;
        /* Until a node takes it: the network may still be forming. */
        for (int i = 0; i < 20; i++) {
            dht_put_record(d, b, channel, rec);
            for (int k = 0; k < 10 && dht_put_state(d) < 0; k++)
                usleep(100000);
            if (dht_put_state(d) == 1)
                break;
        }
        if (dht_put_state(d) != 1) {
            fprintf(stderr, "no node took the record\n");
            return 1;
        }
        printf("stored\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    if (!strcmp(argv[1], "lookup")) {
        struct dht_record r[DHT_LOOKUP_MAX];
        struct dht_stats st;
        size_t n;
        e = dht_lookup(d, channel, atoi(argv[4]), NULL, r, DHT_LOOKUP_MAX, &n, &st);
        for (size_t k = 0; e == 0 && k < n; k++) {
            printf("found");
            for (size_t i = 0; i < r[k].naddr; i++) {
                char s[64];
                net_addr_str(&r[k].addr[i], 1, s, sizeof(s));
                printf(" %s", s);
            }
            printf("\n");
        }
        if (e != 0)
            printf("not found\n");
        printf("seen %u expired %u invalid %u reachable %d ms %d\n", st.seen, st.expired,
               st.invalid, st.reachable, st.ms);
        dht_close(d);
        return e == 0 ? 0 : 1;
    }
    fprintf(stderr, "usage: see dht_tool.c\n");
    return 2;
}
