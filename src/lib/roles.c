/* Parameters found from the graph's structure, not from names: the op
 * table's rows name the kind of each op's (ops.c: params).
 *
 *   Gather     its table, read at data indices: embedding
 *   PRelu      its slope
 *   Concat     a constant (through Expand) in front of the sequence:
 *              class_token
 *   Mul        by a constant, after a normalization written out
 *              (LayerNorm, RMSNorm, GroupNorm at opset 13): norm_scale;
 *              on a layer's output: scale (layer scale); on the input
 *              signal before any layer: buffer (a window)
 *   Add        a constant after that norm_scale: norm_bias; added to an
 *              embedding's or a patch projection's output: position; to
 *              attention scores or the input signal: buffer
 *
 * Tensors claimed elsewhere first (a layer's bias, a normalization's
 * parameters) are not claimed again. */
#include "roles.h"
#include "assemble.h"
#include "claim.h"
#include "patterns.h"
#include "trace.h"

#include <string.h>

/* How far upstream a value's origin is looked for. */
#define STEPS_MAX 64

typedef enum {
	FROM_NOTHING,	/* unknown, or too far */
	FROM_INPUT,	/* a graph input, no layer on the way */
	FROM_EMBEDDING, /* a Gather of a constant table */
	FROM_LAYER,	/* Gemm, MatMul, Conv, ConvTranspose of a weight */
	FROM_ATTENTION, /* a MatMul of two signals (Q times K^T) */
	FROM_NORMALIZED /* a normalization, or one written out */
} origin;

/* Is input k of node n a constant (an initializer or a Constant node's
 * tensor, through views)? */
static bool constant_input(const orx_plan_ctx *c, int n, size_t k)
{
	const Onnx__NodeProto *nd = c->g->node[n];
	orx_trace tr;

	return k < nd->n_input && nd->input[k][0] &&
	       orx_graph_trace(&tr, c->gr, n, k) == 0;
}

/* The first input of node n that is not a constant, or -1. */
static int signal_input(const orx_plan_ctx *c, int n)
{
	for (size_t k = 0; k < c->g->node[n]->n_input; k++)
		if (!constant_input(c, n, k) && c->g->node[n]->input[k][0])
			return (int)k;
	return -1;
}

/* Where value v of c's graph comes from, following the ops that carry
 * a signal unchanged in kind: their data input (input 0), the signal
 * input of arithmetic, any input of Concat that tells. *budget bounds
 * the steps of the whole search. */
static origin origin_at(const orx_plan_ctx *c, int v, int *budget)
{
	while (v >= 0 && (*budget)-- > 0) {
		int p = orx_graph_producer(c->gr, v), k = 0;
		const Onnx__NodeProto *nd;
		const orx_op *op;
		if (p < 0)
			return orx_graph_initializer(c->gr, v) < 0
				       ? FROM_INPUT
				       : FROM_NOTHING;
		nd = c->g->node[p];
		op = orx_op_of(c->gr, p);
		if (op && op->params == ORX_PARAMS_EMBEDDING &&
		    constant_input(c, p, 0) && !constant_input(c, p, 1))
			return FROM_EMBEDDING;
		if ((op && op->cls == ORX_OP_NORMALIZATION) ||
		    orx_pattern_divides_by_root(c->gr, p))
			return FROM_NORMALIZED;
		if (op && op->cls == ORX_OP_WEIGHTED)
			return nd->n_input >= 2 && !constant_input(c, p, 0) &&
					       !constant_input(c, p, 1)
				       ? FROM_ATTENTION
				       : FROM_LAYER;
		if (op && op->joins) {
			for (size_t j = 0; j < nd->n_input; j++) {
				origin o =
					constant_input(c, p, j)
						? FROM_NOTHING
						: origin_at(
							  c,
							  orx_graph_input_of(
								  c->gr, p, j),
							  budget);
				if (o != FROM_NOTHING)
					return o;
			}
			return FROM_NOTHING;
		}
		if (op && op->arith != ORX_ARITH_NONE)
			k = signal_input(c, p);
		else if (!op || !op->carries || nd->n_input == 0)
			return FROM_NOTHING;
		if (k < 0)
			return FROM_NOTHING;
		v = orx_graph_input_of(c->gr, p, (size_t)k);
	}
	return FROM_NOTHING;
}

/* Where input k of node n comes from. */
static origin origin_of(const orx_plan_ctx *c, int n, size_t k)
{
	int budget = STEPS_MAX;

	return origin_at(c, orx_graph_input_of(c->gr, n, k), &budget);
}

bool orx_roles_from_input(const orx_plan_ctx *c, int n, size_t k)
{
	return origin_of(c, n, k) == FROM_INPUT;
}

/* Value v, if it could hold parameters and no one claimed it; else -1. */
static int unclaimed_parameter(const orx_plan_ctx *c, int v)
{
	return v >= 0 && !c->plan->e[v] &&
			       orx_value_may_be_parameter(c->model, (size_t)v)
		       ? v
		       : -1;
}

/* The constant behind input k of node n (through views), or -1. */
static int constant_behind(const orx_plan_ctx *c, int n, size_t k)
{
	const Onnx__NodeProto *nd = c->g->node[n];
	orx_trace tr;

	if (k >= nd->n_input || !nd->input[k][0] ||
	    orx_graph_trace(&tr, c->gr, n, k) != 0)
		return -1;
	return orx_value_of_constant(c->model, tr.graph, tr.init,
				     tr.constant_node);
}

/* The float constant of more than one element behind input k of node n,
 * not yet claimed: its value index, or -1. */
static int free_constant(const orx_plan_ctx *c, int n, size_t k)
{
	return unclaimed_parameter(c, constant_behind(c, n, k));
}

/* The one unclaimed float constant input k of node n is cut from (by
 * Slice: a position table read up to the sequence's length): its value
 * index, or -1. */
static int sliced_constant(const orx_plan_ctx *c, int n, size_t k)
{
	const Onnx__NodeProto *nd = c->g->node[n];
	orx_assembly a;
	int p = k < nd->n_input
			? orx_graph_producer(c->gr,
					     orx_graph_input_of(c->gr, n, k))
			: -1;

	if (p < 0 || !orx_op_of(c->gr, p) ||
	    orx_op_of(c->gr, p)->assemble != ORX_ASSEMBLE_SLICE)
		return -1; /* only a Slice cuts a table to the sequence */
	if (orx_graph_assemble(&a, c->gr, nd->input[k]) != 0 || a.n != 1)
		return -1;
	return unclaimed_parameter(
		c, orx_value_of_constant(c->model, a.piece[0].graph,
					 a.piece[0].init,
					 a.piece[0].constant_node));
}

/* How many dimensions above 1 value v has: a position table [1, T, D]
 * has two, a per-channel scale or a bias one. */
static size_t wide_dims(const orx_plan_ctx *c, int v)
{
	const Onnx__TensorProto *t = orx_value_tensor(c->model, (size_t)v);
	size_t n = 0;

	for (size_t i = 0; i < t->n_dims; i++)
		n += t->dims[i] > 1;
	return n;
}

static int claim_as(orx_plan_ctx *c, int n, size_t k, orx_role role)
{
	entry *e;

	return orx_plan_claim(&e, c, n, (int)k, role, -1, NULL);
}

static int claim_embedding(orx_plan_ctx *c, int n)
{
	const orx_op *op = orx_op_of(c->gr, n);
	int v = constant_behind(c, n, 0);

	/* a quantized table (GatherBlockQuantized) holds integer codes */
	if (op->qlayout == ORX_QLAYOUT_NONE)
		v = unclaimed_parameter(c, v);
	if (constant_input(c, n, 1) || v < 0 || c->plan->e[v])
		return ORX_OK; /* a constant's rows (shapes), or claimed */
	return claim_as(c, n, 0, ORX_ROLE_EMBEDDING);
}

static int claim_prelu_slope(orx_plan_ctx *c, int n)
{
	return free_constant(c, n, 1) >= 0
		       ? claim_as(c, n, 1, ORX_ROLE_PRELU_SLOPE)
		       : ORX_OK;
}

static int claim_class_token(orx_plan_ctx *c, int n)
{
	const Onnx__NodeProto *nd = c->g->node[n];
	bool signal = false;

	for (size_t k = 0; k < nd->n_input; k++)
		signal |= !constant_input(c, n, k) &&
			  origin_of(c, n, k) != FROM_NOTHING;
	for (size_t k = 0; signal && k < nd->n_input; k++) {
		int p = orx_graph_producer(c->gr,
					   orx_graph_input_of(c->gr, n, k));
		orx_plan_ctx at = *c;
		int rc;
		if (free_constant(c, n, k) >= 0) {
			if ((rc = claim_as(c, n, k, ORX_ROLE_CLASS_TOKEN)) !=
			    ORX_OK)
				return rc;
		} else if (p >= 0 && orx_op_of(c->gr, p) &&
			   orx_op_of(c->gr, p)->broadcasts &&
			   free_constant(&at, p, 0) >= 0) {
			if ((rc = claim_as(&at, p, 0, ORX_ROLE_CLASS_TOKEN)) !=
			    ORX_OK)
				return rc;
		}
	}
	return ORX_OK;
}

/* Is node p a normalization without a bias of its own: a row without a
 * bias input (ONNX Runtime's SimplifiedLayerNormalization, RMSNorm), or
 * a node that leaves it out? */
static bool norm_without_bias(const orx_plan_ctx *c, int p)
{
	const orx_op *op = orx_op_of(c->gr, p);
	const Onnx__NodeProto *nd = c->g->node[p];
	int k;

	if (!op || op->cls != ORX_OP_NORMALIZATION)
		return false;
	k = orx_op_input_of_kind(op, ORX_IN_NORM_BIAS);
	return k < 0 || k >= (int)nd->n_input || !nd->input[k][0];
}

/* Is node n's input k a normalization's scaled output: a Mul whose
 * constant is a claimed norm_scale (a normalization written out), or a
 * normalization node without a bias? The Add after it adds the norm's
 * bias. */
static bool after_norm_scale(const orx_plan_ctx *c, int n, size_t k)
{
	int p = orx_graph_producer(c->gr, orx_graph_input_of(c->gr, n, k));
	const Onnx__NodeProto *mul;

	if (p >= 0 && norm_without_bias(c, p))
		return true;
	if (p < 0 || !orx_op_of(c->gr, p) ||
	    orx_op_of(c->gr, p)->arith != ORX_ARITH_MUL)
		return false;
	mul = c->g->node[p];
	for (size_t i = 0; i < mul->n_input; i++) {
		int v = constant_behind(c, p, i);
		if (v >= 0 && c->plan->e[v] &&
		    c->plan->e[v]->pub.role == ORX_ROLE_NORM_SCALE)
			return true;
	}
	return false;
}

static int claim_after_mul(orx_plan_ctx *c, int n)
{
	const Onnx__NodeProto *nd = c->g->node[n];

	if (nd->n_input != 2)
		return ORX_OK;
	for (size_t k = 0; k < 2; k++) {
		int v = free_constant(c, n, k);
		origin from;
		if (v < 0 || constant_input(c, n, 1 - k))
			continue;
		from = origin_of(c, n, 1 - k);
		if (from == FROM_NORMALIZED)
			return claim_as(c, n, k, ORX_ROLE_NORM_SCALE);
		if (from == FROM_LAYER && wide_dims(c, v) <= 1)
			return claim_as(c, n, k, ORX_ROLE_SCALE);
		if (from == FROM_INPUT)
			return claim_as(c, n, k, ORX_ROLE_BUFFER);
	}
	return ORX_OK;
}

static int claim_after_add(orx_plan_ctx *c, int n)
{
	const Onnx__NodeProto *nd = c->g->node[n];

	if (nd->n_input != 2)
		return ORX_OK;
	for (size_t k = 0; k < 2; k++) {
		int v = free_constant(c, n, k), cut = -1;
		origin from;
		if (v < 0)
			v = cut = sliced_constant(c, n, k);
		if (v < 0 || constant_input(c, n, 1 - k))
			continue;
		if (cut < 0 && after_norm_scale(c, n, 1 - k))
			return claim_as(c, n, k, ORX_ROLE_NORM_BIAS);
		from = origin_of(c, n, 1 - k);
		if ((from == FROM_EMBEDDING || from == FROM_LAYER) &&
		    wide_dims(c, v) >= 2)
			return cut < 0 ? claim_as(c, n, k, ORX_ROLE_POSITION)
				       : orx_plan_claim_value(c, n, (int)k,
							      ORX_ROLE_POSITION,
							      v);
		if (cut >= 0)
			continue;
		if (from == FROM_ATTENTION || from == FROM_INPUT)
			return claim_as(c, n, k, ORX_ROLE_BUFFER);
	}
	return ORX_OK;
}

int orx_roles_claim(orx_plan_ctx *c, int node, const orx_op *op)
{
	switch (op->params) {
	case ORX_PARAMS_EMBEDDING: return claim_embedding(c, node);
	case ORX_PARAMS_PRELU: return claim_prelu_slope(c, node);
	case ORX_PARAMS_ADD: return claim_after_add(c, node);
	case ORX_PARAMS_MUL: return claim_after_mul(c, node);
	case ORX_PARAMS_CLASS_TOKEN: return claim_class_token(c, node);
	case ORX_PARAMS_NONE: break;
	}
	return ORX_OK;
}
