/* The model's graphs (the main graph and every If/Loop/Scan body, depth
 * first) and the constants in them that can hold parameters, numbered:
 * the main graph's initializers first (value i is initializer i, so their
 * names, rules and random streams are what they always were), then its
 * Constant nodes' tensors, then each body's initializers and Constants.
 *
 * Names: a main-graph initializer keeps its own; a main-graph Constant is
 * its output's name; a body's tensor is BODY/NAME, where BODY is the path
 * of the body: its node (name, or OP_INDEX) and attribute, as in
 * "If_0.then_branch", nested ones joined by '/'. */
#define _GNU_SOURCE
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Onnx__TensorProto *orx_constant_value(const Onnx__NodeProto *node)
{
	if (!orx_op_is_constant(node))
		return NULL;
	for (size_t i = 0; i < node->n_attribute; i++)
		if (node->attribute[i]->name &&
		    !strcmp(node->attribute[i]->name, "value"))
			return node->attribute[i]->t;
	return NULL; /* value_float(s), value_int(s): never weights */
}

typedef struct {
	orx_model *m;
	size_t cap_graphs, cap_values;
} builder;

static int push_value(builder *b, Onnx__TensorProto *t, const char *own,
		      size_t graph, int node)
{
	orx_model *m = b->m;
	orx_value *v;
	char *name = NULL;

	if (!(v = orx_room(m->values, &b->cap_values, m->n_values, sizeof(*v))))
		return ORX_ENOMEM;
	m->values = v;
	if (graph > 0 &&
	    asprintf(&name, "%s/%s", m->graphs[graph].path, own ? own : "") < 0)
		return orx_fail(ORX_ENOMEM, "out of memory");
	v = &m->values[m->n_values++];
	*v = (orx_value){t, name ? name : own ? own : "", name, graph, node};
	return ORX_OK;
}

static int add_graph(builder *b, const Onnx__GraphProto *g, int parent,
		     int owner, const char *attr);

/* Graph k's initializers, its Constants, then its bodies. */
static int add_contents(builder *b, size_t k)
{
	const Onnx__GraphProto *g = b->m->graphs[k].g;
	int rc = ORX_OK;

	b->m->graphs[k].first_value = b->m->n_values;
	if (!(b->m->graphs[k].value_of_node =
		      malloc((g->n_node + 1) * sizeof(int))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t i = 0; i < g->n_initializer && rc == ORX_OK; i++)
		rc = push_value(b, g->initializer[i], g->initializer[i]->name,
				k, -1);
	for (size_t n = 0; n < g->n_node && rc == ORX_OK; n++) {
		Onnx__TensorProto *t = orx_constant_value(g->node[n]);
		b->m->graphs[k].value_of_node[n] = t ? (int)b->m->n_values : -1;
		if (t)
			rc = push_value(b, t, g->node[n]->output[0], k, (int)n);
	}
	for (size_t n = 0; n < g->n_node && rc == ORX_OK; n++)
		for (size_t a = 0; a < g->node[n]->n_attribute && rc == ORX_OK;
		     a++) {
			const Onnx__AttributeProto *at =
				g->node[n]->attribute[a];
			if (at->g)
				rc = add_graph(b, at->g, (int)k, (int)n,
					       at->name);
			for (size_t j = 0; j < at->n_graphs && rc == ORX_OK;
			     j++)
				rc = add_graph(b, at->graphs[j], (int)k, (int)n,
					       at->name);
		}
	return rc;
}

static int add_graph(builder *b, const Onnx__GraphProto *g, int parent,
		     int owner, const char *attr)
{
	orx_model *m = b->m;
	orx_graph_ref *r;
	char *path = NULL;

	if (!(r = orx_room(m->graphs, &b->cap_graphs, m->n_graphs, sizeof(*r))))
		return ORX_ENOMEM;
	m->graphs = r;
	if (parent >= 0) {
		const Onnx__NodeProto *nd = m->graphs[parent].g->node[owner];
		const char *up = parent > 0 ? m->graphs[parent].path : NULL;
		int rc = nd->name && nd->name[0]
				 ? asprintf(&path, "%s%s%s.%s", up ? up : "",
					    up ? "/" : "", nd->name,
					    attr ? attr : "")
				 : asprintf(&path, "%s%s%s_%d.%s", up ? up : "",
					    up ? "/" : "", nd->op_type, owner,
					    attr ? attr : "");
		if (rc < 0)
			return orx_fail(ORX_ENOMEM, "out of memory");
	}
	r = &m->graphs[m->n_graphs++];
	*r = (orx_graph_ref){g,	   parent, owner, path ? path : "main",
			     path, 0,	   NULL};
	return add_contents(b, m->n_graphs - 1);
}

int orx_values_build(orx_model *m)
{
	builder b = {m, 0, 0};

	return add_graph(&b, m->proto->graph, -1, -1, NULL);
}

void orx_values_free(orx_model *m)
{
	for (size_t i = 0; i < m->n_values; i++)
		free(m->values[i].owned_name);
	for (size_t k = 0; k < m->n_graphs; k++) {
		free(m->graphs[k].owned_path);
		free(m->graphs[k].value_of_node);
	}
	free(m->values);
	free(m->graphs);
}

size_t orx_value_count(const orx_model *m)
{
	return m->n_values;
}

Onnx__TensorProto *orx_value_tensor(const orx_model *m, size_t i)
{
	return i < m->n_values ? m->values[i].tensor : NULL;
}

const char *orx_value_name(const orx_model *m, size_t i)
{
	return i < m->n_values ? m->values[i].name : "";
}

bool orx_value_is_constant(const orx_model *m, size_t i)
{
	return i < m->n_values && m->values[i].node >= 0;
}

bool orx_value_in_body(const orx_model *m, size_t i)
{
	return i < m->n_values && m->values[i].graph > 0;
}

int orx_value_of_node(const orx_model *m, size_t graph, int node)
{
	return graph < m->n_graphs && node >= 0 &&
			       (size_t)node < m->graphs[graph].g->n_node
		       ? m->graphs[graph].value_of_node[node]
		       : -1;
}

int orx_value_of_initializer(const orx_model *m, size_t graph, int init)
{
	return graph < m->n_graphs && init >= 0 &&
			       (size_t)init < m->graphs[graph].g->n_initializer
		       ? (int)(m->graphs[graph].first_value + (size_t)init)
		       : -1;
}

int orx_value_of_constant(const orx_model *m, int graph, int init, int cnode)
{
	return init >= 0 ? orx_value_of_initializer(m, (size_t)graph, init)
			 : orx_value_of_node(m, (size_t)graph, cnode);
}

bool orx_value_may_be_parameter(const orx_model *m, size_t i)
{
	const Onnx__TensorProto *t = orx_value_tensor(m, i);
	uint64_t n = 0;

	return t && orx_dtype_is_float(t->data_type) &&
	       orx_tensor_proto_count(&n, t) == ORX_OK && n > 1;
}
