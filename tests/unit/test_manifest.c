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
    assert_int_equal(decode_one(MF_FILE, "ok\x1b[31m", 1, NULL), 0);

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
}

static void test_build(void **state)
{
    (void)state;
    char dir[] = "/tmp/pcp-mf-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[256];
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

    struct manifest m;
    manifest_init(&m);
    snprintf(p, sizeof(p), "%s/tree/", dir);
    const char *args[] = {p};
    assert_int_equal(manifest_build(&m, args, 1), 0);
    assert_int_equal(m.n, 4); /* tree, tree/empty, tree/f, tree/in */
    assert_string_equal(m.e[0].path, "tree");
    assert_int_equal(m.e[0].type, MF_DIR);
    assert_int_equal(m.nfiles, 1);
    assert_int_equal(m.total_bytes, 5);
    assert_int_equal(m.skipped, 1);
    assert_string_equal(m.first_skip, "tree/out");
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
        cmocka_unit_test(test_path_check), cmocka_unit_test(test_link_check),
        cmocka_unit_test(test_roundtrip),  cmocka_unit_test(test_decode_hostile),
        cmocka_unit_test(test_check_tree), cmocka_unit_test(test_display),
        cmocka_unit_test(test_build),      cmocka_unit_test(test_text),
        cmocka_unit_test(test_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
