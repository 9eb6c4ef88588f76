/* proc.c - pid file and privilege drop for turnpiked (proc-user,
 * proc-group, pidfile; the option names are coturn's). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/err.h"
#include "util/proc.h"

/* A decimal id, or -1 when s is not one. */
static long parse_id(const char *s)
{
	char *end;
	long v;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v < 0 || v > 0x7ffffffe ? -1 : v;
}

int proc_ids_lookup(struct proc_ids *ids, const char *user, const char *group, char *err,
		    size_t errlen)
{
	memset(ids, 0, sizeof(*ids));
	if (user) {
		struct passwd *pw;
		long id = parse_id(user);

		errno = 0;
		pw = id >= 0 ? getpwuid((uid_t)id) : getpwnam(user);
		if (!pw && id < 0) {
			snprintf(err, errlen, "proc-user: no user '%.64s'", user);
			return TP_ECONFIG;
		}
		ids->uid = pw ? pw->pw_uid : (uid_t)id;
		ids->gid = pw ? pw->pw_gid : (gid_t)id;
		if (pw)
			snprintf(ids->user, sizeof(ids->user), "%s", pw->pw_name);
		ids->switch_user = 1;
		ids->switch_group = 1;
	}
	if (group) {
		struct group *gr;
		long id = parse_id(group);

		gr = id >= 0 ? getgrgid((gid_t)id) : getgrnam(group);
		if (!gr && id < 0) {
			snprintf(err, errlen, "proc-group: no group '%.64s'", group);
			return TP_ECONFIG;
		}
		ids->gid = gr ? gr->gr_gid : (gid_t)id;
		ids->switch_group = 1;
	}
	return 0;
}

int proc_ids_switch(const struct proc_ids *ids, char *err, size_t errlen)
{
	if (ids->switch_group && getegid() != ids->gid) {
		/* Drop root's supplementary groups: the user's own, or none. */
		int rc = ids->user[0] ? initgroups(ids->user, ids->gid) : setgroups(0, NULL);

		if (rc != 0 || setgid(ids->gid) != 0) {
			snprintf(err, errlen, "proc-group: cannot switch to group %lu: %s",
				 (unsigned long)ids->gid, strerror(errno));
			return TP_ESYS;
		}
	}
	if (ids->switch_user && geteuid() != ids->uid) {
		if (setuid(ids->uid) != 0) {
			snprintf(err, errlen, "proc-user: cannot switch to user %lu: %s",
				 (unsigned long)ids->uid, strerror(errno));
			return TP_ESYS;
		}
		/* Root must be gone for good. */
		if (ids->uid != 0 && setuid(0) == 0) {
			snprintf(err, errlen, "proc-user: root could be regained");
			return TP_ESYS;
		}
	}
	return 0;
}

int proc_pidfile_write(const char *path, char *err, size_t errlen)
{
	char buf[32];
	int fd, n, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "pidfile %.200s: %s", path, strerror(errno));
		return TP_ESYS;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		saved = errno;
		close(fd);
		snprintf(err, errlen, "pidfile %.200s: %s", path, strerror(saved));
		return TP_ESYS;
	}
	if (close(fd) != 0) {
		snprintf(err, errlen, "pidfile %.200s: %s", path, strerror(errno));
		return TP_ESYS;
	}
	return 0;
}
