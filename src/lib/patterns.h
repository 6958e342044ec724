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

/* The activation a fused op's node holds in its attributes (its row's
 * act_attr, with act_params or act_alpha): its name as the walk names
 * activations (Clip by its bounds, as Relu, Relu6 or Clip), *alpha its
 * slope (LeakyRelu), else NAN; "" for one the tool does not know; NULL
 * when the node holds none. */
const char *orx_pattern_held_activation(double *alpha, const orx_op *op,
					const Onnx__NodeProto *node);

/* The activation node n's quantized output amounts to (its row's output
 * zero point and scale): "Relu" when the zero point is its type's
 * minimum (nothing below 0 is kept), "Relu6" when the range then ends at
 * 6; NULL otherwise. */
const char *orx_pattern_quantized_output(const orx_graph *gr, int n);

/* The node making value v, looked for through the ops that carry their
 * input unchanged in kind (a Transpose ONNX Runtime put between Sqrt and
 * Div; a Pad or Reshape before a pool), at most 8 of them; -1 for none. */
int orx_pattern_made_by(const orx_graph *gr, int v);

/* Is node n of gr a division by a square root (LayerNorm's and RMSNorm's
 * written-out form: x / sqrt(var + eps)), or a product with its
 * reciprocal? */
bool orx_pattern_divides_by_root(const orx_graph *gr, int n);

#endif
