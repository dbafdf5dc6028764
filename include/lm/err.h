/* Error codes and error context for the lakemount core.
 *
 * Results are int: 0 ok, positive = errno value, negative = LM_E* project codes.
 * struct lm_err carries the one-line message that names table/version/key and the
 * reason; it is filled where the failure is understood and logged by the caller that
 * decides what the user sees. */
#ifndef LM_ERR_H
#define LM_ERR_H

#include <stddef.h>

enum {
	LM_EFORMAT = -1000,   /* malformed input (JSON, Parquet, XML ...) */
	LM_EUNSUPPORTED,      /* valid but not supported (reader version, feature) */
	LM_EGAP,              /* missing commit(s) in a log */
	LM_ENEEDCKPT,         /* version needs a checkpoint we cannot use */
	LM_EESCAPE,           /* a path would escape the table root / source */
	LM_ETOOBIG,           /* a buffer cap was hit */
	LM_EMISSING,          /* referenced object absent from storage */
	LM_EMISMATCH,         /* object differs from what the log/listing says */
	LM_ENOTABLE,          /* not a table / no commits */
	LM_EREMOTE,           /* remote service error (S3 status) */
	LM_EAUTH,             /* credentials refused */
	LM_ECONFIG,           /* bad option or configuration */
	LM_ENOPROTOCOL,       /* table log without a protocol action */
	LM_ENOMETADATA,       /* table log without a metaData action */
	LM_ELAST
};

#define LM_ERR_MSG 512

struct lm_err {
	int code;               /* 0 when nothing was recorded */
	const char *reason;     /* optional static word for scripts ("log-gap"), or NULL */
	char msg[LM_ERR_MSG];   /* one line, no trailing newline */
};

void lm_err_init(struct lm_err *e);
/* Record code and a printf-style message; returns code for `return lm_err_set(...)`.
 * e may be NULL. A later call overwrites the earlier one. */
int lm_err_set(struct lm_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix an already recorded message with more context ("table x: " + msg). */
void lm_err_prefix(struct lm_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Attach a machine-readable reason word (a static string) to the recorded error. */
void lm_err_reason(struct lm_err *e, const char *word);
const char *lm_strerror(int code);
/* The errno a FUSE reply should carry for a result code. */
int lm_errno(int code);

#endif
