/* plot --signal: the scale of the signal along each chain of weighted
 * layers (as check defines them), forward and backward, on a log axis
 * against depth: the model as it is and, with --after, re-initialized;
 * check's signal thresholds as bands, the layers it flags marked and
 * named. One panel per chain, the longest first. */
#define _GNU_SOURCE
#include "plot.h"

#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PANEL_W 520
#define PANEL_H 300
#define LEFT 60
#define RIGHT 150 /* the flagged layers' names */
#define TOP 44
#define BOTTOM 36
#define LEGEND 40
#define MAX_CHAINS 24
#define FLOOR 1e-300 /* a zero scale, drawn at the axis' foot */

typedef struct {
	const orx_chain *chain;
	size_t index; /* in its check */
	const orx_check *check;
	size_t after; /* the same chain in the after's check */
	bool has_after;
} chain_ref;

typedef struct {
	const plot_input *in;
	const orx_check *check, *check_after;
	chain_ref *chains;
	size_t n, more; /* drawn, and left out past MAX_CHAINS */
	orx_check_options opts;
} signal_view;

static double step_value(const orx_signal_step *s, bool backward)
{
	return backward ? s->backward : s->forward;
}

/* Whether chain i of c has a layer whose weight matches glob. */
static bool chain_matches(const orx_check *c, size_t i, const char *glob)
{
	const orx_signal_step *s;

	for (size_t k = 0; (s = orx_check_chain_step(c, i, k)); k++)
		if (fnmatch(glob, s->name, 0) == 0)
			return true;
	return false;
}

static int by_length(const void *x, const void *y)
{
	const chain_ref *a = x, *b = y;

	if (a->chain->layers != b->chain->layers)
		return a->chain->layers < b->chain->layers ? 1 : -1;
	return (a->index > b->index) - (a->index < b->index);
}

/* The after's chain with the same first and last layers. */
static bool find_after(size_t *out, const orx_check *c, const orx_chain *ch)
{
	for (size_t i = 0; c && i < orx_check_chain_count(c); i++) {
		const orx_chain *o = orx_check_chain_at(c, i);
		if (!strcmp(o->first, ch->first) &&
		    !strcmp(o->last, ch->last) && o->layers == ch->layers) {
			*out = i;
			return true;
		}
	}
	return false;
}

static int choose(signal_view *v)
{
	size_t n = orx_check_chain_count(v->check);

	v->chains = calloc(n + 1, sizeof(*v->chains));
	if (!v->chains)
		return cli_error(NULL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		chain_ref *r = &v->chains[v->n];
		if (v->in->a->layers &&
		    !chain_matches(v->check, i, v->in->a->layers))
			continue;
		r->chain = orx_check_chain_at(v->check, i);
		r->index = i;
		r->check = v->check;
		r->has_after = find_after(&r->after, v->check_after, r->chain);
		v->n++;
	}
	qsort(v->chains, v->n, sizeof(*v->chains), by_length);
	if (v->n > MAX_CHAINS) {
		v->more = v->n - MAX_CHAINS;
		v->n = MAX_CHAINS;
	}
	if (v->n == 0)
		return cli_error(v->in->a->model,
				 "no chain of two or more weighted "
				 "layers%s%s",
				 v->in->a->layers ? " has a layer matching "
						  : "",
				 v->in->a->layers ? v->in->a->layers : "");
	return -1;
}

/*** @@DRAW ***/

typedef struct {
	double lo, hi; /* log10 of the axis' ends */
	double pw, ph;
	size_t layers;
} frame;

static double px(const frame *fr, double depth)
{
	return depth / (double)fr->layers * fr->pw;
}

static double py(const frame *fr, double value)
{
	double l = log10(fmax(value, FLOOR));

	l = fmin(fmax(l, fr->lo), fr->hi);
	return fr->ph - (l - fr->lo) / (fr->hi - fr->lo) * fr->ph;
}

static void widen(double *lo, double *hi, double value)
{
	if (value > 0 && isfinite(value)) {
		*lo = fmin(*lo, log10(value));
		*hi = fmax(*hi, log10(value));
	}
}

static frame frame_of(const signal_view *v, const chain_ref *r)
{
	frame fr = {log10(v->opts.signal), -log10(v->opts.signal),
		    PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM,
		    r->chain->layers};
	const orx_signal_step *s;

	for (int after = 0; after < 2; after++) {
		const orx_check *c = after ? v->check_after : v->check;
		size_t i = after ? r->after : r->index;
		if (after && !r->has_after)
			continue;
		for (size_t k = 0; (s = orx_check_chain_step(c, i, k)); k++) {
			widen(&fr.lo, &fr.hi, s->forward);
			widen(&fr.lo, &fr.hi, s->backward);
		}
	}
	fr.lo = floor(fr.lo - 0.5);
	fr.hi = ceil(fr.hi + 0.5);
	return fr;
}

/* Decades at a nice step (1, 2 or 5 of them), the thresholds as bands. */
static void axes(FILE *f, const signal_view *v, const frame *fr)
{
	double t[12], step, lim = v->opts.signal;
	size_t n = plot_ticks(t, 10, fr->lo, fr->hi, &step);
	char label[32];

	fprintf(f,
		"<rect class=\"band vanishing\" data-limit=\"%.17g\" x=\"0\" "
		"y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>\n",
		lim, py(fr, lim), fr->pw, fr->ph - py(fr, lim));
	fprintf(f,
		"<rect class=\"band exploding\" data-limit=\"%.17g\" x=\"0\" "
		"y=\"0\" width=\"%.2f\" height=\"%.2f\"/>\n",
		1 / lim, fr->pw, py(fr, 1 / lim));
	fprintf(f,
		"<line class=\"unit\" x1=\"0\" y1=\"%.2f\" x2=\"%.2f\" "
		"y2=\"%.2f\"/>\n",
		py(fr, 1), fr->pw, py(fr, 1));
	plot_axes(f, fr->pw, fr->ph);
	for (size_t k = 0; k < n; k++)
		plot_ytick(f, py(fr, pow(10, t[k])), pow(10, t[k]),
			   plot_decade_label(label, sizeof(label), (int)t[k]));
	n = plot_ticks(t, 11, 0, (double)fr->layers, &step);
	for (size_t k = 0; k < n; k++)
		plot_xtick(f, px(fr, t[k]), fr->ph, t[k],
			   plot_tick_label(label, sizeof(label), t[k], step));
	fprintf(f,
		"<text class=\"al\" x=\"%.2f\" y=\"%.2f\" "
		"text-anchor=\"middle\">"
		"layers (depth)</text>\n<text class=\"al\" transform=\""
		"translate(-46 %.2f) rotate(-90)\" text-anchor=\"middle\">"
		"scale of the second moment</text>\n",
		fr->pw / 2, fr->ph + 28, fr->ph / 2);
}

/* One series: a line from the input (depth 0, scale 1) through every
 * layer, a point per layer with its value. */
static void series(FILE *f, const frame *fr, const orx_check *c, size_t i,
		   bool backward, const char *model)
{
	const char *dir = backward ? "backward" : "forward";
	const orx_signal_step *s;

	fprintf(f, "<polyline class=\"line %s %s\" points=\"%.2f,%.2f ", dir,
		model, px(fr, 0), py(fr, 1));
	for (size_t k = 0; (s = orx_check_chain_step(c, i, k)); k++)
		fprintf(f, "%.2f,%.2f ", px(fr, (double)k + 1),
			py(fr, step_value(s, backward)));
	fputs("\"/>\n", f);
	for (size_t k = 0; (s = orx_check_chain_step(c, i, k)); k++) {
		double value = step_value(s, backward);
		fprintf(f,
			"<circle class=\"pt %s %s%s\" data-depth=\"%zu\" "
			"data-value=\"%.17g\" data-layer=\"",
			dir, model, value > 0 ? "" : " zero", k + 1, value);
		plot_xml_text(f, s->name);
		fprintf(f, "\" cx=\"%.2f\" cy=\"%.2f\" r=\"2.4\"/>\n",
			px(fr, (double)k + 1), py(fr, value));
	}
}

/* The measured std of layer name's output over the inputs', or NAN. */
static const orx_measured *measured_of(const orx_check *c, const char *name)
{
	for (size_t i = 0; i < orx_check_measured_count(c); i++)
		if (!strcmp(orx_check_measured_at(c, i)->name, name))
			return orx_check_measured_at(c, i);
	return NULL;
}

/* --run: each layer's measured second moment as a square beside the
 * forward line, anchored at the chain's first layer (the chain's input
 * is not measured: measured over predicted there is its scale), times the
 * layer's activation factor as the line is. */
static void measured(FILE *f, const frame *fr, const orx_check *c, size_t i)
{
	const orx_signal_step *s = orx_check_chain_step(c, i, 0);
	const orx_measured *m = s ? measured_of(c, s->name) : NULL;
	double anchor;

	if (!m || !(m->predicted > 0) || !(m->measured > 0))
		return;
	anchor = m->measured / m->predicted;
	for (size_t k = 0; (s = orx_check_chain_step(c, i, k)); k++) {
		double value, x;
		if (!(m = measured_of(c, s->name)))
			continue;
		value = (m->measured / anchor) * (m->measured / anchor) *
			s->factor;
		x = px(fr, (double)k + 1);
		fputs("<rect class=\"measured\" data-layer=\"", f);
		plot_xml_text(f, s->name);
		fprintf(f,
			"\" data-depth=\"%zu\" data-value=\"%.17g\" "
			"data-predicted=\"%.17g\" x=\"%.2f\" y=\"%.2f\" "
			"width=\"5\" height=\"5\"/>\n",
			k + 1, value, s->forward, x - 2.5, py(fr, value) - 2.5);
	}
}

/* The layers check flags, ringed on the forward line and named. */
static void flagged(FILE *f, const frame *fr, const orx_check *c, size_t i,
		    const char *model)
{
	const orx_signal_step *s;
	size_t line = 0;

	for (size_t k = 0; (s = orx_check_chain_step(c, i, k)); k++) {
		if (s->problem < 0)
			continue;
		fprintf(f, "<circle class=\"flag %s\" data-layer=\"", model);
		plot_xml_text(f, s->name);
		fprintf(f,
			"\" data-problem=\"%s\" cx=\"%.2f\" cy=\"%.2f\" "
			"r=\"5\"/>\n",
			orx_problem_name((orx_problem)s->problem),
			px(fr, (double)k + 1), py(fr, s->forward));
		if (line < 18) {
			fprintf(f,
				"<text class=\"flagname %s\" x=\"%.2f\" "
				"y=\"%.2f\">"
				"%zu: ",
				model, fr->pw + 10,
				10.0 + 12.0 * (double)line++, k + 1);
			plot_xml_text(f, s->name);
			fprintf(f, " (%s)</text>\n",
				orx_problem_name((orx_problem)s->problem));
		}
	}
}

static void panel(FILE *f, const signal_view *v, const chain_ref *r, double y)
{
	frame fr = frame_of(v, r);

	fprintf(f, "<g class=\"chain\" data-first=\"");
	plot_xml_text(f, r->chain->first);
	fputs("\" data-last=\"", f);
	plot_xml_text(f, r->chain->last);
	fprintf(f,
		"\" data-layers=\"%zu\" data-lo=\"%.17g\" data-hi=\"%.17g\" "
		"transform=\"translate(%d %.0f)\">\n",
		r->chain->layers, pow(10, fr.lo), pow(10, fr.hi), LEFT,
		y + TOP);
	fputs("<text class=\"t1\" x=\"0\" y=\"-24\">", f);
	plot_xml_text(f, r->chain->first);
	fputs(" \xe2\x80\xa6 ", f);
	plot_xml_text(f, r->chain->last);
	fprintf(f,
		"</text>\n<text class=\"t2\" x=\"0\" y=\"-10\">%zu layers; "
		"bands: check's --signal %.3g</text>\n",
		r->chain->layers, v->opts.signal);
	axes(f, v, &fr);
	series(f, &fr, v->check, r->index, false, "before");
	series(f, &fr, v->check, r->index, true, "before");
	if (r->has_after) {
		series(f, &fr, v->check_after, r->after, false, "after");
		series(f, &fr, v->check_after, r->after, true, "after");
	}
	measured(f, &fr, v->check, r->index);
	flagged(f, &fr, v->check, r->index, "before");
	if (r->has_after)
		flagged(f, &fr, v->check_after, r->after, "after");
	fputs("</g>\n", f);
}

static void legend(FILE *f, bool after, bool run)
{
	fprintf(f,
		"<g class=\"legend\" transform=\"translate(%d 14)\">\n"
		"<line class=\"line forward before\" x1=\"0\" y1=\"5\" "
		"x2=\"20\" "
		"y2=\"5\"/><text class=\"tl\" x=\"24\" y=\"9\">forward</text>\n"
		"<line class=\"line backward before\" x1=\"80\" y1=\"5\" "
		"x2=\"100\" "
		"y2=\"5\"/><text class=\"tl\" x=\"104\" y=\"9\">backward "
		"(gradients)</text>\n",
		LEFT);
	if (after)
		fputs("<line class=\"line forward after\" x1=\"220\" y1=\"5\" "
		      "x2=\"240\" y2=\"5\"/><text class=\"tl\" x=\"244\" "
		      "y=\"9\">"
		      "after</text>\n",
		      f);
	fputs("<circle class=\"flag before\" cx=\"300\" cy=\"5\" r=\"5\"/>"
	      "<text class=\"tl\" x=\"310\" y=\"9\">flagged by check</text>\n",
	      f);
	if (run)
		fputs("<rect class=\"measured\" x=\"397.5\" y=\"2.5\" "
		      "width=\"5\" height=\"5\"/><text class=\"tl\" x=\"406\" "
		      "y=\"9\">measured (ONNX Runtime)</text>\n",
		      f);
	fputs("</g>\n", f);
}

static void svg_text(FILE *f, const void *ctx)
{
	const signal_view *v = ctx;

	plot_svg_begin(f, PANEL_W,
		       (double)v->n * PANEL_H + LEGEND + (v->more ? 20 : 0),
		       ".line{fill:none;stroke-width:1.6}"
		       ".line.before{stroke:#555}.line.after{stroke:#2f6fbf}"
		       ".line.backward{stroke-dasharray:5 3}"
		       ".pt.before{fill:#555}.pt.after{fill:#2f6fbf}"
		       ".band{fill:#d62728;fill-opacity:.12}"
		       ".unit{stroke:#999;stroke-dasharray:2 2}"
		       ".flag{fill:none;stroke:#d62728;stroke-width:1.5}"
		       ".flagname{font-size:9px;fill:#b00}"
		       ".flagname.after{fill:#2f6fbf}"
		       ".measured{fill:#e377c2}");
	legend(f, v->check_after != NULL, v->in->a->run);
	for (size_t i = 0; i < v->n; i++)
		panel(f, v, &v->chains[i], LEGEND + (double)i * PANEL_H);
	if (v->more)
		fprintf(f,
			"<text class=\"t2\" x=\"%d\" y=\"%.0f\">and %zu "
			"shorter "
			"chains (--layers chooses)</text>\n",
			LEFT, LEGEND + (double)v->n * PANEL_H + 12, v->more);
	plot_svg_end(f);
}

int plot_signal(const plot_input *in)
{
	signal_view v = {in, NULL, NULL, NULL, 0, 0, ORX_CHECK_OPTIONS_INIT};
	orx_check *check = NULL, *check_after = NULL;
	orx_plan *plan_after = NULL;
	int rc = -1;

	if (orx_check_run(&check, in->m, in->plan, &v.opts) != ORX_OK ||
	    (in->a->run &&
	     orx_check_measure(check, in->m, &v.opts) != ORX_OK)) {
		rc = cli_error(in->a->model, "%s", orx_error_last());
		goto done;
	}
	if (in->after &&
	    (orx_plan_build(&plan_after, in->after, in->rules) != ORX_OK ||
	     orx_check_run(&check_after, in->after, plan_after, &v.opts) !=
		     ORX_OK)) {
		rc = cli_error(in->a->after, "%s", orx_error_last());
		goto done;
	}
	v.check = check;
	v.check_after = check_after;
	if ((rc = choose(&v)) < 0)
		rc = cli_write_text(in->a->out, svg_text, &v);
done:
	free(v.chains);
	orx_check_free(check);
	orx_check_free(check_after);
	orx_plan_free(plan_after);
	return rc;
}
