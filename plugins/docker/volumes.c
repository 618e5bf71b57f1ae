/* ABI 1.2: dependency caches kept as the engine's named volumes
 * (monkey-cache-NAME, labelled monkey.cache=NAME): listing them with
 * their size, removing one, and handing a new one to the command's user.
 * Mounting them is the create body's (container.c). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

/* 1 when the volume exists, 0 when not, or a negative errno. */
static int volume_exists(struct dk_state *st, const char *vol,
			 struct monkey_error *err)
{
	char path[256];
	snprintf(path, sizeof(path), "/volumes/%s", vol);
	struct dk_response r = {0};
	int rc =
	    dk_request(st, "GET", path, NULL, st->api_timeout_ms, -1, &r, err);
	if (rc < 0)
		return rc;
	rc = r.status == 200 ? 1
	     : r.status == 404
		 ? 0
		 : dk_engine_error(st, &r, err, "looking up volume %s failed",
				   vol);
	dk_response_free(&r);
	return rc;
}

static int volume_create(struct dk_state *st, const char *vol, const char *name,
			 struct monkey_error *err)
{
	json_object *o = json_object_new_object();
	json_object *labels = json_object_new_object();
	json_object_object_add(o, "Name", json_object_new_string(vol));
	json_object_object_add(labels, DK_CACHE_LABEL,
			       json_object_new_string(name));
	json_object_object_add(o, "Labels", labels);
	char *body =
	    strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (!body)
		return st->host->set_error(err, -ENOMEM, "out of memory");
	struct dk_response r = {0};
	int rc = dk_request(st, "POST", "/volumes/create", body,
			    st->api_timeout_ms, -1, &r, err);
	free(body);
	if (rc == 0 && r.status != 201 && r.status != 200)
		rc = dk_engine_error(st, &r, err, "creating volume %s failed",
				     vol);
	dk_response_free(&r);
	return rc;
}

/* Run monkey-launch --own in a container of its own, and remove it. */
static int hand_over(struct dk_state *st, const char *image, const char *vol,
		     const char *user, int cancel_fd, struct monkey_error *err)
{
	char *body = dk_own_body(st, image, vol, user, err);
	if (!body)
		return err ? err->code : -ENOMEM;
	char id[DK_ID_MAX];
	int rc = dk_container_create(st, body, image, id, err);
	/* The image is the command's: pulled now rather than after. */
	if (rc == -ENXIO &&
	    (rc = dk_image_ensure(st, image, cancel_fd, err)) == 0)
		rc = dk_container_create(st, body, image, id, err);
	free(body);
	if (rc < 0)
		return rc;
	if (dk_live_add(st, id) < 0) {
		dk_container_remove(st, id, NULL);
		return st->host->set_error(err, -ENOMEM, "out of memory");
	}
	long status = -1;
	rc = dk_container_start(st, id, err);
	if (rc == 0)
		rc = dk_container_wait(st, id, st->api_timeout_ms, -1, &status,
				       err);
	if (rc == 0 && status != 0)
		rc = st->host->set_error(
		    err, -EIO,
		    "handing cache volume %s to user %s failed (the launcher "
		    "exited with %ld)",
		    vol, user, status);
	struct monkey_error e = {0};
	if (dk_container_remove(st, id, &e) == 0)
		dk_live_remove(st, id);
	return rc;
}

int dk_caches_prepare(struct dk_state *st,
		      const struct monkey_exec_request *req, const char *image,
		      struct monkey_error *err)
{
	if (!MONKEY_STRUCT_HAS(req, n_caches) || !req->n_caches)
		return 0;
	char user[64];
	if (req->user && req->user[0])
		snprintf(user, sizeof(user), "%s", req->user);
	else
		snprintf(user, sizeof(user), "%u:%u", (unsigned)st->uid,
			 (unsigned)st->gid);
	unsigned uid, gid;
	int end = 0;
	/* Root writes a root-owned volume; a user given by name cannot be
	 * handed anything (the engine resolves names in the image). */
	if (sscanf(user, "%u:%u%n", &uid, &gid, &end) != 2 || user[end] ||
	    uid == 0)
		return 0;
	for (size_t i = 0; i < req->n_caches; i++) {
		char vol[160];
		snprintf(vol, sizeof(vol), "%s%s", DK_CACHE_PREFIX,
			 req->caches[i].name);
		int rc = volume_exists(st, vol, err);
		if (rc != 0) {
			if (rc < 0)
				return rc;
			continue;
		}
		if (!st->launcher || st->launcher_broken) {
			st->host->log(
			    st->host, MONKEY_LOG_WARNING,
			    "docker: cache %s will be root's: handing "
			    "it to user %s needs monkey-launch",
			    req->caches[i].name, user);
			continue;
		}
		if ((rc = volume_create(st, vol, req->caches[i].name, err)) < 0)
			return rc;
		rc = hand_over(st, image, vol, user, req->cancel_fd, err);
		if (rc < 0) {
			/* Not left root's: the next run tries again. */
			dk_cache_remove(st, req->caches[i].name, NULL);
			return rc;
		}
	}
	return 0;
}
