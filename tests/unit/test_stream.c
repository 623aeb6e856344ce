/* Unit tests for core/stream.c: frames and the sealed stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "stream.h"

struct pair {
    struct stream_tx tx;
    struct stream_rx rx;
    int live;
};

/* The cipher under test: each test runs once per cipher (see main). */
static int g_cipher;

static int use_cipher(void **state)
{
    g_cipher = (int)(intptr_t)*state;
    return 0;
}

static void clear_pair(struct pair *p)
{
    if (p->live) {
        stream_tx_clear(&p->tx);
        stream_rx_clear(&p->rx);
    }
    p->live = 0;
}

static void setup_pair(struct pair *p)
{
    uint8_t key[STREAM_KEYBYTES], hdr[STREAM_HEADERBYTES];
    clear_pair(p);
    randombytes_buf(key, sizeof(key));
    assert_int_equal(stream_tx_init(&p->tx, key, hdr), 0);
    assert_int_equal(stream_tx_use(&p->tx, g_cipher), 0);
    assert_int_equal(stream_rx_init(&p->rx, g_cipher, key, hdr), 0);
    p->live = 1;
}

static void test_seal_open(void **state)
{
    (void)state;
    struct pair p = {0};
    uint8_t out[FRAME_PREFIX + 64], plain[64];
    size_t ol, pl;
    int final;
    setup_pair(&p);
    assert_int_equal(stream_seal(&p.tx, (const uint8_t *)"hello", 5, 0, out, &ol), 0);
    assert_int_equal(ol, FRAME_PREFIX + 5 + STREAM_ABYTES);
    assert_int_equal(get_be32(out), 5 + STREAM_ABYTES);
    assert_int_equal(stream_open(&p.rx, out + FRAME_PREFIX, ol - FRAME_PREFIX, plain, &pl, &final),
                     0);
    assert_int_equal(pl, 5);
    assert_int_equal(final, 0);
    assert_memory_equal(plain, "hello", 5);

    /* One flipped bit anywhere is caught. */
    assert_int_equal(stream_seal(&p.tx, (const uint8_t *)"world", 5, 0, out, &ol), 0);
    out[FRAME_PREFIX + 3] ^= 1;
    assert_int_equal(stream_open(&p.rx, out + FRAME_PREFIX, ol - FRAME_PREFIX, plain, &pl, &final),
                     PCP_ERR_CRYPTO);

    /* A message claimed final when it was not (the first byte of an AEAD
     * frame, the tag inside the secretstream's): refused. */
    setup_pair(&p);
    assert_int_equal(stream_seal(&p.tx, (const uint8_t *)"more", 4, 0, out, &ol), 0);
    out[FRAME_PREFIX] ^= 3;
    assert_int_not_equal(
        stream_open(&p.rx, out + FRAME_PREFIX, ol - FRAME_PREFIX, plain, &pl, &final), 0);

    /* The other side of a different cipher cannot open it. */
    uint8_t key[STREAM_KEYBYTES], hdr[STREAM_HEADERBYTES];
    struct stream_tx tx;
    struct stream_rx rx;
    randombytes_buf(key, sizeof(key));
    assert_int_equal(stream_tx_init(&tx, key, hdr), 0);
    assert_int_equal(stream_tx_use(&tx, g_cipher), 0);
    assert_int_equal(stream_rx_init(&rx, (g_cipher + 1) % 3, key, hdr), 0);
    assert_int_equal(stream_seal(&tx, (const uint8_t *)"hello", 5, 0, out, &ol), 0);
    assert_int_not_equal(
        stream_open(&rx, out + FRAME_PREFIX, ol - FRAME_PREFIX, plain, &pl, &final), 0);
    stream_tx_clear(&tx);
    stream_rx_clear(&rx);
    clear_pair(&p);
}

static void test_reorder_and_final(void **state)
{
    (void)state;
    struct pair p = {0};
    uint8_t a[FRAME_PREFIX + 64], b[FRAME_PREFIX + 64], plain[64];
    size_t al, bl, pl;
    int final;
    setup_pair(&p);
    stream_seal(&p.tx, (const uint8_t *)"one", 3, 0, a, &al);
    stream_seal(&p.tx, (const uint8_t *)"two", 3, 1, b, &bl);
    /* Second before first: refused. */
    assert_int_equal(stream_open(&p.rx, b + FRAME_PREFIX, bl - FRAME_PREFIX, plain, &pl, &final),
                     PCP_ERR_CRYPTO);
    setup_pair(&p);
    stream_seal(&p.tx, (const uint8_t *)"one", 3, 0, a, &al);
    stream_seal(&p.tx, (const uint8_t *)"two", 3, 1, b, &bl);
    assert_int_equal(stream_open(&p.rx, a + FRAME_PREFIX, al - FRAME_PREFIX, plain, &pl, &final),
                     0);
    assert_int_equal(stream_open(&p.rx, b + FRAME_PREFIX, bl - FRAME_PREFIX, plain, &pl, &final),
                     0);
    assert_int_equal(final, 1);
    /* Nothing after the final message, and nothing is sealed after it. */
    assert_int_equal(stream_open(&p.rx, a + FRAME_PREFIX, al - FRAME_PREFIX, plain, &pl, &final),
                     PCP_ERR_PROTO);
    assert_int_equal(stream_seal(&p.tx, (const uint8_t *)"x", 1, 0, a, &al), PCP_ERR_INVAL);
    /* A replayed frame is refused. */
    setup_pair(&p);
    stream_seal(&p.tx, (const uint8_t *)"one", 3, 0, a, &al);
    assert_int_equal(stream_open(&p.rx, a + FRAME_PREFIX, al - FRAME_PREFIX, plain, &pl, &final),
                     0);
    assert_int_equal(stream_open(&p.rx, a + FRAME_PREFIX, al - FRAME_PREFIX, plain, &pl, &final),
                     PCP_ERR_CRYPTO);
    assert_int_equal(stream_open(&p.rx, a, 3, plain, &pl, &final), PCP_ERR_TRUNCATED);
    clear_pair(&p);
}

/* Both sides pick the same cipher from the two sets; a peer that sent a
 * bare header has the secretstream only. */
static void test_pick(void **state)
{
    (void)state;
    const unsigned ss = 1u << STREAM_SECRETSTREAM, aes = 1u << STREAM_AES256GCM,
                   cc = 1u << STREAM_CHACHA20POLY1305;
    assert_int_equal(stream_pick(ss | aes | cc, ss | aes | cc), STREAM_AES256GCM);
    assert_int_equal(stream_pick(ss | cc, ss | aes | cc), STREAM_CHACHA20POLY1305);
    assert_int_equal(stream_pick(ss | aes | cc, ss | cc), STREAM_CHACHA20POLY1305);
    assert_int_equal(stream_pick(ss | aes | cc, ss), STREAM_SECRETSTREAM);
    assert_int_equal(stream_pick(ss | aes, ss | cc), STREAM_SECRETSTREAM);
    assert_true(stream_ciphers() & ss);
    assert_true(stream_ciphers() & cc);
    for (int c = 0; c < 3; c++)
        assert_int_equal(stream_cipher_parse(stream_cipher_name(c)), c);
    assert_int_equal(stream_cipher_parse("rot13"), -1);
}

static void test_frames(void **state)
{
    (void)state;
    int sv[2];
    struct frame_reader fr;
    const uint8_t *f;
    size_t fl;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(frame_reader_init(&fr, sv[1]), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(frame_write(sv[0], "abc", 3), 0);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(frame_read(&fr, 16, &f, &fl), 0);
        assert_int_equal(fl, 3);
        assert_memory_equal(f, "abc", 3);
    }
    /* A length above the caller's limit is refused before reading it. */
    assert_int_equal(frame_write(sv[0], "0123456789abcdefXYZ", 19), 0);
    assert_int_equal(frame_read(&fr, 16, &f, &fl), PCP_ERR_TOO_BIG);
    frame_reader_free(&fr);

    /* An absurd length is refused whatever the caller allows. */
    assert_int_equal(frame_reader_init(&fr, sv[1]), 0);
    uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(write(sv[0], huge, 4), 4);
    assert_int_equal(frame_read(&fr, SIZE_MAX, &f, &fl), PCP_ERR_TOO_BIG);
    frame_reader_free(&fr);

    /* Closed inside a frame: truncated; between frames: closed. */
    assert_int_equal(frame_reader_init(&fr, sv[1]), 0);
    uint8_t part[6] = {0, 0, 0, 9, 'a', 'b'};
    assert_int_equal(write(sv[0], part, 6), 6);
    close(sv[0]);
    assert_int_equal(frame_read(&fr, 64, &f, &fl), PCP_ERR_TRUNCATED);
    frame_reader_free(&fr);
    close(sv[1]);

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(frame_reader_init(&fr, sv[1]), 0);
    close(sv[0]);
    assert_int_equal(frame_read(&fr, 64, &f, &fl), PCP_ERR_CLOSED);
    frame_reader_free(&fr);
    close(sv[1]);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
#define EACH_CIPHER(t)                                                                             \
    cmocka_unit_test_prestate_setup_teardown(t, use_cipher, NULL, (void *)STREAM_SECRETSTREAM),    \
        cmocka_unit_test_prestate_setup_teardown(t, use_cipher, NULL, (void *)STREAM_AES256GCM),   \
        cmocka_unit_test_prestate_setup_teardown(t, use_cipher, NULL,                              \
                                                 (void *)STREAM_CHACHA20POLY1305)
    const struct CMUnitTest tests[] = {
        EACH_CIPHER(test_seal_open),
        EACH_CIPHER(test_reorder_and_final),
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
