/* Internal: how plumbing ops change the shape of a constant on its way
 * to a layer (view.c): the shape the layer sees, from which its fans are
 * measured. */
#ifndef ORX_VIEW_H
#define ORX_VIEW_H

#include "ops.h"

/* The shape at the output of node n of gr (whose row is op, with a view)
 * of a constant of shape dims (*ndim of them, at most ORX_DIMS_MAX) at
 * its input 0, in place. ORX_EUNSUPPORTED when it cannot be told. */
int orx_view_apply(int64_t *dims, size_t *ndim, const orx_op *op,
		   const orx_graph *gr, int n);

/* The shape of a tensor after Transpose with perm (nperm == 0: the
 * default, axes reversed): out[i] = dims[perm[i]]. out has ndim values.
 * ORX_EINVALID when perm is not a permutation of the axes. */
int orx_permute_dims(int64_t *out, const int64_t *dims, size_t ndim,
		     const int64_t *perm, size_t nperm);

#endif
