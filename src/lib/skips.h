/* Internal: the plan's lists (skips.c): the tensors rewritten and those
 * left as they are, each with the reason. */
#ifndef ORX_SKIPS_H
#define ORX_SKIPS_H

#include "plan.h"

/* The plan's items (its decided entries) and its skipped list: every
 * other claimed tensor, the unclaimed initializers and Constant tensors
 * that could hold parameters, and the sparse tensors. */
int orx_plan_collect(orx_plan *plan, const orx_model *model);

/* Append s to the skipped list (after orx_plan_skip_reserve, it cannot
 * fail). */
int orx_plan_skip_add(orx_plan *plan, orx_plan_skip s);

/* Room for more skipped tensors. */
int orx_plan_skip_reserve(orx_plan *plan, size_t more);

#endif
