/* The rules language: parsing and matching.
 *
 *   # comment
 *   [KEY=VALUE[,VALUE...]]... => SCHEME[(ARG, ...)]
 *
 * KEY is op, activation, role, gate, name or graph (globs), or branch
 * (residual or none); an absent key matches anything (gate= matches only
 * the blocks of recurrent layers). ARG is a number, a positional value,
 * or KEY=VALUE. */
#define _POSIX_C_SOURCE 200809L
#include "ops.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ALTS 32

enum { BRANCH_ANY, BRANCH_NONE, BRANCH_RESIDUAL }; /* branch= */

typedef struct {
	char *file;
	unsigned line;
	char *ops[MAX_ALTS], *acts[MAX_ALTS], *names[MAX_ALTS];
	char *graphs[MAX_ALTS]; /* globs on the tensor's graph path */
	char *gates[MAX_ALTS];	/* a recurrent layer's gates */
	size_t n_ops, n_acts, n_names, n_graphs, n_gates;
	unsigned roles; /* bit per orx_role; 0: any */
	int branch;	/* BRANCH_ANY, or which side of a residual sum */
	orx_rule_action action;
} rule;

struct orx_rules {
	rule *rules;
	size_t n, cap;
};

static const char *const role_names[] = {
	"weight",	  "bias",     "norm_scale",   "norm_bias",
	"norm_mean",	  "norm_var", "input_weight", "recurrent_weight",
	"peephole",	  "other",    "embedding",    "position",
	"class_token",	  "scale",    "prelu_slope",  "buffer",
	"fixed_transform"};

#define N_ROLES (sizeof(role_names) / sizeof(*role_names))

const char *orx_role_name(orx_role role)
{
	return (size_t)role < N_ROLES ? role_names[role] : "unknown";
}

static const char *const known_gates[] = {"i", "o", "f", "c", "z",
					  "r", "h", "q", "k", "v"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

/*** @@PARSE ***/

typedef struct {
	const char *file;
	unsigned line;
	const char *start; /* of the line, for columns */
	const char *p, *end;
} lexer;

static int syntax(const lexer *lx, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int syntax(const lexer *lx, const char *at, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return orx_fail(ORX_EINVALID, "%s:%u:%d: %s", lx->file, lx->line,
			(int)(at - lx->start) + 1, msg);
}

static void skip_space(lexer *lx)
{
	while (lx->p < lx->end && isspace((unsigned char)*lx->p))
		lx->p++;
}

/* A word: letters, digits and _ . * ? [ ] - + / (names, globs, numbers). */
static size_t word(lexer *lx)
{
	const char *s = lx->p;

	while (lx->p < lx->end &&
	       (isalnum((unsigned char)*lx->p) || strchr("_.*?[]-+/:", *lx->p)))
		lx->p++;
	return (size_t)(lx->p - s);
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* VALUE[,VALUE...] of a match key into list. */
static int parse_alts(lexer *lx, char **list, size_t *n, const char *key)
{
	do {
		const char *at = lx->p;
		size_t len = word(lx);
		if (len == 0)
			return syntax(lx, at, "expected a value for '%s'", key);
		if (*n == MAX_ALTS)
			return syntax(lx, at, "more than %d values", MAX_ALTS);
		if (!(list[(*n)++] = dup_n(at, len)))
			return orx_fail(ORX_ENOMEM, "out of memory");
	} while (lx->p < lx->end && *lx->p == ',' && lx->p++);
	return ORX_OK;
}

/* op= names an op whose tensors the planner claims: a layer or a
 * normalization of the op table (domain.op_type outside the default
 * domain). */
static int check_ops(lexer *lx, const char *at, char **list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const orx_op *op = orx_op_named(list[i]);
		if (!op || (op->cls != ORX_OP_WEIGHTED &&
			    op->cls != ORX_OP_NORMALIZATION &&
			    op->cls != ORX_OP_RECURRENT))
			return syntax(lx, at, "unknown op '%s'", list[i]);
	}
	return ORX_OK;
}

/* activation= names one the walk reports (the op table's list). */
static int check_activations(lexer *lx, const char *at, char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!orx_activation_named(list[i]))
			return syntax(lx, at, "unknown activation '%s'",
				      list[i]);
	return ORX_OK;
}

static int check_alts(lexer *lx, const char *at, char **list, size_t n,
		      const char *const *known, size_t n_known,
		      const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (!in_list(list[i], known, n_known))
			return syntax(lx, at, "unknown %s '%s'", what, list[i]);
	return ORX_OK;
}

static int parse_roles(lexer *lx, rule *r)
{
	char *list[MAX_ALTS];
	size_t n = 0;
	const char *at = lx->p;
	int rc = parse_alts(lx, list, &n, "role");

	for (size_t i = 0; i < n; i++) {
		size_t k;
		for (k = 0; k < N_ROLES && strcmp(list[i], role_names[k]); k++)
			;
		if (k == N_ROLES && rc == ORX_OK)
			rc = syntax(lx, at,
				    "unknown role '%s' (weight, bias, "
				    "norm_scale, norm_bias, norm_mean, "
				    "norm_var, input_weight, "
				    "recurrent_weight, peephole, other, "
				    "embedding, position, class_token, "
				    "scale, prelu_slope, buffer)",
				    list[i]);
		r->roles |= 1u << k;
		free(list[i]);
	}
	return rc;
}

static int parse_choice(lexer *lx, const char *const *names, size_t n, int *out,
			const char *what);

static int parse_match(lexer *lx, rule *r)
{
	const char *at = lx->p;
	size_t len = word(lx);
	char key[16];
	int rc;

	if (len == 0 || len >= sizeof(key) || lx->p >= lx->end || *lx->p != '=')
		return syntax(lx, at,
			      "expected KEY=VALUE (op, activation, role, "
			      "gate, name, graph, branch) or '=>'");
	memcpy(key, at, len);
	key[len] = '\0';
	lx->p++;
	if (!strcmp(key, "op")) {
		const char *v = lx->p;
		if ((rc = parse_alts(lx, r->ops, &r->n_ops, key)) == ORX_OK)
			rc = check_ops(lx, v, r->ops, r->n_ops);
		return rc;
	}
	if (!strcmp(key, "activation")) {
		const char *v = lx->p;
		if ((rc = parse_alts(lx, r->acts, &r->n_acts, key)) == ORX_OK)
			rc = check_activations(lx, v, r->acts, r->n_acts);
		return rc;
	}
	if (!strcmp(key, "role"))
		return parse_roles(lx, r);
	if (!strcmp(key, "name"))
		return parse_alts(lx, r->names, &r->n_names, key);
	if (!strcmp(key, "graph"))
		return parse_alts(lx, r->graphs, &r->n_graphs, key);
	if (!strcmp(key, "branch")) {
		static const char *const branches[] = {"none", "residual"};
		int choice = 0;
		if (parse_choice(lx, branches, 2, &choice, "branch"))
			return ORX_EINVALID;
		r->branch = BRANCH_NONE + choice;
		return ORX_OK;
	}
	if (!strcmp(key, "gate")) {
		const char *v = lx->p;
		if ((rc = parse_alts(lx, r->gates, &r->n_gates, key)) == ORX_OK)
			rc = check_alts(
				lx, v, r->gates, r->n_gates, known_gates,
				sizeof(known_gates) / sizeof(*known_gates),
				"gate");
		return rc;
	}
	return syntax(lx, at,
		      "unknown key '%s' (op, activation, role, gate, "
		      "name, graph, branch)",
		      key);
}

/*** @@ACTION: SCHEME[(ARG, ...)] ***/

/* A number: decimal, or a fraction a/b. */
static int parse_number(lexer *lx, double *out)
{
	const char *at = lx->p;
	size_t len = word(lx);
	char buf[64], *end, *slash;

	if (len == 0 || len >= sizeof(buf))
		return syntax(lx, at, "expected a number");
	memcpy(buf, at, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	if (*end || end == buf || errno || !isfinite(*out))
		return syntax(lx, at, "expected a number, not '%s'", buf);
	if (slash) {
		double d = strtod(slash + 1, &end);
		if (*end || end == slash + 1 || d == 0)
			return syntax(lx, at, "bad fraction");
		*out /= d;
	}
	return ORX_OK;
}

/* gain=NUMBER | NAME | NAME(NUMBER) */
static int parse_gain(lexer *lx, orx_rule_action *a)
{
	const char *at = lx->p;
	double check;

	if (lx->p < lx->end &&
	    (isdigit((unsigned char)*lx->p) || *lx->p == '.')) {
		a->gain_kind = ORX_GAIN_VALUE;
		return parse_number(lx, &a->spec.gain);
	}
	size_t len = word(lx);
	if (len == 0 || len >= sizeof(a->gain_name))
		return syntax(lx, at, "expected a gain: a number or a name");
	memcpy(a->gain_name, at, len);
	a->gain_name[len] = '\0';
	if (orx_gain(&check, a->gain_name, 0.01) != ORX_OK)
		return syntax(lx, at,
			      "unknown gain '%s' (linear, sigmoid, tanh, "
			      "relu, leaky_relu, selu, activation, or a "
			      "number)",
			      a->gain_name);
	a->gain_kind = ORX_GAIN_NAMED;
	a->gain_param = NAN;
	if (lx->p < lx->end && *lx->p == '(') {
		lx->p++;
		if (parse_number(lx, &a->gain_param) != ORX_OK)
			return ORX_EINVALID;
		if (lx->p >= lx->end || *lx->p != ')')
			return syntax(lx, lx->p, "expected ')'");
		lx->p++;
	}
	return ORX_OK;
}

static int parse_choice(lexer *lx, const char *const *names, size_t n, int *out,
			const char *what)
{
	const char *at = lx->p;
	size_t len = word(lx);

	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == len && !strncmp(names[i], at, len)) {
			*out = (int)i;
			return ORX_OK;
		}
	return syntax(lx, at, "unknown %s '%.*s'", what, (int)len, at);
}

/* The arguments of a scheme, as bits of what a rule gave. */
enum {
	ARG_GAIN = 1 << 0,
	ARG_MODE = 1 << 1,
	ARG_FANS = 1 << 2,
	ARG_VALUE = 1 << 3,
	ARG_MEAN = 1 << 4,
	ARG_STD = 1 << 5,
	ARG_LOW = 1 << 6,
	ARG_HIGH = 1 << 7,
	ARG_RESIDUAL = 1 << 8,
	ARG_GAINS = 1 << 9
};

static bool scaling_or_orthogonal(orx_scheme s)
{
	return orx_scheme_is_scaling(s) || s == ORX_SCHEME_ORTHOGONAL;
}

static bool scaling(orx_scheme s)
{
	return orx_scheme_is_scaling(s);
}

static bool constant_like(orx_scheme s)
{
	return s == ORX_SCHEME_CONSTANT || s == ORX_SCHEME_FORGET_BIAS;
}

static bool normal_like(orx_scheme s)
{
	return s == ORX_SCHEME_NORMAL || s == ORX_SCHEME_TRUNC_NORMAL;
}

static bool uniform(orx_scheme s)
{
	return s == ORX_SCHEME_UNIFORM;
}

#define NUMBER(field) offsetof(orx_init_spec, field)
#define SPECIAL SIZE_MAX

/* A row per argument: the schemes that take it, and the number of the
 * spec it sets (SPECIAL: parsed on its own). */
static const struct {
	const char *key;
	unsigned bit;
	bool (*takes)(orx_scheme s);
	size_t number;
} arguments[] = {
	{"gain", ARG_GAIN, scaling_or_orthogonal, SPECIAL},
	{"mode", ARG_MODE, scaling, SPECIAL},
	{"fans", ARG_FANS, scaling_or_orthogonal, SPECIAL},
	{"residual", ARG_RESIDUAL, scaling, SPECIAL},
	{"gains", ARG_GAINS, scaling, SPECIAL},
	{"value", ARG_VALUE, constant_like, NUMBER(value)},
	{"mean", ARG_MEAN, normal_like, NUMBER(mean)},
	{"std", ARG_STD, normal_like, NUMBER(std)},
	{"low", ARG_LOW, uniform, NUMBER(low)},
	{"high", ARG_HIGH, uniform, NUMBER(high)},
};

/* The key of the ARG at lx (KEY=, consumed), or of positional value pos
 * of scheme s (constant(v), normal(mean, std), uniform(low, high)). */
static int arg_key(lexer *lx, char *key, size_t size, orx_scheme s, int pos)
{
	static const char *const pos_keys[3][2] = {
		{"value", NULL}, {"mean", "std"}, {"low", "high"}};
	const char *at = lx->p, *eq;
	int row;

	for (eq = lx->p; eq < lx->end && *eq != '=' && *eq != ',' && *eq != ')';
	     eq++)
		;
	if (eq < lx->end && *eq == '=') {
		if ((size_t)(eq - at) >= size)
			return syntax(lx, at, "unknown argument");
		memcpy(key, at, (size_t)(eq - at));
		key[eq - at] = '\0';
		lx->p = eq + 1;
		return ORX_OK;
	}
	row = constant_like(s) ? 0 : normal_like(s) ? 1 : uniform(s) ? 2 : -1;
	if (row < 0 || pos > 1 || !pos_keys[row][pos])
		return syntax(lx, at,
			      "%s takes no value in this place; write "
			      "KEY=VALUE",
			      orx_scheme_name(s));
	snprintf(key, size, "%s", pos_keys[row][pos]);
	return ORX_OK;
}

/* gains=none|undo, residual=none|sqrt_depth: off or on. */
static int parse_switch(lexer *lx, orx_rule_action *a, unsigned bit)
{
	static const char *const gains[] = {"none", "undo"},
				 *const residual[] = {"none", "sqrt_depth"};
	int on = 0;

	if (parse_choice(lx, bit == ARG_GAINS ? gains : residual, 2, &on,
			 bit == ARG_GAINS ? "gains" : "residual scaling"))
		return ORX_EINVALID;
	*(bit == ARG_GAINS ? &a->gains : &a->residual) = on == 1;
	return ORX_OK;
}

/* One ARG: KEY=VALUE, or a positional VALUE (position pos); the
 * argument's ARG_ bit is added to *given. */
static int parse_arg(lexer *lx, orx_rule_action *a, int pos, unsigned *given)
{
	static const char *const modes[] = {"fan_in", "fan_out", "fan_avg"};
	static const char *const conventions[] = {"exact", "pytorch", "whole"};
	orx_scheme s = a->spec.scheme;
	const char *at = lx->p;
	char key[16] = "";
	int choice = 0;
	size_t k = 0, n = sizeof(arguments) / sizeof(arguments[0]);

	if (arg_key(lx, key, sizeof(key), s, pos) != ORX_OK)
		return ORX_EINVALID;
	while (k < n && strcmp(arguments[k].key, key))
		k++;
	if (k == n)
		return syntax(lx, at, "unknown argument '%s'", key);
	if (!arguments[k].takes(s))
		return syntax(lx, at, "%s does not take '%s'",
			      orx_scheme_name(s), key);
	*given |= arguments[k].bit;
	if (arguments[k].number != SPECIAL)
		return parse_number(lx,
				    (double *)(void *)((char *)&a->spec +
						       arguments[k].number));
	if (arguments[k].bit == ARG_GAIN)
		return parse_gain(lx, a);
	if (arguments[k].bit == ARG_GAINS || arguments[k].bit == ARG_RESIDUAL)
		return parse_switch(lx, a, arguments[k].bit);
	if (arguments[k].bit == ARG_MODE) {
		if (parse_choice(lx, modes, 3, &choice, "mode"))
			return ORX_EINVALID;
		a->spec.mode = (orx_fan_mode)(choice + 1);
		return ORX_OK;
	}
	if (parse_choice(lx, conventions, 3, &choice, "fan convention"))
		return ORX_EINVALID;
	a->fans = (orx_fan_convention)choice;
	return ORX_OK;
}

/* The arguments a scheme cannot do without. */
static int check_required(lexer *lx, const char *at, orx_rule_action *a,
			  unsigned given)
{
	orx_scheme s = a->spec.scheme;

	if (s == ORX_SCHEME_CONSTANT && !(given & ARG_VALUE))
		return syntax(lx, at, "constant needs a value: constant(0.1)");
	if (s == ORX_SCHEME_FORGET_BIAS && !(given & ARG_VALUE))
		a->spec.value =
			1; /* Jozefowicz et al.; Keras's unit_forget_bias */
	if ((s == ORX_SCHEME_NORMAL || s == ORX_SCHEME_TRUNC_NORMAL) &&
	    !(given & ARG_STD))
		return syntax(lx, at, "%s needs std: %s(0, 0.02)",
			      orx_scheme_name(s), orx_scheme_name(s));
	if ((s == ORX_SCHEME_NORMAL || s == ORX_SCHEME_TRUNC_NORMAL) &&
	    a->spec.std < 0)
		return syntax(lx, at, "std must not be negative");
	if (s == ORX_SCHEME_UNIFORM &&
	    (given & (ARG_LOW | ARG_HIGH)) != (ARG_LOW | ARG_HIGH))
		return syntax(lx, at,
			      "uniform needs low and high: "
			      "uniform(-0.1, 0.1)");
	if (s == ORX_SCHEME_UNIFORM && a->spec.low > a->spec.high)
		return syntax(lx, at, "uniform needs low <= high");
	if (a->gain_kind == ORX_GAIN_VALUE && !(a->spec.gain > 0))
		return syntax(lx, at, "gain must be positive");
	return ORX_OK;
}

static int parse_action(lexer *lx, orx_rule_action *a)
{
	const char *at = lx->p;
	size_t len = word(lx);
	char name[32];
	unsigned given = 0;
	int pos = 0;

	if (len == 0 || len >= sizeof(name))
		return syntax(lx, at, "expected a scheme after '=>'");
	memcpy(name, at, len);
	name[len] = '\0';
	if (orx_scheme_from_name(&a->spec.scheme, name) != ORX_OK)
		return syntax(lx, at, "unknown scheme '%s'", name);
	skip_space(lx);
	if (lx->p < lx->end && *lx->p == '(') {
		lx->p++;
		skip_space(lx);
		while (lx->p < lx->end && *lx->p != ')') {
			if (parse_arg(lx, a, pos++, &given) != ORX_OK)
				return ORX_EINVALID;
			skip_space(lx);
			if (lx->p < lx->end && *lx->p == ',') {
				lx->p++;
				skip_space(lx);
			} else if (lx->p < lx->end && *lx->p != ')') {
				return syntax(lx, lx->p, "expected ',' or ')'");
			}
		}
		if (lx->p >= lx->end)
			return syntax(lx, lx->p, "expected ')'");
		lx->p++;
	}
	skip_space(lx);
	if (lx->p < lx->end)
		return syntax(lx, lx->p, "unexpected '%c' after the action",
			      *lx->p);
	return check_required(lx, at, a, given);
}

/*** @@LINES ***/

static void rule_clear(rule *r)
{
	for (size_t i = 0; i < r->n_ops; i++)
		free(r->ops[i]);
	for (size_t i = 0; i < r->n_acts; i++)
		free(r->acts[i]);
	for (size_t i = 0; i < r->n_names; i++)
		free(r->names[i]);
	for (size_t i = 0; i < r->n_graphs; i++)
		free(r->graphs[i]);
	for (size_t i = 0; i < r->n_gates; i++)
		free(r->gates[i]);
	free(r->file);
}

/* One line (without its newline) into r; *empty when it holds no rule. */
static int parse_line(lexer *lx, rule *r, bool *empty)
{
	const char *hash = memchr(lx->p, '#', (size_t)(lx->end - lx->p));
	int rc;

	if (hash)
		lx->end = hash;
	skip_space(lx);
	*empty = lx->p == lx->end;
	if (*empty)
		return ORX_OK;
	for (;;) {
		skip_space(lx);
		if (lx->p == lx->end)
			return syntax(lx, lx->p, "expected '=>' and an action");
		if (lx->end - lx->p >= 2 && !strncmp(lx->p, "=>", 2))
			break;
		if ((rc = parse_match(lx, r)) != ORX_OK)
			return rc;
	}
	lx->p += 2;
	skip_space(lx);
	r->action.spec.scheme = ORX_SCHEME_KEEP;
	r->action.fans = ORX_FANS_EXACT;
	return parse_action(lx, &r->action);
}

static int push(orx_rules *rules, const rule *r)
{
	rule *all = orx_room(rules->rules, &rules->cap, rules->n, sizeof(*all));

	if (!all)
		return ORX_ENOMEM;
	rules->rules = all;
	rules->rules[rules->n++] = *r;
	return ORX_OK;
}

int orx_rules_add_text(orx_rules *rules, const char *text, size_t len,
		       const char *file)
{
	size_t first = rules->n;
	const char *p = text, *end = text + len;
	unsigned line = 0;
	int rc = ORX_OK;

	while (p < end && rc == ORX_OK) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		lexer lx = {file, ++line, p, p, eol};
		rule r = {0};
		bool empty;

		if (memchr(p, '\0', (size_t)(eol - p)))
			rc = syntax(&lx, p, "NUL byte in a rules file");
		else
			rc = parse_line(&lx, &r, &empty);
		if (rc == ORX_OK && !empty) {
			r.file = strdup(file);
			r.line = line;
			rc = r.file ? push(rules, &r)
				    : orx_fail(ORX_ENOMEM, "out of memory");
		}
		if (rc != ORX_OK || empty)
			rule_clear(&r);
		p = eol + 1;
	}
	if (rc != ORX_OK) { /* all or nothing */
		while (rules->n > first)
			rule_clear(&rules->rules[--rules->n]);
	}
	return rc;
}

int orx_rules_add_file(orx_rules *rules, const char *path)
{
	uint8_t *data;
	size_t len;
	int rc = orx_read_all(&data, &len, path);

	if (rc != ORX_OK)
		return rc; /* the caller names the file */
	rc = orx_rules_add_text(rules, (const char *)data, len, path);
	free(data);
	return rc;
}

extern const unsigned char orx_default_rules[];
extern const unsigned long orx_default_rules_len;

int orx_rules_add_defaults(orx_rules *rules)
{
	return orx_rules_add_text(rules, (const char *)orx_default_rules,
				  orx_default_rules_len, "rules/default.rules");
}

/* rules/profiles/NAME.rules, compiled in (profiles.c, made by CMake). */
extern const struct {
	const char *name;
	const unsigned char *text;
	size_t len;
	const char *file;
} orx_profiles[];

int orx_rules_add_profile(orx_rules *rules, const char *name)
{
	char known[128];
	size_t used;
	int rc;

	if (!name || strcmp(name, "seed") == 0)
		return orx_rules_add_defaults(rules);
	for (size_t i = 0; orx_profiles[i].name; i++)
		if (strcmp(name, orx_profiles[i].name) == 0)
			return (rc = orx_rules_add_text(
					rules,
					(const char *)orx_profiles[i].text,
					orx_profiles[i].len,
					orx_profiles[i].file)) != ORX_OK
				       ? rc
				       : orx_rules_add_defaults(rules);
	used = (size_t)snprintf(known, sizeof(known), "seed");
	for (size_t i = 0; orx_profiles[i].name && used < sizeof(known); i++)
		used += (size_t)snprintf(known + used, sizeof(known) - used,
					 ", %s", orx_profiles[i].name);
	return orx_fail(ORX_EINVALID, "unknown profile '%s' (%s)", name, known);
}

int orx_rules_new(orx_rules **out)
{
	if (!(*out = calloc(1, sizeof(**out))))
		return orx_fail(ORX_ENOMEM, "out of memory");
	return ORX_OK;
}

void orx_rules_free(orx_rules *rules)
{
	if (!rules)
		return;
	for (size_t i = 0; i < rules->n; i++)
		rule_clear(&rules->rules[i]);
	free(rules->rules);
	free(rules);
}

/*** @@MATCH ***/

static bool any_equal(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

static bool any_glob(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(list[i], s, 0) == 0)
			return true;
	return false;
}

const orx_rule_action *orx_rules_match(const orx_rules *rules,
				       const orx_rule_query *q,
				       const char **file, unsigned *line)
{
	for (size_t i = 0; i < rules->n; i++) {
		const rule *r = &rules->rules[i];
		if ((r->n_ops && !any_equal(r->ops, r->n_ops, q->op) &&
		     !(q->unfused &&
		       any_equal(r->ops, r->n_ops, q->unfused))) ||
		    (r->n_acts &&
		     !any_equal(r->acts, r->n_acts, q->activation)) ||
		    (r->roles && !(r->roles & (1u << q->role))) ||
		    (r->n_names && !any_glob(r->names, r->n_names, q->name)) ||
		    (r->n_graphs &&
		     !any_glob(r->graphs, r->n_graphs, q->graph)) ||
		    (r->n_gates &&
		     (!q->gate || !any_equal(r->gates, r->n_gates, q->gate))) ||
		    (r->branch && r->branch != BRANCH_NONE + (int)q->residual))
			continue;
		*file = r->file;
		*line = r->line;
		return &r->action;
	}
	return NULL;
}
