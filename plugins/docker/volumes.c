/* ABI 1.2: dependency caches kept as the engine's named volumes
 * (monkey-cache-NAME, labelled monkey.cache=NAME): listing them with
 * their size, and removing one.  Mounting them is the create body's
 * (container.c). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "container.h"
#include "engine.h"

/* The cache name of a volume entry of /system/df, or NULL when it is not
 * one of ours: named monkey-cache-NAME, and labelled monkey.cache=NAME
 * when it has labels (podman 4 drops the labels of a volume a container
 * creates, so the name alone must do there). */
static const char *cache_name(json_object *vol)
{
	json_object *labels, *name, *v;
	if (!json_object_object_get_ex(vol, "Name", &name))
		return NULL;
	const char *n = json_object_get_string(name);
	size_t pl = strlen(DK_CACHE_PREFIX);
	if (!n || strncmp(n, DK_CACHE_PREFIX, pl) || !n[pl])
		return NULL;
	if (json_object_object_get_ex(vol, "Labels", &labels) &&
	    json_object_object_get_ex(labels, DK_CACHE_LABEL, &v) &&
	    strcmp(json_object_get_string(v), n + pl))
		return NULL;
	return n + pl;
}

int dk_caches_list(struct dk_state *st, monkey_cache_fn each, void *ctx,
		   struct monkey_error *err)
{
	struct dk_response r = {0};
	/* /system/df, not /volumes: it has the sizes.  Podman's fails while
	 * any container is being removed: then the names alone. */
	int rc = dk_request(st, "GET", "/system/df", NULL, st->api_timeout_ms,
			    -1, &r, err);
	if (rc == 0 && r.status != 200) {
		dk_response_free(&r);
		memset(&r, 0, sizeof(r));
		rc = dk_request(st, "GET", "/volumes", NULL, st->api_timeout_ms,
				-1, &r, err);
	}
	if (rc < 0)
		return rc;
	if (r.status != 200) {
		rc = dk_engine_error(st, &r, err, "listing volumes failed");
		dk_response_free(&r);
		return rc;
	}
	json_object *o = json_tokener_parse(r.body ? r.body : "");
	dk_response_free(&r);
	json_object *vols;
	if (!o || !json_object_object_get_ex(o, "Volumes", &vols) ||
	    !json_object_is_type(vols, json_type_array)) {
		json_object_put(o);
		return st->host->set_error(err, -EPROTO,
					   "the %s answered /system/df without "
					   "a list of volumes",
					   st->engine_name);
	}
	for (size_t i = 0; i < json_object_array_length(vols); i++) {
		json_object *v = json_object_array_get_idx(vols, i), *u, *sz;
		const char *name = cache_name(v);
		if (!name)
			continue;
		int64_t size = -1;
		if (json_object_object_get_ex(v, "UsageData", &u) &&
		    json_object_object_get_ex(u, "Size", &sz))
			size = json_object_get_int64(sz);
		/* Engines keep no time of last use for a volume. */
		each(ctx, name, size >= 0 ? size : -1, -1);
	}
	json_object_put(o);
	return 0;
}

int dk_cache_remove(struct dk_state *st, const char *name,
		    struct monkey_error *err)
{
	char path[256];
	snprintf(path, sizeof(path), "/volumes/%s%s", DK_CACHE_PREFIX, name);
	struct dk_response r = {0};
	int rc = dk_request(st, "DELETE", path, NULL, st->api_timeout_ms, -1,
			    &r, err);
	if (rc < 0)
		return rc;
	if (r.status == 204)
		rc = 0;
	else if (r.status == 404)
		rc = st->host->set_error(err, -ENOENT, "no cache %s in the %s",
					 name, st->engine_name);
	else if (r.status == 409)
		rc = st->host->set_error(err, -EBUSY,
					 "cache %s is in use by a container "
					 "of the %s",
					 name, st->engine_name);
	else
		rc = dk_engine_error(st, &r, err, "removing cache %s failed",
				     name);
	dk_response_free(&r);
	return rc;
}
