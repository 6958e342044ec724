/* Internal: what each ONNX op is to the tool, in one table (ops.c). The
 * planner, the downstream walk, the fans, the rules and check read it;
 * a new kind of layer is a new row. */
#ifndef ORX_OPS_H
#define ORX_OPS_H

#include "graph.h"

/* The op's class for the planner and the downstream walk. */
typedef enum {
	ORX_OP_UNKNOWN,	      /* not in the table: an opaque end of a walk */
	ORX_OP_TRANSPARENT,   /* does not decide the nonlinearity: walk on */
	ORX_OP_NORMALIZATION, /* transparent to the walk; has parameters */
	ORX_OP_ACTIVATION,    /* ends a walk with its name */
	ORX_OP_WEIGHTED,      /* a layer: ends a walk with "none" */
	ORX_OP_END,	      /* Softmax and kin: ends a walk with "none" */
	ORX_OP_PATTERN,	      /* a pattern of several ops decides (the walk) */
	ORX_OP_RECURRENT      /* LSTM, GRU, RNN: a layer of gate blocks, W,
				 R, B as inputs 1, 2, 3 (ends a walk with
				 "none") */
} orx_op_class;

typedef int (*orx_fan_fn)(int64_t *fan_in, int64_t *fan_out,
			  const orx_fan_query *q, const int64_t *dims,
			  size_t ndim);

/* How an op changes the shape of a constant on its way to a layer (dims
 * in place, *ndim of them, at most ORX_DIMS_MAX): node n of graph.
 * ORX_EUNSUPPORTED when the shape cannot be told. */
typedef int (*orx_view_fn)(int64_t *dims, size_t *ndim, const orx_graph *gr,
			   int n);

/* A value assembled from pieces of constants (assemble.c): PyTorch
 * builds an LSTM's W from row blocks of weight_ih_l0 with Slice, Concat
 * and Unsqueeze. */
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

/* How an op assembles its output from its inputs' pieces (Slice,
 * Concat): node n of graph, into out; depth bounds the recursion. */
typedef int (*orx_assemble_fn)(orx_assembly *out, const orx_graph *gr, int n,
			       int depth);

struct orx_plan_ctx;

/* The parameters a node holds by the graph's structure, claimed (roles.c). */
typedef int (*orx_params_fn)(struct orx_plan_ctx *c, int node);

typedef struct {
	const char *op;
	orx_op_class cls;
	/* a constant may reach a layer through it (its input 0), seen with
	 * this shape: NULL, the trace stops there */
	orx_view_fn view;
	bool quantized;		  /* what comes through is a quantized weight */
	bool reorders;		  /* the view changes the elements' order */
	orx_assemble_fn assemble; /* pieces of constants through it */
	/* ORX_OP_WEIGHTED: */
	unsigned weight_inputs; /* bit i: input i may be the weight; with
				   both 0 and 1, B when it is a constant */
	int bias_input;		/* -1: none (an Add after it may be one) */
	int data_input;		/* the signal's input; -1: the other of A
				   and B */
	const char *trans_a, *trans_b; /* attributes transposing A and B */
	orx_fan_fn fans;
	/* ORX_OP_NORMALIZATION: its parameters are inputs 1 to n_params */
	int n_params;
	/* ORX_OP_RECURRENT: the gates in ONNX's order, one letter each, and
	 * the peepholes (input 7, LSTM: i, o, f) */
	const char *gates;
	int n_peepholes;
	/* structural parameters of its nodes; params_first: claimed before
	 * the layers (an embedding tied to an output projection is an
	 * embedding) */
	orx_params_fn params;
	bool params_first;
} orx_op;

/* The fan functions of the weighted ops (fans.c): the fans of a weight
 * of shape dims used as input q->input. */
int orx_fans_gemm(int64_t *fan_in, int64_t *fan_out, const orx_fan_query *q,
		  const int64_t *dims, size_t ndim);
int orx_fans_matmul(int64_t *fan_in, int64_t *fan_out, const orx_fan_query *q,
		    const int64_t *dims, size_t ndim);
int orx_fans_conv(int64_t *fan_in, int64_t *fan_out, const orx_fan_query *q,
		  const int64_t *dims, size_t ndim);
int orx_fans_conv_transpose(int64_t *fan_in, int64_t *fan_out,
			    const orx_fan_query *q, const int64_t *dims,
			    size_t ndim);

/* The views (view.c). */
int orx_view_same(int64_t *dims, size_t *ndim, const orx_graph *gr, int n);
int orx_view_transpose(int64_t *dims, size_t *ndim, const orx_graph *gr, int n);
int orx_view_reshape(int64_t *dims, size_t *ndim, const orx_graph *gr, int n);
int orx_view_squeeze(int64_t *dims, size_t *ndim, const orx_graph *gr, int n);
int orx_view_unsqueeze(int64_t *dims, size_t *ndim, const orx_graph *gr, int n);
int orx_view_flatten(int64_t *dims, size_t *ndim, const orx_graph *gr, int n);

/* The assemblies (assemble.c). */
int orx_assemble_slice(orx_assembly *out, const orx_graph *gr, int n,
		       int depth);
int orx_assemble_concat(orx_assembly *out, const orx_graph *gr, int n,
			int depth);

/* The row of an op type (default domain), or NULL. */
const orx_op *orx_op_named(const char *op_type);

/* The share of a zero-mean input's second moment the activation passes
 * (1/2 for ReLU; alpha: LeakyRelu's, NAN for its default 0.01). */
double orx_activation_factor(const char *activation, double alpha);

/* The row of a node: NULL for other domains and unknown ops. */
const orx_op *orx_op_of(const Onnx__NodeProto *node);

/* The class of a node (ORX_OP_UNKNOWN without a row). */
orx_op_class orx_op_class_of(const Onnx__NodeProto *node);

/* Row i of the table, for listings (NULL past the end). */
const orx_op *orx_op_at(size_t i);

#endif
