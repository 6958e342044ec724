/*
 * onnx-reinit: load ONNX models, inspect and rewrite their initializers,
 * save them back losslessly.
 *
 * Conventions (after libgit2):
 *  - every function that can fail returns an int: ORX_OK (0) or one of the
 *    negative ORX_E* codes below; orx_error_last() then describes the
 *    failure in one line, without the file name (the caller adds it);
 *  - out-parameters come first;
 *  - what the library makes for the caller: an object (orx_model,
 *    orx_rules, orx_plan, orx_check, orx_summary) is freed with its own
 *    *_free function, memory (a string, a buffer) with orx_free(); every
 *    free function accepts NULL. Pointers handed out by an object stay
 *    valid until it is freed and belong to it;
 *  - options structs start with a version field: set them up with their
 *    *_OPTIONS_INIT macro or *_options_init() function, so that a
 *    program built against this header keeps working when later
 *    versions add fields;
 *  - a model's tensors are numbered 0 .. orx_model_tensor_count() - 1:
 *    the main graph's initializers first, then Constant nodes' tensors,
 *    then those of If, Loop and Scan bodies ("tensor i" everywhere);
 *  - the library never prints.
 */
#ifndef ONNX_REINIT_H
#define ONNX_REINIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility: what this header declares
 * is its whole exported interface. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define ORX_VERSION "0.2.0"
/* The ABI: the shared library is libonnx-reinit.so.ORX_ABI. */
#define ORX_ABI 1

/*** @@ERRORS: return codes and the last error ***/

enum {
	ORX_OK = 0,
	ORX_EINVALID = -1,     /* malformed or invalid input */
	ORX_EUNSUPPORTED = -2, /* valid, but not handled by this version */
	ORX_EIO = -3,	       /* a read or write failed */
	ORX_ENOMEM = -4	       /* out of memory */
};

/* The message of the last error raised by this thread, "" if none. The
 * string belongs to the library and changes with the next error. */
const char *orx_error_last(void);

/*** @@MODEL: opening, saving, freeing ***/

typedef struct orx_model orx_model;

typedef struct {
	unsigned version; /* ORX_OPEN_OPTIONS_VERSION */
	/* Deepest nesting of protobuf messages accepted. ONNX nests
	 * graph > node > attribute > graph; real models stay far below. */
	unsigned max_depth;
	/* The most nodes, graphs (the main graph, bodies, training graphs)
	 * and value names (the inputs and outputs of nodes and graphs, and
	 * initializers, counted each time they are named) in the whole
	 * model; a model past any of them is refused. */
	size_t max_nodes;
	size_t max_graphs;
	size_t max_names;
} orx_open_options;

#define ORX_MAX_DEPTH_DEFAULT 64
#define ORX_MAX_NODES_DEFAULT ((size_t)1 << 24)
#define ORX_MAX_GRAPHS_DEFAULT ((size_t)1 << 16)
#define ORX_MAX_NAMES_DEFAULT ((size_t)1 << 26)
#define ORX_OPEN_OPTIONS_VERSION 1
#define ORX_OPEN_OPTIONS_INIT                                                  \
	{                                                                      \
		ORX_OPEN_OPTIONS_VERSION, ORX_MAX_DEPTH_DEFAULT,               \
			ORX_MAX_NODES_DEFAULT, ORX_MAX_GRAPHS_DEFAULT,         \
			ORX_MAX_NAMES_DEFAULT                                  \
	}

/* Set *opts to the defaults of its version (ORX_OPEN_OPTIONS_VERSION for
 * this header); ORX_EINVALID for a version this library does not know. */
int orx_open_options_init(orx_open_options *opts, unsigned version);

/* Open the model in the file at path ("-" reads standard input).
 * opts may be NULL for the defaults (ORX_EINVALID for options of an
 * unknown version). On success *out is a new model the
 * caller frees with orx_model_free(). The model is validated: message
 * nesting, wire format, element counts against data lengths.
 * A regular file is mapped (private: changes to the model never reach
 * it) and, when its large tensor bytes are used where they lie, stays
 * mapped and open until orx_model_free(): truncating it meanwhile makes
 * the next read of those bytes raise SIGBUS. */
int orx_model_open_file(orx_model **out, const char *path,
			const orx_open_options *opts);

/* Same, from len bytes at data. The bytes are copied where needed; the
 * caller keeps ownership of data. A model from bytes (or standard input)
 * has no folder: one whose tensors name external data is refused
 * (ORX_EUNSUPPORTED) before anything is sized from their dims. */
int orx_model_open_buffer(orx_model **out, const void *data, size_t len,
			  const orx_open_options *opts);

/* Where a saved model's tensors go. */
typedef enum {
	ORX_DATA_KEEP,	  /* as they are: external tensors to data files of
			     the same relative names beside the output */
	ORX_DATA_EMBED,	  /* everything inline (refused past 2 GiB) */
	ORX_DATA_EXTERNAL /* tensors above threshold bytes to one file */
} orx_data_mode;

typedef struct {
	unsigned version; /* ORX_SAVE_OPTIONS_VERSION */
	orx_data_mode mode;
	const char *external_file; /* ORX_DATA_EXTERNAL: relative to the
				      output's folder */
	uint64_t threshold;
	/* threads making the values of re-initialized tensors (the bytes are
	 * the same for any number); 0: one per core. A program saving
	 * several models at once on its own threads sets 1. */
	unsigned threads;
} orx_save_options;

#define ORX_SAVE_OPTIONS_VERSION 1
#define ORX_SAVE_OPTIONS_INIT                                                  \
	{                                                                      \
		ORX_SAVE_OPTIONS_VERSION, ORX_DATA_KEEP, NULL, 1024, 0         \
	}

/* Set *opts to the defaults of its version; ORX_EINVALID for a version
 * this library does not know. */
int orx_save_options_init(orx_save_options *opts, unsigned version);

/* Write the model to path ("-" writes standard output). Each file is
 * written under a temporary name in its folder (an unnamed file where the
 * file system allows it) and renamed into place: readers never see a
 * partial file and an existing file is replaced only by a whole one. Data
 * files are written first, the model last; a data file of the input is
 * never written over. Tensors in data files are streamed one at a time:
 * copied, or made for the tensors a plan re-initialized. opts may be NULL
 * (ORX_DATA_KEEP). After a save the model refers to the new files. */
int orx_model_save(orx_model *model, const char *path,
		   const orx_save_options *opts);

/* orx_model_save() with the defaults. */
int orx_model_save_file(orx_model *model, const char *path);

/* Write len bytes to path ("-": standard output) the same way: whole or
 * not at all. */
int orx_write_file(const char *path, const void *data, size_t len);

/* Serialize the model into a new buffer *out of *len bytes, which the
 * caller releases with orx_free(). Tensors in data files stay there (the
 * buffer refers to them): ORX_EUNSUPPORTED when some were re-initialized
 * (save to a file), or when opts asks for a mode other than
 * ORX_DATA_KEEP. opts may be NULL; its threads apply. */
int orx_model_save_buffer(uint8_t **out, size_t *len, const orx_model *model,
			  const orx_save_options *opts);

void orx_model_free(orx_model *model);

/* Remove the temporary files of saves in progress. Async-signal-safe: meant
 * for a SIGINT/SIGTERM handler, before the process exits. */
void orx_abort_cleanup(void);

/* Remove the temporary files of the saves this thread left unfinished
 * (jumped out of, as from a SIGBUS handler), and forget them. Where the
 * system gives unnamed temporary files (Linux), there are none. */
void orx_abort_thread_saves(void);

/*** @@TENSORS: initializers and Constant tensors, in every graph ***/

typedef enum {
	ORX_STORAGE_RAW,      /* raw_data */
	ORX_STORAGE_TYPED,    /* float_data, int32_data, double_data, ... */
	ORX_STORAGE_EXTERNAL, /* data_location = EXTERNAL */
	ORX_STORAGE_EMPTY     /* no elements */
} orx_storage;

/* "raw_data", "typed", "external" or "empty", as info names them. */
const char *orx_storage_name(orx_storage storage);

/* TensorProto.DataType codes used by name in this API. */
enum {
	ORX_DTYPE_FLOAT = 1,
	ORX_DTYPE_UINT8 = 2,
	ORX_DTYPE_INT8 = 3,
	ORX_DTYPE_UINT16 = 4,
	ORX_DTYPE_INT16 = 5,
	ORX_DTYPE_INT32 = 6,
	ORX_DTYPE_INT64 = 7,
	ORX_DTYPE_STRING = 8,
	ORX_DTYPE_BOOL = 9,
	ORX_DTYPE_FLOAT16 = 10,
	ORX_DTYPE_DOUBLE = 11,
	ORX_DTYPE_UINT32 = 12,
	ORX_DTYPE_UINT64 = 13,
	ORX_DTYPE_BFLOAT16 = 16,
	ORX_DTYPE_UINT4 = 21, /* two to a byte, low nibble first */
	ORX_DTYPE_INT4 = 22
};

typedef struct {
	const char *name; /* owned by the model */
	int dtype;	  /* TensorProto.DataType code */
	size_t ndim;
	const int64_t *dims; /* ndim values, owned by the model */
	uint64_t count;	     /* number of elements: product of dims */
	uint64_t nbytes;     /* bytes of the elements in their dtype */
	orx_storage storage;
	const char *graph; /* where it lives: "main" (the main graph) or a
			      body's path ("If_0.then_branch") */
	int constant;	   /* 1: a Constant node's value; 0: an
			      initializer */
} orx_tensor_info;

/* Number of tensors: the main graph's initializers, then its Constant
 * nodes' tensors, then every body's (depth first). */
size_t orx_model_tensor_count(const orx_model *model);

/* Describe tensor i. Its name is qualified: a main-graph initializer's
 * own, a Constant's output, a body's tensor prefixed by the body's path
 * ("If_0.then_branch/w"), as plans name them. */
int orx_model_tensor(orx_tensor_info *out, const orx_model *model, size_t i);

/* Index of the tensor called name (qualified); ORX_EINVALID if there is
 * none. */
int orx_model_find_tensor(size_t *out, const orx_model *model,
			  const char *name);

/* Read the n elements of tensor i as doubles (n must equal its count),
 * from the model or from its external data file. Float, float16,
 * bfloat16, double, the integer types and bool are read; other dtypes
 * give ORX_EUNSUPPORTED. A re-initialized tensor reads its new values. */
int orx_tensor_read(double *out, size_t n, const orx_model *model, size_t i);

/* Replace the n elements of tensor i (n must equal its count) with
 * values, converted to the tensor's dtype (float, float16, bfloat16 or
 * double; 16-bit types round to nearest even, NaN and infinity kept) and
 * written in the tensor's own storage (raw_data or the typed field):
 * the library's lossless writer, for values a caller computes itself
 * (every other byte of the model is kept). ORX_EUNSUPPORTED for a tensor
 * in a data file. */
int orx_tensor_write(orx_model *model, size_t i, const double *values,
		     size_t n);

/*** @@DTYPES: element types ***/

/* A short lower-case name ("float32", "float16", "bfloat16", "float64",
 * "int64", ...), or NULL for a code this version does not know. */
const char *orx_dtype_name(int dtype);

/*** @@HASH: the hash shards are cut by ***/

/* FNV-1a (64 bits) of the string's bytes: what batch --shard divides
 * (and the name's part of a tensor's random stream, docs/design.md). */
uint64_t orx_name_hash(const char *s);

/*** @@SCHEMES: initialization schemes ***/

typedef enum {
	ORX_SCHEME_KEEP, /* leave the tensor as it is */
	ORX_SCHEME_ZEROS,
	ORX_SCHEME_ONES,
	ORX_SCHEME_CONSTANT, /* value */
	ORX_SCHEME_NORMAL,   /* N(mean, std^2) */
	ORX_SCHEME_TRUNC_NORMAL,
	ORX_SCHEME_UNIFORM, /* U(low, high) */
	ORX_SCHEME_XAVIER_UNIFORM,
	ORX_SCHEME_XAVIER_NORMAL,
	ORX_SCHEME_XAVIER_TRUNC_NORMAL,
	ORX_SCHEME_HE_UNIFORM,
	ORX_SCHEME_HE_NORMAL,
	ORX_SCHEME_HE_TRUNC_NORMAL,
	ORX_SCHEME_LECUN_UNIFORM,
	ORX_SCHEME_LECUN_NORMAL,
	ORX_SCHEME_LECUN_TRUNC_NORMAL,
	ORX_SCHEME_ORTHOGONAL,
	/* a recurrent layer's bias: value on the input bias (Wb) of the
	 * gate, 0 on its recurrent bias (Rb), so that the two sum to value
	 * (LSTM's forget gate: Jozefowicz et al. 2015) */
	ORX_SCHEME_FORGET_BIAS,
	/* PyTorch's default for recurrent layers: U(-1/sqrt(H), 1/sqrt(H)),
	 * H the hidden size (the block's fan_out) */
	ORX_SCHEME_PYTORCH_RECURRENT,
	/* PyTorch's default for a layer's bias (Linear, Conv,
	 * ConvTranspose): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in its
	 * layer's weight's in PyTorch's count */
	ORX_SCHEME_PYTORCH_BIAS
} orx_scheme;

/* The distribution a scheme resolves to for a tensor's fans (a plan
 * item's params). */
typedef enum {
	ORX_DIST_KEEP,
	ORX_DIST_CONSTANT,     /* value */
	ORX_DIST_NORMAL,       /* N(mean, std^2) */
	ORX_DIST_TRUNC_NORMAL, /* normal cut to [low, high] = mean -+ 2 sigma,
				  sigma chosen so that the std is std */
	ORX_DIST_UNIFORM,      /* U(low, high) */
	ORX_DIST_ORTHOGONAL    /* gain * an orthogonal matrix; std is the
				  std of its entries */
} orx_dist;

typedef struct {
	orx_dist dist;
	double gain; /* the gain used (variance scaling, orthogonal) */
	double fan;  /* the fan divided by, 0 if none */
	double mean;
	double std; /* the distribution's standard deviation */
	double low; /* bounds: uniform, truncated normal */
	double high;
	double value; /* constant */
} orx_init_params;

/* The standard deviation of N(0, 1) cut to [-2, 2]. */
#define ORX_TRUNC_STD 0.8796256610342398

/* Scheme names as rules and the JSON spell them ("he_normal",
 * "xavier_uniform", "trunc_normal", ...); NULL when unknown. */
const char *orx_scheme_name(orx_scheme scheme);

/*** @@RULES: which scheme for which tensor ***/

/* What a tensor is to the layer that uses it. */
typedef enum {
	ORX_ROLE_WEIGHT,
	ORX_ROLE_BIAS,
	ORX_ROLE_NORM_SCALE,
	ORX_ROLE_NORM_BIAS,
	ORX_ROLE_NORM_MEAN,
	ORX_ROLE_NORM_VAR,
	/* of LSTM, GRU and RNN (their bias is ORX_ROLE_BIAS): */
	ORX_ROLE_INPUT_WEIGHT,	   /* W */
	ORX_ROLE_RECURRENT_WEIGHT, /* R */
	ORX_ROLE_PEEPHOLE,	   /* LSTM's P */
	/* a float tensor of more than one element that no layer claims:
	 * only a rule (name=, role=other) decides it */
	ORX_ROLE_OTHER,
	/* found from the graph's structure (the README's table): */
	ORX_ROLE_EMBEDDING,   /* Gather's table, read at data indices */
	ORX_ROLE_POSITION,    /* added to an embedding's or a patch
				 projection's output */
	ORX_ROLE_CLASS_TOKEN, /* concatenated in front of the sequence */
	ORX_ROLE_SCALE,	      /* a per-channel Mul on a layer's output */
	ORX_ROLE_PRELU_SLOPE,
	ORX_ROLE_BUFFER, /* a constant the signal meets before any
			    layer (a window), or an attention mask */
	/* a layer's weight whose values are a fixed transform (a DFT
	 * basis, a filter bank, a DCT, a window): a buffer, kept by the
	 * default policy */
	ORX_ROLE_FIXED_TRANSFORM
} orx_role;

/* "weight", "bias", "norm_scale", ... */
const char *orx_role_name(orx_role role);

/* An ordered list of rules; the first that matches a tensor decides. */
typedef struct orx_rules orx_rules;

int orx_rules_new(orx_rules **out);

/* Append the rules in the file at path. On a syntax error nothing is
 * appended and orx_error_last() is "FILE:LINE:COL: message". */
int orx_rules_add_file(orx_rules *rules, const char *path);

/* Append the rules in len bytes of text, named file in messages. */
int orx_rules_add_text(orx_rules *rules, const char *text, size_t len,
		       const char *file);

/* Append the default policy (rules/default.rules, compiled in). */
int orx_rules_add_defaults(orx_rules *rules);

/* Append profile name's rules (rules/profiles/NAME.rules, compiled in:
 * "pytorch", "keras", "transformers"), then the default policy, which
 * decides what the profile does not name; "seed" or NULL: the default
 * policy alone. ORX_EINVALID for an unknown name, nothing appended. */
int orx_rules_add_profile(orx_rules *rules, const char *name);

void orx_rules_free(orx_rules *rules);

/*** @@PLAN: what would be rewritten, and why ***/

typedef struct orx_plan orx_plan;

/* A block of a recurrent layer's tensor (one gate of one direction, of
 * the input or the recurrent part of the bias): a layer of its own for
 * fans and scheme. The blocks of a tensor cover it exactly. */
typedef struct {
	const char *gate;      /* "i", "o", "f", "c" (LSTM), "z", "r", "h"
				  (GRU; RNN's one gate is "h"); "q", "k",
				  "v" (Attention's packed projections) */
	int direction;	       /* 0 forward, 1 reverse */
	int part;	       /* bias: 0 the input bias Wb, 1 Rb; else 0 */
	uint64_t first, count; /* the elements of the tensor it is, as
				  stored: count of them from first, in rows
				  of cols elements stride apart */
	int64_t rows, cols;    /* as a matrix: H by input size (W), H by H
				  (R), 1 by H (B, P); input size by width
				  (Attention's Q, K, V) */
	int64_t stride;	       /* elements between its rows' starts, as
				  stored: cols when it is one run */
	orx_scheme scheme;
	int has_fans;
	int64_t fan_in, fan_out;
	orx_init_params params;
	const char *rule_file;
	unsigned rule_line;
	const char *stream; /* the name its random stream is keyed by:
			       the layer's node, the ONNX input, the
			       direction and the gate, so the same
			       layer gets the same values whatever
			       the tensors' layout */
} orx_plan_block;

/* One ending of the walk downstream from a layer. */
typedef struct {
	const char *activation; /* op type, pattern name, or "none" */
	size_t path_len;
	const char *const *path; /* the ops walked, the ending last */
} orx_plan_branch;

/* A quantized weight (or a layer's int32 bias): drawn in float, as its
 * float twin would be, then quantized as a quantizer would (per group:
 * symmetric where the zero point is the type's centre, else over the
 * values' range with 0 in it; rounding half to even), its codes, scales
 * and zero points rewritten in their own types and storage. */
typedef struct {
	const char *dtype;	 /* the codes': "int8", "uint8", "int4",
				    "uint4" (MatMulNBits' packed 4-bit codes
				    too), "int32" (a bias) ... */
	unsigned bits;		 /* per code */
	const char *granularity; /* "per_tensor", "per_axis", "per_block" */
	int axis;		 /* of the weight as the layer sees it: the
				    scales' axis (-1 per tensor) */
	int64_t block_size;	 /* per_block: codes per scale; else 0 */
	int symmetric;		 /* every zero point is the type's centre */
	const char *scale;	 /* the scale tensor it rewrites (a bias: its
				    own, NULL when the op scales it) */
	const char *zero_point;	 /* NULL: none (the op's default); one
				    shared with another weight is kept */
	const char *stream;	 /* the name its random stream is keyed by:
				    its float twin's (ONNX Runtime's
				    _quantized and _Q4 suffixes removed) */
} orx_plan_quant;

typedef struct {
	size_t tensor; /* the tensor (orx_model_tensor's index) */
	const char *name;
	const char *node; /* the node's name, or OP_INDEX without one */
	const char *op;	  /* its op: "Conv", or "domain.op_type" outside the
			     default domain ("com.microsoft.FusedConv") */
	orx_role role;
	int dtype;
	size_t ndim;
	const int64_t *dims; /* as stored */
	const char *activation;
	/* NULL: found by the walk downstream; "attribute": the activation
	 * a fused layer holds (FusedConv's activation) */
	const char *activation_from;
	size_t path_len;
	const char *const *path;
	size_t n_branches; /* every distinct ending, the chosen first */
	const orx_plan_branch *branches;
	orx_scheme scheme;
	int has_fans; /* fan_in and fan_out are meaningful */
	int64_t fan_in, fan_out;
	orx_init_params params; /* gain, std, bounds */
	const char *rule_file;
	unsigned rule_line;
	const char *graph;   /* where it lives: "main" (the main graph) */
	const char *storage; /* "initializer", or "constant" (a Constant
				node's value; name is the node's output) */
	size_t n_blocks;     /* a recurrent layer's tensor: its blocks, each
				decided on its own (scheme, fans, params
				and rule above are the first block's) */
	const orx_plan_block *blocks;
	size_t order; /* where its node runs: the position in the
			 model's nodes, graph order, each body's
			 nodes right after the node holding it
			 (SIZE_MAX: no node) */
	/* a quantized weight or bias (NULL: a float one); then dtype, ndim
	 * and dims above are the dequantized weight's, as the layer sees
	 * it */
	const orx_plan_quant *quantized;
	/* what its values were found to be (a fixed transform: "DFT basis:
	 * 256 points, 129 bins (...), Hann window"), or NULL */
	const char *found;
	/* the last layer of a residual branch without normalization: the
	 * number L of such residual sums in its graph (else 0), and the
	 * factor its std and bounds were scaled by to keep the sums'
	 * variance (residual=sqrt_depth: to std 1/sqrt(fan_in * L); else
	 * 1) */
	size_t residual_sums;
	double residual_scale;
	/* the second moment reaching its layer over the one its scheme
	 * expects, where a max pool or a gate changed it and the layer was
	 * drawn at std / sqrt(it) (gains=undo); else 1 */
	double input_gain;
} orx_plan_item;

typedef struct {
	const char *name;
	const char *reason;
	size_t tensor; /* the tensor (orx_model_tensor's index); SIZE_MAX
			  for a sparse tensor */
	int kept;      /* a keep rule (or orx_plan_restrict) keeps it */
} orx_plan_skip;

/* Whether skipped tensor s of model is a leftover: a float tensor of more
 * than one element (or a sparse one) that no keep rule keeps, so trained
 * values may survive in it; *values its element count. */
int orx_plan_skip_is_leftover(const orx_model *model, const orx_plan_skip *s,
			      uint64_t *values);

/* Decide, for every initializer of the main graph and every tensor of its
 * Constant nodes, what the rules say.
 * The plan refers to the model's strings: free it first. */
int orx_plan_build(orx_plan **out, const orx_model *model,
		   const orx_rules *rules);

size_t orx_plan_count(const orx_plan *plan);

/* The n values item's layer sees, read from model (the plan's own, or one
 * of the same tensors: the plan's model applied and saved): a quantized
 * weight dequantized, else its tensor's elements. ORX_EINVALID when model
 * has no such tensors or n is not their count. */
int orx_plan_item_read(double *out, size_t n, const orx_model *model,
		       const orx_plan_item *item);
/* The name of an item's scheme; "per_gate" when its blocks differ. */
const char *orx_plan_item_scheme(const orx_plan_item *item);
const orx_plan_item *orx_plan_item_at(const orx_plan *plan, size_t i);
size_t orx_plan_skipped_count(const orx_plan *plan);
const orx_plan_skip *orx_plan_skipped_at(const orx_plan *plan, size_t i);

/* Rewrite every tensor of the plan in the model, from the seed. */
int orx_plan_apply(orx_model *model, const orx_plan *plan, uint64_t seed);

void orx_plan_free(orx_plan *plan);

/*** @@CHECK: badly initialized weights ***/

typedef enum {
	ORX_PROBLEM_ZEROS,     /* every element 0: symmetry never breaks */
	ORX_PROBLEM_CONSTANT,  /* every element the same */
	ORX_PROBLEM_NONFINITE, /* NaN or infinity */
	ORX_PROBLEM_VANISHING, /* far too small: the signal shrinks */
	ORX_PROBLEM_EXPLODING, /* far too large: the signal grows */
	ORX_PROBLEM_SATURATED  /* a quantized weight: more than 1% of a
				  channel's or block's codes at its type's
				  limits (one at each, which min-max
				  quantization puts there, not counted) */
} orx_problem;

/* "zeros", "constant", "nonfinite", "vanishing", "exploding",
 * "saturated" */
const char *orx_problem_name(orx_problem problem);

/* How much a finding matters (the README's table): a layer that cannot
 * train, one 10x off on its own, and a chain's finding are errors;
 * saturated codes and a layer off by less than 10x are warnings; a std
 * within a quarter of its threshold is a note. */
typedef enum {
	ORX_SEVERITY_ERROR,
	ORX_SEVERITY_WARNING,
	ORX_SEVERITY_NOTE
} orx_severity;

/* "error", "warning", "note"; orx_severity_parse: the reverse
 * (ORX_EINVALID for another name). */
const char *orx_severity_name(orx_severity severity);
int orx_severity_parse(orx_severity *out, const char *name);

typedef struct {
	unsigned version; /* ORX_CHECK_OPTIONS_VERSION */
	/* a weight's std below vanishing times the lowest std the accepted
	 * schemes give its fans, or above exploding times the highest (the
	 * README's envelope), by an exact test at a false-alarm probability
	 * of 1e-6, is a finding unless a normalization follows; a recurrent
	 * R block's largest singular value below vanishing or above twice
	 * exploding */
	double vanishing;
	double exploding;
	/* a chain of layers whose predicted output scale falls below signal
	 * or rises above 1/signal is a finding */
	double signal;
} orx_check_options;

#define ORX_CHECK_OPTIONS_VERSION 1
#define ORX_CHECK_OPTIONS_INIT                                                 \
	{                                                                      \
		ORX_CHECK_OPTIONS_VERSION, 0.55, 2.0, 1e-4                     \
	}

/* Set *opts to the defaults of its version; ORX_EINVALID for a version
 * this library does not know. */
int orx_check_options_init(orx_check_options *opts, unsigned version);

typedef struct {
	const char *name;
	orx_problem problem;
	double std;	     /* of the tensor's elements */
	double expected_std; /* of the scheme the plan chose */
	double ratio;	     /* std / expected_std; a recurrent weight R:
				the largest singular value of the gate block
				that is the finding (1 for an orthogonal one) */
	int by_signal; /* ORX_VIA_LAYER (0): on its own; ORX_VIA_SIGNAL (1):
			  for its chain; ORX_VIA_RUN (2): measured by
			  running the model (orx_check_measure: std is the
			  layer output's std over the inputs', expected 1) */
	orx_severity severity;
} orx_finding;

/* How many of the n findings f are of severity at or above at (error
 * above warning above note): what --fail-on counts. */
size_t orx_findings_failing(const orx_finding *f, size_t n, orx_severity at);

#define ORX_VIA_LAYER 0
#define ORX_VIA_SIGNAL 1
#define ORX_VIA_RUN 2

/* "layer", "signal", "run" (NULL past them); orx_via_parse: the
 * reverse (ORX_EINVALID for another name). */
const char *orx_via_name(int via);
int orx_via_parse(int *out, const char *name);

/* A chain of weighted layers with no normalization in between: the
 * product of their std ratios predicts the output's scale relative to
 * the input's; the same with fan_out for fan_in, the gradients' scale
 * back to the first layer. */
typedef struct {
	const char *first; /* weight of the first layer */
	const char *last;  /* weight of the last layer */
	size_t layers;
	double scale;	 /* the product of the layers' std ratios */
	double residual; /* the same without the layers flagged on their
			    own: what is left once they are fixed */
	int problem;	 /* judged on residual: ORX_PROBLEM_VANISHING,
			    _EXPLODING, or -1, when the forward and the
			    backward residuals both cross the threshold
			    (He's fan_out mode keeps the gradients level
			    while the forward signal shrinks) */
	double backward; /* the gradients' predicted scale */
	double backward_residual; /* the same once flagged layers are fixed */
} orx_chain;

/* One layer of a chain, first to last, as `plot --signal` draws it: the
 * predicted scale of the signal's second moment after the layer relative
 * to the chain's input, forward the product along the chain of
 * fan_in * variance * factor, backward (the gradients') of
 * fan_out * variance * factor. */
typedef struct {
	const char *name;	 /* the layer's weight */
	const char *activation;	 /* found downstream */
	int64_t fan_in, fan_out; /* 0 without fans (then its factors are 1) */
	double variance;	 /* of the weight's values, mean removed */
	double factor;		 /* the activation's: 1/2 for ReLU and its
				    kin, (1 + alpha^2)/2 for LeakyRelu, 1 for
				    the others and none */
	double forward, backward;
	int problem; /* check's finding for it (orx_problem), or
			-1 */
} orx_signal_step;

typedef struct orx_check orx_check;

/* Judge every weight the plan covers. opts may be NULL. The check
 * refers to the plan and the model: free it first. */
int orx_check_run(orx_check **out, const orx_model *model, const orx_plan *plan,
		  const orx_check_options *opts);
size_t orx_check_count(const orx_check *check);
const orx_finding *orx_check_finding_at(const orx_check *check, size_t i);
size_t orx_check_chain_count(const orx_check *check);
const orx_chain *orx_check_chain_at(const orx_check *check, size_t i);
/* The factor of a plan item's activation, as in orx_signal_step: the
 * share of a zero-mean input's second moment it passes. */
double orx_signal_factor(const orx_plan_item *item);

/* Every weighted layer check judged (recurrent layers aside), in the
 * order their nodes run, each on its own: forward and backward are the
 * layer's own factors (fan_in * variance * factor, and with fan_out),
 * not products along a chain. NULL past the last. */
size_t orx_check_layer_count(const orx_check *check);
const orx_signal_step *orx_check_layer_at(const orx_check *check, size_t i);

/* Run the model in ONNX Runtime and measure the std of every judged
 * layer's output (float32 layers of the main graph), relative to the
 * inputs': seeded N(0, 1) float inputs, integer inputs in 0..3, unknown
 * sizes 1. A layer whose measured variance falls below opts->signal or
 * rises above 1/opts->signal becomes a finding via ORX_VIA_RUN. ONNX
 * Runtime is loaded now, not linked: $ORX_ONNXRUNTIME (the path of its
 * libonnxruntime.so), else the loader's libonnxruntime.so.1; without it
 * ORX_EUNSUPPORTED, the message saying how to point to it. */
typedef struct {
	const char *name; /* the layer's weight */
	double measured;  /* its output's std over the inputs' */
	double predicted; /* the same predicted along its chain, over the
			     chain's input's (NAN outside chains) */
} orx_measured;
int orx_check_measure(orx_check *check, const orx_model *model,
		      const orx_check_options *opts);
size_t orx_check_measured_count(const orx_check *check);
const orx_measured *orx_check_measured_at(const orx_check *check, size_t i);

/* Layer k (0: the first) of chain i; NULL past its layers. */
const orx_signal_step *orx_check_chain_step(const orx_check *check, size_t i,
					    size_t k);
void orx_check_free(orx_check *check);

/* Narrow the plan to the weights with findings and their layers' biases;
 * the rest move to the skipped list ("not flagged by check"). */
int orx_plan_restrict(orx_plan *plan, const orx_check *check);

/*** @@SUMMARY: what `info` shows ***/

typedef struct {
	const char *domain; /* "" for the default ai.onnx domain */
	int64_t version;
} orx_opset;

typedef struct {
	const char *op_type;
	const char *domain;
	size_t count;
} orx_op_count;

typedef struct {
	int64_t ir_version;
	const char *producer_name;    /* "" when absent */
	const char *producer_version; /* "" when absent */
	const char *graph_name;	      /* "" when absent */
	size_t n_opsets;
	const orx_opset *opsets;
	size_t n_nodes;	   /* all nodes, subgraphs included */
	size_t n_op_types; /* op_types sorted by count, then name */
	const orx_op_count *op_types;
	size_t n_initializers;
	uint64_t n_parameters; /* elements of all initializers */
	uint64_t n_bytes;      /* their bytes */
	/* Constant nodes' tensors of the main graph (their `value`) */
	size_t n_constants;
	uint64_t n_constant_parameters;
	/* initializers and Constant tensors inside If, Loop and Scan bodies,
	 * at any depth */
	size_t n_body_tensors;
	uint64_t n_body_parameters;
} orx_summary;

/* Summarize the model. *out is freed with orx_summary_free(); its strings
 * belong to the model, which must outlive it. */
int orx_model_summary(orx_summary **out, const orx_model *model);
void orx_summary_free(orx_summary *summary);

/*** @@REPORTS: the command line's JSON, as text ***/

/* The JSON documents that `plan --json`, `check --json` and `info --json`
 * print, with name as their "model" field (and seed as the plan's
 * "seed"): on success *out is a new NUL-terminated string, 2-space
 * indented, that the caller frees with orx_free(). */
int orx_plan_json(char **out, const orx_plan *plan, const char *name,
		  uint64_t seed);
int orx_check_json(char **out, const orx_check *check,
		   const orx_check_options *opts, const char *name);
int orx_model_info_json(char **out, const orx_model *model, const char *name);

/* The same documents written to a stream as they are made (no document
 * is built first, so a plan of 100,000 tensors costs no more memory than
 * the plan): ORX_EIO when writing failed. info's is written only once
 * every tensor has been read. */
int orx_plan_json_to(FILE *to, const orx_plan *plan, const char *name,
		     uint64_t seed);
int orx_check_json_to(FILE *to, const orx_check *check,
		      const orx_check_options *opts, const char *name);
int orx_model_info_json_to(FILE *to, const orx_model *model, const char *name);

/* Free a string the library made for the caller. */
void orx_free(void *p);

/* Reports for CI systems: check's findings over one or many models. */
typedef enum {
	ORX_FORMAT_SARIF, /* SARIF 2.1.0: a rule per problem kind, a result
			     per finding at the model file (the tensor a
			     logical location), load errors as tool
			     notifications */
	ORX_FORMAT_JUNIT, /* JUnit XML: a test case per model, a failure per
			     finding at fail_on or above, an error when it
			     could not be checked */
	ORX_FORMAT_GITHUB /* GitHub Actions workflow commands: ::error,
			     ::warning, ::notice, a line per finding */
} orx_report_format;

/* "sarif", "junit", "github" to the format; ORX_EINVALID otherwise. */
int orx_report_format_parse(orx_report_format *out, const char *name);

/* One model of a report: its path as the report names it, its findings
 * (an orx_check's, or copies), or the error that stopped it (NULL). */
typedef struct {
	const char *model;
	const char *error;
	const orx_finding *findings;
	size_t n_findings;
} orx_report_entry;

/* The report of n entries in format as text in *out (freed with
 * orx_free()); fail_on: which findings JUnit counts as failures. */
int orx_report_write(char **out, const orx_report_entry *entries, size_t n,
		     orx_report_format format, orx_severity fail_on);
/* The same written to a stream as it is made; ORX_EIO when writing
 * failed. */
int orx_report_write_to(FILE *to, const orx_report_entry *entries, size_t n,
			orx_report_format format, orx_severity fail_on);

/*** @@PROGRESS: how far a long step has got ***/

/* For a progress line drawn by another thread while this model is saved
 * (orx_model_save*, step "writing": values made of those re-initialized)
 * or checked (orx_check_run, step "checking": weight values read): the
 * step under way with *done and *total, or NULL when none is. Safe to
 * call from any thread while the model is in use. */
const char *orx_model_progress(const orx_model *model, uint64_t *done,
			       uint64_t *total);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
