/* Internal: activations and normalizations exporters write out as
 * several ops, recognized from the node where the walk meets them
 * (patterns.c). */
#ifndef ORX_PATTERNS_H
#define ORX_PATTERNS_H

#include "ops.h"

/* What node n of gr, of pattern kind (its row's), means to the walk: an
 * activation's name (orx_activation_named knows it), "" to walk on
 * through it, or NULL for an opaque op. */
const char *orx_pattern_activation(const orx_graph *gr, int n,
				   orx_pattern_kind kind);

/* Is node n of gr a division by a square root (LayerNorm's and RMSNorm's
 * written-out form: x / sqrt(var + eps)), or a product with its
 * reciprocal? */
bool orx_pattern_divides_by_root(const orx_graph *gr, int n);

#endif
