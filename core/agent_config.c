/* Model aliases, provider inference and the built-in system prompt. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <monkey/agent.h>

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

const char *monkey_agent_resolve_model(const char *name)
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

char *agent_system_prompt(const char *backend)
{
	return monkey_strdup_printf(
	    "You are monkey, a coding agent. You work in a workspace "
	    "directory and use tools until the task is done.\n"
	    "- shell_execute runs one command given as an argv array, "
	    "without a shell; use [\"sh\", \"-c\", \"...\"] when you need "
	    "pipes, redirection or globbing. Commands run in the '%s' "
	    "sandbox and start in the workspace root; they have no "
	    "network unless the user allowed it.\n"
	    "- read_file, write_file, edit_file and list_files take paths "
	    "relative to the workspace root; paths outside it are "
	    "refused.\n"
	    "- Long outputs are shortened to their head and tail.\n"
	    "When the task is done, reply with a short summary of what "
	    "you did and call no tool.",
	    backend);
}
