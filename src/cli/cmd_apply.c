/* onnx-reinit apply: re-initialize what the plan says and write the
 * model (its options: the table below). */
#include "cli.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *out;
	cli_rules_list rules;
	bool json, only_flagged;
	bool strict; /* refuse leftovers */
	bool embed;
	const char *external;
	unsigned long long seed;
	orx_check_options check; /* --only-flagged's */
	orx_save_options save;
} apply_args;

static const cli_option options[] = {
	{"output", 'o', OPT_STRING, offsetof(apply_args, out), NULL, "OUT",
	 NULL, "where to write the model ('-': standard output)", OPT_REQUIRED},
	{"seed", 0, OPT_SEED, offsetof(apply_args, seed), NULL, "N", NULL,
	 "random seed", OPT_OPTIONAL},
	{"rules", 0, OPT_RULES, offsetof(apply_args, rules), NULL, "FILE", NULL,
	 "rules to try before the defaults (repeatable)", OPT_REPEATS},
	{"profile", 0, OPT_PROFILE, offsetof(apply_args, rules), NULL, "NAME",
	 NULL, "the policy: seed (default), pytorch, keras, transformers",
	 OPT_OPTIONAL},
	{"json", 0, OPT_FLAG, offsetof(apply_args, json), NULL, NULL, NULL,
	 "print the plan as JSON on standard output", OPT_OPTIONAL},
	{"only-flagged", 0, OPT_FLAG, offsetof(apply_args, only_flagged), NULL,
	 NULL, NULL,
	 "rewrite only the weights check flags (and their biases), with "
	 "check's thresholds below",
	 OPT_OPTIONAL},
	{"strict", 0, OPT_FLAG, offsetof(apply_args, strict), NULL, NULL, NULL,
	 "refuse (exit 2, nothing written) when a float tensor would keep "
	 "trained values that no keep rule names; without it, a warning",
	 OPT_OPTIONAL},
	{"vanishing", 0, OPT_RATIO, offsetof(apply_args, check.vanishing), NULL,
	 "R", NULL, "--only-flagged: check's --vanishing", OPT_OPTIONAL},
	{"exploding", 0, OPT_RATIO, offsetof(apply_args, check.exploding), NULL,
	 "R", NULL, "--only-flagged: check's --exploding", OPT_OPTIONAL},
	{"signal", 0, OPT_RATIO, offsetof(apply_args, check.signal), NULL, "R",
	 NULL, "--only-flagged: check's --signal", OPT_OPTIONAL},
	{"embed", 0, OPT_FLAG, offsetof(apply_args, embed), NULL, NULL, NULL,
	 "put every tensor inline (refused past 2 GiB)", OPT_OPTIONAL},
	{"external", 0, OPT_STRING, offsetof(apply_args, external), NULL,
	 "FILE", NULL,
	 "move tensors above the threshold to FILE, beside OUT, each at a "
	 "4 KiB-aligned offset",
	 OPT_OPTIONAL},
	{"external-threshold", 0, OPT_BYTES,
	 offsetof(apply_args, save.threshold), NULL, "BYTES", NULL,
	 "--external's threshold", OPT_OPTIONAL},
	{0}};

static const apply_args defaults = {.check = ORX_CHECK_OPTIONS_INIT,
				    .save = ORX_SAVE_OPTIONS_INIT};

static int cmd_apply(int argc, char **argv);

const cli_command cli_apply = {
	"apply",
	cmd_apply,
	"MODEL",
	"Re-initialize what the plan says and write OUT; every other byte of\n"
	"the model is kept. The input is never changed unless OUT is its\n"
	"path, and then atomically.\n",
	options,
	&defaults,
	"Tensors in external data files go to files of the same names beside\n"
	"OUT (never over the input's), each at a 4 KiB-aligned offset.\n"};

/* The options that depend on one another; -1, or the exit status. */
static int settle(apply_args *a)
{
	if (!a->out)
		return cli_usage_error("apply", "apply needs -o OUT");
	if (a->embed && a->external)
		return cli_usage_error("apply",
				       "apply: --embed and --external do "
				       "not go together");
	if (a->json && !strcmp(a->out, "-"))
		return cli_usage_error("apply",
				       "apply: --json and -o - both want "
				       "standard output");
	if (a->embed)
		a->save.mode = ORX_DATA_EMBED;
	if (a->external) {
		a->save.mode = ORX_DATA_EXTERNAL;
		a->save.external_file = a->external;
	}
	return -1;
}

/* The reason the plan gives the signal's quantization parameters. */
#define SIGNAL_SCALE "a scale or zero point of the signal"

static void summarize(FILE *to, const orx_plan *plan, const char *out)
{
	unsigned long long params = 0;
	size_t quantized = 0, signal = 0;

	for (size_t i = 0; i < orx_plan_count(plan); i++) {
		const orx_plan_item *it = orx_plan_item_at(plan, i);
		unsigned long long n = 1;
		for (size_t k = 0; k < it->ndim; k++)
			n *= (unsigned long long)it->dims[k];
		params += n;
		quantized += it->quantized && it->role != ORX_ROLE_BIAS;
	}
	for (size_t i = 0; quantized && i < orx_plan_skipped_count(plan); i++)
		signal += !strncmp(orx_plan_skipped_at(plan, i)->reason,
				   SIGNAL_SCALE, strlen(SIGNAL_SCALE));
	fprintf(to,
		"re-initialized %zu tensors (%llu parameters), left %zu as "
		"they are; wrote %s\n",
		orx_plan_count(plan), params, orx_plan_skipped_count(plan),
		strcmp(out, "-") ? out : "<stdout>");
	if (signal)
		fprintf(to,
			"%zu quantized layers keep %zu scales and zero points "
			"of the signal calibrated on the old weights: "
			"recalibrate them\n",
			quantized, signal);
}

/* apply --only-flagged: the plan narrowed to what check flags. */
static int restrict_to_flagged(orx_plan *plan, const orx_model *m,
			       const apply_args *a, const char *model)
{
	orx_check *check = NULL;
	int rc = -1;

	if (orx_check_run(&check, m, plan, &a->check) != ORX_OK ||
	    orx_plan_restrict(plan, check) != ORX_OK)
		rc = cli_error(model, "%s", orx_error_last());
	orx_check_free(check);
	return rc;
}

/* The float tensors that keep trained values with no keep rule naming
 * them: their count, values and first names. */
typedef struct {
	size_t n;
	unsigned long long values;
	char names[512];
} leftovers;

/* Refused with --strict (an exit status), else -1. */
static int refuse_leftovers(const leftovers *l, const char *model)
{
	return cli_error(model,
			 "--strict: %zu float tensor%s (%llu values) "
			 "would keep %s trained values and no keep rule "
			 "names %s: %s; see plan",
			 l->n, l->n == 1 ? "" : "s", l->values,
			 l->n == 1 ? "its" : "their", l->n == 1 ? "it" : "them",
			 l->names);
}

static void warn_leftovers(const leftovers *l, const char *model)
{
	fprintf(stderr,
		"onnx-reinit: %s: warning: %zu float tensor%s (%llu "
		"values) left as trained, no rule keeping %s: %s; see "
		"plan (--strict refuses)\n",
		model, l->n, l->n == 1 ? "" : "s", l->values,
		l->n == 1 ? "it" : "them", l->names);
}

/* Re-initialize and save, with a progress line: -1, or the exit status. */
static int rewrite(orx_model *m, const orx_plan *plan, const apply_args *a,
		   const char *model)
{
	cli_progress *line;
	int saved;

	if (orx_plan_apply(m, plan, a->seed) != ORX_OK)
		return cli_error(model, "%s", orx_error_last());
	line = cli_progress_start(m, model);
	saved = orx_model_save(m, a->out, &a->save);
	cli_progress_stop(line);
	return saved == ORX_OK ? -1 : cli_error(a->out, "%s", orx_error_last());
}

static int cmd_apply(int argc, char **argv)
{
	apply_args a = defaults;
	const char *model;
	orx_rules *rules = NULL;
	orx_model *m = NULL;
	orx_plan *plan = NULL;
	leftovers left = {0};
	int rc = cli_parse_options(options, &a, "apply", argc, argv);

	if (rc >= 0)
		return rc;
	if (!(model = cli_one_model("apply", argc, argv)))
		return EXIT_USAGE;
	if ((rc = settle(&a)) >= 0 ||
	    (rc = cli_prepare(&rules, &m, &plan, model, &a.rules)) >= 0)
		goto done;
	if (a.only_flagged &&
	    (rc = restrict_to_flagged(plan, m, &a, model)) >= 0)
		goto done;
	left.n = cli_leftovers(m, plan, &left.values, left.names,
			       sizeof(left.names));
	if ((left.n && a.strict &&
	     (rc = refuse_leftovers(&left, model)) >= 0) ||
	    (rc = rewrite(m, plan, &a, model)) >= 0)
		goto done;
	if (left.n)
		warn_leftovers(&left, model);
	if (a.json)
		rc = cli_report_written(
			orx_plan_json_to(stdout, plan, model, a.seed), model);
	else
		summarize(strcmp(a.out, "-") ? stdout : stderr, plan, a.out),
			rc = EXIT_OK;
done:
	orx_plan_free(plan);
	orx_model_free(m);
	orx_rules_free(rules);
	return rc;
}
