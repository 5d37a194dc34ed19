/*
 * The one allocator front end of misdirect.  Not installed.
 *
 * Every allocation of the core (vhosts parser, builder, table, lint, holder)
 * and of the adapters goes through these functions, so that one rule for an
 * mdr_mem holds everywhere (see mdr_mem in misdirect.h):
 *
 *   NULL, or an mdr_mem with any of its three functions NULL (a zeroed one
 *   included), means the C library's malloc/realloc/free, all three: the
 *   caller's functions are then never called, so blocks are never passed
 *   between two allocators.
 *
 * Each function applies the rule itself, so callers may pass the pointer
 * they were given.  The core's shared library keeps these symbols hidden;
 * each adapter's shared library compiles its own hidden copy of mem.c (see
 * cmake/MisdirectComponent.cmake), and the static libraries share the
 * core's.
 */
#ifndef MISDIRECT_MEM_H
#define MISDIRECT_MEM_H

#include <stddef.h>

#include <misdirect/misdirect.h>

/* The allocator to use for `mem`: `mem` itself when its three functions are
 * set, otherwise a static mdr_mem of the C library's functions.  Never NULL. */
const mdr_mem *mdri_mem_or_default(const mdr_mem *mem);
/* Is `mem` used as given (non-NULL with all three functions set)? */
int mdri_mem_is_custom(const mdr_mem *mem);

/* malloc / realloc / free through mdri_mem_or_default(m).  A size of 0 asks
 * for 1 byte (so NULL always means failure); mdri_free(m, NULL) does
 * nothing. */
void *mdri_malloc(const mdr_mem *m, size_t n);
void *mdri_realloc(const mdr_mem *m, void *p, size_t n);
void mdri_free(const mdr_mem *m, void *p);
/* n * elem bytes, or NULL when that overflows or allocation fails. */
void *mdri_alloc_array(const mdr_mem *m, size_t n, size_t elem);
/* Grow *p (array of elem-size items, capacity *cap, doubling from 8) to hold
 * `need` items.  0, or MDR_ERR_NOMEM with *p and *cap unchanged. */
int mdri_grow(const mdr_mem *m, void **p, size_t *cap, size_t need, size_t elem);

#endif
