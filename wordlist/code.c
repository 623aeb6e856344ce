/*
 * code.c - codes made of BIP39 words: generate, format, parse, suggest.
 *
 * Parsing takes text a person typed, so it is untrusted and may be anything:
 * it never reads more than CODE_INPUT_WORD_MAX bytes of a word into a buffer,
 * never assumes ASCII, and never uses <ctype.h> (locale-dependent, and
 * undefined for negative chars). The list itself is generated into
 * english_words.inc by embed.cmake from the pinned english.txt. Like all
 * library code it never prints: messages go into the caller's buffer.
 */
#include "code.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "err.h"

static const char *const words[CODE_WORDS] = {
#include "english_words.inc"
};

/* Every BIP39 word is unique in its first four letters, which is what makes
 * a four-letter prefix as good as the whole word. */
#define CODE_PREFIX_MIN 4
/* Longest word in the list; checked at build time by embed.cmake. */
#define CODE_WORD_LEN_MAX 8

static int is_sep(unsigned char ch)
{
    return ch == '-' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' ||
           ch == '\f';
}

static unsigned char to_lower(unsigned char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

const char *code_word(unsigned idx)
{
    return idx < CODE_WORDS ? words[idx] : NULL;
}

/* First index whose word is >= key (strcmp order), CODE_WORDS if none. The
 * words starting with key, if any, begin exactly there. */
static unsigned lower_bound(const char *key)
{
    unsigned lo = 0, hi = CODE_WORDS;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (strcmp(words[mid], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Look up len bytes already lower-cased and NUL-terminated in key. */
static int lookup_lower(const char *key, size_t len)
{
    unsigned i = lower_bound(key);
    if (i >= CODE_WORDS)
        return -1;
    if (strcmp(words[i], key) == 0)
        return (int)i;
    if (len >= CODE_PREFIX_MIN && strncmp(words[i], key, len) == 0)
        return (int)i;
    return -1;
}

/* Copy at most CODE_INPUT_WORD_MAX bytes of p lower-cased into out (which
 * holds CODE_INPUT_WORD_MAX + 1). */
static size_t lower_copy(char *out, const char *p, size_t len)
{
    if (len > CODE_INPUT_WORD_MAX)
        len = CODE_INPUT_WORD_MAX;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)to_lower((unsigned char)p[i]);
    out[len] = '\0';
    return len;
}

int code_word_index(const char *word)
{
    char key[CODE_INPUT_WORD_MAX + 1];
    int r;
    if (word == NULL)
        return -1;
    size_t len = strlen(word);
    if (len > CODE_INPUT_WORD_MAX)
        return -1;
    lower_copy(key, word, len);
    r = lookup_lower(key, len);
    sodium_memzero(key, sizeof(key));
    return r;
}

static int code_valid(const struct pcp_code *c)
{
    if (c == NULL || c->nwords < CODE_MIN_WORDS || c->nwords > CODE_MAX_WORDS)
        return 0;
    for (unsigned i = 0; i < c->nwords; i++)
        if (c->idx[i] >= CODE_WORDS)
            return 0;
    return 1;
}

int code_generate(struct pcp_code *c, unsigned nwords)
{
    if (c == NULL || nwords < CODE_MIN_WORDS || nwords > CODE_MAX_WORDS)
        return PCP_ERR_INVAL;
    /* Idempotent and cheap after the first call; makes the randomness safe
     * to draw even if the caller forgot. */
    if (sodium_init() < 0)
        return PCP_ERR_CRYPTO;
    memset(c, 0, sizeof(*c));
    c->nwords = nwords;
    for (unsigned i = 0; i < nwords; i++)
        c->idx[i] = (uint16_t)randombytes_uniform(CODE_WORDS);
    return PCP_OK;
}

int code_format(const struct pcp_code *c, char *out, size_t outlen)
{
    size_t off = 0;
    if (out == NULL || outlen == 0)
        return PCP_ERR_INVAL;
    out[0] = '\0';
    if (!code_valid(c))
        return PCP_ERR_INVAL;
    for (unsigned i = 0; i < c->nwords; i++) {
        const char *w = words[c->idx[i]];
        size_t wl = strlen(w);
        size_t need = wl + (i > 0) + 1;
        if (outlen - off < need) {
            sodium_memzero(out, outlen);
            return PCP_ERR_INVAL;
        }
        if (i > 0)
            out[off++] = '-';
        memcpy(out + off, w, wl);
        off += wl;
        out[off] = '\0';
    }
    return PCP_OK;
}

unsigned code_channel(const struct pcp_code *c)
{
    return c->idx[0];
}

size_t code_password(const struct pcp_code *c, uint8_t *out)
{
    size_t n = 0;
    if (!code_valid(c) || out == NULL)
        return 0;
    for (unsigned i = 1; i < c->nwords; i++) {
        out[n++] = (uint8_t)(c->idx[i] >> 8);
        out[n++] = (uint8_t)c->idx[i];
    }
    return n;
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* Optimal string alignment distance: insertions, deletions, substitutions
 * and adjacent transpositions, the four typos a person makes. la is at most
 * CODE_INPUT_WORD_MAX and lb at most CODE_WORD_LEN_MAX. Gives up with
 * limit + 1 as soon as the answer must exceed limit: no cell is ever smaller
 * than the smallest of the row above (a transposition costs at least the
 * diagonal it skips), so a row entirely above limit ends the search. That
 * keeps a search of all 2048 words cheap. */
static size_t osa_distance(const char *a, size_t la, const char *b, size_t lb, size_t limit)
{
    size_t d[CODE_INPUT_WORD_MAX + 1][CODE_WORD_LEN_MAX + 1];
    if ((la > lb ? la - lb : lb - la) > limit)
        return limit + 1;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t row_min = d[i][0];
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
            if (d[i][j] < row_min)
                row_min = d[i][j];
        }
        if (row_min > limit)
            return limit + 1;
    }
    return d[la][lb];
}

static size_t shared_prefix(const char *a, const char *b)
{
    size_t n = 0;
    while (a[n] != '\0' && a[n] == b[n])
        n++;
    return n;
}

/* Letters counted a..z, everything else in one bucket: the input may hold
 * any byte. */
#define LETTER_BUCKETS 27

static unsigned bucket(unsigned char ch)
{
    return ch >= 'a' && ch <= 'z' ? (unsigned)(ch - 'a') : LETTER_BUCKETS - 1;
}

/* A lower bound on the edit distance from letter counts alone (the "bag
 * distance"): an insertion, deletion or substitution fixes at most one
 * surplus and one shortfall, a transposition neither. It rules out most of
 * the list for a fraction of the cost of osa_distance. */
static size_t bag_distance(const int *key_hist, const char *w)
{
    int h[LETTER_BUCKETS];
    size_t more = 0, fewer = 0;
    memcpy(h, key_hist, sizeof(h));
    for (; *w != '\0'; w++)
        h[bucket((unsigned char)*w)]--;
    for (unsigned k = 0; k < LETTER_BUCKETS; k++) {
        if (h[k] > 0)
            more += (size_t)h[k];
        else
            fewer += (size_t)-h[k];
    }
    return more > fewer ? more : fewer;
}

unsigned code_closest(const char *word)
{
    char key[CODE_INPUT_WORD_MAX + 1];
    int hist[LETTER_BUCKETS] = {0};
    unsigned best = 0;
    size_t best_d = CODE_INPUT_WORD_MAX + 1, best_p = 0;
    size_t len = 0;
    if (word != NULL)
        while (len < CODE_INPUT_WORD_MAX && word[len] != '\0')
            len++;
    lower_copy(key, word != NULL ? word : "", len);
    for (size_t k = 0; k < len; k++)
        hist[bucket((unsigned char)key[k])]++;
    for (unsigned i = 0; i < CODE_WORDS; i++) {
        const char *w = words[i];
        size_t dist, pre;
        if (bag_distance(hist, w) > best_d)
            continue;
        dist = osa_distance(key, len, w, strlen(w), best_d);
        if (dist > best_d)
            continue;
        pre = shared_prefix(key, w);
        /* Equal distance: the longer shared start wins, since people get
         * the beginning of a word right more often than the end. Strict
         * comparisons keep the earliest word on a full tie. */
        if (dist < best_d || pre > best_p) {
            best = i;
            best_d = dist;
            best_p = pre;
        }
    }
    sodium_memzero(key, sizeof(key));
    sodium_memzero(hist, sizeof(hist));
    return best;
}

/* Copy a word the user typed into a message: non-printable bytes become '?'
 * so that the terminal shows what is wrong instead of acting on it. */
static void shown_word(char *out, const char *p, size_t len)
{
    size_t i;
    for (i = 0; i < len && i < CODE_INPUT_WORD_MAX; i++) {
        unsigned char ch = (unsigned char)p[i];
        out[i] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
    }
    out[i] = '\0';
}

/* Length of the next word at or after *pos, its offset in *start; 0 at the
 * end of the text. */
static size_t next_word(const char *text, size_t *pos, size_t *start)
{
    size_t i = *pos;
    while (text[i] != '\0' && is_sep((unsigned char)text[i]))
        i++;
    *start = i;
    while (text[i] != '\0' && !is_sep((unsigned char)text[i]))
        i++;
    *pos = i;
    return i - *start;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Message for the word at position n (1-based) that matched nothing. */
static void bad_word_err(char *err, size_t errlen, unsigned n, const char *p, size_t len,
                         const char *lower)
{
    char shown[CODE_INPUT_WORD_MAX + 1];
    shown_word(shown, p, len);
    if (len > CODE_INPUT_WORD_MAX) {
        set_err(err, errlen, "word %u '%s...' is too long; no word has more than %d letters", n,
                shown, CODE_WORD_LEN_MAX);
        return;
    }
    const char *hint = len < CODE_PREFIX_MIN ? " (abbreviations need at least 4 letters)" : "";
    set_err(err, errlen, "word %u '%s' is not in the word list%s; did you mean '%s'?", n, shown,
            hint, words[code_closest(lower)]);
}

int code_parse(const char *text, struct pcp_code *c, char *err, size_t errlen)
{
    struct pcp_code tmp;
    char key[CODE_INPUT_WORD_MAX + 1];
    size_t pos = 0, start = 0, len = 0, count = 0;
    int r = PCP_OK;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (text == NULL || c == NULL) {
        set_err(err, errlen, "no code given");
        return PCP_ERR_INVAL;
    }

    /* Count first: a wrong number of words is the more basic mistake, and
     * naming a misspelling in a code that cannot work anyway misleads. */
    while (next_word(text, &pos, &start) > 0)
        count++;
    if (count == 0) {
        set_err(err, errlen, "the code is empty; it is %d to %d words like '%s'", CODE_MIN_WORDS,
                CODE_MAX_WORDS, "bubble-enemy-result-increase");
        return PCP_ERR_INVAL;
    }
    if (count < CODE_MIN_WORDS || count > CODE_MAX_WORDS) {
        set_err(err, errlen, "the code has %zu word%s; it needs %d to %d", count,
                count == 1 ? "" : "s", CODE_MIN_WORDS, CODE_MAX_WORDS);
        return PCP_ERR_INVAL;
    }

    memset(&tmp, 0, sizeof(tmp));
    pos = 0;
    while ((len = next_word(text, &pos, &start)) > 0) {
        int idx = -1;
        lower_copy(key, text + start, len);
        if (len <= CODE_INPUT_WORD_MAX)
            idx = lookup_lower(key, len);
        if (idx < 0) {
            bad_word_err(err, errlen, tmp.nwords + 1, text + start, len, key);
            r = PCP_ERR_BAD_WORD;
            goto out;
        }
        tmp.idx[tmp.nwords++] = (uint16_t)idx;
    }
    *c = tmp;
out:
    /* The words after the first are the password. */
    sodium_memzero(&tmp, sizeof(tmp));
    sodium_memzero(key, sizeof(key));
    return r;
}
