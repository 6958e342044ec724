/* Internal: a plan's entries (entry.c): made for a claimed tensor, the
 * endings of its walk, and the names the plan shows. */
#ifndef ORX_ENTRY_H
#define ORX_ENTRY_H

#include "downstream.h"
#include "plan.h"

/* A new entry for the unclaimed tensor value, used by input slot of node
 * of c's graph as role (node -1: by no node, as the role other is). */
int orx_plan_new_entry(entry **out, orx_plan_ctx *c, int node, int slot,
		       orx_role role, int value);

/* The layer weight of each node of the plan's graphs, by model-wide node
 * number (orx_graph_node_base + index; NULL where none): a malloc'd
 * array of plan->n_nodes, or NULL when out of memory. */
entry **orx_plan_weights_by_node(const orx_plan *plan);

/* dims (ndim of them) as the shape e's node sees, copied into mem. */
int orx_plan_see(entry *e, orx_arena *mem, const int64_t *dims, size_t ndim);

/* The n endings br (the chosen first) as e's branches and activation,
 * kept in the plan's memory (br may be NULL when n is 0). */
int orx_plan_keep_branches(entry *e, orx_arena *mem, const orx_branch *br,
			   size_t n);

/* Node n of c's graph as the plan names it: its name, or OP_INDEX
 * without one (in c's plan memory; NULL when out of it). */
const char *orx_plan_node_label(orx_plan_ctx *c, int n);

/* e left as it is, for the reason fmt says (kept in mem). */
int orx_plan_reason(entry *e, orx_arena *mem, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Node of c's graph qualified by its body's path (the name random
 * streams of its blocks are keyed by), in c's plan memory; NULL when out
 * of it. */
const char *orx_plan_node_where(orx_plan_ctx *c, int node);

/* The name the plan gives op (op_type, or domain.op_type), in mem if
 * made; NULL when out of it. */
const char *orx_plan_op_name(orx_arena *mem, const orx_op *op);

#endif
