/* The walk downstream from a layer to the activation that decides its
 * nonlinearity, and the way upstream to the layer that feeds one. */
#include "downstream.h"
#include "ops.h"
#include "patterns.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*** @@WALK: breadth first over values ***/

typedef struct {
	const orx_graph *gr; /* the graph the value is in */
	int value;
	int parent;	/* queue index, -1 for the start */
	const char *op; /* the op that produced value, NULL at the start */
	bool norm;	/* that op is a normalization */
} step;

/* A walk visits at most QUEUE_MAX values and EDGES_MAX consumers: far
 * beyond any real layer's reach, and a bound on the work a hostile graph
 * (one value read by every node) can cause per layer. */
#define QUEUE_MAX 4096
#define EDGES_MAX 4096

/* An ending: its kind and name (alpha: its slope), reached from queue
 * entry at, the ending's own name last on the path; final when nothing
 * after it learns from the signal (a graph output, Softmax and kin). */
static void record(orx_branch *out, size_t *n, orx_branch_kind kind,
		   const char *name, double alpha, const step *q, int at,
		   const char *last, bool final)
{
	orx_branch b = {kind, name, alpha, {0}, 0, false, final};
	const char *rev[ORX_PATH_MAX];
	size_t len = 0;

	if (!name)
		name = "";
	b.activation = name;
	for (size_t i = 0; i < *n; i++)
		if (out[i].kind == kind && !strcmp(out[i].activation, name))
			return; /* the same ending by another way */
	if (*n == ORX_BRANCH_MAX)
		return;
	if (last && len < ORX_PATH_MAX)
		rev[len++] = last;
	for (int i = at; i >= 0 && q[i].op && len < ORX_PATH_MAX;
	     i = q[i].parent) {
		rev[len++] = q[i].op;
		b.normalized |= q[i].norm;
	}
	for (size_t i = 0; i < len; i++)
		b.path[i] = rev[len - 1 - i];
	b.path_len = len;
	out[(*n)++] = b;
}

/* Queue value w (reached from queue entry at through op, a
 * normalization if norm) once. */
static void enqueue(step *q, size_t *tail, const orx_graph *gr, int w, int at,
		    const char *op, bool norm)
{
	if (*tail == QUEUE_MAX || !orx_graph_visit(gr, w))
		return;
	q[(*tail)++] = (step){gr, w, at, op, norm};
}

/* Value v is an output of graph gr: the If holding gr as a branch outputs
 * it in the graph around (queued there); else the walk ends at a graph
 * output. */
static void leave_graph(orx_branch *branches, size_t *n, step *q, size_t *tail,
			const orx_graph *gr, int v, int at)
{
	int owner;
	const orx_graph *up = orx_graph_parent(gr, &owner);
	int k = orx_graph_output_index(gr, v);
	const orx_op *op = up ? orx_op_of(up, owner) : NULL;

	if (op && op->body_outputs && k >= 0)
		enqueue(q, tail, up, orx_graph_output_of(up, owner, (size_t)k),
			at, orx_graph_node(up, owner)->op_type, false);
	else
		record(branches, n, ORX_BRANCH_NONE, "none", NAN, q, at,
		       "output", true);
}

/* The bodies that read value v of gr by name: the walk goes on in each,
 * through the op holding the body. */
static void enter_bodies(step *q, size_t *tail, size_t *edges,
			 const orx_graph *gr, int v, int at)
{
	const orx_capture *c;
	size_t n = orx_graph_captures(gr, v, &c);

	if (n > EDGES_MAX - *edges)
		n = EDGES_MAX - *edges;
	*edges += n;
	for (size_t i = 0; i < n; i++) {
		int owner;
		const orx_graph *up = orx_graph_parent(c[i].body, &owner);
		enqueue(q, tail, c[i].body, c[i].body_value, at,
			orx_graph_node(up, owner)->op_type, false);
	}
}

/* Layer nd of gr adds queue entry at's value to its output before the
 * activation it holds (FusedConv's Z: a residual sum): that activation
 * ends the walk, or, holding none, the walk goes on from its output. */
static void into_sum(orx_branch *branches, size_t *n, step *q, size_t *tail,
		     const orx_graph *gr, int nd, int at)
{
	const Onnx__NodeProto *node = orx_graph_node(gr, nd);
	double alpha;
	const char *held =
		orx_pattern_held_activation(&alpha, orx_op_of(gr, nd), node);

	if (held && held[0])
		record(branches, n, ORX_BRANCH_ACTIVATION, held, alpha, q, at,
		       node->op_type, false);
	else
		for (size_t k = 0; k < node->n_output; k++)
			enqueue(q, tail, gr, orx_graph_output_of(gr, nd, k), at,
				node->op_type, false);
}

/* Node nd of gr, a consumer of queue entry at (at its input slot): an
 * ending, or its outputs queued. */
static void follow(orx_branch *branches, size_t *n, step *q, size_t *tail,
		   const orx_graph *gr, int nd, int slot, int at)
{
	const Onnx__NodeProto *node = orx_graph_node(gr, nd);
	const orx_op *op = orx_op_of(gr, nd);
	orx_op_class cls = op ? op->cls : ORX_OP_UNKNOWN;
	const char *name = node->op_type;
	const orx_activation *act;
	double alpha = NAN;

	if (cls == ORX_OP_PATTERN) {
		name = orx_pattern_activation(gr, nd, op->pattern);
		cls = !name	 ? ORX_OP_UNKNOWN
		      : !name[0] ? ORX_OP_TRANSPARENT
				 : ORX_OP_ACTIVATION;
		if (!name)
			name = node->op_type;
	} else if (cls == ORX_OP_ACTIVATION && op->activation) {
		name = op->activation;
	}
	if (cls == ORX_OP_WEIGHTED && slot >= 0 &&
	    orx_op_input(op, (size_t)slot) == ORX_IN_SUM) {
		into_sum(branches, n, q, tail, gr, nd, at);
		return;
	}
	if (cls == ORX_OP_ACTIVATION && (act = orx_activation_named(name)) &&
	    act->alpha)
		alpha = orx_op_attr(op, node, ORX_ATTR_ALPHA);
	if (cls == ORX_OP_ACTIVATION) /* a quantizer's ReLU: its op shown */
		record(branches, n, ORX_BRANCH_ACTIVATION, name, alpha, q, at,
		       op && op->pattern == ORX_PATTERN_QUANTIZE ? node->op_type
								 : name,
		       false);
	else if (cls == ORX_OP_WEIGHTED || cls == ORX_OP_END ||
		 cls == ORX_OP_RECURRENT)
		record(branches, n, ORX_BRANCH_NONE, "none", NAN, q, at, name,
		       cls == ORX_OP_END);
	else if (cls == ORX_OP_TRANSPARENT || cls == ORX_OP_NORMALIZATION)
		for (size_t k = 0; k < node->n_output; k++)
			enqueue(q, tail, gr, orx_graph_output_of(gr, nd, k), at,
				node->op_type, cls == ORX_OP_NORMALIZATION);
	else /* unknown, or a constant */
		record(branches, n, ORX_BRANCH_OPAQUE, name, NAN, q, at, name,
		       false);
}

int orx_graph_walk(orx_branch *branches, size_t *n, const orx_graph *gr,
		   int start)
{
	step *q = malloc(QUEUE_MAX * sizeof(step));
	size_t head = 0, tail = 0, edges = 0;

	if (!q)
		return orx_fail(ORX_ENOMEM, "out of memory");
	*n = 0;
	orx_graph_new_walk(gr);
	enqueue(q, &tail, gr, start, -1, NULL, false);
	while (head < tail) {
		int at = (int)head++, v = q[at].value;
		const int *nodes, *slots;
		size_t nc;

		gr = q[at].gr;
		nc = orx_graph_consumers(gr, v, &nodes, &slots);
		if (orx_graph_is_output(gr, v))
			leave_graph(branches, n, q, &tail, gr, v, at);
		enter_bodies(q, &tail, &edges, gr, v, at);
		if (nc > EDGES_MAX - edges)
			nc = EDGES_MAX - edges;
		edges += nc;
		for (size_t i = 0; i < nc; i++)
			follow(branches, n, q, &tail, gr, nodes[i], slots[i],
			       at);
	}
	free(q);
	return ORX_OK;
}

/*** @@UPSTREAM: the layer that feeds a layer ***/

/* Value v is a constant: an initializer, a Constant's output, or an
 * omitted input (-1). */
bool orx_graph_is_constant(const orx_graph *gr, int v)
{
	int p;

	if (v < 0 || orx_graph_initializer(gr, v) >= 0)
		return true;
	p = orx_graph_producer(gr, v);
	return p >= 0 && orx_op_class_at(gr, p) == ORX_OP_CONSTANT;
}

/* Is node p a sum of two or more signals (a residual connection)? */
bool orx_graph_residual_sum(const orx_graph *gr, int p)
{
	const Onnx__NodeProto *n = orx_graph_node(gr, p);
	const orx_op *op = orx_op_of(gr, p);
	int signals = 0;

	if (!op || !op->sums)
		return false;
	for (size_t i = 0; i < n->n_input; i++)
		signals += !orx_graph_is_constant(gr,
						  orx_graph_input_of(gr, p, i));
	return signals >= 2;
}

/* Does layer p add a signal to its output before its activation
 * (FusedConv's Z): a residual sum, which keeps the signal level? */
static bool adds_a_signal(const orx_graph *gr, int p)
{
	const orx_op *op = orx_op_of(gr, p);
	int k = op ? orx_op_input_of_kind(op, ORX_IN_SUM) : -1;

	return k >= 0 &&
	       !orx_graph_is_constant(gr, orx_graph_input_of(gr, p, (size_t)k));
}

int orx_graph_upstream_layer(const orx_graph *gr, int node, int slot,
			     bool *normalized)
{
	int v = slot >= 0 ? orx_graph_input_of(gr, node, (size_t)slot) : -1;

	*normalized = false;
	for (int steps = 0; v >= 0 && steps < 1000; steps++) {
		int p = orx_graph_producer(gr, v);
		const Onnx__NodeProto *n;
		orx_op_class cls;
		if (p < 0)
			return -1; /* a graph input */
		n = orx_graph_node(gr, p);
		cls = orx_op_class_at(gr, p);
		if (cls == ORX_OP_NORMALIZATION) {
			*normalized = true;
			return -1;
		}
		if (cls == ORX_OP_WEIGHTED)
			return adds_a_signal(gr, p) ? -1 : p;
		if (cls == ORX_OP_UNKNOWN || cls == ORX_OP_END ||
		    cls == ORX_OP_CONSTANT)
			return -1;
		if (orx_graph_residual_sum(gr, p))
			return -1; /* the skip keeps the signal level */
		v = -1; /* on through the first input that is not constant */
		for (size_t i = 0; i < n->n_input && v < 0; i++)
			if (!orx_graph_is_constant(
				    gr, orx_graph_input_of(gr, p, i)))
				v = orx_graph_input_of(gr, p, i);
	}
	return -1;
}
