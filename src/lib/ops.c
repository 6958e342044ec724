/* What each ONNX op is to the tool: one row per op type, sorted by name
 * (looked up by binary search; a test checks the order). */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

#define T(name) {name, ORX_OP_TRANSPARENT, 0, -1, -1, NULL, NULL, NULL, 0}
#define A(name) {name, ORX_OP_ACTIVATION, 0, -1, -1, NULL, NULL, NULL, 0}
#define P(name) {name, ORX_OP_PATTERN, 0, -1, -1, NULL, NULL, NULL, 0}
#define E(name) {name, ORX_OP_END, 0, -1, -1, NULL, NULL, NULL, 0}
#define N(name, params)                                                      \
	{name, ORX_OP_NORMALIZATION, 0, -1, -1, NULL, NULL, NULL, params}

static const orx_op table[] = {
	T("Add"),
	T("AveragePool"),
	N("BatchNormalization", 4), /* scale, bias, mean, var */
	T("Cast"),
	A("Celu"),
	P("Clip"),      /* at 0: Relu or Relu6 */
	T("Concat"),
	{"Conv", ORX_OP_WEIGHTED, 0x2, 2, 0, NULL, NULL, orx_fans_conv, 0},
	{"ConvTranspose", ORX_OP_WEIGHTED, 0x2, 2, 0, NULL, NULL,
	 orx_fans_conv_transpose, 0},
	T("DepthToSpace"),
	T("Div"),
	T("Dropout"),
	A("Elu"),
	P("Erf"),       /* GELU's erf form */
	T("Expand"),
	T("Flatten"),
	A("Gelu"),
	{"Gemm", ORX_OP_WEIGHTED, 0x3, 2, -1, "transA", "transB",
	 orx_fans_gemm, 0},
	T("GlobalAveragePool"),
	T("GlobalMaxPool"),
	N("GroupNormalization", 2),
	P("HardSigmoid"), /* alone, or HardSwish as x * HardSigmoid(x) */
	A("HardSwish"),
	T("Identity"),
	N("InstanceNormalization", 2),
	N("LayerNormalization", 2),
	A("LeakyRelu"),
	E("LogSoftmax"),
	T("LpPool"),
	{"MatMul", ORX_OP_WEIGHTED, 0x3, -1, -1, NULL, NULL, orx_fans_matmul,
	 0},
	T("MaxPool"),
	A("Mish"),
	P("Mul"),       /* by a constant or a residual; or ends swish, GELU */
	A("PRelu"),
	T("Pad"),
	P("Pow"),       /* x^3: GELU's tanh form */
	A("Relu"),
	T("Reshape"),
	T("Resize"),
	A("Selu"),
	P("Sigmoid"),   /* alone, or Silu as x * Sigmoid(x) */
	T("Slice"),
	E("Softmax"),
	P("Softplus"),  /* alone, or in Mish */
	A("Softsign"),
	T("SpaceToDepth"),
	T("Split"),
	T("Squeeze"),
	T("Sub"),
	A("Tanh"),
	A("ThresholdedRelu"),
	T("Transpose"),
	T("Unsqueeze"),
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
