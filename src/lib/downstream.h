/* Internal: the walk downstream from a layer to the activation that
 * decides its nonlinearity, and the way upstream to the layer that feeds
 * one (downstream.c). */
#ifndef ORX_DOWNSTREAM_H
#define ORX_DOWNSTREAM_H

#include "graph.h"

#define ORX_PATH_MAX 12
#define ORX_BRANCH_MAX 8

typedef enum {
	ORX_BRANCH_ACTIVATION, /* an activation (or a known pattern) */
	ORX_BRANCH_NONE,       /* graph output, Softmax, a weighted op */
	ORX_BRANCH_OPAQUE      /* an op that is neither: not followed */
} orx_branch_kind;

typedef struct {
	orx_branch_kind kind;
	const char *activation; /* op type or pattern name; "none" */
	double alpha;		/* the activation's slope (LeakyRelu), else
				   NAN */
	const char *path[ORX_PATH_MAX]; /* the ops walked (the nearest
					   ORX_PATH_MAX), the ending last */
	size_t path_len;
	bool normalized; /* a normalization among the path's ops */
	bool final;	 /* it ends at a graph output or at Softmax and kin:
			    nothing learns from the signal after it */
} orx_branch;

/* Walk downstream from value v through ops that do not decide the
 * nonlinearity, breadth first. Up to ORX_BRANCH_MAX distinct endings go
 * into branches (*n of them), nearest first. */
int orx_graph_walk(orx_branch *branches, size_t *n, const orx_graph *graph,
		   int v);

/* Value v is a constant: an initializer, a Constant's output, or an
 * omitted input (-1). */
bool orx_graph_is_constant(const orx_graph *graph, int v);

/* Is node p a sum of two or more signals (a residual connection)? */
bool orx_graph_residual_sum(const orx_graph *graph, int p);

/* The weighted node (Gemm, MatMul, Conv, ConvTranspose) whose output
 * reaches input slot of node through transparent ops and activations
 * (following each op's first non-constant input); -1 when a
 * normalization comes first (then *normalized is true), a residual sum
 * (an Add of two signals: the skip keeps the signal level), or none
 * does. */
int orx_graph_upstream_layer(const orx_graph *graph, int node, int slot,
			     bool *normalized);

#endif
