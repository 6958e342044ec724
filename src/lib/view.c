/* How plumbing ops change the shape of a constant on its way to a layer:
 * the shape the layer sees, from which its fans are measured. Each takes
 * the shape at the op's input 0 and leaves the shape at its output. */
#include "view.h"
#include "constants.h"

#include <string.h>

int orx_permute_dims(int64_t *out, const int64_t *dims, size_t ndim,
		     const int64_t *perm, size_t nperm)
{
	unsigned seen = 0;

	if (nperm == 0) { /* Transpose's default: reverse the axes */
		for (size_t i = 0; i < ndim; i++)
			out[i] = dims[ndim - 1 - i];
		return ORX_OK;
	}
	if (nperm != ndim || ndim > 32)
		return orx_fail(ORX_EINVALID,
				"Transpose perm has %zu axes for "
				"a tensor of %zu",
				nperm, ndim);
	for (size_t i = 0; i < ndim; i++) {
		int64_t p = perm[i] < 0 ? perm[i] + (int64_t)ndim : perm[i];
		if (p < 0 || p >= (int64_t)ndim || (seen & (1u << p)))
			return orx_fail(ORX_EINVALID, "Transpose perm is not a "
						      "permutation");
		seen |= 1u << p;
		out[i] = dims[p];
	}
	return ORX_OK;
}

static int view_transpose(int64_t *dims, size_t *ndim, const orx_op *op,
			  const orx_graph *gr, int n)
{
	int64_t perm[ORX_DIMS_MAX], out[ORX_DIMS_MAX];
	size_t np = 0;
	const Onnx__NodeProto *node = orx_graph_node(gr, n);

	(void)op;
	if (!orx_attr_ints(perm, ORX_DIMS_MAX, &np, node, "perm"))
		np = 0; /* absent: the axes reversed */
	if (orx_permute_dims(out, dims, *ndim, perm, np) != ORX_OK)
		return ORX_EUNSUPPORTED;
	memcpy(dims, out, *ndim * sizeof(int64_t));
	return ORX_OK;
}

/* Axes from input 1 (opset 13 on) or the axes attribute (before);
 * *given false when neither is there. */
static int axes_of(int64_t *axes, size_t *n, bool *given, const orx_graph *gr,
		   int node_index)
{
	const Onnx__NodeProto *node = orx_graph_node(gr, node_index);

	*given = true;
	if (node->n_input >= 2 && node->input[1][0])
		return orx_graph_ints(axes, ORX_DIMS_MAX, n, gr,
				      node->input[1]);
	if (orx_attr_ints(axes, ORX_DIMS_MAX, n, node, "axes"))
		return ORX_OK;
	*given = false;
	*n = 0;
	return ORX_OK;
}

/* Axis a of a rank-r shape, negative ones counted from the end. */
static int axis(int64_t *out, int64_t a, size_t r)
{
	if (a < 0)
		a += (int64_t)r;
	if (a < 0 || a >= (int64_t)r)
		return ORX_EUNSUPPORTED;
	*out = a;
	return ORX_OK;
}

static int view_reshape(int64_t *dims, size_t *ndim, const orx_op *op,
			const orx_graph *gr, int n)
{
	const Onnx__NodeProto *node = orx_graph_node(gr, n);
	int64_t shape[ORX_DIMS_MAX], known = 1, total = 1;
	size_t ns, infer = ORX_DIMS_MAX;
	bool allowzero = orx_op_attr(op, node, ORX_ATTR_ALLOWZERO) != 0;

	if (node->n_input < 2 || orx_graph_ints(shape, ORX_DIMS_MAX, &ns, gr,
						node->input[1]) != ORX_OK)
		return ORX_EUNSUPPORTED;
	for (size_t i = 0; i < *ndim; i++)
		total *= dims[i]; /* below 2^62: a validated tensor's shape */
	for (size_t i = 0; i < ns; i++) {
		if (shape[i] == 0 && !allowzero) {
			if (i >= *ndim)
				return ORX_EUNSUPPORTED;
			shape[i] = dims[i]; /* 0 copies the input's dim */
		}
		if (shape[i] == -1 && infer == ORX_DIMS_MAX)
			infer = i;
		else if (shape[i] < 0 ||
			 (shape[i] && known > INT64_MAX / shape[i]))
			return ORX_EUNSUPPORTED;
		else
			known *= shape[i];
	}
	if (infer < ORX_DIMS_MAX) {
		if (known == 0 || total % known != 0)
			return ORX_EUNSUPPORTED;
		shape[infer] = total / known;
	} else if (known != total) {
		return ORX_EUNSUPPORTED;
	}
	memcpy(dims, shape, ns * sizeof(int64_t));
	*ndim = ns;
	return ORX_OK;
}

static int view_squeeze(int64_t *dims, size_t *ndim, const orx_op *op,
			const orx_graph *gr, int n)
{
	int64_t axes[ORX_DIMS_MAX], a;
	bool given, drop[ORX_DIMS_MAX] = {false};
	size_t na, out = 0;

	(void)op;
	if (axes_of(axes, &na, &given, gr, n) != ORX_OK)
		return ORX_EUNSUPPORTED;
	for (size_t i = 0; i < *ndim; i++)
		drop[i] = !given && dims[i] == 1; /* no axes: every 1 */
	for (size_t i = 0; i < na; i++) {
		if (axis(&a, axes[i], *ndim) != ORX_OK || dims[a] != 1)
			return ORX_EUNSUPPORTED;
		drop[a] = true;
	}
	for (size_t i = 0; i < *ndim; i++)
		if (!drop[i])
			dims[out++] = dims[i];
	*ndim = out;
	return ORX_OK;
}

static int view_unsqueeze(int64_t *dims, size_t *ndim, const orx_op *op,
			  const orx_graph *gr, int n)
{
	int64_t axes[ORX_DIMS_MAX], out[ORX_DIMS_MAX], a;
	bool given, added[ORX_DIMS_MAX] = {false};
	size_t na, r, k = 0;

	(void)op;
	if (axes_of(axes, &na, &given, gr, n) != ORX_OK || !given ||
	    (r = *ndim + na) > ORX_DIMS_MAX)
		return ORX_EUNSUPPORTED;
	for (size_t i = 0; i < na; i++) {
		if (axis(&a, axes[i], r) != ORX_OK || added[a])
			return ORX_EUNSUPPORTED;
		added[a] = true;
	}
	for (size_t i = 0; i < r; i++)
		out[i] = added[i] ? 1 : dims[k++];
	memcpy(dims, out, r * sizeof(int64_t));
	*ndim = r;
	return ORX_OK;
}

static int view_flatten(int64_t *dims, size_t *ndim, const orx_op *op,
			const orx_graph *gr, int n)
{
	int64_t at =
		(int64_t)orx_op_attr(op, orx_graph_node(gr, n), ORX_ATTR_AXIS);
	int64_t outer = 1, inner = 1;

	if (at < 0)
		at += (int64_t)*ndim;
	if (at < 0 || at > (int64_t)*ndim)
		return ORX_EUNSUPPORTED;
	for (size_t i = 0; i < *ndim; i++)
		*((int64_t)i < at ? &outer : &inner) *= dims[i];
	dims[0] = outer;
	dims[1] = inner;
	*ndim = 2;
	return ORX_OK;
}

int orx_view_apply(int64_t *dims, size_t *ndim, const orx_op *op,
		   const orx_graph *gr, int n)
{
	switch (op->view) {
	case ORX_VIEW_SAME: return ORX_OK;
	case ORX_VIEW_TRANSPOSE: return view_transpose(dims, ndim, op, gr, n);
	case ORX_VIEW_RESHAPE: return view_reshape(dims, ndim, op, gr, n);
	case ORX_VIEW_SQUEEZE: return view_squeeze(dims, ndim, op, gr, n);
	case ORX_VIEW_UNSQUEEZE: return view_unsqueeze(dims, ndim, op, gr, n);
	case ORX_VIEW_FLATTEN: return view_flatten(dims, ndim, op, gr, n);
	case ORX_VIEW_NONE: break;
	}
	return ORX_EUNSUPPORTED;
}
