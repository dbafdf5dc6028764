/* log.c — process-wide logging sink: stderr or syslog, with a level filter.
 * May call: libc, syslog. Thread-safe (one write per line). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "lm/log.h"

static enum lm_log_level cur_level = LM_LOG_INFO;
static int use_syslog;

void lm_log_set_level(enum lm_log_level lvl) { cur_level = lvl; }
enum lm_log_level lm_log_get_level(void) { return cur_level; }

void lm_log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID, LOG_DAEMON);
	use_syslog = 1;
}

int lm_log_level_parse(const char *s, enum lm_log_level *out)
{
	static const char *names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = (enum lm_log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LM_LOG_WARN;
		return 0;
	}
	return -1;
}

void lm_log(enum lm_log_level lvl, const char *fmt, ...)
{
	static const char *tags[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[2048];
	va_list ap;
	int n;

	if (lvl > cur_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (use_syslog) {
		syslog(prio[lvl], "%s: %s", tags[lvl], line);
	} else {
		char ts[32];
		struct timespec t;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &t);
		gmtime_r(&t.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
		fprintf(stderr, "lakemount %s.%03ld %s: %s\n", ts, t.tv_nsec / 1000000,
			tags[lvl], line);
	}
}
