/* Residual branches without normalization: the sums whose branch adds
 * its variance to the skip's at every block, found from the structure
 * (not names), and the last layer of each branch marked. */
#include "residual.h"
#include "downstream.h"
#include "entry.h"
#include "ops.h"

#include <stdlib.h>
#include <string.h>

#define SIDE_MAX 64 /* values followed up from one side of a sum */

/* The values reached going up from a start, breadth first (the queue is
 * the list). */
typedef struct {
	int v[SIDE_MAX];
	int n, head;
	bool full; /* more values than SIDE_MAX */
} side;

static bool has(const side *s, int v)
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i] == v)
			return true;
	return false;
}

static void add(side *s, int v)
{
	if (has(s, v))
		return;
	if (s->n == SIDE_MAX)
		s->full = true;
	else
		s->v[s->n++] = v;
}

/* The next value of s up: the signals its producer reads (none past a
 * constant's or a graph input's). Returns that value, or -1 when s is
 * done. */
static int up(side *s, const orx_graph *gr, int stop)
{
	int v, p;

	if (s->head >= s->n)
		return -1;
	v = s->v[s->head++];
	if (v == stop || (p = orx_graph_producer(gr, v)) < 0)
		return v;
	for (size_t i = 0; i < orx_graph_node(gr, p)->n_input; i++) {
		int w = orx_graph_input_of(gr, p, i);
		if (w >= 0 && !orx_graph_is_constant(gr, w))
			add(s, w);
	}
	return v;
}

/* The nearest value both a and b come from (breadth first on both
 * sides, a step each in turn), or -1 within SIDE_MAX values each. */
static int fork_of(const orx_graph *gr, int a, int b)
{
	side A = {{a}, 1, 0, false}, B = {{b}, 1, 0, false};

	for (;;) {
		int n = A.n, m = B.n;
		bool moved = up(&A, gr, -1) >= 0;
		moved |= up(&B, gr, -1) >= 0;
		for (int i = 0; i < A.n; i++) /* a's ancestors first */
			if (has(&B, A.v[i]))
				return A.v[i];
		if (!moved ||
		    (A.n == n && B.n == m && A.head >= A.n && B.head >= B.n))
			return -1;
	}
}

typedef struct {
	int weighted;	 /* layers between the fork and the sum */
	bool normalized; /* a normalization among them */
	bool clean;	 /* every op known, no other source, within bounds */
} branch_stats;

/* What lies between fork x and value t going up from t. */
static branch_stats between(const orx_graph *gr, int t, int x)
{
	branch_stats st = {0, false, true};
	side S = {{t}, 1, 0, false};
	int nodes[SIDE_MAX], n_nodes = 0, v;

	while ((v = up(&S, gr, x)) >= 0) {
		int p = v == x ? -1 : orx_graph_producer(gr, v);
		orx_op_class cls;
		bool seen = false;
		if (v == x)
			continue;
		if (p < 0) { /* a graph input other than the fork */
			st.clean = false;
			break;
		}
		for (int k = 0; k < n_nodes; k++)
			seen |= nodes[k] == p;
		if (seen || n_nodes == SIDE_MAX)
			continue;
		nodes[n_nodes++] = p;
		cls = orx_op_class_at(gr, p);
		st.weighted +=
			cls == ORX_OP_WEIGHTED || cls == ORX_OP_RECURRENT;
		st.normalized |= cls == ORX_OP_NORMALIZATION;
		st.clean &= cls != ORX_OP_UNKNOWN && cls != ORX_OP_CONSTANT;
	}
	st.clean &= !S.full;
	return st;
}

/* Does a normalization take value y (a sum's output) before a layer or
 * the next sum does? Going down through the ops between, breadth first,
 * within SIDE_MAX values. */
static bool normalized_after(const orx_graph *gr, int y)
{
	side S = {{y}, 1, 0, false};

	while (S.head < S.n) {
		const int *nodes, *slots;
		size_t n =
			orx_graph_consumers(gr, S.v[S.head++], &nodes, &slots);
		for (size_t i = 0; i < n; i++) {
			orx_op_class cls = orx_op_class_at(gr, nodes[i]);
			if (cls == ORX_OP_NORMALIZATION)
				return true;
			if (cls == ORX_OP_WEIGHTED || cls == ORX_OP_RECURRENT ||
			    cls == ORX_OP_END || cls == ORX_OP_UNKNOWN ||
			    cls == ORX_OP_CONSTANT ||
			    orx_graph_residual_sum(gr, nodes[i]))
				continue;
			for (size_t k = 0;
			     k < orx_graph_node(gr, nodes[i])->n_output; k++)
				add(&S, orx_graph_output_of(gr, nodes[i], k));
		}
	}
	return false;
}

/* A sum of gr: node p adds the signals a and b (at input slots sa, sb).
 * When p is a layer adding b to its own output (FusedConv's Z), a is its
 * data input and p itself is the branch's last layer. */
typedef struct {
	int p, a, b, sa;
	bool layer;
} sum_site;

static bool site_of(sum_site *s, const orx_graph *gr, int p)
{
	const orx_op *op = orx_op_of(gr, p);
	int z = op ? orx_op_input_of_kind(op, ORX_IN_SUM) : -1, k = 0;
	int in[2] = {-1, -1}, slot[2] = {-1, -1};

	if (z >= 0 && orx_op_class_at(gr, p) == ORX_OP_WEIGHTED) {
		int zv = orx_graph_input_of(gr, p, (size_t)z);
		*s = (sum_site){p, orx_graph_input_of(gr, p, 0), zv, 0, true};
		return zv >= 0 && s->a >= 0 && !orx_graph_is_constant(gr, zv);
	}
	if (!orx_graph_residual_sum(gr, p))
		return false;
	for (size_t i = 0; i < orx_graph_node(gr, p)->n_input; i++) {
		int v = orx_graph_input_of(gr, p, i);
		if (v < 0 || orx_graph_is_constant(gr, v))
			continue;
		if (k == 2)
			return false; /* three or more signals */
		in[k] = v, slot[k++] = (int)i;
	}
	*s = (sum_site){p, in[0], in[1], slot[0], false};
	return k == 2 && in[0] != in[1];
}

/* The input slot of p that reads value v (-1: none). */
static int slot_of(const orx_graph *gr, int p, int v)
{
	for (size_t i = 0; i < orx_graph_node(gr, p)->n_input; i++)
		if (orx_graph_input_of(gr, p, i) == v)
			return (int)i;
	return -1;
}

/* The last layer of sum s's branch (a node), or -1 when s is not a
 * residual sum whose branch holds layers and no normalization. */
static int branch_layer(const orx_graph *gr, const sum_site *s)
{
	int x = fork_of(gr, s->a, s->b);
	branch_stats A, B;
	bool normalized, a_branch;

	if (x < 0)
		return -1;
	A = between(gr, s->a, x);
	B = between(gr, s->b, x);
	A.weighted += s->layer; /* the fused layer is A's last */
	a_branch = A.weighted > B.weighted;
	if (!A.clean || !B.clean || A.weighted == B.weighted ||
	    (a_branch ? A.normalized : B.normalized) || (s->layer && !a_branch))
		return -1;
	return s->layer ? s->p
			: orx_graph_upstream_layer(
				  gr, s->p,
				  slot_of(gr, s->p, a_branch ? s->a : s->b),
				  &normalized);
}

/* The branches' last layers of graph gr into layers (*n of them). */
static void find_in_graph(int *layers, size_t *n, const orx_graph *gr)
{
	*n = 0;
	for (size_t p = 0; p < orx_graph_node_count(gr); p++) {
		sum_site s;
		int layer;
		if (site_of(&s, gr, (int)p) &&
		    (layer = branch_layer(gr, &s)) >= 0 &&
		    !normalized_after(gr, orx_graph_output_of(gr, (int)p, 0)))
			layers[(*n)++] = layer;
	}
}

int orx_plan_residual_branches(orx_plan *plan)
{
	entry **weight = orx_plan_weights_by_node(plan);
	int *layers = malloc((plan->n_nodes + 1) * sizeof(*layers));
	int rc = weight && layers ? ORX_OK
				  : orx_fail(ORX_ENOMEM, "out of memory");

	for (size_t k = 0; k < plan->n_graphs && rc == ORX_OK; k++) {
		const orx_graph *gr = plan->graphs[k];
		size_t n, base = orx_graph_node_base(gr);
		find_in_graph(layers, &n, gr);
		for (size_t i = 0; i < n; i++)
			if (weight[base + (size_t)layers[i]])
				weight[base + (size_t)layers[i]]
					->residual_sums = n;
	}
	free(weight);
	free(layers);
	return rc;
}
