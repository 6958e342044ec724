/* The rules language: any text parsed; rules that parse are used to plan,
 * apply and check a small model with every kind of tensor the planner
 * knows (a bundled sample, read once). */
#include "fuzz.h"
#include "onnx_reinit.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef ORX_SOURCE_DIR
#error "ORX_SOURCE_DIR: the source tree, for the sample model"
#endif

static uint8_t *sample;
static size_t sample_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *f =
		fopen(ORX_SOURCE_DIR "/samples/depthwise_separable.onnx", "rb");

	(void)argc;
	(void)argv;
	if (!f || !(sample = malloc(1 << 20)))
		abort();
	sample_len = fread(sample, 1, 1 << 20, f);
	fclose(f);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	orx_rules *rules = NULL;
	orx_plan *plan = NULL;
	orx_check *check = NULL;
	orx_model *m = NULL;

	if (orx_rules_new(&rules) != ORX_OK)
		return 0;
	if (orx_rules_add_text(rules, (const char *)data, size, "fuzz.rules") ==
		    ORX_OK &&
	    orx_rules_add_defaults(rules) == ORX_OK &&
	    orx_model_open_buffer(&m, sample, sample_len, NULL) == ORX_OK &&
	    orx_plan_build(&plan, m, rules) == ORX_OK &&
	    orx_plan_apply(m, plan, 1) == ORX_OK &&
	    orx_check_run(&check, m, plan, NULL) == ORX_OK)
		orx_check_free(check);
	orx_plan_free(plan);
	orx_model_free(m);
	orx_rules_free(rules);
	return 0;
}
