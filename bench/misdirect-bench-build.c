/* misdirect-bench-build: time to build a table against the number of
 * listeners, policies, vhosts and names per vhost (issue 12, section 3).
 *
 *   misdirect-bench-build [--shape listeners|policies|vhosts|names]... [--n N]
 *                         [--steps K] [--passes P] [--clock cpu|wall]
 *
 * For each shape it builds tables of N, 2N, ... 2^(K-1) N items (default
 * N = 65536, K = 3, P = 5) through the public builder API, from
 * mdr_builder_new to the end of mdr_builder_build, and prints the median
 * nanoseconds per item and its ratio to the first size: a linear build
 * keeps the ratio near 1 (2x the input, 2x the time), a quadratic one
 * doubles it at every step.  Shapes:
 *   listeners  N http listeners, one vhost on every one (listen= of N)
 *   policies   N policies (two per content) and N vhosts, one policy each
 *   vhosts     N vhosts with one name each on one listener (the 1M-name
 *              workload of docs/performance.md, one vhost per name)
 *   names      one vhost with N names and N redirect names
 * See docs/performance.md.  Not run by ctest. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef enum shape { SH_LISTENERS, SH_POLICIES, SH_VHOSTS, SH_NAMES, SH_COUNT_ } shape;
static const char *const shape_names[] = { "listeners", "policies", "vhosts", "names" };

/* n strings "<prefix><i><suffix>", 32 bytes apart in one block. */
typedef struct strs {
  mdr_str *s;
  char *chars;
} strs;

static int make_strs(strs *r, const char *prefix, const char *suffix, size_t n) {
  r->s = malloc((n + 1) * sizeof *r->s);
  r->chars = malloc((n + 1) * 32);
  if (!r->s || !r->chars) return -1;
  for (size_t i = 0; i < n; i++) {
    char *p = r->chars + i * 32;
    int len = snprintf(p, 32, "%s%zu%s", prefix, i, suffix);
    if (len < 0 || len >= 32) return -1;
    r->s[i].ptr = p;
    r->s[i].len = (size_t)len;
  }
  return 0;
}

typedef struct input {
  strs ln, vn, pn, ca, hn, an;
} input;

static void free_input(input *in) {
  strs *all[] = { &in->ln, &in->vn, &in->pn, &in->ca, &in->hn, &in->an };
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
    free(all[i]->s);
    free(all[i]->chars);
  }
}

static int make_input(input *in, size_t n) {
  memset(in, 0, sizeof *in);
  if (make_strs(&in->ln, "l", "", n) || make_strs(&in->vn, "v", "", n) ||
      make_strs(&in->pn, "p", "", n) || make_strs(&in->ca, "ca", ".pem", n) ||
      make_strs(&in->hn, "h", ".example.com", n) || make_strs(&in->an, "a", ".example.com", n))
    return -1;
  return 0;
}

/* Build one table of shape sh with n items; returns the nanoseconds taken,
 * 0 on failure. */
static uint64_t build_once(shape sh, size_t n, const input *in) {
  size_t nl = sh == SH_LISTENERS ? n : 1;
  size_t nv = (sh == SH_VHOSTS || sh == SH_POLICIES) ? n : 1;
  size_t nn = sh == SH_NAMES ? n : 1;
  mdr_error err;
  mdr_table *t = NULL;
  uint64_t t0 = bench_now_ns();
  mdr_builder *b;
  if (mdr_builder_new(&b, NULL)) return 0;
  int rc = 0;
  for (size_t i = 0; i < nl && !rc; i++) {
    mdr_listener_conf c = { .name = in->ln.s[i], .port = (uint16_t)(1 + i % 65535) };
    if (nv == 1) c.default_vhost = in->vn.s[0];
    rc = mdr_builder_add_listener(b, &c, &err);
  }
  for (size_t i = 0; sh == SH_POLICIES && i < n && !rc; i++) {
    mdr_policy_conf c = { .name = in->pn.s[i], .client_auth = MDR_CLIENT_AUTH_REQUIRED,
                          .ca_file = in->ca.s[i / 2] };
    rc = mdr_builder_add_policy(b, &c, &err);
  }
  for (size_t i = 0; i < nv && !rc; i++) {
    mdr_vhost_conf c = { .name = in->vn.s[i], .listeners = in->ln.s, .n_listeners = nl };
    if (nv > 1) {
      c.names = &in->hn.s[i];
      c.n_names = 1;
    } else {
      c.names = in->hn.s;
      c.n_names = nn;
      c.redirect_names = in->an.s;
      c.n_redirect_names = sh == SH_NAMES ? nn : 0;
    }
    if (sh == SH_POLICIES) c.policy = in->pn.s[i];
    rc = mdr_builder_add_vhost(b, &c, &err);
  }
  if (!rc) rc = mdr_builder_build(b, &t, &err);
  uint64_t t1 = bench_now_ns();
  if (rc) fprintf(stderr, "misdirect-bench-build: %s n=%zu: %s\n", shape_names[sh], n, err.message);
  mdr_builder_free(b);
  mdr_table_unref(t);
  return rc ? 0 : t1 - t0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int want[SH_COUNT_] = { 0 };
  int any = 0;
  size_t n0 = 65536;
  unsigned steps = 3, passes = 5;
  for (int i = 1; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int ok = 0;
    if (strcmp(a, "--shape") == 0 && v) {
      for (int s = 0; s < SH_COUNT_; s++)
        if (strcmp(v, shape_names[s]) == 0) want[s] = ok = any = 1;
    } else if (strcmp(a, "--n") == 0 && v) {
      n0 = (size_t)strtoull(v, NULL, 10);
      ok = n0 >= 16 && n0 <= ((size_t)1 << 26);
    } else if (strcmp(a, "--steps") == 0 && v) {
      steps = (unsigned)strtoul(v, NULL, 10);
      ok = steps >= 1 && steps <= 8;
    } else if (strcmp(a, "--passes") == 0 && v) {
      passes = (unsigned)strtoul(v, NULL, 10);
      ok = passes >= 1 && passes <= 64;
    } else if (strcmp(a, "--clock") == 0 && v) {
      ok = strcmp(v, "cpu") == 0 || strcmp(v, "wall") == 0;
      bench_clock_cpu = strcmp(v, "cpu") == 0;
    }
    if (!ok) {
      fprintf(stderr,
              "usage: misdirect-bench-build [--shape listeners|policies|vhosts|names]... [--n N]\n"
              "                             [--steps K] [--passes P] [--clock cpu|wall]\n");
      return 2;
    }
  }
  if (!any)
    for (int s = 0; s < SH_COUNT_; s++) want[s] = 1;
  size_t nmax = n0 << (steps - 1);
  input in;
  if (make_input(&in, nmax)) {
    fprintf(stderr, "misdirect-bench-build: out of memory\n");
    return 1;
  }
  uint64_t *t = malloc(passes * sizeof *t);
  if (!t) return 1;
  printf("%-10s %10s %14s %10s   (median of %u, %s clock)\n", "shape", "items", "ns_per_item",
         "ratio", passes, bench_clock_cpu ? "thread-CPU" : "wall");
  int fail = 0;
  for (int s = 0; s < SH_COUNT_; s++) {
    if (!want[s]) continue;
    double first = 0;
    for (unsigned k = 0; k < steps; k++) {
      size_t n = n0 << k;
      for (unsigned p = 0; p < passes; p++) {
        t[p] = build_once((shape)s, n, &in);
        if (!t[p]) fail = 1;
      }
      qsort(t, passes, sizeof *t, cmp_u64);
      double per = (double)t[passes / 2] / (double)n;
      if (k == 0) first = per;
      printf("%-10s %10zu %14.1f %10.2f\n", shape_names[s], n, per, first > 0 ? per / first : 0.0);
      fflush(stdout);
    }
  }
  free(t);
  free_input(&in);
  return fail;
}
