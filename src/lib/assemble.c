/* How exporters assemble a layer's tensor from pieces of constants:
 * Slice and Concat along the outermost axis, and the views that keep the
 * elements' order (Identity, Cast, Reshape, Squeeze, Unsqueeze, Flatten).
 * With constant folding off, torch.onnx builds an LSTM's W [D, 4H, I]
 * from row blocks of weight_ih_l0 [4H, I], reordering PyTorch's gates
 * into ONNX's. Each value's pieces say which elements of which constant
 * it holds, in order; anything else stops with the reason. */
#include "assemble.h"
#include "constants.h"
#include "view.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEPTH_MAX 32

static int stop(orx_assembly *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int stop(orx_assembly *a, const char *fmt, ...)
{
	va_list ap;

	if (!a->why[0]) {
		va_start(ap, fmt);
		vsnprintf(a->why, sizeof(a->why), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int add_piece(orx_assembly *a, orx_piece p)
{
	if (a->n == ORX_PIECES_MAX)
		return stop(a, "made of more than %d pieces", ORX_PIECES_MAX);
	a->piece[a->n++] = p;
	return 0;
}

/* The whole constant t (initializer init, or Constant node cnode, of
 * graph gr) as one piece. */
static int whole(orx_assembly *a, const orx_graph *gr, int init, int cnode,
		 const Onnx__TensorProto *t)
{
	if (t->n_dims > ORX_DIMS_MAX)
		return stop(a, "a constant of %zu dimensions", t->n_dims);
	a->ndim = t->n_dims;
	if (t->n_dims)
		memcpy(a->dims, t->dims, t->n_dims * sizeof(int64_t));
	return add_piece(a, (orx_piece){orx_graph_id(gr), init, cnode, 0,
					orx_dims_count(a->dims, a->ndim)});
}

/* Elements [lo, hi) of in's pieces, appended to out's. */
static int cut(orx_assembly *out, const orx_assembly *in, uint64_t lo,
	       uint64_t hi)
{
	uint64_t at = 0;

	for (size_t i = 0; i < in->n; at += in->piece[i++].count) {
		orx_piece p = in->piece[i];
		uint64_t from = lo > at ? lo : at;
		uint64_t to = hi < at + p.count ? hi : at + p.count;
		if (from >= to)
			continue;
		p.first += from - at;
		p.count = to - from;
		if (add_piece(out, p) < 0)
			return -1;
	}
	return 0;
}

/* out stops for why (in's own reason if it has one), keeping in's
 * pieces: the constants reached, for the planner to name. */
static int give_up(orx_assembly *out, const orx_assembly *in, const char *why)
{
	cut(out, in, 0, UINT64_MAX);
	return stop(out, "%s", in->why[0] ? in->why : why);
}

static int assemble_value(orx_assembly *a, const orx_graph *gr,
			  const char *name, int depth);
static int assemble_slice(orx_assembly *a, const orx_graph *gr, int n,
			  int depth);
static int assemble_concat(orx_assembly *a, const orx_graph *gr, int n,
			   int depth);

/* The op's assembly of node n's output from its inputs' pieces. */
static int assemble_op(orx_assembly *a, const orx_op *op, const orx_graph *gr,
		       int n, int depth)
{
	switch (op->assemble) {
	case ORX_ASSEMBLE_SLICE_ATTRS:
		return stop(a, "a Slice with attributes (before opset 10)");
	case ORX_ASSEMBLE_SLICE: return assemble_slice(a, gr, n, depth);
	case ORX_ASSEMBLE_CONCAT: return assemble_concat(a, gr, n, depth);
	case ORX_ASSEMBLE_NONE: break;
	}
	return stop(a, "it comes through %s", orx_graph_node(gr, n)->op_type);
}

/* input's assembly into a fresh *in, one level deeper. */
static int assemble_input(orx_assembly *in, const orx_graph *gr,
			  const char *input, int depth)
{
	memset(in, 0, sizeof(*in));
	return assemble_value(in, gr, input, depth);
}

static int assemble_value(orx_assembly *a, const orx_graph *gr,
			  const char *name, int depth)
{
	const orx_graph *up;
	const Onnx__NodeProto *node;
	const Onnx__TensorProto *t;
	const orx_op *op;
	int owner, v, init, p;

	if (depth > DEPTH_MAX)
		return stop(a, "assembled through more than %d ops", DEPTH_MAX);
	/* a name a body does not define is one of a graph around it */
	while (name && name[0] && !orx_graph_defines(gr, name) &&
	       (up = orx_graph_parent(gr, &owner)))
		gr = up;
	if ((v = orx_graph_value(gr, name)) < 0)
		return stop(a, "'%s' is not defined", name ? name : "");
	if ((init = orx_graph_initializer(gr, v)) >= 0)
		return whole(a, gr, init, -1,
			     orx_graph_proto(gr)->initializer[init]);
	if ((p = orx_graph_producer(gr, v)) < 0)
		return stop(a, "it comes from the graph input '%s'", name);
	node = orx_graph_node(gr, p);
	if ((t = orx_constant_value(node)))
		return whole(a, gr, -1, p, t);
	op = orx_op_of(gr, p);
	if (op && op->assemble != ORX_ASSEMBLE_NONE)
		return assemble_op(a, op, gr, p, depth + 1);
	if (!op || op->view == ORX_VIEW_NONE || node->n_input < 1)
		return stop(a, "it comes through %s", node->op_type);
	if (assemble_value(a, gr, node->input[0], depth + 1) < 0)
		return -1;
	if (op->reorders) /* the constants behind it are named, though */
		return stop(a, "it comes through %s", node->op_type);
	uint64_t before = orx_dims_count(a->dims, a->ndim);
	if (orx_view_apply(a->dims, &a->ndim, op, gr, p) != ORX_OK ||
	    orx_dims_count(a->dims, a->ndim) != before)
		return stop(a, "its shape after %s cannot be told",
			    node->op_type);
	a->quantized |= op->quantized;
	return 0;
}

int orx_graph_assemble(orx_assembly *out, const orx_graph *gr,
		       const char *input)
{
	return assemble_input(out, gr, input, 0);
}

/* The constant int64 elements of input k of node n (absent: *n = 0). */
static int ints_input(int64_t *out, size_t *n, const orx_graph *gr,
		      const Onnx__NodeProto *node, size_t k)
{
	*n = 0;
	if (k >= node->n_input || !node->input[k][0])
		return ORX_OK;
	return orx_graph_ints(out, ORX_DIMS_MAX, n, gr, node->input[k]);
}

/* [*lo, *hi) of an axis of size dim from a Slice's start and end, as
 * ONNX clamps them (step 1). */
static void clamp(int64_t *lo, int64_t *hi, int64_t start, int64_t end,
		  int64_t dim)
{
	if (start < 0)
		start += dim;
	if (end < 0)
		end += dim;
	*lo = start < 0 ? 0 : start > dim ? dim : start;
	*hi = end < 0 ? 0 : end > dim ? dim : end;
	if (*hi < *lo)
		*hi = *lo;
}

static int assemble_slice(orx_assembly *a, const orx_graph *gr, int n,
			  int depth)
{
	const Onnx__NodeProto *node = orx_graph_node(gr, n);
	int64_t starts[ORX_DIMS_MAX], ends[ORX_DIMS_MAX], axes[ORX_DIMS_MAX],
		steps[ORX_DIMS_MAX], lo[ORX_DIMS_MAX], hi[ORX_DIMS_MAX];
	size_t ns, ne, na, nt, k;
	uint64_t inner = 1;
	orx_assembly in;

	if (node->n_input < 3)
		return stop(a, "a Slice with attributes (before opset 10)");
	if (assemble_input(&in, gr, node->input[0], depth) < 0)
		return give_up(a, &in, "");
	if (ints_input(starts, &ns, gr, node, 1) != ORX_OK ||
	    ints_input(ends, &ne, gr, node, 2) != ORX_OK ||
	    ints_input(axes, &na, gr, node, 3) != ORX_OK ||
	    ints_input(steps, &nt, gr, node, 4) != ORX_OK || ns != ne ||
	    (na && na != ns) || (nt && nt != ns))
		return give_up(a, &in,
			       "a Slice whose bounds are not constants");
	for (size_t i = 0; i < in.ndim; i++)
		lo[i] = 0, hi[i] = in.dims[i];
	for (size_t j = 0; j < ns; j++) {
		int64_t ax = na ? axes[j] : (int64_t)j;
		if (ax < 0)
			ax += (int64_t)in.ndim;
		if (ax < 0 || ax >= (int64_t)in.ndim || (nt && steps[j] != 1))
			return give_up(a, &in,
				       "a Slice with a step, or an axis "
				       "out of range");
		clamp(&lo[ax], &hi[ax], starts[j], ends[j], in.dims[ax]);
	}
	/* contiguous: one axis cut, every one before it of size 1, every
	 * one after it whole */
	for (k = 0; k < in.ndim && lo[k] == 0 && hi[k] == in.dims[k]; k++)
		;
	if (k == in.ndim)
		k = 0; /* nothing cut */
	for (size_t i = 0; i < in.ndim; i++)
		if ((i < k && in.dims[i] != 1) ||
		    (i > k && (lo[i] != 0 || hi[i] != in.dims[i])))
			return give_up(a, &in,
				       "a Slice that does not keep a "
				       "run of elements");
	for (size_t i = k + 1; i < in.ndim; i++)
		inner *= (uint64_t)in.dims[i];
	if (in.ndim &&
	    cut(a, &in, (uint64_t)lo[k] * inner, (uint64_t)hi[k] * inner) < 0)
		return -1;
	memcpy(a->dims, in.dims, in.ndim * sizeof(int64_t));
	a->ndim = in.ndim;
	if (in.ndim)
		a->dims[k] = hi[k] - lo[k];
	a->quantized |= in.quantized;
	return 0;
}

static int assemble_concat(orx_assembly *a, const orx_graph *gr, int n,
			   int depth)
{
	const Onnx__NodeProto *node = orx_graph_node(gr, n);
	int64_t axis = (int64_t)orx_op_attr(orx_op_of(gr, n), node,
					    ORX_ATTR_AXIS),
		total = 0;
	orx_assembly in;

	for (size_t k = 0; k < node->n_input; k++) {
		if (assemble_input(&in, gr, node->input[k], depth) < 0)
			return give_up(a, &in, "");
		if (k == 0) {
			memcpy(a->dims, in.dims, in.ndim * sizeof(int64_t));
			a->ndim = in.ndim;
			if (axis < 0)
				axis += (int64_t)in.ndim;
			if (axis < 0 || axis >= (int64_t)in.ndim)
				return give_up(a, &in,
					       "a Concat axis out of "
					       "range");
		}
		if (in.ndim != a->ndim)
			return give_up(a, &in, "a Concat of ranks that differ");
		for (size_t i = 0; i < in.ndim; i++)
			if ((int64_t)i != axis &&
			    (in.dims[i] != a->dims[i] ||
			     ((int64_t)i < axis && in.dims[i] != 1)))
				return give_up(a, &in,
					       "a Concat that "
					       "interleaves its inputs");
		if (cut(a, &in, 0, UINT64_MAX) < 0)
			return -1;
		total += in.dims[axis];
		a->quantized |= in.quantized;
	}
	if (node->n_input == 0)
		return stop(a, "an empty Concat");
	a->dims[axis] = total;
	return 0;
}
