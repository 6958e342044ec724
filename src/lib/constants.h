/* Internal: small constants read where a node uses them (constants.c):
 * shapes, axes, bounds, exponents. */
#ifndef ORX_CONSTANTS_H
#define ORX_CONSTANTS_H

#include "graph.h"

/* The tensor of constant value v of graph (an initializer or a Constant
 * node's value), through the ops that copy their input; NULL when v is
 * no such constant. */
const Onnx__TensorProto *orx_graph_constant(const orx_graph *graph, int v);

/* A scalar constant called name in graph gr: an initializer or a
 * Constant node's output, through the ops that copy their input (up to
 * 64 of them: Identity, Cast). ORX_EUNSUPPORTED when it is none. */
int orx_graph_scalar(double *out, const orx_graph *graph, const char *name);

/* The elements of a small int64 or int32 constant called name in graph
 * (an initializer or a Constant node's output: shapes, axes) into out,
 * *n of them (at most max). */
int orx_graph_ints(int64_t *out, size_t max, size_t *n, const orx_graph *graph,
		   const char *name);

#endif
