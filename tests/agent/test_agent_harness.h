/* Agent test harness: the local LLM server (tests/llm_server.py) driven by a
 * per-test script, and "monkey agent" runs against it in a fresh
 * workspace. */
#ifndef MONKEY_TEST_AGENT_HARNESS_H
#define MONKEY_TEST_AGENT_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "testutil.h"

/* The key the scripts expect (tests/llm_server.py's default). */
#define TA_KEY "sk-test-monkey-0123456789"

struct ta_server {
	pid_t pid;
	int port;
	char *dir;	 /* holds the port file and the request log */
	char url[64];	 /* http://127.0.0.1:PORT */
	char url_v1[64]; /* ...:PORT/v1 (OpenAI base URLs end in /v1) */
	char log[4200];
};

/* Start the server with tests/agent/NAME.json.  Aborts on failure. */
void ta_server_start(struct ta_server *s, const char *name);
/* Same with the script given as JSON text. */
void ta_server_start_json(struct ta_server *s, const char *json);
void ta_server_stop(struct ta_server *s);
/* The request log: an array of {n, time, path, headers, body, body_bytes,
 * violations}.  Caller puts. */
json_object *ta_requests(const struct ta_server *s);
/* The system prompt of request n (Anthropic's "system", or an OpenAI
 * request's system message); caller frees; NULL when there is none. */
char *ta_request_system(const struct ta_server *s, int n);
/* Number of requests seen; fails the test (printing them) when any
 * violated the API rules or the script's expectations. */
int ta_requests_ok(const struct ta_server *s);

struct ta_ws {
	char *dir;	       /* the workspace */
	char transcript[4200]; /* passed with --transcript */
};

void ta_ws_new(struct ta_ws *w);
void ta_ws_free(struct ta_ws *w);
/* Path of a file in the workspace (static buffer). */
const char *ta_path(const struct ta_ws *w, const char *rel);
/* Read a file whole (caller frees); NULL if missing. */
char *ta_read(const char *path);

/* Run "monkey agent --workspace WS --transcript WS/t.jsonl --task TASK
 * ARGS..." with both providers pointed at the server and the test keys
 * set.  env_extra as tu_run ("NAME=" unsets).  args NULL-terminated. */
int ta_agent(struct tu_run *r, const struct ta_server *s, const struct ta_ws *w,
	     const char *task, const char *const *args,
	     const char *const *env_extra);

/* Set MONKEY_BACKEND_PATH to the build tree's backends unless set. */
void ta_backend_path(void);

/* The transcript records (array), or NULL when there is none. */
json_object *ta_transcript(const struct ta_ws *w);
/* The first record of type (borrowed from arr), or NULL.  nth counts
 * from 0. */
json_object *ta_record(json_object *arr, const char *type, int nth);
int ta_count_records(json_object *arr, const char *type);

/* Field helpers (NULL/0 when absent). */
const char *ta_str(json_object *o, const char *path); /* "a.b.c" */
int64_t ta_int(json_object *o, const char *path);
bool ta_bool(json_object *o, const char *path);

#endif
