/* sdnotify.h - the systemd readiness protocol (sd_notify(3)) without
 * libsystemd: a datagram to the socket $NOTIFY_SOCKET names. Outside
 * systemd (no NOTIFY_SOCKET) every call does nothing. */
#ifndef TURNPIKE_UTIL_SDNOTIFY_H
#define TURNPIKE_UTIL_SDNOTIFY_H

/* Sends state ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...", one
 * or more newline-separated assignments). Returns 0 when sent or when not
 * under systemd, TP_EINVAL for a NOTIFY_SOCKET that is no socket path,
 * TP_ESYS when the send failed (errno says why). */
int sdnotify(const char *state);

#endif
