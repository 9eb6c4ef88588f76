/* send.c - answering a client whatever its transport: the requests run
 * again after a Redis answer and the data relayed from peers end here, so
 * neither needs to know whether the client's handle is a UDP socket, a
 * TCP connection or a DTLS session. */
#include "net/dtls.h"
#include "net/net.h"
#include "net/udp_int.h"

void net_send_client(struct worker *w, struct txq *q, const struct turn_from *to,
		     const uint8_t *msg, size_t len)
{
	if (to->tr == TP_UDP) {
		const struct udp_sock *us = to->conn;

		txq_add(q, &w->stats, TP_UDP, us->fd, to->client, us->wildcard ? to->local : NULL,
			msg, len);
	} else if (to->tr == TP_DTLS) {
		dtls_send_client(to->conn, msg, len);
	} else {
		tcp_send_client(to->conn, msg, len);
	}
}
