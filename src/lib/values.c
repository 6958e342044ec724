/* The model's constants that can hold parameters, numbered: the main
 * graph's initializers first (value i is initializer i, so their names,
 * rules and random streams are what they always were), then the tensors
 * of the main graph's Constant nodes (their `value`), in node order,
 * each named by the Constant's output. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

Onnx__TensorProto *orx_constant_value(const Onnx__NodeProto *node)
{
	if (!node->op_type || strcmp(node->op_type, "Constant") ||
	    (node->domain && node->domain[0] && strcmp(node->domain, "ai.onnx")))
		return NULL;
	for (size_t i = 0; i < node->n_attribute; i++)
		if (node->attribute[i]->name &&
		    !strcmp(node->attribute[i]->name, "value"))
			return node->attribute[i]->t;
	return NULL; /* value_float(s), value_int(s): never weights */
}

int orx_values_build(orx_model *m)
{
	const Onnx__GraphProto *g = m->proto->graph;
	size_t k = 0;

	m->value_of_node = malloc((g->n_node + 1) * sizeof(int));
	m->consts = malloc((g->n_node + 1) * sizeof(*m->consts));
	if (!m->value_of_node || !m->consts)
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t n = 0; n < g->n_node; n++) {
		Onnx__TensorProto *t = orx_constant_value(g->node[n]);
		m->value_of_node[n] = -1;
		if (!t)
			continue;
		m->value_of_node[n] = (int)(g->n_initializer + k);
		m->consts[k++] = (orx_constant){t, g->node[n]->output[0]};
	}
	m->n_consts = k;
	return ORX_OK;
}

void orx_values_free(orx_model *m)
{
	free(m->value_of_node);
	free(m->consts);
}

size_t orx_value_count(const orx_model *m)
{
	return m->proto->graph->n_initializer + m->n_consts;
}

Onnx__TensorProto *orx_value_tensor(const orx_model *m, size_t i)
{
	const Onnx__GraphProto *g = m->proto->graph;

	if (i < g->n_initializer)
		return g->initializer[i];
	i -= g->n_initializer;
	return i < m->n_consts ? m->consts[i].tensor : NULL;
}

const char *orx_value_name(const orx_model *m, size_t i)
{
	const Onnx__GraphProto *g = m->proto->graph;

	if (i < g->n_initializer)
		return g->initializer[i]->name ? g->initializer[i]->name : "";
	i -= g->n_initializer;
	return i < m->n_consts ? m->consts[i].name : "";
}

bool orx_value_is_constant(const orx_model *m, size_t i)
{
	return i >= m->proto->graph->n_initializer && i < orx_value_count(m);
}

int orx_value_of_node(const orx_model *m, int node)
{
	return node >= 0 && (size_t)node < m->proto->graph->n_node
		       ? m->value_of_node[node]
		       : -1;
}
