/* Time the phases of apply on one model: open, plan, re-initialize, save.
 *   build/phases MODEL OUT [REPS] */
#define _POSIX_C_SOURCE 200809L
#include "onnx_reinit.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
	int reps = argc > 3 ? atoi(argv[3]) : 3;

	if (argc < 3)
		return 2;
	for (int r = 0; r < reps; r++) {
		orx_model *m = NULL;
		orx_rules *rules = NULL;
		orx_plan *plan = NULL;
		double t0 = now(), t1, t2, t3, t4;
		if (orx_model_open_file(&m, argv[1], NULL) != ORX_OK)
			return fprintf(stderr, "%s\n", orx_error_last()), 1;
		t1 = now();
		orx_rules_new(&rules);
		orx_rules_add_defaults(rules);
		orx_plan_build(&plan, m, rules);
		t2 = now();
		orx_plan_apply(m, plan, 0);
		t3 = now();
		if (orx_model_save_file(m, argv[2]) != ORX_OK)
			return fprintf(stderr, "%s\n", orx_error_last()), 1;
		t4 = now();
		printf("open %.1f ms, plan %.1f ms, init %.1f ms, save %.1f "
		       "ms, "
		       "total %.1f ms\n",
		       1e3 * (t1 - t0), 1e3 * (t2 - t1), 1e3 * (t3 - t2),
		       1e3 * (t4 - t3), 1e3 * (t4 - t0));
		orx_plan_free(plan);
		orx_rules_free(rules);
		orx_model_free(m);
	}
	return 0;
}
