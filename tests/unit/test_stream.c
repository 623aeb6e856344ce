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

/* One direction set up as chan_open does: the writer's tx bound to its
 * hello `w` and the reader's hello as the writer saw it (`r_at_w`); the
 * reader's rx keyed with the writer's hello as it arrived (`w_at_r`) and
 * its own (`r`). 0 when the first message opens. */
static int bound_direction(const uint8_t key[STREAM_KEYBYTES], const uint8_t w[STREAM_HELLOBYTES],
                           const uint8_t w_at_r[STREAM_HELLOBYTES],
                           const uint8_t r[STREAM_HELLOBYTES],
                           const uint8_t r_at_w[STREAM_HELLOBYTES], int cipher)
{
    struct stream_tx tx;
    struct stream_rx rx;
    uint8_t hdr[STREAM_HEADERBYTES], k[STREAM_KEYBYTES], out[FRAME_PREFIX + 64], plain[64];
    uint8_t hello[STREAM_HELLOBYTES], seen[STREAM_HELLOBYTES];
    size_t ol, pl;
    int final;
    assert_int_equal(stream_tx_init(&tx, key, hdr), 0);
    /* The test's hellos carry this sender's fresh header. */
    memcpy(hello, hdr, sizeof(hdr));
    hello[STREAM_HEADERBYTES] = w[STREAM_HEADERBYTES];
    memcpy(seen, hdr, sizeof(hdr));
    seen[STREAM_HEADERBYTES] = w_at_r[STREAM_HEADERBYTES];
    assert_int_equal(stream_tx_bind(&tx, hello, sizeof(hello), r_at_w, STREAM_HELLOBYTES), 0);
    assert_int_equal(stream_tx_use(&tx, cipher), 0);
    assert_int_equal(stream_hello_key(k, key, seen, sizeof(seen), r, STREAM_HELLOBYTES), 0);
    assert_int_equal(stream_rx_init(&rx, cipher, k, hdr), 0);
    assert_int_equal(stream_seal(&tx, (const uint8_t *)"offer", 5, 0, out, &ol), 0);
    int e = stream_open(&rx, out + FRAME_PREFIX, ol - FRAME_PREFIX, plain, &pl, &final);
    if (e == 0)
        assert_memory_equal(plain, "offer", 5);
    stream_tx_clear(&tx);
    stream_rx_clear(&rx);
    return e;
}

/* Both hellos are bound into the keys: with them as sent, the stream
 * opens; with either one changed on the way (a cipher set lowered to the
 * secretstream alone, as a middlebox would to force it), it does not,
 * even though each end then seals and opens with the same cipher. */
static void test_hello_binding(void **state)
{
    (void)state;
    uint8_t key[STREAM_KEYBYTES], a[STREAM_HELLOBYTES], b[STREAM_HELLOBYTES];
    uint8_t a2[STREAM_HELLOBYTES], b2[STREAM_HELLOBYTES];
    randombytes_buf(key, sizeof(key));
    randombytes_buf(a, sizeof(a));
    randombytes_buf(b, sizeof(b));
    a[STREAM_HEADERBYTES] = 0x87;
    b[STREAM_HEADERBYTES] = 0x85;
    memcpy(a2, a, sizeof(a));
    memcpy(b2, b, sizeof(b));
    a2[STREAM_HEADERBYTES] = 0x81;
    b2[STREAM_HEADERBYTES] = 0x81;
    assert_int_equal(bound_direction(key, a, a, b, b, g_cipher), 0);
    /* The writer's hello changed on its way to the reader. */
    assert_int_equal(bound_direction(key, a, a2, b, b, g_cipher), PCP_ERR_CRYPTO);
    /* The reader's hello changed on its way to the writer. */
    assert_int_equal(bound_direction(key, a, a, b, b2, g_cipher), PCP_ERR_CRYPTO);
    /* Both. */
    assert_int_equal(bound_direction(key, a, a2, b, b2, g_cipher), PCP_ERR_CRYPTO);

    /* The key is keyed BLAKE2b-256 of "pcp/1 hello" and both hellos with
     * 1-byte lengths, as PROTOCOL.md writes it; the order matters. */
    uint8_t k1[STREAM_KEYBYTES], k2[STREAM_KEYBYTES], m[11 + 2 + 2 * STREAM_HELLOBYTES];
    memcpy(m, "pcp/1 hello", 11);
    m[11] = STREAM_HELLOBYTES;
    memcpy(m + 12, a, sizeof(a));
    m[12 + STREAM_HELLOBYTES] = STREAM_HEADERBYTES;
    memcpy(m + 13 + STREAM_HELLOBYTES, b, STREAM_HEADERBYTES);
    assert_int_equal(stream_hello_key(k1, key, a, sizeof(a), b, STREAM_HEADERBYTES), 0);
    crypto_generichash(k2, sizeof(k2), m, sizeof(m) - 1, key, sizeof(key));
    assert_memory_equal(k1, k2, sizeof(k1));
    assert_int_equal(stream_hello_key(k2, key, b, STREAM_HEADERBYTES, a, sizeof(a)), 0);
    assert_memory_not_equal(k1, k2, sizeof(k1));

    /* Misuse: a hello that is not this sender's, a sender already used. */
    struct stream_tx tx;
    uint8_t hdr[STREAM_HEADERBYTES];
    assert_int_equal(stream_tx_init(&tx, key, hdr), 0);
    assert_int_equal(stream_tx_bind(&tx, a, sizeof(a), b, sizeof(b)), PCP_ERR_INVAL);
    assert_int_equal(stream_tx_bind(&tx, hdr, 10, b, sizeof(b)), PCP_ERR_INVAL);
    assert_int_equal(stream_tx_use(&tx, g_cipher), 0);
    assert_int_equal(stream_tx_bind(&tx, hdr, sizeof(hdr), b, sizeof(b)), PCP_ERR_INVAL);
    stream_tx_clear(&tx);
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
        EACH_CIPHER(test_seal_open),     EACH_CIPHER(test_reorder_and_final),
        EACH_CIPHER(test_hello_binding), cmocka_unit_test(test_pick),
        cmocka_unit_test(test_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
