/*
 * The per-directory config documents of /v1/config/mcp and
 * /v1/config/skills (spec section 8): validation of one entry into its
 * canonical form, parsing of a whole config file, and the file's
 * pretty-printed text.  No I/O here, so that it can be unit-tested and
 * fuzzed on its own.
 */
#ifndef ADAPTERS_CONFIG_DECODE_H
#define ADAPTERS_CONFIG_DECODE_H

#include "../stream/problem.h"

#include <cjson/cJSON.h>
#include <stddef.h>

enum config_kind {
    CONFIG_MCP = 0, /* mcp.json: name -> McpServerConfig */
    CONFIG_SKILLS,  /* skills.json: name -> SkillsConfig */
};

/*
 * Largest timeoutMs (some 31,000 years).  JSON numbers are doubles and
 * cJSON writes 15 significant digits, so larger integers would not come
 * back as they were sent.
 */
#define CONFIG_TIMEOUT_MAX 999999999999999ull

/* "mcp" or "skills": the URL segment, the file stem and the sessionId prefix of a 404. */
const char *config_kind_name(enum config_kind kind);

/*
 * Validates one entry (a request body or a value in the file) and builds
 * its canonical form in *ret (free with cJSON_Delete): aliases resolved
 * (stdio -> local, http -> remote), nulls and unknown members dropped,
 * `args` defaulted to [], members in the reference's order, string maps
 * sorted by key.  Fails with a 422 problem naming the field; *ret is
 * untouched then.
 */
int config_entry_decode(enum config_kind kind, const cJSON *in, cJSON **ret, struct problem *err);

/*
 * Parses the text of a config file (n bytes; empty or blank means no
 * entries) into a canonical map of name -> entry in *ret.  Any defect is a
 * 400 problem "invalid config file <path>: ...".
 */
int config_file_parse(enum config_kind kind, const char *text, size_t n, const char *path,
                      cJSON **ret, struct problem *err);

/*
 * The file text for map as the reference writes it: keys sorted, two-space
 * indent, no trailing newline.  Returns a heap string (free()), length in
 * *ret_len.
 */
char *config_file_render(const cJSON *map, size_t *ret_len);

#endif
