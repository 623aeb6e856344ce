/*
 * send.c - `pcp send PATH...`: offer files under a fresh code, wait for the
 * receiver that knows it (path_offer, path_accept), stream the files.
 */
#include <errno.h>
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
        "Usage: pcp send [options] PATH...\n"
        "       pcp send [options] -            (what standard input carries, as one file)\n"
        "       pcp send [options] --text TEXT  (a message; '--text -' reads it from stdin)\n\n"
        "Offer files and directories to one receiver. Prints a code; the other side runs\n"
        "'pcp receive CODE'. Waits until the receiver has everything.\n\n"
        "A receiver with a wrong code is one guess: its address waits 2, 4, 8 ... 60 s\n"
        "before its next try, and 20 guesses spend the code (with 4 words a guesser's\n"
        "chance is 20 in 2^33, about 2.3e-9); on a terminal pcp then offers a new one.\n\n"
        "Options:\n"
        "      --text TEXT         send this message instead of files (at most 1 MiB)\n"
        "      --name NAME         the name the receiver gives standard input's data\n"
        "                          (default 'stdin')\n"
        "      --qr                also show the receive command as a QR code\n"
        "  -w, --words N           words in the code, 4 to 8 (default 4)\n"
        "      --code CODE         use this code instead of a random one (it will be\n"
        "                          visible in the process list)\n"
        "      --json              one JSON event per line on stdout\n"
        "      --json-fd N         the same on file descriptor N (e.g. 3 with 3>FILE)\n"
        "      --mdns-interface IF announce only on this interface\n"
        "                          (default: every multicast interface; env PCP_MDNS_INTERFACE)\n"
        "      --port N            listen on this TCP port (default: any free one)\n"
        "      --timeout SECONDS   give up when no receiver came (default: wait)\n"
        "      --stall-timeout S   give up when the transfer makes no progress for S\n"
        "                          seconds (default 30); a later send resumes it\n"
        "      --no-compress       never compress (default: adapt to the link)\n"
        "      --compress          always try to compress\n"
        "      --threads N         compression threads (default: CPU count, at most 4)\n"
        "      --relay URL         also wait at this relay, for receivers on other networks\n"
        "                          (env PCP_RELAY, or 'relay = URL' in the config file);\n"
        "                          URL,URL,...: a pool, in an order derived from the code\n"
        "      --relay-token T     the relay's token (env PCP_RELAY_TOKEN)\n"
        "      --no-relay          never use a relay, even a configured one\n"
        "      --force-relay       only the relay: no LAN announcement or DHT (for testing)\n"
        "      --dht-bootstrap H:P the DHT node to join (env PCP_DHT_BOOTSTRAP;\n"
        "                          default bootstrap.jami.net:4222)\n"
        "      --no-dht            do not publish in the public DHT\n"
        "  -h, --help              this text\n");
}

static void send_resuming(void *ud, uint64_t files, uint64_t bytes)
{
    ui_resuming(ud, 0, files, bytes);
}

/* The message of --text, or with "-" what standard input holds. */
static int offer_text(struct manifest *m, const char *msg)
{
    if (strcmp(msg, "-") != 0)
        return manifest_add_text(m, msg, strlen(msg));
    char *buf = malloc(MF_TEXT_MAX + 1);
    size_t n = 0;
    ssize_t r = 0;
    if (!buf)
        return PCP_ERR_NOMEM;
    while (n <= MF_TEXT_MAX && (r = read(0, buf + n, MF_TEXT_MAX + 1 - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        n += (size_t)r;
    }
    int e = r < 0 ? PCP_ERR_IO : manifest_add_text(m, buf, n);
    free(buf);
    return e;
}

/* What the command line asks for. */
struct send_args {
    const char *given_code, *msg, *name;
    struct shared_flags rf;
    unsigned words;
    long port;
    int qr, words_set, from_stdin;
    struct xfer_opts xo;
};

/* -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct send_args *a)
{
    static const struct option opts[] = {{"words", required_argument, 0, 'w'},
                                         {"code", required_argument, 0, 'c'},
                                         {"port", required_argument, 0, 'p'},
                                         {"no-compress", no_argument, 0, 'n'},
                                         {"compress", no_argument, 0, 'C'},
                                         {"text", required_argument, 0, 'x'},
                                         {"name", required_argument, 0, 'm'},
                                         {"qr", no_argument, 0, 'Q'},
                                         SHARED_LONG_OPTIONS,
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    long num;
    int o, rc;
    optind = 1;
    while ((o = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
        switch (o) {
        case 'w':
            if (ui_option_num("--words", optarg, CODE_MIN_WORDS, CODE_MAX_WORDS, &num) != 0)
                return EXIT_USAGE;
            a->words = (unsigned)num;
            a->words_set = 1;
            break;
        case 'c':
            a->given_code = optarg;
            break;
        case 'x':
            a->msg = optarg;
            break;
        case 'm':
            a->name = optarg;
            break;
        case 'Q':
            a->qr = 1;
            break;
        case 'p':
            if (ui_option_num("--port", optarg, 0, 65535, &a->port) != 0)
                return EXIT_USAGE;
            break;
        case 'n':
        case 'C':
            a->xo.compress = o == 'C';
            break;
        default:
            if ((rc = ui_shared_flag(&a->rf, o, optarg)) >= 0)
                return rc;
        }
    }
    a->from_stdin = optind < argc && !strcmp(argv[optind], "-");
    if (a->msg ? optind < argc : optind >= argc) {
        fprintf(stderr, a->msg ? "pcp: --text sends a message, not files: give one or the other\n\n"
                               : "pcp: nothing to send\n\n");
        help(stderr);
        return EXIT_USAGE;
    }
    if (a->from_stdin && argc - optind > 1) {
        fprintf(stderr, "pcp: '-' (standard input) is sent alone, not with other paths\n");
        return EXIT_USAGE;
    }
    if (a->name && !a->from_stdin) {
        fprintf(stderr, "pcp: --name names standard input's data: use it with '-'\n");
        return EXIT_USAGE;
    }
    return -1;
}

/* The offer: the message, standard input, or the paths. */
static int build_offer(struct ui *u, const struct send_args *a, char **paths, size_t npaths,
                       struct manifest *m)
{
    int e;
    if (a->msg) {
        if ((e = offer_text(m, a->msg)) != 0)
            return ui_fail(u, e,
                           e == PCP_ERR_IO ? "cannot read the message from standard input"
                                           : "a message is text of at most 1 MiB, without NUL "
                                             "bytes; send a longer one as a file");
    } else if (a->from_stdin) {
        if (manifest_add_stream(m, a->name ? a->name : "stdin") != 0)
            return ui_fail(u, PCP_ERR_INVAL,
                           "--name takes a file name: not empty, '.', '..', or with '/'");
        if (isatty(0))
            fprintf(stderr, "pcp: reading what to send from the terminal; end it with Ctrl-D\n");
    } else if ((e = manifest_build(m, (const char *const *)paths, npaths)) != 0) {
        return ui_fail(u, e == PCP_ERR_INVAL || e == PCP_ERR_TOO_BIG ? PCP_ERR_INVAL : PCP_ERR_IO,
                       e == PCP_ERR_INVAL
                           ? "two of the paths have the same name, or a path has none"
                       : e == PCP_ERR_TOO_BIG
                           ? "too many files for one offer (a receiver holds at most 64 MiB of "
                             "names and entries before it answers): send them in parts or as an "
                             "archive"
                           : "cannot read what was given to send: %s",
                       pcp_strerror(e));
    }
    if (m->skipped) {
        char shown[512];
        manifest_display(m->first_skip, shown, sizeof(shown));
        fprintf(stderr,
                "pcp: warning: left out %zu special file(s), name(s) with control "
                "characters, or link(s) leading outside, such as '%s'\n",
                m->skipped, shown);
    }
    return EXIT_OK;
}

int cmd_send(int argc, char **argv)
{
    struct send_args a = {
        .words = 4, .rf = {.timeout_s = -1, .help = help}, .xo = {.compress = -1}};
    a.rf.xo = &a.xo;
    struct ui u;
    struct pcp_code code;
    struct manifest m;
    struct xfer_progress res;
    struct path_offer *off = NULL;
    struct path_conn conn;
    struct relay_choice rly;
    int rc, e;
    char text[CODE_TEXT_MAX], err[256], peer_msg[256] = "";

    if ((rc = parse_args(argc, argv, &a)) >= 0)
        return rc;
    if (ui_relay_choice(&rly, &a.rf) != 0 || ui_cipher_env(&a.xo.ciphers) != 0)
        return EXIT_USAGE;
    /* The config file's defaults, where no option said otherwise. */
    if (!a.words_set && rly.cfg.words[0])
        a.words = (unsigned)(rly.cfg.words[0] - '0');
    a.qr |= !strcmp(rly.cfg.qr, "yes");
    ui_init(&u, a.rf.json, "Sending");
    ui_install_signals(&u);
    path_conn_init(&conn);
    manifest_init(&m);
    if ((rc = build_offer(&u, &a, argv + optind, (size_t)(argc - optind), &m)) != EXIT_OK)
        goto out;
    if (a.given_code) {
        if (code_parse(a.given_code, &code, err, sizeof(err)) != 0) {
            rc = ui_fail(&u, PCP_ERR_INVAL, "%s", err);
            goto out;
        }
    } else if (code_generate(&code, a.words) != 0) {
        rc = ui_fail(&u, PCP_ERR_INVAL, "cannot make a code");
        goto out;
    }
    code_format(&code, text, sizeof(text));

    int ask = !a.rf.json && !a.from_stdin && !(a.msg && !strcmp(a.msg, "-")) && isatty(0) &&
              isatty(2) && !a.given_code;
    struct path_ui pu = {.u = &u, .rly = &rly, .qr = a.qr};
    struct path_cfg pc = {.relay = rly.use ? rly.client : NULL,
                          .nrelays = rly.use ? rly.nrelays : 0,
                          .relay_only = rly.only,
                          .dht = rly.dht,
                          .dht_bootstrap = rly.dht_bootstrap,
                          .ifname = ui_mdns_ifname(a.rf.ifopt, &rly.cfg),
                          .port = a.port,
                          .timeout_ms = a.rf.timeout_s < 0 ? -1 : (int)(a.rf.timeout_s * 1000),
                          .words = a.words,
                          .event = ev_path_event,
                          .ask_new_code = ask ? ev_ask_new_code : NULL,
                          .ud = &pu};
    a.xo.progress = a.msg ? NULL : ui_progress; /* a message has no progress to show */
    a.xo.resuming = send_resuming;
    a.xo.ud = &u;
    a.xo.peer_msg = peer_msg;
    a.xo.peer_msg_len = sizeof(peer_msg);
    /* A relay that dies mid-way (with others configured) is left for the
     * next one, where the receiver comes too; files resume, a stream
     * cannot. */
    for (int moved = 0;; moved = 1) {
        if ((e = path_offer(&pc, &code, &off)) != 0) {
            rc = ev_send_fail(&pu, &pc, e, off ? path_offer_why(off) : &conn.why);
            goto out;
        }
        if (!moved)
            ev_show_code(&u, a.qr, text);
        if (!a.rf.json)
            fprintf(stderr, "Waiting for the receiver%s%s...\n",
                    !rly.use   ? ""
                    : rly.only ? " at "
                               : " here and at ",
                    rly.use ? rly.shown : "");
        /* Handshakes with whoever comes, until one knows the code. */
        if ((e = path_accept(off, &conn)) != 0) {
            rc = ev_send_fail(&pu, &pc, e, &conn.why);
            goto out;
        }
        path_offer_end(off); /* found: nobody else comes */
        off = NULL;
        u.path = conn.path;
        if (a.rf.json)
            ev_connected(a.rf.json, &conn);
        else
            fprintf(stderr, "Connected to %s; waiting for the receiver to accept...\n", conn.who);
        fflush(stdout);
        e = xfer_send(conn.fd, &conn.fr, conn.tx, conn.rx, &m, &a.xo, &res);
        sodium_memzero(conn.tx, sizeof(conn.tx));
        sodium_memzero(conn.rx, sizeof(conn.rx));
        if (!e || a.from_stdin || !ev_relay_failover(&rly, &pc, &conn, e, &u))
            break;
        path_conn_close(&conn);
    }
    rc = ev_send_result(&u, e, &res, &a.xo, a.msg != NULL, peer_msg);
out:
    path_offer_end(off);
    path_conn_close(&conn);
    manifest_free(&m);
    fflush(stdout);
    return rc;
}
