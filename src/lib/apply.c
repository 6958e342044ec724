/* Applying a plan: every item's values drawn into its tensor, a
 * recurrent tensor's gate blocks each from its own stream. */
#include "plan.h"

int orx_plan_apply(orx_model *model, const orx_plan *plan, uint64_t seed)
{
	int rc = ORX_OK;

	for (size_t i = 0; i < plan->n_items && rc == ORX_OK; i++) {
		const orx_plan_item *it = &plan->e[plan->items[i]]->pub;
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
