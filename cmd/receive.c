/*
 * receive.c - `pcp receive CODE`: find the sender and prove the code
 * (path_connect), show the offer (offer.c), write what arrives under
 * --out. The code may come from the argument, PCP_CODE or a prompt, so
 * that it need not appear in the process list.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "code.h"
#include "err.h"

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
        "      --merge             with --yes, also accept an offer that adds to a\n"
        "                          directory already here or has a top-level name\n"
        "                          starting with '.' (without it such an offer is\n"
        "                          refused under --yes, and asked about with 'yes')\n"
        "      --json              one JSON event per line on stdout\n"
        "      --json-fd N         the same on file descriptor N (e.g. 3 with 3>FILE)\n"
        "      --mdns-interface IF look only on this interface\n"
        "                          (default: every multicast interface; env PCP_MDNS_INTERFACE)\n"
        "      --timeout SECONDS   how long to look for the sender (default 30)\n"
        "      --stall-timeout S   give up when the transfer makes no progress for S\n"
        "                          seconds (default 30); receiving again resumes it\n"
        "      --threads N         decompression threads (default: CPU count, at most 4)\n"
        "      --relay URL         also look at this relay, for senders on other networks\n"
        "                          (env PCP_RELAY, or 'relay = URL' in the config file);\n"
        "                          URL,URL,...: a pool, in an order derived from the code\n"
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

static void progress(void *ud, const struct xfer_progress *p)
{
    struct recv_ctx *r = ud;
    if (!r->text) /* a message has no progress to show */
        ui_progress(r->u, p);
}

static void resuming(void *ud, uint64_t files, uint64_t bytes)
{
    ui_resuming(((struct recv_ctx *)ud)->u, 1, files, bytes);
}

/* What the command line asks for. */
struct recv_args {
    struct shared_flags rf;
    struct xfer_opts xo;
    struct recv_ctx r;
};

/* -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct recv_args *a)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'}, {"yes", no_argument, 0, 'y'},
        {"stdout", no_argument, 0, 's'},    {"overwrite", no_argument, 0, 'O'},
        {"merge", no_argument, 0, 'M'},     SHARED_LONG_OPTIONS,
        {"help", no_argument, 0, 'h'},      {0, 0, 0, 0}};
    int o, rc;
    optind = 1;
    while ((o = getopt_long(argc, argv, "o:yh", opts, NULL)) != -1) {
        switch (o) {
        case 'o':
            a->xo.out_dir = optarg;
            break;
        case 'y':
            a->r.yes = 1;
            break;
        case 's':
            a->xo.to_stdout = a->r.to_stdout = 1;
            break;
        case 'O':
            a->xo.overwrite = 1;
            break;
        case 'M':
            a->r.merge = 1;
            break;
        default:
            if ((rc = ui_shared_flag(&a->rf, o, optarg)) >= 0)
                return rc;
        }
    }
    return -1;
}

/* The code from the argument, PCP_CODE or the terminal. */
static int get_code(struct ui *u, int argc, char **argv, struct pcp_code *code)
{
    char line[256], err[256];
    const char *text = NULL;
    if (optind < argc)
        text = argv[optind];
    else if (getenv("PCP_CODE") && *getenv("PCP_CODE"))
        text = getenv("PCP_CODE");
    else if (ask("Code: ", line, sizeof(line)) == 0)
        text = line;
    if (!text || !*text)
        return ui_fail(u, PCP_ERR_INVAL,
                       "no code given: pass it as an argument, in PCP_CODE, "
                       "or type it when asked");
    if (code_parse(text, code, err, sizeof(err)) != 0)
        return ui_fail(u, PCP_ERR_INVAL, "%s", err);
    return EXIT_OK;
}

/* Connections made again when the sender drops one before its first
 * message (see the loop in cmd_receive). */
#define MAX_AGAIN 2

int cmd_receive(int argc, char **argv)
{
    struct recv_args a = {.rf = {.timeout_s = 30, .help = help}, .r = {.dfd = -1}};
    a.rf.xo = &a.xo;
    struct recv_ctx *r = &a.r;
    struct xfer_opts *xo = &a.xo;
    struct ui u;
    struct xfer_progress res;
    struct pcp_code code;
    struct path_conn conn;
    struct relay_choice rly;
    int rc, e;
    char errpath[512] = "", peer_msg[256] = "";

    if ((rc = parse_args(argc, argv, &a)) >= 0)
        return rc;
    if (ui_relay_choice(&rly, &a.rf) != 0 || ui_cipher_env(&xo->ciphers) != 0)
        return EXIT_USAGE;
    if (!xo->out_dir && !xo->to_stdout && rly.cfg.out[0])
        xo->out_dir = rly.cfg.out; /* the config file's default */
    if (xo->to_stdout && (a.rf.json == stdout || xo->out_dir)) {
        fprintf(stderr, "pcp: --stdout takes standard output for the data: not with %s\n",
                a.rf.json == stdout ? "--json (--json-fd 3 puts the events on descriptor 3)"
                                    : "--out");
        return EXIT_USAGE;
    }
    ui_init(&u, a.rf.json, "Receiving");
    ui_install_signals(&u);
    if ((rc = get_code(&u, argc, argv, &code)) != EXIT_OK)
        return rc;

    const char *ifname = ui_mdns_ifname(a.rf.ifopt, &rly.cfg);
    if (!a.rf.json)
        fprintf(stderr, "Looking for the sender%s%s%s%s...\n",
                rly.only ? "" : " on the local network", rly.dht ? ", in the DHT" : "",
                rly.use ? (rly.only ? " at " : " and at ") : "", rly.use ? rly.shown : "");
    /* mDNS, the DHT and the relay at once; what they find is tried in
     * turn until a handshake succeeds, then a direct path sought. */
    struct path_ui pu = {.u = &u, .rly = &rly};
    struct path_cfg pc = {.relay = rly.use ? rly.client : NULL,
                          .nrelays = rly.use ? rly.nrelays : 0,
                          .relay_only = rly.only,
                          .dht = rly.dht,
                          .dht_bootstrap = rly.dht_bootstrap,
                          .ifname = ifname,
                          .timeout_ms = (int)(a.rf.timeout_s * 1000),
                          .handshake_ms = xo->stall_ms,
                          .event = ev_path_event,
                          .ud = &pu};
    r->u = &u;
    r->out_dir = xo->to_stdout ? "standard output" : xo->out_dir ? xo->out_dir : ".";
    r->dfd = xo->to_stdout ? -1 : open(r->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    xo->confirm = offer_confirm;
    xo->progress = progress;
    xo->resuming = resuming;
    xo->ud = r;
    xo->err_path = errpath;
    xo->err_path_len = sizeof(errpath);
    xo->peer_msg = peer_msg;
    xo->peer_msg_len = sizeof(peer_msg);
    for (int again = 0;; again++) {
        if ((e = path_connect(&pc, &code, &conn)) != 0) {
            rc = ev_receive_fail(&pu, &conn, e, ifname, a.rf.timeout_s);
            goto out;
        }
        u.path = conn.path;
        if (a.rf.json)
            ev_path(a.rf.json, &conn);
        fflush(stdout);
        r->peer = conn.who;
        e = xfer_receive(conn.fd, &conn.fr, conn.tx, conn.rx, xo, &res);
        /* The sender dropped us before its first message: on a slow or
         * lossy link our proof can reach it after its handshake deadline
         * (it counts that as a wrong guess and goes on waiting). Twice
         * more, as if the command had been run again. */
        if (e && xo->closed_early && again < MAX_AGAIN) {
            path_conn_close(&conn);
            ev_again(&u, again + 1, MAX_AGAIN);
            continue;
        }
        /* The relay died (or drained) mid-way: the next one, and what
         * arrived is not sent again. Files that arrived whole are ours
         * (an offered name that existed was refused the first time), so
         * the same offer may replace them; the rest resumes. */
        if (e && r->accepted && ev_relay_failover(&rly, &pc, &conn, e, &u)) {
            xo->overwrite = 1;
            path_conn_close(&conn);
            continue;
        }
        break;
    }
    sodium_memzero(conn.tx, sizeof(conn.tx));
    sodium_memzero(conn.rx, sizeof(conn.rx));
    rc = ev_receive_result(&u, e, &res, xo, r, errpath, peer_msg);
out:
    path_conn_close(&conn);
    if (r->dfd >= 0)
        close(r->dfd);
    fflush(stdout);
    return rc;
}
