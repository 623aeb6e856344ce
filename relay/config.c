/*
 * config.c - the relay's settings: defaults, "key = value" files, flags.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kv.h"
#include "relay.h"
#include "rvproto.h"

void relay_config_default(struct relay_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen, sizeof(c->listen), "%d", RV_DEFAULT_PORT);
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
    size_t digits = strspn(v, "0123456789");
    const char *end = v + digits;
    uint64_t n;
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
    /* Any number of digits (leading zeros too), nothing over max. */
    if (rvp_dec(v, digits, digits, max >> shift, &n) != 0)
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

/* The settings that are a whole number from min to max. */
static const struct {
    const char *key;
    size_t off; /* of the unsigned in struct relay_config */
    unsigned min, max;
} uint_keys[] = {
    {"drain", offsetof(struct relay_config, drain_s), 0, 86400},
    {"max-rooms", offsetof(struct relay_config, lim.max_rooms), 1, 1000000},
    {"max-records", offsetof(struct relay_config, lim.max_records), 1, 1000000},
    {"max-conns", offsetof(struct relay_config, lim.max_conns), 4, 1000000},
    {"per-ip-conns", offsetof(struct relay_config, lim.per_ip_conns), 0, 1000000},
    {"per-ip-rooms", offsetof(struct relay_config, lim.per_ip_rooms), 0, 1000000},
    {"ipv6-prefix", offsetof(struct relay_config, lim.ipv6_prefix), 32, 128},
    {"arrival-timeout", offsetof(struct relay_config, lim.arrival_s), 1, 86400},
    {"idle-timeout", offsetof(struct relay_config, lim.idle_s), 1, 86400},
    {"request-timeout", offsetof(struct relay_config, lim.request_s), 1, 3600},
};

int relay_config_set(struct relay_config *c, const char *key, const char *v, char *err,
                     size_t errlen)
{
    struct relay_limits *l = &c->lim;
    uint64_t n;
    int bad = 0;
    size_t i = 0;
    while (i < sizeof(uint_keys) / sizeof(uint_keys[0]) && strcmp(key, uint_keys[i].key) != 0)
        i++;
    if (i < sizeof(uint_keys) / sizeof(uint_keys[0])) {
        bad = set_uint((unsigned *)(void *)((char *)c + uint_keys[i].off), v, uint_keys[i].min,
                       uint_keys[i].max);
    } else if (!strcmp(key, "listen")) {
        bad = !*v || strlen(v) >= sizeof(c->listen);
        if (!bad)
            snprintf(c->listen, sizeof(c->listen), "%s", v);
    } else if (!strcmp(key, "token")) {
        bad = strlen(v) >= sizeof(c->token) || strpbrk(v, " \t\r\n") != NULL;
        if (!bad)
            snprintf(c->token, sizeof(c->token), "%s", v);
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
