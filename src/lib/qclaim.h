/* Internal: quantized weights and biases claimed (qclaim.c). */
#ifndef ORX_QCLAIM_H
#define ORX_QCLAIM_H

#include "plan.h"
#include "trace.h"

/* Entry e, just claimed from an input of node of c's graph (traced as
 * tr): when it is a quantized weight (or embedding), its form kept with
 * it, or the reason a form is left alone. ORX_EINVALID when its tensors
 * contradict each other. */
int orx_claim_quantized(orx_plan_ctx *c, entry *e, int node,
			const orx_trace *tr);

/* Bias b at input slot of layer node, whose weight is w: when it is an
 * int32 bias quantized with w's scales, its form kept with it. */
int orx_claim_quantized_bias(orx_plan_ctx *c, entry *b, const entry *w,
			     int node, int slot);

/* The scales and zero points node n's row names (of the signal, or of a
 * weight left alone), unclaimed yet: listed as kept. */
int orx_claim_quant_params(orx_plan_ctx *c, int node, const orx_op *op);

#endif
