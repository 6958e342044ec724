/* Opening a file leaves large raw_data where it lies (the skeleton):
 * the model must be the one a whole unpack gives, and the file untouched. */
#define _GNU_SOURCE
#include "helpers.h"
#include "internal.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (uint8_t)(seed + k * 7);
}

static char *write_temp(const uint8_t *data, size_t len)
{
	char *path = strdup("/tmp/orx-skeleton-XXXXXX");
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	close(fd);
	cr_assert_eq(write_file(path, data, len), 0);
	return path;
}

/* The model saved to memory after opening it from a file and from a
 * buffer: both must succeed or fail alike, and give the same bytes. */
static void expect_same_either_way(const uint8_t *data, size_t len)
{
	char *path = write_temp(data, len);
	orx_model *a = NULL, *b = NULL;
	uint8_t *out_a = NULL, *out_b = NULL;
	size_t len_a = 0, len_b = 0;
	int rc_a = orx_model_open_file(&a, path, NULL);
	int rc_b = orx_model_open_buffer(&b, data, len, NULL);

	cr_assert_eq(rc_a, rc_b, "file: %d, buffer: %d", rc_a, rc_b);
	if (rc_a == ORX_OK) {
		cr_assert_eq(orx_model_save_buffer(&out_a, &len_a, a, NULL),
			     ORX_OK);
		cr_assert_eq(orx_model_save_buffer(&out_b, &len_b, b, NULL),
			     ORX_OK);
		cr_assert_eq(len_a, len_b);
		cr_assert_eq(memcmp(out_a, out_b, len_a), 0);
	}
	free(out_a);
	free(out_b);
	orx_model_free(a);
	orx_model_free(b);
	unlink(path);
	free(path);
}

Test(skeleton, leaves_out_large_raw_data_and_points_at_it)
{
	int64_t dims[1] = {2048};
	uint8_t raw[8192], *model, *skel;
	size_t len, skel_len, n;
	orx_borrowed *b;
	Onnx__ModelProto *m;

	fill_pattern(raw, sizeof(raw), 3);
	build_model(&model, &len, 1, dims, 1, raw, sizeof(raw));
	cr_assert_eq(orx_wire_skeleton(&skel, &skel_len, &b, &n, model, len),
		     ORX_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(b[0].depth, 2); /* graph 0, initializer 0 */
	cr_assert_eq(b[0].path[0].number, 7);
	cr_assert_eq(b[0].path[1].number, 5);
	cr_assert_eq(b[0].path[1].index, 0);
	cr_assert_eq(b[0].len, sizeof(raw));
	cr_assert(b[0].data > model && b[0].data + b[0].len <= model + len);
	cr_assert_eq(memcmp(b[0].data, raw, sizeof(raw)), 0);
	/* the field (tag, 2-byte length, bytes) is gone, and the tensor's
	 * and the graph's lengths each need one byte less */
	cr_assert_eq(skel_len, len - (1 + 2 + sizeof(raw)) - 1 - 1);
	m = onnx__model_proto__unpack(NULL, skel_len, skel);
	cr_assert_not_null(m);
	cr_assert_eq(m->graph->n_initializer, 1);
	cr_assert_str_eq(m->graph->initializer[0]->name, "w");
	cr_assert_eq(m->graph->initializer[0]->n_dims, 1);
	cr_assert_eq(m->graph->initializer[0]->dims[0], 2048);
	cr_assert(!m->graph->initializer[0]->has_raw_data);
	cr_assert_str_eq(m->graph->name, "g");
	onnx__model_proto__free_unpacked(m, NULL);
	free(skel);
	free(b);
	free(model);
}

/* A model of one float tensor of bytes raw_data: whether the skeleton
 * borrows it (it is then the tensor's bytes), and the model unpacks the
 * same either way. */
static bool borrows(size_t bytes)
{
	int64_t dims[1] = {(int64_t)bytes / 4};
	uint8_t raw[256], *model, *skel = NULL;
	size_t len, skel_len, n = 0;
	orx_borrowed *b = NULL;
	int rc;

	fill_pattern(raw, bytes, 5);
	build_model(&model, &len, 1, dims, 1, raw, bytes);
	rc = orx_wire_skeleton(&skel, &skel_len, &b, &n, model, len);
	cr_assert(rc == ORX_OK || rc == ORX_EUNSUPPORTED);
	if (rc == ORX_OK) {
		cr_assert_eq(n, 1);
		cr_assert_eq(b[0].len, bytes);
		cr_assert_eq(memcmp(b[0].data, raw, bytes), 0);
	}
	free(skel);
	free(b);
	expect_same_either_way(model, len);
	free(model);
	return rc == ORX_OK;
}

Test(skeleton, raw_data_of_64_bytes_or_more_is_borrowed)
{
	cr_assert(!borrows(60));
	cr_assert(borrows(64));
	cr_assert(borrows(256));
}

/* A tensor with two raw_data fields: protobuf keeps the last. */
Test(skeleton, two_raw_data_fields_keep_the_last_either_way)
{
	uint8_t first[8192], last[8192];
	wbuf tensor = {0}, graph = {0}, model = {0};
	char *path;
	orx_model *m = NULL;
	double v[2048];

	fill_pattern(first, sizeof(first), 1);
	memset(last, 0, sizeof(last));
	memcpy(last, &(float){0.25f}, 4);
	wbuf_int(&tensor, 1, 2048);
	wbuf_int(&tensor, 2, 1);
	wbuf_len(&tensor, 8, "w", 1);
	wbuf_len(&tensor, 9, first, sizeof(first));
	wbuf_len(&tensor, 9, last, sizeof(last));
	wbuf_len(&graph, 5, tensor.p, tensor.n);
	wbuf_int(&model, 1, 8);
	wbuf_len(&model, 7, graph.p, graph.n);
	expect_same_either_way(model.p, model.n);
	path = write_temp(model.p, model.n);
	cr_assert_eq(orx_model_open_file(&m, path, NULL), ORX_OK);
	cr_assert_eq(orx_tensor_read(v, 2048, m, 0), ORX_OK);
	cr_assert_eq(v[0], 0.25);
	cr_assert_eq(v[1], 0);
	orx_model_free(m);
	unlink(path);
	free(path);
	free(tensor.p);
	free(graph.p);
	free(model.p);
}

/* Two graph fields merge: the skeleton is not used, the result the same. */
Test(skeleton, two_graph_fields_merge_either_way)
{
	int64_t dims[1] = {2048};
	uint8_t raw[8192], *one, *skel;
	wbuf graph = {0}, model = {0};
	size_t len, skel_len, n;
	orx_borrowed *b;
	orx_model *m = NULL;
	char *path;

	fill_pattern(raw, sizeof(raw), 9);
	build_model(&one, &len, 1, dims, 1, raw, sizeof(raw));
	wbuf_len(&graph, 2, "h", 1);
	wbuf_put(&model, one, len);
	wbuf_len(&model, 7, graph.p, graph.n);
	cr_assert_eq(
		orx_wire_skeleton(&skel, &skel_len, &b, &n, model.p, model.n),
		ORX_EUNSUPPORTED);
	expect_same_either_way(model.p, model.n);
	path = write_temp(model.p, model.n);
	cr_assert_eq(orx_model_open_file(&m, path, NULL), ORX_OK);
	cr_assert_eq(orx_model_tensor_count(m), 1);
	orx_model_free(m);
	unlink(path);
	free(path);
	free(graph.p);
	free(model.p);
	free(one);
}

Test(skeleton, changing_a_tensor_never_changes_the_file)
{
	int64_t dims[1] = {4096};
	uint8_t raw[16384], *model, *before, *out;
	size_t len, before_len, out_len;
	double v[4096], back[4096];
	orx_model *m = NULL;
	char *path;

	fill_pattern(raw, sizeof(raw), 11);
	build_model(&model, &len, 1, dims, 1, raw, sizeof(raw));
	path = write_temp(model, len);
	cr_assert_eq(orx_model_open_file(&m, path, NULL), ORX_OK);
	for (size_t k = 0; k < 4096; k++)
		v[k] = (double)k - 2048;
	cr_assert_eq(orx_tensor_write(m, 0, v, 4096), ORX_OK);
	cr_assert_eq(orx_model_save_buffer(&out, &out_len, m, NULL), ORX_OK);
	cr_assert_eq(read_file(&before, &before_len, path), 0);
	cr_assert_eq(before_len, len);
	cr_assert_eq(memcmp(before, model, len), 0, "the input file changed");
	cr_assert_eq(orx_tensor_read(back, 4096, m, 0), ORX_OK);
	cr_assert_eq(memcmp(back, v, sizeof(v)), 0);
	cr_assert_eq(out_len, len);
	cr_assert_neq(memcmp(out, model, len), 0);
	orx_model_free(m);
	unlink(path);
	free(path);
	free(before);
	free(out);
	free(model);
}

/* Damaged copies of a real model: opening the file (skeleton) and the
 * buffer (whole unpack) agree on every one. */
Test(skeleton, damaged_models_fail_or_load_alike, .timeout = 120)
{
	uint8_t *good, *buf;
	size_t len;
	uint64_t s = 7;

	cr_assert_eq(read_file(&good, &len,
			       ORX_SOURCE_DIR "/samples/cnn_bn_relu.onnx"),
		     0);
	buf = malloc(len);
	for (size_t i = 0; i < 300; i++) {
		memcpy(buf, good, len);
		flip_bytes(buf, len, 2, &s);
		expect_same_either_way(buf, len);
	}
	for (size_t cut = 1; cut < len; cut += len / 97)
		expect_same_either_way(good, cut);
	free(buf);
	free(good);
}

/* raw_data of the wrong wire type is not the skeleton's to judge: the
 * tensor is kept whole and protobuf-c decides, the same either way. */
Test(skeleton, raw_data_of_another_wire_type_is_judged_alike)
{
	uint8_t raw[8192];
	wbuf tensor = {0}, graph = {0}, model = {0};

	fill_pattern(raw, sizeof(raw), 2);
	wbuf_int(&tensor, 1, 2048);
	wbuf_int(&tensor, 2, 1);
	wbuf_len(&tensor, 8, "w", 1);
	wbuf_int(&tensor, 9, 5); /* a varint where bytes belong */
	wbuf_len(&graph, 5, tensor.p, tensor.n);
	tensor.n = 0;
	wbuf_int(&tensor, 1, 2048);
	wbuf_int(&tensor, 2, 1);
	wbuf_len(&tensor, 8, "v", 1);
	wbuf_len(&tensor, 9, raw, sizeof(raw));
	wbuf_len(&graph, 5, tensor.p, tensor.n);
	wbuf_int(&model, 1, 8);
	wbuf_len(&model, 7, graph.p, graph.n);
	expect_same_either_way(model.p, model.n);
	free(tensor.p);
	free(graph.p);
	free(model.p);
}

/* Saving to a file copies unchanged tensor bytes from the input file in
 * the kernel (copy_file_range); a tensor written since must be saved
 * with its new values, not the file's. 32768 float32 values (128 KiB) is
 * past the size from which bytes are copied that way. */
Test(skeleton, saved_file_holds_written_values_not_the_inputs)
{
	int64_t dims[1] = {32768};
	size_t raw_len = 32768 * 4, len, out_len;
	uint8_t *raw = malloc(raw_len), *model, *out;
	double *v = malloc(32768 * sizeof(double)),
	       *back = malloc(32768 * sizeof(double));
	orx_model *m = NULL, *again = NULL;
	char *path, saved[4096];

	fill_pattern(raw, raw_len, 4);
	build_model(&model, &len, 1, dims, 1, raw, raw_len);
	path = write_temp(model, len);
	snprintf(saved, sizeof(saved), "%s.out", path);
	/* unchanged: the same bytes */
	cr_assert_eq(orx_model_open_file(&m, path, NULL), ORX_OK);
	cr_assert_eq(orx_model_save_file(m, saved), ORX_OK, "%s",
		     orx_error_last());
	cr_assert_eq(read_file(&out, &out_len, saved), 0);
	cr_assert_eq(out_len, len);
	cr_assert_eq(memcmp(out, model, len), 0);
	free(out);
	/* written: the new values */
	for (size_t k = 0; k < 32768; k++)
		v[k] = (double)k / 64 - 100;
	cr_assert_eq(orx_tensor_write(m, 0, v, 32768), ORX_OK);
	cr_assert_eq(orx_model_save_file(m, saved), ORX_OK, "%s",
		     orx_error_last());
	cr_assert_eq(orx_model_open_file(&again, saved, NULL), ORX_OK);
	cr_assert_eq(orx_tensor_read(back, 32768, again, 0), ORX_OK);
	cr_assert_eq(memcmp(back, v, 32768 * sizeof(double)), 0,
		     "the saved file holds the input's values");
	orx_model_free(m);
	orx_model_free(again);
	unlink(saved);
	unlink(path);
	free(path);
	free(model);
	free(raw);
	free(v);
	free(back);
}

/* A tensor message of n float32 values of raw_data. */
static void tensor_msg(wbuf *t, const char *name, const uint8_t *raw, size_t n)
{
	t->n = 0;
	wbuf_int(t, 1, n / 4);
	wbuf_int(t, 2, 1);
	wbuf_len(t, 8, name, strlen(name));
	wbuf_len(t, 9, raw, n);
}

/* A node of op_type whose one attribute (field number field: 5 tensor,
 * 6 graph) holds the message m. */
static void node_msg(wbuf *node, const char *op_type, unsigned field,
		     const wbuf *m)
{
	wbuf attr = {0};

	wbuf_len(&attr, 1, "value", 5);
	wbuf_len(&attr, field, m->p, m->n);
	wbuf_int(&attr, 20, field == 5 ? 4 : 5);
	node->n = 0;
	wbuf_len(node, 4, op_type, strlen(op_type));
	wbuf_len(node, 5, attr.p, attr.n);
	free(attr.p);
}

/* Constant nodes' values and the tensors of bodies are left out too,
 * each found again by its path. */
Test(skeleton, constants_and_bodies_are_borrowed_by_their_path)
{
	uint8_t raw[3][4096], *skel;
	wbuf t = {0}, body = {0}, node = {0}, graph = {0}, model = {0};
	size_t skel_len, n;
	orx_borrowed *b;
	Onnx__ModelProto *m;
	Onnx__GraphProto *g;
	orx_arena *arena = orx_arena_new(1 << 16);

	for (int i = 0; i < 3; i++)
		fill_pattern(raw[i], sizeof(raw[i]), (uint8_t)(20 + i));
	tensor_msg(&t, "w", raw[0], sizeof(raw[0])); /* main: a Constant */
	node_msg(&node, "Constant", 5, &t);
	wbuf_len(&graph, 1, node.p, node.n);
	tensor_msg(&t, "i", raw[1], sizeof(raw[1])); /* body: initializer */
	wbuf_len(&body, 5, t.p, t.n);
	tensor_msg(&t, "c", raw[2], sizeof(raw[2])); /* body: a Constant */
	node_msg(&node, "Constant", 5, &t);
	wbuf_len(&body, 1, node.p, node.n);
	node_msg(&node, "If", 6, &body);
	wbuf_len(&graph, 1, node.p, node.n);
	wbuf_int(&model, 1, 8);
	wbuf_len(&model, 7, graph.p, graph.n);
	cr_assert_eq(
		orx_wire_skeleton(&skel, &skel_len, &b, &n, model.p, model.n),
		ORX_OK);
	cr_assert_eq(n, 3);
	cr_assert_eq(b[0].depth, 4); /* graph, node 0, attribute 0, t */
	cr_assert_eq(b[0].path[1].index, 0);
	cr_assert_eq(b[1].depth, 5); /* graph, node 1, attribute 0, g, init 0 */
	cr_assert_eq(b[1].path[1].index, 1);
	cr_assert_eq(b[2].depth, 7);
	cr_assert(skel_len < model.n - 3 * sizeof(raw[0]));
	/* in an arena, as models are: the borrowed bytes are never freed */
	m = onnx__model_proto__unpack(orx_arena_allocator(arena), skel_len,
				      skel);
	cr_assert_not_null(m);
	cr_assert_eq(orx_wire_attach(m, b, n), ORX_OK);
	g = m->graph->node[1]->attribute[0]->g;
	cr_assert_str_eq(m->graph->node[0]->attribute[0]->t->name, "w");
	cr_assert_eq(m->graph->node[0]->attribute[0]->t->raw_data.len, 4096);
	cr_assert_eq(memcmp(m->graph->node[0]->attribute[0]->t->raw_data.data,
			    raw[0], 4096),
		     0);
	cr_assert_eq(memcmp(g->initializer[0]->raw_data.data, raw[1], 4096), 0);
	cr_assert_eq(memcmp(g->node[0]->attribute[0]->t->raw_data.data, raw[2],
			    4096),
		     0);
	/* the bytes are the model's own, not copies */
	cr_assert(g->initializer[0]->raw_data.data > model.p &&
		  g->initializer[0]->raw_data.data < model.p + model.n);
	/* a path that leads nowhere is refused */
	b[2].path[1].index = 7;
	m = onnx__model_proto__unpack(orx_arena_allocator(arena), skel_len,
				      skel);
	cr_assert_eq(orx_wire_attach(m, b, n), ORX_EINVALID);
	orx_arena_free(arena);
	expect_same_either_way(model.p, model.n);
	free(skel);
	free(b);
	free(t.p);
	free(body.p);
	free(node.p);
	free(graph.p);
	free(model.p);
}

/* An attribute whose tensor is written twice: protobuf merges the two,
 * so it is kept whole (nothing borrowed from it). */
Test(skeleton, an_attribute_tensor_written_twice_is_kept_whole)
{
	uint8_t raw[4096], *skel = NULL;
	wbuf t = {0}, attr = {0}, node = {0}, graph = {0}, model = {0};
	size_t skel_len, n = 0;
	orx_borrowed *b = NULL;

	fill_pattern(raw, sizeof(raw), 40);
	tensor_msg(&t, "w", raw, sizeof(raw));
	wbuf_len(&attr, 1, "value", 5);
	wbuf_len(&attr, 5, t.p, t.n);
	wbuf_len(&attr, 5, t.p, t.n);
	wbuf_len(&node, 4, "Constant", 8);
	wbuf_len(&node, 5, attr.p, attr.n);
	wbuf_len(&graph, 1, node.p, node.n);
	wbuf_int(&model, 1, 8);
	wbuf_len(&model, 7, graph.p, graph.n);
	cr_assert_eq(
		orx_wire_skeleton(&skel, &skel_len, &b, &n, model.p, model.n),
		ORX_EUNSUPPORTED);
	expect_same_either_way(model.p, model.n);
	free(t.p);
	free(attr.p);
	free(node.p);
	free(graph.p);
	free(model.p);
}

/* check --run's model: the outputs appended to the graph as float
 * tensors, the rest of the model byte for byte as it was (protobuf-c
 * reads both; every node and initializer the same). */
Test(skeleton, outputs_are_added_to_the_graph_and_nothing_else_changes)
{
	const char *names[] = {"fc1_out", "a name longer than one hundred "
					  "and twenty-eight bytes, so that "
					  "its length takes two bytes of "
					  "varint in the ValueInfoProto ..."};
	uint8_t *in = NULL, *out = NULL;
	size_t len = 0, out_len = 0;
	Onnx__ModelProto *a, *b;

	cr_assert_eq(
		read_file(&in, &len, ORX_SOURCE_DIR "/samples/mlp_tanh.onnx"),
		0);
	cr_assert_eq(orx_wire_add_outputs(&out, &out_len, in, len, names, 2),
		     ORX_OK);
	a = onnx__model_proto__unpack(NULL, len, in);
	b = onnx__model_proto__unpack(NULL, out_len, out);
	cr_assert(a && b);
	cr_assert_eq(b->graph->n_output, a->graph->n_output + 2);
	for (size_t k = 0; k < 2; k++) {
		const Onnx__ValueInfoProto *v =
			b->graph->output[a->graph->n_output + k];
		cr_assert_str_eq(v->name, names[k]);
		cr_assert_eq(v->type->tensor_type->elem_type,
			     ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
	}
	cr_assert_eq(b->graph->n_node, a->graph->n_node);
	cr_assert_eq(b->graph->n_initializer, a->graph->n_initializer);
	for (size_t k = 0; k < a->graph->n_initializer; k++)
		cr_assert(a->graph->initializer[k]->raw_data.len ==
				  b->graph->initializer[k]->raw_data.len &&
			  !memcmp(a->graph->initializer[k]->raw_data.data,
				  b->graph->initializer[k]->raw_data.data,
				  a->graph->initializer[k]->raw_data.len));
	cr_assert_eq(orx_wire_add_outputs(&out, &out_len, in, 3, names, 2),
		     ORX_EINVALID); /* truncated: no graph to add to */
	onnx__model_proto__free_unpacked(a, NULL);
	onnx__model_proto__free_unpacked(b, NULL);
	free(in);
	free(out);
}
