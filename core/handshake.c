/*
 * handshake.c - the message flow around spake2.c; see handshake.h. Keys
 * and scalars are wiped on every path out.
 */
#include "handshake.h"

#include <string.h>

#include "err.h"
#include "spake2.h"

#define MAGIC_LEN 4

int handshake_receiver(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                       const char *aad, uint8_t tx[32], uint8_t rx[32])
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
    if ((r = frame_write(fd, m1, sizeof(m1))) != 0)
        goto out;
    if ((r = frame_read(fr, 256, &f, &fl)) != 0)
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
    if ((r = frame_write(fd, conf, sizeof(conf))) != 0)
        goto out;
    r = spake2_traffic_keys(&ctx, tx, rx);
out:
    spake2_clear(&ctx);
    sodium_memzero(conf, sizeof(conf));
    return r;
}

int handshake_sender(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                     const char *aad, uint8_t tx[32], uint8_t rx[32])
{
    struct spake2_ctx ctx;
    uint8_t m2[SPAKE2_SHAREBYTES + SPAKE2_CONFIRMBYTES];
    const uint8_t *f;
    size_t fl;
    int r;

    if ((r = frame_read(fr, 256, &f, &fl)) != 0)
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
    if ((r = frame_write(fd, m2, sizeof(m2))) != 0)
        goto out;
    /* From here the peer holds our proof and can test one guess: whatever
     * happens next counts as an attempt. */
    if ((r = frame_read(fr, 256, &f, &fl)) != 0 || fl != SPAKE2_CONFIRMBYTES) {
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
