/* Claiming tensors for the plan: the constant behind a layer's weight and
 * bias inputs (traced through the views on the way), a normalization's
 * parameters, and the activation the walk downstream finds for each. */
#include "claim.h"
#include "patterns.h"
#include "qclaim.h"
#include "trace.h"

#include <math.h>
#include <string.h>

typedef orx_plan_ctx ctx;

/* The policy when branches end differently: the nearest activation
 * (breadth first) decides; without any, "none". The distinct endings go
 * into out (*n of them), the chosen one first. */
static void choose(orx_branch *out, size_t *n_out, const orx_branch *all,
		   size_t n_all)
{
	orx_branch br[ORX_BRANCH_MAX];
	size_t pick = 0, n = 0;

	/* one branch per activation name: opaque endings count as none */
	for (size_t i = 0; i < n_all; i++) {
		const char *name = all[i].kind == ORX_BRANCH_OPAQUE
					   ? "none"
					   : all[i].activation;
		size_t k;
		for (k = 0; k < n; k++)
			if (!strcmp(name, br[k].kind == ORX_BRANCH_OPAQUE
						  ? "none"
						  : br[k].activation))
				break;
		if (k == n)
			br[n++] = all[i];
		else if (br[k].kind == ORX_BRANCH_OPAQUE &&
			 all[i].kind == ORX_BRANCH_NONE)
			br[k] = all[i]; /* a clear ending says more */
	}

	for (size_t i = 0; i < n; i++)
		if (br[i].kind == ORX_BRANCH_ACTIVATION) {
			pick = i;
			break;
		} else if (br[pick].kind != ORX_BRANCH_NONE &&
			   br[i].kind == ORX_BRANCH_NONE) {
			pick = i;
		}
	for (size_t i = 0, k = 1; i < n; i++)
		out[i == pick ? 0 : k++] = br[i];
	*n_out = n;
}

/* The branches downstream of value v into e (a walk of its own). */
static int walk_from(entry *e, orx_arena *mem, const orx_graph *gr, int v)
{
	orx_branch all[ORX_BRANCH_MAX], br[ORX_BRANCH_MAX];
	size_t n_all = 0, n = 0;
	int rc;

	if ((rc = orx_graph_walk(all, &n_all, gr, v)) != ORX_OK)
		return rc;
	choose(br, &n, all, n_all);
	return orx_plan_keep_branches(e, mem, br, n);
}

/* e takes like's branches (the same walk from the same value). */
static void share_walk(entry *e, const entry *like)
{
	e->pub.n_branches = like->pub.n_branches;
	e->pub.branches = like->pub.branches;
	e->pub.activation = like->pub.activation;
	e->pub.path = like->pub.path;
	e->pub.path_len = like->pub.path_len;
	e->pub.activation_from = like->pub.activation_from;
	e->alpha = like->alpha;
	e->normalized = like->normalized;
	e->last = like->last;
}

int orx_plan_claim_value(orx_plan_ctx *c, int node, int slot, orx_role role,
			 int value)
{
	const Onnx__TensorProto *t = orx_value_tensor(c->model, (size_t)value);
	entry *e;
	int rc;

	if (value < 0 || c->plan->e[value] || t->n_dims > ORX_DIMS_MAX)
		return ORX_OK;
	if ((rc = orx_plan_new_entry(&e, c, node, slot, role, value)) != ORX_OK)
		return rc;
	if ((rc = orx_plan_see(e, c->plan->mem, t->dims, t->n_dims)) != ORX_OK)
		return rc;
	return orx_plan_keep_branches(e, c->plan->mem, NULL, 0);
}

int orx_plan_claim(entry **out, orx_plan_ctx *c, int node, int slot,
		   orx_role role, int walk_from_value, const entry *like)
{
	const Onnx__NodeProto *nd = c->g->node[node];
	orx_trace tr;
	int init, rc;
	entry *e;

	*out = NULL;
	if (slot >= (int)nd->n_input)
		return ORX_OK;
	if (orx_graph_trace(&tr, c->gr, node, (size_t)slot) < 0)
		return ORX_OK;
	init = orx_value_of_constant(c->model, tr.graph, tr.init,
				     tr.constant_node);
	if (init < 0 || c->plan->e[init])
		return ORX_OK;
	if ((rc = orx_plan_new_entry(&e, c, node, slot, role, init)) != ORX_OK)
		return rc;
	*out = e;
	if ((rc = orx_plan_see(e, c->plan->mem, tr.seen, tr.ndim)) != ORX_OK)
		return rc;
	e->quantized = tr.quantized;
	if ((rc = orx_claim_quantized(c, e, node, &tr)) != ORX_OK)
		return rc;
	if (like) {
		share_walk(e, like);
		return ORX_OK;
	}
	return walk_from(e, c->plan->mem, c->gr, walk_from_value);
}

/* Which input of consumer node n (reading the layer's output on input
 * slot) holds the layer's bias: the other input of an Add, or an input
 * the row calls the layer's bias (ONNX Runtime folded the Add into
 * FastGelu, SkipLayerNormalization and kin) where the output comes in
 * first; -1 when none does. */
static int bias_slot(const orx_graph *gr, int n, int slot)
{
	const orx_op *op = orx_op_of(gr, n);
	const Onnx__NodeProto *nd = orx_graph_node(gr, n);

	if (!op || nd->n_output == 0)
		return -1;
	if (op->arith == ORX_ARITH_ADD)
		return nd->n_input == 2 ? 1 - slot : -1;
	return slot == 0 ? orx_op_input_of_kind(op, ORX_IN_LAYER_BIAS) : -1;
}

/* A consumer of value out of graph c->gr that adds a constant to it:
 * claimed as weight's bias into *b (NULL if none). */
static int claim_bias_add(entry **b, ctx *c, int out, const entry *weight)
{
	const int *nodes, *slots;
	size_t n = orx_graph_consumers(c->gr, out, &nodes, &slots);

	*b = NULL;
	for (size_t i = 0; i < n; i++) {
		int k = bias_slot(c->gr, nodes[i], slots[i]), rc;
		if (k < 0)
			continue;
		rc = orx_plan_claim(b, c, nodes[i], k, ORX_ROLE_BIAS,
				    orx_graph_output_of(c->gr, nodes[i], 0),
				    NULL);
		if (rc != ORX_OK || *b) {
			if (*b) {
				(*b)->layer = weight;
				(*b)->pub.op = weight->pub.op;
				(*b)->pub.activation = weight->pub.activation;
			}
			return rc;
		}
	}
	return ORX_OK;
}

/* The Add right after a layer that adds a constant: its bias (the
 * MatMul + Add that exporters write for Linear), in the layer's graph or
 * in a body that reads the layer's output by name. */
static int claim_following_bias(ctx *c, int out, const entry *weight)
{
	const orx_capture *cap;
	size_t n = out >= 0 ? orx_graph_captures(c->gr, out, &cap) : 0;
	entry *b;
	int rc = claim_bias_add(&b, c, out, weight);

	for (size_t i = 0; i < n && rc == ORX_OK && !b; i++) {
		ctx in = {c->plan, c->model, cap[i].body,
			  orx_graph_proto(cap[i].body)};
		rc = claim_bias_add(&b, &in, cap[i].body_value, weight);
	}
	return rc;
}

/* The input that holds a layer's weight: of the two that may be either
 * (Gemm's and MatMul's A and B), B when it is a constant, else A; else
 * the op's weight input. */
static int weight_slot(ctx *c, int node, const orx_op *op)
{
	const Onnx__NodeProto *nd = c->g->node[node];
	int either = orx_op_input_of_kind(op, ORX_IN_EITHER);
	orx_trace tr;

	if (either < 0)
		return orx_op_input_of_kind(op, ORX_IN_WEIGHT);
	return (int)nd->n_input > either + 1 &&
			       orx_graph_trace(&tr, c->gr, node,
					       (size_t)either + 1) >= 0
		       ? either + 1
		       : either;
}

/* The activation a fused layer's node holds in its attributes as e's one
 * branch (the op its path). */
static int hold_activation(entry *e, orx_arena *mem, const char *name,
			   double alpha, const char *from)
{
	orx_branch br = {name[0] ? ORX_BRANCH_ACTIVATION : ORX_BRANCH_OPAQUE,
			 name[0] ? name : "none",
			 alpha,
			 {e->pub.op},
			 1,
			 false,
			 false};

	e->pub.activation_from = from;
	return orx_plan_keep_branches(e, mem, &br, 1);
}

/* The widths of Attention's Q, K and V in its packed weight w, stored
 * [input, q + k + v] (qkv_hidden_sizes, or a third each) into width; or
 * why they cannot be told (w->reason). */
static int qkv_widths(int64_t *width, ctx *c, int node, entry *w,
		      const Onnx__TensorProto *t)
{
	const Onnx__NodeProto *nd = c->g->node[node];
	int64_t heads = (int64_t)orx_op_attr(w->row, nd, ORX_ATTR_NUM_HEADS);
	size_t n = 0;

	if (t->n_dims != 2 || w->seen_ndim != 2 || w->seen[0] != t->dims[0] ||
	    w->seen[1] != t->dims[1])
		return orx_plan_reason(w, c->plan->mem,
				       "%s's packed Q, K, V weight is not "
				       "[input, q + k + v] as stored: never "
				       "guessed",
				       w->pub.op);
	if (!orx_attr_ints(width, 3, &n, nd, "qkv_hidden_sizes") || n != 3)
		width[0] = width[1] = width[2] = t->dims[1] / 3;
	if (width[0] < 1 || width[1] < 1 || width[2] < 1 ||
	    width[0] != width[1] ||
	    width[0] + width[1] + width[2] != t->dims[1] || heads < 1 ||
	    width[0] % heads || width[2] % heads)
		return orx_plan_reason(w, c->plan->mem,
				       "its shape does not fit %s's Q, K and V "
				       "(%lld heads)",
				       w->pub.op, (long long)heads);
	return ORX_OK;
}

/* Attention's packed weight: Q, K and V, each a layer of its own (its
 * columns), drawn from streams named NODE:W:q and so on. */
static int qkv_blocks(ctx *c, int node, entry *w)
{
	static const char *const gates[3] = {"q", "k", "v"};
	const Onnx__TensorProto *t = orx_value_tensor(c->model, w->pub.tensor);
	const char *where = orx_plan_node_where(c, node);
	int64_t width[3], at = 0;
	int rc = qkv_widths(width, c, node, w, t);

	if (rc != ORX_OK || w->reason)
		return rc;
	if (!where || !(w->blocks = orx_arena_alloc(c->plan->mem,
						    3 * sizeof(*w->blocks))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (int k = 0; k < 3; at += width[k++]) {
		orx_plan_block *b = &w->blocks[k];
		memset(b, 0, sizeof(*b));
		*b = (orx_plan_block){.gate = gates[k],
				      .first = (uint64_t)at,
				      .count =
					      (uint64_t)(t->dims[0] * width[k]),
				      .rows = t->dims[0],
				      .cols = width[k],
				      .stride = t->dims[1],
				      .has_fans = 1,
				      .fan_in = t->dims[0],
				      .fan_out = width[k]};
		if (!(b->stream = orx_arena_printf(c->plan->mem, "%s:W:%s",
						   where, gates[k])))
			return orx_fail(ORX_ENOMEM, "out of memory");
	}
	w->pub.blocks = w->blocks;
	w->pub.n_blocks = 3;
	return ORX_OK;
}

int orx_claim_layer(ctx *c, int node, const orx_op *op)
{
	const Onnx__NodeProto *nd = c->g->node[node];
	int out = orx_graph_output_of(c->gr, node, 0);
	int slot = weight_slot(c, node, op), rc;
	int bias = orx_op_input_of_kind(op, ORX_IN_BIAS);
	double alpha;
	const char *held = orx_pattern_held_activation(&alpha, op, nd),
		   *from = "attribute";
	entry *w, *b = NULL;

	if (!held && (held = orx_pattern_quantized_output(c->gr, node)))
		from = "output_zero_point"; /* QLinearConv's ReLU */

	if (slot < 0 ||
	    (rc = orx_plan_claim(&w, c, node, slot, ORX_ROLE_WEIGHT,
				 held ? -1 : out, NULL)) != ORX_OK ||
	    !w)
		return slot < 0 ? ORX_OK : rc;
	w->trans = (int64_t)orx_op_attr(
		op, nd, slot == 1 ? ORX_ATTR_TRANS_B : ORX_ATTR_TRANS_A);
	w->trans_batch = (int64_t)orx_op_attr(
		op, nd,
		slot == 1 ? ORX_ATTR_TRANS_BATCH_B : ORX_ATTR_TRANS_BATCH_A);
	w->group = (int64_t)orx_op_attr(op, nd, ORX_ATTR_GROUP);
	w->strides = orx_op_attr_count(op, nd, ORX_ATTR_STRIDES);
	if ((held && (rc = hold_activation(w, c->plan->mem, held, alpha,
					   from)) != ORX_OK) ||
	    (op->blocks == ORX_BLOCKS_QKV_COLUMNS &&
	     (rc = qkv_blocks(c, node, w)) != ORX_OK))
		return rc;
	if (bias >= 0 && (rc = orx_plan_claim(&b, c, node, bias, ORX_ROLE_BIAS,
					      out, w)) != ORX_OK)
		return rc;
	if (b) {
		b->layer = w;
		return orx_claim_quantized_bias(c, b, w, node, bias);
	}
	return claim_following_bias(
		c, w->quant_after >= 0 ? w->quant_after : out, w);
}

int orx_claim_refused(ctx *c, int node, const orx_op *op)
{
	int rc = ORX_OK;

	for (int slot = 0; slot < ORX_OP_INPUTS && rc == ORX_OK; slot++) {
		orx_input_kind k = orx_op_input(op, (size_t)slot);
		entry *e;
		if (k != ORX_IN_WEIGHT && k != ORX_IN_BIAS)
			continue;
		rc = orx_plan_claim(&e, c, node, slot,
				    k == ORX_IN_WEIGHT ? ORX_ROLE_WEIGHT
						       : ORX_ROLE_BIAS,
				    -1, NULL);
		if (rc == ORX_OK && e)
			e->reason = op->skip_reason;
	}
	return rc;
}

/* The role of a parameter input of kind k held by the structure, or -1
 * (a bias: of an op that is no layer, MultiHeadAttention's packed one);
 * *walk: its activation is worth the walk (a normalization's). */
static int input_role(orx_input_kind k, bool *walk)
{
	*walk = true;
	switch (k) {
	case ORX_IN_NORM_SCALE: return ORX_ROLE_NORM_SCALE;
	case ORX_IN_NORM_BIAS: return ORX_ROLE_NORM_BIAS;
	case ORX_IN_NORM_MEAN: return ORX_ROLE_NORM_MEAN;
	case ORX_IN_NORM_VAR: return ORX_ROLE_NORM_VAR;
	default: *walk = false; break;
	}
	switch (k) {
	case ORX_IN_EMBEDDING: return ORX_ROLE_EMBEDDING;
	case ORX_IN_POSITION: return ORX_ROLE_POSITION;
	case ORX_IN_BUFFER: return ORX_ROLE_BUFFER;
	case ORX_IN_BIAS: return ORX_ROLE_BIAS; /* of no layer here */
	default: return -1;
	}
}

int orx_claim_inputs(ctx *c, int node, const orx_op *op, bool tables)
{
	int out = orx_graph_output_of(c->gr, node, 0);
	const entry *walked = NULL; /* one walk serves all the parameters */
	int rc = ORX_OK;

	for (int slot = 0; slot < ORX_OP_INPUTS && rc == ORX_OK; slot++) {
		orx_input_kind kind = orx_op_input(op, (size_t)slot);
		bool walk, table = kind == ORX_IN_EMBEDDING ||
				   kind == ORX_IN_POSITION;
		int role = input_role(kind, &walk);
		entry *k;
		/* a layer's bias is claimed with its weight, or left */
		if (role < 0 || table != tables ||
		    (kind == ORX_IN_BIAS && op->cls == ORX_OP_WEIGHTED))
			continue;
		rc = orx_plan_claim(&k, c, node, slot, (orx_role)role,
				    walk ? out : -1, walk ? walked : NULL);
		if (k && walk && !walked)
			walked = k;
	}
	return rc;
}

/* By default no rule decides role other: they are listed as left
 * alone. */
int orx_claim_others(orx_plan *plan, const orx_model *model)
{
	int rc = ORX_OK;

	for (size_t i = 0; i < plan->n_init && rc == ORX_OK; i++) {
		size_t k = model->values[i].graph;
		ctx c = {plan, model, plan->graphs[k], model->graphs[k].g};
		entry *e;
		if (plan->e[i] || !orx_value_may_be_parameter(model, i))
			continue;
		if ((rc = orx_plan_new_entry(&e, &c, -1, -1, ORX_ROLE_OTHER,
					     (int)i)) == ORX_OK)
			rc = orx_plan_keep_branches(e, plan->mem, NULL, 0);
	}
	return rc;
}
