/* onnx-reinit plot MODEL [--after OUT] [--layers GLOB] [--rules FILE]...
 *                  [--signal | --schemes] -o FILE.svg
 *
 * Three views, one file each: the weights layer by layer (plot_layers.c),
 * the signal along chains (plot_signal.c), the schemes for one layer
 * (plot_schemes.c). */
#include "plot.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* The options: a row each. */
static const struct option options[] = {
	{"after", required_argument, 0, 'a'},
	{"layers", required_argument, 0, 'l'},
	{"output", required_argument, 0, 'o'},
	{"rules", required_argument, 0, 'r'},
	{"signal", no_argument, 0, 's'},
	{"schemes", no_argument, 0, 'S'},
	{0, 0, 0, 0}};

static int take(plot_args *a, int c, const char *value)
{
	switch (c) {
	case 'a': a->after = value; return 0;
	case 'l': a->layers = value; return 0;
	case 'o': a->out = value; return 0;
	case 's': a->signal = true; return 0;
	case 'S': a->schemes = true; return 0;
	case 'r':
		if (a->n_rules == sizeof(a->rules) / sizeof(a->rules[0]))
			return cli_usage_error("plot", "plot: at most 64 --rules");
		a->rules[a->n_rules++] = value;
		return 0;
	default:
		return -1;
	}
}

static int parse_plot_args(plot_args *a, int argc, char **argv)
{
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:", options, NULL)) != -1) {
		int rc = c == ':' || c == '?' ? -1 : take(a, c, optarg);
		if (rc > 0)
			return rc;
		if (c == ':')
			return cli_usage_error("plot", "plot: %s needs a value",
					       argv[optind - 1]);
		if (rc < 0)
			return cli_usage_error("plot", "plot: unknown option '%s'",
					       argv[optind - 1]);
	}
	if (argc - optind != 1)
		return cli_usage_error("plot", "plot takes one MODEL");
	a->model = argv[optind];
	if (!a->out)
		return cli_usage_error("plot", "plot needs -o FILE.svg");
	if (a->signal && a->schemes)
		return cli_usage_error("plot", "plot: --signal or --schemes, not both");
	if (a->schemes && !a->layers)
		return cli_usage_error("plot", "plot --schemes needs --layers NAME");
	if (a->schemes && a->after)
		return cli_usage_error("plot", "plot --schemes takes no --after");
	return -1;
}

int cmd_plot(int argc, char **argv)
{
	plot_args a;
	orx_rules *rules = NULL;
	orx_model *m = NULL, *after = NULL;
	orx_plan *plan = NULL;
	int rc = parse_plot_args(&a, argc, argv);

	if (rc >= 0 || (rc = cli_load_rules(&rules, a.rules, a.n_rules)) >= 0)
		goto done;
	if (orx_model_open_file(&m, a.model, NULL) != ORX_OK) {
		rc = cli_error(a.model, "%s", orx_error_last());
		goto done;
	}
	if (a.after && orx_model_open_file(&after, a.after, NULL) != ORX_OK) {
		rc = cli_error(a.after, "%s", orx_error_last());
		goto done;
	}
	if (orx_plan_build(&plan, m, rules) != ORX_OK) {
		rc = cli_error(a.model, "%s", orx_error_last());
		goto done;
	}
	plot_input in = {&a, rules, m, after, plan};
	rc = a.signal ? plot_signal(&in) : a.schemes ? plot_schemes(&in)
						      : plot_layers(&in);
done:
	orx_plan_free(plan);
	orx_model_free(m);
	orx_model_free(after);
	orx_rules_free(rules);
	return rc;
}
