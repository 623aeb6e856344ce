/*
 * peertool - the small helpers of tests/bench/peers.sh, compiled on the fly
 * (cc -O2 peertool.c -lsodium) into the benchmark's work directory:
 *
 *   peertool random FILE MIB            repeatable random bytes
 *   peertool text FILE MIB WORDLIST     repeatable English-like text
 *   peertool files DIR N                N files of 1-8 KiB random bytes
 *   peertool cipher MIB                 one core's encryption rate
 *   peertool sink ADDR PORT             accept one TCP connection, read to EOF
 *   peertool source ADDR PORT MIB       send MIB MiB of zeros to a sink
 *
 * The text: words of WORDLIST (pcp's own 2048 BIP39 English words) drawn
 * with a Zipf law (the r-th most common word has weight 1/r^1.2, the ranks
 * shuffled with a fixed seed), in sentences of 5-20 words that start with
 * a capital and end with a full stop, wrapped at 72 columns. Like prose,
 * it compresses about 3.5x with zlib -6 (3x with -1), and the same
 * arguments always give the same bytes.
 *
 * sink and source are the loopback's (or the shaped link's) ceiling: one
 * TCP connection, 256 KiB writes, no crypto, no disk; the sink prints the
 * rate from accept to EOF. Every figure is printed as "name value".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256u * 1024u)

static void die(const char *what)
{
    fprintf(stderr, "peertool: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: small, fast and repeatable; the data need not be secret. */
static uint64_t rng_state;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void write_all(int fd, const void *p, size_t n, const char *what)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die(what);
        c += w;
        n -= (size_t)w;
    }
}

/* Random bytes: libsodium's ChaCha20 stream from a seed per MiB. */
static void gen_random(const char *path, size_t mib)
{
    uint8_t *buf = malloc(1 << 20), seed[randombytes_SEEDBYTES] = {7};
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || !buf)
        die(path);
    for (size_t i = 0; i < mib; i++) {
        memcpy(seed + 1, &i, sizeof(i));
        randombytes_buf_deterministic(buf, 1 << 20, seed);
        write_all(fd, buf, 1 << 20, path);
    }
    if (close(fd) != 0)
        die(path);
    free(buf);
}

static void gen_text(const char *path, size_t mib, const char *list)
{
    static char words[4096][16];
    static double cdf[4096];
    size_t n = 0;
    FILE *f = fopen(list, "r");
    if (!f)
        die(list);
    while (n < 4096 && fscanf(f, "%15s", words[n]) == 1)
        n++;
    fclose(f);
    if (n < 2)
        die("word list too short");
    /* Shuffle the ranks so that the common words are not just the first
     * letters of the alphabet; then the Zipf weights' running sum. */
    rng_state = 42;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rng() % (i + 1);
        char t[16];
        memcpy(t, words[i], 16);
        memcpy(words[i], words[j], 16);
        memcpy(words[j], t, 16);
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        cdf[i] = sum += 1.0 / pow((double)(i + 1), 1.2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *buf = malloc(CHUNK + 128);
    if (fd < 0 || !buf)
        die(path);
    size_t total = mib << 20, done = 0, len = 0;
    int col = 0, left = 0;
    rng_state = 1;
    while (done < total) {
        double u = (double)(rng() >> 11) / 9007199254740992.0 * sum;
        size_t lo = 0, hi = n - 1;
        while (lo < hi) { /* first rank whose running sum exceeds u */
            size_t mid = (lo + hi) / 2;
            if (cdf[mid] > u)
                hi = mid;
            else
                lo = mid + 1;
        }
        const char *w = words[lo];
        int wl = (int)strlen(w), start = left == 0;
        if (start)
            left = 5 + (int)(rng() % 16);
        left--;
        int need = wl + (left == 0);
        if (col > 0 && col + 1 + need > 72) {
            buf[len++] = '\n';
            col = 0;
        } else if (col > 0) {
            buf[len++] = ' ';
            col++;
        }
        memcpy(buf + len, w, (size_t)wl);
        if (start && w[0] >= 'a' && w[0] <= 'z')
            buf[len] = (char)(w[0] - 'a' + 'A');
        len += (size_t)wl;
        if (left == 0)
            buf[len++] = '.';
        col += need;
        if (len >= CHUNK) {
            size_t out = total - done < CHUNK ? total - done : CHUNK;
            write_all(fd, buf, out, path);
            done += out;
            memmove(buf, buf + CHUNK, len - CHUNK);
            len -= CHUNK;
        }
    }
    if (close(fd) != 0)
        die(path);
    free(buf);
}

/* N files of 1-8 KiB, 1000 to a subdirectory (d0, d1, ...). */
static void gen_files(const char *dir, size_t nfiles)
{
    uint8_t buf[8192];
    char path[4096];
    rng_state = 3;
    if (mkdir(dir, 0755) != 0)
        die(dir);
    for (size_t i = 0; i < nfiles; i++) {
        if (i % 1000 == 0) {
            snprintf(path, sizeof(path), "%s/d%zu", dir, i / 1000);
            if (mkdir(path, 0755) != 0)
                die(path);
        }
        size_t sz = 1024 + rng() % (7 * 1024 + 1);
        for (size_t k = 0; k < sz; k += 8) {
            uint64_t r = rng();
            memcpy(buf + k, &r, sz - k < 8 ? sz - k : 8);
        }
        snprintf(path, sizeof(path), "%s/d%zu/f%05zu.dat", dir, i / 1000, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            die(path);
        write_all(fd, buf, sz, path);
        close(fd);
    }
}

/* One core: pcp's cipher (secretstream, 256 KiB messages as pcp sends
 * them) and the wormholes' (NaCl secretbox, XSalsa20-Poly1305). */
static void cipher(size_t mib)
{
    uint8_t *in = calloc(1, CHUNK), *out = malloc(CHUNK + 64);
    uint8_t key[32], nonce[24] = {0}, hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    crypto_secretstream_xchacha20poly1305_state st;
    size_t n = (mib << 20) / CHUNK;
    if (!in || !out)
        die("malloc");
    randombytes_buf(key, sizeof(key));
    crypto_secretstream_xchacha20poly1305_init_push(&st, hdr, key);
    double t0 = now();
    for (size_t i = 0; i < n; i++)
        crypto_secretstream_xchacha20poly1305_push(&st, out, NULL, in, CHUNK, NULL, 0, 0);
    double t1 = now();
    for (size_t i = 0; i < n; i++) {
        nonce[0] = (uint8_t)i;
        crypto_secretbox_easy(out, in, CHUNK, nonce, key);
    }
    double t2 = now();
    printf("secretstream_MBps %.0f\n", (double)n * CHUNK / 1e6 / (t1 - t0));
    printf("secretbox_MBps %.0f\n", (double)n * CHUNK / 1e6 / (t2 - t1));
    free(in);
    free(out);
}

static struct sockaddr_in addr_of(const char *ip, const char *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
        die(ip);
    return a;
}

static void sink(const char *ip, const char *port)
{
    struct sockaddr_in a = addr_of(ip, port);
    int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0)
        die("listen");
    printf("listening\n");
    fflush(stdout);
    int c = accept(l, NULL, NULL);
    if (c < 0)
        die("accept");
    char *buf = malloc(CHUNK);
    double t0 = now(), total = 0;
    for (;;) {
        ssize_t r = read(c, buf, CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("read");
        if (r == 0)
            break;
        total += (double)r;
    }
    double t = now() - t0;
    printf("bytes %.0f\nseconds %.3f\nMBps %.1f\n", total, t, total / 1e6 / t);
    free(buf);
}

static void source(const char *ip, const char *port, size_t mib)
{
    struct sockaddr_in a = addr_of(ip, port);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
        die("connect");
    char *buf = calloc(1, CHUNK);
    for (size_t i = 0; i < (mib << 20) / CHUNK; i++)
        write_all(s, buf, CHUNK, "write");
    close(s);
    free(buf);
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        die("sodium_init");
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "random") && argc == 4)
        gen_random(argv[2], strtoul(argv[3], NULL, 10));
    else if (!strcmp(cmd, "text") && argc == 5)
        gen_text(argv[2], strtoul(argv[3], NULL, 10), argv[4]);
    else if (!strcmp(cmd, "files") && argc == 4)
        gen_files(argv[2], strtoul(argv[3], NULL, 10));
    else if (!strcmp(cmd, "cipher") && argc == 3)
        cipher(strtoul(argv[2], NULL, 10));
    else if (!strcmp(cmd, "sink") && argc == 4)
        sink(argv[2], argv[3]);
    else if (!strcmp(cmd, "source") && argc == 5)
        source(argv[2], argv[3], strtoul(argv[4], NULL, 10));
    else {
        fprintf(stderr, "usage: see the comment at the top of peertool.c\n");
        return 2;
    }
    return 0;
}
