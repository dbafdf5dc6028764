/* Process plumbing of the lakemount daemon (daemon.c): signals, systemd readiness
 * notification, and libfuse's own messages routed through lm_log. */
#ifndef LM_DAEMON_H
#define LM_DAEMON_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

/* Route libfuse's messages (fuse_log) through lm_log: stderr in the foreground, syslog
 * once daemonised; libfuse's request trace (-d) at debug level. Call first thing. */
void lm_daemon_route_fuse_log(void);

/* Install the signal handlers (replacing libfuse's fuse_set_signal_handlers):
 *   SIGTERM, SIGINT  end the session loop (fuse_session_exit), so main unmounts and
 *                    exits 0;
 *   SIGHUP           wakes a thread that calls on_hup(arg) (never work in the handler);
 *   SIGPIPE          ignored.
 * Call from the main thread before mounting; on_hup only starts being called after
 * lm_daemon_signals_start(). 0 or errno. */
int lm_daemon_signals_init(struct fuse_session *se, void (*on_hup)(void *), void *arg);
/* Start the SIGHUP thread. Call after fuse_daemonize() (threads do not survive its
 * fork), from the thread that will run the session loop. 0 or errno. */
int lm_daemon_signals_start(void);
/* The signal (SIGTERM/SIGINT) that ended the loop, or 0 (unmounted from outside). */
int lm_daemon_stop_signal(void);
/* Stop the SIGHUP thread, restore default dispositions. Idempotent. Call after the
 * session is unmounted. */
void lm_daemon_signals_fini(void);

/* sd_notify(3) without libsystemd: send state ("READY=1\nSTATUS=…") as one datagram to
 * $NOTIFY_SOCKET (a path or an abstract "@name"). 0 when sent or when NOTIFY_SOCKET is
 * unset; else errno. */
int lm_daemon_notify(const char *state);

#endif
