/* The random streams: counter-based SplitMix64 keyed by (seed, name),
 * with normals from a 256-layer ziggurat.
 *
 * Reproducing the bytes (also in docs/design.md):
 *   mix(z):  z = (z ^ z>>30) * 0xbf58476d1ce4e5b9;
 *            z = (z ^ z>>27) * 0x94d049bb133111eb;  return z ^ z>>31
 *   key   =  mix(mix(seed + G) ^ fnv1a64(name))      G = 0x9e3779b97f4a7c15
 *   Elements are taken in blocks of 65536: element k is in block
 *   b = k >> 16, whose draws are
 *            draw j = mix(s + (j + 1) * G),  s = mix(key ^ b *
 * 0xd1b54a32d192ed03) so that a block can be generated alone (threads) with the
 * same bytes. uniform  = (draw >> 11) * 2^-53, in [0, 1) normal   = ziggurat:
 * layer i = draw & 255, sign = bit 8, u = (draw >> 11) * 2^-53, x = u * X[i];
 * accepted when x < X[i+1]; layer 0 beyond R goes to Marsaglia's tail method,
 * the other layers to the wedge test with one more draw; a rejected draw starts
 * over with the next draw.
 */
#include "internal.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

/* Machine-specific copies of the vectorizable loops (ORX_VECTOR_CLONES):
 * the values are the same in every copy (integer arithmetic, exact
 * conversions). */
#define VECTOR_CLONES ORX_VECTOR_CLONES

#define GOLDEN UINT64_C(0x9e3779b97f4a7c15)
#define BLOCK_MIX UINT64_C(0xd1b54a32d192ed03)

static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

uint64_t orx_name_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a, 64 bits */

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * UINT64_C(0x100000001b3);
	return h;
}

uint64_t orx_stream_key(uint64_t seed, const char *name)
{
	return mix64(mix64(seed + GOLDEN) ^ orx_name_hash(name));
}

void orx_rng_block(orx_rng *r, uint64_t key, uint64_t block)
{
	r->state = mix64(key ^ (block * BLOCK_MIX));
	r->next = 0;
}

static inline uint64_t draw(orx_rng *r)
{
	return mix64(r->state + ++r->next * GOLDEN);
}

double orx_rng_uniform(orx_rng *r)
{
	return (double)(int64_t)(draw(r) >> 11) * 0x1p-53;
}

/*** @@ZIGGURAT: the tables and the sampler ***/

#define LAYERS 256
#define ZIG_R 3.6541528853610088
#define ZIG_V 0.00492867323399

static double zig_x[LAYERS + 1]; /* layer i spans widths zig_x[i] */
static double zig_f[LAYERS + 1]; /* exp(-x^2/2) at zig_x */
static pthread_once_t zig_once = PTHREAD_ONCE_INIT;

/* The wedge of layer i (x from zig_x[i+1] to zig_x[i]) lies on one side
 * of the chord between its corners where the curve is convex (x >= 1:
 * below it) or concave (x <= 1: above it), and at most zig_dev[i] away
 * from it, in units of the layer's height. A uniform clearly on one side
 * decides the wedge test without exp(); the margin is far wider than the
 * rounding of either computation, so the decision is always the one exp()
 * gives and the values do not change. */
enum { SHAPE_BOTH, SHAPE_CONVEX, SHAPE_CONCAVE };
static bool use_wedge_bounds = true; /* orx_rng_shortcuts */
static bool use_fast8 = false;	     /* set where the CPU has AVX-512 */
static unsigned char zig_shape[LAYERS];
static double zig_dev[LAYERS];
#define WEDGE_MARGIN 1e-9
#define WEDGE_SAMPLES                                                          \
	64 /* the distance's maximum is sampled; 1.25 times                    \
	    * it bounds it (the sampling error is ~1e-3) */

/* Where x is between the layer's corners: 0 at zig_x[i], 1 at zig_x[i+1]
 * (the chord's height there, in units of the layer's height). */
static double chord_at(unsigned i, double x)
{
	return (zig_x[i] - x) / (zig_x[i] - zig_x[i + 1]);
}

static void wedge_init(void)
{
	for (unsigned i = 1; i < LAYERS; i++) {
		double a = zig_x[i + 1], b = zig_x[i],
		       h = zig_f[i + 1] - zig_f[i], most = 0;

		zig_shape[i] = a >= 1	? SHAPE_CONVEX
			       : b <= 1 ? SHAPE_CONCAVE
					: SHAPE_BOTH;
		for (int k = 0; k <= WEDGE_SAMPLES; k++) {
			double x = a + (b - a) * k / WEDGE_SAMPLES,
			       off = fabs((exp(-0.5 * x * x) - zig_f[i]) / h -
					  chord_at(i, x));
			most = off > most ? off : most;
		}
		zig_dev[i] = 1.25 * most;
	}
}

static void zig_init(void)
{
	double f = exp(-0.5 * ZIG_R * ZIG_R);

	zig_x[0] = ZIG_V / f; /* base strip: rectangle plus tail */
	zig_x[1] = ZIG_R;
	for (int i = 1; i < LAYERS - 1; i++)
		zig_x[i + 1] = sqrt(-2 * log(ZIG_V / zig_x[i] +
					     exp(-0.5 * zig_x[i] * zig_x[i])));
	zig_x[LAYERS] = 0;
	for (int i = 0; i <= LAYERS; i++)
		zig_f[i] = exp(-0.5 * zig_x[i] * zig_x[i]);
}

/* Draws are made ahead in vectorized batches and consumed strictly in
 * order, so the values are those of drawing one at a time. */
#define AHEAD 256

typedef struct {
	orx_rng *r;
	uint64_t base; /* stream position of buf[0] */
	size_t pos, len;
	size_t need; /* values still to make: at least as many draws */
	uint64_t buf[AHEAD];
} draws;

VECTOR_CLONES
static void fill_draws(uint64_t *out, size_t n, uint64_t state, uint64_t first)
{
	for (size_t k = 0; k < n; k++)
		out[k] = mix64(state + (first + 1 + k) * GOLDEN);
}

static inline uint64_t take(draws *d)
{
	if (d->pos == d->len) {
		/* no more ahead than the values still to make need (in
		 * eights): draws made and not taken would be made again */
		size_t n = (d->need + 7) & ~(size_t)7;
		n = n < 8 ? 8 : n > AHEAD ? AHEAD : n;
		d->base += d->len;
		fill_draws(d->buf, n, d->r->state, d->base);
		d->pos = 0;
		d->len = n;
	}
	return d->buf[d->pos++];
}

static inline double take_uniform(draws *d)
{
	return (double)(int64_t)(take(d) >> 11) * 0x1p-53;
}

/* Marsaglia's method for the tail beyond ZIG_R. */
static double zig_tail(draws *d)
{
	double a, b;

	do {
		a = -log(1 - take_uniform(d)) / ZIG_R;
		b = -log(1 - take_uniform(d));
	} while (2 * b < a * a);
	return ZIG_R + a;
}

/* x with the sign bit of the draw u (bit 8) applied, without a branch. */
static inline double with_sign(double x, uint64_t u)
{
	uint64_t b;

	memcpy(&b, &x, sizeof(b));
	b ^= (u & 256) << 55;
	memcpy(&x, &b, sizeof(b));
	return x;
}

/* The rare path of draw u: the tail of layer 0 or a wedge. Returns the
 * sample, or NAN when the wedge test rejects it. */
__attribute__((noinline)) static double zig_slow(draws *d, uint64_t u,
						 unsigned i, double x)
{
	double v, t;

	if (i == 0)
		return with_sign(zig_tail(d), u);
	v = take_uniform(d);
	t = chord_at(i, x);
	if (!use_wedge_bounds) {
		/* the plain test below */
	} else if (zig_shape[i] == SHAPE_CONVEX) {
		if (v >= t + WEDGE_MARGIN)
			return NAN;
		if (v < t - zig_dev[i] - WEDGE_MARGIN)
			return with_sign(x, u);
	} else if (zig_shape[i] == SHAPE_CONCAVE) {
		if (v < t - WEDGE_MARGIN)
			return with_sign(x, u);
		if (v >= t + zig_dev[i] + WEDGE_MARGIN)
			return NAN;
	}
	if (zig_f[i] + v * (zig_f[i + 1] - zig_f[i]) < exp(-0.5 * x * x))
		return with_sign(x, u);
	return NAN;
}

/*** @@FAST8: eight fast-path draws at once (AVX-512) ***/

/* The common case, eight draws at a time, made with the same operations
 * in the same order as the scalar loop, so the values are the same. At
 * the first draw for the rare path (or beyond the cut) it stops, having
 * stored the values before it, and the scalar loop takes that draw.
 * Returns the draws used (each gave a value). */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_FAST8 1

__attribute__((target("avx512f,avx512dq"))) static size_t
fast8(double *out, size_t room, const uint64_t *u, size_t avail, double cut)
{
	const __m512i layer = _mm512_set1_epi64(255),
		      sign = _mm512_set1_epi64(256);
	const __m512d scale = _mm512_set1_pd(0x1p-53),
		      limit = _mm512_set1_pd(cut > 0 ? cut : INFINITY);
	size_t k = 0;

	for (; k + 8 <= room && k + 8 <= avail; k += 8) {
		__m512i v = _mm512_loadu_si512(u + k),
			i = _mm512_and_si512(v, layer);
		__m512d m = _mm512_cvtepi64_pd(_mm512_srli_epi64(v, 11));
		__m512d w = _mm512_i64gather_pd(i, zig_x, 8),
			next = _mm512_i64gather_pd(i, zig_x + 1, 8);
		__m512d x = _mm512_mul_pd(_mm512_mul_pd(m, scale), w);
		__mmask8 ok = _mm512_cmp_pd_mask(x, next, _CMP_LT_OQ) &
			      _mm512_cmp_pd_mask(x, limit, _CMP_LE_OQ);
		unsigned lanes = ok == 0xff ? 8 : (unsigned)__builtin_ctz(~ok);

		x = _mm512_castsi512_pd(_mm512_xor_si512(
			_mm512_castpd_si512(x),
			_mm512_slli_epi64(_mm512_and_si512(v, sign), 55)));
		_mm512_mask_storeu_pd(out + k, (__mmask8)((1u << lanes) - 1),
				      x);
		if (lanes < 8)
			return k + lanes; /* the draws before the rare one */
	}
	return k;
}
#endif

/* Whether this CPU runs fast8. */
static bool cpu_has_fast8(void)
{
#ifdef HAVE_FAST8
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512dq");
#else
	return false;
#endif
}

static void prepare(void)
{
	zig_init();
	wedge_init();
	use_fast8 = cpu_has_fast8();
}

void orx_rng_prepare(void)
{
	pthread_once(&zig_once, prepare);
}

bool orx_rng_shortcuts(bool on)
{
	bool was = use_wedge_bounds;

	orx_rng_prepare();
	use_wedge_bounds = on;
	use_fast8 = on && cpu_has_fast8();
	return was;
}

/* One draw of the sampler: its value into *out (returns 1), or none when
 * it is rejected (returns 0). The common case (about 99%) is one draw,
 * one table look-up and one comparison; the rest goes to zig_slow. */
static inline size_t normal_step(draws *d, double *out, double cut)
{
	uint64_t u = take(d);
	unsigned i = (unsigned)(u & 255);
	double x = (double)(int64_t)(u >> 11) * 0x1p-53 * zig_x[i];

	if (__builtin_expect(!(x < zig_x[i + 1]), 0)) {
		x = zig_slow(d, u, i, x);
		if (isnan(x))
			return 0;
		x = fabs(x);
	}
	if (cut > 0 && x > cut)
		return 0;
	*out = with_sign(x, u);
	return 1;
}

/* n normals into out, keeping those within [-cut, cut] (cut <= 0: all). */
static void normals(double *out, size_t n, orx_rng *r, double cut)
{
	draws d;
	size_t k = 0;

	d.r = r;
	d.base = r->next;
	d.pos = d.len = 0;
#ifdef HAVE_FAST8
	if (use_fast8) {
		while (k < n) {
			size_t done = fast8(out + k, n - k, d.buf + d.pos,
					    d.len - d.pos, cut);
			k += done;
			d.pos += done;
			d.need = n - k;
			if (k < n) /* the draw that stopped it, or a refill */
				k += normal_step(&d, out + k, cut);
		}
	}
#endif
	while (k < n) {
		d.need = n - k;
		k += normal_step(&d, out + k, cut);
	}
	r->next = d.base + d.pos;
}

double orx_rng_normal(orx_rng *r)
{
	double z;

	normals(&z, 1, r, 0);
	return z;
}

void orx_rng_fill_normal(double *out, size_t n, orx_rng *r)
{
	normals(out, n, r, 0);
}

void orx_rng_fill_trunc_normal(double *out, size_t n, orx_rng *r)
{
	normals(out, n, r, 2);
}

/* Counter-based draws are independent of each other, so this loop
 * vectorizes; the clones only change the instructions, never the values
 * (integer arithmetic and one exact scaling). */
VECTOR_CLONES
static void fill_uniform(double *out, size_t n, uint64_t state, uint64_t next)
{
	for (size_t k = 0; k < n; k++)
		out[k] = (double)(int64_t)(mix64(state +
						 (next + 1 + k) * GOLDEN) >>
					   11) *
			 0x1p-53;
}

/* (the clones' dispatcher is static: GCC would export a global one
 * whatever the build's visibility) */
void orx_rng_fill_uniform(double *out, size_t n, orx_rng *r)
{
	fill_uniform(out, n, r->state, r->next);
	r->next += n;
}
