/*
 * kdf.h - HKDF-SHA256 (RFC 5869) on libsodium's HMAC-SHA256 streaming API;
 * libsodium 1.0.18 has no HKDF of its own.
 */
#ifndef PCP_KDF_H
#define PCP_KDF_H

#include <stddef.h>
#include <stdint.h>

#define KDF_SHA256_BYTES 32

/* PRK = HMAC(salt, ikm); an empty salt means HashLen zero bytes. */
void kdf_hkdf_extract(uint8_t prk[KDF_SHA256_BYTES], const uint8_t *salt, size_t saltlen,
                      const uint8_t *ikm, size_t ikmlen);
/* OKM = T(1) ‖ T(2) ‖ ... truncated to outlen; PCP_ERR_INVAL above 255 * 32. */
int kdf_hkdf_expand(uint8_t *out, size_t outlen, const uint8_t prk[KDF_SHA256_BYTES],
                    const uint8_t *info, size_t infolen);
/* Extract then expand. */
int kdf_hkdf(uint8_t *out, size_t outlen, const uint8_t *salt, size_t saltlen, const uint8_t *ikm,
             size_t ikmlen, const uint8_t *info, size_t infolen);

#endif
