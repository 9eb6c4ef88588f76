/* sock.c - the places the peer sends from: a host UDP socket on the
 * agent's base, or a TURN relay; both feed peer_agent_input. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer/ice.h"
#include "turnpike/err.h"
#include "util/addr.h"

static void udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_sock *s = arg;
	uint8_t buf[ICE_PKT_MAX + 512];

	(void)what;
	/* A bounded batch per wake-up so one busy socket cannot starve the
	 * timers. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (n < 0)
			return; /* EAGAIN, or an ICMP error of an earlier send */
		peer_agent_input(s->agent, s, (const struct sockaddr *)&from, buf, (size_t)n);
	}
}

int peer_sock_open_udp(struct peer_agent *a, const struct sockaddr *ip, struct peer_sock **out)
{
	struct peer_sock *s;
	struct sockaddr_storage bind_to;
	socklen_t len = sizeof(bind_to);
	int rc = TP_ESYS;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return TP_ENOMEM;
	s->kind = PEER_SOCK_UDP;
	s->agent = a;
	memset(&bind_to, 0, sizeof(bind_to));
	memcpy(&bind_to, ip, addr_len(ip));
	addr_set_port((struct sockaddr *)&bind_to, 0);
	s->fd = socket(ip->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		goto err;
	if (ip->sa_family == AF_INET6) {
		int one = 1;
		setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(s->fd, (struct sockaddr *)&bind_to, addr_len((struct sockaddr *)&bind_to)) != 0 ||
	    getsockname(s->fd, (struct sockaddr *)&s->local, &len) != 0)
		goto err;
	if (!(s->ev = event_new(peer_agent_base(a), s->fd, EV_READ | EV_PERSIST, udp_read_cb, s))) {
		rc = TP_ENOMEM;
		goto err;
	}
	event_add(s->ev, NULL);
	*out = s;
	return 0;
err:
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return rc;
}

void peer_sock_free(struct peer_sock *s)
{
	if (!s || s->kind != PEER_SOCK_UDP)
		return; /* a relay's socket lives in its peer_turn */
	if (s->ev)
		event_free(s->ev);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

int peer_sock_send(void *sock, const struct sockaddr *dst, const uint8_t *buf, size_t len)
{
	struct peer_sock *s = sock;

	if (s->kind == PEER_SOCK_RELAY)
		return peer_turn_send(s->turn, dst, buf, len);
	if (dst->sa_family != s->local.ss_family)
		return TP_EINVAL;
	if (sendto(s->fd, buf, len, 0, dst, addr_len(dst)) < 0)
		return errno == EMSGSIZE ? TP_ENOSPC : TP_ESYS;
	return 0;
}
