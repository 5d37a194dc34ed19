/* misdirect-bench: the benchmark of issue 5.
 *
 *   misdirect-bench [--names N]... [--queries Q] [--seed S] [--passes P] [--clock cpu|wall]
 *                   [--names-per-vhost K] [--hugepages] [--target PATH]
 *   misdirect-bench --callgrind COUNT [--what W] [--kind K] [--names N] [--queries Q] [--seed S]
 *                   [--target PATH]
 *
 * --target gives every request that origin-form target ("/" otherwise):
 * rule 1 checks its bytes, so its length shows in the decision's cost.
 * Without --names it runs N = 1000, 100000 and 1000000.  Every figure is a
 * key=value line; timed figures are the median of P (default 5) timed passes
 * after one warm-up pass, with _min and _max beside them.  The same figures
 * are measured for an in-run baseline (bench/baseline.c) and ratio_* lines
 * give misdirect / baseline (below 1 means misdirect is cheaper).
 *
 * Then, per query kind (exact, wildcard, miss: the queries of that kind
 * alone, their bytes packed), decide_KIND_ns, decide_no_match_KIND_ns and
 * baseline_decide_KIND_ns, and KIND_vs_exact (decide_KIND_ns over
 * decide_exact_ns; _no_match the same without the match).
 *
 * decide_ns is an SNI-equal request (the request's host is the SNI, and the
 * handshake's match is passed on as mdr_conn.hs_match); decide_no_match_ns
 * the same without the match; decide_coalesced_ns a request on a connection
 * made for the previous query's name.
 *
 * --callgrind COUNT builds the table, then runs COUNT operations (W =
 * decide, decide-no-match, decide-coalesced, handshake, baseline-decide or
 * baseline-handshake) over the first Q
 * queries (Q defaults to 100000 here; --kind exact, wildcard or miss keeps
 * only the queries of that kind among them) and nothing else, for
 * `valgrind --tool=callgrind`: instructions per operation =
 * (Ir of a COUNT run - Ir of a 0 run) / COUNT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifndef MISDIRECT_BENCH_BUILD_TYPE
#define MISDIRECT_BENCH_BUILD_TYPE "unknown"
#endif

typedef struct opts {
  size_t names[8];
  size_t n_names;
  size_t queries;
  int queries_set;
  uint64_t seed;
  unsigned passes;
  long long callgrind; /* -1 = off */
  size_t per_vhost;    /* names per vhost (1) */
  const char *what;
  int kind;            /* callgrind: only queries of this BENCH_Q_* kind; -1 = all */
} opts;

typedef struct stat3 {
  double med, min, max;
} stat3;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static stat3 summarise(double *v, unsigned n) {
  qsort(v, n, sizeof *v, cmp_double);
  stat3 s = { n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v[0], v[n - 1] };
  return s;
}

static void put3(const char *key, stat3 s) {
  printf("%s=%.1f\n%s_min=%.1f\n%s_max=%.1f\n", key, s.med, key, s.min, key, s.max);
}

/* Everything one run over a workload needs. */
typedef struct ctx {
  const bench_workload *w;
  const mdr_table *t;
  const bench_baseline *base;
  mdr_index *hv;       /* handshake vhost per query (misdirect) */
  uint32_t *hm;        /* the handshake's match per query (mdr_conn.hs_match) */
  mdr_index *bhv;      /* handshake vhost per query (baseline) */
  volatile uint64_t sink;
} ctx;

/* ---- the timed loops ---------------------------------------------------- */

static uint64_t run_handshake(ctx *x, size_t count) {
  const mdr_str *q = x->w->queries;
  size_t nq = x->w->n_queries;
  mdr_handshake_result hr;
  uint64_t acc = 0;
  for (size_t i = 0, k = 0; i < count; i++, k = k + 1 == nq ? 0 : k + 1) {
    mdr_handshake(x->t, 0, 1, q[k].ptr, q[k].len, &hr);
    acc += hr.vhost;
  }
  return acc;
}

/* Every request's target (--target; "/" unless given). */
static mdr_str bench_target = MDR_STR_LIT("/");

static void request_init(mdr_conn *c, mdr_request *r, mdr_str *auth) {
  memset(c, 0, sizeof *c);
  memset(r, 0, sizeof *r);
  c->listener = 0;
  c->has_sni = 1;
  c->has_alpn = 1;
  c->alpn = (mdr_str)MDR_STR_LIT("h2");
  r->version = MDR_HTTP_2;
  r->has_target = 1;
  r->target = bench_target;
  r->has_scheme = 1;
  r->scheme = (mdr_str)MDR_STR_LIT("https");
  r->authority = auth;
  r->n_authority = 1;
}

/* The request kinds of a decision: the SNI is the request's host and the
 * handshake's match is passed on (SNI-equal, the common case); the same
 * without the match (a caller that does not pass it); and a coalesced
 * request, whose connection was made for the previous query's name. */
enum { REQ_SNI_EQUAL, REQ_NO_MATCH, REQ_COALESCED };

static inline void request_conn(ctx *x, mdr_conn *c, size_t k, int kind) {
  size_t h = k;
  if (kind == REQ_COALESCED) h = k ? k - 1 : x->w->n_queries - 1;
  c->sni = x->w->queries[h];
  c->has_hs_vhost = x->hv[h] != MDR_NONE; /* MDR_NONE: refused SNI, the default stands */
  c->hs_vhost = x->hv[h];
  c->hs_match = kind == REQ_NO_MATCH ? 0 : x->hm[h];
}

static inline uint64_t run_decide_kind(ctx *x, size_t count, int kind) {
  const mdr_str *q = x->w->queries;
  size_t nq = x->w->n_queries;
  mdr_conn c;
  mdr_request r;
  mdr_str auth;
  mdr_decision d;
  char loc[512];
  uint64_t acc = 0;
  request_init(&c, &r, &auth);
  for (size_t i = 0, k = 0; i < count; i++, k = k + 1 == nq ? 0 : k + 1) {
    auth = q[k];
    request_conn(x, &c, k, kind);
    mdr_decide(x->t, &c, &r, &d, loc, sizeof loc);
    acc += d.status;
  }
  return acc;
}

static uint64_t run_decide(ctx *x, size_t count) { return run_decide_kind(x, count, REQ_SNI_EQUAL); }
static uint64_t run_decide_no_match(ctx *x, size_t count) {
  return run_decide_kind(x, count, REQ_NO_MATCH);
}
static uint64_t run_decide_coalesced(ctx *x, size_t count) {
  return run_decide_kind(x, count, REQ_COALESCED);
}

/* Each query's index depends on the previous decision (through the vhost
 * index the lookup loaded), so lookups cannot overlap. */
static uint64_t run_decide_latency(ctx *x, size_t count) {
  const mdr_str *q = x->w->queries;
  size_t nq = x->w->n_queries;
  mdr_conn c;
  mdr_request r;
  mdr_str auth;
  mdr_decision d;
  char loc[512];
  uint64_t acc = 0;
  request_init(&c, &r, &auth);
  size_t k = 0;
  for (size_t i = 0; i < count; i++) {
    auth = q[k];
    request_conn(x, &c, k, REQ_SNI_EQUAL);
    mdr_decide(x->t, &c, &r, &d, loc, sizeof loc);
    acc += d.status;
    k += 1 + (size_t)((d.vhost ^ d.request_vhost) == 0x7fffffffu);
    if (k >= nq) k = 0;
  }
  return acc;
}

static uint64_t run_base_handshake(ctx *x, size_t count) {
  const mdr_str *q = x->w->queries;
  size_t nq = x->w->n_queries;
  uint64_t acc = 0;
  for (size_t i = 0, k = 0; i < count; i++, k = k + 1 == nq ? 0 : k + 1) {
    mdr_index v = bench_baseline_lookup(x->base, q[k].ptr, q[k].len);
    acc += v == MDR_NONE ? 0 : v; /* unknown-sni=default: the default vhost 0 */
  }
  return acc;
}

static uint64_t run_base_decide(ctx *x, size_t count) {
  const mdr_str *q = x->w->queries;
  size_t nq = x->w->n_queries;
  uint64_t acc = 0;
  for (size_t i = 0, k = 0; i < count; i++, k = k + 1 == nq ? 0 : k + 1) {
    mdr_index v;
    acc += bench_baseline_decide(x->base, q[k].ptr, q[k].len, x->bhv[k], &v);
  }
  return acc;
}

static uint64_t run_base_decide_latency(ctx *x, size_t count) {
  const mdr_str *q = x->w->queries;
  size_t nq = x->w->n_queries;
  uint64_t acc = 0;
  size_t k = 0;
  for (size_t i = 0; i < count; i++) {
    mdr_index v;
    acc += bench_baseline_decide(x->base, q[k].ptr, q[k].len, x->bhv[k], &v);
    k += 1 + (size_t)(v == 0x7ffffffeu);
    if (k >= nq) k = 0;
  }
  return acc;
}

typedef uint64_t (*run_fn)(ctx *x, size_t count);

/* One warm-up pass, then `passes` timed passes of `count` operations;
 * returns ns per operation. */
static stat3 timed(ctx *x, run_fn fn, size_t count, unsigned passes) {
  double v[64];
  x->sink += fn(x, count);
  for (unsigned p = 0; p < passes; p++) {
    uint64_t t0 = bench_now_ns();
    x->sink += fn(x, count);
    uint64_t t1 = bench_now_ns();
    v[p] = (double)(t1 - t0) / (double)count;
  }
  return summarise(v, passes);
}

/* ---- checks: the benchmark measures correct work only ------------------ */

/* Every exact and wildcard query must be served by its vhost (the same one
 * the baseline finds), every miss refused with 421, whatever the request
 * kind. */
static size_t check(ctx *x, int kind) {
  const bench_workload *w = x->w;
  mdr_conn c;
  mdr_request r;
  mdr_str auth;
  mdr_decision d;
  char loc[512];
  size_t bad = 0;
  request_init(&c, &r, &auth);
  for (size_t k = 0; k < w->n_queries; k++) {
    mdr_index bv = bench_baseline_lookup(x->base, w->queries[k].ptr, w->queries[k].len);
    auth = w->queries[k];
    request_conn(x, &c, k, kind);
    int rc = mdr_decide(x->t, &c, &r, &d, loc, sizeof loc);
    int hit = w->query_kind[k] != BENCH_Q_MISS;
    if (rc != 0 || (hit && (d.status != 200 || d.vhost != bv || bv == MDR_NONE)) ||
        (!hit && (d.status != 421 || bv != MDR_NONE)))
      bad++;
  }
  return bad;
}

/* ---- per query kind ------------------------------------------------------ */

static const char *const kind_name[] = { "exact", "wildcard", "miss" };

/* The queries of one kind (BENCH_Q_*) of x's workload, in their order, their
 * bytes packed into a buffer of their own, with their handshake results:
 * a context the timed loops run on unchanged.  Returns 0, or -1 (out of
 * memory, or no query of that kind). */
typedef struct kind_ctx {
  bench_workload w;
  ctx x;
} kind_ctx;

static int kind_ctx_make(const ctx *x, int kind, kind_ctx *k) {
  const bench_workload *w = x->w;
  memset(k, 0, sizeof *k);
  size_t m = 0, bytes = 0;
  for (size_t i = 0; i < w->n_queries; i++)
    if (w->query_kind[i] == kind) m++, bytes += w->queries[i].len + 1;
  if (m == 0) return -1;
  k->w.n_names = w->n_names;
  k->w.n_queries = m;
  k->w.queries = malloc(m * sizeof *k->w.queries);
  k->w.query_kind = malloc(m);
  k->w.bytes = malloc(bytes);
  k->x.hv = malloc(m * sizeof *k->x.hv);
  k->x.hm = malloc(m * sizeof *k->x.hm);
  k->x.bhv = malloc(m * sizeof *k->x.bhv);
  if (!k->w.queries || !k->w.query_kind || !k->w.bytes || !k->x.hv || !k->x.hm || !k->x.bhv)
    return -1;
  size_t j = 0, at = 0;
  for (size_t i = 0; i < w->n_queries; i++) {
    if (w->query_kind[i] != kind) continue;
    memcpy(k->w.bytes + at, w->queries[i].ptr, w->queries[i].len + 1);
    k->w.queries[j] = (mdr_str){ k->w.bytes + at, w->queries[i].len };
    k->w.query_kind[j] = (uint8_t)kind;
    k->x.hv[j] = x->hv[i];
    k->x.hm[j] = x->hm[i];
    k->x.bhv[j] = x->bhv[i];
    at += w->queries[i].len + 1;
    j++;
  }
  k->w.bytes_len = at;
  k->x.w = &k->w;
  k->x.t = x->t;
  k->x.base = x->base;
  return 0;
}

static void kind_ctx_free(kind_ctx *k) {
  free(k->w.queries);
  free(k->w.query_kind);
  free(k->w.bytes);
  free(k->x.hv);
  free(k->x.hm);
  free(k->x.bhv);
}

/* decide (SNI-equal), decide without the match, and the baseline's
 * decision, per query kind, over as many operations as the other figures;
 * then each kind against exact.  Returns the check failures. */
static size_t bench_kinds(ctx *x, size_t count, unsigned passes) {
  stat3 dc[3], dn[3], bd[3];
  size_t bad = 0;
  char key[64];
  for (int kd = 0; kd < 3; kd++) {
    kind_ctx k;
    if (kind_ctx_make(x, kd, &k)) {
      kind_ctx_free(&k);
      fprintf(stderr, "misdirect-bench: no %s query, or out of memory\n", kind_name[kd]);
      return 1;
    }
    bad += check(&k.x, REQ_SNI_EQUAL) + check(&k.x, REQ_NO_MATCH);
    dc[kd] = timed(&k.x, run_decide, count, passes);
    dn[kd] = timed(&k.x, run_decide_no_match, count, passes);
    bd[kd] = timed(&k.x, run_base_decide, count, passes);
    x->sink += k.x.sink;
    snprintf(key, sizeof key, "decide_%s_ns", kind_name[kd]);
    put3(key, dc[kd]);
    snprintf(key, sizeof key, "decide_no_match_%s_ns", kind_name[kd]);
    put3(key, dn[kd]);
    snprintf(key, sizeof key, "baseline_decide_%s_ns", kind_name[kd]);
    put3(key, bd[kd]);
    printf("ratio_decide_%s=%.3f\n", kind_name[kd], dc[kd].med / bd[kd].med);
    kind_ctx_free(&k);
  }
  for (int kd = 1; kd < 3; kd++) {
    printf("%s_vs_exact=%.3f\n", kind_name[kd], dc[kd].med / dc[0].med);
    printf("%s_vs_exact_no_match=%.3f\n", kind_name[kd], dn[kd].med / dn[0].med);
  }
  return bad;
}

/* ---- one workload size --------------------------------------------------- */

/* The time a build cannot go below at this size: writing as many fresh
 * bytes as the finished table holds, one byte per 4 KiB page, through the
 * same allocator (so --hugepages applies) and timed with the same clock.
 * Every byte of the table is written by the build into memory it has just
 * allocated; when that memory is fresh from the kernel (glibc's blocks above
 * its mmap threshold, every large block of a 1M-name table), the faults this
 * counts are a floor of the build's own, whatever else it does.  They are
 * what dominates a 1M-name build on a machine whose faults are slow
 * (docs/performance.md).  At small N the table may reuse pages malloc
 * already holds, and this is no floor.  Median of `passes`. */
static int first_touch(bench_mem *mem, size_t bytes, size_t n, unsigned passes, stat3 *out) {
  double v[64];
  for (unsigned p = 0; p < passes; p++) {
    volatile char *b = mem->mem.malloc(bytes ? bytes : 1, mem->mem.user);
    if (!b) {
      fprintf(stderr, "misdirect-bench: out of memory\n");
      return 1;
    }
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < bytes; i += 4096) b[i] = 1;
    uint64_t t1 = bench_now_ns();
    mem->mem.free((void *)(uintptr_t)b, mem->mem.user);
    v[p] = (double)(t1 - t0) / (double)(n ? n : 1);
  }
  *out = summarise(v, passes);
  return 0;
}

static int bench_one(const opts *o, size_t n) {
  bench_workload w;
  if (bench_workload_make(&w, n, o->queries, o->seed)) {
    fprintf(stderr, "misdirect-bench: out of memory\n");
    return 1;
  }
  n = w.n_names;
  w.names_per_vhost = o->per_vhost;
  printf("names_per_vhost=%zu\nhugepages=%d\ntarget_len=%zu\n", o->per_vhost, bench_hugepages,
         bench_target.len);
  printf("names=%zu\nqueries=%zu\nseed=%llu\npasses=%u\nbuild_type=%s\nclock=%s\n", n,
         w.n_queries, (unsigned long long)o->seed, o->passes, MISDIRECT_BENCH_BUILD_TYPE,
         bench_clock_cpu ? "thread-cpu" : "wall");
  printf("name_bytes_per_name=%.1f\n", (double)w.name_bytes / (double)n);

  /* Build: warm-up + timed passes; the last table is kept. */
  bench_mem mem;
  bench_mem_init(&mem);
  mdr_table *t = NULL;
  double bv[64];
  size_t table_bytes = 0;
  for (unsigned p = 0; p <= o->passes; p++) {
    mdr_table_unref(t);
    t = NULL;
    uint64_t ns;
    if (bench_build_table_timed(&w, &mem.mem, &t, &ns)) return 1;
    if (p) bv[p - 1] = (double)ns / (double)n;
    table_bytes = mem.live_bytes;
  }
  stat3 build = summarise(bv, o->passes);
  put3("build_ns_per_name", build);
  printf("table_bytes=%zu\nbytes_per_name=%.1f\noverhead_bytes_per_name=%.1f\n", table_bytes,
         (double)table_bytes / (double)n, (double)(table_bytes - w.name_bytes) / (double)n);
  /* mdr_table_find_vhost over every vhost's statement name, in order. */
  {
    size_t nv = mdr_table_vhost_count(t);
    double fv[64];
    uint64_t found = 0;
    for (unsigned p = 0; p < o->passes; p++) {
      uint64_t t0 = bench_now_ns();
      for (size_t i = 0; i < nv; i++) {
        mdr_index v;
        found += mdr_table_find_vhost(t, w.vhost_names[i], &v) == 0 && v == i;
      }
      fv[p] = (double)(bench_now_ns() - t0) / (double)(nv ? nv : 1);
    }
    put3("find_vhost_ns", summarise(fv, o->passes));
    if (found != (uint64_t)nv * o->passes) {
      fprintf(stderr, "misdirect-bench: mdr_table_find_vhost missed a vhost\n");
      return 1;
    }
  }
  stat3 touch;
  if (first_touch(&mem, table_bytes, n, o->passes, &touch)) return 1;
  put3("first_touch_ns_per_name", touch);
  printf("build_vs_first_touch=%.3f\n", build.med / touch.med);

  /* Baseline build. */
  bench_mem bmem;
  bench_mem_init(&bmem);
  bench_baseline *base = NULL;
  for (unsigned p = 0; p <= o->passes; p++) {
    if (base) bench_baseline_free(base, &bmem);
    uint64_t t0 = bench_now_ns();
    base = bench_baseline_build(&w, &bmem);
    uint64_t t1 = bench_now_ns();
    if (!base) {
      fprintf(stderr, "misdirect-bench: out of memory\n");
      return 1;
    }
    if (p) bv[p - 1] = (double)(t1 - t0) / (double)n;
  }
  stat3 bbuild = summarise(bv, o->passes);
  size_t base_bytes = bmem.live_bytes;

  ctx x;
  memset(&x, 0, sizeof x);
  x.w = &w;
  x.t = t;
  x.base = base;
  x.hv = malloc(w.n_queries * sizeof *x.hv);
  x.bhv = malloc(w.n_queries * sizeof *x.bhv);
  x.hm = malloc(w.n_queries * sizeof *x.hm);
  if (!x.hv || !x.bhv || !x.hm) return 1;
  for (size_t k = 0; k < w.n_queries; k++) {
    mdr_handshake_result hr;
    mdr_handshake(t, 0, 1, w.queries[k].ptr, w.queries[k].len, &hr);
    x.hv[k] = hr.vhost;
    x.hm[k] = hr.match;
    mdr_index b = bench_baseline_lookup(base, w.queries[k].ptr, w.queries[k].len);
    x.bhv[k] = b == MDR_NONE ? 0 : b;
  }
  size_t bad = check(&x, REQ_SNI_EQUAL) + check(&x, REQ_NO_MATCH) + check(&x, REQ_COALESCED);
  printf("check_failures=%zu\n", bad);

  size_t q = w.n_queries;
  uint64_t c0 = mem.calls;
  stat3 hs = timed(&x, run_handshake, q, o->passes);
  uint64_t c1 = mem.calls;
  stat3 dc = timed(&x, run_decide, q, o->passes);
  stat3 dl = timed(&x, run_decide_latency, q, o->passes);
  stat3 dn = timed(&x, run_decide_no_match, q, o->passes);
  stat3 dco = timed(&x, run_decide_coalesced, q, o->passes);
  uint64_t c2 = mem.calls;
  double ops = (double)q * (o->passes + 1);
  put3("handshake_ns", hs);
  put3("decide_ns", dc);
  put3("decide_latency_ns", dl);
  put3("decide_no_match_ns", dn);
  put3("decide_coalesced_ns", dco);
  printf("allocs_per_handshake=%.3f\n", (double)(c1 - c0) / ops);
  printf("allocs_per_decision=%.3f\n", (double)(c2 - c1) / (4 * ops));

  stat3 bhs = timed(&x, run_base_handshake, q, o->passes);
  stat3 bdc = timed(&x, run_base_decide, q, o->passes);
  stat3 bdl = timed(&x, run_base_decide_latency, q, o->passes);
  put3("baseline_build_ns_per_name", bbuild);
  printf("baseline_bytes_per_name=%.1f\n", (double)base_bytes / (double)n);
  put3("baseline_handshake_ns", bhs);
  put3("baseline_decide_ns", bdc);
  put3("baseline_decide_latency_ns", bdl);
  printf("ratio_build=%.3f\n", build.med / bbuild.med);
  printf("ratio_bytes=%.3f\n", (double)table_bytes / (double)base_bytes);
  printf("ratio_handshake=%.3f\n", hs.med / bhs.med);
  printf("ratio_decide=%.3f\n", dc.med / bdc.med);
  printf("ratio_decide_latency=%.3f\n", dl.med / bdl.med);
  size_t kbad = bench_kinds(&x, q, o->passes);
  printf("check_failures_per_kind=%zu\n", kbad);
  bad += kbad;
  printf("\n");
  fflush(stdout);

  free(x.hv);
  free(x.bhv);
  free(x.hm);
  bench_baseline_free(base, &bmem);
  mdr_table_unref(t);
  bench_workload_free(&w);
  return bad ? 1 : 0;
}

/* ---- callgrind mode -------------------------------------------------------- */

static int bench_callgrind(const opts *o) {
  bench_workload w;
  size_t n = o->n_names ? o->names[0] : 1000;
  size_t q = o->queries_set ? o->queries : 100000;
  if (q == 0) q = 1;
  if (bench_workload_make(&w, n, q, o->seed)) return 1;
  w.names_per_vhost = o->per_vhost;
  mdr_table *t = NULL;
  if (bench_build_table(&w, NULL, &t)) return 1;
  if (o->kind >= 0) {
    /* --kind: keep the queries of one kind, in their order. */
    size_t m = 0;
    for (size_t k = 0; k < w.n_queries; k++)
      if (w.query_kind[k] == o->kind) {
        w.queries[m] = w.queries[k];
        w.query_kind[m++] = w.query_kind[k];
      }
    if (m == 0) return 1;
    w.n_queries = q = m;
  }
  bench_mem bmem;
  bench_mem_init(&bmem);
  int base = strncmp(o->what, "baseline", 8) == 0;
  ctx x;
  memset(&x, 0, sizeof x);
  x.w = &w;
  x.t = t;
  x.hv = malloc(q * sizeof *x.hv);
  x.bhv = malloc(q * sizeof *x.bhv);
  x.hm = malloc(q * sizeof *x.hm);
  if (!x.hv || !x.bhv || !x.hm) return 1;
  if (base) {
    x.base = bench_baseline_build(&w, &bmem);
    if (!x.base) return 1;
  }
  for (size_t k = 0; k < q; k++) {
    if (base) {
      mdr_index b = bench_baseline_lookup(x.base, w.queries[k].ptr, w.queries[k].len);
      x.bhv[k] = b == MDR_NONE ? 0 : b;
    } else {
      mdr_handshake_result hr;
      mdr_handshake(t, 0, 1, w.queries[k].ptr, w.queries[k].len, &hr);
      x.hv[k] = hr.vhost;
      x.hm[k] = hr.match;
    }
  }
  run_fn fn = NULL;
  if (strcmp(o->what, "decide") == 0) fn = run_decide;
  else if (strcmp(o->what, "decide-no-match") == 0) fn = run_decide_no_match;
  else if (strcmp(o->what, "decide-coalesced") == 0) fn = run_decide_coalesced;
  else if (strcmp(o->what, "handshake") == 0) fn = run_handshake;
  else if (strcmp(o->what, "baseline-decide") == 0) fn = run_base_decide;
  else if (strcmp(o->what, "baseline-handshake") == 0) fn = run_base_handshake;
  if (!fn) {
    fprintf(stderr, "misdirect-bench: --what must be decide, decide-no-match, "
                    "decide-coalesced, handshake, baseline-decide or baseline-handshake\n");
    return 2;
  }
  size_t count = (size_t)o->callgrind;
  x.sink += fn(&x, count);
  printf("callgrind_what=%s\ncallgrind_ops=%zu\nnames=%zu\nqueries=%zu\n", o->what, count,
         w.n_names, q);
  free(x.hv);
  free(x.bhv);
  free(x.hm);
  if (x.base) bench_baseline_free((bench_baseline *)x.base, &bmem);
  mdr_table_unref(t);
  bench_workload_free(&w);
  return 0;
}

/* ---- main ----------------------------------------------------------------- */

static int parse_num(const char *s, unsigned long long *out) {
  char *end;
  if (!s || !*s) return -1;
  *out = strtoull(s, &end, 10);
  return *end ? -1 : 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: misdirect-bench [--names N]... [--queries Q] [--seed S] [--passes P] "
          "[--clock cpu|wall] [--names-per-vhost K] [--hugepages] [--target PATH]\n"
          "       misdirect-bench --callgrind COUNT [--what decide|decide-no-match|"
          "decide-coalesced|handshake|baseline-decide|baseline-handshake]\n"
          "                 [--kind exact|wildcard|miss] [--names N] [--queries Q] [--seed S]\n"
          "                 [--target PATH]\n");
}

int main(int argc, char **argv) {
  opts o;
  memset(&o, 0, sizeof o);
  setvbuf(stdout, NULL, _IOLBF, 0);
  o.queries = 2000000;
  o.seed = 42;
  o.passes = 5;
  o.callgrind = -1;
  o.what = "decide";
  o.kind = -1;
  o.per_vhost = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    unsigned long long x = 0;
    if (strcmp(a, "--what") == 0 && v) {
      o.what = v;
      i++;
      continue;
    }
    if (strcmp(a, "--kind") == 0 && v) {
      o.kind = strcmp(v, "exact") == 0 ? BENCH_Q_EXACT
               : strcmp(v, "wildcard") == 0 ? BENCH_Q_WILD
               : strcmp(v, "miss") == 0 ? BENCH_Q_MISS : -2;
      if (o.kind == -2) {
        usage();
        return 2;
      }
      i++;
      continue;
    }
    if (strcmp(a, "--target") == 0 && v && v[0] == '/') {
      bench_target.ptr = v;
      bench_target.len = strlen(v);
      i++;
      continue;
    }
    if (strcmp(a, "--hugepages") == 0) {
      bench_hugepages = 1;
      continue;
    }
    if (strcmp(a, "--clock") == 0 && v && (strcmp(v, "cpu") == 0 || strcmp(v, "wall") == 0)) {
      bench_clock_cpu = strcmp(v, "cpu") == 0;
      i++;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage();
      return 0;
    }
    if (parse_num(v, &x)) {
      usage();
      return 2;
    }
    i++;
    if (strcmp(a, "--names") == 0 && x >= 10 && o.n_names < 8) o.names[o.n_names++] = (size_t)x;
    else if (strcmp(a, "--queries") == 0 && x > 0) {
      o.queries = (size_t)x;
      o.queries_set = 1;
    } else if (strcmp(a, "--seed") == 0) o.seed = x;
    else if (strcmp(a, "--names-per-vhost") == 0 && x >= 1) o.per_vhost = (size_t)x;
    else if (strcmp(a, "--passes") == 0 && x >= 1 && x <= 64) o.passes = (unsigned)x;
    else if (strcmp(a, "--callgrind") == 0) o.callgrind = (long long)x;
    else {
      usage();
      return 2;
    }
  }
  if (o.callgrind >= 0) return bench_callgrind(&o);
  if (o.n_names == 0) {
    o.names[0] = 1000;
    o.names[1] = 100000;
    o.names[2] = 1000000;
    o.n_names = 3;
  }
  int rc = 0;
  for (size_t i = 0; i < o.n_names; i++) rc |= bench_one(&o, o.names[i]);
  return rc;
}
