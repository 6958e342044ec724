/* check: badly initialized weights, one by one and along chains. */
#define _GNU_SOURCE /* lgamma_r: lgamma writes the global signgam */
#include "decide.h"
#include "downstream.h"
#include "skips.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct orx_check {
	orx_finding *findings;
	const entry **of; /* the entry of each finding */
	size_t n;
	orx_chain *chains;
	size_t n_chains;
	size_t *chain_end;	 /* per chain: the layer index of its last layer
				    (while running; NULL after) */
	orx_signal_step *steps;	 /* every chain's layers, first to last */
	size_t *chain_step;	 /* per chain: its first step */
	orx_signal_step *layers; /* every weighted layer, in node order */
	const entry **layer_entry; /* the entry of each */
	double *predicted; /* the std of each one's output over its chain's
			      input's, predicted (NAN outside chains) */
	size_t n_layers;
	orx_measured *measured; /* orx_check_measure's */
	size_t n_measured;
};

static const char *const via_names[] = {"layer", "signal", "run"};

const char *orx_via_name(int via)
{
	return via >= 0 && via < 3 ? via_names[via] : NULL;
}

int orx_via_parse(int *out, const char *name)
{
	for (int v = 0; v < 3; v++)
		if (name && !strcmp(name, via_names[v])) {
			*out = v;
			return ORX_OK;
		}
	return orx_fail(ORX_EINVALID, "unknown via '%s'", name ? name : "");
}

const char *orx_problem_name(orx_problem p)
{
	static const char *names[] = {"zeros",	   "constant",	"nonfinite",
				      "vanishing", "exploding", "saturated"};
	return p <= ORX_PROBLEM_SATURATED ? names[p] : "unknown";
}

size_t orx_findings_failing(const orx_finding *f, size_t n, orx_severity at)
{
	size_t failing = 0;

	for (size_t k = 0; k < n; k++)
		failing += f[k].severity <= at;
	return failing;
}

const char *orx_severity_name(orx_severity s)
{
	static const char *names[] = {"error", "warning", "note"};
	return s <= ORX_SEVERITY_NOTE ? names[s] : "unknown";
}

int orx_severity_parse(orx_severity *out, const char *name)
{
	for (int s = ORX_SEVERITY_ERROR; s <= ORX_SEVERITY_NOTE; s++)
		if (name && strcmp(name, orx_severity_name(s)) == 0) {
			*out = (orx_severity)s;
			return ORX_OK;
		}
	return orx_fail(ORX_EINVALID,
			"unknown severity '%s' (error, warning, note)",
			name ? name : "");
}

/* The severity table: what cannot train at all is an error, and so is a
 * layer 10x off the plan's std on its own, or one on a chain along which
 * the signal, as drawn, vanishes or explodes past the signal threshold;
 * saturated codes and a layer off by less than 10x are warnings; a
 * layer's std within a quarter of its threshold (at least 0.8 of the
 * vanishing one, at most 1.25 times the exploding one) is a note. */
static orx_severity severity_of(orx_problem p, double ratio, double margin,
				bool by_signal, bool bad_chain)
{
	if (p == ORX_PROBLEM_ZEROS || p == ORX_PROBLEM_CONSTANT ||
	    p == ORX_PROBLEM_NONFINITE)
		return ORX_SEVERITY_ERROR;
	if (p == ORX_PROBLEM_SATURATED)
		return ORX_SEVERITY_WARNING;
	if (by_signal || bad_chain || !(ratio >= 0.1 && ratio <= 10))
		return ORX_SEVERITY_ERROR;
	if ((p == ORX_PROBLEM_VANISHING && margin >= 0.8) ||
	    (p == ORX_PROBLEM_EXPLODING && margin > 0 && margin <= 1.25))
		return ORX_SEVERITY_NOTE;
	return ORX_SEVERITY_WARNING;
}

/* Per layer, what the chain estimate needs. */
typedef struct {
	const entry *e;
	double std, ratio;
	size_t n;
	int problem;	 /* its finding (an orx_problem), or -1 */
	bool by_signal;	 /* the finding is its chain's, not its own */
	bool bad_chain;	 /* on a chain whose signal, as drawn, vanishes or
			    explodes past the signal threshold */
	double margin;	 /* vanishing or exploding on its own: its std over
			    the threshold's (0: not measured so) */
	int pred;	 /* layer index of the layer feeding it, or -1 */
	double scale;	 /* chain product up to here */
	double residual; /* the same without layers flagged on their own */
	double back, back_residual; /* the same with fan_out for fan_in */
	size_t depth;		    /* layers in the chain up to here */
	bool has_succ;
	int first; /* layer index where its chain starts */
	bool last; /* no weighted layer downstream (logits): drawn small
		      or zero, benign (judged out of chains too) */
} layer;

/*** @@JUDGE: a weight against the schemes accepted for its fans ***/

/* The false-alarm probability of the exact test, per tensor and tail. */
#define ALPHA 1e-6
/* The gains of the accepted schemes: PyTorch's default
 * kaiming_uniform(a = sqrt 5) is U(+-1/sqrt(fan_in)), gain 1/sqrt 3; He's
 * gain sqrt 2. */
#define GAIN_LO 0.57735026918962576
#define GAIN_HI 1.4142135623730951

/* P[X <= x] (*lower) and P[X > x] (*upper) for X ~ chi-square with k
 * degrees of freedom: the regularized incomplete gamma at (k/2, x/2), by
 * its series below a + 1 and its continued fraction (Lentz) above. */
static void chi2_tails(double *lower, double *upper, double k, double x)
{
	double a = k / 2, z = x / 2, front, sum, term, b, c, d, h;
	int sign; /* of Gamma(a): positive */

	if (!(z > 0)) {
		*lower = 0, *upper = 1;
		return;
	}
	front = exp(-z + a * log(z) - lgamma_r(a, &sign));
	if (z < a + 1) {
		sum = term = 1 / a;
		for (int n = 1; n < 100000 && fabs(term) > 1e-17 * sum; n++)
			sum += term *= z / (a + n);
		*lower = fmin(1, front * sum);
		*upper = 1 - *lower;
		return;
	}
	b = z + 1 - a, c = 1e300, d = 1 / b, h = d;
	for (int i = 1; i < 100000; i++) {
		double an = -i * (i - a), del;
		b += 2;
		d = an * d + b;
		d = fabs(d) < 1e-300 ? 1e-300 : d;
		c = b + an / c;
		c = fabs(c) < 1e-300 ? 1e-300 : c;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-16)
			break;
	}
	*upper = fmin(1, front * h);
	*lower = 1 - *upper;
}

static void widen(double *lo, double *hi, int64_t fan_in, int64_t fan_out)
{
	double fans[3] = {(double)fan_in, (double)fan_out,
			  ((double)fan_in + (double)fan_out) / 2};

	for (int k = 0; k < 3; k++)
		if (fans[k] >= 1) {
			*lo = fmin(*lo, GAIN_LO / sqrt(fans[k]));
			*hi = fmax(*hi, GAIN_HI / sqrt(fans[k]));
		}
}

/* The band of stds the accepted schemes give a layer of e's fans (the
 * README's envelope): fan_in, fan_out and fan_avg modes under the exact
 * and PyTorch's conventions, gains from 1/sqrt 3 to sqrt 2, uniform,
 * normal or truncated (the same std); the last layer of one of L
 * residual branches without normalization down to 1/sqrt(fan_in * L).
 * False without fans. */
static bool envelope(double *lo, double *hi, const entry *e)
{
	int64_t in, out;

	*lo = INFINITY, *hi = 0;
	if (!e->pub.has_fans)
		return false;
	widen(lo, hi, e->pub.fan_in, e->pub.fan_out);
	if (orx_entry_fans(&in, &out, e, ORX_FANS_PYTORCH) == ORX_OK)
		widen(lo, hi, in, out);
	if (e->residual_sums && e->pub.fan_in > 0)
		*lo = fmin(*lo, 1 / sqrt((double)e->pub.fan_in *
					 (double)e->residual_sums));
	if (e->input_gain > 1) /* drawn down for what reaches it */
		*lo /= sqrt(e->input_gain);
	else if (e->input_gain > 0 && e->input_gain < 1)
		*hi /= sqrt(e->input_gain);
	return *hi > 0;
}

/* std, and the problems of tensor i: zeros, constant, nonfinite; then
 * its spread against the envelope by an exact test: the sum of squared
 * deviations T of n draws of N(0, s^2) has T / s^2 ~ chi-square(n - 1),
 * so vanishing when P[chi2 <= T / (vanishing * lo)^2] < ALPHA, exploding
 * when P[chi2 > T / (exploding * hi)^2] < ALPHA. Uniform and truncated
 * draws spread less than normal ones: for them the test is safer still.
 * With kept, its values are left there for the caller to free. */
/* The values the layer sees of l's weight into *v (malloc'd), *n of
 * them: a quantized one dequantized, *saturated its worst group's share
 * of codes at the limits. */
static int layer_values(double **v, uint64_t *n, double *saturated,
			const layer *l, const orx_model *m)
{
	orx_tensor_info t;
	int rc;

	*saturated = 0;
	*n = l->e->quant ? orx_dims_count(l->e->quant->dims, l->e->quant->ndim)
			 : 0;
	if (!l->e->quant &&
	    ((rc = orx_model_tensor(&t, m, l->e->pub.tensor)) != ORX_OK ||
	     (rc = orx_tensor_readable(m, l->e->pub.tensor)) != ORX_OK))
		return rc;
	if (!l->e->quant)
		*n = t.count;
	if (*n > SIZE_MAX / sizeof(double) ||
	    !(*v = malloc(*n * sizeof(double) + 1)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	rc = l->e->quant ? orx_quant_read(*v, *n, saturated, m, l->e->quant)
			 : orx_tensor_read(*v, (size_t)*n, m, l->e->pub.tensor);
	if (rc != ORX_OK) {
		free(*v);
		*v = NULL;
	}
	return rc;
}

static int measure_kept(layer *l, const orx_model *m,
			const orx_check_options *o, double **kept)
{
	double *v, sum = 0, ss = 0, lo, hi, p_lo, p_hi, rest, saturated;
	bool finite = true, zeros = true, same = true;
	uint64_t n;
	int rc;

	if ((rc = layer_values(&v, &n, &saturated, l, m)) != ORX_OK)
		return rc;
	for (size_t k = 0; k < n; k++) {
		finite &= isfinite(v[k]) != 0;
		zeros &= v[k] == 0;
		same &= v[k] == v[0];
		sum += v[k];
	}
	for (size_t k = 0; k < n && finite; k++)
		ss += (v[k] - sum / n) * (v[k] - sum / n);
	if (kept)
		*kept = v; /* the caller's */
	else
		free(v);
	l->n = n;
	l->last = l->e->pub.role == ORX_ROLE_WEIGHT && l->e->last;
	l->std = finite && n ? sqrt(ss / n) : NAN;
	l->ratio =
		l->e->pub.params.std > 0 ? l->std / l->e->pub.params.std : NAN;
	l->problem = !finite		? ORX_PROBLEM_NONFINITE
		     : l->last		? -1 /* small or zero: benign */
		     : zeros		? ORX_PROBLEM_ZEROS
		     : same && n > 1	? ORX_PROBLEM_CONSTANT
		     : saturated > 0.01 ? ORX_PROBLEM_SATURATED
					: -1;
	if (l->problem >= 0 || n < 2 || l->e->normalized ||
	    !envelope(&lo, &hi, l->e))
		return rc;
	chi2_tails(&p_lo, &rest, (double)(n - 1),
		   ss / (o->vanishing * lo * o->vanishing * lo));
	chi2_tails(&rest, &p_hi, (double)(n - 1),
		   ss / (o->exploding * hi * o->exploding * hi));
	if (p_lo < ALPHA && !l->last)
		l->problem = ORX_PROBLEM_VANISHING,
		l->margin = l->std / (o->vanishing * lo);
	else if (p_hi < ALPHA)
		l->problem = ORX_PROBLEM_EXPLODING,
		l->margin = l->std / (o->exploding * hi);
	return rc;
}

static int measure(layer *l, const orx_model *m, const orx_check_options *o)
{
	return measure_kept(l, m, o, NULL);
}

/* Finding f of entry e appended to c. */
static int append(orx_check *c, const entry *e, orx_finding f)
{
	orx_finding *all = realloc(c->findings, (c->n + 1) * sizeof(*all));
	const entry **of;

	if (all)
		c->findings = all;
	if (!all || !(of = realloc(c->of, (c->n + 1) * sizeof(*of))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	c->of = of;
	of[c->n] = e;
	all[c->n++] = f;
	return ORX_OK;
}

static int add_finding(orx_check *c, const layer *l, int problem, int by_signal)
{
	return append(
		c, l->e,
		(orx_finding){l->e->pub.name, (orx_problem)problem, l->std,
			      l->e->pub.params.std, l->ratio, by_signal,
			      severity_of((orx_problem)problem, l->ratio,
					  l->margin, by_signal, l->bad_chain)});
}

/*** @@RECURRENT: the scale through time ***/

/* The largest singular value of the rows x cols matrix a (row-major),
 * by power iteration on a^T a from a fixed start. */
static double largest_singular(const double *a, int64_t rows, int64_t cols,
			       double *v, double *w)
{
	double sigma = 0;

	for (int64_t j = 0; j < cols; j++)
		v[j] = 1 + 0.01 * (double)(j % 7); /* not orthogonal to much */
	for (int it = 0; it < 200; it++) {
		double norm = 0, back = 0, prev = sigma;
		for (int64_t j = 0; j < cols; j++)
			norm += v[j] * v[j];
		norm = sqrt(norm);
		if (!(norm > 0))
			return 0;
		for (int64_t j = 0; j < cols; j++)
			v[j] /= norm;
		for (int64_t i = 0; i < rows; i++) { /* w = a v */
			w[i] = 0;
			for (int64_t j = 0; j < cols; j++)
				w[i] += a[i * cols + j] * v[j];
			back += w[i] * w[i];
		}
		sigma = sqrt(back);
		for (int64_t j = 0; j < cols; j++) /* v = a^T w */
			v[j] = 0;
		for (int64_t i = 0; i < rows; i++)
			for (int64_t j = 0; j < cols; j++)
				v[j] += a[i * cols + j] * w[i];
		if (fabs(sigma - prev) <= 1e-9 * sigma)
			break;
	}
	return sigma;
}

/* A recurrent weight R: its value problems, and each gate block's
 * largest singular value against 1 (an orthogonal block's), by the
 * thresholds' factors: far above, the state grows through time; far
 * below, the layer forgets at once. The worst block is reported. */
static int measure_recurrent(layer *l, const orx_model *m,
			     const orx_check_options *o)
{
	double *v = NULL, *buf = NULL, *w = NULL, lo = INFINITY, hi = 0;
	const entry *e = l->e;
	int rc = measure_kept(l, m, o, &v); /* its values kept in v */

	if (rc != ORX_OK || e->pub.role != ORX_ROLE_RECURRENT_WEIGHT ||
	    l->problem == ORX_PROBLEM_NONFINITE ||
	    l->problem == ORX_PROBLEM_ZEROS ||
	    l->problem == ORX_PROBLEM_CONSTANT) {
		free(v);
		return rc;
	}
	l->problem = -1; /* judged on its blocks, not on its std */
	if (!(buf = malloc((size_t)(e->blocks[0].cols + 1) * sizeof(double))) ||
	    !(w = malloc((size_t)(e->blocks[0].rows + 1) * sizeof(double))))
		rc = orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t k = 0; k < e->pub.n_blocks && rc == ORX_OK; k++) {
		const orx_plan_block *b = &e->blocks[k];
		double s = largest_singular(v + b->first, b->rows, b->cols, buf,
					    w);
		lo = s < lo ? s : lo;
		hi = s > hi ? s : hi;
	}
	if (rc == ORX_OK && hi > 2 * o->exploding) {
		l->problem = ORX_PROBLEM_EXPLODING;
		l->ratio = hi;
	} else if (rc == ORX_OK && lo < o->vanishing) {
		l->problem = ORX_PROBLEM_VANISHING;
		l->ratio = lo;
	} else {
		l->ratio = hi;
	}
	free(v);
	free(buf);
	free(w);
	return rc;
}

static bool is_recurrent(orx_role r)
{
	return r == ORX_ROLE_INPUT_WEIGHT || r == ORX_ROLE_RECURRENT_WEIGHT;
}

static uint64_t elements(const entry *e)
{
	return orx_dims_count(e->pub.dims, e->pub.ndim);
}

/* The values check reads: its weights' and its recurrent layers'. */
static uint64_t to_read(const orx_plan *plan)
{
	uint64_t n = 0;

	for (size_t i = 0; i < plan->n_init; i++)
		if (plan->e[i] && plan->e[i]->decided &&
		    (plan->e[i]->pub.role == ORX_ROLE_WEIGHT ||
		     is_recurrent(plan->e[i]->pub.role)))
			n += elements(plan->e[i]);
	return n;
}

/* Link every layer to the layer feeding it (looked up by its node), and
 * multiply along. */
static int link_chains(layer *L, size_t n, size_t n_nodes)
{
	int *layer_of = malloc((n_nodes + 1) * sizeof(int));

	if (!layer_of)
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t k = 0; k < n_nodes; k++)
		layer_of[k] = -1;
	for (size_t i = 0; i < n; i++) { /* node order: feeders come first */
		bool normalized;
		/* the data input: X of Conv, the other side of Gemm/MatMul */
		int data = orx_op_data_input(L[i].e->row, L[i].e->input);
		const orx_graph *gr =
			L[i].e->gr; /* nodes numbered model-wide */
		size_t base = orx_graph_node_base(gr);
		int node = orx_graph_upstream_layer(gr, L[i].e->node_index,
						    data, &normalized);
		const entry *e = L[i].e;
		double turn = e->pub.has_fans && e->pub.fan_in > 0
				      ? sqrt((double)e->pub.fan_out /
					     (double)e->pub.fan_in)
				      : 1;
		bool fixed = L[i].problem >= 0 || L[i].last;
		L[i].pred = node >= 0 ? layer_of[base + (size_t)node] : -1;
		L[i].scale = isnan(L[i].ratio) ? 1 : L[i].ratio;
		L[i].back = L[i].scale * turn;
		L[i].residual = fixed ? 1 : L[i].scale;
		L[i].back_residual = fixed ? 1 : L[i].back;
		L[i].depth = 1;
		L[i].first = (int)i;
		if (L[i].pred >= 0) {
			const layer *p = &L[L[i].pred];
			L[i].scale *= p->scale;
			L[i].residual *= p->residual;
			L[i].back *= p->back;
			L[i].back_residual *= p->back_residual;
			L[i].depth += p->depth;
			L[i].first = p->first;
			L[L[i].pred].has_succ = true;
		}
		layer_of[orx_graph_node_base(L[i].e->gr) +
			 (size_t)L[i].e->node_index] = (int)i;
	}
	free(layer_of);
	return ORX_OK;
}

static int judge_chains(orx_check *c, layer *L, size_t n,
			const orx_check_options *o)
{
	for (size_t i = 0; i < n; i++) {
		int problem = -1;
		orx_chain *ch;
		size_t *end;
		if (L[i].has_succ || L[i].depth < 2)
			continue;
		if (L[i].residual < o->signal && L[i].back_residual < o->signal)
			problem = ORX_PROBLEM_VANISHING;
		else if (L[i].residual > 1 / o->signal &&
			 L[i].back_residual > 1 / o->signal)
			problem = ORX_PROBLEM_EXPLODING;
		if (!(ch = realloc(c->chains, (c->n_chains + 1) * sizeof(*ch))))
			return orx_fail(ORX_ENOMEM, "out of memory");
		c->chains = ch;
		if (!(end = realloc(c->chain_end,
				    (c->n_chains + 1) * sizeof(*end))))
			return orx_fail(ORX_ENOMEM, "out of memory");
		c->chain_end = end;
		end[c->n_chains] = i;
		ch[c->n_chains++] = (orx_chain){L[L[i].first].e->pub.name,
						L[i].e->pub.name,
						L[i].depth,
						L[i].scale,
						L[i].residual,
						problem,
						L[i].back,
						L[i].back_residual};
		for (int k = (int)i; k >= 0; k = L[k].pred)
			L[k].bad_chain |= L[i].scale < o->signal ||
					  L[i].scale > 1 / o->signal;
		/* every layer of the chain that pulls its way gets flagged */
		for (int k = (int)i; k >= 0 && problem >= 0; k = L[k].pred)
			if (L[k].problem < 0 &&
			    (problem == ORX_PROBLEM_VANISHING ? L[k].ratio < 1
							      : L[k].ratio > 1))
				L[k].problem = problem, L[k].by_signal = true;
	}
	return ORX_OK;
}

/*** @@SIGNAL: the chains layer by layer ***/

double orx_signal_factor(const orx_plan_item *item)
{
	const entry *e = (const entry *)item; /* an entry's first member */

	return orx_activation_factor(item->activation, e->alpha);
}

static orx_signal_step step_of(const layer *l)
{
	const entry *e = l->e;
	orx_signal_step s = {
		e->pub.name, e->pub.activation,
		0,	     0,
		NAN,	     orx_activation_factor(e->pub.activation, e->alpha),
		1,	     1,
		l->problem};

	if (e->pub.has_fans) {
		s.fan_in = e->pub.fan_in;
		s.fan_out = e->pub.fan_out;
	}
	s.variance = l->std * l->std;
	if (e->pub.has_fans && isfinite(s.variance)) {
		s.forward = (double)s.fan_in * s.variance * s.factor;
		s.backward = (double)s.fan_out * s.variance * s.factor;
	}
	return s;
}

/* Each chain's layers, first to last, their scales multiplied along;
 * done once every layer's problem is known. */
static int chain_steps(orx_check *c, const layer *L)
{
	size_t total = 0, at = 0;

	for (size_t k = 0; k < c->n_chains; k++)
		total += c->chains[k].layers;
	c->steps = malloc((total + 1) * sizeof(*c->steps));
	c->chain_step = malloc((c->n_chains + 1) * sizeof(size_t));
	if (!c->steps || !c->chain_step)
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t k = 0; k < c->n_chains; k++) {
		size_t len = c->chains[k].layers, j = len;
		c->chain_step[k] = at;
		for (int i = (int)c->chain_end[k]; i >= 0 && j > 0;
		     i = L[i].pred)
			c->steps[at + --j] = step_of(&L[i]);
		for (j = 1; j < len; j++) {
			c->steps[at + j].forward *=
				c->steps[at + j - 1].forward;
			c->steps[at + j].backward *=
				c->steps[at + j - 1].backward;
		}
		for (int i = (int)c->chain_end[k]; i >= 0 && j > 0;
		     i = L[i].pred, j--) /* its output, before its activation */
			c->predicted[i] = sqrt(c->steps[at + j - 1].forward /
					       c->steps[at + j - 1].factor);
		at += len;
	}
	return ORX_OK;
}

/* Every layer on its own (its forward and backward its own factors), in
 * node order. */
static int layer_steps(orx_check *c, const layer *L, size_t n)
{
	if (!(c->layers = malloc((n + 1) * sizeof(*c->layers))) ||
	    !(c->layer_entry = malloc((n + 1) * sizeof(*c->layer_entry))) ||
	    !(c->predicted = malloc((n + 1) * sizeof(*c->predicted))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		c->layers[i] = step_of(&L[i]), c->layer_entry[i] = L[i].e,
		c->predicted[i] = NAN;
	c->n_layers = n;
	return ORX_OK;
}

/* Layers in node order; a node's weights in initializer order. */
static int by_node(const void *x, const void *y)
{
	const entry *a = ((const layer *)x)->e, *b = ((const layer *)y)->e;

	size_t na = orx_graph_node_base(a->gr) + (size_t)a->node_index;
	size_t nb = orx_graph_node_base(b->gr) + (size_t)b->node_index;

	if (na != nb)
		return na < nb ? -1 : 1;
	return a->pub.tensor < b->pub.tensor ? -1
					     : a->pub.tensor > b->pub.tensor;
}

static int run(orx_check **out, const orx_model *model, const orx_plan *plan,
	       const orx_check_options *opts)
{
	orx_check_options defaults = ORX_CHECK_OPTIONS_INIT;
	orx_check *c = calloc(1, sizeof(*c));
	layer *L = calloc(plan->n_items + 1, sizeof(layer));
	size_t n = 0;
	int rc = ORX_OK;

	if (!(opts = orx_options_checked(opts, &defaults,
					 ORX_CHECK_OPTIONS_VERSION,
					 "orx_check_options"))) {
		rc = ORX_EINVALID;
		goto done;
	}
	if (!c || !L) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < plan->n_init && rc == ORX_OK; i++)
		if (plan->e[i] && plan->e[i]->decided &&
		    plan->e[i]->pub.role == ORX_ROLE_WEIGHT) {
			L[n].e = plan->e[i];
			rc = measure(&L[n++], model, opts);
			orx_progress_add(orx_progress_current(),
					 elements(plan->e[i]));
		}
	/* node order, so that a layer's feeder is measured before it */
	qsort(L, n, sizeof(*L), by_node);
	if (rc == ORX_OK) /* the plan's index of the graph */
		rc = link_chains(L, n, plan->n_nodes);
	if (rc == ORX_OK)
		rc = judge_chains(c, L, n, opts);
	for (size_t i = 0; i < n && rc == ORX_OK; i++)
		if (L[i].problem >= 0)
			rc = add_finding(c, &L[i], L[i].problem,
					 L[i].by_signal);
	if (rc == ORX_OK) /* the layers first: chain_steps fills predicted */
		rc = layer_steps(c, L, n);
	if (rc == ORX_OK)
		rc = chain_steps(c, L);
	free(c->chain_end); /* the layer indices mean nothing past here */
	c->chain_end = NULL;
	/* recurrent layers: on their own, not in chains */
	for (size_t i = 0; i < plan->n_init && rc == ORX_OK; i++) {
		layer r = {0};
		if (!plan->e[i] || !plan->e[i]->decided ||
		    !is_recurrent(plan->e[i]->pub.role))
			continue;
		r.e = plan->e[i];
		orx_progress_add(orx_progress_current(), elements(r.e));
		if ((rc = measure_recurrent(&r, model, opts)) == ORX_OK &&
		    r.problem >= 0)
			rc = add_finding(c, &r, r.problem, 0);
	}
done:
	free(L);
	if (rc != ORX_OK)
		orx_check_free(c);
	else
		*out = c;
	return rc;
}

int orx_check_run(orx_check **out, const orx_model *model, const orx_plan *plan,
		  const orx_check_options *opts)
{
	orx_progress *outer =
		orx_progress_start(model, "checking", to_read(plan));
	int rc = run(out, model, plan, opts);

	orx_progress_end(model, outer);
	return rc;
}

size_t orx_check_count(const orx_check *c)
{
	return c->n;
}

const orx_finding *orx_check_finding_at(const orx_check *c, size_t i)
{
	return i < c->n ? &c->findings[i] : NULL;
}

size_t orx_check_chain_count(const orx_check *c)
{
	return c->n_chains;
}

const orx_chain *orx_check_chain_at(const orx_check *c, size_t i)
{
	return i < c->n_chains ? &c->chains[i] : NULL;
}

const orx_signal_step *orx_check_chain_step(const orx_check *c, size_t i,
					    size_t k)
{
	return i < c->n_chains && k < c->chains[i].layers
		       ? &c->steps[c->chain_step[i] + k]
		       : NULL;
}

size_t orx_check_layer_count(const orx_check *c)
{
	return c->n_layers;
}

const orx_signal_step *orx_check_layer_at(const orx_check *c, size_t i)
{
	return i < c->n_layers ? &c->layers[i] : NULL;
}

void orx_check_free(orx_check *c)
{
	if (!c)
		return;
	free(c->layers);
	free(c->layer_entry);
	free(c->predicted);
	free(c->measured);
	free(c->findings);
	free(c->of);
	free(c->chains);
	free(c->chain_end);
	free(c->steps);
	free(c->chain_step);
	free(c);
}

/* Which weights (by value) and which recurrent layers (by model-wide
 * node) have findings: marks in tensor (plan->n_init) and node
 * (plan->n_nodes). */
static void mark_flagged(bool *tensor, bool *node, const orx_plan *plan,
			 const orx_check *c)
{
	for (size_t i = 0; i < c->n; i++) {
		const entry *e = c->of[i];
		if (e->pub.tensor < plan->n_init)
			tensor[e->pub.tensor] = true;
		if (e->pub.n_blocks && e->gr && e->node_index >= 0)
			node[orx_graph_node_base(e->gr) +
			     (size_t)e->node_index] = true;
	}
}

/* Whether e is a flagged weight, the bias of one, or a tensor of a
 * flagged recurrent layer. */
static bool is_flagged(const entry *e, const bool *tensor, const bool *node)
{
	const entry *weight = e->pub.role == ORX_ROLE_WEIGHT ? e : e->layer;

	if (weight && tensor[weight->pub.tensor])
		return true;
	return e->pub.n_blocks && e->gr && e->node_index >= 0 &&
	       node[orx_graph_node_base(e->gr) + (size_t)e->node_index];
}

int orx_plan_restrict(orx_plan *plan, const orx_check *check)
{
	bool *tensor = calloc(plan->n_init + 1, sizeof(bool));
	bool *node = calloc(plan->n_nodes + 1, sizeof(bool));
	size_t kept = 0;
	int rc = orx_plan_skip_reserve(plan, plan->n_items);

	if (rc == ORX_OK && (!tensor || !node))
		rc = orx_fail(ORX_ENOMEM, "out of memory");
	if (rc != ORX_OK)
		goto done;
	mark_flagged(tensor, node, plan, check);
	for (size_t i = 0; i < plan->n_items; i++) {
		entry *e = plan->e[plan->items[i]];
		if (is_flagged(e, tensor, node)) {
			plan->items[kept++] = plan->items[i];
			continue;
		}
		e->decided = 0;
		e->reason = "not flagged by check";
		e->kept = true; /* the user's choice */
		orx_plan_skip_add(plan, (orx_plan_skip){e->pub.name, e->reason,
							e->pub.tensor, 1});
	}
	plan->n_items = kept;
done:
	free(tensor);
	free(node);
	return rc;
}

/*** @@MEASURE: the signal measured in ONNX Runtime ***/

static bool any_external(const orx_model *m)
{
	for (size_t i = 0; i < orx_value_count(m); i++)
		if (orx_tensor_proto_storage(orx_value_tensor(m, i)) ==
		    ORX_STORAGE_EXTERNAL)
			return true;
	return false;
}

/* Layer e's output can be measured: a float32 layer of the main graph. */
static const char *measurable(const entry *e)
{
	const Onnx__NodeProto *nd;

	if (orx_graph_id(e->gr) != 0 || e->quant || e->pub.dtype != 1 ||
	    e->node_index < 0)
		return NULL;
	nd = orx_graph_node(e->gr, e->node_index);
	return nd->n_output > 0 && nd->output[0][0] ? nd->output[0] : NULL;
}

static int add_measured_finding(orx_check *c, const entry *e, double scale,
				const orx_check_options *o)
{
	double v = scale * scale;
	int problem = v < o->signal	  ? ORX_PROBLEM_VANISHING
		      : v > 1 / o->signal ? ORX_PROBLEM_EXPLODING
					  : -1;

	if (problem < 0 || isnan(scale) || e->last) /* logits: benign */
		return ORX_OK;
	return append(c, e,
		      (orx_finding){e->pub.name, (orx_problem)problem, scale, 1,
				    scale, ORX_VIA_RUN, ORX_SEVERITY_ERROR});
}

int orx_check_measure(orx_check *c, const orx_model *model,
		      const orx_check_options *opts)
{
	orx_check_options defaults = ORX_CHECK_OPTIONS_INIT;
	const char **names = calloc(c->n_layers + 1, sizeof(*names));
	size_t *of = calloc(c->n_layers + 1, sizeof(*of)), n = 0;
	double *stds = calloc(c->n_layers + 1, sizeof(*stds)), rms = 1;
	int rc = names && of && stds ? ORX_OK
				     : orx_fail(ORX_ENOMEM, "out of memory");

	if (!(opts = orx_options_checked(opts, &defaults,
					 ORX_CHECK_OPTIONS_VERSION,
					 "orx_check_options")))
		rc = ORX_EINVALID;
	for (size_t i = 0; rc == ORX_OK && i < c->n_layers; i++)
		if ((names[n] = measurable(c->layer_entry[i])))
			of[n++] = i; /* the layer measured */
	if (rc == ORX_OK && any_external(model))
		rc = orx_fail(ORX_EUNSUPPORTED,
			      "--run: models with external data are not "
			      "supported yet");
	if (rc == ORX_OK && n)
		rc = orx_run_measure(stds, &rms, model, names, n);
	free(c->measured);
	c->n_measured = 0;
	if (rc == ORX_OK &&
	    !(c->measured = calloc(n + 1, sizeof(*c->measured))))
		rc = orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t i = 0; rc == ORX_OK && i < n; i++) {
		const entry *e = c->layer_entry[of[i]];
		double scale = stds[i] / (rms > 0 ? rms : 1);
		c->measured[c->n_measured++] =
			(orx_measured){e->pub.name, scale, c->predicted[of[i]]};
		rc = add_measured_finding(c, e, scale, opts);
	}
	free(names), free(of), free(stds);
	return rc;
}

size_t orx_check_measured_count(const orx_check *c)
{
	return c->n_measured;
}

const orx_measured *orx_check_measured_at(const orx_check *c, size_t i)
{
	return i < c->n_measured ? &c->measured[i] : NULL;
}
