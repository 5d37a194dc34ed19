/* Building a table takes linear time (issue 12, section 3), held without a
 * clock: the builder counts every hash slot and key comparison its maps
 * visit (mdri_builder_probes), and a table 4x the size must cost about 4x
 * the probes, never more than a small constant per statement.  0.2.0
 * scanned the statements for duplicates and references, which is n^2/2
 * comparisons: at n = 8192 that is ~4000 per statement, far above the
 * bound here.  The benchmark (bench/misdirect-bench-build) times the same
 * shapes. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "builder.h"
#include "testutil.h"

/* Most probes the builder may spend per statement or name. */
#define PER_ITEM 12.0

enum shape { LISTENERS, POLICIES, VHOSTS, NAMES_PER_VHOST, LISTEN_PER_VHOST };

/* n strings "<prefix><i><suffix>" in one block. */
typedef struct strs {
  mdr_str *s;
  char *chars;
} strs;

static strs make_strs(const char *prefix, const char *suffix, size_t n) {
  strs r;
  r.s = calloc(n + 1, sizeof *r.s);
  r.chars = calloc(n + 1, 48);
  assert_non_null(r.s);
  assert_non_null(r.chars);
  for (size_t i = 0; i < n; i++) {
    char *p = r.chars + i * 48;
    int len = snprintf(p, 48, "%s%zu%s", prefix, i, suffix);
    r.s[i].ptr = p;
    r.s[i].len = (size_t)len;
  }
  return r;
}

static void free_strs(strs *r) {
  free(r->s);
  free(r->chars);
}

/* Most index words a statement-name lookup may visit on average (the run
 * to the first empty word, which bounds hits and misses alike; linear
 * probing at load 2/3 expects 5). */
#define PER_FIND 10.0

/* Every listener and vhost is found by its name, under its own kind only;
 * names that are not statements are not found; and the lookups visit a
 * bounded number of index words per name (0.2.0 compared the name with
 * every statement's: a server mapping N server blocks to vhosts did N^2/2
 * compares, and the OpenSSL adapter N/2 per resumed session). */
static void check_find(const mdr_table *t, const strs *ln, size_t nl, const strs *vn, size_t nv) {
  uint64_t probes = 0;
  mdr_index got;
  for (size_t i = 0; i < nl; i++) {
    assert_int_equal(mdr_table_find_listener(t, ln->s[i], &got), 0);
    assert_int_equal(got, i);
    assert_int_equal(mdr_table_find_vhost(t, ln->s[i], &got), MDR_ERR_NOT_FOUND);
    assert_int_equal(got, MDR_NONE);
    probes += mdri_stmt_probes(t, ln->s[i], 1);
  }
  for (size_t i = 0; i < nv; i++) {
    assert_int_equal(mdr_table_find_vhost(t, vn->s[i], &got), 0);
    assert_int_equal(got, i);
    assert_int_equal(mdr_table_find_listener(t, vn->s[i], &got), MDR_ERR_NOT_FOUND);
    probes += mdri_stmt_probes(t, vn->s[i], 0);
  }
  size_t n = nl + nv;
  strs absent = make_strs("v", "x", n);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(mdr_table_find_vhost(t, absent.s[i], &got), MDR_ERR_NOT_FOUND);
    assert_int_equal(mdr_table_find_listener(t, absent.s[i], &got), MDR_ERR_NOT_FOUND);
    probes += mdri_stmt_probes(t, absent.s[i], (int)(i & 1));
  }
  free_strs(&absent);
  print_message("find: %.2f index words per lookup (%zu statements)\n",
                (double)probes / (double)(2 * n), n);
  assert_true((double)probes <= PER_FIND * (double)(2 * n));
}

/* Build a table of shape `sh` with n items; return the probes spent. */
static uint64_t build(enum shape sh, size_t n) {
  mdr_builder *b;
  mdr_error err;
  memset(&err, 0, sizeof err);
  assert_int_equal(mdr_builder_new(&b, NULL), 0);
  size_t nl = (sh == LISTENERS || sh == LISTEN_PER_VHOST) ? n : 1;
  size_t nv = (sh == VHOSTS || sh == POLICIES) ? n : 1;
  size_t nn = sh == NAMES_PER_VHOST ? n : 1;
  strs ln = make_strs("l", "", nl);
  strs vn = make_strs("v", "", nv);
  strs pn = make_strs("p", "", n);
  strs ca = make_strs("ca", ".pem", n);
  strs hn = make_strs("h", ".example.com", nv > nn ? nv : nn);
  strs an = make_strs("a", ".example.com", nn);
  for (size_t i = 0; i < nl; i++) {
    /* every listener's default is the one vhost (shapes with one) */
    mdr_listener_conf c = { .name = ln.s[i], .port = (uint16_t)(1 + i % 65535), .line = (unsigned)i + 1 };
    if (nv == 1) c.default_vhost = vn.s[0];
    assert_int_equal(mdr_builder_add_listener(b, &c, &err), 0);
  }
  if (sh == POLICIES)
    for (size_t i = 0; i < n; i++) {
      /* two policies per content: half as many classes */
      mdr_policy_conf c = { .name = pn.s[i], .client_auth = MDR_CLIENT_AUTH_REQUIRED, .ca_file = ca.s[i / 2] };
      assert_int_equal(mdr_builder_add_policy(b, &c, &err), 0);
    }
  for (size_t i = 0; i < nv; i++) {
    mdr_vhost_conf c = { .name = vn.s[i], .listeners = ln.s, .n_listeners = nl };
    if (nv > 1) {
      c.names = &hn.s[i];
      c.n_names = 1;
    } else {
      c.names = hn.s;
      c.n_names = nn;
      c.redirect_names = an.s;
      c.n_redirect_names = sh == NAMES_PER_VHOST ? nn : 0;
    }
    if (sh == POLICIES) c.policy = pn.s[i];
    assert_int_equal(mdr_builder_add_vhost(b, &c, &err), 0);
  }
  mdr_table *t = NULL;
  assert_int_equal(mdr_builder_build(b, &t, &err), 0);
  assert_int_equal(mdr_table_vhost_count(t), nv);
  assert_int_equal(mdr_table_listener_count(t), nl);
  if (sh == POLICIES) {
    /* equal contents share a class, numbered in order of appearance
     * (class 0 is the built-in default) */
    for (size_t i = 0; i < n; i += 97) {
      mdr_vhost_info vi;
      assert_int_equal(mdr_table_vhost_info(t, (mdr_index)i, &vi), 0);
      assert_int_equal(vi.policy_class, 1 + i / 2);
    }
  }
  if (nv == 1 && nl > 1) {
    mdr_listener_info li;
    assert_int_equal(mdr_table_listener_info(t, (mdr_index)(nl - 1), &li), 0);
    assert_int_equal(li.default_vhost, 0);
  }
  check_find(t, &ln, nl, &vn, nv);
  uint64_t probes = mdri_builder_probes(b);
  mdr_table_unref(t);
  mdr_builder_free(b);
  free_strs(&ln);
  free_strs(&vn);
  free_strs(&pn);
  free_strs(&ca);
  free_strs(&hn);
  free_strs(&an);
  return probes;
}

static void check_linear(enum shape sh, const char *what) {
  const size_t n = 2048;
  uint64_t p1 = build(sh, n), p4 = build(sh, 4 * n);
  double per1 = (double)p1 / (double)n, per4 = (double)p4 / (double)(4 * n);
  print_message("%s: %.2f probes per item at n=%zu, %.2f at n=%zu\n", what, per1, n, per4, 4 * n);
  assert_true(per1 <= PER_ITEM);
  assert_true(per4 <= PER_ITEM);
  /* 4x the input, at most ~4x the probes (the slack covers map growth) */
  assert_true((double)p4 <= 6.0 * (double)p1 + 64.0);
}

static void test_listeners(void **s) {
  (void)s;
  check_linear(LISTENERS, "listeners");
}
static void test_policies(void **s) {
  (void)s;
  check_linear(POLICIES, "policies");
}
static void test_vhosts(void **s) {
  (void)s;
  check_linear(VHOSTS, "vhosts");
}
static void test_names_per_vhost(void **s) {
  (void)s;
  check_linear(NAMES_PER_VHOST, "names per vhost");
}
static void test_listen_per_vhost(void **s) {
  (void)s;
  check_linear(LISTEN_PER_VHOST, "listen= entries per vhost");
}

/* The hash-found duplicates keep 0.2.0's messages. */
static void test_duplicates_found(void **s) {
  (void)s;
  mdr_error err;
  memset(&err, 0, sizeof err);
  assert_int_equal(tu_table_error("listener a http 80\nlistener b http 81\nlistener a http 82\n", &err),
                   MDR_ERR_CONFIG);
  assert_non_null(strstr(err.message, "listener 'a': defined twice (first on line 1)"));
  assert_int_equal(tu_table_error("listener a http 80\npolicy p\npolicy q\npolicy p client-auth=required\n"
                                   "vhost v listen=a names=x.example\n",
                                   &err),
                   MDR_ERR_CONFIG);
  assert_non_null(strstr(err.message, "policy 'p': defined twice (first on line 2)"));
  /* a repeat among many names (the map path) and among few (pairwise) */
  char text[4096];
  size_t k = (size_t)snprintf(text, sizeof text, "listener a http 80\nvhost v listen=a names=");
  for (int i = 0; i < 40; i++) k += (size_t)snprintf(text + k, sizeof text - k, "n%d.example,", i);
  snprintf(text + k, sizeof text - k, "n17.example\n");
  assert_int_equal(tu_table_error(text, &err), MDR_ERR_CONFIG);
  assert_non_null(strstr(err.message, "vhost 'v': name 'n17.example' listed twice"));
  assert_int_equal(tu_table_error("listener a http 80\nvhost v listen=a names=x.example redirect-names=y.example,X.example\n", &err),
                   MDR_ERR_CONFIG);
  assert_non_null(strstr(err.message, "vhost 'v': name 'X.example' listed twice"));
  k = 0;
  for (int i = 0; i < 20; i++) k += (size_t)snprintf(text + k, sizeof text - k, "listener l%d http %d\n", i, 80 + i);
  k += (size_t)snprintf(text + k, sizeof text - k, "vhost v names=x.example listen=");
  for (int i = 0; i < 20; i++) k += (size_t)snprintf(text + k, sizeof text - k, "l%d,", i);
  snprintf(text + k, sizeof text - k, "l3\n");
  assert_int_equal(tu_table_error(text, &err), MDR_ERR_CONFIG);
  assert_non_null(strstr(err.message, "vhost 'v': listener 'l3' named twice in listen="));
  /* two vhosts claiming one name name both */
  assert_int_equal(tu_table_error("listener a http 80\nvhost v listen=a names=x.example\n"
                                  "vhost w listen=a names=y.example,x.example\n", &err),
                   MDR_ERR_CONFIG);
  assert_non_null(strstr(err.message,
                         "vhost 'w': name 'x.example' on listener 'a' is already claimed by vhost 'v'"));
  /* a default vhost that does not listen on its listener, found in one pass */
  assert_int_equal(tu_table_error("listener a http 80 default=w\nlistener b http 81\n"
                                  "vhost v listen=a names=x.example\nvhost w listen=b names=y.example\n", &err),
                   MDR_ERR_CONFIG);
  assert_non_null(strstr(err.message, "listener 'a': default vhost 'w' does not listen on it"));
}

/* ---- peak memory of mdr_table_parse ---------------------------------------- */

/* An allocator that knows the live and the peak number of bytes. */
typedef struct counting {
  size_t live, peak;
} counting;

static void *cnt_malloc(size_t n, void *user) {
  counting *c = user;
  size_t *p = malloc(n + 16);
  if (!p) return NULL;
  *p = n;
  c->live += n;
  if (c->live > c->peak) c->peak = c->live;
  return (char *)p + 16;
}
static void cnt_free(void *q, void *user) {
  if (!q) return;
  counting *c = user;
  size_t *p = (size_t *)(void *)((char *)q - 16);
  c->live -= *p;
  free(p);
}
static void *cnt_realloc(void *q, size_t n, void *user) {
  if (!q) return cnt_malloc(n, user);
  void *r = cnt_malloc(n, user);
  if (!r) return NULL;
  size_t old = *(size_t *)(void *)((char *)q - 16);
  memcpy(r, q, old < n ? old : n);
  cnt_free(q, user);
  return r;
}

/* Parsing a file of N one-name vhosts peaks at a bounded number of heap
 * bytes per vhost besides the text (issue 12: misdirect lint's peak RSS at
 * a million vhosts at most 250 bytes per vhost beyond the file).  Before,
 * the builder's 136-byte statements, its copies of every string and its
 * name maps were all alive while the table and its index were laid out:
 * 397 bytes per vhost here (211 after).  The bound leaves room for the growth slack of
 * the arrays (N is just under a power of two, as the million is). */
static void test_parse_peak_memory(void **s) {
  (void)s;
  const size_t n = 65000;
  size_t cap = 64 + n * 64, len = 0;
  char *text = malloc(cap);
  assert_non_null(text);
  len += (size_t)snprintf(text + len, cap - len,
                          "listener web https 443 default=v0\ncert c *.example.com\n");
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(text + len, cap - len,
                            "vhost v%zu listen=web names=h%06zu.example.com cert=c\n", i, i);
  counting c = { 0, 0 };
  mdr_mem mem = { &c, cnt_malloc, cnt_realloc, cnt_free };
  mdr_parse_options opts;
  memset(&opts, 0, sizeof opts);
  opts.mem = &mem;
  mdr_table *t = NULL;
  mdr_error err;
  memset(&err, 0, sizeof err);
  mdr_str src = MDR_STR_LIT("peak.vhosts");
  assert_int_equal(mdr_table_parse(text, len, src, &opts, &t, &err), 0);
  assert_int_equal(mdr_table_vhost_count(t), n);
  double per = (double)c.peak / (double)n;
  printf("# parse peak: %.1f bytes per vhost beyond the text (%zu vhosts)\n", per, n);
  assert_true(per <= 250.0);
  mdr_table_unref(t);
  assert_int_equal(c.live, 0);
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_listeners),
    cmocka_unit_test(test_policies),
    cmocka_unit_test(test_vhosts),
    cmocka_unit_test(test_names_per_vhost),
    cmocka_unit_test(test_listen_per_vhost),
    cmocka_unit_test(test_duplicates_found),
    cmocka_unit_test(test_parse_peak_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
