/* fan_in and fan_out, one function per fan rule (the rows of ops.c name
 * them). */
#include "fans.h"

#include <math.h>
#include <string.h>

/* Product of dims[from..to), overflow-checked by the caller's bounds
 * (tensor counts are below 2^62 once validated). */
static int64_t prod(const int64_t *dims, size_t from, size_t to)
{
	int64_t p = 1;

	for (size_t i = from; i < to; i++)
		p *= dims[i];
	return p;
}

static int fans_gemm(int64_t *in, int64_t *out, const orx_op *op,
		     const orx_fan_query *q, const int64_t *dims, size_t ndim)
{
	if (ndim != 2)
		return orx_fail(ORX_EINVALID,
				"a %s weight has 2 dimensions, not %zu",
				op->op_type, ndim);
	if (q->input == 1) { /* B: [K, N], or [N, K] with transB */
		*in = dims[q->trans ? 1 : 0];
		*out = dims[q->trans ? 0 : 1];
	} else { /* A: [M, K], or [K, M] with transA */
		*in = dims[q->trans ? 0 : 1];
		*out = dims[q->trans ? 1 : 0];
	}
	return ORX_OK;
}

/* MatMul: leading (batch) dimensions count in neither fan. */
static int fans_matmul(int64_t *in, int64_t *out, const orx_op *op,
		       const orx_fan_query *q, const int64_t *dims, size_t ndim)
{
	if (ndim == 0)
		return orx_fail(ORX_EINVALID,
				"a %s weight needs at least 1 dimension",
				op->op_type);
	if (ndim == 1) { /* a vector: K against the other side */
		*in = dims[0];
		*out = 1;
		return ORX_OK;
	}
	if (q->trans_batch && ndim > 2)
		return orx_fail(ORX_EUNSUPPORTED,
				"a %s weight with its batch axes moved "
				"(transBatch) is not mapped",
				op->op_type);
	/* B: [..., K, N], A: [..., M, K]; transposed, the last two swap */
	if ((q->input == 1) != (q->trans != 0)) {
		*in = dims[ndim - 2];
		*out = dims[ndim - 1];
	} else {
		*in = dims[ndim - 1];
		*out = dims[ndim - 2];
	}
	return ORX_OK;
}

static int check_conv(const orx_op *op, const orx_fan_query *q, size_t ndim,
		      int64_t divisible)
{
	if (ndim < 3)
		return orx_fail(ORX_EINVALID,
				"a %s weight has at least 3 dimensions, not "
				"%zu",
				op->op_type, ndim);
	if (q->group < 1 || divisible % q->group != 0)
		return orx_fail(ORX_EINVALID,
				"%s group %lld does not divide %lld channels",
				op->op_type, (long long)q->group,
				(long long)divisible);
	return ORX_OK;
}

/* Conv weight [M, C/g, k...]. */
static int fans_conv(int64_t *in, int64_t *out, const orx_op *op,
		     const orx_fan_query *q, const int64_t *dims, size_t ndim)
{
	int64_t k;
	int rc = check_conv(op, q, ndim, ndim ? dims[0] : 0);

	if (rc != ORX_OK)
		return rc;
	k = prod(dims, 2, ndim);
	*in = dims[1] * k;
	*out = q->convention == ORX_FANS_PYTORCH ? dims[0] * k
						 : dims[0] / q->group * k;
	return ORX_OK;
}

/* ConvTranspose weight [C, M/g, k...]. */
static int fans_conv_transpose(int64_t *in, int64_t *out, const orx_op *op,
			       const orx_fan_query *q, const int64_t *dims,
			       size_t ndim)
{
	int64_t k;
	int rc = check_conv(op, q, ndim, ndim ? dims[0] : 0);

	if (rc != ORX_OK)
		return rc;
	k = prod(dims, 2, ndim);
	if (q->convention == ORX_FANS_PYTORCH) {
		*in = dims[1] * k;
		*out = dims[0] * k;
	} else { /* an output receives k / strides of the taps, on average */
		double taps = (double)(dims[0] / q->group * k) /
			      (double)(q->strides > 1 ? q->strides : 1);
		*in = taps < 1.5 ? 1 : (int64_t)llround(taps);
		*out = dims[1] * k;
	}
	return ORX_OK;
}

typedef int (*fan_fn)(int64_t *in, int64_t *out, const orx_op *op,
		      const orx_fan_query *q, const int64_t *dims, size_t ndim);

static const fan_fn rules[] = {
	[ORX_FAN_RULE_GEMM] = fans_gemm,
	[ORX_FAN_RULE_MATMUL] = fans_matmul,
	[ORX_FAN_RULE_CONV] = fans_conv,
	[ORX_FAN_RULE_CONV_TRANSPOSE] = fans_conv_transpose,
};

int orx_fans(int64_t *fan_in, int64_t *fan_out, const orx_op *op,
	     const orx_fan_query *q, const int64_t *dims, size_t ndim)
{
	orx_input_kind in =
		op ? orx_op_input(op, (size_t)q->input) : ORX_IN_NONE;

	if (!op || op->fans == ORX_FAN_RULE_NONE)
		return orx_fail(ORX_EUNSUPPORTED, "no fan rule for op %s",
				op ? op->op_type : "(none)");
	if (q->input < 0 || (in != ORX_IN_WEIGHT && in != ORX_IN_EITHER))
		return orx_fail(ORX_EUNSUPPORTED,
				"input %d of %s is not a weight", q->input,
				op->op_type);
	for (size_t d = 0; d < ndim; d++)
		if (dims[d] < 0)
			return orx_fail(ORX_EINVALID, "negative dimension");
	return rules[op->fans](fan_in, fan_out, op, q, dims, ndim);
}
