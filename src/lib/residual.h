/* Internal: residual branches without normalization (residual.c). */
#ifndef ORX_RESIDUAL_H
#define ORX_RESIDUAL_H

#include "plan.h"

/* Every residual sum y = s + F(x) of each graph (an Add of two signals,
 * or a fused layer's added input: FusedConv's Z) whose branch F holds
 * weighted layers and no normalization, and whose y no normalization
 * follows before the next layer: each adds F's variance to the skip's,
 * so the signal grows with their number L in the graph. The weight of
 * F's last layer gets residual_sums = L (the rules' branch=residual; a
 * scheme's residual=sqrt_depth scales it by 1/sqrt(L)). The branch is
 * the side with more weighted layers between the sum and the value both
 * sides come from (an identity skip has none); a tie, an op the table
 * does not know or another source on the way leaves the sum unmarked. */
int orx_plan_residual_branches(orx_plan *plan);

#endif
