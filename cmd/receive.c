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
#include <sys/stat.h>
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
    int text;          /* the offer was a message, already shown */
    int merge;         /* --merge: --yes also adds to existing directories, hidden names */
    int refused_merge; /* --yes without --merge met such an offer */
    int dfd;           /* the target directory, to see what is already there; or -1 */
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

/* The top-level names of the offer, at most three, then "and N more":
 * the JSON offer event's short form. */
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

/* What a top-level entry does to the target directory. A directory that
 * is already there is merged into (the sender's files land among the
 * receiver's own: '.ssh' gains an authorized_keys); a name that starts
 * with '.' is hidden from a plain ls. Both need more than a plain yes. */
enum { TOP_HIDDEN = 1, TOP_MERGE = 2, TOP_REPLACE = 4 };

static int top_flags(const struct rctx *r, const struct mf_entry *en)
{
    struct stat st;
    int f = en->path[0] == '.' ? TOP_HIDDEN : 0;
    if (r->to_stdout || r->dfd < 0 || fstatat(r->dfd, en->path, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return f;
    if (en->type == MF_DIR && S_ISDIR(st.st_mode))
        f |= TOP_MERGE;
    else if (en->type != MF_DIR && !S_ISDIR(st.st_mode))
        f |= TOP_REPLACE; /* only with --overwrite: else the offer was refused before */
    return f;
}

#define PROMPT_NAMES 20 /* a screenful; then a count */

/* Every top-level name (a screenful, then how many more) to out, each
 * marked with what it does here; returns the flags of all of them
 * together, and the first merged directory's name in merged. */
static int list_top(const struct rctx *r, const struct manifest *m, FILE *out, char *merged,
                    size_t merged_len)
{
    char shown[1024];
    size_t top = 0;
    int all = 0;
    merged[0] = '\0';
    for (size_t i = 0; i < m->n; i++) {
        const struct mf_entry *en = &m->e[i];
        if (strchr(en->path, '/'))
            continue;
        int f = top_flags(r, en);
        all |= f;
        manifest_display(en->path, shown, sizeof(shown));
        if ((f & TOP_MERGE) && !merged[0])
            snprintf(merged, merged_len, "%s", shown);
        if (++top > PROMPT_NAMES || !out)
            continue;
        fprintf(out, "  '%s%s'%s%s%s\n", shown, en->type == MF_DIR ? "/" : "",
                f & TOP_HIDDEN ? "  (hidden name)" : "",
                f & TOP_MERGE ? "  into the existing directory of that name" : "",
                f & TOP_REPLACE ? "  replaces the existing file (--overwrite)" : "");
    }
    if (out && top > PROMPT_NAMES)
        fprintf(out, "  ... and %zu more\n", top - PROMPT_NAMES);
    return all;
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

/* Read one line of the answer from the terminal. */
static void read_answer(FILE *t, char *ans, size_t len)
{
    size_t n = 0;
    int c;
    while (n + 1 < len && (c = fgetc(t)) != EOF && c != '\n')
        ans[n++] = (char)c;
    ans[n] = '\0';
}

static int confirm(void *ud, const struct manifest *m)
{
    struct rctx *r = ud;
    char size[32], what[900], merged[1024];
    size_t top;
    if (m->n == 1 && m->e[0].type == MF_TEXT)
        return show_text(r, &m->e[0]);
    int unsized = m->n == 1 && mf_streamed(&m->e[0]);
    if (unsized)
        snprintf(size, sizeof(size), "size not known until the end");
    else
        ui_human_size(m->total_bytes, size, sizeof(size));
    offer_names(m, what, sizeof(what), &top);
    int flags = list_top(r, m, NULL, merged, sizeof(merged));
    if (r->u->json) {
        fprintf(r->u->json, "{\"event\":\"offer\",\"names\":");
        ui_json_str(r->u->json, what);
        fprintf(r->u->json, ",\"top\":%zu,\"entries\":%zu,\"files\":%llu,", top, m->n,
                (unsigned long long)m->nfiles);
        if (unsized)
            fprintf(r->u->json, "\"bytes\":null");
        else
            fprintf(r->u->json, "\"bytes\":%llu", (unsigned long long)m->total_bytes);
        fprintf(r->u->json, ",\"hidden\":%s,\"merge\":", flags & TOP_HIDDEN ? "true" : "false");
        if (merged[0])
            ui_json_str(r->u->json, merged);
        else
            fprintf(r->u->json, "null");
        fprintf(r->u->json, ",\"peer\":\"%s\"}\n", r->peer);
        fflush(r->u->json);
    }
    /* Adding to a directory that is already here, or a hidden name at the
     * top, is what a hostile sender would hide among ordinary names: it
     * takes a typed "yes", and under --yes a flag of its own. */
    int risky = (flags & (TOP_HIDDEN | TOP_MERGE)) != 0;
    const char *dest = r->to_stdout ? ", to standard output" : "";
    if (r->yes) {
        if (!r->u->json) {
            fprintf(stderr, "Offer from %s: %llu file%s, %s%s:\n", r->peer,
                    (unsigned long long)m->nfiles, m->nfiles == 1 ? "" : "s", size, dest);
            list_top(r, m, stderr, merged, sizeof(merged));
        }
        if (risky && !r->merge) {
            r->refused_merge = 1;
            return 0;
        }
        if (!r->u->json)
            fprintf(stderr, "yes (--yes%s)\n", risky ? " --merge" : "");
        return 1;
    }
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    FILE *t = tty >= 0 ? fdopen(tty, "r+") : NULL;
    if (!t) {
        if (tty >= 0)
            close(tty);
        fprintf(stderr,
                "pcp: %s offers %s (%llu file%s, %s); no terminal to ask on: use --yes to "
                "accept without asking\n",
                r->peer, what, (unsigned long long)m->nfiles, m->nfiles == 1 ? "" : "s", size);
        return 0;
    }
    fprintf(t, "Offer from %s: %llu file%s, %s%s:\n", r->peer, (unsigned long long)m->nfiles,
            m->nfiles == 1 ? "" : "s", size, dest);
    list_top(r, m, t, merged, sizeof(merged));
    if (flags & TOP_MERGE)
        fprintf(t, "This adds files into the existing directory '%s'%s. Type 'yes' to accept: ",
                merged, flags & TOP_HIDDEN ? " and writes hidden names" : "");
    else if (flags & TOP_HIDDEN)
        fprintf(t, "This writes hidden names (starting with '.') into %s. Type 'yes' to accept: ",
                r->out_dir);
    else
        fprintf(t, "Receive %s%s%s? [y/N] ", top == 1 ? "it" : "them", r->to_stdout ? "" : " into ",
                r->to_stdout ? "" : r->out_dir);
    fflush(t);
    char ans[16];
    read_answer(t, ans, sizeof(ans));
    fclose(t);
    if (risky)
        return !strcmp(ans, "yes") || !strcmp(ans, "YES");
    return ans[0] == 'y' || ans[0] == 'Y';
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
                                         {"merge", no_argument, 0, 'M'},
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
    struct rctx rc_ctx = {.dfd = -1};
    struct punch_prep prep = {.lfd = -1};
    struct xfer_opts xo;
    struct xfer_progress res;
    struct pcp_code code;
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
        case 'M':
            rc_ctx.merge = 1;
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
    /* mDNS, the DHT and the relay at once; what they find is tried in
     * turn until a handshake succeeds (find.c). */
    if (rly.use && !rly.only)
        punch_prepare(&prep, 1); /* a direct path may be tried later */
    uint8_t pw[2 * CODE_MAX_WORDS], tx[32], rx[32];
    char aad[32], who[320];
    snprintf(aad, sizeof(aad), "pcp/1/%u", code_channel(&code));
    struct find finder = {.rly = &rly,
                          .ifname = ifname,
                          .channel = code_channel(&code),
                          .timeout_s = timeout_s,
                          .handshake_ms = xo.stall_ms,
                          .pw = pw,
                          .pwlen = code_password(&code, pw),
                          .aad = aad};
    rc = find_sender(&finder, &u, &fr, tx, rx);
    sodium_memzero(pw, sizeof(pw));
    if (rc != EXIT_OK)
        goto out;
    fd = finder.fd;
    u.path = finder.path;
    snprintf(who, sizeof(who), "%s", finder.who);
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
    if (json) {
        fprintf(json,
                "{\"event\":\"path\",\"path\":\"%s\",\"peer\":\"%s\",\"attempts\":%u,"
                "\"punch_ms\":%d,\"portmap\":\"%s\",\"found_by\":\"%s\",\"tried\":",
                u.path, who, pr.attempts, pr.ms, pr.portmap ? pr.portmap : "none", finder.found_by);
        find_tried_json(json, &finder); /* what failed before this one */
        fprintf(json, "}\n");
    }
    fflush(stdout);

    rc_ctx.u = &u;
    rc_ctx.peer = who;
    rc_ctx.out_dir = xo.to_stdout ? "standard output" : xo.out_dir ? xo.out_dir : ".";
    rc_ctx.dfd = xo.to_stdout ? -1 : open(rc_ctx.out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
        if (rc_ctx.refused_merge)
            rc = ui_fail(&u, e,
                         "declined: the offer adds to a directory already in %s or has a "
                         "hidden top-level name, and --yes alone does not accept that; "
                         "nothing was written. Add --merge to accept it.",
                         rc_ctx.out_dir);
        else
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
        if (e == PCP_ERR_TOO_BIG && xo.offer_refused) {
            rc = ui_fail(&u, e,
                         "the offer from %s is too large to consider before asking: more "
                         "than 64 MiB of entries and names (about a million files with short "
                         "paths). Refused; nothing was written. Ask the sender to send it in "
                         "parts or as an archive.",
                         who);
            break;
        }
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
    if (rc_ctx.dfd >= 0)
        close(rc_ctx.dfd);
    fflush(stdout);
    return rc;
}
