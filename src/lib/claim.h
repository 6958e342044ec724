/* Internal: claiming the tensors of layers and normalizations for the
 * plan (claim.c): which constant is what to which node, and what the walk
 * downstream found. */
#ifndef ORX_CLAIM_H
#define ORX_CLAIM_H

#include "downstream.h"
#include "plan.h"

/* A new entry for the unclaimed tensor value, used by input slot of node
 * of c's graph as role (node -1: by no node, as the role other is). */
int orx_plan_new_entry(entry **out, orx_plan_ctx *c, int node, int slot,
		       orx_role role, int value);

/* The n endings br (the chosen first) as e's branches and activation,
 * kept in the plan's memory (br may be NULL when n is 0). */
int orx_plan_keep_branches(entry *e, orx_arena *mem, const orx_branch *br,
			   size_t n);

/* Node n of c's graph as the plan names it: its name, or OP_INDEX
 * without one (in c's plan memory; NULL when out of it). */
const char *orx_plan_node_label(orx_plan_ctx *c, int n);

/* Claim the constant behind input slot of node for role into *out (NULL
 * when there is none or it is already claimed: the first user decides).
 * Its activation comes from a walk from value walk_from_value (-1: none),
 * or, when like is given, from that entry's walk from the same value. */
int orx_plan_claim(entry **out, orx_plan_ctx *c, int node, int slot,
		   orx_role role, int walk_from_value, const entry *like);

/* Claim tensor value (if unclaimed), the whole constant, for role: used
 * by input slot of node, though that input may hold only a part of it (a
 * Slice of a position table). */
int orx_plan_claim_value(orx_plan_ctx *c, int node, int slot, orx_role role,
			 int value);

/* Claim a layer's weight and bias (node of c's graph, its row op). */
int orx_claim_layer(orx_plan_ctx *c, int node, const orx_op *op);

/* Claim the parameters a node holds by what its row says its inputs
 * are: a normalization's scale, bias, mean and variance, a buffer
 * (rotary caches, attention biases); with tables, only the embedding
 * and position tables (claimed before the layers, so that one tied to
 * an output projection is an embedding). */
int orx_claim_inputs(orx_plan_ctx *c, int node, const orx_op *op, bool tables);

/* Claim the weights of a node whose row has a skip_reason: listed as
 * left alone with it. */
int orx_claim_refused(orx_plan_ctx *c, int node, const orx_op *op);

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

/* The float tensors of more than one element no layer claimed: entries
 * of role other, which only a rule decides. */
int orx_claim_others(orx_plan *plan, const orx_model *model);

#endif
