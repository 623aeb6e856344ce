/*
 * A stand-in for miniupnpc 2.2.8's miniupnpc.h (API 18), reduced to what
 * discovery/path/portmap.c uses, so that the API-18 branch is compiled on a
 * system that has an older miniupnpc. Signatures as published upstream.
 */
#ifndef MINIUPNPC_H_INCLUDED
#define MINIUPNPC_H_INCLUDED

#define MINIUPNPC_API_VERSION 18

struct UPNPDev {
    struct UPNPDev *pNext;
    char *descURL;
    char *st;
    char *usn;
    unsigned int scope_id;
    char buffer[3];
};

struct IGDdatas_service {
    char controlurl[128];
    char eventsuburl[128];
    char scpdurl[128];
    char servicetype[128];
};

struct IGDdatas {
    char cureltname[128];
    char urlbase[128];
    char presentationurl[128];
    int level;
    struct IGDdatas_service CIF;
    struct IGDdatas_service first;
    struct IGDdatas_service second;
    struct IGDdatas_service IPv6FC;
    struct IGDdatas_service tmp;
};

struct UPNPUrls {
    char *controlURL;
    char *ipcondescURL;
    char *controlURL_CIF;
    char *controlURL_6FC;
    char *rootdescURL;
};

struct UPNPDev *upnpDiscoverDevices(const char *const deviceTypes[], int delay,
                                    const char *multicastif, const char *minissdpdsock,
                                    int localport, int ipv6, unsigned char ttl, int *error,
                                    int searchalltypes);
void freeUPNPDevlist(struct UPNPDev *devlist);
int UPNP_GetValidIGD(struct UPNPDev *devlist, struct UPNPUrls *urls, struct IGDdatas *data,
                     char *lanaddr, int lanaddrlen, char *wanaddr, int wanaddrlen);
void FreeUPNPUrls(struct UPNPUrls *urls);

#endif
