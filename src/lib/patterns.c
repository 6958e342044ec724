/* Activations and normalizations exporters write out as several ops:
 * GELU as Div, Erf, Add, Mul, Mul (and its tanh form, from x^3); SiLU as
 * x * Sigmoid(x); HardSwish as x * HardSigmoid(x); Mish as
 * x * Tanh(Softplus(x)); ReLU and ReLU6 as Clip at 0; a normalization as
 * a division by a square root. The ops' names are read here, where the
 * patterns are written, and in the op table. */
#include "patterns.h"
#include "constants.h"

#include <math.h>
#include <string.h>

/* Is node the op called op_type of the default domain? */
static bool is(const Onnx__NodeProto *node, const char *op_type)
{
	return node->op_type && !strcmp(node->op_type, op_type) &&
	       (!node->domain || !node->domain[0] ||
		!strcmp(node->domain, "ai.onnx"));
}

/* Is node (Sigmoid, HardSigmoid, Tanh(Softplus)) the gate of x * gate(x):
 * a consumer of its output is Mul whose other input is x? */
static bool gates_its_input(const orx_graph *gr, const Onnx__NodeProto *node,
			    const char *x)
{
	const int *nodes, *slots;
	size_t n;

	if (node->n_output < 1 || !x)
		return false;
	n = orx_graph_consumers(gr, orx_graph_value(gr, node->output[0]),
				&nodes, &slots);
	for (size_t i = 0; i < n; i++) {
		const Onnx__NodeProto *mul = orx_graph_node(gr, nodes[i]);
		if (is(mul, "Mul") && mul->n_input == 2 &&
		    !strcmp(mul->input[1 - slots[i]], x))
			return true;
	}
	return false;
}

/* Mish: x * Tanh(Softplus(x)). */
static bool is_mish(const orx_graph *gr, const Onnx__NodeProto *softplus)
{
	const int *nodes, *slots;
	size_t n;

	if (softplus->n_output < 1 || softplus->n_input < 1)
		return false;
	n = orx_graph_consumers(gr, orx_graph_value(gr, softplus->output[0]),
				&nodes, &slots);
	for (size_t i = 0; i < n; i++) {
		const Onnx__NodeProto *t = orx_graph_node(gr, nodes[i]);
		if (is(t, "Tanh") && gates_its_input(gr, t, softplus->input[0]))
			return true;
	}
	return false;
}

/* For Mul(a, b): is one side Sigmoid or HardSigmoid of the other? */
static const char *swish_tail(const orx_graph *gr, const Onnx__NodeProto *mul)
{
	for (int side = 0; side < 2 && mul->n_input == 2; side++) {
		int p = orx_graph_producer(
			gr, orx_graph_value(gr, mul->input[side]));
		const Onnx__NodeProto *g;
		if (p < 0)
			continue;
		g = orx_graph_node(gr, p);
		if (g->n_input >= 1 &&
		    !strcmp(g->input[0], mul->input[1 - side])) {
			if (is(g, "Sigmoid"))
				return "Silu";
			if (is(g, "HardSigmoid"))
				return "HardSwish";
		}
	}
	return NULL;
}

/* The producer of value name if it is one of ops, else NULL. */
static const Onnx__NodeProto *made_by(const orx_graph *gr, const char *name,
				      const char *const *ops, size_t n_ops)
{
	int p = orx_graph_producer(gr, orx_graph_value(gr, name));

	if (p < 0)
		return NULL;
	for (size_t i = 0; i < n_ops; i++)
		if (is(orx_graph_node(gr, p), ops[i]))
			return orx_graph_node(gr, p);
	return NULL;
}

static const char *const arith[] = {"Add", "Sub", "Mul", "Div"};

/* Does value name come from x through at most hops Add, Sub, Mul or Div
 * nodes (by constants: the other input is not followed)? */
static bool derives_from(const orx_graph *gr, const char *name, const char *x,
			 int hops)
{
	const Onnx__NodeProto *n;

	if (!strcmp(name, x))
		return true;
	if (hops == 0 || !(n = made_by(gr, name, arith, 4)))
		return false;
	for (size_t i = 0; i < n->n_input; i++)
		if (derives_from(gr, n->input[i], x, hops - 1))
			return true;
	return false;
}

/* The last Mul of GELU, x * (1 + erf(x / sqrt 2)) or x * (1 + tanh(..)):
 * one side is x, the other comes from Erf or Tanh of something made from
 * x. */
static bool gelu_tail(const orx_graph *gr, const Onnx__NodeProto *mul)
{
	static const char *const erf[] = {"Erf", "Tanh"};

	for (int side = 0; side < 2 && mul->n_input == 2; side++) {
		const char *x = mul->input[1 - side], *v = mul->input[side];
		const Onnx__NodeProto *n;
		for (int hop = 0; hop < 3; hop++) {
			if ((n = made_by(gr, v, erf, 2)) && n->n_input &&
			    derives_from(gr, n->input[0], x, 6))
				return true;
			if (!(n = made_by(gr, v, arith, 4)) || n->n_input < 1)
				break;
			v = n->input[0];
		}
	}
	return false;
}

/* Clip between lo and hi: at 0 the ReLU family, Relu6 with max 6, Relu
 * without max; else a saturating Clip. */
static const char *clip_between(double lo, double hi)
{
	if (lo != 0)
		return "Clip";
	return hi == 6 ? "Relu6" : isinf(hi) ? "Relu" : "Relu6";
}

/* Clip's bounds are attributes or inputs, as its row says (absent:
 * unbounded). */
static const char *clip_name(const orx_graph *gr, int n)
{
	const Onnx__NodeProto *clip = orx_graph_node(gr, n);
	const orx_op *op = orx_op_of(gr, n);
	double lo = orx_op_attr(op, clip, ORX_ATTR_MIN);
	double hi = orx_op_attr(op, clip, ORX_ATTR_MAX);

	if (orx_op_input(op, 1) == ORX_IN_CONFIG && clip->n_input >= 2 &&
	    clip->input[1][0])
		orx_graph_scalar(&lo, gr, clip->input[1]);
	if (orx_op_input(op, 2) == ORX_IN_CONFIG && clip->n_input >= 3 &&
	    clip->input[2][0])
		orx_graph_scalar(&hi, gr, clip->input[2]);
	return clip_between(lo, hi);
}

/* QuickGelu, x * Sigmoid(alpha x): ONNX Runtime's rewrite of SiLU at
 * alpha 1, GELU's sigmoid approximation at 1.702 (its default). */
static const char *quick_gelu_name(const orx_graph *gr, int n)
{
	double alpha = orx_op_attr(orx_op_of(gr, n), orx_graph_node(gr, n),
				   ORX_ATTR_ALPHA);

	return alpha == 1 ? "Silu" : "Gelu";
}

/* Pow(x, 3): the tanh form of GELU starts with x^3. */
static const char *pow_name(const orx_graph *gr, const Onnx__NodeProto *pow)
{
	double e;

	return pow->n_input == 2 &&
			       orx_graph_scalar(&e, gr, pow->input[1]) ==
				       ORX_OK &&
			       e == 3
		       ? "Gelu"
		       : NULL;
}

/* The range of codes of an integer dtype, false for another. */
static bool code_range(double *lo, double *hi, int dtype)
{
	unsigned bits = orx_dtype_bits(dtype);
	bool sgn = dtype == ORX_DTYPE_INT8 || dtype == ORX_DTYPE_INT16 ||
		   dtype == ORX_DTYPE_INT4;

	if (orx_dtype_is_float(dtype) || bits == 0 || bits > 16 ||
	    dtype == ORX_DTYPE_BOOL || dtype > ORX_DTYPE_INT4 ||
	    (dtype > ORX_DTYPE_BFLOAT16 && dtype < ORX_DTYPE_UINT4))
		return false;
	*lo = sgn ? -ldexp(1, (int)bits - 1) : 0;
	*hi = sgn ? ldexp(1, (int)bits - 1) - 1 : ldexp(1, (int)bits) - 1;
	return true;
}

const char *orx_pattern_quantized_output(const orx_graph *gr, int n)
{
	const orx_op *op = orx_op_of(gr, n);
	int kz = op ? orx_op_input_of_kind(op, ORX_IN_Y_ZERO) : -1;
	int ks = op ? orx_op_input_of_kind(op, ORX_IN_Y_SCALE) : -1;
	int z = kz >= 0 ? orx_graph_input_of(gr, n, (size_t)kz) : -1;
	const Onnx__TensorProto *zt = orx_graph_constant(gr, z), *st;
	double zero = 0, scale, lo = 0, hi = 255; /* absent: uint8, 0 */

	if (kz < 0 || (z < 0 && !is(orx_graph_node(gr, n), "QuantizeLinear")))
		return NULL; /* another op's default is of its input's type */
	if (z >= 0 && (!zt || orx_tensor_proto_scalar(&zero, zt) != ORX_OK ||
		       !code_range(&lo, &hi, zt->data_type)))
		return NULL;
	if (zero != lo)
		return NULL;
	st = ks >= 0 ? orx_graph_constant(gr,
					  orx_graph_input_of(gr, n, (size_t)ks))
		     : NULL;
	if (st && orx_tensor_proto_scalar(&scale, st) == ORX_OK &&
	    fabs(scale * (hi - zero) - 6) <= 6e-4)
		return "Relu6";
	return "Relu";
}

const char *orx_pattern_activation(const orx_graph *gr, int n,
				   orx_pattern_kind kind)
{
	const Onnx__NodeProto *node = orx_graph_node(gr, n);
	const char *x = node->n_input ? node->input[0] : NULL, *tail;

	switch (kind) {
	case ORX_PATTERN_SIGMOID:
		return gates_its_input(gr, node, x) ? "Silu" : "Sigmoid";
	case ORX_PATTERN_HARD_SIGMOID:
		return gates_its_input(gr, node, x) ? "HardSwish"
						    : "HardSigmoid";
	case ORX_PATTERN_SOFTPLUS:
		return is_mish(gr, node) ? "Mish" : "Softplus";
	case ORX_PATTERN_ERF:
		return "Gelu"; /* x * 0.5 * (1 + erf(x / sqrt 2)) */
	case ORX_PATTERN_CLIP: return clip_name(gr, n);
	case ORX_PATTERN_POW: return pow_name(gr, node);
	case ORX_PATTERN_MUL:
		/* the end of x * Sigmoid(x) or of GELU, else by a constant
		 * or a residual */
		tail = swish_tail(gr, node);
		return tail ? tail : gelu_tail(gr, node) ? "Gelu" : "";
	case ORX_PATTERN_QUICK_GELU: return quick_gelu_name(gr, n);
	case ORX_PATTERN_QUANTIZE:
		tail = orx_pattern_quantized_output(gr, n);
		return tail ? tail : "";
	case ORX_PATTERN_NONE: break;
	}
	return NULL;
}

/* Parameter k of the activation op holds in node's attributes (its
 * floats list, or its alpha and beta floats); fallback when absent. */
static double act_param(const orx_op *op, const Onnx__NodeProto *node, size_t k,
			double fallback)
{
	const Onnx__AttributeProto *a;

	if (op->act_params) {
		a = orx_attr_find(node, op->act_params);
		return a && k < a->n_floats ? a->floats[k] : fallback;
	}
	a = orx_attr_find(node, k == 0 ? op->act_alpha : op->act_beta);
	return a && a->has_f ? a->f : fallback;
}

const char *orx_pattern_held_activation(double *alpha, const orx_op *op,
					const Onnx__NodeProto *node)
{
	const Onnx__AttributeProto *a =
		op->act_attr ? orx_attr_find(node, op->act_attr) : NULL;
	const orx_activation *act;
	char name[32];

	*alpha = NAN;
	if (!a || !a->has_s || a->s.len == 0 || a->s.len >= sizeof(name))
		return NULL; /* none held: the op's output is linear */
	memcpy(name, a->s.data, a->s.len);
	name[a->s.len] = '\0';
	if (!strcmp(name, "Clip"))
		return clip_between(act_param(op, node, 0, NAN),
				    act_param(op, node, 1, INFINITY));
	if (!(act = orx_activation_named(name)) || !strcmp(name, "none"))
		return "";
	if (act->alpha)
		*alpha = act_param(op, node, 0, ORX_LEAKY_RELU_ALPHA);
	return act->name;
}

int orx_pattern_made_by(const orx_graph *gr, int v)
{
	int p = orx_graph_producer(gr, v);

	for (int hops = 0; p >= 0 && hops < 8; hops++) {
		const orx_op *op = orx_op_of(gr, p);
		if (!op || !op->carries || orx_graph_node(gr, p)->n_input < 1)
			return p;
		p = orx_graph_producer(gr, orx_graph_input_of(gr, p, 0));
	}
	return p;
}

bool orx_pattern_divides_by_root(const orx_graph *gr, int n)
{
	const Onnx__NodeProto *nd = orx_graph_node(gr, n);
	int p;

	if (is(nd, "Div") && nd->n_input == 2) {
		p = orx_pattern_made_by(gr, orx_graph_input_of(gr, n, 1));
		return p >= 0 && is(orx_graph_node(gr, p), "Sqrt");
	}
	if (is(nd, "Mul") && nd->n_input == 2)
		for (size_t k = 0; k < 2; k++) {
			p = orx_pattern_made_by(gr,
						orx_graph_input_of(gr, n, k));
			if (p >= 0 && is(orx_graph_node(gr, p), "Reciprocal"))
				return true;
		}
	return false;
}
