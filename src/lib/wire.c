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
 * same message with the raw_data of the main graph's larger initializers
 * left out, so that unpacking copies only the rest; the tensors are then
 * pointed at their bytes where they lie. Only the plain layout is
 * rewritten (one graph field; at most one raw_data field per tensor);
 * anything else is unpacked as it is. */

enum {
	MODEL_GRAPH = 7,       /* ModelProto.graph */
	GRAPH_INITIALIZER = 5, /* GraphProto.initializer */
	TENSOR_RAW_DATA = 9,   /* TensorProto.raw_data */
	BORROW_MIN = 64,       /* smaller raw_data is copied as usual */
	VARINT_MAX = 10,
};

/* Occurrences of field number in the message; ORX_EUNSUPPORTED when one
 * is not of wire type LEN. */
static int count_fields(size_t *n, const uint8_t *data, size_t len,
			uint32_t number)
{
	cursor c = {data, data + len};
	field f;
	int rc = ORX_OK;

	*n = 0;
	while (c.p < c.end && (rc = next_field(&f, &c)) == ORX_OK)
		if (f.number == number) {
			if (f.type != WIRE_LEN)
				return ORX_EUNSUPPORTED;
			++*n;
		}
	return rc;
}

typedef struct {
	uint8_t *buf;
	size_t at;
	orx_borrowed *borrowed;
	size_t n_borrowed, cap_borrowed, tensor;
} sink;

static void put_varint(sink *s, uint64_t v)
{
	do {
		s->buf[s->at++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
}

static void put_bytes(sink *s, const uint8_t *p, size_t n)
{
	memcpy(s->buf + s->at, p, n);
	s->at += n;
}

typedef int (*content_fn)(sink *s, const uint8_t *data, size_t len);

/* Field number with the content fn writes from data: written after room
 * for the longest length, then moved back against its real length. */
static int put_message(sink *s, uint32_t number, content_fn fn,
		       const uint8_t *data, size_t len)
{
	size_t head, body, n;
	uint8_t tmp[VARINT_MAX];
	sink t = {tmp, 0, NULL, 0, 0, 0};
	int rc;

	put_varint(s, (uint64_t)number << 3 | WIRE_LEN);
	head = s->at;
	s->at = body = head + VARINT_MAX;
	if ((rc = fn(s, data, len)) != ORX_OK)
		return rc;
	n = s->at - body;
	put_varint(&t, n);
	memcpy(s->buf + head, tmp, t.at);
	memmove(s->buf + head + t.at, s->buf + body, n);
	s->at = head + t.at + n;
	return ORX_OK;
}

static int tensor_content(sink *s, const uint8_t *data, size_t len)
{
	cursor c = {data, data + len};
	size_t raw = 0;
	field f;
	int rc = count_fields(&raw, data, len, TENSOR_RAW_DATA);

	if (rc == ORX_EUNSUPPORTED) { /* odd: keep the tensor whole */
		raw = 0;
		rc = ORX_OK;
	}
	while (rc == ORX_OK && c.p < c.end &&
	       (rc = next_field(&f, &c)) == ORX_OK) {
		if (raw == 1 && f.number == TENSOR_RAW_DATA &&
		    f.len >= BORROW_MIN) {
			orx_borrowed *b =
				orx_room(s->borrowed, &s->cap_borrowed,
					 s->n_borrowed, sizeof(*b));
			if (!b)
				return ORX_ENOMEM;
			s->borrowed = b;
			s->borrowed[s->n_borrowed++] =
				(orx_borrowed){s->tensor, f.payload, f.len};
			continue;
		}
		put_bytes(s, f.start, (size_t)(f.end - f.start));
	}
	s->tensor++;
	return rc;
}

/* The message's fields copied, but for those numbered number (of wire
 * type LEN), whose content fn writes. */
static int rewrite_fields(sink *s, const uint8_t *data, size_t len,
			  uint32_t number, content_fn fn)
{
	cursor c = {data, data + len};
	field f;
	int rc = ORX_OK;

	while (c.p < c.end && (rc = next_field(&f, &c)) == ORX_OK) {
		if (f.number == number && f.type == WIRE_LEN)
			rc = put_message(s, f.number, fn, f.payload, f.len);
		else
			put_bytes(s, f.start, (size_t)(f.end - f.start));
		if (rc != ORX_OK)
			break;
	}
	return rc;
}

static int graph_content(sink *s, const uint8_t *data, size_t len)
{
	return rewrite_fields(s, data, len, GRAPH_INITIALIZER, tensor_content);
}

static int model_content(sink *s, const uint8_t *data, size_t len)
{
	return rewrite_fields(s, data, len, MODEL_GRAPH, graph_content);
}

int orx_wire_skeleton(uint8_t **out, size_t *out_len, orx_borrowed **borrowed,
		      size_t *n_borrowed, const uint8_t *data, size_t len)
{
	size_t graphs = 0;
	sink s = {NULL, 0, NULL, 0, 0, 0};
	int rc;

	if ((rc = count_fields(&graphs, data, len, MODEL_GRAPH)) != ORX_OK ||
	    graphs != 1)
		return rc == ORX_EINVALID ? rc : ORX_EUNSUPPORTED;
	/* a level may write VARINT_MAX ahead before moving back */
	if (!(s.buf = malloc(len + 4 * VARINT_MAX)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	rc = model_content(&s, data, len);
	if (rc == ORX_OK && s.n_borrowed == 0)
		rc = ORX_EUNSUPPORTED; /* nothing to gain */
	if (rc != ORX_OK) {
		free(s.buf);
		free(s.borrowed);
		return rc;
	}
	*out = s.buf;
	*out_len = s.at;
	*borrowed = s.borrowed;
	*n_borrowed = s.n_borrowed;
	return ORX_OK;
}
