// SPDX-License-Identifier: Apache-2.0
#include "watch.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "cache.h"
#include "client.h"
#include "linebuf.h"
#include "log.h"

#define MAX_LIST_PAGE (256u << 20)
/* A watch that ends sooner than this without an event is not "clean": do
 * not hammer a server that closes watches at once. */
#define MIN_CLEAN_WATCH_MS 1000

enum state { ST_IDLE, ST_LISTING, ST_WATCHING, ST_WAITING };

struct k8s_reflector {
	struct k8s_client *client;
	const struct k8s_kind *kind;
	struct k8s_handlers h;
	void *data;
	char *field_selector;
	unsigned limit;
	uint32_t wt_min_s, wt_max_s;

	struct k8s_cache *cache;
	enum state state;
	enum k8s_next pending;	/* what the backoff timer will do */
	struct k8s_req *req;
	struct k8s_timer timer;
	struct k8s_backoff backoff;
	uint32_t gen;		/* bumped per LIST; the cache sweeps older ones */
	bool synced;
	char *rv;		/* where the next watch starts */
	char *cont;

	char *body;		/* the LIST page being received */
	size_t body_len, body_cap;
	struct k8s_linebuf lines;
	uint64_t watch_start_ms;
	unsigned watch_events;
	struct k8s_reflector_stats stats;
	char errbody[256];	/* start of a non-200 answer, for the log */
};

static void list_next_page(struct k8s_reflector *r);
static void watch_start(struct k8s_reflector *r);

static int set_str(char **dst, const char *src)
{
	char *s = src ? strdup(src) : NULL;

	if (src && !s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

/* --- applying objects to the cache --------------------------------------- */

static void upsert(struct k8s_reflector *r, struct k8s_meta *m)
{
	struct k8s_meta *old;
	int err;

	err = k8s_cache_put(r->cache, m, r->gen, &old);
	if (err < 0) {
		log_error("k8s cache insert failed", "resource=%s name=%s err=%s", r->kind->name,
			  m->name, log_errno_name(err));
		r->kind->free(m);
		return;
	}
	if (!old) {
		if (r->h.on_add)
			r->h.on_add(r->data, m);
		return;
	}
	/* Same resourceVersion: the same object seen again (relist). */
	if (strcmp(old->rv, m->rv) && r->h.on_update)
		r->h.on_update(r->data, old, m);
	r->kind->free(old);
}

static void remove_obj(struct k8s_reflector *r, const char *ns, const char *name)
{
	struct k8s_meta *old = k8s_cache_del(r->cache, ns, name);

	if (!old)
		return;
	if (r->h.on_delete)
		r->h.on_delete(r->data, old);
	r->kind->free(old);
}

static void swept(void *data, struct k8s_meta *m)
{
	struct k8s_reflector *r = data;

	if (r->h.on_delete)
		r->h.on_delete(r->data, m);
	r->kind->free(m);
}

static int decode_obj(struct k8s_reflector *r, const json_t *obj, struct k8s_meta **ret)
{
	int err = r->kind->decode(obj, ret);

	if (err == -EBADMSG) {
		const json_t *md = json_object_get(obj, "metadata");

		log_warn("k8s object not understood, ignored", "resource=%s namespace=%s name=%s",
			 r->kind->name, json_string_value(json_object_get(md, "namespace")) ?: "",
			 json_string_value(json_object_get(md, "name")) ?: "?");
	}
	return err;
}

/* --- LIST ------------------------------------------------------------------ */

void k8s_reflector_list_begin(struct k8s_reflector *r)
{
	r->gen++;
	free(r->cont);
	r->cont = NULL;
}

int k8s_reflector_list_page(struct k8s_reflector *r, const char *body, size_t len,
			    char **ret_cont)
{
	const json_t *items, *md, *it;
	json_error_t jerr;
	const char *rv, *cont;
	json_t *root;
	size_t i;
	int err = 0;

	root = json_loadb(body, len, 0, &jerr);
	if (!root) {
		log_warn("k8s list not JSON", "resource=%s reason=\"%s\"", r->kind->name, jerr.text);
		return -EBADMSG;
	}
	md = json_object_get(root, "metadata");
	rv = json_string_value(json_object_get(md, "resourceVersion"));
	items = json_object_get(root, "items");
	if (!rv || !*rv || (!json_is_array(items) && !json_is_null(items) && items)) {
		log_warn("k8s list malformed", "resource=%s", r->kind->name);
		err = -EBADMSG;
		goto out;
	}
	json_array_foreach(items, i, it) {
		struct k8s_meta *m;

		err = decode_obj(r, it, &m);
		if (err == -EBADMSG)
			continue;
		if (err < 0)
			goto out;
		upsert(r, m);
	}
	err = set_str(&r->rv, rv);
	if (err < 0)
		goto out;
	cont = json_string_value(json_object_get(md, "continue"));
	*ret_cont = NULL;
	if (cont && *cont) {
		*ret_cont = strdup(cont);
		if (!*ret_cont)
			err = -ENOMEM;
	}
out:
	json_decref(root);
	return err;
}

void k8s_reflector_list_end(struct k8s_reflector *r)
{
	k8s_cache_sweep(r->cache, r->gen, swept, r);
	r->synced = true;
	if (r->h.on_synced)
		r->h.on_synced(r->data, k8s_cache_count(r->cache));
}

static void retry_later(struct k8s_reflector *r, enum k8s_next what)
{
	uint32_t ms = k8s_backoff_next(&r->backoff);

	r->stats.failures++;
	if (what == K8S_NEXT_BACKOFF_REWATCH)
		r->stats.reconnects++;

	r->state = ST_WAITING;
	r->pending = what;
	k8s_timer_arm(r->client, &r->timer, ms);
}

static void log_failure(struct k8s_reflector *r, const char *what, int err, long status,
			const char *msg)
{
	if (err)
		log_warn("k8s request failed, retrying", "resource=%s request=%s err=%s detail=\"%s\"",
			 r->kind->name, what, log_errno_name(err), msg ? msg : "");
	else
		log_warn("k8s request failed, retrying", "resource=%s request=%s status=%ld body=%s",
			 r->kind->name, what, status, r->errbody[0] ? r->errbody : "-");
}

/* Keep the start of a non-200 answer: the apiserver's Status says why. */
static void keep_errbody(struct k8s_reflector *r, const char *buf, size_t len)
{
	size_t have = strlen(r->errbody), room = sizeof(r->errbody) - 1 - have;

	if (len > room)
		len = room;
	for (size_t i = 0; i < len; i++)
		r->errbody[have + i] = (buf[i] == '\n' || buf[i] == '"') ? ' ' : buf[i];
	r->errbody[have + len] = '\0';
}

static int list_data(void *data, long status, const char *buf, size_t len)
{
	struct k8s_reflector *r = data;

	if (status != 200) {
		keep_errbody(r, buf, len);
		return 0;
	}
	if (r->body_len + len > MAX_LIST_PAGE)
		return -EMSGSIZE;
	if (r->body_len + len > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 65536;
		char *p;

		while (cap < r->body_len + len)
			cap *= 2;
		p = realloc(r->body, cap);
		if (!p)
			return -ENOMEM;
		r->body = p;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, buf, len);
	r->body_len += len;
	return 0;
}

static void body_release(struct k8s_reflector *r)
{
	/* A page of 500 pods is megabytes: give it back between pages. */
	free(r->body);
	r->body = NULL;
	r->body_len = r->body_cap = 0;
}

static void list_done(void *data, int err, long status, const char *msg)
{
	struct k8s_reflector *r = data;
	char *cont = NULL;

	r->req = NULL;
	if (!err && status == 410) {
		/* The continue token expired mid-list: start over. */
		body_release(r);
		log_info("k8s list continue token expired, relisting", "resource=%s",
			 r->kind->name);
		k8s_reflector_list_begin(r);
		list_next_page(r);
		return;
	}
	if (err || status != 200) {
		body_release(r);
		log_failure(r, "list", err, status, msg);
		retry_later(r, K8S_NEXT_RELIST);
		return;
	}
	err = k8s_reflector_list_page(r, r->body, r->body_len, &cont);
	body_release(r);
	if (err < 0) {
		retry_later(r, K8S_NEXT_RELIST);
		return;
	}
	if (cont) {
		free(r->cont);
		r->cont = cont;
		list_next_page(r);
		return;
	}
	k8s_reflector_list_end(r);
	r->stats.lists++;
	log_info("k8s synced", "resource=%s objects=%zu rv=%s", r->kind->name,
		 k8s_cache_count(r->cache), r->rv);
	k8s_backoff_reset(&r->backoff);
	watch_start(r);
}

/* Percent-encode a query value (continue tokens are base64, selectors
 * hold '=' and ','). */
static int query_escape(const char *s, char **ret)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *p = out;

	if (!out)
		return -ENOMEM;
	for (; *s; s++) {
		unsigned char c = *s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			*p++ = c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	*ret = out;
	return 0;
}

/* kind path + "?" + @query + the field selector, if any. */
static int build_path(struct k8s_reflector *r, const char *query, char **ret)
{
	char *fs = NULL;
	int n;

	if (r->field_selector && query_escape(r->field_selector, &fs) < 0)
		return -ENOMEM;
	n = asprintf(ret, "%s?%s%s%s", r->kind->path, query, fs ? "&fieldSelector=" : "",
		     fs ? fs : "");
	free(fs);
	return n < 0 ? -ENOMEM : 0;
}

static void list_next_page(struct k8s_reflector *r)
{
	struct k8s_req_opts o = {
		.on_data = list_data, .on_done = list_done, .data = r, .timeout_s = 120,
		.stall_s = 15,
	};
	char query[64], *cont = NULL, *q = NULL, *path = NULL;
	int err;

	r->state = ST_LISTING;
	r->errbody[0] = '\0';
	snprintf(query, sizeof(query), "limit=%u", r->limit);
	if (r->cont) {
		err = query_escape(r->cont, &cont);
		if (err < 0)
			goto fail;
		if (asprintf(&q, "%s&continue=%s", query, cont) < 0) {
			q = NULL;
			err = -ENOMEM;
			goto fail;
		}
	}
	err = build_path(r, q ? q : query, &path);
	if (err < 0)
		goto fail;
	o.path = path;
	err = k8s_req_start(r->client, &o, &r->req);
	if (err < 0)
		goto fail;
	free(path);
	free(q);
	free(cont);
	return;
fail:
	free(path);
	free(q);
	free(cont);
	log_failure(r, "list", err, 0, "cannot start request");
	retry_later(r, K8S_NEXT_RELIST);
}

static void relist(struct k8s_reflector *r)
{
	k8s_reflector_list_begin(r);
	list_next_page(r);
}

/* --- WATCH ----------------------------------------------------------------- */

int k8s_reflector_watch_line(struct k8s_reflector *r, const char *line, size_t len)
{
	const json_t *obj;
	const char *type, *rv;
	struct k8s_meta *m, key;
	json_error_t jerr;
	json_t *ev;
	int err = 0;

	ev = json_loadb(line, len, 0, &jerr);
	if (!ev) {
		log_warn("k8s watch event not JSON", "resource=%s reason=\"%s\"", r->kind->name,
			 jerr.text);
		return -EBADMSG;
	}
	type = json_string_value(json_object_get(ev, "type"));
	obj = json_object_get(ev, "object");
	if (!type || !json_is_object(obj)) {
		err = -EBADMSG;
		goto out;
	}
	r->watch_events++;
	r->stats.events++;
	if (!strcmp(type, "ERROR")) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));

		if (code == 410) {
			log_info("k8s watch expired (410 Gone), relisting", "resource=%s rv=%s",
				 r->kind->name, r->rv ? r->rv : "");
			err = -ESTALE;
		} else {
			log_warn("k8s watch error event", "resource=%s code=%lld message=\"%s\"",
				 r->kind->name, (long long)code,
				 json_string_value(json_object_get(obj, "message")) ?: "");
			err = -EREMOTEIO;
		}
		goto out;
	}
	rv = json_string_value(json_object_get(json_object_get(obj, "metadata"),
					       "resourceVersion"));
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
		err = decode_obj(r, obj, &m);
		if (err == -EBADMSG) {
			err = 0;	/* skipped, but still moves the RV on */
		} else if (err < 0) {
			goto out;
		} else {
			upsert(r, m);
		}
	} else if (!strcmp(type, "DELETED")) {
		err = k8s_meta_decode(obj, &key);
		if (err < 0)
			goto out;
		remove_obj(r, key.ns, key.name);
		k8s_meta_clear(&key);
	} else if (strcmp(type, "BOOKMARK")) {
		log_debug("k8s watch event of unknown type ignored", "resource=%s type=%s",
			  r->kind->name, type);
	}
	if (rv && *rv)
		err = set_str(&r->rv, rv);
out:
	json_decref(ev);
	return err;
}

static int watch_line(void *arg, const char *line, size_t len)
{
	return k8s_reflector_watch_line(arg, line, len);
}

static int watch_data(void *data, long status, const char *buf, size_t len)
{
	struct k8s_reflector *r = data;

	if (status != 200) {
		keep_errbody(r, buf, len);
		return 0;
	}
	return k8s_linebuf_feed(&r->lines, buf, len, watch_line, r);
}

enum k8s_next k8s_watch_next(int err, long status)
{
	if (err == -ESTALE || (!err && status == 410))
		return K8S_NEXT_RELIST;
	if (err == -EBADMSG || err == -EREMOTEIO || err == -EMSGSIZE || err == -ENOMEM)
		return K8S_NEXT_BACKOFF_RELIST;
	if (err)	/* the connection broke: resume where it stopped */
		return K8S_NEXT_BACKOFF_REWATCH;
	if (status == 200)
		return K8S_NEXT_REWATCH;
	/* Overloaded or still starting (its watch cache not ready yet). */
	if (status == 429 || status >= 500)
		return K8S_NEXT_BACKOFF_REWATCH;
	return K8S_NEXT_BACKOFF_RELIST;
}

static void watch_done(void *data, int err, long status, const char *msg)
{
	struct k8s_reflector *r = data;
	enum k8s_next next = k8s_watch_next(err, status);

	r->req = NULL;
	k8s_linebuf_reset(&r->lines);
	if (next == K8S_NEXT_REWATCH && !r->watch_events &&
	    k8s_now_ms() - r->watch_start_ms < MIN_CLEAN_WATCH_MS)
		next = K8S_NEXT_BACKOFF_REWATCH;
	switch (next) {
	case K8S_NEXT_REWATCH:
		log_debug("k8s watch ended, resuming", "resource=%s rv=%s", r->kind->name, r->rv);
		k8s_backoff_reset(&r->backoff);
		watch_start(r);
		break;
	case K8S_NEXT_RELIST:
		relist(r);
		break;
	default:
		if (err != -ESTALE)
			log_failure(r, "watch", err, status, msg);
		retry_later(r, next);
		break;
	}
}

static void watch_start(struct k8s_reflector *r)
{
	struct k8s_req_opts o = { .on_data = watch_data, .on_done = watch_done, .data = r };
	uint32_t span = r->wt_max_s - r->wt_min_s + 1;
	uint32_t timeout = r->wt_min_s + k8s_backoff_rand(&r->backoff) % span;
	char query[512], *rv = NULL, *path = NULL;
	int err;

	err = query_escape(r->rv, &rv);
	if (err < 0)
		goto fail;
	snprintf(query, sizeof(query),
		 "watch=1&allowWatchBookmarks=true&timeoutSeconds=%u&resourceVersion=%.400s",
		 timeout, rv);
	err = build_path(r, query, &path);
	if (err < 0)
		goto fail;
	o.path = path;
	/* The server ends the watch at timeoutSeconds; this is the backstop
	 * for a server that vanished without a word. */
	o.timeout_s = timeout + 60;
	r->state = ST_WATCHING;
	r->errbody[0] = '\0';
	r->watch_events = 0;
	r->watch_start_ms = k8s_now_ms();
	r->stats.watches++;
	err = k8s_req_start(r->client, &o, &r->req);
	if (err < 0)
		goto fail;
	free(path);
	free(rv);
	return;
fail:
	free(path);
	free(rv);
	log_failure(r, "watch", err, 0, "cannot start request");
	retry_later(r, K8S_NEXT_BACKOFF_RELIST);
}

static void on_timer(void *data)
{
	struct k8s_reflector *r = data;

	if (r->pending == K8S_NEXT_BACKOFF_REWATCH || r->pending == K8S_NEXT_REWATCH)
		watch_start(r);
	else
		relist(r);
}

/* --- lifetime -------------------------------------------------------------- */

int k8s_reflector_new(const struct k8s_reflector_opts *o, struct k8s_reflector **ret)
{
	struct k8s_reflector *r;
	int err;

	if (!o->kind || !o->handlers)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->client = o->client;
	r->kind = o->kind;
	r->h = *o->handlers;
	r->data = o->data;
	r->limit = o->page_limit ? o->page_limit : 500;
	r->wt_min_s = o->watch_timeout_min_s ? o->watch_timeout_min_s : 300;
	r->wt_max_s = o->watch_timeout_max_s ? o->watch_timeout_max_s : 600;
	if (r->wt_max_s < r->wt_min_s)
		r->wt_max_s = r->wt_min_s;
	r->backoff.min_ms = o->backoff_min_ms;
	r->backoff.max_ms = o->backoff_max_ms;
	r->backoff.rng = o->seed ? o->seed : (uint32_t)(time(NULL) ^ (getpid() << 16));
	r->timer.fn = on_timer;
	r->timer.data = r;
	err = set_str(&r->field_selector, o->field_selector);
	if (err < 0)
		goto err_free;
	err = k8s_cache_new(&r->cache);
	if (err < 0)
		goto err_free;
	*ret = r;
	return 0;
err_free:
	free(r->field_selector);
	free(r);
	return err;
}

int k8s_reflector_start(struct k8s_reflector *r)
{
	if (!r->client || r->state != ST_IDLE)
		return -EINVAL;
	relist(r);
	return 0;
}

void k8s_reflector_free(struct k8s_reflector *r)
{
	if (!r)
		return;
	k8s_req_cancel(r->req);
	if (r->client)
		k8s_timer_cancel(r->client, &r->timer);
	k8s_cache_free(r->cache, r->kind->free);
	k8s_linebuf_release(&r->lines);
	free(r->body);
	free(r->rv);
	free(r->cont);
	free(r->field_selector);
	free(r);
}

const struct k8s_meta *k8s_reflector_get(const struct k8s_reflector *r, const char *ns,
					 const char *name)
{
	return k8s_cache_get(r->cache, ns, name);
}

size_t k8s_reflector_count(const struct k8s_reflector *r)
{
	return k8s_cache_count(r->cache);
}

bool k8s_reflector_synced(const struct k8s_reflector *r)
{
	return r->synced;
}

const char *k8s_reflector_rv(const struct k8s_reflector *r)
{
	return r->rv;
}

void k8s_reflector_stats(const struct k8s_reflector *r, struct k8s_reflector_stats *ret)
{
	static const char *const names[] = {
		[ST_IDLE] = "idle", [ST_LISTING] = "listing", [ST_WATCHING] = "watching",
		[ST_WAITING] = "backoff",
	};

	*ret = r->stats;
	ret->state = names[r->state];
}

void k8s_reflector_foreach(const struct k8s_reflector *r,
			   void (*fn)(void *data, struct k8s_meta *m), void *data)
{
	k8s_cache_foreach(r->cache, fn, data);
}
