/*
 * metrics.c - /metrics in the Prometheus text format and the status page.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "relay_priv.h"

/* The resident set now (Linux's /proc), else its peak (getrusage: bytes
 * on macOS, KiB elsewhere). */
static uint64_t rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
        return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0 || ru.ru_maxrss < 0)
        return 0;
#if defined(__APPLE__)
    return (uint64_t)ru.ru_maxrss;
#else
    return (uint64_t)ru.ru_maxrss * 1024u;
#endif
}

#define LOAD(x) ((unsigned long long)atomic_load(&st->x))

size_t relay_metrics(const struct relay_stats *st, size_t rooms, size_t conns, int draining,
                     char *out, size_t cap)
{
    int n = snprintf(
        out, cap,
        "# HELP pcp_relay_uptime_seconds Seconds since the relay started.\n"
        "# TYPE pcp_relay_uptime_seconds gauge\n"
        "pcp_relay_uptime_seconds %llu\n"
        "# HELP pcp_relay_rooms Rooms open now (waiting or paired).\n"
        "# TYPE pcp_relay_rooms gauge\n"
        "pcp_relay_rooms %zu\n"
        "# HELP pcp_relay_rooms_paired Rooms with both peers now.\n"
        "# TYPE pcp_relay_rooms_paired gauge\n"
        "pcp_relay_rooms_paired %llu\n"
        "# HELP pcp_relay_pairs_total Pairs made since start.\n"
        "# TYPE pcp_relay_pairs_total counter\n"
        "pcp_relay_pairs_total %llu\n"
        "# HELP pcp_relay_bytes_total Bytes relayed since start.\n"
        "# TYPE pcp_relay_bytes_total counter\n"
        "pcp_relay_bytes_total %llu\n"
        "# HELP pcp_relay_connections HTTP connections open now, pipes included.\n"
        "# TYPE pcp_relay_connections gauge\n"
        "pcp_relay_connections %zu\n"
        "# HELP pcp_relay_records Rendezvous records held now.\n"
        "# TYPE pcp_relay_records gauge\n"
        "pcp_relay_records %llu\n"
        "# HELP pcp_relay_requests_total Rendezvous requests by kind.\n"
        "# TYPE pcp_relay_requests_total counter\n"
        "pcp_relay_requests_total{kind=\"put\"} %llu\n"
        "pcp_relay_requests_total{kind=\"get\"} %llu\n"
        "pcp_relay_requests_total{kind=\"get_found\"} %llu\n"
        "pcp_relay_requests_total{kind=\"delete\"} %llu\n"
        "pcp_relay_requests_total{kind=\"punch\"} %llu\n"
        "# HELP pcp_relay_punch_meetings_total Punch requests whose peer came.\n"
        "# TYPE pcp_relay_punch_meetings_total counter\n"
        "pcp_relay_punch_meetings_total %llu\n"
        "# HELP pcp_relay_refused_total Requests refused, by reason.\n"
        "# TYPE pcp_relay_refused_total counter\n"
        "pcp_relay_refused_total{reason=\"token\"} %llu\n"
        "pcp_relay_refused_total{reason=\"limit\"} %llu\n"
        "pcp_relay_refused_total{reason=\"taken\"} %llu\n"
        "pcp_relay_refused_total{reason=\"bad_request\"} %llu\n"
        "pcp_relay_refused_total{reason=\"key_full\"} %llu\n"
        "pcp_relay_refused_total{reason=\"draining\"} %llu\n"
        "# HELP pcp_relay_draining 1 while draining after SIGTERM: no new senders or pipes.\n"
        "# TYPE pcp_relay_draining gauge\n"
        "pcp_relay_draining %d\n"
        "# HELP pcp_relay_closed_total Pipes closed by the relay, by reason.\n"
        "# TYPE pcp_relay_closed_total counter\n"
        "pcp_relay_closed_total{reason=\"idle\"} %llu\n"
        "pcp_relay_closed_total{reason=\"no_peer\"} %llu\n"
        "pcp_relay_closed_total{reason=\"byte_cap\"} %llu\n"
        "pcp_relay_closed_total{reason=\"silent\"} %llu\n"
        "# HELP pcp_relay_resident_bytes Resident memory of the relay.\n"
        "# TYPE pcp_relay_resident_bytes gauge\n"
        "pcp_relay_resident_bytes %llu\n",
        (unsigned long long)((relay_now_ms() - st->start_ms) / 1000), rooms, LOAD(rooms_paired),
        LOAD(pairs_total), LOAD(bytes_relayed), conns, LOAD(records), LOAD(puts), LOAD(gets),
        LOAD(gets_hit), LOAD(deletes), LOAD(punches), LOAD(punch_meetings), LOAD(refused_auth),
        LOAD(refused_limit), LOAD(refused_full), LOAD(refused_bad), LOAD(refused_key_full),
        LOAD(refused_draining), draining, LOAD(closed_idle), LOAD(closed_arrival),
        LOAD(closed_bytes), LOAD(closed_silent), (unsigned long long)rss_bytes());
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

size_t relay_status_html(const struct relay_stats *st, size_t rooms, char *out, size_t cap)
{
    uint64_t up = (relay_now_ms() - st->start_ms) / 1000;
    double gib = (double)atomic_load(&st->bytes_relayed) / (1u << 30);
    int n = snprintf(out, cap,
                     "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
                     "<title>pcp relay</title></head><body>\n"
                     "<h1>pcp relay</h1>\n<table>\n"
                     "<tr><td>up</td><td>%llud %02lluh %02llum %02llus</td></tr>\n"
                     "<tr><td>rooms open</td><td>%zu (%llu paired)</td></tr>\n"
                     "<tr><td>pairs since start</td><td>%llu</td></tr>\n"
                     "<tr><td>relayed</td><td>%.3f GiB</td></tr>\n"
                     "<tr><td>rendezvous records</td><td>%llu</td></tr>\n"
                     "</table>\n<p>Run your own: <code>pcp relay</code>. "
                     "Metrics: <a href=\"/metrics\">/metrics</a>.</p>\n</body></html>\n",
                     (unsigned long long)(up / 86400), (unsigned long long)(up / 3600 % 24),
                     (unsigned long long)(up / 60 % 60), (unsigned long long)(up % 60), rooms,
                     LOAD(rooms_paired), LOAD(pairs_total), gib, LOAD(records));
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
