/*
 * portmap.c - a port forwarded by the home router for one transfer.
 *
 * The attempt runs in its own thread from the moment a transfer may need
 * it (the sender starts waiting, the receiver starts looking), so that it
 * is usually over by the time the two have met through the relay. NAT-PMP
 * is tried first (one UDP exchange with the default gateway), then UPnP-IGD
 * (SSDP discovery, then SOAP over HTTP). The mapping lives as long as the
 * transfer: portmap_stop removes it, and its lease runs out on its own
 * should the process die.
 */
#include "portmap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef PCP_HAVE_NATPMP
#include <natpmp.h>
#endif
#ifdef PCP_HAVE_UPNP
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#endif

#include "err.h"
#include "net.h"

#define LEASE_S 3600 /* a lease outlives any process that forgets it */
/* A router that speaks either answers on the LAN within milliseconds;
 * these bound the wait (and so the exit) where nothing answers. NAT-PMP's
 * own retries would go on for a minute. */
#define NATPMP_WAIT_MS 600
#define UPNP_DISCOVER_MS 600 /* per device type asked for */

const char *portmap_backends(void)
{
#if defined(PCP_HAVE_NATPMP) && defined(PCP_HAVE_UPNP)
    return "natpmp upnp";
#elif defined(PCP_HAVE_NATPMP)
    return "natpmp";
#elif defined(PCP_HAVE_UPNP)
    return "upnp";
#else
    return "";
#endif
}

struct portmap {
    pthread_t t;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, ok;
    int abandoned; /* stopped before the attempt was over: the thread cleans up */
    const char *how;
    struct sockaddr_storage addr;
    uint16_t port, ext;
    int64_t t0;
#ifdef PCP_HAVE_UPNP
    struct UPNPUrls urls;
    struct IGDdatas data;
    int have_urls;
#endif
};

static void set_addr(struct portmap *pm, const struct in_addr *ip, uint16_t ext)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)&pm->addr;
    memset(&pm->addr, 0, sizeof(pm->addr));
    s4->sin_family = AF_INET;
    s4->sin_addr = *ip;
    s4->sin_port = htons(ext);
    pm->ext = ext;
}

#ifdef PCP_HAVE_NATPMP
/* One response, or -1 when none came by the deadline. */
static int natpmp_wait(natpmp_t *np, natpmpresp_t *r, int64_t deadline)
{
    for (;;) {
        struct timeval tv;
        int64_t left = deadline - net_now_ms();
        if (left <= 0 || getnatpmprequesttimeout(np, &tv) < 0)
            return -1;
        int64_t ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
        struct pollfd p = {.fd = np->s, .events = POLLIN};
        poll(&p, 1, (int)(ms < 0 ? 0 : ms < left ? ms : left));
        int e = readnatpmpresponseorretry(np, r);
        if (e == 0)
            return 0;
        if (e != NATPMP_TRYAGAIN)
            return -1;
    }
}

static int natpmp_map(struct portmap *pm, uint16_t ext, uint32_t lease)
{
    natpmp_t np;
    natpmpresp_t r;
    int ok = 0;
    if (initnatpmp(&np, 0, 0) < 0)
        return 0;
    int64_t deadline = net_now_ms() + NATPMP_WAIT_MS;
    struct in_addr pub = {0};
    if (lease && sendpublicaddressrequest(&np) >= 0 && natpmp_wait(&np, &r, deadline) == 0 &&
        r.type == NATPMP_RESPTYPE_PUBLICADDRESS)
        pub = r.pnu.publicaddress.addr;
    if ((!lease || pub.s_addr) &&
        sendnewportmappingrequest(&np, NATPMP_PROTOCOL_TCP, pm->port, ext, lease) >= 0 &&
        natpmp_wait(&np, &r, deadline) == 0 && r.type == NATPMP_RESPTYPE_TCPPORTMAPPING) {
        ok = 1;
        if (lease)
            set_addr(pm, &pub, r.pnu.newportmapping.mappedpublicport);
    }
    closenatpmp(&np);
    return ok;
}
#endif

#ifdef PCP_HAVE_UPNP
static int upnp_map(struct portmap *pm)
{
    int err = 0, r;
    char lan[64], ip[64], ps[8], es[8];
    static const char *const igd[] = {"urn:schemas-upnp-org:device:InternetGatewayDevice:1",
                                      "urn:schemas-upnp-org:device:InternetGatewayDevice:2", NULL};
    struct UPNPDev *devs = upnpDiscoverDevices(igd, UPNP_DISCOVER_MS, NULL, NULL, 0, 0, 2, &err, 0);
    if (!devs)
        return 0;
        /* 1: connected. 2: API 18 and later, connected but its own address
         * is not public (a NAT behind another); before 18, the same case or
         * a router that says it is not connected. Worth a try all the same:
         * the worst is a mapping nobody can reach. */
#if MINIUPNPC_API_VERSION >= 18
    char wan[64];
    r = UPNP_GetValidIGD(devs, &pm->urls, &pm->data, lan, sizeof(lan), wan, sizeof(wan));
#else
    r = UPNP_GetValidIGD(devs, &pm->urls, &pm->data, lan, sizeof(lan));
#endif
    int usable = r == 1 || r == 2;
    freeUPNPDevlist(devs);
    if (r != 0)
        pm->have_urls = 1;
    struct in_addr pub;
    if (!usable ||
        UPNP_GetExternalIPAddress(pm->urls.controlURL, pm->data.first.servicetype, ip) != 0 ||
        inet_pton(AF_INET, ip, &pub) != 1)
        return 0;
    snprintf(ps, sizeof(ps), "%u", pm->port);
    /* Our own port number outside too when it is free, else a random one. */
    for (int i = 0; i < 3; i++) {
        uint16_t ext = i == 0 ? pm->port : (uint16_t)(20000 + randombytes_uniform(40000));
        snprintf(es, sizeof(es), "%u", ext);
        char lease[16];
        snprintf(lease, sizeof(lease), "%d", LEASE_S);
        if (UPNP_AddPortMapping(pm->urls.controlURL, pm->data.first.servicetype, es, ps, lan, "pcp",
                                "TCP", NULL, lease) == 0) {
            set_addr(pm, &pub, ext);
            return 1;
        }
    }
    return 0;
}
#endif

/* Remove the mapping, if one was made, and free pm. */
static void finish(struct portmap *pm)
{
#ifdef PCP_HAVE_NATPMP
    if (pm->ok && !strcmp(pm->how, "natpmp"))
        natpmp_map(pm, pm->ext, 0);
#endif
#ifdef PCP_HAVE_UPNP
    if (pm->ok && !strcmp(pm->how, "upnp")) {
        char es[8];
        snprintf(es, sizeof(es), "%u", pm->ext);
        UPNP_DeletePortMapping(pm->urls.controlURL, pm->data.first.servicetype, es, "TCP", NULL);
    }
    if (pm->have_urls)
        FreeUPNPUrls(&pm->urls);
#endif
    pthread_mutex_destroy(&pm->mu);
    pthread_cond_destroy(&pm->cv);
    free(pm);
}

static void *attempt(void *arg)
{
    struct portmap *pm = arg;
    int ok = 0;
    const char *how = NULL;
#ifdef PCP_HAVE_NATPMP
    if (!ok && (ok = natpmp_map(pm, pm->port, LEASE_S)) != 0)
        how = "natpmp";
#endif
#ifdef PCP_HAVE_UPNP
    if (!ok && (ok = upnp_map(pm)) != 0)
        how = "upnp";
#endif
    pthread_mutex_lock(&pm->mu);
    pm->ok = ok;
    pm->how = how;
    pm->done = 1;
    int abandoned = pm->abandoned;
    pthread_cond_broadcast(&pm->cv);
    pthread_mutex_unlock(&pm->mu);
    if (abandoned)
        finish(pm); /* nobody waits for it: undo it at once */
    return NULL;
}

struct portmap *portmap_start(uint16_t port)
{
    if (!portmap_backends()[0])
        return NULL;
    struct portmap *pm = calloc(1, sizeof(*pm));
    if (!pm)
        return NULL;
    pthread_mutex_init(&pm->mu, NULL);
    pthread_cond_init(&pm->cv, NULL);
    pm->port = port;
    pm->t0 = net_now_ms();
    if (pthread_create(&pm->t, NULL, attempt, pm) != 0) {
        pthread_mutex_destroy(&pm->mu);
        pthread_cond_destroy(&pm->cv);
        free(pm);
        return NULL;
    }
    return pm;
}

int portmap_get(struct portmap *pm, int wait_ms, struct sockaddr_storage *out, const char **how)
{
    if (!pm)
        return PCP_ERR_NOT_FOUND;
    pthread_mutex_lock(&pm->mu);
    while (!pm->done) {
        int64_t left = pm->t0 + wait_ms - net_now_ms();
        if (left <= 0)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += left / 1000;
        until.tv_nsec += (long)(left % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&pm->cv, &pm->mu, &until);
    }
    int ok = pm->done && pm->ok;
    if (ok) {
        *out = pm->addr;
        *how = pm->how;
    }
    pthread_mutex_unlock(&pm->mu);
    return ok ? 0 : PCP_ERR_NOT_FOUND;
}

void portmap_stop(struct portmap *pm)
{
    if (!pm)
        return;
    /* An attempt still under way (no router answered yet) must not hold
     * up the exit: it finishes, and undoes itself, on its own. */
    pthread_mutex_lock(&pm->mu);
    int running = !pm->done;
    pm->abandoned = running;
    pthread_mutex_unlock(&pm->mu);
    if (running) {
        pthread_detach(pm->t);
        return;
    }
    pthread_join(pm->t, NULL);
    finish(pm);
}
