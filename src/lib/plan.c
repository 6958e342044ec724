/* The planner: every initializer's role, the activation downstream of its
 * layer, the rule that decides, and the resolved distribution. */
#define _GNU_SOURCE
#include "plan_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*** @@ROLES: which initializer is what to which node ***/

/* The policy when branches end differently: the nearest activation
 * (breadth first) decides; without any, "none". The distinct endings go
 * into out (*n of them), the chosen one first. */
static void choose(orx_branch *out, size_t *n_out, const orx_branch *all,
		   size_t n_all)
{
	orx_branch br[ORX_BRANCH_MAX];
	size_t pick = 0, n = 0;

	/* one branch per activation name: opaque endings count as none */
	for (size_t i = 0; i < n_all; i++) {
		const char *name = all[i].kind == ORX_BRANCH_OPAQUE
					   ? "none" : all[i].activation;
		size_t k;
		for (k = 0; k < n; k++)
			if (!strcmp(name, br[k].kind == ORX_BRANCH_OPAQUE
						  ? "none" : br[k].activation))
				break;
		if (k == n)
			br[n++] = all[i];
		else if (br[k].kind == ORX_BRANCH_OPAQUE &&
			 all[i].kind == ORX_BRANCH_NONE)
			br[k] = all[i]; /* a clear ending says more */
	}

	for (size_t i = 0; i < n; i++)
		if (br[i].kind == ORX_BRANCH_ACTIVATION) {
			pick = i;
			break;
		} else if (br[pick].kind != ORX_BRANCH_NONE &&
			   br[i].kind == ORX_BRANCH_NONE) {
			pick = i;
		}
	for (size_t i = 0, k = 1; i < n; i++)
		out[i == pick ? 0 : k++] = br[i];
	*n_out = n;
}

/* The n endings br (the chosen first) as e's branches and activation,
 * kept in the plan's memory: exactly as many as there are. */
static int keep_branches(entry *e, orx_arena *mem, const orx_branch *br,
			 size_t n)
{
	orx_plan_branch *pub = orx_arena_alloc(mem, (n + 1) * sizeof(*pub));

	if (!pub)
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char **path = orx_arena_alloc(
			mem, (br[i].path_len + 1) * sizeof(*path));
		if (!path)
			return orx_fail(ORX_ENOMEM, "out of memory");
		memcpy(path, br[i].path, br[i].path_len * sizeof(*path));
		pub[i].activation = br[i].kind == ORX_BRANCH_OPAQUE
					    ? "none"
					    : br[i].activation;
		pub[i].path = path;
		pub[i].path_len = br[i].path_len;
	}
	e->pub.n_branches = n;
	e->pub.branches = pub;
	e->pub.activation = n ? pub[0].activation : "none";
	e->pub.path = n ? pub[0].path : NULL;
	e->pub.path_len = n ? pub[0].path_len : 0;
	e->alpha = n && br[0].kind == ORX_BRANCH_ACTIVATION ? br[0].alpha : NAN;
	return ORX_OK;
}

typedef struct {
	orx_plan *plan;
	const orx_model *model;
	const orx_graph *gr;
	const Onnx__GraphProto *g;
} ctx;

/* The branches downstream of value v into e (a walk of its own). */
static int walk_from(entry *e, orx_arena *mem, const orx_graph *gr, int v)
{
	orx_branch all[ORX_BRANCH_MAX], br[ORX_BRANCH_MAX];
	size_t n_all = 0, n = 0;
	int rc;

	if ((rc = orx_graph_walk(all, &n_all, gr, v)) != ORX_OK)
		return rc;
	choose(br, &n, all, n_all);
	return keep_branches(e, mem, br, n);
}

/* e takes like's branches (the same walk from the same value). */
static void share_walk(entry *e, const entry *like)
{
	e->pub.n_branches = like->pub.n_branches;
	e->pub.branches = like->pub.branches;
	e->pub.activation = like->pub.activation;
	e->pub.path = like->pub.path;
	e->pub.path_len = like->pub.path_len;
	e->alpha = like->alpha;
}

/* Claim the initializer behind node input slot for role into *out (NULL
 * when there is none or it is already claimed: the first user decides).
 * Its activation comes from a walk from value walk_from, or, when like is
 * given, from that entry's walk from the same value. */
static int claim(entry **out, ctx *c, int node, int slot, orx_role role,
		 int walk_from_value, const entry *like)
{
	const Onnx__NodeProto *nd = c->g->node[node];
	orx_trace tr;
	int init;
	entry *e;

	*out = NULL;
	if (slot >= (int)nd->n_input)
		return ORX_OK;
	if (orx_graph_trace(&tr, c->gr, nd->input[slot]) < 0)
		return ORX_OK;
	init = tr.init >= 0
		       ? orx_value_of_initializer(c->model, (size_t)tr.graph, tr.init)
		       : orx_value_of_node(c->model, (size_t)tr.graph,
					   tr.constant_node);
	if (init < 0 || c->plan->e[init])
		return ORX_OK;
	if (!(e = c->plan->e[init] = orx_arena_alloc(c->plan->mem, sizeof(*e))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	memset(e, 0, sizeof(*e));
	e->pub.tensor = (size_t)init;
	e->pub.name = orx_value_name(c->model, (size_t)init);
	e->pub.op = nd->op_type;
	e->pub.role = role;
	e->node_index = node;
	e->input = slot;
	memcpy(e->seen, tr.seen, tr.ndim * sizeof(int64_t));
	e->seen_ndim = tr.ndim;
	e->quantized = tr.quantized;
	e->constant = tr.init < 0;
	e->body = orx_value_in_body(c->model, (size_t)init);
	e->gr = c->gr;
	e->pub.graph = c->model->graphs[c->model->values[init].graph].path;
	e->pub.storage = e->constant ? "constant" : "initializer";
	if (nd->name && nd->name[0])
		e->pub.node = nd->name;
	else if (!(e->pub.node = orx_arena_printf(c->plan->mem, "%s_%d",
						  nd->op_type, node)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	*out = e;
	if (like) {
		share_walk(e, like);
		return ORX_OK;
	}
	return walk_from(e, c->plan->mem, c->gr, walk_from_value);
}

/* An Add among the consumers of value out of graph c->gr that adds a
 * constant: claimed as weight's bias into *b (NULL if none). */
static int claim_bias_add(entry **b, ctx *c, int out, const entry *weight)
{
	const int *nodes, *slots;
	size_t n = orx_graph_consumers(c->gr, out, &nodes, &slots);

	*b = NULL;
	for (size_t i = 0; i < n; i++) {
		const Onnx__NodeProto *add = c->g->node[nodes[i]];
		int rc;
		if (!orx_op_is(add, "Add") || add->n_input != 2 ||
		    add->n_output == 0)
			continue;
		rc = claim(b, c, nodes[i], 1 - slots[i], ORX_ROLE_BIAS,
			   orx_graph_value(c->gr, add->output[0]), NULL);
		if (rc != ORX_OK || *b) {
			if (*b) {
				(*b)->layer = weight;
				(*b)->pub.op = weight->pub.op;
				(*b)->pub.activation = weight->pub.activation;
			}
			return rc;
		}
	}
	return ORX_OK;
}

/* The Add right after a layer that adds a constant: its bias (the
 * MatMul + Add that exporters write for Linear), in the layer's graph or
 * in a body that reads the layer's output by name. */
static int claim_following_bias(ctx *c, int node, const entry *weight)
{
	const Onnx__NodeProto *nd = c->g->node[node];
	int out = nd->n_output ? orx_graph_value(c->gr, nd->output[0]) : -1;
	const orx_capture *cap;
	size_t n = out >= 0 ? orx_graph_captures(c->gr, out, &cap) : 0;
	entry *b;
	int rc = claim_bias_add(&b, c, out, weight);

	for (size_t i = 0; i < n && rc == ORX_OK && !b; i++) {
		ctx in = {c->plan, c->model, cap[i].body,
			  orx_graph_proto(cap[i].body)};
		rc = claim_bias_add(&b, &in, cap[i].body_value, weight);
	}
	return rc;
}

/* The input that holds a layer's weight: B when the op takes either A or
 * B and B is a constant, else the lowest input the op allows. */
static int weight_slot(ctx *c, const Onnx__NodeProto *nd, const orx_op *op)
{
	orx_trace tr;

	if ((op->weight_inputs & 0x3) == 0x3)
		return nd->n_input >= 2 &&
			       orx_graph_trace(&tr, c->gr, nd->input[1]) >= 0
		       ? 1
		       : 0;
	return op->weight_inputs & 0x1 ? 0 : 1;
}

static int claim_layer(ctx *c, int node, const orx_op *op)
{
	const Onnx__NodeProto *nd = c->g->node[node];
	int out = nd->n_output ? orx_graph_value(c->gr, nd->output[0]) : -1;
	int slot = weight_slot(c, nd, op), rc;
	const char *trans = slot ? op->trans_b : op->trans_a;
	entry *w, *b = NULL;

	if ((rc = claim(&w, c, node, slot, ORX_ROLE_WEIGHT, out, NULL)) != ORX_OK ||
	    !w)
		return rc;
	w->trans = trans ? orx_attr_int(nd, trans, 0) : 0;
	w->group = orx_attr_int(nd, "group", 1);
	if (op->bias_input >= 0 &&
	    (rc = claim(&b, c, node, op->bias_input, ORX_ROLE_BIAS, out, w)) !=
		    ORX_OK)
		return rc;
	if (b) {
		b->layer = w;
		return ORX_OK;
	}
	return claim_following_bias(c, node, w);
}

static int claim_norm(ctx *c, int node, const orx_op *op)
{
	static const orx_role bn[4] = {ORX_ROLE_NORM_SCALE, ORX_ROLE_NORM_BIAS,
				       ORX_ROLE_NORM_MEAN, ORX_ROLE_NORM_VAR};
	const Onnx__NodeProto *nd = c->g->node[node];
	int out = nd->n_output ? orx_graph_value(c->gr, nd->output[0]) : -1;
	int last = op->n_params < 4 ? op->n_params : 4, rc = ORX_OK;
	const entry *walked = NULL; /* one walk serves all the parameters */

	for (int slot = 1; slot <= last && rc == ORX_OK; slot++) {
		entry *k;
		rc = claim(&k, c, node, slot, bn[slot - 1], out, walked);
		if (k && !walked)
			walked = k;
	}
	return rc;
}

/*** @@DECIDE: the rule, the fans, the distribution ***/

static bool float_dtype(int dtype)
{
	return dtype == ORX_DTYPE_FLOAT || dtype == ORX_DTYPE_FLOAT16 ||
	       dtype == ORX_DTYPE_BFLOAT16 || dtype == ORX_DTYPE_DOUBLE;
}

static double gain_of(const orx_rule_action *a, const entry *e)
{
	double g = 0, param = a->gain_param;

	if (a->gain_kind == ORX_GAIN_VALUE)
		return a->spec.gain;
	if (a->gain_kind == ORX_GAIN_DEFAULT)
		return 0; /* the scheme's own */
	if (isnan(param))
		param = isnan(e->alpha) ? 0.01 : e->alpha;
	orx_gain(&g, a->gain_name, param);
	return g;
}

static int fans_of(entry *e, orx_fan_convention conv)
{
	orx_fan_query q = ORX_FAN_QUERY_INIT;
	int rc;

	q.op = e->pub.op;
	q.input = e->input;
	q.group = e->group;
	q.trans = (int)e->trans;
	q.convention = conv;
	rc = orx_fans(&e->pub.fan_in, &e->pub.fan_out, &q, e->seen,
		      e->seen_ndim);
	e->pub.has_fans = rc == ORX_OK;
	return rc;
}

static int skip(entry *e, orx_arena *mem, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* e is left as it is, for the reason fmt says (kept in mem). */
static int skip(entry *e, orx_arena *mem, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (!(e->reason = orx_arena_strdup(mem, reason)))
		return orx_fail(ORX_ENOMEM, "out of memory");
	return ORX_OK;
}

/* The rule for e, stored as t, and what it draws; or why e is kept. */
static int decide(entry *e, orx_arena *mem, const orx_rules *rules,
		  const Onnx__TensorProto *t)
{
	orx_rule_query q = {e->pub.op, e->pub.activation, e->pub.role,
			    e->pub.name, e->pub.graph};
	const orx_rule_action *a;
	orx_init_spec spec;
	const char *file;
	unsigned line;

	e->pub.dtype = t->data_type;
	e->pub.ndim = t->n_dims;
	e->pub.dims = t->dims;
	if (e->pub.role == ORX_ROLE_WEIGHT)
		fans_of(e, ORX_FANS_EXACT);
	if (e->layer && e->layer->reason)
		return skip(e, mem, "its layer's weight %s is kept",
			    e->layer->pub.name);
	if (!(a = orx_rules_match(rules, &q, &file, &line)))
		return skip(e, mem, "no rule matches");
	e->pub.rule_file = file;
	e->pub.rule_line = line;
	if (a->spec.scheme == ORX_SCHEME_KEEP)
		return skip(e, mem, "kept by %s:%u", file, line);
	if (e->quantized)
		return skip(e, mem, "quantized weight (behind DequantizeLinear): "
			       "never rewritten");
	if (t->segment)
		return skip(e, mem, "a segment of a larger tensor is kept as it is");
	if (!float_dtype(t->data_type))
		return skip(e, mem, e->pub.role == ORX_ROLE_WEIGHT
				       ? "dtype %s: a quantized weight's layout "
					 "is not known"
				       : "dtype %s is not rewritten",
			    orx_dtype_name(t->data_type)
				    ? orx_dtype_name(t->data_type)
				    : "unknown");
	spec = a->spec;
	spec.gain = gain_of(a, e);
	if (e->pub.role == ORX_ROLE_WEIGHT &&
	    fans_of(e, a->fans) != ORX_OK &&
	    spec.scheme >= ORX_SCHEME_XAVIER_UNIFORM &&
	    spec.scheme <= ORX_SCHEME_LECUN_TRUNC_NORMAL)
		return skip(e, mem, "fans unknown: %s", orx_error_last());
	if (spec.scheme >= ORX_SCHEME_XAVIER_UNIFORM &&
	    spec.scheme <= ORX_SCHEME_LECUN_TRUNC_NORMAL && !e->pub.has_fans)
		return skip(e, mem, "%s needs fans, which a %s has not",
			    orx_scheme_name(spec.scheme),
			    orx_role_name(e->pub.role));
	if (orx_init_resolve(&e->pub.params, &spec, e->pub.fan_in,
			     e->pub.fan_out, t->dims, t->n_dims) != ORX_OK)
		return skip(e, mem, "%s", orx_error_last());
	e->pub.scheme = spec.scheme;
	e->decided = 1;
	return ORX_OK;
}

/* Whether an unclaimed value is listed as left alone: every initializer;
 * a Constant's tensor only when it could be a parameter (a float tensor
 * of more than one element), not the shapes, axes and scalars that fill
 * exported graphs. */
static bool listed(const orx_model *model, size_t i)
{
	const Onnx__TensorProto *t = orx_value_tensor(model, i);
	uint64_t n = 0;

	if (!orx_value_is_constant(model, i))
		return true;
	orx_tensor_proto_count(&n, t);
	return n > 1 && (t->data_type == ORX_DTYPE_FLOAT ||
			 t->data_type == ORX_DTYPE_FLOAT16 ||
			 t->data_type == ORX_DTYPE_BFLOAT16 ||
			 t->data_type == ORX_DTYPE_DOUBLE);
}

/* A sparse tensor of graph k (sparse_initializer, or a Constant's
 * sparse_value), named as the graph's other tensors are: listed as left
 * alone (NULL: only counted, *n). */
static int list_sparse(orx_plan *plan, const orx_model *model, size_t *n,
		       bool add)
{
	static const char reason[] = "a sparse tensor is not rewritten";

	*n = 0;
	for (size_t k = 0; k < model->n_graphs; k++) {
		const Onnx__GraphProto *g = model->graphs[k].g;
		for (size_t i = 0; i < g->n_sparse_initializer + g->n_node; i++) {
			const Onnx__SparseTensorProto *sp = NULL;
			const char *own = NULL;
			char *name = NULL;
			if (i < g->n_sparse_initializer) {
				sp = g->sparse_initializer[i];
				own = sp->values && sp->values->name ? sp->values->name : "";
			} else {
				const Onnx__NodeProto *nd = g->node[i - g->n_sparse_initializer];
				for (size_t a = 0; orx_op_is(nd, "Constant") && a < nd->n_attribute; a++)
					if (nd->attribute[a]->sparse_tensor)
						sp = nd->attribute[a]->sparse_tensor;
				own = nd->output[0];
			}
			if (!sp)
				continue;
			++*n;
			if (!add)
				continue;
			if (k > 0 && asprintf(&name, "%s/%s", model->graphs[k].path, own) < 0)
				return orx_fail(ORX_ENOMEM, "out of memory");
			plan->owned[plan->n_owned++] = name;
			plan->skips[plan->n_skips++] =
				(orx_plan_skip){name ? name : own, reason};
		}
	}
	return ORX_OK;
}

static int collect(orx_plan *plan, const orx_model *model)
{
	static const char unclaimed[] = "not consumed by a weighted op or a "
					"normalization";
	size_t n_sparse;

	list_sparse(plan, model, &n_sparse, false);
	plan->items = malloc((plan->n_init + 1) * sizeof(size_t));
	plan->skips = malloc((plan->n_init + n_sparse + 1) * sizeof(orx_plan_skip));
	plan->owned = calloc(n_sparse + 1, sizeof(char *));
	if (!plan->items || !plan->skips || !plan->owned)
		return orx_fail(ORX_ENOMEM, "out of memory");
	if (!plan->items || !plan->skips)
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t i = 0; i < plan->n_init; i++) {
		entry *e = plan->e[i];
		if (e && e->decided)
			plan->items[plan->n_items++] = i;
		else if (e)
			plan->skips[plan->n_skips++] =
				(orx_plan_skip){e->pub.name, e->reason};
		else if (listed(model, i))
			plan->skips[plan->n_skips++] = (orx_plan_skip){
				orx_value_name(model, i), unclaimed};
	}
	return list_sparse(plan, model, &n_sparse, true);
}

/* Claim the tensors of graph k's layers, then of its normalizations. */
static int claim_graph(orx_plan *plan, const orx_model *model, size_t k)
{
	const Onnx__GraphProto *g = model->graphs[k].g;
	ctx c = {plan, model, plan->graphs[k], g};
	int rc = ORX_OK;

	for (size_t n = 0; n < g->n_node && rc == ORX_OK; n++) {
		const orx_op *op = orx_op_of(g->node[n]);
		if (op && op->cls == ORX_OP_WEIGHTED)
			rc = claim_layer(&c, (int)n, op);
	}
	for (size_t n = 0; n < g->n_node && rc == ORX_OK; n++) {
		const orx_op *op = orx_op_of(g->node[n]);
		if (op && op->cls == ORX_OP_NORMALIZATION)
			rc = claim_norm(&c, (int)n, op);
	}
	return rc;
}

/* Index every graph of the model, each knowing the graph around it. */
static int index_graphs(orx_plan *plan, const orx_model *model)
{
	if (!(plan->graphs = calloc(model->n_graphs + 1, sizeof(*plan->graphs))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	for (size_t k = 0; k < model->n_graphs; k++) {
		const orx_graph_ref *r = &model->graphs[k];
		int rc = orx_graph_build(&plan->graphs[k], r->g);
		if (rc != ORX_OK)
			return rc;
		plan->n_graphs = k + 1;
		orx_graph_set_scope(plan->graphs[k],
				    r->parent >= 0 ? plan->graphs[r->parent] : NULL,
				    (int)k, r->owner, plan->n_nodes);
		plan->n_nodes += r->g->n_node;
	}
	return orx_graph_link_captures(plan->graphs, plan->n_graphs);
}

/* Claim every graph's tensors (the main graph first: the first user of a
 * tensor decides), then decide them: weights first, since a bias follows
 * its weight. */
static int plan_graph(orx_plan *plan, const orx_rules *rules,
		      const orx_model *model)
{
	int rc = index_graphs(plan, model);

	for (size_t k = 0; k < model->n_graphs && rc == ORX_OK; k++)
		rc = claim_graph(plan, model, k);
	for (int weights = 1; weights >= 0; weights--)
		for (size_t i = 0; i < plan->n_init && rc == ORX_OK; i++)
			if (plan->e[i] &&
			    (plan->e[i]->pub.role == ORX_ROLE_WEIGHT) == weights)
				rc = decide(plan->e[i], plan->mem, rules,
					    orx_value_tensor(model, i));
	return rc == ORX_OK ? collect(plan, model) : rc;
}

int orx_plan_build(orx_plan **out, const orx_model *model,
		   const orx_rules *rules)
{
	orx_plan *plan = calloc(1, sizeof(*plan));
	int rc;

	if (!plan)
		return orx_fail(ORX_ENOMEM, "out of memory");
	plan->n_init = orx_value_count(model);
	plan->e = calloc(plan->n_init + 1, sizeof(*plan->e));
	plan->mem = orx_arena_new(0);
	if (!plan->e || !plan->mem) {
		rc = orx_fail(ORX_ENOMEM, "out of memory");
		goto done;
	}
	rc = plan_graph(plan, rules, model);
done:
	if (rc != ORX_OK)
		orx_plan_free(plan);
	else
		*out = plan;
	return rc;
}

size_t orx_plan_count(const orx_plan *plan)
{
	return plan->n_items;
}

const orx_plan_item *orx_plan_item_at(const orx_plan *plan, size_t i)
{
	return i < plan->n_items ? &plan->e[plan->items[i]]->pub : NULL;
}

size_t orx_plan_skipped_count(const orx_plan *plan)
{
	return plan->n_skips;
}

const orx_plan_skip *orx_plan_skipped_at(const orx_plan *plan, size_t i)
{
	return i < plan->n_skips ? &plan->skips[i] : NULL;
}

int orx_plan_apply(orx_model *model, const orx_plan *plan, uint64_t seed)
{
	int rc = ORX_OK;

	for (size_t i = 0; i < plan->n_items && rc == ORX_OK; i++) {
		const orx_plan_item *it = &plan->e[plan->items[i]]->pub;
		rc = orx_tensor_init(model, it->tensor, &it->params,
				     orx_stream_key(seed, it->name));
	}
	return rc;
}

void orx_plan_free(orx_plan *plan)
{
	if (!plan)
		return;
	for (size_t k = 0; k < plan->n_graphs; k++)
		orx_graph_free(plan->graphs[k]);
	free(plan->graphs);
	orx_arena_free(plan->mem); /* the entries */
	free(plan->e);
	free(plan->items);
	free(plan->skips);
	for (size_t i = 0; i < plan->n_owned; i++)
		free(plan->owned[i]);
	free(plan->owned);
	free(plan);
}
