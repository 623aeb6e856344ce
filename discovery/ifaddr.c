/*
 * ifaddr.c - which of this host's IPv6 addresses may be published (see
 * dht.h, dht_v6_publishable). An address formed from the interface's MAC
 * (EUI-64) names the machine wherever it goes, and a stable-privacy one
 * names it for as long as it stays on that network; a temporary address
 * (RFC 8981) is replaced every day or so. Where an interface has a
 * temporary address, only its temporary addresses are published.
 *
 * Linux tells which are temporary in /proc/net/if_inet6, one address a
 * line: "ADDR32HEX IFINDEX PREFIXLEN SCOPE FLAGS NAME" (hex fields; FLAGS
 * is the low byte of the address's IFA_F_* flags). The text is parsed
 * strictly; a line that does not fit is skipped.
 */
#include "dht.h"

#include <string.h>

#define IFA_TEMPORARY 0x01u
#define IFA_DADFAILED 0x08u
#define IFA_DEPRECATED 0x20u
#define IFA_TENTATIVE 0x40u

struct v6line {
    uint8_t addr[16];
    unsigned ifindex, flags;
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A hex field of 1 to 8 digits at *p, followed by a space. */
static int hexfield(const char **p, const char *end, unsigned *out)
{
    unsigned v = 0, n = 0;
    while (*p < end && **p == ' ')
        (*p)++;
    while (*p < end && hexval(**p) >= 0) {
        if (++n > 8)
            return -1;
        v = v << 4 | (unsigned)hexval(**p);
        (*p)++;
    }
    if (n == 0 || *p >= end || **p != ' ')
        return -1;
    *out = v;
    return 0;
}

static int parse_line(const char *p, const char *end, struct v6line *l)
{
    unsigned plen, scope;
    if (end - p < 32)
        return -1;
    for (int i = 0; i < 16; i++) {
        int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        l->addr[i] = (uint8_t)(hi << 4 | lo);
    }
    p += 32;
    if (p >= end || *p != ' ')
        return -1;
    if (hexfield(&p, end, &l->ifindex) || hexfield(&p, end, &plen) || hexfield(&p, end, &scope) ||
        hexfield(&p, end, &l->flags) || plen > 128)
        return -1;
    return 0;
}

/* The next well-formed line of text at or after *pos, or -1 at the end. */
static int next_line(const char *text, size_t len, size_t *pos, struct v6line *l)
{
    while (*pos < len) {
        const char *p = text + *pos, *end = text + len;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        *pos = nl ? (size_t)(nl + 1 - text) : len;
        if (parse_line(p, le, l) == 0)
            return 0;
    }
    return -1;
}

static int usable(unsigned flags)
{
    return !(flags & (IFA_DADFAILED | IFA_DEPRECATED | IFA_TENTATIVE));
}

int dht_v6_publishable(const char *text, size_t len, const uint8_t addr[16])
{
    struct v6line l, mine;
    size_t pos = 0;
    int found = 0;
    while (!found && next_line(text, len, &pos, &l) == 0)
        if (memcmp(l.addr, addr, 16) == 0)
            mine = l, found = 1;
    if (!found)
        return 1; /* the kernel did not say: nothing to prefer it to */
    if (!usable(mine.flags))
        return 0;
    if (mine.flags & IFA_TEMPORARY)
        return 1;
    /* A stable address: only when its interface has no usable temporary
     * global one. */
    for (pos = 0; next_line(text, len, &pos, &l) == 0;)
        if (l.ifindex == mine.ifindex && (l.flags & IFA_TEMPORARY) && usable(l.flags) &&
            (l.addr[0] & 0xe0) == 0x20)
            return 0;
    return 1;
}
