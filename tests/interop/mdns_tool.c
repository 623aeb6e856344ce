/*
 * mdns_tool - drive discovery/ from the command line, for the interop
 * tests (run it only inside a private network namespace: it multicasts).
 *
 *   mdns_tool name CHANNEL                   instance label for now's bucket
 *   mdns_tool name CHANNEL BUCKET            ... for a given bucket (ns)
 *   mdns_tool announce CHANNEL PORT [SECONDS] [TXT]
 *                                            run the responder (default: until
 *                                            SIGINT/SIGTERM); prints "ready"
 *   mdns_tool lookup CHANNEL TIMEOUT_MS      print "port P", "txt T" and one
 *                                            "addr A" line per address
 *
 * PCP_MDNS_INTERFACE restricts both to one interface. Exit 0 on success,
 * 1 on failure (2 for usage), with the error on stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "discovery.h"
#include "err.h"
#include "net.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: mdns_tool name CHANNEL [BUCKET]\n"
                    "       mdns_tool announce CHANNEL PORT [SECONDS] [TXT]\n"
                    "       mdns_tool lookup CHANNEL TIMEOUT_MS\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *ifname = getenv("PCP_MDNS_INTERFACE");
    if (ifname && !*ifname)
        ifname = NULL;
    if (argc < 3)
        return usage();
    unsigned channel = (unsigned)strtoul(argv[2], NULL, 10);

    if (strcmp(argv[1], "name") == 0) {
        char name[MDNS_INSTANCE_LEN];
        uint64_t bucket = argc > 3 ? strtoull(argv[3], NULL, 10)
                                   : discovery_bucket(discovery_now_ns());
        if (mdns_instance_name(name, sizeof(name), bucket, channel) != 0)
            return 1;
        printf("%s\n", name);
        return 0;
    }
    if (strcmp(argv[1], "announce") == 0 && argc >= 4) {
        struct mdns_responder *r;
        struct sigaction sa;
        long seconds = argc > 4 ? strtol(argv[4], NULL, 10) : -1;
        const char *txt = argc > 5 ? argv[5] : "v=1";
        int e;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        e = mdns_responder_start(&r, ifname, channel, (uint16_t)strtoul(argv[3], NULL, 10), txt);
        if (e) {
            fprintf(stderr, "mdns_tool: announce: %s\n", pcp_strerror(e));
            return 1;
        }
        printf("ready\n");
        fflush(stdout);
        for (long t = 0; !stop && (seconds < 0 || t < seconds * 10); t++)
            usleep(100000);
        mdns_responder_stop(r);
        printf("stopped\n");
        return 0;
    }
    if (strcmp(argv[1], "lookup") == 0 && argc >= 4) {
        struct mdns_record rec;
        int e = mdns_lookup(ifname, channel, atoi(argv[3]), NULL, &rec);
        if (e) {
            fprintf(stderr, "mdns_tool: lookup: %s\n", pcp_strerror(e));
            return 1;
        }
        printf("port %u\ntxt %s\n", rec.port, rec.txt);
        for (size_t i = 0; i < rec.naddr; i++) {
            char a[80];
            net_addr_str(&rec.addr[i], 1, a, sizeof(a));
            printf("addr %s\n", a);
        }
        return 0;
    }
    return usage();
}
