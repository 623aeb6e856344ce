/* kv.c - "key = value" lines (see kv.h). */
#include "kv.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

int kv_parse(const char *text, size_t len, kv_set_fn set, void *ud, char *err, size_t errlen)
{
    char line[1024], what[256];
    size_t lineno = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        lineno++;
        if (j - i >= sizeof(line) || memchr(text + i, 0, j - i)) {
            snprintf(err, errlen, "line %zu: too long or not text", lineno);
            return PCP_ERR_INVAL;
        }
        memcpy(line, text + i, j - i);
        line[j - i] = 0;
        i = j + 1;
        char *s = trim(line), *eq = strchr(s, '=');
        if (!*s || *s == '#')
            continue;
        if (!eq) {
            snprintf(err, errlen, "line %zu: expected 'key = value'", lineno);
            return PCP_ERR_INVAL;
        }
        *eq = 0;
        if (set(ud, trim(s), trim(eq + 1), what, sizeof(what)) != 0) {
            snprintf(err, errlen, "line %zu: %s", lineno, what);
            return PCP_ERR_INVAL;
        }
    }
    return 0;
}
