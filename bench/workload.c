/* The workload of issue 5, generated deterministically from a seed, and the
 * counting allocator used to measure the table's heap and allocations. */
#define _DEFAULT_SOURCE 1 /* clock_gettime, posix_memalign, madvise */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "bench.h"

int bench_clock_cpu = 1;

uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(bench_clock_cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- counting allocator ------------------------------------------------ */

typedef union bench_hdr {
  size_t size;
  max_align_t align;
} bench_hdr;

int bench_hugepages = 0;

/* Large blocks on 2 MiB boundaries, advised as transparent huge pages
 * (--hugepages): what an embedder can do for a big table through mdr_mem. */
static void *big_alloc(size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bench_hugepages && n >= (1u << 21)) {
    void *p = NULL;
    size_t sz = (n + (1u << 21) - 1) & ~(size_t)((1u << 21) - 1);
    if (posix_memalign(&p, 1u << 21, sz) != 0) return NULL;
    madvise(p, sz, MADV_HUGEPAGE);
    return p;
  }
#endif
  return malloc(n);
}

static void *bm_malloc(size_t n, void *user) {
  bench_mem *m = user;
  m->calls++;
  bench_hdr *h = big_alloc(sizeof *h + n);
  if (!h) return NULL;
  h->size = n;
  m->live_bytes += n;
  m->live_blocks++;
  return h + 1;
}

static void bm_free(void *p, void *user) {
  bench_mem *m = user;
  if (!p) return;
  bench_hdr *h = (bench_hdr *)p - 1;
  m->frees++;
  m->live_bytes -= h->size;
  m->live_blocks--;
  free(h);
}

static void *bm_realloc(void *p, size_t n, void *user) {
  bench_mem *m = user;
  if (!p) return bm_malloc(n, user);
  m->calls++;
  bench_hdr *h = (bench_hdr *)p - 1;
  size_t old = h->size;
  bench_hdr *nh = realloc(h, sizeof *nh + n);
  if (!nh) return NULL;
  nh->size = n;
  m->live_bytes = m->live_bytes - old + n;
  return nh + 1;
}

void bench_mem_init(bench_mem *m) {
  memset(m, 0, sizeof *m);
  m->mem.user = m;
  m->mem.malloc = bm_malloc;
  m->mem.realloc = bm_realloc;
  m->mem.free = bm_free;
}

/* ---- workload ---------------------------------------------------------- */

/* Every generated string is at most this long (the digits are bounded). */
#define BENCH_STR_MAX 64

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

/* Claim room for one string (the buffer's capacity is reserved up front, so
 * it never moves); finish it with done(). */
static char *room(sbuf *b) {
  if (b->cap - b->len < BENCH_STR_MAX) abort();
  return b->p + b->len;
}

static mdr_str done(sbuf *b, int n) {
  if (n < 0 || n >= BENCH_STR_MAX) abort();
  mdr_str s = { b->p + b->len, (size_t)n };
  b->len += (size_t)n + 1; /* keep the NUL: the baseline wants C strings */
  return s;
}

static void shuffle_strs(bench_rng *r, mdr_str *a, size_t n) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)bench_below(r, i);
    mdr_str t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
  }
}

int bench_workload_make(bench_workload *w, size_t n_names, size_t n_queries, uint64_t seed) {
  memset(w, 0, sizeof *w);
  bench_rng r = { seed };
  size_t h = n_names / 10;
  if (h == 0) h = 1;
  if (n_names < 2) n_names = 2;
  size_t n_exact = n_names - h;
  w->n_names = n_names;
  w->n_zones_wild = h;
  w->n_cert_names = 2 * h;
  w->n_queries = n_queries;
  size_t n_strings = n_names * 2 + w->n_cert_names + n_queries;
  w->bytes = malloc(n_strings * BENCH_STR_MAX);
  w->names = malloc(n_names * sizeof *w->names);
  w->vhost_names = malloc(n_names * sizeof *w->vhost_names);
  w->cert_names = malloc(w->n_cert_names * sizeof *w->cert_names);
  w->queries = malloc((n_queries ? n_queries : 1) * sizeof *w->queries);
  w->query_kind = malloc(n_queries ? n_queries : 1);
  if (!w->bytes || !w->names || !w->vhost_names || !w->cert_names || !w->queries ||
      !w->query_kind) {
    bench_workload_free(w);
    return -1;
  }
  sbuf b = { w->bytes, 0, n_strings * BENCH_STR_MAX };

  /* Exact names host<D digits>.zone<k>.example, k uniform in [0, 2H).  The
   * digits are an affine bijection of the sequence number, so names are
   * distinct without a dedupe pass yet look random. */
  int width = 6;
  unsigned long long mod = 1000000ull;
  while (mod < n_exact) {
    mod *= 10;
    width++;
  }
  unsigned long long mul = (bench_rand(&r) % mod) | 1ull;
  while (mul % 5 == 0) mul += 2;
  unsigned long long add = bench_rand(&r) % mod;
  for (size_t i = 0; i < n_exact; i++) {
    unsigned long long digits = (mul * (unsigned long long)i + add) % mod;
    unsigned long long k = bench_below(&r, 2 * h);
    w->names[i] = done(&b, snprintf(room(&b), BENCH_STR_MAX, "host%0*llu.zone%llu.example", width,
                                    digits, k));
  }
  for (size_t k = 0; k < h; k++)
    w->names[n_exact + k] = done(&b, snprintf(room(&b), BENCH_STR_MAX, "*.zone%zu.example", k));
  shuffle_strs(&r, w->names, n_names);
  for (size_t i = 0; i < n_names; i++) {
    w->name_bytes += w->names[i].len;
    w->vhost_names[i] = done(&b, snprintf(room(&b), BENCH_STR_MAX, "v%zu", i));
  }
  for (size_t k = 0; k < w->n_cert_names; k++)
    w->cert_names[k] = done(&b, snprintf(room(&b), BENCH_STR_MAX, "*.zone%zu.example", k));

  /* Queries: 70% a random exact name, 20% w<r>.zone<k>.example with k < H
   * (wildcard hits), 10% m<r>.zone<k>.example with H <= k < 2H (misses);
   * then shuffled.  The query bytes are laid out in query order. */
  size_t n_q_exact = n_queries * 7 / 10, n_q_wild = n_queries * 2 / 10;
  for (size_t i = 0; i < n_queries; i++)
    w->query_kind[i] = i < n_q_exact ? BENCH_Q_EXACT
                       : i < n_q_exact + n_q_wild ? BENCH_Q_WILD : BENCH_Q_MISS;
  for (size_t i = n_queries; i > 1; i--) {
    size_t j = (size_t)bench_below(&r, i);
    uint8_t k = w->query_kind[i - 1];
    w->query_kind[i - 1] = w->query_kind[j];
    w->query_kind[j] = k;
  }
  /* Exact names are the names that do not start with "*.". */
  size_t *exact_idx = malloc((n_exact ? n_exact : 1) * sizeof *exact_idx);
  if (!exact_idx) {
    bench_workload_free(w);
    return -1;
  }
  size_t ne = 0;
  for (size_t i = 0; i < n_names; i++)
    if (w->names[i].ptr[0] != '*') exact_idx[ne++] = i;
  for (size_t i = 0; i < n_queries; i++) {
    switch (w->query_kind[i]) {
    case BENCH_Q_EXACT: {
      mdr_str s = w->names[exact_idx[bench_below(&r, ne)]];
      char *dst = room(&b);
      memcpy(dst, s.ptr, s.len + 1);
      b.len += s.len + 1;
      w->queries[i].ptr = dst;
      w->queries[i].len = s.len;
      break;
    }
    case BENCH_Q_WILD: {
      unsigned long long rr = bench_below(&r, 1000000), k = bench_below(&r, h);
      w->queries[i] = done(&b, snprintf(room(&b), BENCH_STR_MAX, "w%llu.zone%llu.example", rr, k));
      break;
    }
    default: {
      unsigned long long rr = bench_below(&r, 1000000), k = h + bench_below(&r, h);
      w->queries[i] = done(&b, snprintf(room(&b), BENCH_STR_MAX, "m%llu.zone%llu.example", rr, k));
      break;
    }
    }
  }
  free(exact_idx);
  w->bytes_len = b.len;
  return 0;
}

void bench_workload_free(bench_workload *w) {
  free(w->bytes);
  free(w->names);
  free(w->vhost_names);
  free(w->cert_names);
  free(w->queries);
  free(w->query_kind);
  memset(w, 0, sizeof *w);
}

/* ---- the misdirect table ----------------------------------------------- */

int bench_build_table(const bench_workload *w, const mdr_mem *mem, mdr_table **out) {
  uint64_t ns;
  return bench_build_table_timed(w, mem, out, &ns);
}

int bench_build_table_timed(const bench_workload *w, const mdr_mem *mem, mdr_table **out,
                            uint64_t *ns) {
  mdr_builder *b = NULL;
  uint64_t t0 = bench_now_ns();
  mdr_error err;
  memset(&err, 0, sizeof err);
  *out = NULL;
  int rc = mdr_builder_new(&b, mem);
  if (rc) return rc;
  mdr_str lname = MDR_STR_LIT("https"), cname = MDR_STR_LIT("c"), pname = MDR_STR_LIT("p");
  mdr_listener_conf lc;
  memset(&lc, 0, sizeof lc);
  lc.name = lname;
  lc.tls = 1;
  lc.port = 443;
  lc.default_vhost = w->vhost_names[0];
  lc.unknown_sni = MDR_UNKNOWN_SNI_DEFAULT;
  mdr_cert_conf cc;
  memset(&cc, 0, sizeof cc);
  cc.name = cname;
  cc.names = w->cert_names;
  cc.n_names = w->n_cert_names;
  mdr_policy_conf pc;
  memset(&pc, 0, sizeof pc);
  pc.name = pname;
  rc = mdr_builder_add_listener(b, &lc, &err);
  if (!rc) rc = mdr_builder_add_cert(b, &cc, &err);
  if (!rc) rc = mdr_builder_add_policy(b, &pc, &err);
  mdr_vhost_conf vc;
  memset(&vc, 0, sizeof vc);
  vc.listeners = &lname;
  vc.n_listeners = 1;
  vc.cert = cname;
  vc.policy = pname;
  size_t per = w->names_per_vhost ? w->names_per_vhost : 1;
  for (size_t i = 0, v = 0; !rc && i < w->n_names; i += per, v++) {
    vc.name = w->vhost_names[v];
    vc.names = &w->names[i];
    vc.n_names = w->n_names - i < per ? w->n_names - i : per;
    rc = mdr_builder_add_vhost(b, &vc, &err);
  }
  if (!rc) rc = mdr_builder_build(b, out, &err);
  *ns = bench_now_ns() - t0;
  if (rc) fprintf(stderr, "misdirect-bench: build failed: %s (%s)\n", mdr_strerror(rc), err.message);
  mdr_builder_free(b);
  return rc;
}
