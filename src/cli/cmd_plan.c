/* onnx-reinit plan: what apply would rewrite, and why (its options: the
 * table below). */
#include "cli.h"

#include <stddef.h>
#include <stdio.h>

typedef struct {
	cli_rules_list rules;
	bool json;
} plan_args;

static const cli_option options[] = {
	{"rules", 0, OPT_RULES, offsetof(plan_args, rules), NULL, "FILE", NULL,
	 "rules to try before the defaults (repeatable)", OPT_REPEATS},
	{"profile", 0, OPT_PROFILE, offsetof(plan_args, rules), NULL, "NAME",
	 NULL, "the policy: seed (default), pytorch, keras, transformers",
	 OPT_OPTIONAL},
	{"json", 0, OPT_FLAG, offsetof(plan_args, json), NULL, NULL, NULL,
	 "print JSON instead of a table", OPT_OPTIONAL},
	{0}};

static int cmd_plan(int argc, char **argv);

const cli_command cli_plan = {
	"plan",
	cmd_plan,
	"MODEL",
	"Say, changing nothing, what apply would rewrite: for every tensor\n"
	"the node, the activation found downstream and the path to it, the\n"
	"scheme, fan_in, fan_out, gain, std and the rule (file:line) that\n"
	"decided; and every tensor left alone, with the reason.\n",
	options,
	NULL,
	NULL};

static int cmd_plan(int argc, char **argv)
{
	plan_args a = {0};
	const char *model;
	orx_rules *rules = NULL;
	orx_model *m = NULL;
	orx_plan *plan = NULL;
	int rc = cli_parse_options(options, &a, "plan", argc, argv);

	if (rc >= 0)
		return rc;
	if (!(model = cli_one_model("plan", argc, argv)))
		return EXIT_USAGE;
	if ((rc = cli_prepare(&rules, &m, &plan, model, &a.rules)) < 0) {
		if (a.json) {
			rc = cli_report_written(
				orx_plan_json_to(stdout, plan, model, 0),
				model);
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
