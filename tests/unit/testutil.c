#include "testutil.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Each block carries its size in a header so live_bytes can be tracked. */
typedef union tu_hdr { size_t size; max_align_t align; } tu_hdr;

static void *tu_malloc(size_t n, void *user) {
  tu_counting_mem *m = user;
  m->calls++;
  if (m->fail_at && m->calls == m->fail_at) return NULL;
  tu_hdr *h = malloc(sizeof *h + n);
  if (!h) return NULL;
  h->size = n;
  m->allocs++;
  m->live++;
  m->live_bytes += n;
  return h + 1;
}

static void tu_free(void *p, void *user) {
  tu_counting_mem *m = user;
  if (!p) return;
  tu_hdr *h = (tu_hdr *)p - 1;
  m->frees++;
  m->live--;
  m->live_bytes -= h->size;
  free(h);
}

static void *tu_realloc(void *p, size_t n, void *user) {
  tu_counting_mem *m = user;
  if (!p) return tu_malloc(n, user);
  m->calls++;
  if (m->fail_at && m->calls == m->fail_at) return NULL;
  tu_hdr *h = (tu_hdr *)p - 1;
  size_t old = h->size;
  tu_hdr *nh = realloc(h, sizeof *nh + n);
  if (!nh) return NULL;
  nh->size = n;
  m->allocs++;
  m->live_bytes = m->live_bytes - old + n;
  return nh + 1;
}

void tu_counting_mem_init(tu_counting_mem *m) {
  memset(m, 0, sizeof *m);
  m->mem.user = m;
  m->mem.malloc = tu_malloc;
  m->mem.realloc = tu_realloc;
  m->mem.free = tu_free;
}

void tu_counting_mem_mask(tu_counting_mem *m, unsigned mask) {
  tu_counting_mem_init(m);
  if (!(mask & 1u)) m->mem.malloc = NULL;
  if (!(mask & 2u)) m->mem.realloc = NULL;
  if (!(mask & 4u)) m->mem.free = NULL;
}

void tu_counting_mem_check(const tu_counting_mem *m, unsigned mask) {
  if (mask == TU_MEM_ALL) {
    assert_true(m->allocs > 0);
    assert_true(m->frees > 0);
    assert_int_equal(m->live, 0);
    assert_int_equal(m->live_bytes, 0);
  } else {
    assert_int_equal(m->calls, 0);
    assert_int_equal(m->allocs, 0);
    assert_int_equal(m->frees, 0);
  }
}

mdr_str tu_str(const char *s) {
  mdr_str r = { s, s ? strlen(s) : 0 };
  return r;
}

mdr_table *tu_table(const char *text) {
  mdr_table *t = NULL;
  mdr_error err;
  memset(&err, 0, sizeof err);
  int rc = mdr_table_parse(text, strlen(text), tu_str("test.vhosts"), NULL, &t, &err);
  if (rc != 0) print_error("table parse failed: %d %s\n", rc, err.message);
  assert_int_equal(rc, 0);
  assert_non_null(t);
  return t;
}

int tu_table_error(const char *text, mdr_error *err) {
  mdr_table *t = NULL;
  memset(err, 0, sizeof *err);
  int rc = mdr_table_parse(text, strlen(text), tu_str("vhosts"), NULL, &t, err);
  mdr_table_unref(t);
  return rc;
}
