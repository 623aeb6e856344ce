/*
 * stream.c - frames and sealed messages; see stream.h. Lengths read from
 * the wire are checked against the caller's maximum before use.
 */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "err.h"
#include "net.h"

#define READER_CAP (FRAME_PREFIX + FRAME_MAX + 64u * 1024u)

int frame_reader_init(struct frame_reader *fr, int fd)
{
    memset(fr, 0, sizeof(*fr));
    fr->fd = fd;
    fr->cap = READER_CAP;
    fr->buf = malloc(fr->cap);
    return fr->buf ? 0 : PCP_ERR_NOMEM;
}

void frame_reader_free(struct frame_reader *fr)
{
    free(fr->buf);
    fr->buf = NULL;
}

/* Make at least `need` bytes available from start; returns 0, or an error
 * with `partial` telling whether some bytes had arrived. */
static int fill(struct frame_reader *fr, size_t need)
{
    if (fr->end - fr->start >= need)
        return 0;
    if (fr->start > 0) {
        memmove(fr->buf, fr->buf + fr->start, fr->end - fr->start);
        fr->end -= fr->start;
        fr->start = 0;
    }
    while (fr->end < need) {
        ssize_t r = recv(fr->fd, fr->buf + fr->end, fr->cap - fr->end, 0);
        if (r == 0)
            return fr->end == 0 ? PCP_ERR_CLOSED : PCP_ERR_TRUNCATED;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return PCP_ERR_TIMEOUT;
            return errno == ECONNRESET ? PCP_ERR_CLOSED : PCP_ERR_NET;
        }
        fr->end += (size_t)r;
    }
    return 0;
}

int frame_read(struct frame_reader *fr, size_t max, const uint8_t **frame, size_t *len)
{
    int e = fill(fr, FRAME_PREFIX);
    if (e)
        return e;
    uint32_t n = get_be32(fr->buf + fr->start);
    if (n > max || n > FRAME_MAX)
        return PCP_ERR_TOO_BIG;
    e = fill(fr, FRAME_PREFIX + n);
    if (e)
        return e == PCP_ERR_CLOSED ? PCP_ERR_TRUNCATED : e;
    *frame = fr->buf + fr->start + FRAME_PREFIX;
    *len = n;
    fr->start += FRAME_PREFIX + n;
    return 0;
}

int frame_write(int fd, const void *p, size_t n)
{
    if (n > FRAME_MAX)
        return PCP_ERR_TOO_BIG;
    uint8_t pre[FRAME_PREFIX];
    put_be32(pre, (uint32_t)n);
    struct iovec iov[2] = {{pre, sizeof(pre)}, {(void *)p, n}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t w;
    do
        w = sendmsg(fd, &mh, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return errno == EPIPE || errno == ECONNRESET ? PCP_ERR_CLOSED : PCP_ERR_NET;
    size_t done = (size_t)w;
    if (done < sizeof(pre)) {
        int e = net_write_all(fd, pre + done, sizeof(pre) - done);
        if (e)
            return e;
        done = sizeof(pre);
    }
    done -= sizeof(pre);
    return done < n ? net_write_all(fd, (const uint8_t *)p + done, n - done) : 0;
}

int stream_tx_init(struct stream_tx *tx, const uint8_t key[STREAM_KEYBYTES],
                   uint8_t header[STREAM_HEADERBYTES])
{
    tx->finished = 0;
    return crypto_secretstream_xchacha20poly1305_init_push(&tx->st, header, key) == 0
               ? 0
               : PCP_ERR_CRYPTO;
}

int stream_rx_init(struct stream_rx *rx, const uint8_t key[STREAM_KEYBYTES],
                   const uint8_t header[STREAM_HEADERBYTES])
{
    rx->finished = 0;
    return crypto_secretstream_xchacha20poly1305_init_pull(&rx->st, header, key) == 0
               ? 0
               : PCP_ERR_CRYPTO;
}

int stream_seal(struct stream_tx *tx, const uint8_t *msg, size_t len, int final, uint8_t *out,
                size_t *outlen)
{
    if (tx->finished || len > STREAM_MSG_MAX)
        return PCP_ERR_INVAL;
    unsigned long long clen = 0;
    uint8_t tag = final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                        : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    if (crypto_secretstream_xchacha20poly1305_push(&tx->st, out + FRAME_PREFIX, &clen, msg, len,
                                                   NULL, 0, tag) != 0)
        return PCP_ERR_CRYPTO;
    put_be32(out, (uint32_t)clen);
    *outlen = FRAME_PREFIX + (size_t)clen;
    tx->finished = final;
    return 0;
}

int stream_open(struct stream_rx *rx, const uint8_t *frame, size_t len, uint8_t *out,
                size_t *outlen, int *final)
{
    if (rx->finished)
        return PCP_ERR_PROTO;
    if (len < STREAM_ABYTES)
        return PCP_ERR_TRUNCATED;
    unsigned long long mlen = 0;
    uint8_t tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&rx->st, out, &mlen, &tag, frame, len, NULL,
                                                   0) != 0)
        return PCP_ERR_CRYPTO;
    if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
        tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)
        return PCP_ERR_PROTO;
    rx->finished = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    *final = rx->finished;
    *outlen = (size_t)mlen;
    return 0;
}

void stream_tx_clear(struct stream_tx *tx)
{
    sodium_memzero(tx, sizeof(*tx));
}

void stream_rx_clear(struct stream_rx *rx)
{
    sodium_memzero(rx, sizeof(*rx));
}
