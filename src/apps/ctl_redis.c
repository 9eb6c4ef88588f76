/* ctl_redis.c - turnpikectl's Redis commands: REST secrets and long-term
 * users in the shared store (coturn's keys, plus turnpike's SHA-256 keys
 * and secret ages), REST credentials, and the allocation event stream. A
 * synchronous hiredis connection with timeouts: fine in a CLI. Every change
 * is announced on turnpike:invalidate, so servers pick it up at once. */
#include <errno.h>
#include <hiredis.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apps/ctl.h"
#include "auth/auth.h"
#include "store/store.h"
#include "turnpike/err.h"
#include "util/conf.h"
#include "util/hex.h"
#include "util/rand.h"

#define KEY_CAP 1024
#define SCAN_MAX_ROUNDS 1000000 /* SCAN ends by itself; this bounds a broken server */
#define PASS_MAX 512
#define SECRET_MAX 1024 /* a REST secret or an API key */

void ctl_cleanup(struct ctl *x)
{
	if (x->rc)
		redisFree(x->rc);
	store_addr_wipe(&x->addr);
	if (x->conf_ok)
		conf_cleanup(&x->conf);
}

/* An option with a value, as "--NAME VALUE" or "--NAME=VALUE", at argv[*i]:
 * sets *val (and steps *i over the value). Returns 1 when it is that
 * option, 0 when not, -1 when its value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char *alias,
		     const char **val)
{
	size_t n = strlen(name);

	if (!strcmp(argv[*i], name) || (alias && !strcmp(argv[*i], alias))) {
		if (*i + 1 >= argc)
			return -1;
		*val = argv[++*i];
		return 1;
	}
	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	return 0;
}

/* Takes the options every Redis command shares out of argv (compacting
 * it): -c/--config FILE, and --redis-userdb, --redis-statsdb and --realm,
 * which win over the file's (turnadmin's -N). Returns the new argc, or -1
 * on a usage error. */
static int take_config(struct ctl *x, int argc, char **argv)
{
	int o = 0, r;

	for (int i = 0; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--config", "-c", &x->path)) ||
		    (r = opt_value(argc, argv, &i, "--redis-userdb", NULL, &x->userdb)) ||
		    (r = opt_value(argc, argv, &i, "--redis-statsdb", NULL, &x->statsdb)) ||
		    (r = opt_value(argc, argv, &i, "--realm", NULL, &x->realm))) {
			if (r < 0) {
				fprintf(stderr, "turnpikectl: %s needs a value\n", argv[i]);
				return -1;
			}
			continue;
		}
		argv[o++] = argv[i];
	}
	return o;
}

/* Reads the server's configuration (the default file may be absent). */
static int load_conf(struct ctl *x)
{
	char err[512];
	int rc;

	if (conf_init(&x->conf) != 0) {
		fprintf(stderr, "turnpikectl: out of memory\n");
		return 1;
	}
	x->conf_ok = true;
	rc = conf_load_file(&x->conf, x->path ? x->path : DEFAULT_CONFIG, err, sizeof(err));
	if (rc == TP_ESYS && !x->path)
		rc = 0;
	if (rc != 0) {
		fprintf(stderr, "turnpikectl: %s\n", err);
		return 1;
	}
	if ((x->userdb && conf_set(&x->conf, "redis-userdb", x->userdb, err, sizeof(err)) != 0) ||
	    (x->statsdb &&
	     conf_set(&x->conf, "redis-statsdb", x->statsdb, err, sizeof(err)) != 0) ||
	    (x->realm && conf_set(&x->conf, "realm", x->realm, err, sizeof(err)) != 0)) {
		fprintf(stderr, "turnpikectl: %s\n", err);
		return 1;
	}
	return 0;
}

void ctl_redis_error(struct ctl *x, const char *what, const redisReply *r)
{
	char where[300];

	store_addr_format(&x->addr, where, sizeof(where));
	if (r && r->type == REDIS_REPLY_ERROR)
		fprintf(stderr, "turnpikectl: redis %s: %s: %.*s\n", where, what, (int)r->len,
			r->str);
	else if (x->rc && x->rc->err)
		fprintf(stderr, "turnpikectl: redis %s: %s: %s\n", where, what, x->rc->errstr);
	else
		fprintf(stderr, "turnpikectl: redis %s: %s: unexpected answer\n", where, what);
}

/* One command, argv form. Returns the reply (free it), or NULL after
 * printing why (also for an error reply). */
redisReply *ctl_cmd(struct ctl *x, int argc, const char **argv)
{
	size_t lens[8];
	redisReply *r;

	for (int i = 0; i < argc && i < 8; i++)
		lens[i] = strlen(argv[i]);
	r = redisCommandArgv(x->rc, argc, argv, lens);
	if (!r || r->type == REDIS_REPLY_ERROR) {
		ctl_redis_error(x, argv[0], r);
		if (r)
			freeReplyObject(r);
		return NULL;
	}
	return r;
}

static redisReply *cmd2(struct ctl *x, const char *a, const char *b)
{
	const char *v[] = {a, b};
	return ctl_cmd(x, 2, v);
}

static redisReply *cmd3(struct ctl *x, const char *a, const char *b, const char *c)
{
	const char *v[] = {a, b, c};
	return ctl_cmd(x, 3, v);
}

/* Connects to redis-userdb (statsdb: redis-statsdb, else userdb), logs in,
 * selects the database. timeout_ms 0: reads wait as long as it takes. */
int ctl_connect(struct ctl *x, bool statsdb, long timeout_ms)
{
	const char *spec =
		statsdb && x->conf.redis_statsdb ? x->conf.redis_statsdb : x->conf.redis_userdb;
	struct timeval ct,
		cmdt = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
	char err[200], db[16];
	redisReply *r;

	if (!spec) {
		fprintf(stderr, "turnpikectl: no redis-userdb in %s\n",
			x->path ? x->path : DEFAULT_CONFIG);
		return 1;
	}
	if (store_addr_parse(spec, &x->addr, err, sizeof(err)) != 0) {
		fprintf(stderr, "turnpikectl: %s: %s\n", statsdb ? "redis-statsdb" : "redis-userdb",
			err);
		return 1;
	}
	ct.tv_sec = (time_t)(x->addr.connect_timeout_ms / 1000);
	ct.tv_usec = (suseconds_t)(x->addr.connect_timeout_ms % 1000) * 1000;
	x->rc = x->addr.unix_path[0] ? redisConnectUnixWithTimeout(x->addr.unix_path, ct)
				     : redisConnectWithTimeout(x->addr.host, x->addr.port, ct);
	if (!x->rc || x->rc->err) {
		ctl_redis_error(x, "connect", NULL);
		return 1;
	}
	if (timeout_ms > 0 && redisSetTimeout(x->rc, cmdt) != REDIS_OK) {
		ctl_redis_error(x, "timeout", NULL);
		return 1;
	}
	if (x->addr.password[0]) {
		const char *v[3] = {"AUTH", x->addr.user[0] ? x->addr.user : x->addr.password,
				    x->addr.password};
		r = ctl_cmd(x, x->addr.user[0] ? 3 : 2, v);
		if (!r)
			return 1;
		freeReplyObject(r);
	}
	snprintf(db, sizeof(db), "%u", x->addr.db);
	r = cmd2(x, "SELECT", db);
	if (!r)
		return 1;
	freeReplyObject(r);
	return 0;
}

/* Everything a command needs: config (with -c) and, unless only the
 * config is wanted, a connection. Returns the remaining argc or -1 (exit
 * status in *rc). */
int ctl_setup(struct ctl *x, int argc, char **argv, bool connect, bool statsdb, long timeout_ms,
	      int *rc)
{
	memset(x, 0, sizeof(*x));
	argc = take_config(x, argc, argv);
	if (argc < 0) {
		*rc = 2;
		return -1;
	}
	if ((*rc = load_conf(x)) != 0)
		return -1;
	if (timeout_ms < 0)
		timeout_ms = x->conf.redis_timeout < 1000 ? 1000 : x->conf.redis_timeout;
	if (connect && (*rc = ctl_connect(x, statsdb, timeout_ms)) != 0)
		return -1;
	return argc;
}

/* setup for "COMMAND OP [ARGS]": connected, *op = argv[0]. Returns argc
 * (OP included), or -1 with the exit status in *rc (2: no OP). */
static int setup_op(struct ctl *x, int argc, char **argv, const char **op, int *rc)
{
	argc = ctl_setup(x, argc, argv, true, false, -1, rc);
	if (argc < 0)
		return -1;
	if (argc < 1) {
		*rc = 2;
		return -1;
	}
	*op = argv[0];
	return argc;
}

static void drop(redisReply *r)
{
	if (r)
		freeReplyObject(r);
}

/* Tells the servers something changed: they reload at once. */
static void announce(struct ctl *x, const char *key)
{
	drop(cmd3(x, "PUBLISH", STORE_CHANNEL_INVALIDATE, key));
}

static bool printable(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/*
 * A password, secret or key from the command line, or for "-" the first
 * line of standard input, so it stays out of the process list and the
 * shell history. Into buf without the line end. Returns 0, or TP_EINVAL
 * when it is empty or longer than cap - 1 (a longer line is refused, not
 * cut short).
 */
static int read_value(const char *arg, char *buf, size_t cap)
{
	size_t n;

	if (strcmp(arg, "-") != 0) {
		if (strlen(arg) >= cap)
			return TP_EINVAL;
		memcpy(buf, arg, strlen(arg) + 1);
	} else if (!fgets(buf, (int)cap, stdin)) {
		buf[0] = '\0';
		return TP_EINVAL;
	}
	n = strcspn(buf, "\r\n");
	if (!buf[n] && !strcmp(arg, "-") && n == cap - 1 && !feof(stdin)) {
		int c = getc(stdin);
		if (c != EOF && c != '\n' && c != '\r')
			return TP_EINVAL;
	}
	buf[n] = '\0';
	return n ? 0 : TP_EINVAL;
}

/* ---- secrets ---- */

/* The realm's secrets, oldest first (caller frees each and the array). */
static int fetch_secrets(struct ctl *x, char ***out, size_t *n)
{
	char key[KEY_CAP], ages_key[KEY_CAP];
	redisReply *m = NULL, *a = NULL;
	const char **ages = NULL;
	size_t nages = 0;
	int rc = 1;

	*out = NULL;
	*n = 0;
	if (!store_key_secrets(key, sizeof(key), x->conf.realm) ||
	    !store_key_secret_ages(ages_key, sizeof(ages_key), x->conf.realm)) {
		fprintf(stderr, "turnpikectl: realm '%s' cannot be used in a key\n", x->conf.realm);
		return 1;
	}
	m = cmd2(x, "SMEMBERS", key);
	if (!m)
		goto out;
	a = ctl_cmd(x, 4, (const char *[]){"ZRANGE", ages_key, "0", "-1"});
	if (!a)
		goto out;
	if (m->type != REDIS_REPLY_ARRAY) {
		fprintf(stderr, "turnpikectl: %s is not a set\n", key);
		goto out;
	}
	*out = calloc(m->elements + 1, sizeof(**out));
	ages = calloc(a->type == REDIS_REPLY_ARRAY ? a->elements + 1 : 1, sizeof(*ages));
	if (!*out || !ages)
		goto out;
	for (size_t i = 0; i < m->elements; i++)
		if (m->element[i]->type == REDIS_REPLY_STRING && m->element[i]->len &&
		    !memchr(m->element[i]->str, '\0', m->element[i]->len) &&
		    ((*out)[*n] = strndup(m->element[i]->str, m->element[i]->len)))
			(*n)++;
	for (size_t i = 0; a->type == REDIS_REPLY_ARRAY && i < a->elements; i++)
		if (a->element[i]->type == REDIS_REPLY_STRING)
			ages[nages++] = a->element[i]->str;
	rc = store_secrets_sort((const char **)*out, *n, ages, nages) == 0 ? 0 : 1;
out:
	free(ages);
	if (m)
		freeReplyObject(m);
	if (a)
		freeReplyObject(a);
	return rc;
}

static void free_secrets(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		OPENSSL_cleanse(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

int ctl_secret(int argc, char **argv)
{
	char key[KEY_CAP], ages_key[KEY_CAP], tag[17], now[24], buf[SECRET_MAX + 2];
	const char *op, *secret = NULL;
	struct ctl x;
	redisReply *r = NULL;
	int rc;

	buf[0] = '\0';
	if ((argc = setup_op(&x, argc, argv, &op, &rc)) < 0)
		goto out;
	rc = 2;
	if ((!strcmp(op, "add") || !strcmp(op, "remove")) && argc == 2)
		secret = argv[1];
	else if (strcmp(op, "list") != 0 || argc != 1)
		goto out;
	/* "-": the secret is the first line of standard input. */
	if (secret && !strcmp(secret, "-")) {
		if (read_value(secret, buf, sizeof(buf)) != 0 || strlen(buf) > SECRET_MAX) {
			fprintf(stderr,
				"turnpikectl: no secret on standard input (or longer than %d "
				"characters)\n",
				SECRET_MAX);
			goto out;
		}
		secret = buf;
	}
	rc = 1;
	if (!strcmp(op, "list")) {
		char **v;
		size_t n;
		if (fetch_secrets(&x, &v, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				printf("%s\n", v[i]);
			rc = 0;
		}
		free_secrets(v, n);
		goto out;
	}
	if (!printable(secret) || strlen(secret) > SECRET_MAX) {
		fprintf(stderr,
			"turnpikectl: a secret is 1 to %d characters, no control characters\n",
			SECRET_MAX);
		rc = 2;
		goto out;
	}
	if (!store_key_secrets(key, sizeof(key), x.conf.realm) ||
	    !store_key_secret_ages(ages_key, sizeof(ages_key), x.conf.realm) ||
	    store_secret_tag(secret, strlen(secret), tag) != 0)
		goto out;
	if (!strcmp(op, "add")) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(now, sizeof(now), "%lld",
			 (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		if (!(r = cmd3(&x, "SADD", key, secret)))
			goto out;
		/* NX: adding it again does not make an old secret the newest. */
		drop(ctl_cmd(&x, 5, (const char *[]){"ZADD", ages_key, "NX", now, tag}));
		announce(&x, key);
		printf("%s\n", r->integer ? "secret added" : "secret already present");
		rc = 0;
	} else {
		if (!(r = cmd3(&x, "SREM", key, secret)))
			goto out;
		drop(cmd3(&x, "ZREM", ages_key, tag));
		announce(&x, key);
		if (r->integer) {
			printf("secret removed\n");
			rc = 0;
		} else {
			fprintf(stderr, "turnpikectl: no such secret in %s\n", key);
		}
	}
out:
	if (rc == 2)
		fprintf(stderr, "usage: turnpikectl secret add|remove SECRET|- | secret list\n");
	OPENSSL_cleanse(buf, sizeof(buf));
	if (r)
		freeReplyObject(r);
	ctl_cleanup(&x);
	return rc;
}

/* ---- REST hook API keys ---- */

#define APIKEY_RANDOM_BYTES 32 /* 256 bits: 43 base64url characters */

int ctl_apikey(int argc, char **argv)
{
	char key[KEY_CAP], digest[2 * STORE_API_KEY_LEN + 1], made[64], buf[SECRET_MAX + 2],
		why[128];
	uint8_t rnd[APIKEY_RANDOM_BYTES];
	const char *op, *apikey = NULL;
	bool by_digest = false;
	struct ctl x;
	redisReply *r = NULL;
	int rc;

	buf[0] = made[0] = '\0';
	if ((argc = setup_op(&x, argc, argv, &op, &rc)) < 0)
		goto out;
	rc = 2;
	if (!strcmp(op, "add") && argc <= 2)
		apikey = argc == 2 ? argv[1] : NULL;
	else if (!strcmp(op, "remove") && argc == 2)
		apikey = argv[1];
	else if (!strcmp(op, "remove") && argc == 3 && !strcmp(argv[1], "--digest"))
		apikey = argv[2], by_digest = true;
	else if (strcmp(op, "list") != 0 || argc != 1)
		goto out;
	rc = 1;
	if (!store_key_api_keys(key, sizeof(key), x.conf.realm))
		goto out;
	if (!strcmp(op, "list")) {
		if (!(r = cmd2(&x, "SMEMBERS", key)) || r->type != REDIS_REPLY_ARRAY)
			goto out;
		for (size_t i = 0; i < r->elements; i++)
			if (r->element[i]->type == REDIS_REPLY_STRING)
				printf("%.*s\n", (int)r->element[i]->len, r->element[i]->str);
		rc = 0;
		goto out;
	}
	if (!apikey) {
		if (rand_bytes(rnd, sizeof(rnd)) != 0 ||
		    !auth_base64url(rnd, sizeof(rnd), made, sizeof(made)))
			goto out;
		apikey = made;
	} else if (!by_digest && !strcmp(apikey, "-")) {
		/* The key is the first line of standard input. */
		if (read_value(apikey, buf, sizeof(buf)) != 0 || strlen(buf) > SECRET_MAX) {
			fprintf(stderr,
				"turnpikectl: no API key on standard input (or longer than %d "
				"characters)\n",
				SECRET_MAX);
			rc = 2;
			goto out;
		}
		apikey = buf;
	}
	/* A key added must pass the servers' own rest-api-key rule; one being
	 * removed need not (it may predate the rule). */
	if (!strcmp(op, "add") && conf_check_api_key(apikey, why, sizeof(why)) != 0) {
		fprintf(stderr, "turnpikectl: %s\n", why);
		rc = 2;
		goto out;
	}
	if (by_digest) {
		uint8_t d[STORE_API_KEY_LEN];
		if (strlen(apikey) != 2 * STORE_API_KEY_LEN || !hex_decode(apikey, d, sizeof(d))) {
			fprintf(stderr, "turnpikectl: a digest is 64 hex digits (apikey list)\n");
			rc = 2;
			goto out;
		}
		hex_encode(d, sizeof(d), digest);
	} else if (!printable(apikey) || strlen(apikey) > SECRET_MAX) {
		fprintf(stderr,
			"turnpikectl: an API key is 1 to %d characters, no control characters\n",
			SECRET_MAX);
		rc = 2;
		goto out;
	} else if (store_api_key_digest(apikey, digest) != 0) {
		goto out;
	}
	if (!(r = cmd3(&x, !strcmp(op, "add") ? "SADD" : "SREM", key, digest)))
		goto out;
	announce(&x, key);
	if (!strcmp(op, "add")) {
		if (apikey == made)
			printf("%s\n", made);
		else
			printf("%s\n", r->integer ? "api key added" : "api key already present");
		rc = 0;
	} else if (r->integer) {
		printf("api key removed\n");
		rc = 0;
	} else {
		fprintf(stderr, "turnpikectl: no such API key in %s\n", key);
	}
out:
	if (rc == 2)
		fprintf(stderr,
			"usage: turnpikectl apikey add [KEY|-] | remove KEY|- | remove --digest "
			"HEX | list\n");
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(made, sizeof(made));
	OPENSSL_cleanse(buf, sizeof(buf));
	if (r)
		freeReplyObject(r);
	ctl_cleanup(&x);
	return rc;
}

/* ---- users ---- */

static int user_add(struct ctl *x, const char *name, const char *pass_arg)
{
	char pass[PASS_MAX], key[KEY_CAP], skey[KEY_CAP], md5hex[33], shahex[65];
	const char *realm = x->conf.realm;
	struct auth_key k;
	redisReply *r;
	int rc = 1;

	if (read_value(pass_arg, pass, sizeof(pass)) != 0) {
		fprintf(stderr, "turnpikectl: no password (or longer than %d)\n", PASS_MAX - 1);
		return 2;
	}
	if (!store_key_user(key, sizeof(key), realm, name) ||
	    !store_key_user_sha256(skey, sizeof(skey), realm, name))
		goto out;
	/* coturn's key: hex MD5(name:realm:password); turnpike adds SHA-256
	 * for PASSWORD-ALGORITHM (RFC 8489 §18.5). Never the password. */
	if (auth_key_derive(AUTH_ALG_MD5, name, strlen(name), realm, strlen(realm), pass,
			    strlen(pass), &k) != 0)
		goto out;
	hex_encode(k.k, k.len, md5hex);
	if (auth_key_derive(AUTH_ALG_SHA256, name, strlen(name), realm, strlen(realm), pass,
			    strlen(pass), &k) != 0)
		goto out;
	hex_encode(k.k, k.len, shahex);
	if (!(r = cmd3(x, "SET", key, md5hex)))
		goto out;
	freeReplyObject(r);
	if (!(r = cmd3(x, "SET", skey, shahex)))
		goto out;
	freeReplyObject(r);
	announce(x, key);
	printf("user %s set in realm %s\n", name, realm);
	rc = 0;
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	OPENSSL_cleanse(&k, sizeof(k));
	OPENSSL_cleanse(md5hex, sizeof(md5hex));
	OPENSSL_cleanse(shahex, sizeof(shahex));
	return rc;
}

static int user_remove(struct ctl *x, const char *name)
{
	char key[KEY_CAP], skey[KEY_CAP];
	redisReply *r;
	long long n;

	if (!store_key_user(key, sizeof(key), x->conf.realm, name) ||
	    !store_key_user_sha256(skey, sizeof(skey), x->conf.realm, name))
		return 1;
	if (!(r = cmd3(x, "DEL", key, skey)))
		return 1;
	n = r->integer;
	freeReplyObject(r);
	announce(x, key);
	if (n == 0) {
		fprintf(stderr, "turnpikectl: no user %s in realm %s\n", name, x->conf.realm);
		return 1;
	}
	printf("user %s removed\n", name);
	return 0;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* SCAN with MATCH, never KEYS: the server stays responsive. */
static int user_list(struct ctl *x)
{
	char pattern[KEY_CAP], cursor[32] = "0", name[KEY_CAP];
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 1;

	if (!store_key_users_pattern(pattern, sizeof(pattern), x->conf.realm))
		return 1;
	for (long round = 0; round < SCAN_MAX_ROUNDS; round++) {
		redisReply *r = ctl_cmd(
			x, 6, (const char *[]){"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
		const redisReply *keys;

		if (!r)
			goto out;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[0]->len >= sizeof(cursor) ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			ctl_redis_error(x, "SCAN", NULL);
			freeReplyObject(r);
			goto out;
		}
		memcpy(cursor, r->element[0]->str, r->element[0]->len);
		cursor[r->element[0]->len] = '\0';
		keys = r->element[1];
		for (size_t i = 0; i < keys->elements; i++) {
			char **nv;
			if (keys->element[i]->type != REDIS_REPLY_STRING ||
			    !store_key_user_name(keys->element[i]->str, keys->element[i]->len,
						 x->conf.realm, name, sizeof(name)))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				if (!(nv = realloc(names, cap * sizeof(*nv)))) {
					freeReplyObject(r);
					goto out;
				}
				names = nv;
			}
			if (!(names[n] = strdup(name))) {
				freeReplyObject(r);
				goto out;
			}
			n++;
		}
		freeReplyObject(r);
		if (!strcmp(cursor, "0")) {
			rc = 0;
			break;
		}
	}
	if (n)
		qsort(names, n, sizeof(*names), by_str);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(names[i], names[i - 1]) != 0) /* SCAN may repeat */
			printf("%s\n", names[i]);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int ctl_user(int argc, char **argv)
{
	struct ctl x;
	int rc;

	argc = ctl_setup(&x, argc, argv, true, false, -1, &rc);
	if (argc < 0)
		goto out;
	rc = 2;
	if (argc == 3 && !strcmp(argv[0], "add")) {
		if (!printable(argv[1]) || strchr(argv[1], ':') || strlen(argv[1]) >= 256)
			fprintf(stderr, "turnpikectl: a user name is up to 255 characters, no ':' "
					"(REST names use it) and no control characters\n");
		else
			rc = user_add(&x, argv[1], argv[2]);
	} else if (argc == 2 && !strcmp(argv[0], "remove")) {
		rc = user_remove(&x, argv[1]);
	} else if (argc == 1 && !strcmp(argv[0], "list")) {
		rc = user_list(&x);
	}
out:
	if (rc == 2)
		fprintf(stderr, "usage: turnpikectl user add NAME PASSWORD|- | user remove NAME | "
				"user list\n");
	ctl_cleanup(&x);
	return rc;
}

/* ---- credentials ---- */

int ctl_credentials(int argc, char **argv)
{
	const char *user = NULL, *secret = NULL, *format = "json";
	char username[600], password[64], quoted[1400];
	char **redis_secrets = NULL;
	size_t nredis = 0;
	long ttl = 86400;
	struct ctl x;
	int rc;

	argc = ctl_setup(&x, argc, argv, false, false, -1, &rc);
	if (argc < 0)
		goto out;
	rc = 2;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--user") && i + 1 < argc) {
			user = argv[++i];
		} else if (!strcmp(argv[i], "--ttl") && i + 1 < argc) {
			char *end;
			errno = 0;
			ttl = strtol(argv[++i], &end, 10);
			if (errno || *end || ttl <= 0 || ttl > 10L * 365 * 86400)
				goto out;
		} else if (!strcmp(argv[i], "--secret") && i + 1 < argc) {
			secret = argv[++i];
		} else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
			format = argv[++i];
		} else {
			goto out;
		}
	}
	if (!user || !printable(user) || strlen(user) > 256 ||
	    (strcmp(format, "json") != 0 && strcmp(format, "uclient") != 0))
		goto out;
	rc = 1;
	/* The secret the servers check last-added first: --secret, else the
	 * newest in Redis, else the last static-auth-secret. */
	if (!secret && x.conf.redis_userdb) {
		if (ctl_connect(&x, false,
				x.conf.redis_timeout < 1000 ? 1000 : x.conf.redis_timeout) == 0 &&
		    fetch_secrets(&x, &redis_secrets, &nredis) == 0 && nredis)
			secret = redis_secrets[nredis - 1];
		else if (x.conf.static_auth_secret.n)
			fprintf(stderr, "turnpikectl: no secret from redis; using the config's\n");
	}
	if (!secret && x.conf.static_auth_secret.n)
		secret = x.conf.static_auth_secret.v[x.conf.static_auth_secret.n - 1];
	if (!secret) {
		fprintf(stderr, "turnpikectl: no REST secret: give --secret, or configure "
				"static-auth-secret or redis-userdb\n");
		goto out;
	}
	if (!x.conf.use_auth_secret && x.path)
		fprintf(stderr, "turnpikectl: note: use-auth-secret is off in %s\n", x.path);
	snprintf(username, sizeof(username), "%lld:%s", (long long)time(NULL) + ttl, user);
	if (!auth_rest_password((const uint8_t *)secret, strlen(secret), username, strlen(username),
				password, sizeof(password)))
		goto out;
	if (!strcmp(format, "uclient")) {
		printf("-u %s -w %s\n", username, password);
	} else {
		if (!store_json_string(quoted, sizeof(quoted), username, strlen(username)))
			goto out;
		printf("{\"username\":%s,\"password\":\"%s\",\"ttl\":%ld}\n", quoted, password,
		       ttl);
	}
	rc = 0;
out:
	if (rc == 2)
		fprintf(stderr, "usage: turnpikectl credentials --user USER [--ttl SECONDS] "
				"[--secret SECRET] [--format json|uclient]\n");
	OPENSSL_cleanse(password, sizeof(password));
	free_secrets(redis_secrets, nredis);
	ctl_cleanup(&x);
	return rc;
}

/* ---- events ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The next message, waiting until deadline (0: forever). Returns 0 with
 * *out, 1 when the time is up, -1 on an error. */
static int next_reply(struct ctl *x, double deadline, redisReply **out)
{
	void *reply = NULL;

	if (deadline > 0) {
		double left = deadline - now_s();
		long us = (long)(left * 1e6);
		struct timeval tv;

		if (us <= 0)
			return 1;
		tv.tv_sec = (time_t)(us / 1000000);
		tv.tv_usec = (suseconds_t)(us % 1000000);
		if (redisSetTimeout(x->rc, tv) != REDIS_OK)
			return -1;
	}
	if (redisGetReply(x->rc, &reply) != REDIS_OK) {
		if (deadline > 0 && x->rc->err == REDIS_ERR_IO &&
		    (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		return -1;
	}
	*out = reply;
	return 0;
}

int ctl_events(int argc, char **argv)
{
	long count = 0, timeout_s = 0;
	double deadline = 0;
	struct ctl x;
	redisReply *r;
	int rc;

	argc = ctl_setup(&x, argc, argv, false, true, 0, &rc);
	if (argc < 0)
		goto out;
	rc = 2;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = atol(argv[++i]);
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout_s = atol(argv[++i]);
		else
			goto out;
	}
	if (count < 0 || timeout_s < 0)
		goto out;
	rc = 1;
	if (ctl_connect(&x, true, 0) != 0)
		goto out;
	if (!(r = cmd2(&x, "SUBSCRIBE", STORE_CHANNEL_EVENTS)))
		goto out;
	freeReplyObject(r);
	fprintf(stderr, "turnpikectl: subscribed to %s\n", STORE_CHANNEL_EVENTS);
	if (timeout_s)
		deadline = now_s() + (double)timeout_s;
	for (long got = 0; count == 0 || got < count;) {
		int w = next_reply(&x, deadline, &r);

		if (w < 0) {
			ctl_redis_error(&x, "events", NULL);
			goto out;
		}
		if (w > 0) {
			/* The time is up: fine unless a --count was not reached. */
			if (!count)
				break;
			fprintf(stderr, "turnpikectl: %ld of %ld events in %ld s\n", got, count,
				timeout_s);
			goto out;
		}
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    !strcmp(r->element[0]->str, "message") &&
		    r->element[2]->type == REDIS_REPLY_STRING) {
			fwrite(r->element[2]->str, 1, r->element[2]->len, stdout);
			fputc('\n', stdout);
			fflush(stdout);
			got++;
		}
		freeReplyObject(r);
	}
	rc = 0;
out:
	if (rc == 2)
		fprintf(stderr, "usage: turnpikectl events [--count N] [--timeout SECONDS]\n");
	ctl_cleanup(&x);
	return rc;
}

void ctl_redis_usage(FILE *f)
{
	fprintf(f,
		"  secret add|remove SECRET   add or revoke a REST secret in redis-userdb (SECRET "
		"-\n"
		"                             reads it from stdin)\n"
		"  secret list                the realm's secrets, oldest first\n"
		"  apikey add [KEY]           allow an API key for the REST hook (none given: "
		"make\n"
		"                             one and print it; - reads it from stdin): 16 to "
		"256\n"
		"                             printable characters without blanks, as for\n"
		"                             rest-api-key; the servers keep its SHA-256\n"
		"  apikey remove KEY|--digest HEX\n"
		"                             revoke an API key\n"
		"  apikey list                the SHA-256 digests of the realm's API keys\n"
		"  user add NAME PASSWORD     set a long-term user (keys only; PASSWORD - reads "
		"stdin)\n"
		"  user remove NAME           delete a long-term user\n"
		"  user list                  the realm's users (SCAN, never KEYS)\n"
		"  credentials --user USER [--ttl SECONDS] [--secret SECRET] [--format "
		"json|uclient]\n"
		"                             a TURN REST username and password (default ttl "
		"86400)\n"
		"  events [--count N] [--timeout SECONDS]\n"
		"                             print allocation events from redis-statsdb, one per "
		"line\n"
		"  Options for these: -c, --config FILE (default %s);\n"
		"  --redis-userdb CONNINFO, --redis-statsdb CONNINFO and --realm REALM\n"
		"  instead of the file's (host names are resolved)\n",
		DEFAULT_CONFIG);
}
