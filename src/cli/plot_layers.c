/* plot's view of the weights, layer by layer: small multiples, one panel
 * per weighted layer in the order the layers run (a recurrent layer's W
 * and R: one per gate), the histogram of its weights before (and after)
 * against the density its scheme predicts. */
#define _GNU_SOURCE
#include "plot.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BINS 50
#define PANEL_W 320
#define PANEL_H 230
#define LEFT 54
#define RIGHT 14
#define TOP 46
#define BOTTOM 34
#define LEGEND 40
#define MAX_COLUMNS 6
#define X_TICKS 5 /* at most, on each axis */
#define Y_TICKS 4

typedef struct {
	const orx_plan_item *it;
	const orx_plan_block *gate;    /* a recurrent gate's panel: its first
					  block (the others share its scheme) */
	const orx_init_params *params; /* the prediction */
	double *before, *after;	       /* after may be NULL */
	size_t n;
	double lo, hi, ymax, peak;
	size_t count_before[BINS], count_after[BINS];
} panel;

/*** @@NUMBERS: ranges, bins, the predicted density ***/

/* The predicted density at x. */
static double density(const orx_init_params *p, double x)
{
	double z, s;

	switch (p->dist) {
	case ORX_DIST_UNIFORM:
		return x >= p->low && x <= p->high ? 1 / (p->high - p->low) : 0;
	case ORX_DIST_TRUNC_NORMAL:
		s = p->std / ORX_TRUNC_STD;
		z = (x - p->mean) / s;
		if (x < p->low || x > p->high)
			return 0;
		return exp(-z * z / 2) / (s * sqrt(2 * M_PI)) /
		       0.9544997361036416; /* P(|z| < 2) */
	case ORX_DIST_NORMAL:
	case ORX_DIST_ORTHOGONAL: /* its entries: close to N(0, std^2) */
		if (!(p->std > 0))
			return 0;
		z = (x - p->mean) / p->std;
		return exp(-z * z / 2) / (p->std * sqrt(2 * M_PI));
	default: return 0; /* constants: drawn as a line, not a density */
	}
}

/* Half the width the prediction needs on screen. */
static double predicted_extent(const orx_init_params *p)
{
	switch (p->dist) {
	case ORX_DIST_UNIFORM:
	case ORX_DIST_TRUNC_NORMAL:
		return 1.15 * fmax(fabs(p->low), fabs(p->high));
	case ORX_DIST_CONSTANT: return 1.5 * fabs(p->value);
	default: return fabs(p->mean) + 4 * p->std;
	}
}

static double max_abs(const double *v, size_t n)
{
	double m = 0;

	for (size_t k = 0; v && k < n; k++)
		if (isfinite(v[k]))
			m = fmax(m, fabs(v[k]));
	return m;
}

/* bin k holds lo + k w <= x < lo + (k + 1) w; x = hi goes in the last */
static void histogram(size_t *count, const double *v, size_t n, double lo,
		      double hi)
{
	double w = (hi - lo) / BINS;

	memset(count, 0, BINS * sizeof(size_t));
	for (size_t k = 0; v && k < n; k++) {
		long b;
		if (!isfinite(v[k]) || v[k] < lo || v[k] > hi)
			continue;
		b = (long)floor((v[k] - lo) / w);
		count[b >= BINS ? BINS - 1 : b]++;
	}
}

static double max_density(const size_t *count, size_t n, double w)
{
	size_t m = 0;

	for (int b = 0; b < BINS; b++)
		m = count[b] > m ? count[b] : m;
	return n ? (double)m / ((double)n * w) : 0;
}

static void measure(panel *p)
{
	const orx_init_params *q = p->params;
	double x = fmax(fmax(max_abs(p->before, p->n), max_abs(p->after, p->n)),
			predicted_extent(q)),
	       w, fit;

	if (!(x > 0))
		x = 1;
	x = plot_nice_top(x, X_TICKS / 2 + 1); /* the axis ends on a tick */
	p->lo = -x;
	p->hi = x;
	w = (p->hi - p->lo) / BINS;
	histogram(p->count_before, p->before, p->n, p->lo, p->hi);
	histogram(p->count_after, p->after, p->n, p->lo, p->hi);
	p->peak = 0;
	for (int k = 0; k <= 400; k++)
		p->peak = fmax(p->peak,
			       density(q, p->lo + (p->hi - p->lo) * k / 400));
	/* the axis fits the prediction and the after; a before far off it
	 * (a spike of zeros) is clipped and labelled */
	fit = fmax(p->peak, max_density(p->count_after, p->n, w));
	if (!(fit > 0))
		fit = max_density(p->count_before, p->n, w);
	p->ymax = 1.15 * fmax(fit, fmin(max_density(p->count_before, p->n, w),
					3 * fit));
	p->ymax = plot_nice_top(p->ymax, Y_TICKS);
}

/*** @@SVG ***/

/* The bars of one series; data-count holds each bin's count. */
static void bars(FILE *f, const panel *p, const size_t *count, const char *cls,
		 double pw, double ph)
{
	double w = (p->hi - p->lo) / BINS, bw = pw / BINS, at = 0;
	size_t clipped = 0, nclip = 0;

	for (int b = 0; b < BINS; b++) {
		double d = p->n ? (double)count[b] / ((double)p->n * w) : 0;
		double h = fmin(d, p->ymax) / p->ymax * ph;
		fprintf(f,
			"<rect class=\"bar %s\" data-bin=\"%d\" "
			"data-count=\"%zu\" "
			"x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
			"height=\"%.4f\"/>\n",
			cls, b, count[b], b * bw, ph - h, bw, h);
		if (d > p->ymax) {
			clipped += count[b];
			at += (b + 0.5) * bw;
			nclip++;
		}
	}
	if (nclip) /* bars past the top: say how much of the tensor they hold */
		fprintf(f,
			"<text class=\"clip\" x=\"%.2f\" y=\"-3\" "
			"text-anchor=\"middle\">%.0f%% of the %s weights "
			"here</text>\n",
			at / nclip, 100.0 * clipped / p->n, cls);
}

static void curve(FILE *f, const panel *p, double pw, double ph)
{
	const orx_init_params *q = &p->it->params;

	if (q->dist == ORX_DIST_CONSTANT) {
		double x = (q->value - p->lo) / (p->hi - p->lo) * pw;
		fprintf(f,
			"<line class=\"predicted\" x1=\"%.2f\" y1=\"0\" "
			"x2=\"%.2f\" y2=\"%.2f\"/>\n",
			x, x, ph);
		return;
	}
	fputs("<polyline class=\"predicted\" points=\"", f);
	for (int k = 0; k <= 200; k++) {
		double x = p->lo + (p->hi - p->lo) * k / 200;
		double y = fmin(density(q, x), p->ymax) / p->ymax * ph;
		fprintf(f, "%.2f,%.2f ", pw * k / 200, ph - y);
	}
	fputs("\"/>\n", f);
}

/* The axes, their ticks at nice values (data-value: each tick's). */
static void axes(FILE *f, const panel *p, double pw, double ph)
{
	double t[X_TICKS + 2], step;
	size_t n;
	char label[32];

	plot_axes(f, pw, ph);
	n = plot_ticks(t, X_TICKS, p->lo, p->hi, &step);
	for (size_t k = 0; k < n; k++)
		plot_xtick(f, (t[k] - p->lo) / (p->hi - p->lo) * pw, ph, t[k],
			   plot_tick_label(label, sizeof(label), t[k], step));
	n = plot_ticks(t, Y_TICKS, 0, p->ymax, &step);
	for (size_t k = 0; k < n; k++)
		plot_ytick(f, ph - t[k] / p->ymax * ph, t[k],
			   plot_tick_label(label, sizeof(label), t[k], step));
	fprintf(f,
		"<text class=\"al\" x=\"%.2f\" y=\"%.2f\" "
		"text-anchor=\"middle\">weight value</text>\n"
		"<text class=\"al\" transform=\"translate(-40 %.2f) "
		"rotate(-90)\" text-anchor=\"middle\">density</text>\n",
		pw / 2, ph + 28, ph / 2);
}

static void title(FILE *f, const panel *p)
{
	const orx_plan_item *it = p->it;
	char fans[64] = "";

	fputs("<text class=\"t1\" x=\"0\" y=\"-28\">", f);
	if (strlen(it->name) > 44) {
		fputs("\xe2\x80\xa6", f); /* ... then the end of the name */
		plot_xml_text(f, it->name + strlen(it->name) - 43);
	} else {
		plot_xml_text(f, it->name);
	}
	if (p->gate)
		fprintf(f, " \xc2\xb7 gate %s", p->gate->gate);
	if (it->has_fans)
		snprintf(fans, sizeof(fans), ", fan_in %lld, fan_out %lld",
			 (long long)it->fan_in, (long long)it->fan_out);
	fprintf(f,
		"</text>\n<text class=\"t2\" x=\"0\" y=\"-14\">%s%s, "
		"%s</text>\n",
		orx_scheme_name(p->gate ? p->gate->scheme : it->scheme), fans,
		p->gate ? it->op : it->activation);
}

static void draw_panel(FILE *f, const panel *p, double x, double y)
{
	double pw = PANEL_W - LEFT - RIGHT, ph = PANEL_H - TOP - BOTTOM;

	fprintf(f, "<g class=\"panel\" data-name=\"");
	plot_xml_text(f, p->it->name);
	if (p->gate)
		fprintf(f, "\" data-gate=\"%s", p->gate->gate);
	fprintf(f,
		"\" data-lo=\"%.17g\" data-hi=\"%.17g\" data-bins=\"%d\" "
		"data-n=\"%zu\" data-ymax=\"%.17g\" "
		"transform=\"translate(%.0f %.0f)\">\n",
		p->lo, p->hi, BINS, p->n, p->ymax, x + LEFT, y + TOP);
	title(f, p);
	bars(f, p, p->count_before, "before", pw, ph);
	if (p->after)
		bars(f, p, p->count_after, "after", pw, ph);
	curve(f, p, pw, ph);
	axes(f, p, pw, ph);
	fputs("</g>\n", f);
}

static void legend(FILE *f, bool after)
{
	fprintf(f,
		"<g class=\"legend\" transform=\"translate(%d 14)\">\n"
		"<rect class=\"bar before\" x=\"0\" y=\"0\" width=\"14\" "
		"height=\"10\"/><text class=\"tl\" x=\"20\" "
		"y=\"9\">before</text>\n",
		LEFT);
	if (after)
		fputs("<rect class=\"bar after\" x=\"90\" y=\"0\" width=\"14\" "
		      "height=\"10\"/><text class=\"tl\" x=\"110\" "
		      "y=\"9\">after</text>\n",
		      f);
	fputs("<line class=\"predicted\" x1=\"170\" y1=\"5\" x2=\"190\" "
	      "y2=\"5\"/>"
	      "<text class=\"tl\" x=\"196\" y=\"9\">density the scheme predicts"
	      "</text>\n</g>\n",
	      f);
}

static void svg(FILE *f, const panel *panels, size_t n, bool after)
{
	/* a row for a few, a square-ish grid for more, wrapping at 6 */
	size_t cols = n <= 4 ? n : (size_t)ceil(sqrt((double)n));
	size_t rows;

	cols = cols > MAX_COLUMNS ? MAX_COLUMNS : cols ? cols : 1;
	rows = (n + cols - 1) / cols;
	plot_svg_begin(f, (double)(cols * PANEL_W),
		       (double)(rows * PANEL_H + LEGEND),
		       ".bar.before{fill:#9a9a9a;fill-opacity:.75}"
		       ".bar.after{fill:#2f6fbf;fill-opacity:.6}"
		       ".predicted{fill:none;stroke:#d62728;stroke-width:1.6}"
		       ".clip{font-size:9px;fill:#b00}");
	legend(f, after);
	for (size_t i = 0; i < n; i++)
		draw_panel(f, &panels[i], (double)(i % cols) * PANEL_W,
			   LEGEND + (double)(i / cols) * PANEL_H);
	plot_svg_end(f);
}

double *plot_values_of(const orx_model *m, const orx_plan_item *it, size_t n,
		       const char *path, int *rc)
{
	size_t i;
	orx_tensor_info t;
	double *v;

	if (orx_model_find_tensor(&i, m, it->name) != ORX_OK ||
	    orx_model_tensor(&t, m, i) != ORX_OK ||
	    (t.count != n && !it->quantized))
		return NULL; /* not in the other model: no after */
	if (!(v = malloc(n * sizeof(double) + 1)) ||
	    orx_plan_item_read(v, n, m, it) != ORX_OK) {
		*rc = cli_error(path, "%s",
				v ? orx_error_last() : "out of memory");
		free(v);
		return NULL;
	}
	return v;
}

/* The elements of v (a tensor's, NULL: none) in the blocks of it whose
 * gate is gate's, in order: n of them. */
static double *gate_values(const double *v, const orx_plan_item *it,
			   const orx_plan_block *gate, size_t *n)
{
	double *out;

	*n = 0;
	for (size_t k = 0; k < it->n_blocks; k++)
		*n += strcmp(it->blocks[k].gate, gate->gate)
			      ? 0
			      : it->blocks[k].count;
	if (!v || !(out = malloc(*n * sizeof(double) + 1)))
		return NULL;
	for (size_t k = 0, at = 0; k < it->n_blocks; k++) {
		const orx_plan_block *b = &it->blocks[k];
		if (strcmp(b->gate, gate->gate))
			continue;
		for (int64_t r = 0; r < b->rows; r++) { /* its rows, stride
							   apart */
			memcpy(out + at, v + b->first + r * b->stride,
			       (size_t)b->cols * sizeof(double));
			at += (size_t)b->cols;
		}
	}
	return out;
}

/* Whether block k of it is the first of its gate. */
static bool first_of_gate(const orx_plan_item *it, size_t k)
{
	for (size_t j = 0; j < k; j++)
		if (!strcmp(it->blocks[j].gate, it->blocks[k].gate))
			return false;
	return true;
}

/* The panels of it (before: its values, after: the other model's, or
 * NULL): one, or one per gate. Takes both arrays; -1, or the exit status
 * of an error. */
static int add_panels(panel *p, size_t *n, const orx_plan_item *it,
		      double *before, double *after, size_t count)
{
	if (!it->n_blocks) {
		p[*n] = (panel){.it = it,
				.params = &it->params,
				.n = count,
				.before = before,
				.after = after};
		measure(&p[(*n)++]);
		return -1;
	}
	for (size_t k = 0; k < it->n_blocks; k++) {
		panel *q = &p[*n];
		if (!first_of_gate(it, k))
			continue;
		*q = (panel){.it = it,
			     .gate = &it->blocks[k],
			     .params = &it->blocks[k].params};
		q->before = gate_values(before, it, q->gate, &q->n);
		q->after = gate_values(after, it, q->gate, &q->n);
		if (!q->before || (after && !q->after)) {
			free(q->before);
			free(q->after);
			free(before);
			free(after);
			return cli_error(NULL, "out of memory");
		}
		measure(q);
		(*n)++;
	}
	free(before);
	free(after);
	return -1;
}

static const orx_plan *sorting_plan; /* for by_order */

/* Items in the order their layers run; ties in the plan's order. */
static int by_order(const void *x, const void *y)
{
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	size_t a = orx_plan_item_at(sorting_plan, i)->order;
	size_t b = orx_plan_item_at(sorting_plan, j)->order;

	return a != b ? (a > b) - (a < b) : (i > j) - (i < j);
}

static int collect(panel **out, size_t *n, const orx_plan *plan,
		   const orx_model *m, const orx_model *after,
		   const plot_args *a)
{
	size_t room = 1,
	       *order = malloc((orx_plan_count(plan) + 1) * sizeof(size_t));
	panel *p;
	int rc = -1;

	for (size_t i = 0; i < orx_plan_count(plan); i++) {
		room += orx_plan_item_at(plan, i)->n_blocks + 1;
		if (order)
			order[i] = i;
	}
	p = order ? calloc(room, sizeof(*p)) : NULL;
	*n = 0;
	if (p) {
		sorting_plan = plan;
		qsort(order, orx_plan_count(plan), sizeof(size_t), by_order);
	}
	for (size_t i = 0; p && i < orx_plan_count(plan) && rc < 0; i++) {
		const orx_plan_item *it = orx_plan_item_at(plan, order[i]);
		size_t count = 1;
		double *before, *later = NULL;
		if ((it->role != ORX_ROLE_WEIGHT &&
		     it->role != ORX_ROLE_INPUT_WEIGHT &&
		     it->role != ORX_ROLE_RECURRENT_WEIGHT) ||
		    (a->layers && fnmatch(a->layers, it->name, 0) != 0))
			continue;
		for (size_t k = 0; k < it->ndim; k++)
			count *= (size_t)it->dims[k];
		if (!(before = plot_values_of(m, it, count, a->model, &rc))) {
			if (rc < 0) /* the plan's own tensor: always there */
				rc = cli_error(a->model, "%s: not found",
					       it->name);
			break;
		}
		if (after)
			later = plot_values_of(after, it, count, a->after, &rc);
		if (rc < 0)
			rc = add_panels(p, n, it, before, later, count);
		else
			free(before), free(later);
	}
	*out = p;
	free(order);
	if (!p)
		return cli_error(NULL, "out of memory");
	if (rc < 0 && *n == 0)
		rc = cli_error(a->model, "no weighted layer%s%s",
			       a->layers ? " matches " : "",
			       a->layers ? a->layers : "");
	return rc;
}

typedef struct {
	const panel *p;
	size_t n;
	bool after;
} svg_job;

static void svg_text(FILE *f, const void *ctx)
{
	const svg_job *j = ctx;

	svg(f, j->p, j->n, j->after);
}

int plot_layers(const plot_input *in)
{
	panel *p = NULL;
	size_t n = 0;
	int rc = collect(&p, &n, in->plan, in->m, in->after, in->a);

	if (rc < 0)
		rc = cli_write_text(in->a->out, svg_text,
				    &(svg_job){p, n, in->after != NULL});
	for (size_t i = 0; p && i < n + 1; i++) {
		free(p[i].before);
		free(p[i].after);
	}
	free(p);
	return rc;
}
