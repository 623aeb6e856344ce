/*
 * xsend.c - the sender's side of a transfer: the offer, matching the
 * receiver's resume list, then the pipeline
 *
 *   reader thread -> ring -> compress workers -> sealer thread -> socket
 *
 * with the adaptive choice of raw, fast or strong compression (the codecs
 * themselves are codec.c). Reads only the files of the manifest, with
 * O_NOFOLLOW, and notices when one changes while it is sent. Never
 * prints; the resume key is wiped on every way out.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "err.h"
#include "net.h"
#include "pipeline.h"
#include "transfer_priv.h"
#include "sys.h"

/* A throughput sample spans at least 32 chunks (twice a socket buffer, on
 * a slow link) and 100 ms (on a fast one the disk's rate swings over a few
 * MiB); a costlier mode must beat a cheaper one by an eighth to be kept,
 * so that noise does not buy compression that only takes CPU. */
#define ADAPT_WINDOW 32
#define ADAPT_MIN_NS 100000000LL
#define ADAPT_MARGIN 1.125
#define ADAPT_REPROBE_NS 8000000000LL
#define ADAPT_MODES 3 /* raw, fast (level 1), strong (level 6) */

struct adapt {
    _Atomic int mode;        /* 0 raw; 1, 2: compress chunks that pay (fast, strong) */
    _Atomic int skip_streak; /* chunks in a row that did not shrink */
    /* sealer only */
    int cur_mode;
    int count;
    int64_t start;
    int64_t waited, waited0; /* the sealer's time waiting for chunks: in all, at start */
    uint64_t bytes;
    double rate[ADAPT_MODES];
    int64_t stamp[ADAPT_MODES];
};

struct sender {
    const struct manifest *m;
    struct xfer_opts *o;
    struct ring ring;
    struct chan *c;
    struct adapt ad;
    struct counters cnt;
    int read_err, seal_err;
    uint64_t *start;                     /* per entry: where its data starts */
    uint8_t (*prefix)[XFER_DIGESTBYTES]; /* per entry, when start > 0 */
    uint8_t rkey[32];                    /* keys the prefix hashes */
};

static int read_full(int fd, uint8_t *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return PCP_ERR_IO;
        if (r == 0)
            return PCP_ERR_CHANGED;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static int same_file(const struct stat *st, const struct mf_entry *e)
{
    return (uint64_t)st->st_size == e->size && sys_mtime_ns(st) == e->mtime_ns;
}

/* The DATA or FILES message header in front of the slot's payload. */
static void data_header(struct slot *sl, size_t payload)
{
    if (sl->kind == XM_FILES)
        wire_put_files_hdr(sl->msg, sl->flags, sl->raw_len);
    else
        wire_put_data_hdr(sl->msg, sl->file, sl->offset, sl->flags, sl->raw_len);
    sl->msg_len = wire_hdr_len(sl->kind) + payload;
}

/* Decides whether a worker tries to compress the slot, and hands it on. */
static void reader_hand_off(struct sender *s, struct slot *sl, uint64_t *nchunks)
{
    int mode = atomic_load(&s->ad.mode);
    /* Data that keeps not shrinking (in one file or across many small
     * ones) is tried again only every 16th chunk. */
    int skipping = atomic_load(&s->ad.skip_streak) >= 2 && ++*nchunks % 16 != 0;
    sl->mode = (uint8_t)mode;
    /* try_deflate: 0 no, 1 fast, 2 strong. */
    sl->try_deflate = (uint8_t)(s->o->compress == 1 ? (mode == 2 ? 2 : 1) : skipping ? 0 : mode);
    if (sl->try_deflate) {
        ring_produced(&s->ring, sl);
    } else {
        /* Nothing for a worker to do: skip the hand-offs. */
        sl->flags = 0;
        data_header(sl, sl->raw_len);
        ring_produced_done(&s->ring, sl);
    }
}

/* Appends file i, whole, to the FILES batch being filled. */
static int batch_add(struct sender *s, struct slot *sl, size_t i)
{
    const struct mf_entry *en = &s->m->e[i];
    uint8_t *rec = sl->msg + XM_FILES_HDR + sl->raw_len;
    struct stat st;
    int fd = open(en->src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return PCP_ERR_IO;
    /* One read: a change before or during it shows in the size or the
     * time afterwards (or as an early end of file). */
    int e = read_full(fd, rec + XM_FILES_REC, (size_t)en->size, 0);
    if (!e && (fstat(fd, &st) != 0 || !same_file(&st, en)))
        e = PCP_ERR_CHANGED;
    close(fd);
    if (e)
        return e;
    wire_put_files_rec(rec, (uint32_t)i, (uint32_t)en->size);
    if (sl->nfiles++ == 0)
        sl->file = (uint32_t)i;
    sl->raw_len += XM_FILES_REC + (uint32_t)en->size;
    return 0;
}

/* Up to cap bytes of a pipe: what comes before it has been quiet for
 * 50 ms (so that a slow writer's data still moves), or until its end;
 * nothing at all after 10 s of silence (the caller sends an empty chunk,
 * so that the receiver's stall limit counts only a dead sender). */
static int read_pipe(int fd, uint8_t *p, size_t cap, size_t *got, int *eof)
{
    size_t n = 0;
    while (n < cap) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int k = poll(&pf, 1, n > 0 ? 50 : 10000);
        if (k < 0 && errno == EINTR)
            continue;
        if (k == 0)
            break;
        ssize_t r = read(fd, p + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return PCP_ERR_IO;
        if (r == 0) {
            *eof = 1;
            break;
        }
        n += (size_t)r;
    }
    *got = n;
    return 0;
}

/* A file read from a pipe, whose size the offer did not say: chunks as
 * the data comes, then FILE_END (in the slot the end of input left). */
static int send_stream(struct sender *s, size_t i, uint64_t *nchunks)
{
    uint64_t off = 0;
    for (int eof = 0;;) {
        struct slot *sl = ring_produce(&s->ring);
        size_t n;
        if (!sl)
            return ring_error(&s->ring);
        int e = read_pipe(s->o->in_fd, sl->msg + XM_DATA_HDR, STREAM_CHUNK, &n, &eof);
        if (e)
            return e;
        sl->file = (uint32_t)i;
        if (n == 0 && eof) {
            sl->kind = XM_FILE_END;
            ring_produced_done(&s->ring, sl);
            return 0;
        }
        sl->kind = XM_DATA;
        sl->offset = off;
        sl->raw_len = (uint32_t)n;
        if (n == 0) {
            /* The pipe is quiet: a sign of life, for no worker; the slot's
             * try_deflate from its last use must not count as a skip. */
            sl->try_deflate = 0;
            sl->flags = 0;
            data_header(sl, 0);
            ring_produced_done(&s->ring, sl);
            continue;
        }
        reader_hand_off(s, sl, nchunks);
        off += n;
    }
}

static void *reader_main(void *arg)
{
    struct sender *s = arg;
    const struct manifest *m = s->m;
    uint64_t nchunks = 0;
    struct slot *batch = NULL; /* FILES being filled */
    int e = 0;
    for (size_t i = 0; i < m->n && !e; i++) {
        const struct mf_entry *en = &m->e[i];
        if (en->type != MF_FILE)
            continue;
        if (mf_streamed(en)) {
            e = send_stream(s, i, &nchunks);
            continue;
        }
        /* Small files that start from nothing travel whole, many to a
         * message: no per-file hand-offs, FILE_END or digest. */
        if (s->start[i] == 0 && en->size <= XFER_BATCH_FILE_MAX) {
            if (batch && batch->raw_len + XM_FILES_REC + en->size > STREAM_CHUNK) {
                reader_hand_off(s, batch, &nchunks);
                batch = NULL;
            }
            if (!batch) {
                if (!(batch = ring_produce(&s->ring))) {
                    e = ring_error(&s->ring);
                    break;
                }
                batch->kind = XM_FILES;
                batch->nfiles = 0;
                batch->raw_len = 0;
            }
            e = batch_add(s, batch, i);
            continue;
        }
        if (batch) {
            reader_hand_off(s, batch, &nchunks);
            batch = NULL;
        }
        int fd = open(en->src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        if (fd < 0) {
            e = PCP_ERR_IO;
            break;
        }
        if (fstat(fd, &st) != 0 || !same_file(&st, en)) {
            e = PCP_ERR_CHANGED;
            close(fd);
            break;
        }
        if (en->size > STREAM_CHUNK) /* one read: no read-ahead to ask for */
            sys_advise_sequential(fd);
        for (uint64_t off = s->start[i]; off < en->size && !e;) {
            struct slot *sl = ring_produce(&s->ring);
            if (!sl) {
                e = ring_error(&s->ring);
                break;
            }
            uint64_t left = en->size - off;
            uint32_t n = left < STREAM_CHUNK ? (uint32_t)left : STREAM_CHUNK;
            uint64_t chunkno = off / STREAM_CHUNK;
            /* A file that changes is noticed every 16 MiB, not only at its end. */
            if ((e = read_full(fd, sl->msg + XM_DATA_HDR, n, off)) != 0 ||
                (chunkno % 64 == 63 && (fstat(fd, &st) != 0 || !same_file(&st, en)))) {
                e = e ? e : PCP_ERR_CHANGED;
                break;
            }
            sl->kind = XM_DATA;
            sl->file = (uint32_t)i;
            sl->offset = off;
            sl->raw_len = n;
            reader_hand_off(s, sl, &nchunks);
            off += n;
        }
        if (!e && (fstat(fd, &st) != 0 || !same_file(&st, en)))
            e = PCP_ERR_CHANGED;
        close(fd);
        if (e)
            break;
        struct slot *sl = ring_produce(&s->ring);
        if (!sl) {
            e = ring_error(&s->ring);
            break;
        }
        sl->kind = XM_FILE_END;
        sl->file = (uint32_t)i;
        ring_produced_done(&s->ring, sl);
    }
    if (batch && !e)
        reader_hand_off(s, batch, &nchunks);
    if (e) {
        s->read_err = e;
        ring_fail(&s->ring, e);
    }
    ring_close(&s->ring);
    return NULL;
}

static void *deflate_main(void *arg)
{
    struct sender *s = arg;
    struct codec_enc *enc = codec_enc_new(s->o->zstd);
    if (!enc) {
        ring_fail(&s->ring, PCP_ERR_NOMEM);
        return NULL;
    }
    struct slot *sl;
    while ((sl = ring_work(&s->ring)) != NULL) {
        if (sl->kind == XM_DATA || sl->kind == XM_FILES) {
            size_t hl = wire_hdr_len(sl->kind);
            size_t payload = sl->raw_len, n = 0;
            uint8_t flag = 0;
            sl->flags = 0;
            if (sl->try_deflate && sl->raw_len >= 512)
                /* Worth it only when it saves at least 1/16. */
                n = codec_compress(enc, sl->try_deflate, sl->msg + hl, sl->raw_len, sl->alt + hl,
                                   sl->raw_len - sl->raw_len / 16, &flag);
            if (n) {
                uint8_t *t = sl->msg;
                sl->msg = sl->alt;
                sl->alt = t;
                payload = n;
                sl->flags = flag;
            }
            data_header(sl, payload);
        }
        ring_worked(&s->ring, sl);
    }
    codec_enc_free(enc);
    return NULL;
}

/* Keep whichever mode (raw, fast or strong compression) moves more file
 * bytes per second, and look at the others again every few seconds: the
 * link, the data and the CPU left over all change during a transfer. On a
 * fast link raw wins; on a slow one, the strongest level the CPU keeps up
 * with. */
static void adapt_sample(struct sender *s, const struct slot *sl)
{
    struct adapt *a = &s->ad;
    if (s->o->compress != -1)
        return;
    int64_t now = xfer_mono_ns();
    if (sl->mode != a->cur_mode || a->count == 0) {
        a->cur_mode = sl->mode;
        a->count = 0;
        a->bytes = 0;
        a->start = now;
        a->waited0 = a->waited;
    }
    a->bytes += sl->raw_len;
    int m = a->cur_mode;
    double secs = (double)(now - a->start) / 1e9;
    /* A mode far behind the best one known is left after a few chunks, so
     * that looking again costs little. */
    double best = 0;
    for (int k = 0; k < ADAPT_MODES; k++)
        if (k != m && a->stamp[k] && a->rate[k] > best)
            best = a->rate[k];
    int losing = a->count >= 3 && secs > 0 && (double)a->bytes / secs < best / 2;
    /* Compressing while the sealer waits for the compressors more than
     * half the time, before raw was measured: the CPU, not the link, is
     * the limit, so the raw sample comes now (on a fast link the first
     * window of compression would cost as much as all the rest). */
    int starved = m != 0 && a->stamp[0] == 0 && a->count >= ADAPT_WINDOW / 4 &&
                  (a->waited - a->waited0) * 2 > now - a->start;
    if (!losing && !starved && (++a->count < ADAPT_WINDOW || now - a->start < ADAPT_MIN_NS))
        return;
    a->rate[m] = secs > 0 ? (double)a->bytes / secs : 1e18;
    a->stamp[m] = now;
    a->count = 0;
    int next = -1;
    for (int k = 0; k < ADAPT_MODES && next < 0; k++)
        if (k != m && (a->stamp[k] == 0 || now - a->stamp[k] > ADAPT_REPROBE_NS))
            next = k;
    if (next < 0) {
        next = 0;
        for (int k = 1; k < ADAPT_MODES; k++)
            if (a->rate[k] > a->rate[next] * ADAPT_MARGIN)
                next = k;
    }
    atomic_store(&a->mode, next);
}

static int flush_out(struct sender *s, size_t *pending)
{
    if (*pending == 0)
        return 0;
    int e = net_write_all(s->c->fd, s->c->buf, *pending);
    atomic_fetch_add(&s->cnt.wire, *pending);
    *pending = 0;
    return e;
}

/* Seals msg after what is pending; mac (may be NULL) gets its authenticator. */
static int seal_into(struct sender *s, const uint8_t *msg, size_t len, int final, size_t *pending,
                     uint8_t mac[XFER_MACBYTES])
{
    size_t fl;
    int e = stream_seal(&s->c->tx, msg, len, final, s->c->buf + *pending, &fl);
    if (e)
        return e;
    *pending += fl;
    if (mac)
        memcpy(mac, s->c->buf + *pending - XFER_MACBYTES, XFER_MACBYTES);
    return *pending >= OUT_FLUSH ? flush_out(s, pending) : 0;
}

static void *sealer_main(void *arg)
{
    struct sender *s = arg;
    crypto_generichash_state hs;
    int64_t cur = -1;
    uint64_t streamed = 0; /* bytes of a file the offer gave no size for */
    size_t pending = 0;
    int e = 0;
    struct slot *sl;
    for (;;) {
        sl = ring_consume(&s->ring, 0);
        if (!sl) {
            if ((e = flush_out(s, &pending)) != 0)
                break;
            int64_t t = xfer_mono_ns();
            sl = ring_consume(&s->ring, 1);
            s->ad.waited += xfer_mono_ns() - t;
        }
        if (!sl)
            break;
        if (sl->kind != XM_FILES && (int64_t)sl->file != cur) {
            /* A resumed file's digest binds the prefix both sides hashed. */
            crypto_generichash_init(&hs, NULL, 0, XFER_DIGESTBYTES);
            if (s->start[sl->file])
                crypto_generichash_update(&hs, s->prefix[sl->file], XFER_DIGESTBYTES);
            cur = sl->file;
        }
        if (sl->kind == XM_DATA || sl->kind == XM_FILES) {
            if (sl->try_deflate) {
                if (sl->flags & (XF_DEFLATED | XF_ZSTD))
                    atomic_store(&s->ad.skip_streak, 0);
                else
                    atomic_fetch_add(&s->ad.skip_streak, 1);
            }
            if (sl->raw_len)
                adapt_sample(s, sl);
            uint8_t mac[XFER_MACBYTES];
            e = seal_into(s, sl->msg, sl->msg_len, 0, &pending, mac);
            if (sl->kind == XM_FILES) {
                /* Whole files under one authenticator: no digest to send. */
                atomic_fetch_add(&s->cnt.bytes, sl->raw_len - XM_FILES_REC * sl->nfiles);
                atomic_fetch_add(&s->cnt.files, sl->nfiles);
            } else {
                crypto_generichash_update(&hs, mac, sizeof(mac));
                atomic_fetch_add(&s->cnt.bytes, sl->raw_len);
                if (mf_streamed(&s->m->e[sl->file]))
                    streamed += sl->raw_len;
            }
        } else {
            uint8_t m[XM_FILE_END_LEN];
            wire_put_file_end(m, sl->file);
            const struct mf_entry *en = &s->m->e[sl->file];
            xfer_digest_final(&hs, mf_streamed(en) ? streamed : en->size, m + 5);
            cur = -1;
            e = seal_into(s, m, sizeof(m), 0, &pending, NULL);
            atomic_fetch_add(&s->cnt.files, 1);
        }
        ring_consumed(&s->ring, sl);
        if (e)
            break;
    }
    /* Whatever was sealed goes out, so that the stream stays in step for
     * an ERROR that may follow. */
    if (!e)
        e = flush_out(s, &pending);
    if (!e && !(e = ring_error(&s->ring))) {
        uint8_t m[XM_END_LEN];
        wire_put_end(m, s->m->total_bytes + streamed, (uint32_t)s->m->nfiles);
        if (!(e = seal_into(s, m, sizeof(m), 1, &pending, NULL)))
            e = flush_out(s, &pending);
    }
    if (e) {
        s->seal_err = e;
        ring_fail(&s->ring, e);
    }
    atomic_store(&s->cnt.finished, 1);
    return NULL;
}

static int send_offer(struct chan *c, const struct manifest *m)
{
    struct wbuf w;
    wbuf_init(&w);
    int e = manifest_encode(m, &w);
    for (size_t off = 0; !e;) {
        size_t n = w.len - off < STREAM_CHUNK ? w.len - off : STREAM_CHUNK;
        c->in[0] = XM_OFFER;
        c->in[1] = off + n == w.len;
        memcpy(c->in + XM_OFFER_HDR, w.p + off, n);
        e = chan_send(c, c->in, XM_OFFER_HDR + n, 0);
        off += n;
        if (off == w.len)
            break;
    }
    wbuf_free(&w);
    return e;
}

/* ACCEPT's resume list: for each file the receiver has a prefix of, hash
 * the same prefix of ours; equal, the file's data starts there, else at 0
 * (and the receiver starts it over when the first chunk says offset 0). */
static int match_resume(struct sender *s, const uint8_t *msg, size_t len)
{
    const struct manifest *m = s->m;
    uint64_t files = 0, bytes = 0;
    if (len == 1)
        return 0;
    if (len < XM_ACCEPT_HDR)
        return PCP_ERR_PROTO;
    uint32_t n = get_be32(msg + 1);
    if (n > m->nfiles || len != XM_ACCEPT_HDR + (size_t)n * XM_RESUME_ENTRY)
        return PCP_ERR_PROTO;
    for (uint32_t k = 0; k < n; k++) {
        const uint8_t *p = msg + XM_ACCEPT_HDR + (size_t)k * XM_RESUME_ENTRY;
        uint32_t i = get_be32(p);
        uint64_t have = wire_get_be64(p + 4);
        if (i >= m->n || m->e[i].type != MF_FILE || mf_streamed(&m->e[i]) || have == 0 ||
            have > m->e[i].size || s->start[i])
            return PCP_ERR_PROTO;
        uint8_t mine[XFER_DIGESTBYTES];
        struct stat st;
        int fd = open(m->e[i].src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return PCP_ERR_IO;
        int e = fstat(fd, &st) != 0 ? PCP_ERR_IO : !same_file(&st, &m->e[i]) ? PCP_ERR_CHANGED : 0;
        if (!e)
            e = xfer_prefix_hash(fd, have, s->rkey, mine);
        close(fd);
        if (e)
            return e;
        if (sodium_memcmp(mine, p + 12, XFER_DIGESTBYTES) == 0) {
            s->start[i] = have;
            memcpy(s->prefix[i], mine, XFER_DIGESTBYTES);
            files++;
            bytes += have;
        }
    }
    atomic_store(&s->cnt.resumed, bytes);
    if (files && s->o->resuming)
        s->o->resuming(s->o->ud, files, bytes);
    return 0;
}

int xfer_send(int fd, struct frame_reader *fr, const uint8_t tx[32], const uint8_t rx[32],
              const struct manifest *m, struct xfer_opts *o, struct xfer_progress *result)
{
    struct chan c;
    struct sender s;
    pthread_t reader, sealer, workers[MAX_WORKERS];
    int nw = xfer_nworkers(o->threads), started = 0;
    size_t len;
    int final, e;

    memset(&s, 0, sizeof(s));
    s.m = m;
    s.o = o;
    s.c = &c;
    xfer_resume_key(tx, rx, 1, s.rkey);
    atomic_store(&s.ad.mode, o->compress != 0);
    if ((e = chan_open(&c, fd, fr, tx, rx, o)) != 0 || (e = send_offer(&c, m)) != 0)
        goto out;
    /* The receiver may take its time to decide: no stall limit here. */
    net_set_timeout(fd, 0);
    if ((e = chan_recv(&c, &len, &final)) != 0)
        goto out;
    if (len >= 1 && c.in[0] == XM_REFUSE) {
        chan_peer_error(o, c.in, len);
        e = PCP_ERR_REFUSED;
        goto out;
    }
    if (final || len < 1 || c.in[0] != XM_ACCEPT) {
        e = PCP_ERR_PROTO;
        goto out;
    }
    s.start = calloc(m->n ? m->n : 1, sizeof(*s.start));
    s.prefix = calloc(m->n ? m->n : 1, sizeof(*s.prefix));
    if (!s.start || !s.prefix) {
        e = PCP_ERR_NOMEM;
        goto out;
    }
    if ((e = match_resume(&s, c.in, len)) != 0)
        goto out;
    net_set_timeout(fd, o->stall_ms ? o->stall_ms : XFER_STALL_MS);

    if ((e = ring_init(&s.ring, RING_SLOTS + (size_t)nw, BUF_SIZE)) != 0)
        goto out;
    s.cnt.t0 = xfer_mono_ns();
    int have_reader = pthread_create(&reader, NULL, reader_main, &s) == 0;
    for (started = 0; have_reader && started < nw; started++)
        if (pthread_create(&workers[started], NULL, deflate_main, &s) != 0)
            break;
    if (!have_reader || started < nw || pthread_create(&sealer, NULL, sealer_main, &s) != 0) {
        /* Stop what runs (the failed ring ends each thread's wait) and
         * wait for it. Without the sealer nothing was sealed since the
         * offer: the stream is in step for the ERROR that says why. */
        ring_fail(&s.ring, PCP_ERR_NOMEM);
        if (have_reader)
            pthread_join(reader, NULL);
        for (int i = 0; i < started; i++)
            pthread_join(workers[i], NULL);
        e = PCP_ERR_NOMEM;
        chan_send_error(&c, XM_ERROR, e, pcp_strerror(e), 1);
        ring_free(&s.ring);
        goto out;
    }
    xfer_watch(o, &s.cnt, xfer_offer_total(m), m->nfiles);
    pthread_join(reader, NULL);
    pthread_join(sealer, NULL);
    ring_fail(&s.ring, PCP_ERR_CANCELLED); /* wake idle workers */
    for (int i = 0; i < started; i++)
        pthread_join(workers[i], NULL);
    e = s.read_err ? s.read_err : s.seal_err;
    /* A local read failure stopped the sealer with the stream intact:
     * tell the receiver why. */
    if (s.read_err && s.seal_err == s.read_err)
        chan_send_error(&c, XM_ERROR, s.read_err, pcp_strerror(s.read_err), 1);

    /* The receiver's answer decides: DONE once every file is in place, or
     * its error. After a failed write it may still have said why. */
    if (!e || e == PCP_ERR_CLOSED || e == PCP_ERR_NET) {
        int re = chan_recv(&c, &len, &final);
        if (re == 0 && len >= 1 && c.in[0] == XM_DONE && final && len == 1 && !e)
            e = 0;
        else if (re == 0 && len >= 3 && c.in[0] == XM_ERROR) {
            chan_peer_error(o, c.in, len);
            e = PCP_ERR_PEER;
        } else if (!e)
            e = re ? re : PCP_ERR_PROTO;
    }
    xfer_report(o, &s.cnt, xfer_offer_total(m), m->nfiles, 1, result);
    ring_free(&s.ring);
out:
    sodium_memzero(s.rkey, sizeof(s.rkey));
    free(s.start);
    free(s.prefix);
    chan_close(&c);
    return e;
}
