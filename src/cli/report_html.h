/* batch --report FILE.html: the page (report_html.c). */
#ifndef ORX_REPORT_HTML_H
#define ORX_REPORT_HTML_H

#include "plot.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* A layer as the weights plot draws it: the std it passes on relative
 * to its input's (sqrt(fan_in * variance * factor)), and whether check
 * flags it. */
typedef struct {
	double gain;
	bool flagged;
} html_layer;

/* What a model's plots need, taken from its check: every weighted layer
 * with fans, and the predicted scale of the signal after each layer of
 * the longest chain (relative to its input). */
typedef struct {
	html_layer *layers;
	size_t n_layers;
	double *signal;
	size_t n_signal;
} html_view;

/* The view of check (its arrays malloc'd); -1 when out of memory. */
int html_view_of(html_view *out, const orx_check *check);
void html_view_free(html_view *v);

/* The view as a report line's "plots" ({"gain": [...], "flagged": [the
 * flagged layers' indices], "signal": [...]}, 4 significant digits), and
 * back (-1: not such an object, or out of memory). */
json_t *html_view_json(const html_view *v);
int html_view_from_json(html_view *out, json_t *plots);

/* A model of the page: error NULL when it was processed; view may be
 * NULL (then no plots). */
typedef struct {
	const char *model, *error;
	const orx_finding *findings;
	size_t n_findings;
	size_t tensors, kept; /* the plan's: decided, and left alone */
	double seconds;
	const html_view *view;
} html_row;

/* The page of n models; check: the models were checked, not
 * re-initialized (the column names say which). */
void html_report_write(FILE *f, const html_row *rows, size_t n, bool check);

#endif
