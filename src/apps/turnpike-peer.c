/* turnpike-peer.c - a test peer that proves a TURN deployment end to end
 * (issue 11): gathers through turnpiked, exchanges descriptions, connects
 * with ICE, sends data over the selected pair, prints one JSON summary.
 * The work is in src/peer/; this is option parsing. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "peer/agent.h"
#include "peer/servers.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/log.h"

#define URIS_MAX PEER_SERVERS_MAX

static int usage(FILE *f, int rc)
{
	fprintf(f,
		"Usage: turnpike-peer --offer|--answer [options]\n\n"
		"Connects to another turnpike-peer (or any ICE agent) through STUN/TURN servers\n"
		"and prints one JSON summary. Exit status 0 only when the call connected.\n\n"
		"  --offer                 be the offerer (controlling ICE agent)\n"
		"  --answer                be the answerer (controlled ICE agent)\n"
		"  --local-sdp PATH        write this side's description there ('-': stdout)\n"
		"  --remote-sdp PATH       wait for the other side's there ('-': stdin)\n"
		"  --signal URL            exchange both over Redis: redis://HOST:PORT/ROOM\n"
		"  --ice-servers SRC       servers: turnpiked's ice-servers JSON (a file, '-', or\n"
		"                          an http(s) URL of the hook), or a stun:, turn: or\n"
		"                          turns: URI; repeatable\n"
		"  --user U, --password P  credentials for the turn:/turns: URIs\n"
		"  --host-ip IP            host candidate address (repeatable; default: every\n"
		"                          usable local address)\n"
		"  --policy all|relay      relay: only relayed candidates (default all)\n"
		"  --timeout SECONDS       bound on the whole call (default 30)\n"
		"  --consent-timeout SECS  the call fails after this long without an answer to\n"
		"                          consent checks on the selected pair (default 30,\n"
		"                          RFC 7675)\n"
		"  --json PATH             where the summary goes (default stdout)\n"
		"  --data N                send N datagrams over the selected pair, report their\n"
		"                          round trips\n"
		"  --duration SECONDS      media: DTLS-SRTP on the selected pair, then this long\n"
		"                          of RTP (PCMU tone) both ways with RTCP (default 0: no\n"
		"                          media); within --timeout\n"
		"  --packet-size BYTES     RTP payload per packet, 1..1200 (default 160: 20 ms)\n"
		"  --bitrate BITS          RTP payload bit rate, paces the packets (default "
		"64000)\n"
		"  --verbose               log what the agent does on standard error; twice:\n"
		"                          every check, answer and nomination\n"
		"  --help                  this text\n");
	return rc;
}

static bool is_uri(const char *s)
{
	return strncmp(s, "stun:", 5) == 0 || strncmp(s, "turn:", 5) == 0 ||
	       strncmp(s, "turns:", 6) == 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"offer", no_argument, NULL, 'o'},
		{"answer", no_argument, NULL, 'a'},
		{"local-sdp", required_argument, NULL, 'l'},
		{"remote-sdp", required_argument, NULL, 'r'},
		{"signal", required_argument, NULL, 's'},
		{"ice-servers", required_argument, NULL, 'i'},
		{"user", required_argument, NULL, 'u'},
		{"password", required_argument, NULL, 'p'},
		{"host-ip", required_argument, NULL, 'H'},
		{"policy", required_argument, NULL, 'P'},
		{"timeout", required_argument, NULL, 't'},
		{"consent-timeout", required_argument, NULL, 'C'},
		{"json", required_argument, NULL, 'j'},
		{"data", required_argument, NULL, 'd'},
		{"duration", required_argument, NULL, 'D'},
		{"packet-size", required_argument, NULL, 'S'},
		{"bitrate", required_argument, NULL, 'B'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct peer_agent_opts o;
	static struct peer_summary sum;
	const char *srcs[URIS_MAX], *user = NULL, *pass = NULL, *json = NULL;
	size_t nsrcs = 0;
	int role = -1, c, rc, verbose = 0;
	char err[256], *end;
	double secs;
	unsigned long n;
	FILE *out = stdout;

	o.timeout_ms = 30000;
	o.consent_ms = 30000;
	log_open(LOG_LVL_WARN, LOG_DEST_STDERR, NULL);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
		case 'a':
			if (role >= 0 && role != (c == 'o')) {
				fprintf(stderr,
					"turnpike-peer: --offer and --answer exclude each other\n");
				return 2;
			}
			role = c == 'o';
			break;
		case 'l':
			o.local_sdp = optarg;
			break;
		case 'r':
			o.remote_sdp = optarg;
			break;
		case 's':
			o.signal_url = optarg;
			break;
		case 'i':
			if (nsrcs == URIS_MAX) {
				fprintf(stderr, "turnpike-peer: at most %d --ice-servers\n",
					URIS_MAX);
				return 2;
			}
			srcs[nsrcs++] = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'p':
			pass = optarg;
			break;
		case 'H':
			if (o.nhost_ips == PEER_HOST_IPS_MAX ||
			    addr_parse(optarg, 0, &o.host_ips[o.nhost_ips]) != 0) {
				fprintf(stderr, "turnpike-peer: bad or too many --host-ip: %s\n",
					optarg);
				return 2;
			}
			o.nhost_ips++;
			break;
		case 'P':
			if (strcmp(optarg, "all") == 0)
				o.policy = PEER_POLICY_ALL;
			else if (strcmp(optarg, "relay") == 0)
				o.policy = PEER_POLICY_RELAY;
			else {
				fprintf(stderr, "turnpike-peer: --policy is all or relay, not %s\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			secs = strtod(optarg, &end);
			if (*end || !(secs > 0 && secs <= 86400)) {
				fprintf(stderr, "turnpike-peer: bad --timeout: %s\n", optarg);
				return 2;
			}
			o.timeout_ms = (int)(secs * 1000);
			break;
		case 'C':
			secs = strtod(optarg, &end);
			if (*end || !(secs >= 1 && secs <= 3600)) {
				fprintf(stderr,
					"turnpike-peer: bad --consent-timeout (1..3600): %s\n",
					optarg);
				return 2;
			}
			o.consent_ms = (int)(secs * 1000);
			break;
		case 'j':
			json = optarg;
			break;
		case 'd':
			n = strtoul(optarg, &end, 10);
			if (*end || !*optarg || n > 100000) {
				fprintf(stderr, "turnpike-peer: bad --data (0..100000): %s\n",
					optarg);
				return 2;
			}
			o.data = (unsigned)n;
			break;
		case 'D':
			secs = strtod(optarg, &end);
			if (*end || !*optarg || !(secs >= 0 && secs <= 3600)) {
				fprintf(stderr, "turnpike-peer: bad --duration (0..3600): %s\n",
					optarg);
				return 2;
			}
			o.media.duration_ms = (unsigned)(secs * 1000);
			break;
		case 'S':
			n = strtoul(optarg, &end, 10);
			if (*end || !*optarg || n < 1 || n > 1200) {
				fprintf(stderr, "turnpike-peer: bad --packet-size (1..1200): %s\n",
					optarg);
				return 2;
			}
			o.media.packet_size = n;
			break;
		case 'B':
			n = strtoul(optarg, &end, 10);
			if (*end || !*optarg || n < 800 || n > 100000000) {
				fprintf(stderr,
					"turnpike-peer: bad --bitrate (800..100000000): %s\n",
					optarg);
				return 2;
			}
			o.media.bitrate = (unsigned)n;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			return usage(stderr, 2);
		}
	}
	if (optind < argc || role < 0) {
		fprintf(stderr, "turnpike-peer: %s\n",
			role < 0 ? "--offer or --answer is required" : "unexpected argument");
		return usage(stderr, 2);
	}
	o.controlling = role == 1;
	if (verbose)
		log_set_level(verbose > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if ((o.media.packet_size || o.media.bitrate) && !o.media.duration_ms) {
		fprintf(stderr, "turnpike-peer: --packet-size and --bitrate need --duration\n");
		return 2;
	}
	if (o.media.duration_ms && (int)o.media.duration_ms >= o.timeout_ms) {
		fprintf(stderr,
			"turnpike-peer: --duration must be shorter than --timeout (which bounds "
			"the whole call)\n");
		return 2;
	}
	if (!o.signal_url && (!o.local_sdp || !o.remote_sdp)) {
		fprintf(stderr, "turnpike-peer: give --local-sdp and --remote-sdp, or --signal\n");
		return 2;
	}
	for (size_t i = 0; i < nsrcs; i++) {
		rc = is_uri(srcs[i]) ? peer_servers_add_uri(&o.servers, srcs[i], user, pass, err,
							    sizeof(err))
				     : peer_servers_load(&o.servers, srcs[i], o.timeout_ms, false,
							 err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "turnpike-peer: --ice-servers %s: %s\n", srcs[i], err);
			return 2;
		}
	}
	if (json && strcmp(json, "-") != 0 && !(out = fopen(json, "w"))) {
		fprintf(stderr, "turnpike-peer: cannot write %s\n", json);
		return 2;
	}
	rc = peer_agent_run(&o, &sum);
	peer_summary_write(&sum, out);
	if (out != stdout)
		fclose(out);
	return rc == 0 && sum.ok ? 0 : 1;
}
