/* onnx-reinit batch: apply (or check) on many models (its options: the
 * table below). */
#define _GNU_SOURCE
#include "cli.h"
#include "report_html.h"
#include "zipin.h"

#include "orx_config.h"
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#if ORX_HAVE_MALLOPT
#include <malloc.h>
#endif
#include <pthread.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	char *input; /* what the report calls it */
	char *rel;   /* relative output path */
	char *file;  /* a model file, or NULL */
	char *zip;   /* or an archive and an entry */
	uint64_t index, size;
	uint64_t in_bytes;
	char error[512]; /* set before (refused) or while processing */
	bool ok, resumed;
	size_t tensors, findings, failing; /* failing: at --fail-on */
	size_t kept;			   /* the plan's tensors left alone */
	html_view *view;    /* --report FILE.html: the plots' data */
	orx_finding *found; /* with --format: the findings, names copied */
	double seconds;
	char *out_path;
	uint8_t *out_data; /* zip output: the saved model */
	size_t out_len;
} job;

typedef struct {
	job *jobs;
	size_t *order; /* processing order: largest first */
	size_t n, cap;
	size_t next, done;   /* atomics */
	uint64_t bytes_done; /* atomic */
	const char *out;
	bool zip_out, check, resume;
	bool strict; /* a model with leftovers fails */
	unsigned long long seed;
	orx_rules *rules;
	orx_check_options check_opts;
	orx_severity fail_on;
	int format;	    /* cli_format's */
	bool keep_findings; /* each job's, for --format or --report */
	bool html;	    /* --report FILE.html */
	bool views;	    /* --report: each checked model's plots' data */
	zip_limits limits;
	uint64_t zip_total; /* atomic */
} batch;

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/*** @@INPUTS: files, folders, archives into jobs ***/

static job *add_job(batch *b, const char *input, const char *rel)
{
	job *j;

	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		job *n = realloc(b->jobs, cap * sizeof(*n));
		if (!n)
			return NULL;
		b->jobs = n;
		b->cap = cap;
	}
	j = &b->jobs[b->n++];
	memset(j, 0, sizeof(*j));
	j->input = strdup(input);
	j->rel = strdup(rel);
	return j;
}

static void add_file(batch *b, const char *path, const char *rel)
{
	struct stat st;
	job *j = add_job(b, path, rel);

	if (!j)
		return;
	j->file = strdup(path);
	if (stat(path, &st) == 0)
		j->in_bytes = (uint64_t)st.st_size;
}

/* What a folder entry that is neither a folder nor a regular file is. */
static const char *kind_of(mode_t mode)
{
	return S_ISLNK(mode)	? "a symlink (not followed)"
	       : S_ISFIFO(mode) ? "a FIFO"
	       : S_ISSOCK(mode) ? "a socket"
				: "a device";
}

/* A *.onnx entry that is not a regular file: reported, never opened (a
 * FIFO would block the open). */
static void add_skipped(batch *b, const char *path, const char *rel,
			mode_t mode)
{
	job *j = add_job(b, path, rel);

	if (j)
		snprintf(j->error, sizeof(j->error),
			 "not a regular file but %s: skipped", kind_of(mode));
}

/* Every *.onnx regular file under dir (symlinks are not followed); other
 * *.onnx entries get a failed line of their own. */
static void add_folder(batch *b, const char *dir, const char *rel)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		char path[4096], sub[4096];
		struct stat st;
		const char *name = list[i]->d_name;
		size_t d =
			strlen(dir); /* models/ names models/x, not models//x */
		if (strcmp(name, ".") && strcmp(name, "..") &&
		    (size_t)snprintf(path, sizeof(path), "%s%s%s", dir,
				     d && dir[d - 1] == '/' ? "" : "/",
				     name) < sizeof(path) &&
		    (size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel,
				     rel[0] ? "/" : "", name) < sizeof(sub) &&
		    lstat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				add_folder(b, path, sub);
			else if (S_ISREG(st.st_mode) &&
				 ends_with(name, ".onnx"))
				add_file(b, path, sub);
			else if (ends_with(name, ".onnx"))
				add_skipped(b, path, sub, st.st_mode);
		}
		free(list[i]);
	}
	free(list);
}

static void add_archive(batch *b, const char *path)
{
	zip_entry *e = NULL;
	size_t n = 0;
	char err[256], label[4352];
	job *j;

	if (zip_list_models(&e, &n, path, &b->limits, err, sizeof(err)) != 0) {
		if ((j = add_job(b, path, path)))
			snprintf(j->error, sizeof(j->error), "%s", err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(label, sizeof(label), "%s:%s", path, e[i].name);
		if (!(j = add_job(b, label, e[i].name)))
			break;
		j->zip = strdup(path);
		j->index = e[i].index;
		j->size = j->in_bytes = e[i].size;
		snprintf(j->error, sizeof(j->error), "%s", e[i].error);
	}
	zip_entries_free(e, n);
}

static void add_input(batch *b, const char *arg)
{
	struct stat st;
	const char *base = strrchr(arg, '/');
	job *j;

	if (stat(arg, &st) != 0) {
		if ((j = add_job(b, arg, base ? base + 1 : arg)))
			snprintf(j->error, sizeof(j->error), "cannot open: %s",
				 strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		add_folder(b, arg, "");
	} else if (ends_with(arg, ".zip")) {
		add_archive(b, arg);
	} else {
		add_file(b, arg, base ? base + 1 : arg);
	}
}

static int by_rel(const void *x, const void *y)
{
	const job *a = x, *b = y;
	int c = strcmp(a->rel, b->rel);
	return c ? c : strcmp(a->input, b->input);
}

/* The shard of a relative path: FNV-1a 64 of its bytes, mod N. */
static unsigned shard_of(const char *rel, unsigned n)
{
	return (unsigned)(orx_name_hash(rel) % n);
}

static void free_job(job *j)
{
	free(j->input);
	free(j->rel);
	free(j->file);
	free(j->zip);
	free(j->out_path);
	free(j->out_data);
	for (size_t k = 0; j->found && k < j->findings; k++)
		free((char *)j->found[k].name);
	free(j->found);
	if (j->view)
		html_view_free(j->view);
	free(j->view);
}

/* Keep shard k of n (1-based), sort by output path, refuse duplicates. */
static void select_jobs(batch *b, unsigned k, unsigned n)
{
	size_t kept = 0;

	for (size_t i = 0; i < b->n; i++) {
		if (n > 1 && shard_of(b->jobs[i].rel, n) != k - 1)
			free_job(&b->jobs[i]);
		else
			b->jobs[kept++] = b->jobs[i];
	}
	b->n = kept;
	qsort(b->jobs, b->n, sizeof(job), by_rel);
	for (size_t i = 1; i < b->n; i++)
		if (!strcmp(b->jobs[i].rel, b->jobs[i - 1].rel) &&
		    !b->jobs[i].error[0])
			snprintf(b->jobs[i].error, sizeof(b->jobs[i].error),
				 "another input has the same output path '%s'",
				 b->jobs[i].rel);
}

/*** @@WORK: one model ***/

static int mkdir_parents(const char *path)
{
	char buf[4096];

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

static bool same_file(const char *a, const char *b)
{
	struct stat x, y;

	return a && b && stat(a, &x) == 0 && stat(b, &y) == 0 &&
	       x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static int load(orx_model **m, batch *b, job *j)
{
	uint8_t *data = NULL;
	int rc;

	if (j->file)
		return orx_model_open_file(m, j->file, NULL) == ORX_OK
			       ? 0
			       : (snprintf(j->error, sizeof(j->error), "%s",
					   orx_error_last()),
				  -1);
	if (zip_read_entry(&data, j->zip, j->index, j->size, &b->limits,
			   &b->zip_total, j->error, sizeof(j->error)) != 0)
		return -1;
	rc = orx_model_open_buffer(m, data, j->size, NULL);
	free(data);
	if (rc != ORX_OK)
		snprintf(j->error, sizeof(j->error), "%s", orx_error_last());
	return rc == ORX_OK ? 0 : -1;
}

static bool external(const orx_model *m)
{
	orx_tensor_info t;

	for (size_t i = 0; i < orx_model_tensor_count(m); i++)
		if (orx_model_tensor(&t, m, i) == ORX_OK &&
		    t.storage == ORX_STORAGE_EXTERNAL)
			return true;
	return false;
}

/* The workers are the parallelism: each model's values are made on its
 * own thread. */
static const orx_save_options one_thread = {ORX_SAVE_OPTIONS_VERSION,
					    ORX_DATA_KEEP, NULL, 1024, 1};

static int write_output(batch *b, job *j, orx_model *m)
{
	if (b->zip_out && external(m)) {
		snprintf(j->error, sizeof(j->error),
			 "a model with external "
			 "data cannot go into a zip "
			 "archive; use an output "
			 "folder");
		return -1;
	}
	if (b->zip_out) {
		if (orx_model_save_buffer(&j->out_data, &j->out_len, m,
					  &one_thread) == ORX_OK)
			return 0;
	} else if (mkdir_parents(j->out_path) != 0) {
		snprintf(j->error, sizeof(j->error),
			 "%s: cannot create its "
			 "folder: %s",
			 j->out_path, strerror(errno));
		return -1;
	} else if (same_file(j->out_path, j->file)) {
		snprintf(j->error, sizeof(j->error),
			 "the output %s is the input", j->out_path);
		return -1;
	} else if (orx_model_save(m, j->out_path, &one_thread) == ORX_OK) {
		return 0;
	}
	snprintf(j->error, sizeof(j->error), "%s", orx_error_last());
	return -1;
}

/* --resume: an output that exists and opens as a model is done (outputs
 * appear whole or not at all). */
static bool already_done(const char *path)
{
	orx_model *m = NULL;
	bool ok = access(path, F_OK) == 0 &&
		  orx_model_open_file(&m, path, NULL) == ORX_OK;

	orx_model_free(m);
	return ok;
}

/* check's findings, their names copied (the model is freed after the
 * job); NULL and the job failed when out of memory. */
static orx_finding *copy_findings(const orx_check *check, job *j)
{
	size_t n = orx_check_count(check);
	orx_finding *f = calloc(n + 1, sizeof(*f));

	for (size_t k = 0; f && k < n; k++) {
		f[k] = *orx_check_finding_at(check, k);
		if (!(f[k].name = strdup(f[k].name))) {
			while (k-- > 0)
				free((char *)f[k].name);
			free(f);
			f = NULL;
		}
	}
	if (!f) {
		snprintf(j->error, sizeof(j->error), "out of memory");
		j->ok = false;
	}
	return f;
}

/* The findings of every job as a report in b->format, on standard
 * output. */
static int print_report(const batch *b)
{
	orx_report_entry *e = calloc(b->n + 1, sizeof(*e));
	int rc;

	if (!e)
		return cli_error(NULL, "out of memory");
	for (size_t i = 0; i < b->n; i++) {
		const job *j = &b->jobs[i];
		e[i] = (orx_report_entry){j->input, j->ok ? NULL : j->error,
					  j->found, j->found ? j->findings : 0};
	}
	rc = cli_report_written(
		orx_report_write_to(stdout, e, b->n,
				    (orx_report_format)b->format, b->fail_on),
		NULL);
	free(e);
	return rc;
}

/* Check m (with --check the input, else apply's output): its findings (kept for
 * the reports) and, for the page, its plots' data; false (the job failed) when
 * the check could not run. */
static bool checked(const batch *b, job *j, const orx_model *m,
		    const orx_plan *plan)
{
	orx_check *check = NULL;
	bool ok = false;

	if (orx_check_run(&check, m, plan, &b->check_opts) != ORX_OK) {
		snprintf(j->error, sizeof(j->error), "%s", orx_error_last());
		goto done;
	}
	j->findings = orx_check_count(check);
	if (b->check) /* apply's page shows findings; they fail nothing */
		j->failing = cli_failing(check, b->fail_on);
	if (b->keep_findings && !(j->found = copy_findings(check, j)))
		goto done;
	if (b->views && (!(j->view = calloc(1, sizeof(*j->view))) ||
			 html_view_of(j->view, check) != 0)) {
		snprintf(j->error, sizeof(j->error), "out of memory");
		goto done;
	}
	ok = true;
done:
	orx_check_free(check);
	return ok;
}

static void run_job(batch *b, job *j)
{
	orx_model *m = NULL;
	orx_plan *plan = NULL;

	if (!b->zip_out && b->out &&
	    asprintf(&j->out_path, "%s/%s", b->out, j->rel) < 0)
		j->out_path = NULL;
	if (j->error[0])
		goto done;
	if (b->resume && j->out_path && already_done(j->out_path)) {
		j->ok = j->resumed = true;
		goto done;
	}
	if (load(&m, b, j) != 0)
		goto done;
	if (orx_plan_build(&plan, m, b->rules) != ORX_OK) {
		snprintf(j->error, sizeof(j->error), "%s", orx_error_last());
		goto done;
	}
	j->tensors = orx_plan_count(plan);
	j->kept = orx_plan_skipped_count(plan);
	if (b->check) {
		j->ok = checked(b, j, m, plan);
		goto done;
	}
	if (b->strict) {
		unsigned long long values;
		char names[256];
		size_t n =
			cli_leftovers(m, plan, &values, names, sizeof(names));
		if (n) {
			snprintf(j->error, sizeof(j->error),
				 "--strict: %zu float tensor%s (%llu values) "
				 "would "
				 "keep trained values and no keep rule names "
				 "%s: %s",
				 n, n == 1 ? "" : "s", values,
				 n == 1 ? "it" : "them", names);
			goto done;
		}
	}
	if (orx_plan_apply(m, plan, b->seed) != ORX_OK)
		snprintf(j->error, sizeof(j->error), "%s", orx_error_last());
	else /* the page shows the output, checked */
		j->ok = write_output(b, j, m) == 0 &&
			(!b->html || checked(b, j, m, plan));
done:
	orx_plan_free(plan);
	orx_model_free(m);
}

/* run_job, the model failed if its file is truncated under it (SIGBUS):
 * the others go on. A named temporary output of that model is removed;
 * what else it held (memory, an unnamed temporary output) is left to the
 * end of the process. */
static void run_job_guarded(batch *b, job *j)
{
	sigjmp_buf jump;

	if (sigsetjmp(jump, 1) == 0) {
		cli_bus_jump = &jump;
		run_job(b, j);
	} else {
		orx_abort_thread_saves();
		j->ok = false;
		snprintf(j->error, sizeof(j->error),
			 "the model file was truncated while it was in use "
			 "(SIGBUS)");
	}
	cli_bus_jump = NULL;
}

static void *worker(void *arg)
{
	batch *b = arg;
	size_t i;

	while ((i = __atomic_fetch_add(&b->next, 1, __ATOMIC_SEQ_CST)) < b->n) {
		job *j = &b->jobs[b->order[i]];
		double t0 = cli_now();
		run_job_guarded(b, j);
		j->seconds = cli_now() - t0;
		__atomic_add_fetch(&b->bytes_done, j->in_bytes,
				   __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&b->done, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/*** @@RUN: threads, progress, report ***/

static void progress(const batch *b, double started, bool final)
{
	size_t done = __atomic_load_n(&b->done, __ATOMIC_SEQ_CST);
	uint64_t bytes = __atomic_load_n(&b->bytes_done, __ATOMIC_SEQ_CST);
	uint64_t total = 0;
	double secs = cli_now() - started, rate = secs > 0 ? bytes / secs : 0;

	for (size_t i = 0; i < b->n; i++)
		total += b->jobs[i].in_bytes;
	fprintf(stderr, "\r[%zu/%zu] %.1f MB/s, %.0f s left   ", done, b->n,
		rate / 1e6, rate > 0 ? (double)(total - bytes) / rate : 0.0);
	if (final)
		fputc('\n', stderr);
}

/* A job and its size, sorted by size (the sort's own data). */
typedef struct {
	uint64_t bytes;
	size_t job;
} sized;

static int by_size_desc(const void *x, const void *y)
{
	const sized *a = x, *c = y;

	if (a->bytes != c->bytes)
		return (a->bytes < c->bytes) - (a->bytes > c->bytes);
	return (a->job > c->job) - (a->job < c->job);
}

/* Largest models first, so that no thread is left with a big one at the
 * end; the report keeps the sorted order. */
static int plan_order(batch *b)
{
	sized *keys = malloc((b->n + 1) * sizeof(*keys));

	if (!keys || !(b->order = malloc((b->n + 1) * sizeof(size_t)))) {
		free(keys);
		return -1;
	}
	for (size_t i = 0; i < b->n; i++)
		keys[i] = (sized){b->jobs[i].in_bytes, i};
	qsort(keys, b->n, sizeof(*keys), by_size_desc);
	for (size_t i = 0; i < b->n; i++)
		b->order[i] = keys[i].job;
	free(keys);
	return 0;
}

static void run_all(batch *b, unsigned threads)
{
	pthread_t *t = calloc(threads, sizeof(*t));
	bool tty = isatty(STDERR_FILENO);
	double started = cli_now();
	unsigned started_threads = 0;

	/* Models come and go in large blocks: keep freed memory in the heap
	 * for the next one instead of unmapping it, so that the threads do
	 * not queue on page faults in the kernel. */
#if ORX_HAVE_MALLOPT
	mallopt(M_MMAP_THRESHOLD, 1 << 30);
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
	for (unsigned i = 0; t && i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, b) == 0)
			started_threads++;
	if (started_threads == 0)
		worker(b); /* no threads: do it here */
	while (tty && __atomic_load_n(&b->done, __ATOMIC_SEQ_CST) < b->n) {
		struct timespec pause = {0, 100000000L};
		progress(b, started, false);
		nanosleep(&pause, NULL);
	}
	for (unsigned i = 0; i < started_threads; i++)
		pthread_join(t[i], NULL);
	if (tty)
		progress(b, started, true);
	free(t);
}

static json_t *report_line(const batch *b, const job *j)
{
	json_t *o = json_pack(
		"{s:s, s:o, s:s, s:o, s:I, s:f}", "input", j->input, "output",
		j->ok && j->out_path && !b->check ? json_string(j->out_path)
		: j->ok && b->zip_out && !b->check
			? json_sprintf("%s:%s", b->out, j->rel)
			: json_null(),
		"status", j->ok ? "ok" : "failed", "error",
		j->ok ? json_null() : json_string(j->error), "tensors",
		(json_int_t)j->tensors, "seconds", j->seconds);
	json_object_set_new(o, "kept", json_integer((json_int_t)j->kept));
	if (b->check)
		json_object_set_new(o, "findings",
				    json_integer((json_int_t)j->findings));
	if (b->check && j->found)
		json_object_set_new(o, "problems",
				    cli_findings_json(j->found, j->findings));
	if (j->view)
		json_object_set_new(o, "plots", html_view_json(j->view));
	if (j->resumed)
		json_object_set_new(o, "resumed", json_true());
	return o;
}

static void report_lines(FILE *f, const void *ctx)
{
	const batch *b = ctx;

	for (size_t i = 0; i < b->n; i++) {
		json_t *line = report_line(b, &b->jobs[i]);
		json_dumpf(line, f,
			   JSON_COMPACT | JSON_PRESERVE_ORDER |
				   JSON_REAL_PRECISION(6));
		fputc('\n', f);
		json_decref(line);
	}
}

/* The page: each job a row, its view the plots. */
static void html_page(FILE *f, const void *ctx)
{
	const batch *b = ctx;
	html_row *rows = calloc(b->n + 1, sizeof(*rows));

	if (!rows) {
		fputs("out of memory", f);
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		const job *j = &b->jobs[i];
		rows[i] = (html_row){j->input,	 j->ok ? NULL : j->error,
				     j->found,	 j->found ? j->findings : 0,
				     j->tensors, j->kept,
				     j->seconds, j->view};
	}
	html_report_write(f, rows, b->n, b->check);
	free(rows);
}

static int write_zip(batch *b)
{
	char err[512];
	zip_writer *w = zip_writer_new(err, sizeof(err));

	if (!w)
		return cli_error(b->out, "%s", err);
	for (size_t i = 0; i < b->n; i++) {
		job *j = &b->jobs[i];
		if (!j->ok || !j->out_data)
			continue;
		if (zip_writer_add(w, j->rel, j->out_data, j->out_len, err,
				   sizeof(err)) != 0) {
			j->out_data = NULL;
			zip_writer_finish(w, "/dev/null", err, sizeof(err));
			return cli_error(b->out, "%s", err);
		}
		j->out_data = NULL; /* the archive owns it */
	}
	return zip_writer_finish(w, b->out, err, sizeof(err)) == 0
		       ? EXIT_OK
		       : cli_error(b->out, "%s", err);
}

static void summary(FILE *to, const batch *b, double secs)
{
	size_t failed = 0, tensors = 0, findings = 0;
	uint64_t bytes = 0;

	for (size_t i = 0; i < b->n; i++) {
		failed += !b->jobs[i].ok;
		tensors += b->jobs[i].tensors;
		findings += b->jobs[i].findings;
		bytes += b->jobs[i].in_bytes;
	}
	fprintf(to,
		"batch: %zu models, %zu failed, %zu tensors%s, %.1f MB in "
		"%.2f s (%.1f MB/s)",
		b->n, failed, tensors, b->check ? " checked" : "",
		(double)bytes / 1e6, secs,
		secs > 0 ? (double)bytes / 1e6 / secs : 0);
	if (b->check)
		fprintf(to, ", %zu findings", findings);
	fputc('\n', to);
}

/* The zip archive, the --report file and the --format report. */
static int write_outputs(batch *b, const char *report)
{
	int rc = b->zip_out ? write_zip(b) : EXIT_OK;

	if (rc == EXIT_OK && report)
		rc = cli_write_text(report, b->html ? html_page : report_lines,
				    b);
	if (rc == EXIT_OK && b->format < FORMAT_TEXT)
		rc = print_report(b);
	return rc;
}

/*** @@COMMAND ***/

typedef struct {
	const char *out, *report;
	bool check, resume, strict;
	orx_severity fail_on;
	const char *format;
	cli_rules_list rules;
	unsigned long long seed;
	unsigned threads, shard_k, shard_n;
	char **inputs;
	int n_inputs;
} batch_args;

static int set_jobs(void *args, const char *value, const char *cmd)
{
	char *end;
	long n = strtol(value, &end, 10);

	if (*end || !*value || n < 1 || n > 1024)
		return cli_usage_error(cmd,
				       "%s: -j takes a number of threads, "
				       "not '%s'",
				       cmd, value);
	((batch_args *)args)->threads = (unsigned)n;
	return -1;
}

static int set_shard(void *args, const char *value, const char *cmd)
{
	batch_args *a = args;
	char extra;

	if (!strncmp(value, "auto", 4))
		return cli_shard_auto(&a->shard_k, &a->shard_n, value, cmd);
	if (sscanf(value, "%u/%u%c", &a->shard_k, &a->shard_n, &extra) != 2 ||
	    a->shard_n < 1 || a->shard_k < 1 || a->shard_k > a->shard_n)
		return cli_usage_error(cmd,
				       "%s: --shard takes K/N with 1 <= K "
				       "<= N, not '%s'",
				       cmd, value);
	return -1;
}

static const cli_option options[] = {
	{"output", 'o', OPT_STRING, offsetof(batch_args, out), NULL,
	 "OUTDIR|OUT.zip", NULL, "a folder, or a path ending in .zip",
	 OPT_REQUIRED},
	{"check", 0, OPT_FLAG, offsetof(batch_args, check), NULL, NULL, NULL,
	 "check each model instead; -o is not needed", OPT_OPTIONAL},
	{"format", 0, OPT_STRING, offsetof(batch_args, format), NULL, "FORMAT",
	 NULL,
	 "with --check, the report on standard output: text (the summary), "
	 "sarif, junit or github [text]",
	 OPT_OPTIONAL},
	{"fail-on", 0, OPT_SEVERITY, offsetof(batch_args, fail_on), NULL,
	 "LEVEL", NULL,
	 "with --check, the findings that make exit status 1: error, "
	 "warning or note [error]",
	 OPT_OPTIONAL},
	{"jobs", 'j', OPT_CALL, 0, set_jobs, "N", "number of cores",
	 "worker threads", OPT_OPTIONAL},
	{"shard", 0, OPT_CALL, 0, set_shard, "K/N", NULL,
	 "process only the K-th of N shards, chosen from each model's "
	 "relative path; auto (or auto/N): K and N from the scheduler "
	 "(GitLab, CircleCI, Buildkite, Slurm, Kubernetes)",
	 OPT_OPTIONAL},
	{"resume", 0, OPT_FLAG, offsetof(batch_args, resume), NULL, NULL, NULL,
	 "skip models whose output exists and is complete", OPT_OPTIONAL},
	{"report", 0, OPT_STRING, offsetof(batch_args, report), NULL, "FILE",
	 NULL,
	 "one JSON line per input ('-': standard output); FILE.html: one "
	 "page with a sortable table and each model's findings and plots",
	 OPT_OPTIONAL},
	{"seed", 0, OPT_SEED, offsetof(batch_args, seed), NULL, "N", NULL,
	 "random seed", OPT_OPTIONAL},
	{"rules", 0, OPT_RULES, offsetof(batch_args, rules), NULL, "FILE", NULL,
	 "rules before the defaults (repeatable)", OPT_REPEATS},
	{"profile", 0, OPT_PROFILE, offsetof(batch_args, rules), NULL, "NAME",
	 NULL, "the policy: seed (default), pytorch, keras, transformers",
	 OPT_OPTIONAL},
	{"strict", 0, OPT_FLAG, offsetof(batch_args, strict), NULL, NULL, NULL,
	 "a model that would keep trained values no keep rule names fails (as "
	 "apply --strict)",
	 OPT_OPTIONAL},
	{0}};

static const batch_args defaults = {0};

static int cmd_batch(int argc, char **argv);

const cli_command cli_batch = {
	"batch",
	cmd_batch,
	"INPUT...",
	"Re-initialize (or --check) many models: files, folders (every\n"
	"*.onnx below them) and .zip archives, into a folder or one .zip,\n"
	"keeping each model's relative path. One failing model never stops\n"
	"the others; exit status 1 when any failed (or, with --check, has\n"
	"findings at --fail-on's level).\n",
	options,
	&defaults,
	NULL};

static int parse_batch_args(batch *b, batch_args *a, int argc, char **argv)
{
	int rc = cli_parse_options(options, a, "batch", argc, argv);

	if (rc >= 0)
		return rc;
	a->inputs = argv + optind;
	a->n_inputs = argc - optind;
	if (a->n_inputs < 1)
		return cli_usage_error("batch",
				       "batch needs at least one INPUT");
	if (!a->out && !a->check)
		return cli_usage_error("batch", "batch needs -o OUTDIR or -o "
						"OUT.zip");
	b->out = a->out;
	b->check = a->check;
	b->fail_on = a->fail_on;
	if ((b->format = cli_format(&(bool){false}, a->format, "batch")) < 0)
		return EXIT_USAGE;
	if (b->format == FORMAT_JSON || (b->format != FORMAT_TEXT && !a->check))
		return cli_usage_error("batch",
				       "batch: --format sarif, junit or "
				       "github goes with --check (JSON lines: "
				       "--report)");
	b->keep_findings = b->format < FORMAT_TEXT || a->report;
	b->html = a->report && ends_with(a->report, ".html");
	b->views = a->report != NULL;
	b->resume = a->resume;
	b->strict = a->strict;
	b->seed = a->seed;
	b->zip_out = b->out && ends_with(b->out, ".zip");
	if (b->resume && b->zip_out)
		return cli_usage_error("batch",
				       "batch: --resume needs an output "
				       "folder, not a zip archive");
	return -1;
}

static int cmd_batch(int argc, char **argv)
{
	batch b = {0};
	batch_args a = defaults;
	orx_check_options check_defaults = ORX_CHECK_OPTIONS_INIT;
	zip_limits limits = ZIP_LIMITS_INIT;
	double started = cli_now();
	int rc;
	bool any_bad = false;

	b.check_opts = check_defaults;
	b.limits = limits;
	a.threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if ((rc = parse_batch_args(&b, &a, argc, argv)) >= 0 ||
	    (rc = cli_load_rules(&b.rules, &a.rules)) >= 0)
		goto done;
	for (int i = 0; i < a.n_inputs; i++) {
		if (b.out && same_file(b.out, a.inputs[i])) {
			rc = cli_usage_error("batch",
					     "batch: the output %s is "
					     "one of the inputs",
					     b.out);
			goto done;
		}
		add_input(&b, a.inputs[i]);
	}
	if (b.n == 0) {
		rc = cli_error(NULL, "batch: no models found in the inputs");
		goto done;
	}
	/* a worker whose shard is empty has nothing to do: not a failure */
	select_jobs(&b, a.shard_k ? a.shard_k : 1, a.shard_n ? a.shard_n : 1);
	if (b.out && !b.zip_out && mkdir(b.out, 0777) != 0 && errno != EEXIST) {
		rc = cli_error(b.out, "cannot create the output folder: %s",
			       strerror(errno));
		goto done;
	}
	if (plan_order(&b) != 0) {
		rc = cli_error(NULL, "out of memory");
		goto done;
	}
	run_all(&b, a.threads);
	rc = write_outputs(&b, a.report);
	summary((a.report && !strcmp(a.report, "-")) || b.format < FORMAT_TEXT
			? stderr
			: stdout,
		&b, cli_now() - started);
	for (size_t i = 0; i < b.n; i++)
		any_bad |= !b.jobs[i].ok || b.jobs[i].failing > 0;
	if (rc == EXIT_OK && any_bad)
		rc = EXIT_FINDINGS;
done:
	for (size_t i = 0; i < b.n; i++)
		free_job(&b.jobs[i]);
	free(b.jobs);
	free(b.order);
	orx_rules_free(b.rules);
	return rc;
}
