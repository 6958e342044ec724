/* Internal: from a node's input up to the constant behind it (trace.c). */
#ifndef ORX_TRACE_H
#define ORX_TRACE_H

#include "graph.h"

/* What is behind a node input: the constant it comes from, followed
 * upstream through the ops whose rows have a view (Identity, Transpose,
 * Cast, Reshape, Squeeze, Unsqueeze, Flatten, DequantizeLinear), and its
 * shape as the node sees it. */
typedef struct {
	int init;		    /* the initializer's index, or -1 */
	int constant_node;	    /* else the Constant node holding it */
	int graph;		    /* the id of the graph holding either
				       (a name a body uses from outside
				       resolves in the graphs around it) */
	int64_t seen[ORX_DIMS_MAX]; /* shape after the views on the way */
	size_t ndim;
	bool quantized;		   /* a DequantizeLinear on the way */
	const orx_graph *dq_graph; /* the last one met (nearest the
				      constant) and its graph; */
	int dq_node;		   /* -1: none */
	bool dq_first;		   /* it reads the constant itself */
	size_t views;		   /* ops between the constant and the
				      node */
} orx_trace;

/* Trace input k of node of graph into *out (k < its n_input): 0 when it comes
 * from an initializer or a Constant node's tensor, -1 when from neither or when
 * the shape through the views cannot be told. */
int orx_graph_trace(orx_trace *out, const orx_graph *graph, int node, size_t k);

#endif
