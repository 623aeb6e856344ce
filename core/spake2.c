/*
 * spake2.c - SPAKE2 over ristretto255, see spake2.h and PROTOCOL.md.
 */
#include "spake2.h"

#include <sodium.h>
#include <string.h>

#include "err.h"
#include "kdf.h"

const uint8_t spake2_M[32] = {0x96, 0xf1, 0x1c, 0xef, 0x11, 0x40, 0xd3, 0x57, 0xc6, 0x93, 0x60,
                              0x08, 0xc0, 0xab, 0x5a, 0xf2, 0xbb, 0xe2, 0xae, 0x30, 0x2f, 0x3e,
                              0xbf, 0xb5, 0xa0, 0x9b, 0x97, 0x66, 0xe2, 0x0f, 0x94, 0x5e};
const uint8_t spake2_N[32] = {0xaa, 0x4b, 0xd8, 0xd0, 0xff, 0xc7, 0x9b, 0xcc, 0x50, 0x04, 0x9e,
                              0xce, 0x21, 0x41, 0x65, 0x35, 0x54, 0xe4, 0x76, 0x9a, 0x8f, 0xcf,
                              0xe1, 0x00, 0x7b, 0x81, 0xe7, 0xc2, 0x28, 0xb9, 0x83, 0x55};

/* 6 fields, each an 8-byte length and at most 32 bytes. */
#define TT_MAX (6 * 8 + sizeof(SPAKE2_ID_A) + sizeof(SPAKE2_ID_B) + 4 * 32)

void spake2_password_scalar(const uint8_t *pw, size_t pwlen, uint8_t w[SPAKE2_SCALARBYTES])
{
    static const uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES] = "pcp1-spake2-pw";
    uint8_t h[64];

    crypto_generichash_blake2b_salt_personal(h, sizeof(h), pw, pwlen, NULL, 0, NULL, personal);
    crypto_core_ristretto255_scalar_reduce(w, h);
    sodium_memzero(h, sizeof(h));
}

size_t spake2_tt_append(uint8_t *tt, size_t off, const uint8_t *data, size_t len)
{
    for (int i = 0; i < 8; i++)
        tt[off + (size_t)i] = (uint8_t)((uint64_t)len >> (8 * i));
    if (len)
        memcpy(tt + off + 8, data, len);
    return off + 8 + len;
}

void spake2_schedule(const uint8_t *tt, size_t ttlen, const uint8_t *aad, size_t aadlen,
                     uint8_t ke[16], uint8_t kca[16], uint8_t kcb[16], uint8_t ca[32],
                     uint8_t cb[32])
{
    static const char label[] = "ConfirmationKeys";
    uint8_t h[32], kc[32], info[sizeof(label) - 1 + SPAKE2_AAD_MAX];

    if (aadlen > SPAKE2_AAD_MAX)
        aadlen = SPAKE2_AAD_MAX; /* callers are bounded; keep the copy in range */
    crypto_hash_sha256(h, tt, ttlen);
    memcpy(ke, h, 16);
    memcpy(info, label, sizeof(label) - 1);
    if (aadlen)
        memcpy(info + sizeof(label) - 1, aad, aadlen);
    /* Cannot fail: 32 bytes is well inside HKDF's limit. */
    (void)kdf_hkdf(kc, sizeof(kc), NULL, 0, h + 16, 16, info, sizeof(label) - 1 + aadlen);
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, kc, 16);
    crypto_auth_hmacsha256_update(&st, tt, ttlen);
    crypto_auth_hmacsha256_final(&st, ca);
    crypto_auth_hmacsha256_init(&st, kc + 16, 16);
    crypto_auth_hmacsha256_update(&st, tt, ttlen);
    crypto_auth_hmacsha256_final(&st, cb);
    if (kca)
        memcpy(kca, kc, 16);
    if (kcb)
        memcpy(kcb, kc + 16, 16);
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(h, sizeof(h));
    sodium_memzero(kc, sizeof(kc));
}

int spake2_start_scalars(struct spake2_ctx *c, enum spake2_role role,
                         const uint8_t w[SPAKE2_SCALARBYTES], const uint8_t x[SPAKE2_SCALARBYTES],
                         const uint8_t *aad, size_t aadlen, uint8_t share[SPAKE2_SHAREBYTES])
{
    uint8_t xp[32], wm[32];
    int r = 0;

    memset(c, 0, sizeof(*c));
    if (aadlen > SPAKE2_AAD_MAX)
        return PCP_ERR_INVAL;
    c->role = role;
    memcpy(c->w, w, sizeof(c->w));
    memcpy(c->x, x, sizeof(c->x));
    if (aadlen)
        memcpy(c->aad, aad, aadlen);
    c->aadlen = aadlen;
    /* pA = x·P + w·M, pB = y·P + w·N */
    if (crypto_scalarmult_ristretto255_base(xp, c->x) != 0 ||
        crypto_scalarmult_ristretto255(wm, c->w, role == SPAKE2_ROLE_A ? spake2_M : spake2_N) !=
            0 ||
        crypto_core_ristretto255_add(c->own, xp, wm) != 0) {
        r = PCP_ERR_CRYPTO;
        spake2_clear(c);
    } else {
        memcpy(share, c->own, SPAKE2_SHAREBYTES);
        c->state = 1;
    }
    sodium_memzero(xp, sizeof(xp));
    sodium_memzero(wm, sizeof(wm));
    return r;
}

int spake2_start(struct spake2_ctx *c, enum spake2_role role, const uint8_t *pw, size_t pwlen,
                 const uint8_t *aad, size_t aadlen, uint8_t share[SPAKE2_SHAREBYTES])
{
    uint8_t w[32], x[32];
    int r;

    if (sodium_init() < 0)
        return PCP_ERR_CRYPTO;
    spake2_password_scalar(pw, pwlen, w);
    crypto_core_ristretto255_scalar_random(x);
    r = spake2_start_scalars(c, role, w, x, aad, aadlen, share);
    sodium_memzero(w, sizeof(w));
    sodium_memzero(x, sizeof(x));
    return r;
}

int spake2_finish(struct spake2_ctx *c, const uint8_t peer[SPAKE2_SHAREBYTES],
                  uint8_t confirm[SPAKE2_CONFIRMBYTES])
{
    uint8_t wn[32], t[32], k[32], tt[TT_MAX], ca[32], cb[32];
    const uint8_t *pa, *pb;
    size_t n = 0;
    int r = PCP_ERR_CRYPTO;

    if (c->state != 1)
        return PCP_ERR_INVAL;
    /* A valid, canonical encoding; not the identity; not our own share
     * sent back. libsodium before 1.0.19 ignores bit 255 when it checks
     * that an encoding is canonical, so a share with it set would pass as
     * a second encoding of the same point: refused here first. */
    if ((peer[31] & 0x80) != 0 || !crypto_core_ristretto255_is_valid_point(peer) ||
        sodium_is_zero(peer, 32) || sodium_memcmp(peer, c->own, 32) == 0)
        goto out;
    /* K = x·(peer − w·(N for A, M for B)) */
    if (crypto_scalarmult_ristretto255(wn, c->w, c->role == SPAKE2_ROLE_A ? spake2_N : spake2_M) !=
            0 ||
        crypto_core_ristretto255_sub(t, peer, wn) != 0 ||
        crypto_scalarmult_ristretto255(k, c->x, t) != 0)
        goto out;
    pa = c->role == SPAKE2_ROLE_A ? c->own : peer;
    pb = c->role == SPAKE2_ROLE_A ? peer : c->own;
    n = spake2_tt_append(tt, n, (const uint8_t *)SPAKE2_ID_A, sizeof(SPAKE2_ID_A) - 1);
    n = spake2_tt_append(tt, n, (const uint8_t *)SPAKE2_ID_B, sizeof(SPAKE2_ID_B) - 1);
    n = spake2_tt_append(tt, n, pa, 32);
    n = spake2_tt_append(tt, n, pb, 32);
    n = spake2_tt_append(tt, n, k, 32);
    n = spake2_tt_append(tt, n, c->w, 32);
    spake2_schedule(tt, n, c->aad, c->aadlen, c->ke, NULL, NULL, ca, cb);
    memcpy(confirm, c->role == SPAKE2_ROLE_A ? ca : cb, SPAKE2_CONFIRMBYTES);
    memcpy(c->expect, c->role == SPAKE2_ROLE_A ? cb : ca, SPAKE2_CONFIRMBYTES);
    sodium_memzero(c->x, sizeof(c->x));
    c->state = 2;
    r = 0;
out:
    sodium_memzero(wn, sizeof(wn));
    sodium_memzero(t, sizeof(t));
    sodium_memzero(k, sizeof(k));
    sodium_memzero(tt, sizeof(tt));
    sodium_memzero(ca, sizeof(ca));
    sodium_memzero(cb, sizeof(cb));
    return r;
}

int spake2_verify(struct spake2_ctx *c, const uint8_t confirm[SPAKE2_CONFIRMBYTES])
{
    if (c->state != 2)
        return PCP_ERR_INVAL;
    if (crypto_verify_32(confirm, c->expect) != 0) {
        spake2_clear(c);
        return PCP_ERR_BAD_CODE;
    }
    c->state = 3;
    return 0;
}

int spake2_traffic_keys(const struct spake2_ctx *c, uint8_t tx[SPAKE2_KEYBYTES],
                        uint8_t rx[SPAKE2_KEYBYTES])
{
    static const char r2s[] = "pcp/1 r->s", s2r[] = "pcp/1 s->r";
    uint8_t a[32], b[32];

    if (c->state != 3)
        return PCP_ERR_INVAL;
    (void)kdf_hkdf(a, 32, NULL, 0, c->ke, sizeof(c->ke), (const uint8_t *)r2s, sizeof(r2s) - 1);
    (void)kdf_hkdf(b, 32, NULL, 0, c->ke, sizeof(c->ke), (const uint8_t *)s2r, sizeof(s2r) - 1);
    memcpy(tx, c->role == SPAKE2_ROLE_A ? a : b, 32);
    memcpy(rx, c->role == SPAKE2_ROLE_A ? b : a, 32);
    sodium_memzero(a, sizeof(a));
    sodium_memzero(b, sizeof(b));
    return 0;
}

void spake2_clear(struct spake2_ctx *c)
{
    sodium_memzero(c, sizeof(*c));
}
