/*
 * portmap.h - ask the home router to forward a TCP port to us for the
 * length of a transfer: NAT-PMP (libnatpmp) first, then UPnP-IGD
 * (miniupnpc), each compiled in only when its library was found.
 */
#ifndef PCP_PORTMAP_H
#define PCP_PORTMAP_H

#include <stdint.h>
#include <sys/socket.h>

/* "natpmp upnp", "natpmp", "upnp" or "" : what this build can do. */
const char *portmap_backends(void);

struct portmap;

/* Start mapping TCP `port` (ours, on every address) in a thread of its
 * own. NULL when this build has no backend or memory ran out. */
struct portmap *portmap_start(uint16_t port);

/* The public address the router forwards to us: waits until the attempt
 * is over or wait_ms have passed since portmap_start. 0 and *out, *how
 * ("natpmp" or "upnp"); PCP_ERR_NOT_FOUND when there is no mapping. */
int portmap_get(struct portmap *pm, int wait_ms, struct sockaddr_storage *out, const char **how);

/* Remove the mapping (if one was made) and free pm; an attempt still
 * under way is left to finish and undo itself. NULL is fine. */
void portmap_stop(struct portmap *pm);

#endif
