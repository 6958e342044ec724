/* What each op is to the tool: one row per (domain, op_type) and opset
 * range, sorted (looked up by binary search; a test checks the order),
 * and the activations the walk names. */
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A row of the default domain from opset 1, of class cls_; each macro
 * takes at least one field after its fixed ones. */
#define ROW(name, cls_, ...)                                                   \
	{                                                                      \
		.domain = "", .op_type = name, .since = 1, .cls = cls_,        \
		__VA_ARGS__                                                    \
	}
#define D ORX_IN_DATA
#define C ORX_IN_CONFIG
#define T(name) ROW(name, ORX_OP_TRANSPARENT, .in = {D})
#define TX(name, ...) ROW(name, ORX_OP_TRANSPARENT, __VA_ARGS__)
#define A(name) ROW(name, ORX_OP_ACTIVATION, .in = {D})
#define P(name, kind) ROW(name, ORX_OP_PATTERN, .in = {D}, .pattern = kind)
#define E(name) ROW(name, ORX_OP_END, .in = {D})
#define N(name, ...) ROW(name, ORX_OP_NORMALIZATION, __VA_ARGS__)
#define O(name, ...) ROW(name, ORX_OP_UNKNOWN, __VA_ARGS__)
/* A row of ONNX Runtime's domain, from its opset 1. */
#define MS(name, cls_, ...)                                                    \
	{                                                                      \
		.domain = "com.microsoft", .op_type = name, .since = 1,        \
		.cls = cls_, __VA_ARGS__                                       \
	}
/* The groups of a layer without them: 1. */
#define NO_GROUP [ORX_ATTR_GROUP] = {NULL, 1}
#define LAYER(name, kind, ...)                                                 \
	ROW(name, ORX_OP_WEIGHTED, .fans = kind, __VA_ARGS__)
#define NORM3 .in = {D, ORX_IN_NORM_SCALE, ORX_IN_NORM_BIAS}
/* Quantized ops: the inputs' and outputs' scales and zero points. */
#define XS ORX_IN_X_SCALE
#define XZ ORX_IN_X_ZERO
#define YS ORX_IN_Y_SCALE
#define YZ ORX_IN_Y_ZERO
#define WS ORX_IN_W_SCALE
#define WZ ORX_IN_W_ZERO
/* An op on quantized data (X, its scale and zero point, ...; Y's scale
 * and zero point): transparent, or a ReLU by its output's zero point. */
#define QT(name, ...)                                                          \
	MS(name, ORX_OP_PATTERN, .pattern = ORX_PATTERN_QUANTIZE, __VA_ARGS__)
#define QLINEAR_UNARY                                                          \
	{                                                                      \
		D, XS, XZ, YS, YZ                                              \
	}
#define QLINEAR_BINARY                                                         \
	{                                                                      \
		D, XS, XZ, D, XS, XZ, YS, YZ                                   \
	}
#define RECURRENT(name, letters, ...)                                          \
	ROW(name, ORX_OP_RECURRENT, .gates = letters,                          \
	    .attr = {[ORX_ATTR_HIDDEN_SIZE] = {"hidden_size", 0}},             \
	    .in = {D, ORX_IN_RNN_W, ORX_IN_RNN_R, ORX_IN_RNN_B, C,             \
		   ORX_IN_STATE, __VA_ARGS__})

static const orx_op table[] = {
	TX("Add", .in = {D, D}, .arith = ORX_ARITH_ADD, .sums = true,
	   .params = ORX_PARAMS_ADD),
	T("AveragePool"),
	N("BatchNormalization", .in = {D, ORX_IN_NORM_SCALE, ORX_IN_NORM_BIAS,
				       ORX_IN_NORM_MEAN, ORX_IN_NORM_VAR}),
	/* float16 or bfloat16 storage cast to float */
	TX("Cast", .in = {D}, .view = ORX_VIEW_SAME, .carries = true,
	   .copies = true),
	A("Celu"),
	/* at 0: Relu or Relu6; bounds as attributes, from opset 11 as
	 * inputs (absent: unbounded) */
	ROW("Clip", ORX_OP_PATTERN, .in = {D}, .pattern = ORX_PATTERN_CLIP,
	    .attr = {[ORX_ATTR_MIN] = {"min", NAN},
		     [ORX_ATTR_MAX] = {"max", INFINITY}}),
	{.domain = "",
	 .op_type = "Clip",
	 .since = 11,
	 .cls = ORX_OP_PATTERN,
	 .in = {D, C, C},
	 .pattern = ORX_PATTERN_CLIP,
	 .attr = {[ORX_ATTR_MIN] = {NULL, NAN},
		  [ORX_ATTR_MAX] = {NULL, INFINITY}}},
	TX("Concat", .in = {D, D}, .assemble = ORX_ASSEMBLE_CONCAT,
	   .params = ORX_PARAMS_CLASS_TOKEN, .joins = true,
	   .attr = {[ORX_ATTR_AXIS] = {"axis", 0}}),
	ROW("Constant", ORX_OP_CONSTANT, .in = {ORX_IN_NONE}),
	LAYER("Conv", ORX_FAN_RULE_CONV, .in = {D, ORX_IN_WEIGHT, ORX_IN_BIAS},
	      .attr = {[ORX_ATTR_GROUP] = {"group", 1},
		       [ORX_ATTR_STRIDES] = {"strides", 1}}),
	/* dynamic quantization: the weight's scale is multiplied in after */
	LAYER("ConvInteger", ORX_FAN_RULE_CONV, .unfused = "Conv",
	      .in = {D, ORX_IN_WEIGHT, XZ, WZ}, .qlayout = ORX_QLAYOUT_CHANNELS,
	      .scale_after = true, .attr = {[ORX_ATTR_GROUP] = {"group", 1}}),
	LAYER("ConvTranspose", ORX_FAN_RULE_CONV_TRANSPOSE,
	      .in = {D, ORX_IN_WEIGHT, ORX_IN_BIAS},
	      .attr = {[ORX_ATTR_GROUP] = {"group", 1},
		       [ORX_ATTR_STRIDES] = {"strides", 1}}),
	T("DepthToSpace"),
	/* a weight behind it is quantized: its codes, its scale (per
	 * tensor, per axis, per block) and zero point */
	TX("DequantizeLinear", .in = {D, WS, WZ}, .view = ORX_VIEW_SAME,
	   .quantized = true, .qlayout = ORX_QLAYOUT_DEQUANTIZE,
	   .carries = true,
	   .attr = {[ORX_ATTR_QUANT_AXIS] = {"axis", 1},
		    [ORX_ATTR_BLOCK_SIZE] = {"block_size", 0}}),
	TX("Div", .in = {D, D}, .arith = ORX_ARITH_DIV),
	TX("Dropout", .in = {D}, .carries = true),
	A("Elu"),
	P("Erf", ORX_PATTERN_ERF), /* GELU's erf form */
	TX("Expand", .in = {D, C}, .carries = true, .broadcasts = true),
	TX("Flatten", .in = {D}, .view = ORX_VIEW_FLATTEN, .carries = true,
	   .attr = {[ORX_ATTR_AXIS] = {"axis", 1}}),
	RECURRENT("GRU", "zrh", ORX_IN_NONE),
	/* opaque to the walk; its table, read at data indices, an
	 * embedding */
	O("Gather", .in = {D, D}, .params = ORX_PARAMS_EMBEDDING,
	  .params_first = true, .carries = true),
	A("Gelu"),
	LAYER("Gemm", ORX_FAN_RULE_GEMM,
	      .in = {ORX_IN_EITHER, ORX_IN_EITHER, ORX_IN_BIAS},
	      .attr = {[ORX_ATTR_TRANS_A] = {"transA", 0},
		       [ORX_ATTR_TRANS_B] = {"transB", 0},
		       NO_GROUP}),
	T("GlobalAveragePool"),
	T("GlobalMaxPool"),
	N("GroupNormalization", NORM3),
	ROW("HardSigmoid", ORX_OP_PATTERN, .in = {D},
	    .pattern = ORX_PATTERN_HARD_SIGMOID, .moment = ORX_MOMENT_GATE),
	A("HardSwish"),
	TX("Identity", .in = {D}, .view = ORX_VIEW_SAME, .carries = true,
	   .copies = true),
	O("If", .in = {C}, .body_outputs = true),
	N("InstanceNormalization", NORM3),
	RECURRENT("LSTM", "iofc", ORX_IN_STATE, ORX_IN_RNN_P),
	N("LayerNormalization", NORM3),
	ROW("LeakyRelu", ORX_OP_ACTIVATION, .in = {D},
	    .attr = {[ORX_ATTR_ALPHA] = {"alpha", ORX_LEAKY_RELU_ALPHA}}),
	E("LogSoftmax"),
	O("Loop", .in = {C, C}),
	T("LpPool"),
	LAYER("MatMul", ORX_FAN_RULE_MATMUL,
	      .in = {ORX_IN_EITHER, ORX_IN_EITHER}, .attr = {NO_GROUP}),
	LAYER("MatMulInteger", ORX_FAN_RULE_MATMUL, .unfused = "MatMul",
	      .in = {D, ORX_IN_WEIGHT, XZ, WZ}, .qlayout = ORX_QLAYOUT_COLUMNS,
	      .scale_after = true, .attr = {NO_GROUP}),
	TX("MaxPool", .in = {D}, .moment = ORX_MOMENT_MAX_POOL,
	   .attr = {[ORX_ATTR_KERNEL] = {"kernel_shape", 1}}),
	A("Mish"),
	/* by a constant or a residual; or ends swish, GELU */
	ROW("Mul", ORX_OP_PATTERN, .in = {D, D}, .pattern = ORX_PATTERN_MUL,
	    .arith = ORX_ARITH_MUL, .params = ORX_PARAMS_MUL,
	    .moment = ORX_MOMENT_MULTIPLY),
	ROW("PRelu", ORX_OP_ACTIVATION, .in = {D, D},
	    .params = ORX_PARAMS_PRELU),
	TX("Pad", .in = {D}, .carries = true),
	P("Pow", ORX_PATTERN_POW), /* x^3: GELU's tanh form */
	LAYER("QLinearConv", ORX_FAN_RULE_CONV, .unfused = "Conv",
	      .in = {D, XS, XZ, ORX_IN_WEIGHT, WS, WZ, YS, YZ, ORX_IN_BIAS},
	      .qlayout = ORX_QLAYOUT_CHANNELS,
	      .attr = {[ORX_ATTR_GROUP] = {"group", 1}}),
	LAYER("QLinearMatMul", ORX_FAN_RULE_MATMUL, .unfused = "MatMul",
	      .in = {D, XS, XZ, ORX_IN_WEIGHT, WS, WZ, YS, YZ},
	      .qlayout = ORX_QLAYOUT_COLUMNS, .attr = {NO_GROUP}),
	ROW("QuantizeLinear", ORX_OP_PATTERN, .pattern = ORX_PATTERN_QUANTIZE,
	    .in = {D, YS, YZ}, .carries = true),
	RECURRENT("RNN", "h", ORX_IN_NONE),
	A("Relu"),
	TX("Reshape", .in = {D, C}, .view = ORX_VIEW_RESHAPE, .carries = true,
	   .attr = {[ORX_ATTR_ALLOWZERO] = {"allowzero", 0}}),
	T("Resize"),
	O("Scan", .in = {D}),
	A("Selu"),
	ROW("Sigmoid", ORX_OP_PATTERN, .in = {D},
	    .pattern = ORX_PATTERN_SIGMOID, .moment = ORX_MOMENT_GATE),
	/* ONNX Runtime's RMSNorm (registered in the default domain) */
	N("SimplifiedLayerNormalization", .in = {D, ORX_IN_NORM_SCALE}),
	/* starts and ends as attributes before opset 10 */
	TX("Slice", .in = {D}, .assemble = ORX_ASSEMBLE_SLICE_ATTRS,
	   .carries = true),
	{.domain = "",
	 .op_type = "Slice",
	 .since = 10,
	 .cls = ORX_OP_TRANSPARENT,
	 .in = {D, C, C, C, C},
	 .assemble = ORX_ASSEMBLE_SLICE,
	 .carries = true},
	E("Softmax"),
	P("Softplus", ORX_PATTERN_SOFTPLUS),
	A("Softsign"),
	T("SpaceToDepth"),
	T("Split"),
	TX("Squeeze", .in = {D}, .view = ORX_VIEW_SQUEEZE, .carries = true),
	TX("Sub", .in = {D, D}, .arith = ORX_ARITH_SUB),
	/* opaque to the walk; a residual sum where two inputs are signals */
	O("Sum", .in = {D, D}, .sums = true),
	A("Tanh"),
	A("ThresholdedRelu"),
	TX("Transpose", .in = {D}, .view = ORX_VIEW_TRANSPOSE, .reorders = true,
	   .carries = true),
	TX("Unsqueeze", .in = {D}, .view = ORX_VIEW_UNSQUEEZE, .carries = true),
	T("Upsample"),

	/* ONNX Runtime's contrib operators (its docs/ContribOperators.md),
	 * as its optimizer and its transformer tools write them */
	MS("Attention", ORX_OP_WEIGHTED, .fans = ORX_FAN_RULE_MATMUL,
	   .blocks = ORX_BLOCKS_QKV_COLUMNS,
	   .in = {D, ORX_IN_WEIGHT, ORX_IN_BIAS, C, ORX_IN_STATE, ORX_IN_BUFFER,
		  C},
	   .attr = {NO_GROUP, [ORX_ATTR_NUM_HEADS] = {"num_heads", 0}}),
	/* X + bias + skip: the bias of the layer that made X; a residual */
	MS("BiasAdd", ORX_OP_TRANSPARENT, .sums = true,
	   .in = {D, ORX_IN_LAYER_BIAS, D}),
	MS("BiasGelu", ORX_OP_ACTIVATION, .activation = "Gelu",
	   .in = {D, ORX_IN_LAYER_BIAS}),
	/* softmax(scores + mask) */
	MS("BiasSoftmax", ORX_OP_END, .in = {D, ORX_IN_BUFFER}),
	MS("DequantizeLinear", ORX_OP_TRANSPARENT, .in = {D, WS, WZ},
	   .view = ORX_VIEW_SAME, .quantized = true,
	   .qlayout = ORX_QLAYOUT_DEQUANTIZE, .carries = true,
	   .attr = {[ORX_ATTR_QUANT_AXIS] = {"axis", 1},
		    [ORX_ATTR_BLOCK_SIZE] = {NULL, 0}}),
	/* MatMul with B quantized per tensor or per column, a float bias */
	MS("DynamicQuantizeMatMul", ORX_OP_WEIGHTED,
	   .fans = ORX_FAN_RULE_MATMUL, .unfused = "MatMul",
	   .in = {D, ORX_IN_WEIGHT, WS, WZ, ORX_IN_BIAS},
	   .qlayout = ORX_QLAYOUT_COLUMNS, .attr = {NO_GROUP}),
	/* BERT's embeddings, summed and normalized */
	MS("EmbedLayerNormalization", ORX_OP_NORMALIZATION,
	   .in = {C, C, ORX_IN_EMBEDDING, ORX_IN_POSITION, ORX_IN_EMBEDDING,
		  ORX_IN_NORM_SCALE, ORX_IN_NORM_BIAS, C, C}),
	MS("FastGelu", ORX_OP_ACTIVATION, .activation = "Gelu",
	   .in = {D, ORX_IN_LAYER_BIAS}),
	/* act(Conv(X, W, B) + Z) */
	MS("FusedConv", ORX_OP_WEIGHTED, .fans = ORX_FAN_RULE_CONV,
	   .unfused = "Conv", .act_attr = "activation",
	   .act_params = "activation_params",
	   .in = {D, ORX_IN_WEIGHT, ORX_IN_BIAS, ORX_IN_SUM},
	   .attr = {[ORX_ATTR_GROUP] = {"group", 1}}),
	MS("FusedGemm", ORX_OP_WEIGHTED, .fans = ORX_FAN_RULE_GEMM,
	   .unfused = "Gemm", .act_attr = "activation",
	   .act_alpha = "activation_alpha", .act_beta = "activation_beta",
	   .in = {ORX_IN_EITHER, ORX_IN_EITHER, ORX_IN_BIAS},
	   .attr = {[ORX_ATTR_TRANS_A] = {"transA", 0},
		    [ORX_ATTR_TRANS_B] = {"transB", 0},
		    NO_GROUP}),
	MS("FusedMatMul", ORX_OP_WEIGHTED, .fans = ORX_FAN_RULE_MATMUL,
	   .unfused = "MatMul", .in = {ORX_IN_EITHER, ORX_IN_EITHER},
	   .attr = {[ORX_ATTR_TRANS_A] = {"transA", 0},
		    [ORX_ATTR_TRANS_B] = {"transB", 0},
		    [ORX_ATTR_TRANS_BATCH_A] = {"transBatchA", 0},
		    [ORX_ATTR_TRANS_BATCH_B] = {"transBatchB", 0},
		    NO_GROUP}),
	MS("FusedMatMulActivation", ORX_OP_WEIGHTED,
	   .fans = ORX_FAN_RULE_MATMUL, .unfused = "MatMul",
	   .act_attr = "activation", .act_alpha = "activation_alpha",
	   .act_beta = "activation_beta", .in = {ORX_IN_EITHER, ORX_IN_EITHER},
	   .attr = {[ORX_ATTR_TRANS_A] = {"transA", 0},
		    [ORX_ATTR_TRANS_B] = {"transB", 0},
		    [ORX_ATTR_TRANS_BATCH_A] = {"transBatchA", 0},
		    [ORX_ATTR_TRANS_BATCH_B] = {"transBatchB", 0},
		    NO_GROUP}),
	/* an embedding table quantized in blocks along quantize_axis */
	MS("GatherBlockQuantized", ORX_OP_UNKNOWN, .in = {D, D, WS, WZ},
	   .params = ORX_PARAMS_EMBEDDING, .params_first = true,
	   .qlayout = ORX_QLAYOUT_GATHER, .carries = true,
	   .attr = {[ORX_ATTR_QUANT_AXIS] = {"quantize_axis", 1},
		    [ORX_ATTR_BLOCK_SIZE] = {"block_size", 128},
		    [ORX_ATTR_BITS] = {"bits", 4},
		    [ORX_ATTR_GATHER_AXIS] = {"gather_axis", 0}}),
	MS("Gelu", ORX_OP_ACTIVATION, .in = {D}),
	/* attention over projections made before it; its rotary caches are
	 * buffers */
	MS("GroupQueryAttention", ORX_OP_END,
	   .in = {D, D, D, ORX_IN_STATE, ORX_IN_STATE, C, C, ORX_IN_BUFFER,
		  ORX_IN_BUFFER, C, ORX_IN_BUFFER}),
	/* MatMul with B [K, N] in blocks of 2, 4 or 8 bits along K */
	MS("MatMulNBits", ORX_OP_WEIGHTED, .fans = ORX_FAN_RULE_MATMUL,
	   .unfused = "MatMul",
	   .in = {D, ORX_IN_WEIGHT, WS, WZ, C, ORX_IN_BIAS},
	   .qlayout = ORX_QLAYOUT_NBITS,
	   .attr = {NO_GROUP, [ORX_ATTR_K] = {"K", 0}, [ORX_ATTR_N] = {"N", 0},
		    [ORX_ATTR_BITS] = {"bits", 4},
		    [ORX_ATTR_BLOCK_SIZE] = {"block_size", 0}}),
	/* its bias: the Q, K and V projections' biases, packed */
	MS("MultiHeadAttention", ORX_OP_END,
	   .in = {D, D, D, ORX_IN_BIAS, C, ORX_IN_BUFFER, ORX_IN_STATE,
		  ORX_IN_STATE, C, C}),
	/* NHWC data, the weight in Conv's layout */
	MS("NhwcConv", ORX_OP_WEIGHTED, .fans = ORX_FAN_RULE_CONV,
	   .unfused = "Conv", .in = {D, ORX_IN_WEIGHT, ORX_IN_BIAS},
	   .attr = {[ORX_ATTR_GROUP] = {"group", 1}}),
	MS("NhwcFusedConv", ORX_OP_WEIGHTED, .fans = ORX_FAN_RULE_CONV,
	   .unfused = "Conv", .act_attr = "activation",
	   .act_params = "activation_params",
	   .in = {D, ORX_IN_WEIGHT, ORX_IN_BIAS, ORX_IN_SUM},
	   .attr = {[ORX_ATTR_GROUP] = {"group", 1}}),
	/* its int32 bias C is scaled by alpha * a_scale * b_scale */
	MS("QGemm", ORX_OP_WEIGHTED, .fans = ORX_FAN_RULE_GEMM,
	   .unfused = "Gemm",
	   .in = {D, XS, XZ, ORX_IN_WEIGHT, WS, WZ, ORX_IN_BIAS, YS, YZ},
	   .qlayout = ORX_QLAYOUT_COLUMNS,
	   .attr = {[ORX_ATTR_TRANS_A] = {"transA", 0},
		    [ORX_ATTR_TRANS_B] = {"transB", 0},
		    [ORX_ATTR_GEMM_ALPHA] = {"alpha", 1},
		    NO_GROUP}),
	QT("QLinearAdd", .in = QLINEAR_BINARY, .sums = true),
	QT("QLinearAveragePool", .in = QLINEAR_UNARY),
	QT("QLinearConcat", .in = {YS, YZ, D, XS, XZ, D, XS, XZ, D, XS, XZ, D},
	   .joins = true),
	QT("QLinearGlobalAveragePool", .in = QLINEAR_UNARY),
	MS("QLinearLeakyRelu", ORX_OP_ACTIVATION, .activation = "LeakyRelu",
	   .in = QLINEAR_UNARY,
	   .attr = {[ORX_ATTR_ALPHA] = {"alpha", ORX_LEAKY_RELU_ALPHA}}),
	QT("QLinearMul", .in = QLINEAR_BINARY),
	QT("QLinearReduceMean", .in = QLINEAR_UNARY),
	MS("QLinearSigmoid", ORX_OP_ACTIVATION, .activation = "Sigmoid",
	   .in = QLINEAR_UNARY),
	MS("QLinearSoftmax", ORX_OP_END, .in = QLINEAR_UNARY),
	QT("QuantizeLinear", .in = {D, YS, YZ}, .carries = true),
	MS("QuickGelu", ORX_OP_PATTERN, .pattern = ORX_PATTERN_QUICK_GELU,
	   .in = {D}, .attr = {[ORX_ATTR_ALPHA] = {"alpha", 1.702}}),
	MS("RotaryEmbedding", ORX_OP_TRANSPARENT,
	   .in = {D, C, ORX_IN_BUFFER, ORX_IN_BUFFER}),
	/* LayerNorm(input + skip + bias): bias is the layer's that made
	 * input */
	MS("SkipLayerNormalization", ORX_OP_NORMALIZATION, .sums = true,
	   .in = {D, D, ORX_IN_NORM_SCALE, ORX_IN_NORM_BIAS,
		  ORX_IN_LAYER_BIAS}),
	MS("SkipSimplifiedLayerNormalization", ORX_OP_NORMALIZATION,
	   .sums = true, .in = {D, D, ORX_IN_NORM_SCALE, ORX_IN_LAYER_BIAS}),

	/* level all's layout-specific ops: not a shipping format */
	{.domain = "com.microsoft.nchwc",
	 .op_type = "Conv",
	 .since = 1,
	 .cls = ORX_OP_UNKNOWN,
	 .in = {D, ORX_IN_WEIGHT, ORX_IN_BIAS, ORX_IN_SUM},
	 .skip_reason = "a weight in ONNX Runtime's NCHWc layout (optimization "
			"level all, not a shipping format): never guessed"},
	{.domain = "com.microsoft.nchwc",
	 .op_type = "ReorderInput",
	 .since = 1,
	 .cls = ORX_OP_TRANSPARENT,
	 .in = {D}},
	{.domain = "com.microsoft.nchwc",
	 .op_type = "ReorderOutput",
	 .since = 1,
	 .cls = ORX_OP_TRANSPARENT,
	 .in = {D}},
};

#define N_OPS (sizeof(table) / sizeof(*table))

/* NULL, "" and "ai.onnx" are the default domain. */
static const char *domain_of(const char *domain)
{
	return !domain || !strcmp(domain, "ai.onnx") ? "" : domain;
}

/* Order of rows: domain, then op_type, then since. */
static int compare_key(const char *domain, const char *op_type,
		       const orx_op *row)
{
	int c = strcmp(domain, row->domain);

	return c ? c : strcmp(op_type, row->op_type);
}

const orx_op *orx_op_find(const char *domain, const char *op_type,
			  int64_t version)
{
	size_t lo = 0, hi = N_OPS;
	const orx_op *found = NULL;

	if (!op_type)
		return NULL;
	domain = domain_of(domain);
	while (lo < hi) { /* the first row of (domain, op_type) or after */
		size_t mid = lo + (hi - lo) / 2;
		if (compare_key(domain, op_type, &table[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < N_OPS && !compare_key(domain, op_type, &table[lo]); lo++)
		if (table[lo].since <= version)
			found = &table[lo]; /* the newest that holds */
	return found;
}

/* Per node, the row's index + 1 (NO_ROW: none), found once. */
#define NO_ROW UINT16_MAX

const orx_op *orx_op_of(const orx_graph *gr, int n)
{
	uint16_t *tag = orx_graph_node_tags(gr) + n;

	if (!*tag) {
		const Onnx__NodeProto *node = orx_graph_node(gr, n);
		const orx_op *op = orx_op_find(
			node->domain, node->op_type,
			orx_graph_opset(gr, domain_of(node->domain)));
		*tag = op ? (uint16_t)(op - table + 1) : NO_ROW;
	}
	return *tag == NO_ROW ? NULL : &table[*tag - 1];
}

orx_op_class orx_op_class_at(const orx_graph *gr, int n)
{
	const orx_op *op = orx_op_of(gr, n);

	return op ? op->cls : ORX_OP_UNKNOWN;
}

bool orx_op_is_constant(const Onnx__NodeProto *node)
{
	const orx_op *op =
		orx_op_find(node->domain, node->op_type, ORX_OPSET_LATEST);

	return op && op->cls == ORX_OP_CONSTANT;
}

orx_input_kind orx_op_input(const orx_op *op, size_t k)
{
	return k < ORX_OP_INPUTS ? (orx_input_kind)op->in[k] : ORX_IN_NONE;
}

int orx_op_input_of_kind(const orx_op *op, orx_input_kind kind)
{
	for (int k = 0; k < ORX_OP_INPUTS; k++)
		if (op->in[k] == kind)
			return k;
	return -1;
}

int orx_op_data_input(const orx_op *op, int weight)
{
	int data = orx_op_input_of_kind(op, ORX_IN_DATA);
	int either = orx_op_input_of_kind(op, ORX_IN_EITHER);

	if (data >= 0 || either < 0)
		return data;
	return weight == either ? either + 1 : either;
}

double orx_op_attr(const orx_op *op, const Onnx__NodeProto *node,
		   orx_attr_meaning m)
{
	const orx_attr_default *a = &op->attr[m];

	if (!a->name)
		return a->fallback;
	for (size_t i = 0; i < node->n_attribute; i++) {
		const Onnx__AttributeProto *at = node->attribute[i];
		if (!at->name || strcmp(at->name, a->name))
			continue;
		if (at->has_i)
			return (double)at->i;
		if (at->has_f)
			return at->f;
		if (at->n_ints) { /* a list: the product of its values */
			double p = 1;
			for (size_t k = 0; k < at->n_ints; k++)
				p *= (double)at->ints[k];
			return p;
		}
	}
	return a->fallback;
}

int64_t orx_op_attr_count(const orx_op *op, const Onnx__NodeProto *node,
			  orx_attr_meaning m)
{
	double v = orx_op_attr(op, node, m);

	return v >= 1 && v <= 9007199254740992.0 ? (int64_t)v : 1;
}

const char *orx_op_name(const orx_op *op, char *buf, size_t size)
{
	if (!op->domain[0])
		return op->op_type;
	snprintf(buf, size, "%s.%s", op->domain, op->op_type);
	return buf;
}

const orx_op *orx_op_named(const char *name)
{
	const char *dot = name ? strrchr(name, '.') : NULL;
	char domain[128];

	if (!dot)
		return orx_op_find("", name, ORX_OPSET_LATEST);
	if ((size_t)(dot - name) >= sizeof(domain))
		return NULL;
	memcpy(domain, name, (size_t)(dot - name));
	domain[dot - name] = '\0';
	return domain[0] ? orx_op_find(domain, dot + 1, ORX_OPSET_LATEST)
			 : NULL;
}

const orx_op *orx_op_at(size_t i)
{
	return i < N_OPS ? &table[i] : NULL;
}

/*** @@ACTIVATIONS: what the walk names, and what each passes ***/

static const orx_activation activations[] = {
	{"none", 1, false, 1},
	{"Celu", 0.5, false, 1.277960075}, /* alpha 1: as ELU */
	{"Clip", 1, false, 1},		   /* bounded, not at 0 */
	{"Elu", 0.5, false, 1.277960075},
	{"Gelu", 0.5, false, 1.468011261},
	{"HardSigmoid", 1, false, 1},
	{"HardSwish", 0.5, false, 1.567183835},
	{"LeakyRelu", NAN, true, NAN},
	{"Mish", 0.5, false, 1.451491240},
	{"PRelu", 0.5, false, 1.371988681},	  /* slopes at 0.25 (PyTorch) */
	{"Relu", 0.5, false, 1.4142135623730951}, /* sqrt 2 */
	{"Relu6", 0.5, false, 1.414243430},
	{"Selu", 1, false, 1}, /* keeps it by design */
	{"Sigmoid", 1, false, 1},
	{"Silu", 0.5, false, 1.558759930},
	{"Softplus", 0.5, false, 1.083121882},
	{"Softsign", 1, false, 1},
	{"Tanh", 1, false, 1},
	{"ThresholdedRelu", 0.5, false, 1.468959030}, /* theta 1 */
};

#define N_ACTIVATIONS (sizeof(activations) / sizeof(*activations))

const orx_activation *orx_activation_named(const char *name)
{
	for (size_t i = 0; name && i < N_ACTIVATIONS; i++)
		if (!strcmp(activations[i].name, name))
			return &activations[i];
	return NULL;
}

const orx_activation *orx_activation_at(size_t i)
{
	return i < N_ACTIVATIONS ? &activations[i] : NULL;
}

/* The row of activation name (NULL: none), *alpha given its default. */
static const orx_activation *with_alpha(const char *name, double *alpha)
{
	if (isnan(*alpha))
		*alpha = ORX_LEAKY_RELU_ALPHA;
	return orx_activation_named(name);
}

double orx_activation_gain(const char *name, double alpha)
{
	const orx_activation *a = with_alpha(name, &alpha);

	return !a		? 1
	       : isnan(a->keep) ? sqrt(2 / (1 + alpha * alpha))
				: a->keep;
}

double orx_activation_factor(const char *name, double alpha)
{
	const orx_activation *a = with_alpha(name, &alpha);

	return !a ? 1 : isnan(a->factor) ? (1 + alpha * alpha) / 2 : a->factor;
}
