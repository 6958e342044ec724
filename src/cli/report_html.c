/* batch --report FILE.html: one self-contained page (no network access:
 * its style, script and plots are inline). A table of the models that
 * sorts by any column, and for each model its findings and two small
 * plots drawn from check's measures: each layer's gain (the std it
 * passes on, sqrt(fan_in * variance * factor), 1 keeping the signal) and
 * the predicted scale of the signal along the model's longest chain. */
#include "report_html.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_W 300
#define PLOT_H 110
#define PLOT_LEFT 34
#define PLOT_TOP 18
#define DECADES 3.0 /* the axes span 10^-3 .. 10^3 */

/*** @@VIEW: what a model's plots need, taken from its check ***/

/* Room for one more of size bytes in *v (n in use of *cap). */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? 2 * *cap : 32;
	void *g;

	if (n < *cap)
		return 0;
	if (!(g = realloc(*v, c * size)))
		return -1;
	*v = g, *cap = c;
	return 0;
}

/* The longest chain's index, or SIZE_MAX without chains. */
static size_t longest_chain(const orx_check *check)
{
	size_t best = SIZE_MAX;

	for (size_t i = 0; i < orx_check_chain_count(check); i++)
		if (best == SIZE_MAX ||
		    orx_check_chain_at(check, i)->layers >
			    orx_check_chain_at(check, best)->layers)
			best = i;
	return best;
}

int html_view_of(html_view *out, const orx_check *check)
{
	size_t cap = 0, scap = 0, longest = longest_chain(check);
	const orx_signal_step *s;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; (s = orx_check_layer_at(check, i)); i++) {
		if (s->fan_in <= 0 || !isfinite(s->forward))
			continue;
		if (grow((void **)&out->layers, &cap, out->n_layers,
			 sizeof(*out->layers)))
			goto oom;
		out->layers[out->n_layers++] =
			(html_layer){sqrt(s->forward), s->problem >= 0};
	}
	for (size_t k = 0; longest != SIZE_MAX &&
			   (s = orx_check_chain_step(check, longest, k));
	     k++) {
		if (grow((void **)&out->signal, &scap, out->n_signal,
			 sizeof(*out->signal)))
			goto oom;
		out->signal[out->n_signal++] = sqrt(s->forward);
	}
	return 0;
oom:
	html_view_free(out);
	return -1;
}

void html_view_free(html_view *v)
{
	free(v->layers);
	free(v->signal);
	memset(v, 0, sizeof(*v));
}

/* v rounded to 4 significant digits: the lines stay short. */
static json_t *short_real(double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.4g", v);
	return json_real(isfinite(v) ? strtod(buf, NULL) : 0);
}

json_t *html_view_json(const html_view *v)
{
	json_t *gain = json_array(), *flagged = json_array(),
	       *signal = json_array();

	for (size_t i = 0; i < v->n_layers; i++) {
		json_array_append_new(gain, short_real(v->layers[i].gain));
		if (v->layers[i].flagged)
			json_array_append_new(flagged,
					      json_integer((json_int_t)i));
	}
	for (size_t i = 0; i < v->n_signal; i++)
		json_array_append_new(signal, short_real(v->signal[i]));
	return json_pack("{s:o, s:o, s:o}", "gain", gain, "flagged", flagged,
			 "signal", signal);
}

int html_view_from_json(html_view *out, json_t *plots)
{
	json_t *gain = json_object_get(plots, "gain"),
	       *flagged = json_object_get(plots, "flagged"),
	       *signal = json_object_get(plots, "signal");
	size_t n = json_array_size(gain), m = json_array_size(signal);

	memset(out, 0, sizeof(*out));
	if (!json_is_array(gain) || !json_is_array(flagged) ||
	    !json_is_array(signal))
		return -1;
	out->layers = calloc(n + 1, sizeof(*out->layers));
	out->signal = calloc(m + 1, sizeof(*out->signal));
	if (!out->layers || !out->signal) {
		html_view_free(out);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		out->layers[i].gain =
			json_number_value(json_array_get(gain, i));
	for (size_t k = 0; k < json_array_size(flagged); k++) {
		json_int_t i = json_integer_value(json_array_get(flagged, k));
		if (i >= 0 && (size_t)i < n)
			out->layers[i].flagged = true;
	}
	for (size_t i = 0; i < m; i++)
		out->signal[i] = json_number_value(json_array_get(signal, i));
	out->n_layers = n, out->n_signal = m;
	return 0;
}

/*** @@PLOTS ***/

static void html_text(FILE *f, const char *s)
{
	plot_xml_text(f, s);
}

/* y of a positive value on the log axis (clamped to its ends). */
static double log_y(double v)
{
	double d = v > 0 ? log10(v) : -DECADES;

	d = d < -DECADES ? -DECADES : d > DECADES ? DECADES : d;
	return PLOT_TOP +
	       (DECADES - d) / (2 * DECADES) * (PLOT_H - 2 * PLOT_TOP);
}

static double x_of(size_t i, size_t n)
{
	double w = PLOT_W - PLOT_LEFT - 8;

	return PLOT_LEFT + (n > 1 ? w * (double)i / (double)(n - 1) : w / 2);
}

static void plot_frame(FILE *f, const char *cls, const char *title)
{
	fprintf(f,
		"<svg class=\"%s\" width=\"%d\" height=\"%d\" viewBox=\"0 0 "
		"%d %d\" role=\"img\"><title>",
		cls, PLOT_W, PLOT_H, PLOT_W, PLOT_H);
	html_text(f, title);
	fprintf(f, "</title><text x=\"%d\" y=\"12\">", PLOT_LEFT);
	html_text(f, title);
	fputs("</text>", f);
	for (int d = -2; d <= 2; d += 2)
		fprintf(f,
			"<text class=\"t\" x=\"%d\" y=\"%.0f\">%s</text>"
			"<path class=\"%s\" d=\"M%d %.0fH%d\"/>",
			PLOT_LEFT - 3, log_y(pow(10, d)) + 3,
			d == -2	 ? "0.01"
			: d == 0 ? "1"
				 : "100",
			d ? "g" : "one", PLOT_LEFT, log_y(pow(10, d)),
			PLOT_W - 8);
}

/* Each layer's gain as a dot, the flagged ones red (at most MAX_DOTS
 * dots: beyond, each dot stands for the layer farthest from 1 among
 * those it covers). */
#define MAX_DOTS 400
/* |log10| of a gain: how far from keeping the signal. */
static double off(double gain)
{
	return fabs(log10(gain > 0 ? gain : 1e-300));
}

static void gain_dots(FILE *f, const html_view *v, bool flagged)
{
	size_t n = v->n_layers < MAX_DOTS ? v->n_layers : MAX_DOTS;

	fprintf(f, "<path class=\"%s\" d=\"", flagged ? "bad" : "dot");
	for (size_t d = 0; d < n; d++) {
		size_t lo = d * v->n_layers / n, hi = (d + 1) * v->n_layers / n,
		       at = lo;
		bool any = false;
		for (size_t i = lo; i < hi; i++) {
			any |= v->layers[i].flagged;
			if (off(v->layers[i].gain) > off(v->layers[at].gain))
				at = i;
		}
		if (any == flagged)
			fprintf(f, "M%.0f %.0fh0", x_of(d, n),
				log_y(v->layers[at].gain));
	}
	fputs("\"/>", f);
}

static void weights_plot(FILE *f, const html_view *v)
{
	plot_frame(f, "weights", "each layer's gain (1 keeps the signal)");
	gain_dots(f, v, false);
	gain_dots(f, v, true);
	fputs("</svg>", f);
}

static void signal_plot(FILE *f, const html_view *v)
{
	size_t n = v->n_signal + 1; /* depth 0: the input, at 1 */

	plot_frame(f, "signal", "predicted signal scale, longest chain");
	fputs("<path class=\"line\" d=\"", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%c%.0f %.0f", i ? 'L' : 'M', x_of(i, n),
			log_y(i ? v->signal[i - 1] : 1.0));
	fputs("\"/></svg>", f);
}

/*** @@PAGE ***/

static const char style[] =
	"body{font:14px system-ui,sans-serif;margin:24px;color:#222}"
	"table{border-collapse:collapse}th,td{padding:3px 10px;border-bottom:"
	"1px solid #ddd;text-align:right}th{cursor:pointer;background:#f4f4f4;"
	"user-select:none}th:first-child,td:first-child{text-align:left}"
	"th[data-dir=asc]::after{content:' \\25B2'}th[data-dir=desc]::after{"
	"content:' \\25BC'}.failed{color:#b00}.error{color:#b00}.warning{"
	"color:#a60}.note{color:#555}section{margin:18px 0;padding-top:6px;"
	"border-top:1px solid #ccc}h2{font-size:15px;margin:4px 0}ul{margin:"
	"4px 0}svg{margin-right:16px;font-size:10px}svg .t{text-anchor:end}"
	"svg .g{stroke:#eee}svg .one{stroke:#888;stroke-dasharray:3 3}"
	"svg .dot{stroke:#1f5fbf;stroke-width:4;stroke-linecap:round}svg .bad{"
	"stroke:#c00;stroke-width:5;stroke-linecap:round}svg .line{fill:none;"
	"stroke:#1f5fbf;stroke-width:1.5}";

/* Click a heading to sort by it (again: the other way); #sort=K or
 * #sort=K-desc in the address sorts by column K on opening. */
static const char script[] =
	"(function(){var t=document.getElementById('models');"
	"var hs=t.tHead.rows[0].cells;"
	"function key(r,i){var c=r.cells[i];return c.dataset.v!==undefined?"
	"parseFloat(c.dataset.v):c.textContent}"
	"function sortBy(i,desc){var b=t.tBodies[0],rs=Array.prototype.slice."
	"call(b.rows);rs.sort(function(x,y){var a=key(x,i),c=key(y,i),"
	"d=typeof a==='number'?a-c:a.localeCompare(c);return desc?-d:d});"
	"rs.forEach(function(r){b.appendChild(r)});for(var k=0;k<hs.length;"
	"k++)delete hs[k].dataset.dir;hs[i].dataset.dir=desc?'desc':'asc'}"
	"Array.prototype.forEach.call(hs,function(h,i){h.addEventListener("
	"'click',function(){sortBy(i,h.dataset.dir==='asc')})});"
	"var m=/^#sort=(\\d+)(-desc)?$/.exec(location.hash);"
	"if(m&&+m[1]<hs.length)sortBy(+m[1],!!m[2]);"
	"document.body.dataset.ready='1'})();";

static void count_severities(size_t out[3], const html_row *r)
{
	out[0] = out[1] = out[2] = 0;
	for (size_t k = 0; k < r->n_findings; k++)
		out[r->findings[k].severity]++;
}

static void table_row(FILE *f, const html_row *r, size_t i)
{
	size_t sev[3];

	count_severities(sev, r);
	fprintf(f, "<tr><td><a href=\"#m%zu\">", i);
	html_text(f, r->model);
	fprintf(f, "</a></td><td class=\"%s\">%s</td>",
		r->error ? "failed" : "ok", r->error ? "failed" : "ok");
	fprintf(f,
		"<td data-v=\"%zu\">%zu</td><td data-v=\"%zu\">%zu</td>"
		"<td data-v=\"%zu\">%zu</td><td data-v=\"%zu\">%zu</td>"
		"<td data-v=\"%zu\">%zu</td><td "
		"data-v=\"%.3f\">%.2f</td></tr>\n",
		r->tensors, r->tensors, r->kept, r->kept, sev[0], sev[0],
		sev[1], sev[1], sev[2], sev[2], r->seconds, r->seconds);
}

static void finding_item(FILE *f, const orx_finding *x)
{
	fprintf(f, "<li class=\"%s\">%s: ", orx_severity_name(x->severity),
		orx_severity_name(x->severity));
	html_text(f, x->name);
	fprintf(f, ": %s", orx_problem_name(x->problem));
	if (!isnan(x->std))
		fprintf(f, " (std %.4g, expected %.4g, ratio %.3g)", x->std,
			x->expected_std, x->ratio);
	fputs("</li>", f);
}

/* The layers flagged for their chain's signal, one line per problem and
 * severity: their names (their ratios are the weights plot's dots). */
static void chain_items(FILE *f, const html_row *r)
{
	for (int sev = 0; sev < 3; sev++)
		for (int p = 0; p <= ORX_PROBLEM_SATURATED; p++) {
			size_t n = 0, done = 0;
			for (size_t k = 0; k < r->n_findings; k++)
				n += r->findings[k].by_signal ==
					     ORX_VIA_SIGNAL &&
				     (int)r->findings[k].severity == sev &&
				     (int)r->findings[k].problem == p;
			if (!n)
				continue;
			fprintf(f,
				"<li class=\"%s\">%s: %s for their chain (%zu "
				"layers): ",
				orx_severity_name((orx_severity)sev),
				orx_severity_name((orx_severity)sev),
				orx_problem_name((orx_problem)p), n);
			for (size_t k = 0; k < r->n_findings; k++) {
				const orx_finding *x = &r->findings[k];
				if (x->by_signal != ORX_VIA_SIGNAL ||
				    (int)x->severity != sev ||
				    (int)x->problem != p)
					continue;
				if (done++)
					fputs(", ", f);
				html_text(f, x->name);
			}
			fputs("</li>", f);
		}
}

static void findings_list(FILE *f, const html_row *r)
{
	fputs("<ul>", f);
	for (size_t k = 0; k < r->n_findings; k++)
		if (r->findings[k].by_signal != ORX_VIA_SIGNAL)
			finding_item(f, &r->findings[k]);
	chain_items(f, r);
	fputs("</ul>", f);
}

static void model_section(FILE *f, const html_row *r, size_t i)
{
	fprintf(f, "<section id=\"m%zu\"><h2>", i);
	html_text(f, r->model);
	fputs("</h2>", f);
	if (r->error) {
		fputs("<p class=\"failed\">", f);
		html_text(f, r->error);
		fputs("</p>", f);
	} else if (!r->n_findings) {
		fputs("<p>no findings</p>", f);
	} else {
		findings_list(f, r);
	}
	if (r->view && (r->view->n_layers || r->view->n_signal)) {
		fputs("<div class=\"plots\">", f);
		weights_plot(f, r->view);
		signal_plot(f, r->view);
		fputs("</div>", f);
	}
	fputs("</section>\n", f);
}

static void page_head(FILE *f, const html_row *rows, size_t n, bool check)
{
	size_t failed = 0, sev[3] = {0}, one[3];

	for (size_t i = 0; i < n; i++) {
		failed += rows[i].error != NULL;
		count_severities(one, &rows[i]);
		for (int s = 0; s < 3; s++)
			sev[s] += one[s];
	}
	fprintf(f,
		"<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
		"charset=\"utf-8\"><title>onnx-reinit report</title><style>%s"
		"</style></head>\n<body><h1>onnx-reinit: %s</h1><p>%zu models, "
		"%zu failed; %zu errors, %zu warnings, %zu notes</p>\n",
		style, check ? "check" : "re-initialization", n, failed, sev[0],
		sev[1], sev[2]);
	fprintf(f,
		"<table id=\"models\"><thead><tr><th>model</th><th>status</th>"
		"<th>%s</th><th>kept</th><th>errors</th><th>warnings</th>"
		"<th>notes</th><th>seconds</th></tr></thead><tbody>\n",
		check ? "decided" : "re-initialized");
}

void html_report_write(FILE *f, const html_row *rows, size_t n, bool check)
{
	page_head(f, rows, n, check);
	for (size_t i = 0; i < n; i++)
		table_row(f, &rows[i], i);
	fputs("</tbody></table>\n", f);
	for (size_t i = 0; i < n; i++)
		model_section(f, &rows[i], i);
	fprintf(f, "<script>%s</script></body></html>\n", script);
}
