/*
 * receive.c - `pcp receive CODE`: find the sender, prove the code, show the
 * offer, write what arrives under --out. The code may come from the
 * argument, PCP_CODE or a prompt, so that it need not appear in the
 * process list.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cmd.h"
#include "code.h"
#include "dht.h"
#include "discovery.h"
#include "err.h"
#include "handshake.h"
#include "net.h"
#include "punch.h"

struct rctx {
    struct ui *u;
    int yes;
    const char *peer;
    const char *out_dir;
    int to_stdout;
    int text; /* the offer was a message, already shown */
};

static void help(FILE *f)
{
    fprintf(
        f,
        "Usage: pcp receive [options] [CODE]\n\n"
        "Receive what 'pcp send' offers. Without CODE, reads it from PCP_CODE or asks\n"
        "for it, so that it does not show in the process list.\n\n"
        "Options:\n"
        "  -o, --out DIR           write into DIR (default: the current directory)\n"
        "      --stdout            write the one file offered to standard output\n"
        "                          (a directory or several files are refused)\n"
        "  -y, --yes               accept the offer without asking\n"
        "      --overwrite         replace existing files (default: refuse)\n"
        "      --json              one JSON event per line on stdout\n"
        "      --json-fd N         the same on file descriptor N (e.g. 3 with 3>FILE)\n"
        "      --mdns-interface IF look only on this interface\n"
        "                          (default: every multicast interface; env PCP_MDNS_INTERFACE)\n"
        "      --timeout SECONDS   how long to look for the sender (default 30)\n"
        "      --stall-timeout S   give up when the transfer makes no progress for S\n"
        "                          seconds (default 30); receiving again resumes it\n"
        "      --threads N         decompression threads (default: CPU count, at most 4)\n"
        "      --relay URL         also look at this relay, for senders on other networks\n"
        "                          (env PCP_RELAY, or 'relay = URL' in the config file)\n"
        "      --relay-token T     the relay's token (env PCP_RELAY_TOKEN)\n"
        "      --no-relay          never use a relay, even a configured one\n"
        "      --force-relay       only the relay: no LAN lookup or DHT (for testing)\n"
        "      --dht-bootstrap H:P the DHT node to join (env PCP_DHT_BOOTSTRAP;\n"
        "                          default bootstrap.jami.net:4222)\n"
        "      --no-dht            do not look in the public DHT\n"
        "  -h, --help              this text\n");
}

/* Read a line from the terminal (not stdin, which may carry data). */
static int ask(const char *prompt, char *buf, size_t len)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (write(fd, prompt, strlen(prompt)) < 0) {
        close(fd);
        return -1;
    }
    size_t n = 0;
    char c;
    while (n + 1 < len && read(fd, &c, 1) == 1 && c != '\n')
        buf[n++] = c;
    buf[n] = '\0';
    close(fd);
    return 0;
}

/* The top-level names of the offer, at most three, then "and N more". */
static void offer_names(const struct manifest *m, char *out, size_t outlen, size_t *top)
{
    char shown[256];
    size_t o = 0, listed = 0;
    *top = 0;
    out[0] = '\0';
    for (size_t i = 0; i < m->n; i++) {
        if (strchr(m->e[i].path, '/'))
            continue;
        if (++*top > 3)
            continue;
        manifest_display(m->e[i].path, shown, sizeof(shown));
        int w = snprintf(out + o, outlen - o, "%s'%s%s'", listed ? ", " : "", shown,
                         m->e[i].type == MF_DIR ? "/" : "");
        if (w > 0 && (size_t)w < outlen - o)
            o += (size_t)w;
        listed++;
    }
    if (*top > 3)
        snprintf(out + o, outlen - o, " and %zu more", *top - 3);
}

/* A message is shown at once, nothing to accept: to a terminal with
 * control characters made harmless, else byte for byte. */
static int show_text(struct rctx *r, const struct mf_entry *en)
{
    r->text = 1;
    if (r->u->json) {
        fprintf(r->u->json, "{\"event\":\"text\",\"text\":");
        ui_json_str(r->u->json, en->text);
        fprintf(r->u->json, ",\"bytes\":%llu,\"peer\":\"%s\"}\n", (unsigned long long)en->size,
                r->peer);
    } else if (isatty(1)) {
        size_t n = (size_t)en->size;
        char *shown = malloc(n + 1);
        if (!shown)
            return 0;
        manifest_display_text(en->text, shown, n + 1);
        fprintf(stderr, "Message from %s:\n", r->peer);
        printf("%s%s", shown, n && en->text[n - 1] == '\n' ? "" : "\n");
        free(shown);
    } else {
        fwrite(en->text, 1, (size_t)en->size, stdout);
    }
    fflush(stdout);
    return 1;
}

static int confirm(void *ud, const struct manifest *m)
{
    struct rctx *r = ud;
    char size[32], what[900];
    size_t top;
    if (m->n == 1 && m->e[0].type == MF_TEXT)
        return show_text(r, &m->e[0]);
    int unsized = m->n == 1 && mf_streamed(&m->e[0]);
    if (unsized)
        snprintf(size, sizeof(size), "size not known until the end");
    else
        ui_human_size(m->total_bytes, size, sizeof(size));
    offer_names(m, what, sizeof(what), &top);
    if (r->u->json) {
        fprintf(r->u->json, "{\"event\":\"offer\",\"names\":");
        ui_json_str(r->u->json, what);
        fprintf(r->u->json, ",\"top\":%zu,\"entries\":%zu,\"files\":%llu,", top, m->n,
                (unsigned long long)m->nfiles);
        if (unsized)
            fprintf(r->u->json, "\"bytes\":null");
        else
            fprintf(r->u->json, "\"bytes\":%llu", (unsigned long long)m->total_bytes);
        fprintf(r->u->json, ",\"peer\":\"%s\"}\n", r->peer);
        fflush(r->u->json);
    }
    char q[1100];
    snprintf(q, sizeof(q), "Receive %s (%llu file%s, %s) from %s%s? [y/N] ", what,
             (unsigned long long)m->nfiles, m->nfiles == 1 ? "" : "s", size, r->peer,
             r->to_stdout ? " to standard output" : "");
    if (r->yes) {
        if (!r->u->json)
            fprintf(stderr, "%syes (--yes)\n", q);
        return 1;
    }
    char ans[16];
    if (ask(q, ans, sizeof(ans)) != 0) {
        fprintf(stderr, "%s\npcp: no terminal to ask on; use --yes to accept without asking\n", q);
        return 0;
    }
    return ans[0] == 'y' || ans[0] == 'Y';
}

/* The sender's record at the relay, looked for beside mDNS: the current
 * and the previous bucket, then long-polls on the current one. Once
 * found, and once the LAN has had its head start, mDNS is told to stop. */
struct rv_find {
    struct rv_client client;
    unsigned channel;
    uint64_t deadline_ms, head_start_ms;
    volatile int cancel, done, found;
    volatile int *mdns_cancel;
    int err;
    char room[RV_ROOM_HEX + 1];
};

#define DIRECT_HEAD_START_MS 2000

static int rv_try(struct rv_find *f, uint64_t bucket, int wait_s)
{
    char key[RV_KEY_HEX + 1];
    uint8_t rec[RV_RECORD_MAX];
    size_t len;
    rv_key(key, bucket, f->channel);
    int e = rv_get(&f->client, key, wait_s, rec, sizeof(rec), &len, NULL);
    if (e == 0 && rv_record_parse(rec, len, f->room) == 0)
        f->found = 1;
    return e;
}

static void *rv_find_main(void *arg)
{
    struct rv_find *f = arg;
    f->err = PCP_ERR_NOT_FOUND;
    while (!f->cancel && !f->found && (uint64_t)net_now_ms() < f->deadline_ms) {
        uint64_t b = discovery_bucket(discovery_now_ns());
        int e = rv_try(f, b - DISCOVERY_BUCKET_NS, 0);
        if (!f->found && (e == 0 || e == PCP_ERR_NOT_FOUND)) {
            uint64_t left = (f->deadline_ms - (uint64_t)net_now_ms()) / 1000;
            e = rv_try(f, b, left < 10 ? (int)left : 10);
        }
        if (e == PCP_ERR_RELAY_AUTH || e == PCP_ERR_CANCELLED) {
            f->err = e;
            break;
        }
        if (e && e != PCP_ERR_NOT_FOUND) {
            f->err = e; /* the relay is unreachable: try again in a second */
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
        }
    }
    while (f->found && !f->cancel && (uint64_t)net_now_ms() < f->head_start_ms) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (f->found)
        *f->mdns_cancel = 1;
    f->done = 1;
    return NULL;
}

/* The sender's record in the DHT, looked for beside mDNS and the relay,
 * with the same head start for the LAN. */
struct dht_find {
    const char *bootstrap;
    unsigned channel;
    int timeout_ms;
    int64_t head_start_ms;
    volatile int cancel, done, found;
    volatile int *mdns_cancel;
    int err;
    struct dht_record rec;
    struct dht_stats st;
};

static void *dht_find_main(void *arg)
{
    struct dht_find *f = arg;
    struct pcp_dht *d;
    if ((f->err = dht_open(&d, f->bootstrap)) != 0) {
        f->done = 1;
        return NULL;
    }
    f->err = dht_lookup(d, f->channel, f->timeout_ms, &f->cancel, &f->rec, &f->st);
    f->found = f->err == 0;
    dht_close(d);
    while (f->found && !f->cancel && net_now_ms() < f->head_start_ms) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (f->found)
        *f->mdns_cancel = 1;
    f->done = 1;
    return NULL;
}

static void progress(void *ud, const struct xfer_progress *p)
{
    struct rctx *r = ud;
    if (!r->text) /* a message has no progress to show */
        ui_progress(r->u, p);
}

static void resuming(void *ud, uint64_t files, uint64_t bytes)
{
    ui_resuming(((struct rctx *)ud)->u, 1, files, bytes);
}

int cmd_receive(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"yes", no_argument, 0, 'y'},
                                         {"stdout", no_argument, 0, 's'},
                                         {"overwrite", no_argument, 0, 'O'},
                                         {"json", no_argument, 0, 'j'},
                                         {"json-fd", required_argument, 0, 'J'},
                                         {"mdns-interface", required_argument, 0, 'i'},
                                         {"timeout", required_argument, 0, 't'},
                                         {"threads", required_argument, 0, 'T'},
                                         {"stall-timeout", required_argument, 0, 'S'},
                                         RELAY_LONG_OPTIONS,
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct ui u;
    struct rctx rc_ctx = {0};
    struct punch_prep prep = {.lfd = -1};
    struct xfer_opts xo;
    struct xfer_progress res;
    struct pcp_code code;
    struct mdns_record rec;
    struct frame_reader fr = {0};
    const char *ifopt = NULL, *text = NULL;
    struct relay_flags rf = {0};
    struct relay_choice rly;
    long timeout_s = 30, num;
    FILE *json = NULL;
    int fd = -1, rc, e, o;
    char line[256], err[256], errpath[512], peer_msg[256];

    memset(&xo, 0, sizeof(xo));
    optind = 1;
    while ((o = getopt_long(argc, argv, "o:yh", opts, NULL)) != -1) {
        switch (o) {
        case 'o':
            xo.out_dir = optarg;
            break;
        case 'y':
            rc_ctx.yes = 1;
            break;
        case 's':
            xo.to_stdout = rc_ctx.to_stdout = 1;
            break;
        case 'O':
            xo.overwrite = 1;
            break;
        case 'j':
            json = stdout;
            break;
        case 'J':
            if (ui_json_fd(optarg, &json) != 0)
                return EXIT_USAGE;
            break;
        case 'i':
            ifopt = optarg;
            break;
        case 't':
            if (ui_option_num("--timeout", optarg, 1, TIMEOUT_MAX_S, &timeout_s) != 0)
                return EXIT_USAGE;
            break;
        case 'S':
            if (ui_option_num("--stall-timeout", optarg, 1, TIMEOUT_MAX_S, &num) != 0)
                return EXIT_USAGE;
            xo.stall_ms = (int)(num * 1000);
            break;
        case 'T':
            if (ui_option_num("--threads", optarg, 1, THREADS_MAX, &num) != 0)
                return EXIT_USAGE;
            xo.threads = (int)num;
            break;
        case 'h':
            help(stdout);
            return EXIT_OK;
        default:
            if (ui_relay_flag(&rf, o, optarg))
                break;
            help(stderr);
            return EXIT_USAGE;
        }
    }
    if (ui_relay_choice(&rly, &rf) != 0 || ui_cipher_env(&xo.ciphers) != 0)
        return EXIT_USAGE;
    if (!xo.out_dir && !xo.to_stdout && rly.cfg.out[0])
        xo.out_dir = rly.cfg.out; /* the config file's default */
    if (xo.to_stdout && (json == stdout || xo.out_dir)) {
        fprintf(stderr, "pcp: --stdout takes standard output for the data: not with %s\n",
                json == stdout ? "--json (--json-fd 3 puts the events on descriptor 3)" : "--out");
        return EXIT_USAGE;
    }
    ui_init(&u, json, "Receiving");
    ui_install_signals(&u);
    if (optind < argc)
        text = argv[optind];
    else if (getenv("PCP_CODE") && *getenv("PCP_CODE"))
        text = getenv("PCP_CODE");
    else if (ask("Code: ", line, sizeof(line)) == 0)
        text = line;
    if (!text || !*text)
        return ui_fail(&u, PCP_ERR_INVAL,
                       "no code given: pass it as an argument, in PCP_CODE, "
                       "or type it when asked");
    if ((e = code_parse(text, &code, err, sizeof(err))) != 0)
        return ui_fail(&u, PCP_ERR_INVAL, "%s", err);

    const char *ifname = ui_mdns_ifname(ifopt, &rly.cfg);
    if (!json)
        fprintf(stderr, "Looking for the sender%s%s%s%s...\n",
                rly.only ? "" : " on the local network", rly.dht ? ", in the DHT" : "",
                rly.use ? (rly.only ? " at " : " and at ") : "", rly.use ? rly.shown : "");
    /* Both at once: mDNS here, the record at the relay in a thread. */
    volatile int mdns_cancel = 0;
    struct rv_find find = {0};
    pthread_t find_thread;
    int finding = 0;
    if (rly.use && !rly.only)
        punch_prepare(&prep, 1); /* a direct path may be tried later */
    if (rly.use) {
        find.client = rly.client;
        find.client.cancel = &find.cancel;
        find.channel = code_channel(&code);
        find.deadline_ms = (uint64_t)net_now_ms() + (uint64_t)timeout_s * 1000u;
        find.head_start_ms = rly.only ? 0 : (uint64_t)net_now_ms() + DIRECT_HEAD_START_MS;
        find.mdns_cancel = &mdns_cancel;
        finding = pthread_create(&find_thread, NULL, rv_find_main, &find) == 0;
        if (!finding) {
            rc = ui_fail(&u, PCP_ERR_NOMEM, "cannot start looking at the relay");
            goto out;
        }
    }
    struct dht_find dfind = {.bootstrap = rly.dht_bootstrap,
                             .channel = code_channel(&code),
                             .timeout_ms = (int)(timeout_s * 1000),
                             .head_start_ms = net_now_ms() + DIRECT_HEAD_START_MS,
                             .mdns_cancel = &mdns_cancel,
                             .err = PCP_ERR_NOT_FOUND};
    pthread_t dht_thread;
    int dht_finding = rly.dht && pthread_create(&dht_thread, NULL, dht_find_main, &dfind) == 0;
    e = PCP_ERR_NOT_FOUND;
    if (!rly.only)
        e = mdns_lookup(ifname, code_channel(&code), (int)(timeout_s * 1000), &mdns_cancel, &rec);
    if (e == 0)
        find.cancel = 1;
    /* mDNS is over: it found the sender, or the relay's or the DHT's
     * finding stopped it, or its time ran out (or it did not run). Wait for
     * the first of the others to find the sender or for both to give up;
     * mDNS beats the DHT's direct path, which beats the relay. */
    while (e != 0 && ((finding && !find.done) || (dht_finding && !dfind.done)) &&
           !(find.done && find.found) && !(dfind.done && dfind.found)) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    find.cancel = dfind.cancel = 1;
    if (dht_finding)
        pthread_join(dht_thread, NULL);
    if (finding)
        pthread_join(find_thread, NULL);
    if (json && dht_finding)
        fprintf(json,
                "{\"event\":\"dht\",\"found\":%s,\"records\":%u,\"expired\":%u,"
                "\"invalid\":%u,\"lookup_ms\":%d}\n",
                dfind.found ? "true" : "false", dfind.st.seen, dfind.st.expired, dfind.st.invalid,
                dfind.st.ms);
    if (e != 0 && e != PCP_ERR_NOT_FOUND && e != PCP_ERR_CANCELLED) {
        rc = ui_fail(&u, e, "cannot look on the local network%s%s: %s",
                     ifname ? " on interface " : "", ifname ? ifname : "", pcp_strerror(e));
        goto out;
    }
    if (e != 0 && !find.found && find.err == PCP_ERR_RELAY_AUTH) {
        rc = ui_fail(&u, find.err, "the relay %s refused: %s", rly.shown, pcp_strerror(find.err));
        goto out;
    }
    char dht_note[400] = "";
    if (dht_finding && !dfind.found && dfind.err != PCP_ERR_NOT_FOUND &&
        dfind.err != PCP_ERR_CANCELLED)
        snprintf(dht_note, sizeof(dht_note), "; the DHT: %s", pcp_strerror(dfind.err));
    else if (dht_finding && !dfind.found)
        snprintf(dht_note, sizeof(dht_note), "; the DHT: %s%s%s",
                 dfind.st.reachable != 1 ? "no node answered (can this host reach "
                 : dfind.st.expired      ? "only an expired record"
                                         : "no record",
                 dfind.st.reachable != 1 ? rly.dht_bootstrap : "",
                 dfind.st.reachable != 1 ? "? --dht-bootstrap picks another node)" : "");
    if (e != 0 && !find.found && !dfind.found) {
        rc = ui_fail(&u, PCP_ERR_NOT_FOUND,
                     "no sender found for this code within %ld s. Check that 'pcp send' is "
                     "running %s and that the first word is right%s%s%s%s.",
                     timeout_s, rly.use ? "with the same relay" : "on the same network",
                     ifname || rly.only ? "" : " (--mdns-interface picks the interface)",
                     rly.use && find.err != PCP_ERR_NOT_FOUND ? "; the relay: " : "",
                     rly.use && find.err != PCP_ERR_NOT_FOUND ? pcp_strerror(find.err) : "",
                     dht_note);
        goto out;
    }

    char who[320];
    const char *found_by = "mdns";
    struct sockaddr_storage peer;
    if (e != 0 && dfind.found) {
        /* The sender's public addresses, from its DHT record. */
        e = net_connect_race(dfind.rec.addr, dfind.rec.naddr, 0, 250, 10000, NULL, &fd, &peer);
        if (e == 0) {
            net_addr_str(&peer, 0, who, sizeof(who));
            u.path = "direct";
            found_by = "dht";
        } else if (!find.found) {
            rc = ui_fail(&u, e,
                         "found the sender in the DHT but cannot connect to its public "
                         "address(es): %s (a firewall? a relay would carry it)",
                         pcp_strerror(e));
            goto out;
        } else {
            e = PCP_ERR_NOT_FOUND; /* the relay, then */
        }
    } else if (e == 0) {
        if ((e = net_connect_race(rec.addr, rec.naddr, 0, 250, 10000, NULL, &fd, &peer)) != 0) {
            rc = ui_fail(&u, e, "found the sender but cannot connect to it: %s", pcp_strerror(e));
            goto out;
        }
        net_addr_str(&peer, 0, who, sizeof(who));
    }
    if (e != 0) {
        if ((e = rv_pipe(&rly.client, find.room, 10000, &fd)) != 0) {
            rc = ui_fail(&u, e, "found the sender at the relay %s but cannot join it: %s",
                         rly.shown, pcp_strerror(e));
            goto out;
        }
        u.path = "relayed";
        found_by = "relay";
        snprintf(who, sizeof(who), "relay %s", rly.shown);
    }
    net_set_timeout(fd, xo.stall_ms ? xo.stall_ms : 10000);
    if ((e = frame_reader_init(&fr, fd)) != 0) {
        rc = ui_fail(&u, e, "out of memory");
        goto out;
    }
    uint8_t pw[2 * CODE_MAX_WORDS], tx[32], rx[32];
    size_t pwlen = code_password(&code, pw);
    char aad[32];
    snprintf(aad, sizeof(aad), "pcp/1/%u", code_channel(&code));
    e = handshake_receiver(fd, &fr, pw, pwlen, aad, tx, rx);
    sodium_memzero(pw, sizeof(pw));
    if (e == PCP_ERR_BAD_CODE) {
        rc = ui_fail(&u, e,
                     "wrong code: the sender at %s did not accept it. Check the words "
                     "with the sender and try again.",
                     who);
        goto out;
    }
    if (e) {
        rc = ui_fail(&u, e, "handshake with %s failed: %s", who, pcp_strerror(e));
        goto out;
    }
    struct punch_result pr = {.attempts = 0};
    if (!strcmp(u.path, "relayed")) {
        /* Through the relay: try for a direct connection, unless told
         * to stay on the relay. */
        struct punch_params pp = {.relay = &rly.client,
                                  .receiver = 1,
                                  .try_direct = !rly.only,
                                  .tx = tx,
                                  .rx = rx,
                                  .relay_fd = fd,
                                  .relay_fr = &fr,
                                  .prep = &prep};
        e = punch_upgrade(&pp, &pr);
        if (pr.fd != fd)
            net_addr_str(&pr.peer, 1, who, sizeof(who));
        fd = pr.fd;
        if (e) {
            rc = ui_fail(&u, e, "the sender went away after the handshake: %s", pcp_strerror(e));
            goto out;
        }
        u.path = pr.path;
    }
    if (json)
        fprintf(json,
                "{\"event\":\"path\",\"path\":\"%s\",\"peer\":\"%s\",\"attempts\":%u,"
                "\"punch_ms\":%d,\"portmap\":\"%s\",\"found_by\":\"%s\"}\n",
                u.path, who, pr.attempts, pr.ms, pr.portmap ? pr.portmap : "none", found_by);
    fflush(stdout);

    rc_ctx.u = &u;
    rc_ctx.peer = who;
    rc_ctx.out_dir = xo.to_stdout ? "standard output" : xo.out_dir ? xo.out_dir : ".";
    xo.confirm = confirm;
    xo.progress = progress;
    xo.resuming = resuming;
    xo.ud = &rc_ctx;
    errpath[0] = peer_msg[0] = '\0';
    xo.err_path = errpath;
    xo.err_path_len = sizeof(errpath);
    xo.peer_msg = peer_msg;
    xo.peer_msg_len = sizeof(peer_msg);
    e = xfer_receive(fd, &fr, tx, rx, &xo, &res);
    sodium_memzero(tx, sizeof(tx));
    sodium_memzero(rx, sizeof(rx));

    char shown[600];
    manifest_display(errpath, shown, sizeof(shown));
    switch (e) {
    case 0:
        rc = EXIT_OK;
        if (json)
            fprintf(json,
                    "{\"event\":\"done\",\"bytes\":%llu,\"files\":%llu,\"seconds\":%.3f,"
                    "\"rate\":%.0f,\"wire\":%llu,\"path\":\"%s\",\"cipher\":\"%s\","
                    "\"compression\":\"%s\"}\n",
                    (unsigned long long)res.bytes, (unsigned long long)res.files, res.seconds,
                    res.seconds > 0 ? (double)res.bytes / res.seconds : 0,
                    (unsigned long long)res.wire_bytes, u.path, stream_cipher_name(xo.cipher),
                    xo.zstd ? "zstd" : "zlib");
        else if (!rc_ctx.text)
            fprintf(stderr, "Received %llu file(s), %llu bytes in %.2f s into %s\n",
                    (unsigned long long)res.files, (unsigned long long)res.bytes, res.seconds,
                    rc_ctx.out_dir);
        break;
    case PCP_ERR_REFUSED:
        rc = ui_fail(&u, e, "declined; nothing was written");
        break;
    case PCP_ERR_INVAL: /* only --stdout refuses an offer with it */
        rc = ui_fail(&u, e,
                     "--stdout takes one file, and the sender offers a directory or several "
                     "files; nothing was written. Receive them without --stdout.");
        break;
    case PCP_ERR_EXISTS:
        rc = ui_fail(&u, e,
                     "'%s' already exists in %s; nothing was overwritten. Use --overwrite "
                     "to replace it, or --out to receive elsewhere.",
                     shown, rc_ctx.out_dir);
        break;
    case PCP_ERR_UNSAFE_PATH:
        rc = ui_fail(&u, e,
                     "the sender offered an unsafe path (absolute, with '..', named twice, "
                     "outside the directories it lists, or a link leaving the target "
                     "directory)%s%s; "
                     "refused, nothing written outside %s.",
                     shown[0] ? ": " : "", shown, rc_ctx.out_dir);
        break;
    case PCP_ERR_NOSPACE:
        if (xo.space_needed > xo.space_free) {
            char need[32], avail[32];
            ui_human_size(xo.space_needed, need, sizeof(need));
            ui_human_size(xo.space_free, avail, sizeof(avail));
            rc = ui_fail(&u, e,
                         "not enough space in %s: %s to come, %s free. Nothing was accepted; "
                         "free some space (or use --out) and run both commands again.",
                         rc_ctx.out_dir, need, avail);
        } else {
            rc = ui_fail(&u, e,
                         "the disk is full (writing %s in %s). What arrived is kept, the "
                         "partial file as .pcp-part: free some space and run both commands "
                         "again to resume.",
                         shown, rc_ctx.out_dir);
        }
        break;
    case PCP_ERR_IO:
        if (xo.to_stdout) {
            rc = ui_fail(&u, e, "cannot write to standard output (did its reader go away?)");
            break;
        }
        rc = ui_fail(&u, e,
                     "cannot write%s%s in %s (disk full or no permission?); completed "
                     "files are kept, the partial one stays as .pcp-part",
                     shown[0] ? " " : "", shown, rc_ctx.out_dir);
        break;
    case PCP_ERR_DIGEST:
    case PCP_ERR_CRYPTO:
    case PCP_ERR_PROTO:
    case PCP_ERR_TOO_BIG:
        rc = ui_fail(&u, e,
                     "the data from %s did not verify (%s); the transfer was stopped and "
                     "no unverified file was given its final name.",
                     who, pcp_strerror(e));
        break;
    case PCP_ERR_PEER:
        rc = ui_fail(&u, e, "the sender stopped with an error: %s", peer_msg);
        break;
    case PCP_ERR_TIMEOUT:
        rc = ui_fail(&u, e,
                     "the transfer stalled: nothing arrived for %d s. What arrived is kept "
                     "(the partial file as .pcp-part); run both commands again to resume.",
                     (xo.stall_ms ? xo.stall_ms : XFER_STALL_MS) / 1000);
        break;
    default:
        rc = ui_fail(&u, e,
                     "transfer failed: %s. What arrived is kept (the partial file as "
                     ".pcp-part); run both commands again to resume.",
                     pcp_strerror(e));
    }
out:
    punch_prep_end(&prep);
    frame_reader_free(&fr);
    if (fd >= 0)
        close(fd);
    fflush(stdout);
    return rc;
}
