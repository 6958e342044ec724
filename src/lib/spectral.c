/* Fixed transforms found by their values, never by names: DFT bases
 * (an STFT as a Conv or a MatMul), triangular filter banks (mel and
 * others), DCT matrices (MFCC), and windows or smoothing kernels. Each
 * test fits the whole tensor to the transform's formula with few free
 * values (a window shared by every row, one scale per row) and accepts
 * only a fit within the tolerance of the tensor's dtype everywhere: a
 * random or trained tensor leaves a residual as large as itself.
 *
 * The functions take the tensor as m functions of n taps each, row
 * after row: a Conv's output channels, a MatMul's columns (the caller
 * orients it). */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

static double max_abs(const double *v, uint64_t n)
{
	double m = 0;

	for (uint64_t k = 0; k < n; k++)
		m = fabs(v[k]) > m ? fabs(v[k]) : m;
	return m;
}

/*** @@WINDOWS: naming a window ***/

typedef struct {
	const char *name;
	double a0, a1, a2; /* a0 - a1 cos(x) + a2 cos(2x) */
} window_family;

static const window_family families[] = {
	{"rectangular", 1, 0, 0},
	{"Hann", 0.5, 0.5, 0},
	{"Hamming", 0.54, 0.46, 0},
	{"Blackman", 0.42, 0.5, 0.08},
};

/* Whether w[at .. at + len) is a times family's window of len points
 * (periodic: a period of len, else symmetric), zero around it, at every
 * tap known says is known (NULL: all). */
static bool is_window(const double *w, const bool *known, uint64_t n,
		      uint64_t at, uint64_t len, const window_family *f,
		      bool periodic, double tol)
{
	double num = 0, den = 0, a, worst = 0, top = max_abs(w, n);
	double period = periodic ? (double)len : (double)len - 1;

	if (period <= 0 || top == 0 || at + len > n)
		return false;
	for (uint64_t t = 0; t < len; t++) {
		double x = 2 * PI * (double)t / period,
		       c = f->a0 - f->a1 * cos(x) + f->a2 * cos(2 * x);
		if (!known || known[at + t])
			num += w[at + t] * c, den += c * c;
	}
	if (den == 0)
		return false;
	a = num / den;
	for (uint64_t t = 0; t < n; t++) {
		double c = 0;
		if (t >= at && t < at + len) {
			double x = 2 * PI * (double)(t - at) / period;
			c = a * (f->a0 - f->a1 * cos(x) + f->a2 * cos(2 * x));
		}
		if (!known || known[t])
			worst = fmax(worst, fabs(w[t] - c));
	}
	return worst <= tol * top;
}

/* The name of window w of n taps ("Hann window", "Hann window of 400
 * points" when zero-padded about the centre), or "a window of its own".
 * Over the support [a, b) of its known taps, the candidates in order: a
 * periodic window of b - a + 1 points from a - 1 (its first value 0, as
 * a periodic Hann's), a symmetric one of b - a + 2 (both ends 0), then
 * one of b - a points from a, periodic and symmetric. */
static void window_name(char *out, size_t len, const double *w,
			const bool *known, uint64_t n, double tol)
{
	uint64_t a = 0, b = n;

	while (a < n && (w[a] == 0 || (known && !known[a])))
		a++;
	while (b > a && (w[b - 1] == 0 || (known && !known[b - 1])))
		b--;
	for (size_t i = 0; a < b && i < sizeof(families) / sizeof(*families);
	     i++) {
		struct {
			uint64_t at, len;
			bool periodic;
		} c[4] = {{a - (a > 0), b - a + 1, true},
			  {a - (a > 0), b - a + 2, false},
			  {a, b - a, true},
			  {a, b - a, false}};
		for (int k = 0; k < 4; k++) {
			if (!is_window(w, known, n, c[k].at, c[k].len,
				       &families[i], c[k].periodic, tol))
				continue;
			if (c[k].len >= n)
				snprintf(out, len, "%s window",
					 families[i].name);
			else
				snprintf(out, len, "%s window of %llu points",
					 families[i].name,
					 (unsigned long long)c[k].len);
			return;
		}
	}
	snprintf(out, len, "a window of its own");
}

/*** @@DFT: windowed Fourier bases ***/

/* How rows map to frequencies and parts. */
typedef enum {
	REAL,	     /* row j: cos at frequency j */
	IMAGINARY,   /* row j: sign * sin at frequency j */
	STACKED,     /* the real rows, then the imaginary ones */
	INTERLEAVED, /* real and imaginary row of each frequency */
	LAYOUTS
} layout;

static const char *const layout_names[LAYOUTS] = {
	"real part", "imaginary part", "real and imaginary parts, stacked",
	"real and imaginary parts, interleaved"};

typedef struct {
	layout lay;
	double sign;
	uint64_t m, n;
	const double *cs, *sn; /* cos, sin of 2 pi i / n */
} basis;

/* Row j's basis function at tap t. */
static double basis_at(const basis *b, uint64_t j, uint64_t t)
{
	uint64_t f = j;
	bool imag = false;

	if (b->lay == IMAGINARY)
		imag = true;
	else if (b->lay == STACKED)
		imag = j >= b->m / 2, f = imag ? j - b->m / 2 : j;
	else if (b->lay == INTERLEAVED)
		imag = j & 1, f = j / 2;
	f = (f * t) % b->n;
	return imag ? b->sign * b->sn[f] : b->cs[f];
}

/* The frequencies the rows hold under b: each below n, at least 3 of
 * them above 0. */
static bool fits_frequencies(const basis *b)
{
	uint64_t k =
		b->lay == STACKED || b->lay == INTERLEAVED ? b->m / 2 : b->m;

	if ((b->lay == STACKED || b->lay == INTERLEAVED) && b->m % 2)
		return false;
	return k >= 4 && k <= b->n;
}

/* The window shared by every row of f (its largest magnitude top) under
 * b, into w (known: the taps where some row's basis function is not 0);
 * whether every row is the window times its basis function within tol. */
static bool fit_dft(double *w, bool *known, const double *f, double top,
		    const basis *b, double tol)
{
	for (uint64_t t = 0; t < b->n; t++) {
		double num = 0, den = 0;
		for (uint64_t j = 0; j < b->m; j++) {
			double s = basis_at(b, j, t);
			num += f[j * b->n + t] * s, den += s * s;
		}
		known[t] = den > 1e-9;
		w[t] = known[t] ? num / den : 0;
	}
	if (max_abs(w, b->n) <= tol * top)
		return false;
	for (uint64_t j = 0; j < b->m; j++)
		for (uint64_t t = 0; t < b->n; t++)
			if (fabs(f[j * b->n + t] - w[t] * basis_at(b, j, t)) >
			    tol * top)
				return false;
	return true;
}

/* The finders: f, m functions of n taps, top its largest magnitude; 1
 * when found (out says what), 0 when not, ORX_ENOMEM. */
static int find_dft(char *out, size_t len, const double *f, double top,
		    uint64_t m, uint64_t n, double tol)
{
	double *cs = malloc(n * sizeof(double)), *sn = malloc(n * sizeof(*sn)),
	       *w = malloc(n * sizeof(*w));
	bool *known = malloc(n * sizeof(*known));
	int found = cs && sn && w && known ? 0 : ORX_ENOMEM;

	for (uint64_t i = 0; !found && i < n; i++)
		cs[i] = cos(2 * PI * (double)i / (double)n),
		sn[i] = sin(2 * PI * (double)i / (double)n);
	for (int lay = 0; lay < LAYOUTS && !found; lay++)
		for (int s = 0; s < (lay == REAL ? 1 : 2) && !found; s++) {
			basis b = {(layout)lay, s ? 1 : -1, m, n, cs, sn};
			char win[64];
			if (!fits_frequencies(&b) ||
			    !fit_dft(w, known, f, top, &b, tol))
				continue;
			window_name(win, sizeof(win), w, known, n, tol);
			snprintf(
				out, len,
				"DFT basis: %llu points, %llu bins (%s), %s",
				(unsigned long long)n,
				(unsigned long long)(lay == STACKED ||
								     lay == INTERLEAVED
							     ? m / 2
							     : m),
				layout_names[lay], win);
			found = true;
		}
	free(cs);
	free(sn);
	free(w);
	free(known);
	return found;
}

/*** @@FILTERBANKS: triangular filters ***/

typedef struct {
	uint64_t a, b, peak; /* support [a, b), its largest value */
} support;

/* Filter row of n taps: one run of values above floor, rising to its
 * peak and falling, each side a straight line within tol. */
static bool triangular(support *s, const double *row, uint64_t n, double floor,
		       double tol)
{
	uint64_t a = 0, b, p;

	while (a < n && row[a] <= floor)
		a++;
	if (a == n) {
		s->a = s->b = s->peak = n; /* empty */
		return true;
	}
	for (b = a, p = a; b < n && row[b] > floor; b++)
		p = row[b] > row[p] ? b : p;
	for (uint64_t t = b; t < n; t++)
		if (row[t] > floor)
			return false; /* a second run */
	for (uint64_t t = a + 1; t < b; t++)
		if (t <= p ? row[t] < row[t - 1] - tol
			   : row[t] > row[t - 1] + tol)
			return false;
	for (uint64_t t = a + 1; t + 1 < b; t++)
		if ((t + 1 < p || t > p + 1) &&
		    fabs(row[t - 1] - 2 * row[t] + row[t + 1]) > tol)
			return false;
	*s = (support){a, b, p};
	return true;
}

static int find_filterbank(char *out, size_t len, const double *f, double top,
			   uint64_t m, uint64_t n, double tol)
{
	double floor = tol * top;
	uint64_t filters = 0, last = 0, first = UINT64_MAX, *cover;
	bool ok = m >= 4 && n >= 8 && top > 0;

	for (uint64_t k = 0; ok && k < m * n; k++)
		ok = f[k] >= -floor;
	if (!ok)
		return 0;
	if (!(cover = calloc(n, sizeof(*cover))))
		return ORX_ENOMEM;
	for (uint64_t j = 0; ok && j < m; j++) {
		support s;
		if (!(ok = triangular(&s, f + j * n, n, floor, 4 * floor)))
			break;
		if (s.a == n)
			continue;
		ok = filters == 0 || s.peak >= last;
		last = s.peak, first = filters++ ? first : s.peak;
		for (uint64_t t = s.a; t < s.b; t++)
			ok &= ++cover[t] <= 2;
	}
	free(cover);
	if (!ok || filters < 4 || 2 * filters < m || last <= first)
		return 0;
	snprintf(out, len,
		 "filter bank: %llu triangular filters over %llu bins",
		 (unsigned long long)m, (unsigned long long)n);
	return 1;
}

/*** @@DCT ***/

static int find_dct(char *out, size_t len, const double *f, double top,
		    uint64_t m, uint64_t n, double tol)
{
	double c0 = 0, c1 = 0;

	if (m < 4 || m > n || n < 8 || top == 0)
		return 0;
	for (uint64_t k = 0; k < m; k++) {
		double num = 0, den = 0, c;
		for (uint64_t t = 0; t < n; t++) {
			double b = cos(PI * ((double)t + 0.5) * (double)k /
				       (double)n);
			num += f[k * n + t] * b, den += b * b;
		}
		c = num / den;
		if (fabs(c) * sqrt(den) <= tol * top)
			return 0; /* a row of nothing */
		for (uint64_t t = 0; t < n; t++)
			if (fabs(f[k * n + t] -
				 c * cos(PI * ((double)t + 0.5) * (double)k /
					 (double)n)) > tol * top)
				return 0;
		c0 = k == 0 ? c : c0, c1 = k == 1 ? c : c1;
	}
	snprintf(out, len, "DCT-II matrix: %llu coefficients of %llu inputs%s",
		 (unsigned long long)m, (unsigned long long)n,
		 fabs(c0 - sqrt(1.0 / (double)n)) <= 1e-2 * c0 &&
				 fabs(c1 - sqrt(2.0 / (double)n)) <= 1e-2 * c1
			 ? ", orthonormal"
			 : "");
	return 1;
}

/*** @@KERNELS: windows and smoothing kernels ***/

int orx_fixed_kernel(char *out, size_t len, const double *f, uint64_t m,
		     uint64_t n, double tol)
{
	double top = max_abs(f, m * n), lo = top;
	char win[64];

	if (n < 3 || top == 0)
		return 0;
	for (uint64_t k = 0; k < m * n; k++)
		if (f[k] < -tol * top || fabs(f[k] - f[k % n]) > tol * top)
			return 0; /* negative, or rows that differ */
	for (uint64_t t = 0; t < n; t++) {
		if (fabs(f[t] - f[n - 1 - t]) > tol * top)
			return 0; /* not symmetric */
		lo = fmin(lo, f[t]);
	}
	if (top - lo <= tol * top)
		return 0; /* constant: check's business */
	window_name(win, sizeof(win), f, NULL, n, tol);
	if (strcmp(win, "a window of its own") != 0)
		snprintf(out, len, "%s", win);
	else
		snprintf(out, len, "smoothing kernel of %llu taps",
			 (unsigned long long)n);
	return 1;
}

int orx_fixed_transform(char *out, size_t len, const double *f, uint64_t m,
			uint64_t n, double tol)
{
	double top;
	int rc;

	if (m * n < 32 || n < 8)
		return 0;
	top = max_abs(f, m * n); /* once: every finder's scale */
	if ((rc = find_dft(out, len, f, top, m, n, tol)) != 0 ||
	    (rc = find_filterbank(out, len, f, top, m, n, tol)) != 0)
		return rc;
	return find_dct(out, len, f, top, m, n, tol);
}
