/*
 * offer.c - the receiver's view of an offer (offer_confirm, the transfer's
 * confirm hook): a message shown at once, else the top-level names with
 * what each does here, and the question, asked on the terminal (never on
 * standard input, which may carry data). Names from the peer pass through
 * manifest_display() before they reach a terminal.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"

/* The top-level names of the offer, at most three, then "and N more":
 * the JSON offer event's short form. */
static void offer_names(const struct manifest *m, char *out, size_t outlen, size_t *top)
{
    char shown[256];
    size_t o = 0, listed = 0;
    *top = 0;
    out[0] = '\0';
    for (size_t i = 0; i < m->n; i++) {
        if (strchr(m->e[i].path, '/'))
            continue;
        if (++*top > 3)
            continue;
        manifest_display(m->e[i].path, shown, sizeof(shown));
        int w = snprintf(out + o, outlen - o, "%s'%s%s'", listed ? ", " : "", shown,
                         m->e[i].type == MF_DIR ? "/" : "");
        if (w > 0 && (size_t)w < outlen - o)
            o += (size_t)w;
        listed++;
    }
    if (*top > 3)
        snprintf(out + o, outlen - o, " and %zu more", *top - 3);
}

/* What a top-level entry does to the target directory. A directory that
 * is already there is merged into (the sender's files land among the
 * receiver's own: '.ssh' gains an authorized_keys); a name that starts
 * with '.' is hidden from a plain ls. Both need more than a plain yes. */
enum { TOP_HIDDEN = 1, TOP_MERGE = 2, TOP_REPLACE = 4 };

static int top_flags(const struct recv_ctx *r, const struct mf_entry *en)
{
    struct stat st;
    int f = en->path[0] == '.' ? TOP_HIDDEN : 0;
    if (r->to_stdout || r->dfd < 0 || fstatat(r->dfd, en->path, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return f;
    if (en->type == MF_DIR && S_ISDIR(st.st_mode))
        f |= TOP_MERGE;
    else if (en->type != MF_DIR && !S_ISDIR(st.st_mode))
        f |= TOP_REPLACE; /* only with --overwrite: else the offer was refused before */
    return f;
}

#define PROMPT_NAMES 20 /* a screenful; then a count */

/* The flags of all top-level entries together, and the first merged
 * directory's name (as shown) in merged. */
static int scan_top(const struct recv_ctx *r, const struct manifest *m, char *merged,
                    size_t merged_len)
{
    int all = 0;
    merged[0] = '\0';
    for (size_t i = 0; i < m->n; i++) {
        const struct mf_entry *en = &m->e[i];
        if (strchr(en->path, '/'))
            continue;
        int f = top_flags(r, en);
        all |= f;
        if ((f & TOP_MERGE) && !merged[0])
            manifest_display(en->path, merged, merged_len);
    }
    return all;
}

/* Every top-level name (a screenful, then how many more) to out, each
 * marked with what it does here. */
static void print_top(const struct recv_ctx *r, const struct manifest *m, FILE *out)
{
    char shown[1024];
    size_t top = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct mf_entry *en = &m->e[i];
        if (strchr(en->path, '/') || ++top > PROMPT_NAMES)
            continue;
        int f = top_flags(r, en);
        manifest_display(en->path, shown, sizeof(shown));
        fprintf(out, "  '%s%s'%s%s%s\n", shown, en->type == MF_DIR ? "/" : "",
                f & TOP_HIDDEN ? "  (hidden name)" : "",
                f & TOP_MERGE ? "  into the existing directory of that name" : "",
                f & TOP_REPLACE ? "  replaces the existing file (--overwrite)" : "");
    }
    if (top > PROMPT_NAMES)
        fprintf(out, "  ... and %zu more\n", top - PROMPT_NAMES);
}

/* A message is shown at once, nothing to accept: to a terminal with
 * control characters made harmless, else byte for byte. */
static int show_text(struct recv_ctx *r, const struct mf_entry *en)
{
    r->text = 1;
    if (r->u->json) {
        ev_text(r->u->json, en->text, en->size, r->peer);
    } else if (isatty(1)) {
        size_t n = (size_t)en->size;
        char *shown = malloc(n + 1);
        if (!shown)
            return 0;
        manifest_display_text(en->text, shown, n + 1);
        fprintf(stderr, "Message from %s:\n", r->peer);
        printf("%s%s", shown, n && en->text[n - 1] == '\n' ? "" : "\n");
        free(shown);
    } else {
        fwrite(en->text, 1, (size_t)en->size, stdout);
    }
    fflush(stdout);
    return 1;
}

/* Read one line of the answer from the terminal. */
static void read_answer(FILE *t, char *ans, size_t len)
{
    size_t n = 0;
    int c;
    while (n + 1 < len && (c = fgetc(t)) != EOF && c != '\n')
        ans[n++] = (char)c;
    ans[n] = '\0';
}

static int ask_offer(void *ud, const struct manifest *m)
{
    struct recv_ctx *r = ud;
    char size[32], what[900], merged[1024];
    size_t top;
    if (m->n == 1 && m->e[0].type == MF_TEXT)
        return show_text(r, &m->e[0]);
    int unsized = m->n == 1 && mf_streamed(&m->e[0]);
    if (unsized)
        snprintf(size, sizeof(size), "size not known until the end");
    else
        ui_human_size(m->total_bytes, size, sizeof(size));
    offer_names(m, what, sizeof(what), &top);
    int flags = scan_top(r, m, merged, sizeof(merged));
    if (r->u->json) {
        struct ev_offer_info oi = {.names = what,
                                   .top = top,
                                   .entries = m->n,
                                   .files = m->nfiles,
                                   .bytes = m->total_bytes,
                                   .unsized = unsized,
                                   .hidden = (flags & TOP_HIDDEN) != 0,
                                   .merge = merged,
                                   .peer = r->peer};
        ev_offer(r->u->json, &oi);
    }
    /* Adding to a directory that is already here, or a hidden name at the
     * top, is what a hostile sender would hide among ordinary names: it
     * takes a typed "yes", and under --yes a flag of its own. */
    int risky = (flags & (TOP_HIDDEN | TOP_MERGE)) != 0;
    const char *dest = r->to_stdout ? ", to standard output" : "";
    if (r->yes) {
        if (!r->u->json) {
            fprintf(stderr, "Offer from %s: %llu file%s, %s%s:\n", r->peer,
                    (unsigned long long)m->nfiles, m->nfiles == 1 ? "" : "s", size, dest);
            print_top(r, m, stderr);
        }
        if (risky && !r->merge) {
            r->refused_merge = 1;
            return 0;
        }
        if (!r->u->json)
            fprintf(stderr, "yes (--yes%s)\n", risky ? " --merge" : "");
        return 1;
    }
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    FILE *t = tty >= 0 ? fdopen(tty, "r+") : NULL;
    if (!t) {
        if (tty >= 0)
            close(tty);
        fprintf(stderr,
                "pcp: %s offers %s (%llu file%s, %s); no terminal to ask on: use --yes to "
                "accept without asking\n",
                r->peer, what, (unsigned long long)m->nfiles, m->nfiles == 1 ? "" : "s", size);
        return 0;
    }
    fprintf(t, "Offer from %s: %llu file%s, %s%s:\n", r->peer, (unsigned long long)m->nfiles,
            m->nfiles == 1 ? "" : "s", size, dest);
    print_top(r, m, t);
    if (flags & TOP_MERGE)
        fprintf(t, "This adds files into the existing directory '%s'%s. Type 'yes' to accept: ",
                merged, flags & TOP_HIDDEN ? " and writes hidden names" : "");
    else if (flags & TOP_HIDDEN)
        fprintf(t, "This writes hidden names (starting with '.') into %s. Type 'yes' to accept: ",
                r->out_dir);
    else
        fprintf(t, "Receive %s%s%s? [y/N] ", top == 1 ? "it" : "them", r->to_stdout ? "" : " into ",
                r->to_stdout ? "" : r->out_dir);
    fflush(t);
    char ans[16];
    read_answer(t, ans, sizeof(ans));
    fclose(t);
    if (risky)
        return !strcmp(ans, "yes") || !strcmp(ans, "YES");
    return ans[0] == 'y' || ans[0] == 'Y';
}

int offer_confirm(void *ud, const struct manifest *m)
{
    struct recv_ctx *r = ud;
    if (r->accepted) /* the same sender's offer again, after a failover */
        return 1;
    return r->accepted = ask_offer(ud, m);
}
