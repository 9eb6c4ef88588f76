/* test_util_conf.c - unit tests for src/util/conf.c and conf_schema.c: the
 * defaults, setting values, the file and command-line parsers, the printed
 * help, sample and man page, validation and reload. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "turnpike/err.h"
#include "util/conf.h"
#include "util/log.h"

#define MISSING "/tmp/turnpike-test-no-such-file.conf"

/* The runtime value of option o inside c. */
#define FIELD(c, o, T) ((T *)((char *)(c) + (o)->off))

/* Temp files made by this test, removed at the end. */
static char tmp_paths[16][64];
static unsigned n_tmp;

/* Writes text to a new file in /tmp; returns its path. */
static const char *write_tmp(const char *text)
{
	char *path;
	FILE *f;
	int fd;

	if (n_tmp >= sizeof(tmp_paths) / sizeof(tmp_paths[0])) {
		fprintf(stderr, "too many temp files\n");
		exit(1);
	}
	path = tmp_paths[n_tmp++];
	snprintf(path, sizeof(tmp_paths[0]), "/tmp/test_util_conf.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		perror("mkstemp");
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	return path;
}

static void remove_tmp(void)
{
	for (unsigned i = 0; i < n_tmp; i++)
		unlink(tmp_paths[i]);
	n_tmp = 0;
}

/* Runs conf_parse_args over a NULL-terminated list of arguments (after the
 * program name). */
static int parse(struct conf *c, const char *default_path, enum conf_action *action, char *err,
		 size_t errlen, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	const char *a;

	argv[argc++] = (char *)"turnpiked";
	va_start(ap, errlen);
	while ((a = va_arg(ap, const char *)) != NULL && argc < 31)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return conf_parse_args(c, argc, argv, default_path, action, err, errlen);
}

/* Captures what a printer writes; returns a malloc'd string. */
static char *capture(void (*print)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return strdup("");
	print(f);
	fclose(f);
	return buf;
}

static void print_help_fn(FILE *f)
{
	conf_print_help(f, "turnpiked");
}

/* The longest line of s, in bytes. */
static size_t longest_line(const char *s)
{
	size_t best = 0;

	while (*s) {
		size_t n = strcspn(s, "\n");
		if (n > best)
			best = n;
		s += n;
		if (*s)
			s++;
	}
	return best;
}

static bool default_bool(const struct conf_opt *o)
{
	return o->def && (!strcmp(o->def, "true") || !strcmp(o->def, "yes") ||
			  !strcmp(o->def, "on") || !strcmp(o->def, "1"));
}

static void test_schema(void)
{
	size_t n = 0;

	for (const struct conf_opt *o = conf_schema; o->name; o++, n++) {
		CHECK(o->name[0] != '\0');
		CHECK(o->help && o->help[0] != '\0');
		CHECK(conf_opt_find(o->name) == o);
		if (o->type == CONF_INT) {
			CHECK(o->min <= o->max);
			CHECK(o->def != NULL);
		}
		for (const struct conf_opt *p = conf_schema; p < o; p++)
			CHECK(strcmp(p->name, o->name) != 0);
	}
	CHECK(n > 0);
	CHECK(conf_opt_find("no-such-option") == NULL);
	CHECK(conf_opt_find("") == NULL);
	CHECK(conf_opt_find("listening") == NULL);
}

static void test_defaults(void)
{
	struct conf c;

	CHECK_INT(conf_init(&c), 0);
	for (const struct conf_opt *o = conf_schema; o->name; o++) {
		switch (o->type) {
		case CONF_BOOL:
			CHECK_INT(*FIELD(&c, o, bool), default_bool(o));
			break;
		case CONF_INT:
			CHECK_INT(*FIELD(&c, o, long), o->def ? strtol(o->def, NULL, 0) : 0);
			CHECK(*FIELD(&c, o, long) >= o->min);
			CHECK(*FIELD(&c, o, long) <= o->max);
			break;
		case CONF_STR:
			if (o->def)
				CHECK_STR(*FIELD(&c, o, char *), o->def);
			else
				CHECK(*FIELD(&c, o, char *) == NULL);
			break;
		case CONF_LIST: {
			const struct conf_list *l = FIELD(&c, o, struct conf_list);
			if (o->def) {
				CHECK_INT(l->n, 1);
				CHECK(l->n == 1 && !strcmp(l->v[0], o->def));
			} else {
				CHECK_INT(l->n, 0);
			}
			break;
		}
		}
	}
	/* A few spelled out, so a wrong table is noticed too. */
	CHECK_INT(c.listening_port, 3478);
	CHECK_INT(c.listening_ip.n, 0);
	CHECK(!c.no_udp && !c.no_tcp);
	CHECK_STR(c.log_level, "info");
	CHECK_STR(c.log_file, "-");
	CHECK(c.config_path == NULL);
	conf_cleanup(&c);
}

static void test_set_bool(void)
{
	static const struct {
		const char *val;
		bool want;
	} ok[] = {
		{"yes", true}, {"no", false},  {"on", true},   {"off", false},
		{"1", true},   {"0", false},   {"true", true}, {"false", false},
		{"YES", true}, {"Off", false}, {"True", true},
	};
	struct conf c;
	char err[256];

	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_set(&c, "no-udp", NULL, err, sizeof(err)), 0);
	CHECK(c.no_udp);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		c.no_udp = !ok[i].want;
		CHECK_INT(conf_set(&c, "no-udp", ok[i].val, err, sizeof(err)), 0);
		CHECK_INT(c.no_udp, ok[i].want);
	}
	c.no_udp = true;
	err[0] = '\0';
	CHECK_INT(conf_set(&c, "no-udp", "maybe", err, sizeof(err)), TP_EINVAL);
	CHECK(c.no_udp);
	CHECK(strstr(err, "no-udp") != NULL);
	CHECK(strstr(err, "maybe") != NULL);
	CHECK_INT(conf_set(&c, "no-udp", "", err, sizeof(err)), TP_EINVAL);
	CHECK_INT(conf_set(&c, "no-udp", "yess", err, sizeof(err)), TP_EINVAL);
	CHECK_INT(conf_set(&c, "no-udp", "2", err, sizeof(err)), TP_EINVAL);
	CHECK(c.no_udp);
	conf_cleanup(&c);
}

static void test_set_int(void)
{
	static const char *const bad[] = {
		"0",
		"65536",
		"-1",
		"abc",
		"12abc",
		"",
		"1.5",
		"99999999999999999999999999",
		"-99999999999999999999999999",
	};
	struct conf c;
	char err[256];

	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_set(&c, "listening-port", "1", err, sizeof(err)), 0);
	CHECK_INT(c.listening_port, 1);
	CHECK_INT(conf_set(&c, "listening-port", "65535", err, sizeof(err)), 0);
	CHECK_INT(c.listening_port, 65535);
	CHECK_INT(conf_set(&c, "listening-port", "5349", err, sizeof(err)), 0);
	CHECK_INT(c.listening_port, 5349);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_INT(conf_set(&c, "listening-port", bad[i], err, sizeof(err)), TP_EINVAL);
		CHECK(strstr(err, "listening-port") != NULL);
		CHECK(strstr(err, "1 to 65535") != NULL);
		CHECK_INT(c.listening_port, 5349);
	}
	/* Needs a value. */
	err[0] = '\0';
	CHECK_INT(conf_set(&c, "listening-port", NULL, err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, "needs a value") != NULL);
	CHECK_INT(c.listening_port, 5349);

	/* Other ranges from the table. */
	CHECK_INT(conf_set(&c, "relay-threads", "0", err, sizeof(err)), 0);
	CHECK_INT(conf_set(&c, "relay-threads", "256", err, sizeof(err)), 0);
	CHECK_INT(c.relay_threads, 256);
	CHECK_INT(conf_set(&c, "relay-threads", "257", err, sizeof(err)), TP_EINVAL);
	CHECK_INT(conf_set(&c, "max-tcp-connections", "1048576", err, sizeof(err)), 0);
	CHECK_INT(c.max_tcp_connections, 1048576);
	CHECK_INT(conf_set(&c, "max-tcp-connections", "1048577", err, sizeof(err)), TP_EINVAL);

	/* A tiny error buffer is cut, not overrun. */
	{
		char small[8];
		memset(small, 'x', sizeof(small));
		CHECK_INT(conf_set(&c, "listening-port", "0", small, sizeof(small)), TP_EINVAL);
		CHECK_INT(strlen(small), sizeof(small) - 1);
	}
	conf_cleanup(&c);
}

static void test_set_str_list(void)
{
	struct conf c;
	char err[256];

	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_set(&c, "log-file", "/var/log/a.log", err, sizeof(err)), 0);
	CHECK_STR(c.log_file, "/var/log/a.log");
	/* Replacing frees the old string (ASan would notice a leak). */
	CHECK_INT(conf_set(&c, "log-file", "/var/log/b.log", err, sizeof(err)), 0);
	CHECK_STR(c.log_file, "/var/log/b.log");
	CHECK_INT(conf_set(&c, "log-file", "", err, sizeof(err)), 0);
	CHECK_STR(c.log_file, "");
	CHECK_INT(conf_set(&c, "log-file", NULL, err, sizeof(err)), TP_EINVAL);
	CHECK_STR(c.log_file, "");

	/* A string with a check. */
	CHECK_INT(conf_set(&c, "log-level", "debug", err, sizeof(err)), 0);
	CHECK_STR(c.log_level, "debug");
	CHECK_INT(conf_set(&c, "log-level", "warn", err, sizeof(err)), 0);
	CHECK_STR(c.log_level, "warn");
	err[0] = '\0';
	CHECK_INT(conf_set(&c, "log-level", "loud", err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, "loud") != NULL);
	CHECK_STR(c.log_level, "warn");

	/* Lists append, in order, and keep what passed the check. */
	CHECK_INT(conf_set(&c, "listening-ip", "192.0.2.1", err, sizeof(err)), 0);
	CHECK_INT(conf_set(&c, "listening-ip", "2001:db8::1", err, sizeof(err)), 0);
	CHECK_INT(conf_set(&c, "listening-ip", "[::1]", err, sizeof(err)), 0);
	err[0] = '\0';
	CHECK_INT(conf_set(&c, "listening-ip", "host.example", err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, "host.example") != NULL);
	CHECK_INT(conf_set(&c, "listening-ip", "192.0.2.1:80", err, sizeof(err)), TP_EINVAL);
	CHECK_INT(conf_set(&c, "listening-ip", "", err, sizeof(err)), TP_EINVAL);
	CHECK_INT(conf_set(&c, "listening-ip", NULL, err, sizeof(err)), TP_EINVAL);
	CHECK_INT(c.listening_ip.n, 3);
	if (c.listening_ip.n == 3) {
		CHECK_STR(c.listening_ip.v[0], "192.0.2.1");
		CHECK_STR(c.listening_ip.v[1], "2001:db8::1");
		CHECK_STR(c.listening_ip.v[2], "[::1]");
	}

	/* Unknown options are refused with a reason naming them. */
	err[0] = '\0';
	CHECK_INT(conf_set(&c, "no-such-option", "1", err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, "unknown option") != NULL);
	CHECK(strstr(err, "no-such-option") != NULL);
	CHECK_INT(conf_set(&c, "", "1", err, sizeof(err)), TP_EINVAL);
	CHECK_INT(conf_set(&c, "Listening-Port", "1", err, sizeof(err)), TP_EINVAL);
	conf_cleanup(&c);
}

static void test_load_file(void)
{
	struct conf c;
	char err[512], line[6000];
	const char *path;
	size_t n;

	path = write_tmp("# a comment\n"
			 "   # an indented comment\n"
			 "\n"
			 "   \t  \n"
			 "\r\n"
			 "listening-port=1000\n"
			 "relay-threads = 4\n"
			 "tcp-idle-timeout 60\n"
			 "log-file \"/tmp/with space.log\"\n"
			 "log-level='debug'\n"
			 "no-software-attribute\n"
			 "no-udp   \t\n"
			 "syslog = off\r\n"
			 "max-tcp-connections\t=\t77\r\n"
			 "\tlistening-ip=192.0.2.1\r\n"
			 "listening-ip = \"::1\"\n"
			 "no-tcp=no"); /* last line without a newline */
	CHECK_INT(conf_init(&c), 0);
	c.syslog = true;
	c.no_tcp = true;
	err[0] = '\0';
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_INT(c.listening_port, 1000);
	CHECK_INT(c.relay_threads, 4);
	CHECK_INT(c.tcp_idle_timeout, 60);
	CHECK_STR(c.log_file, "/tmp/with space.log");
	CHECK_STR(c.log_level, "debug");
	CHECK(c.no_software_attribute);
	CHECK(c.no_udp);
	CHECK(!c.syslog);
	CHECK(!c.no_tcp);
	CHECK_INT(c.max_tcp_connections, 77);
	CHECK_INT(c.listening_ip.n, 2);
	if (c.listening_ip.n == 2) {
		CHECK_STR(c.listening_ip.v[0], "192.0.2.1");
		CHECK_STR(c.listening_ip.v[1], "::1");
	}
	/* Loading does not record the path; conf_parse_args does. */
	CHECK(c.config_path == NULL);
	conf_cleanup(&c);

	/* An empty file changes nothing. */
	path = write_tmp("");
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), 0);
	CHECK_INT(c.listening_port, 3478);
	conf_cleanup(&c);

	/* One pair of matching quotes is taken off; a quote without its
	 * closing one is refused. */
	path = write_tmp("log-file=\"'x'\"\nlog-level=\"info\n");
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), TP_EINVAL);
	CHECK_STR(c.log_file, "'x'");
	conf_cleanup(&c);

	/* An unknown key names the file and the line; the rest of the file
	 * is still read, so that every problem is found in one run, and the
	 * load fails. */
	path = write_tmp("listening-port=1000\n# comment\nbogus-key=1\nrelay-threads=3\n"
			 "relay-thread=2\nverbose\nuserdb=x\nno-cli\n");
	CHECK_INT(conf_init(&c), 0);
	err[0] = '\0';
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), TP_EINVAL);
	snprintf(line, sizeof(line), "%s:3:", path);
	CHECK(strstr(err, line) != NULL);
	CHECK(strstr(err, "bogus-key") != NULL);
	CHECK(strstr(err, "(and 2 more") != NULL);
	CHECK_INT(c.listening_port, 1000);
	CHECK_INT(c.relay_threads, 3);
	CHECK_INT(c.problems.n, 3);
	snprintf(line, sizeof(line),
		 "%s:5: unknown option 'relay-thread': did you mean 'relay-threads'?", path);
	CHECK_STR(c.problems.v[1], line);
	snprintf(line, sizeof(line), "%s:7: coturn's userdb: SQLite", path);
	CHECK(strncmp(c.problems.v[2], line, strlen(line)) == 0);
	/* coturn keys: verbose mapped onto log-level, no-cli accepted. */
	CHECK_STR(c.log_level, "info");
	CHECK_INT(c.notices.n, 2);
	snprintf(line, sizeof(line), "%s:6: verbose read as log-level=info", path);
	CHECK(strncmp(c.notices.v[0], line, strlen(line)) == 0);
	snprintf(line, sizeof(line), "%s:8: no-cli accepted", path);
	CHECK(strncmp(c.notices.v[1], line, strlen(line)) == 0);
	conf_cleanup(&c);
	/* Verbose is coturn's extra-verbose; switched off, no-cli is refused. */
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_set(&c, "Verbose", NULL, err, sizeof(err)), 0);
	CHECK_STR(c.log_level, "debug");
	CHECK_INT(conf_set(&c, "no-cli", "false", err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, "can only be switched on") != NULL);
	CHECK_INT(conf_set(&c, "nocli", NULL, err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, "did you mean 'no-cli'?") != NULL);
	CHECK_INT(conf_set(&c, "zzzzzzzzzzzz", NULL, err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, "did you mean") == NULL);
	conf_cleanup(&c);

	/* A bad value, also with file:line. */
	path = write_tmp("\nno-udp=maybe\n");
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), TP_EINVAL);
	snprintf(line, sizeof(line), "%s:2:", path);
	CHECK(strstr(err, line) != NULL);
	conf_cleanup(&c);
	path = write_tmp("listening-port=0x\n");
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), TP_EINVAL);
	snprintf(line, sizeof(line), "%s:1:", path);
	CHECK(strstr(err, line) != NULL);
	CHECK(strstr(err, "listening-port") != NULL);
	CHECK_INT(c.listening_port, 3478);
	conf_cleanup(&c);
	/* A bare key for a non-boolean. */
	path = write_tmp("log-level\n");
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, "needs a value") != NULL);
	conf_cleanup(&c);
	/* A value with no key. */
	path = write_tmp("=5\n");
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), TP_EINVAL);
	snprintf(line, sizeof(line), "%s:1:", path);
	CHECK(strstr(err, line) != NULL);
	conf_cleanup(&c);

	/* An overlong line is an error, not silently split. */
	n = (size_t)snprintf(line, sizeof(line), "log-file=");
	memset(line + n, 'a', sizeof(line) - n - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	path = write_tmp(line);
	CHECK_INT(conf_init(&c), 0);
	err[0] = '\0';
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, "too long") != NULL);
	CHECK(strstr(err, ":1:") != NULL);
	CHECK_STR(c.log_file, "-");
	conf_cleanup(&c);

	/* A missing file is a system error naming the file. */
	CHECK_INT(conf_init(&c), 0);
	err[0] = '\0';
	CHECK_INT(conf_load_file(&c, MISSING, err, sizeof(err)), TP_ESYS);
	CHECK(strstr(err, MISSING) != NULL);
	conf_cleanup(&c);
	remove_tmp();
}

static void test_parse_args(void)
{
	enum conf_action act;
	struct conf c;
	char err[512], arg[128];
	const char *file, *bad;

	file = write_tmp("listening-port=1000\n"
			 "log-level=warning\n"
			 "listening-ip=192.0.2.1\n"
			 "listening-ip=192.0.2.2\n"
			 "no-software-attribute\n"
			 "relay-threads=2\n");

	/* The file is read first, whatever the order; options override it;
	 * a list on the command line replaces the file's list. */
	CHECK_INT(conf_init(&c), 0);
	act = CONF_HELP;
	CHECK_INT(parse(&c, MISSING, &act, err, sizeof(err), "--listening-port=2000", "-c", file,
			"--log-level", "debug", "--listening-ip", "::1", "--listening-ip=10.0.0.1",
			"--no-tcp", "--syslog=no", "--tcp-idle-timeout=5", "--tcp-idle-timeout",
			"6", NULL),
		  0);
	CHECK_STR(err, "");
	CHECK_INT(act, CONF_RUN);
	CHECK_INT(c.listening_port, 2000);
	CHECK_STR(c.log_level, "debug");
	CHECK_INT(c.listening_ip.n, 2);
	if (c.listening_ip.n == 2) {
		CHECK_STR(c.listening_ip.v[0], "::1");
		CHECK_STR(c.listening_ip.v[1], "10.0.0.1");
	}
	CHECK(c.no_tcp);
	CHECK(!c.syslog);
	CHECK(c.no_software_attribute);
	CHECK_INT(c.relay_threads, 2);
	CHECK_INT(c.tcp_idle_timeout, 6);
	CHECK_STR(c.config_path, file);
	conf_cleanup(&c);

	/* Without a list on the command line the file's list stays. */
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--config", file, NULL), 0);
	CHECK_INT(c.listening_ip.n, 2);
	CHECK_INT(c.listening_port, 1000);
	conf_cleanup(&c);

	/* --config=FILE. */
	CHECK_INT(conf_init(&c), 0);
	snprintf(arg, sizeof(arg), "--config=%s", file);
	CHECK_INT(parse(&c, MISSING, &act, err, sizeof(err), arg, NULL), 0);
	CHECK_INT(c.listening_port, 1000);
	CHECK_STR(c.config_path, file);
	conf_cleanup(&c);

	/* The default file: used when present, fine when missing. */
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, file, &act, err, sizeof(err), NULL), 0);
	CHECK_INT(act, CONF_RUN);
	CHECK_INT(c.listening_port, 1000);
	CHECK_STR(c.config_path, file);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, MISSING, &act, err, sizeof(err), "--listening-port", "9", NULL), 0);
	CHECK_INT(c.listening_port, 9);
	CHECK(c.config_path == NULL);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), NULL), 0);
	CHECK(c.config_path == NULL);
	conf_cleanup(&c);

	/* ... but an explicit file must exist. */
	CHECK_INT(conf_init(&c), 0);
	err[0] = '\0';
	CHECK_INT(parse(&c, file, &act, err, sizeof(err), "-c", MISSING, NULL), TP_ESYS);
	CHECK(strstr(err, MISSING) != NULL);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--config=" MISSING, NULL), TP_ESYS);
	conf_cleanup(&c);

	/* A default file that exists but is broken is an error. */
	bad = write_tmp("no-such-option=1\n");
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, bad, &act, err, sizeof(err), NULL), TP_EINVAL);
	CHECK(strstr(err, ":1:") != NULL);
	conf_cleanup(&c);

	/* Actions. */
	{
		static const struct {
			const char *arg;
			enum conf_action want;
		} acts[] = {
			{"--help", CONF_HELP},           {"-h", CONF_HELP},
			{"--version", CONF_VERSION},     {"-V", CONF_VERSION},
			{"--print-man", CONF_PRINT_MAN},
		};
		for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
			CHECK_INT(conf_init(&c), 0);
			act = CONF_RUN;
			/* Actions win before any file is read or option checked. */
			CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "-c", MISSING, "--bogus",
					acts[i].arg, NULL),
				  0);
			CHECK_INT(act, acts[i].want);
			CHECK_INT(c.listening_port, 3478);
			conf_cleanup(&c);
		}
	}
	/* --print-config alone is the sample; with a file, what it means. */
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--bogus", "--print-config", NULL), 0);
	CHECK_INT(act, CONF_PRINT_SAMPLE);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, MISSING, &act, err, sizeof(err), "--print-config", "-c", file, NULL),
		  0);
	CHECK_INT(act, CONF_PRINT_EFFECTIVE);
	CHECK_INT(c.listening_port, 1000);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, MISSING, &act, err, sizeof(err), "--check-config", file, NULL), 0);
	CHECK_INT(act, CONF_CHECK);
	CHECK_INT(c.listening_port, 1000);
	CHECK_STR(c.config_path, file);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--check-config", bad, NULL), TP_EINVAL);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--check-config", MISSING, NULL),
		  TP_ESYS);
	conf_cleanup(&c);

	/* Errors. */
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--bogus", NULL), TP_EINVAL);
	CHECK(strstr(err, "--bogus") != NULL);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--bogus=1", NULL), TP_EINVAL);
	CHECK(strstr(err, "--bogus") != NULL);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "stray", NULL), TP_EINVAL);
	CHECK(strstr(err, "stray") != NULL);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "-x", NULL), TP_EINVAL);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--log-level", NULL), TP_EINVAL);
	CHECK(strstr(err, "needs a value") != NULL);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "-c", NULL), TP_EINVAL);
	CHECK(strstr(err, "-c") != NULL);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--check-config", NULL), TP_EINVAL);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--listening-port=70000", NULL),
		  TP_EINVAL);
	CHECK(strstr(err, "listening-port") != NULL);
	CHECK_INT(c.listening_port, 3478);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--no-udp=perhaps", NULL), TP_EINVAL);
	conf_cleanup(&c);
	{
		char longopt[200];
		memset(longopt, 'a', sizeof(longopt) - 1);
		longopt[0] = longopt[1] = '-';
		longopt[sizeof(longopt) - 1] = '\0';
		CHECK_INT(conf_init(&c), 0);
		CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), longopt, NULL), TP_EINVAL);
		conf_cleanup(&c);
	}

	/* The relations are checked at the end. */
	CHECK_INT(conf_init(&c), 0);
	err[0] = '\0';
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--no-udp", "--no-tcp", NULL), TP_EINVAL);
	CHECK(strstr(err, "no-udp") != NULL);
	conf_cleanup(&c);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--no-udp", "--no-tcp", "--no-tcp=off",
			NULL),
		  0);
	CHECK(c.no_udp && !c.no_tcp);
	conf_cleanup(&c);
	remove_tmp();
}

static void test_validate(void)
{
	struct conf c;
	char err[256];

	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_validate(&c, err, sizeof(err)), 0);
	c.no_udp = true;
	CHECK_INT(conf_validate(&c, err, sizeof(err)), 0);
	c.no_udp = false;
	c.no_tcp = true;
	CHECK_INT(conf_validate(&c, err, sizeof(err)), 0);
	c.no_udp = true;
	err[0] = '\0';
	CHECK_INT(conf_validate(&c, err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, "no-udp") != NULL && strstr(err, "no-tcp") != NULL);
	conf_cleanup(&c);
}

/* s with every '-' written as roff's "\-". */
static void roff_name(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s && o + 3 < cap; s++) {
		if (*s == '-')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = '\0';
}

static void test_print(void)
{
	char *help = capture(print_help_fn);
	char *sample = capture(conf_print_sample);
	char *man = capture(conf_print_man);
	char want[160], rname[80];

	CHECK(strstr(help, "Usage: turnpiked") != NULL);
	CHECK(strstr(help, SYSCONFDIR "/turnpike/turnpike.conf") != NULL);
	CHECK(strstr(help, "--check-config") != NULL);
	for (const struct conf_opt *o = conf_schema; o->name; o++) {
		snprintf(want, sizeof(want), "\n  --%s%s", o->name,
			 o->type == CONF_BOOL ? "\n" : "=");
		CHECK(strstr(help, want) != NULL);
		if (o->arg) {
			snprintf(want, sizeof(want), "--%s=%s\n", o->name, o->arg);
			CHECK(strstr(help, want) != NULL);
		}
		if (o->type == CONF_BOOL)
			snprintf(want, sizeof(want), "\n#%s\n", o->name);
		else if (o->def)
			snprintf(want, sizeof(want), "\n#%s=%s\n", o->name, o->def);
		else /* a template, with a space so it stays a comment */
			snprintf(want, sizeof(want), "\n# %s=%s\n", o->name,
				 o->arg ? o->arg : "VALUE");
		CHECK(strstr(sample, want) != NULL);
		if (!strstr(sample, want))
			fprintf(stderr, "  (sample lacks \"%s\")\n", want);
		roff_name(o->name, rname, sizeof(rname));
		snprintf(want, sizeof(want), ".TP\n\\fB%s\\fR", rname);
		CHECK(strstr(man, want) != NULL);
	}
	/* The option list is wrapped for an 80-column terminal (the usage
	 * lines above it hold the configured path, of any length). */
	CHECK(strstr(help, "\nOptions") != NULL);
	if (strstr(help, "\nOptions"))
		CHECK(longest_line(strstr(help, "\nOptions")) <= 80);
	CHECK(longest_line(sample) <= 80);
	/* Only .TP starts a roff request: no help text begins a line with a
	 * control character. */
	for (const char *l = man; l && *l;) {
		if (*l == '.' || *l == '\'')
			CHECK(!strncmp(l, ".TP\n", 4));
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	/* No raw '-' in the man text (roff would read some as hyphens). */
	{
		bool raw = false;
		for (const char *p = man; *p; p++)
			if (*p == '-' && (p == man || p[-1] != '\\'))
				raw = true;
		CHECK(!raw);
	}
	free(help);
	free(sample);
	free(man);
}

/*
 * The sample is a valid config file: with every '#key' and '#key=value'
 * line uncommented, it loads without error, and the values it shows are
 * the defaults.
 */
static void test_sample_valid(void)
{
	char *sample = capture(conf_print_sample), *out, *p, err[512];
	size_t len = strlen(sample), uncommented = 0;
	struct conf c, def;
	const char *path;

	out = malloc(len + 1);
	CHECK(out != NULL);
	if (!out) {
		free(sample);
		return;
	}
	/* Commented out as printed, it changes nothing. */
	path = write_tmp(sample);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), 0);
	CHECK_INT(c.listening_port, 3478);
	conf_cleanup(&c);

	p = out;
	for (const char *s = sample; *s;) {
		size_t n = strcspn(s, "\n");
		bool line_end = s[n] == '\n';

		if (s[0] == '#' && n > 1 && s[1] != ' ' && s[1] != '\t') {
			s++;
			n--;
			uncommented++;
		}
		memcpy(p, s, n);
		p += n;
		if (line_end)
			*p++ = '\n';
		s += n + line_end;
	}
	*p = '\0';
	/* One line per option that has a default or is a boolean. */
	{
		size_t want = 0;
		for (const struct conf_opt *o = conf_schema; o->name; o++)
			want += o->type == CONF_BOOL || o->def != NULL;
		CHECK_INT(uncommented, want);
	}

	path = write_tmp(out);
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_init(&def), 0);
	err[0] = '\0';
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "  (sample: %s)\n", err);
	for (const struct conf_opt *o = conf_schema; o->name; o++) {
		switch (o->type) {
		case CONF_BOOL:
			/* A bare '#key' line turns the boolean on. */
			CHECK(*FIELD(&c, o, bool));
			break;
		case CONF_INT:
			CHECK_INT(*FIELD(&c, o, long), *FIELD(&def, o, long));
			break;
		case CONF_STR:
			CHECK(!*FIELD(&def, o, char *) ||
			      !strcmp(*FIELD(&c, o, char *), *FIELD(&def, o, char *)));
			break;
		case CONF_LIST:
			break;
		}
	}
	conf_cleanup(&c);
	conf_cleanup(&def);
	free(out);
	free(sample);
	remove_tmp();
}

static void test_reload(void)
{
	struct conf cur, next;
	char err[256], logpath[64], *text = NULL;
	int fd;

	/* Capture the reload's log lines. */
	snprintf(logpath, sizeof(logpath), "/tmp/test_util_conf_log.XXXXXX");
	fd = mkstemp(logpath);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	CHECK_INT(log_open(LOG_LVL_INFO, LOG_DEST_FILE, logpath), 0);

	CHECK_INT(conf_init(&cur), 0);
	CHECK_INT(conf_init(&next), 0);
	CHECK_INT(conf_set(&cur, "listening-port", "1000", err, sizeof(err)), 0);
	CHECK_INT(conf_set(&cur, "listening-ip", "192.0.2.1", err, sizeof(err)), 0);
	CHECK_INT(conf_set(&next, "listening-port", "2000", err, sizeof(err)), 0);
	CHECK_INT(conf_set(&next, "log-level", "debug", err, sizeof(err)), 0);
	CHECK_INT(conf_set(&next, "log-file", "/tmp/other.log", err, sizeof(err)), 0);
	CHECK_INT(conf_set(&next, "no-udp", NULL, err, sizeof(err)), 0);

	/* Only log-level is reloadable. */
	CHECK_INT(conf_reload(&cur, &next), 1);
	CHECK_STR(cur.log_level, "debug");
	CHECK_INT(cur.listening_port, 1000);
	CHECK_STR(cur.log_file, "-");
	CHECK(!cur.no_udp);
	CHECK_INT(cur.listening_ip.n, 1);
	/* next is left as it was. */
	CHECK_STR(next.log_level, "debug");
	CHECK_INT(next.listening_port, 2000);

	/* Nothing reloadable differs any more. */
	CHECK_INT(conf_reload(&cur, &next), 0);
	CHECK_INT(conf_reload(&cur, &cur), 0);
	log_close();

	{
		FILE *f = fopen(logpath, "r");
		size_t n = 0;
		CHECK(f != NULL);
		if (f) {
			text = calloc(1, 8192);
			if (text)
				n = fread(text, 1, 8191, f);
			fclose(f);
		}
		CHECK(n > 0);
	}
	if (text) {
		CHECK(strstr(text, "log-level reloaded") != NULL);
		CHECK(strstr(text, "listening-port changed") != NULL);
		CHECK(strstr(text, "listening-ip changed") != NULL);
		CHECK(strstr(text, "log-file changed") != NULL);
		CHECK(strstr(text, "no-udp changed") != NULL);
		CHECK(strstr(text, "listening-port reloaded") == NULL);
		free(text);
	}
	unlink(logpath);
	conf_cleanup(&cur);
	conf_cleanup(&next);
}

static void test_cleanup_reinit(void)
{
	enum conf_action act;
	struct conf c;
	char err[256];
	const char *file = write_tmp("listening-ip=::1\nlog-file=/tmp/x.log\n");

	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "-c", file, "--log-level=debug", NULL),
		  0);
	conf_cleanup(&c);
	CHECK(c.log_file == NULL);
	CHECK(c.log_level == NULL);
	CHECK(c.config_path == NULL);
	CHECK(c.listening_ip.v == NULL && c.listening_ip.n == 0);
	/* Cleaning twice is harmless. */
	conf_cleanup(&c);

	CHECK_INT(conf_init(&c), 0);
	CHECK_STR(c.log_level, "info");
	CHECK_STR(c.log_file, "-");
	CHECK_INT(c.listening_ip.n, 0);
	CHECK_INT(conf_set(&c, "listening-ip", "192.0.2.9", err, sizeof(err)), 0);
	conf_cleanup(&c);
	remove_tmp();
}

/* A blank then '#' starts a comment anywhere on a line, as README
 * snippets write them; a '#' inside a word is part of the value; quotes
 * keep " #" in a value; nothing but a comment may follow a closing quote. */
static const struct conf *print_src;

static void print_effective_fn(FILE *f)
{
	conf_print_effective(f, print_src);
}

/* --print-config writes every value so that it loads back as it was: a
 * value with both quote characters unquoted (found by
 * tests/fuzz/fuzz_conf.c: it came out as '...'' and did not load). */
static void test_print_quotes(void)
{
	static const char *const vals[] = {"it's \"x\"", "a'b", "a\"b",   " lead",
					   "x #y",       "#z",  "trail\t"};
	struct conf c, d;
	char err[512], *text;

	CHECK_INT(conf_init(&c), 0);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		CHECK_INT(conf_set(&c, "static-auth-secret", vals[i], err, sizeof(err)), 0);
	print_src = &c;
	text = capture(print_effective_fn);
	CHECK(strstr(text, "static-auth-secret=it's \"x\"\n") != NULL);
	CHECK_INT(conf_init(&d), 0);
	CHECK_INT(conf_load_file(&d, write_tmp(text), err, sizeof(err)), 0);
	CHECK_INT(d.static_auth_secret.n, c.static_auth_secret.n);
	for (size_t i = 0; i < d.static_auth_secret.n && i < c.static_auth_secret.n; i++)
		CHECK_STR(d.static_auth_secret.v[i], c.static_auth_secret.v[i]);
	free(text);
	conf_cleanup(&d);
	conf_cleanup(&c);
}

static void test_comments(void)
{
	struct conf c;
	char err[512], line[600];
	const char *path;

	path = write_tmp("static-auth-secret=change-me          # the secret your backend signs\n"
			 "use-auth-secret   # REST credentials\n"
			 "external-ip=203.0.113.10   # behind a 1:1 NAT\n"
			 "http-listen=9641 # 127.0.0.1:9641\n"
			 "user=alice:pw # comment\n"
			 "user=bob:pa#ss\t# a # inside a word stays\n"
			 "user = \"carol:pw # not a comment\"   # but this is\n"
			 "user 'dave:#x'\n"
			 "realm=#realm\n"
			 "nonce-secret = '  spaced  '\t#\n"
			 "log-level info#x\n"
			 "relay-threads=\t3\t#4\n"
			 "no-udp #=no\n");
	CHECK_INT(conf_init(&c), 0);
	err[0] = '\0';
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), TP_EINVAL);
	/* "info#x" is one word: not a level. */
	snprintf(line, sizeof(line), "%s:11: log-level: 'info#x'", path);
	CHECK(strstr(err, line) != NULL);
	CHECK_INT(c.static_auth_secret.n, 1);
	if (c.static_auth_secret.n == 1)
		CHECK_STR(c.static_auth_secret.v[0], "change-me");
	CHECK(c.use_auth_secret);
	CHECK_INT(c.external_ip.n, 1);
	if (c.external_ip.n == 1)
		CHECK_STR(c.external_ip.v[0], "203.0.113.10");
	CHECK_STR(c.http_listen, "9641");
	CHECK_INT(c.user.n, 4);
	if (c.user.n == 4) {
		CHECK_STR(c.user.v[0], "alice:pw");
		CHECK_STR(c.user.v[1], "bob:pa#ss");
		CHECK_STR(c.user.v[2], "carol:pw # not a comment");
		CHECK_STR(c.user.v[3], "dave:#x");
	}
	CHECK_STR(c.realm, "#realm");
	CHECK_STR(c.nonce_secret, "  spaced  ");
	conf_cleanup(&c);

	/* Carriage returns before a comment go with the blanks (fuzz_conf: a
	 * value ending in one, with both quotes, printed as no file line
	 * reads back). */
	path = write_tmp("user=bob:x\"y'z\r\r\t# c\r\nrealm=r\r # c\n");
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), 0);
	CHECK_INT(c.user.n, 1);
	if (c.user.n == 1)
		CHECK_STR(c.user.v[0], "bob:x\"y'z");
	CHECK_STR(c.realm, "r");
	conf_cleanup(&c);

	/* The rest of that file, after the bad line. */
	path = write_tmp("relay-threads=\t3\t#4\nno-udp #=no\nno-tcp\t#\n");
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), 0);
	CHECK_INT(c.relay_threads, 3);
	CHECK(c.no_udp);
	CHECK(c.no_tcp);
	conf_cleanup(&c);

	/* A value that is only a comment is empty: refused where a value
	 * must be given. */
	path = write_tmp("listening-port= # 3478\n");
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, ":1: listening-port: '' is not a number") != NULL);
	CHECK_INT(c.listening_port, 3478);
	conf_cleanup(&c);

	/* Text after a closing quote, or a quote never closed, names the
	 * file, line and option. */
	path = write_tmp("realm=\"a\" b\n");
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), TP_EINVAL);
	snprintf(line, sizeof(line), "%s:1: realm: text after the closing quote", path);
	CHECK(strstr(err, line) != NULL);
	CHECK_STR(c.realm, "turnpike");
	conf_cleanup(&c);
	path = write_tmp("\nrealm=\"a\"#b\n");
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, ":2: realm: text after the closing quote") != NULL);
	conf_cleanup(&c);
	path = write_tmp("realm='example.org # x\n");
	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(conf_load_file(&c, path, err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, ":1: realm: the quoted value has no closing quote") != NULL);
	conf_cleanup(&c);

	/* The command line has no comments: the shell already split it. */
	{
		enum conf_action act;
		CHECK_INT(conf_init(&c), 0);
		CHECK_INT(parse(&c, NULL, &act, err, sizeof(err), "--realm", "a # b", NULL), 0);
		CHECK_STR(c.realm, "a # b");
		conf_cleanup(&c);
	}
	remove_tmp();
}

int main(void)
{
	test_schema();
	test_defaults();
	test_set_bool();
	test_set_int();
	test_set_str_list();
	test_load_file();
	test_comments();
	test_print_quotes();
	test_parse_args();
	test_validate();
	test_print();
	test_sample_valid();
	test_reload();
	test_cleanup_reinit();
	remove_tmp();
	return check_done("test_util_conf");
}
