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

static const cli_command commands[] = {
	{"info", cmd_info, "info MODEL [--json]",
	 "Summarize a model: IR version, opsets, producer, nodes by op type,\n"
	 "initializers with dtype, shape, bytes and storage, total\n"
	 "parameters. MODEL '-' reads standard input.\n"
	 "  --json   print JSON instead of a table"},
	{"plan", cmd_plan, "plan MODEL [--rules FILE]... [--json]",
	 "Say, changing nothing, what apply would rewrite: for every tensor\n"
	 "the node, the activation found downstream and the path to it, the\n"
	 "scheme, fan_in, fan_out, gain, std and the rule (file:line) that\n"
	 "decided; and every tensor left alone, with the reason.\n"
	 "  --rules FILE   rules to try before the defaults (repeatable)\n"
	 "  --json         print JSON instead of a table"},
	{"apply", cmd_apply,
	 "apply MODEL -o OUT [--seed N] [--rules FILE]... [--json] "
	 "[--only-flagged] [--strict]\n"
	 "                  [--embed | --external FILE "
	 "[--external-threshold BYTES]]",
	 "Re-initialize what the plan says and write OUT ('-': standard\n"
	 "output); every other byte of the model is kept. The input is never\n"
	 "changed unless OUT is its path, and then atomically.\n"
	 "  -o, --output OUT  where to write the model\n"
	 "  --seed N          random seed [0]\n"
	 "  --rules FILE      rules to try before the defaults (repeatable)\n"
	 "  --json            print the plan as JSON on standard output\n"
	 "  --only-flagged    rewrite only the weights check flags (and their\n"
	 "                    biases); takes check's threshold options\n"
	 "  --strict          refuse (exit 2, nothing written) when a float\n"
	 "                    tensor would keep trained values that no keep\n"
	 "                    rule names; without it, a warning on stderr\n"
	 "  --embed           put every tensor inline (refused past 2 GiB)\n"
	 "  --external FILE   move tensors above the threshold to FILE, "
	 "beside\n"
	 "                    OUT, each at a 4 KiB-aligned offset\n"
	 "  --external-threshold BYTES  [1024]\n"
	 "Tensors in external data files go to files of the same names beside\n"
	 "OUT (never over the input's), each at a 4 KiB-aligned offset."},
	{"check", cmd_check,
	 "check MODEL [--json] [--rules FILE]... [--vanishing R] "
	 "[--exploding R] [--signal R]",
	 "Find badly initialized weights: all zeros, one constant, NaN or\n"
	 "infinity, a std far below or above every scheme accepted for the\n"
	 "layer's fans, and chains of layers along which the signal vanishes\n"
	 "or explodes. Exit status 1 when it finds any.\n"
	 "  --vanishing R  std below R x the envelope's lowest is vanishing\n"
	 "                 (an exact test, false alarms 1e-6) [0.55]\n"
	 "  --exploding R  std above R x the envelope's highest [2]\n"
	 "  --signal R     a chain scaling the signal below R or above 1/R\n"
	 "                 is a finding [1e-4]\n"
	 "  --rules FILE   rules that choose the expected scheme (repeatable)\n"
	 "  --json         print JSON instead of a table"},
	{"batch", cmd_batch,
	 "batch INPUT... -o OUTDIR|OUT.zip [--check] [-j N] [--shard K/N] "
	 "[--resume]\n                  [--report FILE] [--seed N] "
	 "[--rules FILE]... [--strict]",
	 "Re-initialize (or --check) many models: files, folders (every\n"
	 "*.onnx below them) and .zip archives, into a folder or one .zip,\n"
	 "keeping each model's relative path. One failing model never stops\n"
	 "the others; exit status 1 when any failed (or, with --check, has\n"
	 "findings).\n"
	 "  -o, --output OUT  a folder, or a path ending in .zip\n"
	 "  --check           check each model instead; -o is not needed\n"
	 "  -j, --jobs N      worker threads [number of cores]\n"
	 "  --shard K/N       process only the K-th of N shards, chosen from\n"
	 "                    each model's relative path\n"
	 "  --resume          skip models whose output exists and is complete\n"
	 "  --report FILE     one JSON line per input ('-': standard output)\n"
	 "  --seed N          random seed [0]\n"
	 "  --rules FILE      rules before the defaults (repeatable)\n"
	 "  --strict          a model that would keep trained values no keep\n"
	 "                    rule names fails (as apply --strict)"},
	{"plot", cmd_plot,
	 "plot  MODEL [--after OUT] [--layers GLOB] [--rules FILE]...\n"
	 "                  [--signal | --schemes] -o FILE.svg",
	 "Draw the weights as an SVG. By default one panel per weighted\n"
	 "layer, in the order the layers run: the histogram of its weights\n"
	 "(and, with --after, of OUT's) against the density its scheme\n"
	 "predicts.\n"
	 "  -o, --output FILE  the SVG to write\n"
	 "  --after OUT        the same model re-initialized, overlaid\n"
	 "  --layers GLOB      only the layers whose weight names match\n"
	 "                     (--signal: the chains with such a layer)\n"
	 "  --rules FILE       rules that choose the schemes (repeatable)\n"
	 "  --signal           per chain of layers (as check finds them), the\n"
	 "                     predicted scale of the signal (forward) and of\n"
	 "                     the gradients (backward) against depth, on a\n"
	 "                     log axis, check's thresholds as bands\n"
	 "  --schemes          for the one layer --layers names: N(0, "
	 "0.01^2),\n"
	 "                     N(0, 10^2), Xavier and He for its fans, and "
	 "its\n"
	 "                     own values, and what each does to the signal\n"
	 "                     through ten such layers"},
};

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
		fprintf(to, "  %s %s\n", PROGRAM, commands[i].usage);
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
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
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
			printf("usage: %s %s\n\n%s\n", PROGRAM, cmd->usage,
			       cmd->help);
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
