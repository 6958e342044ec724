/* Internal: quantized weights (quant.c quantizes and dequantizes them;
 * qform.c finds them in the graph). A quantized weight is codes, scales
 * and zero points in tensors of their own; the layer sees the
 * dequantized weight, (code - zero point) * scale, of the shape its
 * float twin (the weight before quantization) had. */
#ifndef ORX_QUANT_H
#define ORX_QUANT_H

#include "internal.h"

#include <math.h>

/* How codes are laid out against the float twin's elements. */
typedef enum {
	ORX_QPACK_FLAT,	 /* one code per element, in the same order (4-bit
			    types two to a byte, low nibble first: ONNX's) */
	ORX_QPACK_LAST,	 /* uint8 holding 8 / bits codes each, packed along
			    the last axis, low bits first
			    (GatherBlockQuantized) */
	ORX_QPACK_NBITS, /* MatMulNBits: the twin [K, N] stored as [N,
			    blocks, blob], each block's K codes packed low
			    bits first */
} orx_qpack;

typedef enum {
	ORX_QGRAN_TENSOR, /* one scale */
	ORX_QGRAN_AXIS,	  /* one per index of an axis */
	ORX_QGRAN_BLOCK	  /* one per block of an axis, per other index */
} orx_qgranularity;

/* Where a zero point comes from. */
typedef enum {
	ORX_QZERO_TENSOR, /* a tensor of the codes' type and layout */
	ORX_QZERO_PACKED, /* MatMulNBits: uint8 packed bits to a code, per
			     row of blocks */
	ORX_QZERO_FLOAT,  /* MatMulNBits: in the scales' float type */
	ORX_QZERO_NONE	  /* absent: zero_default */
} orx_qzero;

typedef struct {
	size_t codes; /* the tensors (values of the model) */
	size_t scale;
	size_t zero; /* SIZE_MAX: none */
	orx_qpack pack;
	orx_qzero zero_form;
	int code_dtype; /* the codes' ONNX element type (uint8 packed) */
	unsigned bits;	/* per code */
	bool is_signed;
	bool zero_fixed;     /* its zero points are never rewritten (none,
				or shared with another weight) */
	int64_t zero_row;    /* ORX_QZERO_PACKED: zero points per packed
				row */
	double zero_default; /* without zero points */
	orx_qgranularity gran;
	int axis;		    /* of the twin: its channels or blocks */
	int64_t block;		    /* ORX_QGRAN_BLOCK: codes per block */
	int scale_dtype;	    /* of the scales: the dequantized type */
	int64_t dims[ORX_DIMS_MAX]; /* the float twin's shape */
	size_t ndim;
} orx_quant;

/* The codes' range: [lo, hi]. */
void orx_quant_range(const orx_quant *q, double *lo, double *hi);

/* The number of scales (groups) q has, from its shape. */
uint64_t orx_quant_groups(const orx_quant *q);

/* Checks the tensors q names against each other (scales' count, zero
 * points within the codes' range, packed lengths) and says whether every
 * zero point is symmetric (0 for signed codes, 2^(bits-1) for unsigned).
 * ORX_EINVALID naming the tensor that does not fit. */
int orx_quant_check(bool *symmetric, const orx_model *model,
		    const orx_quant *q);

/* Draws the float twin from p with the stream key (as its float tensor
 * would be drawn, rounded to the scales' type), then quantizes it as a
 * quantizer would: per group, symmetric where the group's zero point is,
 * else over [min(w, 0), max(w, 0)]; rounding half to even; scales in their
 * type first. Codes, scales and zero points are written into their
 * tensors. */
typedef struct {
	float *buf; /* the draws, kept from one weight to the next */
	uint64_t cap;
} orx_quant_scratch;

int orx_quant_apply(orx_model *model, const orx_quant *q,
		    const orx_init_params *p, uint64_t key,
		    orx_quant_scratch *scratch);
void orx_quant_scratch_free(orx_quant_scratch *scratch);

/* Weights qs[0..n) that share their scales (and zero points): each drawn
 * from ps[i] with keys[i], then quantized with one scale and zero point
 * per group made from all of them. Each must have the same number of
 * groups and at most 2^26 elements (else ORX_EUNSUPPORTED). */
int orx_quant_apply_shared(orx_model *model, const orx_quant *const *qs,
			   const orx_init_params *const *ps,
			   const uint64_t *keys, size_t n);

/* A quantized bias (int32 codes, zero point 0) of a layer whose weight's
 * new scales are in tensor w_scale: drawn from p (its float values),
 * quantized with the scale x_scale * w_scale * mult per output channel
 * (x_scale: an activation's scale, a scalar); its own scale tensor
 * (bias_scale, SIZE_MAX if none) gets that scale. */
typedef struct {
	size_t codes;
	size_t bias_scale; /* SIZE_MAX: the op multiplies it itself */
	size_t x_scale;	   /* SIZE_MAX: unknown (bias_scale then kept) */
	size_t w_scale;
	double mult;
} orx_qbias;

int orx_quant_apply_bias(orx_model *model, const orx_qbias *b,
			 const orx_init_params *p, uint64_t key);

/* The dequantized weight, n elements in the twin's order, into out; with
 * saturated, the largest share of codes at the type's limits in any
 * group. */
int orx_quant_read(double *out, uint64_t n, double *saturated,
		   const orx_model *model, const orx_quant *q);

/*** Rounding codes (inline: the loops of quant.c vectorize them) ***/

/* x rounded to the nearest integer, ties to even, for codes: the default
 * rounding mode's addition of 1.5 * 2^52, exact within 2^50 in magnitude
 * (beyond, +-2^50: the caller clamps to the codes' range anyway).
 * Branch-free, so that loops of it vectorize. */
static inline double orx_round_even(double x)
{
	const double big = 1125899906842624.0, magic = 6755399441055744.0;

	x = x < -big ? -big : x;
	x = x > big ? big : x;
	return (x + magic) - magic;
}

/* orx_round_even in float32, for |x| < 2^22 (beyond: clamped). */
static inline float orx_round_even_f(float x)
{
	const float big = 4194304.0f, magic = 12582912.0f;

	x = x < -big ? -big : x;
	x = x > big ? big : x;
	return (x + magic) - magic;
}

/* w / scale rounded half to even, exactly, in float32 (scales of float32
 * or narrower): the quotient q, correctly rounded, is on the same side
 * of every half-way point k + 1/2 as w / scale itself, or on it; only
 * then (about one element in 2^17) is the side told by the sign of w -
 * q * scale (fma: one rounding, never of the sign), a true tie going to
 * the even neighbour. Branch-free, so that loops of it vectorize. */
static inline float orx_rounded_quotient(float w, float scale)
{
	float q = w / scale, x = orx_round_even_f(q), d = q - x,
	      t = fmaf(-q, scale, w);

	return d != 0.5f && d != -0.5f ? x
	       : t > 0		       ? q + 0.5f
	       : t < 0		       ? q - 0.5f
				       : x;
}

#endif
