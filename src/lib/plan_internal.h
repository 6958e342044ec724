/* Internal: the planner's data, shared by plan.c and check.c. */
#ifndef ORX_PLAN_INTERNAL_H
#define ORX_PLAN_INTERNAL_H

#include "graph.h"
#include "ops.h"

typedef struct entry {
	orx_plan_item pub;
	int decided; /* a rule rewrites it */
	int input;   /* which input of the node */
	int64_t trans, group;
	int64_t seen[ORX_DIMS_MAX]; /* shape as the node sees it */
	size_t seen_ndim;
	bool quantized;	    /* behind DequantizeLinear: never rewritten */
	bool constant;	    /* a Constant node's tensor, not an initializer */
	bool body;	    /* in an If, Loop or Scan body */
	double alpha;	    /* of the chosen activation (LeakyRelu) */
	const char *reason; /* why it is skipped, if it is (else NULL) */
	bool kept;	    /* by a keep rule (or orx_plan_restrict) */
	orx_plan_block *blocks;	   /* a recurrent layer's: pub.n_blocks */
	const struct entry *layer; /* bias: its layer's weight, or NULL */
	int node_index;		   /* the node that uses it, in gr */
	const orx_graph *gr;	   /* the graph of that node */
} entry;

struct orx_plan {
	orx_arena *mem;	    /* the entries, their branches, names and reasons */
	orx_graph **graphs; /* every graph of the model, indexed (0: main) */
	size_t n_graphs;
	size_t n_nodes; /* of all the graphs */
	entry **e;	/* by initializer index: NULL where unclaimed */
	size_t n_init;	/* the model's values (values.c) */
	size_t *items;	/* entries rewritten */
	size_t n_items;
	orx_plan_skip *skips;
	char **owned; /* names made for the skipped list */
	size_t n_owned;
	size_t n_skips;
};

/* The planner at one graph of the model. */
typedef struct orx_plan_ctx {
	orx_plan *plan;
	const orx_model *model;
	const orx_graph *gr;
	const Onnx__GraphProto *g;
} orx_plan_ctx;

/* Claim the constant behind input slot of node for role into *out (NULL
 * when there is none or it is already claimed: the first user decides).
 * Its activation comes from a walk from value walk_from_value (-1: none),
 * or, when like is given, from that entry's walk from the same value. */
int orx_plan_claim(entry **out, orx_plan_ctx *c, int node, int slot,
		   orx_role role, int walk_from_value, const entry *like);

/* Claim model value value (if unclaimed), the whole constant, for role:
 * used by input slot of node, though that input may hold only a part of
 * it (a Slice of a position table). */
int orx_plan_claim_value(orx_plan_ctx *c, int node, int slot, orx_role role,
			 int value);

/* The parameters an op's node holds by the graph's structure (roles.c):
 * embeddings, positions, class tokens, decomposed normalizations, layer
 * scales, PRelu slopes, and the buffers to keep. */
int orx_roles_gather(orx_plan_ctx *c, int node);
int orx_roles_prelu(orx_plan_ctx *c, int node);
int orx_roles_add(orx_plan_ctx *c, int node);
int orx_roles_mul(orx_plan_ctx *c, int node);
int orx_roles_concat(orx_plan_ctx *c, int node);

#endif
