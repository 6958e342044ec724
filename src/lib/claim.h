/* Internal: claiming the tensors of layers and normalizations for the
 * plan (claim.c): which constant is what to which node, and what the walk
 * downstream found. */
#ifndef ORX_CLAIM_H
#define ORX_CLAIM_H

#include "downstream.h"
#include "entry.h"
#include "plan.h"

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

/* The float tensors of more than one element no layer claimed: entries
 * of role other, which only a rule decides. */
int orx_claim_others(orx_plan *plan, const orx_model *model);

#endif
