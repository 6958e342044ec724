/* Internal: what each op is to the tool (ops.c), one row per (domain,
 * op_type) and opset range, and the activations the walk names.
 *
 * A row says everything the tool knows of an op: its class for the walk,
 * what each input holds, the attributes read and their defaults, how an
 * activation held in attributes is read, and which view, assembly, fan
 * rule, pattern and structural parameters apply to it. Those last are
 * kinds: the file that acts on them holds the function for each kind
 * (view.c, assemble.c, fans.c, patterns.c, roles.c), so the table depends
 * on no file above the graph index and every file may read it. A new kind
 * of layer is a new row. */
#ifndef ORX_OPS_H
#define ORX_OPS_H

#include "graph.h"

/* The op's class for the planner and the downstream walk. */
typedef enum {
	ORX_OP_UNKNOWN,	      /* not in the table: an opaque end of a walk */
	ORX_OP_TRANSPARENT,   /* does not decide the nonlinearity: walk on */
	ORX_OP_NORMALIZATION, /* transparent to the walk; has parameters */
	ORX_OP_ACTIVATION,    /* ends a walk with its name */
	ORX_OP_WEIGHTED,      /* a layer: ends a walk with "none" */
	ORX_OP_END,	      /* Softmax and kin: ends a walk with "none" */
	ORX_OP_PATTERN,	  /* a pattern of several ops decides (patterns.c) */
	ORX_OP_RECURRENT, /* LSTM, GRU, RNN: a layer of gate blocks (ends a
			     walk with "none") */
	ORX_OP_CONSTANT	  /* holds a constant in an attribute (opaque to
			     the walk, as UNKNOWN) */
} orx_op_class;

/* What an input of an op holds. */
typedef enum {
	ORX_IN_NONE,   /* no such input */
	ORX_IN_DATA,   /* the signal */
	ORX_IN_EITHER, /* the weight when it comes from a constant (B first),
			  else the signal: Gemm's and MatMul's A and B */
	ORX_IN_WEIGHT,
	ORX_IN_BIAS,
	ORX_IN_NORM_SCALE,
	ORX_IN_NORM_BIAS,
	ORX_IN_NORM_MEAN,
	ORX_IN_NORM_VAR,
	ORX_IN_RNN_W,	   /* a recurrent layer's input weight, [D, G*H, I] */
	ORX_IN_RNN_R,	   /* its recurrent weight, [D, G*H, H] */
	ORX_IN_RNN_B,	   /* its biases Wb and Rb, [D, 2*G*H] */
	ORX_IN_RNN_P,	   /* LSTM's peepholes, [D, 3*H] */
	ORX_IN_STATE,	   /* a recurrent layer's initial state: a buffer */
	ORX_IN_CONFIG,	   /* a shape, axes, bounds, sizes: never a parameter */
	ORX_IN_SUM,	   /* a signal added to the layer's output before its
			      activation (FusedConv's Z): a residual sum */
	ORX_IN_LAYER_BIAS, /* the bias of the layer whose output comes in on
			      the op's first input (FastGelu's, SkipLayer-
			      Normalization's: ONNX Runtime folded it in) */
	ORX_IN_BUFFER,	   /* a constant here is a buffer, kept (rotary
			      caches, attention biases) */
	ORX_IN_EMBEDDING,  /* a table read at data indices */
	ORX_IN_POSITION,   /* a learned position table */
	ORX_IN_W_SCALE,	   /* a quantized weight's scale */
	ORX_IN_W_ZERO,	   /* its zero point */
	ORX_IN_X_SCALE,	   /* the input's scale: a quantized bias's is it
			      times the weight's */
	ORX_IN_X_ZERO,	   /* the input's zero point */
	ORX_IN_Y_SCALE,	   /* the output's scale */
	ORX_IN_Y_ZERO	   /* the output's zero point: at its type's
			      minimum, the output is a ReLU's */
} orx_input_kind;

#define ORX_OP_INPUTS 12

/* The attributes the tool reads, by what they mean; a row names the ones
 * its op has (or, with a NULL name, only gives the default where the op
 * takes the value from an input or not at all). */
typedef enum {
	ORX_ATTR_TRANS_A,	/* Gemm: A transposed */
	ORX_ATTR_TRANS_B,	/* Gemm: B transposed */
	ORX_ATTR_GROUP,		/* Conv, ConvTranspose: groups */
	ORX_ATTR_ALPHA,		/* an activation's slope (LeakyRelu) */
	ORX_ATTR_AXIS,		/* Flatten, Concat */
	ORX_ATTR_ALLOWZERO,	/* Reshape: 0 is a size, not a copy */
	ORX_ATTR_MIN,		/* Clip's bounds (attributes before opset 11) */
	ORX_ATTR_MAX,		/* NAN / INFINITY: unbounded */
	ORX_ATTR_HIDDEN_SIZE,	/* LSTM, GRU, RNN; 0: taken from R's shape */
	ORX_ATTR_TRANS_BATCH_A, /* FusedMatMul: A's batch axes moved */
	ORX_ATTR_TRANS_BATCH_B,
	ORX_ATTR_NUM_HEADS,  /* Attention */
	ORX_ATTR_QUANT_AXIS, /* the axis of a weight's scales */
	ORX_ATTR_BLOCK_SIZE, /* codes per scale along it (0: per axis) */
	ORX_ATTR_BITS,	     /* MatMulNBits, GatherBlockQuantized */
	ORX_ATTR_K,	     /* MatMulNBits: the weight's [K, N] */
	ORX_ATTR_N,
	ORX_ATTR_GATHER_AXIS, /* GatherBlockQuantized */
	ORX_ATTR_GEMM_ALPHA,  /* QGemm: a quantized bias's scale's factor */
	ORX_ATTR_STRIDES, /* Conv, ConvTranspose: the product of its strides (a
			     list attribute reads as its values'
			     product) */
	ORX_ATTR_KERNEL,  /* MaxPool: the product of its kernel's sizes */
	ORX_N_ATTRS
} orx_attr_meaning;

typedef struct {
	const char *name; /* NULL: the op has no such attribute */
	double fallback;  /* its value when absent */
} orx_attr_default;

/* How a constant reaching a layer through the op's input 0 is seen at
 * its output (view.c). */
typedef enum {
	ORX_VIEW_NONE, /* it is not followed: the trace stops */
	ORX_VIEW_SAME,
	ORX_VIEW_TRANSPOSE,
	ORX_VIEW_RESHAPE,
	ORX_VIEW_SQUEEZE,
	ORX_VIEW_UNSQUEEZE,
	ORX_VIEW_FLATTEN
} orx_view_kind;

/* How the op assembles its output from pieces of its inputs' constants
 * (assemble.c). */
typedef enum {
	ORX_ASSEMBLE_NONE,
	ORX_ASSEMBLE_SLICE_ATTRS, /* bounds as attributes: not followed */
	ORX_ASSEMBLE_SLICE,
	ORX_ASSEMBLE_CONCAT
} orx_assemble_kind;

/* The fan rule of a weighted op (fans.c). */
typedef enum {
	ORX_FAN_RULE_NONE,
	ORX_FAN_RULE_GEMM,
	ORX_FAN_RULE_MATMUL,
	ORX_FAN_RULE_CONV,
	ORX_FAN_RULE_CONV_TRANSPOSE
} orx_fan_rule;

/* Which activation an ORX_OP_PATTERN node is part of (patterns.c). */
typedef enum {
	ORX_PATTERN_NONE,
	ORX_PATTERN_SIGMOID,	  /* alone, or Silu as x * Sigmoid(x) */
	ORX_PATTERN_HARD_SIGMOID, /* alone, or HardSwish as x * HardSigmoid(x)
				   */
	ORX_PATTERN_SOFTPLUS,	  /* alone, or in Mish: x * Tanh(Softplus(x)) */
	ORX_PATTERN_ERF,	  /* GELU's erf form */
	ORX_PATTERN_CLIP,	  /* at 0: Relu or Relu6 */
	ORX_PATTERN_POW,	  /* x^3: GELU's tanh form */
	ORX_PATTERN_MUL,	  /* ends swish or GELU; else by a constant or
				     a residual */
	ORX_PATTERN_QUICK_GELU,	  /* x * Sigmoid(alpha x): SiLU at alpha 1,
				     GELU's approximation at 1.702 */
	ORX_PATTERN_QUANTIZE	  /* quantizes its output: a ReLU where the
				     output's zero point is its type's
				     minimum (Relu6 where the scale ends
				     the range at 6), else transparent */
} orx_pattern_kind;

/* How a layer's weight divides into blocks, each a layer of its own. */
typedef enum {
	ORX_BLOCKS_NONE,
	ORX_BLOCKS_QKV_COLUMNS /* [in, q + k + v]: Q, K and V projections
				  side by side (Attention), their widths
				  from qkv_hidden_sizes or a third each */
} orx_blocks_kind;

/* Where a quantized layer's weight scales are, against the weight as the
 * layer sees it (its float twin; qform.c). */
typedef enum {
	ORX_QLAYOUT_NONE,
	ORX_QLAYOUT_DEQUANTIZE, /* DequantizeLinear's: its axis, block_size */
	ORX_QLAYOUT_CHANNELS,	/* per output channel, axis 0 (QLinearConv) */
	ORX_QLAYOUT_COLUMNS,	/* per column of B: its last axis, 0 when
				   transposed (QGemm, QLinearMatMul) */
	ORX_QLAYOUT_NBITS,	/* MatMulNBits: [K, N] in blocks along K */
	ORX_QLAYOUT_GATHER	/* GatherBlockQuantized: quantize_axis */
} orx_qlayout;

/* The parameters a node holds by the graph's structure (roles.c). */
typedef enum {
	ORX_PARAMS_NONE,
	ORX_PARAMS_EMBEDDING,  /* its table, read at data indices */
	ORX_PARAMS_PRELU,      /* its slope */
	ORX_PARAMS_ADD,	       /* positions, norm biases, masks */
	ORX_PARAMS_MUL,	       /* norm scales, layer scales, windows */
	ORX_PARAMS_CLASS_TOKEN /* a constant in front of the sequence */
} orx_params_kind;

/* What an op does to the second moment of the signal (gains.c). */
typedef enum {
	ORX_MOMENT_KEEPS,    /* as the table's class says */
	ORX_MOMENT_MAX_POOL, /* max over ORX_ATTR_KERNEL elements */
	ORX_MOMENT_GATE,     /* values in (0, 1) that multiply a signal
			(Sigmoid, HardSigmoid): a squeeze-and-excite
			gate when they multiply another signal */
	ORX_MOMENT_MULTIPLY  /* multiplies its inputs (Mul): by a gate, the
			      gate's square, about 1/4 */
} orx_moment_kind;

/* Elementwise arithmetic: the other input is a constant or a signal. */
typedef enum {
	ORX_ARITH_NONE,
	ORX_ARITH_ADD,
	ORX_ARITH_SUB,
	ORX_ARITH_MUL,
	ORX_ARITH_DIV
} orx_arith_kind;

typedef struct {
	const char *domain;  /* "" for the default domain (ai.onnx) */
	const char *op_type; /* rows sorted by domain, op_type, since */
	int since;	     /* the first opset version the row holds for,
				up to the next row of the same op */
	orx_op_class cls;
	uint8_t in[ORX_OP_INPUTS]; /* orx_input_kind of each input */
	orx_attr_default attr[ORX_N_ATTRS];
	/* ORX_OP_ACTIVATION: what the walk names it (NULL: op_type) */
	const char *activation;
	/* an activation held in attributes (a fused op's): the string
	 * attribute naming it, and its parameters (alpha; Clip's min and
	 * max; HardSigmoid's alpha and beta): the floats of act_params, or
	 * the floats act_alpha and act_beta */
	const char *act_attr, *act_params, *act_alpha, *act_beta;
	/* a fused op: the ONNX op it computes (rules' op= matches either) */
	const char *unfused;
	orx_blocks_kind blocks;
	/* its weights are in a layout the tool does not map: they are
	 * listed as left alone, with this reason */
	const char *skip_reason;
	orx_view_kind view;
	bool quantized;	     /* what comes through is a quantized weight */
	orx_qlayout qlayout; /* where a quantized weight's scales are */
	bool scale_after;    /* the weight's scale is multiplied in after
				the op (MatMulInteger, ConvInteger) */
	bool reorders;	     /* its view changes the elements' order */
	orx_assemble_kind assemble;
	orx_fan_rule fans;
	orx_pattern_kind pattern;
	orx_params_kind params;
	bool params_first; /* claimed before the layers (an embedding tied
			      to an output projection is an embedding) */
	const char *gates; /* ORX_OP_RECURRENT: one letter per gate, in
			      ONNX's order */
	orx_arith_kind arith;
	bool sums;	 /* adds its inputs: with two signals, a residual */
	bool carries;	 /* its output carries input 0's signal, unchanged
			    in kind (where a value comes from) */
	bool joins;	 /* concatenates its inputs */
	bool broadcasts; /* expands input 0 to a shape */
	bool copies;	 /* its output is input 0's values (a scalar is
			    read through it) */
	/* what it does to the second moment of the signal it passes
	 * (gains.c): a max pool raises it, a gate lowers it */
	orx_moment_kind moment;
	bool body_outputs; /* its outputs are those of the body that runs
			      (If) */
} orx_op;

/* The row for op_type of domain (NULL, "" or "ai.onnx": the default
 * domain) at opset version (ORX_OPSET_LATEST: the newest row); NULL when
 * the table has none. */
#define ORX_OPSET_LATEST INT64_MAX
const orx_op *orx_op_find(const char *domain, const char *op_type,
			  int64_t version);

/* The row of node n of graph gr, at the model's opset for its domain
 * (remembered per node); NULL for ops the table does not know. */
const orx_op *orx_op_of(const orx_graph *gr, int n);

/* The class of node n (ORX_OP_UNKNOWN without a row). */
orx_op_class orx_op_class_at(const orx_graph *gr, int n);

/* Is node a Constant of the default domain (its value in an attribute)? */
bool orx_op_is_constant(const Onnx__NodeProto *node);

/* What input k of op holds (ORX_IN_NONE past its inputs). */
orx_input_kind orx_op_input(const orx_op *op, size_t k);

/* The first input of op holding kind, or -1. */
int orx_op_input_of_kind(const orx_op *op, orx_input_kind kind);

/* The input of op carrying the signal when its weight is input weight
 * (the other of Gemm's and MatMul's A and B); -1 when none does. */
int orx_op_data_input(const orx_op *op, int weight);

/* Attribute m of node, whose row is op, or the row's default when the
 * node does not give it (a meaning the row does not list reads 0). */
double orx_op_attr(const orx_op *op, const Onnx__NodeProto *node,
		   orx_attr_meaning m);

/* A list attribute's product (strides, kernel_shape) as a count: within
 * [1, 2^53], 1 when absent or out of that range (a hostile file). */
int64_t orx_op_attr_count(const orx_op *op, const Onnx__NodeProto *node,
			  orx_attr_meaning m);

/* The name the plan and the rules give op: op_type for the default
 * domain, "domain.op_type" for another. */
const char *orx_op_name(const orx_op *op, char *buf, size_t size);

/* A row by the name orx_op_name gives it (its newest opset), or NULL. */
const orx_op *orx_op_named(const char *name);

/* Row i of the table, for listings (NULL past the end). */
const orx_op *orx_op_at(size_t i);

/*** activations ***/

/* An activation the walk names: an op, or a pattern of several ops. */
typedef struct {
	const char *name;
	/* the share of a zero-mean input's second moment it passes: 1/2 for
	 * ReLU and its kin (He et al. 2015), 1 for the symmetric ones near 0
	 * (Glorot and Bengio 2010), SELU and none; NAN: (1 + alpha^2) / 2 */
	double factor;
	bool alpha; /* its slope is the node's alpha (the walk reads it) */
	/* the gain that keeps the second moment through it: G with
	 * E[f(G z)^2] = 1 for z ~ N(0, 1), f at its default parameters
	 * (bench/activation_gains.py works them out); NAN: sqrt(2 / (1 +
	 * alpha^2)) */
	double keep;
} orx_activation;

/* The activation called name ("none" included), or NULL. */
const orx_activation *orx_activation_named(const char *name);

/* Activation i, for listings (NULL past the end). */
const orx_activation *orx_activation_at(size_t i);

/* The gain that keeps the second moment through the activation called
 * name (alpha: its slope, NAN for the default): sqrt 2 for ReLU, 1.468
 * for GELU, 1.559 for SiLU ...; 1 for one the table does not know. */
double orx_activation_gain(const char *name, double alpha);

/* The share of a zero-mean input's second moment the activation called
 * name passes (alpha: its slope, NAN for LeakyRelu's default; 1 for a
 * name not listed). */
double orx_activation_factor(const char *name, double alpha);

#endif
