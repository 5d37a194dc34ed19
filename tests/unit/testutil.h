/* Shared helpers for the cmocka unit tests. */
#ifndef MISDIRECT_TESTUTIL_H
#define MISDIRECT_TESTUTIL_H

#include <stddef.h>
#include <misdirect/misdirect.h>

/* An allocator that counts calls and can be told to fail the Nth one. */
typedef struct tu_counting_mem {
  mdr_mem mem;             /* pass &x.mem to the library */
  size_t allocs;           /* successful malloc + realloc calls */
  size_t frees;
  size_t live;             /* blocks currently allocated */
  size_t live_bytes;
  size_t fail_at;          /* 1-based call number to fail; 0 = never */
  size_t calls;            /* malloc + realloc calls seen */
} tu_counting_mem;

void tu_counting_mem_init(tu_counting_mem *m);

/* The eight combinations of set and NULL functions of an mdr_mem: bit 0 =
 * malloc set, bit 1 = realloc set, bit 2 = free set (TU_MEM_ALL = all
 * three).  tu_counting_mem_init, then clear the functions whose bit is 0. */
#define TU_MEM_ALL 7u
void tu_counting_mem_mask(tu_counting_mem *m, unsigned mask);
/* After every object made with m is released: with TU_MEM_ALL the allocator
 * was used and every block it gave was freed through it; with any other
 * mask (a partial mdr_mem, ignored as a whole) none of its functions was
 * ever called. */
void tu_counting_mem_check(const tu_counting_mem *m, unsigned mask);

/* mdr_str from a C string. */
mdr_str tu_str(const char *s);

/* Parse vhosts text (NUL-terminated) into a table; fails the test on error. */
mdr_table *tu_table(const char *vhosts_text);

/* Parse and return the error code, filling err (table freed if built). */
int tu_table_error(const char *vhosts_text, mdr_error *err);

#endif
