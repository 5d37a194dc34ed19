/* The allocator front end: one rule for mdr_mem, see mem.h. */
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>

static void *libc_malloc(size_t n, void *user) {
  (void)user;
  return malloc(n);
}
static void *libc_realloc(void *p, size_t n, void *user) {
  (void)user;
  return realloc(p, n);
}
static void libc_free(void *p, void *user) {
  (void)user;
  free(p);
}
static const mdr_mem libc_mem = { NULL, libc_malloc, libc_realloc, libc_free };

int mdri_mem_is_custom(const mdr_mem *mem) {
  return mem && mem->malloc && mem->realloc && mem->free;
}

const mdr_mem *mdri_mem_or_default(const mdr_mem *mem) {
  return mdri_mem_is_custom(mem) ? mem : &libc_mem;
}

void *mdri_malloc(const mdr_mem *m, size_t n) {
  m = mdri_mem_or_default(m);
  return m->malloc(n ? n : 1, m->user);
}

void *mdri_realloc(const mdr_mem *m, void *p, size_t n) {
  m = mdri_mem_or_default(m);
  return m->realloc(p, n ? n : 1, m->user);
}

void mdri_free(const mdr_mem *m, void *p) {
  if (!p) return;
  m = mdri_mem_or_default(m);
  m->free(p, m->user);
}

void *mdri_alloc_array(const mdr_mem *m, size_t n, size_t elem) {
  if (elem && n > SIZE_MAX / elem) return NULL;
  return mdri_malloc(m, n * elem);
}

int mdri_grow(const mdr_mem *m, void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t nc = *cap ? *cap : 8;
  while (nc < need) {
    if (nc > SIZE_MAX / 2 / elem) return MDR_ERR_NOMEM;
    nc *= 2;
  }
  void *np = mdri_realloc(m, *p, nc * elem);
  if (!np) return MDR_ERR_NOMEM;
  *p = np;
  *cap = nc;
  return 0;
}
