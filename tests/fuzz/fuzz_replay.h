/* Plain replay main shared by the Iceberg fuzz targets (built with -DLM_FUZZ_MAIN):
 * feeds every regular file under each argument (recursively) to the target, so the
 * targets run as ordinary tests over their seeds and the corpus. */
#ifndef LM_FUZZ_REPLAY_H
#define LM_FUZZ_REPLAY_H

#ifdef LM_FUZZ_MAIN
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long fuzz_replayed;

static void fuzz_replay(const char *path, size_t max)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (stat(path, &st))
		return;
	if (S_ISREG(st.st_mode)) {
		FILE *f;
		uint8_t *b;

		if ((size_t)st.st_size > max || !(f = fopen(path, "rb")))
			return;
		b = malloc((size_t)st.st_size + 1);
		if (b && fread(b, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
			LLVMFuzzerTestOneInput(b, (size_t)st.st_size);
			fuzz_replayed++;
		}
		free(b);
		fclose(f);
		return;
	}
	if (!S_ISDIR(st.st_mode) || !(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		char p[4096];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		fuzz_replay(p, max);
	}
	closedir(d);
}

#define LM_FUZZ_REPLAY_MAIN(name, max)                                                       \
	int main(int argc, char **argv)                                                      \
	{                                                                                    \
		for (int i = 1; i < argc; i++)                                               \
			fuzz_replay(argv[i], max);                                           \
		printf("%s: replayed %lu inputs\n", name, fuzz_replayed);                    \
		return fuzz_replayed ? 0 : 1;                                                \
	}
#else
#define LM_FUZZ_REPLAY_MAIN(name, max)
#endif

#endif
