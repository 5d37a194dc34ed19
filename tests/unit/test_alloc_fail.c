/* Allocation failure: fail the 1st, 2nd, ... Nth allocation of building a
 * table (through the per-object allocator) until the build succeeds; each
 * time the build must stop with MDR_ERR_NOMEM, return no table and leave
 * nothing allocated once the builder is freed.
 *
 * - a LARGE table (5,000 vhosts, 3 listeners, 50 certs) through the builder:
 *   every index up to 2,000, then every k-th (the index set always includes
 *   the last allocation);
 * - a smaller table: every index, and after each failure the failed call is
 *   retried without failure and the build completed, which must give the same
 *   decisions as a clean build ("after an error the builder is unchanged and
 *   may still be used");
 * - the vhosts-file parser on a large and a small file, the same way. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

enum { LARGE_CERTS = 50, SMALL_VHOSTS = 60 };

/* 5,000 vhosts; MISDIRECT_ALLOC_FAIL_VHOSTS overrides it, and under valgrind
 * (which runs this 50x slower) the default is 500 so that CI stays bounded. */
static size_t large_vhosts = 5000;

static void pick_large_size(void) {
  const char *v = getenv("MISDIRECT_ALLOC_FAIL_VHOSTS");
  const char *pre = getenv("LD_PRELOAD");
  if (v && *v) {
    unsigned long n = strtoul(v, NULL, 10);
    if (n >= LARGE_CERTS) large_vhosts = n;
  } else if (pre && strstr(pre, "vgpreload")) {
    large_vhosts = 500;
  }
}

/* The statements of a table with n vhosts, replayed step by step so that a
 * failing step can be retried.  Step 0 creates the builder; the last step
 * builds. */
typedef struct plan {
  size_t n_vhosts, n_certs;
  mdr_builder *b;
  mdr_table *t;
} plan;

static size_t plan_steps(const plan *p) {
  /* builder, 3 listeners, 2 policies, certs, vhosts, build */
  return 1 + 3 + 2 + p->n_certs + p->n_vhosts + 1;
}

/* Run step i; returns the call's result. */
static int plan_step(plan *p, size_t i, const mdr_mem *mem) {
  mdr_error err;
  char name[64], n1[64], n2[64], alias[64], certname[32];
  if (i == 0) return mdr_builder_new(&p->b, mem);
  i--;
  if (i < 3) {
    static const uint16_t pp[] = { 443, 8443 };
    mdr_listener_conf l[3] = {
      { .name = MDR_STR_LIT("web"), .tls = 1, .port = 443, .default_vhost = MDR_STR_LIT("v0"),
        .public_ports = pp, .n_public_ports = 2 },
      { .name = MDR_STR_LIT("plain"), .tls = 0, .port = 80, .default_vhost = MDR_STR_LIT("v1"),
        .unknown_host = MDR_UNKNOWN_HOST_DEFAULT },
      { .name = MDR_STR_LIT("alt"), .tls = 1, .port = 9443, .no_sni = MDR_NO_SNI_REJECT,
        .sni_host = MDR_SNI_HOST_STRICT },
    };
    return mdr_builder_add_listener(p->b, &l[i], &err);
  }
  i -= 3;
  if (i < 2) {
    mdr_policy_conf pol[2] = {
      { .name = MDR_STR_LIT("mtls"), .client_auth = MDR_CLIENT_AUTH_REQUIRED,
        .ca_file = MDR_STR_LIT("ca.pem") },
      { .name = MDR_STR_LIT("same") },
    };
    return mdr_builder_add_policy(p->b, &pol[i], &err);
  }
  i -= 2;
  if (i < p->n_certs) {
    snprintf(certname, sizeof certname, "c%zu", i);
    snprintf(n1, sizeof n1, "*.g%zu.example", i);
    snprintf(n2, sizeof n2, "g%zu.example", i);
    mdr_str names[3] = { tu_str(n1), tu_str(n2), MDR_STR_LIT("[2001:db8::1]") };
    mdr_cert_conf c = { .name = tu_str(certname), .names = names, .n_names = i % 7 ? 2 : 3,
                        .file = MDR_STR_LIT("cert.pem"), .key = MDR_STR_LIT("key.pem") };
    return mdr_builder_add_cert(p->b, &c, &err);
  }
  i -= p->n_certs;
  if (i < p->n_vhosts) {
    size_t g = i % p->n_certs;
    snprintf(name, sizeof name, "v%zu", i);
    snprintf(n1, sizeof n1, "h%zu.g%zu.example", i, g);
    snprintf(n2, sizeof n2, "*.w%zu.g%zu.example", i, g);
    snprintf(alias, sizeof alias, "www.h%zu.g%zu.example", i, g);
    snprintf(certname, sizeof certname, "c%zu", g);
    mdr_str names[2] = { tu_str(n1), tu_str(n2) }, aliases[1] = { tu_str(alias) };
    mdr_str ls[2] = { MDR_STR_LIT("web"), MDR_STR_LIT("plain") };
    mdr_str la[1] = { MDR_STR_LIT("alt") };
    int on_alt = i % 10 == 9;
    mdr_vhost_conf v = { .name = tu_str(name), .listeners = on_alt ? la : ls,
                         .n_listeners = on_alt ? 1 : 2, .names = names, .n_names = 2,
                         .redirect_names = aliases, .n_redirect_names = i % 3 == 0,
                         .cert = tu_str(certname),
                         .policy = i % 5 == 0 ? tu_str("mtls") : i % 5 == 1 ? tu_str("same")
                                                                            : tu_str(""),
                         .http = i % 2 ? MDR_HTTP_REDIRECT : MDR_HTTP_SERVE,
                         .early_data = i % 4 == 0, .line = (unsigned)i + 1 };
    return mdr_builder_add_vhost(p->b, &v, &err);
  }
  assert_int_equal(i, p->n_vhosts);
  p->t = NULL;
  return mdr_builder_build(p->b, &p->t, &err);
}

/* A few decisions that depend on every part of the table. */
static void decisions(const mdr_table *t, size_t n_vhosts, unsigned out[8]) {
  for (unsigned k = 0; k < 8; k++) {
    size_t i = (n_vhosts - 1) * k / 7;
    char host[64];
    snprintf(host, sizeof host, k % 2 ? "x.w%zu.g%zu.example" : "h%zu.g%zu.example", i,
             i % (n_vhosts < LARGE_CERTS ? n_vhosts : LARGE_CERTS));
    mdr_str h = tu_str(host);
    mdr_conn c = { .listener = k % 3 == 0 ? 1 : 0 };
    mdr_request r = { .version = MDR_HTTP_1_1, .has_target = 1, .target = MDR_STR_LIT("/"),
                      .host = &h, .n_host = 1 };
    mdr_decision d;
    char loc[256];
    assert_int_equal(mdr_decide(t, &c, &r, &d, loc, sizeof loc), 0);
    out[k] = d.status * 100000u + (d.vhost == MDR_NONE ? 99999u : d.vhost);
  }
}

/* Build with allocation number `fail` failing.  Returns 1 when the whole
 * build succeeded (fail was past the last allocation). */
static int build_failing_at(size_t n_vhosts, size_t n_certs, size_t fail, int retry,
                            const unsigned want[8], size_t *calls_out) {
  tu_counting_mem m;
  tu_counting_mem_init(&m);
  m.fail_at = fail;
  plan p = { n_vhosts, n_certs, NULL, NULL };
  size_t steps = plan_steps(&p);
  int rc = 0, failed = 0;
  for (size_t i = 0; i < steps; i++) {
    rc = plan_step(&p, i, &m.mem);
    if (rc != 0) {
      assert_int_equal(rc, MDR_ERR_NOMEM);
      assert_true(m.calls >= fail); /* the failing call was made (build may make more) */
      failed = 1;
      if (i == 0) {
        assert_null(p.b);
        assert_int_equal(m.live, 0);
        if (!retry) return 0;
      }
      if (i == steps - 1) assert_null(p.t);
      if (!retry) break;
      /* the builder is unchanged: retry the same call without failure */
      m.fail_at = 0;
      rc = plan_step(&p, i, &m.mem);
      assert_int_equal(rc, 0);
    }
  }
  if (calls_out) *calls_out = m.calls;
  if (!failed || retry) {
    assert_non_null(p.t);
    unsigned got[8];
    decisions(p.t, n_vhosts, got);
    assert_memory_equal(got, want, sizeof got);
  }
  mdr_table_unref(p.t);
  mdr_builder_free(p.b);
  assert_int_equal(m.live, 0);
  assert_int_equal(m.live_bytes, 0);
  return !failed;
}

static void reference(size_t n_vhosts, size_t n_certs, unsigned want[8], size_t *calls) {
  tu_counting_mem m;
  tu_counting_mem_init(&m);
  plan p = { n_vhosts, n_certs, NULL, NULL };
  for (size_t i = 0; i < plan_steps(&p); i++) assert_int_equal(plan_step(&p, i, &m.mem), 0);
  decisions(p.t, n_vhosts, want);
  *calls = m.calls;
  assert_int_equal(mdr_table_vhost_count(p.t), n_vhosts);
  mdr_table_unref(p.t);
  mdr_builder_free(p.b);
  assert_int_equal(m.live, 0);
}

static void test_large_table_builder(void **state) {
  (void)state;
  unsigned want[8];
  size_t total;
  reference(large_vhosts, LARGE_CERTS, want, &total);
  print_message("large table: %zu allocations\n", total);
  assert_true(total > 10);
  size_t step = total <= 2000 ? 1 : total / 1000;
  size_t tried = 0;
  /* 1..2000, then every step-th, then the last allocation and one past it */
  for (size_t fail = 1; fail <= total; fail = fail < 2000 ? fail + 1 : fail + step) {
    assert_false(build_failing_at(large_vhosts, LARGE_CERTS, fail, 0, want, NULL));
    tried++;
  }
  assert_false(build_failing_at(large_vhosts, LARGE_CERTS, total, 0, want, NULL));
  assert_true(build_failing_at(large_vhosts, LARGE_CERTS, total + 1, 0, want, NULL));
  print_message("large table: %zu failure points tried\n", tried);
}

static void test_small_table_every_index_with_retry(void **state) {
  (void)state;
  unsigned want[8];
  size_t total;
  reference(SMALL_VHOSTS, 7, want, &total);
  for (size_t fail = 1; fail <= total; fail++) {
    assert_false(build_failing_at(SMALL_VHOSTS, 7, fail, 0, want, NULL));
    assert_false(build_failing_at(SMALL_VHOSTS, 7, fail, 1, want, NULL));
  }
  assert_true(build_failing_at(SMALL_VHOSTS, 7, total + 1, 0, want, NULL));
}

/* ---- the vhosts-file parser ---------------------------------------------- */

static char *vhosts_text(size_t n_vhosts, size_t *len) {
  size_t cap = 256 + n_vhosts * 160;
  char *s = malloc(cap);
  assert_non_null(s);
  size_t n = (size_t)snprintf(s, cap,
                              "listener web https 443 default=v0 public-ports=443,8443\n"
                              "listener plain http 80 default=v0 unknown-host=default\n"
                              "cert c *.example [2001:db8::1] a.example\n"
                              "policy mtls client-auth=required ca-file=ca.pem\n");
  for (size_t i = 0; i < n_vhosts; i++)
    n += (size_t)snprintf(s + n, cap - n,
                          "vhost v%zu listen=web,plain names=h%zu.example,*.w%zu.example "
                          "redirect-names=r%zu.example cert=c%s%s\n",
                          i, i, i, i, i % 5 == 0 ? " policy=mtls" : "",
                          i % 2 ? " http=redirect" : "");
  assert_true(n < cap);
  *len = n;
  return s;
}

static int parse_failing_at(const char *text, size_t len, size_t fail, size_t *calls) {
  tu_counting_mem m;
  tu_counting_mem_init(&m);
  m.fail_at = fail;
  mdr_parse_options o;
  memset(&o, 0, sizeof o);
  o.mem = &m.mem;
  mdr_table *t = NULL;
  mdr_error err;
  int rc = mdr_table_parse(text, len, tu_str("big.vhosts"), &o, &t, &err);
  if (calls) *calls = m.calls;
  if (rc == 0) {
    assert_non_null(t);
    assert_true(mdr_table_vhost_count(t) > 0);
  } else {
    if (rc != MDR_ERR_NOMEM) print_error("fail at %zu: %d %s\n", fail, rc, err.message);
    assert_int_equal(rc, MDR_ERR_NOMEM);
    assert_int_equal(err.code, MDR_ERR_NOMEM);
    assert_null(t);
  }
  mdr_table_unref(t);
  assert_int_equal(m.live, 0);
  return rc == 0;
}

static void parse_every(size_t n_vhosts, size_t max_every) {
  size_t len, total;
  char *text = vhosts_text(n_vhosts, &len);
  assert_true(parse_failing_at(text, len, 0, &total));
  size_t step = total <= max_every ? 1 : total / max_every;
  for (size_t fail = 1; fail <= total; fail += step)
    assert_false(parse_failing_at(text, len, fail, NULL));
  assert_false(parse_failing_at(text, len, total, NULL));
  assert_true(parse_failing_at(text, len, total + 1, NULL));
  print_message("parser, %zu vhosts: %zu allocations, every %zu-th failed\n", n_vhosts, total, step);
  free(text);
}

static void test_large_file_parser(void **state) {
  (void)state;
  parse_every(large_vhosts, 400);
}

static void test_small_file_parser_every_index(void **state) {
  (void)state;
  parse_every(40, SIZE_MAX);
}

int main(void) {
  pick_large_size();
  print_message("large tables: %zu vhosts\n", large_vhosts);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_large_table_builder),
    cmocka_unit_test(test_small_table_every_index_with_retry),
    cmocka_unit_test(test_large_file_parser),
    cmocka_unit_test(test_small_file_parser_every_index),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
