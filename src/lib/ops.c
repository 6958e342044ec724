/* What each ONNX op is to the tool: one row per op type, sorted by name
 * (looked up by binary search; a test checks the order). */
#include "plan_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define T(name)                                                                \
	{                                                                      \
		.op = name, .cls = ORX_OP_TRANSPARENT                          \
	}
#define A(name)                                                                \
	{                                                                      \
		.op = name, .cls = ORX_OP_ACTIVATION                           \
	}
#define P(name)                                                                \
	{                                                                      \
		.op = name, .cls = ORX_OP_PATTERN                              \
	}
#define E(name)                                                                \
	{                                                                      \
		.op = name, .cls = ORX_OP_END                                  \
	}
#define N(name, params)                                                        \
	{                                                                      \
		.op = name, .cls = ORX_OP_NORMALIZATION, .n_params = params    \
	}
/* transparent, and a constant reaches a layer through it seen by view */
#define V(name, fn)                                                            \
	{                                                                      \
		.op = name, .cls = ORX_OP_TRANSPARENT, .view = fn              \
	}

static const orx_op table[] = {
	{.op = "Add", .cls = ORX_OP_TRANSPARENT, .params = orx_roles_add},
	T("AveragePool"),
	N("BatchNormalization", 4), /* scale, bias, mean, var */
	V("Cast",
	  orx_view_same), /* float16 or bfloat16 storage cast to float */
	A("Celu"),
	P("Clip"), /* at 0: Relu or Relu6 */
	{.op = "Concat",
	 .cls = ORX_OP_TRANSPARENT,
	 .assemble = orx_assemble_concat,
	 .params = orx_roles_concat},
	{.op = "Conv",
	 .cls = ORX_OP_WEIGHTED,
	 .weight_inputs = 0x2,
	 .bias_input = 2,
	 .data_input = 0,
	 .fans = orx_fans_conv},
	{.op = "ConvTranspose",
	 .cls = ORX_OP_WEIGHTED,
	 .weight_inputs = 0x2,
	 .bias_input = 2,
	 .data_input = 0,
	 .fans = orx_fans_conv_transpose},
	T("DepthToSpace"),
	/* opaque to the walk; a weight behind it is quantized: never
	 * rewritten */
	{.op = "DequantizeLinear",
	 .cls = ORX_OP_UNKNOWN,
	 .view = orx_view_same,
	 .quantized = true},
	T("Div"),
	T("Dropout"),
	A("Elu"),
	P("Erf"), /* GELU's erf form */
	T("Expand"),
	V("Flatten", orx_view_flatten),
	{.op = "GRU", .cls = ORX_OP_RECURRENT, .gates = "zrh"},
	/* opaque to the walk; its table, read at data indices, an
	 * embedding */
	{.op = "Gather",
	 .cls = ORX_OP_UNKNOWN,
	 .params = orx_roles_gather,
	 .params_first = true},
	A("Gelu"),
	{.op = "Gemm",
	 .cls = ORX_OP_WEIGHTED,
	 .weight_inputs = 0x3,
	 .bias_input = 2,
	 .data_input = -1,
	 .trans_a = "transA",
	 .trans_b = "transB",
	 .fans = orx_fans_gemm},
	T("GlobalAveragePool"),
	T("GlobalMaxPool"),
	N("GroupNormalization", 2),
	P("HardSigmoid"), /* alone, or HardSwish as x * HardSigmoid(x) */
	A("HardSwish"),
	V("Identity", orx_view_same),
	N("InstanceNormalization", 2),
	{.op = "LSTM",
	 .cls = ORX_OP_RECURRENT,
	 .gates = "iofc",
	 .n_peepholes = 3},
	N("LayerNormalization", 2),
	A("LeakyRelu"),
	E("LogSoftmax"),
	T("LpPool"),
	{.op = "MatMul",
	 .cls = ORX_OP_WEIGHTED,
	 .weight_inputs = 0x3,
	 .bias_input = -1,
	 .data_input = -1,
	 .fans = orx_fans_matmul},
	T("MaxPool"),
	A("Mish"),
	/* by a constant or a residual; or ends swish, GELU */
	{.op = "Mul", .cls = ORX_OP_PATTERN, .params = orx_roles_mul},
	{.op = "PRelu", .cls = ORX_OP_ACTIVATION, .params = orx_roles_prelu},
	T("Pad"),
	P("Pow"), /* x^3: GELU's tanh form */
	{.op = "RNN", .cls = ORX_OP_RECURRENT, .gates = "h"},
	A("Relu"),
	V("Reshape", orx_view_reshape),
	T("Resize"),
	A("Selu"),
	P("Sigmoid"), /* alone, or Silu as x * Sigmoid(x) */
	{.op = "Slice",
	 .cls = ORX_OP_TRANSPARENT,
	 .assemble = orx_assemble_slice},
	E("Softmax"),
	P("Softplus"), /* alone, or in Mish */
	A("Softsign"),
	T("SpaceToDepth"),
	T("Split"),
	V("Squeeze", orx_view_squeeze),
	T("Sub"),
	A("Tanh"),
	A("ThresholdedRelu"),
	{.op = "Transpose",
	 .cls = ORX_OP_TRANSPARENT,
	 .view = orx_view_transpose,
	 .reorders = true},
	V("Unsqueeze", orx_view_unsqueeze),
	T("Upsample"),
};

#define N_OPS (sizeof(table) / sizeof(*table))

static int by_name(const void *key, const void *row)
{
	return strcmp(key, ((const orx_op *)row)->op);
}

const orx_op *orx_op_named(const char *op_type)
{
	return op_type ? bsearch(op_type, table, N_OPS, sizeof(*table), by_name)
		       : NULL;
}

const orx_op *orx_op_of(const Onnx__NodeProto *node)
{
	if (node->domain && node->domain[0] && strcmp(node->domain, "ai.onnx"))
		return NULL;
	return orx_op_named(node->op_type);
}

orx_op_class orx_op_class_of(const Onnx__NodeProto *node)
{
	const orx_op *op = orx_op_of(node);

	return op ? op->cls : ORX_OP_UNKNOWN;
}

const orx_op *orx_op_at(size_t i)
{
	return i < N_OPS ? &table[i] : NULL;
}

/* What an activation (an op, or a pattern the walk names) passes of a
 * zero-mean input's second moment: 1/2 for ReLU and its kin (He et al.
 * 2015: half the input is cut), (1 + alpha^2)/2 for LeakyRelu; 1 for the
 * symmetric ones in their linear regime near 0 (Glorot and Bengio 2010)
 * and for SELU, which keeps it by design; "none" passes it all. */
static const struct {
	const char *activation;
	double factor; /* NAN: (1 + alpha^2) / 2 */
} factors[] = {
	{"Celu", 0.5},	    {"Elu", 0.5},	{"Gelu", 0.5},
	{"HardSwish", 0.5}, {"LeakyRelu", NAN}, {"Mish", 0.5},
	{"PRelu", 0.5},	    {"Relu", 0.5},	{"Relu6", 0.5},
	{"Silu", 0.5},	    {"Softplus", 0.5},	{"ThresholdedRelu", 0.5},
};

double orx_activation_factor(const char *activation, double alpha)
{
	double a = isnan(alpha) ? 0.01 : alpha;

	for (size_t i = 0; i < sizeof(factors) / sizeof(*factors); i++)
		if (!strcmp(factors[i].activation, activation))
			return isnan(factors[i].factor) ? (1 + a * a) / 2
							: factors[i].factor;
	return 1;
}
