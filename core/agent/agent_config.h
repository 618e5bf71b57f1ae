/* Choosing the model and provider, and the system prompt. */
#ifndef MONKEY_AGENT_CONFIG_H
#define MONKEY_AGENT_CONFIG_H

/* enum provider_kind for a model name, with AUTO rules: the name's family
 * first, then which API key is set. */
int agent_infer_provider(const char *model);
/* The system prompt: the workspace (root, absolute; workdir relative to
 * it), how commands run under backend be (a shell or not, what is
 * isolated) and the limits of eo it enforces, and those it does not.
 * Caller frees; NULL when out of memory. */
struct monkey_backend;
struct monkey_exec_options;
char *agent_system_prompt(const struct monkey_backend *be,
			  const struct monkey_exec_options *eo,
			  const char *root, const char *workdir);

#endif
