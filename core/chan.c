/*
 * chan.c - the control channel of a transfer: the two hellos and the keys
 * bound to them, one sealed message at a time each way, and the ERROR and
 * REFUSE messages. Used by one thread, before and after the pipelines;
 * the pipelines seal and open on the same streams themselves. Never
 * prints, and leaves no key behind (chan_close wipes both streams).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "net.h"
#include "transfer_priv.h"

int chan_send(struct chan *c, const uint8_t *msg, size_t len, int final)
{
    size_t fl;
    int e = stream_seal(&c->tx, msg, len, final, c->buf, &fl);
    return e ? e : net_write_all(c->fd, c->buf, fl);
}

int chan_recv(struct chan *c, size_t *len, int *final)
{
    const uint8_t *f;
    size_t fl;
    int e = frame_read(c->fr, FRAME_MAX, &f, &fl);
    return e ? e : stream_open(&c->rx, f, fl, c->in, len, final);
}

/* Each side sends its hello (header and cipher set), then both use the
 * cipher the two sets pick (a bare 24-byte header: a peer with the
 * secretstream only), under keys bound to both hellos; o->cipher and
 * o->zstd say what was agreed. */
int chan_open(struct chan *c, int fd, struct frame_reader *fr, const uint8_t tx[32],
              const uint8_t rx[32], struct xfer_opts *o)
{
    uint8_t hdr[STREAM_HELLOBYTES];
    uint8_t k[STREAM_KEYBYTES];
    const uint8_t *f;
    size_t fl;
    int e;
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->fr = fr;
    c->buf = malloc(OUT_CAP);
    c->in = malloc(BUF_SIZE);
    if (!c->buf || !c->in)
        return PCP_ERR_NOMEM;
    unsigned mine = stream_ciphers() & (o->ciphers ? o->ciphers : ~0u);
    hdr[STREAM_HEADERBYTES] = (uint8_t)(mine | 1u << STREAM_SECRETSTREAM);
    if (xfer_have_zstd())
        hdr[STREAM_HEADERBYTES] |= XFER_HELLO_ZSTD;
    if ((e = stream_tx_init(&c->tx, tx, hdr)) != 0 || (e = frame_write(fd, hdr, sizeof(hdr))) != 0)
        return e;
    if ((e = frame_read(fr, 64, &f, &fl)) != 0)
        return e;
    if (fl != STREAM_HEADERBYTES && fl != STREAM_HELLOBYTES)
        return PCP_ERR_PROTO;
    unsigned theirs = fl == STREAM_HELLOBYTES ? f[fl - 1] : 1u;
    o->cipher = stream_pick(hdr[STREAM_HEADERBYTES], theirs);
    o->zstd = (hdr[STREAM_HEADERBYTES] & theirs & XFER_HELLO_ZSTD) != 0;
    /* Neither hello was authenticated: both, as sent and as received, go
     * into both directions' keys, so that one changed on the way (to make
     * both ends settle for a weaker cipher, say) leaves the two ends with
     * different keys and the first message fails to open. */
    if ((e = stream_tx_bind(&c->tx, hdr, sizeof(hdr), f, fl)) == 0 &&
        (e = stream_tx_use(&c->tx, o->cipher)) == 0 &&
        (e = stream_hello_key(k, rx, f, fl, hdr, sizeof(hdr))) == 0)
        e = stream_rx_init(&c->rx, o->cipher, k, f);
    /* Whatever failed, and whenever: part of a key may be there. */
    sodium_memzero(k, sizeof(k));
    return e;
}

void chan_close(struct chan *c)
{
    stream_tx_clear(&c->tx);
    stream_rx_clear(&c->rx);
    free(c->buf);
    free(c->in);
    c->buf = c->in = NULL;
}

int chan_send_error(struct chan *c, uint8_t type, int err, const char *text, int final)
{
    uint8_t m[512];
    size_t tl = text ? strlen(text) : 0;
    if (tl > sizeof(m) - XM_ERR_HDR)
        tl = sizeof(m) - XM_ERR_HDR;
    m[0] = type;
    m[1] = (uint8_t)((unsigned)(-err) >> 8);
    m[2] = (uint8_t)(-err);
    if (tl)
        memcpy(m + XM_ERR_HDR, text, tl);
    return chan_send(c, m, XM_ERR_HDR + tl, final);
}

int chan_peer_error(struct xfer_opts *o, const uint8_t *m, size_t len)
{
    if (len < XM_ERR_HDR)
        return PCP_ERR_PROTO;
    int code = -(int)((unsigned)m[1] << 8 | m[2]);
    if (o->peer_msg && o->peer_msg_len) {
        size_t n = len - 3 < o->peer_msg_len - 1 ? len - 3 : o->peer_msg_len - 1;
        for (size_t i = 0; i < n; i++)
            o->peer_msg[i] = m[3 + i] >= 0x20 && m[3 + i] < 0x7f ? (char)m[3 + i] : '?';
        o->peer_msg[n] = '\0';
    }
    return code;
}
