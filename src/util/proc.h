/* proc.h - the daemon's process: its pid file and the switch from root to
 * an unprivileged user once the listeners are bound (proc-user,
 * proc-group). */
#ifndef TURNPIKE_UTIL_PROC_H
#define TURNPIKE_UTIL_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* The ids to switch to, looked up before anything starts so that a bad name
 * fails at once. */
struct proc_ids {
	uid_t uid;
	gid_t gid;
	char user[64]; /* for initgroups; "" when no user is switched to */
	int switch_user, switch_group;
};

/* Resolves user and group (names or numbers; either may be NULL). Returns 0,
 * or TP_ECONFIG with the reason in err. */
int proc_ids_lookup(struct proc_ids *ids, const char *user, const char *group, char *err,
		    size_t errlen);

/* Switches to ids: supplementary groups, then the group, then the user.
 * Does nothing when nothing is asked or when already there. Returns 0 or
 * TP_ESYS with the reason in err (not root, say). */
int proc_ids_switch(const struct proc_ids *ids, char *err, size_t errlen);

/* Writes this process's id to path (created or truncated, 0644). Returns 0
 * or TP_ESYS with the reason in err. */
int proc_pidfile_write(const char *path, char *err, size_t errlen);

#endif
