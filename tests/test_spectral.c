/* Fixed transforms found by their values (spectral.c): every basis,
 * filter bank and DCT made by its formula is found and named; no draw of
 * a default scheme ever is. */
#include "internal.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

static double hann(uint64_t t, uint64_t n)
{
	return 0.5 - 0.5 * cos(2 * PI * (double)t / (double)n);
}

/* A stacked real and imaginary DFT basis of n points, k bins, Hann
 * window, as torch.stft's: (2k) x n. */
static double *dft_basis(uint64_t n, uint64_t k)
{
	double *f = malloc(2 * k * n * sizeof(*f));

	for (uint64_t j = 0; j < k; j++)
		for (uint64_t t = 0; t < n; t++) {
			double x = 2 * PI * (double)(j * t % n) / (double)n;
			f[j * n + t] = (float)(cos(x) * hann(t, n));
			f[(k + j) * n + t] = (float)(-sin(x) * hann(t, n));
		}
	return f;
}

Test(spectral, a_stacked_dft_basis_is_found_and_named)
{
	char what[160];
	double *f = dft_basis(64, 33);

	cr_assert_eq(orx_fixed_transform(what, sizeof(what), f, 66, 64, 1e-4),
		     1);
	cr_assert_str_eq(what, "DFT basis: 64 points, 33 bins (real and "
			       "imaginary parts, stacked), Hann window");
	f[5 * 64 + 7] += 0.01; /* one value off: not a basis */
	cr_assert_eq(orx_fixed_transform(what, sizeof(what), f, 66, 64, 1e-4),
		     0);
	free(f);
}

/* Triangular filters with centres spaced wider and wider (mel-like),
 * m filters over n bins, each filter the minimum of its two slopes. */
static double *filter_bank(uint64_t m, uint64_t n)
{
	double *f = calloc(m * n, sizeof(*f)), c[64];

	for (uint64_t i = 0; i < m + 2; i++)
		c[i] = (double)(n - 1) *
		       (exp((double)i / (double)(m + 1)) - 1) / (exp(1) - 1);
	for (uint64_t j = 0; j < m; j++)
		for (uint64_t t = 0; t < n; t++) {
			double up = ((double)t - c[j]) / (c[j + 1] - c[j]),
			       down = (c[j + 2] - (double)t) /
				      (c[j + 2] - c[j + 1]);
			f[j * n + t] = fmax(0, fmin(up, down));
		}
	return f;
}

Test(spectral, a_triangular_filter_bank_is_found)
{
	char what[160];
	double *f = filter_bank(20, 129);

	cr_assert_eq(orx_fixed_transform(what, sizeof(what), f, 20, 129, 1e-4),
		     1);
	cr_assert_str_eq(what, "filter bank: 20 triangular filters over 129 "
			       "bins");
	f[3 * 129 + 100] = 0.5; /* a second bump */
	cr_assert_eq(orx_fixed_transform(what, sizeof(what), f, 20, 129, 1e-4),
		     0);
	free(f);
}

Test(spectral, an_orthonormal_dct_is_found)
{
	char what[160];
	double f[13 * 40];

	for (int k = 0; k < 13; k++)
		for (int t = 0; t < 40; t++)
			f[k * 40 + t] = (k ? sqrt(2.0 / 40) : sqrt(1.0 / 40)) *
					cos(PI * (t + 0.5) * k / 40);
	cr_assert_eq(orx_fixed_transform(what, sizeof(what), f, 13, 40, 1e-4),
		     1);
	cr_assert_str_eq(what, "DCT-II matrix: 13 coefficients of 40 inputs, "
			       "orthonormal");
}

Test(spectral, a_symmetric_kernel_is_a_kernel_and_a_ramp_is_not)
{
	char what[160];
	double g[3 * 5] = {1, 4, 6, 4, 1, 1, 4, 6, 4, 1, 1, 4, 6, 4, 1},
		     ramp[5] = {1, 2, 3, 4, 5}, flat[5] = {2, 2, 2, 2, 2};

	cr_assert_eq(orx_fixed_kernel(what, sizeof(what), g, 3, 5, 1e-4), 1);
	cr_assert_str_eq(what, "smoothing kernel of 5 taps");
	cr_assert_eq(orx_fixed_kernel(what, sizeof(what), ramp, 1, 5, 1e-4), 0);
	cr_assert_eq(orx_fixed_kernel(what, sizeof(what), flat, 1, 5, 1e-4), 0);
	g[12] = 5; /* rows that differ */
	cr_assert_eq(orx_fixed_kernel(what, sizeof(what), g, 3, 5, 1e-4), 0);
}

/* A default scheme's draw for a rows x cols weight, rounded to float32
 * as a float32 tensor holds it. */
static void draw(double *out, const char *scheme, int64_t rows, int64_t cols,
		 uint64_t key)
{
	orx_init_spec spec = ORX_INIT_SPEC_INIT;
	orx_init_params p;
	int64_t dims[2] = {rows, cols};

	cr_assert_eq(orx_scheme_from_name(&spec.scheme, scheme), ORX_OK);
	spec.std = 0.02;
	cr_assert_eq(orx_init_resolve(&p, &spec, cols, rows, dims, 2), ORX_OK);
	cr_assert_eq(
		orx_init_fill(out, (size_t)(rows * cols), &p, key, dims, 2),
		ORX_OK);
	for (int64_t k = 0; k < rows * cols; k++)
		out[k] = (float)out[k];
}

/* 10,000 draws of every default scheme at shapes [2k, 1, n] (a Conv's
 * rows) and [k, m] (a MatMul's, as rows and as columns): none is taken
 * for a fixed transform, nor (the rows) for a kernel. */
Test(spectral, no_draw_of_a_default_scheme_is_taken_for_one, .timeout = 300)
{
	static const char *const schemes[] = {"he_normal",    "xavier_uniform",
					      "lecun_normal", "orthogonal",
					      "normal",	      "trunc_normal"};
	double *v = malloc(128 * 128 * sizeof(*v)),
	       *t = malloc(128 * 128 * sizeof(*t));
	char what[160];
	uint64_t s = 1;

	for (size_t i = 0; i < sizeof(schemes) / sizeof(*schemes); i++)
		for (uint64_t d = 0; d < 10000; d++) {
			uint64_t k = 2 +
				     (s = s * 6364136223846793005u + 1) % 31,
				 n = 8 + (s >> 33) % 89;
			draw(v, schemes[i], (int64_t)(2 * k), (int64_t)n,
			     i * 1000003 + d);
			cr_assert_eq(orx_fixed_transform(what, sizeof(what), v,
							 2 * k, n, 1e-4),
				     0, "%s [%llu, 1, %llu]: %s", schemes[i],
				     (unsigned long long)(2 * k),
				     (unsigned long long)n, what);
			cr_assert_eq(orx_fixed_kernel(what, sizeof(what), v,
						      2 * k, n, 1e-4),
				     0);
			/* a MatMul's [n, 2k], its columns the functions */
			draw(v, schemes[i], (int64_t)n, (int64_t)(2 * k),
			     i * 1000003 + d + 500000);
			for (uint64_t r = 0; r < n; r++)
				for (uint64_t c = 0; c < 2 * k; c++)
					t[c * n + r] = v[r * 2 * k + c];
			cr_assert_eq(orx_fixed_transform(what, sizeof(what), t,
							 2 * k, n, 1e-4),
				     0, "%s [%llu, %llu] columns: %s",
				     schemes[i], (unsigned long long)n,
				     (unsigned long long)(2 * k), what);
		}
	free(v);
	free(t);
}
