/*
 * stream.c - frames and sealed messages; see stream.h. Lengths read from
 * the wire are checked against the caller's maximum before use.
 */
#include "stream.h"

#include <errno.h>
#include <openssl/evp.h>
#if defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "err.h"
#include "net.h"
#include "sys.h"

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
        w = sendmsg(fd, &mh, SYS_NOSIGNAL);
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

/* Whether this CPU does AES in hardware: then AES-256-GCM (OpenSSL's) is
 * the fastest cipher both ends have. libsodium 1.0.18 answers for x86
 * only; on 64-bit ARM the system says (every Apple silicon CPU has it). */
static int aes_in_hardware(void)
{
#if defined(__aarch64__) && defined(__APPLE__)
    int v = 1;
    size_t n = sizeof(v);
    if (sysctlbyname("hw.optional.arm.FEAT_AES", &v, &n, NULL, 0) != 0)
        v = 1;
    return v != 0;
#elif defined(__aarch64__) && defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_AES) != 0;
#else
    return crypto_aead_aes256gcm_is_available();
#endif
}

unsigned stream_ciphers(void)
{
    unsigned set = 1u << STREAM_SECRETSTREAM | 1u << STREAM_CHACHA20POLY1305;
    if (aes_in_hardware())
        set |= 1u << STREAM_AES256GCM;
    return set;
}

int stream_pick(unsigned a, unsigned b)
{
    unsigned both = a & b;
    if (both & 1u << STREAM_AES256GCM)
        return STREAM_AES256GCM;
    if (both & 1u << STREAM_CHACHA20POLY1305)
        return STREAM_CHACHA20POLY1305;
    return STREAM_SECRETSTREAM;
}

static const char *const cipher_names[] = {"secretstream", "aes256gcm", "chacha20poly1305"};

const char *stream_cipher_name(int cipher)
{
    return cipher >= 0 && cipher < 3 ? cipher_names[cipher] : "?";
}

int stream_cipher_parse(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, cipher_names[i]))
            return i;
    return -1;
}

/* An AEAD context keyed for one direction. */
static int aead_new(void **out, int cipher, int enc, const uint8_t key[STREAM_KEYBYTES],
                    const uint8_t header[STREAM_HEADERBYTES])
{
    static const char label[] = "pcp aead";
    uint8_t sub[32], in[sizeof(label) - 1 + 1 + STREAM_HEADERBYTES];
    memcpy(in, label, sizeof(label) - 1);
    in[sizeof(label) - 1] = (uint8_t)cipher;
    memcpy(in + sizeof(label), header, STREAM_HEADERBYTES);
    crypto_generichash(sub, sizeof(sub), in, sizeof(in), key, STREAM_KEYBYTES);
    const EVP_CIPHER *c = cipher == STREAM_AES256GCM ? EVP_aes_256_gcm() : EVP_chacha20_poly1305();
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = ctx && EVP_CipherInit_ex(ctx, c, NULL, sub, NULL, enc) == 1;
    sodium_memzero(sub, sizeof(sub));
    if (!ok) {
        EVP_CIPHER_CTX_free(ctx);
        return PCP_ERR_CRYPTO;
    }
    *out = ctx;
    return 0;
}

/* Nonce for message n: 32 zero bits, then n big-endian. */
static void aead_nonce(uint8_t nonce[12], uint64_t n)
{
    memset(nonce, 0, 4);
    put_be32(nonce + 4, (uint32_t)(n >> 32));
    put_be32(nonce + 8, (uint32_t)n);
}

int stream_tx_init(struct stream_tx *tx, const uint8_t key[STREAM_KEYBYTES],
                   uint8_t header[STREAM_HEADERBYTES])
{
    memset(tx, 0, sizeof(*tx));
    if (crypto_secretstream_xchacha20poly1305_init_push(&tx->st, header, key) != 0)
        return PCP_ERR_CRYPTO;
    memcpy(tx->key, key, STREAM_KEYBYTES);
    memcpy(tx->header, header, STREAM_HEADERBYTES);
    return 0;
}

int stream_hello_key(uint8_t out[STREAM_KEYBYTES], const uint8_t key[STREAM_KEYBYTES],
                     const uint8_t *writer, size_t wlen, const uint8_t *reader, size_t rlen)
{
    static const char label[] = "pcp/1 hello";
    crypto_generichash_state st;
    uint8_t l;
    if (wlen > 255 || rlen > 255)
        return PCP_ERR_INVAL;
    crypto_generichash_init(&st, key, STREAM_KEYBYTES, STREAM_KEYBYTES);
    crypto_generichash_update(&st, (const uint8_t *)label, sizeof(label) - 1);
    l = (uint8_t)wlen;
    crypto_generichash_update(&st, &l, 1);
    crypto_generichash_update(&st, writer, wlen);
    l = (uint8_t)rlen;
    crypto_generichash_update(&st, &l, 1);
    crypto_generichash_update(&st, reader, rlen);
    crypto_generichash_final(&st, out, STREAM_KEYBYTES);
    sodium_memzero(&st, sizeof(st));
    return 0;
}

int stream_tx_bind(struct stream_tx *tx, const uint8_t *mine, size_t mlen, const uint8_t *theirs,
                   size_t tlen)
{
    uint8_t k[STREAM_KEYBYTES];
    if (tx->n || tx->used || mlen < STREAM_HEADERBYTES ||
        memcmp(mine, tx->header, STREAM_HEADERBYTES) != 0)
        return PCP_ERR_INVAL;
    int e = stream_hello_key(k, tx->key, mine, mlen, theirs, tlen);
    /* The header is out already, so the secretstream is set up again under
     * the new key with that header. Its state is what both ends derive
     * from key and header (HChaCha20 of the key and the header's first 16
     * bytes, a fresh counter, the last 8 bytes), so init_pull gives the
     * very state init_push would have given with this header. */
    if (!e && crypto_secretstream_xchacha20poly1305_init_pull(&tx->st, tx->header, k) != 0)
        e = PCP_ERR_CRYPTO;
    if (!e)
        memcpy(tx->key, k, sizeof(k));
    sodium_memzero(k, sizeof(k));
    return e;
}

int stream_tx_use(struct stream_tx *tx, int cipher)
{
    if (tx->n || tx->used)
        return PCP_ERR_INVAL;
    tx->used = 1;
    int e = cipher == STREAM_SECRETSTREAM ? 0 : aead_new(&tx->aead, cipher, 1, tx->key, tx->header);
    sodium_memzero(tx->key, sizeof(tx->key)); /* needed no longer */
    return e;
}

int stream_rx_init(struct stream_rx *rx, int cipher, const uint8_t key[STREAM_KEYBYTES],
                   const uint8_t header[STREAM_HEADERBYTES])
{
    memset(rx, 0, sizeof(*rx));
    if (cipher != STREAM_SECRETSTREAM)
        return aead_new(&rx->aead, cipher, 0, key, header);
    return crypto_secretstream_xchacha20poly1305_init_pull(&rx->st, header, key) == 0
               ? 0
               : PCP_ERR_CRYPTO;
}

/* out: flag ‖ ciphertext ‖ tag (16), STREAM_ABYTES more than len. */
static int aead_seal(struct stream_tx *tx, const uint8_t *msg, size_t len, uint8_t flag,
                     uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = tx->aead;
    uint8_t nonce[12];
    int l1 = 0, l2 = 0;
    aead_nonce(nonce, tx->n);
    out[0] = flag;
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &l1, out, 1) != 1 ||
        EVP_EncryptUpdate(ctx, out + 1, &l1, msg, (int)len) != 1 ||
        EVP_EncryptFinal_ex(ctx, out + 1 + l1, &l2) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + 1 + len) != 1)
        return PCP_ERR_CRYPTO;
    return 0;
}

static int aead_open(struct stream_rx *rx, const uint8_t *frame, size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = rx->aead;
    uint8_t nonce[12], tag[16];
    int l1 = 0, l2 = 0;
    size_t clen = len - STREAM_ABYTES;
    aead_nonce(nonce, rx->n);
    memcpy(tag, frame + len - 16, 16);
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &l1, frame, 1) != 1 ||
        EVP_DecryptUpdate(ctx, out, &l1, frame + 1, (int)clen) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1 ||
        EVP_DecryptFinal_ex(ctx, out + l1, &l2) != 1)
        return PCP_ERR_CRYPTO;
    return 0;
}

int stream_seal(struct stream_tx *tx, const uint8_t *msg, size_t len, int final, uint8_t *out,
                size_t *outlen)
{
    if (tx->finished || len > STREAM_MSG_MAX)
        return PCP_ERR_INVAL;
    unsigned long long clen = 0;
    uint8_t tag = final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                        : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    if (tx->aead) {
        if (aead_seal(tx, msg, len, tag, out + FRAME_PREFIX) != 0)
            return PCP_ERR_CRYPTO;
        clen = len + STREAM_ABYTES;
    } else if (crypto_secretstream_xchacha20poly1305_push(&tx->st, out + FRAME_PREFIX, &clen, msg,
                                                          len, NULL, 0, tag) != 0) {
        return PCP_ERR_CRYPTO;
    }
    put_be32(out, (uint32_t)clen);
    *outlen = FRAME_PREFIX + (size_t)clen;
    tx->n++;
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
    if (rx->aead) {
        if (len - STREAM_ABYTES > STREAM_MSG_MAX || aead_open(rx, frame, len, out) != 0)
            return PCP_ERR_CRYPTO;
        tag = frame[0];
        mlen = len - STREAM_ABYTES;
    } else if (crypto_secretstream_xchacha20poly1305_pull(&rx->st, out, &mlen, &tag, frame, len,
                                                          NULL, 0) != 0) {
        return PCP_ERR_CRYPTO;
    }
    if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
        tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)
        return PCP_ERR_PROTO;
    rx->n++;
    rx->finished = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    *final = rx->finished;
    *outlen = (size_t)mlen;
    return 0;
}

void stream_tx_clear(struct stream_tx *tx)
{
    EVP_CIPHER_CTX_free(tx->aead);
    sodium_memzero(tx, sizeof(*tx));
}

void stream_rx_clear(struct stream_rx *rx)
{
    EVP_CIPHER_CTX_free(rx->aead);
    sodium_memzero(rx, sizeof(*rx));
}
