/* Samples per second of onnx-reinit's generators, one thread, float32
 * output, beside a constant fill of the same bytes. Prints one line per
 * case: "name seconds samples_per_second". Used by bench/rng.sh. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Fill n float32 values from the params the way apply does. */
static void fill_f32(float *out, size_t n, orx_init_params *p)
{
	int64_t dims[1] = {(int64_t)n};

	orx_init_fill_store(out, orx_raw_store(ORX_DTYPE_FLOAT), n, p,
			    orx_stream_key(0, "bench"), dims, 1);
}

static void report(const char *name, double secs, size_t n)
{
	printf("%s %.4f %.1f\n", name, secs, (double)n / secs);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	float *out = malloc(n * sizeof(float));
	orx_init_params normal = {.dist = ORX_DIST_NORMAL, .std = 1};
	orx_init_params uniform = {
		.dist = ORX_DIST_UNIFORM, .low = 0, .high = 1};
	orx_init_params constant = {.dist = ORX_DIST_CONSTANT, .value = 0.5};
	double best[3] = {1e9, 1e9, 1e9}, t;

	orx_rng_prepare();
	orx_set_threads(1); /* one thread: the comparison the issue asks for */
	memset(out, 0, n * sizeof(float)); /* fault the pages in */
	for (int r = 0; r < reps; r++) {
		t = now();
		fill_f32(out, n, &normal);
		t = now() - t;
		best[0] = t < best[0] ? t : best[0];
		t = now();
		fill_f32(out, n, &uniform);
		t = now() - t;
		best[1] = t < best[1] ? t : best[1];
		t = now();
		for (size_t k = 0; k < n; k++)
			out[k] = (float)constant.value;
		t = now() - t;
		best[2] = t < best[2] ? t : best[2];
	}
	report("onnx-reinit_normal_f32", best[0], n);
	report("onnx-reinit_uniform_f32", best[1], n);
	report("constant_fill_f32", best[2], n);
	free(out);
	return 0;
}
