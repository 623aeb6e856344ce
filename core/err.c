/* err.c - text for the codes in err.h. */
#include "err.h"

const char *pcp_strerror(int err)
{
    switch (err) {
    case PCP_OK:
        return "success";
    case PCP_ERR_NOMEM:
        return "out of memory";
    case PCP_ERR_INVAL:
        return "invalid argument";
    case PCP_ERR_TRUNCATED:
        return "message truncated";
    case PCP_ERR_PROTO:
        return "protocol violation by the peer";
    case PCP_ERR_TOO_BIG:
        return "message or field too large";
    case PCP_ERR_CRYPTO:
        return "decryption or authentication failed (data was altered in transit)";
    case PCP_ERR_BAD_CODE:
        return "the code does not match (key confirmation failed)";
    case PCP_ERR_BAD_WORD:
        return "a word of the code is not in the word list";
    case PCP_ERR_IO:
        return "file system error";
    case PCP_ERR_NET:
        return "network error";
    case PCP_ERR_CLOSED:
        return "the peer closed the connection";
    case PCP_ERR_TIMEOUT:
        return "timed out";
    case PCP_ERR_NOT_FOUND:
        return "no sender found for this code";
    case PCP_ERR_REFUSED:
        return "the receiver declined the transfer";
    case PCP_ERR_CANCELLED:
        return "cancelled";
    case PCP_ERR_EXISTS:
        return "the target already exists";
    case PCP_ERR_UNSAFE_PATH:
        return "unsafe path refused";
    case PCP_ERR_ATTEMPTS:
        return "too many wrong codes: someone may be guessing";
    case PCP_ERR_DIGEST:
        return "file digest mismatch";
    case PCP_ERR_PEER:
        return "the peer reported an error";
    case PCP_ERR_CHANGED:
        return "a source file changed while it was being sent";
    case PCP_ERR_RELAY_AUTH:
        return "the relay refused the token (set PCP_RELAY_TOKEN or --relay-token)";
    case PCP_ERR_TLS:
        return "TLS to the relay failed: its certificate did not verify for its name (PCP_RELAY_CA "
               "names a CA file for a private one)";
    case PCP_ERR_NOSPACE:
        return "not enough space on the disk";
    case PCP_ERR_UNSUPPORTED:
        return "not in this build";
    case PCP_ERR_RELAY_BUSY:
        return "the relay refused the request (busy, a limit reached, or the room in use)";
    }
    return "unknown error";
}
