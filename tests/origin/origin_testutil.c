/* mmap with MAP_ANONYMOUS and sysconf need more than strict C11. */
#define _DEFAULT_SOURCE
#include "origin_testutil.h"

#include <stdarg.h>
#include <setjmp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

static int hexdig(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t ot_hex(const char *s, uint8_t *out, size_t cap) {
  size_t n = 0;
  while (*s) {
    if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '|') {
      s++;
      continue;
    }
    int hi = hexdig((unsigned char)s[0]);
    int lo = s[1] ? hexdig((unsigned char)s[1]) : -1;
    if (hi < 0 || lo < 0 || n >= cap) return (size_t)-1;
    out[n++] = (uint8_t)(hi << 4 | lo);
    s += 2;
  }
  return n;
}

uint8_t *ot_guard_put(ot_guard *g, const void *src, size_t len) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t data_pages = (len + page - 1) / page;
  if (data_pages == 0) data_pages = 1;
  g->map_len = (data_pages + 1) * page;
  void *m = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(m != MAP_FAILED);
  g->map = m;
  uint8_t *guard = g->map + data_pages * page;
  assert_int_equal(mprotect(guard, page, PROT_NONE), 0);
  g->data = guard - len;
  g->len = len;
  if (len) memcpy(g->data, src, len);
  return g->data;
}

void ot_guard_free(ot_guard *g) {
  if (g->map) munmap(g->map, g->map_len);
  memset(g, 0, sizeof *g);
}

int ot_collect(void *user, const char *origin, size_t len) {
  ot_list *l = user;
  assert_true(l->n < OT_MAX_ENTRIES);
  assert_true(len <= MDR_ORIGIN_MAX_LEN);
  memcpy(l->str[l->n], origin, len);
  l->str[l->n][len] = '\0';
  l->len[l->n] = (uint16_t)len;
  l->n++;
  if (l->stop_at > 0 && (size_t)l->stop_at == l->n) return l->stop_rv;
  return 0;
}

uint64_t ot_rand(ot_rng *r) {
  uint64_t x = r->s ? r->s : 0x9e3779b97f4a7c15ULL;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545f4914f6cdd1dULL;
}

size_t ot_below(ot_rng *r, size_t n) { return n ? (size_t)(ot_rand(r) % n) : 0; }
