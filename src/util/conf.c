/* conf.c - the configuration machinery: file and command-line parsing,
 * defaults, help, sample config and man page, all from conf_schema. */
#include "util/conf.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/err.h"
#include "util/conf_int.h"
#include "util/log.h"

#define FIELD(c, o, T) ((T *)((char *)(c) + (o)->off))

const struct conf_opt *conf_opt_find(const char *name)
{
	for (const struct conf_opt *o = conf_schema; o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

static void list_clear(struct conf_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int list_add(struct conf_list *l, const char *val)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return TP_ENOMEM;
	l->v = v;
	if (!(v[l->n] = strdup(val)))
		return TP_ENOMEM;
	l->n++;
	return 0;
}

int conf_parse_bool(const char *val, bool *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};

	if (!val) {
		*out = true;
		return 0;
	}
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(val, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(val, no[i])) {
			*out = false;
			return 0;
		}
	}
	return TP_EINVAL;
}

/* Checks and stores one value. */
static int set_value(struct conf *c, const struct conf_opt *o, const char *val, char *err,
		     size_t errlen)
{
	if (o->type != CONF_BOOL && !val) {
		snprintf(err, errlen, "%s needs a value", o->name);
		return TP_EINVAL;
	}
	if (o->check && val) {
		char why[256];
		if (o->check(val, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s", o->name, why);
			return TP_EINVAL;
		}
	}
	switch (o->type) {
	case CONF_BOOL:
		if (conf_parse_bool(val, FIELD(c, o, bool)) != 0) {
			snprintf(err, errlen, "%s: '%s' is not a boolean", o->name, val);
			return TP_EINVAL;
		}
		return 0;
	case CONF_INT: {
		char *end;
		errno = 0;
		long v = strtol(val, &end, 10);
		if (errno || end == val || *end != '\0' || v < o->min || v > o->max) {
			snprintf(err, errlen, "%s: '%s' is not a number from %ld to %ld", o->name,
				 val, o->min, o->max);
			return TP_EINVAL;
		}
		*FIELD(c, o, long) = v;
		return 0;
	}
	case CONF_STR: {
		char *s = strdup(val), **slot = FIELD(c, o, char *);
		if (!s)
			return TP_ENOMEM;
		free(*slot);
		*slot = s;
		return 0;
	}
	case CONF_LIST:
		return list_add(FIELD(c, o, struct conf_list), val);
	}
	return TP_EINVAL;
}

int conf_init(struct conf *c)
{
	char err[256];

	memset(c, 0, sizeof(*c));
	for (const struct conf_opt *o = conf_schema; o->name; o++) {
		if (!o->def)
			continue;
		int rc = set_value(c, o, o->def, err, sizeof(err));
		if (rc != 0)
			return rc;
	}
	return 0;
}

void conf_cleanup(struct conf *c)
{
	for (const struct conf_opt *o = conf_schema; o->name; o++) {
		if (o->type == CONF_STR) {
			free(*FIELD(c, o, char *));
			*FIELD(c, o, char *) = NULL;
		} else if (o->type == CONF_LIST) {
			list_clear(FIELD(c, o, struct conf_list));
		}
	}
	free(c->config_path);
	c->config_path = NULL;
	list_clear(&c->problems);
	list_clear(&c->notices);
}

int conf_set(struct conf *c, const char *name, const char *val, char *err, size_t errlen)
{
	const struct conf_opt *o = conf_opt_find(name);
	const char *near;
	char msg[512];

	if (o)
		return set_value(c, o, val, err, errlen);
	switch (conf_coturn_key(c, name, val, msg, sizeof(msg))) {
	case CONF_COTURN_NOTICE:
		return list_add(&c->notices, msg);
	case CONF_COTURN_ERROR:
		snprintf(err, errlen, "%s", msg);
		return TP_EINVAL;
	}
	near = conf_suggest(name);
	if (near)
		snprintf(err, errlen, "unknown option '%.100s': did you mean '%s'?", name, near);
	else
		snprintf(err, errlen, "unknown option '%.100s' (turnpiked --help lists them)",
			 name);
	return TP_EINVAL;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* The value part of a config line, s being what follows the name and its
 * first separator ('=' or a blank: blank_before). A '#' after a blank (the
 * separator included) starts a comment, one right after '=' or inside a
 * word does not (name=#x is the value "#x"); a value in single or double
 * quotes is taken as written up to the closing quote, ' #' included, and
 * only blanks and a comment may follow it. Sets *val (inside s) and
 * *quoted; on error *why. */
static int value_split(char *s, bool blank_before, char **val, bool *quoted, const char **why)
{
	char *p = s, *h;
	bool blank_sep = blank_before;

	*quoted = false;
	while (blank(*p)) {
		p++;
		blank_before = true;
	}
	/* "name = value": the '=' after a blank separator. */
	if (blank_sep && *p == '=') {
		p++;
		blank_before = false;
		while (blank(*p)) {
			p++;
			blank_before = true;
		}
	}
	if (*p == '"' || *p == '\'') {
		char *end = strchr(p + 1, *p), *r;
		bool bl = false;

		if (!end) {
			*why = "the quoted value has no closing quote";
			return TP_EINVAL;
		}
		*end = '\0';
		for (r = end + 1; blank(*r); r++)
			bl = true;
		if (*r && !(*r == '#' && bl)) {
			*why = "text after the closing quote (a comment is a blank, then #)";
			return TP_EINVAL;
		}
		*val = p + 1;
		*quoted = true;
		return 0;
	}
	for (h = p; *h; h++) {
		if (*h == '#' && (h == p ? blank_before : blank(h[-1]))) {
			*h = '\0';
			break;
		}
	}
	/* Blanks before a comment go, and so do carriage returns, as trim()
	 * drops them at a line's end: a value never ends in one, so
	 * --print-config can always write it back (found by fuzz_conf: one
	 * ending in '\r' with both quotes in it had no spelling). */
	while (h > p && (blank(h[-1]) || h[-1] == '\r'))
		*--h = '\0';
	*val = p;
	return 0;
}

/* One problem of a file, "path:line: why", kept for --check-config. */
static void problem(struct conf *c, const char *path, unsigned lineno, const char *why)
{
	char line[768];

	snprintf(line, sizeof(line), "%s:%u: %s", path, lineno, why);
	(void)list_add(&c->problems, line);
}

/* Notices from line lineno on: prefixed with where they came from. */
static void notices_at(struct conf *c, size_t from, const char *path, unsigned lineno)
{
	for (size_t i = from; i < c->notices.n; i++) {
		char line[768], *s;

		snprintf(line, sizeof(line), "%s:%u: %s", path, lineno, c->notices.v[i]);
		if (!(s = strdup(line)))
			continue;
		free(c->notices.v[i]);
		c->notices.v[i] = s;
	}
}

int conf_load_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	char line[4096], why[512];
	unsigned lineno = 0;
	size_t nproblems = c->problems.n;
	int rc = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return TP_ESYS;
	}
	/* Every line is looked at: all the problems of a file in one run. */
	while (fgets(line, sizeof(line), f)) {
		char *key, *val = NULL, *sep;
		size_t n = strlen(line), nnotices = c->notices.n;

		lineno++;
		if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
			int ch;
			problem(c, path, lineno, "line too long");
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
			continue;
		}
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		sep = key + strcspn(key, "= \t");
		if (*sep) {
			bool eq = *sep == '=', quoted;
			const char *why_val;
			*sep++ = '\0';
			if (value_split(sep, !eq, &val, &quoted, &why_val) != 0) {
				snprintf(why, sizeof(why), "%s: %s", key, why_val);
				problem(c, path, lineno, why);
				continue;
			}
			if (*val == '\0' && !eq && !quoted)
				val = NULL;
		}
		if (!key[0]) {
			problem(c, path, lineno, "missing option name");
			continue;
		}
		rc = conf_set(c, key, val, why, sizeof(why));
		if (rc == TP_ENOMEM)
			goto out;
		if (rc != 0)
			problem(c, path, lineno, why);
		notices_at(c, nnotices, path, lineno);
	}
	rc = 0;
	if (ferror(f)) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		rc = TP_ESYS;
	} else if (c->problems.n > nproblems) {
		size_t more = c->problems.n - nproblems - 1;
		if (more)
			snprintf(err, errlen,
				 "%s (and %zu more: turnpiked --check-config %s lists them)",
				 c->problems.v[nproblems], more, path);
		else
			snprintf(err, errlen, "%s", c->problems.v[nproblems]);
		rc = TP_EINVAL;
	}
out:
	fclose(f);
	return rc;
}

int conf_parse_args(struct conf *c, int argc, char **argv, const char *default_path,
		    enum conf_action *action, char *err, size_t errlen)
{
	const char *path = NULL;
	bool explicit_path = false, print = false;
	int rc;

	*action = CONF_RUN;
	/* Pass 1: actions and the config file. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*action = CONF_HELP;
			return 0;
		}
		if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			*action = CONF_VERSION;
			return 0;
		}
		if (!strcmp(a, "--print-config")) {
			print = true;
			continue;
		}
		if (!strcmp(a, "--print-man")) {
			*action = CONF_PRINT_MAN;
			return 0;
		}
		if (!strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "--check-config")) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "%s needs a file name", a);
				return TP_EINVAL;
			}
			if (!strcmp(a, "--check-config"))
				*action = CONF_CHECK;
			path = argv[++i];
			explicit_path = true;
		} else if (!strncmp(a, "--config=", 9)) {
			path = a + 9;
			explicit_path = true;
		}
	}
	/* --print-config alone: the sample; with a file: what it amounts to. */
	if (print && !explicit_path) {
		*action = CONF_PRINT_SAMPLE;
		return 0;
	}
	if (print)
		*action = CONF_PRINT_EFFECTIVE;
	if (!path)
		path = default_path;
	/* The default file is optional: only its absence is (the caller says
	 * so, seeing no config_path); one that exists must load. */
	if (path && !explicit_path && access(path, F_OK) != 0 && errno == ENOENT)
		path = NULL;
	if (path) {
		rc = conf_load_file(c, path, err, errlen);
		if (rc != 0) {
			return rc;
		} else if (!(c->config_path = strdup(path))) {
			return TP_ENOMEM;
		}
	}
	/* Pass 2: options override the file. A list given on the command line
	 * replaces the file's list. */
	bool list_seen[64] = {false};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char name[128];
		const char *val = NULL, *eq;
		const struct conf_opt *o;

		if (!strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "--check-config")) {
			i++;
			continue;
		}
		if (!strncmp(a, "--config=", 9) || !strcmp(a, "--print-config"))
			continue;
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%s'", a);
			return TP_EINVAL;
		}
		a += 2;
		eq = strchr(a, '=');
		size_t n = eq ? (size_t)(eq - a) : strlen(a);
		if (n >= sizeof(name)) {
			snprintf(err, errlen, "option name too long");
			return TP_EINVAL;
		}
		memcpy(name, a, n);
		name[n] = '\0';
		o = conf_opt_find(name);
		if (!o) {
			snprintf(err, errlen, "unknown option '--%s' (see --help)", name);
			return TP_EINVAL;
		}
		if (eq) {
			val = eq + 1;
		} else if (o->type != CONF_BOOL) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "--%s needs a value", name);
				return TP_EINVAL;
			}
			val = argv[++i];
		}
		size_t idx = (size_t)(o - conf_schema);
		if (o->type == CONF_LIST && idx < 64 && !list_seen[idx]) {
			list_clear(FIELD(c, o, struct conf_list));
			list_seen[idx] = true;
		}
		rc = set_value(c, o, val, err, errlen);
		if (rc != 0)
			return rc;
	}
	return conf_validate(c, err, errlen);
}

static const char *type_arg(const struct conf_opt *o)
{
	if (o->arg)
		return o->arg;
	return o->type == CONF_BOOL ? NULL : "VALUE";
}

/* Writes text wrapped at `width` columns, each line prefixed. */
static void wrap(FILE *f, const char *prefix, const char *text, size_t width)
{
	size_t col = 0;
	const char *p = text;

	while (*p) {
		size_t w = strcspn(p, " ");
		if (col && col + 1 + w > width) {
			fputc('\n', f);
			col = 0;
		}
		if (!col) {
			fputs(prefix, f);
			col = strlen(prefix);
		} else {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, w, f);
		col += w;
		p += w;
		while (*p == ' ')
			p++;
	}
	if (col)
		fputc('\n', f);
}

void conf_print_help(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [-c FILE] [--option[=VALUE]]...\n"
		"       %s --check-config FILE\n\n"
		"  -c, --config FILE     read options from FILE (default %s)\n"
		"      --check-config FILE  validate FILE and exit\n"
		"      --print-config    print a sample config file with every option\n"
		"      --print-man       print the option list in roff for the man page\n"
		"  -h, --help            this text\n"
		"  -V, --version         print the version\n\n"
		"Options (also valid as key=value lines in the config file):\n",
		prog, prog, SYSCONFDIR "/turnpike/turnpike.conf");
	for (const struct conf_opt *o = conf_schema; o->name; o++) {
		const char *arg = type_arg(o);
		fprintf(f, "  --%s%s%s\n", o->name, arg ? "=" : "", arg ? arg : "");
		wrap(f, "        ", o->help, 78);
		if (o->def && o->type != CONF_BOOL)
			fprintf(f, "        Default: %s.%s\n", o->def,
				o->reloadable ? " Reloadable." : "");
		else if (o->reloadable)
			fprintf(f, "        Reloadable.\n");
	}
}

void conf_print_sample(FILE *f)
{
	fprintf(f, "# turnpike.conf - turnpiked configuration.\n"
		   "# Generated by 'turnpiked --print-config' from the option table;\n"
		   "# every line below shows an option with its default, commented out.\n"
		   "# Options marked 'reloadable' take effect on SIGHUP.\n");
	for (const struct conf_opt *o = conf_schema; o->name; o++) {
		fputc('\n', f);
		wrap(f, "# ", o->help, 78);
		if (o->type == CONF_INT)
			fprintf(f, "# Range: %ld..%ld.%s\n", o->min, o->max,
				o->reloadable ? " Reloadable." : "");
		else if (o->reloadable)
			fprintf(f, "# Reloadable.\n");
		if (o->type == CONF_BOOL)
			fprintf(f, "#%s\n", o->name);
		else if (o->def)
			fprintf(f, "#%s=%s\n", o->name, o->def);
		else /* no default: a template, not a line to uncomment as is */
			fprintf(f, "# %s=%s\n", o->name, type_arg(o));
	}
}

/* roff needs backslashes and minus signs escaped; help texts never start
 * with a dot (tests/unit/test_util_conf.c checks). */
/* Whether value_split takes v back as written without quotes: not empty,
 * no quote first, no blank first or last (nor a line end last, which
 * trim() drops), no '#' after a blank (a comment). */
static bool plain_value(const char *v)
{
	size_t n = strlen(v);

	if (!n || v[0] == '"' || v[0] == '\'' || blank(v[0]) || blank(v[n - 1]) ||
	    v[n - 1] == '\r' || v[n - 1] == '\n')
		return false;
	for (size_t i = 1; i < n; i++)
		if (v[i] == '#' && blank(v[i - 1]))
			return false;
	return true;
}

/* A value as a file line takes it back: plain when it can be, else in the
 * quotes it does not hold. A value with both quotes that cannot be plain
 * (only the command line can give one: a file's unquoted values lose
 * their last blanks and carriage returns) has no spelling in a file. */
static void print_value(FILE *f, const char *name, const char *v)
{
	if (plain_value(v))
		fprintf(f, "%s=%s\n", name, v);
	else if (!strchr(v, '"'))
		fprintf(f, "%s=\"%s\"\n", name, v);
	else
		fprintf(f, "%s='%s'\n", name, v);
}

void conf_print_effective(FILE *f, const struct conf *c)
{
	struct conf def;

	fprintf(f,
		"# turnpike.conf - printed by 'turnpiked --print-config' from %s:\n"
		"# the options that differ from their defaults. 'turnpiked --print-config'\n"
		"# without -c prints every option with its documentation.\n",
		c->config_path ? c->config_path : "the command line");
	for (size_t i = 0; i < c->notices.n; i++)
		fprintf(f, "# %s\n", c->notices.v[i]);
	if (conf_init(&def) != 0)
		return;
	for (const struct conf_opt *o = conf_schema; o->name; o++) {
		switch (o->type) {
		case CONF_BOOL:
			if (*FIELD(c, o, bool) != *FIELD(&def, o, bool))
				fprintf(f, *FIELD(c, o, bool) ? "%s\n" : "%s=false\n", o->name);
			break;
		case CONF_INT:
			if (*FIELD(c, o, long) != *FIELD(&def, o, long))
				fprintf(f, "%s=%ld\n", o->name, *FIELD(c, o, long));
			break;
		case CONF_STR: {
			const char *v = *FIELD(c, o, char *), *d = *FIELD(&def, o, char *);
			if (v && (!d || strcmp(v, d) != 0))
				print_value(f, o->name, v);
			break;
		}
		case CONF_LIST: {
			const struct conf_list *l = FIELD(c, o, struct conf_list);
			for (size_t i = 0; i < l->n; i++)
				print_value(f, o->name, l->v[i]);
			break;
		}
		}
	}
	conf_cleanup(&def);
}

static void roff_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

void conf_print_man(FILE *f)
{
	for (const struct conf_opt *o = conf_schema; o->name; o++) {
		const char *arg = type_arg(o);
		fputs(".TP\n\\fB", f);
		roff_text(f, o->name);
		fputs("\\fR", f);
		if (arg) {
			fputs("=\\fI", f);
			roff_text(f, arg);
			fputs("\\fR", f);
		}
		fputc('\n', f);
		roff_text(f, o->help);
		if (o->def && o->type != CONF_BOOL) {
			fputs(" Default: ", f);
			roff_text(f, o->def);
			fputc('.', f);
		}
		if (o->reloadable)
			fputs(" Reloadable.", f);
		fputc('\n', f);
	}
}

int conf_reload(struct conf *cur, const struct conf *next)
{
	char err[256];
	int changed = 0;

	for (const struct conf_opt *o = conf_schema; o->name; o++) {
		bool same;
		switch (o->type) {
		case CONF_BOOL:
			same = *FIELD(cur, o, bool) == *FIELD(next, o, bool);
			break;
		case CONF_INT:
			same = *FIELD(cur, o, long) == *FIELD(next, o, long);
			break;
		case CONF_STR: {
			const char *a = *FIELD(cur, o, char *), *b = *FIELD(next, o, char *);
			same = (!a && !b) || (a && b && !strcmp(a, b));
			break;
		}
		default: {
			const struct conf_list *a = FIELD(cur, o, struct conf_list);
			const struct conf_list *b = FIELD(next, o, struct conf_list);
			same = a->n == b->n;
			for (size_t i = 0; same && i < a->n; i++)
				same = !strcmp(a->v[i], b->v[i]);
			break;
		}
		}
		if (same)
			continue;
		if (!o->reloadable) {
			log_warn("config: %s changed; it takes effect after a restart", o->name);
			continue;
		}
		changed++;
		if (o->type == CONF_BOOL)
			*FIELD(cur, o, bool) = *FIELD(next, o, bool);
		else if (o->type == CONF_INT)
			*FIELD(cur, o, long) = *FIELD(next, o, long);
		else if (o->type == CONF_STR && *FIELD(next, o, char *))
			set_value(cur, o, *FIELD(next, o, char *), err, sizeof(err));
		else if (o->type == CONF_STR) {
			free(*FIELD(cur, o, char *));
			*FIELD(cur, o, char *) = NULL;
		} else {
			const struct conf_list *b = FIELD(next, o, struct conf_list);
			list_clear(FIELD(cur, o, struct conf_list));
			for (size_t i = 0; i < b->n; i++)
				list_add(FIELD(cur, o, struct conf_list), b->v[i]);
		}
		log_info("config: %s reloaded", o->name);
	}
	return changed;
}
