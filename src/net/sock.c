/* sock.c - listening sockets: non-blocking, SO_REUSEPORT so each worker has
 * its own, IPV6_V6ONLY so v4 and v6 wildcards coexist, pktinfo on wildcards. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/log.h"

#define SOCK_UDP_BUF (4 * 1024 * 1024)

static int sock_open(const struct sockaddr *sa, int type)
{
	char name[ADDR_STRLEN];
	int fd, one = 1, err;

	fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		log_err("socket(%s): %s", addr_format(sa, true, name, sizeof(name)), strerror(err));
		errno = err;
		return TP_ESYS;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    (sa->sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0))
		goto fail;
	if (bind(fd, sa, addr_len(sa)) != 0)
		goto fail;
	return fd;
fail:
	err = errno;
	log_err("bind %s %s: %s", type == SOCK_DGRAM ? "udp" : "tcp",
		addr_format(sa, true, name, sizeof(name)), strerror(err));
	close(fd);
	errno = err; /* callers decide from it whether this listener was optional */
	return TP_ESYS;
}

int sock_probe_free(const struct sockaddr *sa, int type)
{
	char name[ADDR_STRLEN];
	int fd = socket(sa->sa_family, type | SOCK_CLOEXEC, 0), one = 1, rc = 0;

	if (fd < 0)
		return 0; /* the real bind will report it */
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Without SO_REUSEPORT this fails if any process holds the port, even
	 * one that would let our SO_REUSEPORT sockets join it silently. */
	if (bind(fd, sa, addr_len(sa)) != 0 && errno == EADDRINUSE) {
		log_err("%s %s is already in use by another process",
			type == SOCK_DGRAM ? "udp" : "tcp",
			addr_format(sa, true, name, sizeof(name)));
		rc = TP_ESYS;
	}
	close(fd);
	return rc;
}

int sock_udp_listen(const struct sockaddr *sa, bool *wildcard)
{
	int fd = sock_open(sa, SOCK_DGRAM), one = 1, rc, buf = SOCK_UDP_BUF;

	if (fd < 0)
		return fd;
	/* Bursts from many clients outrun the default 208 KiB; the kernel caps
	 * this at net.core.rmem_max / wmem_max. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	*wildcard = addr_is_any(sa);
	if (*wildcard) {
		/* Learn each datagram's destination so replies leave from it. */
		if (sa->sa_family == AF_INET)
			rc = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		else
			rc = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		if (rc != 0) {
			log_err("pktinfo: %s", strerror(errno));
			close(fd);
			return TP_ESYS;
		}
	}
	return fd;
}

int sock_tcp_listen(const struct sockaddr *sa)
{
	int fd = sock_open(sa, SOCK_STREAM);

	if (fd < 0)
		return fd;
	if (listen(fd, 1024) != 0) {
		log_err("listen: %s", strerror(errno));
		close(fd);
		return TP_ESYS;
	}
	return fd;
}
