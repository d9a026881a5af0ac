/*
 * The route tables of adapters/ that acp_register() (acp_routes.c) hands to
 * the router: each is declared beside its handlers.  Not used outside
 * adapters/.
 */
#ifndef ADAPTERS_ROUTES_INTERNAL_H
#define ADAPTERS_ROUTES_INTERNAL_H

#include "../stream/route.h"

extern const struct route_table acp__agent_routes;  /* agent_routes.c: /v1/agents */
extern const struct route_table acp__config_routes; /* config_routes.c: /v1/config */

#endif
