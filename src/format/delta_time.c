/* delta_time.c — pure parser of the timestamp names a Delta table directory resolves
 * (@2026-01-05T10:00:00Z …): ISO-8601 date-times with fractional seconds and zone
 * offsets, plain dates (start of day, UTC) and Delta Spark's yyyyMMddHHmmssSSS.
 * Owns nothing. May call: libc. No I/O. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lm/delta.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int mdays(int64_t y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

/* n digits at *p → *v; advances. */
static bool digits(const char **p, int n, int64_t *v)
{
	int64_t x = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		x = x * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*v = x;
	return true;
}

static int compose(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s,
		   int64_t ms, int64_t off_min, int64_t *out)
{
	if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays(y, (int)mo) || h > 23 ||
	    mi > 59 || s > 59)
		return EINVAL;
	*out = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi - off_min) * 60000 + s * 1000 + ms;
	return 0;
}

int lm_delta_time_parse(const char *s, int64_t *ms)
{
	int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
	size_t n = strlen(s);
	const char *p = s;

	if (n == 17) {
		bool all = true;

		for (size_t i = 0; i < n; i++)
			all = all && s[i] >= '0' && s[i] <= '9';
		if (all) {
			digits(&p, 4, &y);
			digits(&p, 2, &mo);
			digits(&p, 2, &d);
			digits(&p, 2, &h);
			digits(&p, 2, &mi);
			digits(&p, 2, &sec);
			digits(&p, 3, &frac);
			return compose(y, mo, d, h, mi, sec, frac, 0, ms);
		}
	}
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return EINVAL;
	if (*p == '\0')
		return compose(y, mo, d, 0, 0, 0, 0, 0, ms);
	if (*p != 'T' && *p != 't' && *p != ' ')
		return EINVAL;
	p++;
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
		return EINVAL;
	if (*p == ':') {
		p++;
		if (!digits(&p, 2, &sec))
			return EINVAL;
		if (*p == '.' || *p == ',') {
			int nd = 0;

			p++;
			while (*p >= '0' && *p <= '9') {
				if (nd < 3)
					frac = frac * 10 + (*p - '0');
				nd++;
				p++;
			}
			if (!nd || nd > 9)
				return EINVAL;
			while (nd < 3) {
				frac *= 10;
				nd++;
			}
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int64_t oh, om = 0;

		p++;
		if (!digits(&p, 2, &oh))
			return EINVAL;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &om))
				return EINVAL;
		} else if (*p >= '0' && *p <= '9') {
			if (!digits(&p, 2, &om))
				return EINVAL;
		}
		if (oh > 18 || om > 59)
			return EINVAL;
		off = sign * (oh * 60 + om);
	}
	if (*p != '\0')
		return EINVAL;
	return compose(y, mo, d, h, mi, sec, frac, off, ms);
}
