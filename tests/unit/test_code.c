/* Unit tests for wordlist/: the pinned list, and making, printing and
 * parsing codes, including every way a person can mistype one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "code.h"
#include "err.h"

/* sha256 of BIP39's english.txt; changing the list would silently change
 * every code's meaning between versions. */
static const char *const ENGLISH_SHA256 =
    "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda";

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static void parse_ok(const char *text, struct pcp_code *c)
{
    char err[256];
    int r = code_parse(text, c, err, sizeof(err));
    if (r != 0)
        fail_msg("'%s' did not parse: %d %s", text, r, err);
    assert_string_equal(err, "");
}

static void assert_code(const struct pcp_code *c, unsigned n, const char *const *w)
{
    assert_int_equal(c->nwords, n);
    for (unsigned i = 0; i < n; i++)
        assert_string_equal(code_word(c->idx[i]), w[i]);
}

static void test_pin_sha256(void **state)
{
    (void)state;
    crypto_hash_sha256_state st;
    uint8_t h[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256_init(&st);
    for (unsigned i = 0; i < CODE_WORDS; i++) {
        const char *w = code_word(i);
        assert_non_null(w);
        crypto_hash_sha256_update(&st, (const unsigned char *)w, strlen(w));
        crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
    }
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    assert_string_equal(hex, ENGLISH_SHA256);
}

static void test_list_shape(void **state)
{
    (void)state;
    assert_null(code_word(CODE_WORDS));
    assert_null(code_word(~0u));
    assert_string_equal(code_word(0), "abandon");
    assert_string_equal(code_word(CODE_WORDS - 1), "zoo");
    for (unsigned i = 0; i < CODE_WORDS; i++) {
        const char *w = code_word(i);
        size_t len = strlen(w);
        assert_in_range(len, 3, 8);
        for (size_t j = 0; j < len; j++)
            assert_in_range(w[j], 'a', 'z');
        if (i > 0) {
            const char *prev = code_word(i - 1);
            /* Sorted, so equal 4-letter prefixes could only be neighbours. */
            assert_true(strcmp(prev, w) < 0);
            assert_true(strncmp(prev, w, 4) != 0);
        }
    }
}

static void test_word_index(void **state)
{
    (void)state;
    char up[16];
    for (unsigned i = 0; i < CODE_WORDS; i++) {
        const char *w = code_word(i);
        size_t len = strlen(w);
        assert_int_equal(code_word_index(w), (int)i);
        for (size_t k = 4; k < len; k++) {
            char pre[16];
            memcpy(pre, w, k);
            pre[k] = '\0';
            assert_int_equal(code_word_index(pre), (int)i);
        }
        for (size_t j = 0; j <= len; j++)
            up[j] = (char)(w[j] >= 'a' && w[j] <= 'z' ? w[j] - 'a' + 'A' : w[j]);
        assert_int_equal(code_word_index(up), (int)i);
    }
    assert_int_equal(code_word_index("cat"), code_word_index("CAT"));
    assert_true(code_word_index("cat") >= 0);
    assert_int_equal(code_word_index("ca"), -1);
    assert_int_equal(code_word_index("aba"), -1); /* 3-letter prefix, not a word */
    assert_int_equal(code_word_index("abandonx"), -1);
    assert_int_equal(code_word_index(""), -1);
    assert_int_equal(code_word_index(NULL), -1);
}

static void roundtrip(unsigned n)
{
    struct pcp_code c, back;
    char text[CODE_TEXT_MAX];
    assert_int_equal(code_generate(&c, n), 0);
    assert_int_equal(c.nwords, n);
    assert_int_equal(code_format(&c, text, sizeof(text)), 0);
    for (const char *p = text; *p; p++)
        assert_true((*p >= 'a' && *p <= 'z') || *p == '-');
    memset(&back, 0xee, sizeof(back));
    parse_ok(text, &back);
    assert_int_equal(back.nwords, n);
    assert_memory_equal(back.idx, c.idx, n * sizeof(c.idx[0]));
}

static void test_roundtrip(void **state)
{
    (void)state;
    for (unsigned n = CODE_MIN_WORDS; n <= CODE_MAX_WORDS; n++)
        for (int k = 0; k < 2000; k++)
            roundtrip(n);
}

/* The longest possible code fits CODE_TEXT_MAX, and format checks outlen. */
static void test_format(void **state)
{
    (void)state;
    struct pcp_code c = {.nwords = 8};
    char text[CODE_TEXT_MAX];
    int longest = code_word_index("abstract"); /* 8 letters */
    assert_true(longest >= 0);
    for (unsigned i = 0; i < 8; i++)
        c.idx[i] = (uint16_t)longest;
    assert_int_equal(code_format(&c, text, sizeof(text)), 0);
    assert_int_equal(strlen(text), 8 * 8 + 7);
    assert_int_equal(code_format(&c, text, 8 * 8 + 8), 0);
    assert_int_equal(code_format(&c, text, 8 * 8 + 7), PCP_ERR_INVAL);
    assert_string_equal(text, "");

    struct pcp_code d = {.nwords = 4, .idx = {0, 1, 2, 3}};
    assert_int_equal(code_format(&d, text, sizeof(text)), 0);
    assert_string_equal(text, "abandon-ability-able-about");
    d.idx[3] = CODE_WORDS;
    assert_int_equal(code_format(&d, text, sizeof(text)), PCP_ERR_INVAL);
    d.idx[3] = 3;
    d.nwords = 3;
    assert_int_equal(code_format(&d, text, sizeof(text)), PCP_ERR_INVAL);
    d.nwords = 9;
    assert_int_equal(code_format(&d, text, sizeof(text)), PCP_ERR_INVAL);
    d.nwords = 4;
    assert_int_equal(code_format(&d, text, 0), PCP_ERR_INVAL);
    assert_int_equal(code_format(NULL, text, sizeof(text)), PCP_ERR_INVAL);
}

static void test_generate(void **state)
{
    (void)state;
    struct pcp_code c;
    assert_int_equal(code_generate(&c, 3), PCP_ERR_INVAL);
    assert_int_equal(code_generate(&c, 9), PCP_ERR_INVAL);
    assert_int_equal(code_generate(&c, 0), PCP_ERR_INVAL);
    assert_int_equal(code_generate(NULL, 4), PCP_ERR_INVAL);
    /* Not a statistical test: only catches a generator stuck on a value. */
    unsigned seen_hi = 0, seen_lo = 0;
    for (int k = 0; k < 200; k++) {
        assert_int_equal(code_generate(&c, 4), 0);
        for (unsigned i = 0; i < 4; i++) {
            assert_true(c.idx[i] < CODE_WORDS);
            seen_hi |= c.idx[i] >= 1024;
            seen_lo |= c.idx[i] < 1024;
        }
    }
    assert_true(seen_hi && seen_lo);
}

static void test_parse_forms(void **state)
{
    (void)state;
    static const char *const want[] = {"bubble", "enemy", "result", "increase"};
    static const char *const forms[] = {
        "bubble-enemy-result-increase",
        "BUBBLE-ENEMY-RESULT-INCREASE",
        "Bubble-eNeMy-Result-increasE",
        "bubble enemy result increase",
        "  bubble   enemy\tresult\nincrease \r\n",
        "--bubble--enemy - result-\t-increase--",
        "bubb-enem-resu-incr",
        "BUBB enemy RESUL-increa",
        "bubbl-enemy-result-increase",
    };
    struct pcp_code c;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        memset(&c, 0, sizeof(c));
        parse_ok(forms[i], &c);
        assert_code(&c, 4, want);
    }

    static const char *const three[] = {"cat", "zoo", "act", "add"};
    parse_ok("cat zoo ACT add", &c);
    assert_code(&c, 4, three);

    static const char *const eight[] = {"abandon", "ability", "able",   "about",
                                        "above",   "absent",  "absorb", "zoo"};
    parse_ok("aban abil able abou abov abse abso zoo", &c);
    assert_code(&c, 8, eight);
}

static void test_parse_count(void **state)
{
    (void)state;
    struct pcp_code c = {.nwords = 77};
    char err[256];
    assert_int_equal(code_parse("bubble-enemy-result", &c, err, sizeof(err)), PCP_ERR_INVAL);
    assert_string_equal(err, "the code has 3 words; it needs 4 to 8");
    assert_int_equal(code_parse("a b c d e f g h i", &c, err, sizeof(err)), PCP_ERR_INVAL);
    assert_string_equal(err, "the code has 9 words; it needs 4 to 8");
    assert_int_equal(code_parse("zoo", &c, err, sizeof(err)), PCP_ERR_INVAL);
    assert_string_equal(err, "the code has 1 word; it needs 4 to 8");
    assert_int_equal(code_parse("", &c, err, sizeof(err)), PCP_ERR_INVAL);
    assert_true(strstr(err, "empty") != NULL);
    assert_int_equal(code_parse(" - \t-\n ", &c, err, sizeof(err)), PCP_ERR_INVAL);
    assert_true(strstr(err, "empty") != NULL);
    assert_int_equal(code_parse(NULL, &c, err, sizeof(err)), PCP_ERR_INVAL);
    assert_int_equal(code_parse("zoo zoo zoo zoo", NULL, err, sizeof(err)), PCP_ERR_INVAL);
    /* A failed parse leaves the caller's code alone. */
    assert_int_equal(c.nwords, 77);
}

static void expect_bad(const char *text, const char *msg)
{
    struct pcp_code c = {.nwords = 77};
    char err[256];
    assert_int_equal(code_parse(text, &c, err, sizeof(err)), PCP_ERR_BAD_WORD);
    assert_string_equal(err, msg);
    assert_int_equal(c.nwords, 77);
}

static void test_parse_bad_word(void **state)
{
    (void)state;
    expect_bad("bubble-enemmy-result-increase",
               "word 2 'enemmy' is not in the word list; did you mean 'enemy'?");
    expect_bad("abandn-ability-able-about",
               "word 1 'abandn' is not in the word list; did you mean 'abandon'?");
    expect_bad("bubble enemy result INCRAESE",
               "word 4 'INCRAESE' is not in the word list; did you mean 'increase'?");
    /* Too short to abbreviate, and not a whole word. */
    expect_bad("zoo ab zoo zoo", "word 2 'ab' is not in the word list (abbreviations need at "
                                 "least 4 letters); did you mean 'lab'?");
    expect_bad("zoo zoo aba zoo", "word 3 'aba' is not in the word list (abbreviations need at "
                                  "least 4 letters); did you mean 'able'?");
    /* Four letters, but the prefix of nothing. */
    expect_bad("zoo zoo zoo abzz", "word 4 'abzz' is not in the word list; did you mean 'able'?");
    /* Longer than the word it starts with. */
    expect_bad("abandonx zoo zoo zoo",
               "word 1 'abandonx' is not in the word list; did you mean 'abandon'?");
    /* The first bad word is the one named. */
    expect_bad("zoo enemmy abandn zoo",
               "word 2 'enemmy' is not in the word list; did you mean 'enemy'?");
}

static void test_parse_hostile(void **state)
{
    (void)state;
    char text[512], err[256];
    struct pcp_code c;

    /* Over-long: named, shown truncated, never copied whole. */
    memset(text, 'a', 300);
    strcpy(text + 300, " zoo zoo zoo");
    assert_int_equal(code_parse(text, &c, err, sizeof(err)), PCP_ERR_BAD_WORD);
    assert_string_equal(err, "word 1 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is too long; no word "
                             "has more than 8 letters");
    /* One past the limit. */
    memset(text, 'b', 33);
    strcpy(text + 33, " zoo zoo zoo");
    assert_int_equal(code_parse(text, &c, err, sizeof(err)), PCP_ERR_BAD_WORD);
    assert_true(strstr(err, "too long") != NULL);
    /* At the limit (32): looked at, and a suggestion offered. */
    strcpy(text, "zoo zoo zoo abandonabandonabandonabandonzzzz");
    assert_int_equal(code_parse(text, &c, err, sizeof(err)), PCP_ERR_BAD_WORD);
    assert_string_equal(err, "word 4 'abandonabandonabandonabandonzzzz' is not in the word "
                             "list; did you mean 'abandon'?");

    /* Non-ASCII and control bytes never reach the message raw. */
    assert_int_equal(code_parse("zoo caf\xc3\xa9 zoo zoo", &c, err, sizeof(err)), PCP_ERR_BAD_WORD);
    assert_string_equal(err, "word 2 'caf?\?' is not in the word list; did you mean 'cabin'?");
    assert_int_equal(code_parse("zoo zoo \x1b[31mzoo zoo", &c, err, sizeof(err)), PCP_ERR_BAD_WORD);
    assert_true(strncmp(err, "word 3 '?[31mzoo'", 17) == 0);
    for (const char *p = err; *p; p++)
        assert_in_range((unsigned char)*p, 0x20, 0x7e);
    /* Bytes with the high bit set that lower-case naively into letters. */
    assert_int_equal(code_parse("zoo zoo zoo \xc1\xc2\xc3\xc4", &c, err, sizeof(err)),
                     PCP_ERR_BAD_WORD);
    assert_int_equal(code_parse("zoo zoo zoo ab1ndon", &c, err, sizeof(err)), PCP_ERR_BAD_WORD);

    /* Small and absent message buffers: truncated, terminated, or skipped. */
    char small[10];
    memset(small, 'x', sizeof(small));
    assert_int_equal(code_parse("zoo zoo zoo enemmy", &c, small, sizeof(small)), PCP_ERR_BAD_WORD);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_int_equal(code_parse("zoo zoo zoo enemmy", &c, NULL, 0), PCP_ERR_BAD_WORD);
    assert_int_equal(code_parse("zoo", &c, NULL, 0), PCP_ERR_INVAL);
    small[0] = 'x';
    assert_int_equal(code_parse("zoo zoo zoo zoo", &c, small, 1), 0);
    assert_int_equal(small[0], '\0');
}

static void test_password(void **state)
{
    (void)state;
    uint8_t pw[CODE_PASSWORD_MAX + 2];
    struct pcp_code c = {.nwords = 4, .idx = {0x0123, 0x0001, 0x07ff, 0x0100}};
    static const uint8_t want4[] = {0x00, 0x01, 0x07, 0xff, 0x01, 0x00};
    memset(pw, 0xaa, sizeof(pw));
    assert_int_equal(code_password(&c, pw), 6);
    assert_memory_equal(pw, want4, sizeof(want4));
    assert_int_equal(pw[6], 0xaa);
    assert_int_equal(code_channel(&c), 0x0123);

    struct pcp_code d = {.nwords = 8, .idx = {5, 1, 2, 3, 0x400, 0x500, 0x600, 0x7fe}};
    static const uint8_t want8[] = {0, 1, 0, 2, 0, 3, 4, 0, 5, 0, 6, 0, 7, 0xfe};
    memset(pw, 0xaa, sizeof(pw));
    assert_int_equal(code_password(&d, pw), CODE_PASSWORD_MAX);
    assert_memory_equal(pw, want8, sizeof(want8));
    assert_int_equal(pw[CODE_PASSWORD_MAX], 0xaa);
    assert_int_equal(code_channel(&d), 5);

    /* Spelling never changes the secret. */
    struct pcp_code a, b;
    uint8_t pa[CODE_PASSWORD_MAX], pb[CODE_PASSWORD_MAX];
    parse_ok("bubble-enemy-result-increase", &a);
    parse_ok("  BUBB enem RESULT incr ", &b);
    assert_int_equal(code_password(&a, pa), 6);
    assert_int_equal(code_password(&b, pb), 6);
    assert_memory_equal(pa, pb, 6);
    assert_int_equal(code_channel(&a), code_word_index("bubble"));

    d.nwords = 3;
    assert_int_equal(code_password(&d, pw), 0);
}

static void test_closest(void **state)
{
    (void)state;
    assert_string_equal(code_word(code_closest("enemmy")), "enemy");
    assert_string_equal(code_word(code_closest("ENEMMY")), "enemy");
    assert_string_equal(code_word(code_closest("abandn")), "abandon");
    assert_string_equal(code_word(code_closest("enmey")), "enemy");     /* transposition */
    assert_string_equal(code_word(code_closest("abnadon")), "abandon"); /* transposition */
    assert_string_equal(code_word(code_closest("zebr")), "zebra");
    for (unsigned i = 0; i < CODE_WORDS; i++)
        assert_int_equal(code_closest(code_word(i)), i);
    /* Ties at distance 1 from "ca" ('can', 'car', 'cat', 'lab'...): the
     * longest shared start wins, then the list's order. */
    assert_string_equal(code_word(code_closest("ca")), "can");
    assert_true(code_closest("") < CODE_WORDS);
    assert_true(code_closest(NULL) < CODE_WORDS);
    char longw[200];
    memset(longw, 'q', sizeof(longw) - 1);
    longw[sizeof(longw) - 1] = '\0';
    assert_true(code_closest(longw) < CODE_WORDS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pin_sha256),     cmocka_unit_test(test_list_shape),
        cmocka_unit_test(test_word_index),     cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_format),         cmocka_unit_test(test_generate),
        cmocka_unit_test(test_parse_forms),    cmocka_unit_test(test_parse_count),
        cmocka_unit_test(test_parse_bad_word), cmocka_unit_test(test_parse_hostile),
        cmocka_unit_test(test_password),       cmocka_unit_test(test_closest),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
