/* Initialization schemes tested as statistics: 2^20 samples per scheme
 * and dtype, written into a real tensor and read back. */
#include "helpers.h"
#include "internal.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N (1 << 20)
#define FAN_IN 300
#define FAN_OUT 500

static const int dtypes[] = {ORX_DTYPE_FLOAT, ORX_DTYPE_FLOAT16,
			     ORX_DTYPE_BFLOAT16, ORX_DTYPE_DOUBLE};

/* Initialize a tensor "w" of N elements of dtype from params, read the
 * stored values into got and the unrounded values into exact. */
static void sample(double *got, double *exact, int dtype,
		   const orx_init_params *p, uint64_t seed)
{
	const int64_t dims[1] = {N};
	uint64_t key = orx_stream_key(seed, "w");
	uint8_t *buf;
	size_t len;
	orx_model *m = NULL;

	build_model(&buf, &len, dtype, dims, 1, NULL,
		    (size_t)N * orx_dtype_bits(dtype) / 8);
	cr_assert_eq(orx_model_open_buffer(&m, buf, len, NULL), ORX_OK);
	cr_assert_eq(orx_tensor_init(m, 0, p, key), ORX_OK, "%s",
		     orx_error_last());
	cr_assert_eq(orx_tensor_read(got, N, m, 0), ORX_OK);
	cr_assert_eq(orx_init_fill(exact, N, p, key, dims, 1), ORX_OK);
	orx_model_free(m);
	free(buf);
}

/*** the target distributions ***/

static double normal_cdf(double z)
{
	return 0.5 * erfc(-z / sqrt(2.0));
}

static double target_cdf(const orx_init_params *p, double x)
{
	double z, sigma;

	switch (p->dist) {
	case ORX_DIST_UNIFORM:
		z = (x - p->low) / (p->high - p->low);
		return z < 0 ? 0 : z > 1 ? 1 : z;
	case ORX_DIST_TRUNC_NORMAL:
		sigma = p->std / ORX_TRUNC_STD;
		z = (x - p->mean) / sigma;
		if (z <= -2)
			return 0;
		if (z >= 2)
			return 1;
		return (normal_cdf(z) - normal_cdf(-2)) /
		       (normal_cdf(2) - normal_cdf(-2));
	default: return normal_cdf((x - p->mean) / p->std);
	}
}

/* Excess kurtosis of each shape, and the kurtosis term of the variance's
 * standard error (E[(x-mu)^4]/sigma^4 - 1). */
static double excess_kurtosis(orx_dist d)
{
	return d == ORX_DIST_UNIFORM	    ? -1.2
	       : d == ORX_DIST_TRUNC_NORMAL ? -0.6344632828696044
					    : 0.0;
}

/* The values a value of dtype can take next to v (for the discrete KS). */
static double round_to(int dtype, double v)
{
	switch (dtype) {
	case ORX_DTYPE_FLOAT: return (float)v;
	case ORX_DTYPE_FLOAT16:
		return orx_f16_to_double(orx_f16_from_double(v));
	case ORX_DTYPE_BFLOAT16:
		return orx_bf16_to_double(orx_bf16_from_double(v));
	default: return v;
	}
}

/* The next representable value above v in dtype (v finite). */
static double next_up(int dtype, double v)
{
	uint16_t h;

	switch (dtype) {
	case ORX_DTYPE_FLOAT: return nextafterf((float)v, INFINITY);
	case ORX_DTYPE_DOUBLE: return nextafter(v, INFINITY);
	case ORX_DTYPE_FLOAT16:
		h = orx_f16_from_double(v);
		h = (h & 0x8000) ? (h == 0x8000 ? 1 : h - 1) : h + 1;
		return orx_f16_to_double(h);
	default:
		h = orx_bf16_from_double(v);
		h = (h & 0x8000) ? (h == 0x8000 ? 1 : h - 1) : h + 1;
		return orx_bf16_to_double(h);
	}
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Kolmogorov-Smirnov distance of the sorted sample s against the target
 * as rounded to dtype: a stored value v stands for the interval up to
 * the midpoint to the next representable value. */
static double ks_distance(const double *s, size_t n, const orx_init_params *p,
			  int dtype)
{
	double d = 0, below = target_cdf(p, -INFINITY);

	for (size_t i = 0; i < n;) {
		size_t j = i;
		double v = s[i], at;
		while (j < n && s[j] == v)
			j++;
		at = dtype == ORX_DTYPE_DOUBLE || dtype == ORX_DTYPE_FLOAT
			     ? target_cdf(p, v)
			     : target_cdf(p, (v + next_up(dtype, v)) / 2);
		if (dtype == ORX_DTYPE_DOUBLE || dtype == ORX_DTYPE_FLOAT)
			below = at;
		d = fmax(d, fabs((double)i / n - below));
		d = fmax(d, fabs((double)j / n - at));
		below = at;
		i = j;
	}
	return d;
}

static void expect_distribution(double *v, const orx_init_params *p, int dtype)
{
	double mean = 0, m2 = 0, m4 = 0, se_mean, se_var, var, kurt, ks;
	double lo = round_to(dtype, p->low), hi = round_to(dtype, p->high);
	const char *dt = orx_dtype_name(dtype);

	for (size_t k = 0; k < N; k++)
		mean += v[k];
	mean /= N;
	for (size_t k = 0; k < N; k++) {
		double c = v[k] - p->mean, c2 = c * c;
		m2 += c2;
		m4 += c2 * c2;
	}
	var = m2 / N;
	kurt = (m4 / N) / (var * var) - 3;
	se_mean = p->std / sqrt(N);
	se_var = p->std * p->std * sqrt((2 + excess_kurtosis(p->dist)) / N);
	cr_expect_leq(fabs(mean - p->mean), 5 * se_mean, "%s mean %g, want %g",
		      dt, mean, p->mean);
	cr_expect_leq(fabs(var - p->std * p->std), 5 * se_var,
		      "%s variance %g, want %g", dt, var, p->std * p->std);
	cr_expect_leq(fabs(kurt - excess_kurtosis(p->dist)), 0.03,
		      "%s excess kurtosis %g, want %g", dt, kurt,
		      excess_kurtosis(p->dist));
	qsort(v, N, sizeof(double), by_value);
	if (p->dist != ORX_DIST_NORMAL) {
		cr_expect_geq(v[0], lo, "%s min %.17g below %.17g", dt, v[0],
			      lo);
		cr_expect_leq(v[N - 1], hi, "%s max %.17g above %.17g", dt,
			      v[N - 1], hi);
	}
	ks = ks_distance(v, N, p, dtype);
	/* 1% critical value of the one-sample KS statistic: 1.628 / sqrt(n) */
	cr_expect_lt(ks, 1.628 / sqrt(N), "%s KS distance %g", dt, ks);
}

/* |stored - exact| is at most half the gap to the neighbour on exact's
 * side: round to nearest. */
static void expect_half_ulp(const double *got, const double *exact, int dtype)
{
	for (size_t k = 0; k < N; k++) {
		double s = got[k], x = exact[k], gap;
		if (s == x)
			continue;
		gap = x > s ? next_up(dtype, s) - s : s - (-next_up(dtype, -s));
		cr_assert_leq(fabs(s - x), gap / 2, "%s [%zu] %.17g for %.17g",
			      orx_dtype_name(dtype), k, s, x);
	}
}

static void check_scheme(const orx_init_spec *spec)
{
	double *got = malloc(N * sizeof(double)),
	       *exact = malloc(N * sizeof(double));
	const int64_t dims[1] = {N};
	orx_init_params p;

	cr_assert_eq(orx_init_resolve(&p, spec, FAN_IN, FAN_OUT, dims, 1),
		     ORX_OK, "%s", orx_error_last());
	for (size_t i = 0; i < sizeof(dtypes) / sizeof(*dtypes); i++) {
		sample(got, exact, dtypes[i], &p, 0);
		if (dtypes[i] == ORX_DTYPE_FLOAT16 ||
		    dtypes[i] == ORX_DTYPE_BFLOAT16)
			expect_half_ulp(got, exact, dtypes[i]);
		expect_distribution(got, &p, dtypes[i]);
	}
	free(got);
	free(exact);
}

#define SCHEME_TEST(test_name, ...)                                            \
	Test(init, test_name, .timeout = 120)                                  \
	{                                                                      \
		orx_init_spec spec = {__VA_ARGS__};                            \
		check_scheme(&spec);                                           \
	}

SCHEME_TEST(xavier_uniform_matches_its_distribution,
	    .scheme = ORX_SCHEME_XAVIER_UNIFORM)
SCHEME_TEST(xavier_normal_matches_its_distribution,
	    .scheme = ORX_SCHEME_XAVIER_NORMAL)
SCHEME_TEST(xavier_trunc_normal_matches_its_distribution,
	    .scheme = ORX_SCHEME_XAVIER_TRUNC_NORMAL)
SCHEME_TEST(he_uniform_matches_its_distribution,
	    .scheme = ORX_SCHEME_HE_UNIFORM)
SCHEME_TEST(he_normal_matches_its_distribution, .scheme = ORX_SCHEME_HE_NORMAL)
SCHEME_TEST(he_trunc_normal_matches_its_distribution,
	    .scheme = ORX_SCHEME_HE_TRUNC_NORMAL)
SCHEME_TEST(lecun_uniform_matches_its_distribution,
	    .scheme = ORX_SCHEME_LECUN_UNIFORM)
SCHEME_TEST(lecun_normal_matches_its_distribution,
	    .scheme = ORX_SCHEME_LECUN_NORMAL)
SCHEME_TEST(lecun_trunc_normal_matches_its_distribution,
	    .scheme = ORX_SCHEME_LECUN_TRUNC_NORMAL)
SCHEME_TEST(normal_mean_std_matches_its_distribution,
	    .scheme = ORX_SCHEME_NORMAL, .mean = 0.5, .std = 2)
SCHEME_TEST(trunc_normal_mean_std_matches_its_distribution,
	    .scheme = ORX_SCHEME_TRUNC_NORMAL, .mean = -1, .std = 0.1)
SCHEME_TEST(uniform_low_high_matches_its_distribution,
	    .scheme = ORX_SCHEME_UNIFORM, .low = -3, .high = 5)
SCHEME_TEST(he_normal_with_leaky_relu_gain_and_fan_out,
	    .scheme = ORX_SCHEME_HE_NORMAL, .gain = 1.3867504905630728,
	    .mode = ORX_MODE_FAN_OUT)

/*** the formulas, exactly ***/

static orx_init_params resolve(orx_init_spec spec, int64_t in, int64_t out)
{
	const int64_t dims[2] = {out, in};
	orx_init_params p;

	cr_assert_eq(orx_init_resolve(&p, &spec, in, out, dims, 2), ORX_OK,
		     "%s", orx_error_last());
	return p;
}

Test(init, formulas_match_spec)
{
	orx_init_params p;

	/* he_normal, 3x3 conv with 64 input channels */
	p = resolve((orx_init_spec){.scheme = ORX_SCHEME_HE_NORMAL}, 576, 576);
	cr_expect_float_eq(p.std, 0.05892556509887896, 1e-15);
	cr_expect_float_eq(p.gain, sqrt(2.0), 1e-15);
	/* xavier_uniform: bound g*sqrt(6/(n_in+n_out)) */
	p = resolve((orx_init_spec){.scheme = ORX_SCHEME_XAVIER_UNIFORM}, 300,
		    500);
	cr_expect_float_eq(p.high, sqrt(6.0 / 800), 1e-15);
	cr_expect_float_eq(p.low, -sqrt(6.0 / 800), 1e-15);
	/* xavier_normal with the tanh gain: N(0, g^2 * 2/(n_in+n_out)) */
	p = resolve((orx_init_spec){.scheme = ORX_SCHEME_XAVIER_NORMAL,
				    .gain = 5.0 / 3},
		    300, 500);
	cr_expect_float_eq(p.std, 5.0 / 3 * sqrt(2.0 / 800), 1e-15);
	/* he_uniform: U(+-g*sqrt(3/n_in)) */
	p = resolve((orx_init_spec){.scheme = ORX_SCHEME_HE_UNIFORM}, 300, 500);
	cr_expect_float_eq(p.high, sqrt(2.0) * sqrt(3.0 / 300), 1e-15);
	/* lecun_normal: N(0, 1/n_in) */
	p = resolve((orx_init_spec){.scheme = ORX_SCHEME_LECUN_NORMAL}, 300,
		    500);
	cr_expect_float_eq(p.std, sqrt(1.0 / 300), 1e-15);
	/* modes */
	p = resolve((orx_init_spec){.scheme = ORX_SCHEME_HE_NORMAL,
				    .mode = ORX_MODE_FAN_OUT},
		    300, 500);
	cr_expect_float_eq(p.std, sqrt(2.0 / 500), 1e-15);
	p = resolve((orx_init_spec){.scheme = ORX_SCHEME_XAVIER_NORMAL,
				    .mode = ORX_MODE_FAN_IN},
		    300, 500);
	cr_expect_float_eq(p.std, sqrt(1.0 / 300), 1e-15);
	/* truncated: cut at 2 sigma where sigma = std / 0.8796... */
	p = resolve((orx_init_spec){.scheme = ORX_SCHEME_HE_TRUNC_NORMAL}, 200,
		    1);
	cr_expect_float_eq(p.std, 0.1, 1e-15);
	cr_expect_float_eq(p.high, 2 * 0.1 / 0.8796256610342398, 1e-15);
	/* constants */
	p = resolve((orx_init_spec){.scheme = ORX_SCHEME_ZEROS}, 3, 3);
	cr_expect_eq(p.dist, ORX_DIST_CONSTANT);
	cr_expect_eq(p.value, 0.0);
	p = resolve(
		(orx_init_spec){.scheme = ORX_SCHEME_CONSTANT, .value = 0.25},
		3, 3);
	cr_expect_eq(p.value, 0.25);
}

Test(init, named_gains)
{
	double g;

	cr_assert_eq(orx_gain(&g, "tanh", NAN), ORX_OK);
	cr_expect_float_eq(g, 5.0 / 3, 1e-15);
	cr_assert_eq(orx_gain(&g, "relu", NAN), ORX_OK);
	cr_expect_float_eq(g, sqrt(2.0), 1e-15);
	cr_assert_eq(orx_gain(&g, "leaky_relu", 0.2), ORX_OK);
	cr_expect_float_eq(g, sqrt(2 / 1.04), 1e-15);
	cr_assert_eq(orx_gain(&g, "leaky_relu", NAN), ORX_OK);
	cr_expect_float_eq(g, sqrt(2 / 1.0001), 1e-15);
	cr_assert_eq(orx_gain(&g, "selu", NAN), ORX_OK);
	cr_expect_eq(g, 0.75);
	cr_assert_eq(orx_gain(&g, "sigmoid", NAN), ORX_OK);
	cr_expect_eq(g, 1.0);
	cr_expect_eq(orx_gain(&g, "swishy", NAN), ORX_EINVALID);
	cr_expect_str_eq(orx_error_last(), "unknown gain 'swishy'");
}

Test(init, scheme_names_round_trip)
{
	orx_scheme s;

	for (int i = ORX_SCHEME_KEEP; i <= ORX_SCHEME_ORTHOGONAL; i++) {
		cr_assert_eq(orx_scheme_from_name(&s, orx_scheme_name(i)),
			     ORX_OK);
		cr_expect_eq((int)s, i);
	}
	cr_expect_eq(orx_scheme_from_name(&s, "kaiming_normal"), ORX_OK);
	cr_expect_eq(s, ORX_SCHEME_HE_NORMAL);
	cr_expect_eq(orx_scheme_from_name(&s, "he"), ORX_EINVALID);
}

Test(init, invalid_specs_are_refused)
{
	orx_init_spec spec = {.scheme = ORX_SCHEME_HE_NORMAL};
	orx_init_params p;
	const int64_t d1[1] = {5};

	cr_expect_eq(orx_init_resolve(&p, &spec, 0, 5, d1, 1), ORX_EINVALID);
	spec = (orx_init_spec){
		.scheme = ORX_SCHEME_UNIFORM, .low = 1, .high = -1};
	cr_expect_eq(orx_init_resolve(&p, &spec, 1, 1, d1, 1), ORX_EINVALID);
	spec = (orx_init_spec){.scheme = ORX_SCHEME_NORMAL, .std = -1};
	cr_expect_eq(orx_init_resolve(&p, &spec, 1, 1, d1, 1), ORX_EINVALID);
	spec = (orx_init_spec){.scheme = ORX_SCHEME_ORTHOGONAL};
	cr_expect_eq(orx_init_resolve(&p, &spec, 1, 1, d1, 1), ORX_EINVALID);
}

/*** orthogonal ***/

/* max |G - gain^2 I| where G is W W^T (rows <= cols) or W^T W. */
static double orthogonality_error(const double *w, size_t rows, size_t cols,
				  double gain)
{
	size_t k = rows <= cols ? rows : cols;
	double worst = 0;

	for (size_t a = 0; a < k; a++)
		for (size_t b = 0; b < k; b++) {
			double dot = 0;
			for (size_t i = 0; i < (rows <= cols ? cols : rows);
			     i++)
				dot += rows <= cols ? w[a * cols + i] *
							      w[b * cols + i]
						    : w[i * cols + a] *
							      w[i * cols + b];
			worst = fmax(worst,
				     fabs(dot - (a == b ? gain * gain : 0)));
		}
	return worst;
}

static void check_orthogonal(const int64_t *dims, size_t ndim, double gain)
{
	orx_init_spec spec = {.scheme = ORX_SCHEME_ORTHOGONAL, .gain = gain};
	orx_init_params p;
	size_t n = 1, rows = (size_t)dims[0];
	double *w, *again, sum2 = 0;

	for (size_t i = 0; i < ndim; i++)
		n *= (size_t)dims[i];
	w = malloc(n * sizeof(double));
	again = malloc(n * sizeof(double));
	cr_assert_eq(orx_init_resolve(&p, &spec, 1, 1, dims, ndim), ORX_OK);
	cr_assert_eq(
		orx_init_fill(w, n, &p, orx_stream_key(0, "q"), dims, ndim),
		ORX_OK, "%s", orx_error_last());
	cr_expect_leq(orthogonality_error(w, rows, n / rows, gain), 1e-12);
	for (size_t i = 0; i < n; i++)
		sum2 += w[i] * w[i];
	/* the std the plan reports: sum of squares is gain^2 * min(r, c) */
	cr_expect_float_eq(sqrt(sum2 / n), p.std, 1e-9);
	cr_assert_eq(
		orx_init_fill(again, n, &p, orx_stream_key(0, "q"), dims, ndim),
		ORX_OK);
	cr_expect_eq(memcmp(w, again, n * sizeof(double)), 0);
	free(w);
	free(again);
}

Test(init, orthogonal_tall_wide_and_conv_shaped)
{
	const int64_t tall[2] = {256, 64}, wide[2] = {64, 256},
		      conv[4] = {32, 16, 3, 3};

	check_orthogonal(tall, 2, 1);
	check_orthogonal(wide, 2, 1);
	check_orthogonal(conv, 4, 2);
}
