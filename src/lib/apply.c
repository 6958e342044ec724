/* Applying a plan: every item's values drawn into its tensor, a
 * recurrent tensor's gate blocks each from its own stream. */
#include "plan.h"

#include <stdlib.h>

/* A quantized weight's or bias's values: drawn from the stream its float
 * twin would use, then quantized (its bias after it: its scale is the
 * weight's new one times its input's). */
static int apply_quantized(orx_model *model, const entry *e, uint64_t seed,
			   orx_quant_scratch *scratch)
{
	const orx_plan_item *it = &e->pub;
	uint64_t key = orx_stream_key(seed, it->quantized->stream);

	return e->quant ? orx_quant_apply(model, e->quant, &it->params, key,
					  scratch)
			: orx_quant_apply_bias(model, e->qbias, &it->params,
					       key);
}

/* Quantized weight item i and those after it that share its scales,
 * quantized together (their scales made from all of them); done marks
 * them. */
static int apply_sharing(orx_model *model, const orx_plan *plan, size_t i,
			 bool *done, uint64_t seed, orx_quant_scratch *scratch)
{
	const entry *e = plan->e[plan->items[i]];
	size_t n = 0, cap = plan->n_items - i;
	const orx_quant **qs = malloc(cap * sizeof(*qs));
	const orx_init_params **ps = malloc(cap * sizeof(*ps));
	uint64_t *keys = malloc(cap * sizeof(*keys));
	int rc = qs && ps && keys ? ORX_OK
				  : orx_fail(ORX_ENOMEM, "out of memory");

	for (size_t j = i; j < plan->n_items && rc == ORX_OK; j++) {
		const entry *f = plan->e[plan->items[j]];
		if (!f->quant || f->quant->scale != e->quant->scale)
			continue;
		done[j] = true;
		qs[n] = f->quant;
		ps[n] = &f->pub.params;
		keys[n++] = orx_stream_key(seed, f->pub.quantized->stream);
	}
	if (rc == ORX_OK)
		rc = n == 1 ? apply_quantized(model, e, seed, scratch)
			    : orx_quant_apply_shared(model, qs, ps, keys, n);
	free(qs);
	free(ps);
	free(keys);
	return rc;
}

int orx_plan_apply(orx_model *model, const orx_plan *plan, uint64_t seed)
{
	bool *done = calloc(plan->n_items + 1, sizeof(bool));
	orx_quant_scratch scratch = {0};
	int rc = done ? ORX_OK : orx_fail(ORX_ENOMEM, "out of memory");

	for (size_t i = 0; i < plan->n_items && rc == ORX_OK; i++)
		if (plan->e[plan->items[i]]->quant && !done[i])
			rc = apply_sharing(model, plan, i, done, seed,
					   &scratch);
	free(done);
	orx_quant_scratch_free(&scratch);
	for (size_t i = 0; i < plan->n_items && rc == ORX_OK; i++)
		if (plan->e[plan->items[i]]->qbias) /* after their weights */
			rc = apply_quantized(model, plan->e[plan->items[i]],
					     seed, NULL);
	for (size_t i = 0; i < plan->n_items && rc == ORX_OK; i++) {
		const entry *e = plan->e[plan->items[i]];
		const orx_plan_item *it = &e->pub;
		if (e->quant || e->qbias)
			continue;
		if (!it->n_blocks)
			rc = orx_tensor_init(model, it->tensor, &it->params,
					     orx_stream_key(seed, it->name));
		for (size_t k = 0; k < it->n_blocks && rc == ORX_OK; k++) {
			const orx_plan_block *b = &it->blocks[k];
			rc = orx_tensor_init_block(
				model, it->tensor, b->first, b->rows, b->cols,
				b->stride, &b->params,
				orx_stream_key(seed, b->stream));
		}
	}
	return rc;
}
