/* How far a model's long step (saving, checking) has got, for a progress
 * line drawn by another thread. The step that does the work counts into
 * the model's counters; the threads it starts count into the same ones
 * (the pool takes this thread's current counters with it). */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>

struct orx_progress {
	_Atomic(const char *) step; /* NULL: nothing under way */
	atomic_uint_least64_t done, total;
};

static _Thread_local orx_progress *current;

orx_progress *orx_progress_new(void)
{
	orx_progress *p = malloc(sizeof(*p));

	if (p) {
		atomic_init(&p->step, NULL);
		atomic_init(&p->done, 0);
		atomic_init(&p->total, 0);
	}
	return p;
}

void orx_progress_free(orx_progress *p)
{
	free(p);
}

orx_progress *orx_progress_start(const orx_model *m, const char *step,
				 uint64_t total)
{
	orx_progress *outer = current;

	atomic_store(&m->progress->done, 0);
	atomic_store(&m->progress->total, total);
	atomic_store(&m->progress->step, step);
	current = m->progress;
	return outer;
}

void orx_progress_end(const orx_model *m, orx_progress *outer)
{
	atomic_store(&m->progress->step, NULL);
	current = outer;
}

orx_progress *orx_progress_current(void)
{
	return current;
}

void orx_progress_add(orx_progress *p, uint64_t n)
{
	if (p)
		atomic_fetch_add(&p->done, n);
}

const char *orx_model_progress(const orx_model *m, uint64_t *done,
			       uint64_t *total)
{
	const char *step = atomic_load(&m->progress->step);
	*done = atomic_load(&m->progress->done);
	*total = atomic_load(&m->progress->total);
	return step;
}
