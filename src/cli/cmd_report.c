/* onnx-reinit report merge: the JSON-lines reports of batch's shards
 * joined into one, as one unsharded run would have written it, or
 * rendered for CI systems. */
#define _GNU_SOURCE
#include "cli.h"
#include "report_html.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *format;
	orx_severity fail_on;
} report_args;

static const cli_option options[] = {
	{"format", 0, OPT_STRING, offsetof(report_args, format), NULL, "FORMAT",
	 NULL,
	 "jsonl (the merged lines), sarif, junit or github (from the lines' "
	 "problems, batch --check --report's), or html (one page, as batch "
	 "--report FILE.html writes it) [jsonl]",
	 OPT_OPTIONAL},
	{"fail-on", 0, OPT_SEVERITY, offsetof(report_args, fail_on), NULL,
	 "LEVEL", NULL,
	 "the findings that make exit status 1: error, warning or note "
	 "[error]",
	 OPT_OPTIONAL},
	{0}};

static const report_args defaults = {NULL, ORX_SEVERITY_ERROR};

static int cmd_report(int argc, char **argv);

const cli_command cli_report = {
	"report",
	cmd_report,
	"merge REPORT...",
	"Join the JSON-lines reports of batch's shards (--report) into one:\n"
	"the lines sorted by input, a model in two reports refused, the\n"
	"counts summed on standard error. Exit status 1 when a model failed\n"
	"or has a finding at --fail-on's level.\n",
	options,
	&defaults,
	NULL};

/*** @@FINDINGS: to and from a report's lines ***/

json_t *cli_findings_json(const orx_finding *f, size_t n)
{
	json_t *a = json_array();

	for (size_t k = 0; a && k < n; k++)
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s, s:o, s:f, s:o, s:s}",
				     "name", f[k].name, "problem",
				     orx_problem_name(f[k].problem), "severity",
				     orx_severity_name(f[k].severity), "std",
				     isnan(f[k].std) ? json_null()
						     : json_real(f[k].std),
				     "expected_std", f[k].expected_std, "ratio",
				     isnan(f[k].ratio) ? json_null()
						       : json_real(f[k].ratio),
				     "via", orx_via_name(f[k].by_signal)));
	return a;
}

static int problem_of(orx_problem *out, const char *name)
{
	for (int p = ORX_PROBLEM_ZEROS; p <= ORX_PROBLEM_SATURATED; p++)
		if (name && !strcmp(name, orx_problem_name((orx_problem)p))) {
			*out = (orx_problem)p;
			return 0;
		}
	return -1;
}

static double number_or_nan(json_t *v)
{
	return json_is_number(v) ? json_number_value(v) : NAN;
}

int cli_findings_from_json(orx_finding **out, size_t *n, json_t *array)
{
	size_t count = json_array_size(array);
	orx_finding *f = calloc(count + 1, sizeof(*f));

	*out = f, *n = count;
	if (!f || (array && !json_is_array(array)))
		return -1;
	for (size_t k = 0; k < count; k++) {
		json_t *o = json_array_get(array, k);
		const char *via = json_string_value(json_object_get(o, "via"));
		f[k].name = json_string_value(json_object_get(o, "name"));
		f[k].std = number_or_nan(json_object_get(o, "std"));
		f[k].expected_std =
			number_or_nan(json_object_get(o, "expected_std"));
		f[k].ratio = number_or_nan(json_object_get(o, "ratio"));
		f[k].by_signal = ORX_VIA_LAYER;
		if (!f[k].name ||
		    (via && orx_via_parse(&f[k].by_signal, via)) ||
		    problem_of(&f[k].problem, json_string_value(json_object_get(
						      o, "problem"))) ||
		    orx_severity_parse(&f[k].severity,
				       json_string_value(json_object_get(
					       o, "severity"))) != ORX_OK)
			return -1;
	}
	return 0;
}

/*** @@MERGE ***/

typedef struct {
	json_t **lines;
	size_t n, cap;
} merged;

static int by_input(const void *x, const void *y)
{
	return strcmp(json_string_value(
			      json_object_get(*(json_t *const *)x, "input")),
		      json_string_value(
			      json_object_get(*(json_t *const *)y, "input")));
}

/* Every line of the report at path into m; -1, or the exit status after
 * the error. */
static int read_report(merged *m, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, at = 0;
	int rc = -1;

	if (!f)
		return cli_error(path, "cannot open: %s", strerror(errno));
	while (rc < 0 && getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, NULL), **grown = NULL;
		at++;
		if (!o || !json_is_string(json_object_get(o, "input")) ||
		    !json_is_string(json_object_get(o, "status"))) {
			json_decref(o);
			rc = cli_error(path,
				       "line %zu is not a line of batch's "
				       "report",
				       at);
		} else if (m->n == m->cap &&
			   !(grown = realloc(m->lines,
					     (m->cap = 2 * m->cap + 16) *
						     sizeof(*grown)))) {
			json_decref(o);
			rc = cli_error(path, "out of memory");
		} else {
			m->lines = grown ? grown : m->lines;
			m->lines[m->n++] = o;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

static int write_lines(const merged *m)
{
	for (size_t i = 0; i < m->n; i++) {
		if (json_dumpf(m->lines[i], stdout,
			       JSON_COMPACT | JSON_PRESERVE_ORDER |
				       JSON_REAL_PRECISION(6)) != 0 ||
		    putchar('\n') == EOF)
			return cli_error(NULL,
					 "cannot write to standard output");
	}
	return EXIT_OK;
}

/* The merged lines as a report of format (their problems). */
static int write_formatted(const merged *m, int format, orx_severity fail_on)
{
	orx_report_entry *e = calloc(m->n + 1, sizeof(*e));
	orx_finding **found = calloc(m->n + 1, sizeof(*found));
	int rc = -1;

	for (size_t i = 0; e && found && i < m->n && rc < 0; i++) {
		json_t *o = m->lines[i];
		e[i].model = json_string_value(json_object_get(o, "input"));
		e[i].error = json_string_value(json_object_get(o, "error"));
		if (cli_findings_from_json(&found[i], &e[i].n_findings,
					   json_object_get(o, "problems")))
			rc = cli_error(e[i].model,
				       "its problems are not findings");
		e[i].findings = found[i];
	}
	if (rc < 0)
		rc = !e || !found ? cli_error(NULL, "out of memory")
				  : cli_report_written(
					    orx_report_write_to(
						    stdout, e, m->n,
						    (orx_report_format)format,
						    fail_on),
					    NULL);
	for (size_t i = 0; found && i < m->n; i++)
		free(found[i]);
	free(found);
	free(e);
	return rc;
}

/* Line o of a report as a row of the page (its findings and view
 * allocated); -1 when its problems or plots are not what batch writes. */
static int row_of(html_row *r, orx_finding **found, html_view **view, json_t *o)
{
	json_t *plots = json_object_get(o, "plots");

	*r = (html_row){
		json_string_value(json_object_get(o, "input")),
		json_string_value(json_object_get(o, "error")),
		NULL,
		0,
		(size_t)json_integer_value(json_object_get(o, "tensors")),
		(size_t)json_integer_value(json_object_get(o, "kept")),
		json_number_value(json_object_get(o, "seconds")),
		NULL};
	if (cli_findings_from_json(found, &r->n_findings,
				   json_object_get(o, "problems")))
		return -1;
	r->findings = *found;
	if (!plots)
		return 0;
	if (!(*view = calloc(1, sizeof(**view))) ||
	    html_view_from_json(*view, plots) != 0)
		return -1;
	r->view = *view;
	return 0;
}

/* The merged lines as one page on standard output. */
static int write_html(const merged *m)
{
	html_row *rows = calloc(m->n + 1, sizeof(*rows));
	orx_finding **found = calloc(m->n + 1, sizeof(*found));
	html_view **views = calloc(m->n + 1, sizeof(*views));
	bool check = false;
	int rc = rows && found && views ? -1 : cli_error(NULL, "out of memory");

	for (size_t i = 0; rc < 0 && i < m->n; i++) {
		check |= json_object_get(m->lines[i], "findings") != NULL;
		if (row_of(&rows[i], &found[i], &views[i], m->lines[i]))
			rc = cli_error(rows[i].model,
				       "its problems or plots are not batch's");
	}
	if (rc < 0) {
		html_report_write(stdout, rows, m->n, check);
		rc = cli_report_written(ORX_OK, NULL);
	}
	for (size_t i = 0; i < m->n && found && views; i++) {
		free(found[i]);
		if (views[i])
			html_view_free(views[i]);
		free(views[i]);
	}
	free(found), free(views), free(rows);
	return rc;
}

/* The counts summed, on standard error; whether any model failed or has
 * a finding at fail_on. */
static bool summarize(const merged *m, orx_severity fail_on)
{
	size_t failed = 0, tensors = 0, findings = 0, bad = 0;

	for (size_t i = 0; i < m->n; i++) {
		json_t *o = m->lines[i], *p = json_object_get(o, "problems");
		bool ok = !strcmp(
			json_string_value(json_object_get(o, "status")), "ok");
		size_t at = 0;
		failed += !ok;
		tensors += (size_t)json_integer_value(
			json_object_get(o, "tensors"));
		findings += (size_t)json_integer_value(
			json_object_get(o, "findings"));
		for (size_t k = 0; k < json_array_size(p); k++) {
			orx_severity s;
			at += orx_severity_parse(
				      &s, json_string_value(json_object_get(
						  json_array_get(p, k),
						  "severity"))) == ORX_OK &&
			      s <= fail_on;
		}
		if (!p) /* lines without their problems: every finding */
			at = (size_t)json_integer_value(
				json_object_get(o, "findings"));
		bad += !ok || at > 0;
	}
	fprintf(stderr,
		"report: %zu models, %zu failed, %zu tensors, %zu findings\n",
		m->n, failed, tensors, findings);
	return bad > 0;
}

static int cmd_report(int argc, char **argv)
{
	report_args a = defaults;
	merged m = {0};
	int format = -1,
	    rc = cli_parse_options(options, &a, "report", argc, argv);

	if (rc >= 0)
		return rc;
	if (argc - optind < 2 || strcmp(argv[optind], "merge") != 0)
		return cli_usage_error("report",
				       "report needs merge and at least one "
				       "REPORT");
	if (a.format && !strcmp(a.format, "html"))
		format = FORMAT_HTML;
	else if (a.format && strcmp(a.format, "jsonl") != 0 &&
		 (format = cli_format(&(bool){false}, a.format, "report")) < 0)
		return EXIT_USAGE;
	if (format == FORMAT_TEXT || format == FORMAT_JSON)
		return cli_usage_error("report",
				       "report: --format takes jsonl, sarif, "
				       "junit, github or html");
	for (int i = optind + 1; i < argc && rc < 0; i++)
		rc = read_report(&m, argv[i]);
	if (rc < 0 && m.n)
		qsort(m.lines, m.n, sizeof(*m.lines), by_input);
	for (size_t i = 1; rc < 0 && i < m.n; i++)
		if (!by_input(&m.lines[i - 1], &m.lines[i]))
			rc = cli_error(NULL,
				       "report merge: %s is in two reports",
				       json_string_value(json_object_get(
					       m.lines[i], "input")));
	if (rc < 0)
		rc = format < 0 ? write_lines(&m)
		     : format == FORMAT_HTML
			     ? write_html(&m)
			     : write_formatted(&m, format, a.fail_on);
	if (rc == EXIT_OK && summarize(&m, a.fail_on))
		rc = EXIT_FINDINGS;
	for (size_t i = 0; i < m.n; i++)
		json_decref(m.lines[i]);
	free(m.lines);
	return rc;
}
