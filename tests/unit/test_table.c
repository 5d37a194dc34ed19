/* Builder and table: validation errors, policy classes, lookup, allocation
 * failure, reference counting, Location building. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

#define S(x) { x, sizeof(x) - 1 }

typedef struct fixture {
  mdr_builder *b;
  mdr_error err;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f || mdr_builder_new(&f->b, NULL) != 0) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  mdr_builder_free(f->b);
  free(f);
  return 0;
}

static void listener(fixture *f, const char *name, int tls, uint16_t port, const char *def) {
  mdr_listener_conf c = { .name = tu_str(name), .tls = tls, .port = port, .default_vhost = tu_str(def) };
  assert_int_equal(mdr_builder_add_listener(f->b, &c, &f->err), 0);
}

static void cert(fixture *f, const char *name, const char *n1, const char *n2) {
  mdr_str names[2] = { tu_str(n1), tu_str(n2) };
  mdr_cert_conf c = { .name = tu_str(name), .names = names, .n_names = n2 ? 2 : 1 };
  assert_int_equal(mdr_builder_add_cert(f->b, &c, &f->err), 0);
}

static int vhost(fixture *f, const char *name, const char *listen, const char *n1, const char *n2,
                 const char *certname, const char *policy, unsigned line) {
  mdr_str l = tu_str(listen), names[2] = { tu_str(n1), tu_str(n2) };
  mdr_vhost_conf c = { .name = tu_str(name), .listeners = &l, .n_listeners = 1, .names = names,
                       .n_names = n2 ? 2 : 1, .cert = tu_str(certname), .policy = tu_str(policy),
                       .line = line };
  return mdr_builder_add_vhost(f->b, &c, &f->err);
}

static int build(fixture *f, mdr_table **t) {
  *t = NULL;
  return mdr_builder_build(f->b, t, &f->err);
}

static void test_duplicate_name_names_both_vhosts(void **state) {
  fixture *f = *state;
  listener(f, "web", 1, 443, "a");
  cert(f, "c", "*.example.com", NULL);
  assert_int_equal(vhost(f, "a", "web", "x.example.com", NULL, "c", NULL, 5), 0);
  assert_int_equal(vhost(f, "b", "web", "y.example.com", "X.Example.COM.", "c", NULL, 6), 0);
  mdr_table *t;
  assert_int_equal(build(f, &t), MDR_ERR_CONFIG);
  assert_null(t);
  assert_int_equal(f->err.line, 6);
  assert_string_equal(f->err.message,
                      "vhost 'b': name 'x.example.com' on listener 'web' is already claimed by vhost 'a'");
}

static void test_same_name_on_two_listeners_is_fine(void **state) {
  fixture *f = *state;
  listener(f, "web", 1, 443, "a");
  listener(f, "alt", 1, 8443, "b");
  cert(f, "c", "x.example.com", NULL);
  assert_int_equal(vhost(f, "a", "web", "x.example.com", NULL, "c", NULL, 1), 0);
  assert_int_equal(vhost(f, "b", "alt", "x.example.com", NULL, "c", NULL, 2), 0);
  mdr_table *t;
  assert_int_equal(build(f, &t), 0);
  mdr_table_unref(t);
}

static void test_unknown_references(void **state) {
  fixture *f = *state;
  listener(f, "web", 1, 443, "a");
  cert(f, "c", "a.example", NULL);
  assert_int_equal(vhost(f, "a", "web", "a.example", NULL, "nope", NULL, 7), 0);
  mdr_table *t;
  assert_int_equal(build(f, &t), MDR_ERR_CONFIG);
  assert_string_equal(f->err.message, "vhost 'a': unknown cert 'nope'");
  assert_string_equal(f->err.token, "nope");
  assert_int_equal(f->err.line, 7);
}

static void test_unknown_policy_and_listener(void **state) {
  fixture *f = *state;
  mdr_table *t;
  listener(f, "web", 1, 443, "a");
  cert(f, "c", "a.example", NULL);
  assert_int_equal(vhost(f, "a", "web", "a.example", NULL, "c", "strict", 3), 0);
  assert_int_equal(build(f, &t), MDR_ERR_CONFIG);
  assert_string_equal(f->err.message, "vhost 'a': unknown policy 'strict'");
  mdr_builder_free(f->b);
  assert_int_equal(mdr_builder_new(&f->b, NULL), 0);
  listener(f, "web", 1, 443, "a");
  cert(f, "c", "a.example", NULL);
  assert_int_equal(vhost(f, "a", "webb", "a.example", NULL, "c", NULL, 3), 0);
  assert_int_equal(build(f, &t), MDR_ERR_CONFIG);
  assert_string_equal(f->err.message, "vhost 'a': unknown listener 'webb'");
}

static void test_listener_rules(void **state) {
  fixture *f = *state;
  mdr_table *t;
  /* TLS listener without default= */
  mdr_listener_conf l = { .name = S("web"), .tls = 1, .port = 443, .line = 1 };
  assert_int_equal(mdr_builder_add_listener(f->b, &l, &f->err), 0);
  assert_int_equal(build(f, &t), MDR_ERR_CONFIG);
  assert_string_equal(f->err.message,
                      "listener 'web': a TLS listener needs default= unless it has no-sni=reject "
                      "and unknown-sni=reject");
  mdr_builder_free(f->b);
  assert_int_equal(mdr_builder_new(&f->b, NULL), 0);
  l.no_sni = MDR_NO_SNI_REJECT;
  l.unknown_sni = MDR_UNKNOWN_SNI_REJECT;
  assert_int_equal(mdr_builder_add_listener(f->b, &l, &f->err), 0);
  assert_int_equal(build(f, &t), 0);
  mdr_table_unref(t);
  /* default= vhost must listen there */
  mdr_builder_free(f->b);
  assert_int_equal(mdr_builder_new(&f->b, NULL), 0);
  listener(f, "web", 1, 443, "b");
  listener(f, "plain", 0, 80, NULL);
  cert(f, "c", "a.example", NULL);
  assert_int_equal(vhost(f, "b", "plain", "a.example", NULL, "c", NULL, 2), 0);
  assert_int_equal(build(f, &t), MDR_ERR_CONFIG);
  assert_string_equal(f->err.message, "listener 'web': default vhost 'b' does not listen on it");
  /* unknown-host=default needs default= */
  mdr_builder_free(f->b);
  assert_int_equal(mdr_builder_new(&f->b, NULL), 0);
  mdr_listener_conf p = { .name = S("plain"), .port = 80, .unknown_host = MDR_UNKNOWN_HOST_DEFAULT };
  assert_int_equal(mdr_builder_add_listener(f->b, &p, &f->err), 0);
  assert_int_equal(build(f, &t), MDR_ERR_CONFIG);
  assert_string_equal(f->err.message, "listener 'plain': unknown-host=default needs default=");
  /* a vhost on a TLS listener needs cert= */
  mdr_builder_free(f->b);
  assert_int_equal(mdr_builder_new(&f->b, NULL), 0);
  listener(f, "web", 1, 443, "a");
  assert_int_equal(vhost(f, "a", "web", "a.example", NULL, NULL, NULL, 4), 0);
  assert_int_equal(build(f, &t), MDR_ERR_CONFIG);
  assert_string_equal(f->err.message, "vhost 'a': listens on TLS listener 'web' but has no cert=");
  /* port 0, duplicate listener */
  mdr_listener_conf z = { .name = S("z"), .port = 0 };
  assert_int_equal(mdr_builder_add_listener(f->b, &z, &f->err), MDR_ERR_CONFIG);
  assert_string_equal(f->err.message, "listener 'z': port must be 1-65535");
  mdr_listener_conf dup = { .name = S("web"), .port = 80, .line = 9 };
  assert_int_equal(mdr_builder_add_listener(f->b, &dup, &f->err), MDR_ERR_CONFIG);
  assert_string_equal(f->err.message, "listener 'web': defined twice (first on line 0)");
}

static void test_wildcard_syntax(void **state) {
  fixture *f = *state;
  listener(f, "web", 1, 443, "a");
  const char *badnames[] = { "a*.example.com", "*a.example.com", "*.*.example.com",
                             "x.*.example.com", "*", "**.example.com", "*.", "xn--*.example" };
  for (size_t i = 0; i < sizeof badnames / sizeof *badnames; i++) {
    assert_int_equal(vhost(f, "w", "web", badnames[i], NULL, "c", NULL, 1), MDR_ERR_CONFIG);
    assert_string_equal(f->err.token, badnames[i]);
  }
  assert_int_equal(vhost(f, "w", "web", "a*.example.com", NULL, "c", NULL, 1), MDR_ERR_CONFIG);
  assert_string_equal(f->err.message,
                      "vhost 'w': invalid name 'a*.example.com' (a wildcard must be the whole first "
                      "label ('*.example.com'))");
  assert_int_equal(vhost(f, "w", "web", "*.192.0.2.1", NULL, "c", NULL, 1), MDR_ERR_CONFIG);
  assert_int_equal(vhost(f, "w", "web", "a.example:80", NULL, "c", NULL, 1), MDR_ERR_CONFIG);
  assert_string_equal(f->err.message, "vhost 'w': invalid name 'a.example:80' (names carry no port)");
  /* redirect-names must be concrete */
  mdr_str l = S("web"), n = S("a.example"), alias = S("*.b.example");
  mdr_vhost_conf c = { .name = S("w"), .listeners = &l, .n_listeners = 1, .names = &n, .n_names = 1,
                       .redirect_names = &alias, .n_redirect_names = 1, .cert = S("c") };
  assert_int_equal(mdr_builder_add_vhost(f->b, &c, &f->err), MDR_ERR_CONFIG);
  assert_string_equal(f->err.message,
                      "vhost 'w': invalid redirect name '*.b.example' (wildcards are not allowed here)");
  /* the valid forms are accepted */
  assert_int_equal(vhost(f, "w1", "web", "*.example.com", NULL, "c", NULL, 1), 0);
  assert_int_equal(vhost(f, "w2", "web", "*.xn--bcher-kva.example", "[2001:db8::1]", "c", NULL, 1), 0);
}

static void test_policy_classes_by_content(void **state) {
  fixture *f = *state;
  listener(f, "web", 1, 443, "a");
  cert(f, "c", "*.example", NULL);
  mdr_policy_conf p1 = { .name = S("p1") };                     /* equals default */
  mdr_policy_conf p2 = { .name = S("p2"), .client_auth = MDR_CLIENT_AUTH_REQUIRED, .ca_file = S("ca.pem") };
  mdr_policy_conf p3 = { .name = S("p3"), .client_auth = MDR_CLIENT_AUTH_REQUIRED, .ca_file = S("ca.pem") };
  mdr_policy_conf p4 = { .name = S("p4"), .min_tls = MDR_TLS_1_3 };
  mdr_policy_conf p5 = { .name = S("p5"), .client_auth = MDR_CLIENT_AUTH_REQUIRED, .ca_file = S("other.pem") };
  assert_int_equal(mdr_builder_add_policy(f->b, &p1, &f->err), 0);
  assert_int_equal(mdr_builder_add_policy(f->b, &p2, &f->err), 0);
  assert_int_equal(mdr_builder_add_policy(f->b, &p3, &f->err), 0);
  assert_int_equal(mdr_builder_add_policy(f->b, &p4, &f->err), 0);
  assert_int_equal(mdr_builder_add_policy(f->b, &p5, &f->err), 0);
  mdr_policy_conf pd = { .name = S("default") };
  assert_int_equal(mdr_builder_add_policy(f->b, &pd, &f->err), MDR_ERR_CONFIG);
  const char *pol[] = { NULL, "p1", "p2", "p3", "p4", "p5" };
  const char *nm[] = { "a.example", "b.example", "c.example", "d.example", "e.example", "f.example" };
  const char *vn[] = { "a", "b", "c", "d", "e", "f" };
  for (int i = 0; i < 6; i++) assert_int_equal(vhost(f, vn[i], "web", nm[i], NULL, "c", pol[i], 1), 0);
  mdr_table *t;
  assert_int_equal(build(f, &t), 0);
  mdr_vhost_info vi[6];
  for (mdr_index i = 0; i < 6; i++) assert_int_equal(mdr_table_vhost_info(t, i, &vi[i]), 0);
  assert_int_equal(vi[0].policy_class, vi[1].policy_class); /* default == p1 */
  assert_int_equal(vi[2].policy_class, vi[3].policy_class); /* p2 == p3 */
  assert_int_not_equal(vi[0].policy_class, vi[2].policy_class);
  assert_int_not_equal(vi[0].policy_class, vi[4].policy_class);
  assert_int_not_equal(vi[2].policy_class, vi[5].policy_class);
  assert_string_equal(vi[0].policy.ptr, "default");
  mdr_table_unref(t);
}

static void test_refcount(void **state) {
  (void)state;
  tu_counting_mem m;
  tu_counting_mem_init(&m);
  mdr_builder *b;
  mdr_error err;
  assert_int_equal(mdr_builder_new(&b, &m.mem), 0);
  mdr_listener_conf l = { .name = S("plain"), .port = 80 };
  assert_int_equal(mdr_builder_add_listener(b, &l, &err), 0);
  mdr_table *t;
  assert_int_equal(mdr_builder_build(b, &t, &err), 0);
  mdr_builder_free(b);
  assert_ptr_equal(mdr_table_ref(t), t);
  mdr_table_unref(t);
  assert_int_not_equal(m.live, 0);
  mdr_table_unref(t);
  assert_int_equal(m.live, 0);
}

/* Fail the 1st, 2nd, ... allocation of building a table until it succeeds. */
static void test_allocation_failure(void **state) {
  (void)state;
  int succeeded = 0;
  for (size_t fail = 1; fail < 10000 && !succeeded; fail++) {
    tu_counting_mem m;
    tu_counting_mem_init(&m);
    m.fail_at = fail;
    mdr_builder *b = NULL;
    mdr_error err;
    mdr_table *t = NULL;
    int rc = mdr_builder_new(&b, &m.mem);
    char name[64];
    for (int i = 0; rc == 0 && i < 40; i++) {
      mdr_str ln = S("web"), names[2];
      snprintf(name, sizeof name, "h%d.example", i);
      names[0] = tu_str(name);
      names[1] = tu_str("*.z.example");
      if (i == 0) {
        mdr_listener_conf l = { .name = S("web"), .tls = 1, .port = 443, .default_vhost = S("v0") };
        mdr_str cn = S("*.example");
        mdr_cert_conf c = { .name = S("c"), .names = &cn, .n_names = 1 };
        rc = mdr_builder_add_listener(b, &l, &err);
        if (rc == 0) rc = mdr_builder_add_cert(b, &c, &err);
      }
      char vn[16];
      snprintf(vn, sizeof vn, "v%d", i);
      mdr_vhost_conf v = { .name = tu_str(vn), .listeners = &ln, .n_listeners = 1, .names = names,
                           .n_names = i == 0 ? 2 : 1, .cert = S("c") };
      if (rc == 0) rc = mdr_builder_add_vhost(b, &v, &err);
    }
    if (rc == 0) rc = mdr_builder_build(b, &t, &err);
    if (rc == 0) {
      succeeded = 1;
      mdr_index li;
      assert_int_equal(mdr_table_find_listener(t, tu_str("web"), &li), 0);
    } else {
      assert_int_equal(rc, MDR_ERR_NOMEM);
      assert_null(t);
    }
    mdr_table_unref(t);
    mdr_builder_free(b);
    assert_int_equal(m.live, 0);
  }
  assert_true(succeeded);
}

static void test_strerror_and_reasons(void **state) {
  (void)state;
  assert_string_equal(mdr_strerror(MDR_ERR_NOMEM), "out of memory");
  assert_string_equal(mdr_strerror(12345), "unknown error code");
  assert_string_equal(mdr_errname(MDR_ERR_CONFIG), "MDR_ERR_CONFIG");
  assert_string_equal(mdr_errname(-1), "MDR_ERR_UNKNOWN");
  assert_string_equal(mdr_reason_token(MDR_REASON_COUNT_), "unknown");
  /* every token is unique, non-empty and round-trips */
  for (unsigned i = 0; i < MDR_REASON_COUNT_; i++) {
    const char *tok = mdr_reason_token((mdr_reason)i);
    mdr_reason back;
    assert_true(strlen(tok) > 0);
    assert_true(strlen(mdr_reason_text((mdr_reason)i)) > 20);
    assert_int_equal(mdr_reason_from_token(tu_str(tok), &back), 0);
    assert_int_equal(back, i);
  }
  assert_int_equal(mdr_reason_from_token(tu_str("nope"), NULL), MDR_ERR_NOT_FOUND);
  assert_string_equal(mdr_version(), MDR_VERSION);
  assert_int_equal(mdr_version_num(), MDR_VERSION_NUM);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_duplicate_name_names_both_vhosts, setup, teardown),
    cmocka_unit_test_setup_teardown(test_same_name_on_two_listeners_is_fine, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unknown_references, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unknown_policy_and_listener, setup, teardown),
    cmocka_unit_test_setup_teardown(test_listener_rules, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wildcard_syntax, setup, teardown),
    cmocka_unit_test_setup_teardown(test_policy_classes_by_content, setup, teardown),
    cmocka_unit_test(test_refcount),
    cmocka_unit_test(test_allocation_failure),
    cmocka_unit_test(test_strerror_and_reasons),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
