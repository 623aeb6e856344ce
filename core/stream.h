/*
 * stream.h - length-prefixed frames and the sealed message stream.
 *
 * On the wire a frame is `u32 length (big-endian) ‖ bytes`. After the
 * handshake each direction is one sealed stream (the secretstream or an
 * AEAD, see Ciphers below): its hello (header and cipher set) travels as
 * the first frame, then every frame is one sealed message. The last
 * message carries TAG_FINAL; a stream that ends without it was truncated.
 * A length above the largest legal frame is refused before anything is
 * allocated or read.
 */
#ifndef PCP_STREAM_H
#define PCP_STREAM_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define STREAM_CHUNK (256u * 1024u) /* file data per message */
#define STREAM_MSG_MAX (STREAM_CHUNK + 64u)
#define STREAM_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define STREAM_HEADERBYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define STREAM_KEYBYTES crypto_secretstream_xchacha20poly1305_KEYBYTES
#define FRAME_MAX (STREAM_MSG_MAX + STREAM_ABYTES)
#define FRAME_PREFIX 4u

/* Buffered frame reader: one recv() fills many small frames. */
struct frame_reader {
    int fd;
    uint8_t *buf;
    size_t cap, start, end;
};

int frame_reader_init(struct frame_reader *fr, int fd);
void frame_reader_free(struct frame_reader *fr);
/* Next frame of at most `max` bytes; *frame stays valid until the next
 * call. PCP_ERR_TOO_BIG for a longer one, PCP_ERR_CLOSED at a clean end
 * between frames, PCP_ERR_TRUNCATED inside one. */
int frame_read(struct frame_reader *fr, size_t max, const uint8_t **frame, size_t *len);
int frame_write(int fd, const void *p, size_t n);

/*
 * Ciphers. Each side's header frame, its hello, is its 24-byte header
 * followed by one byte: the set of ciphers it can use (a 24-byte header
 * alone means the secretstream only). Both pick the same one from the two
 * sets (stream_pick). Neither hello is authenticated when it travels, so
 * both go into the keys: each direction's key is
 * stream_hello_key(traffic key, the writer's hello, the reader's hello),
 * each hello exactly as its side sent or received it. A hello changed on
 * the way (a set lowered to force the secretstream, a zstd bit, a header)
 * gives the two ends different keys for both directions, and the first
 * message fails to open, whatever cipher each side picked. The AEADs
 * (OpenSSL) seal message i with nonce `0^32 ‖ u64 i` under
 * BLAKE2b-256(key: that direction's key, "pcp aead" ‖ cipher ‖ header),
 * the final flag in clear in front and bound as associated data, so order
 * and truncation are guarded as by the secretstream.
 */
enum stream_cipher {
    STREAM_SECRETSTREAM = 0, /* libsodium XChaCha20-Poly1305 secretstream */
    STREAM_AES256GCM = 1,    /* where both ends have hardware AES */
    STREAM_CHACHA20POLY1305 = 2,
};
#define STREAM_HELLOBYTES (STREAM_HEADERBYTES + 1u)

struct stream_tx {
    crypto_secretstream_xchacha20poly1305_state st;
    void *aead;                                               /* EVP_CIPHER_CTX, for the AEADs */
    uint64_t n;                                               /* messages sealed */
    uint8_t key[STREAM_KEYBYTES], header[STREAM_HEADERBYTES]; /* until stream_tx_use */
    int used;                                                 /* stream_tx_use was called */
    int finished;
};

struct stream_rx {
    crypto_secretstream_xchacha20poly1305_state st;
    void *aead;
    uint64_t n;
    int finished;
};

/* The ciphers this build and CPU can use: a set of 1 << stream_cipher. */
unsigned stream_ciphers(void);
/* The cipher two sets agree on. */
int stream_pick(unsigned a, unsigned b);
/* "secretstream", "aes256gcm" or "chacha20poly1305"; stream_cipher_parse
 * gives the cipher of a name, or -1. */
const char *stream_cipher_name(int cipher);
int stream_cipher_parse(const char *name);
/* A secretstream sender, and its header; stream_tx_bind rekeys it with
 * both hellos once the peer's has come, then stream_tx_use switches it to
 * the cipher picked (both before anything is sealed). */
int stream_tx_init(struct stream_tx *tx, const uint8_t key[STREAM_KEYBYTES],
                   uint8_t header[STREAM_HEADERBYTES]);
int stream_tx_bind(struct stream_tx *tx, const uint8_t *mine, size_t mlen, const uint8_t *theirs,
                   size_t tlen);
int stream_tx_use(struct stream_tx *tx, int cipher);
/* A direction's key: BLAKE2b-256(key: traffic key, "pcp/1 hello" ‖
 * u8 len ‖ writer's hello ‖ u8 len ‖ reader's hello). The receiving end
 * passes it to stream_rx_init; stream_tx_bind makes it for the sending
 * end. PCP_ERR_INVAL for a hello over 255 bytes. */
int stream_hello_key(uint8_t out[STREAM_KEYBYTES], const uint8_t key[STREAM_KEYBYTES],
                     const uint8_t *writer, size_t wlen, const uint8_t *reader, size_t rlen);
int stream_rx_init(struct stream_rx *rx, int cipher, const uint8_t key[STREAM_KEYBYTES],
                   const uint8_t header[STREAM_HEADERBYTES]);
/* Seal msg into out as a whole frame (prefix included): out must hold
 * FRAME_PREFIX + len + STREAM_ABYTES bytes; *outlen gets the frame size. */
int stream_seal(struct stream_tx *tx, const uint8_t *msg, size_t len, int final, uint8_t *out,
                size_t *outlen);
/* Open one frame's bytes into out (room for len - STREAM_ABYTES).
 * PCP_ERR_CRYPTO when it fails to authenticate, PCP_ERR_PROTO for
 * anything after the final message. */
int stream_open(struct stream_rx *rx, const uint8_t *frame, size_t len, uint8_t *out,
                size_t *outlen, int *final);
void stream_tx_clear(struct stream_tx *tx);
void stream_rx_clear(struct stream_rx *rx);

#endif
