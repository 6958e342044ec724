/* What plot's views share: the SVG head, XML text, nice ticks. */
#include "plot.h"

#include <math.h>
#include <stdio.h>

void plot_svg_begin(FILE *f, double width, double height, const char *style)
{
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
		"height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		"font-family=\"sans-serif\">\n<style>\n"
		".axis,.tick{stroke:#333;stroke-width:1}"
		".tl{font-size:10px;fill:#333}.al{font-size:10px;fill:#666}"
		".t1{font-size:12px;font-weight:bold;fill:#111}"
		".t2{font-size:10px;fill:#444}%s\n"
		"</style>\n<rect width=\"100%%\" height=\"100%%\" "
		"fill=\"white\"/>\n",
		width, height, width, height, style);
}

void plot_svg_end(FILE *f)
{
	fputs("</svg>\n", f);
}

void plot_xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				fputc(*s, f);
		}
	}
}

/* The nice step for a span covered by at most max ticks. */
static double nice_step(double span, size_t max)
{
	double raw = span / (double)(max - 1), mag = pow(10, floor(log10(raw)));

	for (int k = 0; k < 4; k++) {
		static const double nice[] = {1, 2, 5, 10};
		if (raw <= nice[k] * mag * (1 + 1e-9))
			return nice[k] * mag;
	}
	return 10 * mag;
}

size_t plot_ticks(double *out, size_t max, double lo, double hi, double *step)
{
	double s;
	size_t n = 0;

	if (max < 2)
		max = 2;
	if (!(hi > lo) || !isfinite(hi - lo)) {
		out[0] = lo;
		if (step)
			*step = 1;
		return 1;
	}
	s = nice_step(hi - lo, max);
	for (double k = ceil(lo / s - 1e-9); k * s <= hi + 1e-9 * s && n <= max;
	     k++)
		out[n++] = fabs(k) < 0.5 ? 0 : k * s;
	if (step)
		*step = s;
	return n;
}

double plot_nice_top(double hi, size_t max)
{
	double s;

	if (!(hi > 0) || !isfinite(hi))
		return 1;
	s = nice_step(hi, max);
	return ceil(hi / s - 1e-9) * s;
}

const char *plot_tick_label(char *buf, size_t size, double v, double step)
{
	int digits = step > 0 ? (int)ceil(-log10(step) - 1e-9) : 0;

	if (v == 0 || fabs(v) < step * 1e-6)
		snprintf(buf, size, "0");
	else if (fabs(v) >= 1e5 || fabs(v) < 1e-4)
		snprintf(buf, size, "%.3g", v);
	else
		snprintf(buf, size, "%.*f", digits > 0 ? digits : 0, v);
	return buf;
}

const char *plot_decade_label(char *buf, size_t size, int exponent)
{
	if (exponent >= 0 && exponent <= 4)
		snprintf(buf, size, "%.0f", pow(10, exponent));
	else if (exponent < 0 && exponent >= -3)
		snprintf(buf, size, "%.*f", -exponent, pow(10, exponent));
	else
		snprintf(buf, size, "1e%d", exponent);
	return buf;
}

void plot_axes(FILE *f, double pw, double ph)
{
	fprintf(f,
		"<line class=\"axis\" x1=\"0\" y1=\"%.2f\" x2=\"%.2f\" "
		"y2=\"%.2f\"/>\n<line class=\"axis\" x1=\"0\" y1=\"0\" "
		"x2=\"0\" y2=\"%.2f\"/>\n",
		ph, pw, ph, ph);
}

void plot_xtick(FILE *f, double x, double ph, double value, const char *label)
{
	fprintf(f,
		"<line class=\"tick\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
		"y2=\"%.2f\"/><text class=\"tl x\" data-value=\"%.17g\" "
		"x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n",
		x, ph, x, ph + 4, value, x, ph + 15, label);
}

void plot_ytick(FILE *f, double y, double value, const char *label)
{
	fprintf(f,
		"<line class=\"tick\" x1=\"-4\" y1=\"%.2f\" x2=\"0\" "
		"y2=\"%.2f\"/><text class=\"tl y\" data-value=\"%.17g\" "
		"x=\"-6\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
		y, y, value, y + 3, label);
}
