/* Internal: an index of a graph's values, and the walks the planner does
 * over it. */
#ifndef ORX_GRAPH_H
#define ORX_GRAPH_H

#include "internal.h"

typedef struct orx_graph orx_graph;

/* Is node the ONNX op called op (default domain)? */
bool orx_op_is(const Onnx__NodeProto *node, const char *op);

/* Index g: every value (graph inputs and outputs, initializers, node
 * inputs and outputs) with its producer and consumers. */
int orx_graph_build(orx_graph **out, const Onnx__GraphProto *g);
void orx_graph_free(orx_graph *graph);

/* The value called name, or -1. */
int orx_graph_value(const orx_graph *graph, const char *name);

/* The node producing value v, or -1 (graph input, initializer). */
int orx_graph_producer(const orx_graph *graph, int v);

/* Does the graph itself define name: a graph input, an initializer, or
 * a node's output? */
bool orx_graph_defines(const orx_graph *graph, const char *name);

/* Which of the graph's outputs value v is, or -1. */
int orx_graph_output_index(const orx_graph *graph, int v);

/* Is value v an output of the graph? */
bool orx_graph_is_output(const orx_graph *graph, int v);

/* The initializer that is value v, or -1. */
int orx_graph_initializer(const orx_graph *graph, int v);

/* The consumers of value v: node indices and input slots. */
size_t orx_graph_consumers(const orx_graph *graph, int v, const int **nodes,
			   const int **slots);

/* The value of input or output k of node n (-1: omitted, or no such
 * input or output). */
int orx_graph_input_of(const orx_graph *graph, int n, size_t k);
int orx_graph_output_of(const orx_graph *graph, int n, size_t k);

/* Where graph sits among the model's graphs: the graph around it (NULL
 * for the main graph), its index, the node of parent that holds it, and
 * the number of nodes of the graphs before it (to number all nodes). */
void orx_graph_set_scope(orx_graph *graph, const orx_graph *parent, int id,
			 int owner, size_t node_base);
const orx_graph *orx_graph_parent(const orx_graph *graph, int *owner);
int orx_graph_id(const orx_graph *graph);
size_t orx_graph_node_base(const orx_graph *graph);

/* A value of the graph that a body inside it (at any depth) reads by
 * name without defining it (ONNX's outer scope): body_value is it in the
 * body. */
typedef struct {
	int value;
	const orx_graph *body;
	int body_value;
} orx_capture;

/* Register the outer-scope reads of every graph among graphs (indexed by
 * id, scopes set) with the graph around that defines each name; then
 * orx_graph_captures lists them, for the walks to follow into bodies. */
int orx_graph_link_captures(orx_graph *const *graphs, size_t n);

/* The captures of value v of graph: *first, and how many. */
size_t orx_graph_captures(const orx_graph *graph, int v,
			  const orx_capture **first);

/* A byte per node, 0 when the graph is built, that the walks may use to
 * remember what they found out about each node. */
uint8_t *orx_graph_node_memo(const orx_graph *graph);

/* Start a walk over the graph's values: orx_graph_visit is then true
 * once for each value (false for -1), in this graph and in any graph of
 * the same model the walk enters. One walk at a time per model. */
void orx_graph_new_walk(const orx_graph *graph);
bool orx_graph_visit(const orx_graph *graph, int v);

const Onnx__GraphProto *orx_graph_proto(const orx_graph *graph);
const Onnx__NodeProto *orx_graph_node(const orx_graph *graph, int n);
size_t orx_graph_node_count(const orx_graph *graph);

#define ORX_DIMS_MAX 16

/* The elements of a shape; UINT64_MAX past 2^62 or for a negative dim. */
uint64_t orx_dims_count(const int64_t *dims, size_t ndim);

/* What is behind a node input: the initializer it comes from, followed
 * upstream through the ops whose rows in the op table have a view
 * (Identity, Transpose, Cast, Reshape, Squeeze, Unsqueeze, Flatten,
 * DequantizeLinear), and its shape as the node sees it. */
typedef struct {
	int init;		    /* the initializer's index, or -1 */
	int constant_node;	    /* else the Constant node holding it */
	int graph;		    /* the id of the graph holding either
				       (a name a body uses from outside
				       resolves in the graphs around it) */
	int64_t seen[ORX_DIMS_MAX]; /* shape after the views on the way */
	size_t ndim;
	bool quantized; /* a DequantizeLinear on the way */
} orx_trace;

/* Trace input into *out: 0 when it comes from an initializer or a
 * Constant node's tensor, -1 when from neither or when the shape
 * through the views cannot be told. */
int orx_graph_trace(orx_trace *out, const orx_graph *graph, const char *input);

/* The elements of a small int64 constant (an initializer or a Constant
 * node's output: shapes, axes) into out, *n of them. */
int orx_graph_ints(int64_t *out, size_t max, size_t *n, const orx_graph *graph,
		   const char *name);

/* A scalar constant: an initializer or the output of a Constant node. */
int orx_graph_scalar(double *out, const orx_graph *graph, const char *name);

/* Integer and float attributes with a default. */
int64_t orx_attr_int(const Onnx__NodeProto *node, const char *name,
		     int64_t fallback);
double orx_attr_float(const Onnx__NodeProto *node, const char *name,
		      double fallback);

/* Is the string attribute name of node equal to value? */
bool orx_attr_string_is(const Onnx__NodeProto *node, const char *name,
			const char *value);

/* An ints attribute into out (*n of them); false when absent or longer
 * than max. */
bool orx_attr_ints(int64_t *out, size_t max, size_t *n,
		   const Onnx__NodeProto *node, const char *name);

/*** the downstream walk ***/

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
	double alpha;		/* LeakyRelu's alpha, else NAN */
	const char *path[ORX_PATH_MAX];
	size_t path_len;
} orx_branch;

/* Walk downstream from value v through ops that do not decide the
 * nonlinearity, breadth first. Up to ORX_BRANCH_MAX distinct endings go
 * into branches (*n of them), nearest first. */
int orx_graph_walk(orx_branch *branches, size_t *n, const orx_graph *graph,
		   int v);

/* The weighted node (Gemm, MatMul, Conv, ConvTranspose) whose output
 * reaches input slot of node through transparent ops and activations
 * (following each op's first non-constant input); -1 when a
 * normalization comes first (then *normalized is true), a residual sum
 * (an Add of two signals: the skip keeps the signal level), or none
 * does. */
int orx_graph_upstream_layer(const orx_graph *graph, int node, int slot,
			     bool *normalized);

#endif
