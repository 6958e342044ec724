/* fan_in and fan_out: the README's table, hand-computed cases. */
#include "fans.h"
#include "helpers.h"
#include "view.h"

#include <criterion/criterion.h>

/* fans of dims as input `input` of the op called op (its row in the op
 * table), or the error code */
static int fans(int64_t *in, int64_t *out, const char *op, int input,
		int64_t group, int trans, orx_fan_convention conv,
		const int64_t *dims, size_t ndim)
{
	orx_fan_query q = {input, group, trans, 0, conv, 1};

	*in = *out = -1;
	return orx_fans(in, out, orx_op_named(op), &q, dims, ndim);
}

#define EXPECT_FANS(op, input, group, trans, conv, want_in, want_out, ...)     \
	do {                                                                   \
		const int64_t d[] = {__VA_ARGS__};                             \
		int64_t in, out;                                               \
		cr_expect_eq(fans(&in, &out, op, input, group, trans, conv, d, \
				  sizeof(d) / sizeof(*d)),                     \
			     ORX_OK, "%s", orx_error_last());                  \
		cr_expect_eq(in, want_in, "%s fan_in", op);                    \
		cr_expect_eq(out, want_out, "%s fan_out", op);                 \
	} while (0)

Test(fans, gemm_transB_0_weight_is_K_by_N)
{
	EXPECT_FANS("Gemm", 1, 1, 0, ORX_FANS_EXACT, 128, 64, 128, 64);
}

Test(fans, gemm_transB_1_weight_is_N_by_K)
{
	EXPECT_FANS("Gemm", 1, 1, 1, ORX_FANS_EXACT, 128, 64, 64, 128);
}

Test(fans, gemm_weight_as_input_A)
{
	EXPECT_FANS("Gemm", 0, 1, 0, ORX_FANS_EXACT, 20, 10, 10, 20);
	EXPECT_FANS("Gemm", 0, 1, 1, ORX_FANS_EXACT, 20, 10, 20, 10);
}

Test(fans, matmul_B_ignores_stacked_heads)
{
	EXPECT_FANS("MatMul", 1, 1, 0, ORX_FANS_EXACT, 64, 16, 4, 12, 64, 16);
	EXPECT_FANS("MatMul", 1, 1, 0, ORX_FANS_EXACT, 768, 3072, 768, 3072);
}

Test(fans, matmul_A_is_M_by_K)
{
	EXPECT_FANS("MatMul", 0, 1, 0, ORX_FANS_EXACT, 32, 8, 8, 32);
	EXPECT_FANS("MatMul", 0, 1, 0, ORX_FANS_EXACT, 32, 8, 6, 8, 32);
}

Test(fans, matmul_vector_weight)
{
	EXPECT_FANS("MatMul", 1, 1, 0, ORX_FANS_EXACT, 7, 1, 7);
}

Test(fans, conv_1d_2d_3d)
{
	/* [M, C, k...]: fan_in C*prod(k), fan_out M*prod(k) */
	EXPECT_FANS("Conv", 1, 1, 0, ORX_FANS_EXACT, 8 * 5, 16 * 5, 16, 8, 5);
	EXPECT_FANS("Conv", 1, 1, 0, ORX_FANS_EXACT, 3 * 49, 64 * 49, 64, 3, 7,
		    7);
	EXPECT_FANS("Conv", 1, 1, 0, ORX_FANS_EXACT, 4 * 27, 8 * 27, 8, 4, 3, 3,
		    3);
}

Test(fans, grouped_conv_divides_both_fans)
{
	/* [64, 16, 3, 3] with 4 groups: C = 64, C/g = 16, M/g = 16 */
	EXPECT_FANS("Conv", 1, 4, 0, ORX_FANS_EXACT, 16 * 9, 16 * 9, 64, 16, 3,
		    3);
	EXPECT_FANS("Conv", 1, 4, 0, ORX_FANS_PYTORCH, 16 * 9, 64 * 9, 64, 16,
		    3, 3);
}

Test(fans, depthwise_conv)
{
	EXPECT_FANS("Conv", 1, 32, 0, ORX_FANS_EXACT, 9, 9, 32, 1, 3, 3);
	EXPECT_FANS("Conv", 1, 32, 0, ORX_FANS_PYTORCH, 9, 288, 32, 1, 3, 3);
}

/* A strided ConvTranspose: an output receives Πk/Πs of the kernel's taps
 * (k 4, s 2 per axis: 4 of 16), so fan_in is (C/g)·Π(k/s); k 3, s 2: 2.25
 * taps on average, (C/g)·2.25 rounded; PyTorch's count ignores strides. */
Test(fans, strided_conv_transpose_counts_the_taps_that_reach_an_output)
{
	const int64_t dcgan[] = {64, 64, 4, 4}, odd[] = {8, 16, 3, 3},
		      one[] = {1, 4, 3, 3};
	orx_fan_query q = {1, 1, 0, 0, ORX_FANS_EXACT, 4};
	const orx_op *op = orx_op_named("ConvTranspose");
	int64_t in, out;

	cr_assert_eq(orx_fans(&in, &out, op, &q, dcgan, 4), ORX_OK);
	cr_expect_eq(in, 64 * 4);
	cr_expect_eq(out, 64 * 16);
	cr_assert_eq(orx_fans(&in, &out, op, &q, odd, 4), ORX_OK);
	cr_expect_eq(in, 18); /* 8 x 9 / 4 */
	cr_assert_eq(orx_fans(&in, &out, op, &q, one, 4), ORX_OK);
	cr_expect_eq(in, 2); /* 2.25 rounded */
	q.strides = 64;	     /* fewer taps than one: at least 1 */
	cr_assert_eq(orx_fans(&in, &out, op, &q, one, 4), ORX_OK);
	cr_expect_eq(in, 1);
	q.convention = ORX_FANS_PYTORCH, q.strides = 4;
	cr_assert_eq(orx_fans(&in, &out, op, &q, dcgan, 4), ORX_OK);
	cr_expect_eq(in, 64 * 16);
}

Test(fans, conv_transpose_is_C_by_M_over_g)
{
	/* [C = 32, M/g = 16, 4, 4] */
	EXPECT_FANS("ConvTranspose", 1, 1, 0, ORX_FANS_EXACT, 32 * 16, 16 * 16,
		    32, 16, 4, 4);
	/* groups 2: [C = 32, M/g = 8, 3, 3]: C/g = 16 */
	EXPECT_FANS("ConvTranspose", 1, 2, 0, ORX_FANS_EXACT, 16 * 9, 8 * 9, 32,
		    8, 3, 3);
	EXPECT_FANS("ConvTranspose", 1, 2, 0, ORX_FANS_PYTORCH, 8 * 9, 32 * 9,
		    32, 8, 3, 3);
}

/* Values of torch.nn.init._calculate_fan_in_and_fan_out (torch 1.13), from
 *   /usr/bin/python3 -c "import torch; from torch.nn.init import \
 *     _calculate_fan_in_and_fan_out as f; print(f(torch.empty(SHAPE)))"
 * Linear [64,128] (128, 64); Conv1d [16,8,5] (40, 80); Conv2d [64,3,7,7]
 * (147, 3136); Conv3d [8,4,3,3,3] (108, 216); ConvTranspose2d [32,16,4,4]
 * (256, 512); grouped [64,16,3,3] (144, 576); depthwise [32,1,3,3]
 * (9, 288); ConvTranspose g=2 [32,8,3,3] (72, 288). */
Test(fans, pytorch_convention_matches_torch_nn_init)
{
	orx_fan_convention pt = ORX_FANS_PYTORCH;

	EXPECT_FANS("Gemm", 1, 1, 1, pt, 128, 64, 64, 128); /* Linear */
	EXPECT_FANS("Conv", 1, 1, 0, pt, 40, 80, 16, 8, 5);
	EXPECT_FANS("Conv", 1, 1, 0, pt, 147, 3136, 64, 3, 7, 7);
	EXPECT_FANS("Conv", 1, 1, 0, pt, 108, 216, 8, 4, 3, 3, 3);
	EXPECT_FANS("ConvTranspose", 1, 1, 0, pt, 256, 512, 32, 16, 4, 4);
	EXPECT_FANS("Conv", 1, 4, 0, pt, 144, 576, 64, 16, 3, 3);
	EXPECT_FANS("Conv", 1, 32, 0, pt, 9, 288, 32, 1, 3, 3);
	EXPECT_FANS("ConvTranspose", 1, 2, 0, pt, 72, 288, 32, 8, 3, 3);
	/* ungrouped: both conventions agree */
	EXPECT_FANS("Conv", 1, 1, 0, ORX_FANS_EXACT, 147, 3136, 64, 3, 7, 7);
}

Test(fans, weight_through_transpose_is_measured_after_the_permutation)
{
	/* a [K = 256, N = 64] initializer, Transpose perm [1, 0], then Gemm
	 * transB = 1: the node sees [64, 256] = [N, K] */
	const int64_t stored[2] = {256, 64}, perm[2] = {1, 0};
	int64_t seen[2], in, out;

	cr_assert_eq(orx_permute_dims(seen, stored, 2, perm, 2), ORX_OK);
	cr_expect_eq(seen[0], 64);
	cr_expect_eq(seen[1], 256);
	cr_assert_eq(fans(&in, &out, "Gemm", 1, 1, 1, ORX_FANS_EXACT, seen, 2),
		     ORX_OK);
	cr_expect_eq(in, 256);
	cr_expect_eq(out, 64);
	/* no perm: reversed axes; a 4-D perm */
	const int64_t d4[4] = {2, 3, 5, 7}, p4[4] = {0, 2, 3, 1};
	int64_t s4[4];
	cr_assert_eq(orx_permute_dims(s4, d4, 4, NULL, 0), ORX_OK);
	cr_expect(s4[0] == 7 && s4[1] == 5 && s4[2] == 3 && s4[3] == 2);
	cr_assert_eq(orx_permute_dims(s4, d4, 4, p4, 4), ORX_OK);
	cr_expect(s4[0] == 2 && s4[1] == 5 && s4[2] == 7 && s4[3] == 3);
	const int64_t bad[4] = {0, 0, 1, 2};
	cr_expect_eq(orx_permute_dims(s4, d4, 4, bad, 4), ORX_EINVALID);
}

Test(fans, errors_are_exact)
{
	const int64_t conv[4] = {64, 16, 3, 3}, vec[1] = {5};
	int64_t in, out;

	cr_expect_eq(fans(&in, &out, "Conv", 1, 3, 0, ORX_FANS_EXACT, conv, 4),
		     ORX_EINVALID);
	cr_expect_str_eq(orx_error_last(),
			 "Conv group 3 does not divide 64 channels");
	cr_expect_eq(fans(&in, &out, "Conv", 1, 1, 0, ORX_FANS_EXACT, vec, 1),
		     ORX_EINVALID);
	cr_expect_str_eq(orx_error_last(),
			 "a Conv weight has at least 3 dimensions, not 1");
	cr_expect_eq(fans(&in, &out, "Conv", 0, 1, 0, ORX_FANS_EXACT, conv, 4),
		     ORX_EUNSUPPORTED);
	cr_expect_str_eq(orx_error_last(), "input 0 of Conv is not a weight");
	cr_expect_eq(fans(&in, &out, "LSTM", 1, 1, 0, ORX_FANS_EXACT, conv, 4),
		     ORX_EUNSUPPORTED);
	cr_expect_str_eq(orx_error_last(), "no fan rule for op LSTM");
	cr_expect_eq(fans(&in, &out, "Gemm", 1, 1, 0, ORX_FANS_EXACT, conv, 4),
		     ORX_EINVALID);
}
