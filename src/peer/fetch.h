/* fetch.h - one blocking HTTP/1.1 GET over TCP or TLS, bounded in time and
 * size, for turnpike-peer's --ice-servers URL (turnpiked's REST hook). */
#ifndef TURNPIKE_PEER_FETCH_H
#define TURNPIKE_PEER_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#define PEER_FETCH_MAX (64 * 1024) /* body bytes */

/*
 * GETs an http:// or https:// URL within timeout_ms in all (resolve,
 * connect, TLS handshake, request, response). https verifies the server's
 * certificate against the system store (SSL_CERT_FILE/SSL_CERT_DIR honoured)
 * and its name or IP address, unless insecure. Only a 200 answer counts.
 * Returns 0 with *body (malloc'd, NUL-terminated; the caller frees) and
 * *len, TP_EINVAL (bad URL), TP_ETIMEDOUT, TP_ENOSPC (body over the cap),
 * TP_ECRYPTO (TLS), TP_ESYS (anything else, with the HTTP status). err
 * never repeats the URL's query, which may hold the API key.
 */
int peer_fetch_get(const char *url, int timeout_ms, bool insecure, char **body, size_t *len,
		   char *err, size_t errlen);

#endif
