/* A pre-scan of the protobuf wire format that bounds message nesting.
 *
 * protobuf-c unpacks nested messages by recursion with no depth limit, so a
 * small file nested thousands of levels deep overflows the stack. This scan
 * walks the same bytes with the same descriptors, recursing only into
 * fields the schema declares as messages, and refuses nesting deeper than
 * the caller's limit before protobuf-c sees the data. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_64BIT = 1, WIRE_LEN = 2, WIRE_32BIT = 5 };

typedef struct {
	const uint8_t *p;
	const uint8_t *end;
} cursor;

static int read_varint(uint64_t *out, cursor *c)
{
	uint64_t v = 0;
	unsigned shift;

	for (shift = 0; shift < 64 && c->p < c->end; shift += 7) {
		uint8_t b = *c->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return ORX_OK;
		}
	}
	return orx_fail(ORX_EINVALID, "malformed protobuf: truncated or "
				      "overlong varint");
}

static int skip(cursor *c, uint64_t n)
{
	if (n > (uint64_t)(c->end - c->p))
		return orx_fail(ORX_EINVALID, "malformed protobuf: field "
					      "runs past the end of its "
					      "message (truncated file?)");
	c->p += n;
	return ORX_OK;
}

static bool is_submessage(const ProtobufCMessageDescriptor *desc,
			  uint32_t number,
			  const ProtobufCMessageDescriptor **sub)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(desc, number);

	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return false;
	*sub = f->descriptor;
	return true;
}

typedef struct {
	uint32_t number;
	unsigned type;
	const uint8_t *start, *end; /* the whole field */
	const uint8_t *payload;	    /* WIRE_LEN: the bytes */
	size_t len;
} field;

/* The field at c, bounds checked, c moved past it. */
static int next_field(field *f, cursor *c)
{
	uint64_t key = 0, n = 0;
	int rc;

	f->start = c->p;
	if ((rc = read_varint(&key, c)) != ORX_OK)
		return rc;
	if (key >> 3 == 0 || key >> 3 > 536870911u)
		return orx_fail(ORX_EINVALID, "malformed protobuf: invalid "
					      "field number");
	f->number = (uint32_t)(key >> 3);
	f->type = (unsigned)(key & 7);
	switch (f->type) {
	case WIRE_VARINT: rc = read_varint(&n, c); break;
	case WIRE_64BIT: rc = skip(c, 8); break;
	case WIRE_32BIT: rc = skip(c, 4); break;
	case WIRE_LEN:
		if ((rc = read_varint(&n, c)) != ORX_OK)
			break;
		f->payload = c->p;
		f->len = (size_t)n;
		rc = skip(c, n);
		break;
	default:
		rc = orx_fail(ORX_EINVALID,
			      "malformed protobuf: unsupported "
			      "wire type %u",
			      f->type);
	}
	f->end = c->p;
	return rc;
}

static int scan(const uint8_t *data, size_t len,
		const ProtobufCMessageDescriptor *desc, unsigned depth,
		unsigned max_depth)
{
	cursor c = {data, data + len};
	int rc = ORX_OK;

	if (depth > max_depth)
		return orx_fail(ORX_EINVALID,
				"messages nested deeper than %u "
				"levels",
				max_depth);
	while (c.p < c.end && rc == ORX_OK) {
		const ProtobufCMessageDescriptor *sub;
		field f;

		if ((rc = next_field(&f, &c)) == ORX_OK && f.type == WIRE_LEN &&
		    is_submessage(desc, f.number, &sub))
			rc = scan(f.payload, f.len, sub, depth + 1, max_depth);
	}
	return rc;
}

int orx_wire_scan(const uint8_t *data, size_t len,
		  const ProtobufCMessageDescriptor *desc, unsigned max_depth)
{
	return scan(data, len, desc, 1, max_depth);
}

/*** @@SKELETON: the model without its large raw_data bytes ***/

/* protobuf-c copies every bytes field on unpack. The skeleton is the
 * same message with the larger raw_data of tensors left out, so that
 * unpacking copies only the rest; the tensors are then pointed at their
 * bytes where they lie. Tensors are reached through the fields below:
 * initializers and Constant-style attribute values, in the main graph
 * and in the bodies of If, Loop and Scan. A singular field written more
 * than once (protobuf merges them) and a tensor with more than one
 * raw_data field are kept as they are. */

enum {
	TENSOR_RAW_DATA = 9, /* TensorProto.raw_data */
	BORROW_MIN = 64,     /* smaller raw_data is copied as usual */
	VARINT_MAX = 10,
};

/* The message fields the skeleton walks into. */
typedef struct {
	const ProtobufCMessageDescriptor *in;
	uint32_t number;
} descent;

static const descent descents[] = {
	{&onnx__model_proto__descriptor, 7},	  /* graph */
	{&onnx__graph_proto__descriptor, 1},	  /* node */
	{&onnx__graph_proto__descriptor, 5},	  /* initializer */
	{&onnx__node_proto__descriptor, 5},	  /* attribute */
	{&onnx__attribute_proto__descriptor, 5},  /* t */
	{&onnx__attribute_proto__descriptor, 6},  /* g */
	{&onnx__attribute_proto__descriptor, 10}, /* tensors */
	{&onnx__attribute_proto__descriptor, 11}, /* graphs */
};

#define N_DESCENTS (sizeof(descents) / sizeof(descents[0]))

/* The field of desc numbered number the skeleton walks into, or NULL. */
static const ProtobufCFieldDescriptor *
descent_field(const ProtobufCMessageDescriptor *desc, uint32_t number,
	      size_t *row)
{
	for (size_t i = 0; i < N_DESCENTS; i++)
		if (descents[i].in == desc && descents[i].number == number) {
			*row = i;
			return protobuf_c_message_descriptor_get_field(desc,
								       number);
		}
	return NULL;
}

/* Occurrences of field number in the message, and whether each is of
 * wire type LEN. */
static int count_fields(size_t *n, bool *all_len, const uint8_t *data,
			size_t len, uint32_t number)
{
	cursor c = {data, data + len};
	field f;
	int rc = ORX_OK;

	*n = 0;
	*all_len = true;
	while (c.p < c.end && (rc = next_field(&f, &c)) == ORX_OK)
		if (f.number == number) {
			*all_len &= f.type == WIRE_LEN;
			++*n;
		}
	return rc;
}

typedef struct {
	uint8_t *buf;
	size_t at;
	orx_borrowed *borrowed;
	size_t n_borrowed, cap_borrowed;
	orx_wire_step path[ORX_WIRE_DEPTH]; /* to the message being written */
	unsigned depth;
} sink;

static void put_varint(uint8_t *buf, size_t *at, uint64_t v)
{
	do {
		buf[(*at)++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
}

static void put_bytes(sink *s, const uint8_t *p, size_t n)
{
	memcpy(s->buf + s->at, p, n);
	s->at += n;
}

static int message_content(sink *s, const uint8_t *data, size_t len,
			   const ProtobufCMessageDescriptor *desc);

/* Field number, a message of type desc, rewritten from data: written
 * after room for the longest length, then moved back against its real
 * length. */
static int put_message(sink *s, uint32_t number,
		       const ProtobufCMessageDescriptor *desc,
		       const uint8_t *data, size_t len)
{
	size_t head, body, n, t = 0;
	uint8_t tmp[VARINT_MAX];
	int rc;

	put_varint(s->buf, &s->at, (uint64_t)number << 3 | WIRE_LEN);
	head = s->at;
	s->at = body = head + VARINT_MAX;
	if ((rc = message_content(s, data, len, desc)) != ORX_OK)
		return rc;
	n = s->at - body;
	put_varint(tmp, &t, n);
	memcpy(s->buf + head, tmp, t);
	memmove(s->buf + head + t, s->buf + body, n);
	s->at = head + t + n;
	return ORX_OK;
}

static int tensor_content(sink *s, const uint8_t *data, size_t len)
{
	cursor c = {data, data + len};
	size_t raw = 0;
	bool all_len;
	field f;
	int rc = count_fields(&raw, &all_len, data, len, TENSOR_RAW_DATA);

	while (rc == ORX_OK && c.p < c.end &&
	       (rc = next_field(&f, &c)) == ORX_OK) {
		if (raw == 1 && all_len && f.number == TENSOR_RAW_DATA &&
		    f.len >= BORROW_MIN) {
			orx_borrowed *b =
				orx_room(s->borrowed, &s->cap_borrowed,
					 s->n_borrowed, sizeof(*b));
			if (!b)
				return ORX_ENOMEM;
			s->borrowed = b;
			b = &s->borrowed[s->n_borrowed++];
			memcpy(b->path, s->path, sizeof(s->path));
			b->depth = s->depth;
			b->data = f.payload;
			b->len = f.len;
			continue;
		}
		put_bytes(s, f.start, (size_t)(f.end - f.start));
	}
	return rc;
}

/* Whether the field f of desc is walked into: a field of descents, of
 * wire type LEN, under the depth bound, and if singular written once;
 * *row its descent. */
static int walks_into(bool *yes, const field *f, const uint8_t *data,
		      size_t len, const ProtobufCMessageDescriptor *desc,
		      unsigned depth, size_t *row)
{
	const ProtobufCFieldDescriptor *fd =
		descent_field(desc, f->number, row);
	size_t n = 1;
	bool all_len = true;
	int rc = ORX_OK;

	*yes = false;
	if (!fd || f->type != WIRE_LEN || depth >= ORX_WIRE_DEPTH)
		return ORX_OK;
	if (fd->label != PROTOBUF_C_LABEL_REPEATED)
		rc = count_fields(&n, &all_len, data, len, f->number);
	*yes = rc == ORX_OK && n == 1 && all_len;
	return rc;
}

/* A message's fields copied, those the skeleton walks into rewritten. */
static int message_content(sink *s, const uint8_t *data, size_t len,
			   const ProtobufCMessageDescriptor *desc)
{
	cursor c = {data, data + len};
	uint32_t seen[N_DESCENTS] = {0};
	field f;
	int rc = ORX_OK;

	if (desc == &onnx__tensor_proto__descriptor)
		return tensor_content(s, data, len);
	while (rc == ORX_OK && c.p < c.end &&
	       (rc = next_field(&f, &c)) == ORX_OK) {
		size_t row = 0;
		bool into;
		if ((rc = walks_into(&into, &f, data, len, desc, s->depth,
				     &row)) != ORX_OK)
			break;
		if (!into) {
			put_bytes(s, f.start, (size_t)(f.end - f.start));
			continue;
		}
		s->path[s->depth++] = (orx_wire_step){f.number, seen[row]++};
		rc = put_message(
			s, f.number,
			protobuf_c_message_descriptor_get_field(desc, f.number)
				->descriptor,
			f.payload, f.len);
		s->depth--;
	}
	return rc;
}

int orx_wire_skeleton(uint8_t **out, size_t *out_len, orx_borrowed **borrowed,
		      size_t *n_borrowed, const uint8_t *data, size_t len)
{
	sink s = {0};
	int rc;

	/* each level may write VARINT_MAX ahead before moving back */
	if (!(s.buf = malloc(len + (ORX_WIRE_DEPTH + 1) * VARINT_MAX)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	rc = message_content(&s, data, len, &onnx__model_proto__descriptor);
	if (rc == ORX_OK && s.n_borrowed == 0)
		rc = ORX_EUNSUPPORTED; /* nothing to gain */
	if (rc != ORX_OK) {
		free(s.buf);
		free(s.borrowed);
		return rc == ORX_EINVALID || rc == ORX_ENOMEM
			       ? rc
			       : ORX_EUNSUPPORTED;
	}
	*out = s.buf;
	*out_len = s.at;
	*borrowed = s.borrowed;
	*n_borrowed = s.n_borrowed;
	return ORX_OK;
}

/* The message field number, occurrence index, of msg (NULL if none). */
static ProtobufCMessage *child_at(ProtobufCMessage *msg, orx_wire_step step)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(msg->descriptor,
							step.number);
	char *base = (char *)msg;

	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *(size_t *)(base + f->quantifier_offset);
		ProtobufCMessage **v =
			*(ProtobufCMessage ***)(base + f->offset);
		return step.index < n ? v[step.index] : NULL;
	}
	return step.index == 0 ? *(ProtobufCMessage **)(base + f->offset)
			       : NULL;
}

int orx_wire_attach(Onnx__ModelProto *m, const orx_borrowed *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ProtobufCMessage *at = &m->base;
		Onnx__TensorProto *t;

		for (unsigned d = 0; at && d < b[i].depth; d++)
			at = child_at(at, b[i].path[d]);
		if (!at || at->descriptor != &onnx__tensor_proto__descriptor ||
		    (t = (Onnx__TensorProto *)at)->has_raw_data)
			return orx_fail(ORX_EINVALID, "malformed protobuf: not "
						      "an ONNX model");
		t->has_raw_data = true;
		t->raw_data.len = b[i].len;
		t->raw_data.data = (uint8_t *)b[i].data;
	}
	return ORX_OK;
}

/*** @@OUTPUTS: more graph outputs, for running the model ***/

enum {
	MODEL_GRAPH = 7,      /* ModelProto.graph */
	GRAPH_OUTPUT = 12,    /* GraphProto.output */
	VALUE_INFO_NAME = 1,  /* ValueInfoProto.name */
	VALUE_INFO_TYPE = 2,  /* ValueInfoProto.type */
	TYPE_TENSOR = 1,      /* TypeProto.tensor_type */
	TENSOR_ELEM_TYPE = 1, /* TypeProto.Tensor.elem_type */
};

static size_t varint_size(uint64_t v)
{
	size_t n = 1;

	while (v > 0x7f)
		v >>= 7, n++;
	return n;
}

static size_t len_field_size(size_t payload)
{
	return 1 + varint_size(payload) + payload;
}

/* A float tensor ValueInfoProto called name, as GraphProto.output's
 * field, written at buf + *at (NULL buf: only counted). */
static void put_output(uint8_t *buf, size_t *at, const char *name)
{
	size_t n = strlen(name), tensor = 2, type = len_field_size(tensor),
	       info = len_field_size(n) + 1 + varint_size(type) + type;

	if (!buf) {
		*at += len_field_size(info);
		return;
	}
	put_varint(buf, at, GRAPH_OUTPUT << 3 | WIRE_LEN);
	put_varint(buf, at, info);
	put_varint(buf, at, VALUE_INFO_NAME << 3 | WIRE_LEN);
	put_varint(buf, at, n);
	memcpy(buf + *at, name, n);
	*at += n;
	put_varint(buf, at, VALUE_INFO_TYPE << 3 | WIRE_LEN);
	put_varint(buf, at, type);
	put_varint(buf, at, TYPE_TENSOR << 3 | WIRE_LEN);
	put_varint(buf, at, tensor);
	put_varint(buf, at, TENSOR_ELEM_TYPE << 3 | WIRE_VARINT);
	put_varint(buf, at, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
}

int orx_wire_add_outputs(uint8_t **out, size_t *out_len, const uint8_t *model,
			 size_t len, const char *const *names, size_t n)
{
	cursor c = {model, model + len};
	field f, graph = {0};
	size_t extra = 0, at;
	uint8_t *buf;
	int rc = ORX_OK;

	while (c.p < c.end && !graph.start &&
	       (rc = next_field(&f, &c)) == ORX_OK)
		if (f.number == MODEL_GRAPH && f.type == WIRE_LEN)
			graph = f;
	if (rc != ORX_OK)
		return rc;
	if (!graph.start)
		return orx_fail(ORX_EINVALID, "the model has no graph");
	for (size_t i = 0; i < n; i++)
		put_output(NULL, &extra, names[i]);
	if (!(buf = malloc(len + extra + VARINT_MAX + 1)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	at = (size_t)(graph.start - model);
	memcpy(buf, model, at);
	put_varint(buf, &at, MODEL_GRAPH << 3 | WIRE_LEN);
	put_varint(buf, &at, graph.len + extra);
	memcpy(buf + at, graph.payload, graph.len);
	at += graph.len;
	for (size_t i = 0; i < n; i++)
		put_output(buf, &at, names[i]);
	memcpy(buf + at, graph.end, (size_t)(model + len - graph.end));
	*out_len = at + (size_t)(model + len - graph.end);
	*out = buf;
	return ORX_OK;
}
