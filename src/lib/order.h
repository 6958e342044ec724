/* Internal: the order the plan's layers run in (order.c). */
#ifndef ORX_ORDER_H
#define ORX_ORDER_H

#include "plan.h"

/* Each entry's order: its node's position when the graph runs, bodies
 * depth first at the node that holds them (SIZE_MAX without a node). */
int orx_plan_order(orx_plan *plan, const orx_model *m);

#endif
