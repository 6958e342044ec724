/* A program that embeds the library as a user's would: open a model,
 * plan with the default rules, apply with a seed, save.
 *   embed MODEL OUT SEED */
#include <onnx_reinit.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	orx_model *model = NULL;
	orx_rules *rules = NULL;
	orx_plan *plan = NULL;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: embed MODEL OUT SEED\n");
		return 2;
	}
	if ((rc = orx_model_open_file(&model, argv[1], NULL)) == ORX_OK &&
	    (rc = orx_rules_new(&rules)) == ORX_OK &&
	    (rc = orx_rules_add_defaults(rules)) == ORX_OK &&
	    (rc = orx_plan_build(&plan, model, rules)) == ORX_OK &&
	    (rc = orx_plan_apply(model, plan, strtoull(argv[3], NULL, 10))) ==
		    ORX_OK)
		rc = orx_model_save_file(model, argv[2]);
	if (rc != ORX_OK)
		fprintf(stderr, "embed: %s: %s\n", argv[1], orx_error_last());
	else
		printf("embed: %zu tensors re-initialized with onnx-reinit "
		       "%s\n",
		       orx_plan_count(plan), ORX_VERSION);
	orx_plan_free(plan);
	orx_rules_free(rules);
	orx_model_free(model);
	return rc == ORX_OK ? 0 : 1;
}
