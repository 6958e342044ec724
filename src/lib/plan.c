/* The planner: every tensor's role, the activation downstream of its
 * layer, the rule that decides, and the resolved distribution. The jobs
 * are in files of their own: claiming (claim.c, roles.c, recurrent.c),
 * deciding (decide.c), the run order (order.c), the lists (skips.c),
 * applying (apply.c). */
#include "plan.h"
#include "claim.h"
#include "decide.h"
#include "fixed.h"
#include "gains.h"
#include "order.h"
#include "qclaim.h"
#include "recurrent.h"
#include "residual.h"
#include "roles.h"
#include "skips.h"

#include <stdlib.h>
#include <string.h>

/* The claiming goes over a graph's nodes in stages: the structural
 * parameters that come first (embedding tables: one tied to an output
 * projection is an embedding), the layers (weighted and recurrent, in
 * node order), the normalizations' parameters and the buffers, the other
 * structural parameters. */
enum { FIRST_PARAMS, LAYERS, NORMALIZATIONS, PARAMS, STAGES };

/* Node n of c's graph (its row op) at a stage. */
static int claim_at(orx_plan_ctx *c, int n, const orx_op *op, int stage)
{
	bool params = op->params != ORX_PARAMS_NONE;
	int rc;

	switch (stage) {
	case FIRST_PARAMS:
		rc = params && op->params_first ? orx_roles_claim(c, n, op)
						: ORX_OK;
		return rc == ORX_OK ? orx_claim_inputs(c, n, op, true) : rc;
	case LAYERS:
		return op->skip_reason ? orx_claim_refused(c, n, op)
		       : op->cls == ORX_OP_WEIGHTED ? orx_claim_layer(c, n, op)
		       : op->cls == ORX_OP_RECURRENT
			       ? orx_claim_recurrent(c, n, op)
			       : ORX_OK;
	case NORMALIZATIONS: return orx_claim_inputs(c, n, op, false);
	default:
		rc = params && !op->params_first ? orx_roles_claim(c, n, op)
						 : ORX_OK;
		return rc == ORX_OK ? orx_claim_quant_params(c, n, op) : rc;
	}
}

static int claim_graph(orx_plan *plan, const orx_model *model, size_t k)
{
	orx_plan_ctx c = {plan, model, plan->graphs[k], model->graphs[k].g};
	int rc = ORX_OK;

	for (int stage = 0; stage < STAGES; stage++)
		for (size_t n = 0; n < c.g->n_node && rc == ORX_OK; n++) {
			const orx_op *op = orx_op_of(c.gr, (int)n);
			if (op)
				rc = claim_at(&c, (int)n, op, stage);
		}
	return rc;
}

/* Index every graph of the model, each knowing the graph around it and
 * the opsets its nodes are read at. */
static int index_graphs(orx_plan *plan, const orx_model *model)
{
	const Onnx__ModelProto *m = model->proto;

	if (!(plan->graphs =
		      calloc(model->n_graphs + 1, sizeof(*plan->graphs))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t k = 0; k < model->n_graphs; k++) {
		const orx_graph_ref *r = &model->graphs[k];
		int rc = orx_graph_build(&plan->graphs[k], r->g,
					 m->opset_import, m->n_opset_import);
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

/* Claim every graph's tensors (the main graph first: the first user of a
 * tensor decides), then decide them: weights first, since a bias follows
 * its weight. */
static int plan_graph(orx_plan *plan, const orx_rules *rules,
		      const orx_model *model)
{
	int rc = index_graphs(plan, model);

	for (size_t k = 0; k < model->n_graphs && rc == ORX_OK; k++)
		rc = claim_graph(plan, model, k);
	if (rc == ORX_OK)
		rc = orx_claim_others(plan, model);
	if (rc == ORX_OK)
		rc = orx_plan_fixed_transforms(plan, model);
	if (rc == ORX_OK)
		rc = orx_plan_residual_branches(plan);
	for (int weights = 1; weights >= 0; weights--)
		for (size_t i = 0; i < plan->n_init && rc == ORX_OK; i++)
			if (plan->e[i] &&
			    orx_role_is_layer_weight(plan->e[i]->pub.role) ==
				    weights)
				rc = orx_plan_decide(
					plan->e[i], plan->mem, rules,
					orx_value_tensor(model, i));
	if (rc == ORX_OK)
		rc = orx_plan_input_gains(plan);
	if (rc == ORX_OK)
		rc = orx_plan_order(plan, model);
	return rc == ORX_OK ? orx_plan_collect(plan, model) : rc;
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

/* Tensor i of model is called name. */
static bool named(const orx_model *model, size_t i, const char *name)
{
	const char *have =
		i < orx_value_count(model) ? orx_value_name(model, i) : NULL;

	return have && name && !strcmp(have, name);
}

int orx_plan_item_read(double *out, size_t n, const orx_model *model,
		       const orx_plan_item *it)
{
	const entry *e = (const entry *)it; /* pub is its first member */
	double saturated;
	size_t i;
	int rc;

	if (!e->quant) {
		if ((rc = orx_model_find_tensor(&i, model, it->name)) != ORX_OK)
			return rc;
		return orx_tensor_read(out, n, model, i);
	}
	if (!named(model, e->quant->codes, it->name) ||
	    !named(model, e->quant->scale, it->quantized->scale))
		return orx_fail(ORX_EINVALID, "no quantized weight '%s' here",
				it->name);
	return orx_quant_read(out, n, &saturated, model, e->quant);
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
