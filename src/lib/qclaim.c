/* Quantized weights and biases claimed for the plan: the form qform.c
 * finds, checked and kept with the entry, as the plan shows it. */
#include "qclaim.h"
#include "entry.h"
#include "qform.h"

#include <string.h>

/* ONNX Runtime's quantizers name a weight's codes after the float
 * weight, with one of these suffixes. */
static const char *const twin_suffixes[] = {"_quantized", "_Q2", "_Q4", "_Q8"};

/* The name of name's float twin (in mem when made; NULL out of it). */
static const char *twin_name(orx_arena *mem, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(twin_suffixes) / sizeof(*twin_suffixes);
	     i++) {
		size_t k = strlen(twin_suffixes[i]);
		if (n > k && !strcmp(name + n - k, twin_suffixes[i]))
			return orx_arena_printf(mem, "%.*s", (int)(n - k),
						name);
	}
	return name;
}

static const char *granularity_name(orx_qgranularity g)
{
	return g == ORX_QGRAN_TENSOR ? "per_tensor"
	       : g == ORX_QGRAN_AXIS ? "per_axis"
				     : "per_block";
}

/* The codes' type as the plan names it: packed ones by their bits. */
static const char *codes_name(orx_arena *mem, const orx_quant *q)
{
	if (q->pack == ORX_QPACK_FLAT || q->bits == 8)
		return orx_dtype_name(q->code_dtype);
	return orx_arena_printf(mem, "%s%u", q->is_signed ? "int" : "uint",
				q->bits);
}

static int publish(entry *e, orx_plan_ctx *c, const orx_quant *q, bool sym)
{
	orx_arena *mem = c->plan->mem;
	orx_plan_quant *pq = orx_arena_alloc(mem, sizeof(*pq));

	if (!pq)
		return orx_fail(ORX_ENOMEM, "out of memory");
	*pq = (orx_plan_quant){codes_name(mem, q),
			       q->bits,
			       granularity_name(q->gran),
			       q->gran == ORX_QGRAN_TENSOR ? -1 : q->axis,
			       q->gran == ORX_QGRAN_BLOCK ? q->block : 0,
			       sym,
			       q->scale == SIZE_MAX /* the op scales a bias */
				       ? NULL
				       : orx_value_name(c->model, q->scale),
			       q->zero_form == ORX_QZERO_NONE || q->zero_fixed
				       ? NULL
				       : orx_value_name(c->model, q->zero),
			       twin_name(mem, e->pub.name)};
	e->pub.quantized = pq;
	return pq->dtype && pq->stream ? ORX_OK
				       : orx_fail(ORX_ENOMEM, "out of memory");
}

/* Tensor v (SIZE_MAX: none), if unclaimed, listed as left as it is for
 * reason: kept, or rewritten with its weight; never a leftover. */
static int claim_with(orx_plan_ctx *c, size_t v, const char *reason)
{
	entry *e;
	int rc;

	if (v == SIZE_MAX || c->plan->e[v])
		return ORX_OK;
	if ((rc = orx_plan_new_entry(&e, c, -1, -1, ORX_ROLE_BUFFER, (int)v)) !=
	    ORX_OK)
		return rc;
	e->reason = reason;
	e->kept = true;
	return reason ? orx_plan_keep_branches(e, c->plan->mem, NULL, 0)
		      : orx_fail(ORX_ENOMEM, "out of memory");
}

/* A quantized weight's scales and zero points: rewritten with it. */
static int claim_scales(orx_plan_ctx *c, const entry *e, size_t scale,
			size_t zero)
{
	const char *why = orx_arena_printf(c->plan->mem,
					   "rewritten with the quantized "
					   "weight %s",
					   e->pub.name);
	int rc = claim_with(c, scale, why);

	return rc == ORX_OK ? claim_with(c, zero, why) : rc;
}

int orx_claim_quant_params(orx_plan_ctx *c, int node, const orx_op *op)
{
	static const char why[] = "a scale or zero point of the signal: kept "
				  "(calibrated on the old weights)";
	int rc = ORX_OK;

	for (size_t k = 0; k < ORX_OP_INPUTS && rc == ORX_OK; k++) {
		orx_input_kind kind = orx_op_input(op, k);
		orx_trace tr;
		int v;
		if ((kind != ORX_IN_W_SCALE && kind != ORX_IN_W_ZERO &&
		     kind != ORX_IN_X_SCALE && kind != ORX_IN_X_ZERO &&
		     kind != ORX_IN_Y_SCALE && kind != ORX_IN_Y_ZERO) ||
		    k >= c->g->node[node]->n_input ||
		    !c->g->node[node]->input[k][0] ||
		    orx_graph_trace(&tr, c->gr, node, k) != 0)
			continue;
		v = orx_value_of_constant(c->model, tr.graph, tr.init,
					  tr.constant_node);
		if (v >= 0)
			rc = claim_with(c, (size_t)v, why);
	}
	return rc;
}

int orx_claim_quantized(orx_plan_ctx *c, entry *e, int node,
			const orx_trace *tr)
{
	const orx_op *op = orx_op_of(c->gr, node);
	orx_qweight w;
	bool sym;
	int rc;

	if (!op || (!tr->quantized && op->qlayout == ORX_QLAYOUT_NONE) ||
	    (e->pub.role != ORX_ROLE_WEIGHT &&
	     e->pub.role != ORX_ROLE_EMBEDDING))
		return ORX_OK;
	if ((rc = orx_qform_weight(&w, c->model, c->gr, node, op, tr)) !=
	    ORX_OK)
		return rc;
	if (w.skip) {
		e->reason = w.skip;
		return ORX_OK;
	}
	if (!w.is)
		return ORX_OK;
	if ((rc = orx_quant_check(&sym, c->model, &w.q)) != ORX_OK)
		return rc;
	if (!(e->quant = orx_arena_alloc(c->plan->mem, sizeof(w.q))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	*e->quant = w.q;
	e->quant_after = w.after;
	if (w.q.pack != ORX_QPACK_FLAT && /* the layer sees the twin */
	    (rc = orx_plan_see(e, c->plan->mem, w.q.dims, w.q.ndim)) != ORX_OK)
		return rc;
	if ((rc = publish(e, c, &w.q, sym)) != ORX_OK)
		return rc;
	return claim_scales(c, e, w.q.scale,
			    w.q.zero_fixed ? SIZE_MAX : w.q.zero);
}

int orx_claim_quantized_bias(orx_plan_ctx *c, entry *b, const entry *w,
			     int node, int slot)
{
	orx_trace tr;
	orx_qbias qb;
	orx_quant as = {0};
	bool is;
	int rc;

	if (!w->quant || orx_graph_trace(&tr, c->gr, node, (size_t)slot) != 0)
		return ORX_OK;
	if ((rc = orx_qform_bias(&qb, &is, c->model, c->gr, node, w->row, &tr,
				 w->quant)) != ORX_OK ||
	    !is)
		return rc;
	if (!(b->qbias = orx_arena_alloc(c->plan->mem, sizeof(qb))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	*b->qbias = qb;
	as.code_dtype = ORX_DTYPE_INT32, as.bits = 32, as.is_signed = true;
	as.gran = w->quant->gran == ORX_QGRAN_TENSOR ? ORX_QGRAN_TENSOR
						     : ORX_QGRAN_AXIS;
	as.scale = qb.bias_scale, as.zero_form = ORX_QZERO_NONE;
	if ((rc = publish(b, c, &as, true)) != ORX_OK)
		return rc;
	return claim_scales(c, b, qb.bias_scale, SIZE_MAX);
}
