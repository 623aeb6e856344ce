/*
 * kdf.c - HKDF-SHA256, see kdf.h.
 */
#include "kdf.h"

#include <sodium.h>
#include <string.h>

#include "err.h"

void kdf_hkdf_extract(uint8_t prk[KDF_SHA256_BYTES], const uint8_t *salt, size_t saltlen,
                      const uint8_t *ikm, size_t ikmlen)
{
    static const uint8_t zero[KDF_SHA256_BYTES];
    crypto_auth_hmacsha256_state st;

    if (saltlen == 0) {
        salt = zero;
        saltlen = sizeof(zero);
    }
    crypto_auth_hmacsha256_init(&st, salt, saltlen);
    crypto_auth_hmacsha256_update(&st, ikm, ikmlen);
    crypto_auth_hmacsha256_final(&st, prk);
    sodium_memzero(&st, sizeof(st));
}

int kdf_hkdf_expand(uint8_t *out, size_t outlen, const uint8_t prk[KDF_SHA256_BYTES],
                    const uint8_t *info, size_t infolen)
{
    crypto_auth_hmacsha256_state st;
    uint8_t t[KDF_SHA256_BYTES];
    size_t done = 0, tlen = 0;
    uint8_t counter = 0;

    if (outlen > 255 * KDF_SHA256_BYTES)
        return PCP_ERR_INVAL;
    while (done < outlen) {
        counter++;
        crypto_auth_hmacsha256_init(&st, prk, KDF_SHA256_BYTES);
        crypto_auth_hmacsha256_update(&st, t, tlen);
        crypto_auth_hmacsha256_update(&st, info, infolen);
        crypto_auth_hmacsha256_update(&st, &counter, 1);
        crypto_auth_hmacsha256_final(&st, t);
        tlen = sizeof(t);
        size_t n = outlen - done < tlen ? outlen - done : tlen;
        memcpy(out + done, t, n);
        done += n;
    }
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(t, sizeof(t));
    return 0;
}

int kdf_hkdf(uint8_t *out, size_t outlen, const uint8_t *salt, size_t saltlen, const uint8_t *ikm,
             size_t ikmlen, const uint8_t *info, size_t infolen)
{
    uint8_t prk[KDF_SHA256_BYTES];
    kdf_hkdf_extract(prk, salt, saltlen, ikm, ikmlen);
    int r = kdf_hkdf_expand(out, outlen, prk, info, infolen);
    sodium_memzero(prk, sizeof(prk));
    return r;
}
