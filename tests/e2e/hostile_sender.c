/*
 * hostile_sender - a sender that speaks pcp/1 correctly (mDNS, SPAKE2,
 * sealed stream) but offers what no honest sender would, so the
 * end-to-end tests can check what the real receiver does with it.
 *
 *   hostile_sender SCENARIO CODE [ARG]
 *
 * dotdot        a file named "../escape.txt"
 * absolute      a file named ARG (an absolute path)
 * link-escape   a link "l" pointing at ARG (absolute)
 * through-link  a file "evil/pwned": the test has made out/evil a link
 *               to a directory outside, and sends data if accepted
 * escape-name   a file whose name holds terminal escape sequences
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "code.h"
#include "discovery.h"
#include "err.h"
#include "handshake.h"
#include "manifest.h"
#include "net.h"
#include "stream.h"
#include "transfer.h"

static uint8_t frame[FRAME_PREFIX + FRAME_MAX];

static int send_msg(int fd, struct stream_tx *tx, const uint8_t *m, size_t len, int final)
{
    size_t fl;
    int e = stream_seal(tx, m, len, final, frame, &fl);
    return e ? e : net_write_all(fd, frame, fl);
}

int main(int argc, char **argv)
{
    if (argc < 3 || sodium_init() < 0) {
        fprintf(stderr, "usage: hostile_sender SCENARIO CODE [ARG]\n");
        return 2;
    }
    const char *scen = argv[1], *arg = argc > 3 ? argv[3] : "/tmp/pcp-absolute";
    struct pcp_code code;
    char err[256];
    if (code_parse(argv[2], &code, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    struct manifest m;
    manifest_init(&m);
    m.e = calloc(1, sizeof(*m.e));
    m.n = 1;
    m.e[0].type = MF_FILE;
    m.e[0].mode = 0644;
    m.e[0].size = 5;
    if (!strcmp(scen, "dotdot"))
        m.e[0].path = strdup("../escape.txt");
    else if (!strcmp(scen, "absolute"))
        m.e[0].path = strdup(arg);
    else if (!strcmp(scen, "link-escape")) {
        m.e[0].type = MF_LINK;
        m.e[0].size = 0;
        m.e[0].path = strdup("l");
        m.e[0].link = strdup(arg);
    } else if (!strcmp(scen, "through-link"))
        m.e[0].path = strdup("evil/pwned");
    else if (!strcmp(scen, "escape-name"))
        m.e[0].path = strdup("evil\x1b]0;owned\x07\x1b[2J\x1b[31mred.txt");
    else if (!strcmp(scen, "digest-ok") || !strcmp(scen, "digest-bad"))
        m.e[0].path = strdup("plain.txt");
    else {
        fprintf(stderr, "unknown scenario %s\n", scen);
        manifest_free(&m);
        return 2;
    }
    m.nfiles = m.e[0].type == MF_FILE;
    m.total_bytes = m.e[0].size;

    int lfd, fd;
    uint16_t port;
    struct mdns_responder *r;
    struct sockaddr_storage peer;
    if (net_listen(0, &lfd, &port) ||
        mdns_responder_start(&r, NULL, code_channel(&code), port, "v=1"))
        return 1;
    printf("ready\n");
    fflush(stdout);
    if (net_accept(lfd, 30000, NULL, &fd, &peer))
        return 1;
    mdns_responder_stop(r);
    net_set_timeout(fd, 10000);
    struct frame_reader fr;
    uint8_t pw[16], tx[32], rx[32], hdr[STREAM_HEADERBYTES];
    size_t pwlen = code_password(&code, pw);
    char aad[32];
    snprintf(aad, sizeof(aad), "pcp/1/%u", code_channel(&code));
    frame_reader_init(&fr, fd);
    if (handshake_sender(fd, &fr, pw, pwlen, aad, tx, rx) != 0)
        return 1;
    struct stream_tx stx;
    stream_tx_init(&stx, tx, hdr);
    frame_write(fd, hdr, sizeof(hdr));

    /* The manifest, encoded without the checks a real sender makes. */
    struct wbuf w;
    wbuf_init(&w);
    wbuf_put_u8(&w, XM_OFFER);
    wbuf_put_u8(&w, 1);
    manifest_encode(&m, &w);
    send_msg(fd, &stx, w.p, w.len, 0);

    /* If accepted, send the data too. */
    const uint8_t *f;
    size_t fl;
    if (frame_read(&fr, FRAME_MAX, &f, &fl) == 0) { /* receiver's header */
        struct stream_rx srx;
        uint8_t msg[600];
        size_t ml;
        int fin;
        stream_rx_init(&srx, rx, f);
        if (frame_read(&fr, FRAME_MAX, &f, &fl) == 0 &&
            stream_open(&srx, f, fl, msg, &ml, &fin) == 0 && ml == 1 && msg[0] == XM_ACCEPT) {
            printf("accepted\n");
            uint8_t d[XM_DATA_HDR + 5] = {XM_DATA, 0, 0, 0, 0, 0, 0, 0, 0,
                                          0,       0, 0, 0, 0, 0, 0, 0, 5};
            memcpy(d + XM_DATA_HDR, "owned", 5);
            uint8_t end[5 + XFER_DIGESTBYTES] = {XM_FILE_END};
            if (!strcmp(scen, "digest-ok")) {
                /* PROTOCOL.md: BLAKE2b-256(authenticator of each DATA frame
                 * ‖ u64 size), computed here independently of transfer.c. */
                size_t dl;
                crypto_generichash_state hs;
                stream_seal(&stx, d, sizeof(d), 0, frame, &dl);
                net_write_all(fd, frame, dl);
                crypto_generichash_init(&hs, NULL, 0, XFER_DIGESTBYTES);
                crypto_generichash_update(&hs, frame + dl - 16, 16);
                const uint8_t size_be[8] = {0, 0, 0, 0, 0, 0, 0, 5};
                crypto_generichash_update(&hs, size_be, 8);
                crypto_generichash_final(&hs, end + 5, XFER_DIGESTBYTES);
            } else {
                send_msg(fd, &stx, d, sizeof(d), 0);
            }
            send_msg(fd, &stx, end, sizeof(end), 0);
            uint8_t fin_m[13] = {XM_END, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1};
            send_msg(fd, &stx, fin_m, sizeof(fin_m), 1);
        } else {
            printf("refused\n");
        }
        fflush(stdout);
    }
    sleep(1);
    close(fd);
    return 0;
}
