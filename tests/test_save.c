/* Saving: whole files or nothing, never touching the input. */
#include "helpers.h"
#include "internal.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE ORX_SOURCE_DIR "/samples/mlp_tanh.onnx"

static orx_model *open_sample(void)
{
	orx_model *m = NULL;

	cr_assert_eq(orx_model_open_file(&m, SAMPLE, NULL), ORX_OK);
	return m;
}

static int files_equal(const char *a, const char *b)
{
	uint8_t *x, *y;
	size_t nx, ny;
	int eq;

	if (read_file(&x, &nx, a) || read_file(&y, &ny, b))
		return 0;
	eq = nx == ny && memcmp(x, y, nx) == 0;
	free(x);
	free(y);
	return eq;
}

Test(save, writes_the_exact_bytes_and_nothing_else_in_the_folder)
{
	char *dir = make_temp_dir(), out[4096];
	orx_model *m = open_sample();

	snprintf(out, sizeof(out), "%s/copy.onnx", dir);
	cr_assert_eq(orx_model_save_file(m, out), ORX_OK, "%s",
		     orx_error_last());
	cr_expect(files_equal(out, SAMPLE));
	cr_expect_eq(count_entries(dir), 1, "temporary files left behind");
	orx_model_free(m);
	remove_tree(dir);
	free(dir);
}

Test(save, missing_folder_fails_and_creates_nothing)
{
	orx_model *m = open_sample();

	cr_expect_eq(orx_model_save_file(m, "/nonexistent-dir/out.onnx"),
		     ORX_EIO);
	cr_expect_str_eq(orx_error_last(), "cannot create a file in "
					   "'/nonexistent-dir': No such file "
					   "or directory");
	orx_model_free(m);
}

Test(save, replacing_the_input_path_is_atomic_and_complete)
{
	char *dir = make_temp_dir(), path[4096];
	uint8_t *data;
	size_t len;
	orx_model *m = NULL;

	snprintf(path, sizeof(path), "%s/model.onnx", dir);
	cr_assert_eq(read_file(&data, &len, SAMPLE), 0);
	cr_assert_eq(write_file(path, data, len), 0);
	cr_assert_eq(orx_model_open_file(&m, path, NULL), ORX_OK);
	cr_assert_eq(orx_model_save_file(m, path), ORX_OK);
	cr_expect(files_equal(path, SAMPLE));
	cr_expect_eq(count_entries(dir), 1);
	orx_model_free(m);
	free(data);
	remove_tree(dir);
	free(dir);
}

Test(save, dash_writes_standard_output)
{
	char *dir = make_temp_dir(), path[4096];
	orx_model *m = open_sample();
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "%s/stdout.onnx", dir);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		_exit(orx_model_save_file(m, "-") == ORX_OK ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	cr_expect_eq(WEXITSTATUS(status), 0);
	cr_expect(files_equal(path, SAMPLE));
	orx_model_free(m);
	remove_tree(dir);
	free(dir);
}

/* A model of about 96 MiB, so that a save takes long enough to be killed
 * in the middle. */
static orx_model *big_model(size_t *file_len)
{
	const int64_t dims[1] = {24 << 20};
	uint8_t *buf;
	orx_model *m = NULL;

	build_model(&buf, file_len, ORX_DTYPE_FLOAT, dims, 1, NULL,
		    (size_t)dims[0] * 4);
	cr_assert_eq(orx_model_open_buffer(&m, buf, *file_len, NULL), ORX_OK,
		     "%s", orx_error_last());
	free(buf);
	return m;
}

Test(save, a_killed_save_leaves_no_partial_file, .timeout = 120)
{
	size_t len;
	orx_model *m = big_model(&len);
	int complete = 0, absent = 0;

	for (int round = 0; round < 12; round++) {
		char *dir = make_temp_dir(), out[4096];
		struct stat st;
		struct timespec delay = {0, round * 20000000L};
		pid_t pid;

		snprintf(out, sizeof(out), "%s/out.onnx", dir);
		pid = fork();
		if (pid == 0)
			_exit(orx_model_save_file(m, out) == ORX_OK ? 0 : 1);
		nanosleep(&delay, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (stat(out, &st) == 0) {
			cr_expect_eq((size_t)st.st_size, len,
				     "round %d: partial file of %lld bytes",
				     round, (long long)st.st_size);
			complete++;
		} else {
			absent++;
		}
		cr_expect_leq(count_entries(dir), 1,
			      "round %d: temporary file left behind", round);
		remove_tree(dir);
		free(dir);
	}
	cr_log_info("killed saves: %d complete, %d absent", complete, absent);
	cr_expect_gt(absent, 0, "no save was ever killed mid-way");
	orx_model_free(m);
}

/* A model with one float32 tensor of rows x cols zeros, in a file. */
static char *matrix_model(const char *dir, int64_t rows, int64_t cols)
{
	int64_t dims[2] = {rows, cols};
	uint8_t *data;
	size_t len;
	char *path = malloc(4096);

	build_model(&data, &len, 1, dims, 2, NULL, (size_t)(rows * cols) * 4);
	snprintf(path, 4096, "%s/big.onnx", dir);
	cr_assert_eq(write_file(path, data, len), 0);
	free(data);
	return path;
}

/* The model at path with tensor 0 re-initialized by p, saved with the
 * given threads to out (NULL: to memory) and returned read back. */
static uint8_t *saved(size_t *len, const char *path, const orx_init_params *p,
		      int threads, const char *out)
{
	orx_save_options opts = ORX_SAVE_OPTIONS_INIT;
	orx_model *m = NULL;
	uint8_t *bytes = NULL;

	opts.threads = (unsigned)threads;
	cr_assert_eq(orx_model_open_file(&m, path, NULL), ORX_OK);
	cr_assert_eq(orx_tensor_init(m, 0, p, 99), ORX_OK);
	if (out) {
		cr_assert_eq(orx_model_save(m, out, &opts), ORX_OK, "%s",
			     orx_error_last());
		cr_assert_eq(read_file(&bytes, len, out), 0);
	} else {
		cr_assert_eq(orx_model_save_buffer(&bytes, len, m, &opts),
			     ORX_OK);
	}
	orx_model_free(m);
	return bytes;
}

/* Values are made three ways when saving: into the mapped file by a pool
 * of threads (apply), a slice at a time while packing into the file
 * (batch: one thread), in the tensor first (memory, standard output).
 * A 1024 x 600 tensor spans 10 RNG blocks and 3 slices of 4 blocks. */
Test(save, every_way_of_making_values_gives_the_same_bytes)
{
	orx_init_params normal = {.dist = ORX_DIST_NORMAL, .std = 0.05},
			orthogonal = {.dist = ORX_DIST_ORTHOGONAL, .gain = 1};
	const orx_init_params *params[2] = {&normal, &orthogonal};
	char *dir = make_temp_dir(), out[4096], *path;

	snprintf(out, sizeof(out), "%s/out.onnx", dir);
	for (int k = 0; k < 2; k++) {
		size_t n_mem, n_pool, n_slices;
		path = matrix_model(dir, k == 0 ? 1024 : 300,
				    k == 0 ? 600 : 200);
		uint8_t *mem = saved(&n_mem, path, params[k], 0, NULL),
			*pool = saved(&n_pool, path, params[k], 0, out),
			*slices = saved(&n_slices, path, params[k], 1, out);
		cr_assert_eq(n_pool, n_mem);
		cr_assert_eq(n_slices, n_mem);
		cr_expect_eq(memcmp(pool, mem, n_mem), 0, "case %d: pool", k);
		cr_expect_eq(memcmp(slices, mem, n_mem), 0, "case %d: slices",
			     k);
		/* and the values are new: not the zeros of the input */
		cr_expect_neq(memcmp(mem + n_mem - 64, (uint8_t[64]){0}, 64),
			      0);
		free(mem);
		free(pool);
		free(slices);
		free(path);
	}
	remove_tree(dir);
	free(dir);
}

/* Options structs carry their version: the library reads the fields that
 * version has, and refuses one it does not know. */
Test(options, an_unknown_version_is_refused_and_init_gives_the_defaults)
{
	orx_open_options open = ORX_OPEN_OPTIONS_INIT, open_init;
	orx_save_options save = ORX_SAVE_OPTIONS_INIT, save_init;
	orx_check_options check = ORX_CHECK_OPTIONS_INIT, check_init;
	orx_model *m = NULL;
	orx_check *c = NULL;
	orx_plan *plan = NULL;
	orx_rules *rules = NULL;
	uint8_t *bytes = NULL;
	size_t len = 0;

	cr_assert_eq(orx_open_options_init(&open_init, 1), ORX_OK);
	cr_assert_eq(memcmp(&open, &open_init, sizeof(open)), 0);
	cr_assert_eq(orx_save_options_init(&save_init, 1), ORX_OK);
	cr_assert_eq(save_init.threshold, 1024);
	cr_assert_eq(save_init.threads, 0);
	cr_assert_eq(orx_check_options_init(&check_init, 1), ORX_OK);
	cr_assert_float_eq(check_init.vanishing, 0.55, 1e-15);
	cr_assert_eq(orx_check_options_init(&check_init, 2), ORX_EINVALID);
	cr_expect_str_eq(orx_error_last(),
			 "orx_check_options version 2 is not one this library "
			 "knows (1 to 1)");

	open.version = 99;
	cr_expect_eq(orx_model_open_file(&m, SAMPLE, &open), ORX_EINVALID);
	cr_expect_str_eq(orx_error_last(),
			 "orx_open_options version 99 is not one this library "
			 "knows (1 to 1)");
	cr_assert_eq(orx_model_open_file(&m, SAMPLE, NULL), ORX_OK);
	save.version = 0;
	cr_expect_eq(orx_model_save_buffer(&bytes, &len, m, &save),
		     ORX_EINVALID);
	cr_expect_null(bytes);
	save = save_init;
	save.mode = ORX_DATA_EMBED;
	cr_expect_eq(orx_model_save_buffer(&bytes, &len, m, &save),
		     ORX_EUNSUPPORTED);
	cr_assert_eq(orx_rules_new(&rules), ORX_OK);
	cr_assert_eq(orx_rules_add_defaults(rules), ORX_OK);
	cr_assert_eq(orx_plan_build(&plan, m, rules), ORX_OK);
	check.version = 7;
	cr_expect_eq(orx_check_run(&c, m, plan, &check), ORX_EINVALID);
	cr_expect_null(c);
	orx_plan_free(plan);
	orx_rules_free(rules);
	orx_model_free(m);
}
