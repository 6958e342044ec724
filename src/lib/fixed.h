/* Internal: fixed transforms among the layers' weights (fixed.c). */
#ifndef ORX_FIXED_H
#define ORX_FIXED_H

#include "plan.h"

/* Every float layer weight of the plan whose values are a fixed
 * transform (spectral.c: a DFT basis, a filter bank, a DCT; a window or
 * smoothing kernel before any trained layer) takes the role
 * fixed_transform, what it was found to be in its entry's found. */
int orx_plan_fixed_transforms(orx_plan *plan, const orx_model *model);

#endif
