/* test_peer_signal.c - unit tests for src/peer/signal.c: atomic file
 * writes, a reader that waits for the file (bounded), stdin/stdout as "-",
 * the size cap, and the Redis URL checks and unreachable-server path (the
 * Redis exchange itself runs against redis-server in peer_signal.sh). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "peer/signal.h"
#include "turnpike/err.h"

static char dir[] = "/tmp/test_peer_signal.XXXXXX";

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_file_roundtrip(void)
{
	char path[256], err[256], *t = NULL;
	struct stat st;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/offer.sdp", dir);
	CHECK_INT(peer_signal_write(path, "v=0\r\n", 5, err, sizeof(err)), 0);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600); /* it carries the ICE password */
	CHECK_INT(peer_signal_read(path, 100, &t, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 5);
	CHECK_STR(t, "v=0\r\n");
	free(t);
	/* rewriting replaces it whole; no temporary file is left beside it */
	CHECK_INT(peer_signal_write(path, "v=0\r\ns=-\r\n", 10, err, sizeof(err)), 0);
	CHECK_INT(peer_signal_read(path, 100, &t, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 10);
	free(t);
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	CHECK(access(tmp, F_OK) != 0);
	unlink(path);

	/* an unwritable place: TP_ESYS naming the path */
	snprintf(path, sizeof(path), "%s/no/such/dir/x.sdp", dir);
	CHECK_INT(peer_signal_write(path, "x", 1, err, sizeof(err)), TP_ESYS);
	CHECK(strstr(err, "no/such/dir") != NULL);
	/* a directory is not a description */
	CHECK_INT(peer_signal_read(dir, 100, &t, &n, err, sizeof(err)), TP_ESYS);
	CHECK(t == NULL);
}

/* The reader waits for a file another process writes later. */
static void test_file_wait(void)
{
	char path[256], err[256], *t = NULL;
	struct timespec t0;
	size_t n = 0;
	long ms;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/late.sdp", dir);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0) {
		usleep(200 * 1000);
		_exit(peer_signal_write(path, "late", 4, NULL, 0) == 0 ? 0 : 1);
	}
	CHECK(pid > 0);
	CHECK_INT(peer_signal_read(path, 5000, &t, &n, err, sizeof(err)), 0);
	ms = elapsed_ms(&t0);
	CHECK(ms >= 150 && ms < 5000);
	CHECK_STR(t, "late");
	free(t);
	waitpid(pid, NULL, 0);

	/* never written: TP_ETIMEDOUT once the timeout is up, not long after */
	snprintf(path, sizeof(path), "%s/never.sdp", dir);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(peer_signal_read(path, 150, &t, &n, err, sizeof(err)), TP_ETIMEDOUT);
	ms = elapsed_ms(&t0);
	CHECK(ms >= 150 && ms < 2000);
	CHECK(strstr(err, "never.sdp: no such file after 150 ms") != NULL);
	CHECK(t == NULL);
}

static void test_file_size(void)
{
	char path[256], err[256], *t = NULL, *big = malloc(PEER_SDP_MAX + 1);
	size_t n = 0;

	memset(big, 'a', PEER_SDP_MAX + 1);
	snprintf(path, sizeof(path), "%s/big.sdp", dir);
	CHECK_INT(peer_signal_write(path, big, PEER_SDP_MAX, err, sizeof(err)), 0);
	CHECK_INT(peer_signal_read(path, 100, &t, &n, err, sizeof(err)), 0);
	CHECK_INT(n, PEER_SDP_MAX);
	free(t);
	t = NULL;
	CHECK_INT(peer_signal_write(path, big, PEER_SDP_MAX + 1, err, sizeof(err)), 0);
	CHECK_INT(peer_signal_read(path, 100, &t, &n, err, sizeof(err)), TP_ENOSPC);
	CHECK(strstr(err, "over 65536 bytes") != NULL);
	CHECK(t == NULL);
	unlink(path);
	free(big);
}

/* "-": stdin to its end (bounded by the timeout), stdout flushed. */
static void test_stdio(void)
{
	char err[256], *t = NULL, buf[64];
	int in[2], out[2], saved_in = dup(0), saved_out = dup(1);
	size_t n = 0;
	ssize_t r;

	CHECK(pipe(in) == 0 && pipe(out) == 0);
	dup2(in[0], 0);
	/* the writer has not closed: no end of file, so the timeout */
	CHECK_INT(peer_signal_read("-", 100, &t, &n, err, sizeof(err)), TP_ETIMEDOUT);
	CHECK(t == NULL);
	CHECK(write(in[1], "from stdin", 10) == 10);
	close(in[1]);
	CHECK_INT(peer_signal_read("-", 1000, &t, &n, err, sizeof(err)), 0);
	CHECK_STR(t, "from stdin");
	free(t);
	dup2(saved_in, 0);
	close(in[0]);

	dup2(out[1], 1);
	CHECK_INT(peer_signal_write("-", "to stdout\n", 10, err, sizeof(err)), 0);
	dup2(saved_out, 1);
	close(out[1]);
	r = read(out[0], buf, sizeof(buf) - 1);
	CHECK_INT(r, 10);
	buf[r > 0 ? r : 0] = '\0';
	CHECK_STR(buf, "to stdout\n");
	close(out[0]);
	close(saved_in);
	close(saved_out);
}

static void test_redis_url(void)
{
	static const char *const bad[] = {
		"",
		"redis://",
		"redis://127.0.0.1",
		"redis://127.0.0.1:6379",
		"redis://127.0.0.1:6379/",
		"redis://127.0.0.1:0/room",
		"redis://127.0.0.1:65536/room",
		"redis://127.0.0.1:x/room",
		"redis://:6379/room",
		"redis://[::1/room",
		"redis://[::1]x/room",
		"redis://127.0.0.1/ro om",
		"redis://127.0.0.1/room/x",
		"redis://user:pw@127.0.0.1/room",
		"http://127.0.0.1/room",
		"redis://127.0.0.1/"
		"01234567890123456789012345678901234567890123456789012345678901234",
	};
	char err[256], *t = NULL;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = peer_signal_redis(bad[i], true, "x", 1, 100, &t, &n, err, sizeof(err));
		if (rc != TP_EINVAL)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_INT(rc, TP_EINVAL);
		CHECK(t == NULL);
	}
	CHECK(strstr(err, "not redis://HOST[:PORT]/ROOM") != NULL);
}

/* Nothing listening: TP_ECLOSED with the reason, quickly. */
static void test_redis_unreachable(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	char url[128], err[256], *t = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t n = 0;

	/* a port bound and not listening refuses connections for sure */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%u/room1", ntohs(sin.sin_port));
	CHECK_INT(peer_signal_redis(url, false, "x", 1, 1000, &t, &n, err, sizeof(err)),
		  TP_ECLOSED);
	CHECK(strstr(err, "redis 127.0.0.1:") != NULL && strstr(err, "refused") != NULL);
	snprintf(url, sizeof(url), "redis://[::1]:%u/room1", ntohs(sin.sin_port));
	CHECK_INT(peer_signal_redis(url, false, "x", 1, 1000, &t, &n, err, sizeof(err)),
		  TP_ECLOSED);
	CHECK(t == NULL);
	close(fd);
}

int main(void)
{
	char cmd[128];

	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_file_roundtrip();
	test_file_wait();
	test_file_size();
	test_stdio();
	test_redis_url();
	test_redis_unreachable();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_done("test_peer_signal");
}
