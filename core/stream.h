/*
 * stream.h - length-prefixed frames and the sealed message stream.
 *
 * On the wire a frame is `u32 length (big-endian) ‖ bytes`. After the
 * handshake each direction is one crypto_secretstream_xchacha20poly1305
 * stream: its 24-byte header travels as the first frame, then every frame
 * is one sealed message. The last message carries TAG_FINAL; a stream that
 * ends without it was truncated. A length above the largest legal frame is
 * refused before anything is allocated or read.
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

struct stream_tx {
    crypto_secretstream_xchacha20poly1305_state st;
    int finished;
};

struct stream_rx {
    crypto_secretstream_xchacha20poly1305_state st;
    int finished;
};

int stream_tx_init(struct stream_tx *tx, const uint8_t key[STREAM_KEYBYTES],
                   uint8_t header[STREAM_HEADERBYTES]);
int stream_rx_init(struct stream_rx *rx, const uint8_t key[STREAM_KEYBYTES],
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
