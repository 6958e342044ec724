/* onnx-reinit info MODEL [--json] */
#include "cli.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dtype_str(int dtype, char *buf, size_t size)
{
	const char *name = orx_dtype_name(dtype);

	if (name)
		return name;
	snprintf(buf, size, "dtype%d", dtype);
	return buf;
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

	printf("\n%-40s %-9s %-20s %12s  %s\n", "initializer", "dtype", "shape",
	       "bytes", "storage");
	for (size_t i = 0; i < orx_model_tensor_count(m); i++) {
		if (orx_model_tensor(&t, m, i) != ORX_OK || t.constant ||
		    strcmp(t.graph, "main"))
			continue; /* the main graph's initializers */
		print_shape(&t, shape, sizeof(shape));
		printf("%-40s %-9s %-20s %12llu  %s\n", t.name,
		       dtype_str(t.dtype, dt, sizeof(dt)), shape,
		       (unsigned long long)t.nbytes,
		       orx_storage_name(t.storage));
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
	printf("\nproducer      %s %s\n", s->producer_name,
	       s->producer_version);
	printf("graph         %s\n", s->graph_name);
	printf("nodes         %zu", s->n_nodes);
	for (size_t i = 0; i < s->n_op_types; i++)
		printf("%s%s %zu", i ? ", " : " (", s->op_types[i].op_type,
		       s->op_types[i].count);
	printf("%s\n", s->n_op_types ? ")" : "");
	printf("initializers  %zu\n", s->n_initializers);
	printf("parameters    %llu (%s)\n", (unsigned long long)s->n_parameters,
	       cli_bytes(size, sizeof(size), s->n_bytes));
	printf("constants     %zu (%llu parameters in Constant nodes)\n",
	       s->n_constants, (unsigned long long)s->n_constant_parameters);
	printf("in bodies     %zu (%llu parameters in If/Loop/Scan bodies)\n",
	       s->n_body_tensors, (unsigned long long)s->n_body_parameters);
	print_tensors(m);
}

typedef struct {
	bool json;
} info_args;

static const cli_option options[] = {
	{"json", 0, OPT_FLAG, offsetof(info_args, json), NULL, NULL, NULL,
	 "print JSON instead of a table", OPT_OPTIONAL},
	{0}};

static int cmd_info(int argc, char **argv);

const cli_command cli_info = {
	"info",
	cmd_info,
	"MODEL",
	"Summarize a model: IR version, opsets, producer, nodes by op type,\n"
	"initializers with dtype, shape, bytes and storage, total\n"
	"parameters. MODEL '-' reads standard input.\n",
	options,
	NULL,
	NULL};

static int cmd_info(int argc, char **argv)
{
	info_args a = {0};
	const char *model;
	orx_model *m = NULL;
	orx_summary *s = NULL;
	int rc = cli_parse_options(options, &a, "info", argc, argv);

	if (rc >= 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage_error("info", "info takes one MODEL");
	model = argv[optind];
	if (orx_model_open_file(&m, model, NULL) != ORX_OK)
		return cli_error(model, "%s", orx_error_last());
	if (a.json) {
		rc = cli_report_written(
			orx_model_info_json_to(stdout, m, model), model);
	} else if (orx_model_summary(&s, m) != ORX_OK) {
		rc = cli_error(model, "%s", orx_error_last());
	} else {
		print_summary(model, s, m);
		rc = EXIT_OK;
	}
	orx_summary_free(s);
	orx_model_free(m);
	return rc;
}
