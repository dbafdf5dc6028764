/* daemon.c — process plumbing of the daemon, kept out of main.c: the signal handlers
 * (SIGTERM/SIGINT end the FUSE loop; SIGHUP is handed to a thread through a self-pipe),
 * systemd's readiness protocol (a datagram to $NOTIFY_SOCKET, no libsystemd), and the
 * bridge that sends libfuse's own messages through lm_log.
 * May call: libfuse (fuse_session_exit, fuse_set_log_func), log, libc, pthreads.
 *
 * Signals. libfuse's fuse_set_signal_handlers() would end the mount on SIGHUP too and
 * gives no way to tell "stopped by a signal" from "unmounted", so the daemon installs its
 * own. The handlers only do async-signal-safe things: set a flag, fuse_session_exit()
 * (which only sets se->exited), write one byte to a non-blocking pipe, pthread_kill().
 * The loop notices the exit flag when a blocking call in the main thread returns EINTR
 * (libfuse's workers block these signals; the SIGHUP thread does too). If a signal lands
 * on another thread that did not block it, the handler re-sends it to the main thread.
 * The SIGHUP work (re-reading credentials, expiring listings) runs on the SIGHUP thread,
 * concurrently with FUSE requests: the callback must be thread-safe. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "lm/log.h"

static struct fuse_session *volatile g_se;
static volatile sig_atomic_t stop_sig;
static volatile sig_atomic_t pipe_w = -1;
static int pipe_r = -1;
static pthread_t main_tid;
static pthread_t hup_tid;
static int hup_started;
static int handlers_installed;
static void (*hup_cb)(void *);
static void *hup_arg;

/* ---- libfuse's messages ---- */

/* libfuse sometimes builds one line from several calls ("fuse: unknown option(s): `",
 * "-o", " bogus'\n"): pieces are collected per thread until a newline ends the line. */
static __thread char fl_line[1024];
static __thread size_t fl_len;

__attribute__((format(printf, 2, 0)))
static void fuse_log_bridge(enum fuse_log_level level, const char *fmt, va_list ap)
{
	enum lm_log_level lvl;
	int n;

	if (level <= FUSE_LOG_ERR)
		lvl = LM_LOG_ERROR;
	else if (level == FUSE_LOG_WARNING)
		lvl = LM_LOG_WARN;
	else if (level <= FUSE_LOG_INFO)
		lvl = LM_LOG_INFO;
	else
		lvl = LM_LOG_DEBUG;
	if (lvl > lm_log_get_level())
		return;
	n = vsnprintf(fl_line + fl_len, sizeof(fl_line) - fl_len, fmt, ap);
	if (n < 0)
		return;
	fl_len += (size_t)n < sizeof(fl_line) - fl_len ? (size_t)n : sizeof(fl_line) - 1 - fl_len;
	if (fl_len && fl_line[fl_len - 1] != '\n' && fl_len < sizeof(fl_line) - 1)
		return;   /* the rest of the line comes with the next call */
	while (fl_len && (fl_line[fl_len - 1] == '\n' || fl_line[fl_len - 1] == ' '))
		fl_line[--fl_len] = '\0';
	if (fl_len)
		lm_log(lvl, "%s", fl_line);
	fl_len = 0;
	fl_line[0] = '\0';
}

void lm_daemon_route_fuse_log(void)
{
	fuse_set_log_func(fuse_log_bridge);
}

/* ---- signals ---- */

static void on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGHUP) {
		char c = 'H';
		int fd = pipe_w;

		if (fd >= 0 && write(fd, &c, 1) < 0) {
			/* pipe full: a reload is already pending */
		}
	} else {
		struct fuse_session *se = g_se;

		stop_sig = sig;
		if (se)
			fuse_session_exit(se);
		/* The loop waits in the main thread: make sure its blocking call sees EINTR. */
		if (!pthread_equal(pthread_self(), main_tid))
			pthread_kill(main_tid, sig);
	}
	errno = saved;
}

static int set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL) ? errno : 0;
}

int lm_daemon_signals_init(struct fuse_session *se, void (*on_hup)(void *), void *arg)
{
	int fds[2] = { -1, -1 };
	int rc = 0;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		rc = errno;
		goto out;
	}
	if (fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0) {
		rc = errno;
		goto out;
	}
	pipe_r = fds[0];
	pipe_w = fds[1];
	fds[0] = fds[1] = -1;
	g_se = se;
	hup_cb = on_hup;
	hup_arg = arg;
	stop_sig = 0;
	main_tid = pthread_self();
	handlers_installed = 1;   /* even partly: fini puts the dispositions back */
	/* No SA_RESTART for the stop signals: the loop's blocking call must return EINTR. */
	if ((rc = set_handler(SIGTERM, on_signal, 0)) || (rc = set_handler(SIGINT, on_signal, 0)) ||
	    (rc = set_handler(SIGHUP, on_signal, SA_RESTART)) ||
	    (rc = set_handler(SIGPIPE, SIG_IGN, 0)))
		goto out;
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return rc;
}

static void *hup_thread(void *unused)
{
	(void)unused;
	for (;;) {
		char buf[64];
		ssize_t n = read(pipe_r, buf, sizeof(buf));
		int hup = 0, quit = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == 'H')
				hup = 1;
			else if (buf[i] == 'Q')
				quit = 1;
		}
		/* Several SIGHUPs queued while one was handled: one reload covers them. */
		if (hup && !quit && hup_cb)
			hup_cb(hup_arg);
		if (quit)
			break;
	}
	return NULL;
}

int lm_daemon_signals_start(void)
{
	sigset_t block, old;
	int rc;

	if (pipe_r < 0 || hup_started)
		return pipe_r < 0 ? EINVAL : 0;
	main_tid = pthread_self();   /* after fuse_daemonize: the child's main thread */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(&hup_tid, NULL, hup_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		hup_started = 1;
	return rc;
}

int lm_daemon_stop_signal(void)
{
	return stop_sig;
}

void lm_daemon_signals_fini(void)
{
	int fd;

	if (handlers_installed) {
		/* From here on a SIGHUP is ignored (the mount is gone), SIGTERM/SIGINT kill. */
		set_handler(SIGHUP, SIG_IGN, 0);
		set_handler(SIGTERM, SIG_DFL, 0);
		set_handler(SIGINT, SIG_DFL, 0);
		handlers_installed = 0;
	}
	g_se = NULL;
	if (hup_started) {
		const char q = 'Q';
		struct timespec ms = { 0, 1000000 };

		while (write(pipe_w, &q, 1) < 0 && (errno == EAGAIN || errno == EINTR))
			nanosleep(&ms, NULL);
		pthread_join(hup_tid, NULL);
		hup_started = 0;
	}
	fd = pipe_w;
	pipe_w = -1;
	if (fd >= 0)
		close(fd);
	if (pipe_r >= 0)
		close(pipe_r);
	pipe_r = -1;
}

/* ---- systemd notification ---- */

int lm_daemon_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	size_t n;
	int fd = -1, rc = 0;

	if (!path || !*path)
		goto out;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n < 2 || n >= sizeof(sa.sun_path)) {
		rc = EAFNOSUPPORT;   /* vsock: and other forms are not spoken here */
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';   /* abstract namespace: no trailing NUL counted */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = errno;
		goto out;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
		rc = errno;
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		lm_debug("sd_notify to %s: %s", path, strerror(rc));
	return rc;
}
