/* Initialization schemes: what they resolve to, and filling tensors. */
#include "internal.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*** @@NAMES ***/

static const struct {
	orx_scheme scheme;
	const char *name;
} scheme_names[] = {
	{ORX_SCHEME_KEEP, "keep"},
	{ORX_SCHEME_ZEROS, "zeros"},
	{ORX_SCHEME_ONES, "ones"},
	{ORX_SCHEME_CONSTANT, "constant"},
	{ORX_SCHEME_NORMAL, "normal"},
	{ORX_SCHEME_TRUNC_NORMAL, "trunc_normal"},
	{ORX_SCHEME_UNIFORM, "uniform"},
	{ORX_SCHEME_XAVIER_UNIFORM, "xavier_uniform"},
	{ORX_SCHEME_XAVIER_NORMAL, "xavier_normal"},
	{ORX_SCHEME_XAVIER_TRUNC_NORMAL, "xavier_trunc_normal"},
	{ORX_SCHEME_HE_UNIFORM, "he_uniform"},
	{ORX_SCHEME_HE_NORMAL, "he_normal"},
	{ORX_SCHEME_HE_TRUNC_NORMAL, "he_trunc_normal"},
	{ORX_SCHEME_LECUN_UNIFORM, "lecun_uniform"},
	{ORX_SCHEME_LECUN_NORMAL, "lecun_normal"},
	{ORX_SCHEME_LECUN_TRUNC_NORMAL, "lecun_trunc_normal"},
	{ORX_SCHEME_ORTHOGONAL, "orthogonal"},
	{ORX_SCHEME_FORGET_BIAS, "forget_bias"},
	{ORX_SCHEME_PYTORCH_RECURRENT, "pytorch_recurrent"},
	{ORX_SCHEME_PYTORCH_BIAS, "pytorch_bias"},
	/* other names users know them by */
	{ORX_SCHEME_XAVIER_UNIFORM, "glorot_uniform"},
	{ORX_SCHEME_XAVIER_NORMAL, "glorot_normal"},
	{ORX_SCHEME_HE_UNIFORM, "kaiming_uniform"},
	{ORX_SCHEME_HE_NORMAL, "kaiming_normal"},
};

#define N_SCHEME_NAMES (sizeof(scheme_names) / sizeof(*scheme_names))

const char *orx_scheme_name(orx_scheme scheme)
{
	for (size_t i = 0; i < N_SCHEME_NAMES; i++)
		if (scheme_names[i].scheme == scheme)
			return scheme_names[i].name;
	return NULL;
}

int orx_scheme_from_name(orx_scheme *out, const char *name)
{
	for (size_t i = 0; i < N_SCHEME_NAMES; i++) {
		if (strcmp(scheme_names[i].name, name) == 0) {
			*out = scheme_names[i].scheme;
			return ORX_OK;
		}
	}
	return orx_fail(ORX_EINVALID, "unknown scheme '%s'", name);
}

int orx_scheme_is_scaling(orx_scheme scheme)
{
	return scheme >= ORX_SCHEME_XAVIER_UNIFORM &&
	       scheme <= ORX_SCHEME_LECUN_TRUNC_NORMAL;
}

int orx_gain(double *out, const char *name, double param)
{
	if (!strcmp(name, "linear") || !strcmp(name, "identity") ||
	    !strcmp(name, "conv") || !strcmp(name, "sigmoid"))
		*out = 1;
	else if (!strcmp(name, "tanh"))
		*out = 5.0 / 3;
	else if (!strcmp(name, "relu"))
		*out = sqrt(2.0);
	else if (!strcmp(name, "leaky_relu"))
		*out = sqrt(2 /
			    (1 + (isnan(param) ? ORX_LEAKY_RELU_ALPHA *
							 ORX_LEAKY_RELU_ALPHA
					       : param * param)));
	else if (!strcmp(name, "selu"))
		*out = 0.75;
	else if (!strcmp(name, "activation")) /* the layer's (the planner
						 resolves it); ReLU's here */
		*out = sqrt(2.0);
	else
		return orx_fail(ORX_EINVALID, "unknown gain '%s'", name);
	return ORX_OK;
}

void orx_init_params_scale(orx_init_params *p, double s)
{
	p->std *= s, p->low *= s, p->high *= s;
}

/*** @@RESOLVE: from a spec and fans to a distribution ***/

typedef enum { SHAPE_UNIFORM, SHAPE_NORMAL, SHAPE_TRUNC } shape;

/* Variance-scaling schemes: family default gain and mode, and shape. */
static bool variance_scaling(orx_scheme s, double *gain, orx_fan_mode *mode,
			     shape *sh)
{
	switch (s) {
	case ORX_SCHEME_XAVIER_UNIFORM:
	case ORX_SCHEME_XAVIER_NORMAL:
	case ORX_SCHEME_XAVIER_TRUNC_NORMAL:
		*gain = 1, *mode = ORX_MODE_FAN_AVG;
		break;
	case ORX_SCHEME_HE_UNIFORM:
	case ORX_SCHEME_HE_NORMAL:
	case ORX_SCHEME_HE_TRUNC_NORMAL:
		*gain = sqrt(2.0), *mode = ORX_MODE_FAN_IN;
		break;
	case ORX_SCHEME_LECUN_UNIFORM:
	case ORX_SCHEME_LECUN_NORMAL:
	case ORX_SCHEME_LECUN_TRUNC_NORMAL:
		*gain = 1, *mode = ORX_MODE_FAN_IN;
		break;
	default: return false;
	}
	*sh = s == ORX_SCHEME_XAVIER_UNIFORM || s == ORX_SCHEME_HE_UNIFORM ||
			      s == ORX_SCHEME_LECUN_UNIFORM
		      ? SHAPE_UNIFORM
	      : s == ORX_SCHEME_XAVIER_NORMAL || s == ORX_SCHEME_HE_NORMAL ||
			      s == ORX_SCHEME_LECUN_NORMAL
		      ? SHAPE_NORMAL
		      : SHAPE_TRUNC;
	return true;
}

/* A distribution of mean 0 and standard deviation std, in a shape. */
static void centered(orx_init_params *p, shape sh, double mean, double std)
{
	p->mean = mean;
	p->std = std;
	if (sh == SHAPE_UNIFORM) {
		p->dist = ORX_DIST_UNIFORM;
		p->low = mean - std * sqrt(3.0);
		p->high = mean + std * sqrt(3.0);
	} else if (sh == SHAPE_TRUNC) {
		p->dist = ORX_DIST_TRUNC_NORMAL;
		p->low = mean - 2 * std / ORX_TRUNC_STD;
		p->high = mean + 2 * std / ORX_TRUNC_STD;
	} else {
		p->dist = ORX_DIST_NORMAL;
	}
}

static int resolve_scaling(orx_init_params *p, const orx_init_spec *spec,
			   int64_t fan_in, int64_t fan_out)
{
	double gain;
	orx_fan_mode mode;
	shape sh;

	variance_scaling(spec->scheme, &gain, &mode, &sh);
	if (spec->gain > 0)
		gain = spec->gain;
	if (spec->mode != ORX_MODE_DEFAULT)
		mode = spec->mode;
	p->fan = mode == ORX_MODE_FAN_IN    ? (double)fan_in
		 : mode == ORX_MODE_FAN_OUT ? (double)fan_out
					    : ((double)fan_in + fan_out) / 2;
	if (fan_in < 1 || fan_out < 1)
		return orx_fail(ORX_EINVALID,
				"fans must be at least 1 (fan_in "
				"%lld, fan_out %lld)",
				(long long)fan_in, (long long)fan_out);
	p->gain = gain;
	centered(p, sh, 0, gain / sqrt(p->fan));
	return ORX_OK;
}

static int resolve_orthogonal(orx_init_params *p, const orx_init_spec *spec,
			      const int64_t *dims, size_t ndim)
{
	int64_t rows, cols = 1;

	if (ndim < 2 || dims[0] < 1)
		return orx_fail(ORX_EINVALID, "orthogonal needs a tensor of 2 "
					      "or more dimensions");
	rows = dims[0];
	for (size_t i = 1; i < ndim; i++)
		cols *= dims[i];
	if (cols < 1)
		return orx_fail(ORX_EINVALID, "orthogonal of an empty tensor");
	p->dist = ORX_DIST_ORTHOGONAL;
	p->gain = spec->gain > 0 ? spec->gain : 1;
	p->std = p->gain / sqrt((double)(rows > cols ? rows : cols));
	return ORX_OK;
}

/* PyTorch's U(-1/sqrt(n), 1/sqrt(n)); ORX_EINVALID (why) without an n. */
static int inverse_root(orx_init_params *p, int64_t n, const char *why)
{
	if (n < 1)
		return orx_fail(ORX_EINVALID, "%s", why);
	p->dist = ORX_DIST_UNIFORM;
	p->high = 1 / sqrt((double)n);
	p->low = -p->high;
	p->std = p->high / sqrt(3.0);
	return ORX_OK;
}

/* The schemes whose spread does not follow the fans: constants, normal,
 * uniform, the recurrent biases and PyTorch's recurrent default. */
static int resolve_fixed(orx_init_params *p, const orx_init_spec *spec,
			 int64_t fan_in, int64_t fan_out)
{
	switch (spec->scheme) {
	case ORX_SCHEME_KEEP: p->dist = ORX_DIST_KEEP; return ORX_OK;
	case ORX_SCHEME_ZEROS:
	case ORX_SCHEME_ONES:
	case ORX_SCHEME_CONSTANT:
		p->dist = ORX_DIST_CONSTANT;
		p->value = spec->scheme == ORX_SCHEME_ZEROS  ? 0
			   : spec->scheme == ORX_SCHEME_ONES ? 1
							     : spec->value;
		p->mean = p->value;
		return ORX_OK;
	case ORX_SCHEME_NORMAL:
	case ORX_SCHEME_TRUNC_NORMAL:
		if (!(spec->std >= 0))
			return orx_fail(ORX_EINVALID, "std must be >= 0");
		centered(p,
			 spec->scheme == ORX_SCHEME_NORMAL ? SHAPE_NORMAL
							   : SHAPE_TRUNC,
			 spec->mean, spec->std);
		return ORX_OK;
	case ORX_SCHEME_UNIFORM:
		if (!(spec->low <= spec->high))
			return orx_fail(ORX_EINVALID,
					"uniform needs low <= high");
		p->dist = ORX_DIST_UNIFORM;
		p->low = spec->low, p->high = spec->high;
		p->mean = (p->low + p->high) / 2;
		p->std = (p->high - p->low) / sqrt(12.0);
		return ORX_OK;
	case ORX_SCHEME_FORGET_BIAS: /* the input part; the planner makes the
					recurrent one 0 */
		p->dist = ORX_DIST_CONSTANT;
		p->value = p->mean = spec->value;
		return ORX_OK;
	case ORX_SCHEME_PYTORCH_RECURRENT:
		return inverse_root(p, fan_out,
				    "pytorch_recurrent needs the "
				    "hidden size");
	case ORX_SCHEME_PYTORCH_BIAS:
		p->fan = (double)fan_in;
		return inverse_root(p, fan_in,
				    "pytorch_bias needs its layer's "
				    "fan_in");
	default:
		return orx_fail(ORX_EINVALID, "unknown scheme %d",
				(int)spec->scheme);
	}
}

int orx_init_resolve(orx_init_params *out, const orx_init_spec *spec,
		     int64_t fan_in, int64_t fan_out, const int64_t *dims,
		     size_t ndim)
{
	orx_init_params p = {0};
	double g;
	orx_fan_mode m;
	shape sh;
	int rc;

	p.gain = 1;
	if (variance_scaling(spec->scheme, &g, &m, &sh))
		rc = resolve_scaling(&p, spec, fan_in, fan_out);
	else if (spec->scheme == ORX_SCHEME_ORTHOGONAL)
		rc = resolve_orthogonal(&p, spec, dims, ndim);
	else
		rc = resolve_fixed(&p, spec, fan_in, fan_out);
	if (rc == ORX_OK)
		*out = p;
	return rc;
}

/*** @@FILL ***/

/* Values are made in chunks small enough to stay in L1 and handed to the
 * store function, which converts them into the tensor's own buffer. */
#define CHUNK 512

static void affine(double *v, size_t n, double offset, double scale)
{
	for (size_t k = 0; k < n; k++)
		v[k] = offset + scale * v[k];
}

static void chunk_values(double *v, size_t n, const orx_init_params *p,
			 orx_rng *r)
{
	switch (p->dist) {
	case ORX_DIST_UNIFORM:
		orx_rng_fill_uniform(v, n, r);
		affine(v, n, p->low, p->high - p->low);
		break;
	case ORX_DIST_NORMAL:
		orx_rng_fill_normal(v, n, r);
		affine(v, n, p->mean, p->std);
		break;
	case ORX_DIST_TRUNC_NORMAL:
		orx_rng_fill_trunc_normal(v, n, r);
		affine(v, n, p->mean, p->std / ORX_TRUNC_STD);
		break;
	default: /* ORX_DIST_CONSTANT */
		for (size_t k = 0; k < n; k++)
			v[k] = p->value;
		break;
	}
}

/* Block b (elements b * ORX_RNG_BLOCK onward) from its own stream
 * position, chunk by chunk. */
static void fill_block(void *base, size_t origin, orx_store_fn store,
		       size_t first, size_t len, const orx_init_params *p,
		       uint64_t key)
{
	double v[CHUNK];
	orx_rng r;

	orx_rng_block(&r, key, first / ORX_RNG_BLOCK);
	for (size_t done = 0; done < len; done += CHUNK) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;
		chunk_values(v, n, p, &r);
		store(base, first + done - origin, v, n);
	}
}

int orx_init_fill_range(void *base, orx_store_fn store, size_t n, size_t first,
			size_t count, const orx_init_params *p, uint64_t key)
{
	assert(first % ORX_RNG_BLOCK == 0);
	if (p->dist == ORX_DIST_KEEP || p->dist == ORX_DIST_ORTHOGONAL)
		return orx_fail(ORX_EUNSUPPORTED, "no partial fill for this "
						  "distribution");
	orx_rng_prepare();
	if (count > n - first)
		count = n - first;
	for (size_t at = first; at < first + count; at += ORX_RNG_BLOCK) {
		size_t len = first + count - at;
		fill_block(base, first, store, at,
			   len < ORX_RNG_BLOCK ? len : ORX_RNG_BLOCK, p, key);
	}
	return ORX_OK;
}

static void store_f64(void *base, size_t offset, const double *v, size_t n)
{
	memcpy((double *)base + offset, v, n * sizeof(double));
}

/*** @@THREADS: large tensors split across threads ***/

size_t orx_thread_count(unsigned threads)
{
	long n = threads > 0 ? (long)threads : sysconf(_SC_NPROCESSORS_ONLN);

	return (size_t)(n < 1 ? 1 : n > ORX_MAX_THREADS ? ORX_MAX_THREADS : n);
}

void orx_run_parallel(size_t n, void *(*fn)(void *), void *args, size_t stride)
{
	pthread_t t[ORX_MAX_THREADS];
	bool started[ORX_MAX_THREADS] = {false};

	if (n > ORX_MAX_THREADS)
		n = ORX_MAX_THREADS;
	for (size_t k = 1; k < n; k++)
		started[k] = pthread_create(&t[k], NULL, fn,
					    (char *)args + k * stride) == 0;
	fn(args);
	for (size_t k = 1; k < n; k++) {
		if (started[k])
			pthread_join(t[k], NULL);
		else
			fn((char *)args + k * stride); /* no thread: here */
	}
}

/* A unit of work: one RNG block of a job, or a whole orthogonal job. */
typedef struct {
	size_t job;
	size_t first; /* WHOLE: the whole job at once */
} fill_unit;

#define WHOLE SIZE_MAX

typedef struct {
	const orx_fill_job *jobs;
	const fill_unit *units;
	size_t n_units;
	atomic_size_t next;
	pthread_mutex_t lock;
	int rc;
	char msg[512];
	orx_progress *progress; /* the starting thread's */
} fill_pool;

static int fill_whole(const orx_fill_job *j)
{
	double *tmp;
	int rc;

	if (!(tmp = malloc(j->n * sizeof(double) + 1)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	rc = orx_orthogonal_fill(tmp, j->n, j->p, j->key, j->dims, j->ndim);
	if (rc == ORX_OK)
		j->store(j->base, 0, tmp, j->n);
	free(tmp);
	return rc;
}

/* Units taken in turn until none is left; the first failure is kept
 * with its message (errors are per thread). */
static void *fill_pool_run(void *arg)
{
	fill_pool *pool = arg;
	size_t u;

	while ((u = atomic_fetch_add(&pool->next, 1)) < pool->n_units) {
		const orx_fill_job *j = &pool->jobs[pool->units[u].job];
		size_t first = pool->units[u].first, len;
		int rc = ORX_OK;

		if (first == WHOLE) {
			rc = fill_whole(j);
			len = j->n;
		} else {
			len = j->n - first;
			len = len < ORX_RNG_BLOCK ? len : ORX_RNG_BLOCK;
			fill_block(j->base, 0, j->store, first, len, j->p,
				   j->key);
		}
		orx_progress_add(pool->progress, len);
		if (rc != ORX_OK) {
			pthread_mutex_lock(&pool->lock);
			if (pool->rc == ORX_OK) {
				pool->rc = rc;
				snprintf(pool->msg, sizeof(pool->msg), "%s",
					 orx_error_last());
			}
			pthread_mutex_unlock(&pool->lock);
		}
	}
	return NULL;
}

/* Whole (orthogonal) jobs first, as they are the longest; then every
 * block of every other job in order. */
static fill_unit *make_units(const orx_fill_job *jobs, size_t n_jobs,
			     size_t *n_units, size_t *elements)
{
	size_t n = 0, k = 0;
	fill_unit *u;

	*elements = 0;
	for (size_t i = 0; i < n_jobs; i++) {
		if (jobs[i].p->dist == ORX_DIST_KEEP)
			continue;
		n += jobs[i].p->dist == ORX_DIST_ORTHOGONAL
			     ? 1
			     : (jobs[i].n + ORX_RNG_BLOCK - 1) / ORX_RNG_BLOCK;
		*elements += jobs[i].n;
	}
	if (!(u = malloc(n * sizeof(*u) + 1)))
		return NULL;
	for (size_t i = 0; i < n_jobs; i++)
		if (jobs[i].p->dist == ORX_DIST_ORTHOGONAL)
			u[k++] = (fill_unit){i, WHOLE};
	for (size_t i = 0; i < n_jobs; i++) {
		if (jobs[i].p->dist == ORX_DIST_KEEP ||
		    jobs[i].p->dist == ORX_DIST_ORTHOGONAL)
			continue;
		for (size_t at = 0; at < jobs[i].n; at += ORX_RNG_BLOCK)
			u[k++] = (fill_unit){i, at};
	}
	*n_units = n;
	return u;
}

/* Blocks are independent, so the bytes do not depend on the threads. */
int orx_init_fill_jobs(const orx_fill_job *jobs, size_t n_jobs,
		       unsigned threads_wanted)
{
	fill_pool pool = {
		.jobs = jobs, .rc = ORX_OK, .progress = orx_progress_current()};
	size_t elements, threads = orx_thread_count(threads_wanted);
	fill_unit *units;

	if (!(units = make_units(jobs, n_jobs, &pool.n_units, &elements)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	pool.units = units;
	atomic_init(&pool.next, 0);
	pthread_mutex_init(&pool.lock, NULL);
	orx_rng_prepare();
	if (threads > pool.n_units)
		threads = pool.n_units;
	if (elements < 4 * ORX_RNG_BLOCK) /* little work: not worth a thread */
		threads = 1;
	orx_run_parallel(threads, fill_pool_run, &pool, 0);
	pthread_mutex_destroy(&pool.lock);
	free(units);
	return pool.rc == ORX_OK ? ORX_OK : orx_fail(pool.rc, "%s", pool.msg);
}

int orx_init_fill_store(void *base, orx_store_fn store, size_t n,
			const orx_init_params *p, uint64_t key,
			const int64_t *dims, size_t ndim)
{
	orx_fill_job job = {base, store, n, p, key, dims, ndim};

	return orx_init_fill_jobs(&job, 1, 0);
}

int orx_init_fill(double *out, size_t n, const orx_init_params *p, uint64_t key,
		  const int64_t *dims, size_t ndim)
{
	return orx_init_fill_store(out, store_f64, n, p, key, dims, ndim);
}

/*** @@ORTHOGONAL: QR of a normal matrix, by LAPACK ***/

void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau,
	     double *work, const int *lwork, int *info);
void dorgqr_(const int *m, const int *n, const int *k, double *a,
	     const int *lda, const double *tau, double *work, const int *lwork,
	     int *info);

/* Q of the QR factorization of the m x k column-major matrix a (m >= k),
 * in place, with the column signs of diag(R) folded in (as PyTorch
 * does, so that Q is uniformly distributed). */
static int orthonormalize(double *a, int m, int k)
{
	double *tau = malloc((size_t)k * sizeof(double)), *sign = NULL,
	       *work = NULL, query;
	int lwork = -1, info = 0, rc = ORX_OK;

	sign = malloc((size_t)k * sizeof(double));
	if (!tau || !sign) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto done;
	}
	dgeqrf_(&m, &k, a, &m, tau, &query, &lwork, &info);
	lwork = (int)query + k;
	if (!(work = malloc((size_t)lwork * sizeof(double)))) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto done;
	}
	dgeqrf_(&m, &k, a, &m, tau, work, &lwork, &info);
	for (int j = 0; j < k && info == 0; j++)
		sign[j] = a[j + (size_t)j * m] < 0 ? -1 : 1;
	if (info == 0)
		dorgqr_(&m, &k, &k, a, &m, tau, work, &lwork, &info);
	if (info != 0) {
		rc = orx_fail(ORX_EUNSUPPORTED, "LAPACK QR failed (info %d)",
			      info);
		goto done;
	}
	for (int j = 0; j < k; j++)
		for (int i = 0; i < m; i++)
			a[i + (size_t)j * m] *= sign[j];
done:
	free(tau);
	free(sign);
	free(work);
	return rc;
}

int orx_orthogonal_fill(double *out, size_t n, const orx_init_params *p,
			uint64_t key, const int64_t *dims, size_t ndim)
{
	orx_init_params normal = {.dist = ORX_DIST_NORMAL, .std = 1};
	size_t rows = (size_t)dims[0], cols = n / rows, m, k;
	double *a;
	int rc;

	m = rows > cols ? rows : cols;
	k = rows > cols ? cols : rows;
	if (m > INT32_MAX || k > INT32_MAX)
		return orx_fail(ORX_EUNSUPPORTED, "matrix too large for "
						  "orthogonal");
	if (!(a = malloc(n * sizeof(double))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	orx_init_fill(a, n, &normal, key, dims, ndim);
	rc = orthonormalize(a, (int)m, (int)k);
	for (size_t r = 0; r < rows && rc == ORX_OK; r++)
		for (size_t c = 0; c < cols; c++)
			out[r * cols + c] =
				p->gain *
				(rows >= cols ? a[r + c * m] : a[c + r * m]);
	free(a);
	return rc;
}
