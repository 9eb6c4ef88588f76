/* agent.h - turnpike-peer's ICE agent as the app drives it (issue 11):
 * gather, exchange descriptions, check, select, prove the pair with data,
 * keep consent; then one summary. */
#ifndef TURNPIKE_PEER_AGENT_H
#define TURNPIKE_PEER_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include "peer/servers.h"

#define PEER_HOST_IPS_MAX 16

enum peer_policy {
	PEER_POLICY_ALL = 0,
	PEER_POLICY_RELAY
};

struct peer_agent_opts {
	bool controlling;       /* --offer */
	const char *local_sdp;  /* --local-sdp PATH or "-" */
	const char *remote_sdp; /* --remote-sdp PATH or "-" */
	const char *signal_url; /* --signal redis://HOST:PORT/ROOM */
	struct peer_servers servers;
	struct sockaddr_storage host_ips[PEER_HOST_IPS_MAX]; /* --host-ip */
	size_t nhost_ips;
	enum peer_policy policy;
	int timeout_ms; /* --timeout: the whole run */
	unsigned data;  /* --data N */
	int consent_ms; /* consent lost after this long without an answer
			    * (RFC 7675 §5.1: 30 s) */
};

/* Counts and figures for the JSON summary. */
struct peer_summary {
	bool ok;
	char error[640];
	unsigned cand[4]; /* local candidates by enum sdp_cand_type */
	unsigned remote_cand[4];
	double gather_ms, connect_ms;
	unsigned checks; /* connectivity check transactions sent */
	bool have_selected;
	int sel_local, sel_remote; /* enum sdp_cand_type */
	char sel_local_addr[64], sel_remote_addr[64];
	const char *relay_protocol; /* "udp", "tcp", "tls" or NULL */
	bool controlling;
	bool data_asked;
	unsigned data_sent, data_received, data_answered;
	double rtt_ms;
	bool channel_bound; /* the selected relay pair uses ChannelData */
};

/* Runs the whole call on a fresh event base. Returns 0 when ok, else a
 * tp_err; *sum is filled either way. */
int peer_agent_run(const struct peer_agent_opts *o, struct peer_summary *sum);

/* Writes the summary as one JSON object and a newline. */
void peer_summary_write(const struct peer_summary *s, FILE *f);

#endif
