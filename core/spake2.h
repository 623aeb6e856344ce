/*
 * spake2.h - SPAKE2 over ristretto255 with RFC 9382's transcript, key
 * schedule and explicit key confirmation (pcp/1, see PROTOCOL.md).
 *
 *   A (receiver):  spake2_start -> send pA; recv pB‖cB -> spake2_finish
 *                  -> spake2_verify(cB) -> send cA -> spake2_traffic_keys
 *   B (sender):    recv pA; spake2_start; spake2_finish -> send pB‖cB;
 *                  recv cA -> spake2_verify(cA) -> spake2_traffic_keys
 *
 * A context holds secrets: always end with spake2_clear().
 */
#ifndef PCP_SPAKE2_H
#define PCP_SPAKE2_H

#include <stddef.h>
#include <stdint.h>

#define SPAKE2_SHAREBYTES 32
#define SPAKE2_CONFIRMBYTES 32
#define SPAKE2_KEYBYTES 32
#define SPAKE2_SCALARBYTES 32
#define SPAKE2_AAD_MAX 64

#define SPAKE2_ID_A "pcp/1 receiver"
#define SPAKE2_ID_B "pcp/1 sender"

enum spake2_role { SPAKE2_ROLE_A, SPAKE2_ROLE_B };

struct spake2_ctx {
    enum spake2_role role;
    int state; /* 0 cleared, 1 started, 2 finished, 3 verified */
    uint8_t w[SPAKE2_SCALARBYTES];
    uint8_t x[SPAKE2_SCALARBYTES];
    uint8_t own[SPAKE2_SHAREBYTES];
    uint8_t ke[16];
    uint8_t expect[SPAKE2_CONFIRMBYTES]; /* the peer's confirmation */
    uint8_t aad[SPAKE2_AAD_MAX];
    size_t aadlen;
};

/* The fixed elements M and N: from_hash(SHA-512("pcp/1 SPAKE2 ristretto255 M"|"N")). */
extern const uint8_t spake2_M[32], spake2_N[32];

/* w = scalar_reduce(BLAKE2b-512(pw, personal = "pcp1-spake2-pw")). */
void spake2_password_scalar(const uint8_t *pw, size_t pwlen, uint8_t w[SPAKE2_SCALARBYTES]);

/* Draws the ephemeral scalar and writes our share. */
int spake2_start(struct spake2_ctx *c, enum spake2_role role, const uint8_t *pw, size_t pwlen,
                 const uint8_t *aad, size_t aadlen, uint8_t share[SPAKE2_SHAREBYTES]);
/* The same with w and the ephemeral scalar given (known-answer tests and
 * the cross-check against another implementation). */
int spake2_start_scalars(struct spake2_ctx *c, enum spake2_role role,
                         const uint8_t w[SPAKE2_SCALARBYTES], const uint8_t x[SPAKE2_SCALARBYTES],
                         const uint8_t *aad, size_t aadlen, uint8_t share[SPAKE2_SHAREBYTES]);
/* Takes the peer's share, derives the keys and writes our confirmation.
 * PCP_ERR_CRYPTO for an invalid, identity or reflected share. */
int spake2_finish(struct spake2_ctx *c, const uint8_t peer[SPAKE2_SHAREBYTES],
                  uint8_t confirm[SPAKE2_CONFIRMBYTES]);
/* Constant-time check of the peer's confirmation; PCP_ERR_BAD_CODE if wrong. */
int spake2_verify(struct spake2_ctx *c, const uint8_t confirm[SPAKE2_CONFIRMBYTES]);
/* Traffic keys, only after a successful verify: tx for what this role sends. */
int spake2_traffic_keys(const struct spake2_ctx *c, uint8_t tx[SPAKE2_KEYBYTES],
                        uint8_t rx[SPAKE2_KEYBYTES]);
void spake2_clear(struct spake2_ctx *c);

/* RFC 9382 section 4 on a given transcript TT: Ke‖Ka = SHA-256(TT),
 * KcA‖KcB = HKDF(Ka, info = "ConfirmationKeys"‖aad), cA/cB = HMAC(KcA/KcB, TT).
 * kca/kcb may be NULL. Exposed for the RFC's known answers. */
void spake2_schedule(const uint8_t *tt, size_t ttlen, const uint8_t *aad, size_t aadlen,
                     uint8_t ke[16], uint8_t kca[16], uint8_t kcb[16], uint8_t ca[32],
                     uint8_t cb[32]);
/* Appends len(data) as 8 bytes little-endian, then data; returns the new length. */
size_t spake2_tt_append(uint8_t *tt, size_t off, const uint8_t *data, size_t len);

#endif
