/* Decision rules on the worked example table, built through the builder API
 * (independent of the vhosts-file parser). */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

#define S(x) { x, sizeof(x) - 1 }

static mdr_table *basic_table(const mdr_mem *mem) {
  mdr_builder *b = NULL;
  mdr_error err;
  assert_int_equal(mdr_builder_new(&b, mem), 0);
  mdr_listener_conf web = { .name = S("web"), .tls = 1, .port = 443, .default_vhost = S("home") };
  mdr_listener_conf plain = { .name = S("plain"), .tls = 0, .port = 80 };
  assert_int_equal(mdr_builder_add_listener(b, &web, &err), 0);
  assert_int_equal(mdr_builder_add_listener(b, &plain, &err), 0);
  mdr_str site_names[] = { S("example.com"), S("www.example.com"), S("blog.example.com"),
                           S("admin.example.com") };
  mdr_cert_conf site = { .name = S("site"), .names = site_names, .n_names = 4 };
  mdr_str other_names[] = { S("other.org") };
  mdr_cert_conf other = { .name = S("other"), .names = other_names, .n_names = 1 };
  assert_int_equal(mdr_builder_add_cert(b, &site, &err), 0);
  assert_int_equal(mdr_builder_add_cert(b, &other, &err), 0);
  mdr_policy_conf staff = { .name = S("staff"), .client_auth = MDR_CLIENT_AUTH_REQUIRED };
  assert_int_equal(mdr_builder_add_policy(b, &staff, &err), 0);
  mdr_str wp[] = { S("web"), S("plain") }, w[] = { S("web") };
  mdr_str home_n[] = { S("www.example.com") }, home_a[] = { S("example.com") };
  mdr_vhost_conf home = { .name = S("home"), .listeners = wp, .n_listeners = 2, .names = home_n,
                          .n_names = 1, .redirect_names = home_a, .n_redirect_names = 1,
                          .cert = S("site"), .http = MDR_HTTP_REDIRECT };
  mdr_str blog_n[] = { S("blog.example.com") };
  mdr_vhost_conf blog = { .name = S("blog"), .listeners = w, .n_listeners = 1, .names = blog_n,
                          .n_names = 1, .cert = S("site") };
  mdr_str admin_n[] = { S("admin.example.com") };
  mdr_vhost_conf admin = { .name = S("admin"), .listeners = w, .n_listeners = 1,
                           .names = admin_n, .n_names = 1, .cert = S("site"),
                           .policy = S("staff") };
  mdr_str other_n[] = { S("other.org") };
  mdr_vhost_conf otherv = { .name = S("other"), .listeners = wp, .n_listeners = 2,
                            .names = other_n, .n_names = 1, .cert = S("other") };
  assert_int_equal(mdr_builder_add_vhost(b, &home, &err), 0);
  assert_int_equal(mdr_builder_add_vhost(b, &blog, &err), 0);
  assert_int_equal(mdr_builder_add_vhost(b, &admin, &err), 0);
  assert_int_equal(mdr_builder_add_vhost(b, &otherv, &err), 0);
  mdr_table *t = NULL;
  int rc = mdr_builder_build(b, &t, &err);
  if (rc) print_error("%s\n", err.message);
  assert_int_equal(rc, 0);
  mdr_builder_free(b);
  return t;
}

typedef struct q {
  const char *listener, *sni, *alpn;
  mdr_http_version version;
  const char *method, *target, *scheme, *authority, *host, *host2;
} q;

static int run(mdr_table *t, const q *in, mdr_decision *d, char *loc, size_t cap) {
  mdr_conn c;
  mdr_request r;
  memset(&c, 0, sizeof c);
  memset(&r, 0, sizeof r);
  assert_int_equal(mdr_table_find_listener(t, tu_str(in->listener), &c.listener), 0);
  mdr_listener_info li;
  mdr_table_listener_info(t, c.listener, &li);
  c.handshake_vhost = MDR_NONE;
  if (li.tls) {
    mdr_handshake_result hs;
    c.has_sni = in->sni != NULL;
    c.sni = tu_str(in->sni);
    assert_int_equal(mdr_handshake(t, c.listener, c.has_sni, c.sni.ptr, c.sni.len, &hs), 0);
    if (hs.outcome == MDR_HS_ALERT) return -(int)hs.alert;
    c.handshake_vhost = hs.vhost;
  }
  if (in->alpn) {
    c.has_alpn = 1;
    c.alpn = tu_str(in->alpn);
  }
  r.version = in->version;
  r.method = tu_str(in->method);
  r.has_target = 1;
  r.target = tu_str(in->target ? in->target : "/");
  mdr_str auth = tu_str(in->authority), hosts[2] = { tu_str(in->host), tu_str(in->host2) };
  if (in->version >= MDR_HTTP_2) {
    r.has_scheme = 1;
    r.scheme = tu_str(in->scheme ? in->scheme : (li.tls ? "https" : "http"));
    if (in->authority) {
      r.authority = &auth;
      r.n_authority = 1;
    }
  }
  r.host = hosts;
  r.n_host = in->host2 ? 2 : in->host ? 1 : 0;
  return mdr_decide(t, &c, &r, d, loc, cap);
}

static void expect(mdr_table *t, q in, unsigned status, const char *vhost, const char *reason,
                   const char *location) {
  mdr_decision d;
  char loc[256];
  int rc = run(t, &in, &d, loc, sizeof loc);
  assert_int_equal(rc, 0);
  if (d.status != status || (reason && strcmp(mdr_reason_token(d.reason), reason) != 0))
    print_error("host=%s authority=%s: got %u %s\n", in.host ? in.host : "-",
                in.authority ? in.authority : "-", d.status, mdr_reason_token(d.reason));
  assert_int_equal(d.status, status);
  if (reason) assert_string_equal(mdr_reason_token(d.reason), reason);
  if (vhost) {
    mdr_str n = mdr_vhost_name(t, d.vhost);
    assert_int_equal(n.len, strlen(vhost));
    assert_memory_equal(n.ptr, vhost, n.len);
  }
  if (location) {
    assert_int_equal(d.location_len, strlen(location));
    assert_memory_equal(loc, location, d.location_len);
  }
}

static void test_basic_examples(void **state) {
  (void)state;
  mdr_table *t = basic_table(NULL);
  const mdr_http_version h11 = MDR_HTTP_1_1, h2 = MDR_HTTP_2;
  expect(t, (q){ "web", "www.example.com", 0, h11, 0, 0, 0, 0, "www.example.com", 0 }, 200, "home", "serve", 0);
  expect(t, (q){ "web", "www.example.com", "h2", h2, 0, 0, 0, "blog.example.com", 0, 0 }, 200, "blog", "serve-coalesced", 0);
  expect(t, (q){ "web", "www.example.com", "h2", h2, 0, 0, 0, "admin.example.com", 0, 0 }, 421, 0, "policy-mismatch", 0);
  expect(t, (q){ "web", "www.example.com", 0, h11, 0, 0, 0, 0, "other.org", 0 }, 421, 0, "cert-not-covering", 0);
  expect(t, (q){ "web", 0, 0, h11, 0, 0, 0, 0, "www.example.com", 0 }, 200, "home", "serve", 0);
  expect(t, (q){ "web", 0, 0, h11, 0, 0, 0, 0, "admin.example.com", 0 }, 421, 0, "policy-mismatch", 0);
  expect(t, (q){ "web", "www.example.com", 0, h11, 0, 0, 0, 0, "nope.example.com", 0 }, 421, 0, "unknown-host", 0);
  expect(t, (q){ "web", "www.example.com", 0, h11, 0, 0, 0, 0, "www.example.com:8443", 0 }, 421, 0, "wrong-port", 0);
  expect(t, (q){ "web", "www.example.com", 0, h11, 0, 0, 0, 0, "WWW.Example.COM.", 0 }, 200, "home", 0, 0);
  expect(t, (q){ "web", "www.example.com", 0, h11, 0, 0, 0, 0, "www.example.com", "www.example.com" }, 400, 0, "host-multiple", 0);
  expect(t, (q){ "web", "www.example.com", 0, h11, 0, 0, 0, 0, "www.exa%6dple.com", 0 }, 400, 0, "host-percent", 0);
  expect(t, (q){ "plain", 0, 0, h11, 0, "/a?b=1", 0, 0, "www.example.com", 0 }, 308, "home", "redirect-https", "https://www.example.com/a?b=1");
  expect(t, (q){ "plain", 0, 0, h11, 0, "/a", 0, 0, "example.com", 0 }, 308, "home", "redirect-alias", "https://www.example.com/a");
  expect(t, (q){ "web", "example.com", 0, h11, 0, "/x", 0, 0, "example.com", 0 }, 308, "home", "redirect-alias", "https://www.example.com/x");
  expect(t, (q){ "plain", 0, 0, h11, 0, 0, 0, 0, "other.org", 0 }, 200, "other", 0, 0);
  expect(t, (q){ "web", "www.example.com", "h2", h2, 0, 0, "http", "www.example.com", 0, 0 }, 421, 0, "http-on-tls", 0);
  expect(t, (q){ "web", "www.example.com", 0, h11, "CONNECT", "www.example.com:443", 0, 0, "www.example.com:443", 0 }, 501, 0, "connect", 0);
  mdr_decision d;
  q unknown = { "web", "nope.example.com", 0, h11, 0, 0, 0, 0, "nope.example.com", 0 };
  assert_int_equal(run(t, &unknown, &d, NULL, 0), -112);
  mdr_table_unref(t);
}

/* The decision path must not allocate: count through the allocator hook. */
static void test_no_allocation_on_decision_path(void **state) {
  (void)state;
  tu_counting_mem m;
  tu_counting_mem_init(&m);
  mdr_table *t = basic_table(&m.mem);
  size_t before = m.calls;
  expect(t, (q){ "web", "www.example.com", "h2", MDR_HTTP_2, 0, 0, 0, "blog.example.com", 0, 0 }, 200, "blog", 0, 0);
  expect(t, (q){ "plain", 0, 0, MDR_HTTP_1_1, 0, "/a", 0, 0, "example.com", 0 }, 308, "home", 0, 0);
  expect(t, (q){ "web", 0, 0, MDR_HTTP_1_1, 0, 0, 0, 0, "admin.example.com", 0 }, 421, 0, 0, 0);
  assert_int_equal(m.calls, before);
  mdr_table_unref(t);
  assert_int_equal(m.live, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_basic_examples),
    cmocka_unit_test(test_no_allocation_on_decision_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
