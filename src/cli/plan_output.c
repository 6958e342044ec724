/* Shared by the commands: the plan as JSON and as a table, loading rules,
 * parsing a seed, writing generated text whole. */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The scheme of a tensor: its blocks' if they share one, else
 * "per_gate". */
static const char *scheme_of(const orx_plan_item *it)
{
	for (size_t i = 1; i < it->n_blocks; i++)
		if (it->blocks[i].scheme != it->blocks[0].scheme)
			return "per_gate";
	return orx_scheme_name(it->scheme);
}

static json_t *blocks_json(const orx_plan_item *it)
{
	json_t *a = json_array();

	for (size_t i = 0; i < it->n_blocks; i++) {
		const orx_plan_block *b = &it->blocks[i];
		char rule[512];
		json_t *o;
		snprintf(rule, sizeof(rule), "%s:%u", b->rule_file, b->rule_line);
		o = json_pack("{s:s, s:i, s:I, s:I, s:[I, I], s:s, s:f, s:s}",
			      "gate", b->gate, "direction", b->direction,
			      "first", (json_int_t)b->first, "count",
			      (json_int_t)b->count, "shape", (json_int_t)b->rows,
			      (json_int_t)b->cols, "scheme",
			      orx_scheme_name(b->scheme), "std", b->params.std,
			      "rule", rule);
		if (it->role == ORX_ROLE_BIAS)
			json_object_set_new(o, "part", json_string(b->part ? "recurrent"
									   : "input"));
		json_object_set_new(o, "fan_in", b->has_fans ? json_integer(b->fan_in)
							     : json_null());
		json_object_set_new(o, "fan_out", b->has_fans
							  ? json_integer(b->fan_out)
							  : json_null());
		if (b->params.dist == ORX_DIST_CONSTANT)
			json_object_set_new(o, "value", json_real(b->params.value));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *item_json(const orx_plan_item *it)
{
	const orx_init_params *p = &it->params;
	bool scaling = it->scheme >= ORX_SCHEME_XAVIER_UNIFORM &&
		       it->scheme <= ORX_SCHEME_LECUN_TRUNC_NORMAL;
	bool bounded = p->dist == ORX_DIST_UNIFORM ||
		       p->dist == ORX_DIST_TRUNC_NORMAL;
	json_t *shape = json_array();
	char rule[512];

	for (size_t k = 0; k < it->ndim; k++)
		json_array_append_new(shape, json_integer(it->dims[k]));
	snprintf(rule, sizeof(rule), "%s:%u", it->rule_file, it->rule_line);
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:s}", "name",
		it->name, "node", it->node, "op", it->op, "role",
		orx_role_name(it->role), "dtype",
		orx_dtype_name(it->dtype) ? orx_dtype_name(it->dtype) : "unknown",
		"shape", shape, "activation", it->activation, "path",
		path_json(it->path, it->path_len), "scheme", scheme_of(it));
	json_object_set_new(o, "fan_in",
			    it->has_fans ? json_integer(it->fan_in) : json_null());
	json_object_set_new(o, "fan_out", it->has_fans
						  ? json_integer(it->fan_out)
						  : json_null());
	json_object_set_new(o, "gain",
			    num_or_null(scaling || p->dist == ORX_DIST_ORTHOGONAL,
					p->gain));
	json_object_set_new(o, "std", json_real(p->std));
	json_object_set_new(o, "bound", num_or_null(bounded, p->high));
	json_object_set_new(o, "rule", json_string(rule));
	json_object_set_new(o, "graph", json_string(it->graph));
	json_object_set_new(o, "storage", json_string(it->storage));
	if (it->n_blocks)
		json_object_set_new(o, "blocks", blocks_json(it));
	if (it->n_branches > 1) {
		json_t *b = json_array();
		for (size_t i = 0; i < it->n_branches; i++)
			json_array_append_new(
				b, json_pack("{s:s, s:o}", "activation",
					     it->branches[i].activation, "path",
					     path_json(it->branches[i].path,
						       it->branches[i].path_len)));
		json_object_set_new(o, "branches", b);
	}
	return o;
}

json_t *cli_plan_json(const char *model, const orx_plan *plan,
		      unsigned long long seed)
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
	return json_pack("{s:s, s:I, s:o, s:o}", "model", model, "seed",
			 (json_int_t)seed, "tensors", tensors, "skipped",
			 skipped);
}

static void print_path(char *buf, size_t size, const orx_plan_item *it)
{
	size_t used = (size_t)snprintf(buf, size, "%s", it->activation);

	for (size_t i = 0; i < it->path_len && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
					 i ? " > " : " (", it->path[i]);
	if (it->path_len && used < size)
		snprintf(buf + used, size - used, ")");
}

void cli_plan_print(FILE *to, const orx_plan *plan)
{
	char act[256], fans[48];

	fprintf(to, "%-36s %-18s %-10s %-44s %-15s %15s %10s  %s\n", "tensor",
		"op", "role", "activation (path)", "scheme", "fan_in/fan_out",
		"std", "rule");
	for (size_t i = 0; i < orx_plan_count(plan); i++) {
		const orx_plan_item *it = orx_plan_item_at(plan, i);
		print_path(act, sizeof(act), it);
		if (it->has_fans)
			snprintf(fans, sizeof(fans), "%lld/%lld",
				 (long long)it->fan_in, (long long)it->fan_out);
		else
			snprintf(fans, sizeof(fans), "-");
		fprintf(to, "%-36s %-18s %-10s %-44s %-15s %15s %10.6g  %s:%u\n",
			it->name, it->op, orx_role_name(it->role), act,
			scheme_of(it), fans, it->params.std, it->rule_file,
			it->rule_line);
		for (size_t b = 0; strcmp(scheme_of(it), "per_gate") == 0 &&
				   b < it->n_blocks;
		     b++) {
			const orx_plan_block *k = &it->blocks[b];
			char gate[64];
			if (k->scheme == it->blocks[0].scheme && b > 0)
				continue; /* the first block says it */
			snprintf(gate, sizeof(gate), "  gate %s%s%s%s", k->gate,
				 k->direction ? " (reverse)" : "",
				 it->role == ORX_ROLE_BIAS ? k->part ? ", Rb" : ", Wb"
							    : "",
				 b == 0 ? " and alike" : "");
			fprintf(to, "%-36s %-18s %-10s %-44s %-15s %15s %10.6g  %s:%u\n",
				"", "", "", gate, orx_scheme_name(k->scheme), "",
				k->params.std, k->rule_file, k->rule_line);
		}
		for (size_t b = 1; b < it->n_branches; b++)
			fprintf(to, "%-36s %-18s %-10s also reaches %s\n", "", "",
				"", it->branches[b].activation);
	}
	if (orx_plan_skipped_count(plan))
		fprintf(to, "\nleft as they are:\n");
	for (size_t i = 0; i < orx_plan_skipped_count(plan); i++) {
		const orx_plan_skip *s = orx_plan_skipped_at(plan, i);
		fprintf(to, "  %-36s %s\n", s->name, s->reason);
	}
}

size_t cli_leftovers(const orx_model *m, const orx_plan *plan,
		     unsigned long long *values, char *names, size_t size)
{
	size_t n = 0, shown = 0, used = 0;

	*values = 0;
	names[0] = '\0';
	for (size_t i = 0; i < orx_plan_skipped_count(plan); i++) {
		const orx_plan_skip *s = orx_plan_skipped_at(plan, i);
		uint64_t v;
		if (!orx_plan_skip_is_leftover(m, s, &v))
			continue;
		*values += v;
		if (n++ < 3 && used < size) {
			used += (size_t)snprintf(names + used, size - used, "%s%s",
						 shown++ ? ", " : "", s->name);
		}
	}
	if (n > shown && used < size)
		snprintf(names + used, size - used, " and %zu more", n - shown);
	return n;
}

int cli_load_rules(orx_rules **out, const char *const *files, size_t n)
{
	orx_rules *rules = NULL;
	int rc = -1;

	if (orx_rules_new(&rules) != ORX_OK)
		return cli_error(NULL, "%s", orx_error_last());
	for (size_t i = 0; i < n && rc < 0; i++) {
		int lib = orx_rules_add_file(rules, files[i]);
		if (lib == ORX_EINVALID) { /* FILE:LINE:COL: message */
			fprintf(stderr, "%s\n", orx_error_last());
			rc = EXIT_USAGE;
		} else if (lib != ORX_OK) {
			rc = cli_error(files[i], "%s", orx_error_last());
		}
	}
	if (rc < 0 && orx_rules_add_defaults(rules) != ORX_OK)
		rc = cli_error("rules/default.rules", "%s", orx_error_last());
	if (rc >= 0)
		orx_rules_free(rules);
	else
		*out = rules;
	return rc;
}

int cli_write_text(const char *path, void (*write)(FILE *f, const void *ctx),
		   const void *ctx)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return cli_error(path, "out of memory");
	write(f, ctx);
	fclose(f);
	rc = orx_write_file(path, text, len) == ORX_OK
		     ? EXIT_OK
		     : cli_error(path, "%s", orx_error_last());
	free(text);
	return rc;
}

int cli_parse_seed(unsigned long long *out, const char *s)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return *s && !*end && !errno && s[0] != '-' ? 0 : -1;
}
