/* The commands' options, each command a table of them (cli.h). */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTIONS 32

static int parse_ratio(double *out, const char *s)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return *s && !*end && !errno && *out > 0 ? 0 : -1;
}

static int parse_bytes(uint64_t *out, const char *s)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return *s && !*end && !errno && s[0] != '-' ? 0 : -1;
}

static bool takes_value(const cli_option *o)
{
	return o->arg != NULL;
}

/* Row o's value into args; -1, or the exit status after the error. */
static int take(const cli_option *o, void *args, const char *value,
		const char *cmd)
{
	char *at = (char *)args + o->offset;
	cli_rules_list *rules = (cli_rules_list *)(void *)at;

	switch (o->kind) {
	case OPT_FLAG: *(bool *)(void *)at = true; return -1;
	case OPT_STRING: *(const char **)(void *)at = value; return -1;
	case OPT_RULES:
		if (rules->n == CLI_MAX_RULES)
			return cli_usage_error(cmd,
					       "%s: at most %d --rules files",
					       cmd, CLI_MAX_RULES);
		rules->files[rules->n++] = value;
		return -1;
	case OPT_PROFILE: rules->profile = value; return -1;
	case OPT_SEVERITY:
		if (orx_severity_parse((orx_severity *)(void *)at, value))
			return cli_usage_error(cmd,
					       "%s: --%s takes error, warning "
					       "or note, not '%s'",
					       cmd, o->name, value);
		return -1;
	case OPT_SEED:
		if (cli_parse_seed((unsigned long long *)(void *)at, value))
			return cli_usage_error(cmd,
					       "%s: --seed takes a number, "
					       "not '%s'",
					       cmd, value);
		return -1;
	case OPT_RATIO:
		if (parse_ratio((double *)(void *)at, value))
			return cli_usage_error(cmd,
					       "%s: --%s takes a positive "
					       "number, not '%s'",
					       cmd, o->name, value);
		return -1;
	case OPT_BYTES:
		if (parse_bytes((uint64_t *)(void *)at, value))
			return cli_usage_error(cmd,
					       "%s: --%s takes a number of "
					       "bytes, not '%s'",
					       cmd, o->name, value);
		return -1;
	case OPT_CALL: return o->call(args, value, cmd);
	}
	return -1;
}

int cli_parse_options(const cli_option *table, void *args, const char *cmd,
		      int argc, char **argv)
{
	struct option longopts[MAX_OPTIONS + 1];
	char shorts[2 * MAX_OPTIONS + 2] = ":";
	size_t n = 0, k = 1;
	int c, rc;

	for (; table[n].name && n < MAX_OPTIONS; n++) {
		longopts[n] = (struct option){table[n].name,
					      takes_value(&table[n])
						      ? required_argument
						      : no_argument,
					      NULL, 256 + (int)n};
		if (table[n].letter) {
			shorts[k++] = table[n].letter;
			if (takes_value(&table[n]))
				shorts[k++] = ':';
		}
	}
	longopts[n] = (struct option){0, 0, 0, 0};
	shorts[k] = '\0';
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
		const cli_option *o = NULL;
		if (c >= 256)
			o = &table[c - 256];
		for (size_t i = 0; !o && c != ':' && c != '?' && i < n; i++)
			if (table[i].letter == c)
				o = &table[i];
		if (c == ':')
			return cli_usage_error(cmd, "%s: %s needs a value", cmd,
					       argv[optind - 1]);
		if (!o)
			return cli_usage_error(cmd, "%s: unknown option '%s'",
					       cmd, argv[optind - 1]);
		if ((rc = take(o, args, optarg, cmd)) >= 0)
			return rc;
	}
	return -1;
}
