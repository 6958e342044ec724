/* onnx-reinit plan MODEL [--rules FILE]... [--json]
 * onnx-reinit apply MODEL -o OUT [--seed N] [--rules FILE]... [--json] */
#include "cli.h"

#include <errno.h>
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
	unsigned long long seed;
} plan_args;

static int parse_seed(unsigned long long *out, const char *s)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return *s && !*end && !errno && s[0] != '-' ? 0 : -1;
}

static int parse_args(plan_args *a, const char *cmd, bool apply, int argc,
		      char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, 0, 'j'},
		{"rules", required_argument, 0, 'r'},
		{"seed", required_argument, 0, 's'},
		{"output", required_argument, 0, 'o'},
		{0, 0, 0, 0}};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
		if (c == 'j') {
			a->json = true;
		} else if (c == 'r' && a->n_rules < 64) {
			a->rules[a->n_rules++] = optarg;
		} else if (c == 's' && apply) {
			if (parse_seed(&a->seed, optarg))
				return cli_usage_error(cmd, "%s: --seed takes a "
							    "number, not '%s'",
						       cmd, optarg);
		} else if (c == 'o' && apply) {
			a->out = optarg;
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
	if (apply && a->json && !strcmp(a->out, "-"))
		return cli_usage_error(cmd, "apply: --json and -o - both want "
					    "standard output");
	return -1;
}

/* The user's rules files, then the defaults. */
static int load_rules(orx_rules **out, const plan_args *a)
{
	orx_rules *rules = NULL;

	if (orx_rules_new(&rules) != ORX_OK)
		return cli_error(NULL, "%s", orx_error_last());
	for (size_t i = 0; i < a->n_rules; i++) {
		int rc = orx_rules_add_file(rules, a->rules[i]);
		if (rc != ORX_OK) {
			/* syntax errors come as FILE:LINE:COL: message */
			if (rc == ORX_EINVALID)
				fprintf(stderr, "%s\n", orx_error_last());
			else
				cli_error(a->rules[i], "%s", orx_error_last());
			orx_rules_free(rules);
			return EXIT_USAGE;
		}
	}
	if (orx_rules_add_defaults(rules) != ORX_OK) {
		orx_rules_free(rules);
		return cli_error("rules/default.rules", "%s", orx_error_last());
	}
	*out = rules;
	return -1;
}

/* Rules, model, plan: the first steps of plan and apply. */
static int prepare(orx_rules **rules, orx_model **m, orx_plan **plan,
		   const plan_args *a)
{
	int rc = load_rules(rules, a);

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
	int rc = parse_args(&a, "plan", false, argc, argv);

	if (rc < 0 && (rc = prepare(&rules, &m, &plan, &a)) < 0) {
		if (a.json) {
			rc = cli_print_json(cli_plan_json(a.model, plan, 0));
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

/* Until external data is read and written, apply refuses such models
 * rather than write one whose data files are left behind. */
static bool has_external_data(const orx_model *m)
{
	orx_tensor_info t;

	for (size_t i = 0; i < orx_model_tensor_count(m); i++)
		if (orx_model_tensor(&t, m, i) == ORX_OK &&
		    t.storage == ORX_STORAGE_EXTERNAL)
			return true;
	return false;
}

int cmd_apply(int argc, char **argv)
{
	plan_args a;
	orx_rules *rules = NULL;
	orx_model *m = NULL;
	orx_plan *plan = NULL;
	int rc = parse_args(&a, "apply", true, argc, argv);

	if (rc >= 0 || (rc = prepare(&rules, &m, &plan, &a)) >= 0)
		goto done;
	if (has_external_data(m)) {
		rc = cli_error(a.model, "tensors in external data files are not "
					"supported by apply yet");
		goto done;
	}
	if (orx_plan_apply(m, plan, a.seed) != ORX_OK) {
		rc = cli_error(a.model, "%s", orx_error_last());
		goto done;
	}
	if (orx_model_save_file(m, a.out) != ORX_OK) {
		rc = cli_error(a.out, "%s", orx_error_last());
		goto done;
	}
	if (a.json)
		rc = cli_print_json(cli_plan_json(a.model, plan, a.seed));
	else
		summarize(strcmp(a.out, "-") ? stdout : stderr, plan, a.out),
			rc = EXIT_OK;
done:
	orx_plan_free(plan);
	orx_model_free(m);
	orx_rules_free(rules);
	return rc;
}
