/* orx_model_save: a model whose tensors are (or are to be) in data
 * files has every tensor placed (inline, or at a 4 KiB-aligned offset of
 * a data file beside the output), the data files streamed tensor by
 * tensor, then the model packed (save.c); any other goes to save.c at
 * once. */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALIGN 4096
#define MAX_MESSAGE ((uint64_t)INT32_MAX) /* protobuf's 2 GiB */

typedef struct {
	const char *location; /* in the output; NULL: inline */
	uint64_t offset, length;
} place;

typedef struct {
	orx_model *m;
	place *pl;
	const char *location; /* the data file being written */
} data_ctx;

/* Value i of the model (values.c): an initializer of any graph or a
 * Constant's tensor. */
static Onnx__TensorProto *tensor(const orx_model *m, size_t i)
{
	return orx_value_tensor(m, i);
}

static bool is_external(const orx_model *m, size_t i)
{
	return orx_tensor_proto_storage(tensor(m, i)) == ORX_STORAGE_EXTERNAL;
}

static bool is_pending(const orx_model *m, size_t i)
{
	return m->pending && m->pending[i].set;
}

static uint64_t nbytes(const Onnx__TensorProto *t)
{
	uint64_t n = 0;

	orx_tensor_proto_count(&n, t);
	return orx_dtype_nbytes(t->data_type, n);
}

/*** @@PLACE: where each tensor goes ***/

/* Whether --external may move tensor i into a data file: the main
 * graph's initializers (a tensor that is in one already may be of any
 * graph or a Constant's, and stays in one). */
static bool movable(const orx_model *m, size_t i)
{
	return i < orx_main_initializers(m) || is_external(m, i);
}

/* Is tensor i the first placed in its data file? */
static bool first_of_location(const place *pl, size_t i)
{
	if (!pl[i].location)
		return false;
	for (size_t k = 0; k < i; k++)
		if (pl[k].location && !strcmp(pl[k].location, pl[i].location))
			return false;
	return true;
}

static int place_all(place *pl, const orx_model *m, const orx_save_options *o)
{
	size_t n = orx_value_count(m);
	orx_ext_ref ref;

	for (size_t i = 0; i < n; i++) {
		const Onnx__TensorProto *t = tensor(m, i);
		bool ext = is_external(m, i);
		pl[i] = (place){NULL, 0, nbytes(t)};
		if (o->mode == ORX_DATA_KEEP && ext) {
			if (orx_external_ref(&ref, t) != ORX_OK)
				return ORX_EINVALID;
			pl[i].location = ref.location;
		} else if (o->mode == ORX_DATA_EXTERNAL && movable(m, i) &&
			   (ext || t->has_raw_data) &&
			   pl[i].length > o->threshold && !t->segment) {
			pl[i].location = o->external_file;
		}
	}
	/* offsets: per data file, in initializer order, aligned */
	for (size_t i = 0; i < n; i++) {
		uint64_t cursor = 0;
		if (!first_of_location(pl, i))
			continue;
		for (size_t k = i; k < n; k++) {
			if (!pl[k].location ||
			    strcmp(pl[k].location, pl[i].location))
				continue;
			pl[k].offset = (cursor + ALIGN - 1) / ALIGN * ALIGN;
			cursor = pl[k].offset + pl[k].length;
		}
	}
	return ORX_OK;
}

/* Bytes that end up inline: must fit protobuf's 2 GiB. */
static int check_size(const orx_model *m, const place *pl)
{
	uint64_t total = onnx__model_proto__get_packed_size(m->proto);

	for (size_t i = 0; i < orx_value_count(m); i++)
		if (!pl[i].location && is_external(m, i))
			total += pl[i].length;
	if (total > MAX_MESSAGE)
		return orx_fail(ORX_EUNSUPPORTED,
				"the model would be %llu bytes "
				"with everything inline, past "
				"protobuf's 2 GiB: keep "
				"external data",
				(unsigned long long)total);
	return ORX_OK;
}

/*** @@BYTES: a tensor's bytes, wherever they come from ***/

static int pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = pwrite(fd, (const char *)buf + done, n - done,
				   (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return orx_fail(ORX_EIO, "cannot write: %s",
					strerror(errno));
		done += (size_t)w;
	}
	return ORX_OK;
}

/* Copy a tensor from its input data file to fd at off, in slices. */
static int copy_external(int fd, uint64_t off, const orx_model *m, size_t i)
{
	size_t slice = 8 << 20;
	uint8_t *buf = malloc(slice);
	orx_ext_ref ref;
	int in, rc;

	if (!buf)
		return orx_fail(ORX_ENOMEM, "out of memory");
	if ((rc = orx_external_open_data(&in, &ref, m, tensor(m, i))) ==
	    ORX_OK) {
		for (uint64_t k = 0; k < ref.length && rc == ORX_OK;
		     k += slice) {
			size_t len =
				ref.length - k < slice ? ref.length - k : slice;
			rc = orx_pread_all(in, buf, len, ref.offset + k);
			if (rc == ORX_OK)
				rc = pwrite_all(fd, buf, len, off + k);
		}
		close(in);
	}
	free(buf);
	return rc;
}

typedef struct {
	int fd;
	uint64_t off;
} file_at;

static int put_at(void *ctx, const uint8_t *bytes, size_t len, uint64_t at)
{
	file_at *f = ctx;

	return pwrite_all(f->fd, bytes, len, f->off + at);
}

/* One tensor's bytes to fd at off: made, copied, or from raw_data. */
static int put_tensor(int fd, uint64_t off, const orx_model *m, size_t i,
		      uint64_t len)
{
	file_at f = {fd, off};

	if (is_pending(m, i))
		return orx_values_stream(m, i, put_at, &f);
	if (is_external(m, i))
		return copy_external(fd, off, m, i);
	return pwrite_all(fd, tensor(m, i)->raw_data.data, len, off);
}

static int write_data_file(int fd, const void *arg)
{
	const data_ctx *c = arg;
	int rc = ORX_OK;

	for (size_t i = 0; i < orx_value_count(c->m) && rc == ORX_OK; i++)
		if (c->pl[i].location &&
		    !strcmp(c->pl[i].location, c->location))
			rc = put_tensor(fd, c->pl[i].offset, c->m, i,
					c->pl[i].length);
	return rc;
}

/*** @@FILES: the data files, then the model ***/

static char *join(const char *dir, const char *rel)
{
	char *p = NULL;

	return asprintf(&p, "%s/%s", dir, rel) < 0 ? NULL : p;
}

/* The input's data files, each opened once: what an output must not be. */
typedef struct {
	const char *location;
	dev_t dev;
	ino_t ino;
} input_file;

static int input_files(input_file **out, size_t *n, const orx_model *m)
{
	input_file *f = calloc(orx_value_count(m) + 1, sizeof(*f));
	struct stat st;
	orx_ext_ref ref;
	int fd;

	if (!f)
		return orx_fail(ORX_ENOMEM, "out of memory");
	*n = 0;
	for (size_t i = 0; i < orx_value_count(m); i++) {
		size_t k = 0;
		if (!is_external(m, i) || orx_external_ref(&ref, tensor(m, i)))
			continue;
		while (k < *n && strcmp(f[k].location, ref.location))
			k++;
		if (k < *n || orx_external_open(&fd, &ref, m, tensor(m, i)))
			continue; /* known already, or unreadable: not ours */
		if (fstat(fd, &st) == 0)
			f[(*n)++] = (input_file){ref.location, st.st_dev,
						 st.st_ino};
		close(fd);
	}
	*out = f;
	return ORX_OK;
}

/* Is out_path one of the input's data files? */
static bool is_input(const input_file *in, size_t n, const char *out_path)
{
	struct stat out;

	if (stat(out_path, &out) != 0)
		return false; /* a new file */
	for (size_t k = 0; k < n; k++)
		if (in[k].dev == out.st_dev && in[k].ino == out.st_ino)
			return true;
	return false;
}

/* A data file of the output named after it (OUT.data, then OUT.1.data,
 * ...) that is none of the input's, in m's arena: for an output written
 * beside its input, whose data file would otherwise be the input's. */
static char *renamed_location(orx_model *m, const input_file *in, size_t n,
			      const char *out_dir, const char *out_path,
			      const place *pl)
{
	const char *base =
		strrchr(out_path, '/') ? strrchr(out_path, '/') + 1 : out_path;

	for (unsigned k = 0; k < 1000; k++) {
		char *loc =
			k ? orx_arena_printf(m->arena, "%s.%u.data", base, k)
			  : orx_arena_printf(m->arena, "%s.data", base);
		char *path = loc ? join(out_dir, loc) : NULL;
		bool taken = path && is_input(in, n, path);
		for (size_t i = 0; loc && !taken && i < orx_value_count(m); i++)
			taken = pl[i].location && !strcmp(pl[i].location, loc);
		free(path);
		if (!loc || !taken)
			return loc;
	}
	return NULL;
}

static int make_parents(const char *path)
{
	char buf[PATH_MAX];

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return orx_fail(ORX_EIO, "path too long");
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return orx_fail(ORX_EIO, "cannot create '%s': %s", buf,
					strerror(errno));
		*p = '/';
	}
	return ORX_OK;
}

/* Each data file of the output, written whole; one that would be a data
 * file of the input (an output beside its input) is named after the
 * output instead: the input's files are never written. */
static int write_data_files(orx_model *m, place *pl, const char *out_dir,
			    const char *out_path)
{
	size_t n = orx_value_count(m), n_in = 0;
	input_file *in = NULL;
	int rc = input_files(&in, &n_in, m);

	for (size_t i = 0; i < n && rc == ORX_OK; i++) {
		char *path;
		if (!first_of_location(pl, i))
			continue;
		if (!(path = join(out_dir, pl[i].location))) {
			rc = orx_fail(ORX_ENOMEM, "out of memory");
			break;
		}
		if (is_input(in, n_in, path)) {
			const char *was = pl[i].location;
			char *loc = renamed_location(m, in, n_in, out_dir,
						     out_path, pl);
			free(path);
			if (!loc || !(path = join(out_dir, loc))) {
				rc = orx_fail(ORX_ENOMEM, "out of memory");
				break;
			}
			for (size_t k = i; k < n; k++)
				if (pl[k].location &&
				    !strcmp(pl[k].location, was))
					pl[k].location = loc;
		}
		data_ctx c = {m, pl, pl[i].location};
		if ((rc = make_parents(path)) == ORX_OK)
			rc = orx_save_with(path, write_data_file, &c);
		free(path);
	}
	free(in);
	return rc;
}

/*** @@PROTO: the tensors' new fields ***/

/* The proto's memory belongs to the model's arena: fields are replaced,
 * never freed one by one. */
static void clear_external(Onnx__TensorProto *t)
{
	t->external_data = NULL;
	t->n_external_data = 0;
	t->has_data_location = 0;
	t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT;
}

static Onnx__StringStringEntryProto *kv(orx_arena *a, const char *key,
					const char *value)
{
	Onnx__StringStringEntryProto *e = orx_arena_alloc(a, sizeof(*e));

	if (!e)
		return NULL;
	onnx__string_string_entry_proto__init(e);
	e->key = orx_arena_strdup(a, key);
	e->value = orx_arena_strdup(a, value);
	return e->key && e->value ? e : NULL;
}

/* Point the tensor at its place in a data file. */
static int set_external(orx_model *m, Onnx__TensorProto *t, const place *p)
{
	char off[32], len[32];
	Onnx__StringStringEntryProto **e =
		orx_arena_alloc(m->arena, 3 * sizeof(*e));

	snprintf(off, sizeof(off), "%llu", (unsigned long long)p->offset);
	snprintf(len, sizeof(len), "%llu", (unsigned long long)p->length);
	if (!e || !(e[0] = kv(m->arena, "location", p->location)) ||
	    !(e[1] = kv(m->arena, "offset", off)) ||
	    !(e[2] = kv(m->arena, "length", len)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	clear_external(t);
	if (t->has_raw_data) {
		t->raw_data.data = NULL;
		t->raw_data.len = 0;
		t->has_raw_data = 0;
	}
	t->external_data = e;
	t->n_external_data = 3;
	t->has_data_location = 1;
	t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
	return ORX_OK;
}

/* Bring a tensor inline: its bytes read from its data file or made. */
static int set_inline(orx_model *m, size_t i, uint64_t len)
{
	Onnx__TensorProto *t = tensor(m, i);
	uint8_t *buf = orx_arena_alloc(m->arena, len ? len : 1);
	int rc;

	if (!buf)
		return orx_fail(ORX_ENOMEM, "out of memory");
	rc = is_pending(m, i) ? orx_make_values(buf, m, i)
			      : orx_external_read(buf, m, t);
	if (rc != ORX_OK)
		return rc;
	clear_external(t);
	t->raw_data.data = buf;
	t->raw_data.len = len;
	t->has_raw_data = 1;
	if (m->pending)
		m->pending[i].set = false; /* made above */
	return ORX_OK;
}

static int update_tensors(orx_model *m, const place *pl)
{
	int rc = ORX_OK;

	/* inline first: they read the input's data files */
	for (size_t i = 0; i < orx_value_count(m) && rc == ORX_OK; i++)
		if (!pl[i].location && is_external(m, i))
			rc = set_inline(m, i, pl[i].length);
	for (size_t i = 0; i < orx_value_count(m) && rc == ORX_OK; i++)
		if (pl[i].location)
			rc = set_external(m, tensor(m, i), &pl[i]);
	return rc;
}

static bool needs_data_handling(const orx_model *m, const orx_save_options *o)
{
	if (o->mode != ORX_DATA_KEEP)
		return true;
	for (size_t i = 0; i < orx_value_count(m); i++)
		if (is_external(m, i))
			return true;
	return false;
}

/* The --external file must be a location a data file may have (checked
 * as a tensor's would be). */
static int check_external_file(const orx_save_options *opts)
{
	Onnx__TensorProto probe = ONNX__TENSOR_PROTO__INIT;
	Onnx__StringStringEntryProto
		loc = ONNX__STRING_STRING_ENTRY_PROTO__INIT,
		*e = &loc;
	orx_ext_ref check;

	loc.key = "location";
	loc.value = (char *)(opts->external_file ? opts->external_file : "");
	probe.external_data = &e;
	probe.n_external_data = 1;
	probe.name = "--external";
	return orx_external_ref(&check, &probe);
}

static int save(orx_model *m, const char *path, const orx_save_options *opts)
{
	orx_save_options defaults = ORX_SAVE_OPTIONS_INIT;
	size_t n = orx_value_count(m);
	place *pl = NULL;
	char *out_dir = NULL;
	int rc;
	bool any_file = false;

	if (!(opts = orx_options_checked(opts, &defaults,
					 ORX_SAVE_OPTIONS_VERSION,
					 "orx_save_options")))
		return ORX_EINVALID;
	if (!needs_data_handling(m, opts))
		return orx_model_save_plain(m, path, opts->threads);
	if (opts->mode == ORX_DATA_EXTERNAL &&
	    (rc = check_external_file(opts)) != ORX_OK)
		return rc;
	if (!(pl = calloc(n + 1, sizeof(*pl))) ||
	    !(out_dir = orx_folder_of(path))) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = place_all(pl, m, opts)) != ORX_OK ||
	    (rc = check_size(m, pl)) != ORX_OK)
		goto done;
	for (size_t i = 0; i < n; i++)
		any_file |= pl[i].location != NULL;
	if (any_file && !strcmp(path, "-")) {
		rc = orx_fail(ORX_EUNSUPPORTED, "a model with external data "
						"cannot go to standard output: "
						"use --embed");
		goto done;
	}
	if ((rc = write_data_files(m, pl, out_dir, path)) != ORX_OK ||
	    (rc = update_tensors(m, pl)) != ORX_OK)
		goto done;
	for (size_t i = 0; m->pending && i < n; i++) /* made and stored */
		if (pl[i].location)
			m->pending[i].set = false;
	if ((rc = orx_model_save_plain(m, path, opts->threads)) != ORX_OK)
		goto done;
	orx_pending_free(m);
	free(m->dir);
	m->dir = out_dir;
	out_dir = NULL;
done:
	free(pl);
	free(out_dir);
	return rc;
}

int orx_model_save(orx_model *m, const char *path, const orx_save_options *opts)
{
	orx_progress *outer =
		orx_progress_start(m, "writing", orx_pending_values(m));
	int rc = save(m, path, opts);

	orx_progress_end(m, outer);
	return rc;
}

int orx_model_save_file(orx_model *model, const char *path)
{
	return orx_model_save(model, path, NULL);
}
