/* Where transcripts go when the user names no file: a private directory
 * in the user's state directory, outside any workspace a sandbox can
 * write, reached without following a single symbolic link. */
#ifndef MONKEY_TRANSCRIPT_DIR_H
#define MONKEY_TRANSCRIPT_DIR_H

#include <monkey/error.h>

/* Open (creating what is missing, mode 0700) the sessions directory:
 * $XDG_STATE_HOME/monkey/sessions when XDG_STATE_HOME is an absolute path,
 * else $HOME/.local/state/monkey/sessions.  The base ($XDG_STATE_HOME or
 * $HOME) is the user's own setting and is opened as it is; every
 * directory below it is opened with O_NOFOLLOW and must belong to the
 * user and be writable by nobody else.  Returns a directory descriptor
 * (caller closes) with *path (caller frees) set to its path, or a
 * negative errno with err naming the component at fault. */
int transcript_dir_open(char **path, struct monkey_error *err);

/* Create name in the directory dfd for writing: O_EXCL|O_NOFOLLOW, mode
 * 0600.  When name exists, "-2", "-3", ... are tried before ".jsonl";
 * a symbolic link in the way is an error.  Returns the descriptor with
 * *final (caller frees) set to the name used, or a negative errno with
 * err naming dir/name. */
int transcript_dir_create(int dfd, const char *dir, const char *stem,
			  char **final, struct monkey_error *err);

#endif
