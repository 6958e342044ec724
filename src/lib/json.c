/* The reports as JSON text: the plan, check's findings and the model's
 * summary, as `plan --json`, `check --json` and `info --json` print them
 * and as the Python package reads them. */
#include "internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* The text of a report, its tree released: 2-space indented, members in
 * the order they were set, reals to 9 significant digits. */
static int dump(char **out, json_t *value)
{
	char *s =
		value ? json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
						  JSON_REAL_PRECISION(9))
		      : NULL;

	json_decref(value);
	if (!s)
		return orx_fail(ORX_ENOMEM, "out of memory");
	*out = s;
	return ORX_OK;
}

void orx_free(void *p)
{
	free(p);
}

const char *orx_storage_name(orx_storage s)
{
	static const char *const names[] = {"raw_data", "typed", "external",
					    "empty"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

/*** @@PLAN ***/

static json_t *path_json(const char *const *path, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(path[i]));
	return a;
}

static json_t *num_or_null(int has, double v)
{
	return has ? json_real(v) : json_null();
}

static json_t *fan_or_null(int has, int64_t fan)
{
	return has ? json_integer(fan) : json_null();
}

static json_t *block_json(const orx_plan_item *it, const orx_plan_block *b)
{
	char rule[512];
	json_t *o;

	snprintf(rule, sizeof(rule), "%s:%u", b->rule_file, b->rule_line);
	o = json_pack("{s:s, s:i, s:I, s:I, s:[I, I], s:s, s:f, s:s}", "gate",
		      b->gate, "direction", b->direction, "first",
		      (json_int_t)b->first, "count", (json_int_t)b->count,
		      "shape", (json_int_t)b->rows, (json_int_t)b->cols,
		      "scheme", orx_scheme_name(b->scheme), "std",
		      b->params.std, "rule", rule);
	if (it->role == ORX_ROLE_BIAS)
		json_object_set_new(
			o, "part",
			json_string(b->part ? "recurrent" : "input"));
	json_object_set_new(o, "fan_in", fan_or_null(b->has_fans, b->fan_in));
	json_object_set_new(o, "fan_out", fan_or_null(b->has_fans, b->fan_out));
	if (b->stride != b->cols) /* rows apart in the tensor */
		json_object_set_new(o, "stride", json_integer(b->stride));
	if (b->params.dist == ORX_DIST_CONSTANT)
		json_object_set_new(o, "value", json_real(b->params.value));
	return o;
}

static json_t *branches_json(const orx_plan_item *it)
{
	json_t *a = json_array();

	for (size_t i = 0; i < it->n_branches; i++)
		json_array_append_new(
			a, json_pack("{s:s, s:o}", "activation",
				     it->branches[i].activation, "path",
				     path_json(it->branches[i].path,
					       it->branches[i].path_len)));
	return a;
}

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* A quantized weight's codes and the tensors rewritten with them. */
static json_t *quant_json(const orx_plan_quant *q)
{
	json_t *o =
		json_pack("{s:s, s:i, s:s}", "dtype", q->dtype, "bits",
			  (json_int_t)q->bits, "granularity", q->granularity);

	json_object_set_new(o, "axis",
			    q->axis < 0 ? json_null() : json_integer(q->axis));
	json_object_set_new(o, "block_size",
			    q->block_size ? json_integer(q->block_size)
					  : json_null());
	json_object_set_new(o, "symmetric", json_boolean(q->symmetric));
	json_object_set_new(o, "scale", string_or_null(q->scale));
	json_object_set_new(o, "zero_point", string_or_null(q->zero_point));
	json_object_set_new(o, "stream", json_string(q->stream));
	return o;
}

static json_t *item_json(const orx_plan_item *it)
{
	const orx_init_params *p = &it->params;
	bool bounded =
		p->dist == ORX_DIST_UNIFORM || p->dist == ORX_DIST_TRUNC_NORMAL;
	json_t *shape = json_array(), *o;
	char rule[512];

	for (size_t k = 0; k < it->ndim; k++)
		json_array_append_new(shape, json_integer(it->dims[k]));
	snprintf(rule, sizeof(rule), "%s:%u", it->rule_file, it->rule_line);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:s}", "name",
		      it->name, "node", it->node, "op", it->op, "role",
		      orx_role_name(it->role), "dtype",
		      orx_dtype_name(it->dtype) ? orx_dtype_name(it->dtype)
						: "unknown",
		      "shape", shape, "activation", it->activation, "path",
		      path_json(it->path, it->path_len), "scheme",
		      orx_plan_item_scheme(it));
	if (it->activation_from)
		json_object_set_new(o, "activation_from",
				    json_string(it->activation_from));
	json_object_set_new(o, "fan_in", fan_or_null(it->has_fans, it->fan_in));
	json_object_set_new(o, "fan_out",
			    fan_or_null(it->has_fans, it->fan_out));
	json_object_set_new(o, "gain",
			    num_or_null(orx_scheme_is_scaling(it->scheme) ||
						p->dist == ORX_DIST_ORTHOGONAL,
					p->gain));
	json_object_set_new(o, "std", json_real(p->std));
	json_object_set_new(o, "bound", num_or_null(bounded, p->high));
	json_object_set_new(o, "rule", json_string(rule));
	json_object_set_new(o, "graph", json_string(it->graph));
	json_object_set_new(o, "storage", json_string(it->storage));
	if (it->n_blocks) {
		json_t *a = json_array();
		for (size_t i = 0; i < it->n_blocks; i++)
			json_array_append_new(a,
					      block_json(it, &it->blocks[i]));
		json_object_set_new(o, "blocks", a);
	}
	if (it->n_branches > 1)
		json_object_set_new(o, "branches", branches_json(it));
	if (it->quantized)
		json_object_set_new(o, "quantized", quant_json(it->quantized));
	if (it->found)
		json_object_set_new(o, "found", json_string(it->found));
	return o;
}

int orx_plan_json(char **out, const orx_plan *plan, const char *model,
		  uint64_t seed)
{
	json_t *tensors = json_array(), *skipped = json_array();

	for (size_t i = 0; i < orx_plan_count(plan); i++)
		json_array_append_new(tensors,
				      item_json(orx_plan_item_at(plan, i)));
	for (size_t i = 0; i < orx_plan_skipped_count(plan); i++) {
		const orx_plan_skip *s = orx_plan_skipped_at(plan, i);
		json_array_append_new(skipped,
				      json_pack("{s:s, s:s}", "name", s->name,
						"reason", s->reason));
	}
	return dump(out, json_pack("{s:s, s:I, s:o, s:o}", "model", model,
				   "seed", (json_int_t)seed, "tensors", tensors,
				   "skipped", skipped));
}

/*** @@CHECK ***/

static json_t *finding_json(const orx_finding *f)
{
	json_t *o = json_pack("{s:s, s:s}", "name", f->name, "problem",
			      orx_problem_name(f->problem));

	json_object_set_new(o, "std", num_or_null(!isnan(f->std), f->std));
	json_object_set_new(o, "expected_std", json_real(f->expected_std));
	json_object_set_new(o, "ratio",
			    num_or_null(!isnan(f->ratio), f->ratio));
	json_object_set_new(o, "via",
			    json_string(f->by_signal ? "signal" : "layer"));
	json_object_set_new(o, "severity",
			    json_string(orx_severity_name(f->severity)));
	return o;
}

static json_t *chain_json(const orx_chain *ch)
{
	return json_pack("{s:s, s:s, s:I, s:f, s:f, s:f, s:f, s:o}", "first",
			 ch->first, "last", ch->last, "layers",
			 (json_int_t)ch->layers, "scale", ch->scale, "residual",
			 ch->residual, "backward", ch->backward,
			 "backward_residual", ch->backward_residual, "problem",
			 ch->problem < 0 ? json_null()
					 : json_string(orx_problem_name(
						   (orx_problem)ch->problem)));
}

int orx_check_json(char **out, const orx_check *check,
		   const orx_check_options *opts, const char *model)
{
	json_t *findings = json_array(), *chains = json_array();

	for (size_t i = 0; i < orx_check_count(check); i++)
		json_array_append_new(
			findings, finding_json(orx_check_finding_at(check, i)));
	for (size_t i = 0; i < orx_check_chain_count(check); i++)
		json_array_append_new(chains,
				      chain_json(orx_check_chain_at(check, i)));
	return dump(out, json_pack("{s:s, s:o, s:{s:f, s:f, s:f, s:o}}",
				   "model", model, "findings", findings,
				   "signal", "vanishing", opts->vanishing,
				   "exploding", opts->exploding, "threshold",
				   opts->signal, "chains", chains));
}

/*** @@INFO ***/

static json_t *tensor_json(const orx_tensor_info *t)
{
	json_t *shape = json_array();
	char dtype[32];

	for (size_t k = 0; k < t->ndim; k++)
		json_array_append_new(shape, json_integer(t->dims[k]));
	if (orx_dtype_name(t->dtype))
		snprintf(dtype, sizeof(dtype), "%s", orx_dtype_name(t->dtype));
	else
		snprintf(dtype, sizeof(dtype), "dtype%d", t->dtype);
	return json_pack("{s:s, s:s, s:o, s:I, s:I, s:s}", "name", t->name,
			 "dtype", dtype, "shape", shape, "elements",
			 (json_int_t)t->count, "bytes", (json_int_t)t->nbytes,
			 "storage", orx_storage_name(t->storage));
}

static json_t *summary_json(const char *model, const orx_summary *s,
			    json_t *tensors)
{
	json_t *opsets = json_array(), *ops = json_object();

	for (size_t i = 0; i < s->n_opsets; i++)
		json_array_append_new(
			opsets,
			json_pack("{s:s, s:I}", "domain",
				  s->opsets[i].domain[0] ? s->opsets[i].domain
							 : "ai.onnx",
				  "version", (json_int_t)s->opsets[i].version));
	for (size_t i = 0; i < s->n_op_types; i++)
		json_object_set_new(
			ops, s->op_types[i].op_type,
			json_integer((json_int_t)s->op_types[i].count));
	return json_pack("{s:s, s:I, s:o, s:{s:s, s:s}, s:s, s:I, s:o, "
			 "s:I, s:I, s:o, s:{s:I, s:I}, s:{s:I, s:I}}",
			 "model", model, "ir_version",
			 (json_int_t)s->ir_version, "opsets", opsets,
			 "producer", "name", s->producer_name, "version",
			 s->producer_version, "graph", s->graph_name, "nodes",
			 (json_int_t)s->n_nodes, "op_types", ops, "parameters",
			 (json_int_t)s->n_parameters, "bytes",
			 (json_int_t)s->n_bytes, "initializers", tensors,
			 "constants", "tensors", (json_int_t)s->n_constants,
			 "parameters", (json_int_t)s->n_constant_parameters,
			 "bodies", "tensors", (json_int_t)s->n_body_tensors,
			 "parameters", (json_int_t)s->n_body_parameters);
}

int orx_model_info_json(char **out, const orx_model *model, const char *name)
{
	orx_summary *s = NULL;
	json_t *tensors;
	orx_tensor_info t;
	int rc;

	if ((rc = orx_model_summary(&s, model)) != ORX_OK)
		return rc;
	tensors = json_array();
	for (size_t i = 0; i < orx_main_initializers(model); i++) {
		if ((rc = orx_model_tensor(&t, model, i)) != ORX_OK) {
			json_decref(tensors);
			orx_summary_free(s);
			return rc;
		}
		json_array_append_new(tensors, tensor_json(&t));
	}
	rc = dump(out, summary_json(name, s, tensors));
	orx_summary_free(s);
	return rc;
}
