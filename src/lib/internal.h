/* Internal to the library: protobuf-c types may appear here, never in
 * include/onnx_reinit.h. A section per file, named after it: the
 * declarations of what that file defines, with their comments. */
#ifndef ORX_INTERNAL_H
#define ORX_INTERNAL_H

#include "onnx.pb-c.h"
#include "onnx_reinit.h"
#include "orx_config.h"

#include <stdbool.h>
#include <stdio.h>

/*** @@ARENA (arena.c) ***/

/* An arena (a model's protobuf memory, a plan's entries): allocations
 * live until the arena is freed. Through orx_arena_allocator, freeing a
 * block of 256 KiB or more gives it back; freeing a smaller one is a
 * no-op. */
typedef struct orx_arena orx_arena;
orx_arena *orx_arena_new(size_t hint);
void *orx_arena_alloc(orx_arena *a, size_t n);
char *orx_arena_strdup(orx_arena *a, const char *s);
char *orx_arena_printf(orx_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
ProtobufCAllocator *orx_arena_allocator(orx_arena *a);
void orx_arena_free(orx_arena *a);

/* Room for one more element in array (*cap elements of size bytes, used
 * of them in use), doubled when full: the array, perhaps moved, or NULL
 * (out of memory, recorded as the last error; array is left as it was). */
void *orx_room(void *array, size_t *cap, size_t used, size_t size);

/*** @@MODEL (model.c): the model, open ***/

typedef struct orx_progress orx_progress; /* progress.c */

/* Values to make when the model is saved: for tensors in external data,
 * which are streamed from file to file rather than held. */
typedef struct {
	bool set;
	orx_init_params params;
	uint64_t key;
	/* when parts of the tensor were re-initialized (a recurrent layer's
	 * gate blocks): its new bytes, whole, made in memory (params and key
	 * then unused); else NULL */
	uint8_t *held;
} orx_pending;

/* A constant that can hold parameters: an initializer or a Constant
 * node's tensor, in any graph (values.c). */
typedef struct {
	Onnx__TensorProto *tensor;
	const char *name; /* qualified: unique in the model */
	char *owned_name; /* the name, when made here */
	size_t graph;	  /* index in orx_model.graphs */
	int node;	  /* the Constant node in its graph, or -1 */
} orx_value;

/* A graph of the model: the main one (0) or a body. */
typedef struct {
	const Onnx__GraphProto *g;
	int parent;	  /* graph index, -1 for the main graph */
	int owner;	  /* the node of the parent holding the body */
	const char *path; /* "main", or "If_0.then_branch", ... */
	char *owned_path;
	size_t first_value; /* the value of its initializer 0 */
	int *value_of_node; /* node -> its Constant's value, or -1 */
} orx_graph_ref;

/* What using a model may change though readers hold it const: the values
 * re-initialized tensors get when first read (made in place, in the
 * tensors' own bytes), and the data files whose checksum was verified. */
typedef struct {
	bool backing_changed; /* values written into the mapped file's pages:
				 they no longer equal the file */
	char **verified;
	size_t n_verified;
} orx_model_cache;

struct orx_model {
	Onnx__ModelProto *proto; /* in arena, but for borrowed raw_data */
	orx_arena *arena;
	uint8_t *backing; /* the file's bytes raw_data may point into */
	size_t backing_len;
	bool backing_mapped;	/* mapped private (else malloc'd) */
	int backing_fd;		/* the mapped file, open; else -1 */
	orx_model_cache *cache; /* what using a const model changes */
	char *dir;	      /* the model file's folder; NULL from a buffer */
	orx_pending *pending; /* one per initializer, or NULL */
	orx_value *values;    /* values.c */
	size_t n_values;
	orx_graph_ref *graphs;
	size_t n_graphs;
	orx_progress *progress;
};

/*** @@PROGRESS (progress.c) ***/

/* A model's progress counters. A step that may take long brackets its
 * work with orx_progress_start (the counters zeroed, made this thread's
 * current ones; the previous current ones returned) and orx_progress_end
 * (given them back). Workers count into orx_progress_current() of the
 * thread that started them. */
orx_progress *orx_progress_new(void);
void orx_progress_free(orx_progress *p);
orx_progress *orx_progress_start(const orx_model *m, const char *step,
				 uint64_t total);
void orx_progress_end(const orx_model *m, orx_progress *outer);
orx_progress *orx_progress_current(void);
void orx_progress_add(orx_progress *p, uint64_t n); /* p may be NULL */

/*** @@VALUES (values.c): the constants that can hold parameters ***/

/* Values 0 .. n_initializer - 1 are the main graph's initializers, then
 * come its Constant nodes' tensors, then each body's (depth first).
 * Built at open. */
int orx_values_build(orx_model *m);
void orx_values_free(orx_model *m);
size_t orx_value_count(const orx_model *m);
/* The main graph's initializers: values 0 .. this - 1. */
size_t orx_main_initializers(const orx_model *m);
Onnx__TensorProto *orx_value_tensor(const orx_model *m, size_t i);
const char *orx_value_name(const orx_model *m, size_t i);
bool orx_value_is_constant(const orx_model *m, size_t i);
/* The tensor of a Constant node (its `value`), or NULL: another op, or
 * value_float(s)/value_int(s), which are never weights. */
Onnx__TensorProto *orx_constant_value(const Onnx__NodeProto *node);
bool orx_value_in_body(const orx_model *m, size_t i);
/* The value of a Constant node's tensor, or of an initializer, of graph
 * (an index in orx_model.graphs); -1 when there is none. */
int orx_value_of_node(const orx_model *m, size_t graph, int node);
int orx_value_of_initializer(const orx_model *m, size_t graph, int init);
/* The value of a constant found in graph (an id): initializer init, or
 * else Constant node cnode (as orx_trace and orx_piece name them). */
int orx_value_of_constant(const orx_model *m, int graph, int init, int cnode);
/* Could value i hold parameters: a float tensor of more than one element
 * (not a scalar, a shape or an index)? */
bool orx_value_may_be_parameter(const orx_model *m, size_t i);

/*** @@OPTIONS (options.c) ***/

/* ORX_OK when an options struct's version is one this library knows (1
 * to newest), else ORX_EINVALID naming what. */
int orx_options_version(unsigned version, unsigned newest, const char *what);

/* opts, or defaults when it is NULL, if its version is one this library
 * knows; else NULL, the error (ORX_EINVALID) recorded. */
const void *orx_options_checked(const void *opts, const void *defaults,
				unsigned newest, const char *what);

/*** @@ERROR (error.c) ***/

/* Record a formatted message as the thread's last error; returns code. */
int orx_fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*** @@JSONW (jsonw.c): JSON written as it is made ***/

/* A stream of JSON text: each call writes its value at once (members of
 * an object name their key; in arrays and at the top key is NULL). Errors
 * of the stream show at orx_jw_finish. */
#define ORX_JW_DEPTH 16
typedef struct {
	FILE *f;
	int depth;
	size_t count[ORX_JW_DEPTH]; /* values so far in each open container */
} orx_jw;

void orx_jw_init(orx_jw *w, FILE *to);
/* bracket: '{' or '[' to open, '}' or ']' to close. */
void orx_jw_open(orx_jw *w, const char *key, char bracket);
void orx_jw_close(orx_jw *w, char bracket);
void orx_jw_string(orx_jw *w, const char *key, const char *s); /* NULL: null */
void orx_jw_int(orx_jw *w, const char *key, long long v);
void orx_jw_real(orx_jw *w, const char *key, double v); /* non-finite: null */
void orx_jw_real_or_null(orx_jw *w, const char *key, bool has, double v);
void orx_jw_bool(orx_jw *w, const char *key, bool v);
void orx_jw_null(orx_jw *w, const char *key);
/* s as a JSON string literal (quoted, escaped). */
void orx_jw_text(orx_jw *w, const char *s);
/* The closing newline; ORX_EIO when the stream failed. */
int orx_jw_finish(orx_jw *w);

/* A report written to a string instead of a stream (the char ** forms of
 * the writers): open a memory stream, write to it, then take its text
 * into *out when rc (the writer's) is ORX_OK, or free it. */
typedef struct {
	FILE *f;
	char *text;
	size_t len;
} orx_memstream;
int orx_memstream_open(orx_memstream *m);
int orx_memstream_take(orx_memstream *m, char **out, int rc);

/*** @@RUN (run.c): ONNX Runtime, loaded at run time ***/

/* Run model in ONNX Runtime with the n values names as extra outputs
 * (float tensors): the std of each into stds, the RMS of the float
 * inputs drawn into *input_rms. */
int orx_run_measure(double *stds, double *input_rms, const orx_model *model,
		    const char *const *names, size_t n);

/*** @@WIRE (wire.c): the depth-bounded pre-scan of the wire format ***/

/* Walk len bytes at data as a message of type desc without building it:
 * every length and tag within bounds, no groups, nesting at most
 * max_depth messages. Returns ORX_OK or ORX_EINVALID. */
int orx_wire_scan(const uint8_t *data, size_t len,
		  const ProtobufCMessageDescriptor *desc, unsigned max_depth);

/* A tensor's raw_data bytes left out of a skeleton: the path to the
 * tensor from the ModelProto (each step a message field's number and
 * which occurrence of it), and where its bytes lie in the original. */
#define ORX_WIRE_DEPTH 16

typedef struct {
	uint32_t number, index;
} orx_wire_step;

typedef struct {
	orx_wire_step path[ORX_WIRE_DEPTH];
	unsigned depth;
	const uint8_t *data;
	size_t len;
} orx_borrowed;

/* The ModelProto at data (already scanned) as *out (malloc'd) without the
 * larger raw_data of its tensors (initializers and attribute values, in
 * every graph up to ORX_WIRE_DEPTH fields deep), listed in *borrowed
 * (malloc'd), so that unpacking it copies little. ORX_EUNSUPPORTED when
 * there is nothing to leave out: then unpack data itself. */
int orx_wire_skeleton(uint8_t **out, size_t *out_len, orx_borrowed **borrowed,
		      size_t *n_borrowed, const uint8_t *data, size_t len);

/* Point the tensors a skeleton left out (unpacked as m) at their bytes. */
int orx_wire_attach(Onnx__ModelProto *m, const orx_borrowed *b, size_t n);

/* The ModelProto bytes model (len) with a float tensor output named each
 * of the n names appended to its graph (its first graph field), into a
 * new *out (malloc'd; *out_len bytes): the values a run should return.
 * ORX_EINVALID for bytes that are not such a message. */
int orx_wire_add_outputs(uint8_t **out, size_t *out_len, const uint8_t *model,
			 size_t len, const char *const *names, size_t n);

/*** @@DTYPE (dtype.c): element types, counts and storage ***/

/* Bits per element (4 for int4, 8 for int8, 32 for float32, ...), 0 for
 * strings and unknown codes. */
unsigned orx_dtype_bits(int dtype);

/* IEEE binary16 and bfloat16 conversions: from double with round to
 * nearest even (overflow to infinity, NaN stays NaN), and back exactly. */
uint16_t orx_f16_from_double(double x);
double orx_f16_to_double(uint16_t h);
uint16_t orx_bf16_from_double(double x);
double orx_bf16_to_double(uint16_t h);

/* Check that the tensor's dims and data agree (overflow-safe). */
int orx_tensor_proto_validate(const Onnx__TensorProto *t);

/* Product of the tensor's dims into *out; ORX_EINVALID on a negative dim
 * or overflow of 2^63. */
int orx_tensor_proto_count(uint64_t *out, const Onnx__TensorProto *t);

/* Which storage the tensor's elements are in. */
orx_storage orx_tensor_proto_storage(const Onnx__TensorProto *t);

/* Bytes of n elements of dtype (sub-byte types packed), 0 if unknown. */
uint64_t orx_dtype_nbytes(int dtype, uint64_t n);

/* float32, float16, bfloat16 or float64: the dtypes values are made in. */
bool orx_dtype_is_float(int dtype);

/* The n elements of t's typed storage as raw little-endian bytes (4-bit
 * types two to a byte, low nibble first), and back into it (its values
 * already there, overwritten); ORX_EUNSUPPORTED for strings, complex
 * types or a typed field of the wrong length. */
int orx_typed_to_raw(uint8_t *out, const Onnx__TensorProto *t, uint64_t n);
int orx_raw_to_typed(Onnx__TensorProto *t, const uint8_t *raw, uint64_t n);

/* The most dimensions of a shape the planner follows. */
#define ORX_DIMS_MAX 16

/* The elements of a shape; UINT64_MAX past 2^62 or for a negative dim. */
uint64_t orx_dims_count(const int64_t *dims, size_t ndim);

/*** @@TENSOR (tensor.c): tensor data, and the values made for it ***/

/* Converts n values into a tensor buffer at element offset. */
typedef void (*orx_store_fn)(void *base, size_t offset, const double *v,
			     size_t n);

/* Values orx_tensor_init deferred for tensor i: the job making them into
 * out (its raw bytes; fails for a dtype without a raw store), made there
 * at once, or made into the tensor itself (materialize; all of them). */
struct orx_fill_job;
int orx_fill_job_of(struct orx_fill_job *job, uint8_t *out,
		    const orx_model *model, size_t i);
int orx_make_values(uint8_t *out, const orx_model *model, size_t i);
int orx_materialize(const orx_model *model, size_t i);

/* The deferred values of tensor i (inline or external), made a slice of
 * RNG blocks at a time (orthogonal: whole) and handed in order to put
 * with their byte offset in the tensor: memory stays small whatever its
 * size. Stops at put's first error and returns it. */
typedef int (*orx_put_fn)(void *ctx, const uint8_t *bytes, size_t len,
			  uint64_t at);
int orx_values_stream(const orx_model *model, size_t i, orx_put_fn put,
		      void *ctx);
int orx_materialize_all(const orx_model *model, unsigned threads);

/* The values the model's next save makes (re-initialized, not yet made). */
uint64_t orx_pending_values(const orx_model *m);

/* Free the model's pending values (and their held bytes). */
void orx_pending_free(orx_model *model);

/* Elements 0, stride, 2 stride, ... (n of them) of tensor i, inline
 * (raw_data or typed); ORX_EUNSUPPORTED, without a message, for one in a
 * data file or with values pending: then read a prefix. */
int orx_tensor_read_strided(double *out, size_t n, const orx_model *model,
			    size_t i, uint64_t stride);

/* The first n elements of tensor i (n at most its count), read as
 * orx_tensor_read reads them all. */
int orx_tensor_read_first(double *out, size_t n, const orx_model *model,
			  size_t i);

/* Whether orx_tensor_read of initializer i would find its elements
 * (storage, dtype, size): checked before allocating for them. */
int orx_tensor_readable(const orx_model *model, size_t i);

/* The first element of a tensor in the model (a scalar attribute or
 * constant input); ORX_EUNSUPPORTED when it cannot be read. */
int orx_tensor_proto_scalar(double *out, const Onnx__TensorProto *t);

/* The elements of a small int64 or int32 tensor (a shape, axes) into
 * out, *n of them; ORX_EUNSUPPORTED for another dtype, more than max
 * elements, or data outside the model. */
int orx_tensor_proto_ints(int64_t *out, size_t max, size_t *n,
			  const Onnx__TensorProto *t);

/* Tensor i's elements as raw little-endian bytes (ONNX's layout: 4-bit
 * types two to a byte, low nibble first), *len of them in a malloc'd
 * copy: from raw_data, typed storage, a data file, or the values a
 * re-initialization made. */
int orx_tensor_raw_copy(uint8_t **out, uint64_t *len, const orx_model *model,
			size_t i);

/* Tensor i's own raw bytes, *len of them, to change in place: when it
 * is inline raw_data with no values pending; else NULL. */
uint8_t *orx_tensor_raw_in_place(orx_model *model, size_t i, uint64_t *len);

/* Tensor i's elements replaced by len raw bytes in that layout, in its
 * own storage: raw_data, the typed field, or held until the model is
 * saved for one in a data file. */
int orx_tensor_raw_put(orx_model *model, size_t i, const uint8_t *bytes,
		       uint64_t len);

/* The store function for raw little-endian bytes of dtype, or NULL. */
orx_store_fn orx_raw_store(int dtype);

/* Whether a tensor of role is a layer's weight, with fans: a weight or
 * a fixed transform found in its place. */
static inline bool orx_role_is_layer_weight(orx_role role)
{
	return role == ORX_ROLE_WEIGHT || role == ORX_ROLE_FIXED_TRANSFORM;
}

/*** @@SPECTRAL (spectral.c): fixed transforms found by their values ***/

/* Whether f, m functions of n taps each (row after row), is a fixed
 * transform: a windowed DFT basis (real, imaginary, or both parts
 * stacked or interleaved, any window), a triangular filter bank (mel
 * and others), or a DCT-II matrix, every value within tol times the
 * largest of the formula's; then 1, and out (len bytes) says what it is
 * ("DFT basis: 256 points, 129 bins (...), Hann window"); else 0;
 * ORX_ENOMEM when out of memory. */
int orx_fixed_transform(char *out, size_t len, const double *f, uint64_t m,
			uint64_t n, double tol);

/* Whether f is a window or smoothing kernel: every row the same
 * symmetric, non-negative, non-constant kernel (weak evidence on its
 * own: the caller also asks that no trained layer come before it); then
 * 1 and out says which ("Hann window", "smoothing kernel of 5 taps"). */
int orx_fixed_kernel(char *out, size_t len, const double *f, uint64_t m,
		     uint64_t n, double tol);

/*** @@VISIT (visit.c): every graph, node and tensor of a model ***/

/* Called on a TensorProto: initializers, attribute values, sparse
 * tensors, in every graph, function and training graph. */
typedef int (*orx_tensor_fn)(const Onnx__TensorProto *t, void *ctx);

/* Where a node sits: a graph (main, body or training graph) or a
 * function; the other is NULL. */
typedef struct {
	const Onnx__GraphProto *graph;
	const Onnx__FunctionProto *function;
} orx_node_owner;

/* What orx_visit calls, each optional (NULL): tensor on every TensorProto,
 * graph on every GraphProto before its contents, node on every node
 * (index: its position in its owner) before its attributes. */
typedef struct {
	orx_tensor_fn tensor;
	int (*graph)(const Onnx__GraphProto *g, void *ctx);
	int (*node)(const Onnx__NodeProto *node, const orx_node_owner *owner,
		    size_t index, void *ctx);
	void *ctx;
} orx_visitor;

/* Visit the whole model, depth first in file order; stops at the first
 * nonzero return and returns it. */
int orx_visit(const Onnx__ModelProto *m, const orx_visitor *v);

/*** @@VALIDATE (validate.c): what a model must be before use ***/

/* Every node has an op_type and an output, every tensor's dims agree
 * with its data, and the model stays within opts' size limits. */
int orx_model_validate(const Onnx__ModelProto *m, const orx_open_options *opts);

/*** @@INIT (init.c): drawing values, on threads ***/

/* LeakyRelu's slope when the node gives none (ONNX's default, the op
 * table's); also the one a gain of leaky_relu takes without one (as
 * torch.nn.init.calculate_gain). */
#define ORX_LEAKY_RELU_ALPHA 0.01

/* Which fan a variance-scaling scheme divides by. */
typedef enum {
	ORX_MODE_DEFAULT, /* xavier: fan_avg; he, lecun: fan_in */
	ORX_MODE_FAN_IN,
	ORX_MODE_FAN_OUT,
	ORX_MODE_FAN_AVG /* (fan_in + fan_out) / 2 */
} orx_fan_mode;

typedef struct {
	orx_scheme scheme;
	double gain; /* 0: the scheme's default (he: sqrt 2, else 1) */
	orx_fan_mode mode;
	double value;	  /* constant */
	double mean, std; /* normal, trunc_normal */
	double low, high; /* uniform */
} orx_init_spec;

#define ORX_INIT_SPEC_INIT                                                     \
	{                                                                      \
		ORX_SCHEME_KEEP, 0, ORX_MODE_DEFAULT, 0, 0, 0, 0, 0            \
	}

/* Resolve spec for a tensor of shape dims with the given fans (used by
 * the variance-scaling schemes; orthogonal uses dims: dims[0] rows, the
 * rest flattened into columns, as torch.nn.init.orthogonal_ does).
 * ORX_EINVALID for a fan below 1, a negative std, low > high, or
 * orthogonal of fewer than 2 dimensions. */
/* p's distribution widened s times about its mean of 0 (std and bounds;
 * the gain stays the scheme's): a variance-scaling draw rescaled. */
void orx_init_params_scale(orx_init_params *p, double s);

int orx_init_resolve(orx_init_params *out, const orx_init_spec *spec,
		     int64_t fan_in, int64_t fan_out, const int64_t *dims,
		     size_t ndim);

/* Fill the n values of a tensor drawn from p, with the stream key, into
 * out. dims (ndim values, product n) matter only for orthogonal.
 * ORX_ENOMEM, or ORX_EUNSUPPORTED when LAPACK fails. */
int orx_init_fill(double *out, size_t n, const orx_init_params *p, uint64_t key,
		  const int64_t *dims, size_t ndim);

int orx_scheme_from_name(orx_scheme *out, const char *name);

/* 1 if the scheme's spread follows the fans and a gain (xavier, he,
 * lecun, in every distribution), else 0. */
int orx_scheme_is_scaling(orx_scheme scheme);

/* Named gains: "linear", "identity", "conv", "sigmoid" 1; "tanh" 5/3;
 * "relu" sqrt 2; "leaky_relu" sqrt(2 / (1 + param^2)) (param: the negative
 * slope, 0.01 if param is NAN); "selu" 3/4. ORX_EINVALID if unknown. */
int orx_gain(double *out, const char *name, double param);

/* Re-initialize tensor i in place: its elements drawn from p with the
 * stream key (see orx_stream_key), written straight into the tensor's own
 * dtype and storage as orx_tensor_write does. */
int orx_tensor_init(orx_model *model, size_t i, const orx_init_params *p,
		    uint64_t key);

/* Re-initialize a block of tensor i: rows runs of cols elements, stride
 * elements apart, from element first (as stored), drawn from p as a
 * rows x cols matrix (orthogonal uses it) with the stream key, written in
 * place in the tensor's dtype and storage (one in a data file is held in
 * memory whole, and written when the model is saved). */
int orx_tensor_init_block(orx_model *model, size_t i, uint64_t first,
			  int64_t rows, int64_t cols, int64_t stride,
			  const orx_init_params *p, uint64_t key);

/* Threads to use for threads (0: one per core), at most ORX_MAX_THREADS. */
#define ORX_MAX_THREADS 16
size_t orx_thread_count(unsigned threads);

/* fn on n threads, the calling one included, thread k given the argument
 * at args + k * stride (stride 0: all the same); the share of a thread
 * that cannot be started is done by the caller. */
void orx_run_parallel(size_t n, void *(*fn)(void *), void *args, size_t stride);

/* Elements [first, first + count) of the n of a tensor (first a multiple
 * of ORX_RNG_BLOCK), stored at base as element 0: the same values as a
 * whole fill. Not for orthogonal. */
int orx_init_fill_range(void *base, orx_store_fn store, size_t n, size_t first,
			size_t count, const orx_init_params *p, uint64_t key);

/* Values for n elements of a tensor at base, stored by store. */
typedef struct orx_fill_job {
	void *base;
	orx_store_fn store;
	size_t n;
	const orx_init_params *p;
	uint64_t key;
	const int64_t *dims; /* for orthogonal */
	size_t ndim;
} orx_fill_job;

/* Every job's values, their RNG blocks shared among threads threads (0:
 * one per core): the same bytes for any number of threads. */
int orx_init_fill_jobs(const orx_fill_job *jobs, size_t n_jobs,
		       unsigned threads);

/* orx_init_fill through a store function instead of a double array. */
int orx_init_fill_store(void *base, orx_store_fn store, size_t n,
			const orx_init_params *p, uint64_t key,
			const int64_t *dims, size_t ndim);

int orx_orthogonal_fill(double *out, size_t n, const orx_init_params *p,
			uint64_t key, const int64_t *dims, size_t ndim);

/* Machine-specific copies of a vectorizable loop, for loops whose values
 * are the same in every copy (integer arithmetic, exact conversions,
 * IEEE division and addition: no contraction in ISO C). Not under
 * ThreadSanitizer: the clones' resolver runs before its runtime does. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&         \
	!defined(__SANITIZE_THREAD__)
#define ORX_VECTOR_CLONES                                                      \
	__attribute__((                                                        \
		target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ORX_VECTOR_CLONES
#endif

/*** @@RNG (rng.c): reproducible random streams ***/

/* A position in a random stream. Streams are counter-based SplitMix64
 * keyed by (seed, name): the values depend only on those, never on the
 * order of tensors, threads or the machine (docs/design.md documents the
 * exact construction). Elements come in blocks of ORX_RNG_BLOCK, each
 * generated from its own start, so blocks can be filled independently. */
typedef struct {
	uint64_t state;
	uint64_t next;
} orx_rng;

#define ORX_RNG_BLOCK 65536

/* The stream key of a tensor: from the seed and the tensor's name. */
uint64_t orx_stream_key(uint64_t seed, const char *name);

/* Position r at the start of block b of the stream key. */
void orx_rng_block(orx_rng *r, uint64_t key, uint64_t block);

/* Build the normal sampler's tables (also done by the fill functions);
 * call once before orx_rng_normal() from several threads. */
void orx_rng_prepare(void);

/* The next uniform double in [0, 1), with 53 random bits. */
double orx_rng_uniform(orx_rng *r);

/* The next standard normal N(0, 1) (exact ziggurat, not an approximation). */
double orx_rng_normal(orx_rng *r);

void orx_rng_fill_uniform(double *out, size_t n, orx_rng *r);
void orx_rng_fill_normal(double *out, size_t n, orx_rng *r);
/* Standard normals cut to [-2, 2] by rejection (a value beyond is drawn
 * again). */
void orx_rng_fill_trunc_normal(double *out, size_t n, orx_rng *r);

/* Whether normals take the shortcuts: eight draws at a time where the
 * CPU has AVX-512, the wedge test decided without exp() when the draw is
 * clearly on one side (both on by default). Returns the previous setting.
 * For tests: the values are the same either way. */
bool orx_rng_shortcuts(bool on);

/*** @@RULES (rules.c) ***/

typedef enum { ORX_GAIN_DEFAULT, ORX_GAIN_VALUE, ORX_GAIN_NAMED } orx_gain_kind;

/* Whose fans a rule measures with (fans=). */
typedef enum {
	ORX_FANS_EXACT,	  /* the README's fan table: groups in both fans */
	ORX_FANS_PYTORCH, /* torch.nn.init: Conv fan_out ignores groups... */
	ORX_FANS_WHOLE	  /* a recurrent tensor's gates as one (Keras):
			     fan_out gates x H; orthogonal over them */
} orx_fan_convention;

/* What a rule does: a scheme with its options. */
typedef struct {
	orx_init_spec spec;
	orx_gain_kind gain_kind;
	char gain_name[16];
	double gain_param; /* NAN: leaky_relu takes the activation's alpha */
	orx_fan_convention fans;
	bool residual; /* residual=sqrt_depth: the last layer of a residual
			  branch drawn to keep the sum's variance
			  (decide.c: scale_residual) */
	bool gains;    /* gains=undo: drawn to undo what max pools and
			  gates did to its input (gains.c) */
} orx_rule_action;

typedef struct {
	const char *op;
	const char *unfused; /* the ONNX op a fused op computes, or NULL:
				op= matches either */
	const char *activation;
	orx_role role;
	const char *name;
	const char *graph; /* "main", or a body's path */
	const char *gate;  /* a recurrent layer's block: its gate; else NULL */
	bool residual;	   /* the last layer of a residual branch without
			      normalization (branch=residual) */
} orx_rule_query;

/* The first rule matching q (and where it was written), or NULL. */
const orx_rule_action *orx_rules_match(const orx_rules *rules,
				       const orx_rule_query *q,
				       const char **file, unsigned *line);

/*** @@EXTERNAL (external.c): tensors in data files, read safely ***/

typedef struct {
	const char *location; /* relative to the model's folder, checked */
	uint64_t offset;
	uint64_t length; /* equal to the tensor's bytes */
} orx_ext_ref;

/* Parse and check a tensor's external_data entries (not the file). */
int orx_external_ref(orx_ext_ref *out, const Onnx__TensorProto *t);

/* Open a tensor's data file safely and check offset and length against
 * it; *fd is the caller's to close. */
int orx_external_open(int *fd, orx_ext_ref *ref, const orx_model *m,
		      const Onnx__TensorProto *t);

/* orx_external_open, and the file's checksum verified (once per file)
 * when the tensor gives one: for reading the data. */
int orx_external_open_data(int *fd, orx_ext_ref *ref, const orx_model *m,
			   const Onnx__TensorProto *t);

/* Read a tensor's ref.length bytes from its data file. */
int orx_external_read(void *buf, const orx_model *m,
		      const Onnx__TensorProto *t);

/* Check every external tensor of the main graph (at open). */
int orx_external_validate(const orx_model *m);

int orx_pread_all(int fd, void *buf, size_t n, uint64_t off);

/*** @@IO (io.c): whole files in and out ***/

/* path mapped private and writable (changes never reach the file) into
 * *out, *len bytes, its descriptor left open in *fd; ORX_EUNSUPPORTED when
 * it is not a regular file that can be mapped. */
int orx_map_file(uint8_t **out, size_t *len, int *fd, const char *path);
void orx_unmap_file(uint8_t *data, size_t len);
/* Give back the resident pages of an unwritten mapping from
 * orx_map_file: they read the file again when touched. */
void orx_release_pages(const uint8_t *data, size_t len);

/* Write all n bytes to fd; 0, or the errno of the failed write. */
int orx_write_all(int fd, const uint8_t *data, size_t n);

/* Write path whole or not at all: write_fn fills a temporary file in the
 * target's folder, which is then renamed into place ("-": stdout). */
int orx_save_with(const char *path, int (*write_fn)(int fd, const void *ctx),
		  const void *ctx);

/* The folder of path, a new string ("." for a bare name). */
char *orx_folder_of(const char *path);

/* Read the file at path ("-" for standard input) into a new buffer. */
int orx_read_all(uint8_t **out, size_t *len, const char *path);

/*** @@SAVE (save.c) ***/

/* The model as it is in memory, to path (no external data handling),
 * its values made by threads threads (0: one per core). */
int orx_model_save_plain(const orx_model *model, const char *path,
			 unsigned threads);

#endif
