/* Opening models (from a file or bytes: unpacked into an arena, validated,
 * their values indexed) and freeing them. */
#define _GNU_SOURCE
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where the bytes of a model being opened are. */
typedef enum {
	BYTES_CALLERS, /* the caller's: copied */
	BYTES_OURS,    /* read into memory the model may keep */
	BYTES_MAPPED   /* a private mapping of the file the model may keep */
} bytes_kind;

/* Unpack data into model: when its bytes may outlive the model, a
 * skeleton without the large raw_data, which is then pointed into data
 * (*borrowed set); else all of data, copied. A mapping's pages are given
 * back once the skeleton is made: the borrowed bytes fault in again from
 * the file when they are read. */
static int unpack(orx_model *model, const uint8_t *data, size_t len,
		  bytes_kind kind, bool *borrowed)
{
	uint8_t *skel = NULL;
	orx_borrowed *b = NULL;
	size_t n = 0, skel_len = 0;
	int rc = kind != BYTES_CALLERS ? orx_wire_skeleton(&skel, &skel_len, &b,
							   &n, data, len)
				       : ORX_EUNSUPPORTED;

	*borrowed = rc == ORX_OK;
	if (rc == ORX_EINVALID || rc == ORX_ENOMEM)
		return rc;
	if (*borrowed) {
		if (kind == BYTES_MAPPED)
			orx_release_pages(data, len);
		data = skel;
		len = skel_len;
	}
	rc = ORX_OK;
	if (!(model->arena = orx_arena_new(len + len / 8 + (1 << 20))))
		rc = orx_fail(ORX_ENOMEM, "out of memory");
	else if (!(model->proto = onnx__model_proto__unpack(
			   orx_arena_allocator(model->arena), len, data)))
		rc = orx_fail(ORX_EINVALID, "malformed protobuf: not an ONNX "
					    "model");
	else
		rc = orx_wire_attach(model->proto, b, n);
	free(skel);
	free(b);
	return rc;
}

/* The model from len bytes at data of kind (unless the caller's,
 * *borrowed tells whether the model kept them). */
static int open_bytes(orx_model **out, const uint8_t *data, size_t len,
		      const orx_open_options *opts, bytes_kind kind,
		      bool *borrowed)
{
	orx_open_options defaults = ORX_OPEN_OPTIONS_INIT;
	orx_model *model = NULL;
	int rc;

	*borrowed = false;
	if (!(opts = orx_options_checked(opts, &defaults,
					 ORX_OPEN_OPTIONS_VERSION,
					 "orx_open_options")))
		return ORX_EINVALID;
	if (len == 0)
		return orx_fail(ORX_EINVALID, "empty file, not an ONNX model");
	rc = orx_wire_scan(data, len, &onnx__model_proto__descriptor,
			   opts->max_depth);
	if (rc != ORX_OK)
		return rc;
	if (!(model = calloc(1, sizeof(*model))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	model->backing_fd = -1;
	if (!(model->progress = orx_progress_new()) ||
	    !(model->cache = calloc(1, sizeof(*model->cache)))) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = unpack(model, data, len, kind, borrowed)) != ORX_OK)
		goto done;
	if ((rc = orx_model_validate(model->proto, opts)) == ORX_OK &&
	    (rc = orx_values_build(model)) == ORX_OK)
		rc = orx_external_validate(
			model); /* the paths, no folder yet */
done:
	if (rc != ORX_OK) {
		orx_model_free(model);
		*borrowed = false;
	} else {
		*out = model;
	}
	return rc;
}

/* A model without a folder (bytes, standard input) cannot reach data
 * files: refused at once, before anything is sized from their dims. */
static int without_folder(orx_model **m)
{
	for (size_t i = 0; i < orx_value_count(*m); i++) {
		const Onnx__TensorProto *t = orx_value_tensor(*m, i);
		if (orx_tensor_proto_storage(t) != ORX_STORAGE_EXTERNAL)
			continue;
		int rc = orx_fail(ORX_EUNSUPPORTED,
				  "tensor '%s': external data needs the "
				  "model's folder (open it from a file)",
				  t->name ? t->name : "");
		orx_model_free(*m); /* t's name with it */
		*m = NULL;
		return rc;
	}
	return ORX_OK;
}

int orx_model_open_buffer(orx_model **out, const void *data, size_t len,
			  const orx_open_options *opts)
{
	bool borrowed;
	int rc = open_bytes(out, data, len, opts, BYTES_CALLERS, &borrowed);

	return rc == ORX_OK ? without_folder(out) : rc;
}

/* Attach the model's folder and check its external data there. */
static int attach_folder(orx_model *m, const char *path)
{
	int rc;

	if (!(m->dir = orx_folder_of(path)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	if ((rc = orx_external_validate(m)) != ORX_OK)
		return rc;
	return ORX_OK;
}

int orx_model_open_file(orx_model **out, const char *path,
			const orx_open_options *opts)
{
	uint8_t *data = NULL;
	size_t len = 0;
	orx_model *m = NULL;
	bool mapped = false, borrowed = false;
	int rc, fd = -1;

	/* a mapped file (private: the model's changes never reach it) is
	 * unpacked straight from the page cache, its tensor bytes left there */
	if (strcmp(path, "-") != 0 &&
	    orx_map_file(&data, &len, &fd, path) == ORX_OK)
		mapped = true;
	else if ((rc = orx_read_all(&data, &len, path)) != ORX_OK)
		return rc;
	rc = open_bytes(&m, data, len, opts, mapped ? BYTES_MAPPED : BYTES_OURS,
			&borrowed);
	if (borrowed) {
		m->backing = data;
		m->backing_len = len;
		m->backing_mapped = mapped;
		m->backing_fd = fd; /* kept bytes are copied from it on save */
	} else if (mapped) {
		orx_unmap_file(data, len);
		close(fd);
	} else {
		free(data);
	}
	if (rc == ORX_OK && strcmp(path, "-") != 0 &&
	    (rc = attach_folder(m, path)) != ORX_OK) {
		orx_model_free(m);
		m = NULL;
	}
	if (rc == ORX_OK && strcmp(path, "-") == 0)
		rc = without_folder(&m);
	if (rc == ORX_OK)
		*out = m;
	return rc;
}

void orx_model_free(orx_model *model)
{
	if (!model)
		return;
	orx_arena_free(model->arena); /* the whole proto */
	if (model->backing_mapped)
		orx_unmap_file(model->backing, model->backing_len);
	else
		free(model->backing);
	if (model->backing_fd >= 0)
		close(model->backing_fd);
	free(model->dir);
	orx_pending_free(model);
	orx_values_free(model);
	for (size_t i = 0; model->cache && i < model->cache->n_verified; i++)
		free(model->cache->verified[i]);
	if (model->cache)
		free(model->cache->verified);
	free(model->cache);
	orx_progress_free(model->progress);
	free(model);
}
