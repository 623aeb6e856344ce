/*
 * xrecv.c - the receiver's side of a transfer: the offer (decoded as it
 * arrives, checked, shown to the user), the checks before saying yes and
 * the resume list, then the pipeline
 *
 *   socket -> opener thread -> ring -> inflate workers -> writer thread
 *
 * Each chunk's frame authenticator goes into its file's digest; a file
 * gets its final name only after the digest matches. Every touch of the
 * disk goes through fsys.c, which keeps it below the target directory;
 * the codecs are codec.c. Never prints; the resume key is wiped on every
 * way out.
 */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "err.h"
#include "fsys.h"
#include "net.h"
#include "pipeline.h"
#include "transfer_priv.h"

struct receiver {
    const struct manifest *m;
    struct xfer_opts *o;
    struct ring ring;
    struct chan *c;
    struct counters cnt;
    struct fsys fs;
    uint8_t *made_dir; /* per entry: 1 when we created that directory */
    int open_err, write_err;
    uint8_t *gone;                       /* per entry: its directory is not there */
    uint64_t *have;                      /* per entry: .pcp-part bytes offered */
    uint8_t (*prefix)[XFER_DIGESTBYTES]; /* ... and their hash */
    struct fsys_part_ref *ref;           /* ... and which .pcp-part that was */
    uint8_t rkey[32];                    /* keys the prefix hashes */
};

static void set_err_path(struct receiver *r, const char *path)
{
    fsys_set_err_path(&r->fs, path);
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
            memcpy(sl->tag, f + fl - XFER_MACBYTES, XFER_MACBYTES); /* opened: fl > XFER_MACBYTES */
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
            if (len != XM_FILE_END_LEN)
                e = PCP_ERR_PROTO;
            else
                e = rbuf_get_u32(&b, &sl->file);
            break;
        case XM_END:
            if (len != XM_END_LEN)
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
                sl->data = sl->msg + wire_hdr_len(sl->kind);
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
    struct codec_dec *dec = codec_dec_new(r->o->zstd);
    if (!dec) {
        ring_fail(&r->ring, PCP_ERR_NOMEM);
        return NULL;
    }
    struct slot *sl;
    while ((sl = ring_work(&r->ring)) != NULL) {
        if (sl->kind == XM_DATA || sl->kind == XM_FILES) {
            const uint8_t *payload = sl->msg + wire_hdr_len(sl->kind);
            if (!sl->flags) {
                sl->data = payload;
            } else if (codec_expand(dec, sl->flags, payload, sl->payload_len, sl->alt,
                                    sl->raw_len) != 0) {
                ring_fail(&r->ring, PCP_ERR_PROTO);
                ring_worked(&r->ring, sl);
                continue;
            } else {
                sl->data = sl->alt;
            }
        }
        ring_worked(&r->ring, sl);
    }
    codec_dec_free(dec);
    return NULL;
}

struct wstate {
    size_t next; /* manifest index of the next file expected */
    int fd;      /* its .pcp-part, or -1 */
    uint64_t got;
    uint64_t streamed; /* bytes of a file the offer gave no size for */
    int tagged;        /* the .pcp-part carries XFER_PART_XATTR */
    crypto_generichash_state hs;
    char part[FSYS_PART_NAME_MAX];
};

static size_t next_file(const struct manifest *m, size_t i)
{
    while (i < m->n && m->e[i].type != MF_FILE)
        i++;
    return i;
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
    int dfd = fsys_open_parent(&r->fs, en->path, 1, &leaf);
    if (dfd < 0) {
        set_err_path(r, en->path);
        return dfd;
    }
    fsys_part_name(leaf, (uint32_t)w->next, w->part, sizeof(w->part));
    e = resume ? fsys_part_resume(dfd, w->part, en, &r->ref[w->next], have, &w->fd)
               : fsys_part_create(dfd, w->part, en, !batch && !mf_streamed(en), &w->fd, &w->tagged);
    if (!e && resume)
        w->tagged = 1;
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

/* digest is NULL for a file of a FILES batch: one authenticator covers it whole. */
static int end_file(struct receiver *r, struct wstate *w, const uint8_t *digest)
{
    const struct mf_entry *en = &r->m->e[w->next];
    int e;
    if (mf_streamed(en))
        w->streamed = w->got;
    else if (w->got != en->size)
        return PCP_ERR_PROTO;
    if (digest) {
        uint8_t mine[XFER_DIGESTBYTES];
        xfer_digest_final(&w->hs, w->got, mine);
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
    e = fsys_commit(&r->fs, w->fd, en, w->part, w->tagged);
    w->fd = -1;
    if (e)
        return e;
    atomic_fetch_add(&r->cnt.files, 1);
    w->next = next_file(r->m, w->next + 1);
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
        if (!e && (e = fsys_write_all(w->fd, p + off + XM_FILES_REC, (size_t)en->size)) != 0)
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
            if ((e = fsys_write_all(w.fd, sl->data, sl->raw_len)) != 0) {
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
            uint64_t total = wire_get_be64(sl->msg + 1);
            if (w.next != m->n || w.fd >= 0 || total != m->total_bytes + w.streamed ||
                get_be32(sl->msg + 9) != (uint32_t)m->nfiles)
                e = PCP_ERR_PROTO;
            else
                e = fsys_finish_tree(&r->fs, m, r->made_dir);
            ended = !e;
            break;
        }
        case XM_ERROR:
            chan_peer_error(r->o, sl->msg, sl->msg_len);
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
        if ((e = manifest_decoder_feed(&d, c->in + XM_OFFER_HDR, len - XM_OFFER_HDR)) != 0 ||
            c->in[1]) {
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

/* Before saying yes: can we write here at all, and is there room for
 * what is still to come (the offer less what .pcp-part files already
 * hold)? *need and *avail say how much when there is not. */
static int room_check(struct receiver *r, uint64_t *need, uint64_t *avail)
{
    const struct manifest *m = r->m;
    int e;
    if ((e = fsys_probe(&r->fs)) != 0)
        return e;
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
        int fd;
        if (!r->gone[i] && (fd = fsys_part_open(&r->fs, &m->e[i], i, &st, &pm)) >= 0) {
            r->have[i] = (uint64_t)st.st_size;
            *need -= r->have[i];
            close(fd);
        }
    }
    if (fsys_space(&r->fs, avail) != 0)
        return 0; /* cannot tell: the writes will */
    return *avail < *need ? PCP_ERR_NOSPACE : 0;
}

/* ACCEPT, with what is already here: each file's .pcp-part (from an
 * earlier, interrupted transfer of this offer, see fsys_part_open) that
 * is no longer than the file, its length and the keyed BLAKE2b of its
 * content; as many as one message holds. */
static int offer_resume(struct receiver *r)
{
    const struct manifest *m = r->m;
    size_t len = XM_ACCEPT_HDR, cap = STREAM_CHUNK;
    uint32_t n = 0;
    uint64_t bytes = 0;
    uint8_t *msg = malloc(cap);
    if (!msg)
        return PCP_ERR_NOMEM;
    for (size_t i = 0; i < m->n; i++) {
        struct stat st;
        struct xfer_partmeta pm;
        int fd = r->have[i] && len + XM_RESUME_ENTRY <= cap
                     ? fsys_part_open(&r->fs, &m->e[i], i, &st, &pm)
                     : -1;
        r->have[i] = 0; /* offered below, or not at all */
        if (fd < 0)
            continue;
        if (xfer_prefix_hash(fd, (uint64_t)st.st_size, r->rkey, r->prefix[i]) == 0) {
            r->have[i] = (uint64_t)st.st_size;
            r->ref[i].dev = st.st_dev;
            r->ref[i].ino = st.st_ino;
            memcpy(r->ref[i].id, pm.id, sizeof(pm.id));
            wire_put_resume(msg + len, (uint32_t)i, r->have[i], r->prefix[i]);
            len += XM_RESUME_ENTRY;
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
    if (fsys_open_root(&r->fs, out_dir) != 0) {
        e = PCP_ERR_IO;
        set_err_path(r, out_dir);
        chan_send_error(c, XM_REFUSE, e, "the receiver cannot write to its target directory", 0);
        return e;
    }
    if (!(r->gone = calloc(r->m->n ? r->m->n : 1, 1)))
        e = PCP_ERR_NOMEM;
    else
        e = fsys_precheck(&r->fs, r->m, r->gone);
    if (e) {
        chan_send_error(c, XM_REFUSE, e, "a file of that name already exists on the receiver", 0);
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
        chan_send_error(c, XM_REFUSE, e, why, 0);
        return e;
    }
    return 0;
}

int xfer_receive(int fd, struct frame_reader *fr, const uint8_t tx[32], const uint8_t rx[32],
                 struct xfer_opts *o, struct xfer_progress *result)
{
    struct chan c;
    struct receiver r;
    struct manifest m;
    pthread_t opener, writer, workers[MAX_WORKERS];
    int nw = xfer_nworkers(o->threads), started = 0, e;

    memset(&r, 0, sizeof(r));
    manifest_init(&m);
    r.m = &m;
    r.o = o;
    r.c = &c;
    fsys_init(&r.fs, o->overwrite, o->err_path, o->err_path_len);
    xfer_resume_key(tx, rx, 0, r.rkey);
    o->closed_early = 0;
    if ((e = chan_open(&c, fd, fr, tx, rx, o)) != 0) {
        o->closed_early = e == PCP_ERR_CLOSED || e == PCP_ERR_NET;
        goto out;
    }
    if ((e = recv_offer(&c, &m, &o->offer_refused)) != 0) {
        chan_send_error(&c, XM_REFUSE, e,
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
        chan_send_error(&c, XM_REFUSE, e,
                        "offer refused: a path twice, or outside the directories it lists", 0);
        goto out;
    }
    /* A message, or one file for standard output, touches no directory. */
    int text = m.n == 1 && m.e[0].type == MF_TEXT;
    if (o->to_stdout && !text && (m.n != 1 || m.e[0].type != MF_FILE)) {
        e = PCP_ERR_INVAL;
        chan_send_error(&c, XM_REFUSE, e,
                        "the receiver takes one file on its standard output, not a directory or "
                        "several files",
                        0);
        goto out;
    }
    if (!text && !o->to_stdout && (e = prepare_disk(&r, &c)) != 0)
        goto out;
    if (o->confirm && !o->confirm(o->ud, &m)) {
        e = PCP_ERR_REFUSED;
        chan_send_error(&c, XM_REFUSE, e, "the receiver declined", 0);
        goto out;
    }
    if (!(r.made_dir = calloc(m.n ? m.n : 1, 1))) {
        e = PCP_ERR_NOMEM;
        goto out;
    }
    if (text || o->to_stdout) {
        uint8_t accept = XM_ACCEPT;
        e = chan_send(&c, &accept, 1, 0);
    } else if ((e = fsys_make_dirs(&r.fs, &m, r.made_dir)) != 0) {
        chan_send_error(&c, XM_REFUSE, e, "the receiver cannot create a directory", 0);
    } else {
        e = offer_resume(&r);
    }
    if (e)
        goto out;
    net_set_timeout(fd, o->stall_ms ? o->stall_ms : XFER_STALL_MS);

    if ((e = ring_init(&r.ring, RING_SLOTS + (size_t)nw, BUF_SIZE)) != 0)
        goto out;
    r.cnt.t0 = xfer_mono_ns();
    if (pthread_create(&opener, NULL, opener_main, &r) != 0) {
        e = PCP_ERR_NOMEM;
        chan_send_error(&c, XM_ERROR, e, pcp_strerror(e), 1);
        ring_free(&r.ring);
        goto out;
    }
    for (started = 0; started < nw; started++)
        if (pthread_create(&workers[started], NULL, inflate_main, &r) != 0)
            break;
    if (started < nw || pthread_create(&writer, NULL, writer_main, &r) != 0) {
        /* Stop what runs: the failed ring ends the workers' wait and the
         * opener's next slot, the shut socket its read. */
        ring_fail(&r.ring, PCP_ERR_NOMEM);
        shutdown(fd, SHUT_RD);
        pthread_join(opener, NULL);
        for (int i = 0; i < started; i++)
            pthread_join(workers[i], NULL);
        e = PCP_ERR_NOMEM;
        chan_send_error(&c, XM_ERROR, e, pcp_strerror(e), 1);
        ring_free(&r.ring);
        goto out;
    }
    xfer_watch(o, &r.cnt, xfer_offer_total(&m), m.nfiles);
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
        chan_send_error(&c, XM_ERROR, e, pcp_strerror(e), 1);
    }
    xfer_report(o, &r.cnt, xfer_offer_total(&m), m.nfiles, 1, result);
    ring_free(&r.ring);
out:
    fsys_close(&r.fs);
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
