/*
 * hostile_sender - a sender that speaks pcp/1 correctly (mDNS, SPAKE2,
 * sealed stream) but offers or sends what no honest sender would, so the
 * end-to-end tests can check what the real receiver does with it.
 *
 *   hostile_sender SCENARIO CODE [ARG]
 *
 * Offers (each file's data, if accepted, is "owned" repeated):
 * dotdot        a file named "../escape.txt"
 * absolute      a file named ARG (an absolute path)
 * link-escape   a link "l" pointing at ARG (absolute)
 * through-link  a file "evil/pwned": the test has made out/evil a link
 *               to a directory outside
 * escape-name   a file whose name holds terminal escape sequences
 * digest-ok     a file with the right digest (computed here from PROTOCOL.md)
 * digest-bad    the same with a wrong digest
 * dup           the same file name twice
 * case          "Readme.txt" and "README.txt" (both legitimate on Linux)
 * long-name     a name of 300 bytes (over NAME_MAX, under the path limit)
 * long-path     a path of 5000 bytes
 * device        an entry of a type the protocol does not have (a device)
 * link-loop     links a -> b and b -> a (harmless inside the target)
 * link-parent   a link "l" -> "sub" and a file "l/x" written through it
 * link-chain    top/d/e/up -> ../.. and top/esc -> d/e/up/../../../../etc/passwd:
 *               each `..` stays inside if every component were a directory,
 *               but through the first link the second leads to /etc/passwd
 * ctl-nl        a file whose name holds a newline
 * ctl-c1        a file whose name holds U+009B (CSI as a C1 control)
 * million       1,000,000 one-byte files in 100 directories
 * huge          an offer over what a receiver holds before it asks (by
 *               default 240,000 files with names of 248 bytes: 65 MB
 *               encoded, 71 MB held); ARG "N:L" for N files with names
 *               of L bytes. Built as it is sent, so that this program
 *               stays small.
 * Data that breaks the rules, after an honest offer:
 * lie-long      a file offered at 5 bytes and sent with 10
 * lie-short     a file offered at 10 bytes, ended after 5
 * order-chunk   a 512 KiB file whose second chunk comes first
 * order-file    two files, the second one's data first
 * batch-ok      two 5-byte files in one FILES message, as a sender batches
 *               small files (the test checks that both arrive)
 * batch-size    the same, the first record's size one more than offered
 * batch-order   the same, the second file's record first
 * batch-tail    the same, three bytes left over after the records
 * batch-mid     the first chunk of a 512 KiB file, then a FILES message
 * stream-ok     a file offered without a size (as `pcp send -` does), sent
 *               in short chunks of 3 and 7 bytes: "ownedowned"
 * stream-total  the same, END claiming 11 bytes
 * stream-empty  the same, a chunk of 0 bytes in between (a sign of life)
 * stream-gap    the same, the second chunk at offset 4 (a byte missing)
 * text-file     a message and a file in one offer
 * absurd        a frame whose length prefix says 4 GiB
 * stall-offer   the handshake, then nothing
 * stall-data    the first chunk of a 512 KiB file, then nothing
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
#include "wire.h"

static uint8_t frame[FRAME_PREFIX + FRAME_MAX];
static uint8_t msg[XM_DATA_HDR + STREAM_CHUNK];
static int fd;
static struct stream_tx stx;

static int send_msg(const uint8_t *m, size_t len, int final)
{
    size_t fl;
    int e = stream_seal(&stx, m, len, final, frame, &fl);
    return e ? e : net_write_all(fd, frame, fl);
}

static struct mf_entry *entry(struct manifest *m, uint8_t type, const char *path, uint64_t size)
{
    struct mf_entry *e = &m->e[m->n++];
    e->type = type;
    e->mode = type == MF_DIR ? 0755 : 0644;
    e->path = strdup(path);
    e->size = size;
    if (type == MF_FILE) {
        m->nfiles++;
        m->total_bytes += size == MF_SIZE_STREAM ? 0 : size;
    }
    return e;
}

/* One DATA message of file `idx` at `off`, `n` bytes of the pattern; the
 * digest state takes its authenticator (PROTOCOL.md: BLAKE2b-256 of each
 * DATA frame's tag ‖ u64 size). */
static int send_chunk(uint32_t idx, uint64_t off, uint32_t n, crypto_generichash_state *hs)
{
    wire_put_data_hdr(msg, idx, off, 0, n);
    for (uint32_t i = 0; i < n; i++)
        msg[XM_DATA_HDR + i] = (uint8_t) "owned"[(off + i) % 5];
    size_t fl;
    if (stream_seal(&stx, msg, XM_DATA_HDR + n, 0, frame, &fl) != 0)
        return -1;
    crypto_generichash_update(hs, frame + fl - XFER_MACBYTES, XFER_MACBYTES); /* the MAC */
    return net_write_all(fd, frame, fl);
}

static int send_file_end(uint32_t idx, uint64_t size, crypto_generichash_state *hs, int good)
{
    uint8_t end[XM_FILE_END_LEN];
    uint8_t size_be[8];
    wire_put_file_end(end, idx);
    wire_put_be64(size_be, size);
    crypto_generichash_update(hs, size_be, 8);
    crypto_generichash_final(hs, end + 5, XFER_DIGESTBYTES);
    if (!good)
        memset(end + 5, 0, XFER_DIGESTBYTES);
    return send_msg(end, sizeof(end), 0);
}

/* File idx whole: chunks from `from` to `to` bytes, in order. */
static void send_range(uint32_t idx, uint64_t from, uint64_t to, crypto_generichash_state *hs)
{
    for (uint64_t off = from; off < to;) {
        uint32_t n = to - off < STREAM_CHUNK ? (uint32_t)(to - off) : STREAM_CHUNK;
        send_chunk(idx, off, n, hs);
        off += n;
    }
}

/* Appends to the FILES message in msg one record: file idx, the size it
 * claims, then n bytes of the pattern. */
static size_t batch_rec(size_t at, uint32_t idx, uint32_t claim, uint32_t n)
{
    wire_put_files_rec(msg + at, idx, claim);
    for (uint32_t i = 0; i < n; i++)
        msg[at + XM_FILES_REC + i] = (uint8_t) "owned"[i % 5];
    return at + XM_FILES_REC + n;
}

/* The FILES message in msg, its records ending at `end`, stored raw. */
static void send_files(size_t end)
{
    wire_put_files_hdr(msg, 0, (uint32_t)(end - XM_FILES_HDR));
    send_msg(msg, end, 0);
}

static void send_end(const struct manifest *m, uint64_t total)
{
    uint8_t fin[XM_END_LEN];
    wire_put_end(fin, total, (uint32_t)m->nfiles);
    send_msg(fin, sizeof(fin), 1);
}

/* After ACCEPT: what the scenario sends. */
static void send_data(const char *scen, const struct manifest *m)
{
    crypto_generichash_state hs;
    crypto_generichash_init(&hs, NULL, 0, XFER_DIGESTBYTES);
    if (!strcmp(scen, "lie-long")) {
        send_chunk(0, 0, 10, &hs);
        send_file_end(0, 10, &hs, 1);
    } else if (!strcmp(scen, "lie-short")) {
        send_chunk(0, 0, 5, &hs);
        send_file_end(0, 5, &hs, 1);
    } else if (!strcmp(scen, "order-chunk")) {
        send_chunk(0, STREAM_CHUNK, STREAM_CHUNK, &hs);
        send_chunk(0, 0, STREAM_CHUNK, &hs);
        send_file_end(0, 2 * STREAM_CHUNK, &hs, 1);
    } else if (!strcmp(scen, "order-file")) {
        send_range(1, 0, 5, &hs);
        send_file_end(1, 5, &hs, 1);
    } else if (!strncmp(scen, "batch-", 6) && strcmp(scen, "batch-mid")) {
        int order = !strcmp(scen, "batch-order");
        size_t at = batch_rec(XM_FILES_HDR, order, !strcmp(scen, "batch-size") ? 6 : 5, 5);
        at = batch_rec(at, !order, 5, 5);
        if (!strcmp(scen, "batch-tail"))
            at += 3;
        send_files(at);
    } else if (!strcmp(scen, "batch-mid")) {
        send_chunk(0, 0, STREAM_CHUNK, &hs);
        send_files(batch_rec(XM_FILES_HDR, 1, 5, 5));
    } else if (!strncmp(scen, "stream-", 7)) {
        send_chunk(0, 0, 3, &hs);
        if (!strcmp(scen, "stream-empty"))
            send_chunk(0, 3, 0, &hs);
        send_chunk(0, !strcmp(scen, "stream-gap") ? 4 : 3, 7, &hs);
        send_file_end(0, 10, &hs, 1);
        send_end(m, !strcmp(scen, "stream-total") ? 11 : 10);
        return;
    } else if (!strcmp(scen, "stall-data")) {
        send_chunk(0, 0, STREAM_CHUNK, &hs);
        sleep(30);
        return;
    } else {
        /* Every file whole, in order; the digest is right only where the
         * scenario is not about a wrong one. */
        int good = strcmp(scen, "digest-bad") && strcmp(scen, "escape-name");
        for (size_t i = 0; i < m->n; i++) {
            if (m->e[i].type != MF_FILE)
                continue;
            crypto_generichash_init(&hs, NULL, 0, XFER_DIGESTBYTES);
            send_range((uint32_t)i, 0, m->e[i].size, &hs);
            send_file_end((uint32_t)i, m->e[i].size, &hs, good);
        }
    }
    send_end(m, m->total_bytes);
}

/* The "huge" offer: "PMF1" ‖ count ‖ count files "hNNNNNNNxxx..." of
 * namelen bytes, sent in OFFER messages as it is encoded. Stops at the
 * first write that fails (the receiver refused and closed). */
static void send_huge(const char *arg)
{
    static uint8_t hb[XM_OFFER_HDR + STREAM_CHUNK + 512];
    unsigned long count = 240000, namelen = 248;
    size_t have = XM_OFFER_HDR + 8;
    if (arg && strchr(arg, ':'))
        sscanf(arg, "%lu:%lu", &count, &namelen);
    if (namelen < 8 || namelen > MF_NAME_MAX)
        namelen = 248;
    hb[0] = XM_OFFER;
    memcpy(hb + XM_OFFER_HDR, "PMF1", 4);
    put_be32(hb + XM_OFFER_HDR + 4, (uint32_t)count);
    for (unsigned long i = 0; i < count; i++) {
        uint8_t *p = hb + have;
        char name[16];
        p[0] = MF_FILE;
        p[1] = (uint8_t)(namelen >> 8);
        p[2] = (uint8_t)namelen;
        snprintf(name, sizeof(name), "h%07lu", i % 10000000);
        memset(p + 3, 'x', namelen);
        memcpy(p + 3, name, strlen(name));
        p += 3 + namelen;
        put_be32(p, 0644);
        wire_put_be64(p + 4, 1);
        wire_put_be64(p + 12, 0);
        have += 3 + namelen + 20;
        if (have - XM_OFFER_HDR >= STREAM_CHUNK) {
            hb[1] = 0;
            if (send_msg(hb, XM_OFFER_HDR + STREAM_CHUNK, 0) != 0)
                return;
            memmove(hb + XM_OFFER_HDR, hb + XM_OFFER_HDR + STREAM_CHUNK,
                    have - XM_OFFER_HDR - STREAM_CHUNK);
            have -= STREAM_CHUNK;
        }
    }
    hb[1] = 1;
    send_msg(hb, have, 0);
}

static int build(const char *scen, const char *arg, struct manifest *m)
{
    size_t n = !strcmp(scen, "million") ? 1000000 + 100 : 8;
    m->e = calloc(n, sizeof(*m->e));
    if (!strcmp(scen, "dotdot"))
        entry(m, MF_FILE, "../escape.txt", 5);
    else if (!strcmp(scen, "absolute"))
        entry(m, MF_FILE, arg, 5);
    else if (!strcmp(scen, "link-escape"))
        entry(m, MF_LINK, "l", 0)->link = strdup(arg);
    else if (!strcmp(scen, "through-link")) {
        entry(m, MF_DIR, "evil", 0);
        entry(m, MF_FILE, "evil/pwned", 5);
    } else if (!strcmp(scen, "escape-name"))
        entry(m, MF_FILE, "evil\x1b]0;owned\x07\x1b[2J\x1b[31mred.txt", 5);
    else if (!strcmp(scen, "digest-ok") || !strcmp(scen, "digest-bad") ||
             !strcmp(scen, "lie-long") || !strcmp(scen, "stall-offer") || !strcmp(scen, "absurd"))
        entry(m, MF_FILE, "plain.txt", 5);
    else if (!strncmp(scen, "stream-", 7))
        entry(m, MF_FILE, "piped", MF_SIZE_STREAM);
    else if (!strcmp(scen, "text-file")) {
        entry(m, MF_TEXT, "", 5)->text = strdup("owned");
        entry(m, MF_FILE, "plain.txt", 5);
    } else if (!strcmp(scen, "lie-short"))
        entry(m, MF_FILE, "plain.txt", 10);
    else if (!strcmp(scen, "order-chunk") || !strcmp(scen, "stall-data"))
        entry(m, MF_FILE, "plain.txt", 2 * STREAM_CHUNK);
    else if (!strcmp(scen, "dup")) {
        entry(m, MF_FILE, "same.txt", 5);
        entry(m, MF_FILE, "same.txt", 5);
    } else if (!strcmp(scen, "batch-mid")) {
        entry(m, MF_FILE, "big.bin", 2 * STREAM_CHUNK);
        entry(m, MF_FILE, "small.txt", 5);
    } else if (!strcmp(scen, "case") || !strcmp(scen, "order-file") ||
               !strncmp(scen, "batch-", 6)) {
        entry(m, MF_FILE, "Readme.txt", 5);
        entry(m, MF_FILE, "README.txt", 5);
    } else if (!strcmp(scen, "long-name") || !strcmp(scen, "long-path")) {
        size_t len = !strcmp(scen, "long-name") ? 300 : 5000;
        char *p = malloc(len + 1);
        memset(p, 'n', len);
        for (size_t i = 200; i < len; i += 200)
            p[i] = !strcmp(scen, "long-path") ? '/' : 'n';
        p[len] = '\0';
        entry(m, MF_FILE, p, 5);
        free(p);
    } else if (!strcmp(scen, "device")) {
        entry(m, MF_FILE, "null", 0)->type = 4;
    } else if (!strcmp(scen, "link-loop")) {
        entry(m, MF_LINK, "a", 0)->link = strdup("b");
        entry(m, MF_LINK, "b", 0)->link = strdup("a");
    } else if (!strcmp(scen, "link-chain")) {
        entry(m, MF_DIR, "top", 0);
        entry(m, MF_DIR, "top/d", 0);
        entry(m, MF_DIR, "top/d/e", 0);
        entry(m, MF_LINK, "top/d/e/up", 0)->link = strdup("../..");
        entry(m, MF_LINK, "top/esc", 0)->link = strdup("d/e/up/../../../../etc/passwd");
    } else if (!strcmp(scen, "ctl-nl")) {
        entry(m, MF_FILE, "two\nlines.txt", 5);
    } else if (!strcmp(scen, "ctl-c1")) {
        entry(m, MF_FILE,
              "c1\xc2\x9b"
              "31mred.txt",
              5);
    } else if (!strcmp(scen, "huge")) {
        /* built as it is sent: send_huge */
    } else if (!strcmp(scen, "link-parent")) {
        entry(m, MF_DIR, "sub", 0);
        entry(m, MF_LINK, "l", 0)->link = strdup("sub");
        entry(m, MF_FILE, "l/x", 5);
    } else if (!strcmp(scen, "million")) {
        char p[64];
        for (size_t i = 0; i < 1000000; i++) {
            if (i % 10000 == 0) {
                snprintf(p, sizeof(p), "d%03zu", i / 10000);
                entry(m, MF_DIR, p, 0);
            }
            snprintf(p, sizeof(p), "d%03zu/f%07zu", i / 10000, i);
            entry(m, MF_FILE, p, 1);
        }
    } else {
        return -1;
    }
    return 0;
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
    if (build(scen, arg, &m) != 0) {
        fprintf(stderr, "unknown scenario %s\n", scen);
        return 2;
    }

    int lfd;
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
    net_set_timeout(fd, 30000);
    struct frame_reader fr;
    uint8_t pw[16], tx[32], rx[32], hdr[STREAM_HEADERBYTES];
    size_t pwlen = code_password(&code, pw);
    char aad[32];
    snprintf(aad, sizeof(aad), "pcp/1/%u", code_channel(&code));
    frame_reader_init(&fr, fd);
    if (handshake_sender(fd, &fr, pw, pwlen, aad, tx, rx) != 0)
        return 1;
    stream_tx_init(&stx, tx, hdr);
    frame_write(fd, hdr, sizeof(hdr));
    /* The receiver's hello; both go into both directions' keys (the bare
     * header: this side has the secretstream only). */
    const uint8_t *f;
    size_t fl;
    uint8_t hello[64], rk[STREAM_KEYBYTES];
    if (frame_read(&fr, sizeof(hello), &f, &fl) != 0 || fl < STREAM_HEADERBYTES)
        return 1;
    memcpy(hello, f, fl);
    if (stream_tx_bind(&stx, hdr, sizeof(hdr), hello, fl) != 0 ||
        stream_tx_use(&stx, STREAM_SECRETSTREAM) != 0 ||
        stream_hello_key(rk, rx, hello, fl, hdr, sizeof(hdr)) != 0)
        return 1;
    if (!strcmp(scen, "stall-offer")) {
        sleep(30);
        return 0;
    }
    if (!strcmp(scen, "absurd")) {
        const uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
        net_write_all(fd, huge, sizeof(huge));
        sleep(2);
        return 0;
    }

    /* The manifest, encoded without the checks a real sender makes, in
     * messages of at most one chunk. */
    struct wbuf w;
    wbuf_init(&w);
    if (!strcmp(scen, "huge"))
        send_huge(argc > 3 ? argv[3] : NULL);
    else
        manifest_encode(&m, &w);
    for (size_t off = 0; off < w.len;) {
        size_t n = w.len - off < STREAM_CHUNK ? w.len - off : STREAM_CHUNK;
        msg[0] = XM_OFFER;
        msg[1] = off + n == w.len;
        memcpy(msg + XM_OFFER_HDR, w.p + off, n);
        if (send_msg(msg, XM_OFFER_HDR + n, 0) != 0)
            break;
        off += n;
    }
    wbuf_free(&w);

    /* The receiver's answer; if accepted, the data. */
    {
        struct stream_rx srx;
        uint8_t ans[600];
        size_t al;
        int fin;
        stream_rx_init(&srx, STREAM_SECRETSTREAM, rk, hello);
        if (frame_read(&fr, FRAME_MAX, &f, &fl) == 0 && fl <= sizeof(ans) + STREAM_ABYTES &&
            stream_open(&srx, f, fl, ans, &al, &fin) == 0 && al == 1 && ans[0] == XM_ACCEPT) {
            printf("accepted\n");
            fflush(stdout);
            send_data(scen, &m);
        } else {
            printf("refused\n");
        }
        fflush(stdout);
    }
    sleep(1);
    close(fd);
    manifest_free(&m);
    return 0;
}
