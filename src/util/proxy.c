/* proxy.c - PROXY protocol v1 (a text line) and v2 (binary) headers, as
 * HAProxy's specification describes them: only the source address is
 * taken; TLVs are skipped. */
#include "util/proxy.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "util/addr.h"

static const uint8_t sig2[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN ...\r\n". */
static int parse_v1(const uint8_t *buf, size_t len, struct sockaddr_storage *src, size_t *used)
{
	char line[108], *f[6], *save = NULL;
	const uint8_t *end = memchr(buf, '\n', len < 107 ? len : 107);
	size_t n = 0, ll;
	int family;
	long port;

	if (!end)
		return len >= 107 ? -1 : 0;
	ll = (size_t)(end - buf) + 1;
	if (ll < 8 || buf[ll - 2] != '\r')
		return -1;
	memcpy(line, buf, ll - 2);
	line[ll - 2] = '\0';
	for (char *t = strtok_r(line, " ", &save); t && n < 6; t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	if (n >= 2 && strcmp(f[1], "UNKNOWN") == 0) {
		memset(src, 0, sizeof(*src));
		*used = ll;
		return 1;
	}
	if (n != 6 || strcmp(f[0], "PROXY") != 0)
		return -1;
	family = strcmp(f[1], "TCP4") == 0 ? AF_INET : strcmp(f[1], "TCP6") == 0 ? AF_INET6 : 0;
	if (!family || addr_parse(f[2], 0, src) != 0 || src->ss_family != family ||
	    addr_port((struct sockaddr *)src) != 0)
		return -1;
	port = strtol(f[4], &save, 10);
	if (*save || port < 0 || port > 65535 || f[4][0] == '-')
		return -1;
	addr_set_port((struct sockaddr *)src, (uint16_t)port);
	*used = ll;
	return 1;
}

static int parse_v2(const uint8_t *buf, size_t len, struct sockaddr_storage *src, size_t *used)
{
	size_t alen;

	if (len < 16)
		return 0;
	alen = (size_t)buf[14] << 8 | buf[15];
	if ((buf[12] & 0xF0) != 0x20 || 16 + alen > PROXY_MAX)
		return -1;
	if (len < 16 + alen)
		return 0;
	memset(src, 0, sizeof(*src));
	*used = 16 + alen;
	if ((buf[12] & 0x0F) == 0x0)
		return 1; /* LOCAL: the balancer's own connection */
	if ((buf[12] & 0x0F) != 0x1)
		return -1;
	if (buf[13] == 0x11 && alen >= 12) { /* TCP over IPv4 */
		struct sockaddr_in *s4 = (struct sockaddr_in *)src;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, buf + 16, 4);
		memcpy(&s4->sin_port, buf + 24, 2);
		return 1;
	}
	if (buf[13] == 0x21 && alen >= 36) { /* TCP over IPv6 */
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)src;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, buf + 16, 16);
		memcpy(&s6->sin6_port, buf + 48, 2);
		return 1;
	}
	if (buf[13] == 0x00)
		return 1; /* UNSPEC: keep the balancer's address */
	return -1;
}

int proxy_parse(const uint8_t *buf, size_t len, struct sockaddr_storage *src, size_t *used)
{
	size_t n = len < sizeof(sig2) ? len : sizeof(sig2);

	if (len == 0)
		return 0;
	if (memcmp(buf, sig2, n) == 0)
		return n < sizeof(sig2) ? 0 : parse_v2(buf, len, src, used);
	n = len < 6 ? len : 6;
	if (memcmp(buf, "PROXY ", n) == 0)
		return n < 6 ? 0 : parse_v1(buf, len, src, used);
	return -1;
}
