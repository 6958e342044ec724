/* onnx-reinit: the command line. */
#define _GNU_SOURCE
#include "cli.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cli_command *const commands[] = {
	&cli_info,  &cli_plan, &cli_apply, &cli_check,
	&cli_batch, &cli_plot, &cli_report};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *const PROGRAM = "onnx-reinit";

int cli_error(const char *file, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROGRAM);
	if (file)
		fprintf(stderr, "%s: ", strcmp(file, "-") ? file : "<stdin>");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROGRAM);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try '%s %s%s--help')\n", PROGRAM,
		command ? command : "", command ? " " : "");
	return EXIT_USAGE;
}

const char *cli_bytes(char *buf, size_t size, unsigned long long n)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", n);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
	return buf;
}

static void print_help(FILE *to)
{
	fprintf(to,
		"usage: %s COMMAND [OPTIONS]\n\n"
		"Re-initialize the weights of ONNX models.\n\ncommands:\n",
		PROGRAM);
	for (size_t i = 0; i < N_COMMANDS; i++)
		cli_print_synopsis(to, commands[i], "  ");
	fprintf(to,
		"  %s --help | --version\n\n"
		"'%s COMMAND --help' tells more about one command.\n"
		"Exit status: 0 done, 1 findings or failed inputs, 2 usage "
		"error or invalid input.\n",
		PROGRAM, PROGRAM);
}

static void on_signal(int sig)
{
	orx_abort_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

_Thread_local void *cli_bus_jump;

/* Files are mapped (the input for reading, the output for writing): if
 * one shrinks while in use, the kernel raises SIGBUS in the thread that
 * touched it. In a batch worker, back to its model (failed); else one
 * line, the output in progress discarded, exit 2 (bad input), instead of
 * a crash. */
static void on_bus_error(int sig)
{
	if (cli_bus_jump)
		siglongjmp(*(sigjmp_buf *)cli_bus_jump, 1);
	static const char msg[] =
		"onnx-reinit: a file in use was truncated or could not be read "
		"or written (SIGBUS); the output in progress was discarded\n";
	ssize_t ignored;

	(void)sig;
	orx_abort_cleanup();
	ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)ignored;
	_exit(EXIT_USAGE);
}

static const cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

/* True when argv asks for the command's help; prints it. */
static bool command_help(const cli_command *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			cli_print_command_help(stdout, cmd);
			return true;
		}
	}
	return false;
}

int main(int argc, char **argv)
{
	const cli_command *cmd;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGBUS, on_bus_error);
	if (argc < 2)
		return cli_usage_error(NULL, "no command given");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_help(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("%s %s\n", PROGRAM, ORX_VERSION);
		return EXIT_OK;
	}
	if (!(cmd = find_command(argv[1])))
		return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
	if (command_help(cmd, argc - 1, argv + 1))
		return EXIT_OK;
	return cmd->run(argc - 1, argv + 1);
}
