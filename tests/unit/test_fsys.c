/*
 * test_fsys.c - the receiver's file-system boundary (core/fsys.c) on its
 * own, without a network or a peer: parents opened through links are
 * refused, .pcp-part files are made and resumed only under their rules, a
 * final name is never replaced unless asked, the umask applies, and a
 * directory's mode is never set through a link put in its place.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "err.h"
#include "fsys.h"
#include "wire.h"

static char root[64], out[128];
static char err_path[256];
static struct fsys fs;

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
    if (sodium_init() < 0)
        return -1;
    strcpy(root, "/tmp/pcp-fsys-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s", root, root);
    return system(cmd) == 0 ? 0 : -1;
}

/* A fresh target directory `name` below root, open as fs. */
static void open_out(const char *name, int overwrite)
{
    snprintf(out, sizeof(out), "%s/%s", root, name);
    err_path[0] = '\0';
    fsys_init(&fs, overwrite, err_path, sizeof(err_path));
    assert_int_equal(fsys_open_root(&fs, out), 0);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static struct mf_entry file_entry(const char *path, uint64_t size, uint32_t mode)
{
    struct mf_entry en;
    memset(&en, 0, sizeof(en));
    en.type = MF_FILE;
    en.path = (char *)(uintptr_t)path;
    en.size = size;
    en.mode = mode;
    en.mtime_ns = 1700000000123456789LL;
    return en;
}

/* The root opens (made when missing, parents too); parents are made
 * component by component, 0700, and the leaf is the last name. */
static void test_root_and_parents(void **state)
{
    (void)state;
    const char *leaf;
    char p[192];
    open_out("rp/deep/er", 0);
    int dfd = fsys_open_parent(&fs, "a/b/c.txt", 1, &leaf);
    assert_true(dfd >= 0);
    assert_string_equal(leaf, "c.txt");
    snprintf(p, sizeof(p), "%s/a/b", out);
    assert_int_equal(mode_of(p), 0700);
    /* Cached: the same descriptor for the same directory. */
    assert_int_equal(fsys_open_parent(&fs, "a/b/d.txt", 1, &leaf), dfd);
    /* At the top, the root itself. */
    assert_true(fsys_open_parent(&fs, "top.txt", 0, &leaf) >= 0);
    assert_string_equal(leaf, "top.txt");
    /* Without create, a missing directory is an error, not made. */
    assert_int_equal(fsys_open_parent(&fs, "nope/x", 0, &leaf), PCP_ERR_IO);
    snprintf(p, sizeof(p), "%s/nope", out);
    assert_int_equal(access(p, F_OK), -1);
    fsys_close(&fs);
}

/* A link (or a file) anywhere among the parents is refused, with or
 * without create, and nothing is made where it points. */
static void test_parent_through_link(void **state)
{
    (void)state;
    const char *leaf;
    open_out("lk", 0);
    sh("mkdir -p %s/elsewhere %s/d && ln -s %s/elsewhere %s/l && ln -s ../elsewhere %s/d/l2 && "
       "echo x > %s/f",
       root, out, root, out, out, out);
    assert_int_equal(fsys_open_parent(&fs, "l/x", 1, &leaf), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(fsys_open_parent(&fs, "l/new/x", 1, &leaf), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(fsys_open_parent(&fs, "d/l2/x", 1, &leaf), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(fsys_open_parent(&fs, "l/x", 0, &leaf), PCP_ERR_UNSAFE_PATH);
    assert_int_equal(fsys_open_parent(&fs, "f/x", 1, &leaf), PCP_ERR_UNSAFE_PATH);
    sh("test -z \"$(ls -A %s/elsewhere)\"", root);
    fsys_close(&fs);
}

/* A new part: whatever had its name (a hard link to a file elsewhere, a
 * link, a FIFO) loses the name and is never written; the new file is
 * ours, empty, one name, and (where the file system keeps user
 * attributes) carries the record that part_open accepts. */
static void test_part_create(void **state)
{
    (void)state;
    const char *leaf;
    char part[FSYS_PART_NAME_MAX], victim[160], path[512];
    struct mf_entry en = file_entry("sub/f", 1000, 0644);
    open_out("pc", 0);
    snprintf(victim, sizeof(victim), "%s/victim", root);
    for (int k = 0; k < 4; k++) {
        int fd = -1, tagged = -1;
        int dfd = fsys_open_parent(&fs, en.path, 1, &leaf);
        assert_true(dfd >= 0);
        fsys_part_name(leaf, 0, part, sizeof(part));
        assert_string_equal(part, "f.pcp-part");
        snprintf(path, sizeof(path), "%s/sub/%s", out, part);
        sh("rm -f %s && echo precious > %s", path, victim);
        if (k == 1)
            sh("ln %s %s", victim, path);
        else if (k == 2)
            sh("ln -s %s %s", victim, path);
        else if (k == 3)
            sh("mkfifo %s", path);
        assert_int_equal(fsys_part_create(dfd, part, &en, 1, &fd, &tagged), 0);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "data", 4), 4);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_nlink, 1);
        assert_int_equal(st.st_mode & 07777, 0600);
        close(fd);
        sh("grep -qx precious %s", victim);
        if (tagged) {
            struct xfer_partmeta pm;
            fd = fsys_part_open(&fs, &en, 0, &st, &pm);
            assert_true(fd >= 0);
            assert_int_equal(st.st_size, 4);
            assert_int_equal(pm.size, 1000);
            close(fd);
        }
    }
    /* Without the tag (whole files, streams): no record. */
    int fd = -1, tagged = -1;
    int dfd = fsys_open_parent(&fs, en.path, 1, &leaf);
    assert_int_equal(fsys_part_create(dfd, part, &en, 0, &fd, &tagged), 0);
    assert_int_equal(tagged, 0);
    assert_true(fgetxattr(fd, XFER_PART_XATTR, NULL, 0) < 0);
    close(fd);
    /* A name too long for the suffix gets a name of its index. */
    char longname[MF_NAME_MAX + 1];
    memset(longname, 'n', MF_NAME_MAX);
    longname[MF_NAME_MAX] = '\0';
    fsys_part_name(longname, 0x2a, part, sizeof(part));
    assert_string_equal(part, ".pcp-0000002a.pcp-part");
    fsys_close(&fs);
}

/* Resume goes on only in the very part offered: same inode and record
 * id, ours, one name, at least `have` bytes; it is cut to `have`. And
 * part_open offers only a part of this entry (path, size, mtime, inode),
 * no longer than the file. */
static void test_part_resume(void **state)
{
    (void)state;
    const char *leaf;
    char part[FSYS_PART_NAME_MAX], path[512];
    struct mf_entry en = file_entry("r", 5000, 0644), other = file_entry("s", 5000, 0644);
    struct xfer_partmeta pm;
    struct stat st;
    int fd = -1, tagged = 0;
    open_out("pr", 0);
    int dfd = fsys_open_parent(&fs, en.path, 1, &leaf);
    fsys_part_name(leaf, 0, part, sizeof(part));
    snprintf(path, sizeof(path), "%s/%s", out, part);
    assert_int_equal(fsys_part_create(dfd, part, &en, 1, &fd, &tagged), 0);
    if (!tagged) {
        close(fd);
        fsys_close(&fs);
        skip(); /* no user attributes here: nothing is ever resumed */
    }
    uint8_t buf[1000];
    memset(buf, 'a', sizeof(buf));
    assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    close(fd);

    fd = fsys_part_open(&fs, &en, 0, &st, &pm);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(st.st_size, 1000);
    /* Another entry's record does not match (the part of "r" renamed to
     * be the part of "s"). */
    sh("cp -a %s %s/s.pcp-part", path, out);
    assert_int_equal(fsys_part_open(&fs, &other, 1, &st, &pm), -1);
    /* Longer than the file: not offered. */
    struct mf_entry small = en;
    small.size = 999;
    assert_int_equal(fsys_part_open(&fs, &small, 0, &st, &pm), -1);

    assert_int_equal(stat(path, &st), 0);
    struct fsys_part_ref ref = {.dev = st.st_dev, .ino = st.st_ino};
    memcpy(ref.id, pm.id, sizeof(ref.id));
    struct fsys_part_ref wrong = ref;
    wrong.id[0] ^= 1;
    assert_int_equal(fsys_part_resume(dfd, part, &en, &wrong, 500, &fd), PCP_ERR_CHANGED);
    assert_int_equal(fsys_part_resume(dfd, part, &en, &ref, 1001, &fd), PCP_ERR_CHANGED);
    /* A second name: someone else's file may be behind it. */
    sh("ln %s %s/second", path, root);
    assert_int_equal(fsys_part_resume(dfd, part, &en, &ref, 500, &fd), PCP_ERR_CHANGED);
    assert_int_equal(fsys_part_open(&fs, &en, 0, &st, &pm), -1);
    sh("rm %s/second", root);
    /* The good case: cut to have, writing goes on there. */
    fd = -1;
    assert_int_equal(fsys_part_resume(dfd, part, &en, &ref, 500, &fd), 0);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 500);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 500);
    close(fd);
    /* A link in its place is not followed, nor a part that is gone. */
    sh("mv %s %s/moved && ln -s %s/moved %s", path, root, root, path);
    assert_int_equal(fsys_part_resume(dfd, part, &en, &ref, 500, &fd), PCP_ERR_CHANGED);
    sh("rm %s", path);
    assert_int_equal(fsys_part_resume(dfd, part, &en, &ref, 500, &fd), PCP_ERR_CHANGED);
    fsys_close(&fs);
}

/* A rename never replaces without overwrite, whatever has the name. */
static void test_rename_never_replaces(void **state)
{
    (void)state;
    open_out("rn", 0);
    sh("cd %s && echo new > a.pcp-part && echo old > a && mkdir d && ln -s nowhere l", out);
    int dfd = fsys_open_parent(&fs, "a", 0, &(const char *){NULL});
    assert_int_equal(fsys_rename_final(dfd, "a.pcp-part", "a", 0), PCP_ERR_EXISTS);
    assert_int_equal(fsys_rename_final(dfd, "a.pcp-part", "d", 0), PCP_ERR_EXISTS);
    assert_int_equal(fsys_rename_final(dfd, "a.pcp-part", "l", 0), PCP_ERR_EXISTS);
    sh("cd %s && grep -qx old a && grep -qx new a.pcp-part && test -L l", out);
    assert_int_equal(fsys_rename_final(dfd, "a.pcp-part", "b", 0), 0);
    sh("cd %s && grep -qx new b && test ! -e a.pcp-part", out);
    /* With overwrite, it does. */
    assert_int_equal(fsys_rename_final(dfd, "b", "a", 1), 0);
    sh("cd %s && grep -qx new a && test ! -e b", out);
    fsys_close(&fs);
}

/* The final file: the entry's mode less the umask, its mtime, no record,
 * the final name (never replacing one that is there: the path is told). */
static void test_commit_umask(void **state)
{
    (void)state;
    static const struct {
        mode_t mask, file;
    } cases[] = {{077, 0600}, {022, 0644}, {0, 0666}, {027, 0640}};
    const char *leaf;
    char part[FSYS_PART_NAME_MAX], p[512];
    open_out("cm", 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%zu", i);
        struct mf_entry en = file_entry(name, 3, 0666);
        int fd = -1, tagged = 0;
        fs.umask = cases[i].mask;
        int dfd = fsys_open_parent(&fs, en.path, 1, &leaf);
        fsys_part_name(leaf, (uint32_t)i, part, sizeof(part));
        assert_int_equal(fsys_part_create(dfd, part, &en, 1, &fd, &tagged), 0);
        assert_int_equal(fsys_write_all(fd, (const uint8_t *)"abc", 3), 0);
        assert_int_equal(fsys_commit(&fs, fd, &en, part, tagged), 0);
        snprintf(p, sizeof(p), "%s/%s", out, name);
        assert_int_equal(mode_of(p), cases[i].file);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal((int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec, en.mtime_ns);
        assert_true(getxattr(p, XFER_PART_XATTR, NULL, 0) < 0);
        snprintf(p, sizeof(p), "%s/%s", out, part);
        assert_int_equal(access(p, F_OK), -1);
    }
    /* A name that is taken meanwhile stays as it was. */
    struct mf_entry en = file_entry("taken", 3, 0644);
    int fd = -1, tagged = 0;
    sh("echo mine > %s/taken", out);
    int dfd = fsys_open_parent(&fs, en.path, 1, &leaf);
    fsys_part_name(leaf, 9, part, sizeof(part));
    assert_int_equal(fsys_part_create(dfd, part, &en, 0, &fd, &tagged), 0);
    assert_int_equal(fsys_write_all(fd, (const uint8_t *)"abc", 3), 0);
    assert_int_equal(fsys_commit(&fs, fd, &en, part, tagged), PCP_ERR_EXISTS);
    assert_string_equal(err_path, "taken");
    sh("grep -qx mine %s/taken && test -e %s/taken.pcp-part", out, out);
    fsys_close(&fs);
    /* The umask read is the process's, and it is left as it was. */
    mode_t old = umask(023);
    assert_int_equal(fsys_read_umask(), 023);
    assert_int_equal(umask(old), 023);
}

/* Directories: made 0700 while files arrive, given their mode (less the
 * umask, the owner keeping rwx) and time at the end, through a descriptor
 * of the directory itself: one swapped for a link is refused and what
 * the link points at keeps its mode. Links come last. */
static void test_tree_modes_and_links(void **state)
{
    (void)state;
    struct mf_entry e[4];
    memset(e, 0, sizeof(e));
    e[0].type = MF_DIR;
    e[0].path = "d";
    e[0].mode = 0755;
    e[1].type = MF_DIR;
    e[1].path = "d/s";
    e[1].mode = 0555;
    e[2] = file_entry("d/s/f", 0, 0644);
    e[3].type = MF_LINK;
    e[3].path = "d/l";
    e[3].link = "s/f";
    struct manifest m = {.e = e, .n = 4};
    uint8_t made[4] = {0}, gone[4] = {0};
    char p[256];

    open_out("tm", 0);
    assert_int_equal(fsys_precheck(&fs, &m, gone), 0);
    assert_int_equal(gone[1] + gone[2] + gone[3], 3); /* below a missing d */
    fs.umask = 022;
    assert_int_equal(fsys_make_dirs(&fs, &m, made), 0);
    assert_int_equal(made[0] + made[1], 2);
    snprintf(p, sizeof(p), "%s/d/s", out);
    assert_int_equal(mode_of(p), 0700);
    assert_int_equal(fsys_finish_tree(&fs, &m, made), 0);
    assert_int_equal(mode_of(p), 0755); /* 0555 | owner rwx */
    snprintf(p, sizeof(p), "%s/d", out);
    assert_int_equal(mode_of(p), 0755);
    sh("test \"$(readlink %s/d/l)\" = s/f", out);
    /* Again: the link is there (EXISTS, without overwrite), and so is
     * everything else. */
    assert_int_equal(fsys_precheck(&fs, &m, gone), PCP_ERR_EXISTS);
    assert_string_equal(err_path, "d/l");
    fsys_close(&fs);

    /* A directory swapped for a link before the end: refused, and the
     * directory it points at keeps its mode. */
    memset(made, 0, sizeof(made));
    open_out("tl", 0);
    assert_int_equal(fsys_make_dirs(&fs, &m, made), 0);
    sh("mkdir -p %s/vdir && chmod 0700 %s/vdir && rm -rf %s/d/s && ln -s %s/vdir %s/d/s", root,
       root, out, root, out);
    assert_int_equal(fsys_finish_tree(&fs, &m, made), PCP_ERR_UNSAFE_PATH);
    assert_string_equal(err_path, "d/s");
    snprintf(p, sizeof(p), "%s/vdir", root);
    assert_int_equal(mode_of(p), 0700);
    fsys_close(&fs);
}

/* The probe and the space figure look at the root. */
static void test_probe_space(void **state)
{
    (void)state;
    uint64_t avail = 0;
    open_out("sp", 0);
    assert_int_equal(fsys_probe(&fs), 0);
    assert_int_equal(fsys_space(&fs, &avail), 0);
    assert_true(avail > 0);
    sh("test -z \"$(ls -A %s)\"", out); /* the probe left nothing */
    fsys_close(&fs);
    if (geteuid() != 0) {
        open_out("ro", 0);
        sh("chmod 0500 %s", out);
        assert_int_equal(fsys_probe(&fs), PCP_ERR_IO);
        sh("chmod 0700 %s", out);
        fsys_close(&fs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_and_parents),      cmocka_unit_test(test_parent_through_link),
        cmocka_unit_test(test_part_create),           cmocka_unit_test(test_part_resume),
        cmocka_unit_test(test_rename_never_replaces), cmocka_unit_test(test_commit_umask),
        cmocka_unit_test(test_tree_modes_and_links),  cmocka_unit_test(test_probe_space),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
