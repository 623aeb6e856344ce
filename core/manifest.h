/*
 * manifest.h - what a sender offers: relative paths, types, sizes, modes,
 * mtimes. Built by walking the sender's paths, carried as one byte string,
 * and parsed strictly on the receiver, which refuses absolute paths, `..`,
 * empty or over-long components and links that would escape the target.
 */
#ifndef PCP_MANIFEST_H
#define PCP_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* MF_TEXT: a message to show, not a file (`pcp send --text`); the only
 * entry of its offer, with an empty path and `size` bytes of text. */
enum mf_type { MF_FILE = 1, MF_DIR = 2, MF_LINK = 3, MF_TEXT = 4 };

#define MF_PATH_MAX 4096u
#define MF_NAME_MAX 255u
#define MF_ENTRIES_MAX (1u << 22)
#define MF_ENCODED_MAX (256u * 1024u * 1024u)
#define MF_TEXT_MAX (1024u * 1024u)
/* The size of a file read from a pipe (`pcp send -`): known only at its
 * end. Such a file is the only entry of its offer. */
#define MF_SIZE_STREAM UINT64_MAX

struct mf_entry {
    char *path;    /* relative, '/'-separated, checked */
    char *link;    /* MF_LINK: target, checked not to escape */
    char *src;     /* sender only: where to read it (NULL: standard input) */
    char *text;    /* MF_TEXT: `size` bytes, NUL-terminated */
    uint64_t size; /* MF_FILE: bytes */
    int64_t mtime_ns;
    uint32_t mode; /* permission bits only (0777) */
    uint8_t type;
};

struct manifest {
    struct mf_entry *e;
    size_t n, cap;
    uint64_t total_bytes; /* a streamed file counts 0 */
    uint64_t nfiles;
    size_t skipped;   /* sender: special files and escaping links left out */
    char *first_skip; /* sender: the first of them, for the warning */
};

void manifest_init(struct manifest *m);
void manifest_free(struct manifest *m);

/* Walk the sender's paths (files, directories recursively, symlinks that
 * stay inside the tree). Each top-level entry is named by its basename;
 * two arguments with the same basename are PCP_ERR_INVAL. */
int manifest_build(struct manifest *m, const char *const *paths, size_t npaths);

/* An offer of one message (MF_TEXT_MAX bytes at most, no NUL), or of one
 * file named `name` read from standard input until its end. */
int manifest_add_text(struct manifest *m, const char *text, size_t len);
int manifest_add_stream(struct manifest *m, const char *name);
/* 1 when e is a file whose size is known only at its end. */
static inline int mf_streamed(const struct mf_entry *e)
{
    return e->type == MF_FILE && e->size == MF_SIZE_STREAM;
}

int manifest_encode(const struct manifest *m, struct wbuf *out);
/* Parse an untrusted manifest; every path and link is checked. */
int manifest_decode(struct manifest *m, const uint8_t *p, size_t len);

/* Checks across entries, after manifest_decode: no path twice, and every
 * parent of a path is a directory of the same offer (so nothing is written
 * through a link or file the offer creates, and every top-level name is
 * listed). PCP_ERR_UNSAFE_PATH with *bad the offending entry's index, or 0. */
int manifest_check_tree(const struct manifest *m, size_t *bad);

/* 0 when `path` (len bytes) is a safe relative path, else
 * PCP_ERR_UNSAFE_PATH. */
int manifest_path_check(const char *path, size_t len);
/* 0 when a link at `path` pointing at `target` stays inside the root. */
int manifest_link_check(const char *path, const char *target);

/* Copy `in` for display: control characters, escape sequences, invalid
 * UTF-8 and bidirectional overrides become '?'. Always NUL-terminates. */
void manifest_display(const char *in, char *out, size_t outlen);
/* The same for a message: newlines and tabs stay. */
void manifest_display_text(const char *in, char *out, size_t outlen);

#endif
