/*
 * err.c - the one table of error codes: for each code of err.h its JSON
 * name, its text and its exit status. Never print or exit from here.
 *
 * The exit statuses are the command line tool's (cmd/cmd.h's EXIT_*,
 * README "Exit codes"), kept here as plain numbers beside the codes so that
 * a new code cannot be added without one. The names are what --json error
 * events carry as "code"; both are a contract with scripts: never change
 * one. Several codes share a name and status: the name follows the status.
 */
#include "err.h"

#include <stddef.h>

/* Indexed by -err, so a row cannot sit under the wrong code. */
static const struct pcp_err_desc err_table[] = {
    /* The name of success is never printed; "error" is what it always was. */
    [-PCP_OK] = {"error", "success", 0},
    [-PCP_ERR_NOMEM] = {"error", "out of memory", 1},
    [-PCP_ERR_INVAL] = {"usage", "invalid argument", 2},
    [-PCP_ERR_TRUNCATED] = {"network", "message truncated", 7},
    [-PCP_ERR_PROTO] = {"unsafe", "protocol violation by the peer", 8},
    [-PCP_ERR_TOO_BIG] = {"unsafe", "message or field too large", 8},
    [-PCP_ERR_CRYPTO] = {"unsafe",
                         "decryption or authentication failed (data was altered in transit)", 8},
    [-PCP_ERR_BAD_CODE] = {"wrong_code", "the code does not match (key confirmation failed)", 3},
    [-PCP_ERR_BAD_WORD] = {"usage", "a word of the code is not in the word list", 2},
    [-PCP_ERR_IO] = {"io", "file system error", 6},
    [-PCP_ERR_NET] = {"network", "network error", 7},
    [-PCP_ERR_CLOSED] = {"network", "the peer closed the connection", 7},
    [-PCP_ERR_TIMEOUT] = {"network", "timed out", 7},
    [-PCP_ERR_NOT_FOUND] = {"network", "no sender found for this code", 7},
    [-PCP_ERR_REFUSED] = {"refused", "the receiver declined the transfer", 4},
    [-PCP_ERR_CANCELLED] = {"cancelled", "cancelled", 5},
    [-PCP_ERR_EXISTS] = {"exists", "the target already exists", 9},
    [-PCP_ERR_UNSAFE_PATH] = {"unsafe", "unsafe path refused", 8},
    [-PCP_ERR_ATTEMPTS] = {"wrong_code", "too many wrong codes: someone may be guessing", 3},
    [-PCP_ERR_DIGEST] = {"unsafe", "file digest mismatch", 8},
    [-PCP_ERR_PEER] = {"error", "the peer reported an error", 1},
    [-PCP_ERR_CHANGED] = {"io", "a source file changed while it was being sent", 6},
    [-PCP_ERR_RELAY_AUTH] = {"network",
                             "the relay refused the token (set PCP_RELAY_TOKEN or --relay-token)",
                             7},
    [-PCP_ERR_RELAY_BUSY] = {"network",
                             "the relay refused the request (busy, a limit reached, or the room "
                             "in use)",
                             7},
    [-PCP_ERR_TLS] = {"network",
                      "TLS to the relay failed: its certificate did not verify for its name "
                      "(PCP_RELAY_CA names a CA file for a private one)",
                      7},
    [-PCP_ERR_NOSPACE] = {"io", "not enough space on the disk", 6},
    [-PCP_ERR_UNSUPPORTED] = {"error", "not in this build", 1},
};

_Static_assert(sizeof(err_table) / sizeof(err_table[0]) == (size_t)(1 - PCP_ERR_LOWEST),
               "err.c: one row for every code from PCP_OK down to PCP_ERR_LOWEST");

static const struct pcp_err_desc err_unknown = {"error", "unknown error", 1};

const struct pcp_err_desc *pcp_err_desc(int err)
{
    if (err > PCP_OK || err < PCP_ERR_LOWEST || err_table[-err].name == NULL)
        return &err_unknown;
    return &err_table[-err];
}

const char *pcp_strerror(int err)
{
    return pcp_err_desc(err)->text;
}
