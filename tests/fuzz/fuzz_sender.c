/*
 * libFuzzer target: the sender against a hostile receiver that holds the
 * right keys. The input is the receiver's answer to the offer (ACCEPT with
 * its resume list, REFUSE, or anything else), sealed as the receiver
 * would; whatever the sender makes of it, it must not crash, and a resume
 * entry it takes must be a file of the offer no longer than that file.
 * The offer is two small files made here.
 */
#define _XOPEN_SOURCE 700
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transfer.h"
#include "wire.h"

static const uint8_t K_SR[32] = {1}, K_RS[32] = {2};
static char dir[64], f1[96], f2[96];
static struct manifest m;

struct feed {
    int fd;
    const uint8_t *data;
    size_t size;
};

/* The receiver: its stream header, the fuzzed answer, DONE; meanwhile
 * everything the sender writes is read and dropped. */
static void *receiver(void *arg)
{
    struct feed *f = arg;
    static uint8_t frame[FRAME_PREFIX + FRAME_MAX], sink[1 << 16];
    uint8_t hdr[STREAM_HEADERBYTES];
    struct stream_tx tx;
    size_t fl;
    struct frame_reader fr;
    const uint8_t *peer;
    size_t pl;
    stream_tx_init(&tx, K_RS, hdr);
    if (frame_write(f->fd, hdr, sizeof(hdr)) != 0)
        goto done;
    /* Both hellos go into the keys: the sender's first (the rest of what
     * it sends is drained below). */
    if (frame_reader_init(&fr, f->fd) != 0)
        goto done;
    int e = frame_read(&fr, 64, &peer, &pl);
    if (!e)
        e = stream_tx_bind(&tx, hdr, sizeof(hdr), peer, pl);
    frame_reader_free(&fr);
    if (e || stream_tx_use(&tx, STREAM_SECRETSTREAM) != 0)
        goto done;
    size_t n = f->size < STREAM_MSG_MAX ? f->size : STREAM_MSG_MAX;
    if (stream_seal(&tx, f->data, n, 0, frame, &fl) != 0 ||
        send(f->fd, frame, fl, MSG_NOSIGNAL) != (ssize_t)fl)
        goto done;
    uint8_t done = XM_DONE;
    if (stream_seal(&tx, &done, 1, 1, frame, &fl) == 0)
        (void)!send(f->fd, frame, fl, MSG_NOSIGNAL);
done:
    shutdown(f->fd, SHUT_WR);
    while (read(f->fd, sink, sizeof(sink)) > 0)
        ;
    return NULL;
}

static void write_file(const char *path, size_t n)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        abort();
    for (size_t i = 0; i < n; i++)
        fputc((int)(i * 7 % 251), fp);
    fclose(fp);
}

static void remove_all(void)
{
    unlink(f1);
    unlink(f2);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        signal(SIGPIPE, SIG_IGN);
        strcpy(dir, "/tmp/pcp-fuzz-tx-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        snprintf(f1, sizeof(f1), "%s/a", dir);
        snprintf(f2, sizeof(f2), "%s/b", dir);
        write_file(f1, 1000);
        write_file(f2, 300000);
        atexit(remove_all);
        const char *paths[] = {f1, f2};
        manifest_init(&m);
        if (manifest_build(&m, paths, 2) != 0)
            abort();
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    struct feed f = {sv[0], data, size};
    pthread_t t;
    pthread_create(&t, NULL, receiver, &f);
    struct frame_reader fr;
    struct xfer_opts o;
    struct xfer_progress res;
    memset(&o, 0, sizeof(o));
    o.threads = 1;
    o.compress = 0;
    o.stall_ms = 2000;
    frame_reader_init(&fr, sv[1]);
    int e = xfer_send(sv[1], &fr, K_SR, K_RS, &m, &o, &res);
    frame_reader_free(&fr);
    shutdown(sv[1], SHUT_RDWR);
    pthread_join(t, NULL);
    close(sv[0]);
    close(sv[1]);
    /* What was resumed is part of what was offered. */
    if (e == 0 && res.resumed > m.total_bytes)
        abort();
    return 0;
}
