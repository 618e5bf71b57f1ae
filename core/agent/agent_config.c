/* Model aliases, provider inference and the built-in system prompt, which
 * tells the model what its sandbox does and does not enforce. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <monkey/agent.h>
#include <monkey/backend.h>

#include "agent_config.h"
#include "provider.h"
#include "util.h"

/* Names the seed and users use, mapped to ids the API accepts. */
static const struct {
	const char *alias, *model;
} aliases[] = {
    {"sonnet", MONKEY_AGENT_DEFAULT_MODEL},
    {"claude-sonnet", MONKEY_AGENT_DEFAULT_MODEL},
    {"claude-sonnet-latest", MONKEY_AGENT_DEFAULT_MODEL},
    {"claude-sonnet-4.5", "claude-sonnet-4-5"},
    {"claude-sonnet-4", "claude-sonnet-4-0"},
    {"claude-4-sonnet", "claude-sonnet-4-0"},
    {"opus", "claude-opus-4-1"},
    {"claude-opus", "claude-opus-4-1"},
    {"claude-opus-4", "claude-opus-4-0"},
    {"claude-opus-4.1", "claude-opus-4-1"},
    {"haiku", "claude-haiku-4-5"},
    {"claude-haiku", "claude-haiku-4-5"},
    {"claude-haiku-4.5", "claude-haiku-4-5"},
    {"claude-3.7-sonnet", "claude-3-7-sonnet-latest"},
    {"claude-3.5-haiku", "claude-3-5-haiku-latest"},
};

MONKEY_EXPORT const char *monkey_agent_resolve_model(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(name, aliases[i].alias))
			return aliases[i].model;
	return name;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v;
}

int agent_infer_provider(const char *model)
{
	if (model) {
		const char *m = monkey_agent_resolve_model(model);
		if (has_prefix(m, "claude"))
			return PROVIDER_ANTHROPIC;
		if (has_prefix(m, "gpt-") || has_prefix(m, "chatgpt") ||
		    (m[0] == 'o' && m[1] >= '1' && m[1] <= '9'))
			return PROVIDER_OPENAI;
		/* Other names (llama3.1, qwen2.5-coder, ...) are served by
		 * OpenAI-compatible servers. */
		return PROVIDER_OPENAI;
	}
	if (env_set("ANTHROPIC_API_KEY"))
		return PROVIDER_ANTHROPIC;
	if (env_set("OPENAI_API_KEY"))
		return PROVIDER_OPENAI;
	return PROVIDER_ANTHROPIC;
}

/* What the command line of shell_execute means under this backend. */
static void prompt_shell(FILE *f, const char *name, bool shell)
{
	if (shell)
		fprintf(f,
			"- shell_execute runs one command given as an argv "
			"array. Under the '%s' backend there is NO sandbox: "
			"the words are handed to /bin/sh -c and run directly "
			"on this machine, as the user, with access to all of "
			"the user's files and the network. Be careful.\n",
			name);
	else
		fprintf(f,
			"- shell_execute runs one command given as an argv "
			"array, without a shell; use [\"sh\", \"-c\", "
			"\"...\"] when you need pipes, redirection or "
			"globbing. Commands run in the '%s' sandbox.\n",
			name);
}

/* Proxy mode: the hosts the user allowed, reached through the proxy in
 * HTTP_PROXY and HTTPS_PROXY. */
static void prompt_allowlist(FILE *f, const struct monkey_exec_options *eo)
{
	fprintf(f, "- Commands reach only these hosts, through the HTTP "
		   "proxy set in HTTP_PROXY and HTTPS_PROXY (tools that "
		   "ignore those variables have no network):");
	for (size_t i = 0; i < eo->n_allow_domains; i++)
		fprintf(f, "%s %s", i ? "," : "", eo->allow_domains[i]);
	fprintf(f, ". Other hosts are refused; the user can allow more "
		   "with --allow-domain.\n");
}

static void prompt_isolation(FILE *f, uint32_t caps,
			     const struct monkey_exec_options *eo)
{
	if (caps & MONKEY_CAP_FS_ISOLATION)
		fprintf(f,
			"- Commands see only the workspace%s and the "
			"sandbox's own files%s.\n",
			eo->n_mounts ? ", the mounts the user gave" : "",
			(caps & MONKEY_CAP_IMAGE) && eo->image
			    ? " (image set by the user)"
			    : "");
	else
		fprintf(f, "- Commands are not isolated from this machine's "
			   "files: they can read and write whatever the user "
			   "can. Stay inside the workspace.\n");
	if (!(caps & MONKEY_CAP_NETWORK_ISOLATION))
		fprintf(f, "- Commands have this machine's network: the "
			   "sandbox does not isolate it.\n");
	else if (eo->network)
		fprintf(f, "- Commands have network access.\n");
	else if (eo->n_allow_domains && (caps & MONKEY_CAP_EGRESS_PROXY))
		prompt_allowlist(f, eo);
	else
		fprintf(f, "- Commands have no network access: downloads and "
			   "package installs will fail.\n");
	if ((caps & MONKEY_CAP_READ_ONLY_ROOT) && eo->read_only)
		fprintf(f, "- The root file system is read-only; the "
			   "workspace and /tmp are writable.\n");
}

/* The limits in force, then those this backend does not enforce. */
static void prompt_limits(FILE *f, uint32_t caps,
			  const struct monkey_exec_options *eo)
{
	if (!(caps & MONKEY_CAP_TIMEOUT))
		fprintf(f, "- No time limit is enforced on commands.\n");
	else if (eo->timeout_ms > 0)
		fprintf(f,
			"- Each command is killed after %lld ms, with every "
			"process it started; timeout_ms can only shorten "
			"this.\n",
			(long long)eo->timeout_ms);
	else
		fprintf(f, "- Commands have no time limit; set timeout_ms for "
			   "anything that could hang.\n");
	fprintf(f, "- Limits per command:");
	int n = 0;
	if (caps & MONKEY_CAP_MEMORY)
		fprintf(f, "%s memory %llu MB", n++ ? "," : "",
			(unsigned long long)eo->memory_mb);
	else if (caps & MONKEY_CAP_MEMORY_APPROX)
		fprintf(f, "%s address space %llu MB", n++ ? "," : "",
			(unsigned long long)eo->memory_mb);
	if (caps & MONKEY_CAP_CPU)
		fprintf(f, "%s %g CPUs", n++ ? "," : "", eo->cpus);
	if (caps & MONKEY_CAP_PIDS)
		fprintf(f, "%s %lld processes", n++ ? "," : "",
			(long long)eo->pids);
	if ((caps & MONKEY_CAP_CPU_TIME) && eo->cpu_time_s)
		fprintf(f, "%s %llu s of CPU time", n++ ? "," : "",
			(unsigned long long)eo->cpu_time_s);
	if ((caps & MONKEY_CAP_FILE_SIZE) && eo->file_size_bytes)
		fprintf(f, "%s files up to %llu bytes", n++ ? "," : "",
			(unsigned long long)eo->file_size_bytes);
	if ((caps & MONKEY_CAP_OPEN_FILES) && eo->open_files)
		fprintf(f, "%s %llu open files", n++ ? "," : "",
			(unsigned long long)eo->open_files);
	fprintf(f, "%s.\n", n ? "" : " none");
	static const struct {
		uint32_t cap;
		const char *what;
	} unenforced[] = {
	    {MONKEY_CAP_MEMORY, "a memory limit"},
	    {MONKEY_CAP_CPU, "a CPU share"},
	    {MONKEY_CAP_PIDS, "a process count"},
	    {MONKEY_CAP_NETWORK_ISOLATION, "network isolation"},
	    {MONKEY_CAP_FS_ISOLATION, "file-system isolation"},
	};
	n = 0;
	for (size_t i = 0; i < sizeof(unenforced) / sizeof(*unenforced); i++)
		if (!(caps & unenforced[i].cap))
			fprintf(f, "%s%s", n++ ? ", " : "- Not enforced here: ",
				unenforced[i].what);
	if (n)
		fprintf(f, ".\n");
}

char *agent_system_prompt(const struct monkey_backend *be,
			  const struct monkey_exec_options *eo,
			  const char *root, const char *workdir)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	bool shell =
	    be->safety <= MONKEY_SAFETY_NONE || !strcmp(be->name, "none");
	fprintf(f,
		"You are monkey, a coding agent. You work in a workspace "
		"directory and use tools until the task is done.\n"
		"- The workspace is %s; commands start in %s%s%s unless "
		"you give workdir.\n",
		root, root, strcmp(workdir, ".") ? "/" : "",
		strcmp(workdir, ".") ? workdir : "");
	prompt_shell(f, be->name, shell);
	prompt_isolation(f, be->capabilities, eo);
	prompt_limits(f, be->capabilities, eo);
	fprintf(f, "- read_file, write_file, edit_file and list_files take "
		   "paths relative to the workspace root; paths outside it "
		   "are refused.\n"
		   "- Long outputs are shortened to their head and tail.\n"
		   "When the task is done, reply with a short summary of "
		   "what you did and call no tool.");
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
