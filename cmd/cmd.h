/*
 * cmd.h - the pcp command: one entry point per subcommand (send.c,
 * receive.c), the terminal helpers they share (ui.c) and every event they
 * print (events.c). Only cmd/ prints or decides exit codes.
 */
#ifndef PCP_CMD_H
#define PCP_CMD_H

#include <stdint.h>
#include <stdio.h>

#include "path.h"
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
#define THREADS_MAX 8          /* MAX_WORKERS in core/transfer_priv.h */
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
    char shown[600]; /* "HOST:PORT" for messages ("A, B and C" for several) */
    struct client_config cfg;
    struct rv_client client[RV_RELAYS_MAX]; /* --relay's list, as given */
    size_t nrelays;
    int dht; /* look or announce in the DHT too */
    const char *dht_bootstrap;
};
/* The relay flags that send and receive share. */
/* The options send and receive share: where to find the peer (relay, DHT,
 * mDNS interface), how long to look and to wait, events, threads. */
struct shared_flags {
    const char *url, *token, *dht_bootstrap, *ifopt;
    int no, force, no_dht;
    FILE *json;            /* --json, --json-fd: the events, or NULL */
    long timeout_s;        /* --timeout; the caller sets its default */
    struct xfer_opts *xo;  /* --stall-timeout and --threads go there */
    void (*help)(FILE *f); /* the command's --help */
};
#define SHARED_LONG_OPTIONS                                                                        \
    {"relay", required_argument, 0, 'r'}, {"relay-token", required_argument, 0, 'k'},              \
        {"no-relay", no_argument, 0, 'N'}, {"force-relay", no_argument, 0, 'F'},                   \
        {"dht-bootstrap", required_argument, 0, 'D'}, {"no-dht", no_argument, 0, 'X'},             \
        {"json", no_argument, 0, 'j'}, {"json-fd", required_argument, 0, 'J'},                     \
        {"mdns-interface", required_argument, 0, 'i'}, {"timeout", required_argument, 0, 't'},     \
        {"threads", required_argument, 0, 'T'},                                                    \
    {                                                                                              \
        "stall-timeout", required_argument, 0, 'S'                                                 \
    }
/* -1 when getopt's o is one of the shared options (kept in *f): go on;
 * else the exit status: EXIT_OK after --help, EXIT_USAGE after printing
 * why (an unknown option, a value refused). */
int ui_shared_flag(struct shared_flags *f, int o, const char *arg);
/* 0, or -1 after printing why (bad URL, unreadable config file). */
int ui_relay_choice(struct relay_choice *rc, const struct shared_flags *f);

/* The ciphers PCP_CIPHER allows (a name, for tests and benchmarks; unset:
 * 0, all), or -1 after printing why. */
int ui_cipher_env(unsigned *set);

/* Draw text as a QR code with half-block characters, dark on light
 * whatever the terminal's colours; -1 when this build has no libqrencode
 * (ui_qr_version() is then NULL) or the text does not fit. */
int ui_qr(FILE *f, const char *text);
const char *ui_qr_version(void);

/* MDNS interface from the option, PCP_MDNS_INTERFACE or the config
 * file's mdns-interface (NULL: every interface). */
const char *ui_mdns_ifname(const char *opt, const struct client_config *cfg);

/*
 * events.c: every JSON event, one function each (field names and order
 * are an interface: README.md and the tests rely on them), and what the
 * connection room (discovery/path/path.h) reports, in words.
 */
void ev_code(FILE *f, const char *code);
void ev_wrong_code(FILE *f, int attempt, int max, const char *peer, int wait_s);
void ev_connected(FILE *f, const struct path_conn *c);
void ev_dht(FILE *f, const struct path_dht *st, int err);
void ev_path(FILE *f, const struct path_conn *c);
struct ev_offer_info {
    const char *names; /* at most three top-level names, then "and N more" */
    size_t top, entries;
    uint64_t files, bytes;
    int unsized, hidden;
    const char *merge; /* the first directory merged into, or NULL / "" */
    const char *peer;
};
void ev_offer(FILE *f, const struct ev_offer_info *o);
void ev_text(FILE *f, const char *text, uint64_t bytes, const char *peer);
void ev_resume(FILE *f, uint64_t files, uint64_t bytes);
void ev_progress(FILE *f, const struct xfer_progress *p, double rate, const char *path);
void ev_done(FILE *f, const struct xfer_progress *res, double rate, const char *path,
             const struct xfer_opts *xo);
/* tried: the receiver's failed candidates for a "tried" array, or NULL. */
void ev_error(FILE *f, int err, const char *msg, const struct path_conn *tried);

/* What ev_path_event (a path_cfg's event hook) needs. */
struct path_ui {
    struct ui *u;
    const struct relay_choice *rly;
    int qr; /* a new code (sender) also as a QR code */
};
void ev_path_event(void *ud, const struct path_event *ev);
/* The code (the event, or the words for the other computer), with qr
 * also the receive command as a QR code. */
void ev_show_code(const struct ui *u, int qr, const char *code);
/* A path_cfg's ask_new_code: asks on the terminal. */
int ev_ask_new_code(void *ud, int wrong, const char *who);
/* After the transfer on c failed with e: when it went through one of
 * several relays and the connection broke (the relay died or drained),
 * drop that relay from rly and pc, say so, and return 1: both sides then
 * meet again through the next relay in the channel's order and resume.
 * Else 0. */
int ev_relay_failover(struct relay_choice *rly, struct path_cfg *pc, const struct path_conn *c,
                      int e, const struct ui *u);
/* The receiver connects again: the sender dropped it before its first
 * message (a proof that came after its deadline). */
void ev_again(const struct ui *u, int attempt, int max);
/* How a transfer ended, in words or as the done or error event; the exit
 * code. msg: a --text message was sent. */
int ev_send_result(struct ui *u, int e, const struct xfer_progress *res, const struct xfer_opts *xo,
                   int msg, const char *peer_msg);

/* The receiver's side of an offer (offer.c) and of its transfer. */
struct recv_ctx {
    struct ui *u;
    int yes;
    const char *peer;
    const char *out_dir;
    int to_stdout;
    int text;          /* the offer was a message, already shown */
    int merge;         /* --merge: --yes also adds to existing directories, hidden names */
    int refused_merge; /* --yes without --merge met such an offer */
    int dfd;           /* the target directory, to see what is already there; or -1 */
    int accepted; /* an offer was accepted: the same sender's again (after a failover) is too */
};
/* The transfer's confirm hook: show the offer, ask, 1 to accept. */
int offer_confirm(void *ud, const struct manifest *m);
int ev_receive_result(struct ui *u, int e, const struct xfer_progress *res,
                      const struct xfer_opts *xo, const struct recv_ctx *r, const char *errpath,
                      const char *peer_msg);
/* Print why path_offer / path_accept (or path_connect) failed with e and
 * return the exit code. */
int ev_send_fail(const struct path_ui *p, const struct path_cfg *cfg, int e,
                 const struct path_why *w);
int ev_receive_fail(const struct path_ui *p, const struct path_conn *c, int e, const char *ifname,
                    long timeout_s);

#endif
