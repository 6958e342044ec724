/* onnx-reinit info MODEL [--json] */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *shape_json(const orx_tensor_info *t)
{
	json_t *shape = json_array();

	for (size_t k = 0; k < t->ndim; k++)
		json_array_append_new(shape, json_integer(t->dims[k]));
	return shape;
}

static const char *dtype_str(int dtype, char *buf, size_t size)
{
	const char *name = orx_dtype_name(dtype);

	if (name)
		return name;
	snprintf(buf, size, "dtype%d", dtype);
	return buf;
}

static json_t *tensors_json(const orx_model *m)
{
	json_t *list = json_array();
	orx_tensor_info t;
	char buf[32];

	for (size_t i = 0; i < orx_model_tensor_count(m); i++) {
		if (orx_model_tensor(&t, m, i) != ORX_OK)
			continue; /* validated on open: cannot happen */
		json_array_append_new(
			list,
			json_pack("{s:s, s:s, s:o, s:I, s:I, s:s}", "name",
				  t.name, "dtype",
				  dtype_str(t.dtype, buf, sizeof(buf)), "shape",
				  shape_json(&t), "elements",
				  (json_int_t)t.count, "bytes",
				  (json_int_t)t.nbytes, "storage",
				  cli_storage_name(t.storage)));
	}
	return list;
}

static json_t *summary_json(const char *path, const orx_summary *s,
			    const orx_model *m)
{
	json_t *opsets = json_array(), *ops = json_object();

	for (size_t i = 0; i < s->n_opsets; i++)
		json_array_append_new(
			opsets, json_pack("{s:s, s:I}", "domain",
					  s->opsets[i].domain[0]
						  ? s->opsets[i].domain
						  : "ai.onnx",
					  "version",
					  (json_int_t)s->opsets[i].version));
	for (size_t i = 0; i < s->n_op_types; i++)
		json_object_set_new(ops, s->op_types[i].op_type,
				    json_integer((json_int_t)s->op_types[i].count));
	return json_pack("{s:s, s:I, s:o, s:{s:s, s:s}, s:s, s:I, s:o, "
			 "s:I, s:I, s:o, s:{s:I, s:I}, s:{s:I, s:I}}",
			 "model", path, "ir_version",
			 (json_int_t)s->ir_version, "opsets", opsets,
			 "producer", "name", s->producer_name, "version",
			 s->producer_version, "graph", s->graph_name, "nodes",
			 (json_int_t)s->n_nodes, "op_types", ops,
			 "parameters", (json_int_t)s->n_parameters, "bytes",
			 (json_int_t)s->n_bytes, "initializers",
			 tensors_json(m), "constants", "tensors",
			 (json_int_t)s->n_constants, "parameters",
			 (json_int_t)s->n_constant_parameters, "bodies",
			 "tensors", (json_int_t)s->n_body_tensors, "parameters",
			 (json_int_t)s->n_body_parameters);
}

static void print_shape(const orx_tensor_info *t, char *buf, size_t size)
{
	size_t used = 0;

	used += (size_t)snprintf(buf, size, "[");
	for (size_t k = 0; k < t->ndim && used < size; k++)
		used += (size_t)snprintf(buf + used, size - used, "%s%lld",
					 k ? ", " : "", (long long)t->dims[k]);
	if (used < size)
		snprintf(buf + used, size - used, "]");
}

static void print_tensors(const orx_model *m)
{
	orx_tensor_info t;
	char shape[128], dt[32];

	printf("\n%-40s %-9s %-20s %12s  %s\n", "initializer", "dtype",
	       "shape", "bytes", "storage");
	for (size_t i = 0; i < orx_model_tensor_count(m); i++) {
		if (orx_model_tensor(&t, m, i) != ORX_OK)
			continue;
		print_shape(&t, shape, sizeof(shape));
		printf("%-40s %-9s %-20s %12llu  %s\n", t.name,
		       dtype_str(t.dtype, dt, sizeof(dt)), shape,
		       (unsigned long long)t.nbytes,
		       cli_storage_name(t.storage));
	}
}

static void print_summary(const char *path, const orx_summary *s,
			  const orx_model *m)
{
	char size[32];

	printf("model         %s\n", path);
	printf("ir_version    %lld\n", (long long)s->ir_version);
	printf("opsets       ");
	for (size_t i = 0; i < s->n_opsets; i++)
		printf(" %s %lld%s",
		       s->opsets[i].domain[0] ? s->opsets[i].domain : "ai.onnx",
		       (long long)s->opsets[i].version,
		       i + 1 < s->n_opsets ? "," : "");
	printf("\nproducer      %s %s\n", s->producer_name, s->producer_version);
	printf("graph         %s\n", s->graph_name);
	printf("nodes         %zu", s->n_nodes);
	for (size_t i = 0; i < s->n_op_types; i++)
		printf("%s%s %zu", i ? ", " : " (", s->op_types[i].op_type,
		       s->op_types[i].count);
	printf("%s\n", s->n_op_types ? ")" : "");
	printf("initializers  %zu\n", s->n_initializers);
	printf("parameters    %llu (%s)\n",
	       (unsigned long long)s->n_parameters,
	       cli_bytes(size, sizeof(size), s->n_bytes));
	printf("constants     %zu (%llu parameters in Constant nodes)\n",
	       s->n_constants, (unsigned long long)s->n_constant_parameters);
	printf("in bodies     %zu (%llu parameters in If/Loop/Scan bodies)\n",
	       s->n_body_tensors, (unsigned long long)s->n_body_parameters);
	print_tensors(m);
}

int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {{"json", no_argument, 0, 'j'},
						 {0, 0, 0, 0}};
	bool json = false;
	orx_model *m = NULL;
	orx_summary *s = NULL;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else
			return cli_usage_error("info", "info: unknown option "
						       "'%s'",
					       argv[optind - 1]);
	}
	if (argc - optind != 1)
		return cli_usage_error("info", "info takes one MODEL");
	if (orx_model_open_file(&m, argv[optind], NULL) != ORX_OK)
		return cli_error(argv[optind], "%s", orx_error_last());
	if (orx_model_summary(&s, m) != ORX_OK) {
		rc = cli_error(argv[optind], "%s", orx_error_last());
		goto done;
	}
	if (json)
		rc = cli_print_json(summary_json(argv[optind], s, m));
	else
		print_summary(argv[optind], s, m), rc = EXIT_OK;
done:
	orx_summary_free(s);
	orx_model_free(m);
	return rc;
}
