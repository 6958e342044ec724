/* What a model must be before any later stage reads it: every stage may
 * then rely on a node having an op_type and at least one output (an
 * omitted optional one is ""), on every tensor's data agreeing with its
 * dims, and on the model's size being within the open options' limits. */
#include "internal.h"

typedef struct {
	const orx_open_options *opts;
	size_t nodes, graphs, names;
} tally;

static int check_tensor(const Onnx__TensorProto *t, void *ctx)
{
	(void)ctx;
	return orx_tensor_proto_validate(t);
}

/* Count n more names, refused past the limit. */
static int add_names(tally *c, size_t n)
{
	c->names += n;
	if (c->names > c->opts->max_names)
		return orx_fail(ORX_EINVALID, "more than %zu value names: "
					      "the model is too large",
				c->opts->max_names);
	return ORX_OK;
}

static int check_graph(const Onnx__GraphProto *g, void *ctx)
{
	tally *c = ctx;

	if (++c->graphs > c->opts->max_graphs)
		return orx_fail(ORX_EINVALID, "more than %zu graphs (the main "
					      "graph and bodies): the model "
					      "is too large",
				c->opts->max_graphs);
	return add_names(c, g->n_input + g->n_output + g->n_initializer);
}

static int check_node(const Onnx__NodeProto *node, const orx_node_owner *owner,
		      size_t index, void *ctx)
{
	tally *c = ctx;
	const char *kind = owner->graph ? "graph" : "function";
	const char *where = owner->graph ? owner->graph->name
					 : owner->function->name;

	if (++c->nodes > c->opts->max_nodes)
		return orx_fail(ORX_EINVALID, "more than %zu nodes: the model "
					      "is too large",
				c->opts->max_nodes);
	if (!node->op_type || !node->op_type[0])
		return orx_fail(ORX_EINVALID, "%s '%s': node %zu has no "
					      "op_type",
				kind, where ? where : "", index);
	if (node->n_output == 0)
		return orx_fail(ORX_EINVALID, "%s '%s': node %zu (%s) has no "
					      "outputs",
				kind, where ? where : "", index, node->op_type);
	return add_names(c, node->n_input + node->n_output);
}

int orx_model_validate(const Onnx__ModelProto *m,
		       const orx_open_options *opts)
{
	tally c = {opts, 0, 0, 0};
	orx_visitor v = {check_tensor, check_graph, check_node, &c};

	if (!m->has_ir_version || m->ir_version < 1)
		return orx_fail(ORX_EINVALID, "not an ONNX model: no "
					      "ir_version");
	if (!m->graph)
		return orx_fail(ORX_EINVALID, "not an ONNX model: no graph");
	return orx_walk(m, &v);
}
