/* Error codes, version, and the default allocator. */
#include <stdlib.h>

#include "internal.h"

const char *mdr_strerror(int code) {
  switch (code) {
  case MDR_OK: return "success";
#define MDR_X_(name, value, text) \
  case value: return text;
    MDR_ERROR_MAP(MDR_X_)
#undef MDR_X_
  default: return "unknown error code";
  }
}

const char *mdr_errname(int code) {
  switch (code) {
  case MDR_OK: return "MDR_OK";
#define MDR_X_(name, value, text) \
  case value: return "MDR_ERR_" #name;
    MDR_ERROR_MAP(MDR_X_)
#undef MDR_X_
  default: return "MDR_ERR_UNKNOWN";
  }
}

const char *mdr_version(void) { return MDR_VERSION; }
unsigned mdr_version_num(void) { return MDR_VERSION_NUM; }

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

const mdr_mem *mdri_mem_or_default(const mdr_mem *mem) {
  return (mem && mem->malloc && mem->free && mem->realloc) ? mem : &libc_mem;
}
void *mdri_malloc(const mdr_mem *m, size_t n) { return m->malloc(n ? n : 1, m->user); }
void *mdri_realloc(const mdr_mem *m, void *p, size_t n) { return m->realloc(p, n ? n : 1, m->user); }
void mdri_free(const mdr_mem *m, void *p) {
  if (p) m->free(p, m->user);
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
