/*
 * kv.h - "key = value" text: the one parser behind pcp's config files
 * (the client's and the relay's). Lines are trimmed of blanks; empty lines
 * and lines starting with '#' are skipped. Nothing prints.
 */
#ifndef PCP_KV_H
#define PCP_KV_H

#include <stddef.h>

/* Called for each setting; non-zero refuses it, with a reason in err. */
typedef int (*kv_set_fn)(void *ud, const char *key, const char *value, char *err, size_t errlen);

/* Feed every line of text to set. PCP_ERR_INVAL, with "line N: what" in
 * err, for a line over 1023 bytes, a NUL, a line without '=', or a setting
 * that set refused. */
int kv_parse(const char *text, size_t len, kv_set_fn set, void *ud, char *err, size_t errlen);

#endif
