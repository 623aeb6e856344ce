/*
 * server.c - the HTTP side of `pcp relay` (libmicrohttpd, one epoll
 * thread): routing, the token, long-poll through suspend/resume, the
 * Upgrade into a pipe, metrics and the status page. The calling thread
 * keeps time: record expiry, long-poll deadlines, reload and drain.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "net.h"
#include "relay_priv.h"
#include "sys.h"

struct relay {
    struct MHD_Daemon *d;
    struct rv_store *store;
    struct pump *pump;
    struct ipcap *cap;
    struct relay_stats st;
    pthread_mutex_t mu; /* cfg and the waiters */
    struct relay_config cfg;
    struct conn *waiters;
    const struct relay_hooks *hooks;
    _Atomic int stopping;
};

/* Per-request state (MHD's con_cls). */
struct conn {
    struct relay *rl;
    struct MHD_Connection *mc;
    uint8_t body[RV_RECORD_MAX];
    size_t body_len;
    int too_big;
    uint64_t deadline_ms;
    char key[RV_KEY_HEX + 1];
    int waiting; /* in rl->waiters, suspended */
    struct conn *wnext;
    int reserved;
    uint64_t serial; /* the pairing reserved in */
    char room[RV_ROOM_HEX + 1];
    uint8_t ip[16]; /* ip_key: the share this connection's rooms count against */
};

static void logf_(struct relay *rl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct relay *rl, const char *fmt, ...)
{
    if (!rl->hooks->log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    rl->hooks->log(rl->hooks->ud, line);
}

static enum MHD_Result respond(struct MHD_Connection *mc, unsigned status, const void *body,
                               size_t len, const char *type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    if (type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ret = MHD_queue_response(mc, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *mc, unsigned status, const char *text)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "%s\n", text);
    return respond(mc, status, buf, (size_t)n, "text/plain; charset=utf-8");
}

/* Authorization: Bearer TOKEN, compared in constant time (hashes of equal
 * length, so that the token's length does not leak either). */
static int token_ok(struct relay *rl, struct MHD_Connection *mc)
{
    pthread_mutex_lock(&rl->mu);
    int open = rl->cfg.token[0] == 0;
    uint8_t want[32], got[32];
    crypto_generichash(want, sizeof(want), (const uint8_t *)rl->cfg.token, strlen(rl->cfg.token),
                       NULL, 0);
    pthread_mutex_unlock(&rl->mu);
    if (open)
        return 1;
    const char *h = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const size_t skip = RVP_LEN(RVP_AUTH_BEARER);
    if (!h || strncmp(h, RVP_AUTH_BEARER, skip) != 0) {
        sodium_memzero(want, sizeof(want));
        return 0;
    }
    crypto_generichash(got, sizeof(got), (const uint8_t *)h + skip, strlen(h + skip), NULL, 0);
    int ok = sodium_memcmp(want, got, sizeof(want)) == 0;
    sodium_memzero(want, sizeof(want));
    sodium_memzero(got, sizeof(got));
    return ok;
}

static void waiter_remove(struct relay *rl, struct conn *c)
{
    for (struct conn **pp = &rl->waiters; *pp; pp = &(*pp)->wnext) {
        if (*pp == c) {
            *pp = c->wnext;
            c->waiting = 0;
            return;
        }
    }
}

/* Resume the long-polls on key (NULL: those past their deadline, or all
 * when stopping). */
static void wake(struct relay *rl, const char *key, uint64_t now)
{
    pthread_mutex_lock(&rl->mu);
    for (struct conn **pp = &rl->waiters; *pp;) {
        struct conn *c = *pp;
        int go =
            key ? strcmp(c->key, key) == 0 : atomic_load(&rl->stopping) || c->deadline_ms <= now;
        if (go) {
            *pp = c->wnext;
            c->waiting = 0;
            MHD_resume_connection(c->mc);
        } else {
            pp = &c->wnext;
        }
    }
    pthread_mutex_unlock(&rl->mu);
}

static enum MHD_Result handle_rv(struct relay *rl, struct conn *c, const char *method,
                                 const char *url)
{
    struct rv_req rq = {0};
    struct rv_resp *rs = malloc(sizeof(*rs));
    if (!rs)
        return MHD_NO;
    /* Draining: no new sender waits here; it goes to the next relay of
     * its list (and its receivers look there too). */
    if (!strcmp(method, "PUT") && atomic_load(&rl->stopping)) {
        free(rs);
        atomic_fetch_add(&rl->st.refused_draining, 1);
        return respond_text(c->mc, 503, "draining: try the next relay");
    }
    rq.method = !strcmp(method, "GET")      ? RV_M_GET
                : !strcmp(method, "PUT")    ? RV_M_PUT
                : !strcmp(method, "DELETE") ? RV_M_DELETE
                : !strcmp(method, "POST")   ? RV_M_POST
                                            : RV_M_OTHER;
    rq.path = url;
    rq.owner = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, RVP_HDR_OWNER);
    rq.wait = MHD_lookup_connection_value(c->mc, MHD_GET_ARGUMENT_KIND, RVP_Q_WAIT);
    rq.all = MHD_lookup_connection_value(c->mc, MHD_GET_ARGUMENT_KIND, RVP_Q_ALL);
    rq.side = MHD_lookup_connection_value(c->mc, MHD_GET_ARGUMENT_KIND, RVP_Q_SIDE);
    rq.rtt = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, RVP_HDR_RTT);
    rq.body = c->body;
    rq.body_len = c->body_len;
    rq.body_too_big = c->too_big;
    memcpy(rq.ip, c->ip, 16);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    struct sockaddr_storage ss = {0};
    if (ci && ci->client_addr)
        memcpy(&ss, ci->client_addr,
               ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                      : sizeof(struct sockaddr_in));
    net_addr_str(&ss, 1, rq.observed, sizeof(rq.observed));
    rq.now_ms = relay_now_ms();
    rq.deadline_ms = c->deadline_ms;
    pthread_mutex_lock(&rl->mu);
    struct relay_limits lim = rl->cfg.lim;
    pthread_mutex_unlock(&rl->mu);
    rv_handle(rl->store, &lim, &rq, rs);
    enum MHD_Result ret = MHD_YES;
    if (rs->wait && !atomic_load(&rl->stopping)) {
        c->deadline_ms = rs->deadline_ms;
        memcpy(c->key, rs->key, sizeof(c->key));
        pthread_mutex_lock(&rl->mu);
        MHD_suspend_connection(c->mc);
        c->waiting = 1;
        c->wnext = rl->waiters;
        rl->waiters = c;
        pthread_mutex_unlock(&rl->mu);
    } else if (rs->wait) {
        ret = respond_text(c->mc, 503, "the relay is shutting down");
    } else {
        struct MHD_Response *r =
            MHD_create_response_from_buffer(rs->body_len, rs->body, MHD_RESPMEM_MUST_COPY);
        if (!r) {
            free(rs);
            return MHD_NO;
        }
        if (rs->content_type)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
        MHD_add_response_header(r, RVP_HDR_OBSERVED, rq.observed);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        ret = MHD_queue_response(c->mc, (unsigned)rs->status, r);
        MHD_destroy_response(r);
        if (rs->stored)
            wake(rl, rs->key, 0);
    }
    free(rs);
    return ret;
}

static void on_upgraded(void *cls, struct MHD_Connection *mc, void *con_cls, const char *extra_in,
                        size_t extra_in_size, MHD_socket sock,
                        struct MHD_UpgradeResponseHandle *urh)
{
    struct relay *rl = cls;
    struct conn *c = con_cls;
    (void)mc;
    (void)extra_in;
    c->reserved = 0;
    if (extra_in_size > 0) {
        /* The client spoke before the 101: not our protocol. */
        atomic_fetch_add(&rl->st.refused_bad, 1);
        pump_unreserve(rl->pump, c->room, c->serial, c->ip);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    pump_attach(rl->pump, c->room, c->serial, c->ip, sock, urh);
}

static void close_upgraded(void *handle)
{
    MHD_upgrade_action(handle, MHD_UPGRADE_ACTION_CLOSE);
}

static int header_has(struct MHD_Connection *mc, const char *name, const char *token)
{
    const char *v = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, name);
    if (!v)
        return 0;
    size_t n = strlen(token);
    for (const char *p = v; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == n && strncasecmp(p, token, n) == 0)
            return 1;
        p = e;
    }
    return 0;
}

static enum MHD_Result handle_pipe(struct relay *rl, struct conn *c, const char *method,
                                   const char *room)
{
    if (strcmp(method, "GET") != 0)
        return respond_text(c->mc, 405, "a pipe is opened with GET");
    if (!header_has(c->mc, "Upgrade", RVP_UPGRADE) || !header_has(c->mc, "Connection", "upgrade"))
        return respond_text(c->mc, 426,
                            "a pipe needs Connection: Upgrade and Upgrade: " RVP_UPGRADE);
    if (!rvp_is_hex(room, RV_ROOM_HEX)) {
        atomic_fetch_add(&rl->st.refused_bad, 1);
        return respond_text(c->mc, 404, "a room is 32 lowercase hex digits");
    }
    int why;
    int e = pump_reserve(rl->pump, room, c->ip, &why, &c->serial);
    if (e == PCP_ERR_RELAY_BUSY) {
        atomic_fetch_add(&rl->st.refused_full, 1);
        return respond_text(c->mc, 409,
                            "this room is busy (a pairing under way, or as many "
                            "pairs as it may have); try again");
    }
    if (e) {
        atomic_fetch_add(
            atomic_load(&rl->stopping) ? &rl->st.refused_draining : &rl->st.refused_limit, 1);
        return why == 2 ? respond_text(c->mc, 429, "too many rooms from your address")
               : atomic_load(&rl->stopping)
                   ? respond_text(c->mc, 503, "the relay is shutting down")
                   : respond_text(c->mc, 503, "the relay has as many rooms as it may; try later");
    }
    memcpy(c->room, room, sizeof(c->room));
    c->reserved = 1;
    struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgraded, rl);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, RVP_UPGRADE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
    enum MHD_Result ret = MHD_queue_response(c->mc, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    MHD_destroy_response(r);
    return ret;
}

static size_t conns_now(struct relay *rl)
{
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(rl->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return di ? di->num_connections : 0;
}

static enum MHD_Result handle_page(struct relay *rl, struct conn *c, const char *url)
{
    char *buf = malloc(16384);
    if (!buf)
        return MHD_NO;
    enum MHD_Result ret;
    if (!strcmp(url, "/healthz")) {
        ret = atomic_load(&rl->stopping) ? respond_text(c->mc, 503, "draining")
                                         : respond_text(c->mc, 200, "ok");
    } else if (!strcmp(url, "/metrics")) {
        size_t n = relay_metrics(&rl->st, pump_rooms(rl->pump), conns_now(rl),
                                 atomic_load(&rl->stopping), buf, 16384);
        ret = respond(c->mc, 200, buf, n, "text/plain; version=0.0.4; charset=utf-8");
    } else {
        size_t n = relay_status_html(&rl->st, pump_rooms(rl->pump), buf, 16384);
        ret = respond(c->mc, 200, buf, n, "text/html; charset=utf-8");
    }
    free(buf);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct relay *rl = cls;
    struct conn *c = *con_cls;
    (void)version;
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c)
            return MHD_NO;
        c->rl = rl;
        c->mc = mc;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        pthread_mutex_lock(&rl->mu);
        unsigned v6_prefix = rl->cfg.lim.ipv6_prefix;
        pthread_mutex_unlock(&rl->mu);
        /* Taken once: the shares this connection takes it gives back
         * under the same key, even if a reload changes the prefix. */
        ip_key(ci ? ci->client_addr : NULL, v6_prefix, c->ip);
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (c->body_len + n > sizeof(c->body))
            c->too_big = 1;
        else
            memcpy(c->body + c->body_len, upload_data, n);
        if (!c->too_big)
            c->body_len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!strcmp(url, "/") || !strcmp(url, "/healthz") || !strcmp(url, "/metrics")) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
            return respond_text(mc, 405, "use GET");
        return handle_page(rl, c, url);
    }
    if (strncmp(url, RVP_PATH_API, RVP_LEN(RVP_PATH_API)) != 0) {
        atomic_fetch_add(&rl->st.refused_bad, 1);
        return respond_text(mc, 404, "not a pcp relay path");
    }
    if (!token_ok(rl, mc)) {
        atomic_fetch_add(&rl->st.refused_auth, 1);
        return respond_text(mc, 401, "this relay needs a token: --relay-token or PCP_RELAY_TOKEN");
    }
    if (!strncmp(url, RVP_PATH_PIPE, RVP_LEN(RVP_PATH_PIPE)))
        return handle_pipe(rl, c, method, url + RVP_LEN(RVP_PATH_PIPE));
    return handle_rv(rl, c, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct relay *rl = cls;
    struct conn *c = *con_cls;
    (void)mc;
    (void)toe;
    if (!c)
        return;
    if (c->reserved)
        pump_unreserve(rl->pump, c->room, c->serial, c->ip);
    if (c->waiting) {
        pthread_mutex_lock(&rl->mu);
        waiter_remove(rl, c);
        pthread_mutex_unlock(&rl->mu);
    }
    free(c);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct relay *rl = cls;
    if (!rl->hooks->log)
        return;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    rl->hooks->log(rl->hooks->ud, line);
}

/* "PORT", "ADDR:PORT" or "[V6]:PORT". */
static int parse_listen(const char *s, struct sockaddr_storage *ss, int *dual)
{
    memset(ss, 0, sizeof(*ss));
    char host[128] = "";
    const char *port = s;
    *dual = 0;
    if (s[0] == '[') {
        const char *e = strchr(s, ']');
        if (!e || e[1] != ':' || (size_t)(e - s - 1) >= sizeof(host))
            return -1;
        memcpy(host, s + 1, (size_t)(e - s - 1));
        port = e + 2;
    } else if (strchr(s, ':')) {
        const char *e = strrchr(s, ':');
        if ((size_t)(e - s) >= sizeof(host))
            return -1;
        memcpy(host, s, (size_t)(e - s));
        port = e + 1;
    }
    uint64_t p;
    if (rvp_dec(port, strlen(port), strlen(port), 65535, &p) != 0)
        return -1;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    if (!host[0]) {
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_any;
        a6->sin6_port = htons((uint16_t)p);
        *dual = 1;
    } else if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)p);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)p);
    } else {
        return -1;
    }
    return 0;
}

static void apply_config(struct relay *rl, const struct relay_config *c)
{
    pthread_mutex_lock(&rl->mu);
    rl->cfg = *c;
    pthread_mutex_unlock(&rl->mu);
    pump_set_limits(rl->pump, &c->lim);
}

int relay_run(const struct relay_config *cfg, const struct relay_hooks *hooks)
{
    struct relay *rl = calloc(1, sizeof(*rl));
    struct sockaddr_storage ss;
    int dual, rc = 0;
    pthread_t pump_thread;
    if (!rl)
        return PCP_ERR_NOMEM;
    if (parse_listen(cfg->listen, &ss, &dual) != 0) {
        free(rl);
        return PCP_ERR_INVAL;
    }
    pthread_mutex_init(&rl->mu, NULL);
    rl->hooks = hooks;
    rl->st.start_ms = relay_now_ms();
    rl->cap = ipcap_new();
    rl->store = rl->cap ? rv_store_new(rl->cap, &rl->st) : NULL;
    rl->pump = rl->cap ? pump_new(&rl->st, rl->cap, close_upgraded) : NULL;
    if (!rl->store || !rl->pump) {
        rc = PCP_ERR_NOMEM;
        goto out;
    }
    apply_config(rl, cfg);
    /* epoll on Linux; elsewhere poll (libmicrohttpd has no kqueue), which
     * the portable build runs on Linux too. */
    unsigned flags = (SYS_LINUX ? MHD_USE_EPOLL_INTERNAL_THREAD : MHD_USE_POLL_INTERNAL_THREAD) |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG |
                     (dual ? MHD_USE_DUAL_STACK : 0) |
                     (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    rl->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, rl, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, rl,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, rl,
        MHD_OPTION_CONNECTION_LIMIT, cfg->lim.max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        cfg->lim.per_ip_conns, MHD_OPTION_CONNECTION_TIMEOUT, cfg->lim.request_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->lim.conn_memory, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        1024u, MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
    if (!rl->d) {
        rc = PCP_ERR_NET;
        goto out;
    }
    if (pthread_create(&pump_thread, NULL, pump_main, rl->pump) != 0) {
        rc = PCP_ERR_NOMEM;
        MHD_stop_daemon(rl->d);
        goto out;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(rl->d, MHD_DAEMON_INFO_BIND_PORT);
    logf_(rl, "listening on %s (port %u)%s", cfg->listen, di ? di->port : 0,
          cfg->token[0] ? ", token required" : "");
    if (hooks->ready)
        hooks->ready(hooks->ud, di ? di->port : 0);

    while (!*hooks->stop) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        uint64_t now = relay_now_ms();
        rv_store_sweep(rl->store, now);
        wake(rl, NULL, now);
        if (hooks->reload && *hooks->reload) {
            *hooks->reload = 0;
            struct relay_config nc;
            if (hooks->reload_config && hooks->reload_config(hooks->ud, &nc) == 0) {
                apply_config(rl, &nc);
                logf_(rl, "configuration reloaded%s", nc.token[0] ? " (token required)" : "");
            } else {
                logf_(rl, "configuration not reloaded: the old one stays");
            }
        }
    }
    /* Drain: no new records, rooms or long-polls (503, so that clients
     * move to the next relay of their list), /healthz 503 and /metrics
     * saying so, long-polls answered; open pipes get drain_s to finish. */
    atomic_store(&rl->stopping, 1);
    wake(rl, NULL, relay_now_ms());
    logf_(rl, "draining: %zu room(s) open, up to %u s", pump_rooms(rl->pump), cfg->drain_s);
    pump_stop(rl->pump, cfg->drain_s * 1000u);
    pthread_join(pump_thread, NULL);
    wake(rl, NULL, relay_now_ms());
    MHD_stop_daemon(rl->d);
    logf_(rl, "stopped; %llu byte(s) relayed",
          (unsigned long long)atomic_load(&rl->st.bytes_relayed));
out:
    pump_free(rl->pump);
    rv_store_free(rl->store);
    ipcap_free(rl->cap);
    pthread_mutex_destroy(&rl->mu);
    sodium_memzero(rl->cfg.token, sizeof(rl->cfg.token));
    free(rl);
    return rc;
}
