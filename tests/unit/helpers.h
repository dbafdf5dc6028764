/* Shared helpers for unit tests: scratch directories and file writing. */
#ifndef LM_TEST_HELPERS_H
#define LM_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p of the directory part of path, then write content. */
static inline void th_write(const char *root, const char *rel, const char *content)
{
	char path[4096], *p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	cr_assert(f, "cannot write %s", path);
	fputs(content, f);
	fclose(f);
}

static inline char *th_tmpdir(void)
{
	char tmpl[] = "/tmp/lmtest.XXXXXX";
	char *d = mkdtemp(tmpl);

	cr_assert(d);
	return strdup(d);
}

static inline void th_rmrf(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
}

#endif
