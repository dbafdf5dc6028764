/* json.c — a strict JSON reader that keeps numbers exact (see include/lm/json.h).
 * Owns struct lm_json_doc: one arena holding every node and string of a document.
 * May call: libc, util (int parsing), arena, err. Pure decoder, no I/O.
 *
 * Recursive descent, depth capped. Members of the container being parsed wait on one
 * shared growable stack (indices, not pointers, because it moves when it grows) and
 * are copied into the arena as one contiguous array when the container closes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lm/arena.h"
#include "lm/json.h"
#include "lm/util.h"

struct lm_json_doc {
	struct lm_arena arena;
	struct lm_json root;
};

struct parser {
	const char *s;
	size_t n, pos;
	unsigned max_depth;
	size_t max_nodes, nodes;
	struct lm_arena *arena;
	struct lm_json *stack;
	size_t top, cap;
	struct lm_err *err;
	int rc;
};

static int fail(struct parser *p, int code, const char *why)
{
	size_t line = 1, col = 1;

	if (p->rc)
		return p->rc;
	for (size_t i = 0; i < p->pos && i < p->n; i++) {
		if (p->s[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	p->rc = lm_err_set(p->err, code, "line %zu, column %zu: %s", line, col, why);
	return p->rc;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->n) {
		char c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static struct lm_json *push(struct parser *p)
{
	if (p->nodes >= p->max_nodes) {
		fail(p, LM_ETOOBIG, "too many JSON values");
		return NULL;
	}
	if (p->top == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 256;
		struct lm_json *ns = realloc(p->stack, nc * sizeof(*ns));

		if (!ns) {
			fail(p, ENOMEM, "out of memory");
			return NULL;
		}
		p->stack = ns;
		p->cap = nc;
	}
	p->nodes++;
	memset(&p->stack[p->top], 0, sizeof(p->stack[0]));
	return &p->stack[p->top++];
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return EINVAL;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *d, unsigned cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xC0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xE0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		d[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	d[0] = (char)(0xF0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	d[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* A string starting at the opening quote; decoded copy in the arena. */
static int parse_string(struct parser *p, const char **out, uint32_t *outlen)
{
	size_t start = ++p->pos, end = start;
	bool esc = false;
	char *d;
	size_t k = 0;

	/* Find the closing quote; the decoded form is never longer than the raw one. */
	while (end < p->n && p->s[end] != '"') {
		unsigned char c = (unsigned char)p->s[end];

		if (c < 0x20) {
			p->pos = end;
			return fail(p, LM_EFORMAT, "control character in a string");
		}
		if (c == '\\') {
			esc = true;
			end++;
		}
		end++;
	}
	if (end >= p->n) {
		p->pos = p->n;
		return fail(p, LM_EFORMAT, "unterminated string");
	}
	if (end - start > UINT32_MAX - 1) {
		p->pos = start;
		return fail(p, LM_ETOOBIG, "string too long");
	}
	d = lm_arena_alloc(p->arena, end - start + 1);
	if (!d)
		return fail(p, ENOMEM, "out of memory");
	if (!esc) {
		memcpy(d, p->s + start, end - start);
		k = end - start;
		if (memchr(d, '\0', k)) {
			p->pos = start;
			return fail(p, LM_EFORMAT, "NUL byte in a string");
		}
	} else {
		for (size_t i = start; i < end;) {
			char c = p->s[i];
			unsigned cp, lo;

			if (c != '\\') {
				if (c == '\0') {
					p->pos = i;
					return fail(p, LM_EFORMAT, "NUL byte in a string");
				}
				d[k++] = c;
				i++;
				continue;
			}
			p->pos = i;
			c = p->s[i + 1];
			i += 2;
			switch (c) {
			case '"': d[k++] = '"'; continue;
			case '\\': d[k++] = '\\'; continue;
			case '/': d[k++] = '/'; continue;
			case 'b': d[k++] = '\b'; continue;
			case 'f': d[k++] = '\f'; continue;
			case 'n': d[k++] = '\n'; continue;
			case 'r': d[k++] = '\r'; continue;
			case 't': d[k++] = '\t'; continue;
			case 'u': break;
			default: return fail(p, LM_EFORMAT, "invalid escape in a string");
			}
			if (end - i < 4 || hex4(p->s + i, &cp))
				return fail(p, LM_EFORMAT, "invalid \\u escape");
			i += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (end - i < 6 || p->s[i] != '\\' || p->s[i + 1] != 'u' ||
				    hex4(p->s + i + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
					return fail(p, LM_EFORMAT, "unpaired UTF-16 surrogate");
				i += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				return fail(p, LM_EFORMAT, "unpaired UTF-16 surrogate");
			}
			if (cp == 0)
				return fail(p, LM_EFORMAT, "\\u0000 in a string");
			/* \uXXXX is 6 raw bytes and at most 3 decoded; a pair is 12 → 4. */
			k += put_utf8(d + k, cp);
		}
	}
	d[k] = '\0';
	p->pos = end + 1;
	*out = d;
	*outlen = (uint32_t)k;
	return 0;
}

static int parse_number(struct parser *p, struct lm_json *v)
{
	size_t i = p->pos;
	const char *s = p->s;
	char *d;

	if (i < p->n && s[i] == '-')
		i++;
	if (i >= p->n || s[i] < '0' || s[i] > '9')
		return fail(p, LM_EFORMAT, "invalid number");
	if (s[i] == '0') {
		i++;
	} else {
		while (i < p->n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < p->n && s[i] == '.') {
		i++;
		if (i >= p->n || s[i] < '0' || s[i] > '9')
			return fail(p, LM_EFORMAT, "invalid number");
		while (i < p->n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < p->n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < p->n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= p->n || s[i] < '0' || s[i] > '9')
			return fail(p, LM_EFORMAT, "invalid number");
		while (i < p->n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i - p->pos > 4096)
		return fail(p, LM_ETOOBIG, "number too long");
	d = lm_arena_strndup(p->arena, s + p->pos, i - p->pos);
	if (!d)
		return fail(p, ENOMEM, "out of memory");
	v->type = LM_JSON_NUMBER;
	v->n = (uint32_t)(i - p->pos);
	v->u.str = d;
	p->pos = i;
	return 0;
}

static int literal(struct parser *p, const char *word, uint8_t type, size_t slot)
{
	size_t l = strlen(word);

	if (p->n - p->pos < l || memcmp(p->s + p->pos, word, l) != 0)
		return fail(p, LM_EFORMAT, "unexpected character");
	p->pos += l;
	p->stack[slot].type = type;
	return 0;
}

static int parse_value(struct parser *p, unsigned depth);

/* Copy the members waiting on the stack above base into the arena. */
static int close_container(struct parser *p, size_t slot, size_t base)
{
	size_t cnt = p->top - base;
	struct lm_json *kids = NULL;

	if (cnt > UINT32_MAX)
		return fail(p, LM_ETOOBIG, "too many members");
	if (cnt) {
		kids = lm_arena_alloc(p->arena, cnt * sizeof(*kids));
		if (!kids)
			return fail(p, ENOMEM, "out of memory");
		memcpy(kids, p->stack + base, cnt * sizeof(*kids));
	}
	p->stack[slot].u.kids = kids;
	p->stack[slot].n = (uint32_t)cnt;
	p->top = base;
	return 0;
}

static int parse_array(struct parser *p, unsigned depth, size_t slot)
{
	size_t base = p->top;

	p->stack[slot].type = LM_JSON_ARRAY;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->n && p->s[p->pos] == ']') {
		p->pos++;
		return close_container(p, slot, base);
	}
	for (;;) {
		if (parse_value(p, depth + 1))
			return p->rc;
		skip_ws(p);
		if (p->pos >= p->n)
			return fail(p, LM_EFORMAT, "unterminated array");
		if (p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->s[p->pos] == ']') {
			p->pos++;
			return close_container(p, slot, base);
		}
		return fail(p, LM_EFORMAT, "expected ',' or ']'");
	}
}

static int parse_object(struct parser *p, unsigned depth, size_t slot)
{
	size_t base = p->top;

	p->stack[slot].type = LM_JSON_OBJECT;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->n && p->s[p->pos] == '}') {
		p->pos++;
		return close_container(p, slot, base);
	}
	for (;;) {
		const char *key;
		uint32_t kl;

		skip_ws(p);
		if (p->pos >= p->n || p->s[p->pos] != '"')
			return fail(p, LM_EFORMAT, "expected a member name");
		if (parse_string(p, &key, &kl))
			return p->rc;
		skip_ws(p);
		if (p->pos >= p->n || p->s[p->pos] != ':')
			return fail(p, LM_EFORMAT, "expected ':'");
		p->pos++;
		if (parse_value(p, depth + 1))
			return p->rc;
		p->stack[p->top - 1].key = key;
		skip_ws(p);
		if (p->pos >= p->n)
			return fail(p, LM_EFORMAT, "unterminated object");
		if (p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->s[p->pos] == '}') {
			p->pos++;
			return close_container(p, slot, base);
		}
		return fail(p, LM_EFORMAT, "expected ',' or '}'");
	}
}

/* Parse one value and push it on the stack. */
static int parse_value(struct parser *p, unsigned depth)
{
	size_t slot;

	if (depth > p->max_depth)
		return fail(p, LM_ETOOBIG, "nesting too deep");
	skip_ws(p);
	if (p->pos >= p->n)
		return fail(p, LM_EFORMAT, "unexpected end of input");
	if (!push(p))
		return p->rc;
	slot = p->top - 1;
	switch (p->s[p->pos]) {
	case '{':
		return parse_object(p, depth, slot);
	case '[':
		return parse_array(p, depth, slot);
	case '"': {
		const char *str;
		uint32_t l;

		if (parse_string(p, &str, &l))
			return p->rc;
		p->stack[slot].type = LM_JSON_STRING;
		p->stack[slot].u.str = str;
		p->stack[slot].n = l;
		return 0;
	}
	case 't':
		return literal(p, "true", LM_JSON_TRUE, slot);
	case 'f':
		return literal(p, "false", LM_JSON_FALSE, slot);
	case 'n':
		return literal(p, "null", LM_JSON_NULL, slot);
	default:
		return parse_number(p, &p->stack[slot]);
	}
}

int lm_json_parse(const char *s, size_t n, const struct lm_json_limits *lim,
		  struct lm_json_doc **out, struct lm_err *err)
{
	struct parser p = { 0 };
	struct lm_json_doc *d = calloc(1, sizeof(*d));
	int rc = 0;

	*out = NULL;
	if (!d)
		return lm_err_set(err, ENOMEM, "out of memory");
	lm_arena_init(&d->arena);
	p.s = s ? s : "";
	p.n = s ? n : 0;
	p.max_depth = lim && lim->max_depth ? lim->max_depth : 256;
	p.max_nodes = lim && lim->max_nodes ? lim->max_nodes : ((size_t)16 << 20);
	p.arena = &d->arena;
	p.err = err;
	if (parse_value(&p, 0)) {
		rc = p.rc;
		goto out;
	}
	skip_ws(&p);
	if (p.pos != p.n) {
		rc = fail(&p, LM_EFORMAT, "data after the JSON value");
		goto out;
	}
	d->root = p.stack[0];
	*out = d;
	d = NULL;
out:
	free(p.stack);
	if (d) {
		lm_arena_free(&d->arena);
		free(d);
	}
	return rc;
}

void lm_json_doc_free(struct lm_json_doc *d)
{
	if (!d)
		return;
	lm_arena_free(&d->arena);
	free(d);
}

const struct lm_json *lm_json_doc_root(const struct lm_json_doc *d)
{
	return d ? &d->root : NULL;
}

const struct lm_json *lm_json_get(const struct lm_json *obj, const char *key)
{
	if (!obj || obj->type != LM_JSON_OBJECT)
		return NULL;
	for (uint32_t i = obj->n; i-- > 0;)
		if (!strcmp(obj->u.kids[i].key, key))
			return &obj->u.kids[i];
	return NULL;
}

const char *lm_json_str(const struct lm_json *v)
{
	return v && v->type == LM_JSON_STRING ? v->u.str : NULL;
}

int lm_json_i64(const struct lm_json *v, int64_t *out)
{
	if (!v || v->type != LM_JSON_NUMBER)
		return EINVAL;
	for (uint32_t i = 0; i < v->n; i++)
		if (v->u.str[i] == '.' || v->u.str[i] == 'e' || v->u.str[i] == 'E')
			return EINVAL;
	return lm_parse_i64n(v->u.str, v->n, out);
}

int lm_json_i64_lenient(const struct lm_json *v, int64_t *out)
{
	if (v && v->type == LM_JSON_STRING)
		return lm_parse_i64n(v->u.str, v->n, out);
	return lm_json_i64(v, out);
}

int lm_json_bool(const struct lm_json *v, bool *out)
{
	if (!v || (v->type != LM_JSON_TRUE && v->type != LM_JSON_FALSE))
		return EINVAL;
	*out = v->type == LM_JSON_TRUE;
	return 0;
}
