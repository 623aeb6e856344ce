/*
 * relay.c - `pcp relay`: run a rendezvous server and relay on one port.
 *
 * Settings come from, in order, the defaults, the config file (--config
 * or PCP_RELAY_CONFIG), the environment (PCP_RELAY_LISTEN,
 * PCP_RELAY_TOKEN) and the flags; SIGHUP reads them all again, so a
 * reload and a restart give the same configuration.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cmd.h"
#include "err.h"
#include "relay.h"
#include "rvproto.h"

#define TEXT_OF(x) #x
#define TEXT(x) TEXT_OF(x)
#define RELAY_PORT_TEXT TEXT(RV_DEFAULT_PORT)

/* Every setting is also a flag of the same name. */
static const char *const keys[] = {
    "listen",          "token",        "drain",        "max-rooms",       "max-records",
    "max-conns",       "per-ip-conns", "per-ip-rooms", "arrival-timeout", "idle-timeout",
    "request-timeout", "room-bytes",   "room-rate",    "conn-memory",     "ipv6-prefix",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct relay_cli {
    int argc;
    char **argv;
};

static volatile sig_atomic_t stop_flag, reload_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    reload_flag = 1;
}

static void help(FILE *f)
{
    fprintf(f, "Usage: pcp relay [options]\n\n"
               "Run a rendezvous server and relay for pcp on one TCP port. Senders and\n"
               "receivers that cannot reach each other directly meet here; the relay only\n"
               "ever sees encrypted bytes.\n\n"
               "Options (each also a 'key = value' line of the config file):\n"
               "      --listen [ADDR:]PORT   where to listen (default " RELAY_PORT_TEXT
               ", every address;\n"
               "                             env PCP_RELAY_LISTEN)\n"
               "      --token TOKEN          private relay: clients need this token (env\n"
               "                             PCP_RELAY_TOKEN; --token-file keeps it out of ps)\n"
               "      --token-file FILE      read the token from FILE\n"
               "      --config FILE          read settings from FILE (env PCP_RELAY_CONFIG);\n"
               "                             SIGHUP reads it again\n"
               "      --drain SECONDS        on SIGTERM, let open pipes finish this long (30)\n"
               "      --max-rooms N          rooms open at once (10000)\n"
               "      --max-records N        rendezvous records at once (10000)\n"
               "      --max-conns N          connections at once (8192)\n"
               "      --per-ip-conns N       connections from one address (64)\n"
               "      --per-ip-rooms N       rooms and records of one address (32)\n"
               "      --ipv6-prefix N        per-ip-rooms counts an IPv6 /N as one address,\n"
               "                             N 32..128 (64)\n"
               "      --arrival-timeout S    a lone peer waits this long for the other (600)\n"
               "      --idle-timeout S       a pipe silent this long is closed (120)\n"
               "      --request-timeout S    an HTTP request idle this long is dropped (15)\n"
               "      --room-bytes SIZE      bytes one room may relay, e.g. 10G (no cap)\n"
               "      --room-rate SIZE       bytes per second per room, e.g. 50M (no cap)\n"
               "      --conn-memory SIZE     request buffer per connection (16K)\n"
               "  -h, --help                 this text\n\n"
               "Endpoints: /v1/ (the API), /healthz, /metrics (Prometheus), / (status).\n");
}

static char *read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = !buf || ferror(f) || n > max;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Build the whole configuration from scratch; 0, or -1 after printing. */
static int load(struct relay_cli *cli, struct relay_config *c)
{
    char err[512];
    relay_config_default(c);
    optind = 1;
    opterr = 0;
    struct option opts[NKEYS + 4];
    for (size_t i = 0; i < NKEYS; i++)
        opts[i] = (struct option){keys[i], required_argument, 0, 1000 + (int)i};
    opts[NKEYS] = (struct option){"config", required_argument, 0, 'c'};
    opts[NKEYS + 1] = (struct option){"token-file", required_argument, 0, 'f'};
    opts[NKEYS + 2] = (struct option){"help", no_argument, 0, 'h'};
    opts[NKEYS + 3] = (struct option){0, 0, 0, 0};

    /* First pass: only --config (and --help). */
    const char *config = getenv("PCP_RELAY_CONFIG");
    int o;
    while ((o = getopt_long(cli->argc, cli->argv, "h", opts, NULL)) != -1) {
        if (o == 'c')
            config = optarg;
        else if (o == 'h')
            return 1;
        else if (o == '?') {
            fprintf(stderr, "pcp relay: unknown or incomplete option '%s'\n",
                    cli->argv[optind - 1]);
            return -1;
        }
    }
    if (optind < cli->argc) {
        fprintf(stderr, "pcp relay: unexpected argument '%s'\n", cli->argv[optind]);
        return -1;
    }
    if (config && *config) {
        size_t len;
        char *text = read_file(config, 1 << 20, &len);
        if (!text) {
            fprintf(stderr, "pcp relay: cannot read the config file %s\n", config);
            return -1;
        }
        int e = relay_config_parse(c, text, len, err, sizeof(err));
        free(text);
        if (e) {
            fprintf(stderr, "pcp relay: %s: %s\n", config, err);
            return -1;
        }
    }
    const char *env;
    if ((env = getenv("PCP_RELAY_LISTEN")) && *env &&
        relay_config_set(c, "listen", env, err, sizeof(err)) != 0) {
        fprintf(stderr, "pcp relay: PCP_RELAY_LISTEN: %s\n", err);
        return -1;
    }
    if ((env = getenv("PCP_RELAY_TOKEN")) && *env &&
        relay_config_set(c, "token", env, err, sizeof(err)) != 0) {
        fprintf(stderr, "pcp relay: PCP_RELAY_TOKEN: %s\n", err);
        return -1;
    }
    /* Second pass: the flags. */
    optind = 1;
    while ((o = getopt_long(cli->argc, cli->argv, "h", opts, NULL)) != -1) {
        if (o >= 1000) {
            if (relay_config_set(c, keys[o - 1000], optarg, err, sizeof(err)) != 0) {
                fprintf(stderr, "pcp relay: --%s\n", err);
                return -1;
            }
        } else if (o == 'f') {
            size_t len;
            char *t = read_file(optarg, 255, &len);
            if (!t) {
                fprintf(stderr, "pcp relay: cannot read the token file %s\n", optarg);
                return -1;
            }
            t[strcspn(t, "\r\n")] = 0;
            int e = relay_config_set(c, "token", t, err, sizeof(err));
            free(t);
            if (e) {
                fprintf(stderr, "pcp relay: the token file holds a bad token\n");
                return -1;
            }
        }
    }
    return 0;
}

static int reload(void *ud, struct relay_config *c)
{
    return load(ud, c) == 0 ? 0 : -1;
}

static void log_line(void *ud, const char *line)
{
    (void)ud;
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    fprintf(stderr, "%s pcp relay: %s\n", when, line);
}

int cmd_relay(int argc, char **argv)
{
    struct relay_cli cli = {argc, argv};
    struct relay_config c;
    int e = load(&cli, &c);
    if (e > 0) {
        help(stdout);
        return EXIT_OK;
    }
    if (e < 0)
        return EXIT_USAGE;

    /* Every pipe holds two sockets and four pipe ends: take every
     * descriptor the system allows. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        /* macOS says "unlimited" and refuses it: at most OPEN_MAX there. */
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && rl.rlim_max == RLIM_INFINITY) {
            rl.rlim_cur = 10240;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct relay_hooks hooks = {
        .stop = &stop_flag,
        .reload = &reload_flag,
        .reload_config = reload,
        .log = log_line,
        .ud = &cli,
    };
    e = relay_run(&c, &hooks);
    if (e == PCP_ERR_INVAL) {
        fprintf(stderr, "pcp relay: --listen takes PORT, ADDR:PORT or [ADDR]:PORT, not '%s'\n",
                c.listen);
        return EXIT_USAGE;
    }
    if (e) {
        fprintf(stderr, "pcp relay: cannot listen on %s: %s (in use, or a privileged port?)\n",
                c.listen, pcp_strerror(e));
        return EXIT_NETWORK;
    }
    return EXIT_OK;
}
