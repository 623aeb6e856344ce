/*
 * transfer.c - offer/accept and the pipelined data stream; see transfer.h.
 *
 * Sender:   reader thread -> ring -> deflate workers -> sealer thread -> socket
 * Receiver: socket -> opener thread -> ring -> inflate workers -> writer thread
 *
 * Each chunk carries a keyed checksum of its plaintext (Poly1305 under a key
 * derived per chunk); a file's digest is BLAKE2b-256 over its chunks'
 * checksums and its size. The receiver writes NAME.pcp-part and renames it
 * only after the digest matches, so a final name never holds a partial
 * file. Every path is opened component by component with O_NOFOLLOW below
 * the target directory: nothing lands outside it, whatever the peer sends.
 */
#include "transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#ifdef PCP_HAVE_ZSTD
#include <zstd.h>
#endif

#include "buf.h"
#include "err.h"
#include "net.h"
#include "pipeline.h"

#define RING_SLOTS 8
#define BUF_SIZE (STREAM_MSG_MAX + 64)
#define OUT_FLUSH (256u * 1024u)
#define OUT_CAP (OUT_FLUSH + FRAME_PREFIX + FRAME_MAX)
#define MAX_WORKERS 8
/* A throughput sample spans at least 32 chunks (twice a socket buffer, on
 * a slow link) and 100 ms (on a fast one the disk's rate swings over a few
 * MiB); a costlier mode must beat a cheaper one by an eighth to be kept,
 * so that noise does not buy compression that only takes CPU. */
#define ADAPT_WINDOW 32
#define ADAPT_MIN_NS 100000000LL
#define ADAPT_MARGIN 1.125
#define ADAPT_REPROBE_NS 8000000000LL
#define ADAPT_MODES 3 /* raw, fast (level 1), strong (level 6) */
#define PART_SUFFIX ".pcp-part"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int nworkers(int threads)
{
    if (threads > 0)
        return threads > MAX_WORKERS ? MAX_WORKERS : threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

/* ---- checksums ---------------------------------------------------------- */

/* A file's digest is BLAKE2b-256 over the authenticators (the last 16
 * bytes of each sealed frame) of the DATA messages that carried it, in
 * order, then its size: both ends have them for free, and they commit to
 * every byte of every chunk under the session key. See PROTOCOL.md. */
#define MACBYTES 16

static void digest_final(crypto_generichash_state *st, uint64_t size, uint8_t out[32])
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

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

void xfer_partmeta_encode(const struct xfer_partmeta *pm, uint8_t out[XFER_PARTMETA_LEN])
{
    memcpy(out, PARTMETA_MAGIC, 4);
    out[4] = PARTMETA_VERSION;
    put_be64(out + 5, pm->size);
    put_be64(out + 13, (uint64_t)pm->mtime_ns);
    put_be64(out + 21, pm->ino);
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

/* One entry of ACCEPT's resume list. */
#define RESUME_ENTRY (4 + 8 + XFER_DIGESTBYTES)

/* ---- small message helpers (control phase, one thread) ------------------ */

struct chan {
    int fd;
    struct frame_reader *fr;
    struct stream_tx tx;
    struct stream_rx rx;
    uint8_t *buf; /* OUT_CAP */
    uint8_t *in;  /* BUF_SIZE */
};

int xfer_have_zstd(void)
{
#ifdef PCP_HAVE_ZSTD
    return 1;
#else
    return 0;
#endif
}

static int chan_send(struct chan *c, const uint8_t *msg, size_t len, int final)
{
    size_t fl;
    int e = stream_seal(&c->tx, msg, len, final, c->buf, &fl);
    return e ? e : net_write_all(c->fd, c->buf, fl);
}

static int chan_recv(struct chan *c, size_t *len, int *final)
{
    const uint8_t *f;
    size_t fl;
    int e = frame_read(c->fr, FRAME_MAX, &f, &fl);
    return e ? e : stream_open(&c->rx, f, fl, c->in, len, final);
}

/* Each side sends its hello (header and cipher set), then both use the
 * cipher the two sets pick (a bare 24-byte header: a peer with the
 * secretstream only), under keys bound to both hellos; o->cipher and
 * o->zstd say what was agreed. */
static int chan_open(struct chan *c, int fd, struct frame_reader *fr, const uint8_t tx[32],
                     const uint8_t rx[32], struct xfer_opts *o)
{
    uint8_t hdr[STREAM_HELLOBYTES];
    const uint8_t *f;
    size_t fl;
    int e;
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->fr = fr;
    c->buf = malloc(OUT_CAP);
    c->in = malloc(BUF_SIZE);
    if (!c->buf || !c->in)
        return PCP_ERR_NOMEM;
    unsigned mine = stream_ciphers() & (o->ciphers ? o->ciphers : ~0u);
    hdr[STREAM_HEADERBYTES] = (uint8_t)(mine | 1u << STREAM_SECRETSTREAM);
#ifdef PCP_HAVE_ZSTD
    hdr[STREAM_HEADERBYTES] |= XFER_HELLO_ZSTD;
#endif
    if ((e = stream_tx_init(&c->tx, tx, hdr)) != 0 || (e = frame_write(fd, hdr, sizeof(hdr))) != 0)
        return e;
    if ((e = frame_read(fr, 64, &f, &fl)) != 0)
        return e;
    if (fl != STREAM_HEADERBYTES && fl != STREAM_HELLOBYTES)
        return PCP_ERR_PROTO;
    unsigned theirs = fl == STREAM_HELLOBYTES ? f[fl - 1] : 1u;
    o->cipher = stream_pick(hdr[STREAM_HEADERBYTES], theirs);
    o->zstd = (hdr[STREAM_HEADERBYTES] & theirs & XFER_HELLO_ZSTD) != 0;
    /* Neither hello was authenticated: both, as sent and as received, go
     * into both directions' keys, so that one changed on the way (to make
     * both ends settle for a weaker cipher, say) leaves the two ends with
     * different keys and the first message fails to open. */
    uint8_t k[STREAM_KEYBYTES];
    if ((e = stream_tx_bind(&c->tx, hdr, sizeof(hdr), f, fl)) != 0 ||
        (e = stream_tx_use(&c->tx, o->cipher)) != 0 ||
        (e = stream_hello_key(k, rx, f, fl, hdr, sizeof(hdr))) != 0)
        return e;
    e = stream_rx_init(&c->rx, o->cipher, k, f);
    sodium_memzero(k, sizeof(k));
    return e;
}

static void chan_close(struct chan *c)
{
    stream_tx_clear(&c->tx);
    stream_rx_clear(&c->rx);
    free(c->buf);
    free(c->in);
}

/* XM_ERROR or XM_REFUSE: u16 code ‖ text. */
static int send_error(struct chan *c, uint8_t type, int err, const char *text, int final)
{
    uint8_t m[512];
    size_t tl = text ? strlen(text) : 0;
    if (tl > sizeof(m) - 3)
        tl = sizeof(m) - 3;
    m[0] = type;
    m[1] = (uint8_t)((unsigned)(-err) >> 8);
    m[2] = (uint8_t)(-err);
    if (tl)
        memcpy(m + 3, text, tl);
    return chan_send(c, m, 3 + tl, final);
}

/* Keep the peer's text for the caller, printable bytes only. */
static int peer_error(struct xfer_opts *o, const uint8_t *m, size_t len)
{
    if (len < 3)
        return PCP_ERR_PROTO;
    int code = -(int)((unsigned)m[1] << 8 | m[2]);
    if (o->peer_msg && o->peer_msg_len) {
        size_t n = len - 3 < o->peer_msg_len - 1 ? len - 3 : o->peer_msg_len - 1;
        for (size_t i = 0; i < n; i++)
            o->peer_msg[i] = m[3 + i] >= 0x20 && m[3 + i] < 0x7f ? (char)m[3 + i] : '?';
        o->peer_msg[n] = '\0';
    }
    return code;
}

/* ---- progress ------------------------------------------------------------ */

struct counters {
    _Atomic uint64_t bytes, wire, files, resumed;
    _Atomic int finished;
    int64_t t0;
};

static void report(struct xfer_opts *o, struct counters *c, uint64_t total, uint64_t nfiles,
                   int done, struct xfer_progress *out)
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
        .seconds = (double)(mono_ns() - c->t0) / 1e9,
        .done = done,
    };
    if (out)
        *out = p;
    if (o->progress)
        o->progress(o->ud, &p);
}

/* What progress counts towards: the offer's bytes, or MF_SIZE_STREAM when
 * that is known only at the end. */
static uint64_t offer_total(const struct manifest *m)
{
    return m->n == 1 && mf_streamed(&m->e[0]) ? MF_SIZE_STREAM : m->total_bytes;
}

/* Wait for the pipeline to finish, reporting progress meanwhile. */
static void watch(struct xfer_opts *o, struct counters *c, uint64_t total, uint64_t nfiles)
{
    int64_t last = 0;
    while (!atomic_load(&c->finished)) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int64_t now = mono_ns();
        if (now - last >= 200 * 1000 * 1000) {
            report(o, c, total, nfiles, 0, NULL);
            last = now;
        }
    }
}

/* ======================================================================== */
/* Sender                                                                   */
/* ======================================================================== */

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
    return (uint64_t)st->st_size == e->size &&
           (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec == e->mtime_ns;
}

static size_t hdr_len(uint8_t kind)
{
    return kind == XM_FILES ? XM_FILES_HDR : XM_DATA_HDR;
}

/* The DATA or FILES message header in front of the slot's payload. */
static void data_header(struct slot *sl, size_t payload)
{
    uint8_t *h = sl->msg;
    h[0] = sl->kind;
    if (sl->kind == XM_FILES) {
        h[1] = sl->flags;
        put_be32(h + 2, sl->raw_len);
    } else {
        put_be32(h + 1, sl->file);
        put_be32(h + 5, (uint32_t)(sl->offset >> 32));
        put_be32(h + 9, (uint32_t)sl->offset);
        h[13] = sl->flags;
        put_be32(h + 14, sl->raw_len);
    }
    sl->msg_len = hdr_len(sl->kind) + payload;
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
    put_be32(rec, (uint32_t)i);
    put_be32(rec + 4, (uint32_t)en->size);
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
            posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
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
    z_stream zs[2]; /* levels 1 and 6; deflateEnd is safe on a zeroed one */
    memset(zs, 0, sizeof(zs));
    int ok = 1;
#ifdef PCP_HAVE_ZSTD
    /* zstd instead of zlib when both ends have it: as small or smaller, and
     * several times faster both ways. */
    ZSTD_CCtx *zc = s->o->zstd ? ZSTD_createCCtx() : NULL;
    if (!zc)
#endif
        ok = deflateInit2(&zs[0], 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK &&
             deflateInit2(&zs[1], 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    if (!ok) {
        deflateEnd(&zs[0]);
        ring_fail(&s->ring, PCP_ERR_NOMEM);
        return NULL;
    }
    struct slot *sl;
    while ((sl = ring_work(&s->ring)) != NULL) {
        if (sl->kind == XM_DATA || sl->kind == XM_FILES) {
            size_t hl = hdr_len(sl->kind);
            const uint8_t *raw = sl->msg + hl;
            size_t payload = sl->raw_len, n = 0;
            uint8_t flag = 0;
            sl->flags = 0;
            if (sl->try_deflate && sl->raw_len >= 512) {
                /* Worth it only when it saves at least 1/16. */
                size_t cap = sl->raw_len - sl->raw_len / 16;
#ifdef PCP_HAVE_ZSTD
                if (zc) {
                    n = ZSTD_compressCCtx(zc, sl->alt + hl, cap, raw, sl->raw_len,
                                          sl->try_deflate == 2 ? 6 : 1);
                    n = ZSTD_isError(n) ? 0 : n;
                    flag = XF_ZSTD;
                } else
#endif
                {
                    z_stream *z = &zs[sl->try_deflate - 1];
                    deflateReset(z);
                    z->next_in = (Bytef *)raw;
                    z->avail_in = sl->raw_len;
                    z->next_out = sl->alt + hl;
                    z->avail_out = (uInt)cap;
                    n = deflate(z, Z_FINISH) == Z_STREAM_END ? z->total_out : 0;
                    flag = XF_DEFLATED;
                }
            }
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
    deflateEnd(&zs[0]);
    deflateEnd(&zs[1]);
#ifdef PCP_HAVE_ZSTD
    ZSTD_freeCCtx(zc);
#endif
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
    int64_t now = mono_ns();
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
                     uint8_t mac[MACBYTES])
{
    size_t fl;
    int e = stream_seal(&s->c->tx, msg, len, final, s->c->buf + *pending, &fl);
    if (e)
        return e;
    *pending += fl;
    if (mac)
        memcpy(mac, s->c->buf + *pending - MACBYTES, MACBYTES);
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
            int64_t t = mono_ns();
            sl = ring_consume(&s->ring, 1);
            s->ad.waited += mono_ns() - t;
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
            uint8_t mac[MACBYTES];
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
            uint8_t m[1 + 4 + XFER_DIGESTBYTES];
            m[0] = XM_FILE_END;
            put_be32(m + 1, sl->file);
            const struct mf_entry *en = &s->m->e[sl->file];
            digest_final(&hs, mf_streamed(en) ? streamed : en->size, m + 5);
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
        uint8_t m[13];
        uint64_t total = s->m->total_bytes + streamed;
        m[0] = XM_END;
        put_be32(m + 1, (uint32_t)(total >> 32));
        put_be32(m + 5, (uint32_t)total);
        put_be32(m + 9, (uint32_t)s->m->nfiles);
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
        memcpy(c->in + 2, w.p + off, n);
        e = chan_send(c, c->in, 2 + n, 0);
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
    if (len < 5)
        return PCP_ERR_PROTO;
    uint32_t n = get_be32(msg + 1);
    if (n > m->nfiles || len != 5 + (size_t)n * RESUME_ENTRY)
        return PCP_ERR_PROTO;
    for (uint32_t k = 0; k < n; k++) {
        const uint8_t *p = msg + 5 + (size_t)k * RESUME_ENTRY;
        uint32_t i = get_be32(p);
        uint64_t have = (uint64_t)get_be32(p + 4) << 32 | get_be32(p + 8);
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
    int nw = nworkers(o->threads), started = 0;
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
        peer_error(o, c.in, len);
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
    s.cnt.t0 = mono_ns();
    pthread_create(&reader, NULL, reader_main, &s);
    for (started = 0; started < nw; started++)
        pthread_create(&workers[started], NULL, deflate_main, &s);
    pthread_create(&sealer, NULL, sealer_main, &s);
    watch(o, &s.cnt, offer_total(m), m->nfiles);
    pthread_join(reader, NULL);
    pthread_join(sealer, NULL);
    ring_fail(&s.ring, PCP_ERR_CANCELLED); /* wake idle workers */
    for (int i = 0; i < started; i++)
        pthread_join(workers[i], NULL);
    e = s.read_err ? s.read_err : s.seal_err;
    /* A local read failure stopped the sealer with the stream intact:
     * tell the receiver why. */
    if (s.read_err && s.seal_err == s.read_err)
        send_error(&c, XM_ERROR, s.read_err, pcp_strerror(s.read_err), 1);

    /* The receiver's answer decides: DONE once every file is in place, or
     * its error. After a failed write it may still have said why. */
    if (!e || e == PCP_ERR_CLOSED || e == PCP_ERR_NET) {
        int re = chan_recv(&c, &len, &final);
        if (re == 0 && len >= 1 && c.in[0] == XM_DONE && final && len == 1 && !e)
            e = 0;
        else if (re == 0 && len >= 3 && c.in[0] == XM_ERROR) {
            peer_error(o, c.in, len);
            e = PCP_ERR_PEER;
        } else if (!e)
            e = re ? re : PCP_ERR_PROTO;
    }
    report(o, &s.cnt, offer_total(m), m->nfiles, 1, result);
    ring_free(&s.ring);
out:
    sodium_memzero(s.rkey, sizeof(s.rkey));
    free(s.start);
    free(s.prefix);
    chan_close(&c);
    return e;
}

/* ======================================================================== */
/* Receiver                                                                 */
/* ======================================================================== */

/* A .pcp-part as it was when we offered to resume it: writing goes on
 * only into that same file. */
struct part_ref {
    dev_t dev;
    ino_t ino;
    uint8_t id[16];
};

struct receiver {
    const struct manifest *m;
    struct xfer_opts *o;
    struct ring ring;
    struct chan *c;
    struct counters cnt;
    int root;
    uint8_t *made_dir; /* per entry: 1 when we created that directory */
    int open_err, write_err;
    uint8_t *gone;                       /* per entry: its directory is not there */
    uint64_t *have;                      /* per entry: .pcp-part bytes offered */
    uint8_t (*prefix)[XFER_DIGESTBYTES]; /* ... and their hash */
    struct part_ref *ref;                /* ... and which .pcp-part that was */
    uint8_t rkey[32];                    /* keys the prefix hashes */
    mode_t umask;                        /* the process's, read once at the start */
    /* writer's cache of the last parent directory */
    char *pdir;
    int pfd;
};

/* Open the directory that holds `path` (relative to root), one component
 * at a time, refusing symlinks; with `create`, make missing directories.
 * Returns an fd the caller must not close (cached) and the leaf name. */
static int open_parent(struct receiver *r, const char *path, int create, const char **leaf)
{
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) : 0;
    *leaf = slash ? slash + 1 : path;
    if (r->pdir && strlen(r->pdir) == dl && !strncmp(r->pdir, path, dl))
        return r->pfd;
    if (r->pfd >= 0 && r->pfd != r->root)
        close(r->pfd);
    free(r->pdir);
    r->pdir = NULL;
    r->pfd = -1;
    int fd = r->root;
    const char *p = path;
    while (p < path + dl) {
        const char *e = memchr(p, '/', (size_t)(path + dl - p));
        size_t cl = e ? (size_t)(e - p) : (size_t)(path + dl - p);
        char comp[MF_NAME_MAX + 1];
        memcpy(comp, p, cl);
        comp[cl] = '\0';
        int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0 && errno == ENOENT && create) {
            if (mkdirat(fd, comp, 0700) != 0 && errno != EEXIST) {
                nfd = -1;
            } else {
                nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            }
        }
        int saved = errno;
        if (fd != r->root)
            close(fd);
        if (nfd < 0)
            return saved == ELOOP || saved == ENOTDIR ? PCP_ERR_UNSAFE_PATH : PCP_ERR_IO;
        fd = nfd;
        p += cl + 1;
    }
    r->pdir = strndup(path, dl);
    r->pfd = fd;
    if (!r->pdir)
        return PCP_ERR_NOMEM;
    return fd;
}

static void part_name(const char *leaf, uint32_t idx, char *out, size_t outlen)
{
    if (strlen(leaf) + sizeof(PART_SUFFIX) <= MF_NAME_MAX + 1)
        snprintf(out, outlen, "%s" PART_SUFFIX, leaf);
    else
        snprintf(out, outlen, ".pcp-%08x" PART_SUFFIX, idx);
}

/* A .pcp-part we may go on writing: a regular file of ours with no other
 * name. A hard link to a file elsewhere (which we would write through), a
 * file of another user in a shared directory, a FIFO or a device are not. */
static int part_check(int fd, struct stat *st)
{
    if (fstat(fd, st) != 0)
        return PCP_ERR_IO;
    if (!S_ISREG(st->st_mode) || st->st_nlink != 1 || st->st_uid != geteuid())
        return PCP_ERR_UNSAFE_PATH;
    return 0;
}

/* The record on the .pcp-part open as fd (stat st) says it was made for
 * an offer of this entry: its path, size and mtime, and this inode (a copy
 * with its attributes is not the file we made). *pm gets the record. */
static int part_meta(int fd, const struct mf_entry *en, const struct stat *st,
                     struct xfer_partmeta *pm)
{
    uint8_t b[XFER_PARTMETA_LEN + 1], ph[16];
    ssize_t n = fgetxattr(fd, XFER_PART_XATTR, b, sizeof(b));
    if (n < 0 || xfer_partmeta_parse(b, (size_t)n, pm) != 0)
        return PCP_ERR_CHANGED;
    xfer_partmeta_path_hash(en->path, ph);
    if (pm->size != en->size || pm->mtime_ns != en->mtime_ns || pm->ino != (uint64_t)st->st_ino ||
        sodium_memcmp(pm->path_hash, ph, sizeof(ph)) != 0)
        return PCP_ERR_CHANGED;
    return 0;
}

static int rename_final(int dfd, const char *from, const char *to, int overwrite)
{
    if (overwrite)
        return renameat(dfd, from, dfd, to) == 0 ? 0 : PCP_ERR_IO;
    if (renameat2(dfd, from, dfd, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EEXIST)
        return PCP_ERR_EXISTS;
    if (errno != EINVAL && errno != ENOSYS)
        return PCP_ERR_IO;
    /* File systems without RENAME_NOREPLACE: link() never replaces. */
    if (linkat(dfd, from, dfd, to, 0) != 0)
        return errno == EEXIST ? PCP_ERR_EXISTS : PCP_ERR_IO;
    unlinkat(dfd, from, 0);
    return 0;
}

static void set_err_path(struct receiver *r, const char *path)
{
    if (r->o->err_path && r->o->err_path_len)
        snprintf(r->o->err_path, r->o->err_path_len, "%s", path);
}

static void *opener_main(void *arg)
{
    struct receiver *r = arg;
    int e = 0;
    for (;;) {
        const uint8_t *f;
        size_t fl, len;
        int final;
        if ((e = frame_read(r->c->fr, FRAME_MAX, &f, &fl)) != 0)
            break;
        atomic_fetch_add(&r->cnt.wire, fl + FRAME_PREFIX);
        struct slot *sl = ring_produce(&r->ring);
        if (!sl) {
            e = ring_error(&r->ring);
            break;
        }
        if ((e = stream_open(&r->c->rx, f, fl, sl->msg, &len, &final)) != 0)
            break;
        struct rbuf b;
        uint32_t offhi, offlo;
        rbuf_init(&b, sl->msg, len);
        if ((e = rbuf_get_u8(&b, &sl->kind)) != 0)
            break;
        sl->msg_len = len;
        switch (sl->kind) {
        case XM_DATA:
            if ((e = rbuf_get_u32(&b, &sl->file)) || (e = rbuf_get_u32(&b, &offhi)) ||
                (e = rbuf_get_u32(&b, &offlo)) || (e = rbuf_get_u8(&b, &sl->flags)) ||
                (e = rbuf_get_u32(&b, &sl->raw_len)))
                break;
            sl->offset = (uint64_t)offhi << 32 | offlo;
            sl->payload_len = rbuf_left(&b);
            memcpy(sl->tag, f + fl - MACBYTES, MACBYTES); /* opened: fl > MACBYTES */
            if (sl->raw_len > STREAM_CHUNK ||
                (sl->flags != 0 && sl->flags != XF_DEFLATED &&
                 !(sl->flags == XF_ZSTD && r->o->zstd)) ||
                (!sl->flags && sl->payload_len != sl->raw_len))
                e = PCP_ERR_PROTO;
            break;
        case XM_FILES:
            if ((e = rbuf_get_u8(&b, &sl->flags)) || (e = rbuf_get_u32(&b, &sl->raw_len)))
                break;
            sl->payload_len = rbuf_left(&b);
            if (sl->raw_len > STREAM_CHUNK || sl->raw_len == 0 ||
                (sl->flags != 0 && sl->flags != XF_DEFLATED &&
                 !(sl->flags == XF_ZSTD && r->o->zstd)) ||
                (!sl->flags && sl->payload_len != sl->raw_len))
                e = PCP_ERR_PROTO;
            break;
        case XM_FILE_END:
            if (len != 1 + 4 + XFER_DIGESTBYTES)
                e = PCP_ERR_PROTO;
            else
                e = rbuf_get_u32(&b, &sl->file);
            break;
        case XM_END:
            if (len != 13)
                e = PCP_ERR_PROTO;
            break;
        case XM_ERROR:
            break;
        default:
            e = PCP_ERR_PROTO;
        }
        /* Only END and ERROR may close the stream, and they must. */
        if (!e && (final != (sl->kind == XM_END || sl->kind == XM_ERROR)))
            e = PCP_ERR_PROTO;
        if (e)
            break;
        int data = sl->kind == XM_DATA || sl->kind == XM_FILES;
        if (data && sl->flags) {
            ring_produced(&r->ring, sl);
        } else {
            /* Stored raw or not data: no worker needed. */
            if (data)
                sl->data = sl->msg + hdr_len(sl->kind);
            ring_produced_done(&r->ring, sl);
        }
        if (final)
            break;
    }
    if (e) {
        r->open_err = e;
        ring_fail(&r->ring, e);
    }
    ring_close(&r->ring);
    return NULL;
}

static void *inflate_main(void *arg)
{
    struct receiver *r = arg;
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -15) != Z_OK) {
        ring_fail(&r->ring, PCP_ERR_NOMEM);
        return NULL;
    }
#ifdef PCP_HAVE_ZSTD
    ZSTD_DCtx *zd = r->o->zstd ? ZSTD_createDCtx() : NULL;
    /* A chunk is at most 256 KiB: a frame that asks for a larger window is
     * refused, not given the memory. */
    if (zd)
        ZSTD_DCtx_setParameter(zd, ZSTD_d_windowLogMax, 18);
    else if (r->o->zstd) {
        inflateEnd(&z);
        ring_fail(&r->ring, PCP_ERR_NOMEM);
        return NULL;
    }
#endif
    struct slot *sl;
    while ((sl = ring_work(&r->ring)) != NULL) {
        if (sl->kind == XM_DATA || sl->kind == XM_FILES) {
            const uint8_t *payload = sl->msg + hdr_len(sl->kind);
#ifdef PCP_HAVE_ZSTD
            if (sl->flags == XF_ZSTD) {
                /* Exactly raw_len bytes from exactly one frame. */
                size_t n = ZSTD_decompressDCtx(zd, sl->alt, sl->raw_len, payload, sl->payload_len);
                if (ZSTD_isError(n) || n != sl->raw_len) {
                    ring_fail(&r->ring, PCP_ERR_PROTO);
                    ring_worked(&r->ring, sl);
                    continue;
                }
                sl->data = sl->alt;
            } else
#endif
                if (sl->flags & XF_DEFLATED) {
                inflateReset(&z);
                z.next_in = (Bytef *)payload;
                z.avail_in = (uInt)sl->payload_len;
                z.next_out = sl->alt;
                z.avail_out = sl->raw_len;
                int zr = inflate(&z, Z_FINISH);
                /* Exactly raw_len bytes and the end of the deflate stream,
                 * with no input left over: anything else is a lie. */
                if (zr != Z_STREAM_END || z.avail_out != 0 || z.avail_in != 0) {
                    ring_fail(&r->ring, PCP_ERR_PROTO);
                    ring_worked(&r->ring, sl);
                    continue;
                }
                sl->data = sl->alt;
            } else {
                sl->data = payload;
            }
        }
        ring_worked(&r->ring, sl);
    }
    inflateEnd(&z);
#ifdef PCP_HAVE_ZSTD
    ZSTD_freeDCtx(zd);
#endif
    return NULL;
}

struct wstate {
    size_t next; /* manifest index of the next file expected */
    int fd;      /* its .pcp-part, or -1 */
    uint64_t got;
    uint64_t streamed; /* bytes of a file the offer gave no size for */
    int tagged;        /* the .pcp-part carries XFER_PART_XATTR */
    crypto_generichash_state hs;
    char part[MF_NAME_MAX + 16];
};

static size_t next_file(const struct manifest *m, size_t i)
{
    while (i < m->n && m->e[i].type != MF_FILE)
        i++;
    return i;
}

/* Go on with the .pcp-part offered for resume, in dfd: the same file as
 * at offer time (dev, inode and the id of its record), still a regular
 * file of ours with one name and at least `have` bytes. The sender already
 * starts after `have`, so a part that changed since is an error, not a
 * fresh start. O_NONBLOCK: a FIFO put there meanwhile cannot block the
 * open (and fails the checks). */
static int part_resume(struct receiver *r, struct wstate *w, int dfd, uint64_t have)
{
    const struct mf_entry *en = &r->m->e[w->next];
    const struct part_ref *ref = &r->ref[w->next];
    struct xfer_partmeta pm;
    struct stat st;
    int fd = openat(dfd, w->part, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int e = 0;
    if (fd < 0)
        return errno == ENOENT || errno == ELOOP || errno == ENXIO ? PCP_ERR_CHANGED : PCP_ERR_IO;
    if ((e = part_check(fd, &st)) != 0 || st.st_dev != ref->dev || st.st_ino != ref->ino ||
        (uint64_t)st.st_size < have || part_meta(fd, en, &st, &pm) != 0 ||
        sodium_memcmp(pm.id, ref->id, sizeof(pm.id)) != 0)
        e = e == PCP_ERR_IO ? e : PCP_ERR_CHANGED;
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
             ftruncate(fd, (off_t)have) != 0 || lseek(fd, (off_t)have, SEEK_SET) < 0)
        e = PCP_ERR_IO;
    if (e) {
        close(fd);
        return e;
    }
    w->fd = fd;
    w->tagged = 1;
    return 0;
}

/* A new .pcp-part in dfd. Whatever has that name is never opened: it is
 * unlinked, which removes only the name (a hard link's other names keep
 * their content), and the new file is made with O_EXCL (which opens no
 * existing object, so a FIFO cannot block it and a link is not followed).
 * With `tag`, it gets the record that lets a later transfer of the same
 * offer resume it; without (files that travel whole, streams), none. */
static int part_create(struct receiver *r, struct wstate *w, int dfd, int tag)
{
    const struct mf_entry *en = &r->m->e[w->next];
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(dfd, w->part, flags, 0600);
    if (fd < 0 && errno == EEXIST && (unlinkat(dfd, w->part, 0) == 0 || errno == ENOENT))
        fd = openat(dfd, w->part, flags, 0600);
    if (fd < 0)
        return errno == ELOOP ? PCP_ERR_UNSAFE_PATH : PCP_ERR_IO;
    w->fd = fd;
    struct stat st;
    if (tag && fstat(fd, &st) == 0) {
        /* A file system without user attributes (FAT, tmpfs before Linux
         * 6.6) keeps no record: that part is simply never resumed. */
        struct xfer_partmeta pm = {
            .size = en->size, .mtime_ns = en->mtime_ns, .ino = (uint64_t)st.st_ino};
        uint8_t b[XFER_PARTMETA_LEN];
        xfer_partmeta_path_hash(en->path, pm.path_hash);
        randombytes_buf(pm.id, sizeof(pm.id));
        xfer_partmeta_encode(&pm, b);
        w->tagged = fsetxattr(fd, XFER_PART_XATTR, b, sizeof(b), 0) == 0;
    }
    return 0;
}

/* The file's first message says where its data starts (`from`): where we
 * offered to resume (the sender's prefix matched), or 0 (start over).
 * `batch`: the file arrives whole in this FILES message. */
static int begin_file(struct receiver *r, struct wstate *w, uint64_t from, int batch)
{
    const struct mf_entry *en = &r->m->e[w->next];
    uint64_t have = r->have ? r->have[w->next] : 0;
    int resume = have && from == have;
    const char *leaf;
    int e;
    crypto_generichash_init(&w->hs, NULL, 0, XFER_DIGESTBYTES);
    w->got = 0;
    w->tagged = 0;
    if (r->o->to_stdout) {
        w->fd = STDOUT_FILENO;
        return 0;
    }
    int dfd = open_parent(r, en->path, 1, &leaf);
    if (dfd < 0) {
        set_err_path(r, en->path);
        return dfd;
    }
    part_name(leaf, (uint32_t)w->next, w->part, sizeof(w->part));
    e = resume ? part_resume(r, w, dfd, have) : part_create(r, w, dfd, !batch && !mf_streamed(en));
    if (e) {
        set_err_path(r, en->path);
        return e;
    }
    if (resume) {
        crypto_generichash_update(&w->hs, r->prefix[w->next], XFER_DIGESTBYTES);
        w->got = have;
        atomic_fetch_add(&r->cnt.resumed, have);
    }
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno == ENOSPC || errno == EDQUOT ? PCP_ERR_NOSPACE : PCP_ERR_IO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* digest is NULL for a file of a FILES batch: one authenticator covers it whole. */
static int end_file(struct receiver *r, struct wstate *w, const uint8_t *digest)
{
    const struct mf_entry *en = &r->m->e[w->next];
    const char *leaf;
    int e = 0;
    if (mf_streamed(en))
        w->streamed = w->got;
    else if (w->got != en->size)
        return PCP_ERR_PROTO;
    if (digest) {
        uint8_t mine[XFER_DIGESTBYTES];
        digest_final(&w->hs, w->got, mine);
        if (sodium_memcmp(mine, digest, sizeof(mine)) != 0) {
            set_err_path(r, en->path);
            return PCP_ERR_DIGEST;
        }
    }
    if (r->o->to_stdout) {
        w->fd = -1;
        atomic_fetch_add(&r->cnt.files, 1);
        w->next = next_file(r->m, w->next + 1);
        return 0;
    }
    struct timespec ts[2] = {
        {0, UTIME_OMIT}, {(time_t)(en->mtime_ns / 1000000000), (long)(en->mtime_ns % 1000000000)}};
    if (ts[1].tv_nsec < 0) {
        ts[1].tv_sec--;
        ts[1].tv_nsec += 1000000000;
    }
    /* The final name carries no trace of the transfer, and the mode the
     * user's umask allows, as any program's new file would. */
    if (w->tagged)
        fremovexattr(w->fd, XFER_PART_XATTR);
    if (fchmod(w->fd, en->mode & ~r->umask & 07777) != 0 || futimens(w->fd, ts) != 0)
        e = PCP_ERR_IO;
    if (close(w->fd) != 0 && !e)
        e = PCP_ERR_IO;
    w->fd = -1;
    if (e)
        return e;
    int dfd = open_parent(r, en->path, 1, &leaf);
    if (dfd < 0)
        return dfd;
    if ((e = rename_final(dfd, w->part, leaf, r->o->overwrite)) != 0) {
        set_err_path(r, en->path);
        return e;
    }
    atomic_fetch_add(&r->cnt.files, 1);
    w->next = next_file(r->m, w->next + 1);
    return 0;
}

/* After every file: links (last, so that none can redirect a write), then
 * directory modes and times (last of all, since writing changes them). */
static int finish_tree(struct receiver *r)
{
    const struct manifest *m = r->m;
    const char *leaf;
    for (size_t i = 0; i < m->n; i++) {
        const struct mf_entry *en = &m->e[i];
        if (en->type != MF_LINK)
            continue;
        int dfd = open_parent(r, en->path, 1, &leaf);
        if (dfd < 0) {
            set_err_path(r, en->path);
            return dfd;
        }
        if (r->o->overwrite)
            unlinkat(dfd, leaf, 0);
        if (symlinkat(en->link, dfd, leaf) != 0) {
            set_err_path(r, en->path);
            return errno == EEXIST ? PCP_ERR_EXISTS : PCP_ERR_IO;
        }
    }
    for (size_t i = m->n; i-- > 0;) {
        const struct mf_entry *en = &m->e[i];
        if (en->type != MF_DIR || !r->made_dir[i])
            continue;
        int dfd = open_parent(r, en->path, 0, &leaf);
        if (dfd < 0)
            return dfd;
        struct timespec ts[2] = {
            {0, UTIME_OMIT},
            {(time_t)(en->mtime_ns / 1000000000), (long)(en->mtime_ns % 1000000000)}};
        if (ts[1].tv_nsec < 0)
            ts[1].tv_nsec = 0;
        /* Through a descriptor of the directory itself, never a link put
         * in its place (fchmodat follows one, to wherever it points). The
         * owner keeps rwx, so that we can write there again; the umask
         * applies to the rest. */
        int fd = openat(dfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            set_err_path(r, en->path);
            return errno == ELOOP || errno == ENOTDIR ? PCP_ERR_UNSAFE_PATH : PCP_ERR_IO;
        }
        int bad = fchmod(fd, (en->mode & ~r->umask & 0777) | 0700) != 0 || futimens(fd, ts) != 0;
        close(fd);
        if (bad)
            return PCP_ERR_IO;
    }
    return 0;
}

/* The records of a FILES message: the next files of the offer, each whole.
 * All of them are checked before the first is written, so that a batch
 * that breaks the rules leaves nothing behind. */
static int write_batch(struct receiver *r, struct wstate *w, const uint8_t *p, size_t len)
{
    const struct manifest *m = r->m;
    size_t next = w->next;
    if (w->fd >= 0)
        return PCP_ERR_PROTO; /* in the middle of a file's chunks */
    for (size_t off = 0; off < len;) {
        if (len - off < XM_FILES_REC || next >= m->n || get_be32(p + off) != next ||
            get_be32(p + off + 4) != m->e[next].size || m->e[next].size > len - off - XM_FILES_REC)
            return PCP_ERR_PROTO;
        off += XM_FILES_REC + m->e[next].size;
        next = next_file(m, next + 1);
    }
    for (size_t off = 0; off < len;) {
        const struct mf_entry *en = &m->e[w->next];
        int e = begin_file(r, w, 0, 1);
        if (!e && (e = write_all(w->fd, p + off + XM_FILES_REC, (size_t)en->size)) != 0)
            set_err_path(r, en->path);
        if (e)
            return e;
        w->got = en->size;
        atomic_fetch_add(&r->cnt.bytes, en->size);
        if ((e = end_file(r, w, NULL)) != 0)
            return e;
        off += XM_FILES_REC + en->size;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    struct receiver *r = arg;
    const struct manifest *m = r->m;
    struct wstate w = {.next = next_file(m, 0), .fd = -1};
    int e = 0, ended = 0;
    struct slot *sl;
    while (!e && (sl = ring_consume(&r->ring, 1)) != NULL) {
        switch (sl->kind) {
        case XM_DATA:
        case XM_FILE_END:
            /* Files arrive in offer order, each chunk exactly where the
             * previous one stopped. */
            if (sl->file != w.next || w.next >= m->n) {
                e = PCP_ERR_PROTO;
                break;
            }
            if (w.fd < 0 &&
                (e = begin_file(r, &w, sl->kind == XM_DATA ? sl->offset : m->e[w.next].size, 0)) !=
                    0)
                break;
            if (sl->kind == XM_FILE_END) {
                e = end_file(r, &w, sl->msg + 5);
                break;
            }
            /* A streamed file's chunks may be short (what a slow pipe
             * gave the sender) or empty (a sign of life while it is quiet). */
            if (sl->offset != w.got ||
                (!mf_streamed(&m->e[w.next]) &&
                 (sl->raw_len == 0 || sl->raw_len > m->e[w.next].size - w.got ||
                  (sl->raw_len != STREAM_CHUNK && w.got + sl->raw_len != m->e[w.next].size)))) {
                e = PCP_ERR_PROTO;
                break;
            }
            if ((e = write_all(w.fd, sl->data, sl->raw_len)) != 0) {
                set_err_path(r, m->e[w.next].path);
                break;
            }
            crypto_generichash_update(&w.hs, sl->tag, sizeof(sl->tag));
            w.got += sl->raw_len;
            atomic_fetch_add(&r->cnt.bytes, sl->raw_len);
            break;
        case XM_FILES:
            e = write_batch(r, &w, sl->data, sl->raw_len);
            break;
        case XM_END: {
            uint64_t total = (uint64_t)get_be32(sl->msg + 1) << 32 | get_be32(sl->msg + 5);
            if (w.next != m->n || w.fd >= 0 || total != m->total_bytes + w.streamed ||
                get_be32(sl->msg + 9) != (uint32_t)m->nfiles)
                e = PCP_ERR_PROTO;
            else
                e = finish_tree(r);
            ended = !e;
            break;
        }
        case XM_ERROR:
            peer_error(r->o, sl->msg, sl->msg_len);
            e = PCP_ERR_PEER;
            break;
        default:
            e = PCP_ERR_PROTO;
        }
        ring_consumed(&r->ring, sl);
    }
    if (!e && !ended)
        e = ring_error(&r->ring);
    if (!e && !ended)
        e = PCP_ERR_TRUNCATED;
    if (w.fd >= 0 && !r->o->to_stdout)
        close(w.fd); /* the .pcp-part stays: it never carries the final name */
    if (e) {
        r->write_err = e;
        ring_fail(&r->ring, e);
    }
    atomic_store(&r->cnt.finished, 1);
    return NULL;
}

/* Each OFFER message is decoded as it arrives, so that what a hostile
 * offer can make us hold before the user answers is the decoder's bound
 * (MF_MEM_MAX: entries, names and one unfinished entry), not the whole
 * encoded offer as well; PCP_ERR_TOO_BIG as soon as it would pass it. */
/* *bad_offer: the messages arrived, and what they say was refused. */
static int recv_offer(struct chan *c, struct manifest *m, int *bad_offer)
{
    struct mf_decoder d;
    size_t len;
    int final, e;
    manifest_decoder_init(&d, m);
    for (;;) {
        if ((e = chan_recv(c, &len, &final)) != 0)
            break;
        if (final || len < 2 || c->in[0] != XM_OFFER || c->in[1] > 1) {
            e = PCP_ERR_PROTO;
            break;
        }
        if ((e = manifest_decoder_feed(&d, c->in + 2, len - 2)) != 0 || c->in[1]) {
            *bad_offer = e != 0;
            break;
        }
    }
    if (!e && (e = manifest_decoder_finish(&d)) != 0)
        *bad_offer = 1;
    manifest_decoder_free(&d);
    if (e)
        manifest_free(m);
    return e;
}

static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
        return PCP_ERR_INVAL;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return PCP_ERR_IO;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return PCP_ERR_IO;
    return 0;
}

/* Entry i's .pcp-part from an earlier, interrupted transfer of this same
 * offer, opened for reading, or -1: a regular file of ours with one name
 * (part_check), of 1 to the entry's size bytes (*st says how many), whose
 * record says it was made for this path, size and mtime and is this inode
 * (part_meta; *pm gets it). A part from another offer, one that was
 * planted, swapped or linked, starts over: resume answers only the offer
 * it came from. Never through a link, and a FIFO cannot block the open. */
static int part_open(struct receiver *r, size_t i, struct stat *st, struct xfer_partmeta *pm)
{
    const struct mf_entry *en = &r->m->e[i];
    const char *leaf;
    char part[MF_NAME_MAX + 16];
    if (en->type != MF_FILE || en->size == 0 || mf_streamed(en))
        return -1;
    int dfd = open_parent(r, en->path, 0, &leaf);
    if (dfd < 0)
        return -1;
    part_name(leaf, (uint32_t)i, part, sizeof(part));
    int fd = openat(dfd, part, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0 && (part_check(fd, st) != 0 || st->st_size <= 0 ||
                    (uint64_t)st->st_size > en->size || part_meta(fd, en, st, pm) != 0)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Before saying yes: can we write here at all, and is there room for
 * what is still to come (the offer less what .pcp-part files already
 * hold)? *need and *avail say how much when there is not. */
static int room_check(struct receiver *r, uint64_t *need, uint64_t *avail)
{
    const struct manifest *m = r->m;
    char probe[32];
    snprintf(probe, sizeof(probe), ".pcp-probe-%08x", randombytes_random());
    int fd = openat(r->root, probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == ENOSPC || errno == EDQUOT ? PCP_ERR_NOSPACE : PCP_ERR_IO;
    close(fd);
    unlinkat(r->root, probe, 0);
    /* What .pcp-part files hold now; offer_resume looks only at these. */
    r->have = calloc(m->n ? m->n : 1, sizeof(*r->have));
    r->prefix = calloc(m->n ? m->n : 1, sizeof(*r->prefix));
    r->ref = calloc(m->n ? m->n : 1, sizeof(*r->ref));
    if (!r->have || !r->prefix || !r->ref)
        return PCP_ERR_NOMEM;
    *need = m->total_bytes;
    for (size_t i = 0; i < m->n; i++) {
        struct stat st;
        struct xfer_partmeta pm;
        if (!r->gone[i] && (fd = part_open(r, i, &st, &pm)) >= 0) {
            r->have[i] = (uint64_t)st.st_size;
            *need -= r->have[i];
            close(fd);
        }
    }
    struct statvfs vfs;
    if (fstatvfs(r->root, &vfs) != 0)
        return 0; /* cannot tell: the writes will */
    *avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    return *avail < *need ? PCP_ERR_NOSPACE : 0;
}

/* Before asking the user: would anything be overwritten? */
static int precheck(struct receiver *r)
{
    const struct manifest *m = r->m;
    const char *missing = NULL; /* a directory of the offer not in the target */
    size_t ml = 0;
    if (!(r->gone = calloc(m->n ? m->n : 1, 1)))
        return PCP_ERR_NOMEM;
    for (size_t i = 0; i < m->n; i++) {
        struct stat st;
        const struct mf_entry *en = &m->e[i];
        /* Below a directory that is not there, nothing is: no system call
         * for each entry of a new tree (the offer lists a directory before
         * what it holds). */
        if (missing && !strncmp(en->path, missing, ml) && en->path[ml] == '/') {
            r->gone[i] = 1;
            continue;
        }
        if (fstatat(r->root, en->path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (en->type == MF_DIR && errno == ENOENT) {
                missing = en->path;
                ml = strlen(missing);
            }
            continue;
        }
        if (en->type == MF_DIR && S_ISDIR(st.st_mode))
            continue;
        if (!r->o->overwrite || S_ISDIR(st.st_mode) || en->type == MF_DIR) {
            set_err_path(r, en->path);
            return PCP_ERR_EXISTS;
        }
    }
    return 0;
}

static int make_dirs(struct receiver *r)
{
    const struct manifest *m = r->m;
    const char *leaf;
    for (size_t i = 0; i < m->n; i++) {
        const struct mf_entry *en = &m->e[i];
        if (en->type != MF_DIR)
            continue;
        int dfd = open_parent(r, en->path, 1, &leaf);
        if (dfd < 0) {
            set_err_path(r, en->path);
            return dfd;
        }
        if (mkdirat(dfd, leaf, 0700) == 0)
            r->made_dir[i] = 1;
        else if (errno != EEXIST) {
            set_err_path(r, en->path);
            return PCP_ERR_IO;
        }
    }
    return 0;
}

/* ACCEPT, with what is already here: each file's .pcp-part (from an
 * earlier, interrupted transfer of this offer, see part_open) that is no
 * longer than the file, its length and the keyed BLAKE2b of its content;
 * as many as one message holds. */
static int offer_resume(struct receiver *r)
{
    const struct manifest *m = r->m;
    size_t len = 5, cap = STREAM_CHUNK;
    uint32_t n = 0;
    uint64_t bytes = 0;
    uint8_t *msg = malloc(cap);
    if (!msg)
        return PCP_ERR_NOMEM;
    for (size_t i = 0; i < m->n; i++) {
        struct stat st;
        struct xfer_partmeta pm;
        int fd = r->have[i] && len + RESUME_ENTRY <= cap ? part_open(r, i, &st, &pm) : -1;
        r->have[i] = 0; /* offered below, or not at all */
        if (fd < 0)
            continue;
        if (xfer_prefix_hash(fd, (uint64_t)st.st_size, r->rkey, r->prefix[i]) == 0) {
            r->have[i] = (uint64_t)st.st_size;
            r->ref[i].dev = st.st_dev;
            r->ref[i].ino = st.st_ino;
            memcpy(r->ref[i].id, pm.id, sizeof(pm.id));
            uint8_t *p = msg + len;
            put_be32(p, (uint32_t)i);
            put_be32(p + 4, (uint32_t)(r->have[i] >> 32));
            put_be32(p + 8, (uint32_t)r->have[i]);
            memcpy(p + 12, r->prefix[i], XFER_DIGESTBYTES);
            len += RESUME_ENTRY;
            n++;
            bytes += r->have[i];
        }
        close(fd);
    }
    if (n && r->o->resuming)
        r->o->resuming(r->o->ud, n, bytes);
    msg[0] = XM_ACCEPT;
    put_be32(msg + 1, n);
    int e = chan_send(r->c, msg, n ? len : 1, 0);
    free(msg);
    return e;
}

/* Before asking: the target directory is there and writable, nothing
 * would be overwritten, and there is room. The refusal says why. */
static int prepare_disk(struct receiver *r, struct chan *c)
{
    int e;
    const char *out_dir = r->o->out_dir ? r->o->out_dir : ".";
    if ((e = mkdir_p(out_dir)) != 0 ||
        (r->root = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        e = PCP_ERR_IO;
        set_err_path(r, out_dir);
        send_error(c, XM_REFUSE, e, "the receiver cannot write to its target directory", 0);
        return e;
    }
    if ((e = precheck(r)) != 0) {
        send_error(c, XM_REFUSE, e, "a file of that name already exists on the receiver", 0);
        return e;
    }
    if ((e = room_check(r, &r->o->space_needed, &r->o->space_free)) != 0) {
        char why[160];
        if (r->o->space_needed > r->o->space_free)
            snprintf(why, sizeof(why),
                     "not enough space on the receiver: %llu bytes needed, %llu free",
                     (unsigned long long)r->o->space_needed, (unsigned long long)r->o->space_free);
        else
            snprintf(why, sizeof(why), "the receiver cannot write to its target directory");
        set_err_path(r, out_dir);
        send_error(c, XM_REFUSE, e, why, 0);
        return e;
    }
    return 0;
}

/* The process's umask, without changing it. umask() reads it only by
 * setting it, and for that moment a file that another thread of the
 * process (discovery, a TLS bridge) creates would get the wrong mode;
 * Linux shows it in /proc/self/status since 4.7. Only without that is it
 * set and put back, here, before this transfer starts any thread. */
static mode_t read_umask(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[128];
    long mask = -1;
    while (f && mask < 0 && fgets(line, sizeof(line), f)) {
        char *end;
        if (strncmp(line, "Umask:", 6) != 0)
            continue;
        long v = strtol(line + 6, &end, 8);
        if (end != line + 6 && (*end == '\n' || *end == '\0') && v >= 0 && v <= 0777)
            mask = v;
        break;
    }
    if (f)
        fclose(f);
    if (mask < 0) {
        mode_t old = umask(077);
        umask(old);
        return old & 0777;
    }
    return (mode_t)mask;
}

int xfer_receive(int fd, struct frame_reader *fr, const uint8_t tx[32], const uint8_t rx[32],
                 struct xfer_opts *o, struct xfer_progress *result)
{
    struct chan c;
    struct receiver r;
    struct manifest m;
    pthread_t opener, writer, workers[MAX_WORKERS];
    int nw = nworkers(o->threads), started = 0, e;

    memset(&r, 0, sizeof(r));
    manifest_init(&m);
    r.m = &m;
    r.o = o;
    r.c = &c;
    r.root = -1;
    r.pfd = -1;
    r.umask = read_umask();
    xfer_resume_key(tx, rx, 0, r.rkey);
    if ((e = chan_open(&c, fd, fr, tx, rx, o)) != 0)
        goto out;
    if ((e = recv_offer(&c, &m, &o->offer_refused)) != 0) {
        send_error(&c, XM_REFUSE, e,
                   e == PCP_ERR_TOO_BIG
                       ? "offer refused: too large for the receiver to hold before asking "
                         "(64 MiB of entries and names)"
                   : e == PCP_ERR_UNSAFE_PATH
                       ? "offer refused: an unsafe name or path (control characters, '..', "
                         "absolute, or a link leading outside)"
                       : "offer refused: malformed",
                   0);
        goto out;
    }
    size_t bad;
    if ((e = manifest_check_tree(&m, &bad)) != 0) {
        o->offer_refused = 1;
        if (e == PCP_ERR_UNSAFE_PATH)
            set_err_path(&r, m.e[bad].path);
        send_error(&c, XM_REFUSE, e,
                   "offer refused: a path twice, or outside the directories it lists", 0);
        goto out;
    }
    /* A message, or one file for standard output, touches no directory. */
    int text = m.n == 1 && m.e[0].type == MF_TEXT;
    if (o->to_stdout && !text && (m.n != 1 || m.e[0].type != MF_FILE)) {
        e = PCP_ERR_INVAL;
        send_error(&c, XM_REFUSE, e,
                   "the receiver takes one file on its standard output, not a directory or "
                   "several files",
                   0);
        goto out;
    }
    if (!text && !o->to_stdout && (e = prepare_disk(&r, &c)) != 0)
        goto out;
    if (o->confirm && !o->confirm(o->ud, &m)) {
        e = PCP_ERR_REFUSED;
        send_error(&c, XM_REFUSE, e, "the receiver declined", 0);
        goto out;
    }
    if (!(r.made_dir = calloc(m.n ? m.n : 1, 1))) {
        e = PCP_ERR_NOMEM;
        goto out;
    }
    if (text || o->to_stdout) {
        uint8_t accept = XM_ACCEPT;
        e = chan_send(&c, &accept, 1, 0);
    } else if ((e = make_dirs(&r)) != 0) {
        send_error(&c, XM_REFUSE, e, "the receiver cannot create a directory", 0);
    } else {
        e = offer_resume(&r);
    }
    if (e)
        goto out;
    net_set_timeout(fd, o->stall_ms ? o->stall_ms : XFER_STALL_MS);

    if ((e = ring_init(&r.ring, RING_SLOTS + (size_t)nw, BUF_SIZE)) != 0)
        goto out;
    r.cnt.t0 = mono_ns();
    pthread_create(&opener, NULL, opener_main, &r);
    for (started = 0; started < nw; started++)
        pthread_create(&workers[started], NULL, inflate_main, &r);
    pthread_create(&writer, NULL, writer_main, &r);
    watch(o, &r.cnt, offer_total(&m), m.nfiles);
    pthread_join(writer, NULL);
    /* The opener may sit in recv(): the socket's stall timeout or the
     * peer's close ends it; on our own error, shut the socket to end it now. */
    if (r.write_err)
        shutdown(fd, SHUT_RD);
    pthread_join(opener, NULL);
    ring_fail(&r.ring, PCP_ERR_CANCELLED);
    for (int i = 0; i < started; i++)
        pthread_join(workers[i], NULL);
    e = r.write_err;
    if (!e) {
        uint8_t done = XM_DONE;
        e = chan_send(&c, &done, 1, 1);
    } else if (e != PCP_ERR_PEER && e != PCP_ERR_CLOSED && e != PCP_ERR_NET) {
        send_error(&c, XM_ERROR, e, pcp_strerror(e), 1);
    }
    report(o, &r.cnt, offer_total(&m), m.nfiles, 1, result);
    ring_free(&r.ring);
out:
    if (r.pfd >= 0 && r.pfd != r.root)
        close(r.pfd);
    free(r.pdir);
    if (r.root >= 0)
        close(r.root);
    free(r.made_dir);
    free(r.gone);
    free(r.have);
    free(r.prefix);
    free(r.ref);
    sodium_memzero(r.rkey, sizeof(r.rkey));
    manifest_free(&m);
    chan_close(&c);
    return e;
}
