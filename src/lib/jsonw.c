/* JSON written as it is made: each value goes to the stream at once, so a
 * report of 128,000 tensors never exists as a document tree. The text is
 * the one jansson's json_dumps gives with JSON_INDENT(2),
 * JSON_PRESERVE_ORDER and JSON_REAL_PRECISION(9) (the reports' format
 * since they were written with it): 2-space indentation, "key": value,
 * empty containers as {} and [], reals to 9 significant digits with a
 * ".0" where they would read as integers, exponents without '+' or
 * leading zeros. Bytes that are not UTF-8 are written as U+FFFD, non-finite
 * reals as null: the text is always JSON. */
#define _GNU_SOURCE
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void orx_jw_init(orx_jw *w, FILE *to)
{
	memset(w, 0, sizeof(*w));
	w->f = to;
}

static void indent(orx_jw *w, int depth)
{
	fputc('\n', w->f);
	for (int i = 0; i < depth; i++)
		fputs("  ", w->f);
}

/* Where a new value starts: after its separator, indentation and key. */
static void member(orx_jw *w, const char *key)
{
	if (w->depth > 0) {
		if (w->count[w->depth - 1]++)
			fputc(',', w->f);
		indent(w, w->depth);
	}
	if (key) {
		orx_jw_text(w, key);
		fputs(": ", w->f);
	}
}

/* The length of the UTF-8 sequence at s (at most n bytes), or 0 when the
 * bytes there are not one (overlong forms, surrogates, past U+10FFFF). */
static size_t utf8_length(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0xC2   ? 0
		     : s[0] < 0xE0 ? 2
		     : s[0] < 0xF0 ? 3
		     : s[0] < 0xF5 ? 4
				   : 0;
	uint32_t cp;

	if (!len || len > n)
		return 0;
	cp = s[0] & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

void orx_jw_text(orx_jw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	fputc('"', w->f);
	for (size_t i = 0; i < n;) {
		size_t len, run = i;
		while (run < n && p[run] >= 0x20 && p[run] < 0x80 &&
		       p[run] != '"' && p[run] != '\\')
			run++;
		fwrite(p + i, 1, run - i, w->f);
		if ((i = run) == n)
			break;
		if (p[i] >= 0x80) {
			len = utf8_length(p + i, n - i);
			if (len)
				fwrite(p + i, 1, len, w->f);
			else
				fputs("\\ufffd", w->f);
			i += len ? len : 1;
			continue;
		}
		switch (p[i]) {
		case '"': fputs("\\\"", w->f); break;
		case '\\': fputs("\\\\", w->f); break;
		case '\b': fputs("\\b", w->f); break;
		case '\f': fputs("\\f", w->f); break;
		case '\n': fputs("\\n", w->f); break;
		case '\r': fputs("\\r", w->f); break;
		case '\t': fputs("\\t", w->f); break;
		default: fprintf(w->f, "\\u%04X", p[i]);
		}
		i++;
	}
	fputc('"', w->f);
}

void orx_jw_open(orx_jw *w, const char *key, char bracket)
{
	member(w, key);
	fputc(bracket, w->f);
	if (w->depth < ORX_JW_DEPTH)
		w->count[w->depth] = 0;
	w->depth++;
	assert(w->depth <= ORX_JW_DEPTH);
}

void orx_jw_close(orx_jw *w, char bracket)
{
	assert(w->depth > 0);
	w->depth--;
	if (w->count[w->depth])
		indent(w, w->depth);
	fputc(bracket, w->f);
}

void orx_jw_string(orx_jw *w, const char *key, const char *s)
{
	member(w, key);
	if (s)
		orx_jw_text(w, s);
	else
		fputs("null", w->f);
}

void orx_jw_int(orx_jw *w, const char *key, long long v)
{
	member(w, key);
	fprintf(w->f, "%lld", v);
}

void orx_jw_bool(orx_jw *w, const char *key, bool v)
{
	member(w, key);
	fputs(v ? "true" : "false", w->f);
}

void orx_jw_null(orx_jw *w, const char *key)
{
	member(w, key);
	fputs("null", w->f);
}

/* %.9g, then as jansson: ".0" where neither '.' nor 'e' shows, and the
 * exponent without '+' and without leading zeros. */
void orx_jw_real(orx_jw *w, const char *key, double v)
{
	char buf[40], *e;

	member(w, key);
	if (!isfinite(v)) {
		fputs("null", w->f);
		return;
	}
	snprintf(buf, sizeof(buf), "%.9g", v);
	if (!strchr(buf, '.') && !strchr(buf, 'e'))
		strcat(buf, ".0");
	if ((e = strchr(buf, 'e'))) {
		char *start = e + 1, *end = e + 2;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		memmove(start, end, strlen(end) + 1);
	}
	fputs(buf, w->f);
}

/* Either a number or null, as the reports write what is unknown. */
void orx_jw_real_or_null(orx_jw *w, const char *key, bool has, double v)
{
	if (has)
		orx_jw_real(w, key, v);
	else
		orx_jw_null(w, key);
}

int orx_jw_finish(orx_jw *w)
{
	fputc('\n', w->f);
	if (ferror(w->f))
		return orx_fail(ORX_EIO, "cannot write the report");
	return ORX_OK;
}

int orx_memstream_open(orx_memstream *m)
{
	m->text = NULL;
	m->len = 0;
	if (!(m->f = open_memstream(&m->text, &m->len)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	return ORX_OK;
}

int orx_memstream_take(orx_memstream *m, char **out, int rc)
{
	if (fclose(m->f) != 0 && rc == ORX_OK)
		rc = orx_fail(ORX_ENOMEM, "out of memory");
	if (rc == ORX_OK && !m->text)
		rc = orx_fail(ORX_ENOMEM, "out of memory");
	if (rc != ORX_OK) {
		free(m->text);
		return rc;
	}
	*out = m->text;
	return ORX_OK;
}
