/* A plan's entries: made for a claimed tensor, with the endings of its
 * walk and the names the plan shows. */
#include "entry.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int orx_plan_keep_branches(entry *e, orx_arena *mem, const orx_branch *br,
			   size_t n)
{
	orx_plan_branch *pub = orx_arena_alloc(mem, (n + 1) * sizeof(*pub));

	if (!pub)
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char **path = orx_arena_alloc(mem, (br[i].path_len + 1) *
								 sizeof(*path));
		if (!path)
			return orx_fail(ORX_ENOMEM, "out of memory");
		memcpy(path, br[i].path, br[i].path_len * sizeof(*path));
		pub[i].activation = br[i].kind == ORX_BRANCH_OPAQUE
					    ? "none"
					    : br[i].activation;
		pub[i].path = path;
		pub[i].path_len = br[i].path_len;
	}
	e->pub.n_branches = n;
	e->pub.branches = pub;
	e->pub.activation = n ? pub[0].activation : "none";
	e->pub.path = n ? pub[0].path : NULL;
	e->pub.path_len = n ? pub[0].path_len : 0;
	e->alpha = n && br[0].kind == ORX_BRANCH_ACTIVATION ? br[0].alpha : NAN;
	e->normalized = n && br[0].normalized;
	e->last = n > 0;
	for (size_t i = 0; i < n; i++)
		e->last &= br[i].final;
	return ORX_OK;
}

int orx_plan_see(entry *e, orx_arena *mem, const int64_t *dims, size_t ndim)
{
	int64_t *seen = orx_arena_alloc(mem, (ndim ? ndim : 1) * sizeof(*seen));

	if (!seen)
		return orx_fail(ORX_ENOMEM, "out of memory");
	if (ndim)
		memcpy(seen, dims, ndim * sizeof(*seen));
	e->seen = seen;
	e->seen_ndim = ndim;
	return ORX_OK;
}

const char *orx_plan_op_name(orx_arena *mem, const orx_op *op)
{
	char buf[160];
	const char *name = orx_op_name(op, buf, sizeof(buf));

	return name == buf ? orx_arena_strdup(mem, buf) : name;
}

int orx_plan_reason(entry *e, orx_arena *mem, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (!(e->reason = orx_arena_strdup(mem, reason)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	return ORX_OK;
}

const char *orx_plan_node_label(orx_plan_ctx *c, int n)
{
	const Onnx__NodeProto *nd = c->g->node[n];

	return nd->name && nd->name[0] ? nd->name
				       : orx_arena_printf(c->plan->mem, "%s_%d",
							  nd->op_type, n);
}

int orx_plan_new_entry(entry **out, orx_plan_ctx *c, int node, int slot,
		       orx_role role, int init)
{
	const Onnx__NodeProto *nd = node >= 0 ? c->g->node[node] : NULL;
	entry *e;

	if (!(e = c->plan->e[init] = orx_arena_alloc(c->plan->mem, sizeof(*e))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	memset(e, 0, sizeof(*e));
	e->pub.tensor = (size_t)init;
	e->pub.name = orx_value_name(c->model, (size_t)init);
	e->row = nd ? orx_op_of(c->gr, node) : NULL;
	e->pub.op = !nd	      ? ""
		    : !e->row ? nd->op_type
			      : orx_plan_op_name(c->plan->mem, e->row);
	e->pub.role = role;
	e->node_index = node;
	e->input = slot;
	e->constant = orx_value_is_constant(c->model, (size_t)init);
	e->body = orx_value_in_body(c->model, (size_t)init);
	e->gr = c->gr;
	e->pub.graph = c->model->graphs[c->model->values[init].graph].path;
	e->pub.storage = e->constant ? "constant" : "initializer";
	e->quant_after = -1;
	if (!e->pub.op ||
	    !(e->pub.node = nd ? orx_plan_node_label(c, node) : ""))
		return orx_fail(ORX_ENOMEM, "out of memory");
	*out = e;
	return ORX_OK;
}

const char *orx_plan_node_where(orx_plan_ctx *c, int node)
{
	const char *label = orx_plan_node_label(c, node);
	int id = orx_graph_id(c->gr);

	/* a body's node is named within the body's path */
	return label && id ? orx_arena_printf(c->plan->mem, "%s/%s",
					      c->model->graphs[id].path, label)
			   : label;
}

entry **orx_plan_weights_by_node(const orx_plan *plan)
{
	entry **w = calloc(plan->n_nodes + 1, sizeof(*w));

	for (size_t i = 0; w && i < plan->n_init; i++) {
		entry *e = plan->e[i];
		size_t at;
		if (!e || !e->gr || e->node_index < 0 ||
		    e->pub.role != ORX_ROLE_WEIGHT)
			continue;
		at = orx_graph_node_base(e->gr) + (size_t)e->node_index;
		if (!w[at])
			w[at] = e;
	}
	return w;
}
