/* report.c - turnpikectl report: fetch /metrics with a plain blocking
 * HTTP/1.1 GET, read the exposition back, and print the main figures with
 * the relay-fallback ratios (see README.md, "Relay fallback"). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "http/http.h"
#include "turnpike/err.h"
#include "util/addr.h"

#define FETCH_MAX (4u << 20) /* the exposition is ~20 KB; refuse floods */

/* ------------------------------------------------------------------ */
/* Reading the exposition. */

/* Whether the label set {..} (without braces, len bytes) holds the pair
 * k="v" (as written in match, len mlen). */
static bool has_pair(const char *labels, size_t len, const char *pair, size_t plen)
{
	for (size_t i = 0; i + plen <= len; i++) {
		if ((i == 0 || labels[i - 1] == ',') && !memcmp(labels + i, pair, plen) &&
		    (i + plen == len || labels[i + plen] == ','))
			return true;
	}
	return false;
}

static bool labels_match(const char *labels, size_t len, const char *match)
{
	while (match && *match) {
		size_t n = strcspn(match, ",");
		if (!has_pair(labels, len, match, n))
			return false;
		match += n;
		if (*match == ',')
			match++;
	}
	return true;
}

size_t http_metric_sum(const char *text, const char *name, const char *match, double *sum)
{
	size_t nlen = strlen(name), found = 0;
	const char *line = text;

	*sum = 0;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		const char *p = line + nlen, *labels = "";
		size_t llen = 0;

		if (!end)
			end = line + strlen(line);
		if (*line != '#' && (size_t)(end - line) > nlen && !memcmp(line, name, nlen) &&
		    (*p == '{' || *p == ' ')) {
			if (*p == '{') {
				const char *close = memchr(p, '}', (size_t)(end - p));
				if (!close)
					goto next;
				labels = p + 1;
				llen = (size_t)(close - labels);
				p = close + 1;
			}
			if (labels_match(labels, llen, match)) {
				char *vend;
				double v = strtod(p, &vend);
				if (vend != p) {
					*sum += v;
					found++;
				}
			}
		}
	next:
		line = *end ? end + 1 : NULL;
	}
	return found;
}

/* ------------------------------------------------------------------ */
/* Fetching. */

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Waits for events on fd until the deadline. Returns 0, TP_ETIMEDOUT or
 * TP_ESYS. */
static int wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};

	for (;;) {
		long left = ms_left(deadline);
		int n;
		if (left <= 0)
			return TP_ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return TP_ESYS;
	}
}

static int send_all(int fd, const char *buf, size_t len, const struct timespec *deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		int rc;
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return TP_ESYS;
		if ((rc = wait_fd(fd, POLLOUT, deadline)) != 0)
			return rc;
	}
	return 0;
}

/* Reads until the server closes. Returns 0 with *out (NUL-terminated). */
static int recv_all(int fd, char **out, size_t *outlen, const struct timespec *deadline)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	int rc = 0;

	if (!buf)
		return TP_ENOMEM;
	for (;;) {
		ssize_t n;
		if (len == cap) {
			char *nb;
			if (cap >= FETCH_MAX) {
				rc = TP_ENOSPC;
				break;
			}
			cap *= 2;
			if (!(nb = realloc(buf, cap + 1))) {
				rc = TP_ENOMEM;
				break;
			}
			buf = nb;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			rc = TP_ESYS;
			break;
		}
		if ((rc = wait_fd(fd, POLLIN, deadline)) != 0)
			break;
	}
	if (rc != 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* Splits an HTTP/1.x answer: status, then the body after the headers. */
static int parse_answer(char *ans, size_t len, int *status, char **body)
{
	char *hend = strstr(ans, "\r\n\r\n"), *te;
	int major, minor, code;

	if (!hend || sscanf(ans, "HTTP/%d.%d %d", &major, &minor, &code) != 3 || major != 1)
		return TP_EMALFORMED;
	*status = code;
	*hend = '\0';
	/* We ask with Connection: close and evhttp answers with a length:
	 * chunked bodies are not expected, and not decoded. */
	te = strcasestr(ans, "\r\nTransfer-Encoding:");
	if (code != 200 || (te && strcasestr(te, "chunked")))
		return TP_EMALFORMED;
	hend += 4;
	memmove(ans, hend, len - (size_t)(hend - ans) + 1);
	*body = ans;
	return 0;
}

int http_fetch(const struct sockaddr *server, const char *path, int timeout_ms, char **body,
	       int *status)
{
	return http_request(server, "GET", path, NULL, NULL, timeout_ms, body, status);
}

int http_request(const struct sockaddr *server, const char *method, const char *path,
		 const char *bearer, const char *form, int timeout_ms, char **body, int *status)
{
	struct timespec deadline;
	char req[2048], host[ADDR_STRLEN], clen[96], *ans = NULL;
	size_t len;
	int fd, rc, err = 0, n;
	socklen_t elen = sizeof(err);

	*body = NULL;
	*status = 0;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	addr_format(server, true, host, sizeof(host));
	if (form)
		snprintf(clen, sizeof(clen),
			 "Content-Type: application/x-www-form-urlencoded\r\n"
			 "Content-Length: %zu\r\n",
			 strlen(form));
	n = snprintf(req, sizeof(req),
		     "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: turnpikectl\r\n"
		     "Accept: text/plain, application/json\r\nConnection: close\r\n"
		     "%s%s%s%s\r\n%s",
		     method, path, host, bearer ? "Authorization: Bearer " : "",
		     bearer ? bearer : "", bearer ? "\r\n" : "", form ? clen : "",
		     form ? form : "");
	/* The request may hold a key: wiped once sent. */
	if (n < 0 || (size_t)n >= sizeof(req)) {
		OPENSSL_cleanse(req, sizeof(req));
		return TP_EINVAL;
	}
	fd = socket(server->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		OPENSSL_cleanse(req, sizeof(req));
		return TP_ESYS;
	}
	if (connect(fd, server, addr_len(server)) != 0) {
		if (errno != EINPROGRESS) {
			rc = TP_ESYS;
			goto out;
		}
		if ((rc = wait_fd(fd, POLLOUT, &deadline)) != 0)
			goto out;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
			errno = err;
			rc = TP_ESYS;
			goto out;
		}
	}
	rc = send_all(fd, req, (size_t)n, &deadline);
	OPENSSL_cleanse(req, sizeof(req));
	if (rc != 0 || (rc = recv_all(fd, &ans, &len, &deadline)) != 0)
		goto out;
	rc = parse_answer(ans, len, status, body);
	if (rc != 0)
		free(ans);
out:
	OPENSSL_cleanse(req, sizeof(req));
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The report. */

static double get(const char *text, const char *name, const char *match)
{
	double v;

	http_metric_sum(text, name, match, &v);
	return v;
}

/* "12.3% (what)" or "n/a (what: no denominator yet)". */
static void ratio(FILE *f, const char *key, double num, double den, const char *what)
{
	if (den > 0)
		fprintf(f, "%s: %.1f%% (%s)\n", key, 100.0 * num / den, what);
	else
		fprintf(f, "%s: n/a (%s; the denominator is still 0)\n", key, what);
}

void http_report_print(FILE *f, const char *text)
{
	double start = get(text, "turnpike_start_time_seconds", NULL);
	double created = get(text, "turnpike_allocations_created_total", NULL);
	double relayed = get(text, "turnpike_allocations_relayed_total", NULL);
	double issued = get(text, "turnpike_rest_credentials_issued_total", NULL);
	double binding = get(text, "turnpike_binding_requests_total", NULL);
	double auth_ok = get(text, "turnpike_auth_results_total", "result=\"ok\"");
	double auth_all = get(text, "turnpike_auth_results_total", NULL);
	/* A challenge (401 without credentials) and a stale nonce are steps
	 * of the protocol, not failures. */
	double challenges = get(text, "turnpike_auth_results_total", "result=\"challenge\"") +
			    get(text, "turnpike_auth_results_total", "result=\"stale_nonce\"");
	double in_use = get(text, "turnpike_relay_ports_in_use", NULL);
	double capacity = get(text, "turnpike_relay_ports_capacity", NULL);
	const char *state = get(text, "turnpike_draining", NULL) > 0 ? "draining"
			    : get(text, "turnpike_ready", NULL) > 0  ? "serving"
								     : "not ready";

	fprintf(f, "server: %s, up %.0f s, %.0f workers\n", state,
		start > 0 ? (double)time(NULL) - start : 0, get(text, "turnpike_workers", NULL));
	fprintf(f, "allocations-active: %.0f\n", get(text, "turnpike_allocations_active", NULL));
	fprintf(f, "allocations-created: %.0f (udp %.0f, tcp %.0f)\n", created,
		get(text, "turnpike_allocations_created_total", "transport=\"udp\""),
		get(text, "turnpike_allocations_created_total", "transport=\"tcp\""));
	fprintf(f, "allocations-relayed: %.0f\n", relayed);
	fprintf(f, "credentials-issued: %.0f (credentials %.0f, ice-servers %.0f)\n", issued,
		get(text, "turnpike_rest_credentials_issued_total", "endpoint=\"credentials\""),
		get(text, "turnpike_rest_credentials_issued_total", "endpoint=\"ice_servers\""));
	fprintf(f, "binding-requests: %.0f (udp %.0f, tcp %.0f)\n", binding,
		get(text, "turnpike_binding_requests_total", "transport=\"udp\""),
		get(text, "turnpike_binding_requests_total", "transport=\"tcp\""));
	fprintf(f, "relayed-packets: client-to-peer %.0f, peer-to-client %.0f\n",
		get(text, "turnpike_relay_packets_total", "direction=\"client_to_peer\""),
		get(text, "turnpike_relay_packets_total", "direction=\"peer_to_client\""));
	fprintf(f, "relayed-bytes: client-to-peer %.0f, peer-to-client %.0f\n",
		get(text, "turnpike_relay_bytes_total", "direction=\"client_to_peer\""),
		get(text, "turnpike_relay_bytes_total", "direction=\"peer_to_client\""));
	fprintf(f, "auth: ok %.0f, challenges %.0f, failed %.0f (expired %.0f)\n", auth_ok,
		challenges, auth_all - auth_ok - challenges,
		get(text, "turnpike_auth_results_total", "result=\"expired\""));
	fprintf(f, "error-responses: %.0f\n", get(text, "turnpike_error_responses_total", NULL));
	fprintf(f, "dropped: %.0f\n", get(text, "turnpike_dropped_total", NULL));
	fprintf(f, "peer-denied: %.0f\n", get(text, "turnpike_peer_denied_total", NULL));
	fprintf(f, "quota-rejections: %.0f\n", get(text, "turnpike_quota_rejections_total", NULL));
	fprintf(f, "relay-ports: %.0f in use of %.0f (%.2f%%)\n", in_use, capacity,
		capacity > 0 ? 100.0 * in_use / capacity : 0.0);
	fprintf(f, "http-requests: %.0f (rate-limited %.0f, bad-key %.0f)\n",
		get(text, "turnpike_http_requests_total", NULL),
		get(text, "turnpike_rest_rate_limited_total", NULL),
		get(text, "turnpike_rest_bad_key_total", NULL));
	ratio(f, "relay-fallback-rate", relayed, issued,
	      "allocations that relayed / credentials issued");
	ratio(f, "allocation-usage", relayed, created,
	      "allocations that relayed / allocations created");
	ratio(f, "relayed-per-binding", relayed, binding,
	      "allocations that relayed / Binding requests; understates the fallback rate");
}
