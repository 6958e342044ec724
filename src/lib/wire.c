/* A pre-scan of the protobuf wire format that bounds message nesting.
 *
 * protobuf-c unpacks nested messages by recursion with no depth limit, so a
 * small file nested thousands of levels deep overflows the stack. This scan
 * walks the same bytes with the same descriptors, recursing only into
 * fields the schema declares as messages, and refuses nesting deeper than
 * the caller's limit before protobuf-c sees the data. */
#include "internal.h"

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
			  uint32_t number, const ProtobufCMessageDescriptor **sub)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(desc, number);

	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return false;
	*sub = f->descriptor;
	return true;
}

static int scan(const uint8_t *data, size_t len,
		const ProtobufCMessageDescriptor *desc, unsigned depth,
		unsigned max_depth)
{
	cursor c = {data, data + len};
	int rc = ORX_OK;

	if (depth > max_depth)
		return orx_fail(ORX_EINVALID, "messages nested deeper than %u "
					      "levels", max_depth);
	while (c.p < c.end && rc == ORX_OK) {
		uint64_t key = 0, n = 0;
		const ProtobufCMessageDescriptor *sub;

		if ((rc = read_varint(&key, &c)) != ORX_OK)
			break;
		if (key >> 3 == 0 || key >> 3 > 536870911u)
			return orx_fail(ORX_EINVALID, "malformed protobuf: "
						      "invalid field number");
		switch (key & 7) {
		case WIRE_VARINT:
			rc = read_varint(&n, &c);
			break;
		case WIRE_64BIT:
			rc = skip(&c, 8);
			break;
		case WIRE_32BIT:
			rc = skip(&c, 4);
			break;
		case WIRE_LEN:
			if ((rc = read_varint(&n, &c)) != ORX_OK)
				break;
			if (n > (uint64_t)(c.end - c.p))
				return skip(&c, n);
			if (is_submessage(desc, (uint32_t)(key >> 3), &sub))
				rc = scan(c.p, n, sub, depth + 1, max_depth);
			c.p += rc == ORX_OK ? n : 0;
			break;
		default:
			return orx_fail(ORX_EINVALID, "malformed protobuf: "
						      "unsupported wire type "
						      "%u",
					(unsigned)(key & 7));
		}
	}
	return rc;
}

int orx_wire_scan(const uint8_t *data, size_t len,
		  const ProtobufCMessageDescriptor *desc, unsigned max_depth)
{
	return scan(data, len, desc, 1, max_depth);
}
