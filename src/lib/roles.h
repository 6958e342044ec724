/* Internal: parameters found from the graph's structure (roles.c). */
#ifndef ORX_ROLES_H
#define ORX_ROLES_H

#include "plan.h"

/* Claim the parameters node of c's graph holds by the structure, as its
 * row's params kind says: an embedding table, a PRelu slope, a class
 * token, positions, norm scales and biases written out, layer scales,
 * and the buffers to keep. */
int orx_roles_claim(orx_plan_ctx *c, int node, const orx_op *op);

/* Whether input k of node n of c's graph comes from a graph input with
 * no layer, embedding or normalization on the way. */
bool orx_roles_from_input(const orx_plan_ctx *c, int n, size_t k);

#endif
