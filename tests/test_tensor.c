/* Reading and writing elements, checked against the onnx package. */
#include "helpers.h"
#include "internal.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES ORX_SOURCE_DIR "/samples"

/* Run a command, return its standard output (caller frees). */
static char *capture(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t cap = 1 << 16, n = 0, r;
	char *buf = malloc(cap);

	cr_assert_not_null(p, "cannot run %s", cmd);
	while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += r;
		if (cap - n - 1 == 0)
			buf = realloc(buf, cap *= 2);
	}
	buf[n] = '\0';
	cr_assert_eq(pclose(p), 0, "%s failed: %s", cmd, buf);
	return buf;
}

static json_t *onnx_reference(const char *path)
{
	char cmd[8192];
	char *out;
	json_t *ref;
	json_error_t err;

	snprintf(cmd, sizeof(cmd), "%s %s/tests/py/tensor_values.py '%s'",
		 PYTHON3, ORX_SOURCE_DIR, path);
	out = capture(cmd);
	ref = json_loads(out, 0, &err);
	cr_assert_not_null(ref, "bad JSON from the reference: %s", err.text);
	free(out);
	return ref;
}

/* Every readable initializer of the model equals, element for element,
 * what onnx.numpy_helper reads. Returns the number of tensors compared. */
static size_t compare_with_onnx(const char *path)
{
	orx_model *m = NULL;
	json_t *ref = onnx_reference(path);
	size_t compared = 0;

	cr_assert_eq(orx_model_open_file(&m, path, NULL), ORX_OK, "%s: %s",
		     path, orx_error_last());
	for (size_t i = 0; i < orx_model_tensor_count(m); i++) {
		orx_tensor_info t;
		json_t *r, *vals;
		double *got;
		cr_assert_eq(orx_model_tensor(&t, m, i), ORX_OK);
		r = json_object_get(ref, t.name);
		cr_assert_not_null(r, "%s: %s unknown to onnx", path, t.name);
		cr_expect_eq(json_integer_value(json_object_get(r, "dtype")),
			     t.dtype);
		vals = json_object_get(r, "values");
		if (!json_is_array(vals))
			continue;
		cr_assert_eq(json_array_size(vals), t.count, "%s", t.name);
		got = malloc(t.count * sizeof(double) + 1);
		cr_assert_eq(orx_tensor_read(got, t.count, m, i), ORX_OK,
			     "%s: %s", t.name, orx_error_last());
		for (size_t k = 0; k < t.count; k++)
			cr_assert_eq(got[k],
				     json_real_value(json_array_get(vals, k)) +
					     (double)json_integer_value(
						     json_array_get(vals, k)),
				     "%s %s[%zu]", path, t.name, k);
		free(got);
		compared++;
	}
	json_decref(ref);
	orx_model_free(m);
	return compared;
}

Test(tensor, reads_match_onnx_numpy_helper_in_every_dtype_and_storage,
     .timeout = 120)
{
	static const char *models[] = {"mlp_tanh",
				       "mlp_tanh_fp16",
				       "mlp_tanh_fp16_typed",
				       "mlp_tanh_bf16",
				       "mlp_tanh_double",
				       "cnn_bn_relu_typed",
				       "transformer_encoder",
				       "depthwise_separable"};

	for (size_t i = 0; i < sizeof(models) / sizeof(*models); i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.onnx", SAMPLES, models[i]);
		cr_expect_geq(compare_with_onnx(path), 3, "%s", path);
	}
}

/* The values check_written.py expects: the same double operations. */
static double pattern(size_t k)
{
	return ldexp((double)((long)((k * 7919) % 2001) - 1000) * 0.731,
		     (int)(k % 40) - 20);
}

static size_t write_pattern(orx_model *m)
{
	size_t written = 0;

	for (size_t i = 0; i < orx_model_tensor_count(m); i++) {
		orx_tensor_info t;
		double *v;
		cr_assert_eq(orx_model_tensor(&t, m, i), ORX_OK);
		if (t.dtype != ORX_DTYPE_FLOAT &&
		    t.dtype != ORX_DTYPE_FLOAT16 &&
		    t.dtype != ORX_DTYPE_BFLOAT16 &&
		    t.dtype != ORX_DTYPE_DOUBLE)
			continue;
		v = malloc(t.count * sizeof(double) + 1);
		for (size_t k = 0; k < t.count; k++)
			v[k] = pattern(k);
		cr_assert_eq(orx_tensor_write(m, i, v, t.count), ORX_OK, "%s",
			     orx_error_last());
		free(v);
		written++;
	}
	return written;
}

static void write_and_check(const char *name, const char *storage)
{
	char in[4096], out[4096], cmd[8192];
	char *dir = make_temp_dir(), *result;
	orx_model *m = NULL;
	size_t written;

	snprintf(in, sizeof(in), "%s/%s.onnx", SAMPLES, name);
	snprintf(out, sizeof(out), "%s/out.onnx", dir);
	cr_assert_eq(orx_model_open_file(&m, in, NULL), ORX_OK);
	written = write_pattern(m);
	cr_assert_eq(orx_model_save_file(m, out), ORX_OK, "%s",
		     orx_error_last());
	snprintf(cmd, sizeof(cmd), "%s %s/tests/py/check_written.py %s %s",
		 PYTHON3, ORX_SOURCE_DIR, out, storage);
	result = capture(cmd);
	cr_expect_eq(strncmp(result, "ok ", 3), 0, "%s: %s", name, result);
	cr_expect_eq(strtoul(result + 3, NULL, 10), written, "%s", name);
	free(result);
	orx_model_free(m);
	remove_tree(dir);
	free(dir);
}

Test(tensor, float32_raw_written_values_read_back_by_onnx)
{
	write_and_check("mlp_tanh", "raw");
}

Test(tensor, float32_typed_written_values_read_back_by_onnx)
{
	write_and_check("cnn_bn_relu_typed", "typed");
}

Test(tensor, float16_raw_written_values_read_back_by_onnx)
{
	write_and_check("mlp_tanh_fp16", "raw");
}

Test(tensor, float16_typed_written_values_read_back_by_onnx)
{
	write_and_check("mlp_tanh_fp16_typed", "typed");
}

Test(tensor, bfloat16_written_values_read_back_by_onnx)
{
	write_and_check("mlp_tanh_bf16", "raw");
}

Test(tensor, double_typed_written_values_read_back_by_onnx)
{
	write_and_check("mlp_tanh_double", "typed");
}

Test(tensor, wrong_element_count_is_refused)
{
	orx_model *m = NULL;
	double v[4] = {0};

	cr_assert_eq(orx_model_open_file(&m, SAMPLES "/mlp_tanh.onnx", NULL),
		     ORX_OK);
	cr_expect_eq(orx_tensor_write(m, 0, v, 4), ORX_EINVALID);
	cr_expect_str_eq(orx_error_last(),
			 "tensor 'fc1.weight' has 2048 elements, not 4");
	cr_expect_eq(orx_tensor_read(v, 4, m, 0), ORX_EINVALID);
	cr_expect_eq(orx_tensor_read(v, 4, m, 999), ORX_EINVALID);
	orx_model_free(m);
}

Test(tensor, integer_tensors_are_read_but_not_written)
{
	const int64_t raw[3] = {-5, 0, INT64_C(1) << 40};
	const int64_t dims[1] = {3};
	uint8_t *buf;
	size_t len;
	orx_model *m = NULL;
	double v[3];

	build_model(&buf, &len, ORX_DTYPE_INT64, dims, 1, raw, sizeof(raw));
	cr_assert_eq(orx_model_open_buffer(&m, buf, len, NULL), ORX_OK, "%s",
		     orx_error_last());
	cr_expect_eq(orx_tensor_read(v, 3, m, 0), ORX_OK);
	cr_expect_eq(v[0], -5.0);
	cr_expect_eq(v[1], 0.0);
	cr_expect_eq(v[2], 1099511627776.0);
	cr_expect_eq(orx_tensor_write(m, 0, v, 3), ORX_EUNSUPPORTED);
	cr_expect_str_eq(orx_error_last(), "tensor 'w': writing dtype int64 is "
					   "not supported");
	orx_model_free(m);
	free(buf);
}

Test(tensor, external_data_reads_the_same_values_as_inline)
{
	orx_model *ext = NULL, *in = NULL;
	orx_tensor_info t;
	double a[16 * 3 * 3 * 3], b[16 * 3 * 3 * 3];

	cr_assert_eq(orx_model_open_file(
			     &ext, SAMPLES "/external/cnn_bn_relu.onnx", NULL),
		     ORX_OK, "%s", orx_error_last());
	cr_assert_eq(
		orx_model_open_file(&in, SAMPLES "/cnn_bn_relu.onnx", NULL),
		ORX_OK);
	cr_assert_eq(orx_model_tensor(&t, ext, 0), ORX_OK);
	cr_expect_eq(t.storage, ORX_STORAGE_EXTERNAL);
	cr_expect_eq(t.count, 16 * 3 * 3 * 3);
	cr_expect_eq(t.nbytes, 16 * 3 * 3 * 3 * 4);
	cr_assert_eq(orx_tensor_read(a, t.count, ext, 0), ORX_OK, "%s",
		     orx_error_last());
	cr_assert_eq(orx_tensor_read(b, t.count, in, 0), ORX_OK);
	cr_expect_eq(memcmp(a, b, sizeof(a)), 0);
	/* values go into data files at save time, not through write */
	cr_expect_eq(orx_tensor_write(ext, 0, a, t.count), ORX_EUNSUPPORTED);
	orx_model_free(ext);
	orx_model_free(in);
}

Test(tensor, external_data_from_a_buffer_needs_the_models_folder)
{
	uint8_t *buf;
	size_t len;
	orx_model *m = NULL;

	cr_assert_eq(
		read_file(&buf, &len, SAMPLES "/external/cnn_bn_relu.onnx"), 0);
	/* refused at once: nothing is sized from the tensors' dims */
	cr_assert_eq(orx_model_open_buffer(&m, buf, len, NULL),
		     ORX_EUNSUPPORTED);
	cr_expect_null(m);
	cr_expect_str_eq(orx_error_last(),
			 "tensor 'features.0.weight': external data needs the "
			 "model's folder (open it from a file)");
	free(buf);
}

/* Every stride-th element of an inline tensor, as a full read gives
 * them; a tensor in a data file is left to a prefix read. */
Test(tensor, strided_reads_are_the_full_reads_elements)
{
	orx_model *m = NULL, *ext = NULL;
	orx_tensor_info t;
	double *all, part[7];

	cr_assert_eq(orx_model_open_file(&m, SAMPLES "/mlp_tanh.onnx", NULL),
		     ORX_OK);
	cr_assert_eq(orx_model_tensor(&t, m, 0), ORX_OK);
	cr_assert_geq(t.count, 7 * 5);
	all = malloc(t.count * sizeof(double));
	cr_assert_eq(orx_tensor_read(all, t.count, m, 0), ORX_OK);
	cr_assert_eq(orx_tensor_read_strided(part, 7, m, 0, 5), ORX_OK);
	for (size_t k = 0; k < 7; k++)
		cr_expect_eq(part[k], all[k * 5], "element %zu", k * 5);
	cr_expect_eq(orx_tensor_read_strided(part, 7, m, 0, t.count),
		     ORX_EINVALID);
	cr_assert_eq(orx_model_open_file(
			     &ext, SAMPLES "/external/cnn_bn_relu.onnx", NULL),
		     ORX_OK);
	cr_expect_eq(orx_tensor_read_strided(part, 3, ext, 0, 2),
		     ORX_EUNSUPPORTED);
	free(all);
	orx_model_free(m);
	orx_model_free(ext);
}
