/* Rounding quantized codes: w / scale rounded half to even, exactly, as
 * the float32 loops of quant.c compute it (orx_rounded_quotient). */
#include "quant.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

/* w / scale rounded half to even by exact arithmetic: k + 1/2 times a
 * float32 scale (|k| < 2^20) is exact in long double, and so is the
 * comparison with w. */
static long exact(float w, float scale)
{
	long double q = (long double)w / scale, k = floorl(q), h = k + 0.5L,
		    at = h * (long double)scale;

	if ((long double)w > at)
		return (long)k + 1;
	if ((long double)w < at)
		return (long)k;
	return ((long)k & 1) ? (long)k + 1 : (long)k;
}

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static double unit(uint64_t *s)
{
	return (double)(next(s) >> 11) / 9007199254740992.0;
}

/* Ties (w exactly (k + 1/2) * scale), the floats next to them, whose
 * float32 quotient is often exactly k + 1/2 too, and ordinary values,
 * over scales of many magnitudes: every one as exact arithmetic rounds
 * it. A float32 quotient rounded without the check of the side gets
 * some of the neighbours wrong. */
Test(quant, codes_round_half_to_even_exactly)
{
	uint64_t s = 11, ties = 0, neighbours = 0;

	for (int i = 0; i < 200000; i++) {
		/* half of the scales with 12 bits: their ties fit float32 */
		double m = i % 2 ? 1 + unit(&s)
				 : 1 + floor(unit(&s) * 4096) / 4096;
		float scale = (float)ldexp(m, -(int)(next(&s) % 30)), w;
		long k = (long)(next(&s) % 511) - 255;
		switch (i % 3) {
		case 0: /* a tie, where float32 holds it */
			w = (float)((k + 0.5) * (double)scale);
			ties += (double)w == (k + 0.5) * (double)scale;
			break;
		case 1: /* a neighbour of a tie */
			w = nextafterf((float)((k + 0.5) * (double)scale),
				       next(&s) & 1 ? INFINITY : -INFINITY);
			neighbours += w / scale == (float)k + 0.5f;
			break;
		default: w = (float)((2 * unit(&s) - 1) * 255 * scale);
		}
		cr_assert_eq((long)orx_rounded_quotient(w, scale),
			     exact(w, scale), "w %a scale %a: %ld, want %ld", w,
			     scale, (long)orx_rounded_quotient(w, scale),
			     exact(w, scale));
	}
	/* the cases that matter were met */
	cr_assert_gt(ties, 10000, "%lu ties", (unsigned long)ties);
	cr_assert_gt(neighbours, 1000, "%lu", (unsigned long)neighbours);
}

Test(quant, round_even_halves_go_to_even)
{
	cr_assert_eq(orx_round_even(2.5), 2);
	cr_assert_eq(orx_round_even(3.5), 4);
	cr_assert_eq(orx_round_even(-2.5), -2);
	cr_assert_eq(orx_round_even_f(-3.5f), -4);
	cr_assert_eq(orx_round_even_f(0.49999997f), 0);
	cr_assert_eq(orx_round_even(1e300), 1125899906842624.0);
}
