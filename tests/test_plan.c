/* plan and apply: golden plans, rules files, what apply writes. */
#include "helpers.h"
#include "internal.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES ORX_SOURCE_DIR "/samples"
#define GOLDEN ORX_SOURCE_DIR "/tests/golden"
#define RULES ORX_SOURCE_DIR "/tests/rules"

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, 0, &err);

	cr_assert_not_null(v, "bad JSON: %s", err.text);
	return v;
}

static void expect_golden_plan(const char *model, const char *golden)
{
	const char *args[] = {"plan", "--json", model, NULL};
	cli_result r = run_cli(NULL, args);
	json_error_t err;
	json_t *got, *want = json_load_file(golden, 0, &err);

	cr_assert_eq(r.status, 0, "%s: %s", model, r.err);
	cr_assert_not_null(want, "%s: %s", golden, err.text);
	got = parse(r.out);
	json_object_del(got, "model");
	json_object_del(want, "model");
	cr_expect(json_equal(got, want), "%s differs from %s:\n%s", model,
		  golden, r.out);
	json_decref(got);
	json_decref(want);
	cli_result_free(&r);
}

Test(plan, every_sample_matches_its_golden_plan)
{
	static const char *names[] = {
		"cnn_bn_relu",		 "cnn_bn_relu_typed",
		"convtranspose_decoder", "deep_mlp_bad_init",
		"depthwise_separable",	 "mlp_tanh",
		"mlp_tanh_bf16",	 "mlp_tanh_double",
		"mlp_tanh_fp16",	 "mlp_tanh_fp16_typed",
		"transformer_encoder"};
	char model[4096], golden[4096];

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		snprintf(model, sizeof(model), "%s/%s.onnx", SAMPLES, names[i]);
		snprintf(golden, sizeof(golden), "%s/%s.plan.json", GOLDEN,
			 names[i]);
		expect_golden_plan(model, golden);
	}
	expect_golden_plan(SAMPLES "/external/cnn_bn_relu.onnx",
			   GOLDEN "/external_cnn_bn_relu.plan.json");
}

/* The plan's numbers, from the formulas by hand. */
Test(plan, cnn_choices_and_fans_are_hand_checked)
{
	const char *args[] = {"plan", "--json", SAMPLES "/cnn_bn_relu.onnx",
			      NULL};
	cli_result r = run_cli(NULL, args);
	json_t *plan = parse(r.out), *t = json_object_get(plan, "tensors");
	json_t *conv = json_array_get(t, 0), *fc = NULL;

	for (size_t i = 0; i < json_array_size(t); i++)
		if (!strcmp(json_string_value(json_object_get(
				    json_array_get(t, i), "name")),
			    "classifier.weight"))
			fc = json_array_get(t, i);
	/* Conv [16, 3, 3, 3] then BatchNormalization then Relu */
	cr_expect_str_eq(json_string_value(json_object_get(conv, "scheme")),
			 "he_normal");
	cr_expect_str_eq(json_string_value(json_object_get(conv, "activation")),
			 "Relu");
	cr_expect_eq(json_integer_value(json_object_get(conv, "fan_in")), 27);
	cr_expect_eq(json_integer_value(json_object_get(conv, "fan_out")), 144);
	cr_expect_float_eq(json_real_value(json_object_get(conv, "std")),
			   sqrt(2.0 / 27), 1e-8);
	/* Gemm transB=1 [10, 2048] to the graph output: xavier_uniform */
	cr_assert_not_null(fc);
	cr_expect_str_eq(json_string_value(json_object_get(fc, "scheme")),
			 "xavier_uniform");
	cr_expect_eq(json_integer_value(json_object_get(fc, "fan_in")), 2048);
	cr_expect_eq(json_integer_value(json_object_get(fc, "fan_out")), 10);
	cr_expect_float_eq(json_real_value(json_object_get(fc, "bound")),
			   sqrt(6.0 / 2058), 1e-8);
	json_decref(plan);
	cli_result_free(&r);
}

/*** rules files ***/

static char *slurp_text(const char *path)
{
	uint8_t *d;
	size_t n;

	cr_assert_eq(read_file(&d, &n, path), 0, "%s", path);
	d = realloc(d, n + 1);
	d[n] = '\0';
	return (char *)d;
}

Test(plan, every_bad_rules_file_fails_with_file_line_col_and_writes_nothing)
{
	static const char *names[] = {
		"argument_not_taken", "bad_number",	 "constant_needs_value",
		"error_on_line_4",    "missing_arrow",	 "missing_scheme",
		"trailing_text",      "unclosed",	 "uniform_needs_high",
		"unknown_activation", "unknown_gain",	 "unknown_key",
		"unknown_op",	      "unknown_role",	 "unknown_scheme",
		"unknown_gate",	      "forget_bias_gain"};
	char *dir = make_temp_dir(), out[4096];

	snprintf(out, sizeof(out), "%s/out.onnx", dir);
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		char rules[4096], errf[4096], want[8192];
		char *msg;
		snprintf(rules, sizeof(rules), "%s/%s.rules", RULES, names[i]);
		snprintf(errf, sizeof(errf), "%s/%s.err", RULES, names[i]);
		msg = slurp_text(errf);
		snprintf(want, sizeof(want), "%s:%s", rules, msg);
		const char *args[] = {"apply",	 SAMPLES "/mlp_tanh.onnx",
				      "-o",	 out,
				      "--rules", rules,
				      NULL};
		cli_result r = run_cli(NULL, args);
		cr_expect_eq(r.status, 2, "%s", names[i]);
		cr_expect_str_eq(r.err, want);
		cr_expect_eq(r.out_len, 0);
		cr_expect_eq(count_entries(dir), 0, "%s wrote something",
			     names[i]);
		cli_result_free(&r);
		free(msg);
	}
	remove_tree(dir);
	free(dir);
}

Test(plan, missing_rules_file_is_a_one_line_error)
{
	const char *args[] = {"plan", SAMPLES "/mlp_tanh.onnx", "--rules",
			      "/nonexistent.rules", NULL};
	expect_cli_error(NULL, args,
			 "onnx-reinit: /nonexistent.rules: cannot open: "
			 "No such file or directory\n");
}

/* Write text to a new file in dir; returns its path (static buffer). */
static const char *write_rules(const char *dir, const char *text)
{
	static char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/user.rules", dir);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static json_t *plan_with(const char *model, const char *rules)
{
	const char *args[] = {"plan", "--json", model, "--rules", rules, NULL};
	cli_result r = run_cli(NULL, args);
	json_t *v;

	cr_assert_eq(r.status, 0, "%s", r.err);
	v = parse(r.out);
	cli_result_free(&r);
	return v;
}

static json_t *find(json_t *list, const char *name)
{
	for (size_t i = 0; i < json_array_size(list); i++)
		if (!strcmp(json_string_value(json_object_get(
				    json_array_get(list, i), "name")),
			    name))
			return json_array_get(list, i);
	return NULL;
}

Test(plan, user_rules_come_before_the_defaults)
{
	char *dir = make_temp_dir();
	const char *rules = write_rules(
		dir,
		"# README examples\n"
		"name=head.* => keep\n"
		"role=weight activation=Tanh => xavier_normal(gain=tanh)\n");
	json_t *p = plan_with(SAMPLES "/mlp_tanh.onnx", rules);
	json_t *t = json_object_get(p, "tensors"),
	       *s = json_object_get(p, "skipped");
	json_t *fc1 = find(t, "fc1.weight"), *head = find(s, "head.weight");
	char want[4200];

	cr_assert_not_null(fc1);
	cr_expect_str_eq(json_string_value(json_object_get(fc1, "scheme")),
			 "xavier_normal");
	/* gain 5/3, N(0, g^2 * 2/(32+64)) */
	cr_expect_float_eq(json_real_value(json_object_get(fc1, "std")),
			   5.0 / 3 * sqrt(2.0 / 96), 1e-8);
	snprintf(want, sizeof(want), "%s:3", rules);
	cr_expect_str_eq(json_string_value(json_object_get(fc1, "rule")), want);
	cr_assert_not_null(head);
	snprintf(want, sizeof(want), "kept by %s:2", rules);
	cr_expect_str_eq(json_string_value(json_object_get(head, "reason")),
			 want);
	cr_expect_not_null(find(s, "head.bias"));
	cr_expect_null(find(t, "head.bias"));
	json_decref(p);
	remove_tree(dir);
	free(dir);
}

Test(plan, all_conv_weights_he_uniform_by_one_rule)
{
	char *dir = make_temp_dir();
	const char *rules =
		write_rules(dir, "op=Conv role=weight => he_uniform\n");
	json_t *p = plan_with(SAMPLES "/cnn_bn_relu.onnx", rules);
	json_t *t = json_object_get(p, "tensors");
	json_t *c = find(t, "features.3.weight");

	cr_assert_not_null(c);
	cr_expect_str_eq(json_string_value(json_object_get(c, "scheme")),
			 "he_uniform");
	/* sqrt 2 * sqrt(3 / 144) */
	cr_expect_float_eq(json_real_value(json_object_get(c, "bound")),
			   sqrt(2.0) * sqrt(3.0 / 144), 1e-8);
	cr_expect_str_eq(json_string_value(json_object_get(
				 find(t, "classifier.weight"), "scheme")),
			 "xavier_uniform");
	json_decref(p);
	remove_tree(dir);
	free(dir);
}

/*** apply ***/

static void apply(const char *model, const char *out, const char *seed,
		  const char *rules)
{
	const char *args[] = {"apply",
			      model,
			      "-o",
			      out,
			      "--seed",
			      seed,
			      rules ? "--rules" : NULL,
			      rules,
			      NULL};
	cli_result r = run_cli(NULL, args);

	cr_assert_eq(r.status, 0, "%s", r.err);
	cli_result_free(&r);
}

static int same_file(const char *a, const char *b)
{
	uint8_t *x, *y;
	size_t nx, ny;
	int eq;

	cr_assert_eq(read_file(&x, &nx, a), 0);
	cr_assert_eq(read_file(&y, &ny, b), 0);
	eq = nx == ny && !memcmp(x, y, nx);
	free(x);
	free(y);
	return eq;
}

Test(plan, keeping_everything_writes_the_input_byte_for_byte)
{
	static const char *names[] = {"cnn_bn_relu", "mlp_tanh_fp16_typed",
				      "mlp_tanh_double", "transformer_encoder",
				      "convtranspose_decoder"};
	char *dir = make_temp_dir(), out[4096], model[4096];
	const char *rules = write_rules(dir, "=> keep\n");

	snprintf(out, sizeof(out), "%s/out.onnx", dir);
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		snprintf(model, sizeof(model), "%s/%s.onnx", SAMPLES, names[i]);
		apply(model, out, "0", rules);
		cr_expect(same_file(model, out), "%s changed", names[i]);
	}
	remove_tree(dir);
	free(dir);
}

Test(plan, same_seed_same_bytes_other_seed_other_bytes)
{
	char *dir = make_temp_dir(), a[4096], b[4096], c[4096];

	snprintf(a, sizeof(a), "%s/a.onnx", dir);
	snprintf(b, sizeof(b), "%s/b.onnx", dir);
	snprintf(c, sizeof(c), "%s/c.onnx", dir);
	apply(SAMPLES "/transformer_encoder.onnx", a, "42", NULL);
	apply(SAMPLES "/transformer_encoder.onnx", b, "42", NULL);
	apply(SAMPLES "/transformer_encoder.onnx", c, "43", NULL);
	cr_expect(same_file(a, b));
	cr_expect(!same_file(a, c));
	remove_tree(dir);
	free(dir);
}

/* What apply wrote: every planned tensor holds exactly the documented
 * stream for (seed, name) drawn from its plan entry; every other
 * initializer is untouched. */
Test(plan, apply_writes_the_plan_and_nothing_else)
{
	char *dir = make_temp_dir(), out[4096];
	orx_model *in = NULL, *res = NULL;
	orx_rules *rules = NULL;
	orx_plan *plan = NULL;
	size_t planned = 0;

	snprintf(out, sizeof(out), "%s/out.onnx", dir);
	apply(SAMPLES "/cnn_bn_relu.onnx", out, "7", NULL);
	cr_assert_eq(
		orx_model_open_file(&in, SAMPLES "/cnn_bn_relu.onnx", NULL),
		ORX_OK);
	cr_assert_eq(orx_model_open_file(&res, out, NULL), ORX_OK);
	cr_assert_eq(orx_rules_new(&rules), ORX_OK);
	cr_assert_eq(orx_rules_add_defaults(rules), ORX_OK);
	cr_assert_eq(orx_plan_build(&plan, in, rules), ORX_OK);
	for (size_t i = 0; i < orx_model_tensor_count(in); i++) {
		orx_tensor_info t;
		double *before, *after, *want;
		const orx_plan_item *it = NULL;
		cr_assert_eq(orx_model_tensor(&t, in, i), ORX_OK);
		before = malloc(t.count * sizeof(double));
		after = malloc(t.count * sizeof(double));
		want = malloc(t.count * sizeof(double));
		cr_assert(before && after && want);
		cr_assert_eq(orx_tensor_read(before, t.count, in, i), ORX_OK);
		cr_assert_eq(orx_tensor_read(after, t.count, res, i), ORX_OK);
		for (size_t k = 0; k < orx_plan_count(plan); k++)
			if (orx_plan_item_at(plan, k)->tensor == i)
				it = orx_plan_item_at(plan, k);
		if (it) {
			cr_assert_eq(orx_init_fill(want, t.count, &it->params,
						   orx_stream_key(7, t.name),
						   t.dims, t.ndim),
				     ORX_OK);
			for (size_t k = 0; k < t.count; k++)
				cr_assert_eq(after[k], (double)(float)want[k],
					     "%s[%zu]", t.name, k);
			planned++;
		} else {
			cr_expect_eq(
				memcmp(before, after, t.count * sizeof(double)),
				0, "%s changed", t.name);
		}
		free(before);
		free(after);
		free(want);
	}
	cr_expect_eq(planned, 12);
	orx_plan_free(plan);
	orx_rules_free(rules);
	orx_model_free(in);
	orx_model_free(res);
	remove_tree(dir);
	free(dir);
}

Test(plan, apply_to_stdout_keeps_stdout_for_the_model)
{
	const char *args[] = {"apply", SAMPLES "/mlp_tanh.onnx", "-o", "-",
			      NULL};
	cli_result r = run_cli(NULL, args);
	orx_model *m = NULL;

	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect_eq(orx_model_open_buffer(&m, r.out, r.out_len, NULL), ORX_OK);
	cr_expect(strstr(r.err, "re-initialized 6 tensors") != NULL, "%s",
		  r.err);
	orx_model_free(m);
	cli_result_free(&r);
}

Test(plan, apply_usage_errors)
{
	const char *no_out[] = {"apply", SAMPLES "/mlp_tanh.onnx", NULL};
	const char *bad_seed[] = {
		"apply", SAMPLES "/mlp_tanh.onnx", "-o", "x", "--seed", "-3",
		NULL};
	expect_cli_error(NULL, no_out,
			 "onnx-reinit: apply needs -o OUT (try "
			 "'onnx-reinit apply --help')\n");
	expect_cli_error(NULL, bad_seed,
			 "onnx-reinit: apply: --seed takes a number, not "
			 "'-3' (try 'onnx-reinit apply --help')\n");
}
