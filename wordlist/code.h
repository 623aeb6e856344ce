/*
 * code.h - the words people read aloud: making, printing and parsing codes.
 *
 * A code is 4..8 words from the BIP39 English list (2048 words, 11 bits
 * each). Word 1 is the public channel; words 2..n are the PAKE password,
 * taken as list indices so that case, separators and abbreviation never
 * change the secret. Nothing here prints or exits: failures are negative
 * enum pcp_err codes (err.h), with a message for the user in a caller's
 * buffer where one helps.
 */
#ifndef PCP_CODE_H
#define PCP_CODE_H

#include <stddef.h>
#include <stdint.h>

#define CODE_MIN_WORDS 4
#define CODE_MAX_WORDS 8
#define CODE_WORDS 2048
#define CODE_TEXT_MAX 128 /* enough for 8 words of up to 8 letters + separators + NUL */
/* Longest word code_parse looks at; anything longer is rejected unread. */
#define CODE_INPUT_WORD_MAX 32
/* Bytes code_password writes at most: 2 per secret word. */
#define CODE_PASSWORD_MAX (2 * (CODE_MAX_WORDS - 1))

struct pcp_code {
    unsigned nwords;
    uint16_t idx[CODE_MAX_WORDS];
};

/* The word at idx, lower case; NULL when idx >= CODE_WORDS. */
const char *code_word(unsigned idx);

/* Index of a complete word or of a unique prefix of at least 4 letters, in
 * any case; -1 when it names no word. */
int code_word_index(const char *word);

/* nwords words drawn uniformly with libsodium's randombytes_uniform.
 * PCP_ERR_INVAL when nwords is outside CODE_MIN_WORDS..CODE_MAX_WORDS. */
int code_generate(struct pcp_code *c, unsigned nwords);

/* "word-word-word-word", lower case. PCP_ERR_INVAL for a malformed code or
 * an out buffer too small (CODE_TEXT_MAX always suffices). */
int code_format(const struct pcp_code *c, char *out, size_t outlen);

/* Parse user text. Accepts any case, '-' or whitespace (any run of them,
 * leading/trailing ignored) between words, each word either complete or a
 * unique prefix of >= 4 letters. 4..8 words, else PCP_ERR_INVAL. A word not
 * in the list gives PCP_ERR_BAD_WORD. Either way err (if errlen > 0) gets a
 * message for the user, e.g. "word 2 'enemmy' is not in the word list; did
 * you mean 'enemy'?"; on success err is "". *c is written only on success. */
int code_parse(const char *text, struct pcp_code *c, char *err, size_t errlen);

/* The public channel: the first word's index. */
unsigned code_channel(const struct pcp_code *c);

/* Password bytes: words 2..n as big-endian u16 indices. Returns the number
 * of bytes written, 2 * (n - 1), or 0 for a malformed code. out must hold
 * CODE_PASSWORD_MAX (14) bytes. */
size_t code_password(const struct pcp_code *c, uint8_t *out);

/* Closest word by edit distance (Damerau-Levenshtein, optimal string
 * alignment variant; ties broken by longer shared prefix, then list order),
 * ignoring case. Only the first CODE_INPUT_WORD_MAX bytes are considered.
 * Returns the word's index. */
unsigned code_closest(const char *word);

#endif
