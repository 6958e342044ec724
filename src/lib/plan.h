/* Internal: the planner's data (plan.c builds it with claim.c, roles.c,
 * recurrent.c, decide.c, order.c and skips.c; check.c reads it). */
#ifndef ORX_PLAN_H
#define ORX_PLAN_H

#include "graph.h"
#include "ops.h"
#include "quant.h"

/* A tensor the planner claimed: what it is to which node, and what the
 * rules decided. */
typedef struct entry {
	orx_plan_item pub;
	int decided; /* a rule rewrites it */
	int input;   /* which input of the node */
	int64_t trans, trans_batch, group;
	int64_t strides;     /* ConvTranspose: the product of its strides */
	const int64_t *seen; /* shape as the node sees it (in plan memory) */
	size_t seen_ndim;
	bool quantized;	    /* behind DequantizeLinear */
	orx_quant *quant;   /* a quantized weight (NULL: float) */
	orx_qbias *qbias;   /* a quantized int32 bias */
	int quant_after;    /* the layer's float output when its weight's
			       scale is multiplied in after it, or -1 */
	bool constant;	    /* a Constant node's tensor, not an initializer */
	bool body;	    /* in an If, Loop or Scan body */
	double alpha;	    /* of the chosen activation (LeakyRelu) */
	bool normalized;    /* a normalization on the way to it */
	bool last;	    /* every branch downstream ends where nothing
			       learns from the signal (graph output, Softmax):
			       the logits */
	const char *reason; /* why it is skipped, if it is (else NULL) */
	bool kept;	    /* by a keep rule (or orx_plan_restrict) */
	orx_plan_block *blocks;	   /* a recurrent layer's: pub.n_blocks */
	const struct entry *layer; /* bias: its layer's weight, or NULL */
	int node_index;		   /* the node that uses it, in gr */
	const orx_graph *gr;	   /* the graph of that node */
	const orx_op *row;	   /* that node's row (NULL: no node) */
	double input_gain;    /* what reaches its layer: the second moment over
				 the one its scheme expects (gains.c) */
	bool undo_gains;      /* its rule says gains=undo */
	size_t residual_sums; /* the last layer of a residual branch without
				 normalization (residual.c): the number of
				 such sums in its graph; else 0 */
} entry;

struct orx_plan {
	orx_arena *mem;	    /* the entries, their branches, names and reasons */
	orx_graph **graphs; /* every graph of the model, indexed (0: main) */
	size_t n_graphs;
	size_t n_nodes; /* of all the graphs */
	entry **e;	/* by tensor index: NULL where unclaimed */
	size_t n_init;	/* the model's tensors (values.c) */
	size_t *items;	/* entries rewritten */
	size_t n_items;
	orx_plan_skip *skips; /* the tensors left as they are */
	size_t n_skips, cap_skips;
	char **owned; /* names made for the skipped list */
	size_t n_owned, cap_owned;
};

/* The planner at one graph of the model. */
typedef struct orx_plan_ctx {
	orx_plan *plan;
	const orx_model *model;
	const orx_graph *gr;
	const Onnx__GraphProto *g;
} orx_plan_ctx;

#endif
