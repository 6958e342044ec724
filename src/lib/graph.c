/* An index of a graph's values: producers, consumers, the values bodies
 * read from the graphs around them, the marks of a walk; and the readers
 * of nodes' attributes. It knows nothing of what the ops are (ops.c). */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

/*** @@INDEX: values, producers, consumers ***/

struct orx_graph {
	const Onnx__GraphProto *g;
	const char **names; /* value -> name */
	size_t n_values, cap_values;
	int *slots; /* hash table: value index + 1, 0 = empty */
	size_t n_slots;
	int *producer;	    /* value -> node or -1 */
	int *initializer;   /* value -> initializer or -1 */
	bool *is_output;    /* value -> a graph output */
	bool *is_input;	    /* value -> a graph input */
	size_t *cons_start; /* value -> first consumer in cons_* */
	int *cons_node, *cons_slot;
	struct marks *marks; /* the values one walk has visited */
	size_t *out_start;   /* node -> its first output in out_value */
	int *out_value;	     /* the values of the nodes' outputs, or -1 */
	size_t *in_start;    /* node -> its first input in in_value */
	int *in_value;	     /* the values of the nodes' inputs, or -1 */
	uint16_t *node_tags; /* a number per node for the op table's use */
	Onnx__OperatorSetIdProto *const *opsets; /* the model's imports */
	size_t n_opsets;
	/* where it sits (orx_graph_set_scope): */
	const orx_graph *parent; /* the graph around a body, or NULL */
	int id;			 /* its index among the model's graphs */
	int owner;		 /* the node of parent holding it */
	size_t node_base;	 /* nodes of the graphs before it */
	uint32_t walk_seen;	 /* the walk that last reset its marks */
	uint32_t walks;		 /* walks started (used on the root) */
	orx_capture *captures;	 /* its values bodies read, by value */
	size_t n_captures, cap_captures;
};

/* Visited values of the current walk: mark[v] == gen. Bumping gen forgets
 * the last walk without clearing the table. */
struct marks {
	uint32_t gen;
	uint32_t mark[];
};

static int lookup(const orx_graph *gr, const char *name, size_t *slot)
{
	size_t i = (size_t)orx_name_hash(name) & (gr->n_slots - 1);

	while (gr->slots[i] && strcmp(gr->names[gr->slots[i] - 1], name))
		i = (i + 1) & (gr->n_slots - 1);
	*slot = i;
	return gr->slots[i] - 1;
}

static int intern(orx_graph *gr, const char *name)
{
	size_t slot;
	int v;

	if (!name || !name[0])
		return -1; /* an omitted optional input */
	if ((v = lookup(gr, name, &slot)) >= 0)
		return v;
	gr->names[gr->n_values] = name;
	gr->slots[slot] = (int)++gr->n_values;
	return (int)gr->n_values - 1;
}

int orx_graph_value(const orx_graph *gr, const char *name)
{
	size_t slot;

	return name && name[0] ? lookup(gr, name, &slot) : -1;
}

/* An upper bound of the number of values, to size the tables. */
static size_t max_values(const Onnx__GraphProto *g)
{
	size_t n = g->n_input + g->n_output + g->n_initializer;

	for (size_t i = 0; i < g->n_node; i++)
		n += g->node[i]->n_input + g->node[i]->n_output;
	return n;
}

static int alloc_tables(orx_graph *gr, size_t cap)
{
	gr->cap_values = cap;
	for (gr->n_slots = 16; gr->n_slots < 2 * cap; gr->n_slots *= 2)
		;
	gr->names = calloc(cap + 1, sizeof(*gr->names));
	gr->slots = calloc(gr->n_slots, sizeof(*gr->slots));
	gr->producer = malloc((cap + 1) * sizeof(int));
	gr->initializer = malloc((cap + 1) * sizeof(int));
	gr->cons_start = calloc(cap + 2, sizeof(size_t));
	gr->is_output = calloc(cap + 1, sizeof(bool));
	gr->is_input = calloc(cap + 1, sizeof(bool));
	gr->marks =
		calloc(1, sizeof(struct marks) + (cap + 1) * sizeof(uint32_t));
	gr->out_start = calloc(gr->g->n_node + 1, sizeof(size_t));
	gr->out_value = malloc((cap + 1) * sizeof(int));
	gr->node_tags = calloc(gr->g->n_node + 1, sizeof(uint16_t));
	gr->in_start = calloc(gr->g->n_node + 1, sizeof(size_t));
	gr->in_value = malloc((cap + 1) * sizeof(int));
	if (!gr->names || !gr->slots || !gr->producer || !gr->initializer ||
	    !gr->cons_start || !gr->is_output || !gr->is_input || !gr->marks ||
	    !gr->out_start || !gr->out_value || !gr->node_tags ||
	    !gr->in_start || !gr->in_value)
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t i = 0; i <= cap; i++)
		gr->producer[i] = gr->initializer[i] = -1;
	return ORX_OK;
}

static void index_values(orx_graph *gr)
{
	const Onnx__GraphProto *g = gr->g;

	for (size_t i = 0; i < g->n_input; i++) {
		int v = intern(gr, g->input[i]->name);
		if (v >= 0)
			gr->is_input[v] = true;
	}
	for (size_t i = 0; i < g->n_initializer; i++) {
		int v = intern(gr, g->initializer[i]->name);
		if (v >= 0)
			gr->initializer[v] = (int)i;
	}
	for (size_t i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *node = g->node[i];
		gr->in_start[i + 1] = gr->in_start[i] + node->n_input;
		for (size_t k = 0; k < node->n_input; k++) {
			int v = intern(gr, node->input[k]);
			if (v >= 0)
				gr->cons_start[v + 1]++;
			gr->in_value[gr->in_start[i] + k] = v;
		}
		gr->out_start[i + 1] = gr->out_start[i] + node->n_output;
		for (size_t k = 0; k < node->n_output; k++) {
			int v = intern(gr, node->output[k]);
			if (v >= 0)
				gr->producer[v] = (int)i;
			gr->out_value[gr->out_start[i] + k] = v;
		}
	}
	for (size_t i = 0; i < g->n_output; i++) {
		int v = intern(gr, g->output[i]->name);
		if (v >= 0)
			gr->is_output[v] = true;
	}
}

/* Counting sort of (node, slot) by consumed value. */
static int index_consumers(orx_graph *gr)
{
	const Onnx__GraphProto *g = gr->g;
	size_t total, *fill;

	for (size_t v = 0; v < gr->n_values; v++)
		gr->cons_start[v + 1] += gr->cons_start[v];
	total = gr->cons_start[gr->n_values];
	gr->cons_node = malloc((total + 1) * sizeof(int));
	gr->cons_slot = malloc((total + 1) * sizeof(int));
	fill = calloc(gr->n_values + 1, sizeof(size_t));
	if (!gr->cons_node || !gr->cons_slot || !fill) {
		free(fill);
		return orx_fail(ORX_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *node = g->node[i];
		for (size_t k = 0; k < node->n_input; k++) {
			int v = orx_graph_input_of(gr, (int)i, k);
			size_t at;
			if (v < 0)
				continue;
			at = gr->cons_start[v] + fill[v]++;
			gr->cons_node[at] = (int)i;
			gr->cons_slot[at] = (int)k;
		}
	}
	free(fill);
	return ORX_OK;
}

int orx_graph_build(orx_graph **out, const Onnx__GraphProto *g,
		    Onnx__OperatorSetIdProto *const *opsets, size_t n_opsets)
{
	orx_graph *gr = calloc(1, sizeof(*gr));
	int rc;

	if (!gr)
		return orx_fail(ORX_ENOMEM, "out of memory");
	gr->g = g;
	gr->opsets = opsets;
	gr->n_opsets = n_opsets;
	if ((rc = alloc_tables(gr, max_values(g))) == ORX_OK) {
		index_values(gr);
		rc = index_consumers(gr);
	}
	if (rc != ORX_OK)
		orx_graph_free(gr);
	else
		*out = gr;
	return rc;
}

void orx_graph_free(orx_graph *gr)
{
	if (!gr)
		return;
	free(gr->names);
	free(gr->slots);
	free(gr->producer);
	free(gr->initializer);
	free(gr->cons_start);
	free(gr->is_output);
	free(gr->is_input);
	free(gr->cons_node);
	free(gr->cons_slot);
	free(gr->marks);
	free(gr->out_start);
	free(gr->out_value);
	free(gr->node_tags);
	free(gr->in_start);
	free(gr->in_value);
	free(gr->captures);
	free(gr);
}

uint16_t *orx_graph_node_tags(const orx_graph *gr)
{
	return gr->node_tags;
}

int64_t orx_graph_opset(const orx_graph *gr, const char *domain)
{
	for (size_t i = 0; i < gr->n_opsets; i++) {
		const char *d =
			gr->opsets[i]->domain ? gr->opsets[i]->domain : "";
		if (!strcmp(d, "ai.onnx"))
			d = "";
		if (!strcmp(d, domain) && gr->opsets[i]->has_version)
			return gr->opsets[i]->version;
	}
	return INT64_MAX;
}

int orx_graph_input_of(const orx_graph *gr, int n, size_t k)
{
	return k < gr->g->node[n]->n_input ? gr->in_value[gr->in_start[n] + k]
					   : -1;
}

int orx_graph_output_of(const orx_graph *gr, int n, size_t k)
{
	return k < gr->g->node[n]->n_output
		       ? gr->out_value[gr->out_start[n] + k]
		       : -1;
}

void orx_graph_set_scope(orx_graph *gr, const orx_graph *parent, int id,
			 int owner, size_t node_base)
{
	gr->parent = parent;
	gr->id = id;
	gr->owner = owner;
	gr->node_base = node_base;
}

const orx_graph *orx_graph_parent(const orx_graph *gr, int *owner)
{
	*owner = gr->owner;
	return gr->parent;
}

int orx_graph_id(const orx_graph *gr)
{
	return gr->id;
}

size_t orx_graph_node_base(const orx_graph *gr)
{
	return gr->node_base;
}

/*** @@CAPTURES: the values bodies read from the graphs around them ***/

/* A value body reads but does not define: a graph input, an initializer
 * and a node's output are defined; a name only consumed is not. */
static bool read_from_outside(const orx_graph *body, int v)
{
	return !body->is_input[v] && body->producer[v] < 0 &&
	       body->initializer[v] < 0 &&
	       body->cons_start[v + 1] > body->cons_start[v];
}

static int add_capture(orx_graph *at, int value, const orx_graph *body,
		       int body_value)
{
	orx_capture *c = orx_room(at->captures, &at->cap_captures,
				  at->n_captures, sizeof(*c));

	if (!c)
		return ORX_ENOMEM;
	at->captures = c;
	c[at->n_captures++] = (orx_capture){value, body, body_value};
	return ORX_OK;
}

static int by_value(const void *a, const void *b)
{
	const orx_capture *x = a, *y = b;

	return (x->value > y->value) - (x->value < y->value);
}

int orx_graph_link_captures(orx_graph *const *graphs, size_t n)
{
	for (size_t k = 1; k < n; k++) {
		const orx_graph *body = graphs[k];
		for (size_t v = 0; v < body->n_values; v++) {
			const orx_graph *up = body->parent;
			const char *name = body->names[v];
			int rc;
			if (!read_from_outside(body, (int)v))
				continue;
			while (up && !orx_graph_defines(up, name))
				up = up->parent;
			if (up && (rc = add_capture(graphs[up->id],
						    orx_graph_value(up, name),
						    body, (int)v)) != ORX_OK)
				return rc;
		}
	}
	for (size_t k = 0; k < n; k++)
		if (graphs[k]->n_captures > 1)
			qsort(graphs[k]->captures, graphs[k]->n_captures,
			      sizeof(orx_capture), by_value);
	return ORX_OK;
}

size_t orx_graph_captures(const orx_graph *gr, int v, const orx_capture **first)
{
	size_t lo = 0, hi = gr->n_captures, end;

	*first = NULL;
	if (!gr->n_captures)
		return 0;
	while (lo < hi) { /* the first capture of v or after */
		size_t mid = lo + (hi - lo) / 2;
		if (gr->captures[mid].value < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < gr->n_captures && gr->captures[end].value == v;)
		end++;
	*first = gr->captures + lo;
	return end - lo;
}

static void reset_marks(const orx_graph *gr)
{
	struct marks *m = gr->marks;

	if (++m->gen == 0) { /* wrapped: the old marks could match again */
		memset(m->mark, 0, (gr->cap_values + 1) * sizeof(uint32_t));
		m->gen = 1;
	}
}

/* The outermost graph: it counts the walks of all the graphs in it. */
static orx_graph *root_of(const orx_graph *gr)
{
	while (gr->parent)
		gr = gr->parent;
	return (orx_graph *)gr; /* the planner's own scratch */
}

void orx_graph_new_walk(const orx_graph *gr)
{
	orx_graph *root = root_of(gr);

	if (++root->walks == 0)
		root->walks = 1;
	((orx_graph *)gr)->walk_seen = root->walks;
	reset_marks(gr);
}

bool orx_graph_visit(const orx_graph *gr, int v)
{
	struct marks *m = gr->marks;
	uint32_t walk = root_of(gr)->walks;

	if (gr->walk_seen != walk) { /* first visit of this walk here */
		((orx_graph *)gr)->walk_seen = walk;
		reset_marks(gr);
	}
	if (v < 0 || m->mark[v] == m->gen)
		return false;
	m->mark[v] = m->gen;
	return true;
}

int orx_graph_producer(const orx_graph *gr, int v)
{
	return v >= 0 ? gr->producer[v] : -1;
}

bool orx_graph_defines(const orx_graph *gr, const char *name)
{
	int v = orx_graph_value(gr, name);

	return v >= 0 && (gr->is_input[v] || gr->producer[v] >= 0 ||
			  gr->initializer[v] >= 0);
}

int orx_graph_output_index(const orx_graph *gr, int v)
{
	for (size_t i = 0; v >= 0 && i < gr->g->n_output; i++)
		if (orx_graph_value(gr, gr->g->output[i]->name) == v)
			return (int)i;
	return -1;
}

bool orx_graph_is_input(const orx_graph *gr, int v)
{
	return v >= 0 && gr->is_input[v];
}

bool orx_graph_is_output(const orx_graph *gr, int v)
{
	return v >= 0 && gr->is_output[v];
}

int orx_graph_initializer(const orx_graph *gr, int v)
{
	return v >= 0 ? gr->initializer[v] : -1;
}

size_t orx_graph_consumers(const orx_graph *gr, int v, const int **nodes,
			   const int **slots)
{
	if (v < 0)
		return 0;
	*nodes = gr->cons_node + gr->cons_start[v];
	*slots = gr->cons_slot + gr->cons_start[v];
	return gr->cons_start[v + 1] - gr->cons_start[v];
}

const Onnx__GraphProto *orx_graph_proto(const orx_graph *gr)
{
	return gr->g;
}

const Onnx__NodeProto *orx_graph_node(const orx_graph *gr, int n)
{
	return gr->g->node[n];
}

size_t orx_graph_node_count(const orx_graph *gr)
{
	return gr->g->n_node;
}

/*** @@ATTRIBUTES and constants ***/

const Onnx__AttributeProto *orx_attr_find(const Onnx__NodeProto *node,
					  const char *name)
{
	for (size_t i = 0; i < node->n_attribute; i++)
		if (node->attribute[i]->name &&
		    !strcmp(node->attribute[i]->name, name))
			return node->attribute[i];
	return NULL;
}

int64_t orx_attr_int(const Onnx__NodeProto *node, const char *name,
		     int64_t fallback)
{
	const Onnx__AttributeProto *a = orx_attr_find(node, name);
	return a && a->has_i ? a->i : fallback;
}

bool orx_attr_ints(int64_t *out, size_t max, size_t *n,
		   const Onnx__NodeProto *node, const char *name)
{
	const Onnx__AttributeProto *a = orx_attr_find(node, name);

	if (!a || a->n_ints > max)
		return false;
	for (size_t i = 0; i < a->n_ints; i++)
		out[i] = a->ints[i];
	*n = a->n_ints;
	return true;
}

bool orx_attr_string_is(const Onnx__NodeProto *node, const char *name,
			const char *value)
{
	const Onnx__AttributeProto *a = orx_attr_find(node, name);
	size_t n = strlen(value);

	return a && a->has_s && a->s.len == n && !memcmp(a->s.data, value, n);
}

double orx_attr_float(const Onnx__NodeProto *node, const char *name,
		      double fallback)
{
	const Onnx__AttributeProto *a = orx_attr_find(node, name);
	return a && a->has_f ? a->f : fallback;
}

size_t orx_graph_value_count(const orx_graph *gr)
{
	return gr->n_values;
}
