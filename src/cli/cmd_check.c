/* onnx-reinit check: badly initialized weights (its options: the table
 * below). */
#include "cli.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
	cli_rules_list rules;
	bool json;
	orx_check_options check;
	orx_severity fail_on;
	const char *format;
	bool run;
} check_args;

static const cli_option options[] = {
	{"json", 0, OPT_FLAG, offsetof(check_args, json), NULL, NULL, NULL,
	 "print JSON instead of a table", OPT_OPTIONAL},
	{"format", 0, OPT_STRING, offsetof(check_args, format), NULL, "FORMAT",
	 NULL,
	 "text, json, sarif (SARIF 2.1.0), junit (JUnit XML) or github "
	 "(GitHub Actions workflow commands) [text]",
	 OPT_OPTIONAL},
	{"rules", 0, OPT_RULES, offsetof(check_args, rules), NULL, "FILE", NULL,
	 "rules that choose the expected scheme (repeatable)", OPT_REPEATS},
	{"profile", 0, OPT_PROFILE, offsetof(check_args, rules), NULL, "NAME",
	 NULL, "the policy: seed (default), pytorch, keras, transformers",
	 OPT_OPTIONAL},
	{"vanishing", 0, OPT_RATIO, offsetof(check_args, check.vanishing), NULL,
	 "R", NULL,
	 "a std below R x the envelope's lowest is vanishing (an exact test, "
	 "false alarms 1e-6)",
	 OPT_OPTIONAL},
	{"exploding", 0, OPT_RATIO, offsetof(check_args, check.exploding), NULL,
	 "R", NULL, "a std above R x the envelope's highest is exploding",
	 OPT_OPTIONAL},
	{"signal", 0, OPT_RATIO, offsetof(check_args, check.signal), NULL, "R",
	 NULL, "a chain scaling the signal below R or above 1/R is a finding",
	 OPT_OPTIONAL},
	{"run", 0, OPT_FLAG, offsetof(check_args, run), NULL, NULL, NULL,
	 "also run the model in ONNX Runtime on N(0, 1) inputs and measure "
	 "each layer's output (ONNX Runtime from $ORX_ONNXRUNTIME or the "
	 "loader)",
	 OPT_OPTIONAL},
	{"fail-on", 0, OPT_SEVERITY, offsetof(check_args, fail_on), NULL,
	 "LEVEL", NULL,
	 "the findings that make exit status 1: error, warning or note "
	 "[error]",
	 OPT_OPTIONAL},
	{0}};

static const check_args defaults = {.check = ORX_CHECK_OPTIONS_INIT,
				    .fail_on = ORX_SEVERITY_ERROR};

static int cmd_check(int argc, char **argv);

const cli_command cli_check = {
	"check",
	cmd_check,
	"MODEL",
	"Find badly initialized weights: all zeros, one constant, NaN or\n"
	"infinity, a std far below or above every scheme accepted for the\n"
	"layer's fans, and chains of layers along which the signal vanishes\n"
	"or explodes; each an error, a warning or a note. Exit status 1\n"
	"when it finds one at --fail-on's level or above.\n",
	options,
	&defaults,
	NULL};

/* --run: the measured scale of the layers' outputs, first to last. */
static void measured_print(const orx_check *c)
{
	size_t n = orx_check_measured_count(c);
	double lo = INFINITY, hi = 0;

	for (size_t i = 0; i < n; i++) {
		double v = orx_check_measured_at(c, i)->measured;
		lo = fmin(lo, v), hi = fmax(hi, v);
	}
	if (n)
		printf("measured in ONNX Runtime: %zu layers' outputs, std "
		       "%.3g (first) to %.3g (last) of the inputs', between "
		       "%.3g and %.3g\n",
		       n, orx_check_measured_at(c, 0)->measured,
		       orx_check_measured_at(c, n - 1)->measured, lo, hi);
}

static void check_print(const orx_check *c, size_t weights, double threshold)
{
	if (orx_check_count(c))
		printf("%-40s %-8s %-10s %12s %12s %10s\n", "tensor",
		       "severity", "problem", "std", "expected", "ratio");
	for (size_t i = 0; i < orx_check_count(c); i++) {
		const orx_finding *f = orx_check_finding_at(c, i);
		printf("%-40s %-8s %-10s %12.4g %12.4g %10.4g%s\n", f->name,
		       orx_severity_name(f->severity),
		       orx_problem_name(f->problem), f->std, f->expected_std,
		       f->ratio,
		       f->by_signal == ORX_VIA_SIGNAL ? "  (signal)"
		       : f->by_signal == ORX_VIA_RUN  ? "  (run)"
						      : "");
	}
	for (size_t i = 0; i < orx_check_chain_count(c); i++) {
		const orx_chain *ch = orx_check_chain_at(c, i);
		if (ch->problem < 0 && ch->scale >= threshold &&
		    ch->scale <= 1 / threshold)
			continue;
		printf("signal: through %zu layers (%s .. %s) the output's "
		       "scale is %.2g of the input's",
		       ch->layers, ch->first, ch->last, ch->scale);
		if (ch->residual != ch->scale)
			printf(", %.2g once the layers above are fixed",
			       ch->residual);
		printf("%s%s\n", ch->problem < 0 ? "" : ": ",
		       ch->problem < 0
			       ? ""
			       : orx_problem_name((orx_problem)ch->problem));
	}
	measured_print(c);
	if (orx_check_count(c))
		printf("%zu findings in %zu weights\n", orx_check_count(c),
		       weights);
	else
		printf("no problems found in %zu weights\n", weights);
}

static size_t count_weights(const orx_plan *plan)
{
	size_t n = 0;

	for (size_t i = 0; i < orx_plan_count(plan); i++) {
		orx_role r = orx_plan_item_at(plan, i)->role;
		n += r == ORX_ROLE_WEIGHT || r == ORX_ROLE_INPUT_WEIGHT ||
		     r == ORX_ROLE_RECURRENT_WEIGHT;
	}
	return n;
}

static int cmd_check(int argc, char **argv)
{
	check_args a = defaults;
	const char *model;
	orx_rules *rules = NULL;
	orx_model *m = NULL;
	orx_plan *plan = NULL;
	orx_check *check = NULL;
	cli_progress *line;
	int format, checked,
		rc = cli_parse_options(options, &a, "check", argc, argv);

	if (rc >= 0)
		return rc;
	if ((format = cli_format(&a.json, a.format, "check")) < 0)
		return EXIT_USAGE;
	if (!(model = cli_one_model("check", argc, argv)))
		return EXIT_USAGE;
	if ((rc = cli_prepare(&rules, &m, &plan, model, &a.rules)) >= 0)
		goto done;
	line = cli_progress_start(m, model);
	checked = orx_check_run(&check, m, plan, &a.check);
	cli_progress_stop(line);
	if (checked == ORX_OK && a.run)
		checked = orx_check_measure(check, m, &a.check);
	if (checked != ORX_OK) {
		rc = cli_error(model, "%s", orx_error_last());
		goto done;
	}
	if (format == FORMAT_JSON)
		rc = cli_report_written(
			orx_check_json_to(stdout, check, &a.check, model),
			model);
	else if (format == FORMAT_TEXT)
		check_print(check, count_weights(plan), a.check.signal),
			rc = EXIT_OK;
	else
		rc = cli_report_written(
			cli_check_report(stdout, check, model,
					 (orx_report_format)format, a.fail_on),
			model);
	if (rc == EXIT_OK && cli_failing(check, a.fail_on))
		rc = EXIT_FINDINGS;
done:
	orx_check_free(check);
	orx_plan_free(plan);
	orx_model_free(m);
	orx_rules_free(rules);
	return rc;
}
