/* Help built from the commands' option tables: the synopsis, and each
 * option with its value, one line of help and its default. */
#include "cli.h"

#include <stdint.h>
#include <string.h>

#define WIDTH 79
#define INDENT 18 /* continuation lines of a synopsis */
#define HELP_COLUMN 24

/* Option o as the synopsis shows it: -o OUT, [--seed N], [--rules FILE]... */
static void synopsis_item(char *buf, size_t size, const cli_option *o)
{
	char flag[64];
	bool required = o->shows & OPT_REQUIRED;

	if (o->letter)
		snprintf(flag, sizeof(flag), "-%c", o->letter);
	else
		snprintf(flag, sizeof(flag), "--%s", o->name);
	snprintf(buf, size, "%s%s%s%s%s%s", required ? "" : "[", flag,
		 o->arg ? " " : "", o->arg ? o->arg : "", required ? "" : "]",
		 o->shows & OPT_REPEATS ? "..." : "");
}

/* Append word to the line being printed, wrapping at WIDTH. */
static void put_word(FILE *f, size_t *col, const char *word)
{
	size_t n = strlen(word);

	if (*col + 1 + n > WIDTH && *col > INDENT) {
		fprintf(f, "\n%*s", INDENT, "");
		*col = INDENT;
	} else {
		fputc(' ', f);
		(*col)++;
	}
	fputs(word, f);
	*col += n;
}

void cli_print_synopsis(FILE *f, const cli_command *cmd, const char *first)
{
	char item[128];
	size_t col;

	fprintf(f, "%sonnx-reinit %s", first, cmd->name);
	col = strlen(first) + strlen("onnx-reinit ") + strlen(cmd->name);
	put_word(f, &col, cmd->operands);
	for (const cli_option *o = cmd->options; o->name; o++) {
		synopsis_item(item, sizeof(item), o);
		put_word(f, &col, item);
	}
	fputc('\n', f);
}

/* text, each line indented by indent after the first (which starts at
 * column col), wrapped at WIDTH. */
static void wrapped(FILE *f, const char *text, size_t col, size_t indent)
{
	const char *p = text;

	while (*p) {
		size_t n = strcspn(p, " ");
		if (col > indent && col + 1 + n > WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (p != text) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, n, f);
		col += n;
		p += n;
		p += strspn(p, " ");
	}
}

/* Option o's default, from the arguments before parsing, into buf; ""
 * when help shows none. */
static const char *default_of(char *buf, size_t size, const cli_option *o,
			      const void *defaults)
{
	const char *at = (const char *)defaults + o->offset;

	buf[0] = '\0';
	if (o->fallback)
		snprintf(buf, size, "%s", o->fallback);
	else if (defaults && o->kind == OPT_SEED)
		snprintf(buf, size, "%llu",
			 *(const unsigned long long *)(const void *)at);
	else if (defaults && o->kind == OPT_RATIO)
		snprintf(buf, size, "%g", *(const double *)(const void *)at);
	else if (defaults && o->kind == OPT_BYTES)
		snprintf(buf, size, "%llu",
			 (unsigned long long)*(
				 const uint64_t *)(const void *)at);
	return buf;
}

static void print_option(FILE *f, const cli_option *o, const void *defaults)
{
	char left[96], help[512], fallback[64];
	int n;

	if (o->letter)
		n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", o->letter,
			     o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	else
		n = snprintf(left, sizeof(left), "  --%s%s%s", o->name,
			     o->arg ? " " : "", o->arg ? o->arg : "");
	default_of(fallback, sizeof(fallback), o, defaults);
	snprintf(help, sizeof(help), "%s%s%s%s", o->help,
		 fallback[0] ? " [" : "", fallback, fallback[0] ? "]" : "");
	fputs(left, f);
	if (n + 2 > HELP_COLUMN) {
		fprintf(f, "\n%*s", HELP_COLUMN, "");
	} else {
		fprintf(f, "%*s", HELP_COLUMN - n, "");
	}
	wrapped(f, help, HELP_COLUMN, HELP_COLUMN);
	fputc('\n', f);
}

void cli_print_command_help(FILE *f, const cli_command *cmd)
{
	cli_print_synopsis(f, cmd, "usage: ");
	fprintf(f, "\n%s", cmd->about);
	if (cmd->options[0].name)
		fputs("\noptions:\n", f);
	for (const cli_option *o = cmd->options; o->name; o++)
		print_option(f, o, cmd->defaults);
	if (cmd->notes)
		fprintf(f, "\n%s", cmd->notes);
}
