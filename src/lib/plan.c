/* The planner: every initializer's role, the activation downstream of its
 * layer, the rule that decides, and the resolved distribution. */
#define _GNU_SOURCE
#include "plan_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*** @@ROLES: which initializer is what to which node ***/

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

/* The n endings br (the chosen first) as e's branches and activation,
 * kept in the plan's memory: exactly as many as there are. */
static int keep_branches(entry *e, orx_arena *mem, const orx_branch *br,
			 size_t n)
{
	orx_plan_branch *pub = orx_arena_alloc(mem, (n + 1) * sizeof(*pub));

	if (!pub)
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char **path = orx_arena_alloc(mem, (br[i].path_len + 1) *
								 sizeof(*path));
		if (!path)
			return orx_fail(ORX_ENOMEM, "out of memory");
		memcpy(path, br[i].path, br[i].path_len * sizeof(*path));
		pub[i].activation = br[i].kind == ORX_BRANCH_OPAQUE
					    ? "none"
					    : br[i].activation;
		pub[i].path = path;
		pub[i].path_len = br[i].path_len;
	}
	e->pub.n_branches = n;
	e->pub.branches = pub;
	e->pub.activation = n ? pub[0].activation : "none";
	e->pub.path = n ? pub[0].path : NULL;
	e->pub.path_len = n ? pub[0].path_len : 0;
	e->alpha = n && br[0].kind == ORX_BRANCH_ACTIVATION ? br[0].alpha : NAN;
	return ORX_OK;
}

typedef orx_plan_ctx ctx;

/* The branches downstream of value v into e (a walk of its own). */
static int walk_from(entry *e, orx_arena *mem, const orx_graph *gr, int v)
{
	orx_branch all[ORX_BRANCH_MAX], br[ORX_BRANCH_MAX];
	size_t n_all = 0, n = 0;
	int rc;

	if ((rc = orx_graph_walk(all, &n_all, gr, v)) != ORX_OK)
		return rc;
	choose(br, &n, all, n_all);
	return keep_branches(e, mem, br, n);
}

/* e takes like's branches (the same walk from the same value). */
static void share_walk(entry *e, const entry *like)
{
	e->pub.n_branches = like->pub.n_branches;
	e->pub.branches = like->pub.branches;
	e->pub.activation = like->pub.activation;
	e->pub.path = like->pub.path;
	e->pub.path_len = like->pub.path_len;
	e->alpha = like->alpha;
}

/* Claim the initializer behind node input slot for role into *out (NULL
 * when there is none or it is already claimed: the first user decides).
 * Its activation comes from a walk from value walk_from, or, when like is
 * given, from that entry's walk from the same value. */
/* Node n of c's graph as the plan names it: its name, or OP_INDEX
 * without one (in c's plan memory; NULL when out of it). */
static const char *node_label(ctx *c, int n)
{
	const Onnx__NodeProto *nd = c->g->node[n];

	return nd->name && nd->name[0] ? nd->name
				       : orx_arena_printf(c->plan->mem, "%s_%d",
							  nd->op_type, n);
}

/* A new entry for the unclaimed value init, used by input slot of node
 * of c's graph as role (node -1: by no node, as the role other is). */
static int new_entry(entry **out, ctx *c, int node, int slot, orx_role role,
		     int init)
{
	const Onnx__NodeProto *nd = node >= 0 ? c->g->node[node] : NULL;
	entry *e;

	if (!(e = c->plan->e[init] = orx_arena_alloc(c->plan->mem, sizeof(*e))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	memset(e, 0, sizeof(*e));
	e->pub.tensor = (size_t)init;
	e->pub.name = orx_value_name(c->model, (size_t)init);
	e->pub.op = nd ? nd->op_type : "";
	e->pub.role = role;
	e->node_index = node;
	e->input = slot;
	e->constant = orx_value_is_constant(c->model, (size_t)init);
	e->body = orx_value_in_body(c->model, (size_t)init);
	e->gr = c->gr;
	e->pub.graph = c->model->graphs[c->model->values[init].graph].path;
	e->pub.storage = e->constant ? "constant" : "initializer";
	if (!(e->pub.node = nd ? node_label(c, node) : ""))
		return orx_fail(ORX_ENOMEM, "out of memory");
	*out = e;
	return ORX_OK;
}

int orx_plan_claim_value(orx_plan_ctx *c, int node, int slot, orx_role role,
			 int value)
{
	const Onnx__TensorProto *t = orx_value_tensor(c->model, (size_t)value);
	entry *e;
	int rc;

	if (value < 0 || c->plan->e[value] || t->n_dims > ORX_DIMS_MAX)
		return ORX_OK;
	if ((rc = new_entry(&e, c, node, slot, role, value)) != ORX_OK)
		return rc;
	if (t->n_dims)
		memcpy(e->seen, t->dims, t->n_dims * sizeof(int64_t));
	e->seen_ndim = t->n_dims;
	return keep_branches(e, c->plan->mem, NULL, 0);
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
	if (orx_graph_trace(&tr, c->gr, nd->input[slot]) < 0)
		return ORX_OK;
	init = orx_value_of_constant(c->model, tr.graph, tr.init,
				     tr.constant_node);
	if (init < 0 || c->plan->e[init])
		return ORX_OK;
	if ((rc = new_entry(&e, c, node, slot, role, init)) != ORX_OK)
		return rc;
	*out = e;
	memcpy(e->seen, tr.seen, tr.ndim * sizeof(int64_t));
	e->seen_ndim = tr.ndim;
	e->quantized = tr.quantized;
	if (like) {
		share_walk(e, like);
		return ORX_OK;
	}
	return walk_from(e, c->plan->mem, c->gr, walk_from_value);
}

/* An Add among the consumers of value out of graph c->gr that adds a
 * constant: claimed as weight's bias into *b (NULL if none). */
static int claim_bias_add(entry **b, ctx *c, int out, const entry *weight)
{
	const int *nodes, *slots;
	size_t n = orx_graph_consumers(c->gr, out, &nodes, &slots);

	*b = NULL;
	for (size_t i = 0; i < n; i++) {
		const Onnx__NodeProto *add = c->g->node[nodes[i]];
		int rc;
		if (!orx_op_is(add, "Add") || add->n_input != 2 ||
		    add->n_output == 0)
			continue;
		rc = orx_plan_claim(b, c, nodes[i], 1 - slots[i], ORX_ROLE_BIAS,
				    orx_graph_value(c->gr, add->output[0]),
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
static int claim_following_bias(ctx *c, int node, const entry *weight)
{
	const Onnx__NodeProto *nd = c->g->node[node];
	int out = nd->n_output ? orx_graph_value(c->gr, nd->output[0]) : -1;
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

/* The input that holds a layer's weight: B when the op takes either A or
 * B and B is a constant, else the lowest input the op allows. */
static int weight_slot(ctx *c, const Onnx__NodeProto *nd, const orx_op *op)
{
	orx_trace tr;

	if ((op->weight_inputs & 0x3) == 0x3)
		return nd->n_input >= 2 && orx_graph_trace(&tr, c->gr,
							   nd->input[1]) >= 0
			       ? 1
			       : 0;
	return op->weight_inputs & 0x1 ? 0 : 1;
}

static int claim_layer(ctx *c, int node, const orx_op *op)
{
	const Onnx__NodeProto *nd = c->g->node[node];
	int out = nd->n_output ? orx_graph_value(c->gr, nd->output[0]) : -1;
	int slot = weight_slot(c, nd, op), rc;
	const char *trans = slot ? op->trans_b : op->trans_a;
	entry *w, *b = NULL;

	if ((rc = orx_plan_claim(&w, c, node, slot, ORX_ROLE_WEIGHT, out,
				 NULL)) != ORX_OK ||
	    !w)
		return rc;
	w->trans = trans ? orx_attr_int(nd, trans, 0) : 0;
	w->group = orx_attr_int(nd, "group", 1);
	if (op->bias_input >= 0 &&
	    (rc = orx_plan_claim(&b, c, node, op->bias_input, ORX_ROLE_BIAS,
				 out, w)) != ORX_OK)
		return rc;
	if (b) {
		b->layer = w;
		return ORX_OK;
	}
	return claim_following_bias(c, node, w);
}

static int claim_norm(ctx *c, int node, const orx_op *op)
{
	static const orx_role bn[4] = {ORX_ROLE_NORM_SCALE, ORX_ROLE_NORM_BIAS,
				       ORX_ROLE_NORM_MEAN, ORX_ROLE_NORM_VAR};
	const Onnx__NodeProto *nd = c->g->node[node];
	int out = nd->n_output ? orx_graph_value(c->gr, nd->output[0]) : -1;
	int last = op->n_params < 4 ? op->n_params : 4, rc = ORX_OK;
	const entry *walked = NULL; /* one walk serves all the parameters */

	for (int slot = 1; slot <= last && rc == ORX_OK; slot++) {
		entry *k;
		rc = orx_plan_claim(&k, c, node, slot, bn[slot - 1], out,
				    walked);
		if (k && !walked)
			walked = k;
	}
	return rc;
}

/*** @@RECURRENT: LSTM, GRU and RNN, gate block by gate block ***/

/* The inputs of a recurrent layer that hold parameters (ONNX's
 * numbering), their roles and letters. */
static const struct {
	int input;
	orx_role role;
	char letter;
} rnn_inputs[4] = {{1, ORX_ROLE_INPUT_WEIGHT, 'W'},
		   {2, ORX_ROLE_RECURRENT_WEIGHT, 'R'},
		   {3, ORX_ROLE_BIAS, 'B'},
		   {7, ORX_ROLE_PEEPHOLE, 'P'}};

typedef struct {
	ctx *c;
	int node;
	const orx_op *op;
	int64_t D, G, H, I; /* directions, gates, hidden and input sizes */
	const char *where;  /* the node's qualified name, for the streams */
} rnn;

/* A block of one input, and the value it lies in. */
typedef struct {
	int value;
	orx_plan_block b;
} rnn_block;

static const char *gate_name(char g)
{
	static const char *const names[] = {"i", "o", "f", "c", "z", "r", "h"};
	const char *at = strchr("iofczrh", g);

	return at ? names[at - "iofczrh"] : "?";
}

/* The constants a failed assembly reached, left as they are for why. */
static int skip_pieces(rnn *r, int k, const orx_assembly *a, const char *why)
{
	for (size_t i = 0; i < a->n; i++) {
		const orx_piece *p = &a->piece[i];
		int v = orx_value_of_constant(r->c->model, p->graph, p->init,
					      p->constant_node);
		entry *e;
		int rc;
		if (v < 0 || r->c->plan->e[v])
			continue;
		if ((rc = new_entry(&e, r->c, r->node, rnn_inputs[k].input,
				    rnn_inputs[k].role, v)) != ORX_OK ||
		    !(e->reason = orx_arena_strdup(r->c->plan->mem, why)))
			return rc ? rc : orx_fail(ORX_ENOMEM, "out of memory");
	}
	return ORX_OK;
}

/* Does input k's shape fit the layer: W [D, G*H, I], R [D, G*H, H],
 * B [D, 2*G*H], P [D, 3*H]? */
static bool rnn_fits(const rnn *r, int k, const int64_t *d, size_t nd)
{
	switch (k) {
	case 0:
		return nd == 3 && d[0] == r->D && d[1] == r->G * r->H &&
		       d[2] > 0;
	case 1:
		return nd == 3 && d[0] == r->D && d[1] == r->G * r->H &&
		       d[2] == r->H;
	case 2: return nd == 2 && d[0] == r->D && d[1] == 2 * r->G * r->H;
	default: return nd == 2 && d[0] == r->D && d[1] == 3 * r->H;
	}
}

/* The blocks of input k in ONNX's layout (first: in the input) into
 * out, *n of them: per direction, per part (B: Wb then Rb), per gate. */
static int rnn_layout(rnn_block *out, size_t *n, const rnn *r, int k)
{
	int64_t cols = k == 0 ? r->I : k == 1 ? r->H : 1;
	int64_t parts = k == 2 ? 2 : 1, gates = k == 3 ? 3 : r->G;
	const char *letters = k == 3 ? "iof" : r->op->gates;
	uint64_t at = 0;

	*n = 0;
	for (int64_t d = 0; d < r->D; d++)
		for (int64_t part = 0; part < parts; part++)
			for (int64_t g = 0; g < gates; g++) {
				orx_plan_block *b = &out[(*n)++].b;
				memset(b, 0, sizeof(*b));
				b->gate = gate_name(letters[g]);
				b->direction = (int)d;
				b->part = (int)part;
				b->first = at;
				b->rows = cols == 1 ? 1 : r->H;
				b->cols = cols == 1 ? r->H : cols;
				b->count = (uint64_t)(b->rows * b->cols);
				at += b->count;
				b->stream = orx_arena_printf(
					r->c->plan->mem, "%s:%c:%lld:%s%s",
					r->where, rnn_inputs[k].letter,
					(long long)d,
					k == 2 ? part ? "Rb." : "Wb." : "",
					b->gate);
				if (!b->stream)
					return orx_fail(ORX_ENOMEM,
							"out of memory");
			}
	return ORX_OK;
}

/* Each block's place in the constants a's pieces are: false when one
 * lies across two pieces. */
static bool rnn_place(rnn_block *blk, size_t n, const rnn *r,
		      const orx_assembly *a)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t at = 0;
		size_t p = 0;
		while (p < a->n && at + a->piece[p].count <= blk[i].b.first)
			at += a->piece[p++].count;
		if (p == a->n ||
		    blk[i].b.first + blk[i].b.count > at + a->piece[p].count)
			return false;
		blk[i].value = orx_value_of_constant(
			r->c->model, a->piece[p].graph, a->piece[p].init,
			a->piece[p].constant_node);
		blk[i].b.first = a->piece[p].first + (blk[i].b.first - at);
	}
	return true;
}

static int by_first(const void *x, const void *y)
{
	const orx_plan_block *a = x, *b = y;

	return (a->first > b->first) - (a->first < b->first);
}

/* The entry of value v holding its blocks among blk: they must cover
 * it exactly, else it is left as it is. */
static int rnn_entry(rnn *r, int k, int v, const rnn_block *blk, size_t n)
{
	uint64_t count = 0, at = 0;
	size_t mine = 0;
	entry *e;
	int rc;

	if (v < 0 || r->c->plan->e[v])
		return ORX_OK; /* its first user decides */
	if ((rc = new_entry(&e, r->c, r->node, rnn_inputs[k].input,
			    rnn_inputs[k].role, v)) != ORX_OK)
		return rc;
	if (!(e->blocks = orx_arena_alloc(r->c->plan->mem,
					  (n + 1) * sizeof(*e->blocks))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (blk[i].value == v)
			e->blocks[mine++] = blk[i].b;
	qsort(e->blocks, mine, sizeof(*e->blocks), by_first);
	orx_tensor_proto_count(&count,
			       orx_value_tensor(r->c->model, (size_t)v));
	for (size_t i = 0; i < mine && at == e->blocks[i].first; i++)
		at += e->blocks[i].count;
	e->pub.blocks = e->blocks;
	e->pub.n_blocks = mine;
	e->alpha = NAN;
	if (at != count)
		e->reason =
			orx_arena_printf(r->c->plan->mem,
					 "its elements are not %s's %c gate "
					 "blocks, each once",
					 r->op->op, rnn_inputs[k].letter);
	return keep_branches(e, r->c->plan->mem, NULL, 0);
}

/* Input k of the layer: its blocks, placed in their constants. */
static int rnn_input(rnn *r, int k, orx_assembly *a, bool assembled)
{
	rnn_block blk[2 * 2 * 4 * 2];
	char why[256];
	size_t n = 0;
	int rc;

	why[0] = '\0';
	if (!assembled)
		snprintf(why, sizeof(why), "%s's %c: %s", r->op->op,
			 rnn_inputs[k].letter, a->why);
	else if (!rnn_fits(r, k, a->dims, a->ndim))
		snprintf(why, sizeof(why),
			 "its shape does not fit %s's %c "
			 "(%lld directions, hidden size %lld)",
			 r->op->op, rnn_inputs[k].letter, (long long)r->D,
			 (long long)r->H);
	else if (a->quantized)
		snprintf(why, sizeof(why),
			 "quantized weight (behind "
			 "DequantizeLinear): never rewritten");
	else if ((rc = rnn_layout(blk, &n, r, k)) != ORX_OK)
		return rc;
	else if (!rnn_place(blk, n, r, a))
		snprintf(why, sizeof(why),
			 "a gate block of %s's %c lies across "
			 "two pieces of its Slice/Concat",
			 r->op->op, rnn_inputs[k].letter);
	if (why[0])
		return skip_pieces(r, k, a, why);
	for (size_t i = 0; i < n; i++)
		if ((rc = rnn_entry(r, k, blk[i].value, blk, n)) != ORX_OK)
			return rc;
	return ORX_OK;
}

/* initial_h, initial_c: a state, not a parameter (PyTorch exports zeros
 * when none is given): kept as buffers. a is scratch. */
static int claim_states(ctx *c, int node, orx_assembly *a)
{
	const Onnx__NodeProto *nd = c->g->node[node];
	int rc = ORX_OK;

	for (int slot = 5; slot <= 6 && rc == ORX_OK; slot++) {
		const char *in = slot < (int)nd->n_input ? nd->input[slot] : "";
		int p = in[0] ? orx_graph_producer(c->gr,
						   orx_graph_value(c->gr, in))
			      : -1;
		if (p >= 0 && orx_op_is(c->g->node[p], "Expand")) /* to the
								     batch */
			in = c->g->node[p]->input[0];
		/* cut by layer from one tensor, as PyTorch does: skipped */
		if (!in[0] || orx_graph_assemble(a, c->gr, in) != 0)
			continue;
		for (size_t i = 0; i < a->n && rc == ORX_OK; i++)
			rc = orx_plan_claim_value(
				c, node, slot, ORX_ROLE_BUFFER,
				orx_value_of_constant(
					c->model, a->piece[i].graph,
					a->piece[i].init,
					a->piece[i].constant_node));
	}
	return rc;
}

static int claim_recurrent(ctx *c, int node, const orx_op *op)
{
	const Onnx__NodeProto *nd = c->g->node[node];
	rnn r = {c,
		 node,
		 op,
		 1,
		 (int64_t)strlen(op->gates),
		 orx_attr_int(nd, "hidden_size", 0),
		 0,
		 NULL};
	orx_assembly *a = calloc(4, sizeof(*a));
	bool present[4], ok[4];
	const char *path = c->model->graphs[orx_graph_id(c->gr)].path;
	int rc = ORX_OK;

	if (!a)
		return orx_fail(ORX_ENOMEM, "out of memory");
	if (orx_attr_string_is(nd, "direction", "bidirectional"))
		r.D = 2;
	for (int k = 0; k < 4; k++) {
		int in = rnn_inputs[k].input;
		present[k] = in < (int)nd->n_input && nd->input[in][0] &&
			     (k < 3 || op->n_peepholes);
		ok[k] = present[k] &&
			orx_graph_assemble(&a[k], c->gr, nd->input[in]) == 0;
	}
	if (r.H <= 0 && ok[1] && a[1].ndim == 3)
		r.H = a[1].dims[2]; /* R [D, G*H, H] */
	if (ok[0] && a[0].ndim == 3)
		r.I = a[0].dims[2];
	const char *label = node_label(c, node);
	/* a body's node is named within the body's path */
	r.where = label && orx_graph_id(c->gr)
			  ? orx_arena_printf(c->plan->mem, "%s/%s", path, label)
			  : label;
	if (!r.where)
		rc = orx_fail(ORX_ENOMEM, "out of memory");
	for (int k = 0; k < 4 && rc == ORX_OK; k++)
		if (present[k])
			rc = rnn_input(&r, k, &a[k], ok[k]);
	if (rc == ORX_OK)
		rc = claim_states(c, node, &a[0]);
	free(a);
	return rc;
}

/*** @@DECIDE: the rule, the fans, the distribution ***/

static double gain_of(const orx_rule_action *a, const entry *e)
{
	double g = 0, param = a->gain_param;

	if (a->gain_kind == ORX_GAIN_VALUE)
		return a->spec.gain;
	if (a->gain_kind == ORX_GAIN_DEFAULT)
		return 0; /* the scheme's own */
	if (isnan(param))
		param = isnan(e->alpha) ? 0.01 : e->alpha;
	orx_gain(&g, a->gain_name, param);
	return g;
}

static int fans_of(entry *e, orx_fan_convention conv)
{
	orx_fan_query q = ORX_FAN_QUERY_INIT;
	int rc;

	q.op = e->pub.op;
	q.input = e->input;
	q.group = e->group;
	q.trans = (int)e->trans;
	q.convention = conv;
	rc = orx_fans(&e->pub.fan_in, &e->pub.fan_out, &q, e->seen,
		      e->seen_ndim);
	e->pub.has_fans = rc == ORX_OK;
	return rc;
}

static int skip(entry *e, orx_arena *mem, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* e is left as it is, for the reason fmt says (kept in mem). */
static int skip(entry *e, orx_arena *mem, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (!(e->reason = orx_arena_strdup(mem, reason)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	return ORX_OK;
}

static bool recurrent_only(orx_scheme s)
{
	return s == ORX_SCHEME_FORGET_BIAS || s == ORX_SCHEME_PYTORCH_RECURRENT;
}

/* Block b of recurrent tensor e: its rule and distribution (a KEEP
 * block stays as it is); or why the tensor is kept. */
static int decide_block(entry *e, orx_arena *mem, const orx_rules *rules,
			orx_plan_block *b)
{
	orx_rule_query q = {e->pub.op,	 "none",       e->pub.role,
			    e->pub.name, e->pub.graph, b->gate};
	bool weight = e->pub.role == ORX_ROLE_INPUT_WEIGHT ||
		      e->pub.role == ORX_ROLE_RECURRENT_WEIGHT;
	int64_t hidden = weight ? b->rows : b->cols,
		dims[2] = {b->rows, b->cols};
	const orx_rule_action *a =
		orx_rules_match(rules, &q, &b->rule_file, &b->rule_line);
	orx_init_spec spec;

	if (!a)
		return skip(e, mem, "no rule matches its gate %s", b->gate);
	spec = a->spec;
	spec.gain = gain_of(a, e);
	b->scheme = spec.scheme;
	b->has_fans = weight;
	b->fan_in = weight ? b->cols : 0;
	b->fan_out = weight ? b->rows : 0;
	if (spec.scheme == ORX_SCHEME_FORGET_BIAS &&
	    e->pub.role != ORX_ROLE_BIAS)
		return skip(e, mem,
			    "forget_bias (%s:%u) is for a recurrent "
			    "layer's bias, not its %s",
			    b->rule_file, b->rule_line,
			    orx_role_name(e->pub.role));
	if (spec.scheme == ORX_SCHEME_FORGET_BIAS && b->part == 1)
		spec.scheme = ORX_SCHEME_ZEROS; /* Rb: the two sum to value */
	if (orx_scheme_is_scaling(spec.scheme) && !weight)
		return skip(e, mem, "%s needs fans, which a %s has not",
			    orx_scheme_name(spec.scheme),
			    orx_role_name(e->pub.role));
	if (orx_init_resolve(&b->params, &spec, b->fan_in ? b->fan_in : 1,
			     hidden, dims, 2) != ORX_OK)
		return skip(e, mem, "gate %s: %s", b->gate, orx_error_last());
	return ORX_OK;
}

/* A recurrent layer's tensor e, stored as t: each block decided. */
static int decide_blocks(entry *e, orx_arena *mem, const orx_rules *rules,
			 const Onnx__TensorProto *t)
{
	size_t kept = 0;
	int rc;

	if (t->segment)
		return skip(e, mem,
			    "a segment of a larger tensor is kept as it is");
	if (!orx_dtype_is_float(t->data_type))
		return skip(e, mem, "dtype %s is not rewritten",
			    orx_dtype_name(t->data_type)
				    ? orx_dtype_name(t->data_type)
				    : "unknown");
	for (size_t i = 0; i < e->pub.n_blocks; i++) {
		if ((rc = decide_block(e, mem, rules, &e->blocks[i])) !=
			    ORX_OK ||
		    e->reason)
			return rc;
		kept += e->blocks[i].scheme == ORX_SCHEME_KEEP;
	}
	if (kept == e->pub.n_blocks) {
		e->kept = true;
		return skip(e, mem, "kept by %s:%u", e->blocks[0].rule_file,
			    e->blocks[0].rule_line);
	}
	e->pub.scheme = e->blocks[0].scheme;
	e->pub.has_fans = e->blocks[0].has_fans;
	e->pub.fan_in = e->blocks[0].fan_in;
	e->pub.fan_out = e->blocks[0].fan_out;
	e->pub.params = e->blocks[0].params;
	e->pub.rule_file = e->blocks[0].rule_file;
	e->pub.rule_line = e->blocks[0].rule_line;
	e->decided = 1;
	return ORX_OK;
}

enum { GO_ON = 1 }; /* refuse(): nothing stops the rewrite */

/* Whether e, matched by rule a at file:line and stored as t, is kept
 * rather than rewritten: then it is skipped with the reason (skip's
 * result returned); else GO_ON. */
static int refuse(entry *e, orx_arena *mem, const orx_rule_action *a,
		  const char *file, unsigned line, const Onnx__TensorProto *t)
{
	if (a->spec.scheme == ORX_SCHEME_KEEP) {
		e->kept = true;
		return skip(e, mem, "kept by %s:%u", file, line);
	}
	if (recurrent_only(a->spec.scheme))
		return skip(e, mem,
			    "%s (%s:%u) is for the tensors of LSTM, GRU "
			    "and RNN",
			    orx_scheme_name(a->spec.scheme), file, line);
	if (e->quantized)
		return skip(e, mem,
			    "quantized weight (behind DequantizeLinear): "
			    "never rewritten");
	if (t->segment)
		return skip(e, mem,
			    "a segment of a larger tensor is kept as it is");
	if (!orx_dtype_is_float(t->data_type))
		return skip(e, mem,
			    e->pub.role == ORX_ROLE_WEIGHT
				    ? "dtype %s: a quantized weight's layout "
				      "is not known"
				    : "dtype %s is not rewritten",
			    orx_dtype_name(t->data_type)
				    ? orx_dtype_name(t->data_type)
				    : "unknown");
	return GO_ON;
}

/* The rule for e, stored as t, and what it draws; or why e is kept. */
static int decide(entry *e, orx_arena *mem, const orx_rules *rules,
		  const Onnx__TensorProto *t)
{
	orx_rule_query q = {e->pub.op,	 e->pub.activation, e->pub.role,
			    e->pub.name, e->pub.graph,	    NULL};
	const orx_rule_action *a;
	orx_init_spec spec;
	const char *file;
	unsigned line;
	int rc;

	e->pub.dtype = t->data_type;
	e->pub.ndim = t->n_dims;
	e->pub.dims = t->dims;
	if (e->reason) /* known when it was claimed */
		return ORX_OK;
	if (e->pub.n_blocks)
		return decide_blocks(e, mem, rules, t);
	if (e->pub.role == ORX_ROLE_WEIGHT)
		fans_of(e, ORX_FANS_EXACT);
	if (e->layer && e->layer->reason)
		return skip(e, mem, "its layer's weight %s is kept",
			    e->layer->pub.name);
	if (!(a = orx_rules_match(rules, &q, &file, &line)))
		return skip(e, mem,
			    e->pub.role == ORX_ROLE_OTHER
				    ? "not consumed by a weighted op or a "
				      "normalization"
				    : "no rule matches");
	e->pub.rule_file = file;
	e->pub.rule_line = line;
	if ((rc = refuse(e, mem, a, file, line, t)) != GO_ON)
		return rc;
	spec = a->spec;
	spec.gain = gain_of(a, e);
	if (e->pub.role == ORX_ROLE_WEIGHT && fans_of(e, a->fans) != ORX_OK &&
	    orx_scheme_is_scaling(spec.scheme))
		return skip(e, mem, "fans unknown: %s", orx_error_last());
	if (orx_scheme_is_scaling(spec.scheme) && !e->pub.has_fans)
		return skip(e, mem, "%s needs fans, which a %s has not",
			    orx_scheme_name(spec.scheme),
			    orx_role_name(e->pub.role));
	if (orx_init_resolve(&e->pub.params, &spec, e->pub.fan_in,
			     e->pub.fan_out, t->dims, t->n_dims) != ORX_OK)
		return skip(e, mem, "%s", orx_error_last());
	e->pub.scheme = spec.scheme;
	e->decided = 1;
	return ORX_OK;
}

/* Whether an unclaimed value is listed as left alone: every initializer;
 * a Constant's tensor only when it could be a parameter (a float tensor
 * of more than one element), not the shapes, axes and scalars that fill
 * exported graphs. */
static bool listed(const orx_model *model, size_t i)
{
	return !orx_value_is_constant(model, i) ||
	       orx_value_may_be_parameter(model, i);
}

/* A sparse tensor of graph k (sparse_initializer, or a Constant's
 * sparse_value), named as the graph's other tensors are: listed as left
 * alone (NULL: only counted, *n). */
static int list_sparse(orx_plan *plan, const orx_model *model, size_t *n,
		       bool add)
{
	static const char reason[] = "a sparse tensor is not rewritten";

	*n = 0;
	for (size_t k = 0; k < model->n_graphs; k++) {
		const Onnx__GraphProto *g = model->graphs[k].g;
		for (size_t i = 0; i < g->n_sparse_initializer + g->n_node;
		     i++) {
			const Onnx__SparseTensorProto *sp = NULL;
			const char *own = NULL;
			char *name = NULL;
			if (i < g->n_sparse_initializer) {
				sp = g->sparse_initializer[i];
				own = sp->values && sp->values->name
					      ? sp->values->name
					      : "";
			} else {
				const Onnx__NodeProto *nd =
					g->node[i - g->n_sparse_initializer];
				for (size_t a = 0; orx_op_is(nd, "Constant") &&
						   a < nd->n_attribute;
				     a++)
					if (nd->attribute[a]->sparse_tensor)
						sp = nd->attribute[a]
							     ->sparse_tensor;
				own = nd->output[0];
			}
			if (!sp)
				continue;
			++*n;
			if (!add)
				continue;
			if (k > 0 && asprintf(&name, "%s/%s",
					      model->graphs[k].path, own) < 0)
				return orx_fail(ORX_ENOMEM, "out of memory");
			plan->owned[plan->n_owned++] = name;
			plan->skips[plan->n_skips++] = (orx_plan_skip){
				name ? name : own, reason, SIZE_MAX, 0};
		}
	}
	return ORX_OK;
}

static int collect(orx_plan *plan, const orx_model *model)
{
	static const char unclaimed[] = "not consumed by a weighted op or a "
					"normalization";
	size_t n_sparse, first_sparse;
	int rc;

	list_sparse(plan, model, &n_sparse, false);
	plan->items = malloc((plan->n_init + 1) * sizeof(size_t));
	plan->skips =
		malloc((plan->n_init + n_sparse + 1) * sizeof(orx_plan_skip));
	plan->owned = calloc(n_sparse + 1, sizeof(char *));
	if (!plan->items || !plan->skips || !plan->owned)
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t i = 0; i < plan->n_init; i++) {
		entry *e = plan->e[i];
		if (e && e->decided)
			plan->items[plan->n_items++] = i;
		else if (e)
			plan->skips[plan->n_skips++] = (orx_plan_skip){
				e->pub.name, e->reason, i, e->kept};
		else if (listed(model, i))
			plan->skips[plan->n_skips++] = (orx_plan_skip){
				orx_value_name(model, i), unclaimed, i, 0};
	}
	first_sparse = plan->n_skips;
	if ((rc = list_sparse(plan, model, &n_sparse, true)) != ORX_OK)
		return rc;
	for (size_t k = first_sparse; k < plan->n_skips; k++)
		plan->skips[k].tensor = SIZE_MAX;
	return ORX_OK;
}

int orx_plan_skip_is_leftover(const orx_model *model, const orx_plan_skip *s,
			      uint64_t *values)
{
	const Onnx__TensorProto *t;

	*values = 0;
	if (s->kept)
		return 0;
	if (s->tensor == SIZE_MAX)
		return 1; /* a sparse tensor: never rewritten, never kept */
	t = orx_value_tensor(model, s->tensor);
	orx_tensor_proto_count(values, t);
	return *values > 1 && orx_dtype_is_float(t->data_type);
}

/* Claim the tensors of graph k's layers, then of its normalizations. */
static int claim_graph(orx_plan *plan, const orx_model *model, size_t k)
{
	const Onnx__GraphProto *g = model->graphs[k].g;
	ctx c = {plan, model, plan->graphs[k], g};
	int rc = ORX_OK;

	for (size_t n = 0; n < g->n_node && rc == ORX_OK; n++) {
		const orx_op *op = orx_op_of(g->node[n]);
		if (op && op->params && op->params_first)
			rc = op->params(&c, (int)n);
	}
	for (size_t n = 0; n < g->n_node && rc == ORX_OK; n++) {
		const orx_op *op = orx_op_of(g->node[n]);
		if (op && op->cls == ORX_OP_WEIGHTED)
			rc = claim_layer(&c, (int)n, op);
		else if (op && op->cls == ORX_OP_RECURRENT)
			rc = claim_recurrent(&c, (int)n, op);
	}
	for (size_t n = 0; n < g->n_node && rc == ORX_OK; n++) {
		const orx_op *op = orx_op_of(g->node[n]);
		if (op && op->cls == ORX_OP_NORMALIZATION)
			rc = claim_norm(&c, (int)n, op);
	}
	for (size_t n = 0; n < g->n_node && rc == ORX_OK; n++) {
		const orx_op *op = orx_op_of(g->node[n]);
		if (op && op->params && !op->params_first)
			rc = op->params(&c, (int)n);
	}
	return rc;
}

/* Index every graph of the model, each knowing the graph around it. */
static int index_graphs(orx_plan *plan, const orx_model *model)
{
	if (!(plan->graphs =
		      calloc(model->n_graphs + 1, sizeof(*plan->graphs))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t k = 0; k < model->n_graphs; k++) {
		const orx_graph_ref *r = &model->graphs[k];
		int rc = orx_graph_build(&plan->graphs[k], r->g);
		if (rc != ORX_OK)
			return rc;
		plan->n_graphs = k + 1;
		orx_graph_set_scope(plan->graphs[k],
				    r->parent >= 0 ? plan->graphs[r->parent]
						   : NULL,
				    (int)k, r->owner, plan->n_nodes);
		plan->n_nodes += r->g->n_node;
	}
	return orx_graph_link_captures(plan->graphs, plan->n_graphs);
}

/* The float tensors of more than one element no layer claimed: entries
 * of role other, which only a rule decides (by default none does: they
 * are listed as left alone). */
static int claim_others(orx_plan *plan, const orx_model *model)
{
	int rc = ORX_OK;

	for (size_t i = 0; i < plan->n_init && rc == ORX_OK; i++) {
		size_t k = model->values[i].graph;
		ctx c = {plan, model, plan->graphs[k], model->graphs[k].g};
		entry *e;
		if (plan->e[i] || !orx_value_may_be_parameter(model, i))
			continue;
		if ((rc = new_entry(&e, &c, -1, -1, ORX_ROLE_OTHER, (int)i)) ==
		    ORX_OK)
			rc = keep_branches(e, plan->mem, NULL, 0);
	}
	return rc;
}

/* Claim every graph's tensors (the main graph first: the first user of a
 * tensor decides), then decide them: weights first, since a bias follows
 * its weight. */
/*** @@ORDER: the order the layers run in ***/

/* A body's place among the model's graphs: the graph around it and the
 * node there holding it, then its own index. Bodies sorted by these keys
 * come in the order their owners run (no global state: the keys are the
 * sort's own data). */
typedef struct {
	int parent, owner;
	size_t graph;
} body_key;

typedef struct {
	const orx_plan *plan;
	const body_key *by_owner; /* every graph, sorted by (parent, owner) */
	size_t n_graphs;
	size_t *next_child; /* per graph: its next child in by_owner */
	size_t *number;	    /* model-wide node index -> its position */
	size_t counter;
} numbering;

static int by_parent_owner(const void *x, const void *y)
{
	const body_key *a = x, *b = y;

	if (a->parent != b->parent)
		return a->parent < b->parent ? -1 : 1;
	if (a->owner != b->owner)
		return a->owner < b->owner ? -1 : 1;
	return (a->graph > b->graph) - (a->graph < b->graph);
}

/* Number graph gi's nodes in order, each node's bodies right after it. */
static void number_graph(numbering *n, size_t gi)
{
	const orx_graph *gr = n->plan->graphs[gi];
	size_t base = orx_graph_node_base(gr), *next = &n->next_child[gi];

	for (size_t k = 0; k < orx_graph_node_count(gr); k++) {
		n->number[base + k] = n->counter++;
		while (*next < n->n_graphs) {
			const body_key *c = &n->by_owner[*next];
			if (c->parent != (int)gi || c->owner != (int)k)
				break;
			(*next)++;
			number_graph(n, c->graph);
		}
	}
}

/* Each entry's order: its node's position when the graph runs, bodies
 * depth first at the node that holds them (SIZE_MAX without a node). */
static int order_entries(orx_plan *plan, const orx_model *m)
{
	body_key *by_owner = malloc((m->n_graphs + 1) * sizeof(*by_owner));
	numbering n = {plan, by_owner, m->n_graphs, NULL, NULL, 0};
	int rc = ORX_OK;

	n.next_child = malloc((m->n_graphs + 1) * sizeof(size_t));
	n.number = malloc((plan->n_nodes + 1) * sizeof(size_t));
	if (!by_owner || !n.next_child || !n.number) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t k = 0; k < m->n_graphs; k++)
		by_owner[k] = (body_key){m->graphs[k].parent,
					 m->graphs[k].owner, k};
	qsort(by_owner, m->n_graphs, sizeof(*by_owner), by_parent_owner);
	for (size_t k = 0, at = 0; k < m->n_graphs; k++) { /* first child */
		while (at < m->n_graphs && by_owner[at].parent < (int)k)
			at++;
		n.next_child[k] = at;
	}
	if (m->n_graphs)
		number_graph(&n, 0);
	for (size_t i = 0; i < plan->n_init; i++) {
		entry *e = plan->e[i];
		if (e)
			e->pub.order =
				e->gr && e->node_index >= 0
					? n.number[orx_graph_node_base(e->gr) +
						   (size_t)e->node_index]
					: SIZE_MAX;
	}
done:
	free(by_owner);
	free(n.next_child);
	free(n.number);
	return rc;
}

static int plan_graph(orx_plan *plan, const orx_rules *rules,
		      const orx_model *model)
{
	int rc = index_graphs(plan, model);

	for (size_t k = 0; k < model->n_graphs && rc == ORX_OK; k++)
		rc = claim_graph(plan, model, k);
	if (rc == ORX_OK)
		rc = claim_others(plan, model);
	for (int weights = 1; weights >= 0; weights--)
		for (size_t i = 0; i < plan->n_init && rc == ORX_OK; i++)
			if (plan->e[i] && (plan->e[i]->pub.role ==
					   ORX_ROLE_WEIGHT) == weights)
				rc = decide(plan->e[i], plan->mem, rules,
					    orx_value_tensor(model, i));
	if (rc == ORX_OK)
		rc = order_entries(plan, model);
	return rc == ORX_OK ? collect(plan, model) : rc;
}

int orx_plan_build(orx_plan **out, const orx_model *model,
		   const orx_rules *rules)
{
	orx_plan *plan = calloc(1, sizeof(*plan));
	int rc;

	if (!plan)
		return orx_fail(ORX_ENOMEM, "out of memory");
	plan->n_init = orx_value_count(model);
	plan->e = calloc(plan->n_init + 1, sizeof(*plan->e));
	plan->mem = orx_arena_new(0);
	if (!plan->e || !plan->mem) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto done;
	}
	rc = plan_graph(plan, rules, model);
done:
	if (rc != ORX_OK)
		orx_plan_free(plan);
	else
		*out = plan;
	return rc;
}

size_t orx_plan_count(const orx_plan *plan)
{
	return plan->n_items;
}

const orx_plan_item *orx_plan_item_at(const orx_plan *plan, size_t i)
{
	return i < plan->n_items ? &plan->e[plan->items[i]]->pub : NULL;
}

const char *orx_plan_item_scheme(const orx_plan_item *it)
{
	for (size_t i = 1; i < it->n_blocks; i++)
		if (it->blocks[i].scheme != it->blocks[0].scheme)
			return "per_gate";
	return orx_scheme_name(it->scheme);
}

size_t orx_plan_skipped_count(const orx_plan *plan)
{
	return plan->n_skips;
}

const orx_plan_skip *orx_plan_skipped_at(const orx_plan *plan, size_t i)
{
	return i < plan->n_skips ? &plan->skips[i] : NULL;
}

int orx_plan_apply(orx_model *model, const orx_plan *plan, uint64_t seed)
{
	int rc = ORX_OK;

	for (size_t i = 0; i < plan->n_items && rc == ORX_OK; i++) {
		const orx_plan_item *it = &plan->e[plan->items[i]]->pub;
		if (!it->n_blocks)
			rc = orx_tensor_init(model, it->tensor, &it->params,
					     orx_stream_key(seed, it->name));
		for (size_t k = 0; k < it->n_blocks && rc == ORX_OK; k++) {
			const orx_plan_block *b = &it->blocks[k];
			int64_t dims[2] = {b->rows, b->cols};
			rc = orx_tensor_init_range(
				model, it->tensor, b->first, b->count, dims, 2,
				&b->params, orx_stream_key(seed, b->stream));
		}
	}
	return rc;
}

void orx_plan_free(orx_plan *plan)
{
	if (!plan)
		return;
	for (size_t k = 0; k < plan->n_graphs; k++)
		orx_graph_free(plan->graphs[k]);
	free(plan->graphs);
	orx_arena_free(plan->mem); /* the entries */
	free(plan->e);
	free(plan->items);
	free(plan->skips);
	for (size_t i = 0; i < plan->n_owned; i++)
		free(plan->owned[i]);
	free(plan->owned);
	free(plan);
}
