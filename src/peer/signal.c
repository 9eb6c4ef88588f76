/* signal.c - turnpike-peer's signalling: the session descriptions go
 * through files (atomic rename; the reader polls, bounded), stdin/stdout,
 * or Redis (SET with expiry plus PUBLISH, so neither side has to come
 * first). Blocking: it runs once, before the agent's event loop. */
#include "peer/signal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "turnpike/err.h"

#define POLL_MS 20  /* how often a reader looks for the file */
#define ROOM_MAX 64 /* redis://HOST:PORT/ROOM */
#define KEY_PREFIX "turnpike:peer:"
#define EXPIRY_SLACK_S 10 /* a stored description outlives the wait by this */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Files and stdio. */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int peer_signal_write(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	char tmp[4096];
	int fd = -1, rc = TP_ESYS, n;

	if (strcmp(path, "-") == 0) {
		if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
			set_err(err, errlen, "cannot write to stdout: %s", strerror(errno));
			return TP_ESYS;
		}
		return 0;
	}
	/* Beside the target, so rename(2) stays in one file system. */
	n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		set_err(err, errlen, "%s: path too long", path);
		return TP_ESYS;
	}
	/* 0600: the description carries the ICE password. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		set_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return TP_ESYS;
	}
	if (write_all(fd, text, len) != 0) {
		set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		set_err(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	return rc;
}

/* Reads fd to its end by the deadline, at most PEER_SDP_MAX bytes. */
static int read_fd(int fd, const char *name, int64_t deadline, char **text, size_t *len, char *err,
		   size_t errlen)
{
	char *buf = malloc(PEER_SDP_MAX + 1);
	size_t n = 0;
	int rc;

	if (!buf) {
		set_err(err, errlen, "%s: out of memory", name);
		return TP_ESYS;
	}
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t r;

		if (left <= 0) {
			set_err(err, errlen, "%s: not complete in time", name);
			rc = TP_ETIMEDOUT;
			goto out;
		}
		rc = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (rc < 0 && errno != EINTR) {
			set_err(err, errlen, "%s: %s", name, strerror(errno));
			rc = TP_ESYS;
			goto out;
		}
		if (rc <= 0)
			continue;
		/* one byte past the cap tells "too big" from "exactly full" */
		r = read(fd, buf + n, PEER_SDP_MAX + 1 - n);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			set_err(err, errlen, "cannot read %s: %s", name, strerror(errno));
			rc = TP_ESYS;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > PEER_SDP_MAX) {
			set_err(err, errlen, "%s: over %d bytes", name, PEER_SDP_MAX);
			rc = TP_ENOSPC;
			goto out;
		}
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
out:
	free(buf);
	return rc;
}

int peer_signal_read(const char *path, int timeout_ms, char **text, size_t *len, char *err,
		     size_t errlen)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct stat st;
	int fd, rc;

	*text = NULL;
	*len = 0;
	if (strcmp(path, "-") == 0)
		return read_fd(STDIN_FILENO, "stdin", deadline, text, len, err, errlen);
	/* The writer renames the file into place: once it opens, it is whole. */
	while ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		if (errno != ENOENT) {
			set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
			return TP_ESYS;
		}
		if (now_ms() >= deadline) {
			set_err(err, errlen, "%s: no such file after %d ms", path, timeout_ms);
			return TP_ETIMEDOUT;
		}
		usleep(POLL_MS * 1000);
	}
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		set_err(err, errlen, "cannot read %s: %s", path,
			S_ISDIR(st.st_mode) ? "a directory" : strerror(errno));
		close(fd);
		return TP_ESYS;
	}
	if (S_ISREG(st.st_mode) && st.st_size > PEER_SDP_MAX) {
		set_err(err, errlen, "%s: over %d bytes", path, PEER_SDP_MAX);
		close(fd);
		return TP_ENOSPC;
	}
	rc = read_fd(fd, path, deadline, text, len, err, errlen);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Redis. */

struct redis_url {
	char host[256];
	int port;
	char room[ROOM_MAX + 1];
};

/* redis://HOST[:PORT]/ROOM, HOST a name, an IPv4 or a bracketed IPv6
 * literal; ROOM of letters, digits and "-_.". */
static int url_parse(const char *url, struct redis_url *u, char *err, size_t errlen)
{
	const char *p, *host, *hend, *slash;
	size_t hlen, rlen;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (strncmp(url, "redis://", 8) != 0)
		goto bad;
	host = p = url + 8;
	slash = strchr(p, '/');
	if (!slash)
		goto bad;
	if (memchr(p, '@', (size_t)(slash - p))) {
		set_err(err, errlen, "%.64s: user and password in the URL are not supported", url);
		return TP_EINVAL;
	}
	if (*p == '[') {
		host = p + 1;
		hend = memchr(host, ']', (size_t)(slash - host));
		if (!hend)
			goto bad;
		p = hend + 1;
	} else {
		hend = memchr(p, ':', (size_t)(slash - p));
		if (!hend)
			hend = slash;
		p = hend;
	}
	hlen = (size_t)(hend - host);
	if (hlen == 0 || hlen >= sizeof(u->host))
		goto bad;
	memcpy(u->host, host, hlen);
	if (*p == ':') {
		char *end;
		long v = strtol(p + 1, &end, 10);
		if (end == p + 1 || end != slash || v < 1 || v > 65535)
			goto bad;
		u->port = (int)v;
	} else if (p != slash) {
		goto bad;
	}
	rlen = strlen(slash + 1);
	if (rlen == 0 || rlen > ROOM_MAX)
		goto bad;
	for (size_t i = 0; i < rlen; i++) {
		char c = slash[1 + i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			goto bad;
	}
	memcpy(u->room, slash + 1, rlen);
	return 0;
bad:
	set_err(err, errlen,
		"%.64s: not redis://HOST[:PORT]/ROOM (ROOM: 1..64 of letters, digits, -_.)", url);
	return TP_EINVAL;
}

static struct timeval tv_ms(int64_t ms)
{
	struct timeval tv;

	if (ms < 1)
		ms = 1;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

static redisContext *redis_open(const struct redis_url *u, int64_t deadline, char *err,
				size_t errlen)
{
	redisContext *c = redisConnectWithTimeout(u->host, u->port, tv_ms(deadline - now_ms()));

	if (!c || c->err) {
		set_err(err, errlen, "redis %s:%d: %s", u->host, u->port,
			c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	return c;
}

/* A command's reply; NULL (err set) on a lost connection or an error
 * reply. The caller frees. */
static redisReply *redis_cmd(redisContext *c, const struct redis_url *u, char *err, size_t errlen,
			     const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!r) {
		set_err(err, errlen, "redis %s:%d: %s", u->host, u->port, c->errstr);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		set_err(err, errlen, "redis %s:%d: %.200s", u->host, u->port, r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* A description out of a bulk string, copied for the caller. */
static int take_text(const char *s, size_t n, char **text, size_t *len, char *err, size_t errlen)
{
	if (n > PEER_SDP_MAX) {
		set_err(err, errlen, "redis: the other side's description is over %d bytes",
			PEER_SDP_MAX);
		return TP_ENOSPC;
	}
	if (!(*text = malloc(n + 1))) {
		set_err(err, errlen, "redis: out of memory");
		return TP_ESYS;
	}
	memcpy(*text, s, n);
	(*text)[n] = '\0';
	*len = n;
	return 0;
}

/* Waits on the subscribed context for a message on the channel. */
static int wait_message(redisContext *sub, const struct redis_url *u, const char *chan,
			int64_t deadline, char **text, size_t *len, char *err, size_t errlen)
{
	for (;;) {
		redisReply *r = NULL;
		int64_t left = deadline - now_ms();
		int rc;

		if (left <= 0 || redisSetTimeout(sub, tv_ms(left)) != REDIS_OK)
			goto timeout;
		if (redisGetReply(sub, (void **)&r) != REDIS_OK) {
			/* SO_RCVTIMEO ran out: hiredis says EAGAIN or "timeout" */
#ifdef REDIS_ERR_TIMEOUT
			if (sub->err == REDIS_ERR_TIMEOUT)
				goto timeout;
#endif
			if (sub->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK))
				goto timeout;
			set_err(err, errlen, "redis %s:%d: %s", u->host, u->port, sub->errstr);
			return TP_ECLOSED;
		}
		/* ["message", channel, payload]; anything else is not ours */
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[0]->str, "message") == 0 &&
		    r->element[1]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[1]->str, chan) == 0 &&
		    r->element[2]->type == REDIS_REPLY_STRING) {
			rc = take_text(r->element[2]->str, r->element[2]->len, text, len, err,
				       errlen);
			freeReplyObject(r);
			return rc;
		}
		freeReplyObject(r);
	}
timeout:
	return TP_ETIMEDOUT; /* the caller says what was missing */
}

int peer_signal_redis(const char *url, bool offerer, const char *local, size_t len, int timeout_ms,
		      char **remote, size_t *rlen, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	char mine[ROOM_MAX + 32], theirs[ROOM_MAX + 32];
	redisContext *sub = NULL, *cmd = NULL;
	redisReply *r = NULL;
	struct redis_url u;
	long long expiry;
	int rc;

	*remote = NULL;
	*rlen = 0;
	if ((rc = url_parse(url, &u, err, errlen)) != 0)
		return rc;
	/* The key is also the channel: turnpike:peer:ROOM:offer / :answer. */
	snprintf(mine, sizeof(mine), KEY_PREFIX "%s:%s", u.room, offerer ? "offer" : "answer");
	snprintf(theirs, sizeof(theirs), KEY_PREFIX "%s:%s", u.room, offerer ? "answer" : "offer");
	expiry = (timeout_ms > 0 ? timeout_ms / 1000 + 1 : 1) + EXPIRY_SLACK_S;

	rc = TP_ECLOSED;
	if (!(sub = redis_open(&u, deadline, err, errlen)) ||
	    !(cmd = redis_open(&u, deadline, err, errlen)))
		goto out;
	redisSetTimeout(cmd, tv_ms(deadline - now_ms()));
	redisSetTimeout(sub, tv_ms(deadline - now_ms()));
	/* Subscribe before looking for the stored one: a description the
	 * other side stores after our GET is published after our SUBSCRIBE. */
	if (!(r = redis_cmd(sub, &u, err, errlen, "SUBSCRIBE %s", theirs)))
		goto out;
	freeReplyObject(r);
	/* Store, then publish: a side that subscribes later finds it stored. */
	if (!(r = redis_cmd(cmd, &u, err, errlen, "SET %s %b EX %lld", mine, local, len, expiry)))
		goto out;
	freeReplyObject(r);
	if (!(r = redis_cmd(cmd, &u, err, errlen, "PUBLISH %s %b", mine, local, len)))
		goto out;
	freeReplyObject(r);
	if (!(r = redis_cmd(cmd, &u, err, errlen, "GET %s", theirs)))
		goto out;
	if (r->type == REDIS_REPLY_STRING)
		rc = take_text(r->str, r->len, remote, rlen, err, errlen);
	else
		rc = wait_message(sub, &u, theirs, deadline, remote, rlen, err, errlen);
	freeReplyObject(r);
	r = NULL;
	if (rc == 0) {
		/* Consumed: a later call in the same room does not find it. */
		redisSetTimeout(cmd, tv_ms(1000));
		if ((r = redis_cmd(cmd, &u, NULL, 0, "DEL %s", theirs)))
			freeReplyObject(r);
		r = NULL;
	}
out:
	redisFree(sub);
	redisFree(cmd);
	if (rc == TP_ETIMEDOUT && err && errlen)
		set_err(err, errlen, "redis %s:%d: no %s in room %s within %d ms", u.host, u.port,
			offerer ? "answer" : "offer", u.room, timeout_ms);
	return rc;
}
