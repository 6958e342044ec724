/* Deciding each claimed tensor: the first rule that matches, its gain,
 * the fans, and the distribution they resolve to; or why the tensor is
 * kept. */
#include "decide.h"
#include "claim.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static double gain_of(const orx_rule_action *a, const entry *e)
{
	double g = 0, param = a->gain_param;

	if (a->gain_kind == ORX_GAIN_VALUE)
		return a->spec.gain;
	if (a->gain_kind == ORX_GAIN_DEFAULT)
		return 0; /* the scheme's own */
	if (isnan(param)) /* the activation's; without one, the gain's */
		param = e->alpha;
	if (!strcmp(a->gain_name, "activation")) /* the one found */
		return orx_activation_gain(e->pub.activation, param);
	orx_gain(&g, a->gain_name, param);
	return g;
}

int orx_entry_fans(int64_t *fan_in, int64_t *fan_out, const entry *e,
		   orx_fan_convention conv)
{
	orx_fan_query q = {e->input,	  e->group,
			   (int)e->trans, (int)e->trans_batch,
			   conv,	  e->strides};

	return orx_fans(fan_in, fan_out, e->row, &q, e->seen, e->seen_ndim);
}

static int fans_of(entry *e, orx_fan_convention conv)
{
	int rc = orx_entry_fans(&e->pub.fan_in, &e->pub.fan_out, e, conv);

	e->pub.has_fans = rc == ORX_OK;
	return rc;
}

enum { GO_ON = 1 }; /* refuse(), unwritable(): nothing stops the rewrite */

/* The ONNX op e's fused layer computes, for the rules, or NULL. */
static const char *unfused_of(const entry *e)
{
	return e->row ? e->row->unfused : NULL;
}

static bool recurrent_only(orx_scheme s)
{
	return s == ORX_SCHEME_FORGET_BIAS || s == ORX_SCHEME_PYTORCH_RECURRENT;
}

/* How many gate blocks e has beside b (its direction and part). */
static int64_t gates_of(const entry *e, const orx_plan_block *b)
{
	int64_t n = 0;

	for (size_t i = 0; i < e->pub.n_blocks; i++)
		n += e->blocks[i].direction == b->direction &&
		     e->blocks[i].part == b->part;
	return n;
}

/* The m blocks at b (one direction and part) as one, into out, if they
 * lie in one run of whole rows of the same width (in whatever order
 * their gates are): an orthogonal draw over the whole (Keras's
 * recurrent kernel). */
static bool joined(orx_plan_block *out, const orx_plan_block *b, size_t m,
		   orx_arena *mem)
{
	uint64_t lo = b->first, hi = b->first + b->count, count = 0;
	int64_t rows = 0;
	const char *gates = "";

	for (size_t k = 0; k < m; k++) {
		const orx_plan_block *c = &b[k];
		if (c->cols != b->cols || c->stride != c->cols ||
		    c->scheme != ORX_SCHEME_ORTHOGONAL || !gates)
			return false;
		lo = c->first < lo ? c->first : lo;
		hi = c->first + c->count > hi ? c->first + c->count : hi;
		count += c->count, rows += c->rows;
		gates = orx_arena_printf(mem, "%s%s", gates, c->gate);
	}
	if (hi - lo != count || !gates)
		return false; /* not one run */
	*out = *b;
	out->first = lo, out->count = count, out->rows = rows;
	out->gate = gates;
	out->fan_in = b->cols, out->fan_out = rows;
	out->params.std = b->params.gain /
			  sqrt((double)(rows > b->cols ? rows : b->cols));
	return true;
}

/* Orthogonal blocks decided with fans=whole (whole[k]: block k's rule
 * said so) joined, direction by direction. */
static void join_whole(entry *e, orx_arena *mem, const bool *whole)
{
	size_t out = 0, n = e->pub.n_blocks;

	for (size_t k = 0, j; k < n; k = j) { /* out <= k: written behind */
		orx_plan_block one;
		bool all = whole[k];
		for (j = k + 1;
		     j < n &&
		     e->blocks[j].direction == e->blocks[k].direction &&
		     e->blocks[j].part == e->blocks[k].part;
		     j++)
			all &= whole[j];
		if (all && j - k > 1 &&
		    joined(&one, &e->blocks[k], j - k, mem)) {
			e->blocks[out++] = one;
			continue;
		}
		for (size_t g = k; g < j; g++)
			e->blocks[out++] = e->blocks[g];
	}
	e->pub.n_blocks = out;
}

/* Block b of recurrent tensor e: its rule and distribution (a KEEP
 * block stays as it is); or why the tensor is kept. */
static int decide_block(entry *e, orx_arena *mem, const orx_rules *rules,
			orx_plan_block *b, bool *whole)
{
	orx_rule_query q = {e->pub.op,	 unfused_of(e), "none",	 e->pub.role,
			    e->pub.name, e->pub.graph,	b->gate, false};
	/* the block's width where it has no fans: a recurrent bias's H */
	int64_t hidden = b->has_fans ? b->fan_out : b->cols,
		dims[2] = {b->rows, b->cols};
	const orx_rule_action *a =
		orx_rules_match(rules, &q, &b->rule_file, &b->rule_line);
	orx_init_spec spec;

	if (!a)
		return orx_plan_reason(e, mem, "no rule matches its gate %s",
				       b->gate);
	spec = a->spec;
	spec.gain = gain_of(a, e);
	b->scheme = spec.scheme;
	*whole = a->fans == ORX_FANS_WHOLE && b->has_fans;
	if (*whole) /* Keras's kernel: every gate's outputs */
		hidden = b->fan_out *= gates_of(e, b);
	if (spec.scheme == ORX_SCHEME_FORGET_BIAS &&
	    e->pub.role != ORX_ROLE_BIAS)
		return orx_plan_reason(e, mem,
				       "forget_bias (%s:%u) is for a recurrent "
				       "layer's bias, not its %s",
				       b->rule_file, b->rule_line,
				       orx_role_name(e->pub.role));
	if (spec.scheme == ORX_SCHEME_FORGET_BIAS && b->part == 1)
		spec.scheme = ORX_SCHEME_ZEROS; /* Rb: the two sum to value */
	if (orx_scheme_is_scaling(spec.scheme) && !b->has_fans)
		return orx_plan_reason(e, mem,
				       "%s needs fans, which a %s has not",
				       orx_scheme_name(spec.scheme),
				       orx_role_name(e->pub.role));
	if (orx_init_resolve(&b->params, &spec, b->has_fans ? b->fan_in : 1,
			     hidden, dims, 2) != ORX_OK)
		return orx_plan_reason(e, mem, "gate %s: %s", b->gate,
				       orx_error_last());
	return ORX_OK;
}

/* A bias e's fans: its layer's weight's, in PyTorch's count (what
 * pytorch_bias divides by); else why it is kept. */
static int layer_fans(entry *e, orx_arena *mem, const char *file, unsigned line)
{
	if (e->pub.role != ORX_ROLE_BIAS || !e->layer || !e->layer->row)
		return orx_plan_reason(
			e, mem,
			"pytorch_bias (%s:%u) is for the bias of "
			"a Gemm, MatMul, Conv or ConvTranspose",
			file, line);
	if (orx_entry_fans(&e->pub.fan_in, &e->pub.fan_out, e->layer,
			   ORX_FANS_PYTORCH) != ORX_OK)
		return orx_plan_reason(e, mem, "its layer's fans unknown: %s",
				       orx_error_last());
	e->pub.has_fans = 1;
	return GO_ON;
}

/* Whether e's storage t cannot be rewritten (a segment, a dtype values
 * are not made in): then it is skipped with the reason (skip's result
 * returned); else GO_ON. */
static int unwritable(entry *e, orx_arena *mem, const Onnx__TensorProto *t)
{
	const char *dtype = orx_dtype_name(t->data_type);

	if (t->segment)
		return orx_plan_reason(
			e, mem,
			"a segment of a larger tensor is kept as it is");
	if (orx_dtype_is_float(t->data_type))
		return GO_ON;
	return orx_plan_reason(
		e, mem,
		e->pub.role == ORX_ROLE_WEIGHT
			? "dtype %s: a quantized weight's layout is not "
			  "known"
			: "dtype %s is not rewritten",
		dtype ? dtype : "unknown");
}

/* A recurrent layer's tensor e, stored as t: each block decided. */
static int decide_blocks(entry *e, orx_arena *mem, const orx_rules *rules,
			 const Onnx__TensorProto *t)
{
	size_t kept = 0;
	bool *whole;
	int rc;

	if ((rc = unwritable(e, mem, t)) != GO_ON)
		return rc;
	if (!(whole = orx_arena_alloc(mem, e->pub.n_blocks * sizeof(*whole))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t i = 0; i < e->pub.n_blocks; i++) {
		if ((rc = decide_block(e, mem, rules, &e->blocks[i],
				       &whole[i])) != ORX_OK ||
		    e->reason)
			return rc;
		kept += e->blocks[i].scheme == ORX_SCHEME_KEEP;
	}
	join_whole(e, mem, whole);
	if (kept == e->pub.n_blocks) {
		e->kept = true;
		return orx_plan_reason(e, mem, "kept by %s:%u",
				       e->blocks[0].rule_file,
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

/* Whether e, matched by rule a at file:line and stored as t, is kept
 * rather than rewritten: then it is skipped with the reason (skip's
 * result returned); else GO_ON. */
static int refuse(entry *e, orx_arena *mem, const orx_rule_action *a,
		  const char *file, unsigned line, const Onnx__TensorProto *t)
{
	if (a->spec.scheme == ORX_SCHEME_KEEP) {
		e->kept = true;
		return e->pub.found
			       ? orx_plan_reason(e, mem, "%s: kept by %s:%u",
						 e->pub.found, file, line)
			       : orx_plan_reason(e, mem, "kept by %s:%u", file,
						 line);
	}
	if (recurrent_only(a->spec.scheme))
		return orx_plan_reason(
			e, mem,
			"%s (%s:%u) is for the tensors of LSTM, GRU "
			"and RNN",
			orx_scheme_name(a->spec.scheme), file, line);
	if (e->quant || e->qbias)
		return GO_ON; /* quantized as drawn: quant.c */
	if (e->quantized)
		return orx_plan_reason(
			e, mem,
			"quantized %s (behind DequantizeLinear): not in a "
			"form the tool maps",
			orx_role_name(e->pub.role));
	return unwritable(e, mem, t);
}

/* The last layer of one of L residual branches without normalization
 * (in its graph), drawn in its scheme's distribution but to std
 * 1/sqrt(fan_in * L): the branch then adds 1/L of its input's variance
 * at each sum, so that after the L sums the variance has grown at most
 * (1 + 1/L)^L < e times (SkipInit, De and Smith 2020; Fixup's rescaling,
 * Zhang et al. 2019, which keeps every weight nonzero). The activation
 * after a sum acts on the sum, so the gain is 1; a projection on the
 * skip keeps its own scheme (He before a ReLU: the skip's variance). */
static void scale_residual(entry *e)
{
	orx_init_params *p = &e->pub.params;
	double target = 1 /
			sqrt((double)e->pub.fan_in * (double)e->residual_sums),
	       s = p->std > 0 ? target / p->std : 1;

	orx_init_params_scale(p, s);
	e->pub.residual_scale = s;
}

/* What the plan shows of e stored as t: its type and shape (as the layer
 * sees a quantized weight), and the residual sums it ends. */
static void describe(entry *e, const Onnx__TensorProto *t)
{
	e->pub.residual_sums = e->residual_sums;
	e->pub.residual_scale = 1;
	e->pub.input_gain = 1;
	e->pub.dtype = t->data_type;
	e->pub.ndim = t->n_dims;
	e->pub.dims = t->dims;
	if (e->quant) { /* the dequantized weight the layer sees */
		e->pub.dtype = e->quant->scale_dtype;
		e->pub.ndim = e->quant->ndim;
		e->pub.dims = e->quant->dims;
	} else if (e->qbias && e->layer && e->layer->quant) {
		e->pub.dtype = e->layer->quant->scale_dtype;
	}
}

int orx_plan_decide(entry *e, orx_arena *mem, const orx_rules *rules,
		    const Onnx__TensorProto *t)
{
	orx_rule_query q = {e->pub.op,	 unfused_of(e),	      e->pub.activation,
			    e->pub.role, e->pub.name,	      e->pub.graph,
			    NULL,	 e->residual_sums > 0};
	const orx_rule_action *a;
	orx_init_spec spec;
	const char *file;
	unsigned line;
	int rc;

	describe(e, t);
	if (e->reason) /* known when it was claimed */
		return ORX_OK;
	if (e->pub.n_blocks)
		return decide_blocks(e, mem, rules, t);
	if (orx_role_is_layer_weight(e->pub.role))
		fans_of(e, ORX_FANS_EXACT);
	if (e->layer && e->layer->reason)
		return orx_plan_reason(e, mem, "its layer's weight %s is kept",
				       e->layer->pub.name);
	if (!(a = orx_rules_match(rules, &q, &file, &line)))
		return orx_plan_reason(
			e, mem,
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
	if (spec.scheme == ORX_SCHEME_PYTORCH_BIAS &&
	    (rc = layer_fans(e, mem, file, line)) != GO_ON)
		return rc;
	if (orx_role_is_layer_weight(e->pub.role) &&
	    fans_of(e, a->fans) != ORX_OK && orx_scheme_is_scaling(spec.scheme))
		return orx_plan_reason(e, mem, "fans unknown: %s",
				       orx_error_last());
	if (orx_scheme_is_scaling(spec.scheme) && !e->pub.has_fans)
		return orx_plan_reason(e, mem,
				       "%s needs fans, which a %s has not",
				       orx_scheme_name(spec.scheme),
				       orx_role_name(e->pub.role));
	if (orx_init_resolve(&e->pub.params, &spec, e->pub.fan_in,
			     e->pub.fan_out, e->pub.dims,
			     e->pub.ndim) != ORX_OK)
		return orx_plan_reason(e, mem, "%s", orx_error_last());
	e->pub.scheme = spec.scheme;
	if (a->residual && e->residual_sums && e->pub.fan_in > 0)
		scale_residual(e);
	e->undo_gains = a->gains;
	e->decided = 1;
	return ORX_OK;
}
