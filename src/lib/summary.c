/* The summary `info` prints. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	orx_summary pub;
	orx_opset *opsets;
	orx_op_count *op_types;
	size_t cap_op_types;
} summary;

static const char *str(const char *s)
{
	return s ? s : "";
}

/* One row per node at first; merge_op_types then counts them. */
static int count_op(summary *s, const Onnx__NodeProto *node)
{
	size_t i = s->pub.n_op_types;

	orx_op_count *ops =
		orx_room(s->op_types, &s->cap_op_types, i, sizeof(*ops));

	if (!ops)
		return ORX_ENOMEM;
	s->op_types = ops;
	s->op_types[i] =
		(orx_op_count){str(node->op_type), str(node->domain), 1};
	s->pub.n_op_types++;
	s->pub.n_nodes++;
	return ORX_OK;
}

static int by_op_then_domain(const void *a, const void *b)
{
	const orx_op_count *x = a, *y = b;
	int c = strcmp(x->op_type, y->op_type);

	return c ? c : strcmp(x->domain, y->domain);
}

/* Sort the rows by op type and domain and merge equal ones: n log n,
 * whatever the number of distinct op types. */
static void merge_op_types(summary *s)
{
	size_t kept = 0;

	if (s->pub.n_op_types == 0)
		return;
	qsort(s->op_types, s->pub.n_op_types, sizeof(*s->op_types),
	      by_op_then_domain);
	for (size_t i = 1; i < s->pub.n_op_types; i++)
		if (by_op_then_domain(&s->op_types[kept], &s->op_types[i]) == 0)
			s->op_types[kept].count += s->op_types[i].count;
		else
			s->op_types[++kept] = s->op_types[i];
	s->pub.n_op_types = kept + 1;
}

/* A tensor where it lives: in the main graph's Constant nodes, or in a
 * body (initializers of the main graph are counted from the model). */
static void count_tensor(summary *s, const Onnx__TensorProto *t, bool body)
{
	uint64_t n = 0;

	orx_tensor_proto_count(&n, t); /* validated at open */
	if (body) {
		s->pub.n_body_tensors++;
		s->pub.n_body_parameters += n;
	} else {
		s->pub.n_constants++;
		s->pub.n_constant_parameters += n;
	}
}

/* The nodes of g, and of its bodies (body: g is one) at any depth. */
static int count_graph(summary *s, const Onnx__GraphProto *g, bool body)
{
	int rc = ORX_OK;

	for (size_t i = 0; body && i < g->n_initializer; i++)
		count_tensor(s, g->initializer[i], true);
	for (size_t i = 0; i < g->n_node && rc == ORX_OK; i++) {
		const Onnx__NodeProto *node = g->node[i];
		const Onnx__TensorProto *t = orx_constant_value(node);
		if (t)
			count_tensor(s, t, body);
		rc = count_op(s, node);
		for (size_t k = 0; k < node->n_attribute && rc == ORX_OK; k++) {
			const Onnx__AttributeProto *a = node->attribute[k];
			if (a->g)
				rc = count_graph(s, a->g, true);
			for (size_t j = 0; j < a->n_graphs && rc == ORX_OK; j++)
				rc = count_graph(s, a->graphs[j], true);
		}
	}
	return rc;
}

static int by_count_then_name(const void *a, const void *b)
{
	const orx_op_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->op_type, y->op_type);
}

static int count_initializers(summary *s, const orx_model *model)
{
	orx_tensor_info info;
	int rc = ORX_OK;

	s->pub.n_initializers = orx_main_initializers(model);
	for (size_t i = 0; i < s->pub.n_initializers && rc == ORX_OK; i++) {
		rc = orx_model_tensor(&info, model, i);
		s->pub.n_parameters += info.count;
		s->pub.n_bytes += info.nbytes;
	}
	return rc;
}

int orx_model_summary(orx_summary **out, const orx_model *model)
{
	const Onnx__ModelProto *m = model->proto;
	summary *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return orx_fail(ORX_ENOMEM, "out of memory");
	s->pub.ir_version = m->ir_version;
	s->pub.producer_name = str(m->producer_name);
	s->pub.producer_version = str(m->producer_version);
	s->pub.graph_name = str(m->graph->name);
	s->opsets = calloc(m->n_opset_import + 1, sizeof(*s->opsets));
	if (!s->opsets) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < m->n_opset_import; i++)
		s->opsets[i] = (orx_opset){str(m->opset_import[i]->domain),
					   m->opset_import[i]->version};
	s->pub.n_opsets = m->n_opset_import;
	s->pub.opsets = s->opsets;
	if ((rc = count_graph(s, m->graph, false)) != ORX_OK)
		goto done;
	merge_op_types(s);
	if (s->pub.n_op_types > 0)
		qsort(s->op_types, s->pub.n_op_types, sizeof(*s->op_types),
		      by_count_then_name);
	s->pub.op_types = s->op_types;
	rc = count_initializers(s, model);
done:
	if (rc != ORX_OK)
		orx_summary_free(&s->pub);
	else
		*out = &s->pub;
	return rc;
}

void orx_summary_free(orx_summary *pub)
{
	summary *s = (summary *)pub;

	if (!s)
		return;
	free(s->opsets);
	free(s->op_types);
	free(s);
}
