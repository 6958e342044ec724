/* Opening, validating, saving and freeing models. */
#define _GNU_SOURCE
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int check_tensor(const Onnx__TensorProto *t, void *ctx)
{
	(void)ctx;
	return orx_tensor_proto_validate(t);
}

/* What makes a parsed protobuf message an ONNX model. */
static int check_model(const Onnx__ModelProto *m)
{
	if (!m->has_ir_version || m->ir_version < 1)
		return orx_fail(ORX_EINVALID, "not an ONNX model: no "
					      "ir_version");
	if (!m->graph)
		return orx_fail(ORX_EINVALID, "not an ONNX model: no graph");
	return orx_walk_tensors(m, check_tensor, NULL);
}

int orx_model_open_buffer(orx_model **out, const void *data, size_t len,
			  const orx_open_options *opts)
{
	orx_open_options defaults = ORX_OPEN_OPTIONS_INIT;
	orx_model *model = NULL;
	int rc;

	if (!opts)
		opts = &defaults;
	if (len == 0)
		return orx_fail(ORX_EINVALID, "empty file, not an ONNX model");
	rc = orx_wire_scan(data, len, &onnx__model_proto__descriptor,
			   opts->max_depth);
	if (rc != ORX_OK)
		return rc;
	if (!(model = calloc(1, sizeof(*model))) ||
	    !(model->arena = orx_arena_new(len + len / 8 + (1 << 20)))) {
		free(model);
		return orx_fail(ORX_ENOMEM, "out of memory");
	}
	model->proto = onnx__model_proto__unpack(orx_arena_allocator(model->arena),
						 len, data);
	if (!model->proto) {
		rc = orx_fail(ORX_EINVALID, "malformed protobuf: not an ONNX "
					    "model");
		goto done;
	}
	if ((rc = check_model(model->proto)) == ORX_OK)
		rc = orx_external_validate(model); /* the paths, no folder yet */
done:
	if (rc != ORX_OK)
		orx_model_free(model);
	else
		*out = model;
	return rc;
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
	const uint8_t *mapped;
	uint8_t *data = NULL;
	size_t len = 0;
	orx_model *m = NULL;
	int rc;

	/* a mapped file is unpacked straight from the page cache */
	if (strcmp(path, "-") != 0 &&
	    orx_map_file(&mapped, &len, path) == ORX_OK) {
		rc = orx_model_open_buffer(&m, mapped, len, opts);
		orx_unmap_file(mapped, len);
	} else if ((rc = orx_read_all(&data, &len, path)) == ORX_OK) {
		rc = orx_model_open_buffer(&m, data, len, opts);
		free(data);
	}
	if (rc == ORX_OK && strcmp(path, "-") != 0 &&
	    (rc = attach_folder(m, path)) != ORX_OK) {
		orx_model_free(m);
		m = NULL;
	}
	if (rc == ORX_OK)
		*out = m;
	return rc;
}

int orx_model_save_buffer(uint8_t **out, size_t *len, const orx_model *model)
{
	int rc = orx_materialize_all((orx_model *)model);

	if (rc != ORX_OK)
		return rc;
	for (size_t i = 0; model->pending && i < orx_model_tensor_count(model); i++)
		if (model->pending[i].set)
			return orx_fail(ORX_EUNSUPPORTED, "tensors in external "
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

void orx_model_free(orx_model *model)
{
	if (!model)
		return;
	orx_arena_free(model->arena); /* the whole proto */
	free(model->dir);
	free(model->pending);
	for (size_t i = 0; i < model->n_verified; i++)
		free(model->verified[i]);
	free(model->verified);
	free(model);
}
