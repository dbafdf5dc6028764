/* Logging: one line per event, to stderr (foreground) or syslog (daemon). */
#ifndef LM_LOG_H
#define LM_LOG_H

enum lm_log_level { LM_LOG_ERROR = 0, LM_LOG_WARN, LM_LOG_INFO, LM_LOG_DEBUG };

void lm_log_set_level(enum lm_log_level lvl);
enum lm_log_level lm_log_get_level(void);
/* Send lines to syslog (ident) instead of stderr. */
void lm_log_use_syslog(const char *ident);
int lm_log_level_parse(const char *s, enum lm_log_level *out);
void lm_log(enum lm_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define lm_error(...) lm_log(LM_LOG_ERROR, __VA_ARGS__)
#define lm_warn(...) lm_log(LM_LOG_WARN, __VA_ARGS__)
#define lm_info(...) lm_log(LM_LOG_INFO, __VA_ARGS__)
#define lm_debug(...) lm_log(LM_LOG_DEBUG, __VA_ARGS__)

#endif
