/* Fixed transforms among the layers' weights: buffers such as an STFT
 * written as a Conv, not parameters. Candidates are found by shape and
 * a cheap look at their first values; spectral.c judges the whole
 * tensor. */
#include "fixed.h"
#include "fans.h"
#include "roles.h"

#include <stdlib.h>

/* The most elements judged (a DFT basis of 2048 points, stacked, is
 * 2^22), and how many of the first function's values are read first. */
#define JUDGED_MAX (UINT64_C(1) << 22)
#define PROBE 32

/* How far a value may be from the formula, relative to the largest: the
 * dtype's rounding, with room for bases computed in float32. */
static double tolerance(int dtype)
{
	return dtype == ORX_DTYPE_BFLOAT16  ? 3e-2
	       : dtype == ORX_DTYPE_FLOAT16 ? 4e-3
					    : 1e-4;
}

/* e's stored tensor t as functions of taps: m of n each, and whether a
 * function is a column of t (a MatMul's or Gemm's B) rather than a row.
 * false when the op or shape is not one a transform takes. */
static bool functions_of(uint64_t *m, uint64_t *n, bool *columns,
			 const entry *e, const Onnx__TensorProto *t)
{
	int in_axis;

	if (t->n_dims != e->seen_ndim)
		return false; /* reshaped on the way: not judged */
	for (size_t i = 0; i < t->n_dims; i++)
		if (t->dims[i] != e->seen[i])
			return false;
	switch (e->row->fans) {
	case ORX_FAN_RULE_CONV:
	case ORX_FAN_RULE_CONV_TRANSPOSE:
		if (t->n_dims < 3) /* no such layer: fans refuse it */
			return false;
		*m = (uint64_t)t->dims[0];
		*n = 1;
		for (size_t i = 1; i < t->n_dims; i++)
			*n *= (uint64_t)t->dims[i];
		*columns = false;
		return true;
	case ORX_FAN_RULE_GEMM:
	case ORX_FAN_RULE_MATMUL:
		if (t->n_dims != 2)
			return false;
		in_axis = (e->input == 1) != (e->trans != 0) ? 0 : 1;
		*m = (uint64_t)t->dims[1 - in_axis];
		*n = (uint64_t)t->dims[in_axis];
		*columns = in_axis == 0;
		return true;
	default: return false;
	}
}

/* The first function's first values (PROBE of them, or all of a shorter
 * one) into v, *got of them: a column read with a stride where it can be,
 * else the elements before it. */
static int probe_values(double *v, uint64_t *got, const orx_model *model,
			size_t i, uint64_t m, uint64_t n, bool columns)
{
	uint64_t p = n < PROBE ? n : PROBE;
	double *prefix;
	int rc;

	*got = p;
	if (!columns)
		return orx_tensor_read_first(v, (size_t)p, model, i);
	if ((rc = orx_tensor_read_strided(v, (size_t)p, model, i, m)) !=
	    ORX_EUNSUPPORTED)
		return rc;
	if (!(prefix = malloc(((p - 1) * m + 1) * sizeof(*prefix))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	if ((rc = orx_tensor_read_first(prefix, (size_t)((p - 1) * m + 1),
					model, i)) == ORX_OK)
		for (uint64_t t = 0; t < p; t++)
			v[t] = prefix[t * m];
	free(prefix);
	return rc;
}

/* Whether the first function's first values (v, n of them: 32, or all
 * of a shorter function of 3 or more: a kernel's) are of one sign or all
 * equal: what every transform's first function is (a window, a zero
 * sine, a filter, the DCT's constant row), and a random one of 32 values
 * seldom. */
static bool probe_passes(const double *v, uint64_t n)
{
	bool pos = true, neg = true, equal = true;

	for (uint64_t t = 0; t < n; t++)
		pos &= v[t] >= 0, neg &= v[t] <= 0, equal &= v[t] == v[0];
	return n >= 3 && (pos || neg || equal);
}

static bool constant(const double *v, uint64_t n)
{
	for (uint64_t k = 1; k < n; k++)
		if (v[k] != v[0])
			return false;
	return true;
}

/* f (m x n as stored) with its columns made rows, into out. */
static void transpose(double *out, const double *f, uint64_t rows,
		      uint64_t cols)
{
	for (uint64_t r = 0; r < rows; r++)
		for (uint64_t c = 0; c < cols; c++)
			out[c * rows + r] = f[r * cols + c];
}

/* Whether node of e's graph has no trained layer before its data input,
 * as a window or kernel must not. */
static bool before_any_layer(orx_plan *plan, const orx_model *model,
			     const entry *e)
{
	orx_plan_ctx c = {plan, model, e->gr, orx_graph_proto(e->gr)};

	return orx_roles_from_input(&c, e->node_index, 0);
}

/* Judge e (tensor i, stored as t): what it is into what, or "". */
static int judge(char *what, size_t len, orx_plan *plan, const orx_model *model,
		 const entry *e, size_t i)
{
	const Onnx__TensorProto *t = orx_value_tensor(model, i);
	uint64_t m, n, count, probe;
	double *v = NULL, *f = NULL;
	bool columns;
	int rc, found;

	what[0] = 0;
	if (!functions_of(&m, &n, &columns, e, t) || m * n > JUDGED_MAX ||
	    n < 3 || orx_tensor_readable(model, i) != ORX_OK)
		return ORX_OK;
	count = m * n;
	if (!(v = malloc(PROBE * sizeof(*v)))) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = probe_values(v, &probe, model, i, m, n, columns)) != ORX_OK ||
	    !probe_passes(v, probe))
		goto done;
	free(v);
	if (!(v = malloc(count * sizeof(*v))) ||
	    (columns && !(f = malloc(count * sizeof(*f))))) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = orx_tensor_read(v, (size_t)count, model, i)) != ORX_OK)
		goto done;
	if (constant(v, count))
		goto done; /* zeros and constants are check's business */
	if (columns)
		transpose(f, v, n, m);
	if ((found = orx_fixed_transform(what, len, columns ? f : v, m, n,
					 tolerance(t->data_type))) < 0) {
		rc = orx_fail(found, "out of memory");
		goto done;
	}
	if (!found &&
	    !(!columns && t->dims[1] == 1 &&
	      orx_fixed_kernel(what, len, v, m, n, tolerance(t->data_type)) &&
	      before_any_layer(plan, model, e)))
		what[0] = 0;
done:
	free(v);
	free(f);
	return rc;
}

int orx_plan_fixed_transforms(orx_plan *plan, const orx_model *model)
{
	char what[160];
	int rc = ORX_OK;

	for (size_t i = 0; i < plan->n_init && rc == ORX_OK; i++) {
		entry *e = plan->e[i];
		if (!e || e->pub.role != ORX_ROLE_WEIGHT || e->reason ||
		    e->quantized || e->quant || e->pub.n_blocks || !e->row ||
		    !orx_dtype_is_float(orx_value_tensor(model, i)->data_type))
			continue;
		if ((rc = judge(what, sizeof(what), plan, model, e, i)) !=
			    ORX_OK ||
		    !what[0])
			continue;
		e->pub.role = ORX_ROLE_FIXED_TRANSFORM;
		if (!(e->pub.found = orx_arena_strdup(plan->mem, what)))
			rc = orx_fail(ORX_ENOMEM, "out of memory");
	}
	return rc;
}
