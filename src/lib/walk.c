/* Visiting every TensorProto of a model, wherever it sits. */
#include "internal.h"

static int walk_graph(const Onnx__GraphProto *g, orx_tensor_fn fn, void *ctx);
static int walk_attribute(const Onnx__AttributeProto *a, orx_tensor_fn fn,
			  void *ctx);

static int walk_sparse(const Onnx__SparseTensorProto *s, orx_tensor_fn fn,
		       void *ctx)
{
	int rc = ORX_OK;

	if (s->values)
		rc = fn(s->values, ctx);
	if (rc == ORX_OK && s->indices)
		rc = fn(s->indices, ctx);
	return rc;
}

static int walk_nodes(Onnx__NodeProto *const *nodes, size_t n,
		      orx_tensor_fn fn, void *ctx)
{
	int rc = ORX_OK;

	for (size_t i = 0; i < n && rc == ORX_OK; i++)
		for (size_t k = 0; k < nodes[i]->n_attribute && rc == ORX_OK;
		     k++)
			rc = walk_attribute(nodes[i]->attribute[k], fn, ctx);
	return rc;
}

static int walk_attribute(const Onnx__AttributeProto *a, orx_tensor_fn fn,
			  void *ctx)
{
	int rc = ORX_OK;

	if (a->t)
		rc = fn(a->t, ctx);
	if (rc == ORX_OK && a->g)
		rc = walk_graph(a->g, fn, ctx);
	if (rc == ORX_OK && a->sparse_tensor)
		rc = walk_sparse(a->sparse_tensor, fn, ctx);
	for (size_t i = 0; i < a->n_tensors && rc == ORX_OK; i++)
		rc = fn(a->tensors[i], ctx);
	for (size_t i = 0; i < a->n_graphs && rc == ORX_OK; i++)
		rc = walk_graph(a->graphs[i], fn, ctx);
	for (size_t i = 0; i < a->n_sparse_tensors && rc == ORX_OK; i++)
		rc = walk_sparse(a->sparse_tensors[i], fn, ctx);
	return rc;
}

static int walk_graph(const Onnx__GraphProto *g, orx_tensor_fn fn, void *ctx)
{
	int rc = ORX_OK;

	for (size_t i = 0; i < g->n_initializer && rc == ORX_OK; i++)
		rc = fn(g->initializer[i], ctx);
	for (size_t i = 0; i < g->n_sparse_initializer && rc == ORX_OK; i++)
		rc = walk_sparse(g->sparse_initializer[i], fn, ctx);
	if (rc == ORX_OK)
		rc = walk_nodes(g->node, g->n_node, fn, ctx);
	return rc;
}

int orx_walk_tensors(const Onnx__ModelProto *m, orx_tensor_fn fn, void *ctx)
{
	int rc = ORX_OK;

	if (m->graph)
		rc = walk_graph(m->graph, fn, ctx);
	for (size_t i = 0; i < m->n_functions && rc == ORX_OK; i++) {
		const Onnx__FunctionProto *f = m->functions[i];
		rc = walk_nodes(f->node, f->n_node, fn, ctx);
		for (size_t k = 0; k < f->n_attribute_proto && rc == ORX_OK;
		     k++)
			rc = walk_attribute(f->attribute_proto[k], fn, ctx);
	}
	for (size_t i = 0; i < m->n_training_info && rc == ORX_OK; i++) {
		const Onnx__TrainingInfoProto *t = m->training_info[i];
		if (t->initialization)
			rc = walk_graph(t->initialization, fn, ctx);
		if (rc == ORX_OK && t->algorithm)
			rc = walk_graph(t->algorithm, fn, ctx);
	}
	return rc;
}
