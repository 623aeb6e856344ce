/* Unit tests for core/buf.c: the bounds-checked reader and the writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"

static void test_roundtrip(void **state)
{
    (void)state;
    struct wbuf w;
    wbuf_init(&w);
    wbuf_put_u8(&w, 0xab);
    wbuf_put_u16(&w, 0x1234);
    wbuf_put_u32(&w, 0xdeadbeef);
    wbuf_put_u64(&w, 0x0102030405060708ULL);
    wbuf_put_bytes(&w, "xyz", 3);
    assert_int_equal(w.err, 0);
    assert_int_equal(w.len, 1 + 2 + 4 + 8 + 3);
    assert_int_equal(w.p[1], 0x12);

    struct rbuf r;
    uint8_t a;
    uint16_t b;
    uint32_t c;
    uint64_t d;
    char s[3];
    rbuf_init(&r, w.p, w.len);
    assert_int_equal(rbuf_get_u8(&r, &a), 0);
    assert_int_equal(rbuf_get_u16(&r, &b), 0);
    assert_int_equal(rbuf_get_u32(&r, &c), 0);
    assert_int_equal(rbuf_get_u64(&r, &d), 0);
    assert_int_equal(rbuf_get_bytes(&r, s, 3), 0);
    assert_int_equal(a, 0xab);
    assert_int_equal(b, 0x1234);
    assert_int_equal(c, 0xdeadbeef);
    assert_true(d == 0x0102030405060708ULL);
    assert_memory_equal(s, "xyz", 3);
    assert_int_equal(rbuf_left(&r), 0);
    assert_int_equal(rbuf_get_u8(&r, &a), PCP_ERR_TRUNCATED);
    wbuf_free(&w);
}

static void test_short(void **state)
{
    (void)state;
    const uint8_t three[3] = {1, 2, 3};
    struct rbuf r;
    uint32_t v;
    const uint8_t *p;
    rbuf_init(&r, three, sizeof(three));
    assert_int_equal(rbuf_get_u32(&r, &v), PCP_ERR_TRUNCATED);
    assert_int_equal(r.off, 0); /* a failed read consumes nothing */
    assert_int_equal(rbuf_get_direct(&r, &p, 4), PCP_ERR_TRUNCATED);
    assert_int_equal(rbuf_get_direct(&r, &p, SIZE_MAX), PCP_ERR_TRUNCATED);
    assert_int_equal(rbuf_skip(&r, 3), 0);
    assert_int_equal(rbuf_skip(&r, 1), PCP_ERR_TRUNCATED);
}

static void test_writer_limits(void **state)
{
    (void)state;
    struct wbuf w;
    wbuf_init(&w);
    /* Nothing reserved on an empty buffer is still a valid pointer (the
     * fuzzer found pointer arithmetic on NULL here). */
    assert_non_null(wbuf_reserve(&w, 0));
    assert_int_equal(w.len, 0);
    wbuf_free(&w);
    wbuf_init(&w);
    assert_null(wbuf_reserve(&w, SIZE_MAX));
    assert_int_equal(w.err, PCP_ERR_TOO_BIG);
    wbuf_put_u8(&w, 1); /* sticky: nothing more is written */
    assert_int_equal(w.len, 0);
    wbuf_reset(&w);
    wbuf_put_u8(&w, 1);
    assert_int_equal(w.len, 1);
    wbuf_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_short),
        cmocka_unit_test(test_writer_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
