/*
 * Unit tests for core/spake2.c and core/kdf.c: RFC 9382 Appendix B key
 * schedule, RFC 9496 from_hash, RFC 5869 HKDF, whole exchanges and the
 * shares and transcripts an attacker can send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "err.h"
#include "handshake.h"
#include "kdf.h"
#include "spake2.h"

static size_t unhex(const char *h, uint8_t *out, size_t max)
{
    size_t n = strlen(h) / 2;
    assert_true(n <= max);
    assert_int_equal(sodium_hex2bin(out, max, h, strlen(h), NULL, &n, NULL), 0);
    return n;
}

static void assert_hex(const uint8_t *got, size_t len, const char *want)
{
    char buf[2 * 64 + 1];
    assert_true(len <= 64);
    sodium_bin2hex(buf, sizeof(buf), got, len);
    assert_string_equal(buf, want);
}

/* RFC 9382 Appendix B, SPAKE2-P256-SHA256-HKDF-HMAC. The key schedule is
 * the same for every group, so the transcript built from the RFC's values
 * must give the RFC's Ke, KcA, KcB and confirmations. */
struct rfc_vector {
    const char *ida, *idb, *pa, *pb, *k, *w, *ke, *kca, *kcb, *ca, *cb;
};

static const struct rfc_vector rfc9382[] = {
    {"server", "client",
     "04a56fa807caaa53a4d28dbb9853b9815c61a411118a6fe516a8798434751470f9010153ac33d0d5f2047ffdb1a3"
     "e42c9b4e6be662766e1eeb4116988ede5f912c",
     "0406557e482bd03097ad0cbaa5df82115460d951e3451962f1eaf4367a420676d09857ccbc522686c83d1852abfa"
     "8ed6e4a1155cf8f1543ceca528afb591a1e0b7",
     "0412af7e89717850671913e6b469ace67bd90a4df8ce45c2af19010175e37eed69f75897996d539356e2fa6a406d"
     "528501f907e04d97515fbe83db277b715d3325",
     "2ee57912099d31560b3a44b1184b9b4866e904c49d12ac5042c97dca461b1a5f",
     "0e0672dc86f8e45565d338b0540abe69", "00c12546835755c86d8c0db7851ae86f",
     "a9fa3406c3b781b93d804485430ca27a",
     "58ad4aa88e0b60d5061eb6b5dd93e80d9c4f00d127c65b3b35b1b5281fee38f0",
     "d3e2e547f1ae04f2dbdbf0fc4b79f8ecff2dff314b5d32fe9fcef2fb26dc459b"},
    {"", "client",
     "04a897b769e681c62ac1c2357319a3d363f610839c4477720d24cbe32f5fd85f44fb92ba966578c1b712be696249"
     "8834078262caa5b441ecfa9d4a9485720e918a",
     "04e0f816fd1c35e22065d5556215c097e799390d16661c386e0ecc84593974a61b881a8c82327687d0501862970c"
     "64565560cb5671f696048050ca66ca5f8cc7fc",
     "048f83ec9f6e4f87cc6f9dc740bdc2769725f923364f01c84148c049a39a735ebda82eac03e00112fd6a57106827"
     "67cff5361f7e819e53d8d3c3a2922e0d837aa6",
     "0548d8729f730589e579b0475a582c1608138ddf7054b73b5381c7e883e2efae",
     "642f05c473c2cd79909f9a841e2f30a7", NULL, NULL,
     "47d29e6666af1b7dd450d571233085d7a9866e4d49d2645e2df975489521232b",
     "3313c5cefc361d27fb16847a91c2a73b766ffa90a4839122a9b70a2f6bd1d6df"},
    {"server", "",
     "04f88fb71c99bfffaea370966b7eb99cd4be0ff1a7d335caac4211c4afd855e2e15a873b298503ad8ba1d9cbb9a3"
     "92d2ba309b48bfd7879aefd0f2cea6009763b0",
     "040c269d6be017dccb15182ac6bfcd9e2a14de019dd587eaf4bdfd353f031101e7cca177f8eb362a6e83e7d5e729"
     "c0732e1b528879c086f39ba0f31a9661bd34db",
     "0445ee233b8ecb51ebd6e7da3f307e88a1616bae2166121221fdc0dadb986afaf3ec8a988dc9c626fa3b99f58a7c"
     "a7c9b844bb3e8dd9554aafc5b53813504c1cbe",
     "626e0cdc7b14c9db3e52a0b1b3a768c98e37852d5db30febe0497b14eae8c254",
     "005184ff460da2ce59062c87733c299c", NULL, NULL,
     "bc9f9bbe99f26d0b2260e6456e05a86196a3307ec6663a18bf6ac825736533b2",
     "c2370e1bf813b086dff0d834e74425a06e6390f48f5411900276dcccc5a297ec"},
    {"", "",
     "04a65b367a3f613cf9f0654b1b28a1e3a8a40387956c8ba6063e8658563890f46ca1ef6a676598889fc28de2950a"
     "b8120b79a5ef1ea4c9f44bc98f585634b46d66",
     "04589f13218822710d98d8b2123a079041052d9941b9cf88c6617ddb2fcc0494662eea8ba6b64692dc318250030c"
     "6af045cb738bc81ba35b043c3dcb46adf6f58d",
     "041a3c03d51b452537ca2a1fea6110353c6d5ed483c4f0f86f4492ca3f378d40a994b4477f93c64d928edbbcd3e8"
     "5a7c709b7ea73ee97986ce3d1438e135543772",
     "7bf46c454b4c1b25799527d896508afd5fc62ef4ec59db1efb49113063d70cca",
     "fc6374762ba5cf11f4b2caa08b2cd1b9", NULL, NULL,
     "dfb4db8d48ae5a675963ea5e6c19d98d4ea028d8e898dad96ea19a80ade95dca",
     "d0f0609d1613138d354f7e95f19fb556bf52d751947241e8c7118df5ef0ae175"},
};

static void test_rfc9382_schedule(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rfc9382) / sizeof(rfc9382[0]); i++) {
        const struct rfc_vector *v = &rfc9382[i];
        uint8_t tt[512], b[65], ke[16], kca[16], kcb[16], ca[32], cb[32];
        size_t n = 0, bl;

        n = spake2_tt_append(tt, n, (const uint8_t *)v->ida, strlen(v->ida));
        n = spake2_tt_append(tt, n, (const uint8_t *)v->idb, strlen(v->idb));
        bl = unhex(v->pa, b, sizeof(b));
        n = spake2_tt_append(tt, n, b, bl);
        bl = unhex(v->pb, b, sizeof(b));
        n = spake2_tt_append(tt, n, b, bl);
        bl = unhex(v->k, b, sizeof(b));
        n = spake2_tt_append(tt, n, b, bl);
        bl = unhex(v->w, b, sizeof(b));
        n = spake2_tt_append(tt, n, b, bl);
        spake2_schedule(tt, n, NULL, 0, ke, kca, kcb, ca, cb);
        assert_hex(ke, 16, v->ke);
        if (v->kca) {
            assert_hex(kca, 16, v->kca);
            assert_hex(kcb, 16, v->kcb);
        }
        assert_hex(ca, 32, v->ca);
        assert_hex(cb, 32, v->cb);
    }
}

/* The TT length prefix is 8 bytes little-endian (RFC 9382 section 4). */
static void test_tt_lengths(void **state)
{
    uint8_t tt[16 + 300];
    uint8_t data[300] = {0};
    (void)state;
    size_t n = spake2_tt_append(tt, 0, data, 300);
    assert_int_equal(n, 308);
    assert_int_equal(tt[0], 0x2c);
    assert_int_equal(tt[1], 0x01);
    for (int i = 2; i < 8; i++)
        assert_int_equal(tt[i], 0);
}

/* RFC 9496 Appendix A.3, first hash-to-group vector; then M and N as
 * PROTOCOL.md defines them, recomputed from their labels. */
static void test_from_hash_and_constants(void **state)
{
    static const char label[] = "Ristretto is traditionally a short shot of espresso coffee";
    uint8_t h[64], p[32];
    (void)state;

    crypto_hash_sha512(h, (const uint8_t *)label, sizeof(label) - 1);
    assert_hex(h, 64,
               "5d1be09e3d0c82fc538112490e35701979d99e06ca3e2b5b54bffe8b4dc772c14d98b696a1bbfb5ca3"
               "2c436cc61c16563790306c79eaca7705668b47dffe5bb6");
    crypto_core_ristretto255_from_hash(p, h);
    assert_hex(p, 32, "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46");

    static const char lm[] = "pcp/1 SPAKE2 ristretto255 M", ln[] = "pcp/1 SPAKE2 ristretto255 N";
    crypto_hash_sha512(h, (const uint8_t *)lm, sizeof(lm) - 1);
    crypto_core_ristretto255_from_hash(p, h);
    assert_memory_equal(p, spake2_M, 32);
    crypto_hash_sha512(h, (const uint8_t *)ln, sizeof(ln) - 1);
    crypto_core_ristretto255_from_hash(p, h);
    assert_memory_equal(p, spake2_N, 32);
    assert_memory_not_equal(spake2_M, spake2_N, 32);
}

/* RFC 5869 Appendix A, test cases 1 and 3. */
static void test_hkdf(void **state)
{
    uint8_t ikm[22], salt[13], info[10], okm[42];
    (void)state;
    memset(ikm, 0x0b, sizeof(ikm));
    for (int i = 0; i < 13; i++)
        salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++)
        info[i] = (uint8_t)(0xf0 + i);
    assert_int_equal(kdf_hkdf(okm, 42, salt, 13, ikm, 22, info, 10), 0);
    assert_hex(
        okm, 42,
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    assert_int_equal(kdf_hkdf(okm, 42, NULL, 0, ikm, 22, NULL, 0), 0);
    assert_hex(
        okm, 42,
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
    uint8_t big[1];
    uint8_t prk[32] = {0};
    assert_int_equal(kdf_hkdf_expand(big, 255 * 32 + 1, prk, NULL, 0), PCP_ERR_INVAL);
}

/* w = reduce(BLAKE2b-512(pw, personal "pcp1-spake2-pw")): value computed
 * independently with Python's hashlib.blake2b and integer arithmetic. */
static void test_password_scalar(void **state)
{
    static const uint8_t pw[] = {0x01, 0x02, 0x07, 0xff, 0x00, 0x2a};
    uint8_t w[32];
    (void)state;
    spake2_password_scalar(pw, sizeof(pw), w);
    assert_hex(w, 32, "cd15f6169f22ad89729b6b5f2388da42e888071ac8f34a42f1ec2cf36b2c2d02");
}

struct run {
    int finish_a, finish_b, verify_a, verify_b;
    uint8_t txa[32], rxa[32], txb[32], rxb[32];
};

/* One exchange between two contexts, in the order of the wire. */
static void exchange(const char *pwa, const char *pwb, const char *aada, const char *aadb,
                     enum spake2_role ra, enum spake2_role rb, struct run *out)
{
    struct spake2_ctx a, b;
    uint8_t pa[32], pb[32], ca[32], cb[32];

    memset(out, 0, sizeof(*out));
    assert_int_equal(spake2_start(&a, ra, (const uint8_t *)pwa, strlen(pwa), (const uint8_t *)aada,
                                  strlen(aada), pa),
                     0);
    assert_int_equal(spake2_start(&b, rb, (const uint8_t *)pwb, strlen(pwb), (const uint8_t *)aadb,
                                  strlen(aadb), pb),
                     0);
    out->finish_b = spake2_finish(&b, pa, cb);
    out->finish_a = spake2_finish(&a, pb, ca);
    if (out->finish_a == 0 && out->finish_b == 0) {
        out->verify_a = spake2_verify(&a, cb);
        out->verify_b = spake2_verify(&b, ca);
        if (out->verify_a == 0)
            assert_int_equal(spake2_traffic_keys(&a, out->txa, out->rxa), 0);
        if (out->verify_b == 0)
            assert_int_equal(spake2_traffic_keys(&b, out->txb, out->rxb), 0);
    }
    spake2_clear(&a);
    spake2_clear(&b);
}

static void test_exchange(void **state)
{
    struct run r;
    (void)state;
    exchange("pw", "pw", "pcp/1/7", "pcp/1/7", SPAKE2_ROLE_A, SPAKE2_ROLE_B, &r);
    assert_int_equal(r.finish_a, 0);
    assert_int_equal(r.finish_b, 0);
    assert_int_equal(r.verify_a, 0);
    assert_int_equal(r.verify_b, 0);
    assert_memory_equal(r.txa, r.rxb, 32);
    assert_memory_equal(r.rxa, r.txb, 32);
    assert_memory_not_equal(r.txa, r.rxa, 32);
    /* Fresh randomness: a second run gives other keys. */
    struct run r2;
    exchange("pw", "pw", "pcp/1/7", "pcp/1/7", SPAKE2_ROLE_A, SPAKE2_ROLE_B, &r2);
    assert_memory_not_equal(r.txa, r2.txa, 32);
}

static void test_wrong_password(void **state)
{
    struct run r;
    (void)state;
    exchange("pw", "px", "pcp/1/7", "pcp/1/7", SPAKE2_ROLE_A, SPAKE2_ROLE_B, &r);
    assert_int_equal(r.finish_a, 0);
    assert_int_equal(r.verify_a, PCP_ERR_BAD_CODE);
    assert_int_equal(r.verify_b, PCP_ERR_BAD_CODE);
}

static void test_changed_aad(void **state)
{
    struct run r;
    (void)state;
    exchange("pw", "pw", "pcp/1/7", "pcp/1/8", SPAKE2_ROLE_A, SPAKE2_ROLE_B, &r);
    assert_int_equal(r.verify_a, PCP_ERR_BAD_CODE);
    assert_int_equal(r.verify_b, PCP_ERR_BAD_CODE);
}

static void test_swapped_roles(void **state)
{
    struct run r;
    (void)state;
    exchange("pw", "pw", "x", "x", SPAKE2_ROLE_A, SPAKE2_ROLE_A, &r);
    assert_int_not_equal(r.verify_a, 0);
    exchange("pw", "pw", "x", "x", SPAKE2_ROLE_B, SPAKE2_ROLE_B, &r);
    assert_int_not_equal(r.verify_a, 0);
    /* The control: the same two contexts with distinct roles agree. */
    exchange("pw", "pw", "x", "x", SPAKE2_ROLE_B, SPAKE2_ROLE_A, &r);
    assert_int_equal(r.verify_a, 0);
}

static void test_bad_shares(void **state)
{
    static const char *bad[] = {
        /* identity */
        "0000000000000000000000000000000000000000000000000000000000000000",
        /* RFC 9496 A.2: non-canonical, negative, non-square encodings */
        "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        /* p itself: the field element 0 encoded as s >= p */
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        /* Bit 255 set, which libsodium 1.0.18's is_valid_point ignores:
         * M (a valid share once the bit is clear), and the identity. */
        "96f11cef1140d357c6936008c0ab5af2bbe2ae302f3ebfb5a09b9766e20f94de",
        "0000000000000000000000000000000000000000000000000000000000000080",
    };
    struct spake2_ctx a;
    uint8_t pa[32], peer[32], conf[32];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(spake2_start(&a, SPAKE2_ROLE_A, (const uint8_t *)"pw", 2, NULL, 0, pa), 0);
        unhex(bad[i], peer, sizeof(peer));
        assert_int_equal(spake2_finish(&a, peer, conf), PCP_ERR_CRYPTO);
        spake2_clear(&a);
    }
    /* The control: M with bit 255 clear is a share like any other. */
    assert_int_equal(spake2_start(&a, SPAKE2_ROLE_A, (const uint8_t *)"pw", 2, NULL, 0, pa), 0);
    assert_int_equal(spake2_finish(&a, spake2_M, conf), 0);
    spake2_clear(&a);
    /* Reflection: our own share sent back. */
    assert_int_equal(spake2_start(&a, SPAKE2_ROLE_A, (const uint8_t *)"pw", 2, NULL, 0, pa), 0);
    assert_int_equal(spake2_finish(&a, pa, conf), PCP_ERR_CRYPTO);
    spake2_clear(&a);

    /* pB = w·N makes K the identity: refused, not a key of zeros. */
    uint8_t w[32], x[32];
    spake2_password_scalar((const uint8_t *)"pw", 2, w);
    crypto_core_ristretto255_scalar_random(x);
    assert_int_equal(spake2_start_scalars(&a, SPAKE2_ROLE_A, w, x, NULL, 0, pa), 0);
    assert_int_equal(crypto_scalarmult_ristretto255(peer, w, spake2_N), 0);
    assert_int_equal(spake2_finish(&a, peer, conf), PCP_ERR_CRYPTO);
    spake2_clear(&a);
}

static void test_state_misuse(void **state)
{
    struct spake2_ctx a;
    uint8_t pa[32], c[32] = {0}, k1[32], k2[32];
    (void)state;
    memset(&a, 0, sizeof(a));
    assert_int_equal(spake2_finish(&a, c, c), PCP_ERR_INVAL);
    assert_int_equal(spake2_start(&a, SPAKE2_ROLE_A, (const uint8_t *)"pw", 2, NULL, 0, pa), 0);
    assert_int_equal(spake2_verify(&a, c), PCP_ERR_INVAL);
    assert_int_equal(spake2_traffic_keys(&a, k1, k2), PCP_ERR_INVAL);
    uint8_t aad[SPAKE2_AAD_MAX + 1] = {0};
    assert_int_equal(
        spake2_start(&a, SPAKE2_ROLE_A, (const uint8_t *)"pw", 2, aad, sizeof(aad), pa),
        PCP_ERR_INVAL);
    spake2_clear(&a);
    assert_true(sodium_is_zero((const uint8_t *)&a, sizeof(a)));
}

/* handshake.c over a socket pair: the right code gives matching keys. */
static void test_handshake_socketpair(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    /* Each side blocks on the other: the sender runs in a child. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct frame_reader fr;
        uint8_t tx[32], rx[32];
        close(sv[0]);
        if (frame_reader_init(&fr, sv[1]) != 0)
            _exit(1);
        int r =
            handshake_sender(sv[1], &fr, (const uint8_t *)"\x00\x01\x00\x02", 4, "pcp/1/5", tx, rx);
        if (r == 0)
            r = (int)write(sv[1], tx, 32) == 32 ? 0 : 1;
        frame_reader_free(&fr);
        _exit(r == 0 ? 0 : 1);
    }
    close(sv[1]);
    struct frame_reader fr;
    assert_int_equal(frame_reader_init(&fr, sv[0]), 0);
    uint8_t tx[32], rx[32], peer_tx[32];
    assert_int_equal(
        handshake_receiver(sv[0], &fr, (const uint8_t *)"\x00\x01\x00\x02", 4, "pcp/1/5", tx, rx),
        0);
    assert_int_equal(read(sv[0], peer_tx, 32), 32);
    assert_memory_equal(peer_tx, rx, 32);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    frame_reader_free(&fr);
    close(sv[0]);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9382_schedule),
        cmocka_unit_test(test_tt_lengths),
        cmocka_unit_test(test_from_hash_and_constants),
        cmocka_unit_test(test_hkdf),
        cmocka_unit_test(test_password_scalar),
        cmocka_unit_test(test_exchange),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_changed_aad),
        cmocka_unit_test(test_swapped_roles),
        cmocka_unit_test(test_bad_shares),
        cmocka_unit_test(test_state_misuse),
        cmocka_unit_test(test_handshake_socketpair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
