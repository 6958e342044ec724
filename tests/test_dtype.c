/* float16 and bfloat16: round to nearest even, NaN and infinity kept. */
#include "helpers.h"
#include "internal.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

Test(dtype, f16_known_values)
{
	cr_expect_eq(orx_f16_from_double(1.0), 0x3c00);
	cr_expect_eq(orx_f16_from_double(-2.0), 0xc000);
	cr_expect_eq(orx_f16_from_double(0.0), 0x0000);
	cr_expect_eq(orx_f16_from_double(-0.0), 0x8000);
	cr_expect_eq(orx_f16_from_double(65504.0), 0x7bff);  /* largest */
	cr_expect_eq(orx_f16_from_double(65519.99), 0x7bff); /* below tie */
	cr_expect_eq(orx_f16_from_double(65520.0), 0x7c00);  /* tie: inf */
	cr_expect_eq(orx_f16_from_double(1e300), 0x7c00);
	cr_expect_eq(orx_f16_from_double(-INFINITY), 0xfc00);
	cr_expect_eq(orx_f16_from_double(ldexp(1, -24)), 0x0001);
	cr_expect_eq(orx_f16_from_double(ldexp(1, -25)), 0x0000); /* tie */
	cr_expect_eq(orx_f16_from_double(ldexp(1.5, -25)), 0x0001);
	cr_expect_eq(orx_f16_from_double(ldexp(3, -25)), 0x0002); /* tie up */
	cr_expect_eq(orx_f16_from_double(ldexp(1, -14)), 0x0400); /* normal */
	cr_expect_eq(orx_f16_from_double(ldexp(1023.5, -24)), 0x0400);
	cr_expect_eq(orx_f16_from_double(1 + ldexp(1, -11)), 0x3c00);
	cr_expect_eq(orx_f16_from_double(1 + ldexp(3, -11)), 0x3c02);
	cr_expect_eq(orx_f16_from_double(1e-300), 0x0000);
}

Test(dtype, f16_nan_stays_nan)
{
	uint16_t h = orx_f16_from_double(NAN);

	cr_expect_eq(h & 0x7c00, 0x7c00);
	cr_expect_neq(h & 0x03ff, 0);
	cr_expect(isnan(orx_f16_to_double(h)));
	cr_expect(isnan(orx_f16_to_double(0x7c01)));
	cr_expect_eq(orx_f16_from_double(-NAN) & 0x8000, 0x8000);
}

Test(dtype, every_f16_pattern_round_trips_exactly)
{
	for (uint32_t h = 0; h < 0x10000; h++) {
		double d = orx_f16_to_double((uint16_t)h);
		if (isnan(d))
			continue;
		cr_assert_eq(orx_f16_from_double(d), h, "pattern %04x", h);
	}
	cr_expect_eq(orx_f16_to_double(0x0001), ldexp(1, -24));
	cr_expect_eq(orx_f16_to_double(0x7bff), 65504.0);
}

/* The compiler's own double -> _Float16 conversion (libgcc, correctly
 * rounded) is the reference for a million random doubles over the whole
 * range of the format and beyond. */
Test(dtype, f16_matches_the_compilers_conversion)
{
	uint64_t s = 7;

	for (int i = 0; i < 1000000; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		double x = ldexp((double)(s >> 11) / 9007199254740992.0,
				 (int)(s % 48) - 30);
		x = (s & (1u << 20)) ? -x : x;
		__extension__ _Float16 ref = (__extension__(_Float16) x);
		uint16_t bits;
		memcpy(&bits, &ref, 2);
		cr_assert_eq(orx_f16_from_double(x), bits, "%.17g", x);
	}
}

/* bfloat16 reference: the two neighbours that bracket x, the nearer one,
 * ties to the even pattern. Distances are exact (Sterbenz). */
static uint16_t bf16_reference(double x)
{
	float f = (float)x; /* only to find the neighbours */
	uint32_t u;
	uint16_t lo, hi;
	double dlo, dhi;

	memcpy(&u, &f, 4);
	lo = (uint16_t)(u >> 16);
	if (fabs(orx_bf16_to_double(lo)) > fabs(x))
		lo--; /* float rounding went past x: step back toward zero */
	hi = (uint16_t)(lo + 1);
	dlo = fabs(x - orx_bf16_to_double(lo));
	dhi = fabs(orx_bf16_to_double(hi) - x);
	if (dlo < dhi)
		return lo;
	if (dhi < dlo)
		return hi;
	return (lo & 1) ? hi : lo;
}

Test(dtype, bf16_matches_nearest_even_reference)
{
	uint64_t s = 11;

	for (int i = 0; i < 1000000; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		double x = ldexp(1 + (double)(s >> 11) / 9007199254740992.0,
				 (int)(s % 200) - 100);
		x = (s & (1u << 20)) ? -x : x;
		cr_assert_eq(orx_bf16_from_double(x), bf16_reference(x),
			     "%.17g", x);
	}
	cr_expect_eq(orx_bf16_from_double(1.0), 0x3f80);
	cr_expect_eq(orx_bf16_from_double(1 + ldexp(1, -8)), 0x3f80); /* tie */
	cr_expect_eq(orx_bf16_from_double(1 + ldexp(3, -8)), 0x3f82);
	cr_expect_eq(orx_bf16_from_double(1e39), 0x7f80);
	cr_expect_eq(orx_bf16_from_double(INFINITY), 0x7f80);
	cr_expect_eq(orx_bf16_from_double(ldexp(1, -133)), 0x0001);
	cr_expect(isnan(orx_bf16_to_double(orx_bf16_from_double(NAN))));
}

Test(dtype, every_bf16_pattern_round_trips_exactly)
{
	for (uint32_t h = 0; h < 0x10000; h++) {
		double d = orx_bf16_to_double((uint16_t)h);
		if (isnan(d))
			continue;
		cr_assert_eq(orx_bf16_from_double(d), h, "pattern %04x", h);
	}
}

Test(dtype, names_and_sizes)
{
	cr_expect_str_eq(orx_dtype_name(1), "float32");
	cr_expect_str_eq(orx_dtype_name(10), "float16");
	cr_expect_str_eq(orx_dtype_name(11), "float64");
	cr_expect_str_eq(orx_dtype_name(16), "bfloat16");
	cr_expect_str_eq(orx_dtype_name(22), "int4");
	cr_expect_str_eq(orx_dtype_name(23), "float4e2m1");
	cr_expect_null(orx_dtype_name(0));
	cr_expect_null(orx_dtype_name(99));
	cr_expect_eq(orx_dtype_bits(21), 4);
	cr_expect_eq(orx_dtype_bits(15), 128);
	cr_expect_eq(orx_dtype_bits(8), 0);
}
