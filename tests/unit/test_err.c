/*
 * Unit tests for core/err.c: every code of the enum, from PCP_ERR_LOWEST to
 * PCP_OK, has a row (name, text, exit status), the exit statuses are the
 * EXIT_* of cmd/cmd.h and each name goes with one status. No network, no
 * files.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cmd.h"
#include "err.h"

/* The JSON name that goes with each exit status (README "Exit codes"). */
static const char *name_of_status(int status)
{
    switch (status) {
    case EXIT_USAGE:
        return "usage";
    case EXIT_WRONG_CODE:
        return "wrong_code";
    case EXIT_REFUSED:
        return "refused";
    case EXIT_CANCELLED:
        return "cancelled";
    case EXIT_IO:
        return "io";
    case EXIT_NETWORK:
        return "network";
    case EXIT_UNSAFE:
        return "unsafe";
    case EXIT_EXISTS:
        return "exists";
    default:
        return "error";
    }
}

static void test_every_code_has_a_row(void **state)
{
    (void)state;
    const struct pcp_err_desc *unknown = pcp_err_desc(INT_MIN);
    for (int err = PCP_ERR_LOWEST; err <= PCP_OK; err++) {
        const struct pcp_err_desc *d = pcp_err_desc(err);
        assert_non_null(d);
        assert_ptr_not_equal(d, unknown);
        assert_non_null(d->name);
        assert_non_null(d->text);
        assert_true(d->name[0] != '\0');
        assert_true(d->text[0] != '\0');
        assert_string_not_equal(d->text, "unknown error");
        assert_ptr_equal(pcp_strerror(err), d->text);
        assert_true(d->exit_status >= EXIT_OK && d->exit_status <= EXIT_EXISTS);
        /* Success alone exits 0. */
        assert_int_equal(d->exit_status == EXIT_OK, err == PCP_OK);
        assert_string_equal(d->name, name_of_status(d->exit_status));
        /* Texts tell the codes apart. */
        for (int other = PCP_ERR_LOWEST; other < err; other++)
            assert_string_not_equal(pcp_strerror(other), d->text);
    }
}

static void test_unknown_codes(void **state)
{
    (void)state;
    static const int bad[] = {1, 42, PCP_ERR_LOWEST - 1, -1000, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const struct pcp_err_desc *d = pcp_err_desc(bad[i]);
        assert_non_null(d);
        assert_string_equal(d->name, "error");
        assert_string_equal(d->text, "unknown error");
        assert_int_equal(d->exit_status, EXIT_ERROR);
        assert_string_equal(pcp_strerror(bad[i]), "unknown error");
    }
}

/* A few texts people and tests grep for, unchanged. */
static void test_texts(void **state)
{
    (void)state;
    assert_string_equal(pcp_strerror(PCP_OK), "success");
    assert_string_equal(pcp_strerror(PCP_ERR_BAD_CODE),
                        "the code does not match (key confirmation failed)");
    assert_string_equal(pcp_strerror(PCP_ERR_CRYPTO),
                        "decryption or authentication failed (data was altered in transit)");
    assert_string_equal(pcp_strerror(PCP_ERR_TLS),
                        "TLS to the relay failed: its certificate did not verify for its name "
                        "(PCP_RELAY_CA names a CA file for a private one)");
    assert_string_equal(pcp_strerror(PCP_ERR_UNSUPPORTED), "not in this build");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_a_row),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
