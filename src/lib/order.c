/* The order the layers run in: each entry's node numbered as the graph
 * runs, each body's nodes right after the node holding it. */
#include "order.h"

#include <stdlib.h>

/* A body's place among the model's graphs: the graph around it and the
 * node there holding it, then its own index. Bodies sorted by these keys
 * come in the order their owners run (no global state: the keys are the
 * sort's own data). */
typedef struct {
	int parent, owner;
	size_t graph;
} body_key;

typedef struct {
	const orx_plan *plan;
	const body_key *by_owner; /* every graph, sorted by (parent, owner) */
	size_t n_graphs;
	size_t *next_child; /* per graph: its next child in by_owner */
	size_t *number;	    /* model-wide node index -> its position */
	size_t counter;
} numbering;

static int by_parent_owner(const void *x, const void *y)
{
	const body_key *a = x, *b = y;

	if (a->parent != b->parent)
		return a->parent < b->parent ? -1 : 1;
	if (a->owner != b->owner)
		return a->owner < b->owner ? -1 : 1;
	return (a->graph > b->graph) - (a->graph < b->graph);
}

/* Number graph gi's nodes in order, each node's bodies right after it. */
static void number_graph(numbering *n, size_t gi)
{
	const orx_graph *gr = n->plan->graphs[gi];
	size_t base = orx_graph_node_base(gr), *next = &n->next_child[gi];

	for (size_t k = 0; k < orx_graph_node_count(gr); k++) {
		n->number[base + k] = n->counter++;
		while (*next < n->n_graphs) {
			const body_key *c = &n->by_owner[*next];
			if (c->parent != (int)gi || c->owner != (int)k)
				break;
			(*next)++;
			number_graph(n, c->graph);
		}
	}
}

int orx_plan_order(orx_plan *plan, const orx_model *m)
{
	body_key *by_owner = malloc((m->n_graphs + 1) * sizeof(*by_owner));
	numbering n = {plan, by_owner, m->n_graphs, NULL, NULL, 0};
	int rc = ORX_OK;

	n.next_child = malloc((m->n_graphs + 1) * sizeof(size_t));
	n.number = malloc((plan->n_nodes + 1) * sizeof(size_t));
	if (!by_owner || !n.next_child || !n.number) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t k = 0; k < m->n_graphs; k++)
		by_owner[k] =
			(body_key){m->graphs[k].parent, m->graphs[k].owner, k};
	qsort(by_owner, m->n_graphs, sizeof(*by_owner), by_parent_owner);
	for (size_t k = 0, at = 0; k < m->n_graphs; k++) { /* first child */
		while (at < m->n_graphs && by_owner[at].parent < (int)k)
			at++;
		n.next_child[k] = at;
	}
	if (m->n_graphs)
		number_graph(&n, 0);
	for (size_t i = 0; i < plan->n_init; i++) {
		entry *e = plan->e[i];
		if (e)
			e->pub.order =
				e->gr && e->node_index >= 0
					? n.number[orx_graph_node_base(e->gr) +
						   (size_t)e->node_index]
					: SIZE_MAX;
	}
done:
	free(by_owner);
	free(n.next_child);
	free(n.number);
	return rc;
}
