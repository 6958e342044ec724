/* Internal: fan_in and fan_out of a layer's weight (fans.c), by the fan
 * rule its op's row names. */
#ifndef ORX_FANS_H
#define ORX_FANS_H

#include "ops.h"

typedef struct {
	int input;	 /* which input of the op the weight is */
	int64_t group;	 /* Conv, ConvTranspose: the group attribute */
	int trans;	 /* Gemm, FusedMatMul: transA for input 0, transB for
			    input 1 */
	int trans_batch; /* FusedMatMul: transBatchA or transBatchB */
	orx_fan_convention convention;
	int64_t strides; /* ConvTranspose: the product of its strides (0:
			    none given, 1) */
} orx_fan_query;

/* fan_in and fan_out of a weight of shape dims (as the node sees it:
 * after any Transpose) used as q->input of op. ORX_EUNSUPPORTED for an op
 * without a fan rule or an input that is not its weight, ORX_EINVALID
 * for a shape or group that does not fit the op. */
int orx_fans(int64_t *fan_in, int64_t *fan_out, const orx_op *op,
	     const orx_fan_query *q, const int64_t *dims, size_t ndim);

#endif
