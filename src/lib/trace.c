/* From a node's input up to the constant behind it, through the views
 * exporters put between a weight and its layer. */
#include "trace.h"
#include "view.h"

#include <string.h>

/* The views on the way, from the node's input upstream. */
#define CHAIN_MAX 64

int orx_graph_trace(orx_trace *out, const orx_graph *gr, int node, size_t k)
{
	int chain[CHAIN_MAX], depth = 0, v = orx_graph_input_of(gr, node, k),
			      init, p;
	const orx_graph *chain_gr[CHAIN_MAX];
	const Onnx__TensorProto *t = NULL;
	const char *name = orx_graph_node(gr, node)->input[k];

	*out = (orx_trace){.init = -1, .constant_node = -1, .dq_node = -1};
	while ((init = orx_graph_initializer(gr, v)) < 0) {
		const orx_op *op;
		const orx_graph *up;
		int owner;
		p = orx_graph_producer(gr, v);
		if (p < 0 && !orx_graph_is_input(gr, v) &&
		    (up = orx_graph_parent(gr, &owner)) && name && name[0]) {
			/* not defined here: a name of a graph around it */
			gr = up;
			v = orx_graph_value(gr, name);
			continue;
		}
		if (p >= 0 && (t = orx_constant_value(orx_graph_node(gr, p)))) {
			out->constant_node = p; /* a Constant node's tensor */
			break;
		}
		if (p < 0 || depth == CHAIN_MAX ||
		    orx_graph_node(gr, p)->n_input < 1 ||
		    !(op = orx_op_of(gr, p)) || op->view == ORX_VIEW_NONE)
			return -1;
		out->quantized |= op->quantized;
		if (op->quantized)
			out->dq_graph = gr, out->dq_node = p;
		chain_gr[depth] = gr;
		chain[depth++] = p;
		v = orx_graph_input_of(gr, p, 0);
		name = orx_graph_node(gr, p)->input[0];
	}
	out->views = (size_t)depth;
	out->dq_first = depth > 0 && out->dq_node == chain[depth - 1] &&
			out->dq_graph == chain_gr[depth - 1];
	if (!t)
		t = orx_graph_proto(gr)->initializer[init];
	if (t->n_dims > ORX_DIMS_MAX)
		return -1;
	out->ndim = t->n_dims;
	if (t->n_dims) /* a scalar's dims are NULL: no memcpy from NULL */
		memcpy(out->seen, t->dims, t->n_dims * sizeof(int64_t));
	while (depth-- > 0) { /* from the constant toward the node */
		const orx_graph *at = chain_gr[depth]; /* a body's, maybe */
		if (orx_view_apply(out->seen, &out->ndim,
				   orx_op_of(at, chain[depth]), at,
				   chain[depth]) != ORX_OK)
			return -1;
	}
	if (orx_dims_count(out->seen, out->ndim) !=
	    orx_dims_count(t->dims, t->n_dims))
		return -1; /* a view that does not fit the tensor */
	out->init = init;
	out->graph = orx_graph_id(gr);
	return 0;
}
