/* thrift.c — Thrift compact protocol reader for the Parquet footer and page headers.
 * Owns: a bounds-checked cursor over caller bytes (struct pq_thrift) and the generic
 * skip of unknown fields, with nesting capped at max_depth.
 * May call: libc, lm_err_set. Allocates nothing. */
#include <stdarg.h>
#include <stdio.h>

#include "pq.h"

void pq_thrift_init(struct pq_thrift *t, const void *p, size_t n, unsigned max_depth,
		    struct lm_err *err, const char *what)
{
	t->p = p;
	t->end = t->p + n;
	t->depth = 0;
	t->max_depth = max_depth;
	t->err = err;
	t->what = what;
}

int pq_t_fail(struct pq_thrift *t, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return lm_err_set(t->err, LM_EFORMAT, "parquet %s: %s", t->what, msg);
}

static int varint(struct pq_thrift *t, uint64_t *v)
{
	uint64_t r = 0;
	unsigned shift = 0;

	*v = 0;
	for (;;) {
		uint8_t b;

		if (t->p >= t->end)
			return pq_t_fail(t, "truncated varint");
		b = *t->p++;
		if (shift == 63 && (b & 0x7e))
			return pq_t_fail(t, "varint overflows 64 bits");
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
		shift += 7;
		if (shift > 63)
			return pq_t_fail(t, "varint longer than 10 bytes");
	}
	*v = r;
	return 0;
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int pq_t_i64(struct pq_thrift *t, int64_t *v)
{
	uint64_t u = 0;
	int rc = varint(t, &u);

	if (rc)
		return rc;
	*v = unzigzag(u);
	return 0;
}

int pq_t_i32(struct pq_thrift *t, int32_t *v)
{
	int64_t x;
	int rc = pq_t_i64(t, &x);

	if (rc)
		return rc;
	if (x < INT32_MIN || x > INT32_MAX)
		return pq_t_fail(t, "i32 value %lld out of range", (long long)x);
	*v = (int32_t)x;
	return 0;
}

int pq_t_binary(struct pq_thrift *t, const uint8_t **p, size_t *n)
{
	uint64_t len = 0;
	int rc = varint(t, &len);

	if (rc)
		return rc;
	if (len > (uint64_t)(t->end - t->p))
		return pq_t_fail(t, "binary of %llu bytes but %zu left", (unsigned long long)len,
				 (size_t)(t->end - t->p));
	*p = t->p;
	*n = (size_t)len;
	t->p += len;
	return 0;
}

int pq_t_field(struct pq_thrift *t, int16_t *last, uint8_t *type, int16_t *id)
{
	uint8_t b;
	unsigned delta;

	if (t->p >= t->end)
		return pq_t_fail(t, "truncated struct (no field stop)");
	b = *t->p++;
	*type = b & 0x0f;
	if (*type == PQ_T_STOP) {
		*id = 0;
		return 0;
	}
	if (*type > PQ_T_STRUCT)
		return pq_t_fail(t, "unknown field type %u", *type);
	delta = b >> 4;
	if (delta) {
		int32_t nid = (int32_t)*last + (int32_t)delta;

		if (nid > INT16_MAX)
			return pq_t_fail(t, "field id overflow");
		*id = (int16_t)nid;
	} else {
		int64_t v;
		int rc = pq_t_i64(t, &v);

		if (rc)
			return rc;
		if (v < INT16_MIN || v > INT16_MAX)
			return pq_t_fail(t, "field id %lld out of range", (long long)v);
		*id = (int16_t)v;
	}
	*last = *id;
	return 0;
}

static const char *tname(uint8_t ty)
{
	static const char *const n[] = { "stop", "bool", "bool", "i8", "i16", "i32", "i64",
					 "double", "binary", "list", "set", "map", "struct" };

	return ty <= PQ_T_STRUCT ? n[ty] : "?";
}

int pq_t_expect(struct pq_thrift *t, uint8_t got, uint8_t want, const char *field)
{
	if (want == PQ_T_TRUE && (got == PQ_T_TRUE || got == PQ_T_FALSE))
		return 0;
	if (want == PQ_T_LIST && (got == PQ_T_LIST || got == PQ_T_SET))
		return 0;
	if (got == want)
		return 0;
	return pq_t_fail(t, "field %s has wire type %s, expected %s", field, tname(got),
			 tname(want));
}

static size_t min_size(uint8_t ty)
{
	return ty == PQ_T_DOUBLE ? 8 : 1;
}

int pq_t_list(struct pq_thrift *t, uint8_t *etype, uint32_t *n)
{
	uint8_t b;
	uint64_t size;
	int rc;

	if (t->p >= t->end)
		return pq_t_fail(t, "truncated list header");
	b = *t->p++;
	*etype = b & 0x0f;
	size = b >> 4;
	if (size == 15) {
		rc = varint(t, &size);
		if (rc)
			return rc;
	}
	if (*etype == PQ_T_STOP || *etype > PQ_T_STRUCT)
		return pq_t_fail(t, "list of unknown element type %u", *etype);
	if (size > (uint64_t)(t->end - t->p) / min_size(*etype))
		return pq_t_fail(t, "list of %llu elements but %zu bytes left",
				 (unsigned long long)size, (size_t)(t->end - t->p));
	*n = (uint32_t)size;
	return 0;
}

int pq_t_enter(struct pq_thrift *t)
{
	if (++t->depth > t->max_depth)
		return pq_t_fail(t, "nesting deeper than %u", t->max_depth);
	return 0;
}

void pq_t_leave(struct pq_thrift *t)
{
	t->depth--;
}

static int skip_n(struct pq_thrift *t, size_t n)
{
	if (n > (size_t)(t->end - t->p))
		return pq_t_fail(t, "truncated value");
	t->p += n;
	return 0;
}

/* Skip one value; in a list, bools take one byte (elem != 0). */
static int skip_value(struct pq_thrift *t, uint8_t type, bool elem)
{
	uint64_t u = 0;
	const uint8_t *bp;
	size_t bn;
	int rc = 0;

	switch (type) {
	case PQ_T_TRUE:
	case PQ_T_FALSE:
		return elem ? skip_n(t, 1) : 0;
	case PQ_T_BYTE:
		return skip_n(t, 1);
	case PQ_T_I16:
	case PQ_T_I32:
	case PQ_T_I64:
		return varint(t, &u);
	case PQ_T_DOUBLE:
		return skip_n(t, 8);
	case PQ_T_BINARY:
		return pq_t_binary(t, &bp, &bn);
	case PQ_T_LIST:
	case PQ_T_SET: {
		uint8_t et;
		uint32_t n;

		rc = pq_t_enter(t);
		if (rc)
			goto out;
		rc = pq_t_list(t, &et, &n);
		for (uint32_t i = 0; !rc && i < n; i++)
			rc = skip_value(t, et, true);
		pq_t_leave(t);
		goto out;
	}
	case PQ_T_MAP: {
		uint8_t kv = 0;

		rc = pq_t_enter(t);
		if (rc)
			goto out;
		rc = varint(t, &u);
		if (!rc && u) {
			if (u > (uint64_t)(t->end - t->p) / 2)
				rc = pq_t_fail(t, "map of %llu entries but %zu bytes left",
					       (unsigned long long)u, (size_t)(t->end - t->p));
			else if (t->p >= t->end)
				rc = pq_t_fail(t, "truncated map header");
			else
				kv = *t->p++;
			if (!rc && ((kv >> 4) == PQ_T_STOP || (kv >> 4) > PQ_T_STRUCT ||
				    (kv & 15) == PQ_T_STOP || (kv & 15) > PQ_T_STRUCT))
				rc = pq_t_fail(t, "map of unknown types 0x%02x", kv);
		}
		for (uint64_t i = 0; !rc && i < u; i++) {
			rc = skip_value(t, kv >> 4, true);
			if (!rc)
				rc = skip_value(t, kv & 15, true);
		}
		pq_t_leave(t);
		goto out;
	}
	case PQ_T_STRUCT: {
		int16_t last = 0, id;
		uint8_t ft;

		rc = pq_t_enter(t);
		if (rc)
			goto out;
		for (;;) {
			rc = pq_t_field(t, &last, &ft, &id);
			if (rc || ft == PQ_T_STOP)
				break;
			rc = skip_value(t, ft, false);
			if (rc)
				break;
		}
		pq_t_leave(t);
		goto out;
	}
	default:
		rc = pq_t_fail(t, "cannot skip wire type %u", type);
	}
out:
	return rc;
}

int pq_t_skip(struct pq_thrift *t, uint8_t type)
{
	return skip_value(t, type, false);
}
