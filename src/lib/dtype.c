/* Element types: names, sizes, where typed storage keeps them, and the
 * float16 / bfloat16 conversions. */
#include "internal.h"

#include <string.h>

/* The typed TensorProto field that holds each dtype's elements. */
typedef enum {
	FIELD_NONE,
	FIELD_FLOAT,
	FIELD_INT32,
	FIELD_STRING,
	FIELD_INT64,
	FIELD_DOUBLE,
	FIELD_UINT64
} typed_field;

typedef struct {
	int code;
	const char *name;
	unsigned bits;	   /* per element; 0 for strings */
	typed_field field; /* typed storage */
	unsigned per_slot; /* elements per typed value (4-bit: 2) */
	unsigned slots;	   /* typed values per element (complex: 2) */
} dtype_desc;

static const dtype_desc dtypes[] = {
	{1, "float32", 32, FIELD_FLOAT, 1, 1},
	{2, "uint8", 8, FIELD_INT32, 1, 1},
	{3, "int8", 8, FIELD_INT32, 1, 1},
	{4, "uint16", 16, FIELD_INT32, 1, 1},
	{5, "int16", 16, FIELD_INT32, 1, 1},
	{6, "int32", 32, FIELD_INT32, 1, 1},
	{7, "int64", 64, FIELD_INT64, 1, 1},
	{8, "string", 0, FIELD_STRING, 1, 1},
	{9, "bool", 8, FIELD_INT32, 1, 1},
	{10, "float16", 16, FIELD_INT32, 1, 1},
	{11, "float64", 64, FIELD_DOUBLE, 1, 1},
	{12, "uint32", 32, FIELD_UINT64, 1, 1},
	{13, "uint64", 64, FIELD_UINT64, 1, 1},
	{14, "complex64", 64, FIELD_FLOAT, 1, 2},
	{15, "complex128", 128, FIELD_DOUBLE, 1, 2},
	{16, "bfloat16", 16, FIELD_INT32, 1, 1},
	{17, "float8e4m3fn", 8, FIELD_INT32, 1, 1},
	{18, "float8e4m3fnuz", 8, FIELD_INT32, 1, 1},
	{19, "float8e5m2", 8, FIELD_INT32, 1, 1},
	{20, "float8e5m2fnuz", 8, FIELD_INT32, 1, 1},
	{21, "uint4", 4, FIELD_INT32, 2, 1},
	{22, "int4", 4, FIELD_INT32, 2, 1},
	{23, "float4e2m1", 4, FIELD_INT32, 2, 1},
	{24, "float8e8m0", 8, FIELD_INT32, 1, 1},
};

static const dtype_desc *find_dtype(int code)
{
	if (code < 1 || (size_t)code > sizeof(dtypes) / sizeof(dtypes[0]))
		return NULL;
	return &dtypes[code - 1];
}

const char *orx_dtype_name(int dtype)
{
	const dtype_desc *d = find_dtype(dtype);
	return d ? d->name : NULL;
}

unsigned orx_dtype_bits(int dtype)
{
	const dtype_desc *d = find_dtype(dtype);
	return d ? d->bits : 0;
}

bool orx_dtype_is_float(int dtype)
{
	return dtype == ORX_DTYPE_FLOAT || dtype == ORX_DTYPE_FLOAT16 ||
	       dtype == ORX_DTYPE_BFLOAT16 || dtype == ORX_DTYPE_DOUBLE;
}

uint64_t orx_dtype_nbytes(int dtype, uint64_t n)
{
	unsigned bits = orx_dtype_bits(dtype);

	if (bits == 0)
		return 0;
	if (bits < 8)
		return (n * bits + 7) / 8; /* n < 2^63: no overflow */
	return n * (bits / 8);
}

/* Number of values of the typed field that n elements take, and which
 * field; FIELD_NONE for unknown codes. */
static typed_field typed_len(uint64_t *len, int dtype, uint64_t n)
{
	const dtype_desc *d = find_dtype(dtype);

	if (!d)
		return FIELD_NONE;
	*len = (n + d->per_slot - 1) / d->per_slot * d->slots;
	return d->field;
}

/*** @@F16: binary16 and bfloat16 ***/

/* Round m right by shift bits (1..63), to nearest, ties to even. */
static uint64_t round_shift(uint64_t m, unsigned shift)
{
	uint64_t q = m >> shift;
	uint64_t rem = m & ((UINT64_C(1) << shift) - 1);
	uint64_t half = UINT64_C(1) << (shift - 1);

	if (rem > half || (rem == half && (q & 1)))
		q++;
	return q;
}

/* Round a double to a binary format with ebits exponent bits and mbits
 * stored mantissa bits (IEEE layout, with subnormals and infinities);
 * returns the bit pattern. */
static uint32_t narrow(double x, unsigned ebits, unsigned mbits)
{
	uint64_t b;
	int bias = (1 << (ebits - 1)) - 1;
	uint32_t inf = ((UINT32_C(1) << ebits) - 1) << mbits;
	uint32_t sign;
	int exp, e;
	uint64_t man;

	memcpy(&b, &x, sizeof(b));
	sign = (uint32_t)(b >> 63) << (ebits + mbits);
	exp = (int)((b >> 52) & 0x7ff);
	man = b & ((UINT64_C(1) << 52) - 1);
	if (exp == 0x7ff) /* infinity, or NaN made quiet with its top bits */
		return sign | inf |
		       (man ? (UINT32_C(1) << (mbits - 1)) |
					(uint32_t)(man >> (52 - mbits))
			    : 0);
	if (exp == 0)
		return sign; /* zero or double subnormal: far below range */
	e = exp - 1023 + bias;
	if (e >= (1 << ebits) - 1)
		return sign | inf;
	if (e >= 1)
		return sign | (uint32_t)(((uint64_t)e << mbits) +
					 round_shift(man, 52 - mbits));
	if (e < -(int)mbits)
		return sign; /* below half the smallest subnormal */
	/* subnormal result: the carry of rounding may make it normal */
	return sign |
	       (uint32_t)round_shift(man | (UINT64_C(1) << 52),
				     (unsigned)(52 - (int)mbits + 1 - e));
}

/* Widen a pattern of the same kind of format back to double, exactly. */
static double widen(uint32_t h, unsigned ebits, unsigned mbits)
{
	int bias = (1 << (ebits - 1)) - 1;
	uint32_t emask = (UINT32_C(1) << ebits) - 1;
	uint32_t exp = (h >> mbits) & emask;
	uint64_t man = h & ((UINT32_C(1) << mbits) - 1);
	uint64_t sign = (uint64_t)((h >> (ebits + mbits)) & 1) << 63;
	uint64_t b;
	double x;

	if (exp == emask) {
		b = sign | (UINT64_C(0x7ff) << 52) | (man << (52 - mbits));
	} else if (exp == 0) {
		x = (double)man;
		for (unsigned i = 0; i < mbits + (unsigned)bias - 1; i++)
			x /= 2; /* exact: powers of two */
		return sign ? -x : x;
	} else {
		b = sign | ((uint64_t)((int)exp - bias + 1023) << 52) |
		    (man << (52 - mbits));
	}
	memcpy(&x, &b, sizeof(x));
	return x;
}

uint16_t orx_f16_from_double(double x)
{
	return (uint16_t)narrow(x, 5, 10);
}

double orx_f16_to_double(uint16_t h)
{
	return widen(h, 5, 10);
}

uint16_t orx_bf16_from_double(double x)
{
	return (uint16_t)narrow(x, 8, 7);
}

double orx_bf16_to_double(uint16_t h)
{
	return widen(h, 8, 7);
}

/*** @@COUNT: element counts against data lengths ***/

int orx_tensor_proto_count(uint64_t *out, const Onnx__TensorProto *t)
{
	uint64_t n = 1;

	for (size_t i = 0; i < t->n_dims; i++) {
		int64_t d = t->dims[i];
		if (d < 0)
			return orx_fail(ORX_EINVALID,
					"tensor '%s': negative "
					"dimension %lld",
					t->name ? t->name : "", (long long)d);
		if (d != 0 && n > (UINT64_C(1) << 62) / (uint64_t)d)
			return orx_fail(ORX_EINVALID,
					"tensor '%s': the "
					"product of its dims "
					"overflows",
					t->name ? t->name : "");
		n *= (uint64_t)d;
	}
	*out = n;
	return ORX_OK;
}

static size_t typed_count(const Onnx__TensorProto *t, typed_field f)
{
	switch (f) {
	case FIELD_FLOAT: return t->n_float_data;
	case FIELD_INT32: return t->n_int32_data;
	case FIELD_STRING: return t->n_string_data;
	case FIELD_INT64: return t->n_int64_data;
	case FIELD_DOUBLE: return t->n_double_data;
	case FIELD_UINT64: return t->n_uint64_data;
	default: return 0;
	}
}

static size_t typed_total(const Onnx__TensorProto *t)
{
	size_t n = 0;

	for (typed_field f = FIELD_FLOAT; f <= FIELD_UINT64; f++)
		n += typed_count(t, f);
	return n;
}

orx_storage orx_tensor_proto_storage(const Onnx__TensorProto *t)
{
	if (t->has_data_location &&
	    t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
		return ORX_STORAGE_EXTERNAL;
	if (t->has_raw_data)
		return ORX_STORAGE_RAW;
	if (typed_total(t) > 0)
		return ORX_STORAGE_TYPED;
	return ORX_STORAGE_EMPTY;
}

static const char *field_name(typed_field f)
{
	static const char *names[] = {
		"none",	      "float_data",  "int32_data", "string_data",
		"int64_data", "double_data", "uint64_data"};
	return names[f];
}

/* what: how n was found ("dims give", or a segment's bounds). */
static int validate_typed(const Onnx__TensorProto *t, uint64_t n,
			  const char *what)
{
	uint64_t want;
	typed_field f = typed_len(&want, t->data_type, n);
	const char *name = t->name ? t->name : "";

	if (f == FIELD_NONE)
		return ORX_OK; /* a dtype newer than this schema: keep as is */
	if (want > 0 && typed_total(t) == 0)
		return orx_fail(ORX_EINVALID,
				"tensor '%s': %s %llu "
				"elements but it holds no data",
				name, what, (unsigned long long)n);
	if (typed_count(t, f) != typed_total(t))
		return orx_fail(ORX_EINVALID,
				"tensor '%s': data in a field "
				"that does not match its dtype "
				"%s",
				name, orx_dtype_name(t->data_type));
	if (typed_count(t, f) != want)
		return orx_fail(ORX_EINVALID,
				"tensor '%s': %s %llu "
				"elements but %s has %zu "
				"values",
				name, what, (unsigned long long)n,
				field_name(f), typed_count(t, f));
	return ORX_OK;
}

static int validate_raw(const Onnx__TensorProto *t, uint64_t n,
			const char *what)
{
	uint64_t want = orx_dtype_nbytes(t->data_type, n);
	const char *name = t->name ? t->name : "";

	if (t->data_type == ORX_DTYPE_STRING || t->data_type == 0)
		return orx_fail(ORX_EINVALID,
				"tensor '%s': raw_data is not "
				"allowed for dtype %s",
				name, t->data_type ? "string" : "undefined");
	if (typed_total(t) > 0)
		return orx_fail(ORX_EINVALID,
				"tensor '%s': both raw_data "
				"and a typed field hold data",
				name);
	if (orx_dtype_bits(t->data_type) && t->raw_data.len != want)
		return orx_fail(ORX_EINVALID,
				"tensor '%s': %s %llu "
				"elements (%llu bytes) but "
				"raw_data has %zu bytes",
				name, what, (unsigned long long)n,
				(unsigned long long)want, t->raw_data.len);
	return ORX_OK;
}

/* A segment (a piece [begin, end) of the flattened elements of a larger
 * tensor) holds end - begin of its *n elements: into *n. */
static int segment_count(uint64_t *n, const Onnx__TensorProto *t)
{
	const Onnx__TensorProto__Segment *s = t->segment;
	int64_t begin = s->has_begin ? s->begin : 0;
	int64_t end = s->has_end ? s->end : 0;

	if (begin < 0 || end < begin || (uint64_t)end > *n)
		return orx_fail(ORX_EINVALID,
				"tensor '%s': segment [%lld, "
				"%lld) is not within its %llu "
				"elements",
				t->name ? t->name : "", (long long)begin,
				(long long)end, (unsigned long long)*n);
	*n = (uint64_t)(end - begin);
	return ORX_OK;
}

int orx_tensor_proto_validate(const Onnx__TensorProto *t)
{
	uint64_t n;
	int rc;

	const char *what = "dims give";

	if ((rc = orx_tensor_proto_count(&n, t)) != ORX_OK)
		return rc;
	if (t->segment && (rc = segment_count(&n, t)) != ORX_OK)
		return rc;
	if (t->segment)
		what = "its segment gives";
	switch (orx_tensor_proto_storage(t)) {
	case ORX_STORAGE_RAW: return validate_raw(t, n, what);
	case ORX_STORAGE_EXTERNAL:
		return ORX_OK; /* checked where the data is read */
	default: return validate_typed(t, n, what);
	}
}

uint64_t orx_dims_count(const int64_t *dims, size_t ndim)
{
	uint64_t n = 1;

	for (size_t i = 0; i < ndim; i++) {
		if (dims[i] < 0 ||
		    (dims[i] && n > (UINT64_C(1) << 62) / (uint64_t)dims[i]))
			return UINT64_MAX;
		n *= (uint64_t)dims[i];
	}
	return n;
}

/*** @@TYPED: typed storage as raw bytes ***/

/* Where the n elements of t's typed storage are: its field, the values
 * they take there, and the bytes a value holds (4-bit: a packed byte). */
static typed_field typed_place(uint64_t *len, size_t *size,
			       const Onnx__TensorProto *t, uint64_t n)
{
	typed_field f = typed_len(len, t->data_type, n);
	unsigned bits = orx_dtype_bits(t->data_type);
	size_t have[] = {0,
			 t->n_float_data,
			 t->n_int32_data,
			 0,
			 t->n_int64_data,
			 t->n_double_data,
			 t->n_uint64_data};

	*size = bits < 8 ? 1 : bits / 8;
	if (f == FIELD_STRING || f == FIELD_NONE || *len != have[f] ||
	    (f == FIELD_FLOAT && *size != 4) ||
	    (f == FIELD_DOUBLE && *size != 8))
		return FIELD_NONE; /* complex or mismatched: not converted */
	return f;
}

int orx_typed_to_raw(uint8_t *out, const Onnx__TensorProto *t, uint64_t n)
{
	uint64_t len;
	size_t size;
	typed_field f = typed_place(&len, &size, t, n);

	for (uint64_t k = 0; k < len; k++) {
		uint64_t v = f == FIELD_INT32
				     ? (uint64_t)(int64_t)t->int32_data[k]
			     : f == FIELD_INT64	 ? (uint64_t)t->int64_data[k]
			     : f == FIELD_UINT64 ? t->uint64_data[k]
						 : 0;
		if (f == FIELD_FLOAT)
			memcpy(out + k * size, &t->float_data[k], size);
		else if (f == FIELD_DOUBLE)
			memcpy(out + k * size, &t->double_data[k], size);
		else
			memcpy(out + k * size, &v, size); /* little-endian */
	}
	return f == FIELD_NONE ? ORX_EUNSUPPORTED : ORX_OK;
}

int orx_raw_to_typed(Onnx__TensorProto *t, const uint8_t *raw, uint64_t n)
{
	uint64_t len;
	size_t size;
	typed_field f = typed_place(&len, &size, t, n);
	bool is_signed = t->data_type == ORX_DTYPE_INT8 ||
			 t->data_type == ORX_DTYPE_INT16 ||
			 t->data_type == ORX_DTYPE_INT32;

	for (uint64_t k = 0; k < len && f != FIELD_NONE; k++) {
		uint64_t v = 0;
		memcpy(&v, raw + k * size, size);
		if (is_signed && size < 8 && (v >> (size * 8 - 1)) & 1)
			v |= ~UINT64_C(0) << (size * 8); /* sign-extended */
		switch (f) {
		case FIELD_FLOAT:
			memcpy(&t->float_data[k], raw + k * size, size);
			break;
		case FIELD_DOUBLE:
			memcpy(&t->double_data[k], raw + k * size, size);
			break;
		case FIELD_INT32: t->int32_data[k] = (int32_t)v; break;
		case FIELD_INT64: t->int64_data[k] = (int64_t)v; break;
		default: t->uint64_data[k] = v;
		}
	}
	return f == FIELD_NONE ? ORX_EUNSUPPORTED : ORX_OK;
}
