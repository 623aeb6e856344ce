/* pipeline.c - the ordered ring of slots; see pipeline.h. */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

int ring_init(struct ring *r, size_t n, size_t bufsize)
{
    memset(r, 0, sizeof(*r));
    r->s = calloc(n, sizeof(*r->s));
    if (!r->s)
        return PCP_ERR_NOMEM;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv_free, NULL);
    pthread_cond_init(&r->cv_work, NULL);
    pthread_cond_init(&r->cv_done, NULL);
    r->n = n;
    for (size_t i = 0; i < n; i++) {
        r->s[i].msg = malloc(bufsize);
        r->s[i].alt = malloc(bufsize);
        if (!r->s[i].msg || !r->s[i].alt) {
            ring_free(r);
            return PCP_ERR_NOMEM;
        }
    }
    return 0;
}

void ring_free(struct ring *r)
{
    if (!r->s)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->s[i].msg);
        free(r->s[i].alt);
    }
    free(r->s);
    r->s = NULL;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv_free);
    pthread_cond_destroy(&r->cv_work);
    pthread_cond_destroy(&r->cv_done);
}

struct slot *ring_produce(struct ring *r)
{
    struct slot *s = NULL;
    pthread_mutex_lock(&r->mu);
    /* A full ring: wait until half of it is free, then fill it in a row,
     * rather than wake for every slot the consumer frees. */
    if (r->s[r->head % r->n].state != SLOT_FREE)
        while (!r->err && r->head - r->tail > r->n / 2)
            pthread_cond_wait(&r->cv_free, &r->mu);
    if (!r->err)
        s = &r->s[r->head % r->n];
    pthread_mutex_unlock(&r->mu);
    return s;
}

/* Wakes exactly the threads that can now make progress: one thread per
 * hand-off is what keeps a transfer from spending its time in futex(). */
static void wake_all(struct ring *r)
{
    pthread_cond_broadcast(&r->cv_free);
    pthread_cond_broadcast(&r->cv_work);
    pthread_cond_broadcast(&r->cv_done);
}

void ring_produced(struct ring *r, struct slot *s)
{
    pthread_mutex_lock(&r->mu);
    s->state = SLOT_FILLED;
    r->head++;
    pthread_cond_signal(&r->cv_work);
    pthread_mutex_unlock(&r->mu);
}

void ring_produced_done(struct ring *r, struct slot *s)
{
    pthread_mutex_lock(&r->mu);
    s->state = SLOT_DONE;
    if (r->work == r->head)
        r->work++; /* no worker will look at it */
    r->head++;
    if (s == &r->s[r->tail % r->n])
        pthread_cond_signal(&r->cv_done);
    pthread_mutex_unlock(&r->mu);
}

void ring_close(struct ring *r)
{
    pthread_mutex_lock(&r->mu);
    r->closed = 1;
    wake_all(r);
    pthread_mutex_unlock(&r->mu);
}

struct slot *ring_work(struct ring *r)
{
    struct slot *s = NULL;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        /* Skip what went straight to the consumer. */
        while (r->work < r->head && r->s[r->work % r->n].state == SLOT_DONE)
            r->work++;
        if (r->err || r->work < r->head || r->closed)
            break;
        pthread_cond_wait(&r->cv_work, &r->mu);
    }
    if (!r->err && r->work < r->head) {
        s = &r->s[r->work % r->n];
        s->state = SLOT_BUSY;
        r->work++;
    }
    pthread_mutex_unlock(&r->mu);
    return s;
}

void ring_worked(struct ring *r, struct slot *s)
{
    pthread_mutex_lock(&r->mu);
    s->state = SLOT_DONE;
    if (s == &r->s[r->tail % r->n])
        pthread_cond_signal(&r->cv_done);
    pthread_mutex_unlock(&r->mu);
}

struct slot *ring_consume(struct ring *r, int wait)
{
    struct slot *s = NULL;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        if (r->err)
            break;
        struct slot *t = &r->s[r->tail % r->n];
        if (r->tail < r->head && t->state == SLOT_DONE) {
            s = t;
            break;
        }
        if ((r->closed && r->tail == r->head) || !wait)
            break;
        pthread_cond_wait(&r->cv_done, &r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return s;
}

void ring_consumed(struct ring *r, struct slot *s)
{
    pthread_mutex_lock(&r->mu);
    s->state = SLOT_FREE;
    r->tail++;
    /* Workers never look behind the consumer: a slot skipped straight to
     * it must not be mistaken for work once it is reused. */
    if (r->work < r->tail)
        r->work = r->tail;
    if (r->head - r->tail <= r->n / 2) /* no syscall when nobody waits */
        pthread_cond_signal(&r->cv_free);
    pthread_mutex_unlock(&r->mu);
}

void ring_fail(struct ring *r, int err)
{
    pthread_mutex_lock(&r->mu);
    if (!r->err)
        r->err = err ? err : PCP_ERR_PROTO;
    wake_all(r);
    pthread_mutex_unlock(&r->mu);
}

int ring_error(struct ring *r)
{
    pthread_mutex_lock(&r->mu);
    int e = r->err;
    pthread_mutex_unlock(&r->mu);
    return e;
}

int ring_finished(struct ring *r)
{
    pthread_mutex_lock(&r->mu);
    int f = r->closed && r->tail == r->head;
    pthread_mutex_unlock(&r->mu);
    return f;
}
