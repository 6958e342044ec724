/* --shard auto: the worker's index and the count from the scheduler
 * that started it, a table of their variables. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A scheduler: its index variable, its count variable (NULL: it gives
 * none; --shard auto/N then), and the first index. */
static const struct {
	const char *index, *count;
	unsigned base;
} schedulers[] = {
	{"CI_NODE_INDEX", "CI_NODE_TOTAL", 1},	       /* GitLab */
	{"CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0}, /* CircleCI */
	{"BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT",
	 0},				   /* Buildkite */
	{"JOB_COMPLETION_INDEX", NULL, 0}, /* a Kubernetes Indexed Job */
};

#define N_SCHEDULERS (sizeof(schedulers) / sizeof(schedulers[0]))

/* Variable name as a number into *out: 0 when it is unset, 1 when read,
 * -1 when it is not a number. */
static int number(unsigned long *out, const char *name)
{
	const char *v = getenv(name);
	char *end;

	if (!v || !*v)
		return 0;
	errno = 0;
	*out = strtoul(v, &end, 10);
	return *end || errno || v[0] == '-' || *out > 1u << 30 ? -1 : 1;
}

static int bad(const char *cmd, const char *what)
{
	return cli_usage_error(cmd, "%s: --shard auto: %s", cmd, what);
}

/* A Slurm array task: its place among MIN..MAX by STEP, refused when the
 * array is sparse (COUNT tasks not every one of them). */
static int slurm(unsigned *k, unsigned *n, const char *cmd)
{
	unsigned long id, lo, hi, step = 1, count;
	char what[160];

	if (number(&lo, "SLURM_ARRAY_TASK_MIN") != 1 ||
	    number(&hi, "SLURM_ARRAY_TASK_MAX") != 1 ||
	    number(&count, "SLURM_ARRAY_TASK_COUNT") != 1 ||
	    number(&id, "SLURM_ARRAY_TASK_ID") != 1 ||
	    number(&step, "SLURM_ARRAY_TASK_STEP") < 0 || step < 1 || hi < lo ||
	    id < lo || id > hi)
		return bad(cmd,
			   "SLURM_ARRAY_TASK_ID needs SLURM_ARRAY_TASK_MIN, "
			   "_MAX and _COUNT (and _STEP) around it");
	if (count != (hi - lo) / step + 1 || (id - lo) % step) {
		snprintf(what, sizeof(what),
			 "a sparse Slurm array (%lu tasks over %lu-%lu:%lu) "
			 "is refused",
			 count, lo, hi, step);
		return bad(cmd, what);
	}
	*k = (unsigned)((id - lo) / step + 1);
	*n = (unsigned)count;
	return -1;
}

int cli_shard_auto(unsigned *k, unsigned *n, const char *value, const char *cmd)
{
	unsigned long index, count, given = 0;
	char extra, what[200];

	if (strcmp(value, "auto") != 0 &&
	    (sscanf(value, "auto/%lu%c", &given, &extra) != 1 || given < 1 ||
	     given > 1u << 30))
		return bad(cmd, "takes auto or auto/N");
	if (getenv("SLURM_ARRAY_TASK_ID"))
		return slurm(k, n, cmd);
	for (size_t i = 0; i < N_SCHEDULERS; i++) {
		int got = number(&index, schedulers[i].index), c = 0;
		if (got == 0)
			continue;
		if (schedulers[i].count &&
		    (c = number(&count, schedulers[i].count)) < 0)
			got = -1;
		if (c <= 0)
			count = given;
		if (got < 0 || count < 1 || (given && count != given) ||
		    index < schedulers[i].base ||
		    index - schedulers[i].base >= count) {
			snprintf(what, sizeof(what),
				 "%s=%s does not give a shard%s%s%s",
				 schedulers[i].index,
				 getenv(schedulers[i].index),
				 count < 1 ? " (no count: --shard auto/N)" : "",
				 schedulers[i].count && given ? " of " : "",
				 schedulers[i].count && given
					 ? schedulers[i].count
					 : "");
			return bad(cmd, what);
		}
		*k = (unsigned)(index - schedulers[i].base + 1);
		*n = (unsigned)count;
		return -1;
	}
	return bad(cmd, "no scheduler's index is set (CI_NODE_INDEX, "
			"CIRCLE_NODE_INDEX, BUILDKITE_PARALLEL_JOB, "
			"SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX)");
}
