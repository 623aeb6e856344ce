/*
 * config.c - the relay's settings: defaults, "key = value" files, flags.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kv.h"
#include "relay.h"

void relay_config_default(struct relay_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen, sizeof(c->listen), "9474");
    c->drain_s = 30;
    c->lim.max_rooms = 10000;
    c->lim.max_records = 10000;
    c->lim.max_conns = 8192;
    c->lim.per_ip_conns = 64;
    c->lim.per_ip_rooms = 32;
    /* One IPv6 subscriber usually holds a whole /64: counting single
     * addresses would give it 2^64 shares. */
    c->lim.ipv6_prefix = 64;
    c->lim.arrival_s = 600;
    c->lim.idle_s = 120;
    c->lim.request_s = 15;
    c->lim.room_bytes = 0;
    c->lim.room_rate = 0;
    c->lim.conn_memory = 16 * 1024;
}

/* A whole number with an optional K/M/G/T suffix (powers of 1024). */
static int parse_size(const char *v, uint64_t max, uint64_t *out)
{
    char *end;
    if (*v < '0' || *v > '9')
        return -1;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'K':
        shift = 10;
        break;
    case 'M':
        shift = 20;
        break;
    case 'G':
        shift = 30;
        break;
    case 'T':
        shift = 40;
        break;
    case 0:
        break;
    default:
        return -1;
    }
    if (*end && end[1])
        return -1;
    if (n > (max >> shift))
        return -1;
    *out = (uint64_t)n << shift;
    return 0;
}

static int set_uint(unsigned *dst, const char *v, unsigned min, unsigned max)
{
    uint64_t n;
    if (parse_size(v, max, &n) != 0 || n < min)
        return -1;
    *dst = (unsigned)n;
    return 0;
}

int relay_config_set(struct relay_config *c, const char *key, const char *v, char *err,
                     size_t errlen)
{
    struct relay_limits *l = &c->lim;
    uint64_t n;
    int bad = 0;
    if (!strcmp(key, "listen")) {
        bad = !*v || strlen(v) >= sizeof(c->listen);
        if (!bad)
            snprintf(c->listen, sizeof(c->listen), "%s", v);
    } else if (!strcmp(key, "token")) {
        bad = strlen(v) >= sizeof(c->token) || strpbrk(v, " \t\r\n") != NULL;
        if (!bad)
            snprintf(c->token, sizeof(c->token), "%s", v);
    } else if (!strcmp(key, "drain")) {
        bad = set_uint(&c->drain_s, v, 0, 86400);
    } else if (!strcmp(key, "max-rooms")) {
        bad = set_uint(&l->max_rooms, v, 1, 1000000);
    } else if (!strcmp(key, "max-records")) {
        bad = set_uint(&l->max_records, v, 1, 1000000);
    } else if (!strcmp(key, "max-conns")) {
        bad = set_uint(&l->max_conns, v, 4, 1000000);
    } else if (!strcmp(key, "per-ip-conns")) {
        bad = set_uint(&l->per_ip_conns, v, 0, 1000000);
    } else if (!strcmp(key, "per-ip-rooms")) {
        bad = set_uint(&l->per_ip_rooms, v, 0, 1000000);
    } else if (!strcmp(key, "ipv6-prefix")) {
        bad = set_uint(&l->ipv6_prefix, v, 32, 128);
    } else if (!strcmp(key, "arrival-timeout")) {
        bad = set_uint(&l->arrival_s, v, 1, 86400);
    } else if (!strcmp(key, "idle-timeout")) {
        bad = set_uint(&l->idle_s, v, 1, 86400);
    } else if (!strcmp(key, "request-timeout")) {
        bad = set_uint(&l->request_s, v, 1, 3600);
    } else if (!strcmp(key, "room-bytes")) {
        bad = parse_size(v, UINT64_MAX, &l->room_bytes);
    } else if (!strcmp(key, "room-rate")) {
        bad = parse_size(v, UINT64_MAX, &l->room_rate);
    } else if (!strcmp(key, "conn-memory")) {
        bad = parse_size(v, 1u << 24, &n) || n < 4096;
        if (!bad)
            l->conn_memory = (size_t)n;
    } else {
        snprintf(err, errlen, "unknown setting '%s'", key);
        return PCP_ERR_INVAL;
    }
    if (bad) {
        snprintf(err, errlen, "bad value for %s: '%s'", key, v);
        return PCP_ERR_INVAL;
    }
    return 0;
}

static int set_one(void *ud, const char *key, const char *value, char *err, size_t errlen)
{
    return relay_config_set(ud, key, value, err, errlen);
}

int relay_config_parse(struct relay_config *c, const char *text, size_t len, char *err,
                       size_t errlen)
{
    return kv_parse(text, len, set_one, c, err, errlen);
}
