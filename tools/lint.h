/* `misdirect lint`: print the findings of mdr_table_lint. */
#ifndef MISDIRECT_TOOL_LINT_H
#define MISDIRECT_TOOL_LINT_H

#include <misdirect/misdirect.h>

/* Print every finding of the table parsed from `path` (text, or one JSON
 * object per line when json is set) and the summary line.  Returns the exit
 * status: 0 clean, 1 findings, 2 on an error (message on stderr). */
int tool_lint(const mdr_table *t, const char *path, int json);

#endif
