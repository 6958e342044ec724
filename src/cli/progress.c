/* A progress line on the terminal while apply writes or check reads one
 * large model: drawn by a thread of its own from the model's counters
 * once the step has run past a second, wiped when it ends; nothing at
 * all when standard error is not a terminal. */
#define _GNU_SOURCE
#include "cli.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct cli_progress {
	const orx_model *m;
	const char *label;
	double after; /* seconds before the line shows */
	atomic_bool stop;
	pthread_t thread;
};

double cli_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The line: "onnx-reinit: MODEL: writing 45% (11.2M of 25.0M values)". */
static bool draw(const cli_progress *p)
{
	uint64_t done, total;
	const char *step = orx_model_progress(p->m, &done, &total);

	if (!step || total == 0)
		return false;
	if (done > total)
		done = total;
	fprintf(stderr,
		"\ronnx-reinit: %s: %s %3.0f%% (%.1fM of %.1fM values)\033[K",
		p->label, step, 100.0 * (double)done / (double)total,
		(double)done / 1e6, (double)total / 1e6);
	return true;
}

static void *run(void *arg)
{
	cli_progress *p = arg;
	double started = cli_now();
	bool shown = false;

	/* ten lines a second; a thousand when asked to start at once */
	struct timespec pause = {0, p->after < 0.1 ? 1000000L : 100000000L};

	while (!atomic_load(&p->stop)) {
		if (cli_now() - started >= p->after)
			shown |= draw(p);
		nanosleep(&pause, NULL);
	}
	if (shown)
		fputs("\r\033[K", stderr);
	return NULL;
}

cli_progress *cli_progress_start(const orx_model *m, const char *label)
{
	const char *after = getenv("ONNX_REINIT_PROGRESS_AFTER");
	cli_progress *p;

	if (!isatty(STDERR_FILENO) || !(p = calloc(1, sizeof(*p))))
		return NULL; /* no line: the work goes on without one */
	p->m = m;
	p->label = label;
	p->after = after && *after ? atof(after) : 1.0;
	atomic_init(&p->stop, false);
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

void cli_progress_stop(cli_progress *p)
{
	if (!p)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	free(p);
}
