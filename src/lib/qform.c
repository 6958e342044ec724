/* Quantized weights where layers read them: which tensors hold the codes,
 * the scales and the zero points, how the scales divide the weight (per
 * tensor, per axis, per block), and the forms left alone. */
#include "qform.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The constant at input k of node n of gr: its value in the model; -1
 * when the input is absent, -2 when it is no constant. */
static int input_value(const orx_model *m, const orx_graph *gr, int n, int k)
{
	const Onnx__NodeProto *nd = orx_graph_node(gr, n);
	orx_trace t;

	if (k < 0 || (size_t)k >= nd->n_input || !nd->input[k][0])
		return -1;
	if (orx_graph_trace(&t, gr, n, (size_t)k) != 0)
		return -2;
	return orx_value_of_constant(m, t.graph, t.init, t.constant_node);
}

/* Read by more than one node: a tensor two weights share. */
static bool shared(const orx_graph *gr, int n, int k)
{
	const int *nodes, *slots;

	return orx_graph_consumers(gr, orx_graph_input_of(gr, n, (size_t)k),
				   &nodes, &slots) > 1;
}

static const Onnx__TensorProto *tensor(const orx_model *m, int v)
{
	return orx_value_tensor(m, (size_t)v);
}

static int64_t count_of(const orx_model *m, int v)
{
	const Onnx__TensorProto *t = tensor(m, v);

	return (int64_t)orx_dims_count(t->dims, t->n_dims);
}

/* The codes' type: bits and sign; false for a type no quantizer writes
 * codes in (float8 and float4 included). */
static bool code_type(orx_quant *q, int dtype)
{
	q->code_dtype = dtype;
	q->is_signed = dtype == ORX_DTYPE_INT8 || dtype == ORX_DTYPE_INT16 ||
		       dtype == ORX_DTYPE_INT4;
	switch (dtype) {
	case ORX_DTYPE_INT8:
	case ORX_DTYPE_UINT8: q->bits = 8; return true;
	case ORX_DTYPE_INT16:
	case ORX_DTYPE_UINT16: q->bits = 16; return true;
	case ORX_DTYPE_INT4:
	case ORX_DTYPE_UINT4: q->bits = 4; return true;
	default: return false;
	}
}

static int bad(const orx_model *m, int v, const char *fmt, long long a,
	       long long b)
{
	char what[160];

	snprintf(what, sizeof(what), fmt, a, b);
	return orx_fail(ORX_EINVALID, "tensor '%s': %s", orx_value_name(m, v),
			what);
}

/* The scales (input ks) and zero points (input kz) of node n; the
 * scales' type. */
static int scales_at(orx_qweight *w, const orx_model *m, const orx_graph *gr,
		     int n, int ks, int kz)
{
	orx_quant *q = &w->q;
	int s = input_value(m, gr, n, ks), z = input_value(m, gr, n, kz);

	if (ks < 0) /* found elsewhere (scale_after) */
		s = 0;
	if (s < 0 || z == -2) {
		w->skip = "its scale or zero point is not a constant";
		return ORX_OK;
	}
	q->scale = (size_t)s;
	q->scale_dtype = tensor(m, s)->data_type;
	if (ks >= 0 && !orx_dtype_is_float(q->scale_dtype))
		return bad(m, s, "a scale of dtype %lld", q->scale_dtype, 0);
	q->zero = z >= 0 ? (size_t)z : SIZE_MAX;
	q->zero_form = z >= 0 ? ORX_QZERO_TENSOR : ORX_QZERO_NONE;
	q->zero_fixed = z < 0 || shared(gr, n, kz);
	return ORX_OK;
}

/* Zero points in the codes' type (or, as MatMulNBits allows, in the
 * scales' type: `floats`). */
static int zero_type(const orx_quant *q, const orx_model *m, bool floats)
{
	int dtype = q->zero != SIZE_MAX ? tensor(m, (int)q->zero)->data_type
					: q->code_dtype;

	if (dtype == q->code_dtype || (floats && dtype == q->scale_dtype))
		return ORX_OK;
	return bad(m, (int)q->zero,
		   "zero points of dtype %lld for codes of "
		   "%lld",
		   dtype, q->code_dtype);
}

/* Per tensor, per axis or per block, by the scales' count. */
static int granularity(orx_quant *q, const orx_model *m, int64_t block)
{
	int64_t have = count_of(m, (int)q->scale), dim = q->dims[q->axis];

	q->block = block;
	q->gran = block > 0		  ? ORX_QGRAN_BLOCK
		  : have == 1 && dim != 1 ? ORX_QGRAN_TENSOR
					  : ORX_QGRAN_AXIS;
	if (block < 0)
		return bad(m, (int)q->codes, "block_size %lld", block, 0);
	if ((uint64_t)have != orx_quant_groups(q))
		return bad(m, (int)q->scale,
			   "%lld scales for a weight quantized along axis "
			   "%lld",
			   have, q->axis);
	return ORX_OK;
}

/* The weight's twin is its codes' shape (one code per element). */
static int flat_codes(orx_qweight *w, const orx_model *m, const orx_trace *tr,
		      int codes)
{
	const Onnx__TensorProto *t = tensor(m, codes);

	w->q.codes = (size_t)codes;
	w->q.pack = ORX_QPACK_FLAT;
	w->q.ndim = t->n_dims;
	if (t->n_dims)
		memcpy(w->q.dims, t->dims, t->n_dims * sizeof(int64_t));
	if (orx_dtype_is_float(t->data_type))
		return ORX_OK; /* not quantized */
	if (!code_type(&w->q, t->data_type))
		w->skip = "codes of a type no quantizer here writes (float8, "
			  "float4, int32): kept";
	else if (tr->dq_node >= 0 ? !tr->dq_first : tr->views > 0)
		w->skip = "views between its codes and the op that "
			  "dequantizes them are not mapped";
	else if (!t->n_dims)
		w->skip = "a scalar";
	w->is = !w->skip;
	return ORX_OK;
}

/* The axis attribute at meaning a of node, from the back if negative. */
static int axis_of(const orx_quant *q, const orx_op *op,
		   const Onnx__NodeProto *nd, orx_attr_meaning a, int *axis)
{
	int64_t x = (int64_t)orx_op_attr(op, nd, a);

	if (x < 0)
		x += (int64_t)q->ndim;
	*axis = (int)x;
	return x >= 0 && x < (int64_t)q->ndim ? ORX_OK : ORX_EINVALID;
}

/* Behind DequantizeLinear: its scale, zero point, axis and block size. */
static int dequantize_form(orx_qweight *w, const orx_model *m,
			   const orx_trace *tr, int codes)
{
	const orx_graph *dg = tr->dq_graph;
	const orx_op *dq = orx_op_of(dg, tr->dq_node);
	const Onnx__NodeProto *nd = orx_graph_node(dg, tr->dq_node);
	int rc;

	if ((rc = flat_codes(w, m, tr, codes)) != ORX_OK || !w->is)
		return rc;
	if (axis_of(&w->q, dq, nd, ORX_ATTR_QUANT_AXIS, &w->q.axis) != ORX_OK)
		w->q.axis = 0; /* per tensor needs no axis */
	if ((rc = scales_at(w, m, dg, tr->dq_node,
			    orx_op_input_of_kind(dq, ORX_IN_W_SCALE),
			    orx_op_input_of_kind(dq, ORX_IN_W_ZERO))) !=
		    ORX_OK ||
	    w->skip || (rc = zero_type(&w->q, m, false)) != ORX_OK)
		return rc;
	return granularity(&w->q, m,
			   (int64_t)orx_op_attr(dq, nd, ORX_ATTR_BLOCK_SIZE));
}

/* The op of node n's row is arithmetic of kind k. */
static bool arith_is(const orx_graph *gr, int n, orx_arith_kind k)
{
	const orx_op *op = n >= 0 ? orx_op_of(gr, n) : NULL;

	return op && op->arith == k && orx_graph_node(gr, n)->n_input == 2;
}

/* MatMulInteger and ConvInteger: the float output is the int32 output,
 * cast, times x_scale * w_scale (a Mul of the input's dynamic scale and
 * the weight's constant one). */
static int scale_after(orx_qweight *w, const orx_model *m, const orx_graph *gr,
		       int n)
{
	const int *nodes, *slots;
	int v = orx_graph_output_of(gr, n, 0), p, s;

	for (int hops = 0; hops < 2 && v >= 0; hops++) {
		const orx_op *op;
		if (orx_graph_consumers(gr, v, &nodes, &slots) != 1)
			break;
		op = orx_op_of(gr, nodes[0]);
		if (op && op->copies && hops == 0) { /* the Cast to float */
			v = orx_graph_output_of(gr, nodes[0], 0);
			continue;
		}
		if (!arith_is(gr, nodes[0], ORX_ARITH_MUL))
			break;
		p = orx_graph_producer(
			gr, orx_graph_input_of(gr, nodes[0],
					       (size_t)(1 - slots[0])));
		if (!arith_is(gr, p, ORX_ARITH_MUL)) {
			w->skip = "a dynamic-quantization scale folded with "
				  "other constants into one Mul";
			return ORX_OK;
		}
		for (int k = 0; k < 2; k++)
			if ((s = input_value(m, gr, p, k)) >= 0 &&
			    input_value(m, gr, p, 1 - k) == -2) {
				w->q.scale = (size_t)s;
				w->q.scale_dtype = tensor(m, s)->data_type;
				w->after = orx_graph_output_of(gr, nodes[0], 0);
				return orx_dtype_is_float(w->q.scale_dtype)
					       ? ORX_OK
					       : bad(m, s,
						     "a scale of dtype %lld",
						     w->q.scale_dtype, 0);
			}
		break;
	}
	w->skip = "its scale, multiplied in after it, is not found";
	return ORX_OK;
}

/* A layer's own weight input: per output channel or per column. */
static int linear_form(orx_qweight *w, const orx_model *m, const orx_graph *gr,
		       int n, const orx_op *op, const orx_trace *tr, int codes)
{
	const Onnx__NodeProto *nd = orx_graph_node(gr, n);
	int rc;

	if ((rc = flat_codes(w, m, tr, codes)) != ORX_OK || !w->is)
		return rc;
	w->q.axis = op->qlayout == ORX_QLAYOUT_CHANNELS ? 0
		    : orx_op_attr(op, nd, ORX_ATTR_TRANS_B) != 0
			    ? 0
			    : (int)w->q.ndim - 1;
	rc = scales_at(
		w, m, gr, n,
		op->scale_after ? -1 : orx_op_input_of_kind(op, ORX_IN_W_SCALE),
		orx_op_input_of_kind(op, ORX_IN_W_ZERO));
	if (rc == ORX_OK && op->scale_after)
		rc = scale_after(w, m, gr, n);
	if (rc != ORX_OK || w->skip ||
	    (rc = zero_type(&w->q, m, false)) != ORX_OK)
		return rc;
	return granularity(&w->q, m, 0);
}

/* MatMulNBits: the twin [K, N] in blocks along K, codes packed per
 * block, zero points packed, in the scales' type, or 2^(bits - 1). */
static int nbits_form(orx_qweight *w, const orx_model *m, const orx_graph *gr,
		      int n, const orx_op *op, int codes)
{
	const Onnx__NodeProto *nd = orx_graph_node(gr, n);
	orx_quant *q = &w->q;
	int64_t bits = (int64_t)orx_op_attr(op, nd, ORX_ATTR_BITS),
		block = (int64_t)orx_op_attr(op, nd, ORX_ATTR_BLOCK_SIZE);
	int rc;

	q->dims[0] = (int64_t)orx_op_attr(op, nd, ORX_ATTR_K);
	q->dims[1] = (int64_t)orx_op_attr(op, nd, ORX_ATTR_N);
	q->ndim = 2, q->axis = 0, q->gran = ORX_QGRAN_BLOCK, q->block = block;
	q->codes = (size_t)codes, q->pack = ORX_QPACK_NBITS;
	q->code_dtype = ORX_DTYPE_UINT8, q->is_signed = false;
	q->bits = (unsigned)bits, q->zero_default = ldexp(1, (int)bits - 1);
	if (bits != 2 && bits != 4 && bits != 8)
		return bad(m, codes,
			   "MatMulNBits bits %lld is not supported "
			   "(2, 4 or 8)",
			   bits, 0);
	if (block < 16 || (block & (block - 1)) || q->dims[0] < 1 ||
	    q->dims[1] < 1)
		return bad(m, codes,
			   "MatMulNBits block_size %lld or K, N "
			   "out of range (K = %lld)",
			   block, q->dims[0]);
	if (tensor(m, codes)->data_type != ORX_DTYPE_UINT8)
		return bad(m, codes, "MatMulNBits codes of dtype %lld",
			   tensor(m, codes)->data_type, 0);
	if (input_value(m, gr, n, 4) != -1) {
		w->skip = "act-order (g_idx) reorders K: not mapped";
		return ORX_OK;
	}
	if ((rc = scales_at(w, m, gr, n, 2, 3)) != ORX_OK || w->skip ||
	    (rc = zero_type(q, m, true)) != ORX_OK)
		return rc;
	q->zero_row = (q->dims[0] + block - 1) / block;
	if (q->zero != SIZE_MAX)
		q->zero_form =
			tensor(m, (int)q->zero)->data_type == ORX_DTYPE_UINT8
				? ORX_QZERO_PACKED
				: ORX_QZERO_FLOAT;
	w->is = true;
	return ORX_OK;
}

/* GatherBlockQuantized: an embedding table in blocks along
 * quantize_axis; int4 and uint4 codes, or uint8 holding 8 / bits codes
 * packed along the last axis. */
static int gather_form(orx_qweight *w, const orx_model *m, const orx_graph *gr,
		       int n, const orx_op *op, const orx_trace *tr, int codes)
{
	const Onnx__NodeProto *nd = orx_graph_node(gr, n);
	orx_quant *q = &w->q;
	int64_t bits = (int64_t)orx_op_attr(op, nd, ORX_ATTR_BITS),
		block = (int64_t)orx_op_attr(op, nd, ORX_ATTR_BLOCK_SIZE);
	bool packed;
	int rc;

	if ((rc = flat_codes(w, m, tr, codes)) != ORX_OK || !w->is)
		return rc;
	w->is = false;
	packed = q->code_dtype == ORX_DTYPE_UINT8 && bits != 8;
	if (q->code_dtype == ORX_DTYPE_UINT8 && bits != 2 && bits != 4 &&
	    bits != 8)
		return bad(m, codes,
			   "GatherBlockQuantized bits %lld is not "
			   "supported (2, 4 or 8)",
			   bits, 0);
	if (block < 16 || (block & (block - 1)))
		return bad(m, codes, "GatherBlockQuantized block_size %lld",
			   block, 0);
	if (packed) {
		q->bits = (unsigned)bits, q->pack = ORX_QPACK_LAST;
		q->dims[q->ndim - 1] *= 8 / bits;
	}
	if (axis_of(q, op, nd, ORX_ATTR_QUANT_AXIS, &q->axis) != ORX_OK)
		return bad(m, codes, "quantize_axis %lld of a %lld-d table",
			   (long long)orx_op_attr(op, nd, ORX_ATTR_QUANT_AXIS),
			   (long long)q->ndim);
	q->zero_default =
		q->bits == 4 && !packed ? 0 : ldexp(1, (int)q->bits - 1);
	if ((rc = scales_at(w, m, gr, n, 2, 3)) != ORX_OK || w->skip ||
	    (rc = zero_type(q, m, false)) != ORX_OK)
		return rc;
	if (packed && q->zero != SIZE_MAX) {
		int64_t last = q->dims[q->ndim - 1];
		q->zero_form = ORX_QZERO_PACKED;
		q->zero_row = q->axis == (int)q->ndim - 1
				      ? (last + block - 1) / block
				      : last;
	}
	w->is = true;
	return granularity(q, m, block);
}

int orx_qform_weight(orx_qweight *out, const orx_model *model,
		     const orx_graph *gr, int n, const orx_op *op,
		     const orx_trace *tr)
{
	int codes = orx_value_of_constant(model, tr->graph, tr->init,
					  tr->constant_node);
	int rc;

	memset(out, 0, sizeof(*out));
	out->after = -1;
	out->q.zero = SIZE_MAX;
	if (codes < 0)
		return ORX_OK;
	if (tr->dq_node >= 0)
		rc = dequantize_form(out, model, tr, codes);
	else if (op->qlayout == ORX_QLAYOUT_CHANNELS ||
		 op->qlayout == ORX_QLAYOUT_COLUMNS)
		rc = linear_form(out, model, gr, n, op, tr, codes);
	else if (op->qlayout == ORX_QLAYOUT_NBITS)
		rc = nbits_form(out, model, gr, n, op, codes);
	else if (op->qlayout == ORX_QLAYOUT_GATHER)
		rc = gather_form(out, model, gr, n, op, tr, codes);
	else
		return ORX_OK;
	if (rc != ORX_OK || !out->is)
		return rc;
	if (out->q.zero_form == ORX_QZERO_NONE)
		out->q.zero_default =
			out->q.zero_default ? out->q.zero_default : 0;
	return ORX_OK;
}

int orx_qform_bias(orx_qbias *out, bool *is, const orx_model *model,
		   const orx_graph *gr, int n, const orx_op *op,
		   const orx_trace *tr, const orx_quant *wq)
{
	int codes = orx_value_of_constant(model, tr->graph, tr->init,
					  tr->constant_node);
	int xs = orx_op_input_of_kind(op, ORX_IN_X_SCALE), data, p;

	*is = false;
	if (codes < 0 || tensor(model, codes)->data_type != ORX_DTYPE_INT32)
		return ORX_OK;
	*out = (orx_qbias){(size_t)codes, SIZE_MAX, SIZE_MAX, wq->scale, 1};
	if (tr->dq_node >= 0) { /* its own scale; x's from x's dequantize */
		int s = input_value(model, tr->dq_graph, tr->dq_node, 1);
		if (s < 0 || !tr->dq_first)
			return ORX_OK;
		out->bias_scale = (size_t)s;
		data = orx_op_data_input(op, -1);
		p = data >= 0 ? orx_graph_producer(
					gr,
					orx_graph_input_of(gr, n, (size_t)data))
			      : -1;
		if (p >= 0 && orx_op_of(gr, p) &&
		    orx_op_of(gr, p)->qlayout == ORX_QLAYOUT_DEQUANTIZE &&
		    (xs = input_value(model, gr, p, 1)) >= 0)
			out->x_scale = (size_t)xs;
	} else if (xs >= 0 && (xs = input_value(model, gr, n, xs)) >= 0) {
		out->x_scale = (size_t)xs;
		out->mult = orx_op_attr(op, orx_graph_node(gr, n),
					ORX_ATTR_GEMM_ALPHA);
	} else {
		return ORX_OK;
	}
	*is = true;
	return ORX_OK;
}
