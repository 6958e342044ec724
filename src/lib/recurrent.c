/* Recurrent layers (LSTM, GRU, RNN), gate block by gate block: each
 * block of W, R, B and P in ONNX's layout, followed back through the
 * Slice and Concat exporters cut PyTorch's tensors with, a layer of its
 * own for the rules and fans; the initial states kept as buffers. */
#define _GNU_SOURCE
#include "recurrent.h"
#include "assemble.h"
#include "claim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef orx_plan_ctx ctx;

/* The inputs of a recurrent layer that hold parameters (the row says
 * where), their roles and letters. */
static const struct {
	orx_input_kind kind;
	orx_role role;
	char letter;
} rnn_inputs[4] = {{ORX_IN_RNN_W, ORX_ROLE_INPUT_WEIGHT, 'W'},
		   {ORX_IN_RNN_R, ORX_ROLE_RECURRENT_WEIGHT, 'R'},
		   {ORX_IN_RNN_B, ORX_ROLE_BIAS, 'B'},
		   {ORX_IN_RNN_P, ORX_ROLE_PEEPHOLE, 'P'}};

typedef struct {
	ctx *c;
	int node;
	const orx_op *op;
	int64_t D, G, H, I; /* directions, gates, hidden and input sizes */
	const char *where;  /* the node's qualified name, for the streams */
	int input[4];	    /* where W, R, B and P are (-1: not an input) */
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
		if ((rc = orx_plan_new_entry(&e, r->c, r->node, r->input[k],
					     rnn_inputs[k].role, v)) !=
			    ORX_OK ||
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
				b->stride = b->cols;
				b->count = (uint64_t)(b->rows * b->cols);
				/* W and R: H outputs of cols inputs */
				b->has_fans = k < 2;
				b->fan_in = k < 2 ? b->cols : 0;
				b->fan_out = k < 2 ? b->rows : 0;
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
	if ((rc = orx_plan_new_entry(&e, r->c, r->node, r->input[k],
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
					 r->op->op_type, rnn_inputs[k].letter);
	return orx_plan_keep_branches(e, r->c->plan->mem, NULL, 0);
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
		snprintf(why, sizeof(why), "%s's %c: %s", r->op->op_type,
			 rnn_inputs[k].letter, a->why);
	else if (!rnn_fits(r, k, a->dims, a->ndim))
		snprintf(why, sizeof(why),
			 "its shape does not fit %s's %c "
			 "(%lld directions, hidden size %lld)",
			 r->op->op_type, rnn_inputs[k].letter, (long long)r->D,
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
			 r->op->op_type, rnn_inputs[k].letter);
	if (why[0])
		return skip_pieces(r, k, a, why);
	for (size_t i = 0; i < n; i++)
		if ((rc = rnn_entry(r, k, blk[i].value, blk, n)) != ORX_OK)
			return rc;
	return ORX_OK;
}

/* initial_h, initial_c: a state, not a parameter (PyTorch exports zeros
 * when none is given): kept as buffers. a is scratch. */
static int claim_states(ctx *c, int node, const orx_op *op, orx_assembly *a)
{
	const Onnx__NodeProto *nd = c->g->node[node];
	int rc = ORX_OK;

	for (int slot = 0; slot < ORX_OP_INPUTS && rc == ORX_OK; slot++) {
		const char *in = slot < (int)nd->n_input ? nd->input[slot] : "";
		int p;
		const orx_op *by;
		if (orx_op_input(op, (size_t)slot) != ORX_IN_STATE)
			continue;
		p = in[0] ? orx_graph_producer(c->gr,
					       orx_graph_value(c->gr, in))
			  : -1;
		by = p >= 0 ? orx_op_of(c->gr, p) : NULL;
		if (by && by->broadcasts) /* to the batch */
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

int orx_claim_recurrent(ctx *c, int node, const orx_op *op)
{
	const Onnx__NodeProto *nd = c->g->node[node];
	rnn r = {c,
		 node,
		 op,
		 1,
		 (int64_t)strlen(op->gates),
		 (int64_t)orx_op_attr(op, nd, ORX_ATTR_HIDDEN_SIZE),
		 0,
		 NULL,
		 {0}};
	orx_assembly *a = calloc(4, sizeof(*a));
	bool present[4], ok[4];
	int rc = ORX_OK;

	if (!a)
		return orx_fail(ORX_ENOMEM, "out of memory");
	if (orx_attr_string_is(nd, "direction", "bidirectional"))
		r.D = 2;
	for (int k = 0; k < 4; k++) {
		int in = r.input[k] =
			orx_op_input_of_kind(op, rnn_inputs[k].kind);
		present[k] =
			in >= 0 && in < (int)nd->n_input && nd->input[in][0];
		ok[k] = present[k] &&
			orx_graph_assemble(&a[k], c->gr, nd->input[in]) == 0;
	}
	if (r.H <= 0 && ok[1] && a[1].ndim == 3)
		r.H = a[1].dims[2]; /* R [D, G*H, H] */
	if (ok[0] && a[0].ndim == 3)
		r.I = a[0].dims[2];
	if (!(r.where = orx_plan_node_where(c, node)))
		rc = orx_fail(ORX_ENOMEM, "out of memory");
	for (int k = 0; k < 4 && rc == ORX_OK; k++)
		if (present[k])
			rc = rnn_input(&r, k, &a[k], ok[k]);
	if (rc == ORX_OK)
		rc = claim_states(c, node, op, &a[0]);
	free(a);
	return rc;
}
