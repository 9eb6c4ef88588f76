/* freeport.c - prints a loopback port free for both UDP and TCP, for tests
 * that start servers (the kernel picks it; we check the other protocol). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int bind_port(int type, int family, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, type, 0);

	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons((unsigned short)port);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons((unsigned short)port);
		len = sizeof(*sin6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		close(fd);
		return -1;
	}
	if (port == 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	close(fd);
	return (int)port;
}

int main(void)
{
	/* Ports a kernel hands out are random; retry until one is free on UDP
	 * and TCP, IPv4 and IPv6 loopback alike. */
	for (int tries = 0; tries < 100; tries++) {
		int port = bind_port(SOCK_DGRAM, AF_INET, 0);
		if (port <= 0)
			continue;
		if (bind_port(SOCK_STREAM, AF_INET, (unsigned)port) != port)
			continue;
		if (bind_port(SOCK_DGRAM, AF_INET6, (unsigned)port) != port ||
		    bind_port(SOCK_STREAM, AF_INET6, (unsigned)port) != port)
			continue;
		printf("%d\n", port);
		return 0;
	}
	fprintf(stderr, "freeport: no free port found\n");
	return 1;
}
