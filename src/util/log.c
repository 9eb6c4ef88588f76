/* log.c - leveled logging to stderr, a file or syslog, plus rate limiting. */
#include <openssl/err.h>
#include "util/log.h"

#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "turnpike/err.h"

static enum log_level log_level = LOG_LVL_INFO;
static enum log_dest log_dest = LOG_DEST_STDERR;
static FILE *log_file;
/* stderr is systemd's journal: no timestamps, a <priority> prefix. */
static bool log_journal;
/* log-format=json: one JSON object a line. */
static bool log_json;
static char *log_path;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_name[] = {"error", "warning", "info", "debug"};

int log_level_parse(const char *s)
{
	if (!strcmp(s, "err") || !strcmp(s, "error"))
		return LOG_LVL_ERR;
	if (!strcmp(s, "warn") || !strcmp(s, "warning"))
		return LOG_LVL_WARN;
	if (!strcmp(s, "info"))
		return LOG_LVL_INFO;
	if (!strcmp(s, "debug"))
		return LOG_LVL_DEBUG;
	return -1;
}

void log_set_level(enum log_level level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

/* systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connected
 * to stderr; when stderr is still that stream, the journal stamps the time
 * and reads the priority from a "<N>" prefix (sd-daemon(3)). */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	return fstat(2, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

int log_open(enum log_level level, enum log_dest dest, const char *path)
{
	int rc = 0;

	log_close();
	log_set_level(level);
	log_dest = dest;
	if (dest == LOG_DEST_SYSLOG) {
		openlog("turnpiked", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	} else if (dest == LOG_DEST_FILE && path && strcmp(path, "-") != 0) {
		log_path = strdup(path);
		if (!log_path)
			return TP_ENOMEM;
		rc = log_reopen();
	} else {
		log_dest = LOG_DEST_STDERR;
		log_journal = stderr_is_journal();
	}
	return rc;
}

int log_reopen(void)
{
	FILE *f, *old;

	if (log_dest != LOG_DEST_FILE || !log_path)
		return 0;
	f = fopen(log_path, "a");
	if (!f) {
		log_err("cannot open log file %s: %s", log_path, strerror(errno));
		return TP_ESYS;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	pthread_mutex_lock(&log_lock);
	old = log_file;
	log_file = f;
	pthread_mutex_unlock(&log_lock);
	if (old)
		fclose(old);
	return 0;
}

void log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_file)
		fclose(log_file);
	log_file = NULL;
	pthread_mutex_unlock(&log_lock);
	if (log_dest == LOG_DEST_SYSLOG)
		closelog();
	free(log_path);
	log_path = NULL;
	log_dest = LOG_DEST_STDERR;
}

/* Appends text to out (at *n, capacity cap) as the inside of a JSON string
 * (RFC 8259 §7): quote, backslash and control characters escaped. Text is
 * ASCII here (network bytes go through log_escape first). */
static void json_text(char *out, size_t cap, size_t *n, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p && *n + 7 < cap; p++) {
		if (*p == '"' || *p == '\\') {
			out[(*n)++] = '\\';
			out[(*n)++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			*n += (size_t)snprintf(out + *n, cap - *n, "\\u%04x", *p);
		} else {
			out[(*n)++] = (char)*p;
		}
	}
	out[*n] = '\0';
}

/* Writes one line: text (the message), and in the json format the fields
 * of an event (a JSON object, or NULL) under "event". */
static void write_line(enum log_level level, const char *text, const char *fields)
{
	static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[2048];
	struct timeval tv;
	struct tm tm;
	bool json = __atomic_load_n(&log_json, __ATOMIC_RELAXED);
	size_t n;
	int k;

	if (log_dest == LOG_DEST_SYSLOG && !json) {
		syslog(syslog_prio[level], "%s", text);
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	if (json) {
		k = snprintf(line, sizeof(line),
			     "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\","
			     "\"msg\":\"",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, (long)(tv.tv_usec / 1000), level_name[level]);
		n = (size_t)k;
		json_text(line, sizeof(line) - 2, &n, text);
		k = snprintf(line + n, sizeof(line) - n, fields ? "\",\"event\":%s}" : "\"}",
			     fields);
		/* A line that does not fit loses its event, never its form. */
		if (k < 0 || (size_t)k >= sizeof(line) - n)
			snprintf(line + n, sizeof(line) - n, "\"}");
		if (log_dest == LOG_DEST_SYSLOG) {
			syslog(syslog_prio[level], "%s", line);
			return;
		}
	} else if (log_journal && !log_file) {
		snprintf(line, sizeof(line), "<%d>%s: %s", syslog_prio[level], level_name[level],
			 text);
	} else {
		snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: %s",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (long)(tv.tv_usec / 1000), level_name[level], text);
	}
	/* One write per line keeps lines whole across threads. */
	pthread_mutex_lock(&log_lock);
	fprintf(log_file ? log_file : stderr, "%s\n", line);
	pthread_mutex_unlock(&log_lock);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char text[1024];

	if (level > log_get_level())
		return;
	vsnprintf(text, sizeof(text), fmt, ap);
	write_line(level, text, NULL);
}

void log_event(enum log_level level, const char *fields, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (level > log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	write_line(level, text, fields);
}

void log_set_format(enum log_format f)
{
	__atomic_store_n(&log_json, f == LOG_FMT_JSON, __ATOMIC_RELAXED);
}

int log_format_parse(const char *s)
{
	if (!strcmp(s, "text"))
		return LOG_FMT_TEXT;
	if (!strcmp(s, "json"))
		return LOG_FMT_JSON;
	return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

bool log_rl_take(struct log_ratelimit *rl, enum log_level level)
{
	time_t now = time(NULL);

	if (level > log_get_level())
		return false;
	if (now - rl->window_start >= (time_t)rl->interval) {
		if (rl->suppressed)
			log_msg(level, "(%u similar messages suppressed)", rl->suppressed);
		rl->window_start = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= rl->burst) {
		rl->suppressed++;
		return false;
	}
	rl->printed++;
	return true;
}

void log_rl(struct log_ratelimit *rl, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!log_rl_take(rl, level))
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

char *log_escape(char *dst, size_t cap, const void *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = src;
	size_t o = 0;

	if (cap == 0)
		return dst;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= cap)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= cap)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}

void log_ssl_error(const char *who, const char *what, const char *arg)
{
	char why[256] = "unknown error";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, why, sizeof(why));
	log_err("%s: %s%s%s: %s", who, what, arg ? " " : "", arg ? arg : "", why);
	ERR_clear_error();
}
