/*
 * transfer_priv.h - what the files of the transfer share and nothing
 * outside core/ may use: the control channel (chan.c), progress and
 * thread counts (transfer.c), the file digest (wire.c), and the sizes the
 * two pipelines (xsend.c, xrecv.c) are built with. The public API stays
 * transfer.h; the messages are wire.h.
 */
#ifndef PCP_TRANSFER_PRIV_H
#define PCP_TRANSFER_PRIV_H

#include <sodium.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "stream.h"
#include "transfer.h"
#include "wire.h"

#define RING_SLOTS 8
#define BUF_SIZE (STREAM_MSG_MAX + 64)
#define OUT_FLUSH (256u * 1024u)
#define OUT_CAP (OUT_FLUSH + FRAME_PREFIX + FRAME_MAX)
#define MAX_WORKERS 8

int64_t xfer_mono_ns(void);
/* Compression workers for opts.threads (0: from the CPU count). */
int xfer_nworkers(int threads);

/* A file's digest: the authenticators hashed so far into st, then its
 * size (PROTOCOL.md). */
void xfer_digest_final(crypto_generichash_state *st, uint64_t size, uint8_t out[32]);

/* ---- the control channel (chan.c) -------------------------------------- */

struct chan {
    int fd;
    struct frame_reader *fr;
    struct stream_tx tx;
    struct stream_rx rx;
    uint8_t *buf; /* OUT_CAP */
    uint8_t *in;  /* BUF_SIZE */
};

/* Both hellos, then the keys bound to them; o->cipher and o->zstd get
 * what was agreed. chan_close is due whatever it returns. */
int chan_open(struct chan *c, int fd, struct frame_reader *fr, const uint8_t tx[32],
              const uint8_t rx[32], struct xfer_opts *o);
void chan_close(struct chan *c);
int chan_send(struct chan *c, const uint8_t *msg, size_t len, int final);
/* The next message, into c->in. */
int chan_recv(struct chan *c, size_t *len, int *final);
/* XM_ERROR or XM_REFUSE: u16 code ‖ text. */
int chan_send_error(struct chan *c, uint8_t type, int err, const char *text, int final);
/* The code of an ERROR or REFUSE message m; its text, printable bytes
 * only, into o->peer_msg. */
int chan_peer_error(struct xfer_opts *o, const uint8_t *m, size_t len);

/* ---- progress (transfer.c) --------------------------------------------- */

struct counters {
    _Atomic uint64_t bytes, wire, files, resumed;
    _Atomic int finished;
    int64_t t0;
};

void xfer_report(struct xfer_opts *o, struct counters *c, uint64_t total, uint64_t nfiles, int done,
                 struct xfer_progress *out);
/* What progress counts towards: the offer's bytes, or MF_SIZE_STREAM when
 * that is known only at the end. */
uint64_t xfer_offer_total(const struct manifest *m);
/* Wait for the pipeline to finish (c->finished), reporting meanwhile. */
void xfer_watch(struct xfer_opts *o, struct counters *c, uint64_t total, uint64_t nfiles);

#endif
