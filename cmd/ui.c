/*
 * ui.c - what the user sees: progress bar or plain lines, JSON events,
 * error messages and exit codes. Names from the peer pass through
 * manifest_display() before they reach a terminal.
 */
#include "cmd.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef PCP_HAVE_QRENCODE
#include <qrencode.h>
#endif

#include "code.h"
#include "dht.h"
#include "err.h"
#include "kv.h"
#include "stream.h"

static int g_json_fd = -1;

void ui_init(struct ui *u, FILE *json, const char *verb)
{
    memset(u, 0, sizeof(*u));
    u->json = json;
    if (json)
        setvbuf(json, NULL, _IOLBF, 0); /* each event whole as it happens */
    u->tty = !json && isatty(2);
    u->verb = verb;
    u->path = "lan";
    u->last_pct = -1;
}

int ui_json_fd(const char *s, FILE **out)
{
    long fd;
    if (ui_option_num("--json-fd", s, 0, INT_MAX, &fd) != 0)
        return -1;
    int fl = fcntl((int)fd, F_GETFL);
    FILE *f = fl < 0 || (fl & O_ACCMODE) == O_RDONLY ? NULL
              : fd == 1                              ? stdout
                                                     : fdopen((int)fd, "w");
    if (!f) {
        fprintf(stderr, "pcp: --json-fd %ld: not a descriptor open for writing\n", fd);
        return -1;
    }
    *out = f;
    return 0;
}

void ui_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void ui_human_size(uint64_t n, char *out, size_t outlen)
{
    double v = (double)n;
    int i = 0;
    while (v >= 1024 && i < 5) {
        v /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(out, outlen, "%llu B", (unsigned long long)n);
    else {
        static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        snprintf(out, outlen, "%.1f %s", v, unit[i]);
    }
}

static const char *path_label(const char *p)
{
    if (!strcmp(p, "lan"))
        return "direct (LAN)";
    if (!strcmp(p, "direct"))
        return "direct (Internet)";
    if (!strcmp(p, "punched"))
        return "direct (through both NATs)";
    return p;
}

void ui_resuming(struct ui *u, int here, uint64_t files, uint64_t bytes)
{
    char size[32];
    ui_human_size(bytes, size, sizeof(size));
    if (u->json) {
        ev_resume(u->json, files, bytes);
        return;
    }
    fprintf(stderr, "Resuming: %s of %llu file(s) %s\n", size, (unsigned long long)files,
            here ? "already here from an interrupted transfer (the sender checks them)"
                 : "already at the receiver; sending the rest");
}

void ui_progress(void *ud, const struct xfer_progress *p)
{
    struct ui *u = ud;
    double rate = p->seconds > 0 ? (double)p->bytes / p->seconds : 0;
    if (u->json) {
        if (!p->done && p->seconds - u->last < 0.5)
            return;
        u->last = p->seconds;
        ev_progress(u->json, p, rate, u->path);
        return;
    }
    if (p->unsized) {
        /* From a pipe: no total, so no bar or ETA; a plain line every 10 s. */
        char done[32];
        ui_human_size(p->bytes, done, sizeof(done));
        if (u->tty)
            fprintf(stderr, "\r%s  %.0f MB/s  %s%s\033[K", done, rate / 1e6, path_label(u->path),
                    p->done ? "\n" : "");
        else if (p->done || p->seconds - u->last >= 10) {
            u->last = p->seconds;
            fprintf(stderr, "%s: %s %.0f MB/s %s\n", u->verb, done, rate / 1e6,
                    path_label(u->path));
        }
        return;
    }
    int pct = p->total ? (int)(p->bytes * 100 / p->total) : 100;
    char done[32], total[32];
    ui_human_size(p->bytes, done, sizeof(done));
    ui_human_size(p->total, total, sizeof(total));
    if (u->tty) {
        char bar[24 * 3 + 1];
        int fill = pct * 24 / 100;
        size_t o = 0;
        for (int i = 0; i < 24; i++) {
            const char *g = i < fill ? "\xe2\x96\x88" : "\xe2\x96\x91";
            memcpy(bar + o, g, 3);
            o += 3;
        }
        bar[o] = '\0';
        double eta = rate > 0 ? (double)(p->total - p->bytes) / rate : 0;
        int es = (int)eta;
        fprintf(stderr, "\r%s %3d%%  %s/%s  %.0f MB/s  ETA %d:%02d  %s\033[K", bar, pct, done,
                total, rate / 1e6, es / 60, es % 60, path_label(u->path));
        if (p->done)
            fputc('\n', stderr);
        return;
    }
    /* Not a terminal: a plain line every 10 % and at the end (once, when
     * the last one already said 100 %). */
    if (pct / 10 == u->last_pct / 10 && (!p->done || u->last_pct == 100))
        return;
    u->last_pct = pct;
    fprintf(stderr, "%s: %d%% %s/%s %.0f MB/s %s\n", u->verb, pct, done, total, rate / 1e6,
            path_label(u->path));
}

/* Both read the one table in core/err.c (exit statuses and JSON names are
 * kept beside the codes there). */
int ui_exit_code(int err)
{
    return pcp_err_desc(err)->exit_status;
}

const char *ui_err_name(int err)
{
    return pcp_err_desc(err)->name;
}

int ui_fail(struct ui *u, int err, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int code = ui_exit_code(err);
    if (u->tty)
        fputc('\n', stderr);
    if (u->json)
        ev_error(u->json, err, msg, NULL);
    fprintf(stderr, "pcp: %s\n", msg);
    return code;
}

static void on_signal(int sig)
{
    static const char text[] = "\npcp: cancelled\n";
    static const char json[] =
        "{\"event\":\"error\",\"code\":\"cancelled\",\"exit\":5,\"message\":\"cancelled\"}\n";
    (void)sig;
    /* Partial files keep their .pcp-part name: nothing to tidy up. */
    if (g_json_fd >= 0 && write(g_json_fd, json, sizeof(json) - 1) < 0)
        _exit(EXIT_CANCELLED);
    if (write(2, text, sizeof(text) - 1) < 0)
        _exit(EXIT_CANCELLED);
    _exit(EXIT_CANCELLED);
}

void ui_install_signals(const struct ui *u)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    g_json_fd = u->json ? fileno(u->json) : -1;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int ui_option_num(const char *opt, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !isdigit((unsigned char)*s) || *end || v < min || v > max) {
        fprintf(stderr, "pcp: %s takes a whole number from %ld to %ld, not '%s'\n", opt, min, max,
                s);
        return -1;
    }
    *out = v;
    return 0;
}

static int client_set(void *ud, const char *key, const char *val, char *err, size_t errlen)
{
    struct client_config *c = ud;
    /* kind: 0 any word, 1 yes or no, 2 a number of code words, 3 a path */
    const struct {
        const char *key;
        char *dst;
        size_t cap;
        int kind;
    } keys[] = {
        {"relay", c->relay, sizeof(c->relay), 0},
        {"relay-token", c->relay_token, sizeof(c->relay_token), 0},
        {"dht", c->dht, sizeof(c->dht), 1},
        {"dht-bootstrap", c->dht_bootstrap, sizeof(c->dht_bootstrap), 0},
        {"words", c->words, sizeof(c->words), 2},
        {"qr", c->qr, sizeof(c->qr), 1},
        {"out", c->out, sizeof(c->out), 3},
        {"mdns-interface", c->mdns_interface, sizeof(c->mdns_interface), 0},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(key, keys[i].key) != 0)
            continue;
        int k = keys[i].kind;
        if (strlen(val) >= keys[i].cap || !*val || (k != 3 && strpbrk(val, " \t")) ||
            (k == 1 && strcmp(val, "yes") && strcmp(val, "no")) ||
            (k == 2 &&
             (strlen(val) != 1 || *val < '0' + CODE_MIN_WORDS || *val > '0' + CODE_MAX_WORDS))) {
            snprintf(err, errlen, "bad value for %s", key);
            return PCP_ERR_INVAL;
        }
        snprintf(keys[i].dst, keys[i].cap, "%s", val);
        return 0;
    }
    snprintf(err, errlen, "unknown setting '%.64s'", key);
    return PCP_ERR_INVAL;
}

int ui_config_parse(struct client_config *c, const char *text, size_t len, char *err, size_t errlen)
{
    return kv_parse(text, len, client_set, c, err, errlen);
}

/* The config file's text, or NULL when there is none (*missing = 1) or it
 * cannot be read (*missing = 0). */
static char *config_text(char *path, size_t pathlen, size_t *len, int *missing)
{
    const char *p = getenv("PCP_CONFIG"), *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
    *missing = 1;
    if (p && *p)
        snprintf(path, pathlen, "%s", p);
    else if (x && *x)
        snprintf(path, pathlen, "%s/pcp/config", x);
    else if (h && *h)
        snprintf(path, pathlen, "%s/.config/pcp/config", h);
    else
        return NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        *missing = errno == ENOENT && !(p && *p);
        return NULL;
    }
    *missing = 0;
    char *buf = malloc(65537);
    size_t n = buf ? fread(buf, 1, 65537, f) : 0;
    int bad = !buf || ferror(f) || n > 65536;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int ui_shared_flag(struct shared_flags *f, int o, const char *arg)
{
    long num;
    switch (o) {
    case 'j':
        f->json = stdout;
        break;
    case 'J':
        if (ui_json_fd(arg, &f->json) != 0)
            return EXIT_USAGE;
        break;
    case 'i':
        f->ifopt = arg;
        break;
    case 't':
        if (ui_option_num("--timeout", arg, 1, TIMEOUT_MAX_S, &f->timeout_s) != 0)
            return EXIT_USAGE;
        break;
    case 'S':
        if (ui_option_num("--stall-timeout", arg, 1, TIMEOUT_MAX_S, &num) != 0)
            return EXIT_USAGE;
        f->xo->stall_ms = (int)(num * 1000);
        break;
    case 'T':
        if (ui_option_num("--threads", arg, 1, THREADS_MAX, &num) != 0)
            return EXIT_USAGE;
        f->xo->threads = (int)num;
        break;
    case 'r':
        f->url = arg;
        break;
    case 'k':
        f->token = arg;
        break;
    case 'N':
        f->no = 1;
        break;
    case 'D':
        f->dht_bootstrap = arg;
        break;
    case 'X':
        f->no_dht = 1;
        break;
    case 'F':
        f->force = 1;
        break;
    case 'h':
        f->help(stdout);
        return EXIT_OK;
    default:
        f->help(stderr);
        return EXIT_USAGE;
    }
    return -1;
}

/* "URL[,URL...]" (spaces around the commas allowed), up to RV_RELAYS_MAX,
 * into rc->client[] and the text rc->shown. */
static int relay_list(struct relay_choice *rc, const char *list)
{
    const char *p = list;
    size_t off = 0;
    rc->nrelays = 0;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n == 0)
            break;
        char url[600];
        if (rc->nrelays == RV_RELAYS_MAX) {
            fprintf(stderr, "pcp: at most %d relays\n", RV_RELAYS_MAX);
            return -1;
        }
        struct rv_client *c = &rc->client[rc->nrelays];
        snprintf(url, sizeof(url), "%.*s", (int)(n < sizeof(url) - 1 ? n : sizeof(url) - 1), p);
        if (n >= sizeof(url) || rv_url_parse(url, &c->url) != 0) {
            fprintf(stderr,
                    "pcp: the relay '%s' is not a URL this pcp can use: give http://HOST[:PORT], "
                    "https://HOST[:PORT] or HOST[:PORT] (several: separated by commas)\n",
                    url);
            return -1;
        }
        c->token = rc->cfg.relay_token[0] ? rc->cfg.relay_token : NULL;
        char shown[300];
        rv_shown(c, shown, sizeof(shown));
        int w = snprintf(rc->shown + off, sizeof(rc->shown) - off, "%s%s", off ? ", " : "", shown);
        off += w > 0 && (size_t)w < sizeof(rc->shown) - off ? (size_t)w : 0;
        rc->nrelays++;
        p += n;
    }
    return rc->nrelays ? 0 : -1;
}

int ui_relay_choice(struct relay_choice *rc, const struct shared_flags *f)
{
    const char *flag_url = f->url, *flag_token = f->token;
    int no_relay = f->no, force_relay = f->force;
    char path[600];
    size_t len = 0;
    int missing;
    memset(rc, 0, sizeof(*rc));
    char *text = config_text(path, sizeof(path), &len, &missing);
    if (!text && !missing) {
        fprintf(stderr, "pcp: cannot read the config file %s\n", path);
        return -1;
    }
    if (text) {
        char err[256];
        int e = ui_config_parse(&rc->cfg, text, len, err, sizeof(err));
        free(text);
        if (e) {
            fprintf(stderr, "pcp: %s: %s\n", path, err);
            return -1;
        }
    }
    /* The DHT: on unless told otherwise, never with --force-relay. */
    const char *boot = f->dht_bootstrap ? f->dht_bootstrap : getenv("PCP_DHT_BOOTSTRAP");
    if (!boot || !*boot)
        boot = rc->cfg.dht_bootstrap[0] ? rc->cfg.dht_bootstrap : DHT_BOOTSTRAP_DEFAULT;
    rc->dht_bootstrap = boot;
    rc->dht = !f->no_dht && !force_relay && strcmp(rc->cfg.dht, "no") != 0;
    char host[DHT_HOST_MAX], port[6];
    if (rc->dht && dht_bootstrap_parse(boot, host, port) != 0) {
        fprintf(stderr, "pcp: the DHT bootstrap '%s' is not HOST:PORT\n", boot);
        return -1;
    }
    if (!dht_version_text()) {
        if (f->dht_bootstrap)
            fprintf(stderr, "pcp: this pcp was built without OpenDHT; --dht-bootstrap is "
                            "ignored\n");
        rc->dht = 0;
    }
    const char *url = flag_url ? flag_url : getenv("PCP_RELAY");
    if (!url || !*url)
        url = rc->cfg.relay;
    const char *token = flag_token ? flag_token : getenv("PCP_RELAY_TOKEN");
    if (token && *token)
        snprintf(rc->cfg.relay_token, sizeof(rc->cfg.relay_token), "%s", token);
    if (force_relay && no_relay) {
        fprintf(stderr, "pcp: --force-relay and --no-relay contradict each other\n");
        return -1;
    }
    if (no_relay || !*url) {
        if (force_relay) {
            fprintf(stderr, "pcp: --force-relay needs a relay: --relay URL or PCP_RELAY\n");
            return -1;
        }
        return 0;
    }
    if (relay_list(rc, url) != 0)
        return -1;
    rc->use = 1;
    rc->only = force_relay;
    return 0;
}

int ui_cipher_env(unsigned *set)
{
    const char *e = getenv("PCP_CIPHER");
    *set = 0;
    if (!e || !*e)
        return 0;
    int c = stream_cipher_parse(e);
    if (c < 0 || !(stream_ciphers() & 1u << c)) {
        fprintf(stderr,
                "pcp: PCP_CIPHER=%s is not a cipher this build can use (secretstream, "
                "aes256gcm with hardware AES, chacha20poly1305)\n",
                e);
        return -1;
    }
    *set = 1u << c;
    return 0;
}

const char *ui_mdns_ifname(const char *opt, const struct client_config *cfg)
{
    if (opt && *opt)
        return opt;
    const char *e = getenv("PCP_MDNS_INTERFACE");
    if (e && *e)
        return e;
    return cfg && cfg->mdns_interface[0] ? cfg->mdns_interface : NULL;
}

#ifdef PCP_HAVE_QRENCODE
const char *ui_qr_version(void)
{
    return "libqrencode";
}

int ui_qr(FILE *f, const char *text)
{
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!q)
        return -1;
    /* Two rows of modules per line, with the 4-module quiet zone the
     * standard asks for; black on white set explicitly. */
    const int quiet = 4, w = q->width;
    for (int y = -quiet; y < w + quiet; y += 2) {
        fputs("\033[30;107m", f);
        for (int x = -quiet; x < w + quiet; x++) {
            int top = x >= 0 && x < w && y >= 0 && y < w && (q->data[y * w + x] & 1);
            int bot = x >= 0 && x < w && y + 1 >= 0 && y + 1 < w && (q->data[(y + 1) * w + x] & 1);
            fputs(top && bot ? "\xe2\x96\x88"
                  : top      ? "\xe2\x96\x80"
                  : bot      ? "\xe2\x96\x84"
                             : " ",
                  f);
        }
        fputs("\033[0m\n", f);
    }
    QRcode_free(q);
    return 0;
}
#else
const char *ui_qr_version(void)
{
    return NULL;
}

int ui_qr(FILE *f, const char *text)
{
    (void)f;
    (void)text;
    return -1;
}
#endif
