/*
 * manifest.h - what a sender offers: relative paths, types, sizes, modes,
 * mtimes. Built by walking the sender's paths, carried as one byte string,
 * and parsed strictly on the receiver, which refuses absolute paths, `..`,
 * empty or over-long components, control characters in names, links that
 * would resolve outside the target (through other links of the offer
 * too), and offers that would cost more than MF_MEM_MAX to hold.
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
/* What a receiver holds for an offer before its user answers: the entry
 * array, the names, the decoder's buffer and the checks' hash set (see
 * manifest_cost). 1,000,000 files with paths of 17 bytes on average fit. */
#define MF_MEM_MAX (64u * 1024u * 1024u)
/* Neither bound can be reached without passing MF_MEM_MAX first (an entry
 * costs more held than sent); they refuse early, before any work. */
#define MF_ENTRIES_MAX (MF_MEM_MAX / 48u)
#define MF_ENCODED_MAX MF_MEM_MAX
/* Links followed when a link target is resolved against the offer (as
 * Linux's 40 for one lookup); more, and the link is refused. */
#define MF_LINK_HOPS 40
#define MF_TEXT_MAX (1024u * 1024u)
/* The size of a file read from a pipe (`pcp send -`): known only at its
 * end. Such a file is the only entry of its offer. */
#define MF_SIZE_STREAM UINT64_MAX

/* 40 bytes: a million of them is most of what MF_MEM_MAX allows, so the
 * three strings no entry has together share one pointer. */
struct mf_entry {
    char *path; /* relative, '/'-separated, checked */
    union {
        char *link; /* MF_LINK: target, checked not to escape */
        char *src;  /* sender, MF_FILE and MF_DIR: where to read it (NULL:
                     * standard input) */
        char *text; /* MF_TEXT: `size` bytes, NUL-terminated */
    };
    uint64_t size; /* MF_FILE: bytes */
    int64_t mtime_ns;
    uint32_t mode; /* permission bits only (0777) */
    uint8_t type;
};

struct mf_block; /* a decoded manifest's strings, in a few large blocks */

struct manifest {
    struct mf_entry *e;
    size_t n, cap;
    uint64_t total_bytes; /* a streamed file counts 0 */
    uint64_t nfiles;
    size_t skipped;         /* sender: special files, unsafe names, escaping links left out */
    char *first_skip;       /* sender: the first of them, for the warning */
    struct mf_block *arena; /* decoded: every string is in it, not malloc'd */
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

/* PCP_ERR_TOO_BIG when the offer would cost a receiver more than
 * MF_MEM_MAX or MF_ENCODED_MAX (so a sender finds out before it offers). */
int manifest_encode(const struct manifest *m, struct wbuf *out);
/* Parse an untrusted manifest; every path and link is checked. */
int manifest_decode(struct manifest *m, const uint8_t *p, size_t len);

/* The same, fed as the bytes arrive, so that only the entries decoded so
 * far and one unfinished entry are held: init, feed each piece, finish
 * (PCP_ERR_TRUNCATED when the last entry is missing). An error is sticky;
 * the manifest is empty after one. PCP_ERR_TOO_BIG as soon as what the
 * receiver holds (manifest_cost, with the decoder's buffer) would pass
 * MF_MEM_MAX. Free the decoder in any case. */
struct mf_decoder {
    struct manifest *m;
    uint8_t *buf; /* bytes of an entry not yet complete */
    size_t len, cap;
    uint64_t fed;     /* bytes so far */
    uint64_t strings; /* bytes of the strings decoded so far, NULs included */
    size_t links;
    uint32_t count;
    int header, err;
};
void manifest_decoder_init(struct mf_decoder *d, struct manifest *m);
int manifest_decoder_feed(struct mf_decoder *d, const uint8_t *p, size_t len);
int manifest_decoder_finish(struct mf_decoder *d);
void manifest_decoder_free(struct mf_decoder *d);

/* Bytes a receiver holds for m once decoded and checked: entries, names
 * and manifest_check_tree's tables. */
uint64_t manifest_cost(const struct manifest *m);

/* Checks across entries, after manifest_decode: no path twice; every
 * parent of a path is a directory of the same offer (so nothing is written
 * through a link or file the offer creates, and every top-level name is
 * listed); and every link, resolved against the offer (its directories,
 * and its links followed, MF_LINK_HOPS at most), stays inside the root at
 * every step. A name the offer does not list may be anything the receiver
 * already has, so a `..` after one is refused, and so is a name after a
 * file. A link that goes through a loop of links never resolves, so it
 * cannot lead out: it is kept. PCP_ERR_UNSAFE_PATH with *bad the
 * offending entry's index, or 0. */
int manifest_check_tree(const struct manifest *m, size_t *bad);

/* 0 when `path` (len bytes) is a safe relative path, else
 * PCP_ERR_UNSAFE_PATH. Besides the shape (no empty, `.` or `..`
 * component, no backslash, not absolute, limits), a name may not hold a
 * control character: bytes 0x01-0x1f and 0x7f, and U+0080-U+009F as
 * UTF-8. The same holds for link targets. */
int manifest_path_check(const char *path, size_t len);
/* 0 when a link at `path` pointing at `target` stays inside the root if
 * every component is a directory (manifest_check_tree does the rest). */
int manifest_link_check(const char *path, const char *target);

/* Copy `in` for display: control characters, escape sequences, invalid
 * UTF-8, bidirectional controls (U+061C, U+200E-U+200F, U+202A-U+202E,
 * U+2066-U+2069), line and paragraph separators (U+2028, U+2029) and
 * invisible characters (U+180E, U+200B-U+200D, U+2060-U+2064, U+FEFF)
 * become '?'. Quotes and backslashes get a backslash before them (\',
 * \", \\), so that a name shown between quotes cannot close them and
 * write its own text after. Always NUL-terminates. */
void manifest_display(const char *in, char *out, size_t outlen);
/* The same for a message: newlines and tabs stay, quotes are left as
 * they are (a message is not shown between quotes). */
void manifest_display_text(const char *in, char *out, size_t outlen);

#endif
