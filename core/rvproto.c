/*
 * rvproto.c - the relay protocol's checks of untrusted fields (see
 * rvproto.h), shared by the relay and its client so that both ends agree
 * on what a key, a room or a number is. No locale, no allocation, never
 * reads past the length it is given.
 */
#include "rvproto.h"

#include <string.h>

int rvp_hex_span(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int rvp_is_hex(const char *s, size_t n)
{
    return s && strnlen(s, n + 1) == n && rvp_hex_span(s, n);
}

int rvp_dec(const char *s, size_t n, size_t max_digits, uint64_t max, uint64_t *out)
{
    uint64_t x = 0;
    if (!s || n == 0 || n > max_digits)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    if (x > max)
        return -1;
    *out = x;
    return 0;
}
