/*
 * Unit tests for core/pipeline.c: order is kept whatever order the workers
 * finish in, the ring bounds what is in flight, and a failure wakes every
 * thread.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "err.h"
#include "pipeline.h"

#define RING 4
#define ITEMS 2000

struct shared {
    struct ring r;
    int fail_at; /* worker fails the ring at this offset; -1 never */
    uint64_t max_in_flight;
};

static void *producer(void *arg)
{
    struct shared *sh = arg;
    for (uint64_t i = 0; i < ITEMS; i++) {
        struct slot *s = ring_produce(&sh->r);
        if (!s)
            break;
        s->offset = i;
        memcpy(s->msg, &i, sizeof(i));
        s->msg_len = sizeof(i);
        ring_produced(&sh->r, s);
    }
    ring_close(&sh->r);
    return NULL;
}

static void *worker(void *arg)
{
    struct shared *sh = arg;
    struct slot *s;
    while ((s = ring_work(&sh->r)) != NULL) {
        /* Finish out of order: odd items take longer. */
        if (s->offset % 2)
            usleep(randombytes_uniform(200));
        if (sh->fail_at >= 0 && s->offset == (uint64_t)sh->fail_at) {
            ring_fail(&sh->r, PCP_ERR_IO);
            ring_worked(&sh->r, s);
            break;
        }
        s->raw_len = (uint32_t)(s->offset * 3);
        ring_worked(&sh->r, s);
    }
    return NULL;
}

static void run(struct shared *sh, uint64_t *consumed)
{
    pthread_t p, w[3];
    assert_int_equal(ring_init(&sh->r, RING, 64), 0);
    assert_int_equal(pthread_create(&p, NULL, producer, sh), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&w[i], NULL, worker, sh), 0);
    struct slot *s;
    *consumed = 0;
    while ((s = ring_consume(&sh->r, 1)) != NULL) {
        uint64_t v;
        memcpy(&v, s->msg, sizeof(v));
        assert_int_equal(v, *consumed);
        assert_int_equal(s->offset, *consumed);
        assert_int_equal(s->raw_len, (uint32_t)(*consumed * 3));
        pthread_mutex_lock(&sh->r.mu);
        uint64_t inflight = sh->r.head - sh->r.tail;
        pthread_mutex_unlock(&sh->r.mu);
        if (inflight > sh->max_in_flight)
            sh->max_in_flight = inflight;
        ring_consumed(&sh->r, s);
        (*consumed)++;
    }
    pthread_join(p, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(w[i], NULL);
}

static void test_order_and_bound(void **state)
{
    struct shared sh = {.fail_at = -1};
    uint64_t n;
    (void)state;
    run(&sh, &n);
    assert_int_equal(n, ITEMS);
    assert_int_equal(ring_error(&sh.r), 0);
    assert_true(ring_finished(&sh.r));
    assert_true(sh.max_in_flight <= RING);
    ring_free(&sh.r);
}

static void test_failure_wakes_all(void **state)
{
    struct shared sh = {.fail_at = 777};
    uint64_t n;
    (void)state;
    run(&sh, &n); /* returns: nobody is left waiting */
    assert_int_equal(ring_error(&sh.r), PCP_ERR_IO);
    assert_true(n <= 777);
    ring_free(&sh.r);
}

static void test_nonblocking_consume(void **state)
{
    struct ring r;
    (void)state;
    assert_int_equal(ring_init(&r, 2, 16), 0);
    assert_null(ring_consume(&r, 0)); /* nothing yet, does not wait */
    struct slot *s = ring_produce(&r);
    assert_non_null(s);
    ring_produced(&r, s);
    assert_null(ring_consume(&r, 0)); /* filled but not worked */
    s = ring_work(&r);
    assert_non_null(s);
    ring_worked(&r, s);
    s = ring_consume(&r, 0);
    assert_non_null(s);
    ring_consumed(&r, s);
    ring_close(&r);
    assert_true(ring_finished(&r));
    assert_null(ring_consume(&r, 1));
    ring_free(&r);
    ring_free(&r); /* twice is harmless */
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_bound),
        cmocka_unit_test(test_failure_wakes_all),
        cmocka_unit_test(test_nonblocking_consume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
