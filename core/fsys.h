/*
 * fsys.h - the receiver's file-system boundary (private to core/): every
 * name the peer sent is opened below the target directory one component
 * at a time with O_NOFOLLOW; data goes only into NAME.pcp-part files that
 * are ours (created with O_EXCL, or resumed after checking the record
 * they carry); a final name is given by a rename that never replaces
 * (unless asked), with the mode the umask allows; links and directory
 * modes come last, never through a link. Nothing here reads the network
 * or knows the pipeline.
 */
#ifndef PCP_FSYS_H
#define PCP_FSYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "manifest.h"
#include "wire.h"

#define FSYS_PART_SUFFIX ".pcp-part"
/* Room for a .pcp-part's name (fsys_part_name). */
#define FSYS_PART_NAME_MAX (MF_NAME_MAX + 16)

struct fsys {
    int root; /* the target directory, or -1 */
    int overwrite;
    mode_t umask; /* the process's, read once at the start */
    /* Where the path of the entry that failed goes (may be NULL). */
    char *err_path;
    size_t err_path_len;
    /* the last parent directory opened, cached */
    char *pdir;
    int pfd;
};

/* A .pcp-part as it was when we offered to resume it: writing goes on
 * only into that same file. */
struct fsys_part_ref {
    dev_t dev;
    ino_t ino;
    uint8_t id[16];
};

/* No directory open yet; reads the umask (before any thread starts). */
void fsys_init(struct fsys *fs, int overwrite, char *err_path, size_t err_path_len);
/* Makes the target directory (and its parents) when missing, and opens it. */
int fsys_open_root(struct fsys *fs, const char *dir);
void fsys_close(struct fsys *fs);
void fsys_set_err_path(struct fsys *fs, const char *path);
/* The process's umask, without changing it (when Linux shows it). */
mode_t fsys_read_umask(void);

/* The directory that holds `path` (relative to the root), opened one
 * component at a time, refusing links (PCP_ERR_UNSAFE_PATH); with
 * `create`, missing directories are made (0700). Returns an fd the
 * caller must not close (cached), or an error; *leaf the last name. */
int fsys_open_parent(struct fsys *fs, const char *path, int create, const char **leaf);
/* The .pcp-part name of entry idx whose last name is leaf. */
void fsys_part_name(const char *leaf, uint32_t idx, char *out, size_t outlen);

/* Entry idx's .pcp-part from an earlier transfer of this offer, opened
 * for reading, or -1 (see fsys.c); *st and *pm get what it is. */
int fsys_part_open(struct fsys *fs, const struct mf_entry *en, size_t idx, struct stat *st,
                   struct xfer_partmeta *pm);
/* Goes on with the .pcp-part `part` in dfd offered for resume (ref) at
 * `have` bytes: *fd is it, open for writing at have. PCP_ERR_CHANGED when
 * it is not the same file. */
int fsys_part_resume(int dfd, const char *part, const struct mf_entry *en,
                     const struct fsys_part_ref *ref, uint64_t have, int *fd);
/* A new, empty .pcp-part `part` in dfd (whatever had the name loses it);
 * with `tag` it gets the record that lets it be resumed (*tagged says
 * whether it did). */
int fsys_part_create(int dfd, const char *part, const struct mf_entry *en, int tag, int *fd,
                     int *tagged);
int fsys_write_all(int fd, const uint8_t *p, size_t n);
/* The .pcp-part open as fd, complete: its record removed, the entry's
 * mode (less the umask) and mtime set, closed (always), and renamed to
 * its final name. */
int fsys_commit(struct fsys *fs, int fd, const struct mf_entry *en, const char *part, int tagged);
/* Renames within dfd; without overwrite it never replaces (PCP_ERR_EXISTS). */
int fsys_rename_final(int dfd, const char *from, const char *to, int overwrite);

/* A file can be made in the root: 0, PCP_ERR_NOSPACE or PCP_ERR_IO. */
int fsys_probe(struct fsys *fs);
/* Bytes free for us below the root; -1 when that cannot be told. */
int fsys_space(struct fsys *fs, uint64_t *avail);
/* Before asking: PCP_ERR_EXISTS (and err_path) when an entry would be
 * overwritten; gone[i] = 1 for entries below a directory that is not there. */
int fsys_precheck(struct fsys *fs, const struct manifest *m, uint8_t *gone);
/* The offer's directories, made_dir[i] = 1 for those made here. */
int fsys_make_dirs(struct fsys *fs, const struct manifest *m, uint8_t *made_dir);
/* After every file: links, then the modes and times of the directories
 * made here. */
int fsys_finish_tree(struct fsys *fs, const struct manifest *m, const uint8_t *made_dir);

#endif
