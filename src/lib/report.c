/* check's findings over one or many models, as the systems around a CI
 * job read them: SARIF 2.1.0 (code scanning), JUnit XML (test reports)
 * and GitHub Actions workflow commands. One report model (the entries:
 * a model, its findings or the error that stopped it), one writer per
 * format. */
#define _GNU_SOURCE
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const format_names[] = {"sarif", "junit", "github"};

int orx_report_format_parse(orx_report_format *out, const char *name)
{
	for (int f = 0; f < 3; f++)
		if (name && strcmp(name, format_names[f]) == 0) {
			*out = (orx_report_format)f;
			return ORX_OK;
		}
	return orx_fail(ORX_EINVALID,
			"unknown report format '%s' (sarif, junit, github)",
			name ? name : "");
}

/* One rule per problem kind: what it means and its usual severity. */
static const struct {
	const char *name, *text;
	orx_severity level;
} kinds[] = {
	[ORX_PROBLEM_ZEROS] = {"ZeroWeight",
			       "Every element is 0: the units never differ, "
			       "so training never breaks their symmetry.",
			       ORX_SEVERITY_ERROR},
	[ORX_PROBLEM_CONSTANT] = {"ConstantWeight",
				  "Every element is the same: the units never "
				  "differ.",
				  ORX_SEVERITY_ERROR},
	[ORX_PROBLEM_NONFINITE] = {"NonfiniteWeight",
				   "NaN or infinity among the elements.",
				   ORX_SEVERITY_ERROR},
	[ORX_PROBLEM_VANISHING] = {"VanishingWeight",
				   "The std is far below every scheme accepted "
				   "for the layer's fans: the signal shrinks "
				   "through it.",
				   ORX_SEVERITY_WARNING},
	[ORX_PROBLEM_EXPLODING] = {"ExplodingWeight",
				   "The std is far above every scheme accepted "
				   "for the layer's fans: the signal grows "
				   "through it.",
				   ORX_SEVERITY_WARNING},
	[ORX_PROBLEM_SATURATED] = {"SaturatedCodes",
				   "More than 1% of a channel's or block's "
				   "quantized codes sit at the type's limits.",
				   ORX_SEVERITY_WARNING},
};

#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static const char *sarif_level(orx_severity s)
{
	return s == ORX_SEVERITY_ERROR	   ? "error"
	       : s == ORX_SEVERITY_WARNING ? "warning"
					   : "note";
}

/* A finding in one line: what and by how much. */
static void describe(char *out, size_t len, const orx_finding *f)
{
	if (isnan(f->std))
		snprintf(out, len, "tensor '%s': %s", f->name,
			 orx_problem_name(f->problem));
	else
		snprintf(out, len,
			 "tensor '%s': %s (std %.4g, expected %.4g, ratio "
			 "%.3g%s)",
			 f->name, orx_problem_name(f->problem), f->std,
			 f->expected_std, f->ratio,
			 f->by_signal == ORX_VIA_SIGNAL ? ", for its chain"
			 : f->by_signal == ORX_VIA_RUN
				 ? ", its output measured in ONNX Runtime"
				 : "");
}

/*** @@SARIF ***/

static void text_json(orx_jw *w, const char *key, const char *text)
{
	orx_jw_open(w, key, '{');
	orx_jw_string(w, "text", text);
	orx_jw_close(w, '}');
}

static void sarif_rules(orx_jw *w)
{
	orx_jw_open(w, "rules", '[');
	for (size_t k = 0; k < N_KINDS; k++) {
		orx_jw_open(w, NULL, '{');
		orx_jw_string(w, "id", orx_problem_name((orx_problem)k));
		orx_jw_string(w, "name", kinds[k].name);
		text_json(w, "shortDescription", kinds[k].text);
		text_json(w, "fullDescription", kinds[k].text);
		text_json(w, "help",
			  "Re-initialize the weight by its layer's rule "
			  "(onnx-reinit apply --only-flagged).");
		orx_jw_open(w, "defaultConfiguration", '{');
		orx_jw_string(w, "level", sarif_level(kinds[k].level));
		orx_jw_close(w, '}');
		orx_jw_close(w, '}');
	}
	orx_jw_close(w, ']');
}

/* "locations": the model file, and the tensor as a logical location. */
static void sarif_locations(orx_jw *w, const char *model, const char *tensor)
{
	orx_jw_open(w, "locations", '[');
	orx_jw_open(w, NULL, '{');
	orx_jw_open(w, "physicalLocation", '{');
	orx_jw_open(w, "artifactLocation", '{');
	orx_jw_string(w, "uri", model);
	orx_jw_close(w, '}');
	orx_jw_close(w, '}');
	if (tensor) {
		orx_jw_open(w, "logicalLocations", '[');
		orx_jw_open(w, NULL, '{');
		orx_jw_string(w, "name", tensor);
		orx_jw_string(w, "fullyQualifiedName", tensor);
		orx_jw_string(w, "kind", "variable");
		orx_jw_close(w, '}');
		orx_jw_close(w, ']');
	}
	orx_jw_close(w, '}');
	orx_jw_close(w, ']');
}

static void sarif_result(orx_jw *w, const char *model, const orx_finding *f)
{
	char text[512];

	describe(text, sizeof(text), f);
	orx_jw_open(w, NULL, '{');
	orx_jw_string(w, "ruleId", orx_problem_name(f->problem));
	orx_jw_int(w, "ruleIndex", (int)f->problem);
	orx_jw_string(w, "level", sarif_level(f->severity));
	text_json(w, "message", text);
	sarif_locations(w, model, f->name);
	orx_jw_close(w, '}');
}

/* The models that could not be checked, as the tool's notifications. */
static void sarif_invocation(orx_jw *w, const orx_report_entry *e, size_t n)
{
	bool ok = true;

	for (size_t i = 0; i < n; i++)
		ok = ok && !e[i].error;
	orx_jw_open(w, "invocations", '[');
	orx_jw_open(w, NULL, '{');
	orx_jw_bool(w, "executionSuccessful", ok);
	orx_jw_open(w, "toolExecutionNotifications", '[');
	for (size_t i = 0; i < n; i++) {
		if (!e[i].error)
			continue;
		orx_jw_open(w, NULL, '{');
		orx_jw_string(w, "level", "error");
		text_json(w, "message", e[i].error);
		sarif_locations(w, e[i].model, NULL);
		orx_jw_close(w, '}');
	}
	orx_jw_close(w, ']');
	orx_jw_close(w, '}');
	orx_jw_close(w, ']');
}

static int write_sarif(FILE *f, const orx_report_entry *e, size_t n)
{
	orx_jw w;

	orx_jw_init(&w, f);
	orx_jw_open(&w, NULL, '{');
	orx_jw_string(&w, "$schema",
		      "https://json.schemastore.org/sarif-2.1.0.json");
	orx_jw_string(&w, "version", "2.1.0");
	orx_jw_open(&w, "runs", '[');
	orx_jw_open(&w, NULL, '{');
	orx_jw_open(&w, "tool", '{');
	orx_jw_open(&w, "driver", '{');
	orx_jw_string(&w, "name", "onnx-reinit");
	orx_jw_string(&w, "version", ORX_VERSION);
	sarif_rules(&w);
	orx_jw_close(&w, '}');
	orx_jw_close(&w, '}');
	sarif_invocation(&w, e, n);
	orx_jw_open(&w, "results", '[');
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < e[i].n_findings; k++)
			sarif_result(&w, e[i].model, &e[i].findings[k]);
	orx_jw_close(&w, ']');
	orx_jw_close(&w, '}');
	orx_jw_close(&w, ']');
	orx_jw_close(&w, '}');
	return orx_jw_finish(&w);
}

/*** @@JUNIT ***/

static void xml_text(FILE *f, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' ||
			    *s == '\t')
				fputc(*s, f);
		}
}

static void junit_case(FILE *f, const orx_report_entry *e, orx_severity fail_on)
{
	char text[512];

	fputs("    <testcase classname=\"onnx-reinit.check\" name=\"", f);
	xml_text(f, e->model);
	fputs("\">\n", f);
	if (e->error) {
		fputs("      <error type=\"load\" message=\"", f);
		xml_text(f, e->error);
		fputs("\"/>\n", f);
	}
	for (size_t k = 0; k < e->n_findings; k++) {
		const orx_finding *x = &e->findings[k];
		bool fails = x->severity <= fail_on;
		describe(text, sizeof(text), x);
		if (fails) {
			fprintf(f, "      <failure type=\"%s\" message=\"",
				orx_problem_name(x->problem));
			xml_text(f, text);
			fprintf(f, "\">%s: ", sarif_level(x->severity));
			xml_text(f, text);
			fputs("</failure>\n", f);
		} else {
			fputs("      <system-out>", f);
			fprintf(f, "%s: ", sarif_level(x->severity));
			xml_text(f, text);
			fputs("</system-out>\n", f);
		}
	}
	fputs("    </testcase>\n", f);
}

static void write_junit(FILE *f, const orx_report_entry *e, size_t n,
			orx_severity fail_on)
{
	size_t failures = 0, errors = 0;

	for (size_t i = 0; i < n; i++) {
		errors += e[i].error != NULL;
		failures += !e[i].error &&
			    orx_findings_failing(e[i].findings, e[i].n_findings,
						 fail_on) > 0;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f,
		"<testsuites name=\"onnx-reinit check\" tests=\"%zu\" "
		"failures=\"%zu\" errors=\"%zu\">\n",
		n, failures, errors);
	fprintf(f,
		"  <testsuite name=\"onnx-reinit check\" tests=\"%zu\" "
		"failures=\"%zu\" errors=\"%zu\" skipped=\"0\">\n",
		n, failures, errors);
	for (size_t i = 0; i < n; i++)
		junit_case(f, &e[i], fail_on);
	fputs("  </testsuite>\n</testsuites>\n", f);
}

/*** @@GITHUB: workflow commands ***/

/* A command's message or (property) value, escaped as the runner reads
 * it: % and line ends; in a property also : and ,. */
static void gh_escaped(FILE *f, const char *s, bool property)
{
	for (; s && *s; s++)
		if (*s == '%')
			fputs("%25", f);
		else if (*s == '\r')
			fputs("%0D", f);
		else if (*s == '\n')
			fputs("%0A", f);
		else if (property && *s == ':')
			fputs("%3A", f);
		else if (property && *s == ',')
			fputs("%2C", f);
		else
			fputc(*s, f);
}

static void gh_line(FILE *f, const char *command, const char *model,
		    const char *title, const char *text)
{
	fprintf(f, "::%s file=", command);
	gh_escaped(f, model, true);
	fputs(",title=", f);
	gh_escaped(f, title, true);
	fputs("::", f);
	gh_escaped(f, text, false);
	fputc('\n', f);
}

static void write_github(FILE *f, const orx_report_entry *e, size_t n)
{
	static const char *const commands[] = {"error", "warning", "notice"};
	char text[512], title[64];

	for (size_t i = 0; i < n; i++) {
		if (e[i].error)
			gh_line(f, "error", e[i].model, "onnx-reinit",
				e[i].error);
		for (size_t k = 0; k < e[i].n_findings; k++) {
			const orx_finding *x = &e[i].findings[k];
			describe(text, sizeof(text), x);
			snprintf(title, sizeof(title), "onnx-reinit: %s",
				 orx_problem_name(x->problem));
			gh_line(f, commands[x->severity], e[i].model, title,
				text);
		}
	}
}

int orx_report_write_to(FILE *to, const orx_report_entry *entries, size_t n,
			orx_report_format format, orx_severity fail_on)
{
	if (format == ORX_FORMAT_SARIF)
		return write_sarif(to, entries, n);
	if (format == ORX_FORMAT_JUNIT)
		write_junit(to, entries, n, fail_on);
	else
		write_github(to, entries, n);
	return ferror(to) ? orx_fail(ORX_EIO, "cannot write the report")
			  : ORX_OK;
}

int orx_report_write(char **out, const orx_report_entry *entries, size_t n,
		     orx_report_format format, orx_severity fail_on)
{
	orx_memstream m;
	int rc = orx_memstream_open(&m);

	return rc ? rc
		  : orx_memstream_take(&m, out,
				       orx_report_write_to(m.f, entries, n,
							   format, fail_on));
}
