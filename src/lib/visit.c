/* Visiting every graph, node and TensorProto of a model, wherever it
 * sits: the main graph, bodies in attributes at any depth, functions and
 * training graphs. The wire scan bounds the nesting before this runs. */
#include "internal.h"

static int visit_graph(const Onnx__GraphProto *g, const orx_visitor *v);
static int visit_attribute(const Onnx__AttributeProto *a, const orx_visitor *v);

static int visit_tensor(const Onnx__TensorProto *t, const orx_visitor *v)
{
	return v->tensor ? v->tensor(t, v->ctx) : ORX_OK;
}

static int visit_sparse(const Onnx__SparseTensorProto *s, const orx_visitor *v)
{
	int rc = ORX_OK;

	if (s->values)
		rc = visit_tensor(s->values, v);
	if (rc == ORX_OK && s->indices)
		rc = visit_tensor(s->indices, v);
	return rc;
}

/* The nodes of owner (a graph or a function), each with its attributes. */
static int visit_nodes(Onnx__NodeProto *const *nodes, size_t n,
		       const orx_node_owner *owner, const orx_visitor *v)
{
	int rc = ORX_OK;

	for (size_t i = 0; i < n && rc == ORX_OK; i++) {
		if (v->node)
			rc = v->node(nodes[i], owner, i, v->ctx);
		for (size_t k = 0; k < nodes[i]->n_attribute && rc == ORX_OK;
		     k++)
			rc = visit_attribute(nodes[i]->attribute[k], v);
	}
	return rc;
}

static int visit_attribute(const Onnx__AttributeProto *a, const orx_visitor *v)
{
	int rc = ORX_OK;

	if (a->t)
		rc = visit_tensor(a->t, v);
	if (rc == ORX_OK && a->g)
		rc = visit_graph(a->g, v);
	if (rc == ORX_OK && a->sparse_tensor)
		rc = visit_sparse(a->sparse_tensor, v);
	for (size_t i = 0; i < a->n_tensors && rc == ORX_OK; i++)
		rc = visit_tensor(a->tensors[i], v);
	for (size_t i = 0; i < a->n_graphs && rc == ORX_OK; i++)
		rc = visit_graph(a->graphs[i], v);
	for (size_t i = 0; i < a->n_sparse_tensors && rc == ORX_OK; i++)
		rc = visit_sparse(a->sparse_tensors[i], v);
	return rc;
}

static int visit_graph(const Onnx__GraphProto *g, const orx_visitor *v)
{
	orx_node_owner owner = {g, NULL};
	int rc = v->graph ? v->graph(g, v->ctx) : ORX_OK;

	for (size_t i = 0; i < g->n_initializer && rc == ORX_OK; i++)
		rc = visit_tensor(g->initializer[i], v);
	for (size_t i = 0; i < g->n_sparse_initializer && rc == ORX_OK; i++)
		rc = visit_sparse(g->sparse_initializer[i], v);
	if (rc == ORX_OK)
		rc = visit_nodes(g->node, g->n_node, &owner, v);
	return rc;
}

int orx_visit(const Onnx__ModelProto *m, const orx_visitor *v)
{
	int rc = ORX_OK;

	if (m->graph)
		rc = visit_graph(m->graph, v);
	for (size_t i = 0; i < m->n_functions && rc == ORX_OK; i++) {
		const Onnx__FunctionProto *f = m->functions[i];
		orx_node_owner owner = {NULL, f};
		rc = visit_nodes(f->node, f->n_node, &owner, v);
		for (size_t k = 0; k < f->n_attribute_proto && rc == ORX_OK;
		     k++)
			rc = visit_attribute(f->attribute_proto[k], v);
	}
	for (size_t i = 0; i < m->n_training_info && rc == ORX_OK; i++) {
		const Onnx__TrainingInfoProto *t = m->training_info[i];
		if (t->initialization)
			rc = visit_graph(t->initialization, v);
		if (rc == ORX_OK && t->algorithm)
			rc = visit_graph(t->algorithm, v);
	}
	return rc;
}
