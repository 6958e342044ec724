/* Internal: deciding the plan's tensors by the rules (decide.c). */
#ifndef ORX_DECIDE_H
#define ORX_DECIDE_H

#include "fans.h"
#include "plan.h"

/* The rule for e, stored as t, and what it draws (e->decided set); or
 * why e is kept (e->reason set, in mem). */
int orx_plan_decide(entry *e, orx_arena *mem, const orx_rules *rules,
		    const Onnx__TensorProto *t);

/* The fans of weight e under a convention. */
int orx_entry_fans(int64_t *fan_in, int64_t *fan_out, const entry *e,
		   orx_fan_convention conv);

#endif
