/* stats.c - counter names and summing of per-worker counters. */
#include "turn/stats.h"

#include <stddef.h>

const char *const stats_drop_name[DROP_MAX] = {
	[DROP_NOT_STUN] = "not_stun",           [DROP_TRUNCATED] = "truncated",
	[DROP_MALFORMED] = "malformed",         [DROP_TOO_MANY_ATTRS] = "too_many_attributes",
	[DROP_FINGERPRINT] = "bad_fingerprint", [DROP_UNEXPECTED] = "unexpected_class",
	[DROP_OVERSIZE] = "oversize",           [DROP_NO_ALLOCATION] = "no_allocation",
	[DROP_NO_CHANNEL] = "no_channel",       [DROP_NO_PERMISSION] = "no_permission",
	[DROP_POLICY] = "peer_policy",          [DROP_RATE] = "max_bps",
	[DROP_CAPACITY] = "bps_capacity",       [DROP_BAD_INDICATION] = "bad_indication",
	[DROP_SEND_FAILED] = "send_failed",     [DROP_LOOKUP_RATE] = "lookup_rate",
	[DROP_UNAUTH_RATE] = "unauth_rate",
};

const unsigned stats_lifetime_bounds[STATS_LIFETIME_BUCKETS - 1] = {10,   30,   60,   300,  600,
								    1800, 3600, 7200, 21600};

void stats_observe_lifetime(struct turn_stats *st, uint64_t ms)
{
	size_t i = 0;

	while (i < STATS_LIFETIME_BUCKETS - 1 && ms > (uint64_t)stats_lifetime_bounds[i] * 1000)
		i++;
	STAT_INC(st->lifetime_bucket[i]);
	STAT_ADD(st->lifetime_sum_ms, ms);
}

const char *const stats_auth_name[AUTHR_MAX] = {
	[AUTHR_OK] = "ok",
	[AUTHR_CHALLENGE] = "challenge",
	[AUTHR_BAD_REQUEST] = "bad_request",
	[AUTHR_STALE_NONCE] = "stale_nonce",
	[AUTHR_UNKNOWN_USER] = "unknown_user",
	[AUTHR_EXPIRED] = "expired",
	[AUTHR_BAD_INTEGRITY] = "bad_integrity",
	[AUTHR_WRONG_USER] = "wrong_credentials",
};

const unsigned stats_err_code[ERR_MAX] = {300, 400, 401, 403, 420, 437, 438,
					  440, 441, 442, 443, 486, 500, 508};

enum stats_err stats_err_index(int code)
{
	for (int i = 0; i < ERR_MAX; i++)
		if (stats_err_code[i] == (unsigned)code)
			return (enum stats_err)i;
	return ERR_MAX;
}

const char *const stats_transport_name[TP_TRANSPORT_MAX] = {
	[TP_UDP] = "udp",
	[TP_TCP] = "tcp",
	[TP_TLS] = "tls",
	[TP_DTLS] = "dtls",
};

const char *const stats_family_name[2] = {"ipv4", "ipv6"};

void stats_sum(struct turn_stats *dst, const struct turn_stats *src)
{
	/* The struct is all uint64_t counters: sum it as an array. */
	const uint64_t *s = (const uint64_t *)src;
	uint64_t *d = (uint64_t *)dst;

	for (size_t i = 0; i < sizeof(*src) / sizeof(uint64_t); i++)
		d[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}
