/*
 * err.h - the one error enum of pcp.
 *
 * Every library function returns 0 (PCP_OK) or one of these negative codes;
 * only cmd/ turns them into messages and exit codes. Never print from below
 * cmd/.
 */
#ifndef PCP_ERR_H
#define PCP_ERR_H

enum pcp_err {
    PCP_OK = 0,
    PCP_ERR_NOMEM = -1,        /* allocation failed */
    PCP_ERR_INVAL = -2,        /* bad argument from the caller */
    PCP_ERR_TRUNCATED = -3,    /* input ended early */
    PCP_ERR_PROTO = -4,        /* peer broke the protocol */
    PCP_ERR_TOO_BIG = -5,      /* length above the legal maximum */
    PCP_ERR_CRYPTO = -6,       /* authentication or decryption failed */
    PCP_ERR_BAD_CODE = -7,     /* key confirmation failed: wrong code */
    PCP_ERR_BAD_WORD = -8,     /* a word of the code is not in the list */
    PCP_ERR_IO = -9,           /* local file system error (errno kept) */
    PCP_ERR_NET = -10,         /* socket error */
    PCP_ERR_CLOSED = -11,      /* peer closed the connection */
    PCP_ERR_TIMEOUT = -12,     /* nothing arrived in time */
    PCP_ERR_NOT_FOUND = -13,   /* discovery found no peer */
    PCP_ERR_REFUSED = -14,     /* peer declined the offer */
    PCP_ERR_CANCELLED = -15,   /* interrupted by the user */
    PCP_ERR_EXISTS = -16,      /* target exists and may not be overwritten */
    PCP_ERR_UNSAFE_PATH = -17, /* path would land outside the target */
    PCP_ERR_ATTEMPTS = -18,    /* too many failed code attempts */
    PCP_ERR_DIGEST = -19,      /* file digest mismatch */
    PCP_ERR_PEER = -20,        /* the peer reported an error */
    PCP_ERR_CHANGED = -21,     /* a source file changed while being sent */
    PCP_ERR_RELAY_AUTH = -22,  /* the relay wants a (different) token */
    PCP_ERR_RELAY_BUSY = -23,  /* the relay refused: full, a limit, or a room in use */
    PCP_ERR_TLS = -24,         /* TLS to the relay failed (certificate?) */
    PCP_ERR_NOSPACE = -25,     /* the disk is (or would be) full */
    PCP_ERR_UNSUPPORTED = -26, /* this build lacks the feature */
    /* The lowest code: move it when you add one below (and give the new
     * code its row in err.c; a static assertion and tests/unit/test_err.c
     * check that every code from here to PCP_OK has one). */
    PCP_ERR_LOWEST = PCP_ERR_UNSUPPORTED,
};

/* Everything said about one code: its name in JSON error events (a
 * contract: scripts match it), its text for people, and the exit status of
 * the command line tool (cmd/cmd.h's EXIT_*, README "Exit codes"). */
struct pcp_err_desc {
    const char *name;
    const char *text;
    int exit_status;
};

/* The row for an error code; never NULL (an unknown code gets a generic
 * row: "error", "unknown error", exit status 1). */
const struct pcp_err_desc *pcp_err_desc(int err);

/* Static text for an error code; never NULL. */
const char *pcp_strerror(int err);

#endif
