/* libFuzzer target: the frame reader and the stream opener over raw bytes
 * from the network. The first frame is taken as the stream header (24
 * bytes: the secretstream; 25: the last byte's low bits choose the cipher),
 * the rest as sealed messages under a fixed key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t key[STREAM_KEYBYTES];
    int sv[2];
    if (size > 1 << 20 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    int sz = 4 << 20;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    if (size && write(sv[0], data, size) != (ssize_t)size) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    close(sv[0]);
    memset(key, 7, sizeof(key));
    struct frame_reader fr;
    struct stream_rx rx;
    const uint8_t *f;
    size_t fl, ol;
    if (frame_reader_init(&fr, sv[1]) == 0) {
        static uint8_t out[FRAME_MAX];
        int final, have_hdr = 0;
        while (frame_read(&fr, FRAME_MAX, &f, &fl) == 0) {
            if (!have_hdr) {
                int cipher = fl == STREAM_HELLOBYTES ? f[fl - 1] % 3 : STREAM_SECRETSTREAM;
                if ((fl != STREAM_HEADERBYTES && fl != STREAM_HELLOBYTES) ||
                    stream_rx_init(&rx, cipher, key, f) != 0)
                    break;
                have_hdr = 1;
                continue;
            }
            if (stream_open(&rx, f, fl, out, &ol, &final) != 0)
                break;
        }
        if (have_hdr)
            stream_rx_clear(&rx);
        frame_reader_free(&fr);
    }
    close(sv[1]);
    return 0;
}
