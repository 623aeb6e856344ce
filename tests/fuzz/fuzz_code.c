/* libFuzzer target: code_parse over whatever a person (or a script) might
 * type at the prompt. A code that parses must print and parse back to the
 * same indices, and the message buffer must always come back terminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pcp_code c, back;
    char err[256], tiny[7];
    char *s;
    int r;
    if (size > 1 << 16)
        return 0;
    if ((s = malloc(size + 1)) == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    r = code_parse(s, &c, err, sizeof(err));
    if (memchr(err, '\0', sizeof(err)) == NULL)
        abort();
    if (r != 0 && (r != PCP_ERR_INVAL && r != PCP_ERR_BAD_WORD))
        abort();
    if (r != 0 && err[0] == '\0')
        abort();
    /* A short message buffer must change nothing but the message. */
    if (code_parse(s, &back, tiny, sizeof(tiny)) != r || memchr(tiny, '\0', sizeof(tiny)) == NULL)
        abort();
    if (r == 0) {
        char text[CODE_TEXT_MAX];
        if (c.nwords < CODE_MIN_WORDS || c.nwords > CODE_MAX_WORDS)
            abort();
        if (code_format(&c, text, sizeof(text)) != 0)
            abort();
        memset(&back, 0, sizeof(back));
        if (code_parse(text, &back, err, sizeof(err)) != 0)
            abort();
        if (back.nwords != c.nwords || memcmp(back.idx, c.idx, c.nwords * sizeof(c.idx[0])) != 0)
            abort();
    }
    free(s);
    return 0;
}
