/* onnx-reinit plan MODEL [--rules FILE]... [--json]
 * onnx-reinit apply MODEL -o OUT [--seed N] [--rules FILE]... [--json] */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *model;
	const char *out;
	const char *rules[64];
	size_t n_rules;
	bool json;
	bool only_flagged;
	bool strict; /* apply: refuse leftovers */
	unsigned long long seed;
	orx_check_options check;
	orx_save_options save;
} plan_args;

static int parse_ratio(double *out, const char *s)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return *s && !*end && !errno && *out > 0 ? 0 : -1;
}

/* --vanishing, --exploding, --signal (check, apply --only-flagged) */
static int parse_threshold(plan_args *a, const char *cmd, int c)
{
	double *to = c == 'v' ? &a->check.vanishing
		     : c == 'e' ? &a->check.exploding
				: &a->check.signal;

	if (parse_ratio(to, optarg))
		return cli_usage_error(cmd, "%s: --%s takes a positive number, "
					    "not '%s'",
				       cmd,
				       c == 'v' ? "vanishing"
				       : c == 'e' ? "exploding" : "signal",
				       optarg);
	return -1;
}

typedef enum { CMD_PLAN, CMD_APPLY, CMD_CHECK } command_kind;

static int parse_args(plan_args *a, const char *cmd, command_kind kind,
		      int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, 0, 'j'},
		{"rules", required_argument, 0, 'r'},
		{"seed", required_argument, 0, 's'},
		{"output", required_argument, 0, 'o'},
		{"only-flagged", no_argument, 0, 'f'},
		{"vanishing", required_argument, 0, 'v'},
		{"exploding", required_argument, 0, 'e'},
		{"signal", required_argument, 0, 'g'},
		{"embed", no_argument, 0, 'E'},
		{"external", required_argument, 0, 'X'},
		{"external-threshold", required_argument, 0, 'T'},
		{"strict", no_argument, 0, 'S'},
		{0, 0, 0, 0}};
	orx_save_options save_defaults = ORX_SAVE_OPTIONS_INIT;
	orx_check_options check_defaults = ORX_CHECK_OPTIONS_INIT;
	bool apply = kind == CMD_APPLY;
	int c, rc;

	memset(a, 0, sizeof(*a));
	a->check = check_defaults;
	a->save = save_defaults;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
		if (c == 'j') {
			a->json = true;
		} else if (c == 'r' && a->n_rules < 64) {
			a->rules[a->n_rules++] = optarg;
		} else if (c == 's' && apply) {
			if (cli_parse_seed(&a->seed, optarg))
				return cli_usage_error(cmd, "%s: --seed takes a "
							    "number, not '%s'",
						       cmd, optarg);
		} else if (c == 'o' && apply) {
			a->out = optarg;
		} else if (c == 'f' && apply) {
			a->only_flagged = true;
		} else if (c == 'S' && apply) {
			a->strict = true;
		} else if (c == 'E' && apply) {
			a->save.mode = ORX_DATA_EMBED;
		} else if (c == 'X' && apply) {
			a->save.mode = ORX_DATA_EXTERNAL;
			a->save.external_file = optarg;
		} else if (c == 'T' && apply) {
			char *end;
			errno = 0;
			a->save.threshold = strtoull(optarg, &end, 10);
			if (*end || !*optarg || errno || optarg[0] == '-')
				return cli_usage_error(cmd, "%s: "
							    "--external-threshold "
							    "takes a number of "
							    "bytes, not '%s'",
						       cmd, optarg);
		} else if ((c == 'v' || c == 'e' || c == 'g') &&
			   kind != CMD_PLAN) {
			if ((rc = parse_threshold(a, cmd, c)) >= 0)
				return rc;
		} else if (c == ':') {
			return cli_usage_error(cmd, "%s: %s needs a value", cmd,
					       argv[optind - 1]);
		} else {
			return cli_usage_error(cmd, "%s: unknown option '%s'",
					       cmd, argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cmd, "%s takes one MODEL", cmd);
	a->model = argv[optind];
	if (apply && !a->out)
		return cli_usage_error(cmd, "apply needs -o OUT");
	if (apply && a->save.mode == ORX_DATA_EMBED && a->save.external_file)
		return cli_usage_error(cmd, "apply: --embed and --external do not "
					    "go together");
	if (apply && a->json && !strcmp(a->out, "-"))
		return cli_usage_error(cmd, "apply: --json and -o - both want "
					    "standard output");
	return -1;
}

/* Rules, model, plan: the first steps of plan and apply. */
static int prepare(orx_rules **rules, orx_model **m, orx_plan **plan,
		   const plan_args *a)
{
	int rc = cli_load_rules(rules, a->rules, a->n_rules);

	if (rc >= 0)
		return rc;
	if (orx_model_open_file(m, a->model, NULL) != ORX_OK)
		return cli_error(a->model, "%s", orx_error_last());
	if (orx_plan_build(plan, *m, *rules) != ORX_OK)
		return cli_error(a->model, "%s", orx_error_last());
	return -1;
}

int cmd_plan(int argc, char **argv)
{
	plan_args a;
	orx_rules *rules = NULL;
	orx_model *m = NULL;
	orx_plan *plan = NULL;
	int rc = parse_args(&a, "plan", CMD_PLAN, argc, argv);

	if (rc < 0 && (rc = prepare(&rules, &m, &plan, &a)) < 0) {
		if (a.json) {
			char *text = NULL;
			rc = cli_print_report(orx_plan_json(&text, plan, a.model, 0),
					      &text, a.model);
		} else {
			cli_plan_print(stdout, plan);
			rc = EXIT_OK;
		}
	}
	orx_plan_free(plan);
	orx_model_free(m);
	orx_rules_free(rules);
	return rc;
}

static void summarize(FILE *to, const orx_plan *plan, const char *out)
{
	unsigned long long params = 0;

	for (size_t i = 0; i < orx_plan_count(plan); i++) {
		const orx_plan_item *it = orx_plan_item_at(plan, i);
		unsigned long long n = 1;
		for (size_t k = 0; k < it->ndim; k++)
			n *= (unsigned long long)it->dims[k];
		params += n;
	}
	fprintf(to, "re-initialized %zu tensors (%llu parameters), left %zu as "
		    "they are; wrote %s\n",
		orx_plan_count(plan), params, orx_plan_skipped_count(plan),
		strcmp(out, "-") ? out : "<stdout>");
}

/* apply --only-flagged: the plan narrowed to what check flags. */
static int restrict_to_flagged(orx_plan *plan, const orx_model *m,
			       const plan_args *a)
{
	orx_check *check = NULL;
	int rc = -1;

	if (orx_check_run(&check, m, plan, &a->check) != ORX_OK ||
	    orx_plan_restrict(plan, check) != ORX_OK)
		rc = cli_error(a->model, "%s", orx_error_last());
	orx_check_free(check);
	return rc;
}

int cmd_apply(int argc, char **argv)
{
	plan_args a;
	orx_rules *rules = NULL;
	orx_model *m = NULL;
	orx_plan *plan = NULL;
	char *text = NULL;
	unsigned long long left_values = 0;
	char left[512];
	size_t n_left = 0;
	cli_progress *line;
	int saved, rc = parse_args(&a, "apply", CMD_APPLY, argc, argv);

	if (rc >= 0 || (rc = prepare(&rules, &m, &plan, &a)) >= 0)
		goto done;
	if (a.only_flagged && (rc = restrict_to_flagged(plan, m, &a)) >= 0)
		goto done;
	if ((n_left = cli_leftovers(m, plan, &left_values, left, sizeof(left))) &&
	    a.strict) {
		rc = cli_error(a.model, "--strict: %zu float tensor%s (%llu values) "
					"would keep %s trained values and no keep "
					"rule names %s: %s; see plan",
			       n_left, n_left == 1 ? "" : "s", left_values,
			       n_left == 1 ? "its" : "their",
			       n_left == 1 ? "it" : "them", left);
		goto done;
	}
	if (orx_plan_apply(m, plan, a.seed) != ORX_OK) {
		rc = cli_error(a.model, "%s", orx_error_last());
		goto done;
	}
	line = cli_progress_start(m, a.model);
	saved = orx_model_save(m, a.out, &a.save);
	cli_progress_stop(line);
	if (saved != ORX_OK) {
		rc = cli_error(a.out, "%s", orx_error_last());
		goto done;
	}
	if (n_left)
		fprintf(stderr, "onnx-reinit: %s: warning: %zu float tensor%s "
				"(%llu values) left as trained, no rule keeping "
				"%s: %s; see plan (--strict refuses)\n",
			a.model, n_left, n_left == 1 ? "" : "s", left_values,
			n_left == 1 ? "it" : "them", left);
	if (a.json)
		rc = cli_print_report(orx_plan_json(&text, plan, a.model, a.seed),
				      &text, a.model);
	else
		summarize(strcmp(a.out, "-") ? stdout : stderr, plan, a.out),
			rc = EXIT_OK;
done:
	orx_plan_free(plan);
	orx_model_free(m);
	orx_rules_free(rules);
	return rc;
}

/*** check ***/

static void check_print(const orx_check *c, size_t weights, double threshold)
{
	if (orx_check_count(c))
		printf("%-40s %-10s %12s %12s %10s\n", "tensor", "problem", "std",
		       "expected", "ratio");
	for (size_t i = 0; i < orx_check_count(c); i++) {
		const orx_finding *f = orx_check_finding_at(c, i);
		printf("%-40s %-10s %12.4g %12.4g %10.4g%s\n", f->name,
		       orx_problem_name(f->problem), f->std, f->expected_std,
		       f->ratio, f->by_signal ? "  (signal)" : "");
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
		       ch->problem < 0 ? ""
				       : orx_problem_name((orx_problem)ch->problem));
	}
	if (orx_check_count(c))
		printf("%zu findings in %zu weights\n", orx_check_count(c), weights);
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

int cmd_check(int argc, char **argv)
{
	plan_args a;
	orx_rules *rules = NULL;
	orx_model *m = NULL;
	orx_plan *plan = NULL;
	orx_check *check = NULL;
	char *text = NULL;
	cli_progress *line;
	int checked, rc = parse_args(&a, "check", CMD_CHECK, argc, argv);

	if (rc >= 0 || (rc = prepare(&rules, &m, &plan, &a)) >= 0)
		goto done;
	line = cli_progress_start(m, a.model);
	checked = orx_check_run(&check, m, plan, &a.check);
	cli_progress_stop(line);
	if (checked != ORX_OK) {
		rc = cli_error(a.model, "%s", orx_error_last());
		goto done;
	}
	if (a.json)
		rc = cli_print_report(orx_check_json(&text, check, &a.check, a.model),
				      &text, a.model);
	else
		check_print(check, count_weights(plan), a.check.signal),
			rc = EXIT_OK;
	if (rc == EXIT_OK && orx_check_count(check))
		rc = EXIT_FINDINGS;
done:
	orx_check_free(check);
	orx_plan_free(plan);
	orx_model_free(m);
	orx_rules_free(rules);
	return rc;
}
