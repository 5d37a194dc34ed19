/* misdirect-bench: shared declarations (workload, counting allocator,
 * in-run baseline).  Not part of the library. */
#ifndef MISDIRECT_BENCH_H
#define MISDIRECT_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <misdirect/misdirect.h>

/* ---- clock ----------------------------------------------------------- */

/* Nanoseconds of this thread's CPU time (bench_clock_cpu = 1, the default:
 * time the thread spends descheduled on a busy machine is not counted) or of
 * the monotonic wall clock (bench_clock_cpu = 0).  Defined in workload.c. */
extern int bench_clock_cpu;
uint64_t bench_now_ns(void);

/* ---- deterministic random numbers (splitmix64) ------------------------- */

typedef struct bench_rng {
  uint64_t s;
} bench_rng;

static inline uint64_t bench_rand(bench_rng *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (modulo bias below 2^-32 for n < 2^32). */
static inline uint64_t bench_below(bench_rng *r, uint64_t n) { return bench_rand(r) % n; }

/* ---- counting allocator ------------------------------------------------ */

typedef struct bench_mem {
  mdr_mem mem;         /* pass &x.mem to the library */
  uint64_t calls;      /* malloc + realloc calls */
  uint64_t frees;
  size_t live_bytes;   /* bytes requested and not yet freed */
  size_t live_blocks;
} bench_mem;

void bench_mem_init(bench_mem *m);
/* 1: blocks of 2 MiB and more are 2 MiB-aligned and advised as huge pages. */
extern int bench_hugepages;

/* ---- the workload of issue 5 ------------------------------------------- */

enum { BENCH_Q_EXACT = 0, BENCH_Q_WILD = 1, BENCH_Q_MISS = 2 };

typedef struct bench_workload {
  size_t n_names;      /* N */
  size_t n_zones_wild; /* H = N/10: wildcard zones 0..H-1 */
  mdr_str *names;      /* N names in shuffled order ("*.zoneK.example" for wildcards) */
  mdr_str *vhost_names;/* "v0".."v<N-1>" */
  size_t names_per_vhost; /* 1 (default): one vhost per name; K: names iK..iK+K-1 on vhost i */
  mdr_str *cert_names; /* "*.zoneK.example" for K < 2H: the one certificate */
  size_t n_cert_names;
  mdr_str *queries;    /* Q queries in random order */
  uint8_t *query_kind; /* BENCH_Q_* */
  size_t n_queries;
  char *bytes;         /* backing store of every string above */
  size_t bytes_len;
  size_t name_bytes;   /* sum of the N names' lengths */
} bench_workload;

/* Generate the workload; returns 0 or -1 (out of memory). */
int bench_workload_make(bench_workload *w, size_t n_names, size_t n_queries, uint64_t seed);
void bench_workload_free(bench_workload *w);

/* Build the misdirect table for the workload through the public builder:
 * one https listener (port 443, default=v0, unknown-sni=default), one cert
 * covering every name, one policy, one vhost per name (or per
 * w->names_per_vhost consecutive names).  Returns 0 or the
 * builder's error (printed to stderr). */
int bench_build_table(const bench_workload *w, const mdr_mem *mem, mdr_table **out);
/* The same, and *ns gets the time from mdr_builder_new to the end of
 * mdr_builder_build (the builder is freed after the clock stops). */
int bench_build_table_timed(const bench_workload *w, const mdr_mem *mem, mdr_table **out,
                            uint64_t *ns);

/* ---- in-run baseline: chained hash + strcmp + separate lower-case pass -- */

typedef struct bench_baseline bench_baseline;

/* Build from the workload's names (value = vhost index).  NULL on OOM. */
bench_baseline *bench_baseline_build(const bench_workload *w, bench_mem *mem);
void bench_baseline_free(bench_baseline *b, bench_mem *mem);

/* Handshake-equivalent: lower-case copy, exact lookup, then the wildcard
 * for the suffix after the first label.  Returns the vhost or MDR_NONE. */
mdr_index bench_baseline_lookup(const bench_baseline *b, const char *p, size_t n);

/* Decision-equivalent: validate the bytes (letters, digits, '-', '_', '.'),
 * lower-case, look up, compare with the handshake vhost: 200 when equal,
 * 421 when different or unknown, 400 when invalid.  *vhost gets the vhost. */
unsigned bench_baseline_decide(const bench_baseline *b, const char *p, size_t n, mdr_index hv,
                               mdr_index *vhost);

#endif
