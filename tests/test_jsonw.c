/* The streaming JSON writer (jsonw.c): its text is the one jansson's
 * json_dumps gives for the same document (the reports' format before
 * they were streamed), whatever the strings and numbers; what jansson
 * cannot hold (bytes that are not UTF-8, NaN) still makes JSON. */
#define _GNU_SOURCE
#include "internal.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9))

typedef struct {
	orx_memstream m;
	orx_jw w;
} sink;

static void sink_open(sink *s)
{
	cr_assert_eq(orx_memstream_open(&s->m), ORX_OK);
	orx_jw_init(&s->w, s->m.f);
}

/* The writer's text without its closing newline. */
static char *sink_text(sink *s)
{
	char *text = NULL;

	cr_assert_eq(orx_memstream_take(&s->m, &text, orx_jw_finish(&s->w)),
		     ORX_OK);
	cr_assert(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	text[strlen(text) - 1] = '\0';
	return text;
}

static void assert_as_jansson(char *ours, json_t *doc)
{
	char *theirs = json_dumps(doc, FLAGS);

	cr_assert_not_null(theirs);
	cr_assert_str_eq(ours, theirs);
	free(theirs);
	free(ours);
	json_decref(doc);
}

static const double reals[] = {0.0,
			       -0.0,
			       1.0,
			       -3.0,
			       0.1,
			       1.0 / 3.0,
			       2.5e-7,
			       1e-5,
			       1e20,
			       123456789.0,
			       1234567890.0,
			       -6.02214076e23,
			       4.9e-324,
			       1.7976931348623157e308,
			       1e9,
			       1e100,
			       0.000123456789,
			       42.5};

Test(jsonw, reals_are_written_as_jansson_writes_them)
{
	sink s;
	json_t *doc = json_array();

	sink_open(&s);
	orx_jw_open(&s.w, NULL, '[');
	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		orx_jw_real(&s.w, NULL, reals[i]);
		json_array_append_new(doc, json_real(reals[i]));
	}
	orx_jw_close(&s.w, ']');
	assert_as_jansson(sink_text(&s), doc);
}

static const char *const strings[] = {
	"",
	"plain",
	"quote \" and backslash \\ and slash /",
	"\b\f\n\r\t\x01\x1f\x7f",
	"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	"/model/layers.0/self_attn/MatMul_output_0"};

Test(jsonw, nested_documents_and_strings_are_written_as_jansson_writes_them)
{
	sink s;
	json_t *doc = json_object(), *a = json_array(), *o = json_object();

	sink_open(&s);
	orx_jw_open(&s.w, NULL, '{');
	orx_jw_string(&s.w, "model", "m.onnx");
	orx_jw_int(&s.w, "seed", -9007199254740993LL);
	orx_jw_open(&s.w, "empty", '[');
	orx_jw_close(&s.w, ']');
	orx_jw_open(&s.w, "nothing", '{');
	orx_jw_close(&s.w, '}');
	orx_jw_open(&s.w, "strings", '[');
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		orx_jw_string(&s.w, NULL, strings[i]);
		json_array_append_new(a, json_string(strings[i]));
	}
	orx_jw_close(&s.w, ']');
	orx_jw_open(&s.w, "inner", '{');
	orx_jw_null(&s.w, "null");
	orx_jw_bool(&s.w, "yes", true);
	orx_jw_string(&s.w, "\"key\"\n", NULL);
	orx_jw_close(&s.w, '}');
	orx_jw_close(&s.w, '}');
	json_object_set_new(doc, "model", json_string("m.onnx"));
	json_object_set_new(doc, "seed", json_integer(-9007199254740993LL));
	json_object_set_new(doc, "empty", json_array());
	json_object_set_new(doc, "nothing", json_object());
	json_object_set_new(doc, "strings", a);
	json_object_set_new(o, "null", json_null());
	json_object_set_new(o, "yes", json_true());
	json_object_set_new(o, "\"key\"\n", json_null());
	json_object_set_new(doc, "inner", o);
	assert_as_jansson(sink_text(&s), doc);
}

/* Bytes that are not UTF-8 (a lone continuation, a truncated sequence,
 * an overlong '/', a surrogate, past U+10FFFF) each become U+FFFD; the
 * text parses and the valid parts survive. */
Test(jsonw, bytes_that_are_not_utf8_become_replacement_characters)
{
	static const char *const bad[] = {"a\x80z", "a\xe2\x82", "\xc0\xaf",
					  "\xed\xa0\x80", "\xf4\x90\x80\x80"};
	static const char *const want[] = {
		"a\xef\xbf\xbdz", "a\xef\xbf\xbd\xef\xbf\xbd",
		"\xef\xbf\xbd\xef\xbf\xbd",
		"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sink s;
		json_error_t err;
		char *text;
		json_t *v;
		sink_open(&s);
		orx_jw_string(&s.w, NULL, bad[i]);
		text = sink_text(&s);
		v = json_loads(text, JSON_DECODE_ANY, &err);
		cr_assert_not_null(v, "%s: %s", text, err.text);
		cr_assert_str_eq(json_string_value(v), want[i], "case %zu", i);
		json_decref(v);
		free(text);
	}
}

Test(jsonw, nonfinite_reals_are_null)
{
	sink s;
	char *text;

	sink_open(&s);
	orx_jw_open(&s.w, NULL, '[');
	orx_jw_real(&s.w, NULL, NAN);
	orx_jw_real(&s.w, NULL, -INFINITY);
	orx_jw_real_or_null(&s.w, NULL, false, 1.0);
	orx_jw_close(&s.w, ']');
	text = sink_text(&s);
	cr_assert_str_eq(text, "[\n  null,\n  null,\n  null\n]");
	free(text);
}

Test(jsonw, a_failed_write_is_an_io_error)
{
	FILE *full = fopen("/dev/full", "w");
	orx_jw w;

	cr_assert_not_null(full);
	setvbuf(full, NULL, _IONBF, 0);
	orx_jw_init(&w, full);
	orx_jw_open(&w, NULL, '[');
	orx_jw_string(&w, NULL, "x");
	orx_jw_close(&w, ']');
	cr_assert_eq(orx_jw_finish(&w), ORX_EIO);
	fclose(full);
}
