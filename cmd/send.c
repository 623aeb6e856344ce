/*
 * send.c - `pcp send PATH...`: offer files under a fresh code, wait for the
 * receiver that knows it (accept.c), stream the files.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd.h"
#include "code.h"
#include "dht.h"
#include "discovery.h"
#include "err.h"
#include "handshake.h"
#include "net.h"
#include "portmap.h"
#include "punch.h"

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
        "                          (env PCP_RELAY, or 'relay = URL' in the config file)\n"
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

struct code_show {
    struct ui *u;
    int qr;
};

/* The code, the command for the other computer, and with --qr that
 * command as a QR code. */
static void print_code(const struct code_show *cs, const char *code)
{
    const struct ui *u = cs->u;
    if (u->json) {
        fprintf(u->json, "{\"event\":\"code\",\"code\":\"%s\"}\n", code);
        fflush(u->json);
    } else {
        /* The code travels in the environment, not in argv: a command line
         * is readable by every user of the machine (ps), an environment
         * only by its owner. */
        printf("Code: %s\nOn the other computer run:  PCP_CODE=%s pcp receive\n"
               "(or 'pcp receive' and type the code when asked)\n",
               code, code);
        fflush(stdout);
    }
    if (cs->qr) {
        char cmdline[CODE_TEXT_MAX + 32];
        snprintf(cmdline, sizeof(cmdline), "PCP_CODE=%s pcp receive", code);
        if (ui_qr(stderr, cmdline) != 0)
            fprintf(stderr, "pcp: %s\n",
                    ui_qr_version() ? "cannot draw the QR code"
                                    : "this pcp was built without libqrencode: no QR code");
    }
}

/* A fresh code, after the last one was spent on wrong guesses. */
static void show_code(void *ud, const char *code)
{
    print_code(ud, code);
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

int cmd_send(int argc, char **argv)
{
    static const struct option opts[] = {{"words", required_argument, 0, 'w'},
                                         {"code", required_argument, 0, 'c'},
                                         {"json", no_argument, 0, 'j'},
                                         {"json-fd", required_argument, 0, 'J'},
                                         {"mdns-interface", required_argument, 0, 'i'},
                                         {"port", required_argument, 0, 'p'},
                                         {"timeout", required_argument, 0, 't'},
                                         {"no-compress", no_argument, 0, 'n'},
                                         {"threads", required_argument, 0, 'T'},
                                         {"compress", no_argument, 0, 'C'},
                                         {"stall-timeout", required_argument, 0, 'S'},
                                         {"text", required_argument, 0, 'x'},
                                         {"name", required_argument, 0, 'm'},
                                         {"qr", no_argument, 0, 'Q'},
                                         RELAY_LONG_OPTIONS,
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct ui u;
    struct pcp_code code;
    struct manifest m;
    struct xfer_opts xo;
    struct xfer_progress res;
    struct acceptor *acc = NULL;
    const char *ifopt = NULL, *given_code = NULL, *msg = NULL, *name = NULL;
    struct relay_flags rf = {0};
    struct relay_choice rly;
    struct punch_prep prep = {.lfd = -1};
    unsigned words = 4;
    long port = 0, timeout_s = -1, num;
    FILE *json = NULL;
    int qr = 0, words_set = 0, fd = -1, rc, e, o;
    char text[CODE_TEXT_MAX], err[256], peer_msg[256];

    memset(&xo, 0, sizeof(xo));
    xo.compress = -1;
    optind = 1;
    while ((o = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
        switch (o) {
        case 'w':
            if (ui_option_num("--words", optarg, CODE_MIN_WORDS, CODE_MAX_WORDS, &num) != 0)
                return EXIT_USAGE;
            words = (unsigned)num;
            words_set = 1;
            break;
        case 'c':
            given_code = optarg;
            break;
        case 'x':
            msg = optarg;
            break;
        case 'm':
            name = optarg;
            break;
        case 'Q':
            qr = 1;
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
        case 'p':
            if (ui_option_num("--port", optarg, 0, 65535, &port) != 0)
                return EXIT_USAGE;
            break;
        case 't':
            if (ui_option_num("--timeout", optarg, 1, TIMEOUT_MAX_S, &timeout_s) != 0)
                return EXIT_USAGE;
            break;
        case 'n':
            xo.compress = 0;
            break;
        case 'C':
            xo.compress = 1;
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
    int from_stdin = optind < argc && !strcmp(argv[optind], "-");
    if (msg ? optind < argc : optind >= argc) {
        fprintf(stderr, msg ? "pcp: --text sends a message, not files: give one or the other\n\n"
                            : "pcp: nothing to send\n\n");
        help(stderr);
        return EXIT_USAGE;
    }
    if (from_stdin && argc - optind > 1) {
        fprintf(stderr, "pcp: '-' (standard input) is sent alone, not with other paths\n");
        return EXIT_USAGE;
    }
    if (name && !from_stdin) {
        fprintf(stderr, "pcp: --name names standard input's data: use it with '-'\n");
        return EXIT_USAGE;
    }
    if (ui_relay_choice(&rly, &rf) != 0 || ui_cipher_env(&xo.ciphers) != 0)
        return EXIT_USAGE;
    /* The config file's defaults, where no option said otherwise. */
    if (!words_set && rly.cfg.words[0])
        words = (unsigned)(rly.cfg.words[0] - '0');
    qr |= !strcmp(rly.cfg.qr, "yes");
    struct code_show cs = {.u = &u, .qr = qr};
    ui_init(&u, json, "Sending");
    ui_install_signals(&u);

    manifest_init(&m);
    if (msg) {
        if ((e = offer_text(&m, msg)) != 0) {
            rc = ui_fail(&u, e,
                         e == PCP_ERR_IO ? "cannot read the message from standard input"
                                         : "a message is text of at most 1 MiB, without NUL "
                                           "bytes; send a longer one as a file");
            goto out;
        }
    } else if (from_stdin) {
        if ((e = manifest_add_stream(&m, name ? name : "stdin")) != 0) {
            rc = ui_fail(&u, PCP_ERR_INVAL,
                         "--name takes a file name: not empty, '.', '..', or with '/'");
            goto out;
        }
        if (isatty(0))
            fprintf(stderr, "pcp: reading what to send from the terminal; end it with Ctrl-D\n");
    } else if ((e = manifest_build(&m, (const char *const *)argv + optind,
                                   (size_t)(argc - optind))) != 0) {
        rc = ui_fail(&u, e == PCP_ERR_INVAL || e == PCP_ERR_TOO_BIG ? PCP_ERR_INVAL : PCP_ERR_IO,
                     e == PCP_ERR_INVAL ? "two of the paths have the same name, or a path has none"
                     : e == PCP_ERR_TOO_BIG
                         ? "too many files for one offer (a receiver holds at most 64 MiB of "
                           "names and entries before it answers): send them in parts or as an "
                           "archive"
                         : "cannot read what was given to send: %s",
                     pcp_strerror(e));
        goto out;
    }
    if (m.skipped) {
        char shown[512];
        manifest_display(m.first_skip, shown, sizeof(shown));
        fprintf(stderr,
                "pcp: warning: left out %zu special file(s), name(s) with control "
                "characters, or link(s) leading outside, such as '%s'\n",
                m.skipped, shown);
    }
    if (given_code) {
        if ((e = code_parse(given_code, &code, err, sizeof(err))) != 0) {
            rc = ui_fail(&u, PCP_ERR_INVAL, "%s", err);
            goto out;
        }
    } else if (code_generate(&code, words) != 0) {
        rc = ui_fail(&u, PCP_ERR_INVAL, "cannot make a code");
        goto out;
    }
    code_format(&code, text, sizeof(text));

    struct accept_cfg ac = {.u = &u,
                            .rly = &rly,
                            .ifname = ui_mdns_ifname(ifopt, &rly.cfg),
                            .port = port,
                            .timeout_ms = timeout_s < 0 ? -1 : (int)(timeout_s * 1000),
                            .json = json,
                            .ask = !json && !from_stdin && !(msg && !strcmp(msg, "-")) &&
                                   isatty(0) && isatty(2),
                            .fixed_code = given_code != NULL,
                            .words = words,
                            .show = show_code,
                            .ud = &cs};
    if ((rc = accept_open(&acc, &ac, &code)) != EXIT_OK)
        goto out;
    if (rly.use)
        punch_prepare(&prep, 1); /* for a direct path once a receiver came */
    print_code(&cs, text);
    if (!json)
        fprintf(stderr, "Waiting for the receiver%s%s...\n",
                !rly.use   ? ""
                : rly.only ? " at "
                           : " here and at ",
                rly.use ? rly.shown : "");

    /* Handshakes with whoever comes, until one knows the code. */
    struct accepted got;
    if ((rc = accept_wait(acc, &got)) != EXIT_OK)
        goto out;
    /* Found: stop announcing so that nobody else comes. */
    accept_close(acc);
    acc = NULL;
    uint8_t tx[32], rx[32];
    int relayed = got.relayed;
    struct sockaddr_storage peer = got.peer;
    struct frame_reader fr = got.fr;
    fd = got.fd;
    memcpy(tx, got.tx, sizeof(tx));
    memcpy(rx, got.rx, sizeof(rx));
    sodium_memzero(&got, sizeof(got));

    char who[320];
    struct punch_result pr = {.attempts = 0};
    if (relayed) {
        /* The receiver may now lead us to a direct connection. */
        struct punch_params pp = {.relay = &rly.client,
                                  .tx = tx,
                                  .rx = rx,
                                  .relay_fd = fd,
                                  .relay_fr = &fr,
                                  .prep = &prep};
        e = punch_upgrade(&pp, &pr);
        if (pr.fd != fd)
            net_addr_str(&pr.peer, 1, who, sizeof(who));
        else
            snprintf(who, sizeof(who), "relay %s", rly.shown);
        fd = pr.fd;
        if (e) {
            rc = ui_fail(&u, e, "the receiver went away after the handshake: %s", pcp_strerror(e));
            goto out;
        }
        u.path = pr.path;
    } else {
        net_addr_str(&peer, 0, who, sizeof(who));
        /* Straight to our port from a public address of another network:
         * it found us in the DHT. */
        struct sockaddr_storage p = peer;
        net_addr_unmap(&p);
        if (dht_addr_public(&p) && !dht_addr_onlink(&p))
            u.path = "direct";
    }
    if (json)
        fprintf(json,
                "{\"event\":\"connected\",\"peer\":\"%s\",\"path\":\"%s\",\"attempts\":%u,"
                "\"punch_ms\":%d,\"portmap\":\"%s\"}\n",
                who, u.path, pr.attempts, pr.ms, pr.portmap ? pr.portmap : "none");
    else
        fprintf(stderr, "Connected to %s; waiting for the receiver to accept...\n", who);
    fflush(stdout);
    xo.progress = msg ? NULL : ui_progress; /* a message has no progress to show */
    xo.resuming = send_resuming;
    xo.ud = &u;
    peer_msg[0] = '\0';
    xo.peer_msg = peer_msg;
    xo.peer_msg_len = sizeof(peer_msg);
    e = xfer_send(fd, &fr, tx, rx, &m, &xo, &res);
    sodium_memzero(tx, sizeof(tx));
    sodium_memzero(rx, sizeof(rx));
    frame_reader_free(&fr);
    if (e == PCP_ERR_REFUSED)
        rc = ui_fail(&u, e, "the receiver declined%s%s", peer_msg[0] ? ": " : "", peer_msg);
    else if (e == PCP_ERR_PEER)
        rc = ui_fail(&u, e, "the receiver stopped with an error: %s", peer_msg);
    else if (e == PCP_ERR_CHANGED)
        rc = ui_fail(&u, e,
                     "a file changed while it was being sent; nothing was promoted on "
                     "the receiver. Send again once it is stable.");
    else if (e == PCP_ERR_IO)
        rc = ui_fail(&u, e, "cannot read a file to send");
    else if (e == PCP_ERR_TIMEOUT)
        rc = ui_fail(&u, e,
                     "the transfer stalled: nothing moved for %d s (the network or the "
                     "receiver stopped). Run both commands again: the receiver resumes "
                     "where it stopped.",
                     (xo.stall_ms ? xo.stall_ms : XFER_STALL_MS) / 1000);
    else if (e)
        rc = ui_fail(&u, e,
                     "transfer failed: %s. Run both commands again: the receiver resumes "
                     "where it stopped.",
                     pcp_strerror(e));
    else {
        rc = EXIT_OK;
        double mbs = res.seconds > 0 ? (double)res.bytes / res.seconds / 1e6 : 0;
        if (json)
            fprintf(json,
                    "{\"event\":\"done\",\"bytes\":%llu,\"files\":%llu,\"seconds\":%.3f,"
                    "\"rate\":%.0f,\"wire\":%llu,\"path\":\"%s\",\"cipher\":\"%s\","
                    "\"compression\":\"%s\"}\n",
                    (unsigned long long)res.bytes, (unsigned long long)res.files, res.seconds,
                    mbs * 1e6, (unsigned long long)res.wire_bytes, u.path,
                    stream_cipher_name(xo.cipher), xo.zstd ? "zstd" : "zlib");
        else if (msg)
            fprintf(stderr, "Sent the message; the receiver has it.\n");
        else
            fprintf(stderr,
                    "Sent %llu file(s), %llu bytes in %.2f s (%.0f MB/s); the receiver "
                    "has confirmed.\n",
                    (unsigned long long)res.files, (unsigned long long)res.bytes, res.seconds, mbs);
    }
out:
    punch_prep_end(&prep);
    accept_close(acc);
    if (fd >= 0)
        close(fd);
    manifest_free(&m);
    fflush(stdout);
    return rc;
}
