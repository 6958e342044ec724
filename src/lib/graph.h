/* Internal: an index of a graph's values (graph.c), and the readers of
 * nodes' attributes. It knows nothing of what the ops are: the op table
 * (ops.h) keeps a number per node here. */
#ifndef ORX_GRAPH_H
#define ORX_GRAPH_H

#include "internal.h"

typedef struct orx_graph orx_graph;

/* Index g: every value (graph inputs and outputs, initializers, node
 * inputs and outputs) with its producer and consumers. opsets (n_opsets
 * of them, may be NULL) are the model's imports, which say at which
 * version each domain's ops are read. */
int orx_graph_build(orx_graph **out, const Onnx__GraphProto *g,
		    Onnx__OperatorSetIdProto *const *opsets, size_t n_opsets);
void orx_graph_free(orx_graph *graph);

/* The version of domain ("" for the default one) the model imports;
 * INT64_MAX when it imports none. */
int64_t orx_graph_opset(const orx_graph *graph, const char *domain);

/* How many values the graph has (they are 0 .. count - 1). */
size_t orx_graph_value_count(const orx_graph *graph);

/* The value called name, or -1. */
int orx_graph_value(const orx_graph *graph, const char *name);

/* The node producing value v, or -1 (graph input, initializer). */
int orx_graph_producer(const orx_graph *graph, int v);

/* Does the graph itself define name: a graph input, an initializer, or
 * a node's output? */
bool orx_graph_defines(const orx_graph *graph, const char *name);

/* Is value v an input of the graph? */
bool orx_graph_is_input(const orx_graph *graph, int v);

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

/* A number per node, 0 when the graph is built, that the op table uses
 * to remember each node's row. */
uint16_t *orx_graph_node_tags(const orx_graph *graph);

/* Start a walk over the graph's values: orx_graph_visit is then true
 * once for each value (false for -1), in this graph and in any graph of
 * the same model the walk enters. One walk at a time per model. */
void orx_graph_new_walk(const orx_graph *graph);
bool orx_graph_visit(const orx_graph *graph, int v);

const Onnx__GraphProto *orx_graph_proto(const orx_graph *graph);
const Onnx__NodeProto *orx_graph_node(const orx_graph *graph, int n);
size_t orx_graph_node_count(const orx_graph *graph);

/*** attributes ***/

/* The attribute called name of node, or NULL. */
const Onnx__AttributeProto *orx_attr_find(const Onnx__NodeProto *node,
					  const char *name);

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

#endif
