/* Bad input: one line on stderr, exit 2, nothing written, no crash. */
#define _GNU_SOURCE
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MALFORMED_DIR ORX_SOURCE_DIR "/tests/malformed"

static char *expected_error(const char *model_path)
{
	char err_path[4096];
	uint8_t *text;
	size_t len;

	snprintf(err_path, sizeof(err_path), "%.*s.err",
		 (int)(strlen(model_path) - strlen(".onnx")), model_path);
	cr_assert_eq(read_file(&text, &len, err_path), 0, "no %s", err_path);
	text = realloc(text, len + 1);
	text[len] = '\0';
	return (char *)text;
}

/* Every command that opens a model: each must refuse it the same way. */
static int command_fails_with(const char *cmd, const char *path,
			      const char *msg)
{
	char out[] = "/tmp/orx-malformed-XXXXXX", want[8192];
	const char *args[] = {cmd, path, "-o", out, NULL};
	cli_result r;
	int bad, fd = mkstemp(out);

	cr_assert_geq(fd, 0);
	close(fd);
	unlink(out);
	if (strcmp(cmd, "apply") != 0)
		args[2] = NULL;
	r = run_cli(NULL, args);
	snprintf(want, sizeof(want), "onnx-reinit: %s: %s", path, msg);
	bad = r.status != 2 || r.out_len != 0 || strcmp(r.err, want) != 0 ||
	      access(out, F_OK) == 0;
	if (bad)
		cr_log_error("%s %s: status %d, stderr '%s', wanted '%s'%s",
			     cmd, path, r.status, r.err, want,
			     access(out, F_OK) == 0 ? ", and wrote output"
						    : "");
	unlink(out);
	cli_result_free(&r);
	return bad;
}

static int fails_with_its_error(const char *path, void *ctx)
{
	static const char *const cmds[] = {"info", "plan", "apply", "check"};
	char *msg = expected_error(path);
	orx_model *m = NULL;
	int lib_rc = orx_model_open_file(&m, path, NULL);
	int bad = lib_rc != ORX_EINVALID || m != NULL;

	(void)ctx;
	if (bad)
		cr_log_error("%s: library %d", path, lib_rc);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++)
		bad |= command_fails_with(cmds[i], path, msg);
	free(msg);
	orx_model_free(m);
	return bad;
}

Test(malformed, every_corpus_file_fails_with_its_exact_one_line_error,
     .timeout = 120)
{
	size_t total = 0;
	size_t failed = for_each_model(MALFORMED_DIR, fails_with_its_error,
				       NULL, &total);

	cr_expect_geq(total, 19, "only %zu malformed files", total);
	cr_expect_eq(failed, 0, "%zu of %zu malformed files", failed, total);
}

Test(malformed, nesting_bomb_is_refused_before_unpacking)
{
	orx_model *m = NULL;

	cr_assert_eq(orx_model_open_file(&m, MALFORMED_DIR "/nesting_bomb.onnx",
					 NULL),
		     ORX_EINVALID);
	cr_assert_str_eq(orx_error_last(),
			 "messages nested deeper than 64 levels");
}

Test(malformed, depth_limit_is_an_option)
{
	orx_open_options opts = ORX_OPEN_OPTIONS_INIT;
	orx_model *m = NULL;

	opts.max_depth = 2; /* model > graph: the samples need 4 or more */
	cr_assert_eq(
		orx_model_open_file(&m, ORX_SOURCE_DIR "/samples/mlp_tanh.onnx",
				    &opts),
		ORX_EINVALID);
	cr_assert_str_eq(orx_error_last(),
			 "messages nested deeper than 2 levels");
	opts.max_depth = ORX_MAX_DEPTH_DEFAULT;
	cr_assert_eq(
		orx_model_open_file(&m, ORX_SOURCE_DIR "/samples/mlp_tanh.onnx",
				    &opts),
		ORX_OK);
	orx_model_free(m);
}

static void expect_clean_result(const uint8_t *buf, size_t len,
				const char *what, size_t i)
{
	orx_model *m = NULL;
	int rc = orx_model_open_buffer(&m, buf, len, NULL);

	cr_expect(rc == ORX_OK || rc == ORX_EINVALID,
		  "%s %zu: unexpected code %d", what, i, rc);
	cr_expect(rc != ORX_EINVALID || orx_error_last()[0] != '\0',
		  "%s %zu: failure without a message", what, i);
	orx_model_free(m);
}

Test(malformed, random_bytes_flips_and_truncations_never_crash, .timeout = 120)
{
	uint8_t *good, *buf;
	size_t len;
	uint64_t s = 42;

	cr_assert_eq(read_file(&good, &len,
			       ORX_SOURCE_DIR
			       "/samples/transformer_encoder.onnx"),
		     0);
	buf = malloc(len);
	for (size_t i = 0; i < 500; i++) { /* random buffers */
		size_t n = test_random(&s) % 8192;
		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)test_random(&s);
		expect_clean_result(buf, n, "random buffer", i);
	}
	for (size_t i = 0; i < 1000; i++) { /* a few flipped bytes */
		memcpy(buf, good, len);
		flip_bytes(buf, len, 4, &s);
		expect_clean_result(buf, len, "flipped copy", i);
	}
	for (size_t cut = 0; cut < len; cut += 61) /* truncations */
		expect_clean_result(good, cut, "truncation at", cut);
	free(buf);
	free(good);
}

Test(malformed, missing_file_is_a_one_line_error)
{
	const char *args[] = {"info", "/nonexistent/model.onnx", NULL};
	expect_cli_error(NULL, args,
			 "onnx-reinit: /nonexistent/model.onnx: cannot "
			 "open: No such file or directory\n");
}

Test(malformed, folder_is_not_a_model)
{
	const char *args[] = {"info", ORX_SOURCE_DIR "/samples", NULL};
	expect_cli_error(NULL, args,
			 "onnx-reinit: " ORX_SOURCE_DIR
			 "/samples: is a directory, not a model file\n");
}

Test(malformed, bad_model_on_stdin_names_stdin)
{
	const char *args[] = {"info", "-", NULL};
	expect_cli_error(MALFORMED_DIR "/truncated.onnx", args,
			 "onnx-reinit: <stdin>: malformed protobuf: "
			 "field runs past the end of its message "
			 "(truncated file?)\n");
}

/* mlp_tanh.onnx: one graph of 5 nodes; 24 names (1 input, 1 output, 6
 * initializers, 16 node inputs and outputs). */
static int open_sample_with(size_t nodes, size_t graphs, size_t names)
{
	orx_open_options opts = ORX_OPEN_OPTIONS_INIT;
	orx_model *m = NULL;
	int rc;

	opts.max_nodes = nodes;
	opts.max_graphs = graphs;
	opts.max_names = names;
	rc = orx_model_open_file(&m, ORX_SOURCE_DIR "/samples/mlp_tanh.onnx",
				 &opts);
	cr_assert_eq(rc == ORX_OK, m != NULL);
	orx_model_free(m);
	return rc;
}

Test(malformed, graph_size_limits_are_exact_and_refuse_past_them)
{
	cr_assert_eq(open_sample_with(5, 1, 24), ORX_OK);
	cr_assert_eq(open_sample_with(4, 1, 24), ORX_EINVALID);
	cr_assert_str_eq(orx_error_last(),
			 "more than 4 nodes: the model is too large");
	cr_assert_eq(open_sample_with(5, 0, 24), ORX_EINVALID);
	cr_assert_str_eq(orx_error_last(), "more than 0 graphs (the main graph "
					   "and bodies): the model is too "
					   "large");
	cr_assert_eq(open_sample_with(5, 1, 23), ORX_EINVALID);
	cr_assert_str_eq(orx_error_last(),
			 "more than 23 value names: the model is too large");
}
