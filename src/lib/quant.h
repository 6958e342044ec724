/* Internal: quantized weights (quant.c quantizes and dequantizes them;
 * qform.c finds them in the graph). A quantized weight is codes, scales
 * and zero points in tensors of their own; the layer sees the
 * dequantized weight, (code - zero point) * scale, of the shape its
 * float twin (the weight before quantization) had. */
#ifndef ORX_QUANT_H
#define ORX_QUANT_H

#include "internal.h"

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

#endif
