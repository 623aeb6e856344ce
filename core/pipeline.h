/*
 * pipeline.h - a bounded ring of slots that carries messages through three
 * kinds of threads in order: one producer fills slots in sequence, any
 * number of workers process them in parallel, one consumer takes them out
 * in the same sequence. The ring's size bounds memory whatever the
 * transfer's size. Any thread may fail the ring, which wakes all others.
 */
#ifndef PCP_PIPELINE_H
#define PCP_PIPELINE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum slot_state { SLOT_FREE, SLOT_FILLED, SLOT_BUSY, SLOT_DONE };

struct slot {
    int state;
    uint8_t kind;        /* enum xfer_msg */
    uint8_t flags;       /* XF_* as on the wire */
    uint8_t try_deflate; /* sender: compress this chunk if it pays */
    uint8_t mode;        /* sender: the adaptive mode it was read under */
    uint32_t file;       /* FILES: its first file */
    uint32_t nfiles;     /* FILES: how many */
    uint64_t offset;
    uint32_t raw_len;
    uint8_t *msg; /* message buffer, STREAM_MSG_MAX bytes */
    uint8_t *alt; /* second buffer for (de)compression */
    size_t msg_len;
    const uint8_t *data; /* receiver: the chunk's plaintext after inflate */
    size_t payload_len;
    uint8_t tag[16]; /* receiver: the authenticator of the chunk's frame */
};

struct ring {
    pthread_mutex_t mu;
    pthread_cond_t cv_free; /* the producer waits here */
    pthread_cond_t cv_work; /* workers */
    pthread_cond_t cv_done; /* the consumer */
    size_t n;
    struct slot *s;
    uint64_t head, work, tail;
    int closed;
    int err;
};

int ring_init(struct ring *r, size_t n, size_t bufsize);
void ring_free(struct ring *r);
/* Producer: the next slot to fill, or NULL once the ring has failed. */
struct slot *ring_produce(struct ring *r);
void ring_produced(struct ring *r, struct slot *s);
/* The same for a slot that needs no worker: it goes straight to the
 * consumer, saving two thread hand-offs. */
void ring_produced_done(struct ring *r, struct slot *s);
void ring_close(struct ring *r);
/* Worker: the next filled slot, or NULL when there will be none. */
struct slot *ring_work(struct ring *r);
void ring_worked(struct ring *r, struct slot *s);
/* Consumer: the next slot in order; NULL at the end or on failure. With
 * wait = 0 it returns NULL at once when the next slot is not ready. */
struct slot *ring_consume(struct ring *r, int wait);
void ring_consumed(struct ring *r, struct slot *s);
void ring_fail(struct ring *r, int err);
int ring_error(struct ring *r);
/* True when the consumer will get nothing more (closed and drained). */
int ring_finished(struct ring *r);

#endif
