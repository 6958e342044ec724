/* Model bytes: opened from a buffer, then every stage: summary, plan,
 * check, apply, save to a buffer, reopen, and every stage again. */
#include "fuzz.h"
#include "onnx_reinit.h"

#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static const orx_save_options one_thread = {ORX_SAVE_OPTIONS_VERSION,
					    ORX_DATA_KEEP, NULL, 1024, 1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	orx_model *m = NULL, *again = NULL;
	uint8_t *out = NULL;
	size_t len = 0;

	if (orx_model_open_buffer(&m, data, size, NULL) != ORX_OK)
		return 0;
	fuzz_plan_apply_check(m);
	if (orx_model_save_buffer(&out, &len, m, &one_thread) == ORX_OK &&
	    orx_model_open_buffer(&again, out, len, NULL) == ORX_OK)
		fuzz_plan_apply_check(again);
	orx_model_free(again);
	orx_free(out);
	orx_model_free(m);
	return 0;
}
