/* onnx-reinit plot: the weights as an SVG (its options: the table below).
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
	{"output", 'o', OPT_STRING, offsetof(plot_args, out), NULL, "FILE.svg",
	 NULL, "the SVG to write", OPT_REQUIRED},
	{"after", 0, OPT_STRING, offsetof(plot_args, after), NULL, "OUT", NULL,
	 "the same model re-initialized, overlaid", OPT_OPTIONAL},
	{"layers", 0, OPT_STRING, offsetof(plot_args, layers), NULL, "GLOB",
	 NULL,
	 "only the layers whose weight names match (--signal: the chains with "
	 "such a layer)",
	 OPT_OPTIONAL},
	{"rules", 0, OPT_RULES, offsetof(plot_args, rules), NULL, "FILE", NULL,
	 "rules that choose the schemes (repeatable)", OPT_REPEATS},
	{"profile", 0, OPT_PROFILE, offsetof(plot_args, rules), NULL, "NAME",
	 NULL, "the policy: seed (default), pytorch, keras, transformers",
	 OPT_OPTIONAL},
	{"signal", 0, OPT_FLAG, offsetof(plot_args, signal), NULL, NULL, NULL,
	 "per chain of layers (as check finds them), the predicted scale of "
	 "the signal (forward) and of the gradients (backward) against depth, "
	 "on a log axis, check's thresholds as bands",
	 OPT_OPTIONAL},
	{"run", 0, OPT_FLAG, offsetof(plot_args, run), NULL, NULL, NULL,
	 "with --signal: also run the model in ONNX Runtime (as check --run) "
	 "and mark each layer's measured scale beside the prediction",
	 OPT_OPTIONAL},
	{"schemes", 0, OPT_FLAG, offsetof(plot_args, schemes), NULL, NULL, NULL,
	 "for the one layer --layers names: N(0, 0.01^2), N(0, 10^2), Xavier "
	 "and He for its fans, and its own values, and what each does to the "
	 "signal through ten such layers",
	 OPT_OPTIONAL},
	{0}};

static int cmd_plot(int argc, char **argv);

const cli_command cli_plot = {
	"plot",
	cmd_plot,
	"MODEL",
	"Draw the weights as an SVG. By default one panel per weighted\n"
	"layer, in the order the layers run: the histogram of its weights\n"
	"(and, with --after, of OUT's) against the density its scheme\n"
	"predicts.\n",
	options,
	NULL,
	NULL};

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
	if (a->run && !a->signal)
		return cli_usage_error("plot", "plot --run goes with --signal");
	if (a->schemes && a->after)
		return cli_usage_error("plot",
				       "plot --schemes takes no --after");
	return -1;
}

static int cmd_plot(int argc, char **argv)
{
	plot_args a = {0};
	orx_rules *rules = NULL;
	orx_model *m = NULL, *after = NULL;
	orx_plan *plan = NULL;
	int rc = parse_plot_args(&a, argc, argv);

	if (rc >= 0 || (rc = cli_load_rules(&rules, &a.rules)) >= 0)
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
