/* What reaches a layer: ops between layers that change the second moment
 * of the signal, and the layers drawn to undo it. A layer's scheme (He,
 * Xavier) keeps the signal's scale when its input has the scale a layer
 * and its activation leave; a max pool over K rectified values raises
 * the second moment (5.1 times for 3x3 over independent values, less
 * over correlated ones), a squeeze-and-excite gate
 * (a signal times a sigmoid's output, about 1/2 at initialization)
 * lowers it (1/4), a layer with no activation passes fan_in x Var(W)
 * (Xavier: fan_in / fan_avg), and the next layer passes that on. Each graph is
 * followed in node order with the factor g of every value (1 where
 * nothing changed it): a max pool of a rectified value multiplies it by
 * c(K), a gate's product by 1/4, a residual sum takes its largest input's
 * (the skip), a concatenation their mean, a layer with an activation or a
 * normalization resets it to 1; a layer whose input has g != 1 is drawn at std
 * / sqrt(g), unless a normalization follows it or it gives the logits. */
#define _GNU_SOURCE
#include "gains.h"

#include "downstream.h"
#include "entry.h"
#include "ops.h"
#include "patterns.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GATE_SQUARE 0.25 /* E[g^2] of a gate at its centre, 1/2 */

/* The standard normal's distribution function. */
static double Phi(double x)
{
	return 0.5 * erfc(-x / sqrt(2));
}

/* E[ReLU(N(mu, sigma^2))^2]. */
static double rectified_square(double mu, double sigma)
{
	double t;

	if (sigma <= 0)
		return mu > 0 ? mu * mu : 0;
	t = mu / sigma;
	return (mu * mu + sigma * sigma) * Phi(t) +
	       mu * sigma * exp(-t * t / 2) / sqrt(2 * M_PI);
}

/* k equicorrelated N(0, 1) (correlation rho) are sqrt(rho) Z0 +
 * sqrt(1 - rho) Z_i: their max is sqrt(rho) Z0 + sqrt(1 - rho) M, M the
 * max of k iid. E[ReLU(max)^2] by the integral over M's density
 * k phi(m) Phi(m)^(k-1), in steps of 1/1000 over [-8, 8]; over 1/2. */
double orx_max_pool_gain(int64_t k, double rho)
{
	double sum = 0, h = 1e-3, a = sqrt(rho), b = sqrt(1 - rho);

	if (k <= 1)
		return 1;
	for (double m = -8 + h / 2; m < 8; m += h)
		sum += (double)k * exp(-m * m / 2) / sqrt(2 * M_PI) *
		       pow(Phi(m), (double)(k - 1)) *
		       rectified_square(b * m, a) * h;
	return sum / 0.5;
}

/* Value v comes from a rectifier (ReLU and its kin: factor 1/2). */
static bool rectified(const orx_graph *gr, int v)
{
	int p = orx_pattern_made_by(gr, v);
	const orx_op *op = p >= 0 ? orx_op_of(gr, p) : NULL;
	const orx_activation *act;

	if (!op || op->cls != ORX_OP_ACTIVATION)
		return false;
	act = orx_activation_named(op->activation
					   ? op->activation
					   : orx_graph_node(gr, p)->op_type);
	return act && act->factor == 0.5;
}

/* Value v gates value x: a Sigmoid's or HardSigmoid's output computed
 * from something else than x (x times sigmoid(x) is swish, an
 * activation). */
static bool gates(const orx_graph *gr, int v, int x)
{
	int p = orx_pattern_made_by(gr, v);
	const orx_op *op = p >= 0 ? orx_op_of(gr, p) : NULL;

	return op && op->moment == ORX_MOMENT_GATE &&
	       orx_graph_input_of(gr, p, 0) != x;
}

/* The correlation of neighbouring values a max pool at node n takes
 * (white noise through the layer before it): a convolution of kernel k
 * and stride s per dimension shares (k - s) / k of its input with its
 * neighbour along each, the square of that over a window; 0 for other
 * layers and for none. */
static double neighbour_rho(entry **weight, const orx_graph *gr, int n)
{
	bool normalized;
	int p = orx_graph_upstream_layer(gr, n, 0, &normalized);
	const entry *e =
		p >= 0 ? weight[orx_graph_node_base(gr) + (size_t)p] : NULL;
	double k = 1, s, d, r;

	if (!e || e->seen_ndim < 3)
		return 0;
	d = (double)(e->seen_ndim - 2);
	for (size_t i = 2; i < e->seen_ndim; i++)
		k *= (double)e->seen[i];
	k = pow(k, 1 / d);
	s = pow((double)(e->strides > 1 ? e->strides : 1), 1 / d);
	r = k > s ? (k - s) / k : 0;
	return r * r;
}

/* The signals node n reads (not constants): their values into in. */
static size_t signals_of(int *in, size_t max, const orx_graph *gr, int n)
{
	size_t k = 0;

	for (size_t i = 0; i < orx_graph_node(gr, n)->n_input && k < max; i++) {
		int v = orx_graph_input_of(gr, n, i);
		if (v >= 0 && !orx_graph_is_constant(gr, v))
			in[k++] = v;
	}
	return k;
}

/* Max pools' factors already worked out in this plan (an integral
 * each): most models have a few kinds of pool. */
typedef struct {
	int64_t k[16];
	double rho[16], value[16];
	int n;
} pool_cache;

static double pool_gain(pool_cache *c, int64_t k, double rho)
{
	double v;

	for (int i = 0; i < c->n; i++)
		if (c->k[i] == k && c->rho[i] == rho)
			return c->value[i];
	v = orx_max_pool_gain(k, rho);
	if (c->n < 16)
		c->k[c->n] = k, c->rho[c->n] = rho, c->value[c->n++] = v;
	return v;
}

/* The factor of node n's outputs from its inputs' (g by value). */
static double out_gain(pool_cache *cache, entry **weight, const orx_graph *gr,
		       int n, const double *g)
{
	const orx_op *op = orx_op_of(gr, n);
	int in[8];
	size_t k = signals_of(in, 8, gr, n);
	double most = 0, sum = 0;

	if (!op || !k || op->cls == ORX_OP_UNKNOWN ||
	    op->cls == ORX_OP_CONSTANT || op->cls == ORX_OP_NORMALIZATION ||
	    op->cls == ORX_OP_WEIGHTED || op->cls == ORX_OP_RECURRENT)
		return 1;
	for (size_t i = 0; i < k; i++)
		most = fmax(most, g[in[i]]), sum += g[in[i]];
	if (op->moment == ORX_MOMENT_MAX_POOL)
		return rectified(gr, in[0])
			       ? g[in[0]] *
					 pool_gain(
						 cache,
						 orx_op_attr_count(
							 op,
							 orx_graph_node(gr, n),
							 ORX_ATTR_KERNEL),
						 neighbour_rho(weight, gr, n))
			       : g[in[0]];
	if (op->moment == ORX_MOMENT_MULTIPLY && k == 2 &&
	    gates(gr, in[0], in[1]) != gates(gr, in[1], in[0]))
		return g[in[gates(gr, in[0], in[1]) ? 1 : 0]] * GATE_SQUARE;
	if (op->joins)
		return sum / (double)k;
	return op->sums ? most : g[in[0]];
}

/* Layer e's output factor. A layer before an activation keeps the
 * signal's scale by its scheme (its gain makes up for what the
 * activation passes); one with none (a linear bottleneck, a projection
 * into a sum) passes fan_in x Var(W) of its input's second moment, which
 * Xavier's fan_avg makes fan_in / fan_avg: that reaches the next layer.
 * Taken once its own input factor is undone (where its rule says so). */
static double linear_out(const entry *e)
{
	const orx_init_params *p = &e->pub.params;
	double out;

	if (!e->decided || e->normalized || e->last || !e->pub.has_fans ||
	    strcmp(e->pub.activation, "none") != 0 ||
	    !orx_scheme_is_scaling(e->pub.scheme))
		return 1;
	out = (double)e->pub.fan_in * p->std * p->std;
	return e->undo_gains ? out : out * e->input_gain;
}

/* The input factor of each layer weight of graph k (by node), g[] the
 * graph's values'. */
static void follow(pool_cache *cache, entry **weight, const orx_graph *gr,
		   double *g)
{
	size_t base = orx_graph_node_base(gr);

	for (size_t n = 0; n < orx_graph_node_count(gr); n++) {
		const Onnx__NodeProto *nd = orx_graph_node(gr, (int)n);
		entry *e = weight[base + n];
		double out = out_gain(cache, weight, gr, (int)n, g);
		if (e && e->row && e->input >= 0) {
			int data = orx_graph_input_of(
				gr, (int)n,
				(size_t)orx_op_data_input(e->row, e->input));
			e->input_gain = data >= 0 ? g[data] : 1;
			out = linear_out(e);
		}
		for (size_t o = 0; o < nd->n_output; o++) {
			int v = orx_graph_output_of(gr, (int)n, o);
			if (v >= 0)
				g[v] = out;
		}
	}
}

/* Entry e drawn at std / sqrt(its input factor). */
static void undo(entry *e)
{
	orx_init_params_scale(&e->pub.params, 1 / sqrt(e->input_gain));
	e->pub.input_gain = e->input_gain;
}

int orx_plan_input_gains(orx_plan *plan)
{
	entry **weight = orx_plan_weights_by_node(plan);
	pool_cache cache = {{0}, {0}, {0}, 0};
	int rc = weight ? ORX_OK : orx_fail(ORX_ENOMEM, "out of memory");

	for (size_t k = 0; k < plan->n_graphs && rc == ORX_OK; k++) {
		const orx_graph *gr = plan->graphs[k];
		size_t n = orx_graph_value_count(gr);
		double *g = malloc((n + 1) * sizeof(*g));
		if (!g) {
			rc = orx_fail(ORX_ENOMEM, "out of memory");
			break;
		}
		for (size_t v = 0; v < n; v++)
			g[v] = 1;
		follow(&cache, weight, gr, g);
		free(g);
	}
	for (size_t i = 0; rc == ORX_OK && i < plan->n_nodes; i++) {
		entry *e = weight[i];
		if (e && e->decided && e->undo_gains && !e->normalized &&
		    !e->last && /* logits: nothing learns past them */
		    !e->pub.n_blocks && fabs(e->input_gain - 1) > 1e-6 &&
		    e->input_gain > 0 && orx_scheme_is_scaling(e->pub.scheme))
			undo(e);
	}
	free(weight);
	return rc;
}
