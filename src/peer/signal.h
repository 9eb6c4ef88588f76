/* signal.h - how turnpike-peer exchanges session descriptions (issue 11):
 * files (or stdin/stdout as "-"), or Redis (redis://HOST:PORT/ROOM). The
 * exchange happens once, after gathering, before checks start. */
#ifndef TURNPIKE_PEER_SIGNAL_H
#define TURNPIKE_PEER_SIGNAL_H

#include <stdbool.h>
#include <stddef.h>

#define PEER_SDP_MAX (64 * 1024)

/* Writes text to path: "-" is stdout (flushed); a file is written to a
 * temporary name beside it and renamed into place, so a reader polling for
 * it never sees half. Returns 0, TP_ESYS (err says which path and why). */
int peer_signal_write(const char *path, const char *text, size_t len, char *err, size_t errlen);

/* Waits until path exists and reads it whole ("-": stdin to end of file),
 * at most PEER_SDP_MAX bytes, up to timeout_ms in all. Returns 0 with
 * *text (malloc'd, NUL-terminated; the caller frees) and *len,
 * TP_ETIMEDOUT, TP_ENOSPC (too big), TP_ESYS. */
int peer_signal_read(const char *path, int timeout_ms, char **text, size_t *len, char *err,
		     size_t errlen);

/* Redis: publishes this side's description in ROOM under its role (offer or
 * answer) and waits up to timeout_ms for the other side's, whichever side
 * comes first (a description published before the other side subscribed
 * is still found). Host names are resolved. Returns 0 with *remote as
 * above, TP_ETIMEDOUT, TP_EINVAL (bad URL), TP_ECLOSED (Redis unreachable). */
int peer_signal_redis(const char *url, bool offerer, const char *local, size_t len, int timeout_ms,
		      char **remote, size_t *rlen, char *err, size_t errlen);

#endif
