/* Shared by the commands: printing reports, the plan as a table, loading rules,
 * parsing a seed, writing generated text whole. */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_report_written(int rc, const char *model)
{
	if (rc == ORX_OK && fflush(stdout) == 0)
		return EXIT_OK;
	if (rc == ORX_OK || rc == ORX_EIO)
		return cli_error(NULL, "cannot write to standard output");
	return cli_error(model, "%s", orx_error_last());
}

static void print_path(char *buf, size_t size, const orx_plan_item *it)
{
	size_t used = (size_t)snprintf(buf, size, "%s", it->activation);

	if (it->activation_from) { /* held by a fused layer */
		snprintf(buf + used, size - used, " (%s's %s)", it->op,
			 it->activation_from);
		return;
	}
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
		fprintf(to,
			"%-36s %-18s %-10s %-44s %-15s %15s %10.6g  %s:%u\n",
			it->name, it->op, orx_role_name(it->role), act,
			orx_plan_item_scheme(it), fans, it->params.std,
			it->rule_file, it->rule_line);
		if (it->input_gain != 1)
			fprintf(to,
				"%-36s %-18s %-10s its input's second moment x "
				"%.3g (a max pool or a gate): std x %.4g\n",
				"", "", "", it->input_gain,
				1 / sqrt(it->input_gain));
		if (it->residual_sums)
			fprintf(to,
				"%-36s %-18s %-10s residual branch, one of %zu "
				"sums without normalization: std x %.4g\n",
				"", "", "", it->residual_sums,
				it->residual_scale);
		for (size_t b = 0;
		     strcmp(orx_plan_item_scheme(it), "per_gate") == 0 &&
		     b < it->n_blocks;
		     b++) {
			const orx_plan_block *k = &it->blocks[b];
			char gate[64];
			if (k->scheme == it->blocks[0].scheme && b > 0)
				continue; /* the first block says it */
			snprintf(gate, sizeof(gate), "  gate %s%s%s%s", k->gate,
				 k->direction ? " (reverse)" : "",
				 it->role == ORX_ROLE_BIAS
					 ? k->part ? ", Rb" : ", Wb"
					 : "",
				 b == 0 ? " and alike" : "");
			fprintf(to,
				"%-36s %-18s %-10s %-44s %-15s %15s %10.6g  "
				"%s:%u\n",
				"", "", "", gate, orx_scheme_name(k->scheme),
				"", k->params.std, k->rule_file, k->rule_line);
		}
		for (size_t b = 1; b < it->n_branches; b++)
			fprintf(to, "%-36s %-18s %-10s also reaches %s\n", "",
				"", "", it->branches[b].activation);
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
			used += (size_t)snprintf(names + used, size - used,
						 "%s%s", shown++ ? ", " : "",
						 s->name);
		}
	}
	if (n > shown && used < size)
		snprintf(names + used, size - used, " and %zu more", n - shown);
	return n;
}

size_t cli_failing(const orx_check *check, orx_severity at)
{
	return orx_findings_failing(
		orx_check_count(check) ? orx_check_finding_at(check, 0) : NULL,
		orx_check_count(check), at);
}

int cli_format(const bool *json, const char *name, const char *command)
{
	orx_report_format f;

	if (!name)
		return *json ? FORMAT_JSON : FORMAT_TEXT;
	if (!strcmp(name, "text") || !strcmp(name, "json"))
		return *json || !strcmp(name, "json") ? FORMAT_JSON
						      : FORMAT_TEXT;
	if (orx_report_format_parse(&f, name) != ORX_OK)
		return cli_usage_error(command,
				       "%s: --format takes text, json, sarif, "
				       "junit or github, not '%s'",
				       command, name),
		       -1;
	return (int)f;
}

int cli_check_report(FILE *to, const orx_check *check, const char *model,
		     orx_report_format format, orx_severity fail_on)
{
	orx_report_entry e = {
		model, NULL,
		orx_check_count(check) ? orx_check_finding_at(check, 0) : NULL,
		orx_check_count(check)};

	return orx_report_write_to(to, &e, 1, format, fail_on);
}

int cli_load_rules(orx_rules **out, const cli_rules_list *list)
{
	const char *const *files = list->files;
	size_t n = list->n;
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
	if (rc < 0 && orx_rules_add_profile(rules, list->profile) != ORX_OK)
		rc = cli_usage_error(NULL, "%s", orx_error_last());
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

const char *cli_one_model(const char *cmd, int argc, char **argv)
{
	if (argc - optind != 1) {
		cli_usage_error(cmd, "%s takes one MODEL", cmd);
		return NULL;
	}
	return argv[optind];
}

int cli_prepare(orx_rules **rules, orx_model **m, orx_plan **plan,
		const char *model, const cli_rules_list *files)
{
	int rc = cli_load_rules(rules, files);

	if (rc >= 0)
		return rc;
	if (orx_model_open_file(m, model, NULL) != ORX_OK)
		return cli_error(model, "%s", orx_error_last());
	if (orx_plan_build(plan, *m, *rules) != ORX_OK)
		return cli_error(model, "%s", orx_error_last());
	return -1;
}
