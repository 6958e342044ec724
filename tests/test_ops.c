/* The op table: one row per op type, found by binary search. */
#include "ops.h"

#include <criterion/criterion.h>
#include <string.h>

Test(ops, rows_are_sorted_so_that_every_row_is_found_by_its_name)
{
	size_t n = 0;

	for (const orx_op *op; (op = orx_op_at(n)); n++) {
		cr_assert_eq(orx_op_named(op->op), op, "%s not found", op->op);
		if (n > 0)
			cr_assert_lt(strcmp(orx_op_at(n - 1)->op, op->op), 0,
				     "%s before %s", orx_op_at(n - 1)->op,
				     op->op);
	}
	cr_assert_geq(n, 50);
	cr_assert_null(orx_op_named("NoSuchOp"));
	cr_assert_null(orx_op_named(NULL));
}

Test(ops, layers_say_which_inputs_are_weight_bias_and_data)
{
	const orx_op *gemm = orx_op_named("Gemm"), *mm = orx_op_named("MatMul");
	const orx_op *conv = orx_op_named("Conv");
	const orx_op *bn = orx_op_named("BatchNormalization");

	cr_assert_eq(gemm->cls, ORX_OP_WEIGHTED);
	cr_assert_eq(gemm->weight_inputs, 0x3);
	cr_assert_eq(gemm->bias_input, 2);
	cr_assert_str_eq(gemm->trans_b, "transB");
	cr_assert_eq(mm->bias_input, -1);
	cr_assert_eq(conv->weight_inputs, 0x2);
	cr_assert_eq(conv->data_input, 0);
	cr_assert_eq(bn->cls, ORX_OP_NORMALIZATION);
	cr_assert_eq(bn->n_params, 4);
	cr_assert_eq(orx_op_named("LayerNormalization")->n_params, 2);
	cr_assert_eq(orx_op_named("Relu")->cls, ORX_OP_ACTIVATION);
	cr_assert_eq(orx_op_named("Sigmoid")->cls, ORX_OP_PATTERN);
}

Test(ops, another_domain_has_no_row)
{
	Onnx__NodeProto node = ONNX__NODE_PROTO__INIT;

	node.op_type = "Conv";
	cr_assert_eq(orx_op_class_of(&node), ORX_OP_WEIGHTED);
	node.domain = "ai.onnx";
	cr_assert_eq(orx_op_class_of(&node), ORX_OP_WEIGHTED);
	node.domain = "com.example";
	cr_assert_eq(orx_op_class_of(&node), ORX_OP_UNKNOWN);
	cr_assert_null(orx_op_of(&node));
}
