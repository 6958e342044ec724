/* Applying a plan: every item's values drawn into its tensor, a
 * recurrent tensor's gate blocks each from its own stream. */
#include "plan.h"

/* A quantized weight's or bias's values: drawn from the stream its float
 * twin would use, then quantized (its bias after it: its scale is the
 * weight's new one times its input's). */
static int apply_quantized(orx_model *model, const entry *e, uint64_t seed)
{
	const orx_plan_item *it = &e->pub;
	uint64_t key = orx_stream_key(seed, it->quantized->stream);

	return e->quant ? orx_quant_apply(model, e->quant, &it->params, key)
			: orx_quant_apply_bias(model, e->qbias, &it->params,
					       key);
}

int orx_plan_apply(orx_model *model, const orx_plan *plan, uint64_t seed)
{
	int rc = ORX_OK;

	for (int pass = 0; pass < 2 && rc == ORX_OK; pass++)
		for (size_t i = 0; i < plan->n_items && rc == ORX_OK; i++) {
			const entry *e = plan->e[plan->items[i]];
			if ((e->qbias != NULL) == (pass == 1) &&
			    (e->quant || e->qbias))
				rc = apply_quantized(model, e, seed);
		}
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
