/* The random streams: counter-based SplitMix64 keyed by (seed, name),
 * with normals from a 256-layer ziggurat.
 *
 * Reproducing the bytes (also in the README):
 *   mix(z):  z = (z ^ z>>30) * 0xbf58476d1ce4e5b9;
 *            z = (z ^ z>>27) * 0x94d049bb133111eb;  return z ^ z>>31
 *   key   =  mix(mix(seed + G) ^ fnv1a64(name))      G = 0x9e3779b97f4a7c15
 *   Elements are taken in blocks of 65536: element k is in block
 *   b = k >> 16, whose draws are
 *            draw j = mix(s + (j + 1) * G),  s = mix(key ^ b * 0xd1b54a32d192ed03)
 *   so that a block can be generated alone (threads) with the same bytes.
 *   uniform  = (draw >> 11) * 2^-53, in [0, 1)
 *   normal   = ziggurat: layer i = draw & 255, sign = bit 8,
 *              u = (draw >> 11) * 2^-53, x = u * X[i]; accepted when
 *              x < X[i+1]; layer 0 beyond R goes to Marsaglia's tail
 *              method, the other layers to the wedge test with one more
 *              draw; a rejected draw starts over with the next draw.
 */
#include "internal.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

/* Machine-specific copies of the vectorizable loops; the values are the
 * same in every copy (integer arithmetic, exact conversions). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES                                                      \
	__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3",   \
				     "default")))
#else
#define VECTOR_CLONES
#endif

#define GOLDEN UINT64_C(0x9e3779b97f4a7c15)
#define BLOCK_MIX UINT64_C(0xd1b54a32d192ed03)

static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

uint64_t orx_stream_key(uint64_t seed, const char *name)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * UINT64_C(0x100000001b3);
	return mix64(mix64(seed + GOLDEN) ^ h);
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
		d->base += d->len;
		fill_draws(d->buf, AHEAD, d->r->state, d->base);
		d->pos = 0;
		d->len = AHEAD;
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
	if (i == 0)
		return with_sign(zig_tail(d), u);
	if (zig_f[i] + take_uniform(d) * (zig_f[i + 1] - zig_f[i]) <
	    exp(-0.5 * x * x))
		return with_sign(x, u);
	return NAN;
}

void orx_rng_prepare(void)
{
	pthread_once(&zig_once, zig_init);
}

/* n normals into out, keeping those within [-cut, cut] (cut <= 0: all).
 * The common case (about 99%) is one draw, one table look-up and one
 * comparison; the rest goes to zig_slow. */
static void normals(double *out, size_t n, orx_rng *r, double cut)
{
	draws d;
	size_t k = 0;

	d.r = r;
	d.base = r->next;
	d.pos = d.len = 0;
	while (k < n) {
		uint64_t u = take(&d);
		unsigned i = (unsigned)(u & 255);
		double x = (double)(int64_t)(u >> 11) * 0x1p-53 * zig_x[i];

		if (__builtin_expect(!(x < zig_x[i + 1]), 0)) {
			x = zig_slow(&d, u, i, x);
			if (isnan(x))
				continue;
			x = fabs(x);
		}
		if (cut > 0 && x > cut)
			continue;
		out[k++] = with_sign(x, u);
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
void orx_rng_fill_uniform(double *out, size_t n, orx_rng *r)
{
	uint64_t state = r->state, next = r->next;

	for (size_t k = 0; k < n; k++)
		out[k] = (double)(int64_t)(mix64(state + (next + 1 + k) * GOLDEN) >>
				  11) * 0x1p-53;
	r->next = next + n;
}
