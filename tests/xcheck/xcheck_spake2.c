/*
 * xcheck_spake2 - one side of a pcp/1 SPAKE2 exchange over stdin/stdout,
 * so that an independent implementation (spake2.mjs, @noble/curves) can
 * play the other side.
 *
 *   xcheck_spake2 constants          prints "M <hex>" and "N <hex>"
 *   xcheck_spake2 A|B PWHEX AAD      plays that role; messages are hex lines:
 *     A: prints pA; reads pB‖cB; prints cA; prints "keys TX RX"
 *     B: reads pA; prints pB‖cB; reads cA; prints "keys TX RX"
 *   A failed check prints "fail <error>" and exits 1.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "spake2.h"

static void put_hex(const char *tag, const uint8_t *b, size_t n)
{
    char h[2 * 64 + 1];
    sodium_bin2hex(h, sizeof(h), b, n);
    printf("%s%s%s\n", tag ? tag : "", tag ? " " : "", h);
    fflush(stdout);
}

static int get_hex(uint8_t *b, size_t n)
{
    char line[256];
    size_t got;
    if (!fgets(line, sizeof(line), stdin))
        return -1;
    line[strcspn(line, "\r\n")] = 0;
    if (sodium_hex2bin(b, n, line, strlen(line), NULL, &got, NULL) != 0 || got != n)
        return -1;
    return 0;
}

static int fail(int e)
{
    printf("fail %s\n", pcp_strerror(e));
    return 1;
}

int main(int argc, char **argv)
{
    struct spake2_ctx c;
    uint8_t pw[64], share[32], peer[64], conf[32], tx[32], rx[32];
    size_t pwlen;
    int e;

    if (sodium_init() < 0)
        return 2;
    if (argc == 2 && strcmp(argv[1], "constants") == 0) {
        put_hex("M", spake2_M, 32);
        put_hex("N", spake2_N, 32);
        return 0;
    }
    if (argc != 4 || (strcmp(argv[1], "A") != 0 && strcmp(argv[1], "B") != 0) ||
        sodium_hex2bin(pw, sizeof(pw), argv[2], strlen(argv[2]), NULL, &pwlen, NULL) != 0) {
        fprintf(stderr, "usage: xcheck_spake2 constants | A|B PWHEX AAD\n");
        return 2;
    }
    const uint8_t *aad = (const uint8_t *)argv[3];
    size_t aadlen = strlen(argv[3]);
    if (argv[1][0] == 'A') {
        if ((e = spake2_start(&c, SPAKE2_ROLE_A, pw, pwlen, aad, aadlen, share)) != 0)
            return fail(e);
        put_hex(NULL, share, 32);
        if (get_hex(peer, 64) != 0)
            return fail(PCP_ERR_PROTO);
        if ((e = spake2_finish(&c, peer, conf)) != 0 || (e = spake2_verify(&c, peer + 32)) != 0)
            return fail(e);
        put_hex(NULL, conf, 32);
    } else {
        if (get_hex(peer, 32) != 0)
            return fail(PCP_ERR_PROTO);
        if ((e = spake2_start(&c, SPAKE2_ROLE_B, pw, pwlen, aad, aadlen, share)) != 0 ||
            (e = spake2_finish(&c, peer, conf)) != 0)
            return fail(e);
        memcpy(peer, share, 32);
        memcpy(peer + 32, conf, 32);
        put_hex(NULL, peer, 64);
        if (get_hex(conf, 32) != 0)
            return fail(PCP_ERR_PROTO);
        if ((e = spake2_verify(&c, conf)) != 0)
            return fail(e);
    }
    if ((e = spake2_traffic_keys(&c, tx, rx)) != 0)
        return fail(e);
    char htx[65], hrx[65];
    sodium_bin2hex(htx, sizeof(htx), tx, 32);
    sodium_bin2hex(hrx, sizeof(hrx), rx, 32);
    printf("keys %s %s\n", htx, hrx);
    spake2_clear(&c);
    sodium_memzero(tx, sizeof(tx));
    sodium_memzero(rx, sizeof(rx));
    return 0;
}
