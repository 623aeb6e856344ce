/* Unit tests for core/manifest.c: path safety, links, encode/decode, display. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "manifest.h"

static int chk(const char *p)
{
    return manifest_path_check(p, strlen(p));
}

static void test_path_check(void **state)
{
    (void)state;
    assert_int_equal(chk("a"), 0);
    assert_int_equal(chk("a/b/c.txt"), 0);
    assert_int_equal(chk(".hidden"), 0);
    assert_int_equal(chk("a/..b"), 0);
    assert_int_equal(chk(""), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(chk("/etc/passwd"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(chk(".."), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(chk("../x"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(chk("a/../../x"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(chk("a/./b"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(chk("a//b"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(chk("a/"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(chk("a\\..\\b"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(manifest_path_check("a\0b", 3), PCP_ERR_UNSAFE_PATH);
    char longc[300];
    memset(longc, 'x', 256);
    longc[256] = '\0';
    assert_int_equal(chk(longc), PCP_ERR_UNSAFE_PATH);
    longc[255] = '\0';
    assert_int_equal(chk(longc), 0);
    /* Control characters: C0, DEL, C1 as UTF-8; not what merely looks
     * like them. */
    const char *ctl[] = {"a\x01", "a\nb",  "a\rb",       "a\tb",           "d/a\x1b[31mb",
                         "a\x1f", "a\x7f", "c1\xc2\x80", "c1\xc2\x9b[31m", "c1\xc2\x9f/x"};
    for (size_t i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++)
        if (chk(ctl[i]) != PCP_ERR_UNSAFE_PATH)
            fail_msg("control character %zu accepted", i);
    assert_int_equal(chk("nbsp\xc2\xa0"), 0);
    assert_int_equal(chk("caf\xc3\xa9"), 0);
    assert_int_equal(chk("latin1\xe9\x9b"), 0); /* not UTF-8: no C1 there */
    assert_int_equal(chk("cut\xc2"), 0);
    assert_int_equal(chk("rtl\xe2\x80\xae"), 0); /* shown as '?', harmless on disk */
}

static void test_link_check(void **state)
{
    (void)state;
    assert_int_equal(manifest_link_check("d/l", "f"), 0);
    assert_int_equal(manifest_link_check("d/l", "../f"), 0);
    assert_int_equal(manifest_link_check("d/e/l", "../../f"), 0);
    assert_int_equal(manifest_link_check("d/l", "../../f"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(manifest_link_check("l", "../x"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(manifest_link_check("l", "/etc/passwd"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(manifest_link_check("d/l", "a/../../.."), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(manifest_link_check("d/l", "./x/./y"), 0);
    assert_int_equal(manifest_link_check("d/l", ""), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(manifest_link_check("l", "a\nb"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(manifest_link_check("l", "a\x1b[2J"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(manifest_link_check("l", "x\xc2\x85"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(manifest_link_check("l", "caf\xc3\xa9"), 0);
}

static void add(struct manifest *m, uint8_t type, const char *path, uint64_t size, const char *link)
{
    m->e = realloc(m->e, (m->n + 1) * sizeof(*m->e));
    struct mf_entry *e = &m->e[m->n++];
    memset(e, 0, sizeof(*e));
    e->type = type;
    e->path = strdup(path);
    e->link = link ? strdup(link) : NULL;
    e->size = size;
    e->mode = 0644;
    e->mtime_ns = 1234567890123456789LL;
}

static void test_roundtrip(void **state)
{
    (void)state;
    struct manifest m, d;
    struct wbuf w;
    manifest_init(&m);
    add(&m, MF_DIR, "top", 0, NULL);
    add(&m, MF_FILE, "top/a.txt", 5, NULL);
    add(&m, MF_FILE, "top/empty", 0, NULL);
    add(&m, MF_LINK, "top/l", 0, "a.txt");
    wbuf_init(&w);
    assert_int_equal(manifest_encode(&m, &w), 0);
    assert_int_equal(manifest_decode(&d, w.p, w.len), 0);
    assert_int_equal(d.n, 4);
    assert_int_equal(d.nfiles, 2);
    assert_int_equal(d.total_bytes, 5);
    assert_string_equal(d.e[1].path, "top/a.txt");
    assert_string_equal(d.e[3].link, "a.txt");
    assert_int_equal(d.e[1].mtime_ns, 1234567890123456789LL);
    /* Every truncation fails cleanly. */
    for (size_t cut = 0; cut < w.len; cut++) {
        struct manifest t;
        assert_int_not_equal(manifest_decode(&t, w.p, cut), 0);
    }
    /* A trailing byte is refused. */
    wbuf_put_u8(&w, 0);
    struct manifest t;
    assert_int_equal(manifest_decode(&t, w.p, w.len), PCP_ERR_PROTO);
    manifest_free(&d);
    manifest_free(&m);
    wbuf_free(&w);
}

static int decode_one(uint8_t type, const char *path, uint64_t size, const char *link)
{
    struct manifest m, d;
    struct wbuf w;
    manifest_init(&m);
    add(&m, type, path, size, link);
    wbuf_init(&w);
    manifest_encode(&m, &w);
    int r = manifest_decode(&d, w.p, w.len);
    if (r == 0)
        manifest_free(&d);
    manifest_free(&m);
    wbuf_free(&w);
    return r;
}

static void test_decode_hostile(void **state)
{
    (void)state;
    assert_int_equal(decode_one(MF_FILE, "../evil", 1, NULL), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(decode_one(MF_FILE, "/etc/passwd", 1, NULL), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(decode_one(MF_FILE, "a/../../b", 1, NULL), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(decode_one(MF_LINK, "l", 0, "/etc"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(decode_one(MF_LINK, "d/l", 0, "../../etc"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(decode_one(9, "x", 0, NULL), PCP_ERR_PROTO);
    assert_int_equal(decode_one(MF_DIR, "x", 7, NULL), PCP_ERR_PROTO);
    assert_int_equal(decode_one(MF_FILE, "ok\x1b[31m", 1, NULL), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(decode_one(MF_FILE, "two\nlines", 1, NULL), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(decode_one(MF_DIR, "c1\xc2\x9b", 0, NULL), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(decode_one(MF_LINK, "l", 0, "t\x1b]0;x\x07"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(decode_one(MF_FILE, "caf\xc3\xa9", 1, NULL), 0);

    /* A count that the bytes cannot hold. */
    uint8_t lie[] = {'P', 'M', 'F', '1', 0xff, 0xff, 0xff, 0xff};
    struct manifest d;
    assert_int_not_equal(manifest_decode(&d, lie, sizeof(lie)), 0);
    uint8_t bad_magic[] = {'X', 'M', 'F', '1', 0, 0, 0, 0};
    assert_int_equal(manifest_decode(&d, bad_magic, sizeof(bad_magic)), PCP_ERR_PROTO);

    /* Sizes that overflow the total. */
    struct manifest m;
    struct wbuf w;
    manifest_init(&m);
    add(&m, MF_FILE, "a", UINT64_MAX - 1, NULL);
    add(&m, MF_FILE, "b", 2, NULL);
    wbuf_init(&w);
    manifest_encode(&m, &w);
    assert_int_equal(manifest_decode(&d, w.p, w.len), PCP_ERR_TOO_BIG);
    manifest_free(&m);
    wbuf_free(&w);
}

static int decode_bytes(struct wbuf *w)
{
    struct manifest d;
    int r = manifest_decode(&d, w->p, w->len);
    if (r == 0)
        manifest_free(&d);
    wbuf_free(w);
    return r;
}

/* A message: alone, with no path, mode or time, no NUL, MF_TEXT_MAX bytes at most. */
static void test_text(void **state)
{
    (void)state;
    struct manifest m, d;
    struct wbuf w;
    manifest_init(&m);
    assert_int_equal(manifest_add_text(&m, "hello\nworld", 11), 0);
    assert_int_equal(manifest_add_text(&m, "again", 5), PCP_ERR_INVAL);
    wbuf_init(&w);
    assert_int_equal(manifest_encode(&m, &w), 0);
    assert_int_equal(manifest_decode(&d, w.p, w.len), 0);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.e[0].type, MF_TEXT);
    assert_string_equal(d.e[0].text, "hello\nworld");
    assert_int_equal(d.nfiles, 0);
    assert_int_equal(d.total_bytes, 0);
    size_t bad;
    assert_int_equal(manifest_check_tree(&d, &bad), 0);
    manifest_free(&d);
    /* Cut anywhere: refused. */
    for (size_t cut = 0; cut < w.len; cut++) {
        struct manifest t;
        assert_int_not_equal(manifest_decode(&t, w.p, cut), 0);
    }
    wbuf_free(&w);
    /* With a path, a mode, a time, or a second entry: refused. */
    const char *what[] = {"path", "mode", "mtime", "second"};
    for (size_t k = 0; k < 4; k++) {
        m.e[0].mode = k == 1 ? 0644 : 0;
        m.e[0].mtime_ns = k == 2 ? 1 : 0;
        free(m.e[0].path);
        m.e[0].path = strdup(k == 0 ? "x" : "");
        if (k == 3)
            add(&m, MF_FILE, "f", 1, NULL);
        wbuf_init(&w);
        manifest_encode(&m, &w);
        int r = decode_bytes(&w);
        if (r != PCP_ERR_PROTO)
            fail_msg("text with a %s: %d", what[k], r);
    }
    manifest_free(&m);
    char *big = malloc(MF_TEXT_MAX + 1);
    assert_non_null(big);
    memset(big, 'a', MF_TEXT_MAX + 1);
    manifest_init(&m);
    assert_int_equal(manifest_add_text(&m, big, MF_TEXT_MAX + 1), PCP_ERR_INVAL);
    assert_int_equal(manifest_add_text(&m, "a\0b", 3), PCP_ERR_INVAL);
    assert_int_equal(manifest_add_text(&m, big, MF_TEXT_MAX), 0);
    m.e[0].size = MF_TEXT_MAX + 1; /* claims one byte more than the limit */
    free(m.e[0].text);
    m.e[0].text = big;
    big = NULL;
    wbuf_init(&w);
    manifest_encode(&m, &w);
    assert_int_equal(decode_bytes(&w), PCP_ERR_PROTO);
    manifest_free(&m);
}

/* A file of unknown size (from a pipe): alone, named by one safe component. */
static void test_stream(void **state)
{
    (void)state;
    struct manifest m, d;
    struct wbuf w;
    manifest_init(&m);
    assert_int_equal(manifest_add_stream(&m, "a/b"), PCP_ERR_INVAL);
    assert_int_equal(manifest_add_stream(&m, ".."), PCP_ERR_INVAL);
    assert_int_equal(manifest_add_stream(&m, "stdin"), 0);
    assert_int_equal(manifest_add_stream(&m, "again"), PCP_ERR_INVAL);
    assert_true(mf_streamed(&m.e[0]));
    wbuf_init(&w);
    assert_int_equal(manifest_encode(&m, &w), 0);
    assert_int_equal(manifest_decode(&d, w.p, w.len), 0);
    assert_true(mf_streamed(&d.e[0]));
    assert_int_equal(d.nfiles, 1);
    assert_int_equal(d.total_bytes, 0);
    manifest_free(&d);
    wbuf_free(&w);
    add(&m, MF_FILE, "other", 1, NULL);
    wbuf_init(&w);
    manifest_encode(&m, &w);
    assert_int_equal(decode_bytes(&w), PCP_ERR_PROTO);
    manifest_free(&m);
}

/* check_tree on a manifest of (type, path) pairs, links pointing at "t". */
static int tree(size_t n, const uint8_t *types, const char *const *paths, size_t *bad)
{
    struct manifest m;
    manifest_init(&m);
    for (size_t i = 0; i < n; i++)
        add(&m, types[i], paths[i], 0, types[i] == MF_LINK ? "t" : NULL);
    int r = manifest_check_tree(&m, bad);
    manifest_free(&m);
    return r;
}

static void test_check_tree(void **state)
{
    (void)state;
    size_t bad = 99;
    const uint8_t ok_t[] = {MF_DIR, MF_FILE, MF_DIR, MF_FILE, MF_FILE, MF_LINK};
    const char *ok_p[] = {"d", "d/f", "d/e", "d/e/g", "README", "Readme"};
    assert_int_equal(tree(6, ok_t, ok_p, &bad), 0);
    assert_int_equal(bad, 99);

    const uint8_t dup_t[] = {MF_FILE, MF_DIR, MF_FILE};
    const char *dup_p[] = {"a", "b", "a"};
    assert_int_equal(tree(3, dup_t, dup_p, &bad), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(bad, 2);
    const uint8_t dup2_t[] = {MF_DIR, MF_FILE};
    const char *dup2_p[] = {"x", "x"};
    assert_int_equal(tree(2, dup2_t, dup2_p, &bad), PCP_ERR_UNSAFE_PATH);

    /* Below a link of the same offer, whichever comes first. */
    const uint8_t l1_t[] = {MF_LINK, MF_FILE};
    const char *l1_p[] = {"l", "l/x"};
    assert_int_equal(tree(2, l1_t, l1_p, &bad), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(bad, 1);
    const uint8_t l2_t[] = {MF_DIR, MF_DIR, MF_FILE, MF_LINK};
    const char *l2_p[] = {"d", "d/l/deep", "d/l/deep/x", "d/l"};
    assert_int_equal(tree(4, l2_t, l2_p, &bad), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(bad, 1);
    /* A parent the offer does not list. */
    const uint8_t np_t[] = {MF_DIR, MF_FILE};
    const char *np_p[] = {"d", "e/x"};
    assert_int_equal(tree(2, np_t, np_p, &bad), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(bad, 1);
    /* Below a file. */
    const uint8_t f_t[] = {MF_FILE, MF_DIR};
    const char *f_p[] = {"f", "f/sub"};
    assert_int_equal(tree(2, f_t, f_p, &bad), PCP_ERR_UNSAFE_PATH);

    /* Many entries: the set grows past its first size. */
    struct manifest m;
    manifest_init(&m);
    char p[32];
    add(&m, MF_DIR, "dir", 0, NULL);
    for (int i = 0; i < 5000; i++) {
        snprintf(p, sizeof(p), "dir/%d", i);
        add(&m, MF_FILE, p, 1, NULL);
    }
    assert_int_equal(manifest_check_tree(&m, &bad), 0);
    add(&m, MF_FILE, "dir/4321", 1, NULL);
    assert_int_equal(manifest_check_tree(&m, &bad), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(bad, 5001);
    manifest_free(&m);
}

/* check_tree on entries "T path[ -> target]" (T: d, f or l). */
static int ltree(const char *const *spec, size_t n, size_t *bad)
{
    struct manifest m;
    manifest_init(&m);
    for (size_t i = 0; i < n; i++) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", spec[i] + 2);
        char *arrow = strstr(buf, " -> ");
        if (arrow)
            *arrow = '\0';
        uint8_t t = spec[i][0] == 'd' ? MF_DIR : spec[i][0] == 'f' ? MF_FILE : MF_LINK;
        add(&m, t, buf, 0, arrow ? arrow + 4 : NULL);
    }
    *bad = 99;
    int r = manifest_check_tree(&m, bad);
    manifest_free(&m);
    return r;
}
#define LTREE(bad, ...)                                                                            \
    ltree((const char *const[]){__VA_ARGS__},                                                      \
          sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *), bad)

/* Links resolved against the offer itself: through its other links. */
static void test_check_links(void **state)
{
    (void)state;
    size_t bad;
    /* The audit's tree: each `..` stays inside if every name were a
     * directory, but up is a link to top, so esc leads to /etc/passwd. */
    assert_int_equal(LTREE(&bad, "d top", "d top/d", "d top/d/e", "l top/d/e/up -> ../..",
                           "l top/esc -> d/e/up/../../../../etc/passwd"),
                     PCP_ERR_UNSAFE_PATH);
    assert_int_equal(bad, 4);
    /* The same, the link listed before the one it goes through. */
    assert_int_equal(LTREE(&bad, "l top/esc -> d/e/up/../../x", "d top", "d top/d", "d top/d/e",
                           "l top/d/e/up -> ../.."),
                     PCP_ERR_UNSAFE_PATH);
    assert_int_equal(bad, 0);
    /* Through a link and back down, staying inside: fine. */
    assert_int_equal(LTREE(&bad, "d top", "d top/d", "d top/d/e", "l top/d/e/up -> ../..",
                           "l top/ok -> d/e/up/d/e/up/..", "l top/root -> d/e/up/.."),
                     0);
    assert_int_equal(bad, 99);
    /* ... and one step further up from the root is out. */
    assert_int_equal(LTREE(&bad, "d top", "l top/root -> ..", "l top/out -> root/.."),
                     PCP_ERR_UNSAFE_PATH);
    assert_int_equal(bad, 2);
    /* Chains: a -> b -> c -> dir. */
    assert_int_equal(LTREE(&bad, "l a -> b", "l b -> c", "l c -> dir", "d dir", "l x -> a/f"), 0);
    /* Loops, short and long: they never resolve, anywhere, and neither
     * does what goes through them; kept (as pcp always sent them). */
    assert_int_equal(LTREE(&bad, "l a -> b", "l b -> a"), 0);
    assert_int_equal(LTREE(&bad, "l a -> a"), 0);
    assert_int_equal(
        LTREE(&bad, "d d", "l d/a -> ../d/b", "l d/b -> c/x", "l d/c -> a", "l d/x -> a/../.."), 0);
    /* ... but a loop does not hide a link that leads out by itself. */
    assert_int_equal(
        LTREE(&bad, "d d", "l d/a -> b", "l d/b -> a", "l d/up -> ..", "l d/out -> up/.."),
        PCP_ERR_UNSAFE_PATH);
    assert_int_equal(bad, 4);
    assert_int_equal(LTREE(&bad, "d d", "l d/self -> .", "l x -> d/self/self/self"), 0);
    /* A name the offer does not list may be anything: below it, fine;
     * `..` after it, refused (it may be a link the receiver has). */
    assert_int_equal(LTREE(&bad, "d d", "l d/l -> elsewhere/x"), 0);
    assert_int_equal(LTREE(&bad, "d d", "l d/l -> elsewhere/../x"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(LTREE(&bad, "l a -> nothere", "l b -> a/.."), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(bad, 1);
    /* A file is not a directory. */
    assert_int_equal(LTREE(&bad, "f f", "l l -> f"), 0);
    assert_int_equal(LTREE(&bad, "d d", "f d/f", "l l -> d/f/../.."), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(LTREE(&bad, "f f", "l a -> f", "l b -> a/x"), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(bad, 2);

    /* Counted as Linux counts: every link followed, nested ones too. */
    assert_int_equal(LTREE(&bad, "d d", "l d/up -> ..", "l x -> d/up/d/up/d/up/d/up/d/up/d/up/d"),
                     0);
    assert_int_equal(LTREE(&bad, "l a -> .", "l b -> a/a/a/a/a/a/a/a/a/a", "l c -> b/b/b/b"),
                     PCP_ERR_UNSAFE_PATH); /* c follows 1 + 4 * 11 links */
    assert_int_equal(bad, 2);
    /* Depth: a chain of MF_LINK_HOPS links resolves, one more does not. */
    for (int extra = 0; extra <= 1; extra++) {
        struct manifest m;
        char p[32], t[32];
        int n = MF_LINK_HOPS + extra;
        manifest_init(&m);
        add(&m, MF_DIR, "dir", 0, NULL);
        for (int i = 0; i < n; i++) {
            snprintf(p, sizeof(p), "l%d", i);
            snprintf(t, sizeof(t), "l%d", i + 1);
            add(&m, MF_LINK, p, 0, i + 1 < n ? t : "dir");
        }
        bad = 99;
        assert_int_equal(manifest_check_tree(&m, &bad), extra ? PCP_ERR_UNSAFE_PATH : 0);
        assert_int_equal(bad, extra ? 1 : 99);
        manifest_free(&m);
    }
    /* Many links through one link, many times: it is resolved once. */
    struct manifest m;
    char p[32];
    manifest_init(&m);
    add(&m, MF_DIR, "d", 0, NULL);
    add(&m, MF_LINK, "d/up", 0, "..");
    for (int i = 0; i < 20000; i++) {
        snprintf(p, sizeof(p), "d/l%d", i);
        add(&m, MF_LINK, p, 0, "up/d/up/d/up/d/up/d/up/d/up/d/up/d");
    }
    assert_int_equal(manifest_check_tree(&m, &bad), 0);
    add(&m, MF_LINK, "d/last", 0, "l7/up/up/..");
    assert_int_equal(manifest_check_tree(&m, &bad), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(bad, 20002);
    manifest_free(&m);
}

static void test_display(void **state)
{
    (void)state;
    char out[64];
    manifest_display("plain.txt", out, sizeof(out));
    assert_string_equal(out, "plain.txt");
    manifest_display("evil\x1b]0;title\x07.txt", out, sizeof(out));
    assert_string_equal(out, "evil?]0;title?.txt");
    manifest_display("caf\xc3\xa9", out, sizeof(out));
    assert_string_equal(out, "caf\xc3\xa9");
    manifest_display("bad\xff\xfe", out, sizeof(out));
    assert_string_equal(out, "bad??");
    manifest_display("c1\xc2\x9b"
                     "31m",
                     out, sizeof(out));
    assert_string_equal(out, "c1?31m");
    manifest_display("rtl\xe2\x80\xae"
                     "txt.exe",
                     out, sizeof(out));
    assert_string_equal(out, "rtl?txt.exe");
    /* A message keeps its lines and tabs, nothing else. */
    manifest_display_text("a\tb\nc\x1b[2J\r", out, sizeof(out));
    assert_string_equal(out, "a\tb\nc?[2J?");
    manifest_display("nl\nx", out, sizeof(out));
    assert_string_equal(out, "nl?x");
    char small[4];
    manifest_display("abcdef", small, sizeof(small));
    assert_string_equal(small, "abc");
    manifest_display("ab'", small, sizeof(small)); /* no room for the escaped quote */
    assert_string_equal(small, "ab");

    /* Invisible characters, each as UTF-8: separators, bidi controls,
     * zero-width ones. */
    const char *inv[] = {"\xe2\x80\xa8", "\xe2\x80\xa9", "\xd8\x9c",     "\xe2\x80\x8b",
                         "\xe2\x80\x8c", "\xe2\x80\x8d", "\xe2\x80\x8e", "\xe2\x80\x8f",
                         "\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad",
                         "\xe2\x81\xa0", "\xe2\x81\xa1", "\xe2\x81\xa4", "\xe2\x81\xa6",
                         "\xe2\x81\xa7", "\xe2\x81\xa9", "\xef\xbb\xbf", "\xe1\xa0\x8e"};
    for (size_t i = 0; i < sizeof(inv) / sizeof(inv[0]); i++) {
        char in[16];
        snprintf(in, sizeof(in), "a%sb", inv[i]);
        manifest_display(in, out, sizeof(out));
        if (strcmp(out, "a?b") != 0)
            fail_msg("invisible %zu shown as %s", i, out);
        manifest_display_text(in, out, sizeof(out));
        if (strcmp(out, "a?b") != 0)
            fail_msg("invisible %zu shown in a message as %s", i, out);
    }
    /* Neighbours that are visible stay. */
    manifest_display("\xe2\x80\x90-\xe2\x81\xa5-\xe2\x80\xaf", out, sizeof(out));
    assert_string_equal(out, "\xe2\x80\x90-\xe2\x81\xa5-\xe2\x80\xaf");

    /* Quotes cannot end the quotes a name is shown in. */
    manifest_display("x', 'Accept? [y/N] y", out, sizeof(out));
    assert_string_equal(out, "x\\', \\'Accept? [y/N] y");
    manifest_display("say \"hi\" \\o/", out, sizeof(out));
    assert_string_equal(out, "say \\\"hi\\\" \\\\o/");
    manifest_display_text("it's \"fine\"\n", out, sizeof(out));
    assert_string_equal(out, "it's \"fine\"\n");
}

/* Feeds w to a decoder in pieces of `piece` bytes (0: all at once). */
static int decode_pieces(struct manifest *d, const struct wbuf *w, size_t piece)
{
    struct mf_decoder dec;
    int r = 0;
    manifest_decoder_init(&dec, d);
    for (size_t off = 0; off < w->len && !r; off += piece) {
        size_t n = !piece || w->len - off < piece ? w->len - off : piece;
        r = manifest_decoder_feed(&dec, w->p + off, n);
        if (!piece)
            break;
    }
    if (!r)
        r = manifest_decoder_finish(&dec);
    manifest_decoder_free(&dec);
    return r;
}

/* The same offer, fed in pieces of every size, decodes the same. */
static void test_decode_pieces(void **state)
{
    (void)state;
    struct manifest m, d;
    struct wbuf w, w2;
    manifest_init(&m);
    add(&m, MF_DIR, "top", 0, NULL);
    add(&m, MF_FILE, "top/a.txt", 5, NULL);
    add(&m, MF_LINK, "top/l", 0, "a.txt");
    add(&m, MF_FILE, "top/b", 7, NULL);
    wbuf_init(&w);
    assert_int_equal(manifest_encode(&m, &w), 0);
    for (size_t piece = 1; piece <= w.len; piece++) {
        assert_int_equal(decode_pieces(&d, &w, piece), 0);
        wbuf_init(&w2);
        assert_int_equal(manifest_encode(&d, &w2), 0);
        assert_int_equal(w2.len, w.len);
        assert_memory_equal(w2.p, w.p, w.len);
        assert_int_equal(d.total_bytes, 12);
        wbuf_free(&w2);
        manifest_free(&d);
    }
    /* Cut short: refused at finish, whatever the pieces. */
    w.len--;
    for (size_t piece = 1; piece <= w.len; piece++)
        assert_int_equal(decode_pieces(&d, &w, piece), PCP_ERR_TRUNCATED);
    w.len++;
    /* An error is sticky, and leaves the manifest empty. */
    struct mf_decoder dec;
    manifest_decoder_init(&dec, &d);
    assert_int_equal(manifest_decoder_feed(&dec, (const uint8_t *)"XMF1\0\0\0\0", 8),
                     PCP_ERR_PROTO);
    assert_int_equal(manifest_decoder_feed(&dec, w.p, w.len), PCP_ERR_PROTO);
    assert_int_equal(manifest_decoder_finish(&dec), PCP_ERR_PROTO);
    assert_int_equal(d.n, 0);
    manifest_decoder_free(&dec);
    wbuf_free(&w);
    manifest_free(&m);
}

/* n files "dNNN/fNNNNNNN" in dirs of 10,000, as hostile_sender's million,
 * or, with a long name, files of that name length at the top. */
static void big_offer(struct manifest *m, size_t n, size_t namelen)
{
    char p[300];
    manifest_init(m);
    m->e = malloc((n + n / 10000 + 1) * sizeof(*m->e));
    assert_non_null(m->e);
    for (size_t i = 0; i < n; i++) {
        struct mf_entry *e;
        if (!namelen && i % 10000 == 0) {
            e = &m->e[m->n++];
            memset(e, 0, sizeof(*e));
            snprintf(p, sizeof(p), "d%03zu", i / 10000);
            e->type = MF_DIR;
            e->path = strdup(p);
        }
        if (namelen) {
            memset(p, 'x', namelen);
            p[namelen] = '\0';
            snprintf(p, 9, "h%07u", (unsigned)(i % 10000000u));
            p[8] = 'x';
        } else {
            snprintf(p, sizeof(p), "d%03zu/f%07zu", i / 10000, i);
        }
        e = &m->e[m->n++];
        memset(e, 0, sizeof(*e));
        e->type = MF_FILE;
        e->path = strdup(p);
        e->size = 1;
        e->mode = 0644;
    }
    m->cap = m->n;
}

/* What a receiver holds for an offer before it asks is bounded. */
static void test_decode_budget(void **state)
{
    (void)state;
    struct manifest m, d;
    struct wbuf w;
    size_t bad;
    /* A million small files fit, fed whole or as the receiver gets them. */
    big_offer(&m, 1000000, 0);
    assert_true(manifest_cost(&m) <= MF_MEM_MAX);
    wbuf_init(&w);
    assert_int_equal(manifest_encode(&m, &w), 0);
    assert_int_equal(decode_pieces(&d, &w, 256 * 1024), 0);
    assert_int_equal(d.n, 1000100);
    assert_int_equal(manifest_cost(&d), manifest_cost(&m));
    assert_int_equal(manifest_check_tree(&d, &bad), 0);
    manifest_free(&d);
    assert_int_equal(manifest_decode(&d, w.p, w.len), 0);
    manifest_free(&d);
    wbuf_free(&w);
    manifest_free(&m);

    /* 240,000 names of 248 bytes (65 MB sent, 71 MB held): over, refused
     * by the sender's encoder and, part way through, by the decoder. */
    big_offer(&m, 240000, 248);
    assert_true(manifest_cost(&m) > MF_MEM_MAX);
    wbuf_init(&w);
    assert_int_equal(manifest_encode(&m, &w), PCP_ERR_TOO_BIG);
    assert_true(w.len < MF_ENCODED_MAX); /* the memory bound, not the byte count */
    assert_int_equal(decode_pieces(&d, &w, 256 * 1024), PCP_ERR_TOO_BIG);
    assert_int_equal(d.n, 0);
    assert_int_equal(manifest_decode(&d, w.p, w.len), PCP_ERR_TOO_BIG);
    wbuf_free(&w);
    manifest_free(&m);

    /* A count over the bound: refused from the header alone. */
    uint8_t hdr[8] = {'P', 'M', 'F', '1'};
    put_be32(hdr + 4, MF_ENTRIES_MAX + 1);
    struct mf_decoder dec;
    manifest_decoder_init(&dec, &d);
    assert_int_equal(manifest_decoder_feed(&dec, hdr, sizeof(hdr)), PCP_ERR_TOO_BIG);
    manifest_decoder_free(&dec);
    /* So is a count whose entries alone (and the set) would pass it. */
    put_be32(hdr + 4, 1300000);
    manifest_decoder_init(&dec, &d);
    assert_int_equal(manifest_decoder_feed(&dec, hdr, sizeof(hdr)), PCP_ERR_TOO_BIG);
    manifest_decoder_free(&dec);
    /* A count that lies (more than is sent) costs only what was sent. */
    put_be32(hdr + 4, 1000000);
    manifest_decoder_init(&dec, &d);
    assert_int_equal(manifest_decoder_feed(&dec, hdr, sizeof(hdr)), 0);
    assert_true(d.cap == 0);
    assert_int_equal(manifest_decoder_finish(&dec), PCP_ERR_TRUNCATED);
    manifest_decoder_free(&dec);
}

static void test_build(void **state)
{
    (void)state;
    char dir[] = "/tmp/pcp-mf-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[256];
    size_t bad;
    snprintf(p, sizeof(p), "%s/tree", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/tree/empty", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/tree/f", dir);
    FILE *f = fopen(p, "w");
    fputs("hello", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/tree/in", dir);
    assert_int_equal(symlink("f", p), 0);
    snprintf(p, sizeof(p), "%s/tree/out", dir);
    assert_int_equal(symlink("/etc/passwd", p), 0);
    /* Names a receiver refuses: a newline, an escape; left out. */
    snprintf(p, sizeof(p), "%s/tree/two\nlines", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/tree/e\x1b[2J", dir);
    assert_int_equal(symlink("f", p), 0);
    /* The audit's tree: up is fine, esc leads out through it. */
    snprintf(p, sizeof(p), "%s/tree/d", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/tree/d/e", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/tree/d/e/up", dir);
    assert_int_equal(symlink("../..", p), 0);
    snprintf(p, sizeof(p), "%s/tree/esc", dir);
    assert_int_equal(symlink("d/e/up/../../../../etc/passwd", p), 0);
    snprintf(p, sizeof(p), "%s/tree/via", dir);
    assert_int_equal(symlink("esc", p), 0); /* through esc: out too */
    snprintf(p, sizeof(p), "%s/tree/z", dir);
    assert_int_equal(symlink("d/e/up/f", p), 0);

    struct manifest m;
    manifest_init(&m);
    snprintf(p, sizeof(p), "%s/tree/", dir);
    const char *args[] = {p};
    assert_int_equal(manifest_build(&m, args, 1), 0);
    /* tree, tree/d, tree/d/e, tree/d/e/up, tree/empty, tree/f, tree/in, tree/z */
    const char *want[] = {"tree",       "tree/d", "tree/d/e", "tree/d/e/up",
                          "tree/empty", "tree/f", "tree/in",  "tree/z"};
    assert_int_equal(m.n, 8);
    for (size_t i = 0; i < m.n; i++)
        assert_string_equal(m.e[i].path, want[i]);
    assert_int_equal(m.e[0].type, MF_DIR);
    assert_int_equal(m.nfiles, 1);
    assert_int_equal(m.total_bytes, 5);
    assert_int_equal(m.skipped, 5); /* e\e[2J, esc, out, two\nlines, via */
    assert_string_equal(m.first_skip, "tree/e\x1b[2J");
    assert_int_equal(manifest_check_tree(&m, &bad), 0);
    manifest_free(&m);

    /* The same name twice is refused. */
    const char *twice[] = {p, p};
    manifest_init(&m);
    assert_int_equal(manifest_build(&m, twice, 2), PCP_ERR_INVAL);
    manifest_free(&m);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_check),    cmocka_unit_test(test_link_check),
        cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_decode_hostile),
        cmocka_unit_test(test_check_tree),    cmocka_unit_test(test_display),
        cmocka_unit_test(test_build),         cmocka_unit_test(test_text),
        cmocka_unit_test(test_stream),        cmocka_unit_test(test_check_links),
        cmocka_unit_test(test_decode_pieces), cmocka_unit_test(test_decode_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
