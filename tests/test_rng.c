/* The random streams: reproducible from their description, independent
 * of order and threads, uncorrelated between tensors. */
#include "helpers.h"
#include "internal.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values of the stream as the Python reference computes them. */
static json_t *reference(uint64_t seed, const char *name, const char *kind,
			 size_t count, size_t first)
{
	char cmd[8192];
	FILE *p;
	json_t *v;
	json_error_t err;

	snprintf(cmd, sizeof(cmd),
		 "%s %s/tests/py/rng_reference.py %llu '%s' %s %zu %zu",
		 PYTHON3, ORX_SOURCE_DIR, (unsigned long long)seed, name, kind,
		 count, first);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	v = json_loadf(p, 0, &err);
	cr_assert_eq(pclose(p), 0);
	cr_assert_not_null(v, "%s", err.text);
	return v;
}

static void fill(double *out, size_t n, uint64_t seed, const char *name,
		 orx_dist dist)
{
	orx_init_params p = {.dist = dist, .std = 1, .low = 0, .high = 1};
	const int64_t dims[1] = {(int64_t)n};

	cr_assert_eq(
		orx_init_fill(out, n, &p, orx_stream_key(seed, name), dims, 1),
		ORX_OK);
}

static void expect_same_as_reference(orx_dist dist, const char *kind,
				     uint64_t seed, const char *name)
{
	size_t n = ORX_RNG_BLOCK + 3000, first = ORX_RNG_BLOCK - 1000;
	double *v = malloc(n * sizeof(double));
	json_t *ref = reference(seed, name, kind, 4000, first);

	fill(v, n, seed, name, dist);
	cr_assert_eq(json_array_size(ref), 4000);
	for (size_t k = 0; k < 4000; k++)
		cr_assert_eq(v[first + k],
			     json_real_value(json_array_get(ref, k)),
			     "%s %s element %zu", kind, name, first + k);
	json_decref(ref);
	free(v);
}

Test(rng, uniform_bytes_follow_the_documented_construction, .timeout = 60)
{
	expect_same_as_reference(ORX_DIST_UNIFORM, "uniform", 0,
				 "layer1.0.conv1.weight");
	expect_same_as_reference(ORX_DIST_UNIFORM, "uniform", 12345, "w");
}

Test(rng, normal_bytes_follow_the_documented_construction, .timeout = 60)
{
	expect_same_as_reference(ORX_DIST_NORMAL, "normal", 0,
				 "layer1.0.conv1.weight");
	expect_same_as_reference(ORX_DIST_NORMAL, "normal", 7,
				 "encoder.layers.0.self_attn.in_proj_weight");
}

Test(rng, same_seed_same_values_other_seed_other_values)
{
	double a[1000], b[1000], c[1000];

	fill(a, 1000, 3, "w", ORX_DIST_NORMAL);
	fill(b, 1000, 3, "w", ORX_DIST_NORMAL);
	fill(c, 1000, 4, "w", ORX_DIST_NORMAL);
	cr_expect_eq(memcmp(a, b, sizeof(a)), 0);
	cr_expect_neq(memcmp(a, c, sizeof(a)), 0);
}

/* A block generated alone (as a thread would) equals the same block of a
 * whole fill. */
Test(rng, blocks_generated_alone_equal_the_whole_fill)
{
	size_t n = 3 * ORX_RNG_BLOCK;
	double *whole = malloc(n * sizeof(double));
	double *part = malloc(ORX_RNG_BLOCK * sizeof(double));
	uint64_t key = orx_stream_key(9, "fc.weight");
	orx_rng r;

	fill(whole, n, 9, "fc.weight", ORX_DIST_NORMAL);
	orx_rng_prepare();
	orx_rng_block(&r, key, 2);
	orx_rng_fill_normal(part, ORX_RNG_BLOCK, &r);
	cr_expect_eq(memcmp(part, whole + 2 * ORX_RNG_BLOCK,
			    ORX_RNG_BLOCK * sizeof(double)),
		     0);
	free(whole);
	free(part);
}

/* Two tensors in one model: the bytes of each do not depend on which is
 * initialized first (each draws from its own stream). */
Test(rng, tensor_values_do_not_depend_on_order)
{
	orx_init_params p = {.dist = ORX_DIST_NORMAL, .std = 0.1};
	const char *path = ORX_SOURCE_DIR "/samples/mlp_tanh.onnx";
	uint8_t *first = NULL, *second = NULL, *orig = NULL;
	size_t l1 = 0, l2 = 0, lo = 0, a, b;
	orx_model *m1 = NULL, *m2 = NULL, *m0 = NULL;

	cr_assert_eq(orx_model_open_file(&m1, path, NULL), ORX_OK);
	cr_assert_eq(orx_model_open_file(&m2, path, NULL), ORX_OK);
	cr_assert_eq(orx_model_open_file(&m0, path, NULL), ORX_OK);
	cr_assert_eq(orx_model_find_tensor(&a, m1, "fc1.weight"), ORX_OK);
	cr_assert_eq(orx_model_find_tensor(&b, m1, "fc2.weight"), ORX_OK);
	/* m1: a then b; m2: b then a */
	cr_assert_eq(
		orx_tensor_init(m1, a, &p, orx_stream_key(0, "fc1.weight")),
		ORX_OK);
	cr_assert_eq(
		orx_tensor_init(m1, b, &p, orx_stream_key(0, "fc2.weight")),
		ORX_OK);
	cr_assert_eq(
		orx_tensor_init(m2, b, &p, orx_stream_key(0, "fc2.weight")),
		ORX_OK);
	cr_assert_eq(
		orx_tensor_init(m2, a, &p, orx_stream_key(0, "fc1.weight")),
		ORX_OK);
	cr_assert_eq(orx_model_save_buffer(&first, &l1, m1, NULL), ORX_OK);
	cr_assert_eq(orx_model_save_buffer(&second, &l2, m2, NULL), ORX_OK);
	cr_assert_eq(orx_model_save_buffer(&orig, &lo, m0, NULL), ORX_OK);
	cr_expect(l1 == l2 && memcmp(first, second, l1) == 0);
	/* and both tensors were rewritten: the saved model is not the input */
	cr_expect(l1 == lo && memcmp(first, orig, l1) != 0);
	free(first);
	free(second);
	free(orig);
	orx_model_free(m0);
	orx_model_free(m1);
	orx_model_free(m2);
}

static double correlation(const double *a, const double *b, size_t n)
{
	double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;

	for (size_t k = 0; k < n; k++)
		ma += a[k], mb += b[k];
	ma /= n, mb /= n;
	for (size_t k = 0; k < n; k++) {
		sab += (a[k] - ma) * (b[k] - mb);
		saa += (a[k] - ma) * (a[k] - ma);
		sbb += (b[k] - mb) * (b[k] - mb);
	}
	return sab / sqrt(saa * sbb);
}

/* Pearson's r of independent streams has standard error 1/sqrt(n): 5
 * standard errors is the bound. */
Test(rng, streams_of_different_names_seeds_and_blocks_are_uncorrelated)
{
	size_t n = 1 << 20;
	double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double));
	double bound = 5 / sqrt((double)n);

	fill(a, n, 0, "layer1.weight", ORX_DIST_NORMAL);
	fill(b, n, 0, "layer2.weight", ORX_DIST_NORMAL);
	cr_expect_lt(fabs(correlation(a, b, n)), bound, "names");
	fill(b, n, 1, "layer1.weight", ORX_DIST_NORMAL);
	cr_expect_lt(fabs(correlation(a, b, n)), bound, "seeds");
	/* within one stream: lag 1, and block 0 against block 1 */
	cr_expect_lt(fabs(correlation(a, a + 1, n - 1)), bound, "lag 1");
	cr_expect_lt(fabs(correlation(a, a + ORX_RNG_BLOCK, n - ORX_RNG_BLOCK)),
		     bound, "blocks");
	fill(a, n, 0, "a", ORX_DIST_UNIFORM);
	fill(b, n, 0, "b", ORX_DIST_UNIFORM);
	cr_expect_lt(fabs(correlation(a, b, n)), bound, "uniform names");
	free(a);
	free(b);
}

Test(rng, uniform_has_53_random_bits_and_stays_in_0_1)
{
	size_t n = 1 << 16;
	double *u = malloc(n * sizeof(double));
	int low_bit_set = 0;

	fill(u, n, 0, "bits", ORX_DIST_UNIFORM);
	for (size_t k = 0; k < n; k++) {
		cr_assert(u[k] >= 0 && u[k] < 1);
		/* the 53rd bit below the point is random, so set about half
		 * the time: a float-precision generator never sets it */
		low_bit_set += fmod(ldexp(u[k], 53), 2) == 1;
	}
	cr_expect(low_bit_set > (int)n / 2 - 1000 &&
			  low_bit_set < (int)n / 2 + 1000,
		  "%d of %zu", low_bit_set, n);
	free(u);
}

/* A large tensor is split across threads by blocks: the bytes are the
 * same with one thread and with several. */
Test(rng, bytes_do_not_depend_on_the_number_of_threads)
{
	size_t n = 40 * ORX_RNG_BLOCK + 123;
	double *one = malloc(n * sizeof(double)),
	       *many = malloc(n * sizeof(double));
	orx_init_params p = {.dist = ORX_DIST_NORMAL, .std = 0.05};
	const int64_t dims[1] = {(int64_t)n};

	orx_fill_job a = {one, orx_raw_store(ORX_DTYPE_DOUBLE), n,
			  &p,  orx_stream_key(3, "big"),	dims,
			  1},
		     b = a;

	b.base = many;
	cr_assert_eq(orx_init_fill_jobs(&a, 1, 1), ORX_OK);
	cr_assert_eq(orx_init_fill_jobs(&b, 1, 4), ORX_OK);
	cr_expect_eq(memcmp(one, many, n * sizeof(double)), 0);
	free(one);
	free(many);
}

/* The shortcuts (eight draws at a time with AVX-512, the wedge test
 * decided without exp() when clear) give the plain sampler's values:
 * 2^22 normals and truncated normals, some 46,000 wedge tests. */
Test(rng, shortcuts_give_the_plain_samplers_values, .timeout = 60)
{
	size_t n = (size_t)1 << 22;
	double *fast = malloc(n * sizeof(double)),
	       *plain = malloc(n * sizeof(double));
	orx_rng r;

	for (int trunc = 0; trunc < 2; trunc++) {
		void (*fill_fn)(double *, size_t, orx_rng *) =
			trunc ? orx_rng_fill_trunc_normal : orx_rng_fill_normal;
		orx_rng_shortcuts(false);
		orx_rng_block(&r, orx_stream_key(3, "w"), 0);
		fill_fn(plain, n, &r);
		orx_rng_shortcuts(true);
		orx_rng_block(&r, orx_stream_key(3, "w"), 0);
		fill_fn(fast, n, &r);
		for (size_t k = 0; k < n; k++)
			cr_assert_eq(fast[k], plain[k], "%s element %zu",
				     trunc ? "trunc_normal" : "normal", k);
	}
	free(fast);
	free(plain);
}
