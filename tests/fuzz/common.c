/* What several fuzz targets do with a model once it is open. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "onnx_reinit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fuzz_plan_apply_check(orx_model *m)
{
	orx_rules *rules = NULL;
	orx_plan *plan = NULL;
	orx_check *check = NULL;
	orx_summary *sum = NULL;

	if (orx_model_summary(&sum, m) == ORX_OK)
		orx_summary_free(sum);
	if (orx_rules_new(&rules) != ORX_OK ||
	    orx_rules_add_defaults(rules) != ORX_OK ||
	    orx_plan_build(&plan, m, rules) != ORX_OK)
		goto done;
	for (size_t i = 0; i < orx_plan_count(plan); i++)
		(void)orx_plan_item_at(plan, i)->name[0];
	for (size_t i = 0; i < orx_plan_skipped_count(plan); i++)
		(void)orx_plan_skipped_at(plan, i)->reason[0];
	if (orx_check_run(&check, m, plan, NULL) == ORX_OK) {
		orx_plan_restrict(plan, check);
		orx_check_free(check);
		check = NULL;
	}
	if (orx_plan_apply(m, plan, 7) == ORX_OK &&
	    orx_check_run(&check, m, plan, NULL) == ORX_OK)
		orx_check_free(check);
done:
	orx_plan_free(plan);
	orx_rules_free(rules);
}

static char temp_dir[64];

static void remove_temp_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", temp_dir);
	if (system(cmd) != 0)
		temp_dir[0] = '\0';
}

const char *fuzz_temp_dir(void)
{
	if (!temp_dir[0]) {
		snprintf(temp_dir, sizeof(temp_dir), "/tmp/orx-fuzz-XXXXXX");
		if (!mkdtemp(temp_dir))
			abort();
		atexit(remove_temp_dir);
	}
	return temp_dir;
}
