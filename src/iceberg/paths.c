/* paths.c — placing Iceberg file paths inside the table, and timestamps for
 * @<timestamp> lookups. Owns struct ice_roots.
 * May call: store (uri_to_key), util, err.
 *
 * Iceberg records absolute URIs written by whoever wrote the table (s3://, s3a://,
 * hdfs://host:port/..., gs://, file:..., /tmp/..., or paths relative to the writer's
 * working directory). The table has since moved (copied into a corpus, mounted from
 * another bucket): a path is relocated onto the table's actual root by cutting a
 * known spelling of the original root — the metadata's location, or a prefix learned
 * from paths of files that sit in our own metadata/ folder — and keeping the rest
 * exactly (no percent-decoding: Iceberg paths are literal). What cannot be placed
 * below the table root is refused, never followed. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg_int.h"
#include "lm/util.h"

void ice_roots_init(struct ice_roots *r)
{
	r->n = 0;
	r->shown = NULL;
}

void ice_roots_free(struct ice_roots *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->loc[i]);
	free(r->shown);
	ice_roots_init(r);
}

static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *r = malloc(la + lb + 1);

	if (!r)
		return NULL;
	memcpy(r, a, la);
	memcpy(r + la, b, lb + 1);
	return r;
}

char *ice_norm(const char *p)
{
	const char *r;

	if (!strncmp(p, "s3a://", 6) || !strncmp(p, "s3n://", 6))
		return concat("s3://", p + 6);
	if (!strncmp(p, "file:", 5)) {
		r = p + 5;
		if (!strncmp(r, "///", 3))
			return strdup(r + 2);
		if (!strncmp(r, "//localhost/", 12))
			return strdup(r + 11);
		if (r[0] == '/' && r[1] != '/')
			return strdup(r);
		return strdup(p);   /* file://authority/... kept as written */
	}
	while (p[0] == '.' && p[1] == '/') {
		p += 2;
		while (*p == '/')
			p++;
	}
	return strdup(p);
}

int ice_roots_add(struct ice_roots *r, const char *root)
{
	char *n;
	size_t l;

	if (!root || r->n >= sizeof(r->loc) / sizeof(r->loc[0]))
		return 0;
	n = ice_norm(root);
	if (!n)
		return ENOMEM;
	l = strlen(n);
	while (l && n[l - 1] == '/')
		n[--l] = '\0';
	if (!l) {
		free(n);
		return 0;
	}
	for (size_t i = 0; i < r->n; i++) {
		if (!strcmp(r->loc[i], n)) {
			free(n);
			return 0;
		}
	}
	if (!r->shown && !(r->shown = strdup(root))) {
		free(n);
		return ENOMEM;
	}
	r->loc[r->n++] = n;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ice_roots_learn(struct ice_roots *r, const char *p, char *const *names, size_t n)
{
	const char *base = strrchr(p, '/');
	size_t pl = strlen(p), bl;
	char *root;
	int rc;

	if (!base || !n)
		return 0;
	base++;
	bl = strlen(base);
	if (!bl || !bsearch(&base, names, n, sizeof(*names), name_cmp))
		return 0;
	if (pl - bl < 9 || memcmp(p + pl - bl - 9, "metadata/", 9))
		return 0;
	if (pl - bl - 9 > 0 && p[pl - bl - 10] != '/')
		return 0;   /* "xmetadata/": not the metadata folder */
	root = lm_strndup(p, pl - bl - 9);
	if (!root)
		return ENOMEM;
	rc = ice_roots_add(r, root);
	free(root);
	return rc;
}

/* RFC 3986 scheme followed by ':' (and not a bare drive-less path). */
static bool has_scheme(const char *p)
{
	const char *q = p;

	if (!isalpha((unsigned char)*q))
		return false;
	while (isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.')
		q++;
	return *q == ':';
}

int ice_relocate(const struct ice_roots *roots, struct lm_store *store, const char *table_key,
		 const char *raw, char **rel, struct lm_err *err)
{
	char *p = ice_norm(raw), *key = NULL;
	size_t kl = strlen(table_key);
	int rc = 0;

	*rel = NULL;
	if (!p)
		return lm_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < roots->n; i++) {
		size_t l = strlen(roots->loc[i]);

		if (!strncmp(p, roots->loc[i], l) && p[l] == '/') {
			if (!lm_relpath_ok(p + l + 1)) {
				rc = lm_err_set(err, LM_EESCAPE,
						"path '%s' has an empty, '.' or '..' component below the table location",
						raw);
				goto out;
			}
			*rel = strdup(p + l + 1);
			rc = *rel ? 0 : lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
	}
	if (has_scheme(p) && strncmp(raw, "file:", 5)) {
		rc = lm_err_set(err, LM_EESCAPE, "path '%s' is outside the table location%s%s", raw,
				roots->shown ? " " : "", roots->shown ? roots->shown : "");
		goto out;
	}
	if (p[0] != '/' && !has_scheme(p)) {
		/* Relative: to the table root. */
		if (!lm_relpath_ok(p)) {
			rc = lm_err_set(err, LM_EESCAPE,
					"path '%s' escapes the table root (empty, '.' or '..' component)",
					raw);
			goto out;
		}
		*rel = p;
		p = NULL;
		goto out;
	}
	/* An absolute path or file: URI: where is it in this store? */
	rc = lm_store_uri_to_key(store, p[0] == '/' ? p : raw, &key, NULL);
	if (rc) {
		rc = lm_err_set(err, LM_EESCAPE, "path '%s' is outside the table location%s%s", raw,
				roots->shown ? " " : "", roots->shown ? roots->shown : "");
		goto out;
	}
	if (kl && (strncmp(key, table_key, kl) || key[kl] != '/')) {
		rc = lm_err_set(err, LM_EESCAPE, "path '%s' is outside the table root", raw);
		goto out;
	}
	if (!lm_relpath_ok(key + (kl ? kl + 1 : 0))) {
		rc = lm_err_set(err, LM_EESCAPE, "path '%s' is not a file in the table", raw);
		goto out;
	}
	*rel = strdup(key + (kl ? kl + 1 : 0));
	if (!*rel)
		rc = lm_err_set(err, ENOMEM, "out of memory");
out:
	free(key);
	free(p);
	return rc;
}

/* ---------- timestamps ---------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int ice_parse_time(const char *s, int64_t *ms)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
	const char *p = s;

	if (!digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) || p[7] != '-' ||
	    !digits(p + 8, 2, &d))
		return EINVAL;
	p += 10;
	if (mo < 1 || mo > 12 || d < 1)
		return EINVAL;
	if (d > mdays[mo - 1] + (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(p, 2, &h) || p[2] != ':' || !digits(p + 3, 2, &mi))
			return EINVAL;
		p += 5;
		if (*p == ':') {
			if (!digits(p + 1, 2, &sec))
				return EINVAL;
			p += 3;
			if (*p == '.' || *p == ',') {
				int nd = 0;

				p++;
				if (!isdigit((unsigned char)*p))
					return EINVAL;
				while (isdigit((unsigned char)*p)) {
					if (nd < 3)
						frac = frac * 10 + (*p - '0');
					nd++;
					p++;
				}
				while (nd < 3) {
					frac *= 10;
					nd++;
				}
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return EINVAL;
		if (sec == 60)
			sec = 59;   /* a leap second reads as the second before it */
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om = 0, sign = *p == '-' ? -1 : 1;

		if (!digits(p + 1, 2, &oh))
			return EINVAL;
		p += 3;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char)*p)) {
			if (!digits(p, 2, &om))
				return EINVAL;
			p += 2;
		}
		if (oh > 23 || om > 59)
			return EINVAL;
		off = sign * (oh * 60 + om);
	}
	if (*p)
		return EINVAL;
	*ms = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 24 + h) * 60 + mi - off) * 60000 +
	      (int64_t)sec * 1000 + frac;
	return 0;
}
