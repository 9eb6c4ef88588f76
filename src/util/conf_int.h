/* conf_int.h - shared inside the configuration code (conf.c,
 * conf_coturn.c), not beyond. */
#ifndef TURNPIKE_UTIL_CONF_INT_H
#define TURNPIKE_UTIL_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/conf.h"

/* A boolean value: 1/yes/true/on, 0/no/false/off, or none (on). Returns 0 or
 * TP_EINVAL. */
int conf_parse_bool(const char *val, bool *out);

enum {
	CONF_COTURN_NOTICE = 1,
	CONF_COTURN_ERROR = 2
};

/* A coturn key that is no turnpike option: 0 when name is none of them,
 * CONF_COTURN_NOTICE (accepted, or mapped onto c; msg says how) or
 * CONF_COTURN_ERROR (msg says why, and what to use instead). */
int conf_coturn_key(struct conf *c, const char *name, const char *val, char *msg, size_t msglen);

/* The option or coturn key closest to a misspelt name, or NULL. */
const char *conf_suggest(const char *name);

#endif
