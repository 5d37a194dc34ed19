/* The table holder (hot reload) and a thread-safety stress test: reader
 * threads acquire the current table and decide on it while the main thread
 * builds and swaps in new tables; every decision must match the table it
 * was taken against.  Run under ThreadSanitizer with
 * -DMISDIRECT_SANITIZE=thread (scripts/tsan).
 *
 * Sizes: MISDIRECT_STRESS_DECISIONS decisions per reader (default 200000,
 * 20000 under valgrind; the long form is 10000000) and MISDIRECT_STRESS_SWAPS
 * swaps (default 1000, 200 under valgrind). */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <cmocka.h>

#include <misdirect/holder.h>

#include "testutil.h"

/* ---- a thread-safe counting allocator ------------------------------------ */

typedef union hdr { size_t size; max_align_t align; } hdr;

typedef struct amem {
  mdr_mem mem;
  atomic_size_t live;
  atomic_size_t allocs;
  atomic_int fail_next;    /* fail the next malloc (single-shot) */
} amem;

static void *a_malloc(size_t n, void *user) {
  amem *m = user;
  if (atomic_exchange(&m->fail_next, 0)) return NULL;
  hdr *h = malloc(sizeof *h + n);
  if (!h) return NULL;
  h->size = n;
  atomic_fetch_add(&m->live, 1);
  atomic_fetch_add(&m->allocs, 1);
  return h + 1;
}

static void a_free(void *p, void *user) {
  amem *m = user;
  if (!p) return;
  atomic_fetch_sub(&m->live, 1);
  free((hdr *)p - 1);
}

static void *a_realloc(void *p, size_t n, void *user) {
  if (!p) return a_malloc(n, user);
  hdr *h = realloc((hdr *)p - 1, sizeof *h + n);
  if (!h) return NULL;
  h->size = n;
  return h + 1;
}

static void amem_init(amem *m) {
  m->mem.user = m;
  m->mem.malloc = a_malloc;
  m->mem.realloc = a_realloc;
  m->mem.free = a_free;
  atomic_init(&m->live, 0);
  atomic_init(&m->allocs, 0);
  atomic_init(&m->fail_next, 0);
}

/* ---- tables that differ deterministically -------------------------------
 *
 * Table k has NV vhosts "t<k>-v<j>" on a cleartext listener.  Host
 * "h<i>.example" (i < NH) is a name of vhost (i + k) % NV, and
 * "a<i>.example" a redirect alias of the same vhost.  The first name of vhost
 * j (its canonical name, the redirect target) is h<(j - k) mod NV>.  So for
 * table k: h<i> -> serve vhost (i + k) % NV; a<i> -> 308 to
 * http://h<i % NV>.example/... ; vhost 0's name carries k. */

enum { NV = 8, NH = 24 };

static mdr_table *make_table(unsigned k, const mdr_mem *mem) {
  mdr_builder *b = NULL;
  mdr_error err;
  assert_int_equal(mdr_builder_new(&b, mem), 0);
  mdr_listener_conf l = { .name = MDR_STR_LIT("web"), .tls = 0, .port = 80 };
  assert_int_equal(mdr_builder_add_listener(b, &l, &err), 0);
  static char names[NV][NH][24], aliases[NV][NH][24];
  for (unsigned j = 0; j < NV; j++) {
    mdr_str n[NH], a[NH];
    size_t nn = 0, na = 0;
    /* first name: the smallest i with (i + k) % NV == j */
    for (unsigned i = 0; i < NH; i++) {
      if ((i + k) % NV != j) continue;
      snprintf(names[j][nn], sizeof names[j][nn], "h%u.example", i);
      n[nn] = tu_str(names[j][nn]);
      nn++;
      snprintf(aliases[j][na], sizeof aliases[j][na], "a%u.example", i);
      a[na] = tu_str(aliases[j][na]);
      na++;
    }
    char vname[32];
    snprintf(vname, sizeof vname, "t%u-v%u", k, j);
    mdr_str lst = MDR_STR_LIT("web");
    mdr_vhost_conf v = { .name = tu_str(vname), .listeners = &lst, .n_listeners = 1,
                         .names = n, .n_names = nn, .redirect_names = a,
                         .n_redirect_names = na };
    assert_int_equal(mdr_builder_add_vhost(b, &v, &err), 0);
  }
  mdr_table *t = NULL;
  assert_int_equal(mdr_builder_build(b, &t, &err), 0);
  mdr_builder_free(b);
  return t;
}

static int str_eq(mdr_str a, const char *b) {
  return a.len == strlen(b) && memcmp(a.ptr, b, a.len) == 0;
}

/* Decide host (alias when `alias`) number i on table t and check the result
 * against table number k.  Returns 0 when it matches. */
static int check_decision(const mdr_table *t, unsigned k, unsigned i, int alias) {
  char host[32], loc[128], want[128];
  snprintf(host, sizeof host, "%c%u.example", alias ? 'a' : 'h', i);
  mdr_str h = tu_str(host);
  mdr_conn c = { .listener = 0 };
  mdr_request r = { .version = MDR_HTTP_1_1, .has_target = 1, .target = MDR_STR_LIT("/p?q"),
                    .host = &h, .n_host = 1 };
  mdr_decision d;
  if (mdr_decide(t, &c, &r, &d, loc, sizeof loc) != 0) return -1;
  if (d.vhost != (i + k) % NV) return -2;
  char vname[32];
  snprintf(vname, sizeof vname, "t%u-v%u", k, d.vhost);
  if (!str_eq(mdr_vhost_name(t, d.vhost), vname)) return -3;
  if (!alias) return d.kind == MDR_SERVE ? 0 : -4;
  if (d.kind != MDR_REDIRECT || d.status != 308) return -5;
  snprintf(want, sizeof want, "http://h%u.example/p?q", i % NV);
  return d.location_len == strlen(want) && memcmp(loc, want, d.location_len) == 0 ? 0 : -6;
}

/* Which k a table was built as: from vhost 0's name "t<k>-v0". */
static unsigned table_k(const mdr_table *t) {
  mdr_str n = mdr_vhost_name(t, 0);
  unsigned k = 0;
  for (size_t i = 1; i < n.len && n.ptr[i] != '-'; i++) k = k * 10 + (unsigned)(n.ptr[i] - '0');
  return k;
}

/* ---- unit tests of the holder -------------------------------------------- */

static void test_holder_basics(void **state) {
  (void)state;
  amem m;
  amem_init(&m);
  mdr_table *t0 = make_table(0, &m.mem), *t1 = make_table(1, &m.mem);
  mdr_holder *h = NULL;
  assert_int_equal(mdr_holder_new(NULL, t0, NULL), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_holder_new(&h, NULL, NULL), MDR_ERR_INVALID_ARGUMENT);
  assert_null(h);
  assert_null(mdr_holder_acquire(NULL));
  assert_int_equal(mdr_holder_swap(NULL, t1), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_holder_generation(NULL), 0);
  mdr_holder_free(NULL);

  assert_int_equal(mdr_holder_new(&h, t0, &m.mem), 0);
  assert_int_equal(mdr_holder_swap(h, NULL), MDR_ERR_INVALID_ARGUMENT);
  mdr_table_unref(t0); /* the holder keeps it alive */
  mdr_table *a = mdr_holder_acquire(h);
  assert_ptr_equal(a, t0);
  assert_int_equal(table_k(a), 0);
  assert_int_equal(check_decision(a, 0, 5, 0), 0);
  assert_int_equal(check_decision(a, 0, 5, 1), 0);

  /* Swap while `a` is held: a stays valid and keeps deciding as table 0. */
  size_t live_before = atomic_load(&m.live);
  assert_int_equal(mdr_holder_swap(h, t1), 0);
  assert_int_equal(mdr_holder_generation(h), 1);
  assert_int_equal(atomic_load(&m.live), live_before);
  assert_int_equal(check_decision(a, 0, 7, 0), 0);
  mdr_table *b = mdr_holder_acquire(h);
  assert_ptr_equal(b, t1);
  assert_int_equal(check_decision(b, 1, 7, 0), 0);
  assert_int_equal(check_decision(b, 1, 7, 1), 0);
  assert_int_not_equal(check_decision(b, 0, 7, 0), 0); /* the check can fail */
  /* Releasing the last user of table 0 frees it. */
  mdr_table_unref(a);
  assert_true(atomic_load(&m.live) < live_before);

  /* Swapping in the current table is allowed and changes nothing. */
  assert_int_equal(mdr_holder_swap(h, t1), 0);
  assert_int_equal(mdr_holder_generation(h), 2);
  mdr_table *c = mdr_holder_acquire(h);
  assert_ptr_equal(c, t1);
  mdr_table_unref(c);
  mdr_table_unref(b);
  mdr_table_unref(t1);
  /* The holder still owns table 1 until it is freed. */
  assert_true(atomic_load(&m.live) > 1);
  mdr_holder_free(h);
  assert_int_equal(atomic_load(&m.live), 0);
}

static void test_holder_nomem(void **state) {
  (void)state;
  amem m;
  amem_init(&m);
  mdr_table *t = make_table(3, &m.mem);
  size_t live = atomic_load(&m.live);
  mdr_holder *h = NULL;
  atomic_store(&m.fail_next, 1);
  assert_int_equal(mdr_holder_new(&h, t, &m.mem), MDR_ERR_NOMEM);
  assert_null(h);
  assert_int_equal(atomic_load(&m.live), live);
  mdr_table_unref(t);
  assert_int_equal(atomic_load(&m.live), 0);
}

/* ---- the stress test ------------------------------------------------------ */

typedef struct stress {
  mdr_holder *h;
  size_t decisions;              /* per reader */
  unsigned swaps;
  size_t interval;               /* decisions per swap */
  atomic_size_t progress[2];     /* decisions done by each reader */
  atomic_uint swaps_done;
  atomic_int stop;               /* set by a failing reader */
} stress;

typedef struct reader {
  stress *s;
  unsigned id;
  size_t failures;
  size_t tables_seen;            /* changes of k observed */
  unsigned first_failure_k, first_failure_i;
  int first_failure_rc;
  int went_backwards;
  uint64_t rng;
} reader;

static uint64_t next_rand(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

static void *reader_main(void *arg) {
  reader *rd = arg;
  stress *s = rd->s;
  unsigned last_k = 0;
  for (size_t n = 0; n < s->decisions && !atomic_load_explicit(&s->stop, memory_order_relaxed);
       n++) {
    /* Stay within one and a half swap intervals of the swapper, so that
     * each swap happens while this thread is deciding. */
    while (n >= ((size_t)atomic_load_explicit(&s->swaps_done, memory_order_relaxed) + 1) * s->interval + s->interval / 2 &&
           atomic_load_explicit(&s->swaps_done, memory_order_relaxed) < s->swaps &&
           !atomic_load_explicit(&s->stop, memory_order_relaxed))
      sched_yield();
    /* One acquire per request, as a server would do. */
    mdr_table *t = mdr_holder_acquire(s->h);
    unsigned k = table_k(t);
    if (k < last_k) rd->went_backwards = 1;
    if (k != last_k) rd->tables_seen++;
    last_k = k;
    uint64_t r = next_rand(&rd->rng);
    unsigned i = (unsigned)(r % NH);
    int alias = (int)((r >> 8) & 1);
    int rc = check_decision(t, k, i, alias);
    if (rc != 0) {
      if (rd->failures++ == 0) {
        rd->first_failure_k = k;
        rd->first_failure_i = i;
        rd->first_failure_rc = rc;
      }
      atomic_store(&s->stop, 1);
    }
    mdr_table_unref(t);
    atomic_store_explicit(&s->progress[rd->id], n + 1, memory_order_relaxed);
  }
  return NULL;
}

static size_t env_size(const char *name, size_t dflt) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  char *end;
  unsigned long long x = strtoull(v, &end, 10);
  return (*end == '\0' && x > 0) ? (size_t)x : dflt;
}

static void test_stress_swap_while_deciding(void **state) {
  (void)state;
  amem m;
  amem_init(&m);
  stress s;
  memset(&s, 0, sizeof s);
  /* valgrind runs the threads one at a time, 50x slower: scale down there */
  const char *pre = getenv("LD_PRELOAD");
  int vg = pre && strstr(pre, "vgpreload");
  s.decisions = env_size("MISDIRECT_STRESS_DECISIONS", vg ? 20000 : 200000);
  s.swaps = (unsigned)env_size("MISDIRECT_STRESS_SWAPS", vg ? 200 : 1000);
  atomic_init(&s.progress[0], 0);
  atomic_init(&s.progress[1], 0);
  atomic_init(&s.swaps_done, 0);
  atomic_init(&s.stop, 0);
  s.interval = s.decisions / (s.swaps + 1) ? s.decisions / (s.swaps + 1) : 1;
  /* Build every table first so that swaps are quick. */
  mdr_table **tables = calloc(s.swaps + 1, sizeof *tables);
  assert_non_null(tables);
  for (unsigned k = 1; k <= s.swaps; k++) tables[k] = make_table(k, &m.mem);
  mdr_table *t0 = make_table(0, &m.mem);
  assert_int_equal(mdr_holder_new(&s.h, t0, &m.mem), 0);
  mdr_table_unref(t0);

  reader rd[2];
  pthread_t th[2];
  struct timespec t_start, t_end;
  clock_gettime(CLOCK_MONOTONIC, &t_start);
  for (unsigned i = 0; i < 2; i++) {
    memset(&rd[i], 0, sizeof rd[i]);
    rd[i].s = &s;
    rd[i].id = i;
    rd[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
    assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
  }
  /* Spread the swaps over the readers' run: swap k once both readers have
   * done k intervals of decisions (they may be up to 1.5 intervals ahead). */
  for (unsigned k = 1; k <= s.swaps && !atomic_load(&s.stop); k++) {
    size_t due = s.interval * k;
    if (due > s.decisions) due = s.decisions;
    mdr_table *t = tables[k];
    tables[k] = NULL;
    for (;;) {
      size_t p0 = atomic_load_explicit(&s.progress[0], memory_order_relaxed);
      size_t p1 = atomic_load_explicit(&s.progress[1], memory_order_relaxed);
      if ((p0 >= due && p1 >= due) || atomic_load(&s.stop)) break;
      sched_yield();
    }
    assert_int_equal(mdr_holder_swap(s.h, t), 0);
    mdr_table_unref(t);
    atomic_store(&s.swaps_done, k);
  }
  for (unsigned k = 1; k <= s.swaps; k++) mdr_table_unref(tables[k]);
  free(tables);
  for (unsigned i = 0; i < 2; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
  clock_gettime(CLOCK_MONOTONIC, &t_end);
  double secs = (double)(t_end.tv_sec - t_start.tv_sec) + (t_end.tv_nsec - t_start.tv_nsec) / 1e9;

  for (unsigned i = 0; i < 2; i++) {
    if (rd[i].failures)
      print_error("reader %u: %zu failures, first: table %u host %u rc %d\n", i, rd[i].failures,
                  rd[i].first_failure_k, rd[i].first_failure_i, rd[i].first_failure_rc);
    assert_int_equal(rd[i].failures, 0);
    assert_false(rd[i].went_backwards);
    assert_int_equal(atomic_load(&s.progress[i]), s.decisions);
  }
  assert_int_equal(mdr_holder_generation(s.h), s.swaps);
  /* Readers saw many different tables, i.e. swaps really interleaved. */
  for (unsigned i = 0; i < 2; i++) assert_true(rd[i].tables_seen >= s.swaps / 2);
  printf("# stress: 2 readers x %zu decisions, %u swaps, %.2f s, tables seen %zu/%zu\n",
         s.decisions, s.swaps, secs, rd[0].tables_seen, rd[1].tables_seen);
  /* Every table but the current one was freed by its last user. */
  mdr_table *cur = mdr_holder_acquire(s.h);
  assert_int_equal(table_k(cur), s.swaps);
  mdr_table_unref(cur);
  mdr_holder_free(s.h);
  assert_int_equal(atomic_load(&m.live), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_holder_basics),
    cmocka_unit_test(test_holder_nomem),
    cmocka_unit_test(test_stress_swap_while_deciding),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
