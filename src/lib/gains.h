/* Internal: what ops between layers do to the signal's second moment,
 * and the layers drawn to undo it (gains.c). */
#ifndef ORX_GAINS_H
#define ORX_GAINS_H

#include "plan.h"

/* The factor by which a max pool over k rectified values raises the
 * second moment, the values N(0, 1) with correlation rho between any
 * two: E[max(0, max of them)^2] / (1/2). */
double orx_max_pool_gain(int64_t k, double rho);

/* Every layer weight's input factor (entry input_gain: the second
 * moment of what reaches it over the one its scheme expects), and each
 * decided one whose rule says gains=undo drawn at std / sqrt(factor),
 * unless a normalization follows it. After the entries are decided. */
int orx_plan_input_gains(orx_plan *plan);

#endif
