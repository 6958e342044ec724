/* Internal: a value assembled from pieces of constants (assemble.c):
 * PyTorch builds an LSTM's W from row blocks of weight_ih_l0 with Slice,
 * Concat and Unsqueeze. */
#ifndef ORX_ASSEMBLE_H
#define ORX_ASSEMBLE_H

#include "graph.h"

#define ORX_PIECES_MAX 64

/* count elements of a constant from its element first, in order. */
typedef struct {
	int graph;	   /* the id of the graph holding the constant */
	int init;	   /* its initializer there, or -1 */
	int constant_node; /* else the Constant node holding it */
	uint64_t first, count;
} orx_piece;

typedef struct orx_assembly {
	orx_piece piece[ORX_PIECES_MAX]; /* in the value's element order */
	size_t n;
	int64_t dims[ORX_DIMS_MAX]; /* the value's shape */
	size_t ndim;
	bool quantized; /* a DequantizeLinear on the way */
	char why[160];	/* why it cannot be told */
} orx_assembly;

/* The pieces value input of graph gr is made of, through Slice, Concat
 * and the views that keep the elements' order (not Transpose): 0; or -1
 * with out->why saying what stopped it (out->n pieces then list the
 * constants reached, for the planner to name). */
int orx_graph_assemble(orx_assembly *out, const orx_graph *gr,
		       const char *input);

#endif
