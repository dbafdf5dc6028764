/* err.c — error codes, messages and errno mapping. Owns struct lm_err helpers.
 * May call: libc only. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lm/err.h"

void lm_err_init(struct lm_err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->reason = NULL;
	e->msg[0] = '\0';
}

void lm_err_reason(struct lm_err *e, const char *word)
{
	if (e)
		e->reason = word;
}

int lm_err_set(struct lm_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	e->reason = NULL;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	for (char *p = e->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return code;
}

void lm_err_prefix(struct lm_err *e, const char *fmt, ...)
{
	char pre[LM_ERR_MSG], old[LM_ERR_MSG];
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	{
		size_t pl = strnlen(pre, sizeof(e->msg) - 1);
		size_t ol = strnlen(old, sizeof(old));

		if (ol > sizeof(e->msg) - 1 - pl)
			ol = sizeof(e->msg) - 1 - pl;
		memcpy(e->msg, pre, pl);
		memcpy(e->msg + pl, old, ol);
		e->msg[pl + ol] = '\0';
	}
}

const char *lm_strerror(int code)
{
	switch (code) {
	case 0: return "success";
	case LM_EFORMAT: return "malformed data";
	case LM_EUNSUPPORTED: return "not supported";
	case LM_EGAP: return "gap in the log";
	case LM_ENEEDCKPT: return "needs a checkpoint";
	case LM_EESCAPE: return "path escapes the table root";
	case LM_ETOOBIG: return "object larger than the allowed maximum";
	case LM_EMISSING: return "referenced object missing from storage";
	case LM_EMISMATCH: return "object differs from what the log records";
	case LM_ENOTABLE: return "no table";
	case LM_EREMOTE: return "remote storage error";
	case LM_EAUTH: return "credentials refused";
	case LM_ECONFIG: return "bad configuration";
	case LM_ENOPROTOCOL: return "no protocol action in the log";
	case LM_ENOMETADATA: return "no metaData action in the log";
	default:
		if (code > 0)
			return strerror(code);
		return "unknown error";
	}
}

int lm_errno(int code)
{
	if (code > 0)
		return code;
	switch (code) {
	case 0: return 0;
	case LM_ENOTABLE: return ENOENT;
	case LM_ETOOBIG: return EFBIG;
	case LM_EAUTH: return EACCES;
	case LM_ECONFIG: return EINVAL;
	default: return EIO;
	}
}
