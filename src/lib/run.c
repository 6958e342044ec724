/* Running a model in ONNX Runtime, loaded at run time through its C API
 * (no build dependency: the shared library users already have, inside
 * the onnxruntime Python wheel, the onnxruntime-node npm package or a
 * system install). The few entry points used are declared here by their
 * place in ONNX Runtime's function table (OrtApi in onnxruntime_c_api.h),
 * which only grows across versions, so these places hold in every
 * version from the first. */
#define _GNU_SOURCE
#include "internal.h"

#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/*** @@ORT: the entry points, by their place in OrtApi ***/

typedef struct ort_status ort_status; /* OrtStatus: NULL is success */
typedef void (*ort_fn)(void);	      /* an entry of the table */
typedef struct {
	const ort_fn *(*get_api)(uint32_t version);
	const char *(*version_string)(void);
} ort_api_base;

enum { /* places in OrtApi */
       GET_ERROR_MESSAGE = 2,
       CREATE_ENV = 3,
       CREATE_SESSION_FROM_ARRAY = 8,
       RUN = 9,
       CREATE_SESSION_OPTIONS = 10,
       CREATE_TENSOR_WITH_DATA = 49,
       GET_TENSOR_MUTABLE_DATA = 51,
       GET_SHAPE_ELEMENT_COUNT = 64,
       GET_TENSOR_TYPE_AND_SHAPE = 65,
       CREATE_CPU_MEMORY_INFO = 69,
       RELEASE_ENV = 92,
       RELEASE_STATUS = 93,
       RELEASE_MEMORY_INFO = 94,
       RELEASE_SESSION = 95,
       RELEASE_VALUE = 96,
       RELEASE_TYPE_AND_SHAPE = 99,
       RELEASE_SESSION_OPTIONS = 100
};

enum { ELEM_FLOAT = 1, ELEM_INT32 = 6, ELEM_INT64 = 7 };
enum { LOG_FATAL = 4, ALLOC_ARENA = 1, MEM_DEFAULT = 0 };

typedef struct {
	void *lib;
	const ort_fn *api;
	void *env, *options, *session, *memory;
} ort;

#define CALL(o, place, type, ...) (((type)(o)->api[place])(__VA_ARGS__))
typedef ort_status *(*create1_fn)(void **);
typedef void (*release_fn)(void *);

/* The status as the last error (released); ORX_OK for success. */
static int failed(ort *o, ort_status *s, const char *what)
{
	int rc;

	if (!s)
		return ORX_OK;
	rc = orx_fail(ORX_EUNSUPPORTED, "ONNX Runtime: %s: %s", what,
		      CALL(o, GET_ERROR_MESSAGE,
			   const char *(*)(const ort_status *), s));
	CALL(o, RELEASE_STATUS, void (*)(ort_status *), s);
	return rc;
}

#define ORT_HINT                                                               \
	"set ORX_ONNXRUNTIME to its libonnxruntime.so (in the onnxruntime "    \
	"Python wheel's onnxruntime/capi/, in the onnxruntime-node npm "       \
	"package's bin/napi-v6/linux/x64/, or a system install)"

/* The library: $ORX_ONNXRUNTIME, else the loader's libonnxruntime. */
static int load(ort *o)
{
	const char *path = getenv("ORX_ONNXRUNTIME");
	const ort_api_base *(*base)(void);

	if (path && path[0])
		o->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	else if (!(o->lib = dlopen("libonnxruntime.so.1",
				   RTLD_NOW | RTLD_LOCAL)))
		o->lib = dlopen("libonnxruntime.so", RTLD_NOW | RTLD_LOCAL);
	if (!o->lib)
		return orx_fail(
			ORX_EUNSUPPORTED,
			path && path[0]
				? "ONNX Runtime: cannot load %s: %s"
				: "ONNX Runtime not found%s%s: " ORT_HINT,
			path && path[0] ? path : "",
			path && path[0] ? dlerror() : "");
	*(void **)&base = dlsym(o->lib, "OrtGetApiBase");
	if (!base || !base() || !(o->api = base()->get_api(1)))
		return orx_fail(ORX_EUNSUPPORTED,
				"ONNX Runtime: %s has no C API",
				path ? path : "the library");
	return ORX_OK;
}

static void unload(ort *o)
{
	if (o->session)
		CALL(o, RELEASE_SESSION, release_fn, o->session);
	if (o->options)
		CALL(o, RELEASE_SESSION_OPTIONS, release_fn, o->options);
	if (o->memory)
		CALL(o, RELEASE_MEMORY_INFO, release_fn, o->memory);
	if (o->env)
		CALL(o, RELEASE_ENV, release_fn, o->env);
	/* the library stays loaded: ONNX Runtime's static state and exit
	 * handlers outlive its objects */
}

static int start(ort *o, const uint8_t *model, size_t len)
{
	int rc;

	if ((rc = load(o)) != ORX_OK ||
	    (rc = failed(o,
			 CALL(o, CREATE_ENV,
			      ort_status * (*)(int, const char *, void **),
			      LOG_FATAL, "onnx-reinit", &o->env),
			 "environment")) != ORX_OK ||
	    (rc = failed(
		     o,
		     CALL(o, CREATE_SESSION_OPTIONS, create1_fn, &o->options),
		     "session options")) != ORX_OK ||
	    (rc = failed(o,
			 CALL(o, CREATE_CPU_MEMORY_INFO,
			      ort_status * (*)(int, int, void **), ALLOC_ARENA,
			      MEM_DEFAULT, &o->memory),
			 "memory info")) != ORX_OK)
		return rc;
	return failed(o,
		      CALL(o, CREATE_SESSION_FROM_ARRAY,
			   ort_status * (*)(void *, const void *, size_t,
					    void *, void **),
			   o->env, model, len, o->options, &o->session),
		      "loading the model");
}

/*** @@INPUTS: seeded N(0, 1) floats, small integers ***/

typedef struct {
	const char *name;
	int type; /* ELEM_* */
	int64_t dims[ORX_DIMS_MAX];
	size_t ndim, count;
	void *data;
	void *value; /* OrtValue */
} input;

#define MAX_INPUT_ELEMENTS ((size_t)1 << 26)

static bool is_initializer(const Onnx__GraphProto *g, const char *name)
{
	for (size_t i = 0; i < g->n_initializer; i++)
		if (g->initializer[i]->name &&
		    !strcmp(g->initializer[i]->name, name))
			return true;
	return false;
}

/* Input vi's type and shape (unknown sizes 1); its values drawn. */
static int make_input(input *in, const Onnx__ValueInfoProto *vi, uint64_t key,
		      double *sumsq, size_t *nsq)
{
	const Onnx__TypeProto__Tensor *t =
		vi->type && vi->type->value_case ==
					ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
			? vi->type->tensor_type
			: NULL;
	orx_init_params normal = {.dist = ORX_DIST_NORMAL, .std = 1};
	double *d;
	int rc;

	in->name = vi->name, in->type = t ? t->elem_type : 0, in->count = 1;
	if (in->type != ELEM_FLOAT && in->type != ELEM_INT64 &&
	    in->type != ELEM_INT32)
		return orx_fail(ORX_EUNSUPPORTED,
				"--run feeds float and integer inputs only, "
				"not input '%s' (type %d)",
				vi->name, in->type);
	in->ndim = t->shape ? t->shape->n_dim : 0;
	if (in->ndim > ORX_DIMS_MAX)
		return orx_fail(ORX_EUNSUPPORTED, "input '%s': too many dims",
				vi->name);
	for (size_t k = 0; k < in->ndim; k++) {
		const Onnx__TensorShapeProto__Dimension *dim = t->shape->dim[k];
		in->dims[k] =
			dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
					dim->dim_value > 0
				? dim->dim_value
				: 1;
		if ((uint64_t)in->dims[k] > MAX_INPUT_ELEMENTS / in->count)
			return orx_fail(ORX_EUNSUPPORTED,
					"input '%s' is too large to run",
					vi->name);
		in->count *= (size_t)in->dims[k];
	}
	if (!(d = malloc((in->count + 1) * sizeof(*d))) ||
	    !(in->data = malloc((in->count + 1) * 8))) {
		free(d);
		return orx_fail(ORX_ENOMEM, "out of memory");
	}
	if ((rc = orx_init_fill(d, in->count, &normal, key, in->dims,
				in->ndim)) == ORX_OK)
		for (size_t i = 0; i < in->count; i++) {
			if (in->type == ELEM_FLOAT)
				((float *)in->data)[i] = (float)d[i],
					*sumsq += d[i] * d[i];
			else if (in->type == ELEM_INT64)
				((int64_t *)in->data)[i] =
					(int64_t)fabs(d[i]) % 4;
			else
				((int32_t *)in->data)[i] =
					(int32_t)fabs(d[i]) % 4;
		}
	*nsq += in->type == ELEM_FLOAT ? in->count : 0;
	free(d);
	return rc;
}

static int make_value(ort *o, input *in)
{
	size_t bytes =
		in->count *
		(in->type == ELEM_INT32 || in->type == ELEM_FLOAT ? 4 : 8);

	return failed(
		o,
		CALL(o, CREATE_TENSOR_WITH_DATA,
		     ort_status * (*)(const void *, void *, size_t,
				      const int64_t *, size_t, int, void **),
		     o->memory, in->data, bytes, in->dims, in->ndim, in->type,
		     &in->value),
		"an input");
}

/*** @@RUN ***/

/* The std of a float output (NAN when it holds nothing). */
static int output_std(double *out, ort *o, void *value)
{
	void *info = NULL;
	float *data = NULL;
	size_t n = 0;
	double sum = 0, sumsq = 0;
	int rc;

	*out = NAN;
	if ((rc = failed(o,
			 CALL(o, GET_TENSOR_TYPE_AND_SHAPE,
			      ort_status * (*)(const void *, void **), value,
			      &info),
			 "an output's shape")) != ORX_OK)
		return rc;
	rc = failed(o,
		    CALL(o, GET_SHAPE_ELEMENT_COUNT,
			 ort_status * (*)(const void *, size_t *), info, &n),
		    "an output's size");
	CALL(o, RELEASE_TYPE_AND_SHAPE, release_fn, info);
	if (rc != ORX_OK || (rc = failed(o,
					 CALL(o, GET_TENSOR_MUTABLE_DATA,
					      ort_status * (*)(void *, void **),
					      value, (void **)&data),
					 "an output's values")) != ORX_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		sum += data[i], sumsq += (double)data[i] * data[i];
	if (n)
		*out = sqrt(fmax(sumsq / (double)n -
					 (sum / (double)n) * (sum / (double)n),
				 0));
	return ORX_OK;
}

static void free_inputs(ort *o, input *in, size_t n)
{
	for (size_t i = 0; in && i < n; i++) {
		if (in[i].value)
			CALL(o, RELEASE_VALUE, release_fn, in[i].value);
		free(in[i].data);
	}
	free(in);
}

/* The model's inputs (not its initializers), drawn and made values. */
static int make_inputs(input **out, size_t *n, double *input_rms, ort *o,
		       const Onnx__GraphProto *g)
{
	input *in = calloc(g->n_input + 1, sizeof(*in));
	double sumsq = 0;
	size_t nsq = 0;
	int rc = in ? ORX_OK : orx_fail(ORX_ENOMEM, "out of memory");

	*n = 0;
	for (size_t i = 0; i < g->n_input && rc == ORX_OK; i++) {
		if (!g->input[i]->name || is_initializer(g, g->input[i]->name))
			continue;
		if ((rc = make_input(&in[*n], g->input[i], 0x72756e + i, &sumsq,
				     &nsq)) == ORX_OK)
			rc = make_value(o, &in[*n]);
		(*n)++;
	}
	*input_rms = nsq ? sqrt(sumsq / (double)nsq) : 1;
	*out = in;
	return rc;
}

static int run_session(ort *o, input *in, size_t n_in, const char *const *names,
		       size_t n, void **values)
{
	const char **in_names = calloc(n_in + 1, sizeof(*in_names));
	const void **in_values = calloc(n_in + 1, sizeof(*in_values));
	int rc = in_names && in_values ? ORX_OK
				       : orx_fail(ORX_ENOMEM, "out of memory");

	for (size_t i = 0; i < n_in && rc == ORX_OK; i++)
		in_names[i] = in[i].name, in_values[i] = in[i].value;
	if (rc == ORX_OK)
		rc = failed(o,
			    CALL(o, RUN,
				 ort_status * (*)(void *, const void *,
						  const char *const *,
						  const void *const *, size_t,
						  const char *const *, size_t,
						  void **),
				 o->session, NULL, in_names, in_values, n_in,
				 names, n, values),
			    "running the model");
	free(in_names);
	free(in_values);
	return rc;
}

int orx_run_measure(double *stds, double *input_rms, const orx_model *model,
		    const char *const *names, size_t n)
{
	ort o = {0};
	uint8_t *bytes = NULL, *with = NULL;
	size_t len = 0, with_len = 0, n_in = 0;
	input *in = NULL;
	void **values = calloc(n + 1, sizeof(*values));
	orx_save_options keep = ORX_SAVE_OPTIONS_INIT;
	int rc = values ? ORX_OK : orx_fail(ORX_ENOMEM, "out of memory");

	if (rc == ORX_OK)
		rc = orx_model_save_buffer(&bytes, &len, model, &keep);
	if (rc == ORX_OK)
		rc = orx_wire_add_outputs(&with, &with_len, bytes, len, names,
					  n);
	free(bytes);
	if (rc == ORX_OK)
		rc = start(&o, with, with_len);
	if (rc == ORX_OK)
		rc = make_inputs(&in, &n_in, input_rms, &o,
				 model->proto->graph);
	if (rc == ORX_OK)
		rc = run_session(&o, in, n_in, names, n, values);
	for (size_t i = 0; i < n && rc == ORX_OK; i++)
		rc = output_std(&stds[i], &o, values[i]);
	for (size_t i = 0; values && i < n; i++)
		if (values[i])
			CALL(&o, RELEASE_VALUE, release_fn, values[i]);
	free(values);
	free_inputs(&o, in, n_in);
	free(with);
	unload(&o);
	return rc;
}
