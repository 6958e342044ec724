/* onnx-reinit plot MODEL [--after OUT] [--layers GLOB] [--rules FILE]...
 *                  [--signal | --schemes] -o FILE.svg
 *
 * Three views, one file each: the weights layer by layer (plot_layers.c),
 * the signal along chains (plot_signal.c), the schemes for one layer
 * (plot_schemes.c). */
#include "plot.h"

#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const cli_option options[] = {
	{"after", 0, OPT_STRING, offsetof(plot_args, after), NULL, false},
	{"layers", 0, OPT_STRING, offsetof(plot_args, layers), NULL, false},
	{"output", 'o', OPT_STRING, offsetof(plot_args, out), NULL, false},
	{"rules", 0, OPT_RULES, offsetof(plot_args, rules), NULL, false},
	{"signal", 0, OPT_FLAG, offsetof(plot_args, signal), NULL, false},
	{"schemes", 0, OPT_FLAG, offsetof(plot_args, schemes), NULL, false},
	{0}};

static int parse_plot_args(plot_args *a, int argc, char **argv)
{
	int rc = cli_parse_options(options, a, "plot", argc, argv);

	if (rc >= 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage_error("plot", "plot takes one MODEL");
	a->model = argv[optind];
	if (!a->out)
		return cli_usage_error("plot", "plot needs -o FILE.svg");
	if (a->signal && a->schemes)
		return cli_usage_error("plot",
				       "plot: --signal or --schemes, not both");
	if (a->schemes && !a->layers)
		return cli_usage_error("plot",
				       "plot --schemes needs --layers NAME");
	if (a->schemes && a->after)
		return cli_usage_error("plot",
				       "plot --schemes takes no --after");
	return -1;
}

int cmd_plot(int argc, char **argv)
{
	plot_args a = {0};
	orx_rules *rules = NULL;
	orx_model *m = NULL, *after = NULL;
	orx_plan *plan = NULL;
	int rc = parse_plot_args(&a, argc, argv);

	if (rc >= 0 ||
	    (rc = cli_load_rules(&rules, a.rules.files, a.rules.n)) >= 0)
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
	rc = a.signal	 ? plot_signal(&in)
	     : a.schemes ? plot_schemes(&in)
			 : plot_layers(&in);
done:
	orx_plan_free(plan);
	orx_model_free(m);
	orx_model_free(after);
	orx_rules_free(rules);
	return rc;
}
