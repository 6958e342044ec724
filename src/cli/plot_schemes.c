/* plot --schemes --layers NAME: for one layer, the seed's cases side by
 * side for its fans. Left, on one axis, the densities of log10 |w| for
 * N(0, 0.01^2) (too small), N(0, 10^2) (too large), Xavier's
 * N(0, 2/(fan_in + fan_out)) and He's N(0, 2/fan_in), with a histogram of
 * the layer's own values; right, what each does to the signal through a
 * chain of such layers: (fan_in * variance * factor)^depth, factor the
 * activation's (1/2 for ReLU). */
#define _GNU_SOURCE
#include "plot.h"

#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 880
#define HEIGHT 330
#define LEFT 56
#define TOP 64
#define BOTTOM 40
#define PLOT_W 340
#define GAP 90
#define PLOT_H (HEIGHT - TOP - BOTTOM)
#define DEPTH 10 /* layers in the chain on the right */
#define SAMPLES 400
#define BINS 60

typedef struct {
	const char *label, *cls;
	double std;
} scheme_case;

typedef struct {
	const orx_plan_item *it;
	double factor; /* the activation's */
	scheme_case cases[4];
	double *values; /* the layer's own */
	size_t n, zeros;
	double variance; /* of its values */
	double lo, hi;	 /* log10 |w| shown */
	double ymax;	 /* density at the top */
} schemes_view;

/* The density of u = log10 |w| for w ~ N(0, s^2). */
static double log_density(double u, double s)
{
	double w = pow(10, u), z = w / s;

	return 2 * exp(-z * z / 2) / (s * sqrt(2 * M_PI)) * w * log(10);
}

/* The one weight the glob names; -1, or the exit status after the error
 * line. */
static int find_layer(const orx_plan_item **out, const plot_input *in)
{
	const orx_plan_item *found = NULL;
	size_t n = 0;

	for (size_t i = 0; i < orx_plan_count(in->plan); i++) {
		const orx_plan_item *it = orx_plan_item_at(in->plan, i);
		if (it->role == ORX_ROLE_WEIGHT &&
		    fnmatch(in->a->layers, it->name, 0) == 0) {
			found = found ? found : it;
			n++;
		}
	}
	if (n == 0)
		return cli_error(in->a->model, "no weighted layer matches %s",
				 in->a->layers);
	if (n > 1)
		return cli_error(in->a->model,
				 "--schemes draws one layer: %s "
				 "matches %zu (%s, ...)",
				 in->a->layers, n, found->name);
	if (!found->has_fans)
		return cli_error(in->a->model,
				 "%s: no fans to draw schemes for",
				 found->name);
	*out = found;
	return -1;
}

/* The view's numbers: the cases' stds, the layer's variance, the axes. */
static void measure(schemes_view *v)
{
	double fi = (double)v->it->fan_in, fo = (double)v->it->fan_out;
	double sum = 0, ss = 0, lo = INFINITY, hi = -INFINITY;

	v->cases[0] =
		(scheme_case){"N(0, 0.01\xc2\xb2): too small", "small", 0.01};
	v->cases[1] = (scheme_case){"N(0, 10\xc2\xb2): too large", "large", 10};
	v->cases[2] = (scheme_case){"Xavier N(0, 2/(fan_in+fan_out))", "xavier",
				    sqrt(2 / (fi + fo))};
	v->cases[3] = (scheme_case){"He N(0, 2/fan_in)", "he", sqrt(2 / fi)};
	for (size_t k = 0; k < v->n; k++)
		sum += v->values[k];
	for (size_t k = 0; k < v->n; k++) {
		double d = v->values[k] - sum / (double)v->n;
		ss += d * d;
		if (v->values[k] != 0 && isfinite(v->values[k])) {
			lo = fmin(lo, log10(fabs(v->values[k])));
			hi = fmax(hi, log10(fabs(v->values[k])));
		} else {
			v->zeros++;
		}
	}
	v->variance = v->n ? ss / (double)v->n : NAN;
	for (int c = 0; c < 4; c++) {
		lo = fmin(lo, log10(v->cases[c].std) - 3);
		hi = fmax(hi, log10(v->cases[c].std) + 1);
	}
	v->lo = floor(lo);
	v->hi = ceil(hi);
	/* every density of log10 |w| peaks at the same height */
	v->ymax = plot_nice_top(1.15 * log_density(log10(0.01), 0.01), 4);
}

static double sx(const schemes_view *v, double u)
{
	return (u - v->lo) / (v->hi - v->lo) * PLOT_W;
}

static double sy(const schemes_view *v, double d)
{
	return PLOT_H - fmin(d, v->ymax) / v->ymax * PLOT_H;
}

static void density_axes(FILE *f, const schemes_view *v)
{
	double t[12], step;
	size_t n = plot_ticks(t, 10, v->lo, v->hi, &step);
	char label[32];

	plot_axes(f, PLOT_W, PLOT_H);
	for (size_t k = 0; k < n; k++)
		plot_xtick(f, sx(v, t[k]), PLOT_H, pow(10, t[k]),
			   plot_decade_label(label, sizeof(label), (int)t[k]));
	n = plot_ticks(t, 4, 0, v->ymax, &step);
	for (size_t k = 0; k < n; k++)
		plot_ytick(f, sy(v, t[k]), t[k],
			   plot_tick_label(label, sizeof(label), t[k], step));
	fprintf(f,
		"<text class=\"al\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
		"|weight| (log axis)</text>\n<text class=\"al\" transform=\""
		"translate(-40 %d) rotate(-90)\" text-anchor=\"middle\">"
		"density of log10 |w|</text>\n",
		PLOT_W / 2, PLOT_H + 30, PLOT_H / 2);
}

/* A case's density, sampled: data-points holds (log10 |w|, density). */
static void density(FILE *f, const schemes_view *v, const scheme_case *c)
{
	double from = log10(c->std) - 7, to = log10(c->std) + 2;

	fprintf(f, "<polyline class=\"density %s\" data-label=\"", c->cls);
	plot_xml_text(f, c->label);
	fprintf(f, "\" data-std=\"%.17g\" data-points=\"", c->std);
	for (int k = 0; k <= SAMPLES; k++) {
		double u = from + (to - from) * k / SAMPLES;
		fprintf(f, "%.9g,%.9g ", u, log_density(u, c->std));
	}
	fputs("\" points=\"", f);
	for (int k = 0; k <= SAMPLES; k++) {
		double u = from + (to - from) * k / SAMPLES;
		if (u >= v->lo && u <= v->hi)
			fprintf(f, "%.2f,%.2f ", sx(v, u),
				sy(v, log_density(u, c->std)));
	}
	fputs("\"/>\n", f);
}

/* The layer's own values: a histogram of log10 |w| (zeros left out). */
static void own_values(FILE *f, const schemes_view *v)
{
	size_t count[BINS] = {0}, n = v->n - v->zeros;
	double w = (v->hi - v->lo) / BINS;

	for (size_t k = 0; k < v->n; k++) {
		double u;
		long b;
		if (v->values[k] == 0 || !isfinite(v->values[k]))
			continue;
		u = log10(fabs(v->values[k]));
		b = (long)floor((u - v->lo) / w);
		count[b < 0 ? 0 : b >= BINS ? BINS - 1 : b]++;
	}
	for (int b = 0; b < BINS && n; b++) {
		double d = (double)count[b] / ((double)n * w);
		fprintf(f,
			"<rect class=\"bar own\" data-count=\"%zu\" x=\"%.2f\" "
			"y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>\n",
			count[b], sx(v, v->lo + b * w), sy(v, d),
			PLOT_W / (double)BINS, PLOT_H - sy(v, d));
	}
}

/* Right: each case's forward scale through DEPTH such layers. */
static void chain(FILE *f, const schemes_view *v)
{
	double fi = (double)v->it->fan_in, lo = 0, hi = 0, per[5];
	const char *cls[5] = {"small", "large", "xavier", "he", "own"};
	double t[12], step;
	size_t n;
	char label[32];

	for (int c = 0; c < 5; c++) {
		double var =
			c < 4 ? v->cases[c].std * v->cases[c].std : v->variance;
		per[c] = fi * var * v->factor;
		if (per[c] > 0 && isfinite(per[c])) {
			lo = fmin(lo, DEPTH * log10(per[c]));
			hi = fmax(hi, DEPTH * log10(per[c]));
		}
	}
	lo = floor(lo - 0.5), hi = ceil(hi + 0.5);
	fprintf(f,
		"<g class=\"signal\" data-depth=\"%d\" data-factor=\"%.17g\" "
		"transform=\"translate(%d 0)\">\n",
		DEPTH, v->factor, PLOT_W + GAP);
	plot_axes(f, PLOT_W, PLOT_H);
	n = plot_ticks(t, 10, lo, hi, &step);
	for (size_t k = 0; k < n; k++)
		plot_ytick(f, PLOT_H - (t[k] - lo) / (hi - lo) * PLOT_H,
			   pow(10, t[k]),
			   plot_decade_label(label, sizeof(label), (int)t[k]));
	for (int d = 0; d <= DEPTH; d += 2) {
		snprintf(label, sizeof(label), "%d", d);
		plot_xtick(f, (double)d / DEPTH * PLOT_W, PLOT_H, d, label);
	}
	for (int c = 0; c < 5; c++) {
		fprintf(f,
			"<polyline class=\"scale %s\" data-per-layer=\"%.17g\" "
			"points=\"",
			cls[c], per[c]);
		for (int d = 0; d <= DEPTH; d++) {
			double l = d == 0 ? 0 : d * log10(fmax(per[c], 1e-300));
			l = fmin(fmax(l, lo), hi);
			fprintf(f, "%.2f,%.2f ", (double)d / DEPTH * PLOT_W,
				PLOT_H - (l - lo) / (hi - lo) * PLOT_H);
		}
		fputs("\"/>\n", f);
	}
	fprintf(f,
		"<text class=\"al\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
		"layers (depth 0 to %d)</text>\n<text class=\"al\" transform=\""
		"translate(-46 %d) rotate(-90)\" text-anchor=\"middle\">scale "
		"of "
		"the signal</text>\n</g>\n",
		PLOT_W / 2, PLOT_H + 30, DEPTH, PLOT_H / 2);
}

static void legend(FILE *f, const schemes_view *v)
{
	const char *cls[5] = {"small", "large", "xavier", "he", "own"};
	const int at[5] = {0, 160, 320, 540, 680}; /* by the labels' widths */

	fputs("<g class=\"legend\" transform=\"translate(56 36)\">\n", f);
	for (int c = 0; c < 5; c++) {
		fprintf(f,
			"<line class=\"density %s\" x1=\"%d\" y1=\"0\" "
			"x2=\"%d\" "
			"y2=\"0\"/><text class=\"tl\" x=\"%d\" y=\"4\">",
			cls[c], at[c], at[c] + 16, at[c] + 20);
		plot_xml_text(f, c < 4 ? v->cases[c].label : "its own values");
		fputs("</text>\n", f);
	}
	fputs("</g>\n", f);
}

static void svg_text(FILE *f, const void *ctx)
{
	const schemes_view *v = ctx;
	char fans[96];

	plot_svg_begin(f, WIDTH, HEIGHT,
		       ".density,.scale{fill:none;stroke-width:1.6}"
		       ".small{stroke:#9467bd}.large{stroke:#d62728}"
		       ".xavier{stroke:#2ca02c}.he{stroke:#1f77b4}"
		       ".own{stroke:#555}.bar.own{fill:#9a9a9a;fill-opacity:.6;"
		       "stroke:none}");
	fputs("<text class=\"t1\" x=\"56\" y=\"16\">", f);
	plot_xml_text(f, v->it->name);
	snprintf(fans, sizeof(fans), ": fan_in %lld, fan_out %lld, ",
		 (long long)v->it->fan_in, (long long)v->it->fan_out);
	fprintf(f, "%s%s (factor %.3g)</text>\n", fans, v->it->activation,
		v->factor);
	legend(f, v);
	fprintf(f, "<g class=\"schemes\" data-name=\"");
	plot_xml_text(f, v->it->name);
	fprintf(f,
		"\" data-fan-in=\"%lld\" data-fan-out=\"%lld\" "
		"data-variance=\"%.17g\" data-zeros=\"%zu\" "
		"transform=\"translate(%d %d)\">\n",
		(long long)v->it->fan_in, (long long)v->it->fan_out,
		v->variance, v->zeros, LEFT, TOP);
	density_axes(f, v);
	own_values(f, v);
	for (int c = 0; c < 4; c++)
		density(f, v, &v->cases[c]);
	chain(f, v);
	fputs("</g>\n", f);
	plot_svg_end(f);
}

int plot_schemes(const plot_input *in)
{
	schemes_view v = {0};
	size_t count = 1;
	int rc = find_layer(&v.it, in);

	if (rc >= 0)
		return rc;
	for (size_t k = 0; k < v.it->ndim; k++)
		count *= (size_t)v.it->dims[k];
	v.values = plot_values_of(in->m, v.it, count, in->a->model, &rc);
	if (!v.values)
		return rc >= 0 ? rc
			       : cli_error(in->a->model, "%s: cannot read it",
					   v.it->name);
	v.n = count;
	v.factor = orx_signal_factor(v.it);
	measure(&v);
	rc = cli_write_text(in->a->out, svg_text, &v);
	free(v.values);
	return rc;
}
