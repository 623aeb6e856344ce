/*
 * manifest.c - walking, encoding and strict parsing of the offer; see
 * manifest.h. The decoder trusts nothing: every length is checked before
 * use, every path is validated before it is stored, and what it holds is
 * counted against MF_MEM_MAX as it grows.
 *
 * Encoding: "PMF1" ‖ u32 count ‖ entries, each
 *   u8 type ‖ u16 path_len ‖ path ‖ u32 mode ‖ u64 size ‖ u64 mtime_ns
 *   [‖ u16 link_len ‖ link, for MF_LINK] [‖ text (size bytes), for MF_TEXT]
 */
#include "manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "sys.h"

static const uint8_t MAGIC[4] = {'P', 'M', 'F', '1'};

/* A decoded manifest's strings: one malloc per MiB instead of one per
 * string (a million small ones would cost their malloc headers again). */
struct mf_block {
    struct mf_block *next;
    size_t used, cap;
    char data[];
};
#define MF_BLOCK (1u << 20)

/* Entry indices above these are never real (MF_ENTRIES_MAX is far below). */
#define LOC_ROOT UINT32_MAX
#define LOC_UNKNOWN (UINT32_MAX - 1)
#define LOC_BAD (UINT32_MAX - 2)
#define LOC_LOOP (UINT32_MAX - 3)
#define LOC_BUSY (UINT32_MAX - 4)
#define LOC_TODO (UINT32_MAX - 5)

void manifest_init(struct manifest *m)
{
    memset(m, 0, sizeof(*m));
}

void manifest_free(struct manifest *m)
{
    if (m->arena) {
        for (struct mf_block *b = m->arena, *next; b; b = next) {
            next = b->next;
            free(b);
        }
    } else {
        for (size_t i = 0; i < m->n; i++) {
            free(m->e[i].path);
            free(m->e[i].link); /* or src, or text: they share the pointer */
        }
    }
    free(m->e);
    free(m->first_skip);
    manifest_init(m);
}

/* l bytes at p as a NUL-terminated string in m's arena. */
static char *arena_str(struct manifest *m, const uint8_t *p, size_t l)
{
    struct mf_block *b = m->arena;
    if (!b || b->cap - b->used < l + 1) {
        size_t cap = l + 1 > MF_BLOCK ? l + 1 : MF_BLOCK;
        if (!(b = malloc(sizeof(*b) + cap)))
            return NULL;
        b->next = m->arena;
        b->used = 0;
        b->cap = cap;
        m->arena = b;
    }
    char *s = b->data + b->used;
    if (l)
        memcpy(s, p, l);
    s[l] = '\0';
    b->used += l + 1;
    return s;
}

/* What a receiver holds: each entry and its strings; check_tree's set
 * (a power of two, at least twice as many u32 slots as entries); with
 * links, 9 bytes more per entry for resolving them (struct links). */
static uint64_t cost_of(size_t n, uint64_t strings, size_t links)
{
    uint64_t per = sizeof(struct mf_entry), slots = 16;
    while (slots < 2 * (uint64_t)n)
        slots *= 2;
    if (links)
        per += 2 * sizeof(uint32_t) + 1;
    return (uint64_t)n * per + slots * sizeof(uint32_t) + strings;
}

uint64_t manifest_cost(const struct manifest *m)
{
    uint64_t strings = 0;
    size_t links = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct mf_entry *e = &m->e[i];
        strings += strlen(e->path) + 1;
        if (e->type == MF_LINK) {
            strings += strlen(e->link) + 1;
            links++;
        } else if (e->type == MF_TEXT) {
            strings += e->size + 1;
        }
    }
    return cost_of(m->n, strings, links);
}

/* A new zeroed entry; the array grows by doubling, never past `limit`. */
static struct mf_entry *add_upto(struct manifest *m, size_t limit)
{
    if (m->n >= limit)
        return NULL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        if (cap > limit)
            cap = limit;
        struct mf_entry *e = realloc(m->e, cap * sizeof(*e));
        if (!e)
            return NULL;
        m->e = e;
        m->cap = cap;
    }
    struct mf_entry *e = &m->e[m->n++];
    memset(e, 0, sizeof(*e));
    return e;
}

static struct mf_entry *add(struct manifest *m)
{
    return add_upto(m, MF_ENTRIES_MAX);
}

/* 1 when byte i of s (len bytes) starts a control character: C0, DEL, or
 * a C1 control encoded as UTF-8 (0xc2 0x80-0x9f). A terminal acts on them,
 * and a newline in a name breaks every line-based listing of it. */
static int ctl_at(const unsigned char *s, size_t len, size_t i)
{
    return s[i] < 0x20 || s[i] == 0x7f ||
           (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f);
}

int manifest_path_check(const char *path, size_t len)
{
    if (len == 0 || len > MF_PATH_MAX || path[0] == '/')
        return PCP_ERR_UNSAFE_PATH;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && ctl_at((const unsigned char *)path, len, i))
            return PCP_ERR_UNSAFE_PATH;
        /* A backslash is a separator on Windows: refuse it so that a name
         * can never turn into a path on another system. */
        if (i < len && path[i] == '\\')
            return PCP_ERR_UNSAFE_PATH;
        if (i == len || path[i] == '/') {
            size_t cl = i - start;
            if (cl == 0 || cl > MF_NAME_MAX)
                return PCP_ERR_UNSAFE_PATH;
            if ((cl == 1 && path[start] == '.') ||
                (cl == 2 && path[start] == '.' && path[start + 1] == '.'))
                return PCP_ERR_UNSAFE_PATH;
            start = i + 1;
        }
    }
    return 0;
}

int manifest_link_check(const char *path, const char *target)
{
    size_t tl = strlen(target);
    if (tl == 0 || tl > MF_PATH_MAX || target[0] == '/' || strchr(target, '\\'))
        return PCP_ERR_UNSAFE_PATH;
    for (size_t i = 0; i < tl; i++)
        if (ctl_at((const unsigned char *)target, tl, i))
            return PCP_ERR_UNSAFE_PATH;
    /* Depth of the link's directory below the root, then walk the target
     * lexically: it may never climb above the root. */
    long depth = 0;
    for (const char *p = path; *p; p++)
        if (*p == '/')
            depth++;
    const char *s = target;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t cl = e ? (size_t)(e - s) : strlen(s);
        if (cl == 2 && s[0] == '.' && s[1] == '.') {
            if (--depth < 0)
                return PCP_ERR_UNSAFE_PATH;
        } else if (cl > 0 && !(cl == 1 && s[0] == '.')) {
            if (cl > MF_NAME_MAX)
                return PCP_ERR_UNSAFE_PATH;
            depth++;
        }
        s += cl + (e ? 1 : 0);
    }
    return 0;
}

static int64_t mtime_ns(const struct stat *st)
{
    return sys_mtime_ns(st);
}

static int note_skip(struct manifest *m, const char *rel)
{
    if (m->skipped++ == 0 && !(m->first_skip = strdup(rel)))
        return PCP_ERR_NOMEM;
    return 0;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(struct manifest *m, const char *src, const char *rel, int depth);

static int walk_dir(struct manifest *m, const char *src, const char *rel, int depth)
{
    DIR *d = opendir(src);
    if (!d)
        return PCP_ERR_IO;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof(*nn));
            if (!nn) {
                r = PCP_ERR_NOMEM;
                goto out;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) {
            r = PCP_ERR_NOMEM;
            goto out;
        }
        n++;
    }
    if (errno) {
        r = PCP_ERR_IO;
        goto out;
    }
    /* Sorted, so that an offer lists the same tree the same way twice. */
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n && r == 0; i++) {
        char *s = join(src, names[i]), *rr = join(rel, names[i]);
        r = s && rr ? walk(m, s, rr, depth + 1) : PCP_ERR_NOMEM;
        free(s);
        free(rr);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return r;
}

static int walk(struct manifest *m, const char *src, const char *rel, int depth)
{
    struct stat st;
    if (depth > 256 || m->n >= MF_ENTRIES_MAX)
        return PCP_ERR_TOO_BIG;
    if (lstat(src, &st) != 0)
        return PCP_ERR_IO;
    if (manifest_path_check(rel, strlen(rel)) != 0)
        return note_skip(m, rel);
    if (S_ISLNK(st.st_mode)) {
        char target[MF_PATH_MAX + 1];
        ssize_t tl = readlink(src, target, sizeof(target) - 1);
        if (tl < 0)
            return PCP_ERR_IO;
        target[tl] = '\0';
        if (manifest_link_check(rel, target) != 0)
            return note_skip(m, rel);
        struct mf_entry *e = add(m);
        if (!e || !(e->path = strdup(rel)) || !(e->link = strdup(target)))
            return PCP_ERR_NOMEM;
        e->type = MF_LINK;
        e->mode = 0777;
        e->mtime_ns = mtime_ns(&st);
        return 0;
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return note_skip(m, rel);
    struct mf_entry *e = add(m);
    if (!e || !(e->path = strdup(rel)) || !(e->src = strdup(src)))
        return PCP_ERR_NOMEM;
    e->mode = (uint32_t)st.st_mode & 0777;
    e->mtime_ns = mtime_ns(&st);
    if (S_ISDIR(st.st_mode)) {
        e->type = MF_DIR;
        return walk_dir(m, src, rel, depth);
    }
    e->type = MF_FILE;
    e->size = (uint64_t)st.st_size;
    m->nfiles++;
    m->total_bytes += e->size;
    return 0;
}

/* The name an argument gets on the other side: its last component, with
 * trailing slashes dropped ("photos/" -> "photos", "." -> the directory's
 * own name). */
static char *top_name(const char *arg)
{
    char *abs = NULL;
    size_t l = strlen(arg);
    while (l > 1 && arg[l - 1] == '/')
        l--;
    const char *s = arg;
    size_t start = l;
    while (start > 0 && s[start - 1] != '/')
        start--;
    size_t cl = l - start;
    if (cl == 0 || (cl == 1 && s[start] == '.') || (cl == 2 && !strncmp(s + start, "..", 2))) {
        if (!(abs = realpath(arg, NULL)))
            return NULL;
        s = abs;
        l = strlen(abs);
        start = l;
        while (start > 0 && s[start - 1] != '/')
            start--;
        cl = l - start;
        if (cl == 0) {
            free(abs);
            return NULL;
        }
    }
    char *name = strndup(s + start, cl);
    free(abs);
    return name;
}

static int check_tree(const struct manifest *m, size_t *bad, uint8_t *drop);

/* Leaves out the links a receiver would refuse (manifest_check_tree), each
 * counted as skipped; then refuses an offer too large for a receiver. */
static int drop_bad_links(struct manifest *m)
{
    size_t bad = 0, k = 0;
    int e = 0;
    uint8_t *drop = calloc(m->n ? m->n : 1, 1);
    if (!drop)
        return PCP_ERR_NOMEM;
    if ((e = check_tree(m, &bad, drop)) != 0)
        goto out;
    for (size_t i = 0; i < m->n; i++) {
        if (!drop[i]) {
            m->e[k++] = m->e[i];
            continue;
        }
        if (!e)
            e = note_skip(m, m->e[i].path);
        free(m->e[i].path);
        free(m->e[i].link);
    }
    m->n = k;
    if (!e && manifest_cost(m) > MF_MEM_MAX)
        e = PCP_ERR_TOO_BIG;
out:
    free(drop);
    return e;
}

int manifest_build(struct manifest *m, const char *const *paths, size_t npaths)
{
    for (size_t i = 0; i < npaths; i++) {
        char *name = top_name(paths[i]);
        if (!name)
            return PCP_ERR_INVAL;
        for (size_t j = 0; j < m->n; j++) {
            if (!strchr(m->e[j].path, '/') && !strcmp(m->e[j].path, name)) {
                free(name);
                return PCP_ERR_INVAL;
            }
        }
        /* A top-level symlink is what the user pointed at: follow it. */
        struct stat st;
        int r;
        if (lstat(paths[i], &st) == 0 && S_ISLNK(st.st_mode)) {
            char *real = realpath(paths[i], NULL);
            r = real ? walk(m, real, name, 0) : PCP_ERR_IO;
            free(real);
        } else {
            r = walk(m, paths[i], name, 0);
        }
        free(name);
        if (r)
            return r;
    }
    return drop_bad_links(m);
}

int manifest_add_text(struct manifest *m, const char *text, size_t len)
{
    if (m->n || len > MF_TEXT_MAX || memchr(text, 0, len))
        return PCP_ERR_INVAL;
    struct mf_entry *e = add(m);
    if (!e || !(e->path = strdup("")) || !(e->text = strndup(text, len)))
        return PCP_ERR_NOMEM;
    e->type = MF_TEXT;
    e->size = len;
    return 0;
}

int manifest_add_stream(struct manifest *m, const char *name)
{
    if (m->n || strchr(name, '/') || manifest_path_check(name, strlen(name)) != 0)
        return PCP_ERR_INVAL;
    struct mf_entry *e = add(m);
    struct timespec now;
    if (!e || !(e->path = strdup(name)))
        return PCP_ERR_NOMEM;
    clock_gettime(CLOCK_REALTIME, &now);
    e->type = MF_FILE;
    e->size = MF_SIZE_STREAM;
    e->mode = 0644;
    e->mtime_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    m->nfiles = 1;
    return 0;
}

int manifest_encode(const struct manifest *m, struct wbuf *out)
{
    wbuf_put_bytes(out, MAGIC, sizeof(MAGIC));
    wbuf_put_u32(out, (uint32_t)m->n);
    for (size_t i = 0; i < m->n; i++) {
        const struct mf_entry *e = &m->e[i];
        size_t pl = strlen(e->path);
        wbuf_put_u8(out, e->type);
        wbuf_put_u16(out, (uint16_t)pl);
        wbuf_put_bytes(out, e->path, pl);
        wbuf_put_u32(out, e->mode);
        wbuf_put_u64(out, e->size);
        wbuf_put_u64(out, (uint64_t)e->mtime_ns);
        if (e->type == MF_LINK) {
            size_t ll = strlen(e->link);
            wbuf_put_u16(out, (uint16_t)ll);
            wbuf_put_bytes(out, e->link, ll);
        }
        if (e->type == MF_TEXT)
            wbuf_put_bytes(out, e->text, (size_t)e->size);
    }
    if (out->err)
        return out->err;
    return out->len > MF_ENCODED_MAX || manifest_cost(m) > MF_MEM_MAX ? PCP_ERR_TOO_BIG : 0;
}

/* An entry's length at p (avail bytes there), without looking inside:
 * PCP_ERR_TRUNCATED when avail does not hold all of it yet. */
static int entry_len(const uint8_t *p, size_t avail, size_t *len)
{
    struct rbuf r;
    uint8_t type;
    uint16_t l;
    uint64_t size;
    int e;
    rbuf_init(&r, p, avail);
    if ((e = rbuf_get_u8(&r, &type)) != 0 || (e = rbuf_get_u16(&r, &l)) != 0 ||
        (e = rbuf_skip(&r, (size_t)l + 4)) != 0 || (e = rbuf_get_u64(&r, &size)) != 0 ||
        (e = rbuf_skip(&r, 8)) != 0)
        return e;
    if (type == MF_LINK) {
        if ((e = rbuf_get_u16(&r, &l)) != 0 || (e = rbuf_skip(&r, l)) != 0)
            return e;
    } else if (type == MF_TEXT) {
        /* Refused before the decoder waits for (and buffers) its bytes. */
        if (size > MF_TEXT_MAX)
            return PCP_ERR_PROTO;
        if ((e = rbuf_skip(&r, (size_t)size)) != 0)
            return e;
    }
    *len = r.off;
    return 0;
}

static int get_str(struct mf_decoder *d, struct rbuf *r, char **out)
{
    uint16_t l;
    const uint8_t *p;
    int e;
    if ((e = rbuf_get_u16(r, &l)) != 0 || (e = rbuf_get_direct(r, &p, l)) != 0)
        return e;
    if (memchr(p, 0, l))
        return PCP_ERR_UNSAFE_PATH;
    if (!(*out = arena_str(d->m, p, l)))
        return PCP_ERR_NOMEM;
    d->strings += (uint64_t)l + 1;
    return 0;
}

/* One whole entry, len bytes at p (entry_len said so). */
static int decode_entry(struct mf_decoder *d, const uint8_t *p, size_t len)
{
    struct manifest *m = d->m;
    struct rbuf r;
    uint64_t mt;
    int e;
    struct mf_entry *en = add_upto(m, d->count);
    if (!en)
        return PCP_ERR_NOMEM;
    rbuf_init(&r, p, len);
    if ((e = rbuf_get_u8(&r, &en->type)) != 0 || (e = get_str(d, &r, &en->path)) != 0 ||
        (e = rbuf_get_u32(&r, &en->mode)) != 0 || (e = rbuf_get_u64(&r, &en->size)) != 0 ||
        (e = rbuf_get_u64(&r, &mt)) != 0)
        return e;
    en->mtime_ns = (int64_t)mt;
    if (en->mode & ~0777u)
        return PCP_ERR_PROTO; /* no setuid, setgid or sticky bits */
    /* A message or a streamed file stands alone. */
    if ((en->type == MF_TEXT || mf_streamed(en)) && d->count != 1)
        return PCP_ERR_PROTO;
    if (en->type == MF_TEXT) {
        const uint8_t *t;
        if (en->path[0] || en->mode || mt || en->size > MF_TEXT_MAX)
            return PCP_ERR_PROTO;
        if ((e = rbuf_get_direct(&r, &t, (size_t)en->size)) != 0)
            return e;
        if (memchr(t, 0, (size_t)en->size))
            return PCP_ERR_PROTO;
        if (!(en->text = arena_str(m, t, (size_t)en->size)))
            return PCP_ERR_NOMEM;
        d->strings += en->size + 1;
        return 0;
    }
    if ((e = manifest_path_check(en->path, strlen(en->path))) != 0)
        return e;
    switch (en->type) {
    case MF_FILE:
        if (!mf_streamed(en)) {
            if (en->size > UINT64_MAX - m->total_bytes)
                return PCP_ERR_TOO_BIG;
            m->total_bytes += en->size;
        }
        m->nfiles++;
        return 0;
    case MF_DIR:
        return en->size != 0 ? PCP_ERR_PROTO : 0;
    case MF_LINK:
        if (en->size != 0)
            return PCP_ERR_PROTO;
        if ((e = get_str(d, &r, &en->link)) != 0)
            return e;
        d->links++;
        return manifest_link_check(en->path, en->link);
    default:
        return PCP_ERR_PROTO;
    }
}

void manifest_decoder_init(struct mf_decoder *d, struct manifest *m)
{
    memset(d, 0, sizeof(*d));
    d->m = m;
    manifest_init(m);
}

void manifest_decoder_free(struct mf_decoder *d)
{
    free(d->buf);
    d->buf = NULL;
    d->len = d->cap = 0;
}

/* What the receiver holds now: the manifest so far, the entries allocated
 * ahead of it, and the decoder's buffer. */
static uint64_t decoder_cost(const struct mf_decoder *d)
{
    const struct manifest *m = d->m;
    return cost_of(m->n, d->strings, d->links) +
           (uint64_t)(m->cap - m->n) * sizeof(struct mf_entry) + d->cap;
}

static int decoder_fail(struct mf_decoder *d, int e)
{
    manifest_free(d->m);
    manifest_decoder_free(d);
    d->err = e;
    return e;
}

/* Makes d->buf hold at least n bytes. */
static int decoder_room(struct mf_decoder *d, size_t n)
{
    if (n <= d->cap)
        return 0;
    size_t cap = d->cap ? d->cap : 4096;
    while (cap < n)
        cap *= 2;
    uint8_t *b = realloc(d->buf, cap);
    if (!b)
        return PCP_ERR_NOMEM;
    d->buf = b;
    d->cap = cap;
    return 0;
}

int manifest_decoder_feed(struct mf_decoder *d, const uint8_t *p, size_t len)
{
    const uint8_t *q = p;
    size_t avail = len, off = 0;
    int e = 0;
    if (d->err)
        return d->err;
    if (len > MF_ENCODED_MAX - d->fed)
        return decoder_fail(d, PCP_ERR_TOO_BIG);
    d->fed += len;
    /* The unfinished entry from the last piece, completed from this one
     * (pieces are small: a message each). */
    if (d->len) {
        if ((e = decoder_room(d, d->len + len)) != 0)
            return decoder_fail(d, e);
        if (len)
            memcpy(d->buf + d->len, p, len);
        q = d->buf;
        avail = d->len + len;
    }
    while (!e) {
        if (!d->header) {
            if (avail - off < 8)
                break;
            if (memcmp(q + off, MAGIC, sizeof(MAGIC)) != 0) {
                e = PCP_ERR_PROTO;
                break;
            }
            d->count = get_be32(q + off + 4);
            d->header = 1;
            off += 8;
            /* Refused at once, before anything is allocated for it. */
            if (d->count > MF_ENTRIES_MAX || cost_of(d->count, 0, 0) > MF_MEM_MAX)
                e = PCP_ERR_TOO_BIG;
            continue;
        }
        if (d->m->n == d->count) {
            if (off < avail)
                e = PCP_ERR_PROTO; /* bytes after the last entry */
            break;
        }
        size_t el;
        if ((e = entry_len(q + off, avail - off, &el)) == PCP_ERR_TRUNCATED) {
            e = 0;
            break;
        }
        if (!e && (e = decode_entry(d, q + off, el)) == 0)
            off += el;
        if (!e && decoder_cost(d) > MF_MEM_MAX)
            e = PCP_ERR_TOO_BIG;
    }
    if (e)
        return decoder_fail(d, e);
    /* Keep the unfinished rest for the next piece. */
    size_t rest = avail - off;
    if (q == d->buf) {
        memmove(d->buf, d->buf + off, rest);
    } else if (rest) {
        if ((e = decoder_room(d, rest)) != 0)
            return decoder_fail(d, e);
        memcpy(d->buf, q + off, rest);
    }
    d->len = rest;
    if (decoder_cost(d) > MF_MEM_MAX)
        return decoder_fail(d, PCP_ERR_TOO_BIG);
    return 0;
}

int manifest_decoder_finish(struct mf_decoder *d)
{
    if (d->err)
        return d->err;
    if (!d->header || d->m->n != d->count || d->len)
        return decoder_fail(d, PCP_ERR_TRUNCATED);
    manifest_decoder_free(d);
    return 0;
}

int manifest_decode(struct manifest *m, const uint8_t *p, size_t len)
{
    struct mf_decoder d;
    manifest_decoder_init(&d, m);
    int e = manifest_decoder_feed(&d, p, len);
    if (!e)
        e = manifest_decoder_finish(&d);
    manifest_decoder_free(&d);
    return e;
}

/* An open-addressing set of entry indices, hashed with SipHash under a
 * random key so that a hostile offer cannot aim for collisions. Keyed
 * first by path, then (to resolve links) by parent entry and name. */
struct pathset {
    uint32_t *slot; /* entry index + 1; 0 = empty */
    size_t mask;
    uint8_t key[crypto_shorthash_KEYBYTES];
};

static size_t pathset_start(const struct pathset *s, const void *p, size_t len)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v = 0;
    crypto_shorthash(h, (const uint8_t *)p, len, s->key);
    memcpy(&v, h, sizeof(v));
    return (size_t)v & s->mask;
}

/* The slot of the entry whose path is p[0..len), or the empty slot where
 * it would go. */
static size_t pathset_slot(const struct pathset *s, const struct manifest *m, const char *p,
                           size_t len)
{
    for (size_t i = pathset_start(s, p, len);; i = (i + 1) & s->mask) {
        uint32_t e = s->slot[i];
        if (!e)
            return i;
        const char *q = m->e[e - 1].path;
        if (!strncmp(q, p, len) && q[len] == '\0')
            return i;
    }
}

/* Resolving the offer's links: parent[i] is the entry of i's directory
 * (LOC_ROOT at the top), loc[i] what link i resolves to once known, and
 * hops[i] how many links that follows, itself included. */
struct links {
    const struct manifest *m;
    struct pathset s; /* by (parent, name) */
    uint32_t *parent, *loc;
    uint8_t *hops;
};

static const char *base_name(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

/* (parent ‖ name) as the key; parent in little-endian. */
static size_t child_key(uint8_t *k, uint32_t parent, const char *name, size_t len)
{
    for (int i = 0; i < 4; i++)
        k[i] = (uint8_t)(parent >> (8 * i));
    memcpy(k + 4, name, len);
    return 4 + len;
}

/* The slot of the entry named name[0..len) in directory `parent`, or the
 * empty slot where it would go. */
static size_t child_slot(const struct links *l, uint32_t parent, const char *name, size_t len)
{
    uint8_t k[4 + MF_NAME_MAX];
    size_t kl = child_key(k, parent, name, len);
    for (size_t i = pathset_start(&l->s, k, kl);; i = (i + 1) & l->s.mask) {
        uint32_t e = l->s.slot[i];
        if (!e)
            return i;
        const char *q = base_name(l->m->e[e - 1].path);
        if (l->parent[e - 1] == parent && !strncmp(q, name, len) && q[len] == '\0')
            return i;
    }
}

/* Where link i leads: a directory or file entry, LOC_ROOT, LOC_UNKNOWN (a
 * name the offer does not list, or below one), LOC_LOOP (through a loop
 * of links: it never resolves, anywhere), or LOC_BAD (out of the root at
 * some step, a `..` or a name where no directory is known to be, or more
 * than MF_LINK_HOPS links followed in all, counted as Linux counts them
 * for one lookup: a system that allows more would resolve it). Each link
 * is resolved once; depth bounds the recursion (a deeper chain follows
 * more links anyway). */
static uint32_t resolve(struct links *l, uint32_t i, int depth)
{
    const struct manifest *m = l->m;
    if (l->loc[i] == LOC_BUSY)
        return LOC_LOOP; /* needed to resolve itself */
    if (l->loc[i] != LOC_TODO)
        return l->loc[i];
    if (depth >= MF_LINK_HOPS)
        return LOC_BAD;
    l->loc[i] = LOC_BUSY;
    const char *s = m->e[i].link;
    uint32_t cur = l->parent[i];
    unsigned hops = 1;
    int unknown = 0, file = 0;
    if (s[0] == '/')
        cur = LOC_BAD;
    while (cur != LOC_BAD && cur != LOC_LOOP && *s) {
        const char *end = strchr(s, '/');
        size_t cl = end ? (size_t)(end - s) : strlen(s);
        if (file) {
            cur = LOC_BAD; /* a file is not a directory: nothing below it */
        } else if (cl == 0 || (cl == 1 && s[0] == '.')) {
            /* the same directory */
        } else if (cl == 2 && s[0] == '.' && s[1] == '.') {
            /* Above an unknown name could be anywhere (it may be a link
             * the receiver has); above the root is outside. */
            cur = unknown || cur == LOC_ROOT ? LOC_BAD : l->parent[cur];
        } else if (!unknown) {
            uint32_t j = cl <= MF_NAME_MAX ? l->s.slot[child_slot(l, cur, s, cl)] : 0;
            if (!j) {
                unknown = 1;
            } else if (m->e[j - 1].type == MF_LINK) {
                uint32_t r = resolve(l, j - 1, depth + 1);
                hops += l->hops[j - 1];
                if (hops > MF_LINK_HOPS)
                    r = LOC_BAD;
                else if (r == LOC_UNKNOWN)
                    unknown = 1;
                else if (r < LOC_LOOP && m->e[r].type == MF_FILE)
                    file = 1;
                cur = r;
            } else {
                file = m->e[j - 1].type == MF_FILE;
                cur = j - 1;
            }
        }
        s += cl + (end ? 1 : 0);
    }
    if (cur != LOC_BAD && cur != LOC_LOOP && unknown)
        cur = LOC_UNKNOWN;
    l->loc[i] = cur;
    l->hops[i] = (uint8_t)hops;
    return cur;
}

/* Checks the links of m (its paths already checked: unique, parents are
 * directories of the offer). With drop NULL, the first bad link is *bad
 * and PCP_ERR_UNSAFE_PATH; else drop[i] is set for each bad link. */
static int check_links(const struct manifest *m, const struct pathset *paths, size_t *bad,
                       uint8_t *drop)
{
    struct links l;
    int e = 0;
    memset(&l, 0, sizeof(l));
    l.m = m;
    l.s.slot = paths->slot;
    l.s.mask = paths->mask;
    crypto_shorthash_keygen(l.s.key);
    if (!(l.parent = malloc(m->n * sizeof(*l.parent))) ||
        !(l.loc = malloc(m->n * sizeof(*l.loc))) || !(l.hops = calloc(m->n, 1))) {
        e = PCP_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < m->n; i++) {
        const char *p = m->e[i].path, *b = base_name(p);
        l.parent[i] =
            b == p ? LOC_ROOT : paths->slot[pathset_slot(paths, m, p, (size_t)(b - 1 - p))] - 1;
        l.loc[i] = LOC_TODO;
    }
    /* The same slots, now by (parent, name). */
    memset(l.s.slot, 0, (l.s.mask + 1) * sizeof(*l.s.slot));
    for (size_t i = 0; i < m->n; i++) {
        const char *b = base_name(m->e[i].path);
        l.s.slot[child_slot(&l, l.parent[i], b, strlen(b))] = (uint32_t)i + 1;
    }
    for (size_t i = 0; i < m->n && !e; i++) {
        if (m->e[i].type != MF_LINK || resolve(&l, (uint32_t)i, 0) != LOC_BAD)
            continue;
        if (drop) {
            drop[i] = 1;
        } else {
            e = PCP_ERR_UNSAFE_PATH;
            *bad = i;
        }
    }
out:
    sodium_memzero(l.s.key, sizeof(l.s.key));
    free(l.parent);
    free(l.loc);
    free(l.hops);
    return e;
}

static int check_tree(const struct manifest *m, size_t *bad, uint8_t *drop)
{
    struct pathset s;
    size_t cap = 16, links = 0;
    int e = 0;
    if (m->n >= LOC_TODO)
        return PCP_ERR_TOO_BIG;
    while (cap < 2 * m->n)
        cap *= 2;
    if (!(s.slot = calloc(cap, sizeof(*s.slot))))
        return PCP_ERR_NOMEM;
    s.mask = cap - 1;
    crypto_shorthash_keygen(s.key);
    for (size_t i = 0; i < m->n && !e; i++) {
        size_t k = pathset_slot(&s, m, m->e[i].path, strlen(m->e[i].path));
        if (s.slot[k]) {
            e = PCP_ERR_UNSAFE_PATH;
            *bad = i;
        }
        s.slot[k] = (uint32_t)i + 1;
        links += m->e[i].type == MF_LINK;
    }
    /* The parent of every path is a directory of the offer (checked once
     * all are known: the order does not matter); so, one by one, are all
     * of its ancestors. */
    for (size_t i = 0; i < m->n && !e; i++) {
        const char *p = m->e[i].path, *b = base_name(p);
        if (b == p)
            continue;
        uint32_t j = s.slot[pathset_slot(&s, m, p, (size_t)(b - 1 - p))];
        if (!j || m->e[j - 1].type != MF_DIR) {
            e = PCP_ERR_UNSAFE_PATH;
            *bad = i;
        }
    }
    if (!e && links)
        e = check_links(m, &s, bad, drop);
    sodium_memzero(s.key, sizeof(s.key));
    free(s.slot);
    return e;
}

int manifest_check_tree(const struct manifest *m, size_t *bad)
{
    return check_tree(m, bad, NULL);
}

/* Length of the UTF-8 sequence at s and its code point, or 0 when it is
 * not valid (overlong, surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t n;
    uint32_t c, min;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2, c = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3, c = s[0] & 0x0f, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

/* Characters that change how the text around them looks without being
 * seen: bidirectional controls (which reorder what follows, so that
 * "txt.exe" can show as "exe.txt"), line and paragraph separators, and
 * zero-width ones (two names that look the same). */
static int invisible(uint32_t cp)
{
    return cp == 0x061c || cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

static void display(const char *in, char *out, size_t outlen, int lines)
{
    size_t o = 0;
    const unsigned char *s = (const unsigned char *)in;
    if (outlen == 0)
        return;
    while (*s) {
        uint32_t cp = 0;
        size_t n = utf8_next(s, &cp);
        int bad = n == 0 || (cp < 0x20 && !(lines && (cp == '\n' || cp == '\t'))) || cp == 0x7f ||
                  (cp >= 0x80 && cp < 0xa0) || invisible(cp);
        /* A name is shown between quotes: its own cannot end them. */
        int esc = !lines && (cp == '\'' || cp == '"' || cp == '\\');
        size_t w = bad ? 1 : n + (size_t)esc;
        if (o + w + 1 > outlen)
            break;
        if (bad) {
            out[o++] = '?';
        } else {
            if (esc)
                out[o++] = '\\';
            memcpy(out + o, s, n), o += n;
        }
        s += n ? n : 1;
    }
    out[o] = '\0';
}

void manifest_display(const char *in, char *out, size_t outlen)
{
    display(in, out, outlen, 0);
}

void manifest_display_text(const char *in, char *out, size_t outlen)
{
    display(in, out, outlen, 1);
}
