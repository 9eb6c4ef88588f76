/* report.c - turnpike-peer's one-object JSON summary (issue 11): ok,
 * error, candidate counts, timings, checks, the selected pair and the
 * --data figures. */
#include <stdio.h>

#include "peer/agent.h"
#include "peer/sdp.h"

/* Writes s as a JSON string: quotes, backslashes and control bytes
 * escaped. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void counts(FILE *f, const unsigned c[4])
{
	fprintf(f, "{\"host\": %u, \"srflx\": %u, \"prflx\": %u, \"relay\": %u}", c[SDP_HOST],
		c[SDP_SRFLX], c[SDP_PRFLX], c[SDP_RELAY]);
}

void peer_summary_write(const struct peer_summary *s, FILE *f)
{
	fprintf(f, "{\"ok\": %s", s->ok ? "true" : "false");
	if (!s->ok) {
		fputs(", \"error\": ", f);
		json_str(f, s->error[0] ? s->error : "failed");
	}
	fprintf(f, ", \"role\": \"%s\"", s->controlling ? "controlling" : "controlled");
	fputs(", \"candidates\": ", f);
	counts(f, s->cand);
	fputs(", \"remote_candidates\": ", f);
	counts(f, s->remote_cand);
	fprintf(f, ", \"gather_ms\": %.1f", s->gather_ms);
	if (s->have_selected)
		fprintf(f, ", \"connect_ms\": %.1f", s->connect_ms);
	else
		fputs(", \"connect_ms\": null", f);
	fprintf(f, ", \"checks\": %u", s->checks);
	if (s->have_selected) {
		fprintf(f,
			", \"selected\": {\"local\": \"%s\", \"remote\": \"%s\", \"protocol\": "
			"\"udp\", "
			"\"relay_protocol\": ",
			sdp_cand_type_name(s->sel_local), sdp_cand_type_name(s->sel_remote));
		if (s->relay_protocol)
			fprintf(f, "\"%s\"", s->relay_protocol);
		else
			fputs("null", f);
		fputs(", \"local_address\": ", f);
		json_str(f, s->sel_local_addr);
		fputs(", \"remote_address\": ", f);
		json_str(f, s->sel_remote_addr);
		fprintf(f, ", \"channel\": %s}", s->channel_bound ? "true" : "false");
	} else {
		fputs(", \"selected\": null", f);
	}
	if (s->data_asked) {
		fprintf(f,
			", \"data\": {\"sent\": %u, \"received\": %u, \"answered\": %u, "
			"\"rtt_ms\": ",
			s->data_sent, s->data_received, s->data_answered);
		if (s->data_received)
			fprintf(f, "%.3f}", s->rtt_ms);
		else
			fputs("null}", f);
	}
	fputs("}\n", f);
	fflush(f);
}
