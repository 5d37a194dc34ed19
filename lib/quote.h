/*
 * The one quoting helper for names and tokens in error messages.  Not
 * installed.  Used by the vhosts parser (config.c) and the table builder
 * (table.c), so that every message about a vhosts file or a builder
 * statement shows names the same way (docs/vhosts-file.md, "Errors").
 */
#ifndef MISDIRECT_QUOTE_H
#define MISDIRECT_QUOTE_H

#include <stddef.h>

/* Room for one quoted token, with its NUL. */
#define MDRI_QUOTE 96u

/* Write p[0..n) into out (MDRI_QUOTE bytes, NUL-terminated) as printable
 * text: bytes outside 0x20-0x7e become \xHH, and a token that does not fit
 * is cut and ends with "...".  p may be NULL when n is 0.  Returns out. */
const char *mdri_quote(char out[MDRI_QUOTE], const char *p, size_t n);

#endif
