/* codec.c — a snapshot as a flat image and back, for the persistent metadata cache.
 * Owns the image format. May call: util, snapshot.
 *
 * Image (native byte order; the header records it and a foreign order is refused):
 *   header   magic "LMSNAPv1", u32 0x01020304, u32 0, i64 version, i64 commit_ms,
 *            u64 nfiles, u64 nnodes, u64 total_bytes, u64 n_dv_files, u64 strbytes
 *   files    nfiles × { u32 path_off, u32 flags, u64 size, i64 mtime_ms, i64 deleted_rows }
 *   nodes    nnodes × { u32 name_off, u32 parent, u32 first_child, u32 n_children, i32 file }
 *   strings  strbytes bytes of NUL-terminated strings (file paths; a file node's name is
 *            the tail of its path; directory names follow)
 * The tree is stored as built (node numbers are inode suffixes, so a snapshot from the
 * cache numbers its files exactly as a freshly built one would).
 *
 * Decoding trusts nothing: every count against the length, every offset and index in
 * range, the tree shape (children numbered breadth-first, each child's parent is the
 * node listing it, names sorted, files reached once), every file's path equal to the
 * names on its way from the root, paths relative and sorted. One failed check refuses
 * the image (LM_EFORMAT). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lm/snapshot.h"
#include "lm/util.h"

#define MAGIC "LMSNAPv1"
#define ORDER 0x01020304u

struct img_head {
	char magic[8];
	uint32_t order, pad;
	int64_t version, commit_ms;
	uint64_t nfiles, nnodes, total_bytes, n_dv_files, strbytes;
};

struct img_file {
	uint32_t path_off, flags;
	uint64_t size;
	int64_t mtime_ms, deleted_rows;
};

struct img_node {
	uint32_t name_off, parent, first_child, n_children;
	int32_t file;
};

int lm_snapshot_encode(const struct lm_snapshot *s, struct lm_buf *out)
{
	struct img_head h;
	struct img_file *f = NULL;
	struct img_node *nd = NULL;
	uint64_t *poff = NULL;
	uint64_t strbytes = 0, dirbytes = 0;
	size_t base = out->len;
	int rc = 0;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, MAGIC, 8);
	h.order = ORDER;
	h.version = s->version;
	h.commit_ms = s->commit_ms;
	h.nfiles = s->nfiles;
	h.nnodes = s->nnodes;
	h.total_bytes = s->total_bytes;
	h.n_dv_files = s->n_dv_files;
	poff = malloc((s->nfiles ? s->nfiles : 1) * sizeof(*poff));
	f = malloc((s->nfiles ? s->nfiles : 1) * sizeof(*f));
	nd = malloc((s->nnodes ? s->nnodes : 1) * sizeof(*nd));
	if (!poff || !f || !nd) {
		rc = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->nfiles; i++) {
		poff[i] = strbytes;
		strbytes += strlen(s->files[i].path) + 1;
	}
	for (size_t i = 0; i < s->nnodes; i++)
		if (s->nodes[i].file < 0)
			dirbytes += strlen(s->nodes[i].name) + 1;
	if (strbytes + dirbytes > UINT32_MAX) {
		rc = LM_ETOOBIG;
		goto out;
	}
	h.strbytes = strbytes + dirbytes;
	for (size_t i = 0; i < s->nfiles; i++) {
		f[i] = (struct img_file){ .path_off = (uint32_t)poff[i],
					  .flags = s->files[i].flags,
					  .size = s->files[i].size,
					  .mtime_ms = s->files[i].mtime_ms,
					  .deleted_rows = s->files[i].deleted_rows };
	}
	{
		uint64_t doff = strbytes;

		for (size_t i = 0; i < s->nnodes; i++) {
			const struct lm_snap_node *n = &s->nodes[i];
			uint64_t off;

			if (n->file >= 0) {
				const char *p = s->files[n->file].path;
				size_t pl = strlen(p), nl = strlen(n->name);

				/* A file node's name is the tail of its path. */
				if (nl > pl || strcmp(p + pl - nl, n->name)) {
					rc = LM_EFORMAT;
					goto out;
				}
				off = poff[n->file] + (pl - nl);
			} else {
				off = doff;
				doff += strlen(n->name) + 1;
			}
			nd[i] = (struct img_node){ .name_off = (uint32_t)off, .parent = n->parent,
						   .first_child = n->first_child,
						   .n_children = n->n_children, .file = n->file };
		}
	}
	rc = lm_buf_reserve(out, sizeof(h) + s->nfiles * sizeof(*f) + s->nnodes * sizeof(*nd) +
				      h.strbytes);
	if (!rc)
		rc = lm_buf_append(out, &h, sizeof(h));
	if (!rc && s->nfiles)
		rc = lm_buf_append(out, f, s->nfiles * sizeof(*f));
	if (!rc && s->nnodes)
		rc = lm_buf_append(out, nd, s->nnodes * sizeof(*nd));
	for (size_t i = 0; !rc && i < s->nfiles; i++)
		rc = lm_buf_append(out, s->files[i].path, strlen(s->files[i].path) + 1);
	for (size_t i = 0; !rc && i < s->nnodes; i++)
		if (s->nodes[i].file < 0)
			rc = lm_buf_append(out, s->nodes[i].name, strlen(s->nodes[i].name) + 1);
out:
	if (rc)
		out->len = base;
	free(poff);
	free(f);
	free(nd);
	return rc;
}

/* Does the chain of names from the root to node i spell path exactly? */
static bool path_matches(const struct lm_snapshot *s, uint32_t i, const char *path)
{
	size_t end = strlen(path);
	unsigned guard = 0;

	for (;;) {
		const struct lm_snap_node *n = &s->nodes[i];
		size_t nl = strlen(n->name);

		if (nl > end || memcmp(path + end - nl, n->name, nl))
			return false;
		end -= nl;
		i = n->parent;
		if (i == 0)
			return end == 0;
		if (end == 0 || path[end - 1] != '/' || ++guard > 4096)
			return false;
		end--;
	}
}

int lm_snapshot_decode(const void *data, size_t len, struct lm_snapshot **out,
		       struct lm_err *err)
{
	const char *p = data;
	struct img_head h;
	struct lm_snapshot *s = NULL;
	const struct img_file *imf;
	const struct img_node *imn;
	const char *strs;
	unsigned char *seen = NULL;
	uint64_t need, nodes_at, strs_at;
	uint32_t next = 1;
	const char *why = NULL;
	int rc = 0;

	*out = NULL;
	if (len < sizeof(h)) {
		why = "shorter than its header";
		goto bad;
	}
	memcpy(&h, p, sizeof(h));
	if (memcmp(h.magic, MAGIC, 8) || h.order != ORDER) {
		why = "not a snapshot image of this build";
		goto bad;
	}
	if (h.nfiles > UINT32_MAX / 4 || h.nnodes > UINT32_MAX / 2 || h.nnodes < 1 ||
	    h.strbytes > UINT32_MAX || h.strbytes < 1) {
		why = "counts out of range";
		goto bad;
	}
	nodes_at = sizeof(h) + h.nfiles * sizeof(struct img_file);
	strs_at = nodes_at + h.nnodes * sizeof(struct img_node);
	need = strs_at + h.strbytes;
	if (need != len) {
		why = "lengths do not add up";
		goto bad;
	}
	strs = p + strs_at;
	if (strs[h.strbytes - 1] != '\0') {
		why = "strings not terminated";
		goto bad;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return lm_err_set(err, ENOMEM, "out of memory");
	atomic_init(&s->refs, 1);
	lm_arena_init(&s->arena);
	s->version = h.version;
	s->commit_ms = h.commit_ms;
	s->files = malloc((h.nfiles ? h.nfiles : 1) * sizeof(*s->files));
	s->nodes = malloc(h.nnodes * sizeof(*s->nodes));
	s->blob = malloc(h.strbytes);
	seen = calloc(h.nfiles ? h.nfiles : 1, 1);
	if (!s->files || !s->nodes || !s->blob || !seen) {
		rc = lm_err_set(err, ENOMEM, "out of memory decoding a cached snapshot");
		goto out;
	}
	memcpy(s->blob, strs, h.strbytes);
	imf = (const struct img_file *)(p + sizeof(h));
	imn = (const struct img_node *)(p + nodes_at);
	for (uint64_t i = 0; i < h.nfiles; i++) {
		struct img_file f;

		memcpy(&f, &imf[i], sizeof(f));
		if (f.path_off >= h.strbytes) {
			why = "a path offset out of range";
			goto bad;
		}
		s->files[i] = (struct lm_file){ .path = (const char *)s->blob + f.path_off,
						.size = f.size, .mtime_ms = f.mtime_ms,
						.flags = f.flags, .deleted_rows = f.deleted_rows };
		if (!lm_relpath_ok(s->files[i].path) ||
		    (i && strcmp(s->files[i - 1].path, s->files[i].path) >= 0)) {
			why = "paths not relative, unique and sorted";
			goto bad;
		}
		s->total_bytes += f.size;
		if (f.flags & LM_FILE_HAS_DV)
			s->n_dv_files++;
	}
	s->nfiles = h.nfiles;
	s->nnodes = h.nnodes;
	for (uint64_t i = 0; i < h.nnodes; i++) {
		struct img_node n;

		memcpy(&n, &imn[i], sizeof(n));
		if (n.name_off >= h.strbytes || n.parent >= h.nnodes ||
		    (n.file >= 0 && (uint64_t)n.file >= h.nfiles) || (n.file < -1)) {
			why = "a node index out of range";
			goto bad;
		}
		s->nodes[i] = (struct lm_snap_node){ .name = (const char *)s->blob + n.name_off,
						     .parent = n.parent,
						     .first_child = n.first_child,
						     .n_children = n.n_children, .file = n.file };
	}
	/* Shape: node 0 is the root directory; children are numbered breadth-first in one
	 * run (so every node but the root has exactly one parent, which precedes it). */
	if (s->nodes[0].file >= 0 || s->nodes[0].parent != 0 || s->nodes[0].name[0]) {
		why = "a bad root";
		goto bad;
	}
	for (uint64_t i = 0; i < h.nnodes; i++) {
		const struct lm_snap_node *n = &s->nodes[i];

		if (n->file >= 0) {
			if (n->n_children || seen[n->file]++ ||
			    !path_matches(s, (uint32_t)i, s->files[n->file].path)) {
				why = "a file node that does not match its file";
				goto bad;
			}
			continue;
		}
		if (n->n_children && n->first_child != next) {
			why = "children not numbered in order";
			goto bad;
		}
		if ((uint64_t)next + n->n_children > h.nnodes) {
			why = "children out of range";
			goto bad;
		}
		for (uint32_t c = next; c < next + n->n_children; c++) {
			const char *nm = s->nodes[c].name;

			if (s->nodes[c].parent != i || !nm[0] || strchr(nm, '/') ||
			    (c > next && strcmp(s->nodes[c - 1].name, nm) >= 0)) {
				why = "a directory's children are not its own, named and sorted";
				goto bad;
			}
		}
		next += n->n_children;
	}
	if (next != h.nnodes) {
		why = "nodes no directory lists";
		goto bad;
	}
	for (uint64_t i = 0; i < h.nfiles; i++)
		if (!seen[i]) {
			why = "a file no node shows";
			goto bad;
		}
	if (s->total_bytes != h.total_bytes || s->n_dv_files != h.n_dv_files) {
		why = "totals do not match the files";
		goto bad;
	}
	goto out;
bad:
	rc = lm_err_set(err, LM_EFORMAT, "cached snapshot image refused: %s", why);
out:
	free(seen);
	if (rc) {
		lm_snapshot_unref(s);
		return rc;
	}
	*out = s;
	return 0;
}
