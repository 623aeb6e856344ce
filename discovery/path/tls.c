/*
 * tls.c - https:// relays: TLS (OpenSSL) under a plain descriptor.
 *
 * tls_wrap() makes the TLS connection over a connected TCP socket, then
 * hands back one end of a socketpair and moves bytes between the other end
 * and the TLS connection in a thread of its own. Everything above (the
 * HTTP exchange, the relay pipe, the whole transfer) keeps using a plain
 * descriptor; the thread ends, closing both, once both directions are
 * done or either fails. The certificate must verify against the system's
 * CAs, or the file in PCP_RELAY_CA, and name the relay's host.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "net.h"
#include "sys.h"

#define TLS_BUF 16384

static SSL_CTX *ctx;
static int ctx_err;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void wait_bridges(void);

static void ctx_init(void)
{
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        ctx_err = PCP_ERR_NOMEM;
        return;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* A proxy that closes without close_notify ends the stream; what the
     * stream carries is authenticated end to end anyway. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    const char *ca = getenv("PCP_RELAY_CA");
    if (ca && *ca) {
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
            ctx_err = PCP_ERR_TLS;
    } else {
        SSL_CTX_set_default_verify_paths(ctx);
    }
    atexit(wait_bridges);
}

struct bridge {
    SSL *ssl;
    int net, app;
    uint8_t up[TLS_BUF], down[TLS_BUF]; /* app -> TLS, TLS -> app */
    size_t uplen, downlen;
};

/* Bridges still running, so that the process does not exit (and kill
 * them) before the last bytes its transfer wrote have gone out. */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t live_cv = PTHREAD_COND_INITIALIZER;
static int live, exiting;

#define EXIT_WAIT_MS 3000 /* at most, for the bridges to finish at exit */
#define POLL_MS 200       /* how often an idle bridge looks at `exiting` */

/* After an SSL_read or SSL_write that returned r <= 0: -1 when it waits
 * for the network (*net_in or *net_out set), else SSL_get_error's code. */
static int ssl_wait(SSL *ssl, int r, int *net_in, int *net_out)
{
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        *net_in = 1;
    else if (e == SSL_ERROR_WANT_WRITE)
        *net_out = 1;
    else
        return e;
    return -1;
}

static void *bridge_main(void *arg)
{
    struct bridge *b = arg;
    int app_eof = 0, tls_eof = 0, tls_shut = 0, app_shut = 0;
    for (;;) {
        int progress, net_in = 0, net_out = 0;
        do {
            progress = 0;
            if (!app_eof && b->uplen < sizeof(b->up)) {
                ssize_t n = read(b->app, b->up + b->uplen, sizeof(b->up) - b->uplen);
                if (n > 0) {
                    b->uplen += (size_t)n;
                    progress = 1;
                } else if (n == 0) {
                    app_eof = progress = 1;
                } else if (errno == EAGAIN) {
                    /* At exit, what the application wrote is all there
                     * will ever be. */
                    pthread_mutex_lock(&live_mu);
                    app_eof = progress = exiting;
                    pthread_mutex_unlock(&live_mu);
                } else if (errno != EINTR) {
                    goto done;
                }
            }
            if (b->uplen > 0) {
                int r = SSL_write(b->ssl, b->up, (int)b->uplen);
                if (r > 0) {
                    memmove(b->up, b->up + r, b->uplen - (size_t)r);
                    b->uplen -= (size_t)r;
                    progress = 1;
                } else if (ssl_wait(b->ssl, r, &net_in, &net_out) >= 0) {
                    goto done;
                }
            } else if (app_eof && !tls_shut) {
                SSL_shutdown(b->ssl); /* close_notify: our side is done */
                tls_shut = 1;
            }
            if (!tls_eof && b->downlen < sizeof(b->down)) {
                int r = SSL_read(b->ssl, b->down + b->downlen, (int)(sizeof(b->down) - b->downlen));
                if (r > 0) {
                    b->downlen += (size_t)r;
                    progress = 1;
                } else {
                    int e = ssl_wait(b->ssl, r, &net_in, &net_out);
                    if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
                        tls_eof = progress = 1; /* closed, with or without notify */
                    else if (e >= 0)
                        goto done;
                }
            }
            if (b->downlen > 0) {
                ssize_t n = send(b->app, b->down, b->downlen, SYS_NOSIGNAL);
                if (n > 0) {
                    memmove(b->down, b->down + n, b->downlen - (size_t)n);
                    b->downlen -= (size_t)n;
                    progress = 1;
                } else if (errno == EPIPE || errno == ECONNRESET) {
                    b->downlen = 0; /* the application has gone: drop it */
                    tls_eof = 1;
                } else if (errno != EAGAIN && errno != EINTR) {
                    goto done;
                }
            }
            if (tls_eof && b->downlen == 0 && !app_shut) {
                shutdown(b->app, SHUT_WR);
                app_shut = 1;
            }
            if (tls_eof && app_eof && b->uplen == 0)
                goto done;
        } while (progress);
        if (SSL_pending(b->ssl) > 0 && b->downlen < sizeof(b->down))
            continue;
        struct pollfd p[2] = {
            {.fd = b->app,
             .events = (short)((!app_eof && b->uplen < sizeof(b->up) ? POLLIN : 0) |
                               (b->downlen ? POLLOUT : 0))},
            {.fd = b->net,
             .events = (short)((net_in || (!tls_eof && b->downlen < sizeof(b->down)) ? POLLIN : 0) |
                               (net_out ? POLLOUT : 0))},
        };
        if (poll(p, 2, POLL_MS) < 0 && errno != EINTR)
            goto done;
    }
done:
    SSL_free(b->ssl);
    close(b->net);
    close(b->app);
    free(b);
    /* This thread's OpenSSL state now, not in a destructor that may still
     * be running when the process exits (LeakSanitizer saw it leak). */
    OPENSSL_thread_stop();
    pthread_mutex_lock(&live_mu);
    live--;
    pthread_cond_broadcast(&live_cv);
    pthread_mutex_unlock(&live_mu);
    return NULL;
}

/* At exit: let the bridges send what the application wrote last (a final
 * message, a close) before the process ends, for a few seconds at most. */
static void wait_bridges(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += EXIT_WAIT_MS / 1000;
    pthread_mutex_lock(&live_mu);
    exiting = 1;
    while (live > 0 && pthread_cond_timedwait(&live_cv, &live_mu, &until) == 0)
        ;
    pthread_mutex_unlock(&live_mu);
}

static int handshake(SSL *ssl, int fd, int64_t deadline, const atomic_int *cancel)
{
    for (;;) {
        int r = SSL_connect(ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return SSL_get_verify_result(ssl) != X509_V_OK || e == SSL_ERROR_SSL ? PCP_ERR_TLS
                                                                                 : PCP_ERR_NET;
        for (;;) {
            if (cancel && *cancel)
                return PCP_ERR_CANCELLED;
            int64_t left = deadline - net_now_ms();
            if (left <= 0)
                return PCP_ERR_TIMEOUT;
            struct pollfd p = {.fd = fd, .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
            int n = poll(&p, 1, left > 100 ? 100 : (int)left);
            if (n > 0)
                break;
            if (n < 0 && errno != EINTR)
                return PCP_ERR_NET;
        }
    }
}

int tls_wrap(int fd, const char *host, int timeout_ms, const atomic_int *cancel, int *app_fd)
{
    pthread_once(&ctx_once, ctx_init);
    if (ctx_err)
        return ctx_err;
    SSL *ssl = SSL_new(ctx);
    if (!ssl)
        return PCP_ERR_NOMEM;
    struct in6_addr a6;
    struct in_addr a4;
    int literal = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
    if (literal)
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    else if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1) {
        SSL_free(ssl);
        return PCP_ERR_TLS;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    SSL_set_fd(ssl, fd);
    int e = handshake(ssl, fd, net_now_ms() + timeout_ms, cancel);
    int sv[2] = {-1, -1};
    struct bridge *b = NULL;
    if (!e && sys_socketpair(sv, SYS_CLOEXEC) != 0)
        e = PCP_ERR_NET;
    if (!e && !(b = calloc(1, sizeof(*b))))
        e = PCP_ERR_NOMEM;
    pthread_t t;
    pthread_attr_t attr;
    if (!e) {
        fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
        b->ssl = ssl;
        b->net = fd;
        b->app = sv[1];
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_mutex_lock(&live_mu);
        if (pthread_create(&t, &attr, bridge_main, b) == 0)
            live++;
        else
            e = PCP_ERR_NOMEM;
        pthread_mutex_unlock(&live_mu);
        pthread_attr_destroy(&attr);
    }
    if (e) {
        ERR_clear_error();
        SSL_free(ssl);
        free(b);
        if (sv[0] >= 0) {
            close(sv[0]);
            close(sv[1]);
        }
        return e; /* the caller closes fd */
    }
    *app_fd = sv[0];
    return 0;
}
