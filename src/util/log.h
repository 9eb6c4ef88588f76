/* log.h - leveled logging to stderr, a file or syslog, plus rate limiting. */
#ifndef TURNPIKE_UTIL_LOG_H
#define TURNPIKE_UTIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

enum log_dest {
	LOG_DEST_STDERR = 0,
	LOG_DEST_FILE,
	LOG_DEST_SYSLOG
};

/* Sets the level and destination. path is used for LOG_DEST_FILE ("-" or
 * NULL means stderr). Returns 0 or TP_ESYS (file could not be opened; logging
 * stays on stderr). Call from the main thread before workers start. */
int log_open(enum log_level level, enum log_dest dest, const char *path);
/* Reopens the log file (SIGHUP, logrotate). Returns 0 or TP_ESYS. */
int log_reopen(void);
void log_close(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "err|error|warn|warning|info|debug"; returns -1 if unknown. */
int log_level_parse(const char *s);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs, as an error in one line, "who: what[ arg]: " and OpenSSL's first
 * queued error, then clears OpenSSL's queue. */
void log_ssl_error(const char *who, const char *what, const char *arg);
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

enum log_format {
	LOG_FMT_TEXT = 0,
	LOG_FMT_JSON
};
/* log-format: text lines, or one JSON object a line ({"time", "level",
 * "msg"}, and "event" for log_event). Any thread. */
void log_set_format(enum log_format f);
/* Parses "text|json"; returns -1 if unknown. */
int log_format_parse(const char *s);
/* A line about an event: the message, and in the json format also fields
 * (a complete JSON object, or NULL) as "event". */
void log_event(enum log_level level, const char *fields, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                       \
	do {                                                 \
		if (log_get_level() >= LOG_LVL_DEBUG)        \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

/*
 * Rate limiter for messages caused by network input: at most `burst`
 * messages per `interval` seconds; when a window closes, the number
 * suppressed is reported once. One per call site, owned by one thread.
 */
struct log_ratelimit {
	unsigned interval;
	unsigned burst;
	time_t window_start;
	unsigned printed;
	unsigned suppressed;
};
#define LOG_RATELIMIT_INIT(iv, b)  \
	{                          \
		(iv), (b), 0, 0, 0 \
	}

void log_rl(struct log_ratelimit *rl, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Whether one more message fits rl now (the level logged at all, and the
 * window not full; a closed window's suppressed count is reported). */
bool log_rl_take(struct log_ratelimit *rl, enum log_level level);

/*
 * Escapes bytes that came from the network for a log line: printable ASCII
 * kept, the rest as \xNN. Always NUL-terminates dst (cap > 0). Returns dst.
 */
char *log_escape(char *dst, size_t cap, const void *src, size_t len);

#endif
