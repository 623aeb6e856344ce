/*
 * manifest.c - walking, encoding and strict parsing of the offer; see
 * manifest.h. The decoder trusts nothing: every length is checked before
 * use and every path is validated before it is stored.
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

static const uint8_t MAGIC[4] = {'P', 'M', 'F', '1'};

void manifest_init(struct manifest *m)
{
    memset(m, 0, sizeof(*m));
}

void manifest_free(struct manifest *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].path);
        free(m->e[i].link);
        free(m->e[i].src);
        free(m->e[i].text);
    }
    free(m->e);
    free(m->first_skip);
    manifest_init(m);
}

static struct mf_entry *add(struct manifest *m)
{
    if (m->n >= MF_ENTRIES_MAX)
        return NULL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
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

int manifest_path_check(const char *path, size_t len)
{
    if (len == 0 || len > MF_PATH_MAX || path[0] == '/')
        return PCP_ERR_UNSAFE_PATH;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && path[i] == '\0')
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
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
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
    if (depth > 256)
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
    return 0;
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
    return out->len > MF_ENCODED_MAX ? PCP_ERR_TOO_BIG : 0;
}

static int get_str(struct rbuf *r, char **out)
{
    uint16_t l;
    const uint8_t *p;
    int e;
    if ((e = rbuf_get_u16(r, &l)) != 0 || (e = rbuf_get_direct(r, &p, l)) != 0)
        return e;
    if (memchr(p, 0, l))
        return PCP_ERR_UNSAFE_PATH;
    if (!(*out = strndup((const char *)p, l)))
        return PCP_ERR_NOMEM;
    return 0;
}

int manifest_decode(struct manifest *m, const uint8_t *p, size_t len)
{
    struct rbuf r;
    uint8_t magic[4];
    uint32_t count;
    int e;
    manifest_init(m);
    if (len > MF_ENCODED_MAX)
        return PCP_ERR_TOO_BIG;
    rbuf_init(&r, p, len);
    if ((e = rbuf_get_bytes(&r, magic, 4)) != 0 || (e = rbuf_get_u32(&r, &count)) != 0)
        goto fail;
    if (memcmp(magic, MAGIC, 4) != 0) {
        e = PCP_ERR_PROTO;
        goto fail;
    }
    /* The smallest entry takes 23 bytes: a count the bytes cannot hold is
     * a lie, refused before anything is allocated for it. */
    if (count > MF_ENTRIES_MAX || count > rbuf_left(&r) / 23) {
        e = count > MF_ENTRIES_MAX ? PCP_ERR_TOO_BIG : PCP_ERR_TRUNCATED;
        goto fail;
    }
    for (uint32_t i = 0; i < count; i++) {
        struct mf_entry *en = add(m);
        uint64_t mt;
        if (!en) {
            e = PCP_ERR_NOMEM;
            goto fail;
        }
        if ((e = rbuf_get_u8(&r, &en->type)) != 0 || (e = get_str(&r, &en->path)) != 0 ||
            (e = rbuf_get_u32(&r, &en->mode)) != 0 || (e = rbuf_get_u64(&r, &en->size)) != 0 ||
            (e = rbuf_get_u64(&r, &mt)) != 0)
            goto fail;
        en->mtime_ns = (int64_t)mt;
        if (en->mode & ~0777u) {
            e = PCP_ERR_PROTO; /* no setuid, setgid or sticky bits */
            goto fail;
        }
        /* A message or a streamed file stands alone. */
        if ((en->type == MF_TEXT || mf_streamed(en)) && count != 1) {
            e = PCP_ERR_PROTO;
            goto fail;
        }
        if (en->type == MF_TEXT) {
            const uint8_t *t;
            if (en->path[0] || en->mode || mt || en->size > MF_TEXT_MAX) {
                e = PCP_ERR_PROTO;
                goto fail;
            }
            if ((e = rbuf_get_direct(&r, &t, (size_t)en->size)) != 0)
                goto fail;
            if (memchr(t, 0, (size_t)en->size)) {
                e = PCP_ERR_PROTO;
                goto fail;
            }
            if (!(en->text = strndup((const char *)t, (size_t)en->size))) {
                e = PCP_ERR_NOMEM;
                goto fail;
            }
            continue;
        }
        if ((e = manifest_path_check(en->path, strlen(en->path))) != 0)
            goto fail;
        switch (en->type) {
        case MF_FILE:
            if (mf_streamed(en)) {
                m->nfiles++;
                break;
            }
            if (en->size > UINT64_MAX - m->total_bytes) {
                e = PCP_ERR_TOO_BIG;
                goto fail;
            }
            m->total_bytes += en->size;
            m->nfiles++;
            break;
        case MF_DIR:
            if (en->size != 0) {
                e = PCP_ERR_PROTO;
                goto fail;
            }
            break;
        case MF_LINK:
            if (en->size != 0) {
                e = PCP_ERR_PROTO;
                goto fail;
            }
            if ((e = get_str(&r, &en->link)) != 0)
                goto fail;
            if ((e = manifest_link_check(en->path, en->link)) != 0)
                goto fail;
            break;
        default:
            e = PCP_ERR_PROTO;
            goto fail;
        }
    }
    if (rbuf_left(&r) != 0) {
        e = PCP_ERR_PROTO;
        goto fail;
    }
    return 0;
fail:
    manifest_free(m);
    return e;
}

/* An open-addressing set of entry indices keyed by path, hashed with
 * SipHash under a random key so that a hostile offer cannot aim for
 * collisions. */
struct pathset {
    uint32_t *slot; /* entry index + 1; 0 = empty */
    size_t mask;
    uint8_t key[crypto_shorthash_KEYBYTES];
};

/* The slot of the entry whose path is p[0..len), or the empty slot where
 * it would go. */
static size_t pathset_slot(const struct pathset *s, const struct manifest *m, const char *p,
                           size_t len)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v = 0;
    crypto_shorthash(h, (const uint8_t *)p, len, s->key);
    memcpy(&v, h, sizeof(v));
    for (size_t i = (size_t)v & s->mask;; i = (i + 1) & s->mask) {
        uint32_t e = s->slot[i];
        if (!e)
            return i;
        const char *q = m->e[e - 1].path;
        if (!strncmp(q, p, len) && q[len] == '\0')
            return i;
    }
}

int manifest_check_tree(const struct manifest *m, size_t *bad)
{
    struct pathset s;
    size_t cap = 16;
    int e = 0;
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
    }
    /* Every parent of every path is a directory of the offer (checked once
     * all are known: the order does not matter). */
    for (size_t i = 0; i < m->n && !e; i++) {
        const char *p = m->e[i].path;
        for (const char *c = strchr(p, '/'); c; c = strchr(c + 1, '/')) {
            uint32_t j = s.slot[pathset_slot(&s, m, p, (size_t)(c - p))];
            if (!j || m->e[j - 1].type != MF_DIR) {
                e = PCP_ERR_UNSAFE_PATH;
                *bad = i;
                break;
            }
        }
    }
    sodium_memzero(s.key, sizeof(s.key));
    free(s.slot);
    return e;
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
                  (cp >= 0x80 && cp < 0xa0) || (cp >= 0x202a && cp <= 0x202e) ||
                  (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f;
        size_t w = bad ? 1 : n;
        if (o + w + 1 > outlen)
            break;
        if (bad)
            out[o++] = '?';
        else
            memcpy(out + o, s, n), o += n;
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
