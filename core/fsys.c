/*
 * fsys.c - the receiver's file-system boundary; see fsys.h. Every path is
 * opened component by component with O_NOFOLLOW below the target
 * directory: nothing lands outside it, whatever the peer sends. A final
 * name never holds a partial file, and never replaces an existing one
 * unless the user said so. Never reads the network, never prints.
 */
#include "fsys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "sys.h"

void fsys_init(struct fsys *fs, int overwrite, char *err_path, size_t err_path_len)
{
    memset(fs, 0, sizeof(*fs));
    fs->root = -1;
    fs->pfd = -1;
    fs->overwrite = overwrite;
    fs->err_path = err_path;
    fs->err_path_len = err_path_len;
    fs->umask = fsys_read_umask();
}

void fsys_close(struct fsys *fs)
{
    if (fs->pfd >= 0 && fs->pfd != fs->root)
        close(fs->pfd);
    free(fs->pdir);
    if (fs->root >= 0)
        close(fs->root);
    fs->pdir = NULL;
    fs->pfd = fs->root = -1;
}

void fsys_set_err_path(struct fsys *fs, const char *path)
{
    if (fs->err_path && fs->err_path_len)
        snprintf(fs->err_path, fs->err_path_len, "%s", path);
}

/* The process's umask, without changing it. umask() reads it only by
 * setting it, and for that moment a file that another thread of the
 * process (discovery, a TLS bridge) creates would get the wrong mode;
 * Linux shows it in /proc/self/status since 4.7. Only without that is it
 * set and put back, here, before this transfer starts any thread. */
mode_t fsys_read_umask(void)
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

int fsys_open_root(struct fsys *fs, const char *dir)
{
    int e = mkdir_p(dir);
    if (e)
        return e;
    fs->root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fs->root < 0 ? PCP_ERR_IO : 0;
}

int fsys_open_parent(struct fsys *fs, const char *path, int create, const char **leaf)
{
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) : 0;
    *leaf = slash ? slash + 1 : path;
    if (fs->pdir && strlen(fs->pdir) == dl && !strncmp(fs->pdir, path, dl))
        return fs->pfd;
    if (fs->pfd >= 0 && fs->pfd != fs->root)
        close(fs->pfd);
    free(fs->pdir);
    fs->pdir = NULL;
    fs->pfd = -1;
    int fd = fs->root;
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
        if (fd != fs->root)
            close(fd);
        if (nfd < 0)
            return saved == ELOOP || saved == ENOTDIR ? PCP_ERR_UNSAFE_PATH : PCP_ERR_IO;
        fd = nfd;
        p += cl + 1;
    }
    fs->pdir = strndup(path, dl);
    fs->pfd = fd;
    if (!fs->pdir)
        return PCP_ERR_NOMEM;
    return fd;
}

void fsys_part_name(const char *leaf, uint32_t idx, char *out, size_t outlen)
{
    if (strlen(leaf) + sizeof(FSYS_PART_SUFFIX) <= MF_NAME_MAX + 1)
        snprintf(out, outlen, "%s" FSYS_PART_SUFFIX, leaf);
    else
        snprintf(out, outlen, ".pcp-%08x" FSYS_PART_SUFFIX, idx);
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
    ssize_t n = sys_getxattr(fd, XFER_PART_XATTR, b, sizeof(b));
    if (n < 0 || xfer_partmeta_parse(b, (size_t)n, pm) != 0)
        return PCP_ERR_CHANGED;
    xfer_partmeta_path_hash(en->path, ph);
    if (pm->size != en->size || pm->mtime_ns != en->mtime_ns || pm->ino != (uint64_t)st->st_ino ||
        sodium_memcmp(pm->path_hash, ph, sizeof(ph)) != 0)
        return PCP_ERR_CHANGED;
    return 0;
}

int fsys_rename_final(int dfd, const char *from, const char *to, int overwrite)
{
    if (overwrite)
        return renameat(dfd, from, dfd, to) == 0 ? 0 : PCP_ERR_IO;
    if (sys_rename_noreplace(dfd, from, to) == 0)
        return 0;
    return errno == EEXIST ? PCP_ERR_EXISTS : PCP_ERR_IO;
}

/* Go on with the .pcp-part offered for resume, in dfd: the same file as
 * at offer time (dev, inode and the id of its record), still a regular
 * file of ours with one name and at least `have` bytes. The sender already
 * starts after `have`, so a part that changed since is an error, not a
 * fresh start. O_NONBLOCK: a FIFO put there meanwhile cannot block the
 * open (and fails the checks). */
int fsys_part_resume(int dfd, const char *part, const struct mf_entry *en,
                     const struct fsys_part_ref *ref, uint64_t have, int *fdp)
{
    struct xfer_partmeta pm;
    struct stat st;
    int fd = openat(dfd, part, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
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
    *fdp = fd;
    return 0;
}

/* A new .pcp-part in dfd. Whatever has that name is never opened: it is
 * unlinked, which removes only the name (a hard link's other names keep
 * their content), and the new file is made with O_EXCL (which opens no
 * existing object, so a FIFO cannot block it and a link is not followed).
 * With `tag`, it gets the record that lets a later transfer of the same
 * offer resume it; without (files that travel whole, streams), none. */
int fsys_part_create(int dfd, const char *part, const struct mf_entry *en, int tag, int *fdp,
                     int *tagged)
{
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(dfd, part, flags, 0600);
    if (fd < 0 && errno == EEXIST && (unlinkat(dfd, part, 0) == 0 || errno == ENOENT))
        fd = openat(dfd, part, flags, 0600);
    if (fd < 0)
        return errno == ELOOP ? PCP_ERR_UNSAFE_PATH : PCP_ERR_IO;
    *fdp = fd;
    *tagged = 0;
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
        *tagged = sys_setxattr(fd, XFER_PART_XATTR, b, sizeof(b)) == 0;
    }
    return 0;
}

int fsys_write_all(int fd, const uint8_t *p, size_t n)
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

int fsys_commit(struct fsys *fs, int fd, const struct mf_entry *en, const char *part, int tagged)
{
    const char *leaf;
    int e = 0;
    struct timespec ts[2] = {
        {0, UTIME_OMIT}, {(time_t)(en->mtime_ns / 1000000000), (long)(en->mtime_ns % 1000000000)}};
    if (ts[1].tv_nsec < 0) {
        ts[1].tv_sec--;
        ts[1].tv_nsec += 1000000000;
    }
    /* The final name carries no trace of the transfer, and the mode the
     * user's umask allows, as any program's new file would. */
    if (tagged)
        sys_removexattr(fd, XFER_PART_XATTR);
    if (fchmod(fd, en->mode & ~fs->umask & 07777) != 0 || futimens(fd, ts) != 0)
        e = PCP_ERR_IO;
    if (close(fd) != 0 && !e)
        e = PCP_ERR_IO;
    if (e)
        return e;
    int dfd = fsys_open_parent(fs, en->path, 1, &leaf);
    if (dfd < 0)
        return dfd;
    if ((e = fsys_rename_final(dfd, part, leaf, fs->overwrite)) != 0) {
        fsys_set_err_path(fs, en->path);
        return e;
    }
    return 0;
}

/* After every file: links (last, so that none can redirect a write), then
 * directory modes and times (last of all, since writing changes them). */
int fsys_finish_tree(struct fsys *fs, const struct manifest *m, const uint8_t *made_dir)
{
    const char *leaf;
    for (size_t i = 0; i < m->n; i++) {
        const struct mf_entry *en = &m->e[i];
        if (en->type != MF_LINK)
            continue;
        int dfd = fsys_open_parent(fs, en->path, 1, &leaf);
        if (dfd < 0) {
            fsys_set_err_path(fs, en->path);
            return dfd;
        }
        if (fs->overwrite)
            unlinkat(dfd, leaf, 0);
        if (symlinkat(en->link, dfd, leaf) != 0) {
            int saved = errno;
            fsys_set_err_path(fs, en->path);
            return saved == EEXIST ? PCP_ERR_EXISTS : PCP_ERR_IO;
        }
    }
    for (size_t i = m->n; i-- > 0;) {
        const struct mf_entry *en = &m->e[i];
        if (en->type != MF_DIR || !made_dir[i])
            continue;
        int dfd = fsys_open_parent(fs, en->path, 0, &leaf);
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
            int saved = errno;
            fsys_set_err_path(fs, en->path);
            return saved == ELOOP || saved == ENOTDIR ? PCP_ERR_UNSAFE_PATH : PCP_ERR_IO;
        }
        int bad = fchmod(fd, (en->mode & ~fs->umask & 0777) | 0700) != 0 || futimens(fd, ts) != 0;
        close(fd);
        if (bad)
            return PCP_ERR_IO;
    }
    return 0;
}

/* Entry idx's .pcp-part from an earlier, interrupted transfer of this same
 * offer, opened for reading, or -1: a regular file of ours with one name
 * (part_check), of 1 to the entry's size bytes (*st says how many), whose
 * record says it was made for this path, size and mtime and is this inode
 * (part_meta; *pm gets it). A part from another offer, one that was
 * planted, swapped or linked, starts over: resume answers only the offer
 * it came from. Never through a link, and a FIFO cannot block the open. */
int fsys_part_open(struct fsys *fs, const struct mf_entry *en, size_t idx, struct stat *st,
                   struct xfer_partmeta *pm)
{
    const char *leaf;
    char part[FSYS_PART_NAME_MAX];
    if (en->type != MF_FILE || en->size == 0 || mf_streamed(en))
        return -1;
    int dfd = fsys_open_parent(fs, en->path, 0, &leaf);
    if (dfd < 0)
        return -1;
    fsys_part_name(leaf, (uint32_t)idx, part, sizeof(part));
    int fd = openat(dfd, part, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0 && (part_check(fd, st) != 0 || st->st_size <= 0 ||
                    (uint64_t)st->st_size > en->size || part_meta(fd, en, st, pm) != 0)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int fsys_probe(struct fsys *fs)
{
    char probe[32];
    snprintf(probe, sizeof(probe), ".pcp-probe-%08x", randombytes_random());
    int fd = openat(fs->root, probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == ENOSPC || errno == EDQUOT ? PCP_ERR_NOSPACE : PCP_ERR_IO;
    close(fd);
    unlinkat(fs->root, probe, 0);
    return 0;
}

int fsys_space(struct fsys *fs, uint64_t *avail)
{
    struct statvfs vfs;
    if (fstatvfs(fs->root, &vfs) != 0)
        return -1;
    *avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    return 0;
}

int fsys_precheck(struct fsys *fs, const struct manifest *m, uint8_t *gone)
{
    const char *missing = NULL; /* a directory of the offer not in the target */
    size_t ml = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct stat st;
        const struct mf_entry *en = &m->e[i];
        /* Below a directory that is not there, nothing is: no system call
         * for each entry of a new tree (the offer lists a directory before
         * what it holds). */
        if (missing && !strncmp(en->path, missing, ml) && en->path[ml] == '/') {
            gone[i] = 1;
            continue;
        }
        if (fstatat(fs->root, en->path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (en->type == MF_DIR && errno == ENOENT) {
                missing = en->path;
                ml = strlen(missing);
            }
            continue;
        }
        if (en->type == MF_DIR && S_ISDIR(st.st_mode))
            continue;
        if (!fs->overwrite || S_ISDIR(st.st_mode) || en->type == MF_DIR) {
            fsys_set_err_path(fs, en->path);
            return PCP_ERR_EXISTS;
        }
    }
    return 0;
}

int fsys_make_dirs(struct fsys *fs, const struct manifest *m, uint8_t *made_dir)
{
    const char *leaf;
    for (size_t i = 0; i < m->n; i++) {
        const struct mf_entry *en = &m->e[i];
        if (en->type != MF_DIR)
            continue;
        int dfd = fsys_open_parent(fs, en->path, 1, &leaf);
        if (dfd < 0) {
            fsys_set_err_path(fs, en->path);
            return dfd;
        }
        if (mkdirat(dfd, leaf, 0700) == 0)
            made_dir[i] = 1;
        else if (errno != EEXIST) {
            fsys_set_err_path(fs, en->path);
            return PCP_ERR_IO;
        }
    }
    return 0;
}
