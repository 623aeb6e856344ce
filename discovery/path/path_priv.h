/*
 * path_priv.h - what the files of discovery/path/ share and nobody else
 * sees: the default operations and the connection's upkeep.
 */
#ifndef PCP_PATH_PRIV_H
#define PCP_PATH_PRIV_H

#include "path.h"

/* cfg->ops with every NULL member replaced by the real one. */
void path_ops_resolve(const struct path_cfg *cfg, struct path_ops *ops);
void path_emit(const struct path_cfg *cfg, const struct path_event *ev);
/* The punch's listener and mapping (punch_prepare), or NULL. */
void *path_keep_new(void);
void path_keep_free(void *keep);
/* The real finders (connect.c). */
int path_look_mdns(struct path_look *lk);
int path_look_dht(struct path_look *lk);
int path_look_relay(struct path_look *lk);

#endif
