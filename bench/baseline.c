/* The in-run baseline: what a straightforward server does.  A chained hash
 * (one heap node and one heap copy of the name per entry, djb2-style byte
 * hash, strcmp on the chain), a separate validation pass and a separate
 * lower-case pass into a scratch buffer.  It measures the machine and the
 * compiler in the same run as misdirect, so every report carries a ratio. */
#include <string.h>

#include "bench.h"

typedef struct bnode {
  struct bnode *next;
  char *name;          /* NUL-terminated; wildcards without "*." */
  mdr_index vhost;
  int wild;
} bnode;

struct bench_baseline {
  bnode **buckets;
  size_t mask;
};

static size_t bhash(const char *s, int wild) {
  size_t h = 5381u + (size_t)wild;
  for (; *s; s++) h = h * 33u + (unsigned char)*s;
  return h;
}

static void *bm_alloc(bench_mem *m, size_t n) { return m->mem.malloc(n, m->mem.user); }

bench_baseline *bench_baseline_build(const bench_workload *w, bench_mem *mem) {
  bench_baseline *b = bm_alloc(mem, sizeof *b);
  if (!b) return NULL;
  size_t cap = 16;
  while (cap < w->n_names) cap *= 2;
  b->buckets = bm_alloc(mem, cap * sizeof *b->buckets);
  if (!b->buckets) return NULL;
  memset(b->buckets, 0, cap * sizeof *b->buckets);
  b->mask = cap - 1;
  for (size_t i = 0; i < w->n_names; i++) {
    mdr_str s = w->names[i];
    int wild = s.len > 2 && s.ptr[0] == '*' && s.ptr[1] == '.';
    size_t skip = wild ? 2 : 0;
    bnode *n = bm_alloc(mem, sizeof *n);
    if (!n) return NULL;
    n->name = bm_alloc(mem, s.len - skip + 1);
    if (!n->name) return NULL;
    for (size_t k = skip; k < s.len; k++) {
      unsigned char c = (unsigned char)s.ptr[k];
      n->name[k - skip] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    n->name[s.len - skip] = '\0';
    n->vhost = (mdr_index)(i / (w->names_per_vhost ? w->names_per_vhost : 1));
    n->wild = wild;
    size_t h = bhash(n->name, wild) & b->mask;
    n->next = b->buckets[h];
    b->buckets[h] = n;
  }
  return b;
}

void bench_baseline_free(bench_baseline *b, bench_mem *mem) {
  if (!b) return;
  if (b->buckets) {
    for (size_t i = 0; i <= b->mask; i++) {
      bnode *n = b->buckets[i];
      while (n) {
        bnode *next = n->next;
        mem->mem.free(n->name, mem->mem.user);
        mem->mem.free(n, mem->mem.user);
        n = next;
      }
    }
    mem->mem.free(b->buckets, mem->mem.user);
  }
  mem->mem.free(b, mem->mem.user);
}

static mdr_index find(const bench_baseline *b, const char *s, int wild) {
  for (const bnode *n = b->buckets[bhash(s, wild) & b->mask]; n; n = n->next)
    if (n->wild == wild && strcmp(n->name, s) == 0) return n->vhost;
  return MDR_NONE;
}

mdr_index bench_baseline_lookup(const bench_baseline *b, const char *p, size_t n) {
  char buf[256];
  if (n >= sizeof buf) return MDR_NONE;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    buf[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  buf[n] = '\0';
  mdr_index v = find(b, buf, 0);
  if (v != MDR_NONE) return v;
  const char *dot = strchr(buf, '.');
  return dot ? find(b, dot + 1, 1) : MDR_NONE;
}

unsigned bench_baseline_decide(const bench_baseline *b, const char *p, size_t n, mdr_index hv,
                               mdr_index *vhost) {
  *vhost = MDR_NONE;
  if (n == 0 || n > 253) return 400;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_' || c == '.';
    if (!ok) return 400;
  }
  mdr_index v = bench_baseline_lookup(b, p, n);
  *vhost = v;
  return v != MDR_NONE && v == hv ? 200 : 421;
}
