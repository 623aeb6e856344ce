/*
 * bench_loopback - transfers on loopback with the real pcp binary and
 * prints what it measured: MB/s or files/s, CPU seconds and peak RSS of
 * each side. It prints figures and asserts nothing about time.
 *
 *   bench_loopback PCP [MiB] [files] [runs]
 *
 * Cases: MiB (default 1024) of random bytes, the same of text, and `files`
 * (default 10000) small files of 1-8 KiB, each `runs` times (default 3: a
 * virtual machine's figures vary from run to run; report the median). Run it inside a network
 * namespace whose loopback carries multicast (tests/interop/netns-lo.sh), so that mDNS stays on the
 * machine; tests/bench/run.sh does that. Files go to /dev/shm, or to PCP_BENCH_DIR.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "code.h"

static char work[64];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die(path);
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            die(path);
        p += w;
        n -= (size_t)w;
    }
    close(fd);
}

/* Random bytes, fast and repeatable. */
static void make_random(const char *path, size_t mib)
{
    size_t chunk = 1 << 20;
    uint8_t *buf = malloc(chunk), seed[randombytes_SEEDBYTES] = {1};
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || !buf)
        die(path);
    for (size_t i = 0; i < mib; i++) {
        seed[1] = (uint8_t)i;
        seed[2] = (uint8_t)(i >> 8);
        randombytes_buf_deterministic(buf, chunk, seed);
        if (write(fd, buf, chunk) != (ssize_t)chunk)
            die(path);
    }
    close(fd);
    free(buf);
}

/* Text: lines of English words, about as compressible as prose. */
static void make_text(const char *path, size_t mib)
{
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 64);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    uint32_t x = 12345;
    if (fd < 0 || !buf)
        die(path);
    for (size_t i = 0; i < mib; i++) {
        size_t len = 0;
        while (len < cap) {
            x = x * 1103515245u + 12345u;
            const char *w = code_word((x >> 8) % 2048);
            size_t wl = strlen(w);
            if (len + wl + 1 > cap)
                break;
            memcpy(buf + len, w, wl);
            len += wl;
            buf[len++] = (x >> 28) == 0 ? '\n' : ' ';
        }
        while (len < cap)
            buf[len++] = '\n';
        if (write(fd, buf, cap) != (ssize_t)cap)
            die(path);
    }
    close(fd);
    free(buf);
}

static void make_small(const char *dir, size_t n)
{
    uint8_t buf[8192];
    char path[256];
    if (mkdir(dir, 0755) != 0)
        die(dir);
    for (size_t i = 0; i < n; i++) {
        if (i % 1000 == 0) {
            snprintf(path, sizeof(path), "%s/d%zu", dir, i / 1000);
            mkdir(path, 0755);
        }
        size_t sz = 1024 + randombytes_uniform(7 * 1024 + 1);
        randombytes_buf(buf, sz / 2);
        memset(buf + sz / 2, 'a', sz - sz / 2);
        snprintf(path, sizeof(path), "%s/d%zu/f%zu.dat", dir, i / 1000, i);
        write_file(path, buf, sz);
    }
}

struct run {
    double wall;
    struct rusage ru[2]; /* sender, receiver */
    int rc[2];
};

static pid_t spawn(char *const argv[], const char *out)
{
    pid_t p = fork();
    if (p < 0)
        die("fork");
    if (p == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return p;
}

static void transfer(const char *pcp, const char *src, const char *out, struct run *r)
{
    struct pcp_code c;
    char code[CODE_TEXT_MAX], log_s[128], log_r[128];
    code_generate(&c, 4);
    code_format(&c, code, sizeof(code));
    snprintf(log_s, sizeof(log_s), "%s/send.log", work);
    snprintf(log_r, sizeof(log_r), "%s/recv.log", work);
    char *sargv[] = {(char *)pcp, "send", "--json", "--code", code, (char *)src, NULL};
    char *rargv[] = {(char *)pcp, "receive", "--json", "--yes", "--out", (char *)out, code, NULL};
    double t0 = now();
    pid_t s = spawn(sargv, log_s);
    pid_t rv = spawn(rargv, log_r);
    int st;
    wait4(rv, &st, 0, &r->ru[1]);
    r->rc[1] = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    wait4(s, &st, 0, &r->ru[0]);
    r->rc[0] = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    r->wall = now() - t0;
}

static double cpu(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
           (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

static void row(const char *name, const struct run *r, double amount, const char *unit, int ok)
{
    printf("%-22s %8.2f %10.0f %-7s %8.2f %8.2f %8.1f %8.1f  %s\n", name, r->wall, amount / r->wall,
           unit, cpu(&r->ru[0]), cpu(&r->ru[1]), (double)r->ru[0].ru_maxrss / 1024,
           (double)r->ru[1].ru_maxrss / 1024,
           ok && r->rc[0] == 0 && r->rc[1] == 0 ? "ok" : "FAILED");
    fflush(stdout);
}

static int same(const char *a, const char *b)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

static int same_tree(const char *a, const char *b)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "diff -r -q '%s' '%s' >/dev/null", a, b);
    return system(cmd) == 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || sodium_init() < 0) {
        fprintf(stderr, "usage: bench_loopback PCP [MiB] [files] [runs]\n");
        return 2;
    }
    const char *pcp = argv[1];
    size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 1024;
    size_t nfiles = argc > 3 ? strtoul(argv[3], NULL, 10) : 10000;
    int runs = argc > 4 ? atoi(argv[4]) : 3;
    if (runs < 1)
        runs = 1;
    /* Files live in memory (tmpfs) unless PCP_BENCH_DIR says otherwise, so
     * that the figures are pcp's and not the disk's: on this VM ext4 takes
     * 1 GiB of writes at about 500 MB/s, dd included. */
    const char *base = getenv("PCP_BENCH_DIR");
    struct stat st;
    if (!base || !*base)
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    if ((size_t)snprintf(work, sizeof(work), "%s/pcp-bench-XXXXXX", base) >= sizeof(work))
        die("PCP_BENCH_DIR too long");
    if (!mkdtemp(work))
        die("mkdtemp");
    printf("files in %s\n", work);
    char src[128], out[128], cmd[256];
    struct run r;
    double bytes = (double)mib * 1024 * 1024;

    printf("%-22s %8s %10s %-7s %8s %8s %8s %8s\n", "case", "wall s", "rate", "", "cpu snd",
           "cpu rcv", "rss snd", "rss rcv");
    printf("%-22s %8s %10s %-7s %8s %8s %8s %8s\n", "", "", "", "", "s", "s", "MiB", "MiB");

    snprintf(src, sizeof(src), "%s/random.bin", work);
    make_random(src, mib);
    snprintf(out, sizeof(out), "%s/out-random", work);
    snprintf(cmd, sizeof(cmd), "%s/random.bin", out);
    char name[64];
    snprintf(name, sizeof(name), "%zu MiB random", mib);
    for (int i = 0; i < runs; i++) {
        transfer(pcp, src, out, &r);
        row(name, &r, bytes / 1e6, "MB/s", same(src, cmd));
        unlink(cmd);
    }
    unlink(src);

    snprintf(src, sizeof(src), "%s/text.txt", work);
    make_text(src, mib);
    snprintf(out, sizeof(out), "%s/out-text", work);
    snprintf(cmd, sizeof(cmd), "%s/text.txt", out);
    snprintf(name, sizeof(name), "%zu MiB text", mib);
    for (int i = 0; i < runs; i++) {
        transfer(pcp, src, out, &r);
        row(name, &r, bytes / 1e6, "MB/s", same(src, cmd));
        unlink(cmd);
    }
    unlink(src);

    snprintf(src, sizeof(src), "%s/small", work);
    make_small(src, nfiles);
    snprintf(out, sizeof(out), "%s/out-small", work);
    snprintf(cmd, sizeof(cmd), "%s/small", out);
    snprintf(name, sizeof(name), "%zu small files", nfiles);
    for (int i = 0; i < runs; i++) {
        transfer(pcp, src, out, &r);
        row(name, &r, (double)nfiles, "files/s", same_tree(src, cmd));
        char rm[300];
        snprintf(rm, sizeof(rm), "rm -rf '%s'", out);
        if (system(rm) != 0)
            die("rm");
    }

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
    return system(cmd) == 0 ? 0 : 1;
}
