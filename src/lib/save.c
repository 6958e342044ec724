/* Saving a model: its bytes packed by protobuf-c into the output file,
 * the values of re-initialized tensors made on the way (straight into
 * the mapped output's pages, or a slice at a time to the descriptor), or
 * into a buffer. orx_model_save (extsave.c) places tensors in data files
 * first, when there are any. */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*** @@FD: packed to a descriptor ***/

/* Deferred tensors met while packing: initializers are packed in order,
 * each raw_data appended from its own pointer, so the bytes appended are
 * those of the next pending inline tensor when the pointers agree. */
typedef struct {
	const orx_model *m;
	size_t next; /* the next initializer that may be deferred */
	size_t made; /* deferred tensors met */
} deferred_cursor;

/* Whether data is the raw_data of the next deferred tensor; if so, its
 * index goes to *i and the cursor moves past it. */
static bool deferred_next(deferred_cursor *c, const uint8_t *data, size_t *i)
{
	const Onnx__GraphProto *g = c->m->proto->graph;

	while (c->next < g->n_initializer &&
	       !(c->m->pending && c->m->pending[c->next].set &&
		 g->initializer[c->next]->has_raw_data))
		c->next++;
	if (c->next >= g->n_initializer ||
	    data != g->initializer[c->next]->raw_data.data)
		return false;
	*i = c->next++;
	c->made++;
	return true;
}

/* Deferred inline tensors (those in data files are not packed). */
static size_t deferred(const orx_model *m)
{
	const Onnx__GraphProto *g = m->proto->graph;
	size_t n = 0;

	for (size_t i = 0; m->pending && i < orx_main_initializers(m); i++)
		n += m->pending[i].set && g->initializer[i]->has_raw_data;
	return n;
}

typedef struct {
	ProtobufCBuffer base;
	int fd;
	int error;		/* errno of the first failed write */
	int rc;			/* the first failure making values */
	deferred_cursor values; /* m NULL: no values to make */
	const orx_model *src;	/* kept bytes may be copied from its file */
	size_t used;
	uint8_t buf[1 << 20];
} fd_buffer;

static void fd_write(fd_buffer *b, const uint8_t *data, size_t n);

static void fd_flush(fd_buffer *b)
{
	fd_write(b, b->buf, b->used);
	b->used = 0;
}

/* Write n bytes at data straight to the file. */
static void fd_write(fd_buffer *b, const uint8_t *data, size_t n)
{
	if (!b->error)
		b->error = orx_write_all(b->fd, data, n);
}

static int put_fd(void *ctx, const uint8_t *bytes, size_t len, uint64_t at)
{
	fd_buffer *b = ctx;

	(void)at; /* in order */
	fd_write(b, bytes, len);
	return b->error ? orx_fail(ORX_EIO, "cannot write: %s",
				   strerror(b->error))
			: ORX_OK;
}

enum { COPY_MIN = 64 << 10 };

/* Bytes of the model's own file, unchanged, copied file to file by the
 * kernel as cp does (no pass through this process's memory); false when
 * they cannot be (not from the file, changed, or a file system without
 * copy_file_range), after which nothing was written. */
static bool copy_from_source(fd_buffer *b, const uint8_t *data, size_t len)
{
#if ORX_HAVE_COPY_FILE_RANGE
	const orx_model *m = b->src;
	loff_t at;
	size_t done = 0;

	if (!m || m->backing_fd < 0 || m->cache->backing_changed ||
	    len < COPY_MIN || data < m->backing ||
	    data + len > m->backing + m->backing_len)
		return false;
	at = (loff_t)(data - m->backing);
	fd_flush(b);
	while (done < len && !b->error) {
		ssize_t n = copy_file_range(m->backing_fd, &at, b->fd, NULL,
					    len - done, 0);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (done == 0) {
			return false; /* EXDEV, EINVAL, ENOSYS...: write it */
		} else {
			fd_write(b, data + done, len - done); /* the rest */
			done = len;
		}
	}
	return true;
#else
	(void)b, (void)data, (void)len;
	return false; /* written from memory */
#endif
}

static void fd_append(ProtobufCBuffer *base, size_t len, const uint8_t *data)
{
	fd_buffer *b = (fd_buffer *)base;
	size_t i;

	if (b->values.m && deferred_next(&b->values, data, &i)) {
		fd_flush(
			b); /* values made a slice at a time, written in turn */
		if (b->rc == ORX_OK)
			b->rc = orx_values_stream(b->values.m, i, put_fd, b);
		return;
	}
	if (copy_from_source(b, data, len))
		return;
	if (len >= sizeof(b->buf) / 4) { /* a tensor: no copy on the way */
		fd_flush(b);
		fd_write(b, data, len);
		return;
	}
	while (len > 0 && !b->error) {
		size_t n = sizeof(b->buf) - b->used;
		if (n > len)
			n = len;
		memcpy(b->buf + b->used, data, n);
		b->used += n;
		data += n;
		len -= n;
		if (b->used == sizeof(b->buf))
			fd_flush(b);
	}
}

/* Pack the model into fd, its deferred values made on the way (when
 * values is set): *met tells how many were met. */
static int pack_to_fd(const orx_model *m, int fd, bool values, size_t *met)
{
	fd_buffer *b = malloc(sizeof(*b));
	int rc = ORX_OK;

	if (!b)
		return orx_fail(ORX_ENOMEM, "out of memory");
	b->base.append = fd_append;
	b->fd = fd;
	b->error = 0;
	b->rc = ORX_OK;
	b->values = (deferred_cursor){values ? m : NULL, 0, 0};
	b->src = m;
	b->used = 0;
	protobuf_c_message_pack_to_buffer(&m->proto->base, &b->base);
	fd_flush(b);
	if (b->error)
		rc = orx_fail(ORX_EIO, "cannot write: %s", strerror(b->error));
	else
		rc = b->rc;
	*met = b->values.made;
	free(b);
	return rc;
}

/*** @@MAPPED: the output file mapped, values made right into it ***/

/* Packing into the mapped output: bytes are copied in, except a deferred
 * tensor's raw_data, whose values are made straight into the file's
 * pages (no copy in memory, no copy into the page cache). */
typedef struct {
	ProtobufCBuffer base;
	const orx_model *m;
	uint8_t *map;
	size_t size, at;
	deferred_cursor values; /* the jobs of those met in jobs */
	orx_fill_job *jobs;
	int rc;
} map_buffer;

static void map_append(ProtobufCBuffer *base, size_t len, const uint8_t *data)
{
	map_buffer *b = (map_buffer *)base;
	size_t i;

	if (len > b->size - b->at) {
		b->rc = orx_fail(ORX_EIO,
				 "the model grew while it was written");
		return;
	}
	if (deferred_next(&b->values, data, &i)) {
		int rc = orx_fill_job_of(&b->jobs[b->values.made - 1],
					 b->map + b->at, b->m, i);
		b->rc = b->rc == ORX_OK ? rc : b->rc;
	} else if (len) { /* an empty field's data may be NULL */
		memcpy(b->map + b->at, data, len);
	}
	b->at += len;
}

typedef struct {
	uint8_t *map;
	size_t size;
	atomic_size_t next; /* the next chunk to populate */
} pages;

enum { POPULATE_CHUNK = 4 << 20 };

#if ORX_HAVE_MADV_POPULATE_WRITE
static void *populate_run(void *arg)
{
	pages *p = arg;
	size_t at;

	while ((at = atomic_fetch_add(&p->next, POPULATE_CHUNK)) < p->size)
		(void)madvise(p->map + at,
			      p->size - at < POPULATE_CHUNK ? p->size - at
							    : POPULATE_CHUNK,
			      MADV_POPULATE_WRITE);
	return NULL;
}

/* The mapped file's pages made, zeroed and writable up front, in chunks
 * shared among the threads: faulting them in while writing is serial in
 * the packer and contended between the fillers, and it took twice as
 * long. Where the kernel cannot (before 5.14), the writes fault them in
 * as before. */
static void populate(uint8_t *map, size_t size, unsigned threads)
{
	pages p = {map, size, 0};

	atomic_init(&p.next, 0);
	orx_run_parallel(orx_thread_count(threads), populate_run, &p, 0);
}
#else
static void populate(uint8_t *map, size_t size, unsigned threads)
{
	(void)map, (void)size, (void)threads; /* the writes fault them in */
}
#endif

/* The whole model packed into fd through a shared mapping, its values
 * made by threads threads. */
static int pack_mapped(const orx_model *m, int fd, unsigned threads)
{
	size_t size = onnx__model_proto__get_packed_size(m->proto);
	map_buffer b = {{NULL}, m, NULL, size, 0, {m, 0, 0}, NULL, ORX_OK};
	int err;

	if (size == 0 || !ORX_HAVE_POSIX_FALLOCATE)
		return ORX_EUNSUPPORTED;
	if (!(b.jobs = malloc(orx_main_initializers(m) * sizeof(*b.jobs) + 1)))
		return orx_fail(ORX_ENOMEM, "out of memory");
		/* reserve the blocks: no SIGBUS on a full disk while writing */
#if ORX_HAVE_POSIX_FALLOCATE
	err = posix_fallocate(fd, 0, (off_t)size);
#else
	err = ENOSYS;
#endif
	if (err != 0) {
		free(b.jobs);
		return err == ENOSPC ? orx_fail(ORX_EIO, "cannot write: %s",
						strerror(err))
				     : ORX_EUNSUPPORTED;
	}
	b.map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b.map == MAP_FAILED) {
		free(b.jobs);
		return ORX_EUNSUPPORTED;
	}
	populate(b.map, size, threads);
	b.base.append = map_append;
	protobuf_c_message_pack_to_buffer(&m->proto->base, &b.base);
	/* then the values, every tensor's blocks shared among the threads */
	if (b.rc == ORX_OK && b.values.made == deferred(m))
		b.rc = orx_init_fill_jobs(b.jobs, b.values.made, threads);
	free(b.jobs);
	munmap(b.map, size);
	if (b.rc == ORX_OK && b.at != size)
		b.rc = orx_fail(ORX_EIO, "wrote %zu bytes of %zu", b.at, size);
	/* every deferred tensor must have been met in packing order, else
	 * the file holds old values: then write it the ordinary way */
	if (b.rc == ORX_OK && b.values.made != deferred(m))
		return ftruncate(fd, 0) == 0
			       ? ORX_EUNSUPPORTED
			       : orx_fail(ORX_EIO, "cannot write: %s",
					  strerror(errno));
	return b.rc;
}

/* fd emptied, to be written again from the start. */
static int rewind_fd(int fd)
{
	if (lseek(fd, 0, SEEK_SET) < 0 || ftruncate(fd, 0) != 0)
		return orx_fail(ORX_EIO, "cannot write: %s", strerror(errno));
	return ORX_OK;
}

/* What write_model writes: a model, its values made by threads. */
typedef struct {
	const orx_model *m;
	unsigned threads;
} saving;

static int write_model(int fd, const void *ctx)
{
	const saving *sv = ctx;
	const orx_model *m = sv->m;
	size_t met = 0;
	int rc;

	/* mapped output pays off for one model at a time (measured on
	 * ResNet-50 even when only its last layer is new); with one thread
	 * (batch: a model per thread) unmapping would stall the others */
	if (fd != STDOUT_FILENO && deferred(m) > 0 && sv->threads != 1 &&
	    (rc = pack_mapped(m, fd, sv->threads)) != ORX_EUNSUPPORTED)
		return rc;
	if (fd != STDOUT_FILENO && deferred(m) > 0) {
		/* values made a slice at a time as their turn comes */
		if ((rc = rewind_fd(fd)) != ORX_OK ||
		    (rc = pack_to_fd(m, fd, true, &met)) != ORX_OK ||
		    met == deferred(m))
			return rc;
	}
	/* standard output, or a deferred tensor not met in packing order:
	 * the values made in the tensors first */
	if (fd != STDOUT_FILENO && (rc = rewind_fd(fd)) != ORX_OK)
		return rc;
	if ((rc = orx_materialize_all(m, sv->threads)) != ORX_OK)
		return rc;
	return pack_to_fd(m, fd, false, &met);
}

int orx_model_save_plain(const orx_model *model, const char *path,
			 unsigned threads)
{
	saving sv = {model, threads};

	return orx_save_with(path, write_model, &sv);
}

int orx_model_save_buffer(uint8_t **out, size_t *len, const orx_model *model,
			  const orx_save_options *opts)
{
	const orx_save_options defaults = ORX_SAVE_OPTIONS_INIT;
	int rc;

	if (!(opts = orx_options_checked(opts, &defaults,
					 ORX_SAVE_OPTIONS_VERSION,
					 "orx_save_options")))
		return ORX_EINVALID;
	if (opts->mode != ORX_DATA_KEEP)
		return orx_fail(ORX_EUNSUPPORTED,
				"a buffer keeps the model's data files as they "
				"are: save to a file to embed or move them");
	if ((rc = orx_materialize_all(model, opts->threads)) != ORX_OK)
		return rc;
	for (size_t i = 0; model->pending && i < orx_value_count(model); i++)
		if (model->pending[i].set)
			return orx_fail(ORX_EUNSUPPORTED,
					"tensors in external "
					"data were "
					"re-initialized: save "
					"to a file");
	size_t n = onnx__model_proto__get_packed_size(model->proto);
	uint8_t *buf = malloc(n ? n : 1);

	if (!buf)
		return orx_fail(ORX_ENOMEM, "out of memory");
	*len = onnx__model_proto__pack(model->proto, buf);
	*out = buf;
	return ORX_OK;
}
