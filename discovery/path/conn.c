/*
 * conn.c - what the sender and the receiver share in discovery/path/: the
 * proven connection's end, the default operations (dialling a candidate,
 * the punch upgrade after a relayed handshake) and the event hook. It
 * prints nothing and never exits.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "net.h"
#include "path_priv.h"
#include "punch.h"

void path_conn_init(struct path_conn *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->fr.fd = -1;
}

void path_conn_close(struct path_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    frame_reader_free(&c->fr);
    sodium_memzero(c->tx, sizeof(c->tx));
    sodium_memzero(c->rx, sizeof(c->rx));
    path_keep_free(c->keep);
    c->keep = NULL;
}

void *path_keep_new(void)
{
    struct punch_prep *p = calloc(1, sizeof(*p));
    if (p)
        p->lfd = -1;
    return p;
}

void path_keep_free(void *keep)
{
    if (!keep)
        return;
    punch_prep_end(keep);
    free(keep);
}

void path_emit(const struct path_cfg *cfg, const struct path_event *ev)
{
    if (cfg->event)
        cfg->event(cfg->ud, ev);
}

static int real_dial(const struct path_cfg *cfg, const struct path_cand *c, int timeout_ms, int *fd,
                     struct sockaddr_storage *peer)
{
    if (c->via == PATH_VIA_RELAY) {
        const struct rv_client *r = c->relay ? c->relay : cfg->relay;
        return r ? rv_pipe(r, c->room, timeout_ms, fd) : PCP_ERR_INVAL;
    }
    return net_connect_race(c->addr, c->naddr, 0, 250, timeout_ms, NULL, fd, peer);
}

/* The other side may now lead us to a direct connection: the receiver
 * decides (unless told to stay on the relay), the sender follows. */
static int real_upgrade(const struct path_cfg *cfg, struct path_conn *c, int receiver)
{
    struct punch_result pr = {.attempts = 0};
    struct punch_prep none = {.lfd = -1};
    struct punch_params pp = {.relay = c->relay ? c->relay : cfg->relay,
                              .receiver = receiver,
                              .try_direct = receiver && !cfg->relay_only,
                              .tx = c->tx,
                              .rx = c->rx,
                              .relay_fd = c->fd,
                              .relay_fr = &c->fr,
                              .prep = c->keep ? c->keep : &none};
    int e = punch_upgrade(&pp, &pr);
    if (pr.fd != c->fd && pr.fd >= 0) {
        c->peer = pr.peer;
        net_addr_str(&pr.peer, 1, c->who, sizeof(c->who));
    } else {
        char shown[300];
        rv_shown(pp.relay, shown, sizeof(shown));
        snprintf(c->who, sizeof(c->who), "relay %s", shown);
    }
    c->fd = pr.fd;
    c->attempts = pr.attempts;
    c->punch_ms = pr.ms;
    c->portmap = pr.portmap;
    if (e == 0)
        c->path = pr.path;
    return e;
}

void path_ops_resolve(const struct path_cfg *cfg, struct path_ops *ops)
{
    if (cfg->ops)
        *ops = *cfg->ops;
    else
        memset(ops, 0, sizeof(*ops));
    if (!ops->mdns)
        ops->mdns = path_look_mdns;
    if (!ops->dht)
        ops->dht = path_look_dht;
    if (!ops->relay)
        ops->relay = path_look_relay;
    if (!ops->dial)
        ops->dial = real_dial;
    if (!ops->upgrade)
        ops->upgrade = real_upgrade;
}
