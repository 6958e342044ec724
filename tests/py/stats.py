"""Shared by the test scripts: the exact test of a sample's variance.

The sum of squares T of n draws of N(0, s^2) has T / s^2 ~ chi-square(n);
a tensor drawn with std s passes when neither tail of that distribution
at T / s^2 is below alpha. Uniform and truncated normal draws spread
less than normal ones, so for them the test is more lenient still.
"""
import math


def chi2_tails(k, x):
    """(P[X <= x], P[X > x]) for X ~ chi-square(k): the regularized
    incomplete gamma at (k/2, x/2), by its series below a + 1 and its
    continued fraction above."""
    a, z = k / 2, x / 2
    if z <= 0:
        return 0.0, 1.0
    front = math.exp(-z + a * math.log(z) - math.lgamma(a))
    if z < a + 1:
        term = total = 1 / a
        n = 1
        while abs(term) > 1e-17 * total and n < 100000:
            term *= z / (a + n)
            total += term
            n += 1
        lower = min(1.0, front * total)
        return lower, 1 - lower
    b, c, d = z + 1 - a, 1e300, 1 / (z + 1 - a)
    h = d
    for i in range(1, 100000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-16:
            break
    upper = min(1.0, front * h)
    return 1 - upper, upper


def variance_problem(values, std, mean=0.0, alpha=1e-6):
    """None when values (a flat sequence of floats) have the std the plan
    says (around mean), else a one-line description."""
    n = len(values)
    if n < 2 or std <= 0:
        return None
    t = sum((v - mean) ** 2 for v in values)
    lower, upper = chi2_tails(n, t / (std * std))
    if lower < alpha or upper < alpha:
        return (f"std {math.sqrt(t / n):.4g} of {n} values is not "
                f"{std:.4g} (P = {min(lower, upper):.2g})")
    return None
