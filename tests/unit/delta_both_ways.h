/* Shared by the Delta decoder tests: decode a commit with the add/remove scanner and with
 * cJSON only, and require the same outcome and the same actions. */
#ifndef LM_TEST_DELTA_BOTH_WAYS_H
#define LM_TEST_DELTA_BOTH_WAYS_H

#include <criterion/criterion.h>
#include <string.h>

#include "lm/delta.h"

static void same_actions(const struct lm_delta_file_action *a, size_t na,
			 const struct lm_delta_file_action *b, size_t nb, const char *what)
{
	cr_assert_eq(na, nb, "%s: %zu vs %zu actions", what, na, nb);
	for (size_t i = 0; i < na; i++) {
		cr_assert_str_eq(a[i].path, b[i].path, "%s #%zu", what, i);
		cr_assert_eq(a[i].size, b[i].size, "%s #%zu size", what, i);
		cr_assert_eq(a[i].mtime_ms, b[i].mtime_ms, "%s #%zu mtime", what, i);
		cr_assert_eq(a[i].flags, b[i].flags, "%s #%zu flags", what, i);
		cr_assert_eq(a[i].dv_cardinality, b[i].dv_cardinality, "%s #%zu card", what, i);
		if (a[i].dv_id || b[i].dv_id)
			cr_assert_str_eq(a[i].dv_id, b[i].dv_id, "%s #%zu dv", what, i);
	}
}

/* Parse text both ways; both must agree on success/failure and on every action. */
static void both_ways(const char *text, size_t len, const char *what)
{
	struct lm_delta_commit f, s;
	struct lm_err ef, es;
	int rf, rs;

	lm_delta_commit_init(&f);
	lm_delta_commit_init(&s);
	lm_delta_fast_path = true;
	rf = lm_delta_commit_parse(text, len, &f, &ef);
	lm_delta_fast_path = false;
	rs = lm_delta_commit_parse(text, len, &s, &es);
	lm_delta_fast_path = true;
	cr_assert_eq(rf, rs, "%s: fast %d (%s) vs cJSON %d (%s)", what, rf, rf ? ef.msg : "",
		     rs, rs ? es.msg : "");
	if (!rf) {
		same_actions(f.adds, f.n_adds, s.adds, s.n_adds, what);
		same_actions(f.removes, f.n_removes, s.removes, s.n_removes, what);
	} else {
		cr_assert_str_eq(ef.msg, es.msg, "%s: same error message", what);
	}
	lm_delta_commit_free(&f);
	lm_delta_commit_free(&s);
}

#endif
