/* The walk downstream from a layer to the activation that decides its
 * nonlinearity. */
#include "graph.h"
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The op table's class of node n, remembered per node of the graph (as
 * class + 1). */
static orx_op_class class_of(const orx_graph *gr, int n)
{
	uint8_t *memo = orx_graph_node_memo(gr) + n;

	if (!*memo)
		*memo = (uint8_t)(orx_op_class_of(orx_graph_node(gr, n)) + 1);
	return (orx_op_class)(*memo - 1);
}

/*** @@PATTERNS: activations exporters write as several ops ***/

/* Is node (Sigmoid, HardSigmoid, Tanh(Softplus)) the gate of x * gate(x):
 * a consumer of its output is Mul whose other input is x? */
static bool gates_its_input(const orx_graph *gr, const Onnx__NodeProto *node,
			    const char *x)
{
	const int *nodes, *slots;
	size_t n;

	if (node->n_output < 1 || !x)
		return false;
	n = orx_graph_consumers(gr, orx_graph_value(gr, node->output[0]),
				&nodes, &slots);
	for (size_t i = 0; i < n; i++) {
		const Onnx__NodeProto *mul = orx_graph_node(gr, nodes[i]);
		if (orx_op_is(mul, "Mul") && mul->n_input == 2 &&
		    !strcmp(mul->input[1 - slots[i]], x))
			return true;
	}
	return false;
}

/* Mish: x * Tanh(Softplus(x)). */
static bool is_mish(const orx_graph *gr, const Onnx__NodeProto *softplus)
{
	const int *nodes, *slots;
	size_t n;

	if (softplus->n_output < 1 || softplus->n_input < 1)
		return false;
	n = orx_graph_consumers(gr, orx_graph_value(gr, softplus->output[0]),
				&nodes, &slots);
	for (size_t i = 0; i < n; i++) {
		const Onnx__NodeProto *t = orx_graph_node(gr, nodes[i]);
		if (orx_op_is(t, "Tanh") &&
		    gates_its_input(gr, t, softplus->input[0]))
			return true;
	}
	return false;
}

/* For Mul(a, b): is one side Sigmoid or HardSigmoid of the other? */
static const char *swish_tail(const orx_graph *gr, const Onnx__NodeProto *mul)
{
	for (int side = 0; side < 2 && mul->n_input == 2; side++) {
		int p = orx_graph_producer(
			gr, orx_graph_value(gr, mul->input[side]));
		const Onnx__NodeProto *g;
		if (p < 0)
			continue;
		g = orx_graph_node(gr, p);
		if (g->n_input >= 1 &&
		    !strcmp(g->input[0], mul->input[1 - side])) {
			if (orx_op_is(g, "Sigmoid"))
				return "Silu";
			if (orx_op_is(g, "HardSigmoid"))
				return "HardSwish";
		}
	}
	return NULL;
}

/* The producer of value name if it is one of ops, else NULL. */
static const Onnx__NodeProto *made_by(const orx_graph *gr, const char *name,
				      const char *const *ops, size_t n_ops)
{
	int p = orx_graph_producer(gr, orx_graph_value(gr, name));

	if (p < 0)
		return NULL;
	for (size_t i = 0; i < n_ops; i++)
		if (orx_op_is(orx_graph_node(gr, p), ops[i]))
			return orx_graph_node(gr, p);
	return NULL;
}

/* Does value name come from x through at most hops Add, Sub, Mul or Div
 * nodes (by constants: the other input is not followed)? */
static bool derives_from(const orx_graph *gr, const char *name, const char *x,
			 int hops)
{
	static const char *const arith[] = {"Add", "Sub", "Mul", "Div"};
	const Onnx__NodeProto *n;

	if (!strcmp(name, x))
		return true;
	if (hops == 0 || !(n = made_by(gr, name, arith, 4)))
		return false;
	for (size_t i = 0; i < n->n_input; i++)
		if (derives_from(gr, n->input[i], x, hops - 1))
			return true;
	return false;
}

/* The last Mul of GELU, x * (1 + erf(x / sqrt 2)) or x * (1 + tanh(..)):
 * one side is x, the other comes from Erf or Tanh of something made from
 * x. */
static bool gelu_tail(const orx_graph *gr, const Onnx__NodeProto *mul)
{
	static const char *const arith[] = {"Add", "Sub", "Mul", "Div"};
	static const char *const erf[] = {"Erf", "Tanh"};

	for (int side = 0; side < 2 && mul->n_input == 2; side++) {
		const char *x = mul->input[1 - side], *v = mul->input[side];
		const Onnx__NodeProto *n;
		for (int hop = 0; hop < 3; hop++) {
			if ((n = made_by(gr, v, erf, 2)) && n->n_input &&
			    derives_from(gr, n->input[0], x, 6))
				return true;
			if (!(n = made_by(gr, v, arith, 4)) || n->n_input < 1)
				break;
			v = n->input[0];
		}
	}
	return false;
}

/* Clip at 0 is the ReLU family: Relu6 with max 6, Relu without max. */
static const char *clip_name(const orx_graph *gr, const Onnx__NodeProto *clip)
{
	double lo = NAN, hi = INFINITY;

	lo = orx_attr_float(clip, "min", NAN);
	hi = orx_attr_float(clip, "max", INFINITY);
	if (clip->n_input >= 2 && clip->input[1][0])
		orx_graph_scalar(&lo, gr, clip->input[1]);
	if (clip->n_input >= 3 && clip->input[2][0])
		orx_graph_scalar(&hi, gr, clip->input[2]);
	if (lo != 0)
		return "Clip";
	return hi == 6 ? "Relu6" : isinf(hi) ? "Relu" : "Relu6";
}

/* What an ORX_OP_PATTERN node means: an activation name, "" to walk on
 * through it, or NULL for an opaque op. */
static const char *classify_special(const orx_graph *gr,
				    const Onnx__NodeProto *node)
{
	double e;

	const char *x = node->n_input ? node->input[0] : NULL;

	if (orx_op_is(node, "Sigmoid"))
		return gates_its_input(gr, node, x) ? "Silu" : "Sigmoid";
	if (orx_op_is(node, "HardSigmoid"))
		return gates_its_input(gr, node, x) ? "HardSwish"
						    : "HardSigmoid";
	if (orx_op_is(node, "Softplus"))
		return is_mish(gr, node) ? "Mish" : "Softplus";
	if (orx_op_is(node, "Erf"))
		return "Gelu"; /* x * 0.5 * (1 + erf(x / sqrt 2)) */
	if (orx_op_is(node, "Clip"))
		return clip_name(gr, node);
	if (orx_op_is(node, "Pow")) /* the tanh form of GELU starts with x^3 */
		return node->n_input == 2 &&
				       orx_graph_scalar(&e, gr,
							node->input[1]) ==
					       ORX_OK &&
				       e == 3
			       ? "Gelu"
			       : NULL;
	/* Mul: the end of x * Sigmoid(x) or of GELU, else by a constant or
	 * a residual */
	{
		const char *tail = swish_tail(gr, node);
		return tail ? tail : gelu_tail(gr, node) ? "Gelu" : "";
	}
}

/*** @@WALK: breadth first over values ***/

typedef struct {
	const orx_graph *gr; /* the graph the value is in */
	int value;
	int parent;	/* queue index, -1 for the start */
	const char *op; /* the op that produced value, NULL at the start */
} step;

/* A walk visits at most QUEUE_MAX values and EDGES_MAX consumers: far
 * beyond any real layer's reach, and a bound on the work a hostile graph
 * (one value read by every node) can cause per layer. */
#define QUEUE_MAX 4096
#define EDGES_MAX 4096

static void record(orx_branch *out, size_t *n, orx_branch_kind kind,
		   const char *name, double alpha, const step *q, int at,
		   const char *last)
{
	orx_branch b = {kind, name, alpha, {0}, 0};
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
	     i = q[i].parent)
		rev[len++] = q[i].op;
	for (size_t i = 0; i < len; i++)
		b.path[i] = rev[len - 1 - i];
	b.path_len = len;
	out[(*n)++] = b;
}

/* Queue value w (reached from queue entry at through op) once. */
static void enqueue(step *q, size_t *tail, const orx_graph *gr, int w, int at,
		    const char *op)
{
	if (*tail == QUEUE_MAX || !orx_graph_visit(gr, w))
		return;
	q[(*tail)++] = (step){gr, w, at, op};
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

	if (up && k >= 0 && orx_op_is(orx_graph_node(up, owner), "If"))
		enqueue(q, tail, up, orx_graph_output_of(up, owner, (size_t)k),
			at, "If");
	else
		record(branches, n, ORX_BRANCH_NONE, "none", NAN, q, at,
		       "output");
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
			orx_graph_node(up, owner)->op_type);
	}
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
	enqueue(q, &tail, gr, start, -1, NULL);
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
		for (size_t i = 0; i < nc; i++) {
			const Onnx__NodeProto *node =
				orx_graph_node(gr, nodes[i]);
			orx_op_class cls = class_of(gr, nodes[i]);
			const char *name = node->op_type;
			double alpha = NAN;

			if (cls == ORX_OP_PATTERN) {
				name = classify_special(gr, node);
				cls = !name	 ? ORX_OP_UNKNOWN
				      : !name[0] ? ORX_OP_TRANSPARENT
						 : ORX_OP_ACTIVATION;
				if (!name)
					name = node->op_type;
			}
			if (orx_op_is(node, "LeakyRelu"))
				alpha = orx_attr_float(node, "alpha", 0.01);
			if (cls == ORX_OP_ACTIVATION)
				record(branches, n, ORX_BRANCH_ACTIVATION, name,
				       alpha, q, at, name);
			else if (cls == ORX_OP_WEIGHTED || cls == ORX_OP_END ||
				 cls == ORX_OP_RECURRENT)
				record(branches, n, ORX_BRANCH_NONE, "none",
				       NAN, q, at, name);
			else if (cls == ORX_OP_UNKNOWN)
				record(branches, n, ORX_BRANCH_OPAQUE, name,
				       NAN, q, at, name);
			else /* transparent, or a normalization */
				for (size_t k = 0; k < node->n_output; k++)
					enqueue(q, &tail, gr,
						orx_graph_output_of(
							gr, nodes[i], k),
						at, node->op_type);
		}
	}
	free(q);
	return ORX_OK;
}

/*** @@UPSTREAM: the layer that feeds a layer ***/

/* Value v is a constant: an initializer, a Constant's output, or an
 * omitted input (-1). */
static bool is_constant(const orx_graph *gr, int v)
{
	int p;

	if (v < 0 || orx_graph_initializer(gr, v) >= 0)
		return true;
	p = orx_graph_producer(gr, v);
	return p >= 0 && class_of(gr, p) == ORX_OP_UNKNOWN &&
	       orx_op_is(orx_graph_node(gr, p), "Constant");
}

/* Is node p a sum of two or more signals (a residual connection)? */
static bool residual_sum(const orx_graph *gr, int p)
{
	const Onnx__NodeProto *n = orx_graph_node(gr, p);
	int signals = 0;

	if (!orx_op_is(n, "Add") && !orx_op_is(n, "Sum"))
		return false;
	for (size_t i = 0; i < n->n_input; i++)
		signals += !is_constant(gr, orx_graph_input_of(gr, p, i));
	return signals >= 2;
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
		cls = class_of(gr, p);
		if (cls == ORX_OP_NORMALIZATION) {
			*normalized = true;
			return -1;
		}
		if (cls == ORX_OP_WEIGHTED)
			return p;
		if (cls == ORX_OP_UNKNOWN || cls == ORX_OP_END)
			return -1;
		if (residual_sum(gr, p))
			return -1; /* the skip keeps the signal level */
		v = -1; /* on through the first input that is not constant */
		for (size_t i = 0; i < n->n_input && v < 0; i++)
			if (!is_constant(gr, orx_graph_input_of(gr, p, i)))
				v = orx_graph_input_of(gr, p, i);
	}
	return -1;
}
