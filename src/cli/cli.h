/* The command line: one cmd_*.c per command, each with its options as a
 * table of rows that parse them and print its help (help.c); main.c
 * lists the commands. */
#ifndef ORX_CLI_H
#define ORX_CLI_H

#include "onnx_reinit.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_FINDINGS = 1, EXIT_USAGE = 2 };

/* The sigjmp_buf where a SIGBUS raised in this thread (a mapped model
 * file truncated while in use) jumps: batch fails the model in progress
 * and goes on. NULL: the run ends with one line (main.c). */
extern _Thread_local void *cli_bus_jump;

/* A command's options: a table of rows, ended by a row with no name; a
 * new option is one row. Each row's value goes to offset in the
 * command's arguments, as its kind says. */
#define CLI_MAX_RULES 64
typedef struct {
	const char *files[CLI_MAX_RULES];
	size_t n;
	const char *profile; /* --profile, NULL: seed */
} cli_rules_list;

typedef enum {
	OPT_FLAG,     /* bool, set */
	OPT_STRING,   /* const char *, the value */
	OPT_RULES,    /* cli_rules_list, the value appended */
	OPT_PROFILE,  /* cli_rules_list, the value its profile */
	OPT_SEVERITY, /* orx_severity, a --fail-on level */
	OPT_SEED,     /* unsigned long long, a --seed */
	OPT_RATIO,    /* double, a positive number */
	OPT_BYTES,    /* uint64_t, a number of bytes */
	OPT_CALL      /* call(args, value or NULL, command) */
} cli_option_kind;

/* How an option shows in the synopsis. */
enum {
	OPT_OPTIONAL = 0, /* [--name ARG] */
	OPT_REQUIRED = 1, /* --name ARG */
	OPT_REPEATS = 2	  /* [--name ARG]... */
};

typedef struct {
	const char *name; /* --name */
	char letter;	  /* -letter as well; 0: none */
	cli_option_kind kind;
	size_t offset;
	/* OPT_CALL: -1, or the exit status after the usage error */
	int (*call)(void *args, const char *value, const char *cmd);
	const char *arg;      /* its value in help (FILE, N); NULL: a flag */
	const char *fallback; /* the default help shows, [0]; NULL: none */
	const char *help;     /* one line (help.c wraps it) */
	unsigned shows;	      /* OPT_OPTIONAL, OPT_REQUIRED, OPT_REPEATS */
} cli_option;

/* A command: its name, what runs it, its operands and options, and the
 * text its --help prints around the options (paragraphs: lines ending
 * in '\n'). The man page and the README list the same options (a test
 * compares them with --help). */
typedef struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *operands;	   /* "MODEL", "INPUT..." */
	const char *about;	   /* what it does */
	const cli_option *options; /* ended by a row with no name */
	const void *defaults;	   /* the arguments before parsing: help shows
				      the defaults of the options' values */
	const char *notes;	   /* after the options, or NULL */
} cli_command;

/* The commands (main.c's list). */
extern const cli_command cli_info, cli_plan, cli_apply, cli_check, cli_batch,
	cli_plot, cli_report;

/* COMMAND's synopsis, wrapped (usage lines), to f. */
void cli_print_synopsis(FILE *f, const cli_command *cmd, const char *first);

/* COMMAND --help: the synopsis, what it does, each option with its
 * value, one line of help and its default, the notes. */
void cli_print_command_help(FILE *f, const cli_command *cmd);

/* Parse argv's options with table into args (its defaults already set).
 * -1 with optind at the first operand, or the exit status after the one
 * usage line ("CMD: unknown option '--x'", "CMD: --x needs a value"). */
int cli_parse_options(const cli_option *table, void *args, const char *cmd,
		      int argc, char **argv);

/* "onnx-reinit: FILE: message" on stderr; returns EXIT_USAGE. */
int cli_error(const char *file, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A usage error: the message and a one-line hint; returns EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Human-readable byte count ("1.5 MiB") into buf. */
const char *cli_bytes(char *buf, size_t size, unsigned long long n);

/* A user's rules files (in order), then the defaults. Returns -1 with
 * *out set, or the exit status after printing the error. */
/* How many of check's findings are of severity at or above at (error
 * above warning above note): what makes exit status 1. */
size_t cli_failing(const orx_check *check, orx_severity at);

/* Report formats beyond ORX_FORMAT_*: the command's table and JSON. */
enum { FORMAT_TEXT = 100, FORMAT_JSON = 101, FORMAT_HTML = 102 };

/* --format's value (NULL: text, or JSON with --json) as an
 * orx_report_format or FORMAT_TEXT or FORMAT_JSON; -1 after a usage
 * error. */
int cli_format(const bool *json, const char *name, const char *command);

/* check's findings of one model as a report of format, written to to. */
int cli_check_report(FILE *to, const orx_check *check, const char *model,
		     orx_report_format format, orx_severity fail_on);

/* --shard auto or auto/N: shard *k of *n from the scheduler's variables
 * (GitLab, CircleCI, Buildkite, a Slurm array; a Kubernetes Indexed Job
 * with /N); -1, or the exit status after a one-line error. */
int cli_shard_auto(unsigned *k, unsigned *n, const char *value,
		   const char *cmd);

/* n findings as a JSON array (batch --report's "problems": name,
 * problem, severity, std, expected_std, ratio, via), and back: *out
 * (malloc'd, names in the JSON value's strings) from such an array;
 * -1 when one is not a finding. */
json_t *cli_findings_json(const orx_finding *f, size_t n);
int cli_findings_from_json(orx_finding **out, size_t *n, json_t *array);

int cli_load_rules(orx_rules **out, const cli_rules_list *list);

/* The one operand after the options (optind), the model; NULL after
 * the usage error "CMD takes one MODEL". */
const char *cli_one_model(const char *cmd, int argc, char **argv);

/* Rules (the files, then the defaults), the model, its plan: the first
 * steps of plan, apply and check. -1, or the exit status after the
 * error line. */
int cli_prepare(orx_rules **rules, orx_model **m, orx_plan **plan,
		const char *model, const cli_rules_list *files);

/* A --seed value: a decimal number that fits 64 bits; 0, or -1. */
int cli_parse_seed(unsigned long long *out, const char *s);

/* Build a text in memory with write, then save it to path whole
 * ("-": standard output). Returns EXIT_OK or the exit status after the
 * error line. */
int cli_write_text(const char *path, void (*write)(FILE *f, const void *ctx),
		   const void *ctx);

/* After a report was written to stdout (orx_plan_json_to and the like,
 * returning rc): EXIT_OK once it is flushed, or the exit status after the
 * error line (naming model). */
int cli_report_written(int rc, const char *model);

/* The plan as a table. */
void cli_plan_print(FILE *to, const orx_plan *plan);

/* The plan's leftovers (float tensors that no rule rewrites or keeps):
 * how many tensors and values, and the first few names, comma-separated,
 * with "and N more", into names. */
size_t cli_leftovers(const orx_model *m, const orx_plan *plan,
		     unsigned long long *values, char *names, size_t size);

/* Seconds on a monotonic clock. */
double cli_now(void);

/* A progress line for the long steps (saving, checking) of one model,
 * named label, on standard error when it is a terminal, after a second
 * (ONNX_REINIT_PROGRESS_AFTER seconds if set); NULL: no line. Stopped and
 * wiped with cli_progress_stop (which accepts NULL). */
typedef struct cli_progress cli_progress;
cli_progress *cli_progress_start(const orx_model *m, const char *label);
void cli_progress_stop(cli_progress *p);

#endif
