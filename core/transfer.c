/*
 * transfer.c - what the two pipelines share: progress reports while the
 * threads run, and how many workers to start. The pipelines themselves
 * are xsend.c and xrecv.c (entry points xfer_send and xfer_receive), the
 * control channel chan.c, the codecs codec.c, the receiver's file system
 * fsys.c, the messages wire.h. Nothing here prints.
 *
 * Sender:   reader thread -> ring -> deflate workers -> sealer thread -> socket
 * Receiver: socket -> opener thread -> ring -> inflate workers -> writer thread
 */
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "transfer_priv.h"

int64_t xfer_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int xfer_nworkers(int threads)
{
    if (threads > 0)
        return threads > MAX_WORKERS ? MAX_WORKERS : threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

/* ---- progress ------------------------------------------------------------ */

void xfer_report(struct xfer_opts *o, struct counters *c, uint64_t total, uint64_t nfiles, int done,
                 struct xfer_progress *out)
{
    int unsized = total == MF_SIZE_STREAM;
    struct xfer_progress p = {
        .bytes = atomic_load(&c->bytes),
        .resumed = atomic_load(&c->resumed),
        .total = unsized ? atomic_load(&c->bytes) : total - atomic_load(&c->resumed),
        .unsized = unsized,
        .wire_bytes = atomic_load(&c->wire),
        .files = atomic_load(&c->files),
        .nfiles = nfiles,
        .seconds = (double)(xfer_mono_ns() - c->t0) / 1e9,
        .done = done,
    };
    if (out)
        *out = p;
    if (o->progress)
        o->progress(o->ud, &p);
}

/* What progress counts towards: the offer's bytes, or MF_SIZE_STREAM when
 * that is known only at the end. */
uint64_t xfer_offer_total(const struct manifest *m)
{
    return m->n == 1 && mf_streamed(&m->e[0]) ? MF_SIZE_STREAM : m->total_bytes;
}

/* Wait for the pipeline to finish, reporting progress meanwhile. */
void xfer_watch(struct xfer_opts *o, struct counters *c, uint64_t total, uint64_t nfiles)
{
    int64_t last = 0;
    while (!atomic_load(&c->finished)) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int64_t now = xfer_mono_ns();
        if (now - last >= 200 * 1000 * 1000) {
            xfer_report(o, c, total, nfiles, 0, NULL);
            last = now;
        }
    }
}
