/*
 * events.c - every JSON event pcp emits, one function each, and the words
 * for what the connection room (discovery/path/) reports: its progress
 * events and its failures, in plain text and as JSON. Field names and
 * their order are an interface (README.md, the tests): change none. Text
 * from the network (a peer's address, a name) is always JSON-escaped.
 */
#include <stdarg.h>
#include <string.h>

#include "cmd.h"
#include "code.h"
#include "err.h"

static void end(FILE *f)
{
    fputs("}\n", f);
    fflush(f);
}

void ev_code(FILE *f, const char *code)
{
    fputs("{\"event\":\"code\",\"code\":", f);
    ui_json_str(f, code);
    end(f);
}

void ev_wrong_code(FILE *f, int attempt, int max, const char *peer, int wait_s)
{
    fprintf(f, "{\"event\":\"wrong_code\",\"attempt\":%d,\"max\":%d,\"peer\":", attempt, max);
    ui_json_str(f, peer);
    fprintf(f, ",\"wait\":%d", wait_s);
    end(f);
}

void ev_connected(FILE *f, const struct path_conn *c)
{
    fputs("{\"event\":\"connected\",\"peer\":", f);
    ui_json_str(f, c->who);
    fprintf(f, ",\"path\":\"%s\",\"attempts\":%u,\"punch_ms\":%d,\"portmap\":\"%s\"", c->path,
            c->attempts, c->punch_ms, c->portmap ? c->portmap : "none");
    end(f);
}

void ev_dht(FILE *f, const struct path_dht *st, int err)
{
    fprintf(f,
            "{\"event\":\"dht\",\"reachable\":%s,\"answered\":%s,\"proven\":%s,"
            "\"connected\":%s,\"ms\":%d",
            st->reachable == 1   ? "true"
            : st->reachable == 0 ? "false"
                                 : "null",
            st->answered ? "true" : "false", st->proven ? "true" : "false",
            err == 0 ? "true" : "false", st->ms);
    end(f);
}

/* The JSON array of the candidates that failed. */
static void tried_json(FILE *f, const struct path_conn *c)
{
    fputc('[', f);
    for (size_t i = 0; i < c->ntried; i++) {
        const struct path_try *t = &c->tried[i];
        fprintf(f, "%s{\"via\":\"%s\",\"peer\":", i ? "," : "", t->via);
        ui_json_str(f, t->peer);
        fprintf(f, ",\"stage\":\"%s\",\"error\":\"%s\",\"message\":",
                t->connected ? "handshake" : "connect", ui_err_name(t->err));
        ui_json_str(f, pcp_strerror(t->err));
        fputc('}', f);
    }
    fputc(']', f);
}

void ev_path(FILE *f, const struct path_conn *c)
{
    fprintf(f, "{\"event\":\"path\",\"path\":\"%s\",\"peer\":", c->path);
    ui_json_str(f, c->who);
    fprintf(f, ",\"attempts\":%u,\"punch_ms\":%d,\"portmap\":\"%s\",\"found_by\":\"%s\",\"tried\":",
            c->attempts, c->punch_ms, c->portmap ? c->portmap : "none", c->found_by);
    tried_json(f, c); /* what failed before this one */
    end(f);
}

void ev_offer(FILE *f, const struct ev_offer_info *o)
{
    fputs("{\"event\":\"offer\",\"names\":", f);
    ui_json_str(f, o->names);
    fprintf(f, ",\"top\":%zu,\"entries\":%zu,\"files\":%llu,", o->top, o->entries,
            (unsigned long long)o->files);
    if (o->unsized)
        fputs("\"bytes\":null", f);
    else
        fprintf(f, "\"bytes\":%llu", (unsigned long long)o->bytes);
    fprintf(f, ",\"hidden\":%s,\"merge\":", o->hidden ? "true" : "false");
    if (o->merge && o->merge[0])
        ui_json_str(f, o->merge);
    else
        fputs("null", f);
    fputs(",\"peer\":", f);
    ui_json_str(f, o->peer);
    end(f);
}

void ev_text(FILE *f, const char *text, uint64_t bytes, const char *peer)
{
    fputs("{\"event\":\"text\",\"text\":", f);
    ui_json_str(f, text);
    fprintf(f, ",\"bytes\":%llu,\"peer\":", (unsigned long long)bytes);
    ui_json_str(f, peer);
    end(f);
}

void ev_resume(FILE *f, uint64_t files, uint64_t bytes)
{
    fprintf(f, "{\"event\":\"resume\",\"files\":%llu,\"bytes\":%llu", (unsigned long long)files,
            (unsigned long long)bytes);
    end(f);
}

void ev_progress(FILE *f, const struct xfer_progress *p, double rate, const char *path)
{
    fprintf(f, "{\"event\":\"progress\",\"bytes\":%llu,\"total\":", (unsigned long long)p->bytes);
    if (p->unsized)
        fputs("null", f);
    else
        fprintf(f, "%llu", (unsigned long long)p->total);
    fprintf(f, ",\"files\":%llu,\"nfiles\":%llu,\"seconds\":%.3f,\"rate\":%.0f,\"path\":\"%s\"",
            (unsigned long long)p->files, (unsigned long long)p->nfiles, p->seconds, rate, path);
    end(f);
}

void ev_done(FILE *f, const struct xfer_progress *res, double rate, const char *path,
             const struct xfer_opts *xo)
{
    fprintf(f,
            "{\"event\":\"done\",\"bytes\":%llu,\"files\":%llu,\"seconds\":%.3f,"
            "\"rate\":%.0f,\"wire\":%llu,\"path\":\"%s\",\"cipher\":\"%s\","
            "\"compression\":\"%s\"",
            (unsigned long long)res->bytes, (unsigned long long)res->files, res->seconds, rate,
            (unsigned long long)res->wire_bytes, path, stream_cipher_name(xo->cipher),
            xo->zstd ? "zstd" : "zlib");
    end(f);
}

void ev_error(FILE *f, int err, const char *msg, const struct path_conn *tried)
{
    fprintf(f, "{\"event\":\"error\",\"code\":\"%s\",\"exit\":%d,\"message\":", ui_err_name(err),
            ui_exit_code(err));
    ui_json_str(f, msg);
    if (tried) {
        fputs(",\"tried\":", f);
        tried_json(f, tried);
    }
    end(f);
}

/* ui_fail, with the receiver's failed candidates in the JSON event. */
static int fail_tried(struct ui *u, const struct path_conn *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_tried(struct ui *u, const struct path_conn *c, int err, const char *fmt, ...)
{
    char msg[1600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (u->tty)
        fputc('\n', stderr);
    if (u->json)
        ev_error(u->json, err, msg, c);
    fprintf(stderr, "pcp: %s\n", msg);
    return ui_exit_code(err);
}

static const char *via_text(const char *via)
{
    return !strcmp(via, "mdns") ? "the LAN" : !strcmp(via, "dht") ? "the DHT" : "the relay";
}

/* The code, the command for the other computer, and with --qr that
 * command as a QR code. */
void ev_show_code(const struct ui *u, int qr, const char *code)
{
    if (u->json) {
        ev_code(u->json, code);
    } else {
        /* The code travels in the environment, not in argv: a command line
         * is readable by every user of the machine (ps), an environment
         * only by its owner. */
        printf("Code: %s\nOn the other computer run:  PCP_CODE=%s pcp receive\n"
               "(or 'pcp receive' and type the code when asked)\n",
               code, code);
        fflush(stdout);
    }
    if (qr) {
        char cmdline[CODE_TEXT_MAX + 32];
        snprintf(cmdline, sizeof(cmdline), "PCP_CODE=%s pcp receive", code);
        if (ui_qr(stderr, cmdline) != 0)
            fprintf(stderr, "pcp: %s\n",
                    ui_qr_version() ? "cannot draw the QR code"
                                    : "this pcp was built without libqrencode: no QR code");
    }
}

/* The sender dropped the connection before its first message; the
 * receiver connects again (attempt of max). */
void ev_again(const struct ui *u, int attempt, int max)
{
    if (u->json) {
        fprintf(u->json,
                "{\"event\":\"again\",\"reason\":\"closed_early\",\"attempt\":%d,"
                "\"max\":%d",
                attempt, max);
        end(u->json);
    } else {
        fprintf(stderr,
                "pcp: the sender closed the connection before its first message (our proof of "
                "the code may have reached it too late); connecting again (%d of %d)\n",
                attempt, max);
    }
}

int ev_relay_failover(struct relay_choice *rly, struct path_cfg *pc, const struct path_conn *c,
                      int e, const struct ui *u)
{
    if ((e != PCP_ERR_CLOSED && e != PCP_ERR_NET && e != PCP_ERR_TIMEOUT &&
         e != PCP_ERR_TRUNCATED) ||
        !c->relay || !c->path || strcmp(c->path, "relayed") != 0 || rly->nrelays < 2)
        return 0;
    size_t i = (size_t)(c->relay - rly->client);
    if (i >= rly->nrelays)
        return 0;
    char shown[300];
    rv_shown(c->relay, shown, sizeof(shown));
    memmove(&rly->client[i], &rly->client[i + 1], (rly->nrelays - i - 1) * sizeof(rly->client[0]));
    pc->nrelays = --rly->nrelays;
    if (u->json) {
        fputs("{\"event\":\"relay_failed\",\"relay\":", u->json);
        ui_json_str(u->json, shown);
        fputs(",\"error\":", u->json);
        ui_json_str(u->json, pcp_err_desc(e)->name);
        fprintf(u->json, ",\"left\":%zu", rly->nrelays);
        end(u->json);
    } else {
        fprintf(stderr,
                "\npcp: the relay %s failed (%s); going on through the next one (%zu left), "
                "resuming what has arrived\n",
                shown, pcp_strerror(e), rly->nrelays);
    }
    return 1;
}

/* The code was spent on wrong guesses: ask on the terminal for a new one. */
int ev_ask_new_code(void *ud, int wrong, const char *who)
{
    (void)ud;
    fprintf(stderr,
            "pcp: %d receivers used a wrong code (%s): someone may be guessing. This code "
            "is spent; nothing was sent.\nMake a new code and keep waiting? [Y/n] ",
            wrong, who);
    fflush(stderr);
    char line[64];
    return fgets(line, sizeof(line), stdin) &&
           (line[0] == '\n' || line[0] == 'y' || line[0] == 'Y');
}

/* The connection room's progress, as the user hears it. */
void ev_path_event(void *ud, const struct path_event *ev)
{
    const struct path_ui *p = ud;
    FILE *json = p->u->json;
    const struct path_try *t = ev->tried;
    switch (ev->kind) {
    case PATH_EV_DHT_JOIN_FAILED:
        fprintf(stderr, "pcp: cannot join the DHT: %s; going on without it\n",
                pcp_strerror(ev->err));
        break;
    case PATH_EV_RELAY_NEXT:
        if (json) {
            fputs("{\"event\":\"relay_next\",\"relay\":", json);
            ui_json_str(json, ev->text);
            fputs(",\"error\":", json);
            ui_json_str(json, pcp_err_desc(ev->err)->name);
            end(json);
        }
        fprintf(stderr, "pcp: the relay does not answer (%s); waiting at %s instead\n",
                pcp_strerror(ev->err), ev->text);
        break;
    case PATH_EV_RELAY_WARN:
        fprintf(stderr, "pcp: the relay %s: %s; still trying\n", p->rly->shown,
                pcp_strerror(ev->err));
        break;
    case PATH_EV_WRONG_GUESS:
        if (json)
            ev_wrong_code(json, ev->attempt, ev->max, ev->text, ev->wait_s);
        if (ev->attempt >= ev->max) /* what comes next is said next */
            fprintf(stderr, "pcp: a receiver at %s used a wrong code (attempt %d of %d)\n",
                    ev->text, ev->attempt, ev->max);
        else if (ev->wait_s == 0) /* through the DHT: each guess takes its round trips */
            fprintf(stderr,
                    "pcp: a receiver through %s used a wrong code or did not finish (attempt %d "
                    "of %d); still waiting\n",
                    ev->text, ev->attempt, ev->max);
        else
            fprintf(stderr,
                    "pcp: a receiver at %s used a wrong code (attempt %d of %d; %s may try "
                    "again in %d s); still waiting\n",
                    ev->text, ev->attempt, ev->max, ev->relayed ? "the relay" : "that address",
                    ev->wait_s);
        break;
    case PATH_EV_NEW_CODE:
        ev_show_code(p->u, p->qr, ev->text);
        fprintf(stderr, "Waiting for the receiver with the new code...\n");
        break;
    case PATH_EV_TRIED:
        if (!json)
            fprintf(stderr, "Tried %s (%s: %s); looking further...\n", via_text(t->via), t->peer,
                    ev->err == PCP_ERR_BAD_CODE ? "wrong code" : pcp_strerror(ev->err));
        break;
    case PATH_EV_DHT_LOOKUP:
        if (json)
            ev_dht(json, ev->dht, ev->err);
        break;
    }
}

/* Why the sender's offer or wait failed. */
int ev_send_fail(const struct path_ui *p, const struct path_cfg *cfg, int e,
                 const struct path_why *w)
{
    struct ui *u = p->u;
    const struct relay_choice *rly = p->rly;
    switch (w->stage) {
    case PATH_STAGE_SYS:
        return ui_fail(u, e, "cannot make a pipe: %s", strerror(w->sys_errno));
    case PATH_STAGE_LISTEN:
        return ui_fail(u, e, "cannot listen on TCP port %ld: is it in use?", cfg->port);
    case PATH_STAGE_MDNS:
        return ui_fail(u, e, "cannot announce on the local network%s%s: %s",
                       cfg->ifname ? " on interface " : "", cfg->ifname ? cfg->ifname : "",
                       pcp_strerror(e));
    case PATH_STAGE_RELAY:
        return ui_fail(u, e, "the relay %s refused or could not be reached: %s%s", rly->shown,
                       pcp_strerror(e), rly->only ? "" : " (--no-relay sends on the LAN only)");
    case PATH_STAGE_SPENT:
        return ui_fail(u, e,
                       "%d receivers used a wrong code (%s): someone may be guessing. Nothing "
                       "was sent; run 'pcp send' again for a new code.",
                       w->wrong, w->who);
    case PATH_STAGE_DECLINED:
        return ui_fail(u, e, "no new code: nothing was sent");
    case PATH_STAGE_NEW_CODE:
        return ui_fail(u, e, "cannot make a code");
    case PATH_STAGE_TIMEOUT:
        return ui_fail(u, e, "no receiver came within %d s; nothing was sent",
                       cfg->timeout_ms / 1000);
    case PATH_STAGE_WAIT:
        return ui_fail(u, e, "waiting for the receiver failed: %s", pcp_strerror(e));
    case PATH_STAGE_HANDSHAKEN:
        return ui_fail(u, e, "the receiver went away after the handshake: %s", pcp_strerror(e));
    default:
        return ui_fail(u, e, "%s", e == PCP_ERR_NOMEM ? "out of memory" : pcp_strerror(e));
    }
}

/* "the LAN (192.0.2.1:4000: wrong code), the DHT (...)" */
static void tried_text(const struct path_conn *c, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->ntried && o < cap; i++) {
        const struct path_try *t = &c->tried[i];
        int w =
            snprintf(out + o, cap - o, "%s%s (%s: %s%s)", i ? ", " : "", via_text(t->via), t->peer,
                     t->err == PCP_ERR_BAD_CODE ? ""
                     : t->connected             ? "handshake failed: "
                                                : "no connection: ",
                     t->err == PCP_ERR_BAD_CODE ? "wrong code" : pcp_strerror(t->err));
        o += w > 0 ? (size_t)w : cap;
    }
}

/* Nothing was found at all: why, as before candidates were tried. */
static int fail_none(const struct path_ui *p, const struct path_conn *c, const char *ifname,
                     long timeout_s)
{
    const struct relay_choice *rly = p->rly;
    const struct path_why *w = &c->why;
    char dht_note[400] = "";
    if (w->rv_err == PCP_ERR_RELAY_AUTH)
        return fail_tried(p->u, c, w->rv_err, "the relay %s refused: %s", rly->shown,
                          pcp_strerror(w->rv_err));
    if (w->dht_used && w->dht_st.proven && w->dht_st.dials == 0)
        return fail_tried(p->u, c, PCP_ERR_NOT_FOUND,
                          "the sender was found through the DHT and the code is right, but its "
                          "addresses never came back through the DHT. Try again; a relay carries "
                          "the transfer without the DHT: run both commands with --relay URL (see "
                          "'pcp relay' to host one).");
    if (w->dht_used && w->dht_st.proven)
        return fail_tried(
            p->u, c, PCP_ERR_NOT_FOUND,
            "the sender was found through the DHT and the code is right, but no direct "
            "connection could be made (%u connection attempt%s from both sides at once, to every "
            "address each side sent): both sides seem to be behind NATs that change ports, or "
            "firewalls that let nothing in. A relay carries the transfer then: run both commands "
            "with --relay URL (see 'pcp relay' to host one).",
            w->dht_st.dials, w->dht_st.dials == 1 ? "" : "s");
    if (w->dht_used && w->dht_err == PCP_ERR_BAD_CODE)
        return fail_tried(p->u, c, PCP_ERR_BAD_CODE,
                          "wrong code: the sender found through the DHT did not accept it. Check "
                          "the words with the sender and try again.");
    if (w->dht_used && w->dht_err != PCP_ERR_NOT_FOUND && w->dht_err != PCP_ERR_CANCELLED &&
        w->dht_err != PCP_ERR_TIMEOUT)
        snprintf(dht_note, sizeof(dht_note), "; the DHT: %s", pcp_strerror(w->dht_err));
    else if (w->dht_used)
        snprintf(dht_note, sizeof(dht_note), "; the DHT: %s%s%s",
                 w->dht_st.reachable != 1 ? "no node answered (can this host reach "
                                          : "no sender answered in its mailbox",
                 w->dht_st.reachable != 1 ? rly->dht_bootstrap : "",
                 w->dht_st.reachable != 1 ? "? --dht-bootstrap picks another node)" : "");
    if (!rly->use)
        snprintf(dht_note + strlen(dht_note), sizeof(dht_note) - strlen(dht_note),
                 "; across networks without the DHT, --relay URL carries it");
    return fail_tried(p->u, c, PCP_ERR_NOT_FOUND,
                      "no sender found for this code within %ld s. Check that 'pcp send' is "
                      "running %s and that the first word is right%s%s%s%s.",
                      timeout_s, rly->use ? "with the same relay" : "on the same network",
                      ifname || rly->only ? "" : " (--mdns-interface picks the interface)",
                      rly->use && w->rv_err != PCP_ERR_NOT_FOUND ? "; the relay: " : "",
                      rly->use && w->rv_err != PCP_ERR_NOT_FOUND ? pcp_strerror(w->rv_err) : "",
                      dht_note);
}

/* Every candidate failed. When every peer that answered the handshake said
 * the code is wrong, the code most likely is (the tries are listed for the
 * case where a stranger said so); else one try keeps its own message and
 * several are "no sender found", with the list. */
static int fail_all(const struct path_ui *p, const struct path_conn *c, int e)
{
    const struct path_try *last = &c->tried[c->ntried - 1];
    char list[1200];
    tried_text(c, list, sizeof(list));
    if (e == PCP_ERR_BAD_CODE && c->ntried == 1)
        return fail_tried(p->u, c, e,
                          "wrong code: the sender at %s did not accept it. Check the words with "
                          "the sender and try again.",
                          c->who);
    if (e == PCP_ERR_BAD_CODE)
        return fail_tried(p->u, c, e,
                          "wrong code: the sender did not accept it (tried: %s). Check the "
                          "words with the sender and try again.",
                          list);
    if (c->ntried > 1)
        return fail_tried(p->u, c, e, "no sender found that completes the handshake (tried: %s)",
                          list);
    if (last->connected)
        return fail_tried(p->u, c, e, "handshake with %s failed: %s", c->who, pcp_strerror(e));
    if (!strcmp(last->via, "relay"))
        return fail_tried(p->u, c, e, "found the sender at the relay %s but cannot join it: %s",
                          p->rly->shown, pcp_strerror(e));
    return fail_tried(p->u, c, e, "found the sender but cannot connect to it: %s", pcp_strerror(e));
}

/* Why the receiver found no sender (the JSON error lists what was tried). */
int ev_receive_fail(const struct path_ui *p, const struct path_conn *c, int e, const char *ifname,
                    long timeout_s)
{
    switch (c->why.stage) {
    case PATH_STAGE_RELAY:
        return ui_fail(p->u, e, "cannot start looking at the relay");
    case PATH_STAGE_MDNS:
        return ui_fail(p->u, e, "cannot look on the local network%s%s: %s",
                       ifname ? " on interface " : "", ifname ? ifname : "", pcp_strerror(e));
    case PATH_STAGE_TRIED:
        return fail_all(p, c, e);
    case PATH_STAGE_NOT_FOUND:
        return fail_none(p, c, ifname, timeout_s);
    case PATH_STAGE_HANDSHAKEN:
        return ui_fail(p->u, e, "the sender went away after the handshake: %s", pcp_strerror(e));
    default:
        return ui_fail(p->u, e, "%s", e == PCP_ERR_NOMEM ? "out of memory" : pcp_strerror(e));
    }
}

/* How the sender's transfer ended, in words (and the done or error event). */
int ev_send_result(struct ui *u, int e, const struct xfer_progress *res, const struct xfer_opts *xo,
                   int msg, const char *peer_msg)
{
    int stall_s = (xo->stall_ms ? xo->stall_ms : XFER_STALL_MS) / 1000;
    if (e == PCP_ERR_REFUSED)
        return ui_fail(u, e, "the receiver declined%s%s", peer_msg[0] ? ": " : "", peer_msg);
    if (e == PCP_ERR_PEER)
        return ui_fail(u, e, "the receiver stopped with an error: %s", peer_msg);
    if (e == PCP_ERR_CHANGED)
        return ui_fail(u, e,
                       "a file changed while it was being sent; nothing was promoted on "
                       "the receiver. Send again once it is stable.");
    if (e == PCP_ERR_IO)
        return ui_fail(u, e, "cannot read a file to send");
    if (e == PCP_ERR_TIMEOUT)
        return ui_fail(u, e,
                       "the transfer stalled: nothing moved for %d s (the network or the "
                       "receiver stopped). Run both commands again: the receiver resumes "
                       "where it stopped.",
                       stall_s);
    if (e)
        return ui_fail(u, e,
                       "transfer failed: %s. Run both commands again: the receiver resumes "
                       "where it stopped.",
                       pcp_strerror(e));
    double mbs = res->seconds > 0 ? (double)res->bytes / res->seconds / 1e6 : 0;
    if (u->json)
        ev_done(u->json, res, mbs * 1e6, u->path, xo);
    else if (msg)
        fprintf(stderr, "Sent the message; the receiver has it.\n");
    else
        fprintf(stderr,
                "Sent %llu file(s), %llu bytes in %.2f s (%.0f MB/s); the receiver "
                "has confirmed.\n",
                (unsigned long long)res->files, (unsigned long long)res->bytes, res->seconds, mbs);
    return EXIT_OK;
}

/* How the receiver's transfer ended, in words (and the done or error
 * event). */
int ev_receive_result(struct ui *u, int e, const struct xfer_progress *res,
                      const struct xfer_opts *xo, const struct recv_ctx *r, const char *errpath,
                      const char *peer_msg)
{
    char shown[600];
    manifest_display(errpath, shown, sizeof(shown));
    switch (e) {
    case 0:
        if (u->json)
            ev_done(u->json, res, res->seconds > 0 ? (double)res->bytes / res->seconds : 0, u->path,
                    xo);
        else if (!r->text)
            fprintf(stderr, "Received %llu file(s), %llu bytes in %.2f s into %s\n",
                    (unsigned long long)res->files, (unsigned long long)res->bytes, res->seconds,
                    r->out_dir);
        return EXIT_OK;
    case PCP_ERR_REFUSED:
        if (r->refused_merge)
            return ui_fail(u, e,
                           "declined: the offer adds to a directory already in %s or has a "
                           "hidden top-level name, and --yes alone does not accept that; "
                           "nothing was written. Add --merge to accept it.",
                           r->out_dir);
        return ui_fail(u, e, "declined; nothing was written");
    case PCP_ERR_INVAL: /* only --stdout refuses an offer with it */
        return ui_fail(u, e,
                       "--stdout takes one file, and the sender offers a directory or several "
                       "files; nothing was written. Receive them without --stdout.");
    case PCP_ERR_EXISTS:
        return ui_fail(u, e,
                       "'%s' already exists in %s; nothing was overwritten. Use --overwrite "
                       "to replace it, or --out to receive elsewhere.",
                       shown, r->out_dir);
    case PCP_ERR_UNSAFE_PATH:
        return ui_fail(u, e,
                       "the sender offered an unsafe path (absolute, with '..', named twice, "
                       "outside the directories it lists, or a link leaving the target "
                       "directory)%s%s; "
                       "refused, nothing written outside %s.",
                       shown[0] ? ": " : "", shown, r->out_dir);
    case PCP_ERR_NOSPACE:
        if (xo->space_needed > xo->space_free) {
            char need[32], avail[32];
            ui_human_size(xo->space_needed, need, sizeof(need));
            ui_human_size(xo->space_free, avail, sizeof(avail));
            return ui_fail(u, e,
                           "not enough space in %s: %s to come, %s free. Nothing was accepted; "
                           "free some space (or use --out) and run both commands again.",
                           r->out_dir, need, avail);
        }
        return ui_fail(u, e,
                       "the disk is full (writing %s in %s). What arrived is kept, the "
                       "partial file as .pcp-part: free some space and run both commands "
                       "again to resume.",
                       shown, r->out_dir);
    case PCP_ERR_IO:
        if (xo->to_stdout)
            return ui_fail(u, e, "cannot write to standard output (did its reader go away?)");
        return ui_fail(u, e,
                       "cannot write%s%s in %s (disk full or no permission?); completed "
                       "files are kept, the partial one stays as .pcp-part",
                       shown[0] ? " " : "", shown, r->out_dir);
    case PCP_ERR_DIGEST:
    case PCP_ERR_CRYPTO:
    case PCP_ERR_PROTO:
    case PCP_ERR_TOO_BIG:
        if (e == PCP_ERR_TOO_BIG && xo->offer_refused)
            return ui_fail(u, e,
                           "the offer from %s is too large to consider before asking: more "
                           "than 64 MiB of entries and names (about a million files with short "
                           "paths). Refused; nothing was written. Ask the sender to send it in "
                           "parts or as an archive.",
                           r->peer);
        return ui_fail(u, e,
                       "the data from %s did not verify (%s); the transfer was stopped and "
                       "no unverified file was given its final name.",
                       r->peer, pcp_strerror(e));
    case PCP_ERR_PEER:
        return ui_fail(u, e, "the sender stopped with an error: %s", peer_msg);
    case PCP_ERR_TIMEOUT:
        return ui_fail(u, e,
                       "the transfer stalled: nothing arrived for %d s. What arrived is kept "
                       "(the partial file as .pcp-part); run both commands again to resume.",
                       (xo->stall_ms ? xo->stall_ms : XFER_STALL_MS) / 1000);
    default:
        return ui_fail(u, e,
                       "transfer failed: %s. What arrived is kept (the partial file as "
                       ".pcp-part); run both commands again to resume.",
                       pcp_strerror(e));
    }
}
