/* What a model must be before any later stage reads it: every stage may
 * then rely on a node having an op_type and at least one output (an
 * omitted optional one is ""), on every tensor's data agreeing with its
 * dims, on the model's size being within the open options' limits, and
 * on every name a body uses being defined in it or in a graph around it
 * (ONNX's scoping: the body first, then outward). */
#include "graph.h"

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
		return orx_fail(ORX_EINVALID,
				"more than %zu value names: "
				"the model is too large",
				c->opts->max_names);
	return ORX_OK;
}

static int check_graph(const Onnx__GraphProto *g, void *ctx)
{
	tally *c = ctx;

	if (++c->graphs > c->opts->max_graphs)
		return orx_fail(ORX_EINVALID,
				"more than %zu graphs (the main "
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
	const char *where =
		owner->graph ? owner->graph->name : owner->function->name;

	if (++c->nodes > c->opts->max_nodes)
		return orx_fail(ORX_EINVALID,
				"more than %zu nodes: the model "
				"is too large",
				c->opts->max_nodes);
	if (!node->op_type || !node->op_type[0])
		return orx_fail(ORX_EINVALID,
				"%s '%s': node %zu has no "
				"op_type",
				kind, where ? where : "", index);
	if (node->n_output == 0)
		return orx_fail(ORX_EINVALID,
				"%s '%s': node %zu (%s) has no "
				"outputs",
				kind, where ? where : "", index, node->op_type);
	return add_names(c, node->n_input + node->n_output);
}

/*** @@SCOPES: the names bodies use ***/

/* A graph's index and the scope around it (NULL for the main graph). */
typedef struct scope {
	const orx_graph *index;
	const struct scope *outer;
} scope;

static bool visible(const scope *s, const char *name)
{
	for (; s; s = s->outer)
		if (orx_graph_defines(s->index, name))
			return true;
	return false;
}

static bool has_bodies(const Onnx__GraphProto *g)
{
	for (size_t i = 0; i < g->n_node; i++)
		for (size_t k = 0; k < g->node[i]->n_attribute; k++)
			if (g->node[i]->attribute[k]->g ||
			    g->node[i]->attribute[k]->n_graphs)
				return true;
	return false;
}

static int check_scopes(const Onnx__GraphProto *g, const scope *outer);

/* The bodies in node's attributes, each inside scope s. */
static int check_node_bodies(const Onnx__NodeProto *node, const scope *s)
{
	int rc = ORX_OK;

	for (size_t k = 0; k < node->n_attribute && rc == ORX_OK; k++) {
		const Onnx__AttributeProto *a = node->attribute[k];
		if (a->g)
			rc = check_scopes(a->g, s);
		for (size_t j = 0; j < a->n_graphs && rc == ORX_OK; j++)
			rc = check_scopes(a->graphs[j], s);
	}
	return rc;
}

/* Every name a node of body g uses resolves in g or outward; the same for
 * the bodies inside it. A graph without bodies that is no body itself
 * (most models' main graph) is not indexed. */
static int check_scopes(const Onnx__GraphProto *g, const scope *outer)
{
	orx_graph *index = NULL;
	scope here = {NULL, outer};
	int rc;

	if (!outer && !has_bodies(g))
		return ORX_OK;
	if ((rc = orx_graph_build(&index, g, NULL, 0)) != ORX_OK)
		return rc;
	here.index = index;
	for (size_t i = 0; i < g->n_node && rc == ORX_OK; i++) {
		const Onnx__NodeProto *node = g->node[i];
		for (size_t k = 0; outer && k < node->n_input && rc == ORX_OK;
		     k++)
			if (node->input[k][0] &&
			    !visible(&here, node->input[k]))
				rc = orx_fail(ORX_EINVALID,
					      "graph '%s': node %zu "
					      "(%s) uses '%s', "
					      "which neither it "
					      "nor a graph around "
					      "it defines",
					      g->name ? g->name : "", i,
					      node->op_type, node->input[k]);
		if (rc == ORX_OK)
			rc = check_node_bodies(node, &here);
	}
	orx_graph_free(index);
	return rc;
}

int orx_model_validate(const Onnx__ModelProto *m, const orx_open_options *opts)
{
	tally c = {opts, 0, 0, 0};
	orx_visitor v = {check_tensor, check_graph, check_node, &c};
	int rc;

	if (!m->has_ir_version || m->ir_version < 1)
		return orx_fail(ORX_EINVALID, "not an ONNX model: no "
					      "ir_version");
	if (!m->graph)
		return orx_fail(ORX_EINVALID, "not an ONNX model: no graph");
	if ((rc = orx_visit(m, &v)) != ORX_OK)
		return rc;
	return check_scopes(m->graph, NULL);
}
