/* check: exit status, the JSON a script reads, --only-flagged. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES ORX_SOURCE_DIR "/samples"

static json_t *run_json(const char *const *args, int want_status)
{
	cli_result r = run_cli(NULL, args);
	json_error_t err;
	json_t *v;

	cr_assert_eq(r.status, want_status, "status %d: %s", r.status, r.err);
	v = json_loads(r.out, 0, &err);
	cr_assert_not_null(v, "%s", err.text);
	cli_result_free(&r);
	return v;
}

Test(check, pytorch_initialized_sample_is_clean_with_status_0)
{
	const char *args[] = {"check", "--json", SAMPLES "/cnn_bn_relu.onnx",
			      NULL};
	json_t *v = run_json(args, 0);

	cr_expect_eq(json_array_size(json_object_get(v, "findings")), 0);
	cr_expect_float_eq(json_real_value(json_object_get(
				   json_object_get(v, "signal"), "vanishing")),
			   0.55, 1e-12);
	json_decref(v);
}

/* fc1.weight of mlp_tanh set to zeros: one finding, exact fields. */
Test(check, zeroed_weight_is_a_zeros_finding_with_status_1)
{
	char *dir = make_temp_dir(), path[4096];
	orx_model *m = NULL;
	double zeros[64 * 32] = {0};
	json_t *v, *f;

	snprintf(path, sizeof(path), "%s/zeroed.onnx", dir);
	cr_assert_eq(orx_model_open_file(&m, SAMPLES "/mlp_tanh.onnx", NULL),
		     ORX_OK);
	cr_assert_eq(orx_tensor_write(m, 0, zeros, 64 * 32), ORX_OK);
	cr_assert_eq(orx_model_save_file(m, path), ORX_OK);
	const char *args[] = {"check", "--json", path, NULL};
	v = run_json(args, 1);
	cr_assert_eq(json_array_size(json_object_get(v, "findings")), 1);
	f = json_array_get(json_object_get(v, "findings"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(f, "name")),
			 "fc1.weight");
	cr_expect_str_eq(json_string_value(json_object_get(f, "problem")),
			 "zeros");
	cr_expect_eq(json_real_value(json_object_get(f, "std")), 0.0);
	cr_expect_eq(json_real_value(json_object_get(f, "ratio")), 0.0);
	/* xavier_uniform for Tanh: sqrt(2 / (32 + 64)) */
	cr_expect_float_eq(json_real_value(json_object_get(f, "expected_std")),
			   sqrt(2.0 / 96), 1e-8);
	json_decref(v);
	orx_model_free(m);
	remove_tree(dir);
	free(dir);
}

Test(check, only_flagged_rewrites_the_flagged_and_keeps_the_rest)
{
	char *dir = make_temp_dir(), out[4096];

	snprintf(out, sizeof(out), "%s/fixed.onnx", dir);
	/* cnn_bn_relu is clean: --only-flagged changes nothing at all */
	const char *clean[] = {"apply",
			       SAMPLES "/cnn_bn_relu.onnx",
			       "-o",
			       out,
			       "--only-flagged",
			       NULL};
	cli_result r = run_cli(NULL, clean);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cli_result_free(&r);
	{
		uint8_t *a, *b;
		size_t na, nb;
		cr_assert_eq(read_file(&a, &na, SAMPLES "/cnn_bn_relu.onnx"),
			     0);
		cr_assert_eq(read_file(&b, &nb, out), 0);
		cr_expect(na == nb && !memcmp(a, b, na),
			  "a clean model changed");
		free(a);
		free(b);
	}
	/* the deep MLP: everything flagged is rewritten, then check is clean */
	const char *bad[] = {"apply",
			     SAMPLES "/deep_mlp_bad_init.onnx",
			     "-o",
			     out,
			     "--only-flagged",
			     "--json",
			     NULL};
	json_t *plan = run_json(bad, 0);
	/* nine weights and their shared bias: the last layer, drawn small,
	 * is benign and kept */
	cr_expect_eq(json_array_size(json_object_get(plan, "tensors")), 10);
	json_decref(plan);
	const char *again[] = {"check", out, NULL};
	r = run_cli(NULL, again);
	cr_expect_eq(r.status, 0, "%s", r.out);
	cr_expect_str_eq(r.out, "no problems found in 10 weights\n");
	cli_result_free(&r);
	remove_tree(dir);
	free(dir);
}

Test(check, threshold_options_are_checked)
{
	const char *bad[] = {"check", SAMPLES "/mlp_tanh.onnx", "--vanishing",
			     "zero", NULL};
	expect_cli_error(NULL, bad,
			 "onnx-reinit: check: --vanishing takes a "
			 "positive number, not 'zero' (try 'onnx-reinit "
			 "check --help')\n");
	/* a stricter threshold (three times the envelope's low end) flags
	 * the PyTorch-initialized sample: warnings (within 10x), which make
	 * exit status 1 only with --fail-on warning or note */
	const char *strict[] = {"check", SAMPLES "/mlp_tanh.onnx",
				"--vanishing", "3", NULL};
	const char *warn[] = {"check",	     SAMPLES "/mlp_tanh.onnx",
			      "--vanishing", "3",
			      "--fail-on",   "warning",
			      NULL};
	const char *note[] = {"check",	     SAMPLES "/mlp_tanh.onnx",
			      "--vanishing", "3",
			      "--fail-on",   "note",
			      NULL};
	cli_result r = run_cli(NULL, strict);
	cr_expect_eq(r.status, 0, "%s", r.out);
	cr_expect(strstr(r.out, "fc1.weight                               "
				"warning  vanishing") != NULL,
		  "%s", r.out);
	cli_result_free(&r);
	r = run_cli(NULL, warn);
	cr_expect_eq(r.status, 1, "%s", r.out);
	cli_result_free(&r);
	r = run_cli(NULL, note);
	cr_expect_eq(r.status, 1, "%s", r.out);
	cli_result_free(&r);
}
