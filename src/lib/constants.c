/* Small constants read where a node uses them: a shape, axes, a bound, an
 * exponent: an initializer, or the output of a Constant node. */
#include "constants.h"
#include "ops.h"

/* The Constant node producing value v of gr, or -1. */
static int constant_node(const orx_graph *gr, int v)
{
	int p = orx_graph_producer(gr, v);

	return p >= 0 && orx_op_class_at(gr, p) == ORX_OP_CONSTANT ? p : -1;
}

/* Value v through the ops that copy their input (a cycle ends at 64):
 * the value they copy, and *p its producer (-1: none). */
static int copied(const orx_graph *gr, int v, int *p)
{
	for (int hops = 0; hops <= 64; hops++) {
		const orx_op *op;
		if (orx_graph_initializer(gr, v) >= 0 ||
		    (*p = orx_graph_producer(gr, v)) < 0) {
			*p = -1;
			return v;
		}
		op = orx_op_of(gr, *p);
		if (!op || !op->copies || orx_graph_node(gr, *p)->n_input < 1)
			return v;
		v = orx_graph_input_of(gr, *p, 0);
	}
	return v;
}

const Onnx__TensorProto *orx_graph_constant(const orx_graph *gr, int v)
{
	int p, init;
	const Onnx__AttributeProto *a;

	v = copied(gr, v, &p);
	if ((init = orx_graph_initializer(gr, v)) >= 0)
		return orx_graph_proto(gr)->initializer[init];
	if (p < 0 || orx_op_class_at(gr, p) != ORX_OP_CONSTANT)
		return NULL;
	a = orx_attr_find(orx_graph_node(gr, p), "value");
	return a ? a->t : NULL;
}

int orx_graph_scalar(double *out, const orx_graph *gr, const char *name)
{
	int v = orx_graph_value(gr, name), p;
	const Onnx__TensorProto *t = orx_graph_constant(gr, v);
	const Onnx__AttributeProto *a;
	const Onnx__NodeProto *node;

	if (t)
		return orx_tensor_proto_scalar(out, t);
	copied(gr, v, &p);
	if (p < 0 || orx_op_class_at(gr, p) != ORX_OP_CONSTANT)
		return ORX_EUNSUPPORTED;
	node = orx_graph_node(gr, p);
	if ((a = orx_attr_find(node, "value_float")) && a->has_f)
		return *out = a->f, ORX_OK;
	if ((a = orx_attr_find(node, "value_int")) && a->has_i)
		return *out = (double)a->i, ORX_OK;
	return ORX_EUNSUPPORTED;
}

int orx_graph_ints(int64_t *out, size_t max, size_t *n, const orx_graph *gr,
		   const char *name)
{
	int v = orx_graph_value(gr, name), p, init;
	const Onnx__AttributeProto *a;

	if ((init = orx_graph_initializer(gr, v)) >= 0)
		return orx_tensor_proto_ints(
			out, max, n, orx_graph_proto(gr)->initializer[init]);
	if ((p = constant_node(gr, v)) < 0)
		return ORX_EUNSUPPORTED;
	if ((a = orx_attr_find(orx_graph_node(gr, p), "value")) && a->t)
		return orx_tensor_proto_ints(out, max, n, a->t);
	return orx_attr_ints(out, max, n, orx_graph_node(gr, p), "value_ints")
		       ? ORX_OK
		       : ORX_EUNSUPPORTED;
}
