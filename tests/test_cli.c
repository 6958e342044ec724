/* The command line's contract: help, version, usage errors. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <string.h>

Test(cli, help_goes_to_stdout_with_status_0)
{
	const char *args[] = {"--help", NULL};
	cli_result r = run_cli(NULL, args);

	cr_expect_eq(r.status, 0);
	cr_expect(strstr(r.out, "onnx-reinit info MODEL [--json]") != NULL);
	cr_expect_str_eq(r.err, "");
	cli_result_free(&r);
}

Test(cli, version_prints_name_and_version)
{
	const char *args[] = {"--version", NULL};
	cli_result r = run_cli(NULL, args);

	cr_expect_eq(r.status, 0);
	cr_expect_str_eq(r.out, "onnx-reinit " ORX_VERSION "\n");
	cli_result_free(&r);
}

Test(cli, no_command_is_a_usage_error_with_a_hint)
{
	const char *args[] = {NULL};
	expect_cli_error(NULL, args,
			 "onnx-reinit: no command given (try "
			 "'onnx-reinit --help')\n");
}

Test(cli, unknown_command_is_a_usage_error)
{
	const char *args[] = {"frobnicate", NULL};
	expect_cli_error(NULL, args,
			 "onnx-reinit: unknown command 'frobnicate' "
			 "(try 'onnx-reinit --help')\n");
}

Test(cli, info_with_two_models_is_a_usage_error)
{
	const char *args[] = {"info", "a.onnx", "b.onnx", NULL};
	expect_cli_error(NULL, args,
			 "onnx-reinit: info takes one MODEL (try "
			 "'onnx-reinit info --help')\n");
}

Test(cli, info_unknown_option_is_a_usage_error)
{
	const char *args[] = {"info", "--jsno", "a.onnx", NULL};
	expect_cli_error(NULL, args,
			 "onnx-reinit: info: unknown option '--jsno' "
			 "(try 'onnx-reinit info --help')\n");
}

Test(cli, command_help_shows_its_usage)
{
	const char *args[] = {"info", "--help", NULL};
	cli_result r = run_cli(NULL, args);

	cr_expect_eq(r.status, 0);
	cr_expect(strncmp(r.out, "usage: onnx-reinit info MODEL [--json]\n",
			  39) == 0,
		  "got '%s'", r.out);
	cli_result_free(&r);
}

/* An unknown --profile: one line on stderr, exit 2, nothing out. */
Test(cli, an_unknown_profile_is_one_line_and_exit_2)
{
	const char *args[] = {"plan", ORX_SOURCE_DIR "/samples/mlp_tanh.onnx",
			      "--profile", "nope", NULL};
	cli_result r = run_cli(NULL, args);

	cr_expect_eq(r.status, 2);
	cr_expect_str_empty(r.out);
	cr_expect(strstr(r.err, "unknown profile 'nope' (seed, pytorch, keras, "
				"transformers)") != NULL,
		  "%s", r.err);
	cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "%s",
		     r.err);
	cli_result_free(&r);
}

/* Help is built from the option table: each option with its value, its
 * help and the default its command starts from. */
Test(cli, command_help_lists_each_option_with_its_default)
{
	const char *args[] = {"apply", "--help", NULL};
	cli_result r = run_cli(NULL, args);

	cr_expect_eq(r.status, 0);
	cr_expect(strstr(r.out, "usage: onnx-reinit apply MODEL -o OUT "
				"[--seed N] [--rules FILE]...\n") != NULL,
		  "%s", r.out);
	cr_expect(strstr(r.out, "\n  --seed N              random seed [0]\n"),
		  "%s", r.out);
	cr_expect(strstr(r.out, "--only-flagged: check's --vanishing [0.55]\n"),
		  "%s", r.out);
	cr_expect(strstr(r.out,
			 "\n  --external-threshold BYTES\n"
			 "                        --external's threshold "
			 "[1024]\n"),
		  "%s", r.out);
	cli_result_free(&r);
}

Test(cli, info_reads_standard_input)
{
	const char *args[] = {"info", "--json", "-", NULL};
	cli_result r = run_cli(ORX_SOURCE_DIR "/samples/mlp_tanh.onnx", args);

	cr_expect_eq(r.status, 0, "stderr: %s", r.err);
	/* 32*64+64 + 64*64+64 + 64*10+10 */
	cr_expect(strstr(r.out, "\"parameters\": 6922") != NULL, "%s", r.out);
	cli_result_free(&r);
}

/* A model read from standard input has no folder: info, plan and check
 * of one whose tensors name external data each say so in one line, exit
 * 2, before anything is sized from the tensors' dims. */
Test(cli, external_data_from_standard_input_is_one_error)
{
	static const char *const commands[] = {"info", "plan", "check"};

	for (size_t i = 0; i < 3; i++) {
		const char *args[] = {commands[i], "-", NULL};
		expect_cli_error(ORX_SOURCE_DIR
				 "/samples/external/cnn_bn_relu.onnx",
				 args,
				 "onnx-reinit: <stdin>: tensor "
				 "'features.0.weight': external data needs the "
				 "model's folder (open it from a file)\n");
	}
}
