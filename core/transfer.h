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
    /* Receiver: set when the connection closed before the sender's first
     * message (its hello): the sender gave up on the handshake (our proof
     * came after its deadline), so connecting again may well succeed. */
    int closed_early;
    /* Receiver: set when it refused for want of space (bytes). */
    uint64_t space_needed, space_free;
    /* Either side: text the peer sent with its error or refusal. */
    char *peer_msg;
    size_t peer_msg_len;
};

/* 1 when this build can compress and expand zstd. */
int xfer_have_zstd(void);

/* The messages themselves, and the resume record and hashes: wire.h. */

/* fd is connected and the handshake done; keys are this side's. */
int xfer_send(int fd, struct frame_reader *fr, const uint8_t tx[32], const uint8_t rx[32],
              const struct manifest *m, struct xfer_opts *o, struct xfer_progress *result);
int xfer_receive(int fd, struct frame_reader *fr, const uint8_t tx[32], const uint8_t rx[32],
                 struct xfer_opts *o, struct xfer_progress *result);

#endif
