/*
 * transfer.h - offer, accept and the data stream, after the handshake.
 *
 * The sender offers a manifest; the receiver accepts or refuses; file data
 * then flows as sealed chunks through a pipeline of threads (read ->
 * compress -> seal -> send, and receive -> open -> inflate -> write), with
 * bounded queues so that memory stays flat. Nothing here prints: events
 * reach the caller through callbacks.
 */
#ifndef PCP_TRANSFER_H
#define PCP_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "stream.h"

#define XFER_STALL_MS 30000 /* the default stall limit */

struct xfer_progress {
    uint64_t bytes;      /* file bytes done */
    uint64_t total;      /* file bytes in the offer */
    uint64_t wire_bytes; /* bytes sent or received on the socket */
    uint64_t files;      /* files completed */
    uint64_t resumed;    /* file bytes that were already there (not in bytes) */
    uint64_t nfiles;
    int unsized;    /* total is only what came so far (a streamed file) */
    double seconds; /* since data started */
    int done;       /* last call */
};

struct xfer_opts {
    const char *out_dir; /* receiver: target directory */
    int overwrite;       /* receiver: replace existing files */
    int to_stdout;       /* receiver: write the offer's one file to standard output */
    int in_fd;           /* sender: where a streamed file (src NULL) is read */
    int threads;         /* workers for (de)compression; 0 = from the CPU count */
    int compress;        /* sender: -1 adaptive (default), 0 never, 1 always */
    int stall_ms;        /* give up when nothing moves this long; 0 = XFER_STALL_MS */
    unsigned ciphers;    /* allowed: a set of 1 << stream_cipher; 0 = all */
    int cipher;          /* out: the one both sides use */
    int zstd;            /* out: both have zstd (else zlib compresses) */
    /* Receiver: show the offer, return 1 to accept and 0 to refuse. */
    int (*confirm)(void *ud, const struct manifest *m);
    void (*progress)(void *ud, const struct xfer_progress *p);
    /* Before data flows: bytes of `files` files that need not travel
     * (receiver: what it offers to resume; sender: what matched). */
    void (*resuming)(void *ud, uint64_t files, uint64_t bytes);
    void *ud;
    /* Receiver: on PCP_ERR_EXISTS and friends, the path concerned. */
    char *err_path;
    size_t err_path_len;
    /* Receiver: set when it refused the offer itself (malformed, unsafe,
     * too large to hold before asking). */
    int offer_refused;
    /* Receiver: set when it refused for want of space (bytes). */
    uint64_t space_needed, space_free;
    /* Either side: text the peer sent with its error or refusal. */
    char *peer_msg;
    size_t peer_msg_len;
};

/* Message types inside the sealed streams. */
enum xfer_msg {
    XM_OFFER = 1,    /* u8 last ‖ manifest bytes */
    XM_ACCEPT = 2,   /* [u32 n ‖ n × (u32 file ‖ u64 have ‖ prefix BLAKE2b-256)] */
    XM_REFUSE = 3,   /* u16 err ‖ text */
    XM_DATA = 4,     /* u32 file ‖ u64 offset ‖ u8 flags ‖ u32 raw_len ‖ payload */
    XM_FILE_END = 5, /* u32 file ‖ digest[32] */
    XM_END = 6,      /* u64 bytes ‖ u32 files (TAG_FINAL) */
    XM_DONE = 7,     /* (TAG_FINAL) */
    XM_ERROR = 8,    /* u16 err ‖ text (TAG_FINAL) */
    XM_FILES = 9,    /* u8 flags ‖ u32 raw_len ‖ payload: whole small files */
};

#define XF_DEFLATED 1u
#define XF_ZSTD 2u /* only when both ends said they have zstd */
/* In the stream-header byte, next to the cipher set: this end has zstd. */
#define XFER_HELLO_ZSTD 0x80u

/* 1 when this build can compress and expand zstd. */
int xfer_have_zstd(void);
#define XM_DATA_HDR 18u
#define XM_FILES_HDR 6u
/* FILES carries, after expansion, records `u32 file ‖ u32 size ‖ bytes`:
 * consecutive files of the offer, each whole and this small at most. */
#define XM_FILES_REC 8u
#define XFER_BATCH_FILE_MAX (64u * 1024u)
#define XFER_DIGESTBYTES 32u

/* Resume. A .pcp-part carries, in the extended attribute XFER_PART_XATTR,
 * what ties it to the transfer it came from: the offered size and mtime,
 * a hash of the offered path, its own inode and a random id drawn when it
 * was created. Encoded as `"PCPP" ‖ u8 1 ‖ u64 size ‖ u64 mtime_ns ‖
 * u64 ino ‖ path_hash[16] ‖ id[16]` (big-endian), exactly
 * XFER_PARTMETA_LEN bytes. */
#define XFER_PART_XATTR "user.pcp.part"
#define XFER_PARTMETA_LEN 61u
struct xfer_partmeta {
    uint64_t size;
    int64_t mtime_ns;
    uint64_t ino;
    uint8_t path_hash[16];
    uint8_t id[16];
};
void xfer_partmeta_encode(const struct xfer_partmeta *pm, uint8_t out[XFER_PARTMETA_LEN]);
/* Bytes read from disk: 0 only for exactly one well-formed record. */
int xfer_partmeta_parse(const uint8_t *p, size_t len, struct xfer_partmeta *pm);
/* The path hash a part file of `path` records. */
void xfer_partmeta_path_hash(const char *path, uint8_t out[16]);
/* The key that resume's prefix hashes are keyed with, from the session's
 * traffic keys as this side holds them (sender: 1 on the sending side);
 * both sides get the same bytes. */
void xfer_resume_key(const uint8_t tx[32], const uint8_t rx[32], int sender, uint8_t key[32]);
/* Keyed BLAKE2b-256 of the first len bytes of fd; PCP_ERR_CHANGED when
 * the file is shorter. */
int xfer_prefix_hash(int fd, uint64_t len, const uint8_t key[32], uint8_t out[XFER_DIGESTBYTES]);

/* fd is connected and the handshake done; keys are this side's. */
int xfer_send(int fd, struct frame_reader *fr, const uint8_t tx[32], const uint8_t rx[32],
              const struct manifest *m, struct xfer_opts *o, struct xfer_progress *result);
int xfer_receive(int fd, struct frame_reader *fr, const uint8_t tx[32], const uint8_t rx[32],
                 struct xfer_opts *o, struct xfer_progress *result);

#endif
