/* The reports as JSON text: the plan, check's findings and the model's
 * summary, as `plan --json`, `check --json` and `info --json` print them
 * and as the Python package reads them. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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

static void path_json(orx_jw *w, const char *key, const char *const *path,
		      size_t n)
{
	orx_jw_open(w, key, '[');
	for (size_t i = 0; i < n; i++)
		orx_jw_string(w, NULL, path[i]);
	orx_jw_close(w, ']');
}

static void fan_or_null(orx_jw *w, const char *key, bool has, int64_t fan)
{
	if (has)
		orx_jw_int(w, key, fan);
	else
		orx_jw_null(w, key);
}

static void rule_json(orx_jw *w, const char *file, unsigned line)
{
	char rule[512];

	snprintf(rule, sizeof(rule), "%s:%u", file, line);
	orx_jw_string(w, "rule", rule);
}

static void block_json(orx_jw *w, const orx_plan_item *it,
		       const orx_plan_block *b)
{
	orx_jw_open(w, NULL, '{');
	orx_jw_string(w, "gate", b->gate);
	orx_jw_int(w, "direction", b->direction);
	orx_jw_int(w, "first", (long long)b->first);
	orx_jw_int(w, "count", (long long)b->count);
	orx_jw_open(w, "shape", '[');
	orx_jw_int(w, NULL, (long long)b->rows);
	orx_jw_int(w, NULL, (long long)b->cols);
	orx_jw_close(w, ']');
	orx_jw_string(w, "scheme", orx_scheme_name(b->scheme));
	orx_jw_real(w, "std", b->params.std);
	rule_json(w, b->rule_file, b->rule_line);
	if (it->role == ORX_ROLE_BIAS)
		orx_jw_string(w, "part", b->part ? "recurrent" : "input");
	fan_or_null(w, "fan_in", b->has_fans, b->fan_in);
	fan_or_null(w, "fan_out", b->has_fans, b->fan_out);
	if (b->stride != b->cols) /* rows apart in the tensor */
		orx_jw_int(w, "stride", (long long)b->stride);
	if (b->params.dist == ORX_DIST_CONSTANT)
		orx_jw_real(w, "value", b->params.value);
	orx_jw_close(w, '}');
}

static void branches_json(orx_jw *w, const orx_plan_item *it)
{
	orx_jw_open(w, "branches", '[');
	for (size_t i = 0; i < it->n_branches; i++) {
		orx_jw_open(w, NULL, '{');
		orx_jw_string(w, "activation", it->branches[i].activation);
		path_json(w, "path", it->branches[i].path,
			  it->branches[i].path_len);
		orx_jw_close(w, '}');
	}
	orx_jw_close(w, ']');
}

/* A quantized weight's codes and the tensors rewritten with them. */
static void quant_json(orx_jw *w, const orx_plan_quant *q)
{
	orx_jw_open(w, "quantized", '{');
	orx_jw_string(w, "dtype", q->dtype);
	orx_jw_int(w, "bits", q->bits);
	orx_jw_string(w, "granularity", q->granularity);
	fan_or_null(w, "axis", q->axis >= 0, q->axis);
	fan_or_null(w, "block_size", q->block_size != 0, q->block_size);
	orx_jw_bool(w, "symmetric", q->symmetric);
	orx_jw_string(w, "scale", q->scale);
	orx_jw_string(w, "zero_point", q->zero_point);
	orx_jw_string(w, "stream", q->stream);
	orx_jw_close(w, '}');
}

static void item_json(orx_jw *w, const orx_plan_item *it)
{
	const orx_init_params *p = &it->params;
	bool bounded =
		p->dist == ORX_DIST_UNIFORM || p->dist == ORX_DIST_TRUNC_NORMAL;
	const char *dtype = orx_dtype_name(it->dtype);

	orx_jw_open(w, NULL, '{');
	orx_jw_string(w, "name", it->name);
	orx_jw_string(w, "node", it->node);
	orx_jw_string(w, "op", it->op);
	orx_jw_string(w, "role", orx_role_name(it->role));
	orx_jw_string(w, "dtype", dtype ? dtype : "unknown");
	orx_jw_open(w, "shape", '[');
	for (size_t k = 0; k < it->ndim; k++)
		orx_jw_int(w, NULL, it->dims[k]);
	orx_jw_close(w, ']');
	orx_jw_string(w, "activation", it->activation);
	path_json(w, "path", it->path, it->path_len);
	orx_jw_string(w, "scheme", orx_plan_item_scheme(it));
	if (it->activation_from)
		orx_jw_string(w, "activation_from", it->activation_from);
	fan_or_null(w, "fan_in", it->has_fans, it->fan_in);
	fan_or_null(w, "fan_out", it->has_fans, it->fan_out);
	orx_jw_real_or_null(w, "gain",
			    orx_scheme_is_scaling(it->scheme) ||
				    p->dist == ORX_DIST_ORTHOGONAL,
			    p->gain);
	orx_jw_real(w, "std", p->std);
	orx_jw_real_or_null(w, "bound", bounded, p->high);
	rule_json(w, it->rule_file, it->rule_line);
	orx_jw_string(w, "graph", it->graph);
	orx_jw_string(w, "storage", it->storage);
	if (it->n_blocks) {
		orx_jw_open(w, "blocks", '[');
		for (size_t i = 0; i < it->n_blocks; i++)
			block_json(w, it, &it->blocks[i]);
		orx_jw_close(w, ']');
	}
	if (it->n_branches > 1)
		branches_json(w, it);
	if (it->quantized)
		quant_json(w, it->quantized);
	if (it->found)
		orx_jw_string(w, "found", it->found);
	if (it->input_gain != 1)
		orx_jw_real(w, "input_gain", it->input_gain);
	if (it->residual_sums) {
		orx_jw_open(w, "residual", '{');
		orx_jw_int(w, "sums", (long long)it->residual_sums);
		orx_jw_real(w, "scale", it->residual_scale);
		orx_jw_close(w, '}');
	}
	orx_jw_close(w, '}');
}

int orx_plan_json_to(FILE *to, const orx_plan *plan, const char *model,
		     uint64_t seed)
{
	orx_jw w;

	orx_jw_init(&w, to);
	orx_jw_open(&w, NULL, '{');
	orx_jw_string(&w, "model", model);
	orx_jw_int(&w, "seed", (long long)seed);
	orx_jw_open(&w, "tensors", '[');
	for (size_t i = 0; i < orx_plan_count(plan); i++)
		item_json(&w, orx_plan_item_at(plan, i));
	orx_jw_close(&w, ']');
	orx_jw_open(&w, "skipped", '[');
	for (size_t i = 0; i < orx_plan_skipped_count(plan); i++) {
		const orx_plan_skip *s = orx_plan_skipped_at(plan, i);
		orx_jw_open(&w, NULL, '{');
		orx_jw_string(&w, "name", s->name);
		orx_jw_string(&w, "reason", s->reason);
		orx_jw_close(&w, '}');
	}
	orx_jw_close(&w, ']');
	orx_jw_close(&w, '}');
	return orx_jw_finish(&w);
}

int orx_plan_json(char **out, const orx_plan *plan, const char *model,
		  uint64_t seed)
{
	orx_memstream m;
	int rc = orx_memstream_open(&m);

	return rc ? rc
		  : orx_memstream_take(
			    &m, out, orx_plan_json_to(m.f, plan, model, seed));
}

/*** @@CHECK ***/

static void finding_json(orx_jw *w, const orx_finding *f)
{
	orx_jw_open(w, NULL, '{');
	orx_jw_string(w, "name", f->name);
	orx_jw_string(w, "problem", orx_problem_name(f->problem));
	orx_jw_real_or_null(w, "std", !isnan(f->std), f->std);
	orx_jw_real(w, "expected_std", f->expected_std);
	orx_jw_real_or_null(w, "ratio", !isnan(f->ratio), f->ratio);
	orx_jw_string(w, "via", orx_via_name(f->by_signal));
	orx_jw_string(w, "severity", orx_severity_name(f->severity));
	orx_jw_close(w, '}');
}

static void chain_json(orx_jw *w, const orx_chain *ch)
{
	orx_jw_open(w, NULL, '{');
	orx_jw_string(w, "first", ch->first);
	orx_jw_string(w, "last", ch->last);
	orx_jw_int(w, "layers", (long long)ch->layers);
	orx_jw_real(w, "scale", ch->scale);
	orx_jw_real(w, "residual", ch->residual);
	orx_jw_real(w, "backward", ch->backward);
	orx_jw_real(w, "backward_residual", ch->backward_residual);
	orx_jw_string(w, "problem",
		      ch->problem < 0
			      ? NULL
			      : orx_problem_name((orx_problem)ch->problem));
	orx_jw_close(w, '}');
}

/* check --run: each layer's output measured beside the prediction. */
static void measured_json(orx_jw *w, const orx_check *check)
{
	orx_jw_open(w, "measured", '[');
	for (size_t i = 0; i < orx_check_measured_count(check); i++) {
		const orx_measured *m = orx_check_measured_at(check, i);
		orx_jw_open(w, NULL, '{');
		orx_jw_string(w, "name", m->name);
		orx_jw_real(w, "std", m->measured);
		orx_jw_real_or_null(w, "predicted", !isnan(m->predicted),
				    m->predicted);
		orx_jw_close(w, '}');
	}
	orx_jw_close(w, ']');
}

int orx_check_json_to(FILE *to, const orx_check *check,
		      const orx_check_options *opts, const char *model)
{
	orx_jw w;

	orx_jw_init(&w, to);
	orx_jw_open(&w, NULL, '{');
	orx_jw_string(&w, "model", model);
	orx_jw_open(&w, "findings", '[');
	for (size_t i = 0; i < orx_check_count(check); i++)
		finding_json(&w, orx_check_finding_at(check, i));
	orx_jw_close(&w, ']');
	orx_jw_open(&w, "signal", '{');
	orx_jw_real(&w, "vanishing", opts->vanishing);
	orx_jw_real(&w, "exploding", opts->exploding);
	orx_jw_real(&w, "threshold", opts->signal);
	orx_jw_open(&w, "chains", '[');
	for (size_t i = 0; i < orx_check_chain_count(check); i++)
		chain_json(&w, orx_check_chain_at(check, i));
	orx_jw_close(&w, ']');
	orx_jw_close(&w, '}');
	if (orx_check_measured_count(check))
		measured_json(&w, check);
	orx_jw_close(&w, '}');
	return orx_jw_finish(&w);
}

int orx_check_json(char **out, const orx_check *check,
		   const orx_check_options *opts, const char *model)
{
	orx_memstream m;
	int rc = orx_memstream_open(&m);

	return rc ? rc
		  : orx_memstream_take(
			    &m, out,
			    orx_check_json_to(m.f, check, opts, model));
}

/*** @@INFO ***/

static void tensor_json(orx_jw *w, const orx_tensor_info *t)
{
	char dtype[32];

	if (orx_dtype_name(t->dtype))
		snprintf(dtype, sizeof(dtype), "%s", orx_dtype_name(t->dtype));
	else
		snprintf(dtype, sizeof(dtype), "dtype%d", t->dtype);
	orx_jw_open(w, NULL, '{');
	orx_jw_string(w, "name", t->name);
	orx_jw_string(w, "dtype", dtype);
	orx_jw_open(w, "shape", '[');
	for (size_t k = 0; k < t->ndim; k++)
		orx_jw_int(w, NULL, t->dims[k]);
	orx_jw_close(w, ']');
	orx_jw_int(w, "elements", (long long)t->count);
	orx_jw_int(w, "bytes", (long long)t->nbytes);
	orx_jw_string(w, "storage", orx_storage_name(t->storage));
	orx_jw_close(w, '}');
}

static void counts_json(orx_jw *w, const char *key, uint64_t tensors,
			uint64_t parameters)
{
	orx_jw_open(w, key, '{');
	orx_jw_int(w, "tensors", (long long)tensors);
	orx_jw_int(w, "parameters", (long long)parameters);
	orx_jw_close(w, '}');
}

static void summary_head(orx_jw *w, const char *model, const orx_summary *s)
{
	orx_jw_string(w, "model", model);
	orx_jw_int(w, "ir_version", (long long)s->ir_version);
	orx_jw_open(w, "opsets", '[');
	for (size_t i = 0; i < s->n_opsets; i++) {
		orx_jw_open(w, NULL, '{');
		orx_jw_string(w, "domain",
			      s->opsets[i].domain[0] ? s->opsets[i].domain
						     : "ai.onnx");
		orx_jw_int(w, "version", (long long)s->opsets[i].version);
		orx_jw_close(w, '}');
	}
	orx_jw_close(w, ']');
	orx_jw_open(w, "producer", '{');
	orx_jw_string(w, "name", s->producer_name);
	orx_jw_string(w, "version", s->producer_version);
	orx_jw_close(w, '}');
	orx_jw_string(w, "graph", s->graph_name);
	orx_jw_int(w, "nodes", (long long)s->n_nodes);
	orx_jw_open(w, "op_types", '{');
	for (size_t i = 0; i < s->n_op_types; i++)
		orx_jw_int(w, s->op_types[i].op_type,
			   (long long)s->op_types[i].count);
	orx_jw_close(w, '}');
	orx_jw_int(w, "parameters", (long long)s->n_parameters);
	orx_jw_int(w, "bytes", (long long)s->n_bytes);
}

int orx_model_info_json_to(FILE *to, const orx_model *model, const char *name)
{
	orx_summary *s = NULL;
	orx_tensor_info t;
	orx_jw w;
	int rc;

	if ((rc = orx_model_summary(&s, model)) != ORX_OK)
		return rc;
	for (size_t i = 0; i < orx_main_initializers(model); i++)
		if ((rc = orx_model_tensor(&t, model, i)) != ORX_OK)
			goto done; /* before a byte is written */
	orx_jw_init(&w, to);
	orx_jw_open(&w, NULL, '{');
	summary_head(&w, name, s);
	orx_jw_open(&w, "initializers", '[');
	for (size_t i = 0; i < orx_main_initializers(model); i++) {
		orx_model_tensor(&t, model, i);
		tensor_json(&w, &t);
	}
	orx_jw_close(&w, ']');
	counts_json(&w, "constants", s->n_constants, s->n_constant_parameters);
	counts_json(&w, "bodies", s->n_body_tensors, s->n_body_parameters);
	orx_jw_close(&w, '}');
	rc = orx_jw_finish(&w);
done:
	orx_summary_free(s);
	return rc;
}

int orx_model_info_json(char **out, const orx_model *model, const char *name)
{
	orx_memstream m;
	int rc = orx_memstream_open(&m);

	return rc ? rc
		  : orx_memstream_take(
			    &m, out, orx_model_info_json_to(m.f, model, name));
}
