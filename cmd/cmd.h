/*
 * cmd.h - the pcp command: one entry point per subcommand (send.c,
 * receive.c) and the terminal helpers they share (ui.c). Only cmd/ prints
 * or decides exit codes.
 */
#ifndef PCP_CMD_H
#define PCP_CMD_H

#include <stdint.h>
#include <stdio.h>

#include "rv.h"
#include "transfer.h"

/* Exit codes, documented in README.md. */
enum {
    EXIT_OK = 0,
    EXIT_ERROR = 1,      /* anything not below */
    EXIT_USAGE = 2,      /* bad arguments or a malformed code */
    EXIT_WRONG_CODE = 3, /* the code did not match, or too many tries */
    EXIT_REFUSED = 4,    /* the receiver declined */
    EXIT_CANCELLED = 5,  /* Ctrl-C */
    EXIT_IO = 6,         /* local file error */
    EXIT_NETWORK = 7,    /* no peer found, connection lost, timeout */
    EXIT_UNSAFE = 8,     /* the peer sent something unsafe or altered data */
    EXIT_EXISTS = 9,     /* a file would have been overwritten */
};

int cmd_send(int argc, char **argv);
int cmd_receive(int argc, char **argv);
int cmd_relay(int argc, char **argv);

struct ui {
    FILE *json;       /* where JSON events go (--json, --json-fd), or NULL */
    int tty;          /* stderr is a terminal: draw a bar */
    const char *path; /* "lan", "direct", "punched", "relayed" */
    const char *verb; /* "Sending" / "Receiving" */
    double last;      /* seconds of the last plain or JSON line */
    int last_pct;
};

void ui_init(struct ui *u, FILE *json, const char *verb);
/* --json-fd S: *out becomes a stream on descriptor S, which must be open
 * for writing; else print why and return -1. ui_init makes it (or stdout,
 * for --json) line-buffered. */
int ui_json_fd(const char *s, FILE **out);
void ui_progress(void *ud, const struct xfer_progress *p);
/* What an interrupted transfer left that need not travel again (`here`:
 * the receiver's words, else the sender's). */
void ui_resuming(struct ui *u, int here, uint64_t files, uint64_t bytes);
/* Print an error (text or JSON) and return its exit code. */
int ui_fail(struct ui *u, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int ui_exit_code(int err);
const char *ui_err_name(int err);
void ui_json_str(FILE *f, const char *s);
void ui_human_size(uint64_t n, char *out, size_t outlen);
/* Exit quietly with EXIT_CANCELLED on SIGINT/SIGTERM. */
void ui_install_signals(const struct ui *u);
/* Parse option OPT's value S as a whole decimal number in [MIN, MAX] into
 * *OUT; on anything else print "pcp: OPT takes MIN to MAX" and return -1. */
#define TIMEOUT_MAX_S 2000000L /* seconds; times 1000 still fits an int */
#define THREADS_MAX 8          /* MAX_WORKERS in core/transfer.c */
int ui_option_num(const char *opt, const char *s, long min, long max, long *out);
/* The client's settings file: "key = value" lines, # comments. Keys:
 * relay, relay-token, dht (yes or no), dht-bootstrap; and defaults that
 * an option overrides: words (4 to 8), qr (yes or no), out (a directory),
 * mdns-interface. */
struct client_config {
    char relay[512];
    char relay_token[256];
    char dht[8];             /* "yes" or "no" */
    char dht_bootstrap[300]; /* HOST:PORT */
    char words[2];
    char qr[8];
    char out[1024];
    char mdns_interface[64];
};
/* Parse text over *c; PCP_ERR_INVAL with "line N: what" in err. */
int ui_config_parse(struct client_config *c, const char *text, size_t len, char *err,
                    size_t errlen);

/* Where a relay comes from: --relay / PCP_RELAY / the config file's
 * "relay", and likewise the token (--relay-token, PCP_RELAY_TOKEN,
 * "relay-token"). Config file: $PCP_CONFIG, else
 * $XDG_CONFIG_HOME/pcp/config, else ~/.config/pcp/config. */
struct relay_choice {
    int use;         /* a relay is configured and not --no-relay */
    int only;        /* --force-relay: no direct paths */
    char shown[300]; /* "HOST:PORT" for messages */
    struct client_config cfg;
    struct rv_client client;
    int dht; /* look or announce in the DHT too */
    const char *dht_bootstrap;
};
/* The relay flags that send and receive share. */
struct relay_flags {
    const char *url, *token, *dht_bootstrap;
    int no, force, no_dht;
};
#define RELAY_LONG_OPTIONS                                                                         \
    {"relay", required_argument, 0, 'r'}, {"relay-token", required_argument, 0, 'k'},              \
        {"no-relay", no_argument, 0, 'N'}, {"force-relay", no_argument, 0, 'F'},                   \
        {"dht-bootstrap", required_argument, 0, 'D'},                                              \
    {                                                                                              \
        "no-dht", no_argument, 0, 'X'                                                              \
    }
/* 1 when getopt's o is a relay flag (kept in *f), else 0. */
int ui_relay_flag(struct relay_flags *f, int o, const char *arg);
/* 0, or -1 after printing why (bad URL, unreadable config file). */
int ui_relay_choice(struct relay_choice *rc, const struct relay_flags *f);

/* The ciphers PCP_CIPHER allows (a name, for tests and benchmarks; unset:
 * 0, all), or -1 after printing why. */
int ui_cipher_env(unsigned *set);

/* Draw text as a QR code with half-block characters, dark on light
 * whatever the terminal's colours; -1 when this build has no libqrencode
 * (ui_qr_version() is then NULL) or the text does not fit. */
int ui_qr(FILE *f, const char *text);
const char *ui_qr_version(void);

/*
 * accept.c: where `pcp send` waits and who it lets in. accept_open listens
 * and announces the code (mDNS, relay record, DHT); accept_wait runs
 * handshakes with whoever comes, several at once, until one knows the code.
 * ACCEPT_MAX_WRONG wrong guesses spend a code: with a 4-word code (33 bits
 * of password) a guesser's chance is at most 20 / 2^33, about 2.3e-9.
 * Each returns an exit code, having printed why when not EXIT_OK.
 */
#define ACCEPT_MAX_WRONG 20
struct pcp_code;
struct accept_cfg {
    struct ui *u;
    const struct relay_choice *rly;
    const char *ifname; /* mDNS interface, or NULL for every one */
    long port;          /* TCP port, 0: any */
    int timeout_ms;     /* give up when no receiver came; -1: wait */
    FILE *json;
    int ask;        /* may ask on the terminal for a new code when one is spent */
    int fixed_code; /* --code: never make another */
    unsigned words; /* of a new code */
    void (*show)(void *ud, const char *code); /* print a new code */
    void *ud;
};
struct accepted {
    int fd;
    struct frame_reader fr;
    uint8_t tx[32], rx[32];
    struct sockaddr_storage peer; /* unset when relayed */
    int relayed;
};
struct acceptor;
int accept_open(struct acceptor **out, const struct accept_cfg *c, const struct pcp_code *code);
int accept_wait(struct acceptor *a, struct accepted *out);
/* Stop listening, leave the room, withdraw the records. NULL is fine. */
void accept_close(struct acceptor *a);

/* MDNS interface from the option, PCP_MDNS_INTERFACE or the config
 * file's mdns-interface (NULL: every interface). */
const char *ui_mdns_ifname(const char *opt, const struct client_config *cfg);

/* find.c: the receiver's way to its sender. mDNS, the DHT and the relay
 * are asked at once (as rly says); what they find are candidates, tried
 * one after the other in order of preference (the LAN, the DHT's records,
 * the relay's rooms), each with its connection and handshake, until one
 * handshake succeeds. Anyone can answer mDNS or put a DHT record, so a
 * candidate that fails is a reason to try the next, not to give up. */
#define FIND_MAX_TRIES 6
struct find_try {
    const char *via; /* "mdns", "dht", "relay" */
    char peer[96];   /* the address dialled (or the first one), or the room */
    int connected;   /* 1: err is the handshake's, 0: the connection's */
    int err;
};
struct find {
    /* in */
    const struct relay_choice *rly;
    const char *ifname; /* mDNS interface, NULL for all */
    unsigned channel;
    long timeout_s;
    int handshake_ms; /* the handshake's read timeout (0: 10 s) */
    const uint8_t *pw;
    size_t pwlen;
    const char *aad;
    /* out, after success */
    int fd;
    const char *path;     /* "lan", "direct", "relayed" */
    const char *found_by; /* "mdns", "dht", "relay" */
    char who[320];
    /* what failed on the way */
    struct find_try tried[FIND_MAX_TRIES];
    size_t ntried;
};
/* 0 (EXIT_OK) with f->fd connected to the sender, fr reading it and tx/rx
 * its traffic keys; else the failure is reported through u (the message
 * and the JSON error event say what was tried) and its exit code returned. */
int find_sender(struct find *f, struct ui *u, struct frame_reader *fr, uint8_t tx[32],
                uint8_t rx[32]);
/* The JSON array of f's failed tries: [{"via":..,"peer":..,..}, ...]. */
void find_tried_json(FILE *out, const struct find *f);

#endif
