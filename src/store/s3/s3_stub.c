/* s3_stub.c — placeholder until the S3 backend lands: s3:// sources are parsed and
 * refused with a clear message. May call: util. */
#include "lm/store.h"

int lm_store_s3_open(const char *source, const void *opts, struct lm_store **out,
		     struct lm_err *err)
{
	(void)opts;
	(void)out;
	return lm_err_set(err, LM_EUNSUPPORTED,
			  "%s: the S3 backend is not available in this build yet", source);
}
