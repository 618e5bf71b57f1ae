/* Choosing the model and provider, and the system prompt. */
#ifndef MONKEY_AGENT_CONFIG_H
#define MONKEY_AGENT_CONFIG_H

/* enum provider_kind for a model name, with AUTO rules: the name's family
 * first, then which API key is set. */
int agent_infer_provider(const char *model);
/* The system prompt for a workspace whose commands run in backend.
 * Caller frees. */
char *agent_system_prompt(const char *backend);

#endif
