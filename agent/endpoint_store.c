// SPDX-License-Identifier: Apache-2.0
#include "endpoint_store.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"

#define EP_FILE_MAX	(64 * 1024)	/* a record is well under 4 KiB */

struct ep_store {
	char *dir;
	struct ep_record *recs;
	size_t n, cap;
};

static int record_path(const struct ep_store *store, const char *container_id,
		       const char *ifname, char path[PATH_MAX])
{
	int n = snprintf(path, PATH_MAX, "%s/%s_%s.json", store->dir, container_id, ifname);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static bool same_key(const struct ep_record *r, const char *container_id, const char *ifname)
{
	return strcmp(r->container_id, container_id) == 0 && strcmp(r->ifname, ifname) == 0;
}

static ssize_t find_index(const struct ep_store *store, const char *container_id,
			  const char *ifname)
{
	for (size_t i = 0; i < store->n; i++)
		if (same_key(&store->recs[i], container_id, ifname))
			return (ssize_t)i;
	return -1;
}

/* Insert into memory only; the caller has checked for conflicts. */
static int mem_put(struct ep_store *store, const struct ep_record *rec)
{
	ssize_t i = find_index(store, rec->container_id, rec->ifname);

	if (i >= 0) {
		store->recs[i] = *rec;
		return 0;
	}
	if (store->n == store->cap) {
		size_t cap = store->cap ? store->cap * 2 : 16;
		struct ep_record *bigger = realloc(store->recs, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		store->recs = bigger;
		store->cap = cap;
	}
	store->recs[store->n++] = *rec;
	return 0;
}

/*
 * A record may not share its endpoint id with another key, nor its file name:
 * "a_b" + "c" and "a" + "b_c" both map to a_b_c.json.
 */
static int check_conflicts(const struct ep_store *store, const struct ep_record *rec)
{
	char mine[PATH_MAX], theirs[PATH_MAX];
	int err;

	err = record_path(store, rec->container_id, rec->ifname, mine);
	if (err < 0)
		return err;
	for (size_t i = 0; i < store->n; i++) {
		const struct ep_record *o = &store->recs[i];

		if (same_key(o, rec->container_id, rec->ifname))
			continue;
		if (o->endpoint_id == rec->endpoint_id)
			return -EEXIST;
		err = record_path(store, o->container_id, o->ifname, theirs);
		if (err < 0)
			return err;
		if (strcmp(mine, theirs) == 0)
			return -EEXIST;
	}
	return 0;
}

static int load_one(struct ep_store *store, const char *name)
{
	char path[PATH_MAX], *buf, want[PATH_MAX];
	struct ep_record rec;
	const char *field;
	json_error_t jerr;
	size_t len;
	json_t *obj;
	int err, n;

	len = strlen(name);
	if (len < 5 || strcmp(name + len - 5, ".json") != 0) {
		log_warn("ignoring unexpected file in endpoint dir", "dir=%s file=%s",
			 store->dir, name);
		return 0;
	}
	n = snprintf(path, sizeof(path), "%s/%s", store->dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	err = fs_read_file(path, EP_FILE_MAX, &buf, &len);
	if (err < 0) {
		log_warn("cannot read endpoint record", "file=%s err=%s", path,
			 log_errno_name(err));
		return 0;
	}
	obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!obj) {
		log_warn("ignoring endpoint record that is not JSON",
			 "file=%s line=%d error=\"%s\"", path, jerr.line, jerr.text);
		return 0;
	}
	err = ep_record_from_json(obj, true, &rec, &field);
	json_decref(obj);
	if (err < 0) {
		log_warn("ignoring invalid endpoint record", "file=%s field=%s", path, field);
		return 0;
	}
	/* The file name must be the one we would write, or updates and deletes
	 * would go to a different file and this one would come back. */
	if (record_path(store, rec.container_id, rec.ifname, want) < 0 ||
	    strcmp(want, path) != 0) {
		log_warn("ignoring endpoint record under an unexpected name", "file=%s", path);
		return 0;
	}
	if (store->n >= EP_STORE_MAX || check_conflicts(store, &rec) < 0) {
		log_warn("ignoring conflicting endpoint record", "file=%s endpoint_id=%u", path,
			 rec.endpoint_id);
		return 0;
	}
	err = mem_put(store, &rec);
	return err < 0 ? err : 1;
}

int ep_store_open(const char *dir, struct ep_store **ret)
{
	struct ep_store *store;
	struct dirent *de;
	int err = 0;
	DIR *d;

	store = calloc(1, sizeof(*store));
	if (!store)
		return -ENOMEM;
	store->dir = strdup(dir);
	if (!store->dir) {
		err = -ENOMEM;
		goto err_free;
	}
	err = fs_mkdir_p(dir, 0700);
	if (err < 0)
		goto err_free;
	d = opendir(dir);
	if (!d) {
		err = -errno;
		goto err_free;
	}
	while ((de = readdir(d))) {
		if (fs_name_hidden(de->d_name))
			continue;
		err = load_one(store, de->d_name);
		if (err < 0)
			break;
	}
	closedir(d);
	if (err < 0)
		goto err_free;
	*ret = store;
	return 0;

err_free:
	ep_store_free(store);
	return err;
}

void ep_store_free(struct ep_store *store)
{
	if (!store)
		return;
	free(store->recs);
	free(store->dir);
	free(store);
}

size_t ep_store_count(const struct ep_store *store)
{
	return store->n;
}

const struct ep_record *ep_store_at(const struct ep_store *store, size_t i)
{
	return i < store->n ? &store->recs[i] : NULL;
}

const struct ep_record *ep_store_find(const struct ep_store *store, const char *container_id,
				      const char *ifname)
{
	ssize_t i = find_index(store, container_id, ifname);

	return i < 0 ? NULL : &store->recs[i];
}

uint32_t ep_store_free_id(const struct ep_store *store)
{
	uint32_t id = 1;
	bool used;

	/* Quadratic, but n <= EP_STORE_MAX and it runs once per new endpoint. */
	do {
		used = false;
		for (size_t i = 0; i < store->n; i++) {
			if (store->recs[i].endpoint_id == id) {
				used = true;
				id++;
				break;
			}
		}
	} while (used);
	return id;
}

int ep_store_put(struct ep_store *store, const struct ep_record *rec)
{
	char path[PATH_MAX], *text;
	json_t *obj;
	int err;

	if (rec->endpoint_id == 0)
		return -EINVAL;
	if (find_index(store, rec->container_id, rec->ifname) < 0 && store->n >= EP_STORE_MAX)
		return -ENOSPC;
	err = check_conflicts(store, rec);
	if (err < 0)
		return err;
	err = record_path(store, rec->container_id, rec->ifname, path);
	if (err < 0)
		return err;

	obj = ep_record_to_json(rec);
	if (!obj)
		return -ENOMEM;
	text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (!text)
		return -ENOMEM;
	/* Reserve memory before touching the disk, so the two cannot diverge. */
	if (store->n == store->cap) {
		size_t cap = store->cap ? store->cap * 2 : 16;
		struct ep_record *bigger = realloc(store->recs, cap * sizeof(*bigger));

		if (!bigger) {
			free(text);
			return -ENOMEM;
		}
		store->recs = bigger;
		store->cap = cap;
	}
	err = fs_write_atomic(path, text, strlen(text), 0600);
	free(text);
	if (err < 0)
		return err;
	return mem_put(store, rec);	/* cannot fail: capacity is reserved */
}

int ep_store_remove(struct ep_store *store, const char *container_id, const char *ifname)
{
	char path[PATH_MAX];
	ssize_t i;
	int err;

	i = find_index(store, container_id, ifname);
	if (i < 0)
		return 0;
	err = record_path(store, container_id, ifname, path);
	if (err < 0)
		return err;
	err = fs_remove(path);
	if (err < 0)
		return err;
	store->recs[i] = store->recs[--store->n];
	return 1;
}
