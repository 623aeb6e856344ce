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
 * PCP_MDNS_INTERFACE restricts both to one interface. With
 * MDNS_TOOL_ROLL_IN_MS=N the clock runs skewed so that the five-minute
 * bucket rolls over N ms after start; "announce" prints "bucket B" (the
 * bucket it started in) before "ready"; with MDNS_TOOL_BUCKET=B it runs
 * from the middle of bucket B (with both, from N ms before B ends). SIGINT/SIGTERM stop "announce"
 * and cancel "lookup". Exit 0 on success, 1 on failure (2 for usage),
 * with the error on stderr.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "discovery.h"
#include "mdns_priv.h"
#include "err.h"
#include "net.h"

static atomic_int stop; /* lock-free: a signal handler may store it */
static int64_t skew_ns;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static uint64_t skewed_clock(void)
{
    return discovery_now_ns() + (uint64_t)skew_ns;
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
    const char *roll = getenv("MDNS_TOOL_ROLL_IN_MS"), *at = getenv("MDNS_TOOL_BUCKET");
    struct sigaction sa;
    if (argc < 3)
        return usage();
    if (roll) {
        uint64_t now = discovery_now_ns();
        uint64_t next = (at ? strtoull(at, NULL, 10) : discovery_bucket(now)) + DISCOVERY_BUCKET_NS;
        skew_ns = (int64_t)(next - now) - (int64_t)strtoll(roll, NULL, 10) * 1000000;
        mdns_clock_ns = skewed_clock;
    } else if (at) {
        uint64_t target = strtoull(at, NULL, 10) + DISCOVERY_BUCKET_NS / 2;
        skew_ns = (int64_t)(target - discovery_now_ns());
        mdns_clock_ns = skewed_clock;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    unsigned channel = (unsigned)strtoul(argv[2], NULL, 10);

    if (strcmp(argv[1], "name") == 0) {
        char name[MDNS_INSTANCE_LEN];
        uint64_t bucket =
            argc > 3 ? strtoull(argv[3], NULL, 10) : discovery_bucket(mdns_clock_ns());
        if (mdns_instance_name(name, sizeof(name), bucket, channel) != 0)
            return 1;
        printf("%s\n", name);
        return 0;
    }
    if (strcmp(argv[1], "announce") == 0 && argc >= 4) {
        struct mdns_responder *r;
        long seconds = argc > 4 ? strtol(argv[4], NULL, 10) : -1;
        const char *txt = argc > 5 ? argv[5] : "v=1";
        int e;
        e = mdns_responder_start(&r, ifname, channel, (uint16_t)strtoul(argv[3], NULL, 10), txt);
        if (e) {
            fprintf(stderr, "mdns_tool: announce: %s\n", pcp_strerror(e));
            return 1;
        }
        printf("bucket %llu\nready\n", (unsigned long long)discovery_bucket(mdns_clock_ns()));
        fflush(stdout);
        for (long t = 0; !stop && (seconds < 0 || t < seconds * 10); t++)
            usleep(100000);
        mdns_responder_stop(r);
        printf("stopped\n");
        return 0;
    }
    if (strcmp(argv[1], "lookup") == 0 && argc >= 4) {
        struct mdns_record rec;
        int e = mdns_lookup(ifname, channel, atoi(argv[3]), &stop, &rec);
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
