/* The op table: one row per (domain, op_type) and opset range, found by
 * binary search; what its rows say. */
#include "ops.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

static int compare_rows(const orx_op *a, const orx_op *b)
{
	int c = strcmp(a->domain, b->domain);

	if (!c)
		c = strcmp(a->op_type, b->op_type);
	return c ? c : (a->since > b->since) - (a->since < b->since);
}

Test(ops, rows_are_sorted_so_that_every_row_is_found_at_its_opsets)
{
	size_t n = 0;

	for (const orx_op *op; (op = orx_op_at(n)); n++) {
		const orx_op *next = orx_op_at(n + 1);
		int64_t until =
			next && !strcmp(next->domain, op->domain) &&
					!strcmp(next->op_type, op->op_type)
				? next->since - 1
				: ORX_OPSET_LATEST;
		cr_assert_eq(orx_op_find(op->domain, op->op_type, op->since),
			     op, "%s %s@%d not found", op->domain, op->op_type,
			     op->since);
		cr_assert_eq(orx_op_find(op->domain, op->op_type, until), op,
			     "%s %s@%lld", op->domain, op->op_type,
			     (long long)until);
		if (n > 0)
			cr_assert_lt(compare_rows(orx_op_at(n - 1), op), 0,
				     "%s before %s", orx_op_at(n - 1)->op_type,
				     op->op_type);
	}
	cr_assert_geq(n, 50);
	cr_assert_null(orx_op_find("", "NoSuchOp", 17));
	cr_assert_null(orx_op_find("", NULL, 17));
}

Test(ops, an_opset_before_a_rows_first_version_has_no_row_or_the_older_one)
{
	const orx_op *clip6 = orx_op_find("", "Clip", 6);
	const orx_op *clip13 = orx_op_find("", "Clip", 13);

	/* Clip's bounds: attributes before opset 11, inputs from it */
	cr_assert_not_null(clip6);
	cr_assert_not_null(clip13);
	cr_assert_neq(clip6, clip13);
	cr_expect_str_eq(clip6->attr[ORX_ATTR_MIN].name, "min");
	cr_expect_null(clip13->attr[ORX_ATTR_MIN].name);
	cr_expect_eq(orx_op_input(clip6, 1), ORX_IN_NONE);
	cr_expect_eq(orx_op_input(clip13, 1), ORX_IN_CONFIG);
	/* Slice: starts and ends as attributes before opset 10 */
	cr_expect_eq(orx_op_find("", "Slice", 9)->assemble,
		     ORX_ASSEMBLE_SLICE_ATTRS);
	cr_expect_eq(orx_op_find("", "Slice", 10)->assemble,
		     ORX_ASSEMBLE_SLICE);
	cr_expect_eq(orx_op_find("ai.onnx", "Slice", 17),
		     orx_op_find(NULL, "Slice", 17));
	/* no row holds before its first version */
	cr_expect_null(orx_op_find("", "Clip", 0));
}

Test(ops, layers_say_which_inputs_are_weight_bias_and_data)
{
	const orx_op *gemm = orx_op_named("Gemm"), *mm = orx_op_named("MatMul");
	const orx_op *conv = orx_op_named("Conv");
	const orx_op *bn = orx_op_named("BatchNormalization");
	const orx_op *lstm = orx_op_named("LSTM");

	cr_assert_eq(gemm->cls, ORX_OP_WEIGHTED);
	cr_expect_eq(orx_op_input(gemm, 0), ORX_IN_EITHER);
	cr_expect_eq(orx_op_input(gemm, 1), ORX_IN_EITHER);
	cr_expect_eq(orx_op_input_of_kind(gemm, ORX_IN_BIAS), 2);
	cr_expect_str_eq(gemm->attr[ORX_ATTR_TRANS_B].name, "transB");
	cr_expect_eq(orx_op_input_of_kind(mm, ORX_IN_BIAS), -1);
	cr_expect_eq(orx_op_input_of_kind(conv, ORX_IN_WEIGHT), 1);
	/* the signal: X of Conv, the other of Gemm's A and B */
	cr_expect_eq(orx_op_data_input(conv, 1), 0);
	cr_expect_eq(orx_op_data_input(gemm, 1), 0);
	cr_expect_eq(orx_op_data_input(gemm, 0), 1);
	cr_expect_eq(bn->cls, ORX_OP_NORMALIZATION);
	cr_expect_eq(orx_op_input(bn, 4), ORX_IN_NORM_VAR);
	cr_expect_eq(orx_op_input(orx_op_named("LayerNormalization"), 3),
		     ORX_IN_NONE);
	cr_expect_eq(orx_op_input_of_kind(lstm, ORX_IN_RNN_P), 7);
	cr_expect_eq(orx_op_input_of_kind(orx_op_named("GRU"), ORX_IN_RNN_P),
		     -1);
	cr_expect_eq(orx_op_input(lstm, 6), ORX_IN_STATE);
	cr_expect_eq(orx_op_named("Relu")->cls, ORX_OP_ACTIVATION);
	cr_expect_eq(orx_op_named("Sigmoid")->cls, ORX_OP_PATTERN);
	cr_expect_eq(orx_op_named("Constant")->cls, ORX_OP_CONSTANT);
	/* every weighted op has groups (1 without the attribute) */
	for (size_t i = 0; orx_op_at(i); i++)
		if (orx_op_at(i)->cls == ORX_OP_WEIGHTED)
			cr_expect_geq(
				orx_op_at(i)->attr[ORX_ATTR_GROUP].fallback, 1,
				"%s", orx_op_at(i)->op_type);
}

static Onnx__AttributeProto *attr_f(Onnx__AttributeProto *a, const char *name,
				    double v)
{
	onnx__attribute_proto__init(a);
	a->name = (char *)name;
	a->has_f = 1;
	a->f = (float)v;
	return a;
}

Test(ops, attributes_read_from_the_node_or_the_rows_default)
{
	const orx_op *leaky = orx_op_named("LeakyRelu");
	const orx_op *gemm = orx_op_named("Gemm");
	Onnx__NodeProto node = ONNX__NODE_PROTO__INIT;
	Onnx__AttributeProto a, *list[1] = {&a};
	Onnx__AttributeProto t = ONNX__ATTRIBUTE_PROTO__INIT, *tl[1] = {&t};

	node.op_type = "LeakyRelu";
	cr_expect_float_eq(orx_op_attr(leaky, &node, ORX_ATTR_ALPHA),
			   ORX_LEAKY_RELU_ALPHA, 1e-15);
	node.attribute = list;
	node.n_attribute = 1;
	attr_f(&a, "alpha", 0.25);
	cr_expect_float_eq(orx_op_attr(leaky, &node, ORX_ATTR_ALPHA), 0.25,
			   1e-15);
	/* Gemm: transB as the node gives it; groups always 1 */
	t.name = "transB";
	t.has_i = 1;
	t.i = 1;
	node.attribute = tl;
	cr_expect_eq(orx_op_attr(gemm, &node, ORX_ATTR_TRANS_B), 1);
	cr_expect_eq(orx_op_attr(gemm, &node, ORX_ATTR_TRANS_A), 0);
	cr_expect_eq(orx_op_attr(gemm, &node, ORX_ATTR_GROUP), 1);
	/* Clip at opset 13 has no bounds attributes: unbounded */
	node.attribute = list;
	attr_f(&a, "min", 0);
	cr_expect(isnan(
		orx_op_attr(orx_op_find("", "Clip", 13), &node, ORX_ATTR_MIN)));
	cr_expect_eq(
		orx_op_attr(orx_op_find("", "Clip", 6), &node, ORX_ATTR_MIN),
		0);
}

/* A graph of one node of domain (opset version of both domains). */
static orx_graph *one_node(Onnx__NodeProto *node, const char *domain,
			   const char *op_type, int64_t version)
{
	static Onnx__GraphProto g;
	static Onnx__OperatorSetIdProto def, custom;
	static Onnx__OperatorSetIdProto *sets[2] = {&def, &custom};
	static Onnx__NodeProto *nodes[1];
	static char *ins[1] = {"x"}, *outs[1] = {"y"};
	orx_graph *gr;

	onnx__graph_proto__init(&g);
	onnx__node_proto__init(node);
	onnx__operator_set_id_proto__init(&def);
	onnx__operator_set_id_proto__init(&custom);
	def.domain = "";
	def.has_version = custom.has_version = 1;
	def.version = custom.version = version;
	custom.domain = "com.example";
	node->op_type = (char *)op_type;
	node->domain = (char *)domain;
	node->input = ins;
	node->n_input = 1;
	node->output = outs;
	node->n_output = 1;
	nodes[0] = node;
	g.node = nodes;
	g.n_node = 1;
	cr_assert_eq(orx_graph_build(&gr, &g, sets, 2), ORX_OK);
	return gr;
}

Test(ops, a_custom_domain_op_named_like_onnx_ones_has_no_row)
{
	Onnx__NodeProto node;
	orx_graph *gr = one_node(&node, "com.example", "Conv", 17);

	cr_expect_null(orx_op_of(gr, 0));
	cr_expect_eq(orx_op_class_at(gr, 0), ORX_OP_UNKNOWN);
	orx_graph_free(gr);
	gr = one_node(&node, "com.example", "Relu", 17);
	cr_expect_null(orx_op_of(gr, 0));
	orx_graph_free(gr);
	gr = one_node(&node, "ai.onnx", "Conv", 17);
	cr_expect_eq(orx_op_of(gr, 0), orx_op_named("Conv"));
	orx_graph_free(gr);
	gr = one_node(&node, NULL, "Relu", 17);
	cr_expect_eq(orx_op_class_at(gr, 0), ORX_OP_ACTIVATION);
	orx_graph_free(gr);
	cr_expect_null(orx_op_named("com.example.Conv"));
	cr_expect_eq(orx_op_named("ai.onnx.Conv"), orx_op_named("Conv"));
}

Test(ops, a_node_is_read_at_the_models_opset_for_its_domain)
{
	Onnx__NodeProto node;
	orx_graph *gr = one_node(&node, "", "Clip", 6);

	cr_expect_eq(orx_op_of(gr, 0), orx_op_find("", "Clip", 6));
	orx_graph_free(gr);
	gr = one_node(&node, "", "Clip", 11);
	cr_expect_eq(orx_op_of(gr, 0), orx_op_find("", "Clip", 11));
	orx_graph_free(gr);
}

Test(ops, every_activation_the_walk_names_has_a_factor)
{
	static const char *const patterns[] = {
		"Silu", "Relu6",   "HardSwish",	  "Mish",     "Gelu",
		"Clip", "Sigmoid", "HardSigmoid", "Softplus", "none"};

	for (size_t i = 0; orx_op_at(i); i++) {
		const orx_op *op = orx_op_at(i);
		if (op->cls == ORX_OP_ACTIVATION)
			cr_expect_not_null(
				orx_activation_named(op->activation
							     ? op->activation
							     : op->op_type),
				"%s", op->op_type);
	}
	for (size_t i = 0; i < sizeof(patterns) / sizeof(*patterns); i++)
		cr_expect_not_null(orx_activation_named(patterns[i]), "%s",
				   patterns[i]);
	cr_expect_float_eq(orx_activation_factor("Relu", NAN), 0.5, 1e-15);
	cr_expect_float_eq(orx_activation_factor("Tanh", NAN), 1, 1e-15);
	cr_expect_float_eq(orx_activation_factor("LeakyRelu", 0.2), 0.52,
			   1e-15);
	cr_expect_float_eq(orx_activation_factor("LeakyRelu", NAN),
			   (1 + 1e-4) / 2, 1e-15);
	cr_expect_float_eq(orx_activation_factor("NoSuch", NAN), 1, 1e-15);
}
