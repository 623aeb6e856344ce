/*
 * A stand-in for miniupnpc 2.2.8's upnpcommands.h (API 18), reduced to what
 * discovery/path/portmap.c uses. Signatures as published upstream.
 */
#ifndef UPNPCOMMANDS_H_INCLUDED
#define UPNPCOMMANDS_H_INCLUDED

int UPNP_GetExternalIPAddress(const char *controlURL, const char *servicetype, char *extIpAdd);
int UPNP_AddPortMapping(const char *controlURL, const char *servicetype, const char *extPort,
                        const char *inPort, const char *inClient, const char *desc,
                        const char *proto, const char *remoteHost, const char *leaseDuration);
int UPNP_DeletePortMapping(const char *controlURL, const char *servicetype, const char *extPort,
                           const char *proto, const char *remoteHost);

#endif
