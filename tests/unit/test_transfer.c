/*
 * Unit tests for the transfer (core/xsend.c, xrecv.c and what they use): a
 * sender and a receiver thread joined by a socketpair, with fixed keys
 * (the handshake is tested on its own; the file system alone: test_fsys).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "transfer.h"
#include "wire.h"

static char root[64];
static uint8_t k_rs[32], k_sr[32];
/* Ciphers each side allows in run() (0: all), and what they used. */
static unsigned g_tx_ciphers, g_rx_ciphers;
static int g_tx_cipher, g_rx_cipher, g_tx_zstd, g_rx_zstd;
/* What each side's resuming callback said in the last run(): [0] the
 * sender (what matched), [1] the receiver (what it offered). */
static uint64_t g_res_files[2], g_res_bytes[2];

struct side {
    int fd;
    struct manifest *m;
    struct xfer_opts o;
    int result;
    int accept;
    char peer_msg[128];
    char err_path[256];
};

static int confirm(void *ud, const struct manifest *m)
{
    (void)m;
    return ((struct side *)ud)->accept;
}

static void resuming(void *ud, uint64_t files, uint64_t bytes)
{
    int rx = ((struct side *)ud)->m == NULL;
    g_res_files[rx] = files;
    g_res_bytes[rx] = bytes;
}

/* The Nth thread a transfer starts fails to start, on the sender's side
 * (g_fail_tx) or the receiver's (g_fail_rx); 0: none. The transfer's
 * pthread_create calls come here (the program's own symbol comes first),
 * then go on to the C library's. Counted per calling thread. */
static int g_fail_tx, g_fail_rx;
static _Thread_local int tl_sender, tl_threads;

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
    int fail_at = tl_sender ? g_fail_tx : g_fail_rx;
    if (fail_at && ++tl_threads == fail_at)
        return EAGAIN;
    return real(t, attr, fn, arg);
}

static void *send_thread(void *arg)
{
    struct side *s = arg;
    struct frame_reader fr;
    tl_sender = 1;
    frame_reader_init(&fr, s->fd);
    s->o.peer_msg = s->peer_msg;
    s->o.peer_msg_len = sizeof(s->peer_msg);
    s->result = xfer_send(s->fd, &fr, k_sr, k_rs, s->m, &s->o, NULL);
    frame_reader_free(&fr);
    shutdown(s->fd, SHUT_RDWR);
    return NULL;
}

static int run(const char *const *paths, size_t n, const char *out, int accept, int overwrite,
               int *send_result, struct side *rx_out)
{
    int sv[2];
    struct manifest m;
    struct side tx = {0}, rx = {0};
    pthread_t t;
    manifest_init(&m);
    assert_int_equal(manifest_build(&m, paths, n), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    tx.fd = sv[0];
    tx.m = &m;
    tx.o.compress = -1;
    tx.o.ciphers = g_tx_ciphers;
    tx.o.resuming = resuming;
    tx.o.ud = &tx;
    rx.o.resuming = resuming;
    g_res_files[0] = g_res_files[1] = g_res_bytes[0] = g_res_bytes[1] = 0;
    rx.o.ciphers = g_rx_ciphers;
    rx.fd = sv[1];
    rx.accept = accept;
    rx.o.out_dir = out;
    rx.o.overwrite = overwrite;
    rx.o.confirm = confirm;
    rx.o.ud = &rx;
    rx.o.err_path = rx.err_path;
    rx.o.err_path_len = sizeof(rx.err_path);
    pthread_create(&t, NULL, send_thread, &tx);
    struct frame_reader fr;
    frame_reader_init(&fr, rx.fd);
    rx.result = xfer_receive(rx.fd, &fr, k_rs, k_sr, &rx.o, NULL);
    frame_reader_free(&fr);
    shutdown(rx.fd, SHUT_RDWR);
    pthread_join(t, NULL);
    g_tx_cipher = tx.o.cipher;
    g_rx_cipher = rx.o.cipher;
    g_tx_zstd = tx.o.zstd;
    g_rx_zstd = rx.o.zstd;
    close(sv[0]);
    close(sv[1]);
    manifest_free(&m);
    if (send_result)
        *send_result = tx.result;
    if (rx_out)
        *rx_out = rx;
    return rx.result;
}

static void sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    (void)state;
    strcpy(root, "/tmp/pcp-xfer-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    randombytes_buf(k_rs, sizeof(k_rs));
    randombytes_buf(k_sr, sizeof(k_sr));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    return system(cmd);
}

static void test_tree(void **state)
{
    (void)state;
    sh("mkdir -p %s/src/tree/sub/deeper %s/src/tree/emptydir", root, root);
    sh("head -c 1000000 /dev/urandom > %s/src/tree/random.bin", root);
    sh("yes 'some compressible text line' | head -c 3000000 > %s/src/tree/sub/text.txt", root);
    sh(": > %s/src/tree/sub/deeper/empty", root);
    sh("printf x > %s/src/tree/one && chmod 0751 %s/src/tree/one", root, root);
    sh("ln -s sub/text.txt %s/src/tree/link", root);
    sh("touch -d '2001-02-03 04:05:06' %s/src/tree/one", root);
    char src[128], out[128];
    snprintf(src, sizeof(src), "%s/src/tree", root);
    snprintf(out, sizeof(out), "%s/out", root);
    const char *paths[] = {src};
    int sres;
    assert_int_equal(run(paths, 1, out, 1, 0, &sres, NULL), 0);
    assert_int_equal(sres, 0);
    /* Compressed with zstd when this build has it (both ends do here). */
    assert_int_equal(g_tx_zstd, xfer_have_zstd());
    assert_int_equal(g_rx_zstd, xfer_have_zstd());
    sh("diff -r --no-dereference %s/src/tree %s/out/tree", root, root);
    sh("test -d %s/out/tree/emptydir", root);
    sh("test -L %s/out/tree/link", root);
    struct stat a, b;
    char p[256];
    snprintf(p, sizeof(p), "%s/src/tree/one", root);
    stat(p, &a);
    snprintf(p, sizeof(p), "%s/out/tree/one", root);
    stat(p, &b);
    assert_int_equal(a.st_mode & 0777, b.st_mode & 0777);
    assert_int_equal(a.st_mtime, b.st_mtime);
    sh("test -z \"$(find %s/out -name '*.pcp-part')\"", root);

    /* Again into the same place: refused before anything is written. */
    struct side rx;
    assert_int_equal(run(paths, 1, out, 1, 0, &sres, &rx), PCP_ERR_EXISTS);
    assert_int_equal(sres, PCP_ERR_REFUSED);
    assert_true(strlen(rx.err_path) > 0);
    /* ... and accepted with overwrite. */
    assert_int_equal(run(paths, 1, out, 1, 1, &sres, NULL), 0);
    sh("diff -r --no-dereference %s/src/tree %s/out/tree", root, root);
}

/* Both sides use the cipher their two sets pick, and the data arrives. */
static void test_ciphers(void **state)
{
    (void)state;
    static const struct {
        unsigned tx, rx;
        int want;
    } cases[] = {
        {0, 1u << STREAM_SECRETSTREAM, STREAM_SECRETSTREAM},
        {1u << STREAM_CHACHA20POLY1305, 0, STREAM_CHACHA20POLY1305},
        {0, 1u << STREAM_AES256GCM, STREAM_AES256GCM},
        {1u << STREAM_AES256GCM, 1u << STREAM_CHACHA20POLY1305, STREAM_SECRETSTREAM},
    };
    sh("mkdir -p %s/ciph && head -c 700000 /dev/urandom > %s/ciph/f", root, root);
    char src[128], out[128];
    snprintf(src, sizeof(src), "%s/ciph/f", root);
    const char *paths[] = {src};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].want == STREAM_AES256GCM && !(stream_ciphers() & 1u << STREAM_AES256GCM))
            continue;
        g_tx_ciphers = cases[i].tx;
        g_rx_ciphers = cases[i].rx;
        snprintf(out, sizeof(out), "%s/ciphout%zu", root, i);
        int sres;
        assert_int_equal(run(paths, 1, out, 1, 0, &sres, NULL), 0);
        assert_int_equal(sres, 0);
        assert_int_equal(g_tx_cipher, cases[i].want);
        assert_int_equal(g_rx_cipher, cases[i].want);
        sh("cmp %s %s/f", src, out);
    }
    g_tx_ciphers = g_rx_ciphers = 0;
}

static void test_declined(void **state)
{
    (void)state;
    sh("mkdir -p %s/d && echo hi > %s/d/file", root, root);
    char src[128], out[128];
    snprintf(src, sizeof(src), "%s/d/file", root);
    snprintf(out, sizeof(out), "%s/declined", root);
    const char *paths[] = {src};
    int sres;
    assert_int_equal(run(paths, 1, out, 0, 0, &sres, NULL), PCP_ERR_REFUSED);
    assert_int_equal(sres, PCP_ERR_REFUSED);
    sh("test ! -e %s/declined/file", root);
}

static void test_many_small(void **state)
{
    (void)state;
    sh("mkdir -p %s/many && cd %s/many && for i in $(seq 1 300); do echo $i > f$i; done", root,
       root);
    char src[128], out[128];
    snprintf(src, sizeof(src), "%s/many", root);
    snprintf(out, sizeof(out), "%s/manyout", root);
    const char *paths[] = {src};
    int sres;
    assert_int_equal(run(paths, 1, out, 1, 0, &sres, NULL), 0);
    assert_int_equal(sres, 0);
    sh("diff -r %s/many %s/manyout/many", root, root);
}

/* Gives the .pcp-part `part` the record a receiver writes on the part of
 * `rel` (the offer's path) when it is sent from `src`; `dmtime` is added
 * to the mtime and `ino_of` names the file whose inode is recorded (the
 * part itself when NULL), so that a record of another offer or file can be
 * made too. Skips the test where the file system has no user attributes. */
static void tag_part(const char *part, const char *src, const char *rel, int64_t dmtime,
                     const char *ino_of)
{
    struct stat s, p;
    struct xfer_partmeta pm;
    uint8_t b[XFER_PARTMETA_LEN];
    assert_int_equal(stat(src, &s), 0);
    assert_int_equal(stat(ino_of ? ino_of : part, &p), 0);
    pm.size = (uint64_t)s.st_size;
    pm.mtime_ns = (int64_t)s.st_mtim.tv_sec * 1000000000 + s.st_mtim.tv_nsec + dmtime;
    pm.ino = (uint64_t)p.st_ino;
    xfer_partmeta_path_hash(rel, pm.path_hash);
    randombytes_buf(pm.id, sizeof(pm.id));
    xfer_partmeta_encode(&pm, b);
    if (setxattr(part, XFER_PART_XATTR, b, sizeof(b), 0) != 0) {
        assert_int_equal(errno, ENOTSUP);
        skip();
    }
}

static void test_small_resume(void **state)
{
    (void)state;
    /* Small files travel whole in FILES batches (five of 60 KiB need two);
     * one too large for a batch goes in chunks. Left over from an earlier
     * try: a .pcp-part that does not match (a batch starts it over), one
     * that is already whole (only its FILE_END travels) and a true prefix
     * of the large file (its DATA resumes there). */
    sh("mkdir -p %s/sr %s/srout/sr && cd %s/sr && head -c 5000 /dev/urandom > a && "
       "head -c 3000 /dev/urandom > b && head -c 70000 /dev/urandom > c && : > e && "
       "for i in 1 2 3 4 5; do head -c 61440 /dev/urandom > g$i; done && "
       "head -c 100 /dev/urandom > ../srout/sr/a.pcp-part && cp b ../srout/sr/b.pcp-part && "
       "head -c 1000 c > ../srout/sr/c.pcp-part",
       root, root, root);
    char src[128], out[128], a[160], b[160];
    snprintf(src, sizeof(src), "%s/sr", root);
    snprintf(out, sizeof(out), "%s/srout", root);
    /* Each part as a receiver leaves it: with the record of its offer. */
    for (const char *f = "abc"; *f; f++) {
        char rel[8];
        snprintf(rel, sizeof(rel), "sr/%c", *f);
        snprintf(a, sizeof(a), "%s/srout/sr/%c.pcp-part", root, *f);
        snprintf(b, sizeof(b), "%s/sr/%c", root, *f);
        tag_part(a, b, rel, 0, NULL);
    }
    const char *paths[] = {src};
    int sres;
    assert_int_equal(run(paths, 1, out, 1, 0, &sres, NULL), 0);
    assert_int_equal(sres, 0);
    sh("diff -r %s/sr %s/srout/sr", root, root);
    /* All three offered; the two true prefixes matched: the receiver's
     * keyed hash and the sender's agree. */
    assert_int_equal(g_res_files[1], 3);
    assert_int_equal(g_res_bytes[1], 100 + 3000 + 1000);
    assert_int_equal(g_res_files[0], 2);
    assert_int_equal(g_res_bytes[0], 3000 + 1000);
    /* The final name carries no record of the transfer. */
    snprintf(a, sizeof(a), "%s/srout/sr/c", root);
    assert_true(getxattr(a, XFER_PART_XATTR, b, sizeof(b)) < 0);
}

/* The resume key comes from the session: the same on both sides, another
 * in another session; the prefix hash under it is not the plain BLAKE2b
 * of the bytes, and differs between sessions. */
static void test_resume_key(void **state)
{
    (void)state;
    uint8_t ks[32], kr[32], kother[32], other_sr[32], h1[32], h2[32], h3[32], plain[32];
    uint8_t data[3000];
    char p[160];
    xfer_resume_key(k_sr, k_rs, 1, ks);
    xfer_resume_key(k_rs, k_sr, 0, kr);
    assert_memory_equal(ks, kr, 32);
    memcpy(other_sr, k_sr, 32);
    other_sr[0] ^= 1;
    xfer_resume_key(other_sr, k_rs, 1, kother);
    assert_memory_not_equal(ks, kother, 32);
    /* Which key is which matters: swapped, another key. */
    xfer_resume_key(k_rs, k_sr, 1, kother);
    assert_memory_not_equal(ks, kother, 32);

    randombytes_buf(data, sizeof(data));
    snprintf(p, sizeof(p), "%s/rk", root);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, sizeof(data), f), sizeof(data));
    fclose(f);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(xfer_prefix_hash(fd, 2000, ks, h1), 0);
    assert_int_equal(xfer_prefix_hash(fd, 2000, kr, h2), 0);
    assert_memory_equal(h1, h2, 32);
    xfer_resume_key(other_sr, k_rs, 1, kother);
    assert_int_equal(xfer_prefix_hash(fd, 2000, kother, h3), 0);
    assert_memory_not_equal(h1, h3, 32);
    crypto_generichash(plain, 32, data, 2000, NULL, 0);
    assert_memory_not_equal(h1, plain, 32);
    assert_int_equal(xfer_prefix_hash(fd, 4000, ks, h3), PCP_ERR_CHANGED);
    close(fd);
}

/* The record a part carries, encoded and parsed back; anything but one
 * whole record of the one version is refused. */
static void test_partmeta(void **state)
{
    (void)state;
    struct xfer_partmeta pm = {.size = 123456789, .mtime_ns = -5, .ino = 42}, back;
    uint8_t b[XFER_PARTMETA_LEN + 1];
    randombytes_buf(pm.path_hash, sizeof(pm.path_hash));
    randombytes_buf(pm.id, sizeof(pm.id));
    xfer_partmeta_encode(&pm, b);
    assert_int_equal(xfer_partmeta_parse(b, XFER_PARTMETA_LEN, &back), 0);
    assert_memory_equal(&pm, &back, sizeof(pm));
    assert_int_not_equal(xfer_partmeta_parse(b, XFER_PARTMETA_LEN - 1, &back), 0);
    assert_int_not_equal(xfer_partmeta_parse(b, XFER_PARTMETA_LEN + 1, &back), 0);
    b[4] = 2; /* version */
    assert_int_not_equal(xfer_partmeta_parse(b, XFER_PARTMETA_LEN, &back), 0);
    b[4] = 1;
    b[0] = 'X';
    assert_int_not_equal(xfer_partmeta_parse(b, XFER_PARTMETA_LEN, &back), 0);
    pm.size = MF_SIZE_STREAM;
    xfer_partmeta_encode(&pm, b);
    assert_int_not_equal(xfer_partmeta_parse(b, XFER_PARTMETA_LEN, &back), 0);
}

/* A .pcp-part that is a hard link to a file outside the target: that
 * file is never written, with a record of this very offer on it (it has
 * two names: not ours to go on with) or without one (not resumed, and the
 * name is replaced, not written through). */
static void test_part_hardlink(void **state)
{
    (void)state;
    char src[128], out[128], part[160], victim[160];
    sh("mkdir -p %s/hl %s/hlout && head -c 300000 /dev/urandom > %s/hl/f", root, root, root);
    snprintf(src, sizeof(src), "%s/hl/f", root);
    snprintf(out, sizeof(out), "%s/hlout", root);
    snprintf(part, sizeof(part), "%s/hlout/f.pcp-part", root);
    snprintf(victim, sizeof(victim), "%s/victim", root);
    const char *paths[] = {src};
    int sres;
    for (int tagged = 0; tagged < 2; tagged++) {
        /* Tagged: a true prefix, which an honest sender would match. */
        if (tagged)
            sh("head -c 1000 %s > %s && cp %s %s/victim.orig", src, victim, victim, root);
        else
            sh("echo precious > %s && cp %s %s/victim.orig", victim, victim, root);
        sh("rm -f %s/hlout/f && ln %s %s", root, victim, part);
        if (tagged)
            tag_part(victim, src, "f", 0, NULL);
        assert_int_equal(run(paths, 1, out, 1, 0, &sres, NULL), 0);
        assert_int_equal(sres, 0);
        assert_int_equal(g_res_files[1], 0);
        sh("cmp %s %s/hlout/f", src, root);
        sh("cmp %s %s/victim.orig", victim, root);
        sh("test ! -e %s", part);
    }
}

/* A part that did not come from this offer is not offered for resume: no
 * record, a record of another mtime (the file changed or is another one
 * of that name), of another path, of another inode (a copy, or a file
 * swapped in). The control, a record of this offer, is. */
static void test_part_foreign(void **state)
{
    (void)state;
    char src[128], out[128], part[160], other[160];
    sh("mkdir -p %s/fo %s/foout && head -c 300000 /dev/urandom > %s/fo/f && : > %s/other", root,
       root, root, root);
    snprintf(src, sizeof(src), "%s/fo/f", root);
    snprintf(out, sizeof(out), "%s/foout", root);
    snprintf(part, sizeof(part), "%s/foout/f.pcp-part", root);
    snprintf(other, sizeof(other), "%s/other", root);
    const char *paths[] = {src};
    for (int k = 0; k < 5; k++) {
        int sres;
        sh("rm -f %s/foout/f && head -c 5000 %s > %s", root, src, part);
        if (k == 1)
            tag_part(part, src, "f", 1, NULL);
        else if (k == 2)
            tag_part(part, src, "g", 0, NULL);
        else if (k == 3)
            tag_part(part, src, "f", 0, other);
        else if (k == 4)
            tag_part(part, src, "f", 0, NULL);
        assert_int_equal(run(paths, 1, out, 1, 0, &sres, NULL), 0);
        assert_int_equal(sres, 0);
        sh("cmp %s %s/foout/f", src, root);
        assert_int_equal(g_res_files[1], k == 4 ? 1 : 0);
        assert_int_equal(g_res_bytes[0], k == 4 ? 5000 : 0);
    }
}

/* A FIFO named like the part: replaced, never opened for writing (which
 * would wait for a reader forever; the alarm ends a test that hangs). */
static void test_part_fifo(void **state)
{
    (void)state;
    char src[128], out[128];
    sh("mkdir -p %s/ff %s/ffout && head -c 300000 /dev/urandom > %s/ff/f && "
       "mkfifo %s/ffout/f.pcp-part",
       root, root, root, root);
    snprintf(src, sizeof(src), "%s/ff/f", root);
    snprintf(out, sizeof(out), "%s/ffout", root);
    const char *paths[] = {src};
    int sres;
    alarm(120);
    assert_int_equal(run(paths, 1, out, 1, 0, &sres, NULL), 0);
    alarm(0);
    assert_int_equal(sres, 0);
    sh("cmp %s %s/ffout/f", src, root);
}

/* Modes as the offer has them, less the receiver's umask; a directory
 * keeps rwx for its owner. */
static void test_umask(void **state)
{
    (void)state;
    static const struct {
        mode_t mask, dir, file;
    } cases[] = {{077, 0700, 0600}, {022, 0755, 0644}, {0, 0777, 0666}};
    sh("mkdir -p %s/um/sub && echo x > %s/um/f && chmod 0666 %s/um/f && "
       "chmod 0777 %s/um/sub %s/um",
       root, root, root, root, root);
    char src[128], out[128], p[192];
    snprintf(src, sizeof(src), "%s/um", root);
    const char *paths[] = {src};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct stat st;
        int sres;
        snprintf(out, sizeof(out), "%s/umout%zu", root, i);
        mode_t old = umask(cases[i].mask);
        int e = run(paths, 1, out, 1, 0, &sres, NULL);
        umask(old);
        assert_int_equal(e, 0);
        assert_int_equal(sres, 0);
        snprintf(p, sizeof(p), "%s/um", out);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, cases[i].dir);
        snprintf(p, sizeof(p), "%s/um/sub", out);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, cases[i].dir);
        snprintf(p, sizeof(p), "%s/um/f", out);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, cases[i].file);
    }
}

static void test_changed_source(void **state)
{
    (void)state;
    /* The manifest says one size, the file has another by the time it is
     * read: the sender stops and the receiver promotes nothing. */
    sh("mkdir -p %s/ch && head -c 100000 /dev/zero > %s/ch/f", root, root);
    char src[128], out[128], p[160];
    snprintf(src, sizeof(src), "%s/ch/f", root);
    snprintf(out, sizeof(out), "%s/chout", root);
    struct manifest m;
    manifest_init(&m);
    const char *paths[] = {src};
    assert_int_equal(manifest_build(&m, paths, 1), 0);
    snprintf(p, sizeof(p), "head -c 5 /dev/zero >> %s", src);
    sh("%s", p);
    int sv[2];
    struct side tx = {0}, rx = {0};
    pthread_t t;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    tx.fd = sv[0];
    tx.m = &m;
    tx.o.compress = -1;
    rx.accept = 1;
    rx.o.out_dir = out;
    rx.o.confirm = confirm;
    rx.o.ud = &rx;
    pthread_create(&t, NULL, send_thread, &tx);
    struct frame_reader fr;
    frame_reader_init(&fr, sv[1]);
    int r = xfer_receive(sv[1], &fr, k_rs, k_sr, &rx.o, NULL);
    frame_reader_free(&fr);
    shutdown(sv[1], SHUT_RDWR);
    pthread_join(t, NULL);
    assert_int_equal(tx.result, PCP_ERR_CHANGED);
    assert_int_equal(r, PCP_ERR_PEER);
    sh("test ! -e %s/chout/f", root);
    close(sv[0]);
    close(sv[1]);
    manifest_free(&m);
}

/* A thread that cannot be started: the transfer stops the ones it
 * started, waits for them and fails with PCP_ERR_NOMEM; the other side
 * fails too, nothing hangs and no file gets its final name. Two workers:
 * the 1st thread is the reader (opener), the 2nd and 3rd the workers, the
 * 4th the sealer (writer). */
static void test_thread_fails(void **state)
{
    (void)state;
    char src[128], out[128];
    sh("mkdir -p %s/tf && head -c 3000000 /dev/urandom > %s/tf/f", root, root);
    snprintf(src, sizeof(src), "%s/tf/f", root);
    snprintf(out, sizeof(out), "%s/tfout", root);
    const char *paths[] = {src};
    for (int side = 0; side < 2; side++) {
        for (int k = 1; k <= 4; k++) {
            struct manifest m;
            int sv[2];
            struct side tx = {0}, rx = {0};
            pthread_t t;
            manifest_init(&m);
            assert_int_equal(manifest_build(&m, paths, 1), 0);
            assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
            tx.fd = sv[0];
            tx.m = &m;
            tx.o.compress = -1;
            tx.o.threads = 2;
            rx.accept = 1;
            rx.o.out_dir = out;
            rx.o.threads = 2;
            rx.o.confirm = confirm;
            rx.o.ud = &rx;
            g_fail_tx = side == 0 ? k : 0;
            g_fail_rx = side == 1 ? k : 0;
            tl_threads = 0;
            alarm(60);
            /* The real one: the sender's thread is none of the transfer's. */
            g_fail_rx = g_fail_rx ? g_fail_rx + 1 : 0;
            assert_int_equal(pthread_create(&t, NULL, send_thread, &tx), 0);
            struct frame_reader fr;
            frame_reader_init(&fr, sv[1]);
            int r = xfer_receive(sv[1], &fr, k_rs, k_sr, &rx.o, NULL);
            frame_reader_free(&fr);
            shutdown(sv[1], SHUT_RDWR);
            pthread_join(t, NULL);
            alarm(0);
            g_fail_tx = g_fail_rx = 0;
            if (side == 0) {
                assert_int_equal(tx.result, PCP_ERR_NOMEM);
                assert_int_equal(r, PCP_ERR_PEER); /* the sender said why */
            } else {
                assert_int_equal(r, PCP_ERR_NOMEM);
                assert_int_not_equal(tx.result, 0);
            }
            sh("test ! -e %s/tfout/f", root);
            close(sv[0]);
            close(sv[1]);
            manifest_free(&m);
        }
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree),           cmocka_unit_test(test_ciphers),
        cmocka_unit_test(test_declined),       cmocka_unit_test(test_many_small),
        cmocka_unit_test(test_changed_source), cmocka_unit_test(test_small_resume),
        cmocka_unit_test(test_resume_key),     cmocka_unit_test(test_partmeta),
        cmocka_unit_test(test_part_hardlink),  cmocka_unit_test(test_part_foreign),
        cmocka_unit_test(test_part_fifo),      cmocka_unit_test(test_umask),
        cmocka_unit_test(test_thread_fails),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
