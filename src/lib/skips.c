/* The tensors the plan leaves as they are, each with the reason: those
 * claimed and kept, the unclaimed float tensors, the sparse ones. */
#define _GNU_SOURCE
#include "skips.h"

#include <stdio.h>
#include <stdlib.h>

/* A name made for the skipped list, freed with the plan. */
static int own_name(orx_plan *plan, char *name)
{
	char **all = orx_room(plan->owned, &plan->cap_owned, plan->n_owned,
			      sizeof(*all));

	if (!all) {
		free(name);
		return ORX_ENOMEM;
	}
	plan->owned = all;
	all[plan->n_owned++] = name;
	return ORX_OK;
}

/* Whether an unclaimed value is listed as left alone: every initializer;
 * a Constant's tensor only when it could be a parameter (a float tensor
 * of more than one element), not the shapes, axes and scalars that fill
 * exported graphs. */
static bool listed(const orx_model *model, size_t i)
{
	return !orx_value_is_constant(model, i) ||
	       orx_value_may_be_parameter(model, i);
}

int orx_plan_skip_reserve(orx_plan *plan, size_t more)
{
	orx_plan_skip *all;

	if (plan->cap_skips - plan->n_skips >= more)
		return ORX_OK;
	if (!(all = realloc(plan->skips,
			    (plan->n_skips + more + 1) * sizeof(*all))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	plan->skips = all;
	plan->cap_skips = plan->n_skips + more + 1;
	return ORX_OK;
}

int orx_plan_skip_add(orx_plan *plan, orx_plan_skip s)
{
	orx_plan_skip *all = orx_room(plan->skips, &plan->cap_skips,
				      plan->n_skips, sizeof(*all));

	if (!all)
		return ORX_ENOMEM;
	plan->skips = all;
	all[plan->n_skips++] = s;
	return ORX_OK;
}

/* The sparse tensors of every graph (sparse_initializer, or a Constant's
 * sparse_value), named as the graph's other tensors are: listed as left
 * alone. */
static int list_sparse(orx_plan *plan, const orx_model *model)
{
	static const char reason[] = "a sparse tensor is not rewritten";
	int rc;

	for (size_t k = 0; k < model->n_graphs; k++) {
		const Onnx__GraphProto *g = model->graphs[k].g;
		for (size_t i = 0; i < g->n_sparse_initializer + g->n_node;
		     i++) {
			const Onnx__SparseTensorProto *sp = NULL;
			const char *own = NULL;
			char *name = NULL;
			if (i < g->n_sparse_initializer) {
				sp = g->sparse_initializer[i];
				own = sp->values && sp->values->name
					      ? sp->values->name
					      : "";
			} else {
				const Onnx__NodeProto *nd =
					g->node[i - g->n_sparse_initializer];
				for (size_t a = 0; orx_op_is_constant(nd) &&
						   a < nd->n_attribute;
				     a++)
					if (nd->attribute[a]->sparse_tensor)
						sp = nd->attribute[a]
							     ->sparse_tensor;
				own = nd->output[0];
			}
			if (!sp)
				continue;
			if (k > 0 && asprintf(&name, "%s/%s",
					      model->graphs[k].path, own) < 0)
				return orx_fail(ORX_ENOMEM, "out of memory");
			if (name && (rc = own_name(plan, name)) != ORX_OK)
				return rc;
			if ((rc = orx_plan_skip_add(
				     plan,
				     (orx_plan_skip){name ? name : own, reason,
						     SIZE_MAX, 0})) != ORX_OK)
				return rc;
		}
	}
	return ORX_OK;
}

int orx_plan_collect(orx_plan *plan, const orx_model *model)
{
	static const char unclaimed[] = "not consumed by a weighted op or a "
					"normalization";
	int rc = ORX_OK;

	if (!(plan->items = malloc((plan->n_init + 1) * sizeof(size_t))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t i = 0; i < plan->n_init && rc == ORX_OK; i++) {
		entry *e = plan->e[i];
		if (e && e->decided)
			plan->items[plan->n_items++] = i;
		else if (e)
			rc = orx_plan_skip_add(
				plan, (orx_plan_skip){e->pub.name, e->reason, i,
						      e->kept});
		else if (listed(model, i))
			rc = orx_plan_skip_add(
				plan, (orx_plan_skip){orx_value_name(model, i),
						      unclaimed, i, 0});
	}
	return rc == ORX_OK ? list_sparse(plan, model) : rc;
}

int orx_plan_skip_is_leftover(const orx_model *model, const orx_plan_skip *s,
			      uint64_t *values)
{
	const Onnx__TensorProto *t;

	*values = 0;
	if (s->kept)
		return 0;
	if (s->tensor == SIZE_MAX)
		return 1; /* a sparse tensor: never rewritten, never kept */
	t = orx_value_tensor(model, s->tensor);
	orx_tensor_proto_count(values, t);
	return *values > 1 && orx_dtype_is_float(t->data_type);
}
