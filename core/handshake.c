/*
 * handshake.c - the message flow around spake2.c; see handshake.h. Keys
 * and scalars are wiped on every path out.
 */
#include "handshake.h"

#include <poll.h>
#include <string.h>

#include "err.h"
#include "net.h"
#include "spake2.h"

#define MAGIC_LEN 4

/* One frame by the deadline. On the non-blocking socket frame_read gives
 * PCP_ERR_TIMEOUT when the bytes so far are not a whole frame; it keeps
 * them, so we wait for more and ask again. */
static int read_by(struct frame_reader *fr, int64_t deadline, const uint8_t **f, size_t *fl)
{
    for (;;) {
        int e = frame_read(fr, 256, f, fl);
        if (e != PCP_ERR_TIMEOUT)
            return e;
        if ((e = net_wait_by(fr->fd, POLLIN, deadline)) != 0)
            return e;
    }
}

/* Handshake messages are under 70 bytes: once the socket is writable one
 * send takes the whole frame. */
static int write_by(int fd, const void *p, size_t n, int64_t deadline)
{
    int e = net_wait_by(fd, POLLOUT, deadline);
    return e ? e : frame_write(fd, p, n);
}

static int receiver(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                    const char *aad, int64_t deadline, uint8_t tx[32], uint8_t rx[32])
{
    struct spake2_ctx ctx;
    uint8_t m1[MAGIC_LEN + SPAKE2_SHAREBYTES], conf[SPAKE2_CONFIRMBYTES];
    const uint8_t *f;
    size_t fl;
    int r;

    memcpy(m1, HANDSHAKE_MAGIC, MAGIC_LEN);
    if ((r = spake2_start(&ctx, SPAKE2_ROLE_A, pw, pwlen, (const uint8_t *)aad, strlen(aad),
                          m1 + MAGIC_LEN)) != 0)
        goto out;
    if ((r = write_by(fd, m1, sizeof(m1), deadline)) != 0)
        goto out;
    if ((r = read_by(fr, deadline, &f, &fl)) != 0)
        goto out;
    if (fl != SPAKE2_SHAREBYTES + SPAKE2_CONFIRMBYTES) {
        r = PCP_ERR_PROTO;
        goto out;
    }
    if ((r = spake2_finish(&ctx, f, conf)) != 0)
        goto out;
    /* Check the sender's proof before sending ours: a wrong code learns
     * nothing more than that it was wrong. */
    if ((r = spake2_verify(&ctx, f + SPAKE2_SHAREBYTES)) != 0)
        goto out;
    if ((r = write_by(fd, conf, sizeof(conf), deadline)) != 0)
        goto out;
    r = spake2_traffic_keys(&ctx, tx, rx);
out:
    spake2_clear(&ctx);
    sodium_memzero(conf, sizeof(conf));
    return r;
}

static int sender(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen, const char *aad,
                  int64_t deadline, uint8_t tx[32], uint8_t rx[32])
{
    struct spake2_ctx ctx;
    uint8_t m2[SPAKE2_SHAREBYTES + SPAKE2_CONFIRMBYTES];
    const uint8_t *f;
    size_t fl;
    int r;

    if ((r = read_by(fr, deadline, &f, &fl)) != 0)
        goto out_early;
    if (fl != MAGIC_LEN + SPAKE2_SHAREBYTES || memcmp(f, HANDSHAKE_MAGIC, MAGIC_LEN) != 0) {
        r = PCP_ERR_PROTO;
        goto out_early;
    }
    if ((r = spake2_start(&ctx, SPAKE2_ROLE_B, pw, pwlen, (const uint8_t *)aad, strlen(aad), m2)) !=
        0)
        goto out;
    if ((r = spake2_finish(&ctx, f + MAGIC_LEN, m2 + SPAKE2_SHAREBYTES)) != 0)
        goto out;
    if ((r = write_by(fd, m2, sizeof(m2), deadline)) != 0)
        goto out;
    /* From here the peer holds our proof and can test one guess: whatever
     * happens next, the deadline included, counts as an attempt. */
    if ((r = read_by(fr, deadline, &f, &fl)) != 0 || fl != SPAKE2_CONFIRMBYTES) {
        r = PCP_ERR_BAD_CODE;
        goto out;
    }
    if ((r = spake2_verify(&ctx, f)) != 0)
        goto out;
    r = spake2_traffic_keys(&ctx, tx, rx);
out:
    spake2_clear(&ctx);
    sodium_memzero(m2, sizeof(m2));
    return r;
out_early:
    return r;
}

typedef int (*side_fn)(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                       const char *aad, int64_t deadline, uint8_t tx[32], uint8_t rx[32]);

/* Non-blocking for the handshake only: the transfer after it relies on
 * blocking sockets with SO_RCVTIMEO. */
static int run_by(side_fn side, int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                  const char *aad, int64_t deadline_ms, uint8_t tx[32], uint8_t rx[32])
{
    int was, r = net_set_nonblock(fd, 1, &was);
    if (r != 0)
        return r;
    r = side(fd, fr, pw, pwlen, aad, deadline_ms, tx, rx);
    if (net_set_nonblock(fd, was, NULL) != 0 && r == 0) {
        sodium_memzero(tx, 32);
        sodium_memzero(rx, 32);
        r = PCP_ERR_NET;
    }
    return r;
}

int handshake_receiver_by(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                          const char *aad, int64_t deadline_ms, uint8_t tx[32], uint8_t rx[32])
{
    return run_by(receiver, fd, fr, pw, pwlen, aad, deadline_ms, tx, rx);
}

int handshake_sender_by(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                        const char *aad, int64_t deadline_ms, uint8_t tx[32], uint8_t rx[32])
{
    return run_by(sender, fd, fr, pw, pwlen, aad, deadline_ms, tx, rx);
}

int handshake_receiver(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                       const char *aad, uint8_t tx[32], uint8_t rx[32])
{
    return handshake_receiver_by(fd, fr, pw, pwlen, aad, net_now_ms() + HANDSHAKE_RECEIVER_MS, tx,
                                 rx);
}

int handshake_sender(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                     const char *aad, uint8_t tx[32], uint8_t rx[32])
{
    return handshake_sender_by(fd, fr, pw, pwlen, aad, net_now_ms() + HANDSHAKE_SENDER_MS, tx, rx);
}
