/* Internal: quantized weights found where a layer reads them (qform.c):
 * behind DequantizeLinear, or as the weight inputs of QLinearConv,
 * QGemm, MatMulInteger, MatMulNBits, GatherBlockQuantized and kin, whose
 * rows say where the scales and zero points are. */
#ifndef ORX_QFORM_H
#define ORX_QFORM_H

#include "ops.h"
#include "quant.h"
#include "trace.h"

typedef struct {
	bool is;	  /* the input is a quantized weight */
	orx_quant q;	  /* then, how */
	const char *skip; /* or a form the tool does not map: why */
	int after;	  /* the value of the layer's graph where its float
			     output is, when its scale is multiplied in
			     after it (MatMulInteger); else -1 */
} orx_qweight;

/* Whether the node input traced as tr (node n of gr, row op) is a
 * quantized weight, into *out. ORX_EINVALID (one line naming the tensor)
 * when its codes, scales and zero points contradict each other or an
 * attribute is out of range. */
int orx_qform_weight(orx_qweight *out, const orx_model *model,
		     const orx_graph *gr, int n, const orx_op *op,
		     const orx_trace *tr);

/* Whether the bias input of layer node n traced as tr, whose
 * weight is quantized as wq, is a quantized int32 bias: into *out, *is. */
int orx_qform_bias(orx_qbias *out, bool *is, const orx_model *model,
		   const orx_graph *gr, int n, const orx_op *op,
		   const orx_trace *tr, const orx_quant *wq);

#endif
