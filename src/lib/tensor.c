/* Reading and writing the elements of a model's tensors (initializers and
 * Constant nodes' values, in every graph). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "raw_data is little-endian; this build assumes a little-endian host"
#endif

/* Value i of the model (values.c): an initializer of the main graph, or
 * past them a Constant node's tensor. */
static Onnx__TensorProto *tensor_at(const orx_model *m, size_t i)
{
	return orx_value_tensor(m, i);
}

size_t orx_main_initializers(const orx_model *model)
{
	const Onnx__GraphProto *g = model->proto->graph;

	return g ? g->n_initializer : 0;
}

size_t orx_model_tensor_count(const orx_model *model)
{
	return orx_value_count(model);
}

/* Tensor i and its element count. */
static int counted(Onnx__TensorProto **t, uint64_t *count,
		   const orx_model *model, size_t i)
{
	if (!(*t = tensor_at(model, i)))
		return orx_fail(ORX_EINVALID, "no tensor %zu", i);
	return orx_tensor_proto_count(count, *t);
}

int orx_model_tensor(orx_tensor_info *out, const orx_model *model, size_t i)
{
	Onnx__TensorProto *t;
	uint64_t n;
	int rc;

	if ((rc = counted(&t, &n, model, i)) != ORX_OK)
		return rc;
	out->name = orx_value_name(model, i);
	out->dtype = t->data_type;
	out->ndim = t->n_dims;
	out->dims = t->dims;
	out->count = n;
	out->nbytes = orx_dtype_nbytes(t->data_type, n);
	if (t->data_type == ORX_DTYPE_STRING)
		for (size_t k = 0; k < t->n_string_data; k++)
			out->nbytes += t->string_data[k].len;
	out->storage = orx_tensor_proto_storage(t);
	out->graph = model->graphs[model->values[i].graph].path;
	out->constant = orx_value_is_constant(model, i);
	return ORX_OK;
}

int orx_model_find_tensor(size_t *out, const orx_model *model, const char *name)
{
	size_t n = orx_value_count(model);

	for (size_t i = 0; i < n; i++) { /* the initializers come first */
		const char *ti = orx_value_name(model, i);
		if (ti && strcmp(ti, name) == 0) {
			*out = i;
			return ORX_OK;
		}
	}
	return orx_fail(ORX_EINVALID, "no tensor named '%s'", name);
}

/*** @@READ: elements to double ***/

/* Element k of a raw little-endian buffer of dtype, as double. */
static double raw_element(const uint8_t *p, int dtype, size_t k)
{
	union {
		float f;
		double d;
		int8_t i8;
		uint8_t u8;
		int16_t i16;
		uint16_t u16;
		int32_t i32;
		uint32_t u32;
		int64_t i64;
		uint64_t u64;
	} v;
	size_t size = orx_dtype_bits(dtype) / 8;

	memcpy(&v, p + k * size, size);
	switch (dtype) {
	case ORX_DTYPE_FLOAT: return v.f;
	case ORX_DTYPE_DOUBLE: return v.d;
	case ORX_DTYPE_FLOAT16: return orx_f16_to_double(v.u16);
	case ORX_DTYPE_BFLOAT16: return orx_bf16_to_double(v.u16);
	case ORX_DTYPE_INT8: return v.i8;
	case ORX_DTYPE_UINT8: return v.u8;
	case ORX_DTYPE_BOOL: return v.u8 != 0;
	case ORX_DTYPE_INT16: return v.i16;
	case ORX_DTYPE_UINT16: return v.u16;
	case ORX_DTYPE_INT32: return v.i32;
	case ORX_DTYPE_UINT32: return v.u32;
	case ORX_DTYPE_INT64: return (double)v.i64;
	default: return (double)v.u64; /* ORX_DTYPE_UINT64 */
	}
}

/* Element k of typed storage, as double. */
static double typed_element(const Onnx__TensorProto *t, size_t k)
{
	switch (t->data_type) {
	case ORX_DTYPE_FLOAT: return t->float_data[k];
	case ORX_DTYPE_DOUBLE: return t->double_data[k];
	case ORX_DTYPE_INT64: return (double)t->int64_data[k];
	case ORX_DTYPE_UINT32:
	case ORX_DTYPE_UINT64: return (double)t->uint64_data[k];
	case ORX_DTYPE_FLOAT16:
		return orx_f16_to_double((uint16_t)t->int32_data[k]);
	case ORX_DTYPE_BFLOAT16:
		return orx_bf16_to_double((uint16_t)t->int32_data[k]);
	case ORX_DTYPE_BOOL: return t->int32_data[k] != 0;
	default: return t->int32_data[k]; /* the other integer types */
	}
}

static bool readable(int dtype)
{
	switch (dtype) {
	case ORX_DTYPE_FLOAT:
	case ORX_DTYPE_DOUBLE:
	case ORX_DTYPE_FLOAT16:
	case ORX_DTYPE_BFLOAT16:
	case ORX_DTYPE_INT8:
	case ORX_DTYPE_UINT8:
	case ORX_DTYPE_BOOL:
	case ORX_DTYPE_INT16:
	case ORX_DTYPE_UINT16:
	case ORX_DTYPE_INT32:
	case ORX_DTYPE_UINT32:
	case ORX_DTYPE_INT64:
	case ORX_DTYPE_UINT64: return true;
	default: return false;
	}
}

/* Common checks of read and write: the tensor exists, n matches, the
 * storage is in the model. */
static int access_check(Onnx__TensorProto **out, const orx_model *model,
			size_t i, size_t n)
{
	Onnx__TensorProto *t;
	uint64_t count;
	int rc;

	if ((rc = counted(&t, &count, model, i)) != ORX_OK)
		return rc;
	if (count != n)
		return orx_fail(ORX_EINVALID,
				"tensor '%s' has %llu elements, "
				"not %zu",
				t->name ? t->name : "",
				(unsigned long long)count, n);
	if (t->segment)
		return orx_fail(ORX_EUNSUPPORTED,
				"tensor '%s': segmented "
				"tensors are not supported",
				t->name ? t->name : "");
	*out = t;
	return ORX_OK;
}

int orx_tensor_proto_scalar(double *out, const Onnx__TensorProto *t)
{
	uint64_t n;

	if (orx_tensor_proto_count(&n, t) != ORX_OK || n < 1 ||
	    !readable(t->data_type) || t->segment ||
	    orx_tensor_proto_storage(t) == ORX_STORAGE_EXTERNAL)
		return ORX_EUNSUPPORTED;
	*out = t->has_raw_data ? raw_element(t->raw_data.data, t->data_type, 0)
			       : typed_element(t, 0);
	return ORX_OK;
}

int orx_tensor_proto_ints(int64_t *out, size_t max, size_t *n,
			  const Onnx__TensorProto *t)
{
	uint64_t count;

	if ((t->data_type != ORX_DTYPE_INT64 &&
	     t->data_type != ORX_DTYPE_INT32) ||
	    orx_tensor_proto_count(&count, t) != ORX_OK || count > max ||
	    t->segment || orx_tensor_proto_storage(t) == ORX_STORAGE_EXTERNAL)
		return ORX_EUNSUPPORTED;
	for (size_t k = 0; k < count; k++)
		out[k] = t->has_raw_data
				 ? (int64_t)raw_element(t->raw_data.data,
							t->data_type, k)
			 : t->data_type == ORX_DTYPE_INT64 ? t->int64_data[k]
							   : t->int32_data[k];
	*n = (size_t)count;
	return ORX_OK;
}

/* n raw elements at p as doubles: a loop per floating dtype. */
static void raw_elements(double *out, const uint8_t *p, int dtype, size_t n)
{
	switch (dtype) {
	case ORX_DTYPE_FLOAT:
		for (size_t k = 0; k < n; k++) {
			float f;
			memcpy(&f, p + k * sizeof(f), sizeof(f));
			out[k] = f;
		}
		break;
	case ORX_DTYPE_DOUBLE:
		if (n) /* an empty raw_data may be NULL */
			memcpy(out, p, n * sizeof(double));
		break;
	case ORX_DTYPE_FLOAT16:
	case ORX_DTYPE_BFLOAT16:
		for (size_t k = 0; k < n; k++) {
			uint16_t h;
			memcpy(&h, p + k * sizeof(h), sizeof(h));
			out[k] = dtype == ORX_DTYPE_FLOAT16
					 ? orx_f16_to_double(h)
					 : orx_bf16_to_double(h);
		}
		break;
	default:
		for (size_t k = 0; k < n; k++)
			out[k] = raw_element(p, dtype, k);
	}
}

/* Elements of a tensor in a data file: read in slices, converted. */
static int read_external(double *out, size_t n, const orx_model *model,
			 const Onnx__TensorProto *t)
{
	size_t size = orx_dtype_bits(t->data_type) / 8, slice = 1 << 20;
	uint8_t *buf = malloc(slice * size);
	orx_ext_ref ref;
	int fd, rc;

	if (!buf)
		return orx_fail(ORX_ENOMEM, "out of memory");
	if ((rc = orx_external_open_data(&fd, &ref, model, t)) != ORX_OK) {
		free(buf);
		return rc;
	}
	for (size_t k = 0; k < n && rc == ORX_OK; k += slice) {
		size_t m = n - k < slice ? n - k : slice;
		rc = orx_pread_all(fd, buf, m * size, ref.offset + k * size);
		if (rc == ORX_OK)
			raw_elements(out + k, buf, t->data_type, m);
	}
	close(fd);
	free(buf);
	return rc;
}

int orx_fill_job_of(orx_fill_job *job, uint8_t *out, const orx_model *model,
		    size_t i)
{
	const Onnx__TensorProto *t = tensor_at(model, i);
	uint64_t n = 0;

	orx_tensor_proto_count(&n, t);
	*job = (orx_fill_job){out,
			      orx_raw_store(t->data_type),
			      (size_t)n,
			      &model->pending[i].params,
			      model->pending[i].key,
			      t->dims,
			      t->n_dims};
	return job->store ? ORX_OK
			  : orx_fail(ORX_EUNSUPPORTED,
				     "tensor '%s': cannot "
				     "make values of its dtype",
				     t->name ? t->name : "");
}

/* The byte length of tensor i's data. */
static uint64_t data_bytes(const orx_model *model, size_t i)
{
	const Onnx__TensorProto *t = tensor_at(model, i);
	uint64_t n = 0;

	orx_tensor_proto_count(&n, t);
	return orx_dtype_nbytes(t->data_type, n);
}

int orx_make_values(uint8_t *out, const orx_model *model, size_t i)
{
	orx_fill_job job;
	int rc;

	if (model->pending[i].held) {
		memcpy(out, model->pending[i].held, data_bytes(model, i));
		return ORX_OK;
	}
	rc = orx_fill_job_of(&job, out, model, i);
	return rc == ORX_OK ? orx_init_fill_jobs(&job, 1, 0) : rc;
}

uint64_t orx_pending_values(const orx_model *m)
{
	uint64_t n = 0, count;

	for (size_t i = 0; m->pending && i < orx_value_count(m); i++)
		if (m->pending[i].set &&
		    orx_tensor_proto_count(&count, orx_value_tensor(m, i)) ==
			    ORX_OK)
			n += count;
	return n;
}

void orx_pending_free(orx_model *model)
{
	for (size_t i = 0; model->pending && i < orx_value_count(model); i++)
		free(model->pending[i].held);
	free(model->pending);
	model->pending = NULL;
}

int orx_values_stream(const orx_model *model, size_t i, orx_put_fn put,
		      void *ctx)
{
	size_t size = orx_dtype_bits(tensor_at(model, i)->data_type) / 8,
	       slice = 4 * ORX_RNG_BLOCK;
	orx_fill_job job;
	uint8_t *buf;
	int rc;

	if (model->pending[i].held) /* made already, whole */
		return put(ctx, model->pending[i].held, data_bytes(model, i),
			   0);
	if ((rc = orx_fill_job_of(&job, NULL, model, i)) != ORX_OK)
		return rc;
	if (job.p->dist == ORX_DIST_ORTHOGONAL || job.n < slice)
		slice = job.n; /* made whole */
	if (!(buf = malloc(slice * size + 1)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	job.base = buf;
	for (size_t first = 0; first < job.n && rc == ORX_OK; first += slice) {
		size_t count = job.n - first < slice ? job.n - first : slice;
		if (slice == job.n) {
			rc = orx_init_fill_jobs(&job, 1,
						0); /* counts its own */
		} else {
			rc = orx_init_fill_range(buf, job.store, job.n, first,
						 count, job.p, job.key);
			orx_progress_add(orx_progress_current(), count);
		}
		if (rc == ORX_OK)
			rc = put(ctx, buf, count * size,
				 (uint64_t)first * size);
	}
	free(buf);
	return rc;
}

static bool inline_pending(const orx_model *model, size_t i)
{
	return model->pending && i < orx_main_initializers(model) &&
	       model->pending[i].set &&
	       orx_tensor_proto_storage(tensor_at(model, i)) !=
		       ORX_STORAGE_EXTERNAL;
}

int orx_materialize(const orx_model *model, size_t i)
{
	int rc;

	if (!inline_pending(model, i))
		return ORX_OK;
	model->cache->backing_changed = true;
	if ((rc = orx_make_values(tensor_at(model, i)->raw_data.data, model,
				  i)) == ORX_OK)
		model->pending[i].set = false;
	return rc;
}

/* All at once, so that the threads share the blocks of every tensor. */
int orx_materialize_all(const orx_model *model, unsigned threads)
{
	size_t n = orx_main_initializers(model), k = 0;
	orx_fill_job *jobs;
	int rc = ORX_OK;

	if (!model->pending)
		return ORX_OK;
	if (!(jobs = calloc(n + 1, sizeof(*jobs))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && rc == ORX_OK; i++)
		if (inline_pending(model, i))
			rc = orx_fill_job_of(&jobs[k++],
					     tensor_at(model, i)->raw_data.data,
					     model, i);
	model->cache->backing_changed |= k > 0;
	if (rc == ORX_OK)
		rc = orx_init_fill_jobs(jobs, k, threads);
	for (size_t i = 0; i < n && rc == ORX_OK; i++)
		if (inline_pending(model, i))
			model->pending[i].set = false;
	free(jobs);
	return rc;
}

/* The checks of a read of n elements of tensor i, before anything is
 * allocated for them. */
static int read_check(Onnx__TensorProto **t, const orx_model *model, size_t i,
		      size_t n)
{
	int rc;

	if ((rc = access_check(t, model, i, n)) != ORX_OK)
		return rc;
	if (!readable((*t)->data_type))
		return orx_fail(ORX_EUNSUPPORTED,
				"tensor '%s': reading dtype "
				"%s is not supported",
				(*t)->name ? (*t)->name : "",
				orx_dtype_name((*t)->data_type)
					? orx_dtype_name((*t)->data_type)
					: "unknown");
	return ORX_OK;
}

int orx_tensor_readable(const orx_model *model, size_t i)
{
	Onnx__TensorProto *t;
	uint64_t n;
	int rc;

	if ((rc = counted(&t, &n, model, i)) != ORX_OK)
		return rc;
	if (n > SIZE_MAX / sizeof(double))
		return orx_fail(ORX_ENOMEM, "tensor '%s' is too large to read",
				t->name ? t->name : "");
	return read_check(&t, model, i, (size_t)n);
}

/* The new values of re-initialized tensor i in a data file: made (or
 * taken from the held bytes) in memory, as the save will write them. */
static int read_made(double *out, size_t n, const orx_model *model, size_t i,
		     const Onnx__TensorProto *t)
{
	uint64_t len = data_bytes(model, i);
	uint8_t *buf = len < SIZE_MAX ? malloc((size_t)len + 1) : NULL;
	int rc;

	if (!buf)
		return orx_fail(ORX_ENOMEM, "out of memory");
	if ((rc = orx_make_values(buf, model, i)) == ORX_OK)
		raw_elements(out, buf, t->data_type, n);
	free(buf);
	return rc;
}

/* The first n elements of tensor i (t, checked) into out. */
static int read_elements(double *out, size_t n, const orx_model *model,
			 size_t i, Onnx__TensorProto *t)
{
	int rc;

	if ((rc = orx_materialize(model, i)) != ORX_OK)
		return rc;
	if (orx_tensor_proto_storage(t) == ORX_STORAGE_EXTERNAL &&
	    model->pending && model->pending[i].set)
		return read_made(out, n, model, i, t);
	if (orx_tensor_proto_storage(t) == ORX_STORAGE_EXTERNAL)
		return read_external(out, n, model, t);
	if (t->has_raw_data)
		raw_elements(out, t->raw_data.data, t->data_type, n);
	else
		for (size_t k = 0; k < n; k++)
			out[k] = typed_element(t, k);
	return ORX_OK;
}

int orx_tensor_read(double *out, size_t n, const orx_model *model, size_t i)
{
	Onnx__TensorProto *t = NULL;
	int rc = read_check(&t, model, i, n);

	return rc == ORX_OK ? read_elements(out, n, model, i, t) : rc;
}

int orx_tensor_read_strided(double *out, size_t n, const orx_model *model,
			    size_t i, uint64_t stride)
{
	Onnx__TensorProto *t = NULL;
	uint64_t count;
	int rc = counted(&t, &count, model, i);

	if (rc == ORX_OK && n && (n - 1) * stride >= count)
		return orx_fail(ORX_EINVALID,
				"tensor '%s' has %llu elements, fewer than "
				"%zu %llu apart",
				t->name ? t->name : "",
				(unsigned long long)count, n,
				(unsigned long long)stride);
	if (rc == ORX_OK)
		rc = read_check(&t, model, i, (size_t)count);
	if (rc != ORX_OK)
		return rc;
	if (orx_tensor_proto_storage(t) == ORX_STORAGE_EXTERNAL ||
	    (model->pending && model->pending[i].set))
		return ORX_EUNSUPPORTED; /* the caller reads a prefix */
	for (size_t k = 0; k < n; k++)
		out[k] = t->has_raw_data ? raw_element(t->raw_data.data,
						       t->data_type, k * stride)
					 : typed_element(t, k * stride);
	return ORX_OK;
}

int orx_tensor_read_first(double *out, size_t n, const orx_model *model,
			  size_t i)
{
	Onnx__TensorProto *t = NULL;
	uint64_t count;
	int rc = counted(&t, &count, model, i);

	if (rc == ORX_OK && n > count)
		return orx_fail(ORX_EINVALID,
				"tensor '%s' has %llu elements, fewer than %zu",
				t->name ? t->name : "",
				(unsigned long long)count, n);
	if (rc == ORX_OK)
		rc = read_check(&t, model, i, (size_t)count);
	return rc == ORX_OK ? read_elements(out, n, model, i, t) : rc;
}

/*** @@WRITE: doubles to elements ***/

/* raw_data lies at any byte offset (in the mapped input or output file),
 * so raw elements are stored with memcpy, which compiles to plain
 * (vectorized) stores. */

static void store_f32(void *base, size_t off, const double *v, size_t n)
{
	uint8_t *out = (uint8_t *)base + off * sizeof(float);

	for (size_t k = 0; k < n; k++) {
		float f = (float)v[k];
		memcpy(out + k * sizeof(f), &f, sizeof(f));
	}
}

static void store_f64(void *base, size_t off, const double *v, size_t n)
{
	memcpy((uint8_t *)base + off * sizeof(double), v, n * sizeof(double));
}

static void store_f16(void *base, size_t off, const double *v, size_t n)
{
	uint8_t *out = (uint8_t *)base + off * sizeof(uint16_t);

	for (size_t k = 0; k < n; k++) {
		uint16_t h = orx_f16_from_double(v[k]);
		memcpy(out + k * sizeof(h), &h, sizeof(h));
	}
}

static void store_bf16(void *base, size_t off, const double *v, size_t n)
{
	uint8_t *out = (uint8_t *)base + off * sizeof(uint16_t);

	for (size_t k = 0; k < n; k++) {
		uint16_t h = orx_bf16_from_double(v[k]);
		memcpy(out + k * sizeof(h), &h, sizeof(h));
	}
}

/* Typed storage of 16-bit floats: one pattern per int32_data value. */
static void store_f16_i32(void *base, size_t off, const double *v, size_t n)
{
	int32_t *out = (int32_t *)base + off;

	for (size_t k = 0; k < n; k++)
		out[k] = orx_f16_from_double(v[k]);
}

static void store_bf16_i32(void *base, size_t off, const double *v, size_t n)
{
	int32_t *out = (int32_t *)base + off;

	for (size_t k = 0; k < n; k++)
		out[k] = orx_bf16_from_double(v[k]);
}

orx_store_fn orx_raw_store(int dtype)
{
	switch (dtype) {
	case ORX_DTYPE_FLOAT: return store_f32;
	case ORX_DTYPE_DOUBLE: return store_f64;
	case ORX_DTYPE_FLOAT16: return store_f16;
	case ORX_DTYPE_BFLOAT16: return store_bf16;
	default: return NULL;
	}
}

/* Where and how values of the tensor's dtype and storage are written. */
static int writable(void **base, orx_store_fn *store, Onnx__TensorProto *t)
{
	bool raw = t->has_raw_data;

	switch (t->data_type) {
	case ORX_DTYPE_FLOAT:
		*base = raw ? (void *)t->raw_data.data : (void *)t->float_data;
		*store = store_f32;
		return ORX_OK;
	case ORX_DTYPE_DOUBLE:
		*base = raw ? (void *)t->raw_data.data : (void *)t->double_data;
		*store = store_f64;
		return ORX_OK;
	case ORX_DTYPE_FLOAT16:
		*base = raw ? (void *)t->raw_data.data : (void *)t->int32_data;
		*store = raw ? store_f16 : store_f16_i32;
		return ORX_OK;
	case ORX_DTYPE_BFLOAT16:
		*base = raw ? (void *)t->raw_data.data : (void *)t->int32_data;
		*store = raw ? store_bf16 : store_bf16_i32;
		return ORX_OK;
	default:
		return orx_fail(ORX_EUNSUPPORTED,
				"tensor '%s': writing dtype "
				"%s is not supported",
				t->name ? t->name : "",
				orx_dtype_name(t->data_type)
					? orx_dtype_name(t->data_type)
					: "unknown");
	}
}

int orx_tensor_write(orx_model *model, size_t i, const double *values, size_t n)
{
	Onnx__TensorProto *t = NULL;
	orx_store_fn store = NULL;
	void *base = NULL;
	int rc;

	if ((rc = access_check(&t, model, i, n)) != ORX_OK)
		return rc;
	if (orx_tensor_proto_storage(t) == ORX_STORAGE_EXTERNAL)
		return orx_fail(ORX_EUNSUPPORTED,
				"tensor '%s': writing values "
				"into external data is not "
				"supported (orx_tensor_init "
				"is)",
				t->name ? t->name : "");
	if ((rc = writable(&base, &store, t)) != ORX_OK)
		return rc;
	if (n > 0)
		store(base, 0, values, n);
	model->cache->backing_changed = true;
	return ORX_OK;
}

/* The model's pending values, made (all unset) on first use. */
static int need_pending(orx_model *model)
{
	if (!model->pending &&
	    !(model->pending =
		      calloc(orx_value_count(model) + 1, sizeof(orx_pending))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	return ORX_OK;
}

/* A tensor in a data file gets its values when the model is saved. */
static int defer(orx_model *model, size_t i, const orx_init_params *p,
		 uint64_t key)
{
	int rc = need_pending(model);

	if (rc != ORX_OK)
		return rc;
	free(model->pending[i].held); /* the whole is drawn again */
	model->pending[i] = (orx_pending){true, *p, key, NULL};
	return ORX_OK;
}

/* The new bytes of tensor i in a data file, held in memory for parts of
 * it to be re-initialized: its current ones (read from the file, or made
 * from a whole-tensor init still pending). */
static int hold(orx_model *model, size_t i, const Onnx__TensorProto *t)
{
	uint64_t len = data_bytes(model, i);
	uint8_t *buf;
	int rc;

	if ((rc = need_pending(model)) != ORX_OK)
		return rc;
	if (model->pending[i].held)
		return ORX_OK;
	if (len > SIZE_MAX - 1 || !(buf = malloc((size_t)len + 1)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	rc = model->pending[i].set ? orx_make_values(buf, model, i)
				   : orx_external_read(buf, model, t);
	if (rc != ORX_OK) {
		free(buf);
		return rc;
	}
	model->pending[i].held = buf;
	model->pending[i].set = true;
	return ORX_OK;
}

int orx_tensor_init(orx_model *model, size_t i, const orx_init_params *p,
		    uint64_t key)
{
	Onnx__TensorProto *t = tensor_at(model, i);
	uint64_t n;
	orx_store_fn store = NULL;
	void *base = NULL;
	int rc;

	if (!t)
		return orx_fail(ORX_EINVALID, "no tensor %zu", i);
	if ((rc = orx_tensor_proto_count(&n, t)) != ORX_OK ||
	    (rc = access_check(&t, model, i, (size_t)n)) != ORX_OK ||
	    (rc = writable(&base, &store, t)) != ORX_OK)
		return rc;
	/* values are made when they are needed: at save, straight into the
	 * output file (a tensor in a data file, in any graph; a main-graph
	 * initializer's raw_data) or when read; a Constant's or a body's
	 * inline values at once, in the model's own copy of its bytes */
	bool main_init = i < orx_main_initializers(model);

	if (orx_tensor_proto_storage(t) == ORX_STORAGE_EXTERNAL ||
	    (main_init && t->has_raw_data && orx_raw_store(t->data_type) &&
	     p->dist != ORX_DIST_KEEP))
		return defer(model, i, p, key);
	model->cache->backing_changed |= p->dist != ORX_DIST_KEEP;
	return orx_init_fill_store(base, store, (size_t)n, p, key, t->dims,
				   t->n_dims);
}

/* Where a part of tensor i (stored as t) is drawn into, and how: its
 * values held whole in memory when it is in a data file, else its own
 * bytes (a whole-tensor init still pending is made first: this
 * overwrites a part of it). */
static int block_base(void **base, orx_store_fn *store, orx_model *model,
		      size_t i, Onnx__TensorProto *t)
{
	int rc;

	if (orx_tensor_proto_storage(t) != ORX_STORAGE_EXTERNAL) {
		if ((rc = orx_materialize(model, i)) != ORX_OK)
			return rc;
		return writable(base, store, t);
	}
	if ((rc = hold(model, i, t)) != ORX_OK)
		return rc;
	*base = model->pending[i].held;
	if (!(*store = orx_raw_store(t->data_type)))
		return orx_fail(ORX_EUNSUPPORTED,
				"tensor '%s': cannot make values of its dtype",
				orx_value_name(model, i));
	return ORX_OK;
}

int orx_tensor_init_block(orx_model *model, size_t i, uint64_t first,
			  int64_t rows, int64_t cols, int64_t stride,
			  const orx_init_params *p, uint64_t key)
{
	Onnx__TensorProto *t = NULL;
	orx_store_fn store = NULL;
	void *base = NULL;
	uint64_t n, count = (uint64_t)rows * (uint64_t)cols;
	const int64_t dims[2] = {rows, cols};
	double *v;
	int rc;

	if ((rc = counted(&t, &n, model, i)) != ORX_OK ||
	    (rc = access_check(&t, model, i, (size_t)n)) != ORX_OK)
		return rc;
	if (rows < 1 || cols < 1 || stride < cols || first > n ||
	    (uint64_t)(rows - 1) * (uint64_t)stride + (uint64_t)cols >
		    n - first)
		return orx_fail(ORX_EINVALID,
				"tensor '%s': %lld rows of %lld elements %lld "
				"apart from element %llu do not fit its %llu",
				orx_value_name(model, i), (long long)rows,
				(long long)cols, (long long)stride,
				(unsigned long long)first,
				(unsigned long long)n);
	if (p->dist == ORX_DIST_KEEP)
		return ORX_OK;
	if ((rc = block_base(&base, &store, model, i, t)) != ORX_OK)
		return rc;
	if (count > SIZE_MAX / sizeof(double) ||
	    !(v = malloc(count * sizeof(double))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	rc = orx_init_fill(v, (size_t)count, p, key, dims, 2);
	for (int64_t r = 0; r < rows && rc == ORX_OK; r++)
		store(base, (size_t)(first + (uint64_t)(r * stride)),
		      v + r * cols, (size_t)cols);
	if (rc == ORX_OK && orx_tensor_proto_storage(t) != ORX_STORAGE_EXTERNAL)
		model->cache->backing_changed = true;
	free(v);
	return rc;
}

/*** @@RAW: a tensor's bytes, whatever its storage ***/

/* Tensor i's typed field does not hold its n elements (or holds a type
 * without a raw form). */
static int typed_mismatch(const orx_model *model, size_t i, uint64_t n)
{
	return orx_fail(ORX_EUNSUPPORTED,
			"tensor '%s': its typed storage does not hold its %llu "
			"elements",
			orx_value_name(model, i), (unsigned long long)n);
}

int orx_tensor_raw_copy(uint8_t **out, uint64_t *len, const orx_model *model,
			size_t i)
{
	Onnx__TensorProto *t;
	uint64_t n;
	uint8_t *buf;
	int rc;

	*out = NULL;
	if ((rc = counted(&t, &n, model, i)) != ORX_OK ||
	    (rc = access_check(&t, model, i, (size_t)n)) != ORX_OK)
		return rc;
	*len = orx_dtype_nbytes(t->data_type, n);
	if ((!*len && n) || *len > SIZE_MAX - 1 ||
	    !(buf = malloc((size_t)*len + 1)))
		return *len || !n ? orx_fail(ORX_ENOMEM, "out of memory")
				  : orx_fail(ORX_EUNSUPPORTED,
					     "tensor '%s': dtype %d unknown",
					     orx_value_name(model, i),
					     t->data_type);
	if (model->pending && model->pending[i].set)
		rc = orx_make_values(buf, model, i);
	else if (orx_tensor_proto_storage(t) == ORX_STORAGE_EXTERNAL)
		rc = orx_external_read(buf, model, t);
	else if (t->has_raw_data)
		memcpy(buf, t->raw_data.data, (size_t)*len);
	else if (orx_typed_to_raw(buf, t, n) != ORX_OK)
		rc = typed_mismatch(model, i, n);
	if (rc != ORX_OK)
		free(buf);
	else
		*out = buf;
	return rc;
}

int orx_tensor_raw_put(orx_model *model, size_t i, const uint8_t *bytes,
		       uint64_t len)
{
	Onnx__TensorProto *t;
	uint64_t n;
	uint8_t *held;
	int rc;

	if ((rc = counted(&t, &n, model, i)) != ORX_OK ||
	    (rc = access_check(&t, model, i, (size_t)n)) != ORX_OK)
		return rc;
	if (len != orx_dtype_nbytes(t->data_type, n))
		return orx_fail(ORX_EINVALID,
				"tensor '%s': %llu bytes for %llu elements",
				orx_value_name(model, i),
				(unsigned long long)len, (unsigned long long)n);
	if ((rc = need_pending(model)) != ORX_OK)
		return rc;
	free(model->pending[i].held); /* values made before are replaced */
	model->pending[i] = (orx_pending){0};
	if (orx_tensor_proto_storage(t) == ORX_STORAGE_EXTERNAL) {
		if (!(held = malloc((size_t)len + 1)))
			return orx_fail(ORX_ENOMEM, "out of memory");
		memcpy(held, bytes, (size_t)len);
		model->pending[i] = (orx_pending){.set = true, .held = held};
		return ORX_OK;
	}
	model->cache->backing_changed = true;
	if (t->has_raw_data) {
		memcpy(t->raw_data.data, bytes, (size_t)len);
		return ORX_OK;
	}
	return orx_raw_to_typed(t, bytes, n) == ORX_OK
		       ? ORX_OK
		       : typed_mismatch(model, i, n);
}

uint8_t *orx_tensor_raw_in_place(orx_model *model, size_t i, uint64_t *len)
{
	Onnx__TensorProto *t = tensor_at(model, i);
	uint64_t n;

	if (!t || orx_tensor_proto_count(&n, t) != ORX_OK || !t->has_raw_data ||
	    t->segment || orx_tensor_proto_storage(t) == ORX_STORAGE_EXTERNAL ||
	    (model->pending && model->pending[i].set) ||
	    (*len = orx_dtype_nbytes(t->data_type, n)) != t->raw_data.len ||
	    !*len)
		return NULL;
	model->cache->backing_changed = true;
	return t->raw_data.data;
}
