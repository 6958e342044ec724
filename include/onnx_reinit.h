/*
 * onnx-reinit: load ONNX models, inspect and rewrite their initializers,
 * save them back losslessly.
 *
 * Conventions (after libgit2):
 *  - every function that can fail returns an int: ORX_OK (0) or one of the
 *    negative ORX_E* codes below; orx_error_last() then describes the
 *    failure in one line, without the file name (the caller adds it);
 *  - out-parameters come first;
 *  - pointers handed out by a model stay valid until that model is freed
 *    and are owned by it, unless the doc comment says otherwise;
 *  - every *_free function accepts NULL;
 *  - the library never prints.
 */
#ifndef ONNX_REINIT_H
#define ONNX_REINIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ORX_VERSION "0.1.0"

/*** @@ERRORS: return codes and the last error ***/

enum {
	ORX_OK = 0,
	ORX_EINVALID = -1,     /* malformed or invalid input */
	ORX_EUNSUPPORTED = -2, /* valid, but not handled by this version */
	ORX_EIO = -3,          /* a read or write failed */
	ORX_ENOMEM = -4        /* out of memory */
};

/* The message of the last error raised by this thread, "" if none. The
 * string belongs to the library and changes with the next error. */
const char *orx_error_last(void);

/*** @@MODEL: opening, saving, freeing ***/

typedef struct orx_model orx_model;

typedef struct {
	/* Deepest nesting of protobuf messages accepted. ONNX nests
	 * graph > node > attribute > graph; real models stay far below. */
	unsigned max_depth;
} orx_open_options;

#define ORX_MAX_DEPTH_DEFAULT 64
#define ORX_OPEN_OPTIONS_INIT {ORX_MAX_DEPTH_DEFAULT}

/* Open the model in the file at path ("-" reads standard input).
 * opts may be NULL for the defaults. On success *out is a new model the
 * caller frees with orx_model_free(). The model is validated: message
 * nesting, wire format, element counts against data lengths. */
int orx_model_open_file(orx_model **out, const char *path,
			const orx_open_options *opts);

/* Same, from len bytes at data. The bytes are copied where needed; the
 * caller keeps ownership of data. */
int orx_model_open_buffer(orx_model **out, const void *data, size_t len,
			  const orx_open_options *opts);

/* Write the model to path ("-" writes standard output). A file is written
 * under a temporary name in the target's folder (an unnamed file where the
 * file system allows it) and renamed into place: readers never see a
 * partial file and an existing file at path is replaced only by a whole
 * one. */
int orx_model_save_file(const orx_model *model, const char *path);

/* Serialize the model into a new buffer *out of *len bytes, which the
 * caller releases with free(). */
int orx_model_save_buffer(uint8_t **out, size_t *len, const orx_model *model);

void orx_model_free(orx_model *model);

/* Remove the temporary files of saves in progress. Async-signal-safe: meant
 * for a SIGINT/SIGTERM handler, before the process exits. */
void orx_abort_cleanup(void);

/*** @@TENSORS: the main graph's initializers ***/

typedef enum {
	ORX_STORAGE_RAW,      /* raw_data */
	ORX_STORAGE_TYPED,    /* float_data, int32_data, double_data, ... */
	ORX_STORAGE_EXTERNAL, /* data_location = EXTERNAL */
	ORX_STORAGE_EMPTY     /* no elements */
} orx_storage;

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
	ORX_DTYPE_BFLOAT16 = 16
};

typedef struct {
	const char *name;    /* owned by the model */
	int dtype;           /* TensorProto.DataType code */
	size_t ndim;
	const int64_t *dims; /* ndim values, owned by the model */
	uint64_t count;      /* number of elements: product of dims */
	uint64_t nbytes;     /* bytes of the elements in their dtype */
	orx_storage storage;
} orx_tensor_info;

/* Number of initializers in the main graph. */
size_t orx_model_tensor_count(const orx_model *model);

/* Describe initializer i (0 <= i < orx_model_tensor_count()). */
int orx_model_tensor(orx_tensor_info *out, const orx_model *model, size_t i);

/* Index of the initializer called name; ORX_EINVALID if there is none. */
int orx_model_find_tensor(size_t *out, const orx_model *model,
			  const char *name);

/* Read the n elements of initializer i as doubles (n must equal its
 * count). Float, float16, bfloat16, double, the integer types and bool
 * are read; other dtypes and external data give ORX_EUNSUPPORTED. */
int orx_tensor_read(double *out, size_t n, const orx_model *model, size_t i);

/* Replace the n elements of initializer i (n must equal its count) with
 * values, converted to the tensor's dtype (float, float16, bfloat16 or
 * double; 16-bit types round to nearest even, NaN and infinity kept) and
 * written in the tensor's own storage (raw_data or the typed field). */
int orx_tensor_write(orx_model *model, size_t i, const double *values,
		     size_t n);

/*** @@DTYPES: element types ***/

/* A short lower-case name ("float32", "float16", "bfloat16", "float64",
 * "int64", ...), or NULL for a code this version does not know. */
const char *orx_dtype_name(int dtype);

/* Bits per element (4 for int4, 8 for int8, 32 for float32, ...), 0 for
 * strings and unknown codes. */
unsigned orx_dtype_bits(int dtype);

/* IEEE binary16 and bfloat16 conversions: from double with round to
 * nearest even (overflow to infinity, NaN stays NaN), and back exactly. */
uint16_t orx_f16_from_double(double x);
double orx_f16_to_double(uint16_t h);
uint16_t orx_bf16_from_double(double x);
double orx_bf16_to_double(uint16_t h);

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
	const char *graph_name;       /* "" when absent */
	size_t n_opsets;
	const orx_opset *opsets;
	size_t n_nodes;    /* all nodes, subgraphs included */
	size_t n_op_types; /* op_types sorted by count, then name */
	const orx_op_count *op_types;
	size_t n_initializers;
	uint64_t n_parameters; /* elements of all initializers */
	uint64_t n_bytes;      /* their bytes */
} orx_summary;

/* Summarize the model. *out is freed with orx_summary_free(); its strings
 * belong to the model, which must outlive it. */
int orx_model_summary(orx_summary **out, const orx_model *model);
void orx_summary_free(orx_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
