// SPDX-License-Identifier: Apache-2.0
/*
 * Label selectors (metav1.LabelSelector): matchLabels and matchExpressions,
 * ANDed.  A parsed selector is stored canonically (requirements sorted and
 * deduplicated, values sorted and deduplicated) so that two selectors
 * meaning the same thing written in another order share one cache entry.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

struct req_tmp {
	const char *key;
	const char **vals;
	uint32_t n_vals;
	uint8_t op;
};

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int req_cmp(const void *pa, const void *pb)
{
	const struct req_tmp *a = pa, *b = pb;
	int r = strcmp(a->key, b->key);

	if (r)
		return r;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	if (a->n_vals != b->n_vals)
		return a->n_vals < b->n_vals ? -1 : 1;
	for (uint32_t i = 0; i < a->n_vals; i++) {
		r = strcmp(a->vals[i], b->vals[i]);
		if (r)
			return r;
	}
	return 0;
}

/* A JSON string without NUL bytes inside (labels cannot hold them). */
static const char *clean_str(const json_t *j)
{
	const char *s = json_string_value(j);

	return s && strlen(s) == json_string_length(j) ? s : NULL;
}

static const struct {
	const char *name;
	uint8_t op;
} ops[] = {
	{ "In", POL_OP_IN },
	{ "NotIn", POL_OP_NOT_IN },
	{ "Exists", POL_OP_EXISTS },
	{ "DoesNotExist", POL_OP_DOES_NOT_EXIST },
};

static int parse_expr(const json_t *e, const char *path, size_t i, struct req_tmp *r,
		      char *err, size_t errlen)
{
	const json_t *vals = json_object_get(e, "values"), *v;
	const char *op = json_string_value(json_object_get(e, "operator"));
	size_t j;

	if (!json_is_object(e)) {
		pol_errf(err, errlen, "%s.matchExpressions[%zu]: not an object", path, i);
		return -EINVAL;
	}
	r->key = clean_str(json_object_get(e, "key"));
	if (!r->key || !*r->key) {
		pol_errf(err, errlen, "%s.matchExpressions[%zu]: key missing or not a string",
			 path, i);
		return -EINVAL;
	}
	r->op = 0;
	for (j = 0; op && j < sizeof(ops) / sizeof(ops[0]); j++)
		if (!strcmp(op, ops[j].name))
			r->op = ops[j].op;
	if (!r->op) {
		pol_errf(err, errlen,
			 "%s.matchExpressions[%zu]: operator \"%s\" is not In, NotIn, Exists or DoesNotExist",
			 path, i, op ? op : "");
		return -EINVAL;
	}
	if (vals && !json_is_null(vals) && !json_is_array(vals)) {
		pol_errf(err, errlen, "%s.matchExpressions[%zu]: values is not a list", path, i);
		return -EINVAL;
	}
	r->n_vals = json_is_array(vals) ? json_array_size(vals) : 0;
	if ((r->op == POL_OP_IN || r->op == POL_OP_NOT_IN) && !r->n_vals) {
		pol_errf(err, errlen, "%s.matchExpressions[%zu]: %s needs at least one value",
			 path, i, op);
		return -EINVAL;
	}
	if ((r->op == POL_OP_EXISTS || r->op == POL_OP_DOES_NOT_EXIST) && r->n_vals) {
		pol_errf(err, errlen, "%s.matchExpressions[%zu]: %s takes no values", path, i, op);
		return -EINVAL;
	}
	if (!r->n_vals)
		return 0;
	r->vals = calloc(r->n_vals, sizeof(*r->vals));
	if (!r->vals)
		return -ENOMEM;
	json_array_foreach(vals, j, v) {
		r->vals[j] = clean_str(v);
		if (!r->vals[j]) {
			pol_errf(err, errlen, "%s.matchExpressions[%zu].values[%zu]: not a string",
				 path, i, j);
			return -EINVAL;
		}
	}
	return 0;
}

/* Sorts and deduplicates @r's values and the requirements, then lays them
 * out in one text block. */
static int sel_build(struct req_tmp *r, uint32_t n, struct pol_sel *ret)
{
	size_t len = 0;
	uint32_t m = 0;
	char *p;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = 0;

		if (r[i].n_vals)
			qsort(r[i].vals, r[i].n_vals, sizeof(*r[i].vals), strp_cmp);
		for (uint32_t j = 0; j < r[i].n_vals; j++)
			if (!k || strcmp(r[i].vals[k - 1], r[i].vals[j]))
				r[i].vals[k++] = r[i].vals[j];
		r[i].n_vals = k;
	}
	if (n)
		qsort(r, n, sizeof(*r), req_cmp);
	for (uint32_t i = 0; i < n; i++) {
		if (m && !req_cmp(&r[m - 1], &r[i])) {
			free(r[i].vals);
			r[i].vals = NULL;
			continue;
		}
		struct req_tmp keep = r[i];

		r[i].vals = NULL;	/* moved: freed once, from its new slot */
		r[m++] = keep;
	}
	for (uint32_t i = 0; i < m; i++) {
		len += 1 + sizeof(uint32_t) + strlen(r[i].key) + 1;
		for (uint32_t j = 0; j < r[i].n_vals; j++)
			len += strlen(r[i].vals[j]) + 1;
	}
	if (len > UINT32_MAX)
		return -EINVAL;
	ret->text = malloc(len ? len : 1);
	ret->reqs = calloc(m ? m : 1, sizeof(*ret->reqs));
	if (!ret->text || !ret->reqs) {
		pol_sel_clear(ret);
		return -ENOMEM;
	}
	ret->n_reqs = m;
	ret->textlen = len;
	p = ret->text;
	/* op, n_vals, key\0, values\0...: a decodable, hence canonical, form */
	for (uint32_t i = 0; i < m; i++) {
		struct pol_req *q = &ret->reqs[i];

		*p++ = (char)r[i].op;
		memcpy(p, &r[i].n_vals, sizeof(uint32_t));
		p += sizeof(uint32_t);
		q->op = r[i].op;
		q->n_vals = r[i].n_vals;
		q->key = p;
		p = stpcpy(p, r[i].key) + 1;
		q->vals = p;
		for (uint32_t j = 0; j < r[i].n_vals; j++)
			p = stpcpy(p, r[i].vals[j]) + 1;
	}
	return 0;
}

int pol_sel_parse(const json_t *j, const char *path, struct pol_sel *ret, char *err, size_t errlen)
{
	const json_t *ml = json_object_get(j, "matchLabels");
	const json_t *me = json_object_get(j, "matchExpressions");
	struct req_tmp *r = NULL;
	uint32_t n = 0;
	const char *k;
	json_t *v;
	size_t i;
	int err_;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(j)) {
		pol_errf(err, errlen, "%s: not an object", path);
		return -EINVAL;
	}
	if (ml && !json_is_null(ml) && !json_is_object(ml)) {
		pol_errf(err, errlen, "%s.matchLabels: not an object", path);
		return -EINVAL;
	}
	if (me && !json_is_null(me) && !json_is_array(me)) {
		pol_errf(err, errlen, "%s.matchExpressions: not a list", path);
		return -EINVAL;
	}
	r = calloc(json_object_size(ml) + json_array_size(me) + 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	err_ = -EINVAL;
	json_object_foreach((json_t *)ml, k, v) {
		struct req_tmp *q = &r[n++];

		q->key = k;
		q->op = POL_OP_IN;
		q->n_vals = 1;
		q->vals = calloc(1, sizeof(*q->vals));
		if (!q->vals) {
			err_ = -ENOMEM;
			goto out;
		}
		q->vals[0] = clean_str(v);
		if (!*k || !q->vals[0]) {
			pol_errf(err, errlen,
				 "%s.matchLabels: \"%s\" is not a label and string value", path, k);
			goto out;
		}
	}
	json_array_foreach(me, i, v) {
		err_ = parse_expr(v, path, i, &r[n++], err, errlen);
		if (err_ < 0)
			goto out;
	}
	err_ = sel_build(r, n, ret);
	if (err_ == -EINVAL)
		pol_errf(err, errlen, "%s: too large", path);
out:
	for (uint32_t q = 0; q < n; q++)
		free(r[q].vals);
	free(r);
	return err_;
}

static bool req_has(const struct pol_req *r, const char *v)
{
	const char *p = r->vals;

	for (uint32_t i = 0; i < r->n_vals; i++) {
		int c = strcmp(p, v);

		if (!c)
			return true;
		if (c > 0)	/* sorted */
			return false;
		p += strlen(p) + 1;
	}
	return false;
}

bool pol_sel_match(const struct pol_sel *s, const struct pol_labels *l)
{
	for (uint32_t i = 0; i < s->n_reqs; i++) {
		const struct pol_req *r = &s->reqs[i];
		const char *v = pol_labels_get(l, r->key);

		switch (r->op) {
		case POL_OP_IN:
			if (!v || !req_has(r, v))
				return false;
			break;
		case POL_OP_NOT_IN:	/* an absent key is not in the set */
			if (v && req_has(r, v))
				return false;
			break;
		case POL_OP_EXISTS:
			if (!v)
				return false;
			break;
		case POL_OP_DOES_NOT_EXIST:
			if (v)
				return false;
			break;
		}
	}
	return true;
}

void pol_sel_clear(struct pol_sel *s)
{
	free(s->reqs);
	free(s->text);
	memset(s, 0, sizeof(*s));
}
