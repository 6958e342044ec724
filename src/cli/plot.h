/* plot's three views (the weights layer by layer, the signal along
 * chains, the schemes for one layer) and what they share: the options,
 * SVG text and nice axis ticks. */
#ifndef ORX_PLOT_H
#define ORX_PLOT_H

#include "cli.h"

#include <stdio.h>

typedef struct {
	const char *model, *after, *layers, *out;
	cli_rules_list rules;
	bool signal, schemes, run;
} plot_args;

/* What a view draws: opened models, their rules; -1 when the SVG was
 * written, else the exit status after the error line. */
typedef struct {
	const plot_args *a;
	const orx_rules *rules;
	const orx_model *m, *after; /* after may be NULL */
	const orx_plan *plan;	    /* of m */
} plot_input;

int plot_layers(const plot_input *in);
int plot_signal(const plot_input *in);
int plot_schemes(const plot_input *in);

/* The n values item's layer sees in m (malloc'd; a quantized weight
 * dequantized), or NULL: not there, or (*rc set to the exit status after
 * the error line, naming path) unreadable. */
double *plot_values_of(const orx_model *m, const orx_plan_item *it, size_t n,
		       const char *path, int *rc);

/* The SVG document's head (its size, the shared style and the view's
 * own, a white background) and its end. */
void plot_svg_begin(FILE *f, double width, double height, const char *style);
void plot_svg_end(FILE *f);

/* The axis lines of a pw x ph plot (origin at its bottom left), and a
 * tick with its label on each: x at pixel x (the x axis at ph), y at
 * pixel y; data-value holds the value the tick stands for. */
void plot_axes(FILE *f, double pw, double ph);
void plot_xtick(FILE *f, double x, double ph, double value, const char *label);
void plot_ytick(FILE *f, double y, double value, const char *label);

/* s as XML character data or attribute text. */
void plot_xml_text(FILE *f, const char *s);

/* Axis ticks: the multiples of a step of 1, 2 or 5 times a power of ten
 * that lie in [lo, hi], at most max (>= 2) of them; into out (max + 1
 * room), their count. *step (may be NULL) gets the step. */
size_t plot_ticks(double *out, size_t max, double lo, double hi, double *step);

/* hi rounded up to a multiple of the step plot_ticks would choose for
 * [0, hi] with max ticks: an axis that ends on a tick. */
double plot_nice_top(double hi, size_t max);

/* A tick's label: %g of a value rounded to its step's digits. */
const char *plot_tick_label(char *buf, size_t size, double v, double step);

/* The label of a power of ten on a log axis: "1", "10", "0.01", "1e-6". */
const char *plot_decade_label(char *buf, size_t size, int exponent);

#endif
