/*
 * send.c - `pcp send PATH...`: offer files under a fresh code, wait for the
 * receiver that knows it, stream the files. A wrong code costs its sender
 * one of a few tries; the real receiver is still served.
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

#define MAX_ATTEMPTS 3

static void help(FILE *f)
{
    fprintf(
        f,
        "Usage: pcp send [options] PATH...\n"
        "       pcp send [options] -            (what standard input carries, as one file)\n"
        "       pcp send [options] --text TEXT  (a message; '--text -' reads it from stdin)\n\n"
        "Offer files and directories to one receiver. Prints a code; the other side runs\n"
        "'pcp receive CODE'. Waits until the receiver has everything.\n\n"
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

/* Where the sender waits: its listening socket on the LAN and, with a
 * relay, a connection parked in its relay room (entered again whenever it
 * ends) plus the rendezvous record that names the room, renewed when the
 * five-minute bucket rolls over and before it expires. */
struct meet {
    const struct relay_choice *rly;
    unsigned channel;
    int lfd, rfd, published, warned;
    char room[RV_ROOM_HEX + 1], owner[RV_OWNER_HEX + 1], key[RV_KEY_HEX + 1];
    uint64_t bucket, put_ms, retry_ms;
    /* The DHT record: this host's public addresses with lport, and the
     * router's mapping of lport once there is one. */
    struct pcp_dht *dht;
    struct portmap *dht_pm;
    uint16_t lport;
    uint64_t dht_bucket;
    int64_t dht_put_ms;
    int dht_mapped, dht_warned;
    FILE *json; /* JSON events, or NULL */
};

#define RECORD_RENEW_MS 120000

static int meet_publish(struct meet *mt, int now)
{
    uint64_t b = discovery_bucket(discovery_now_ns());
    if (!now && b == mt->bucket && (uint64_t)net_now_ms() - mt->put_ms < RECORD_RENEW_MS)
        return 0;
    char rec[128], key[RV_KEY_HEX + 1];
    rv_record_make(rec, sizeof(rec), mt->room);
    rv_key(key, b, mt->channel);
    int e = rv_put(&mt->rly->client, key, mt->owner, rec, strlen(rec), 5000, NULL);
    if (e == 0) {
        memcpy(mt->key, key, sizeof(key));
        mt->bucket = b;
        mt->put_ms = (uint64_t)net_now_ms();
        mt->published = 1;
    } else {
        mt->put_ms = (uint64_t)net_now_ms() - RECORD_RENEW_MS + 5000; /* try again in 5 s */
    }
    return e;
}

/* Put the DHT record when there is none yet, when the bucket rolled, when
 * half its life is gone, and once more when the router's mapping came. */
static void meet_dht(struct meet *mt)
{
    if (!mt->dht)
        return;
    if (!mt->dht_warned && dht_put_state(mt->dht) == 0) {
        mt->dht_warned = 1;
        fprintf(stderr,
                "pcp: the DHT: no node took the record (is %s reachable?); receivers on other "
                "networks need a relay\n",
                mt->rly->dht_bootstrap);
    }
    uint64_t b = discovery_bucket(discovery_now_ns());
    int64_t now = net_now_ms();
    struct sockaddr_storage a[DHT_MAX_ADDRS];
    const char *how;
    int map_new = !mt->dht_mapped && mt->dht_pm && portmap_get(mt->dht_pm, 0, &a[0], &how) == 0;
    if (b == mt->dht_bucket && now - mt->dht_put_ms < DHT_TTL_S * 1000 / 2 && !map_new)
        return;
    size_t n = map_new || mt->dht_mapped ? 1 : 0;
    if (n && !map_new && portmap_get(mt->dht_pm, 0, &a[0], &how) != 0)
        n = 0;
    n += dht_local_addrs(mt->lport, a + n, DHT_MAX_ADDRS - n);
    mt->dht_mapped |= map_new;
    mt->dht_put_ms = now;
    mt->dht_bucket = b;
    char rec[DHT_RECORD_MAX + 1];
    /* Without a public address (behind a NAT that maps nothing) there is
     * nothing a receiver elsewhere could dial: no record. */
    if (n == 0 ||
        dht_record_make(rec, sizeof(rec), discovery_now_ns() / 1000000000u + DHT_TTL_S, a, n) ||
        dht_put_record(mt->dht, b, mt->channel, rec))
        return;
    if (mt->json) {
        fprintf(mt->json, "{\"event\":\"dht\",\"put\":%zu,\"mapped\":%s}\n", n,
                mt->dht_mapped ? "true" : "false");
        fflush(mt->json);
    }
}

static void meet_warn(struct meet *mt, int e)
{
    if (mt->warned++ == 0)
        fprintf(stderr, "pcp: the relay %s: %s; still trying\n", mt->rly->shown, pcp_strerror(e));
}

/* The next connection that may be a receiver: from the LAN (*relayed 0,
 * *peer set) or through the relay (*relayed 1). */
static int meet_wait(struct meet *mt, int timeout_ms, int *fd, struct sockaddr_storage *peer,
                     int *relayed)
{
    uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : (uint64_t)net_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        meet_dht(mt);
        if (mt->rly->use) {
            int e = meet_publish(mt, 0);
            if (e == PCP_ERR_RELAY_AUTH)
                return e;
            if (e)
                meet_warn(mt, e);
            if (mt->rfd < 0 && (uint64_t)net_now_ms() >= mt->retry_ms) {
                e = rv_pipe(&mt->rly->client, mt->room, 5000, &mt->rfd);
                if (e == PCP_ERR_RELAY_AUTH)
                    return e;
                if (e) {
                    mt->rfd = -1;
                    mt->retry_ms = (uint64_t)net_now_ms() + 2000;
                    meet_warn(mt, e);
                }
            }
        }
        struct pollfd p[2];
        nfds_t n = 0;
        if (mt->lfd >= 0)
            p[n++] = (struct pollfd){.fd = mt->lfd, .events = POLLIN};
        if (mt->rfd >= 0)
            p[n++] = (struct pollfd){.fd = mt->rfd, .events = POLLIN};
        if (poll(p, n, 500) < 0 && errno != EINTR)
            return PCP_ERR_NET;
        for (nfds_t i = 0; i < n; i++) {
            if (!p[i].revents)
                continue;
            if (p[i].fd == mt->lfd) {
                if (net_accept(mt->lfd, 100, NULL, fd, peer) != 0)
                    continue;
                *relayed = 0;
                return 0;
            }
            /* The relay room: the receiver's first bytes, or its end. */
            char c;
            if (recv(mt->rfd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
                *fd = mt->rfd;
                mt->rfd = -1;
                memset(peer, 0, sizeof(*peer));
                *relayed = 1;
                return 0;
            }
            /* Ended with nothing said: the arrival deadline, or the relay
             * restarted and forgot the record too. Enter again, publish
             * again. */
            close(mt->rfd);
            mt->rfd = -1;
            mt->retry_ms = (uint64_t)net_now_ms() + 500;
            mt->put_ms = 0;
        }
        if ((uint64_t)net_now_ms() >= deadline)
            return PCP_ERR_TIMEOUT;
    }
}

/* Stop listening, leave the room, withdraw the record. Idempotent. */
static void meet_end(struct meet *mt)
{
    if (mt->lfd >= 0)
        close(mt->lfd);
    if (mt->rfd >= 0)
        close(mt->rfd);
    mt->lfd = mt->rfd = -1;
    if (mt->published)
        rv_delete(&mt->rly->client, mt->key, mt->owner, 2000);
    mt->published = 0;
    dht_close(mt->dht); /* no fresh record from now on */
    mt->dht = NULL;
    portmap_stop(mt->dht_pm);
    mt->dht_pm = NULL;
}

static void send_resuming(void *ud, uint64_t files, uint64_t bytes)
{
    ui_resuming(ud, 0, files, bytes);
}

static void print_code(const struct ui *u, const char *code)
{
    if (u->json) {
        fprintf(u->json, "{\"event\":\"code\",\"code\":\"%s\"}\n", code);
        fflush(u->json);
        return;
    }
    printf("Code: %s\nOn the other computer run:  pcp receive %s\n", code, code);
    fflush(stdout);
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
    struct mdns_responder *resp = NULL;
    const char *ifopt = NULL, *given_code = NULL, *msg = NULL, *name = NULL;
    struct relay_flags rf = {0};
    struct relay_choice rly;
    struct meet mt = {.lfd = -1, .rfd = -1};
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
        rc = ui_fail(&u, e == PCP_ERR_INVAL ? PCP_ERR_INVAL : PCP_ERR_IO,
                     e == PCP_ERR_INVAL ? "two of the paths have the same name, or a path has none"
                                        : "cannot read what was given to send: %s",
                     pcp_strerror(e));
        goto out;
    }
    if (m.skipped) {
        char shown[512];
        manifest_display(m.first_skip, shown, sizeof(shown));
        fprintf(stderr,
                "pcp: warning: left out %zu special file(s) or link(s) pointing outside, "
                "such as '%s'\n",
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

    mt.rly = &rly;
    mt.channel = code_channel(&code);
    mt.json = json;
    if (!rly.only) {
        uint16_t lport;
        if ((e = net_listen((uint16_t)port, &mt.lfd, &lport)) != 0) {
            rc = ui_fail(&u, e, "cannot listen on TCP port %ld: is it in use?", port);
            goto out;
        }
        const char *ifname = ui_mdns_ifname(ifopt, &rly.cfg);
        if ((e = mdns_responder_start(&resp, ifname, mt.channel, lport, "v=1")) != 0) {
            rc = ui_fail(&u, e, "cannot announce on the local network%s%s: %s",
                         ifname ? " on interface " : "", ifname ? ifname : "", pcp_strerror(e));
            goto out;
        }
        mt.lport = lport;
        if (rly.dht) {
            if ((e = dht_open(&mt.dht, rly.dht_bootstrap)) != 0)
                fprintf(stderr, "pcp: cannot join the DHT: %s; going on without it\n",
                        pcp_strerror(e));
            else
                mt.dht_pm = portmap_start(lport);
        }
    }
    if (rly.use) {
        rv_random_hex(mt.room, RV_ROOM_HEX);
        rv_random_hex(mt.owner, RV_OWNER_HEX);
        if ((e = meet_publish(&mt, 1)) != 0) {
            rc = ui_fail(&u, e, "the relay %s refused or could not be reached: %s%s", rly.shown,
                         pcp_strerror(e), rly.only ? "" : " (--no-relay sends on the LAN only)");
            goto out;
        }
        punch_prepare(&prep, 1); /* for a direct path once a receiver came */
    }
    print_code(&u, text);
    if (qr) {
        char cmdline[CODE_TEXT_MAX + 16];
        snprintf(cmdline, sizeof(cmdline), "pcp receive %s", text);
        if (ui_qr(stderr, cmdline) != 0)
            fprintf(stderr, "pcp: %s\n",
                    ui_qr_version() ? "cannot draw the QR code"
                                    : "this pcp was built without libqrencode: no QR code");
    }
    if (!json)
        fprintf(stderr, "Waiting for the receiver%s%s...\n",
                !rly.use   ? ""
                : rly.only ? " at "
                           : " here and at ",
                rly.use ? rly.shown : "");

    uint8_t pw[2 * CODE_MAX_WORDS], tx[32], rx[32];
    size_t pwlen = code_password(&code, pw);
    char aad[32];
    snprintf(aad, sizeof(aad), "pcp/1/%u", code_channel(&code));
    int attempts = 0, relayed;
    struct sockaddr_storage peer;
    struct frame_reader fr = {0};
    for (;;) {
        e = meet_wait(&mt, timeout_s < 0 ? -1 : (int)(timeout_s * 1000), &fd, &peer, &relayed);
        if (e == PCP_ERR_TIMEOUT) {
            rc = ui_fail(&u, PCP_ERR_NOT_FOUND, "no receiver came within %ld s; nothing was sent",
                         timeout_s);
            goto out;
        }
        if (e) {
            rc = ui_fail(&u, e, "waiting for the receiver failed: %s", pcp_strerror(e));
            goto out;
        }
        net_set_timeout(fd, 10000);
        if ((e = frame_reader_init(&fr, fd)) != 0) {
            rc = ui_fail(&u, e, "out of memory");
            goto out;
        }
        e = handshake_sender(fd, &fr, pw, pwlen, aad, tx, rx);
        if (e == 0)
            break;
        frame_reader_free(&fr);
        close(fd);
        fd = -1;
        if (e != PCP_ERR_BAD_CODE)
            continue; /* not a receiver of ours: it learnt nothing */
        attempts++;
        char who[64];
        if (relayed)
            snprintf(who, sizeof(who), "the relay");
        else
            net_addr_str(&peer, 0, who, sizeof(who));
        if (attempts >= MAX_ATTEMPTS) {
            rc = ui_fail(&u, PCP_ERR_ATTEMPTS,
                         "%d receivers used a wrong code (the last from %s): someone may be "
                         "guessing. Nothing was sent; run 'pcp send' again for a new code.",
                         attempts, who);
            goto out;
        }
        if (json)
            fprintf(json, "{\"event\":\"wrong_code\",\"attempt\":%d,\"max\":%d,\"peer\":\"%s\"}\n",
                    attempts, MAX_ATTEMPTS, who);
        fflush(stdout);
        fprintf(stderr,
                "pcp: a receiver at %s used a wrong code (attempt %d of %d); still waiting\n", who,
                attempts, MAX_ATTEMPTS);
    }
    /* Found: stop announcing so that nobody else comes. */
    mdns_responder_stop(resp);
    resp = NULL;
    meet_end(&mt);
    sodium_memzero(pw, sizeof(pw));

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
    mdns_responder_stop(resp);
    meet_end(&mt);
    if (fd >= 0)
        close(fd);
    manifest_free(&m);
    fflush(stdout);
    return rc;
}
