/*
 * libFuzzer target: the whole receiver (offer parsing, data messages, the
 * writer's checks) against a hostile sender that holds the right keys.
 * Input: records of u8 final ‖ u16 len (big-endian) ‖ message; each is
 * sealed and sent as the sender would. Whatever happens, nothing may be
 * written outside the target directory, and no file without a verified
 * digest may carry its final name.
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <ftw.h>
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
static char root[64], out[96];

struct feed {
    int fd;
    const uint8_t *data;
    size_t size;
};

static void *feeder(void *arg)
{
    struct feed *f = arg;
    static uint8_t frame[FRAME_PREFIX + FRAME_MAX];
    uint8_t hdr[STREAM_HELLOBYTES];
    struct stream_tx tx;
    size_t fl;
    struct frame_reader fr;
    const uint8_t *peer;
    size_t pl;
    stream_tx_init(&tx, K_SR, hdr);
    /* The secretstream, and zstd, so that its decoder is fuzzed too. */
    hdr[STREAM_HEADERBYTES] = 1u << STREAM_SECRETSTREAM | XFER_HELLO_ZSTD;
    if (frame_write(f->fd, hdr, sizeof(hdr)) != 0)
        goto done;
    /* Both hellos go into the keys: the receiver's first (what it sends
     * after its hello is never read here). */
    if (frame_reader_init(&fr, f->fd) != 0)
        goto done;
    int e = frame_read(&fr, 64, &peer, &pl);
    if (!e)
        e = stream_tx_bind(&tx, hdr, sizeof(hdr), peer, pl);
    frame_reader_free(&fr);
    if (e || stream_tx_use(&tx, STREAM_SECRETSTREAM) != 0)
        goto done;
    for (size_t off = 0; off + 3 <= f->size;) {
        int final = f->data[off] & 1;
        size_t len = (size_t)f->data[off + 1] << 8 | f->data[off + 2];
        off += 3;
        if (len > f->size - off)
            len = f->size - off;
        if (stream_seal(&tx, f->data + off, len, final, frame, &fl) != 0)
            break;
        off += len;
        if (write(f->fd, frame, fl) != (ssize_t)fl)
            break;
        if (final)
            break;
    }
done:
    shutdown(f->fd, SHUT_WR);
    return NULL;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

static void remove_root(void)
{
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root[0]) {
        /* As in pcp itself: when the receiver gives up early, the feeder's
         * next write must fail with EPIPE, not kill the fuzzer silently. */
        signal(SIGPIPE, SIG_IGN);
        strcpy(root, "/tmp/pcp-fuzz-rx-XXXXXX");
        if (!mkdtemp(root))
            abort();
        atexit(remove_root);
        snprintf(out, sizeof(out), "%s/out", root);
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    struct feed f = {sv[0], data, size};
    pthread_t t;
    pthread_create(&t, NULL, feeder, &f);
    struct frame_reader fr;
    struct xfer_opts o;
    memset(&o, 0, sizeof(o));
    o.out_dir = out;
    o.threads = 1;
    o.stall_ms = 2000;
    frame_reader_init(&fr, sv[1]);
    xfer_receive(sv[1], &fr, K_RS, K_SR, &o, NULL);
    frame_reader_free(&fr);
    shutdown(sv[1], SHUT_RDWR);
    pthread_join(t, NULL);
    close(sv[0]);
    close(sv[1]);
    /* Nothing may appear beside the target directory. */
    DIR *d = opendir(root);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "out"))
            abort();
    if (d)
        closedir(d);
    nftw(out, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
