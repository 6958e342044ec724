/* fan_in and fan_out, one function per weighted op (the rows of ops.c
 * name them). */
#include "ops.h"

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

int orx_fans_gemm(int64_t *in, int64_t *out, const orx_fan_query *q,
		  const int64_t *dims, size_t ndim)
{
	if (ndim != 2)
		return orx_fail(ORX_EINVALID,
				"a Gemm weight has 2 dimensions, "
				"not %zu",
				ndim);
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
int orx_fans_matmul(int64_t *in, int64_t *out, const orx_fan_query *q,
		    const int64_t *dims, size_t ndim)
{
	if (ndim == 0)
		return orx_fail(ORX_EINVALID, "a MatMul weight needs at least "
					      "1 dimension");
	if (ndim == 1) { /* a vector: K against the other side */
		*in = dims[0];
		*out = 1;
		return ORX_OK;
	}
	if (q->input == 1) { /* B: [..., K, N] */
		*in = dims[ndim - 2];
		*out = dims[ndim - 1];
	} else { /* A: [..., M, K] */
		*in = dims[ndim - 1];
		*out = dims[ndim - 2];
	}
	return ORX_OK;
}

static int check_conv(const orx_fan_query *q, const int64_t *dims, size_t ndim,
		      int64_t divisible)
{
	if (ndim < 3)
		return orx_fail(ORX_EINVALID,
				"a %s weight has at least 3 "
				"dimensions, not %zu",
				q->op, ndim);
	if (q->group < 1 || divisible % q->group != 0)
		return orx_fail(ORX_EINVALID,
				"%s group %lld does not divide "
				"%lld channels",
				q->op, (long long)q->group,
				(long long)divisible);
	(void)dims;
	return ORX_OK;
}

/* Conv weight [M, C/g, k...]. */
int orx_fans_conv(int64_t *in, int64_t *out, const orx_fan_query *q,
		  const int64_t *dims, size_t ndim)
{
	int64_t k;
	int rc = check_conv(q, dims, ndim, ndim ? dims[0] : 0);

	if (rc != ORX_OK)
		return rc;
	k = prod(dims, 2, ndim);
	*in = dims[1] * k;
	*out = q->convention == ORX_FANS_PYTORCH ? dims[0] * k
						 : dims[0] / q->group * k;
	return ORX_OK;
}

/* ConvTranspose weight [C, M/g, k...]. */
int orx_fans_conv_transpose(int64_t *in, int64_t *out, const orx_fan_query *q,
			    const int64_t *dims, size_t ndim)
{
	int64_t k;
	int rc = check_conv(q, dims, ndim, ndim ? dims[0] : 0);

	if (rc != ORX_OK)
		return rc;
	k = prod(dims, 2, ndim);
	if (q->convention == ORX_FANS_PYTORCH) {
		*in = dims[1] * k;
		*out = dims[0] * k;
	} else {
		*in = dims[0] / q->group * k;
		*out = dims[1] * k;
	}
	return ORX_OK;
}

int orx_fans(int64_t *fan_in, int64_t *fan_out, const orx_fan_query *q,
	     const int64_t *dims, size_t ndim)
{
	const orx_op *op = orx_op_named(q->op);

	if (!op || !op->fans)
		return orx_fail(ORX_EUNSUPPORTED, "no fan rule for op %s",
				q->op);
	if (q->input < 0 || q->input > 1 ||
	    !(op->weight_inputs & (1u << q->input)))
		return orx_fail(ORX_EUNSUPPORTED,
				"input %d of %s is not a "
				"weight",
				q->input, q->op);
	for (size_t d = 0; d < ndim; d++)
		if (dims[d] < 0)
			return orx_fail(ORX_EINVALID, "negative dimension");
	return op->fans(fan_in, fan_out, q, dims, ndim);
}

int orx_permute_dims(int64_t *out, const int64_t *dims, size_t ndim,
		     const int64_t *perm, size_t nperm)
{
	unsigned seen = 0;

	if (nperm == 0) { /* Transpose's default: reverse the axes */
		for (size_t i = 0; i < ndim; i++)
			out[i] = dims[ndim - 1 - i];
		return ORX_OK;
	}
	if (nperm != ndim || ndim > 32)
		return orx_fail(ORX_EINVALID,
				"Transpose perm has %zu axes for "
				"a tensor of %zu",
				nperm, ndim);
	for (size_t i = 0; i < ndim; i++) {
		int64_t p = perm[i] < 0 ? perm[i] + (int64_t)ndim : perm[i];
		if (p < 0 || p >= (int64_t)ndim || (seen & (1u << p)))
			return orx_fail(ORX_EINVALID, "Transpose perm is not a "
						      "permutation");
		seen |= 1u << p;
		out[i] = dims[p];
	}
	return ORX_OK;
}
