/*
 * /v1/config/mcp and /v1/config/skills (spec section 8): per-directory MCP
 * server and skills configuration, stored as JSON maps under
 * <directory>/.sandbox-agent/config/.
 */
#ifndef ADAPTERS_CONFIG_ROUTES_H
#define ADAPTERS_CONFIG_ROUTES_H

#include "../stream/route.h"

#include <stddef.h>

extern const struct route config_routes[];
extern const size_t config_routes_count;

#endif
