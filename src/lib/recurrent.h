/* Internal: recurrent layers for the plan (recurrent.c). */
#ifndef ORX_RECURRENT_H
#define ORX_RECURRENT_H

#include "plan.h"

/* Claim the tensors of recurrent layer node of c's graph (its row op):
 * W, R, B and P gate block by gate block, in their own layout (through
 * Slice and Concat where exporters cut them so), and its initial states
 * as buffers. */
int orx_claim_recurrent(orx_plan_ctx *c, int node, const orx_op *op);

#endif
