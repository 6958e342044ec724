/* Quantized weights: drawn as their float twin would be, quantized as a
 * quantizer would quantize it, and read back dequantized. */
#include "quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*** @@LAYOUT: groups, codes and zero points against the twin ***/

/* The twin's quantized axis: its length, the elements after it, its
 * blocks (per axis: blocks of 1), and the elements of the twin. */
typedef struct {
	uint64_t dim, inner, block, blocks, n;
} shape;

static void shape_of(shape *s, const orx_quant *q)
{
	int axis = q->ndim ? q->axis : 0;

	s->n = orx_dims_count(q->dims, q->ndim);
	s->dim = q->ndim ? (uint64_t)q->dims[axis] : 1;
	s->inner = q->ndim ? orx_dims_count(q->dims + axis + 1,
					    q->ndim - (size_t)axis - 1)
			   : 1;
	s->block = q->gran == ORX_QGRAN_BLOCK ? (uint64_t)q->block : 1;
	s->blocks = (s->dim + s->block - 1) / s->block;
}

uint64_t orx_quant_groups(const orx_quant *q)
{
	shape s;

	shape_of(&s, q);
	if (q->gran == ORX_QGRAN_TENSOR)
		return 1;
	if (q->gran == ORX_QGRAN_AXIS)
		return s.dim;
	return s.dim && s.inner ? s.n / (s.dim * s.inner) * s.blocks * s.inner
				: 0;
}

/* A twin element's coordinates, stepped without dividing: its index
 * after the axis (in), on the axis (a: block ab, a_in within it), and
 * before it (outer). */
typedef struct {
	uint64_t e, in, a, ab, a_in, outer;
} cursor;

static void cursor_at(cursor *c, const shape *s, uint64_t e)
{
	c->e = e;
	c->in = e % s->inner;
	c->a = e / s->inner % s->dim;
	c->outer = e / (s->inner * s->dim);
	c->ab = c->a / s->block;
	c->a_in = c->a % s->block;
}

static inline void cursor_next(cursor *c, const shape *s)
{
	c->e++;
	if (++c->in < s->inner)
		return;
	c->in = 0;
	if (++c->a_in == s->block)
		c->a_in = 0, c->ab++;
	if (++c->a < s->dim)
		return;
	c->a = c->a_in = c->ab = 0;
	c->outer++;
}

static inline uint64_t cursor_group(const orx_quant *q, const shape *s,
				    const cursor *c)
{
	switch (q->gran) {
	case ORX_QGRAN_TENSOR: return 0;
	case ORX_QGRAN_AXIS: return c->a;
	default:
		return q->pack == ORX_QPACK_NBITS
			       ? c->in * s->blocks + c->ab
			       : (c->outer * s->blocks + c->ab) * s->inner +
					 c->in;
	}
}

/* Where a code is: its byte and the bit it starts at. */
typedef struct {
	uint64_t byte;
	unsigned shift;
} place;

/* The bytes of a packed run of n codes. */
static uint64_t packed_bytes(uint64_t n, unsigned bits)
{
	return (n * bits + 7) / 8;
}

/* Code k of a run packed from byte start. */
static place in_run(uint64_t start, uint64_t k, unsigned bits)
{
	return (place){start + k * bits / 8, (unsigned)(k * bits % 8)};
}

static place code_place(const orx_quant *q, const shape *s, uint64_t e)
{
	uint64_t last, n, k;

	switch (q->pack) {
	case ORX_QPACK_LAST:
		last = (uint64_t)q->dims[q->ndim - 1];
		return in_run(e / last * packed_bytes(last, q->bits), e % last,
			      q->bits);
	case ORX_QPACK_NBITS: /* twin [K, N]: e = k N + n */
		n = e % s->inner, k = e / s->inner;
		return in_run((n * s->blocks + k / s->block) *
				      packed_bytes(s->block, q->bits),
			      k % s->block, q->bits);
	default: return in_run(0, e, q->bits);
	}
}

static inline int64_t code_get(const uint8_t *b, place p, unsigned bits,
			       bool sgn)
{
	uint64_t v = 0;

	if (bits >= 8)
		memcpy(&v, b + p.byte, bits / 8); /* little-endian */
	else
		v = (uint64_t)(b[p.byte] >> p.shift) & ((1u << bits) - 1);
	if (sgn && bits < 64 && (v >> (bits - 1)) & 1)
		return (int64_t)v - ((int64_t)1 << bits);
	return (int64_t)v;
}

static inline void code_put(uint8_t *b, place p, unsigned bits, int64_t c)
{
	uint64_t v = (uint64_t)c;
	uint8_t mask;

	if (bits >= 8) {
		memcpy(b + p.byte, &v, bits / 8);
		return;
	}
	mask = (uint8_t)(((1u << bits) - 1) << p.shift);
	b[p.byte] = (uint8_t)((b[p.byte] & ~mask) | ((v << p.shift) & mask));
}

void orx_quant_range(const orx_quant *q, double *lo, double *hi)
{
	double span = ldexp(1, (int)q->bits);

	*lo = q->is_signed ? -span / 2 : 0;
	*hi = q->is_signed ? span / 2 - 1 : span - 1;
}

/* Where group g's zero point is, for the tensor and packed forms. */
static place zero_place(const orx_quant *q, uint64_t g)
{
	uint64_t row = (uint64_t)q->zero_row;

	if (q->zero_form == ORX_QZERO_PACKED)
		return in_run(g / row * packed_bytes(row, q->bits), g % row,
			      q->bits);
	return in_run(0, g, q->bits);
}

/*** @@FLOATS: scales (and float zero points) in their type ***/

static double float_get(const uint8_t *b, int dtype, uint64_t k)
{
	float f;
	double d;
	uint16_t h;

	switch (dtype) {
	case ORX_DTYPE_DOUBLE: memcpy(&d, b + k * 8, 8); return d;
	case ORX_DTYPE_FLOAT16:
	case ORX_DTYPE_BFLOAT16:
		memcpy(&h, b + k * 2, 2);
		return dtype == ORX_DTYPE_FLOAT16 ? orx_f16_to_double(h)
						  : orx_bf16_to_double(h);
	default: memcpy(&f, b + k * 4, 4); return f;
	}
}

static void float_put(uint8_t *b, int dtype, uint64_t k, double x)
{
	orx_raw_store(dtype)(b, (size_t)k, &x, 1);
}

/* x rounded to dtype (nearest, ties to even), as a double. */
static inline double rounded(int dtype, double x)
{
	uint8_t b[8];

	if (dtype == ORX_DTYPE_FLOAT)
		return (float)x;
	if (dtype == ORX_DTYPE_DOUBLE)
		return x;
	float_put(b, dtype, 0, x);
	return float_get(b, dtype, 0);
}

/*** @@TENSORS: the codes', scales' and zero points' bytes ***/

typedef struct {
	uint8_t *codes, *scales, *zeros;
	uint64_t n_codes, n_scales, n_zeros; /* bytes */
	double *zero;			     /* per group */
	double *scale;			     /* per group */
	bool in_place;			     /* codes: the tensor's own */
} held;

static void held_free(held *h)
{
	if (!h->in_place)
		free(h->codes);
	free(h->scales);
	free(h->zeros);
	free(h->zero);
	free(h->scale);
}

static double zero_get(const orx_quant *q, const held *h, uint64_t g)
{
	switch (q->zero_form) {
	case ORX_QZERO_NONE: return q->zero_default;
	case ORX_QZERO_FLOAT: return float_get(h->zeros, q->scale_dtype, g);
	default:
		return (double)code_get(h->zeros, zero_place(q, g), q->bits,
					q->is_signed);
	}
}

static void zero_put(const orx_quant *q, held *h, uint64_t g, double z)
{
	if (q->zero_form == ORX_QZERO_FLOAT)
		float_put(h->zeros, q->scale_dtype, g, z);
	else if (q->zero_form != ORX_QZERO_NONE)
		code_put(h->zeros, zero_place(q, g), q->bits, (int64_t)z);
}

/* The bytes of q's scales and zero points, and each group's. */
static int hold_params(held *h, const orx_model *model, const orx_quant *q,
		       uint64_t groups)
{
	int rc;

	if ((rc = orx_tensor_raw_copy(&h->scales, &h->n_scales, model,
				      q->scale)) != ORX_OK ||
	    (q->zero != SIZE_MAX &&
	     (rc = orx_tensor_raw_copy(&h->zeros, &h->n_zeros, model,
				       q->zero)) != ORX_OK))
		return rc;
	if (!(h->zero = malloc(groups * sizeof(double) + 1)) ||
	    !(h->scale = malloc(groups * sizeof(double) + 1)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (uint64_t g = 0; g < groups; g++) {
		h->zero[g] = zero_get(q, h, g);
		h->scale[g] = float_get(h->scales, q->scale_dtype, g);
	}
	return ORX_OK;
}

/* The same with the codes' bytes: edit's own, written in place, where
 * they are inline raw_data; else a copy. */
static int hold(held *h, const orx_model *model, const orx_quant *q,
		uint64_t groups, orx_model *edit)
{
	int rc;

	*h = (held){0};
	if (edit &&
	    (h->codes = orx_tensor_raw_in_place(edit, q->codes, &h->n_codes)))
		h->in_place = true;
	if (!h->in_place &&
	    (rc = orx_tensor_raw_copy(&h->codes, &h->n_codes, model,
				      q->codes)) != ORX_OK)
		return rc;
	return hold_params(h, model, q, groups);
}

/*** @@CHECK: the tensors against each other ***/

/* The bytes q's codes take. */
static uint64_t codes_bytes(const orx_quant *q, const shape *s)
{
	uint64_t last = q->ndim ? (uint64_t)q->dims[q->ndim - 1] : 1;

	switch (q->pack) {
	case ORX_QPACK_LAST:
		return s->n / (last ? last : 1) * packed_bytes(last, q->bits);
	case ORX_QPACK_NBITS:
		return s->inner * s->blocks * packed_bytes(s->block, q->bits);
	default: return packed_bytes(s->n, q->bits);
	}
}

static uint64_t zeros_bytes(const orx_quant *q, uint64_t groups)
{
	uint64_t row = (uint64_t)q->zero_row;

	switch (q->zero_form) {
	case ORX_QZERO_PACKED:
		return row ? groups / row * packed_bytes(row, q->bits) : 0;
	case ORX_QZERO_FLOAT:
		return groups * orx_dtype_bits(q->scale_dtype) / 8;
	default: return packed_bytes(groups, q->bits);
	}
}

static int mismatch(const orx_model *model, size_t i, const char *what,
		    uint64_t have, uint64_t want)
{
	return orx_fail(ORX_EINVALID,
			"tensor '%s' (%s) has %llu bytes of data, not the "
			"%llu its quantization needs",
			orx_value_name(model, i), what,
			(unsigned long long)have, (unsigned long long)want);
}

int orx_quant_check(bool *symmetric, const orx_model *model, const orx_quant *q)
{
	orx_tensor_info t;
	uint64_t groups = orx_quant_groups(q);
	double lo, hi, half = ldexp(1, (int)q->bits - 1);
	shape s;
	held h;
	int rc;

	shape_of(&s, q);
	orx_quant_range(q, &lo, &hi);
	*symmetric = true;
	h = (held){.in_place = true}; /* the codes' length is enough */
	if ((rc = orx_model_tensor(&t, model, q->codes)) != ORX_OK ||
	    (rc = hold_params(&h, model, q, 0)) != ORX_OK)
		goto out;
	h.n_codes = t.nbytes;
	if (h.n_codes != codes_bytes(q, &s))
		rc = mismatch(model, q->codes, "codes", h.n_codes,
			      codes_bytes(q, &s));
	else if (h.n_scales != groups * orx_dtype_bits(q->scale_dtype) / 8)
		rc = mismatch(model, q->scale, "scales", h.n_scales,
			      groups * orx_dtype_bits(q->scale_dtype) / 8);
	else if (q->zero != SIZE_MAX && h.n_zeros != zeros_bytes(q, groups))
		rc = mismatch(model, q->zero, "zero points", h.n_zeros,
			      zeros_bytes(q, groups));
	for (uint64_t g = 0; g < groups && rc == ORX_OK; g++) {
		double z = zero_get(q, &h, g);
		if (!(z >= lo && z <= hi))
			rc = orx_fail(ORX_EINVALID,
				      "tensor '%s': zero point %g is outside "
				      "the codes' range [%g, %g]",
				      orx_value_name(model, q->zero), z, lo,
				      hi);
		*symmetric &= z == (q->is_signed ? 0 : half);
	}
out:
	held_free(&h);
	return rc;
}

/*** @@QUANTIZE ***/

/* A group's range of values and its scale and zero point once made. */
typedef struct {
	double lo, hi;
	bool made;
	bool sym;	 /* made symmetric (its old zero point the centre) */
	bool seen;	 /* the slice holds it */
	double clo, chi; /* its codes' bounds */
} range;

/* Group g's scale and zero point for values in [r->lo, r->hi] (both
 * include 0): symmetric about its old zero point z when that is the
 * type's centre, else over the range; a group of zeros keeps z, scale 1.
 * The scale is rounded to its type first. */
static void group_params(const orx_quant *q, held *h, uint64_t g, range *r)
{
	double lo, hi, half = ldexp(1, (int)q->bits - 1), z = h->zero[g], s;
	bool sym = r->sym = z == (q->is_signed ? 0 : half);

	orx_quant_range(q, &lo, &hi);
	if (sym)
		s = fmax(-r->lo, r->hi) / (half - 1);
	else if (q->zero_fixed) /* each side within its codes */
		s = fmax(z < hi ? r->hi / (hi - z) : 0,
			 z > lo ? -r->lo / (z - lo) : 0);
	else
		s = (r->hi - r->lo) / (hi - lo);
	s = rounded(q->scale_dtype, s);
	if (!(s > 0) || !isfinite(s)) {
		h->scale[g] = 1;
		return;
	}
	if (!sym && !q->zero_fixed)
		z = fmin(hi, fmax(lo, nearbyint(lo - r->lo / s)));
	h->scale[g] = s;
	h->zero[g] = z;
}

/* Group g's codes' bounds: the type's, or +-(2^(bits-1) - 1) about the
 * centre when made symmetric. */
static void code_bounds(const orx_quant *q, const held *h, uint64_t g, range *r)
{
	double half = ldexp(1, (int)q->bits - 1);

	orx_quant_range(q, &r->clo, &r->chi);
	if (r->sym)
		r->clo = h->zero[g] - (half - 1),
		r->chi = h->zero[g] + (half - 1);
}

/* The fewest elements in a row that hold whole groups. */
static uint64_t unit_of(const orx_quant *q, const shape *s)
{
	uint64_t unit = s->n;

	if (q->gran == ORX_QGRAN_AXIS && q->axis == 0)
		unit = s->inner;
	else if (q->gran == ORX_QGRAN_BLOCK && q->axis == 0)
		unit = s->block * s->inner;
	else if (q->gran == ORX_QGRAN_BLOCK)
		unit = s->dim * s->inner;
	return unit ? unit : 1;
}

/* The most elements drawn at once (4 bytes each). */
#define WHOLE_MAX (UINT64_C(1) << 26)

/* The twin's elements in runs that hold whole groups: up to WHOLE_MAX, or
 * per tensor, or on an axis after the first, all of them; else whole
 * channels or rows of blocks, as many as make about a million
 * elements. */
static uint64_t slice_of(const orx_quant *q, const shape *s)
{
	uint64_t unit = unit_of(q, s);

	if (s->n <= WHOLE_MAX) /* drawn whole, on every core */
		return s->n;
	return unit >= (1u << 20) ? unit : (1u << 20) / unit * unit;
}

/* The twin's values as the passes read them: float32, rounded to the
 * scales' type on the way (float16 and bfloat16 values are float32 ones;
 * float64 scales take float32 twins). */
static void store_f16_f32(void *base, size_t off, const double *v, size_t n)
{
	float *out = (float *)base + off;

	for (size_t k = 0; k < n; k++)
		out[k] = (float)orx_f16_to_double(orx_f16_from_double(v[k]));
}

static void store_bf16_f32(void *base, size_t off, const double *v, size_t n)
{
	float *out = (float *)base + off;

	for (size_t k = 0; k < n; k++)
		out[k] = (float)orx_bf16_to_double(orx_bf16_from_double(v[k]));
}

static orx_store_fn twin_store(int scale_dtype)
{
	return scale_dtype == ORX_DTYPE_FLOAT16 ? store_f16_f32
	       : scale_dtype == ORX_DTYPE_BFLOAT16
		       ? store_bf16_f32
		       : orx_raw_store(ORX_DTYPE_FLOAT);
}

/* Twin elements [first, first + count) drawn from p into buf (room for
 * count + ORX_RNG_BLOCK floats) as the passes read them; *w then points
 * at element first. */
static int draw(float **w, float *buf, const orx_quant *q, const shape *s,
		uint64_t first, uint64_t count, const orx_init_params *p,
		uint64_t key)
{
	uint64_t start = first - first % ORX_RNG_BLOCK;
	orx_store_fn store = twin_store(q->scale_dtype);
	int rc;

	if (p->dist == ORX_DIST_ORTHOGONAL) { /* whole: slice_of gave n */
		rc = orx_init_fill_store(buf, store, (size_t)s->n, p, key,
					 q->dims, q->ndim);
		start = 0;
	} else if (count == s->n) { /* whole, on every core */
		orx_fill_job job = {buf, store,	  (size_t)s->n, p,
				    key, q->dims, q->ndim};
		rc = orx_init_fill_jobs(&job, 1, 0);
	} else
		rc = orx_init_fill_range(
			buf, store, (size_t)s->n, (size_t)start,
			(size_t)(first + count - start), p, key);
	*w = buf + (first - start);
	return rc;
}

/* Where the code of the element at c is (code_place, undivided). */
static inline place cursor_place(const orx_quant *q, const shape *s,
				 const cursor *c)
{
	uint64_t bit;

	if (q->pack == ORX_QPACK_NBITS) {
		bit = c->a_in * q->bits;
		return (place){(c->in * s->blocks + c->ab) *
					       packed_bytes(s->block, q->bits) +
				       bit / 8,
			       (unsigned)(bit % 8)};
	}
	if (q->pack == ORX_QPACK_FLAT) {
		bit = c->e * q->bits;
		return (place){bit / 8, (unsigned)(bit % 8)};
	}
	return code_place(q, s, c->e);
}

/* A share of a slice for one thread: its elements, and (stats) the
 * ranges of its groups. */
typedef struct {
	const orx_quant *q;
	const shape *s;
	held *h;
	range *r; /* the thread's own while ranging, the shared after */
	const float *w;
	uint64_t first, count;
} part;

/* The range of each group over a part (into its own ranges). */
/* The least and the greatest of n float32 values and *lo, *hi (16
 * lanes apart, so that the loop vectorizes). */
ORX_VECTOR_CLONES
static void range_run(float *lo, float *hi, const float *restrict w, uint64_t n)
{
	float l[16], h[16];
	uint64_t k = 0;

	for (int i = 0; i < 16; i++)
		l[i] = *lo, h[i] = *hi;
	for (; k + 16 <= n; k += 16)
		for (int i = 0; i < 16; i++) {
			l[i] = w[k + i] < l[i] ? w[k + i] : l[i];
			h[i] = w[k + i] > h[i] ? w[k + i] : h[i];
		}
	for (; k < n; k++)
		l[0] = w[k] < l[0] ? w[k] : l[0],
		h[0] = w[k] > h[0] ? w[k] : h[0];
	for (int i = 0; i < 16; i++)
		*lo = l[i] < *lo ? l[i] : *lo, *hi = h[i] > *hi ? h[i] : *hi;
}

/* Per tensor or per channel on axis 0, the groups are runs of the
 * twin: the run of group *g that element e is in, from e on (at most
 * left elements); 0 for other groups. */
static uint64_t run_at(const orx_quant *q, const shape *s, uint64_t e,
		       uint64_t left, uint64_t *g)
{
	uint64_t unit, n;

	if (q->gran == ORX_QGRAN_TENSOR)
		unit = s->n;
	else if (q->gran == ORX_QGRAN_AXIS && q->axis == 0)
		unit = s->inner;
	else
		return 0;
	if (!unit)
		return 0;
	*g = e / unit;
	n = unit - e % unit;
	return n < left ? n : left;
}

static void *range_part(void *arg)
{
	part *p = arg;
	uint64_t g, n;
	cursor c;

	if (p->count && run_at(p->q, p->s, p->first, p->count, &g)) {
		for (uint64_t k = 0; k < p->count; k += n) {
			float lo = 0, hi = 0;
			n = run_at(p->q, p->s, p->first + k, p->count - k, &g);
			range_run(&lo, &hi, p->w + k, n);
			p->r[g].lo = fmin(p->r[g].lo, lo);
			p->r[g].hi = fmax(p->r[g].hi, hi);
			p->r[g].seen = true;
		}
		return NULL;
	}
	cursor_at(&c, p->s, p->first);
	for (uint64_t k = 0; k < p->count; k++, cursor_next(&c, p->s)) {
		range *r = &p->r[cursor_group(p->q, p->s, &c)];
		double x = p->w[k];
		r->lo = x < r->lo ? x : r->lo;
		r->hi = x > r->hi ? x : r->hi;
		r->seen = true;
	}
	return NULL;
}

/* w / scale rounded half to even: in float32 but for float64 scales. */
static inline double quotient(const orx_quant *q, float w, double scale)
{
	return q->scale_dtype == ORX_DTYPE_DOUBLE
		       ? orx_round_even(w / scale)
		       : orx_rounded_quotient(w, (float)scale);
}

/* Codes of one group, a run of 8-bit codes in the twin's order. */
ORX_VECTOR_CLONES
static void code_run8(uint8_t *restrict out, const float *restrict w,
		      uint64_t n, float scale, float zero, const range *r)
{
	const float lo = (float)r->clo, hi = (float)r->chi;

	for (uint64_t k = 0; k < n; k++) {
		float x = orx_rounded_quotient(w[k], scale) + zero;
		x = x < lo ? lo : x;
		x = x > hi ? hi : x;
		out[k] = (uint8_t)(int32_t)x;
	}
}

/* The common case fast: 8-bit codes, one per element, per tensor or per
 * output channel, scales of float32 or narrower. */
static bool code_part8(const part *p)
{
	const orx_quant *q = p->q;
	uint64_t g, n = 0;

	if (q->bits != 8 || q->pack != ORX_QPACK_FLAT || !p->count ||
	    q->scale_dtype == ORX_DTYPE_DOUBLE ||
	    !run_at(q, p->s, p->first, p->count, &g))
		return false;
	for (uint64_t k = 0; k < p->count; k += n) {
		n = run_at(q, p->s, p->first + k, p->count - k, &g);
		code_run8(p->h->codes + p->first + k, p->w + k, n,
			  (float)p->h->scale[g], (float)p->h->zero[g],
			  &p->r[g]);
	}
	return true;
}

/* The codes of a part, within each group's bounds. */
static void *code_part(void *arg)
{
	const part *p = arg;
	const orx_quant *q = p->q;
	const double *scale = p->h->scale, *zero = p->h->zero;
	cursor c;

	if (code_part8(p))
		return NULL;
	cursor_at(&c, p->s, p->first);
	for (uint64_t k = 0; k < p->count; k++, cursor_next(&c, p->s)) {
		uint64_t g = cursor_group(q, p->s, &c);
		double v = quotient(q, p->w[k], scale[g]) + zero[g];
		v = v < p->r[g].clo   ? p->r[g].clo
		    : v > p->r[g].chi ? p->r[g].chi
				      : v;
		if (q->bits == 8 && q->pack != ORX_QPACK_LAST)
			p->h->codes[cursor_place(q, p->s, &c).byte] =
				(uint8_t)(int)v;
		else
			code_put(p->h->codes, cursor_place(q, p->s, &c),
				 q->bits, (int64_t)v);
	}
	return NULL;
}

/* Elements a thread's share starts at: whole bytes of codes apart (MatMulNBits:
 * 8 rows of K; packed rows: whole rows). */
static uint64_t aligned(const orx_quant *q, const shape *s, uint64_t at)
{
	uint64_t unit = q->pack == ORX_QPACK_NBITS ? 8 * s->inner
			: q->pack == ORX_QPACK_LAST
				? (uint64_t)q->dims[q->ndim - 1]
				: 8;

	return unit ? at / unit * unit : at;
}

/* A slice's shares, one per thread (up to ORX_MAX_THREADS; own: room for
 * their ranges, threads x groups, or NULL: one thread); *n of them. */
static void share(part *parts, size_t *n, const orx_quant *q, const shape *s,
		  held *h, range *r, range *own, uint64_t groups,
		  const float *w, uint64_t first, uint64_t count)
{
	size_t at = 0;

	*n = count < (1u << 16) || !own ? 1 : orx_thread_count(0);
	for (size_t t = 0; t < *n; t++) {
		uint64_t end = t + 1 == *n
				       ? count
				       : aligned(q, s, count * (t + 1) / *n);
		parts[t] = (part){q,	   s,
				  h,	   *n == 1 ? r : own + t * groups,
				  w + at,  first + at,
				  end - at};
		at = end;
	}
}

/* A slice's values ranged into each group's r (the threads' merged). */
static void range_slice(const orx_quant *q, const shape *s, held *h, range *r,
			range *own, uint64_t groups, const float *w,
			uint64_t first, uint64_t count)
{
	part parts[ORX_MAX_THREADS];
	size_t n;

	share(parts, &n, q, s, h, r, own, groups, w, first, count);
	for (size_t t = 0; n > 1 && t < n; t++) /* each thread's, empty */
		memset(parts[t].r, 0, groups * sizeof(range));
	orx_run_parallel(n, range_part, parts, sizeof(part));
	for (uint64_t g = 0; n > 1 && g < groups; g++)
		for (size_t t = 0; t < n; t++) {
			r[g].lo = fmin(r[g].lo, parts[t].r[g].lo);
			r[g].hi = fmax(r[g].hi, parts[t].r[g].hi);
			r[g].seen |= parts[t].r[g].seen;
		}
}

/* Each group ranged and not yet made: its scale and zero point. */
static void make_params(const orx_quant *q, held *h, range *r, uint64_t groups)
{
	for (uint64_t g = 0; g < groups; g++)
		if (!r[g].made && r[g].seen) {
			group_params(q, h, g, &r[g]);
			code_bounds(q, h, g, &r[g]);
			r[g].made = true;
		}
}

/* A slice's codes, on the threads. */
static void code_slice(const orx_quant *q, const shape *s, held *h, range *r,
		       range *own, uint64_t groups, const float *w,
		       uint64_t first, uint64_t count)
{
	part parts[ORX_MAX_THREADS];
	size_t n;

	share(parts, &n, q, s, h, r, own, groups, w, first, count);
	for (size_t t = 0; t < n; t++)
		parts[t].r = r;
	orx_run_parallel(n, code_part, parts, sizeof(part));
}

/* One slice of whole groups: the ranges, each group's scale and zero
 * point, the codes. */
static void quantize(const orx_quant *q, const shape *s, held *h, range *r,
		     range *own, uint64_t groups, const float *w,
		     uint64_t first, uint64_t count)
{
	range_slice(q, s, h, r, own, groups, w, first, count);
	make_params(q, h, r, groups);
	code_slice(q, s, h, r, own, groups, w, first, count);
}

/* MatMulNBits in tiles: its codes are the twin [K, N] transposed, so a
 * thread takes rows of blocks and, in each, columns TILE at a time: the
 * blocks' ranges, scales, zero points and codes, the tile's codes in
 * cache. */
#define TILE 64

typedef struct {
	const orx_quant *q;
	const shape *s;
	held *h;
	const float *w;		    /* element first of the twin */
	uint64_t first, row0, row1; /* rows of blocks [row0, row1) */
} tiles;

static void tile(const tiles *t, uint64_t kb, uint64_t n0, uint64_t n1)
{
	const orx_quant *q = t->q;
	const shape *s = t->s;
	uint64_t k0 = kb * s->block, k1 = k0 + s->block, blob;
	range r[TILE] = {{0}};

	k1 = k1 < s->dim ? k1 : s->dim;
	blob = packed_bytes(s->block, q->bits);
	for (uint64_t k = k0; k < k1; k++)
		for (uint64_t n = n0; n < n1; n++) {
			double x = t->w[k * s->inner + n - t->first];
			r[n - n0].lo = x < r[n - n0].lo ? x : r[n - n0].lo;
			r[n - n0].hi = x > r[n - n0].hi ? x : r[n - n0].hi;
		}
	for (uint64_t n = n0; n < n1; n++) {
		group_params(q, t->h, n * s->blocks + kb, &r[n - n0]);
		code_bounds(q, t->h, n * s->blocks + kb, &r[n - n0]);
	}
	for (uint64_t k = k0; k < k1; k++)
		for (uint64_t n = n0; n < n1; n++) {
			uint64_t g = n * s->blocks + kb;
			const range *rg = &r[n - n0];
			double v =
				quotient(q, t->w[k * s->inner + n - t->first],
					 t->h->scale[g]) +
				t->h->zero[g];
			v = v < rg->clo ? rg->clo : v > rg->chi ? rg->chi : v;
			code_put(t->h->codes, in_run(g * blob, k - k0, q->bits),
				 q->bits, (int64_t)v);
		}
}

static void *tile_part(void *arg)
{
	const tiles *t = arg;

	for (uint64_t kb = t->row0; kb < t->row1; kb++)
		for (uint64_t n0 = 0; n0 < t->s->inner; n0 += TILE)
			tile(t, kb, n0,
			     n0 + TILE < t->s->inner ? n0 + TILE : t->s->inner);
	return NULL;
}

/* A slice of MatMulNBits' twin (whole rows of blocks) on the threads. */
static void quantize_nbits(const orx_quant *q, const shape *s, held *h,
			   const float *w, uint64_t first, uint64_t count)
{
	tiles parts[ORX_MAX_THREADS];
	uint64_t row = s->block * s->inner, r0 = first / row,
		 r1 = (first + count + row - 1) / row;
	size_t n = count < (1u << 16) ? 1 : orx_thread_count(0);

	for (size_t t = 0; t < n; t++)
		parts[t] = (tiles){q,
				   s,
				   h,
				   w,
				   first,
				   r0 + (r1 - r0) * t / n,
				   r0 + (r1 - r0) * (t + 1) / n};
	orx_run_parallel(n, tile_part, parts, sizeof(tiles));
}

/* MatMulNBits pads K to whole blocks: the padding's codes are the zero
 * point (a value of 0). */
static void pad_blocks(const orx_quant *q, const shape *s, held *h)
{
	for (uint64_t n = 0; q->pack == ORX_QPACK_NBITS && n < s->inner; n++)
		for (uint64_t k = s->dim; k < s->blocks * s->block; k++) {
			uint64_t g = n * s->blocks + k / s->block;
			code_put(h->codes,
				 in_run((n * s->blocks + k / s->block) *
						packed_bytes(s->block, q->bits),
					k % s->block, q->bits),
				 q->bits, (int64_t)h->zero[g]);
		}
}

/* The scales and zero points made, into their tensors' bytes. */
static int write_back(orx_model *model, const orx_quant *q, held *h,
		      uint64_t groups)
{
	bool zeros_changed = false;
	int rc;

	for (uint64_t g = 0; g < groups; g++) {
		float_put(h->scales, q->scale_dtype, g, h->scale[g]);
		if (q->zero_form != ORX_QZERO_NONE &&
		    zero_get(q, h, g) != h->zero[g]) {
			zero_put(q, h, g, h->zero[g]);
			zeros_changed = true;
		}
	}
	if ((!h->in_place && (rc = orx_tensor_raw_put(model, q->codes, h->codes,
						      h->n_codes)) != ORX_OK) ||
	    (rc = orx_tensor_raw_put(model, q->scale, h->scales,
				     h->n_scales)) != ORX_OK)
		return rc;
	return zeros_changed ? orx_tensor_raw_put(model, q->zero, h->zeros,
						  h->n_zeros)
			     : ORX_OK;
}

/* Room for n floats in scratch, kept for the next weight. */
static float *room(orx_quant_scratch *scratch, uint64_t n)
{
	float *b;

	if (scratch->cap >= n)
		return scratch->buf;
	if (!(b = realloc(scratch->buf, n * sizeof(float))))
		return NULL;
	scratch->cap = n;
	return scratch->buf = b;
}

void orx_quant_scratch_free(orx_quant_scratch *scratch)
{
	free(scratch->buf);
	*scratch = (orx_quant_scratch){0};
}

int orx_quant_apply(orx_model *model, const orx_quant *q,
		    const orx_init_params *p, uint64_t key,
		    orx_quant_scratch *scratch)
{
	uint64_t groups = orx_quant_groups(q), slice;
	float *buf = NULL, *w;
	range *r = NULL, *own = NULL;
	shape s;
	held h;
	int rc;

	shape_of(&s, q);
	slice = p->dist == ORX_DIST_ORTHOGONAL ? s.n : slice_of(q, &s);
	if ((rc = hold(&h, model, q, groups, model)) != ORX_OK)
		goto out;
	if (!(r = calloc(groups + 1, sizeof(*r))) ||
	    !(buf = room(scratch, slice + ORX_RNG_BLOCK))) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto out;
	}
	if (groups <= (1u << 22)) /* the threads' ranges; else one thread */
		own = malloc(orx_thread_count(0) * groups * sizeof(*own) + 1);
	for (uint64_t first = 0; first < s.n && rc == ORX_OK; first += slice) {
		uint64_t count = s.n - first < slice ? s.n - first : slice;
		if ((rc = draw(&w, buf, q, &s, first, count, p, key)) != ORX_OK)
			break;
		if (q->pack == ORX_QPACK_NBITS)
			quantize_nbits(q, &s, &h, w, first, count);
		else
			quantize(q, &s, &h, r, own, groups, w, first, count);
		orx_progress_add(orx_progress_current(), count);
	}
	pad_blocks(q, &s, &h);
	if (rc == ORX_OK)
		rc = write_back(model, q, &h, groups);
out:
	free(r);
	free(own);
	held_free(&h);
	return rc;
}

/* A weight quantized with others that share its scales: its own
 * tensors, shape and draw. */
typedef struct {
	shape s;
	held h;
	float *buf, *w;
} sharer;

static int draw_sharer(sharer *x, const orx_model *model, const orx_quant *q,
		       const orx_init_params *p, uint64_t key, uint64_t groups)
{
	int rc;

	shape_of(&x->s, q);
	if (orx_quant_groups(q) != groups || x->s.n > WHOLE_MAX)
		return orx_fail(ORX_EUNSUPPORTED,
				"tensor '%s' shares its scales with a weight "
				"of another layout, or is too large to "
				"quantize with it",
				orx_value_name(model, q->codes));
	if ((rc = hold(&x->h, model, q, groups, NULL)) != ORX_OK)
		return rc;
	if (!(x->buf = malloc((x->s.n + ORX_RNG_BLOCK) * sizeof(float))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	return draw(&x->w, x->buf, q, &x->s, 0, x->s.n, p, key);
}

int orx_quant_apply_shared(orx_model *model, const orx_quant *const *qs,
			   const orx_init_params *const *ps,
			   const uint64_t *keys, size_t n)
{
	uint64_t groups = orx_quant_groups(qs[0]);
	sharer *x = calloc(n + 1, sizeof(*x));
	range *r = calloc(groups + 1, sizeof(*r));
	int rc = x && r ? ORX_OK : orx_fail(ORX_ENOMEM, "out of memory");

	for (size_t i = 0; i < n && rc == ORX_OK; i++)
		if ((rc = draw_sharer(&x[i], model, qs[i], ps[i], keys[i],
				      groups)) == ORX_OK)
			range_slice(qs[i], &x[i].s, &x[i].h, r, NULL, groups,
				    x[i].w, 0, x[i].s.n);
	if (rc == ORX_OK) /* one scale and zero point per group, from all */
		make_params(qs[0], &x[0].h, r, groups);
	for (size_t i = 0; i < n && rc == ORX_OK; i++) {
		memcpy(x[i].h.scale, x[0].h.scale, groups * sizeof(double));
		memcpy(x[i].h.zero, x[0].h.zero, groups * sizeof(double));
		code_slice(qs[i], &x[i].s, &x[i].h, r, NULL, groups, x[i].w, 0,
			   x[i].s.n);
		pad_blocks(qs[i], &x[i].s, &x[i].h);
		rc = write_back(model, qs[i], &x[i].h, groups);
	}
	for (size_t i = 0; x && i < n; i++) {
		free(x[i].buf);
		held_free(&x[i].h);
	}
	free(x);
	free(r);
	return rc;
}

/*** @@BIAS: int32 biases scaled by the input's and the weight's scales ***/

/* Element k of a float tensor's bytes, or its only one. */
static double scale_at(const uint8_t *b, int dtype, uint64_t len, uint64_t k)
{
	uint64_t n = len / (orx_dtype_bits(dtype) / 8);

	return float_get(b, dtype, n > 1 ? k % n : 0);
}

static int bias_scales(double *out, uint64_t n, const orx_model *model,
		       const orx_qbias *b)
{
	uint8_t *w = NULL, *x = NULL;
	uint64_t lw, lx;
	orx_tensor_info tw, tx;
	int rc;

	if ((rc = orx_model_tensor(&tw, model, b->w_scale)) != ORX_OK ||
	    (rc = orx_tensor_raw_copy(&w, &lw, model, b->w_scale)) != ORX_OK ||
	    (rc = orx_model_tensor(&tx, model, b->x_scale)) != ORX_OK ||
	    (rc = orx_tensor_raw_copy(&x, &lx, model, b->x_scale)) != ORX_OK)
		goto out;
	for (uint64_t k = 0; k < n; k++)
		out[k] = scale_at(x, tx.dtype, lx, 0) *
			 scale_at(w, tw.dtype, lw, k) * b->mult;
out:
	free(w);
	free(x);
	return rc;
}

/* A bias's own scale tensor (one scale, or one per channel) set to the
 * n made. */
static int put_bias_scale(orx_model *model, size_t i, const double *scale,
			  uint64_t n)
{
	orx_tensor_info t;
	uint8_t *b;
	uint64_t len, m;
	int rc;

	if ((rc = orx_model_tensor(&t, model, i)) != ORX_OK ||
	    !orx_dtype_is_float(t.dtype) ||
	    (rc = orx_tensor_raw_copy(&b, &len, model, i)) != ORX_OK)
		return rc != ORX_OK
			       ? rc
			       : orx_fail(ORX_EINVALID,
					  "tensor '%s': a scale of "
					  "dtype %d",
					  orx_value_name(model, i), t.dtype);
	m = len / (orx_dtype_bits(t.dtype) / 8);
	for (uint64_t k = 0; k < m && n; k++)
		float_put(b, t.dtype, k, scale[k < n ? k : n - 1]);
	rc = orx_tensor_raw_put(model, i, b, len);
	free(b);
	return rc;
}

int orx_quant_apply_bias(orx_model *model, const orx_qbias *b,
			 const orx_init_params *p, uint64_t key)
{
	orx_tensor_info t, ts;
	double *v = NULL, *scale = NULL;
	uint8_t *out = NULL, *own = NULL;
	uint64_t len;
	int rc;

	if ((rc = orx_model_tensor(&t, model, b->codes)) != ORX_OK)
		return rc;
	if (!(v = malloc(t.count * sizeof(double) + 1)) ||
	    !(scale = malloc(t.count * sizeof(double) + 1)) ||
	    !(out = malloc(t.count * 4 + 1))) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = orx_init_fill(v, t.count, p, key, t.dims, t.ndim)) != ORX_OK)
		goto out;
	if (b->x_scale != SIZE_MAX)
		rc = bias_scales(scale, t.count, model, b);
	else if ((rc = orx_model_tensor(&ts, model, b->bias_scale)) == ORX_OK &&
		 (rc = orx_tensor_raw_copy(&own, &len, model, b->bias_scale)) ==
			 ORX_OK)
		for (uint64_t k = 0; k < t.count; k++)
			scale[k] = scale_at(own, ts.dtype, len, k);
	for (uint64_t k = 0; k < t.count && rc == ORX_OK; k++) {
		double c = scale[k] > 0 ? nearbyint(v[k] / scale[k]) : 0;
		code_put(out, in_run(0, k, 32), 32,
			 (int64_t)fmin(INT32_MAX, fmax(INT32_MIN, c)));
	}
	if (rc == ORX_OK)
		rc = orx_tensor_raw_put(model, b->codes, out, t.count * 4);
	if (rc == ORX_OK && b->bias_scale != SIZE_MAX && b->x_scale != SIZE_MAX)
		rc = put_bias_scale(model, b->bias_scale, scale, t.count);
out:
	free(v);
	free(scale);
	free(out);
	free(own);
	return rc;
}

/*** @@READ: the dequantized weight ***/

int orx_quant_read(double *out, uint64_t n, double *saturated,
		   const orx_model *model, const orx_quant *q)
{
	uint64_t groups = orx_quant_groups(q), *count = NULL, *at_lo = NULL,
		 *at_hi = NULL;
	double lo, hi;
	cursor at;
	shape s;
	held h;
	int rc;

	shape_of(&s, q);
	orx_quant_range(q, &lo, &hi);
	*saturated = 0;
	if (n != s.n)
		return orx_fail(ORX_EINVALID, "%llu elements, not %llu",
				(unsigned long long)n, (unsigned long long)s.n);
	if ((rc = hold(&h, model, q, groups, NULL)) != ORX_OK)
		goto out;
	if (!(count = calloc(3 * groups + 1, sizeof(uint64_t)))) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto out;
	}
	at_lo = count + groups, at_hi = at_lo + groups;
	cursor_at(&at, &s, 0);
	for (uint64_t e = 0; e < n; e++, cursor_next(&at, &s)) {
		uint64_t g = cursor_group(q, &s, &at);
		int64_t c = code_get(h.codes, cursor_place(q, &s, &at), q->bits,
				     q->is_signed);
		out[e] = ((double)c - h.zero[g]) * h.scale[g];
		count[g]++;
		at_lo[g] += c == (int64_t)lo;
		at_hi[g] += c == (int64_t)hi;
	}
	/* min-max quantization puts a code at each limit it reaches */
	for (uint64_t g = 0; g < groups; g++)
		if (count[g])
			*saturated =
				fmax(*saturated,
				     (double)((at_lo[g] ? at_lo[g] - 1 : 0) +
					      (at_hi[g] ? at_hi[g] - 1 : 0)) /
					     (double)count[g]);
out:
	free(count);
	held_free(&h);
	return rc;
}
