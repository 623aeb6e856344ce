/*
 * wire.c - the parts of the wire format that are more than a layout: the
 * .pcp-part record's codec, resume's keyed prefix hash and a file's
 * digest; see wire.h. Never touches the network; reads only the file
 * descriptor it is handed.
 */
#include "wire.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "manifest.h"
#include "transfer_priv.h"

/* ---- checksums ---------------------------------------------------------- */

/* A file's digest is BLAKE2b-256 over the authenticators (the last 16
 * bytes of each sealed frame) of the DATA messages that carried it, in
 * order, then its size: both ends have them for free, and they commit to
 * every byte of every chunk under the session key. See PROTOCOL.md. */

void xfer_digest_final(crypto_generichash_state *st, uint64_t size, uint8_t out[32])
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(size >> (56 - 8 * i));
    crypto_generichash_update(st, be, sizeof(be));
    crypto_generichash_final(st, out, XFER_DIGESTBYTES);
}

/* Resume compares a prefix of the file on both sides with BLAKE2b-256
 * keyed by a key of this session, not a plain hash: what the receiver says
 * about its partial files is of use to no one outside this transfer, and
 * cannot be matched against hashes of known files made beforehand.
 * key = BLAKE2b-256(key = k_r2s ‖ k_s2r, personal "pcp1-resume"). */
void xfer_resume_key(const uint8_t tx[32], const uint8_t rx[32], int sender, uint8_t key[32])
{
    static const uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES] = "pcp1-resume";
    uint8_t k[64];
    memcpy(k, sender ? rx : tx, 32); /* what the receiver sends: r->s */
    memcpy(k + 32, sender ? tx : rx, 32);
    crypto_generichash_blake2b_salt_personal(key, 32, NULL, 0, k, sizeof(k), NULL, personal);
    sodium_memzero(k, sizeof(k));
}

int xfer_prefix_hash(int fd, uint64_t len, const uint8_t key[32], uint8_t out[XFER_DIGESTBYTES])
{
    enum { STEP = 1 << 20 };
    uint8_t *b = malloc(STEP);
    crypto_generichash_state st;
    int e = 0;
    if (!b)
        return PCP_ERR_NOMEM;
    crypto_generichash_init(&st, key, 32, XFER_DIGESTBYTES);
    for (uint64_t off = 0; off < len && !e; off += STEP) {
        size_t n = len - off < STEP ? (size_t)(len - off) : STEP;
        ssize_t r = pread(fd, b, n, (off_t)off);
        if (r < 0)
            e = PCP_ERR_IO;
        else if ((size_t)r != n)
            e = PCP_ERR_CHANGED;
        else
            crypto_generichash_update(&st, b, n);
    }
    crypto_generichash_final(&st, out, XFER_DIGESTBYTES);
    sodium_memzero(&st, sizeof(st));
    free(b);
    return e;
}

/* ---- what ties a .pcp-part to its transfer ------------------------------ */

#define PARTMETA_MAGIC "PCPP"
#define PARTMETA_VERSION 1u

void xfer_partmeta_encode(const struct xfer_partmeta *pm, uint8_t out[XFER_PARTMETA_LEN])
{
    memcpy(out, PARTMETA_MAGIC, 4);
    out[4] = PARTMETA_VERSION;
    wire_put_be64(out + 5, pm->size);
    wire_put_be64(out + 13, (uint64_t)pm->mtime_ns);
    wire_put_be64(out + 21, pm->ino);
    memcpy(out + 29, pm->path_hash, sizeof(pm->path_hash));
    memcpy(out + 45, pm->id, sizeof(pm->id));
}

int xfer_partmeta_parse(const uint8_t *p, size_t len, struct xfer_partmeta *pm)
{
    struct rbuf r;
    uint8_t magic[4], version = 0;
    uint64_t mtime = 0;
    int e;
    memset(pm, 0, sizeof(*pm));
    rbuf_init(&r, p, len);
    if ((e = rbuf_get_bytes(&r, magic, sizeof(magic))) != 0 ||
        (e = rbuf_get_u8(&r, &version)) != 0 || (e = rbuf_get_u64(&r, &pm->size)) != 0 ||
        (e = rbuf_get_u64(&r, &mtime)) != 0 || (e = rbuf_get_u64(&r, &pm->ino)) != 0 ||
        (e = rbuf_get_bytes(&r, pm->path_hash, sizeof(pm->path_hash))) != 0 ||
        (e = rbuf_get_bytes(&r, pm->id, sizeof(pm->id))) != 0)
        return e;
    /* Exactly one record of the one version; a streamed file is never
     * resumed, so never recorded. */
    if (rbuf_left(&r) != 0 || memcmp(magic, PARTMETA_MAGIC, 4) != 0 ||
        version != PARTMETA_VERSION || pm->size == MF_SIZE_STREAM)
        return PCP_ERR_PROTO;
    pm->mtime_ns = (int64_t)mtime;
    return 0;
}

void xfer_partmeta_path_hash(const char *path, uint8_t out[16])
{
    static const uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES] = "pcp1-part-path";
    crypto_generichash_blake2b_salt_personal(out, 16, (const uint8_t *)path, strlen(path), NULL, 0,
                                             NULL, personal);
}
