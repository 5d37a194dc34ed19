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
  if (li.tls) {
    mdr_handshake_result hs;
    c.has_sni = in->sni != NULL;
    c.sni = tu_str(in->sni);
    assert_int_equal(mdr_handshake(t, c.listener, c.has_sni, c.sni.ptr, c.sni.len, &hs), 0);
    if (hs.outcome == MDR_HS_ALERT) return -(int)hs.alert;
    c.has_hs_vhost = 1;
    c.hs_vhost = hs.vhost;
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


/* Location: path and query preserved byte for byte, host from the table,
 * never the raw authority; CR, LF and NUL can never appear. */
static void test_location_building(void **state) {
  (void)state;
  mdr_table *t = basic_table(NULL);
  expect(t, (q){ "plain", 0, 0, MDR_HTTP_1_1, 0, "/p/a%20b;c?x=1&y=%0d%0a#", 0, 0, "www.example.com", 0 }, 400, 0, "target-bad-byte", 0);
  expect(t, (q){ "plain", 0, 0, MDR_HTTP_1_1, 0, "/p/a%20b;c?x=1&y=%0d%0a", 0, 0, "WWW.EXAMPLE.COM.:80", 0 }, 308, "home", 0,
         "https://www.example.com/p/a%20b;c?x=1&y=%0d%0a");
  expect(t, (q){ "plain", 0, 0, MDR_HTTP_1_1, 0, "http://EXAMPLE.com?q", 0, 0, "example.com:80", 0 }, 308, "home", "redirect-alias",
         "https://www.example.com/?q");
  expect(t, (q){ "plain", 0, 0, MDR_HTTP_1_1, 0, "http://example.com", 0, 0, "evil.test", 0 }, 400, 0, "host-mismatch", 0);
  /* CR, LF, NUL, SP and DEL in the target are refused before any Location is built. */
  const char bytes[] = { '\r', '\n', '\0', ' ', 0x7f, '\t', (char)0x80, (char)0xff };
  for (size_t i = 0; i < sizeof bytes; i++) {
    char target[8] = { '/', 'a', bytes[i], 'b' };
    mdr_conn c;
    mdr_request r;
    memset(&c, 0, sizeof c);
    memset(&r, 0, sizeof r);
    assert_int_equal(mdr_table_find_listener(t, tu_str("plain"), &c.listener), 0);
    mdr_str h = tu_str("www.example.com");
    r.has_target = 1;
    r.target.ptr = target;
    r.target.len = 4;
    r.host = &h;
    r.n_host = 1;
    mdr_decision d;
    char loc[64];
    assert_int_equal(mdr_decide(t, &c, &r, &d, loc, sizeof loc), 0);
    assert_int_equal(d.status, 400);
    assert_int_equal(d.location_len, 0);
  }
  /* A buffer too small: the decision is still a redirect and says how much room it needs. */
  q in = { "plain", 0, 0, MDR_HTTP_1_1, 0, "/abcdef", 0, 0, "www.example.com", 0 };
  mdr_decision d;
  char small[10];
  assert_int_equal(run(t, &in, &d, small, sizeof small), MDR_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(d.kind, MDR_REDIRECT);
  assert_int_equal(d.location_len, strlen("https://www.example.com/abcdef"));
  assert_int_equal(run(t, &in, &d, NULL, 0), MDR_ERR_BUFFER_TOO_SMALL);
  mdr_table_unref(t);
}

typedef struct origins {
  char list[16][128];
  mdr_str strs[16];
  size_t n;
} origins;

static int collect(void *user, const char *o, size_t n) {
  origins *os = user;
  assert_true(os->n < 16 && n < 128);
  memcpy(os->list[os->n], o, n);
  os->list[os->n][n] = '\0';
  os->strs[os->n].ptr = os->list[os->n];
  os->strs[os->n].len = n;
  os->n++;
  return 0;
}

/* The origin set per SNI, and decide() agrees with it: every advertised origin
 * is served or redirected on that connection; every configured name not
 * advertised is refused there (by rule 7's sni-host check: on this
 * sni-host=compatible listener the set itself refuses nothing). */
static void test_origin_set_consistent_with_decide(void **state) {
  (void)state;
  mdr_table *t = basic_table(NULL);
  mdr_index web, home, other;
  assert_int_equal(mdr_table_find_listener(t, tu_str("web"), &web), 0);
  assert_int_equal(mdr_table_find_vhost(t, tu_str("home"), &home), 0);
  assert_int_equal(mdr_table_find_vhost(t, tu_str("other"), &other), 0);
  origins os;
  memset(&os, 0, sizeof os);
  assert_int_equal(mdr_origin_set_each(t, web, home, MDR_HTTP_2, collect, &os), 3);
  assert_string_equal(os.list[0], "https://www.example.com");
  assert_string_equal(os.list[1], "https://example.com");
  assert_string_equal(os.list[2], "https://blog.example.com");
  origins os2;
  memset(&os2, 0, sizeof os2);
  assert_int_equal(mdr_origin_set_each(t, web, other, MDR_HTTP_2, collect, &os2), 1);
  assert_string_equal(os2.list[0], "https://other.org");
  mdr_index plain;
  assert_int_equal(mdr_table_find_listener(t, tu_str("plain"), &plain), 0);
  assert_int_equal(mdr_origin_set_each(t, plain, MDR_NONE, MDR_HTTP_2, collect, &os2), MDR_ERR_WRONG_LISTENER);
  const char *all[] = { "www.example.com", "example.com", "blog.example.com", "admin.example.com", "other.org" };
  for (size_t i = 0; i < 5; i++) {
    mdr_conn c;
    memset(&c, 0, sizeof c);
    c.listener = web;
    c.has_hs_vhost = 1;
    c.hs_vhost = home;
    c.has_sni = 1;
    c.sni = tu_str("www.example.com");
    c.has_origin_set = 1;
    c.origin_set = os.strs;
    c.n_origin_set = os.n;
    mdr_request r;
    memset(&r, 0, sizeof r);
    r.version = MDR_HTTP_2;
    r.has_target = 1;
    r.target = tu_str("/");
    r.has_scheme = 1;
    r.scheme = tu_str("https");
    mdr_str a = tu_str(all[i]);
    r.authority = &a;
    r.n_authority = 1;
    mdr_decision d;
    char loc[128];
    assert_int_equal(mdr_decide(t, &c, &r, &d, loc, sizeof loc), 0);
    int advertised = 0;
    for (size_t k = 0; k < os.n; k++)
      if (strcmp(os.list[k] + 8, all[i]) == 0) advertised = 1;
    if (advertised)
      assert_true(d.kind == MDR_SERVE || d.kind == MDR_REDIRECT);
    else
      assert_int_equal(d.status, 421);
    /* Under sni-host=compatible the set is advisory: an empty set, or none
     * at all, gives the same answer (rule 7); blog is coalesced either way. */
    mdr_decision with_empty, without;
    c.n_origin_set = 0;
    assert_int_equal(mdr_decide(t, &c, &r, &with_empty, loc, sizeof loc), 0);
    c.has_origin_set = 0;
    assert_int_equal(mdr_decide(t, &c, &r, &without, loc, sizeof loc), 0);
    assert_int_equal(with_empty.status, d.status);
    assert_int_equal(with_empty.reason, d.reason);
    assert_int_equal(without.status, d.status);
    assert_int_equal(without.reason, d.reason);
    if (i == 2) assert_string_equal(mdr_reason_token(d.reason), "serve-coalesced");
  }
  mdr_table_unref(t);
}

static void test_explanations_name_the_parties(void **state) {
  (void)state;
  mdr_table *t = basic_table(NULL);
  mdr_decision d;
  char loc[64], buf[1024];
  q nosni = { "web", 0, 0, MDR_HTTP_1_1, 0, 0, 0, 0, "admin.example.com", 0 };
  assert_int_equal(run(t, &nosni, &d, loc, sizeof loc), 0);
  mdr_conn c;
  memset(&c, 0, sizeof c);
  assert_int_equal(mdr_table_find_listener(t, tu_str("web"), &c.listener), 0);
  size_t n = mdr_decision_explain(t, &c, &d, buf, sizeof buf);
  assert_int_equal(n, strlen(buf));
  assert_non_null(strstr(buf, "no SNI"));
  assert_non_null(strstr(buf, "'home'"));
  assert_non_null(strstr(buf, "'admin'"));
  assert_non_null(strstr(buf, "client-auth=required"));
  assert_non_null(strstr(buf, "enable SNI forwarding"));
  /* truncation keeps a NUL and reports the full length */
  char tiny[8];
  assert_int_equal(mdr_decision_explain(t, &c, &d, tiny, sizeof tiny), n);
  assert_int_equal(strlen(tiny), 7);
  mdr_table_unref(t);
}

static void trace_count(void *user, unsigned rule, const char *what, size_t len) {
  unsigned *seen = user;
  assert_true(rule >= 1 && rule <= 10);
  assert_true(len > 0 && strlen(what) == len);
  seen[rule]++;
}

static void test_trace_visits_rules_in_order(void **state) {
  (void)state;
  mdr_table *t = basic_table(NULL);
  mdr_conn c;
  mdr_request r;
  memset(&c, 0, sizeof c);
  memset(&r, 0, sizeof r);
  assert_int_equal(mdr_table_find_listener(t, tu_str("web"), &c.listener), 0);
  assert_int_equal(mdr_table_find_vhost(t, tu_str("home"), &c.hs_vhost), 0);
  c.has_hs_vhost = 1;
  mdr_str h = tu_str("www.example.com");
  r.has_target = 1;
  r.target = tu_str("/");
  r.host = &h;
  r.n_host = 1;
  unsigned seen[11] = { 0 };
  mdr_decision d;
  assert_int_equal(mdr_decide_trace(t, &c, &r, &d, NULL, 0, trace_count, seen), 0);
  assert_int_equal(d.kind, MDR_SERVE);
  for (int i = 1; i <= 10; i++)
    if (i != 8 && i != 9) assert_true(seen[i] > 0);
  mdr_table_unref(t);
}

static void no_trace(void *user, unsigned rule, const char *what, size_t len) {
  (void)user, (void)rule, (void)what, (void)len;
}

/* An HTTP/1.1 request for blog.example.com on its own connection, with this
 * target; through the fast path, or through the rules (a trace function
 * makes mdr_decide_trace take them one by one). */
static mdr_decision decide_target(mdr_table *t, const char *target, size_t n, int traced) {
  mdr_conn c;
  mdr_request r;
  mdr_decision d;
  memset(&c, 0, sizeof c);
  memset(&r, 0, sizeof r);
  assert_int_equal(mdr_table_find_listener(t, tu_str("web"), &c.listener), 0);
  assert_int_equal(mdr_table_find_vhost(t, tu_str("blog"), &c.hs_vhost), 0);
  c.has_hs_vhost = 1;
  mdr_str h = tu_str("blog.example.com");
  r.version = MDR_HTTP_1_1;
  r.has_target = 1;
  r.target.ptr = target;
  r.target.len = n;
  r.host = &h;
  r.n_host = 1;
  int rc = traced ? mdr_decide_trace(t, &c, &r, &d, NULL, 0, no_trace, NULL)
                  : mdr_decide(t, &c, &r, &d, NULL, 0);
  assert_int_equal(rc, 0);
  return d;
}

/* Rule 1's target bytes: every byte that is not visible ASCII, and '#', is
 * a 400 wherever it stands, in targets short and long (the check takes 16
 * bytes at a time from 16 on, the last 16 overlapping), on the fast path and
 * through the rules; the visible bytes at the edges of the range pass. */
static void test_target_bytes_every_position(void **state) {
  (void)state;
  mdr_table *t = basic_table(NULL);
  static const unsigned char bad[] = { 0x00, 0x09, 0x0a, 0x20, '#', 0x7f, 0x80, 0xa0, 0xc3, 0xff };
  static const unsigned char good[] = { 0x21, 0x7e, '%', '?', '/', 'Z', '0' };
  char buf[80];
  size_t refused = 0;
  for (size_t n = 1; n <= sizeof buf; n++) {
    buf[0] = '/';
    for (size_t i = 1; i < n; i++) buf[i] = (char)('a' + i % 26);
    for (int traced = 0; traced < 2; traced++) {
      mdr_decision d = decide_target(t, buf, n, traced);
      assert_int_equal(d.status, 200);
      for (size_t p = 1; p < n; p++) {
        char keep = buf[p];
        for (size_t k = 0; k < sizeof bad; k++) {
          buf[p] = (char)bad[k];
          d = decide_target(t, buf, n, traced);
          if (d.status != 400 || d.reason != MDR_REASON_TARGET_BAD_BYTE)
            print_error("n=%zu p=%zu byte=0x%02x traced=%d: %u %s\n", n, p, bad[k], traced,
                        d.status, mdr_reason_token(d.reason));
          assert_int_equal(d.status, 400);
          assert_int_equal(d.reason, MDR_REASON_TARGET_BAD_BYTE);
          refused++;
        }
        for (size_t k = 0; k < sizeof good; k++) {
          buf[p] = (char)good[k];
          d = decide_target(t, buf, n, traced);
          assert_int_equal(d.status, 200);
        }
        buf[p] = keep;
      }
    }
  }
  assert_int_equal(refused, 2 * sizeof bad * (sizeof buf * (sizeof buf - 1) / 2));
  mdr_table_unref(t);
}

static void test_invalid_arguments(void **state) {
  (void)state;
  mdr_table *t = basic_table(NULL);
  mdr_conn c;
  mdr_request r;
  mdr_decision d;
  memset(&c, 0, sizeof c);
  memset(&r, 0, sizeof r);
  c.listener = 99;
  assert_int_equal(mdr_decide(t, &c, &r, &d, NULL, 0), MDR_ERR_INVALID_ARGUMENT);
  c.listener = 0;
  c.has_hs_vhost = 1;
  c.hs_vhost = 77;
  assert_int_equal(mdr_decide(t, &c, &r, &d, NULL, 0), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_decide(NULL, &c, &r, &d, NULL, 0), MDR_ERR_INVALID_ARGUMENT);
  r.n_host = 2;
  c.has_hs_vhost = 0;
  assert_int_equal(mdr_decide(t, &c, &r, &d, NULL, 0), MDR_ERR_INVALID_ARGUMENT);
  mdr_handshake_result hs;
  assert_int_equal(mdr_handshake(t, 1, 0, NULL, 0, &hs), MDR_ERR_WRONG_LISTENER);
  assert_int_equal(mdr_handshake(t, 5, 0, NULL, 0, &hs), MDR_ERR_INVALID_ARGUMENT);
  mdr_table_unref(t);
}

static void test_name_listing_and_cert_cover(void **state) {
  (void)state;
  mdr_table *t = basic_table(NULL);
  mdr_index home, other;
  assert_int_equal(mdr_table_find_vhost(t, tu_str("home"), &home), 0);
  assert_int_equal(mdr_table_find_vhost(t, tu_str("other"), &other), 0);
  mdr_str n;
  int alias = -1;
  assert_int_equal(mdr_table_vhost_name_at(t, home, 0, &n, &alias), 0);
  assert_int_equal(alias, 0);
  assert_memory_equal(n.ptr, "www.example.com", n.len);
  assert_int_equal(mdr_table_vhost_name_at(t, home, 1, &n, &alias), 0);
  assert_int_equal(alias, 1);
  assert_memory_equal(n.ptr, "example.com", n.len);
  assert_int_equal(mdr_table_vhost_name_at(t, home, 2, &n, &alias), MDR_ERR_NOT_FOUND);
  assert_int_equal(mdr_table_vhost_name_at(t, 99, 0, &n, &alias), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_table_cert_covers(t, home, tu_str("ADMIN.example.com.")), 1);
  assert_int_equal(mdr_table_cert_covers(t, home, tu_str("other.org")), 0);
  assert_int_equal(mdr_table_cert_covers(t, other, tu_str("other.org")), 1);
  assert_int_equal(mdr_table_cert_covers(t, other, tu_str("other.org:443")), 0);
  assert_int_equal(mdr_table_cert_covers(t, other, tu_str("bad host")), 0);
  mdr_table_unref(t);
}

static void test_handshake_step(void **state) {
  (void)state;
  mdr_table *t = basic_table(NULL);
  mdr_handshake_result hs;
  mdr_index web;
  assert_int_equal(mdr_table_find_listener(t, tu_str("web"), &web), 0);
  struct { const char *sni; size_t len; int has; unsigned alert; const char *vhost; const char *reason; } cases[] = {
    { "www.example.com", 15, 1, 0, "home", "sni-match" },
    { "WWW.EXAMPLE.COM.", 16, 1, 0, "home", "sni-match" },
    { "example.com", 11, 1, 0, "home", "sni-match" },
    { "admin.example.com", 17, 1, 0, "admin", "sni-match" },
    { NULL, 0, 0, 0, "home", "sni-none-default" },
    { "nope.example.com", 16, 1, 112, NULL, "sni-unknown" },
    { "", 0, 1, 112, NULL, "sni-invalid" },
    { "192.0.2.1", 9, 1, 112, NULL, "sni-invalid" },
    { "[::1]", 5, 1, 112, NULL, "sni-invalid" },
    { "www.example.com:443", 19, 1, 112, NULL, "sni-invalid" },
    { "www.example.com\0.evil", 21, 1, 112, NULL, "sni-invalid" },
    { "www..example.com", 16, 1, 112, NULL, "sni-invalid" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    assert_int_equal(mdr_handshake(t, web, cases[i].has, cases[i].sni, cases[i].len, &hs), 0);
    assert_string_equal(mdr_reason_token(hs.reason), cases[i].reason);
    if (cases[i].alert) {
      assert_int_equal(hs.outcome, MDR_HS_ALERT);
      assert_int_equal(hs.alert, cases[i].alert);
      assert_string_equal(mdr_alert_name(hs.alert), "unrecognized_name");
    } else {
      assert_int_equal(hs.outcome, MDR_HS_ACCEPT);
      mdr_str n = mdr_vhost_name(t, hs.vhost);
      assert_int_equal(n.len, strlen(cases[i].vhost));
      assert_memory_equal(n.ptr, cases[i].vhost, n.len);
    }
  }
  /* 256-byte SNI is invalid even before syntax */
  char longsni[300];
  memset(longsni, 'a', sizeof longsni);
  assert_int_equal(mdr_handshake(t, web, 1, longsni, 256, &hs), 0);
  assert_string_equal(mdr_reason_token(hs.reason), "sni-invalid");
  mdr_table_unref(t);
}

/* Issue 12 section 1: a zero-initialised mdr_conn is safe.  vhost 0 is
 * admin (client-auth=required), the listener default is www.  In 0.1.0 -
 * 0.2.0 a zeroed conn named vhost 0 as the handshake vhost (the field
 * handshake_vhost meant "unknown" only when MDR_NONE), so a conn with only
 * `listener` set got "200 serve admin" for Host admin.example.com, and
 * resumed = 1 with nothing else said the session came from admin: a
 * spurious 421 for www. */
static const char ZERO_VHOSTS[] =
    "listener web https 443 default=www\n"
    "cert site admin.example.com www.example.com\n"
    "policy staff client-auth=required\n"
    "vhost admin listen=web names=admin.example.com cert=site policy=staff\n"
    "vhost www listen=web names=www.example.com cert=site\n";

static mdr_decision decide_zeroed(const mdr_table *t, const mdr_conn *c, const char *host) {
  mdr_request r;
  memset(&r, 0, sizeof r);
  mdr_str h = tu_str(host);
  r.has_target = 1;
  r.target = tu_str("/");
  r.host = &h;
  r.n_host = 1;
  mdr_decision d;
  assert_int_equal(mdr_decide(t, c, &r, &d, NULL, 0), 0);
  return d;
}

static void test_zeroed_conn_is_not_the_first_vhost(void **state) {
  (void)state;
  mdr_table *t = tu_table(ZERO_VHOSTS);
  mdr_index admin = MDR_NONE, www = MDR_NONE;
  assert_int_equal(mdr_table_find_vhost(t, tu_str("admin"), &admin), 0);
  assert_int_equal(mdr_table_find_vhost(t, tu_str("www"), &www), 0);
  assert_int_equal(admin, 0); /* the trap needs admin to be vhost 0 */
  mdr_conn c;
  memset(&c, 0, sizeof c);
  assert_int_equal(mdr_table_find_listener(t, tu_str("web"), &c.listener), 0);
  /* H unknown: the listener default (www) and its policy stand for H */
  mdr_decision d = decide_zeroed(t, &c, "admin.example.com");
  assert_int_equal(d.status, 421);
  assert_string_equal(mdr_reason_token(d.reason), "policy-mismatch");
  assert_int_equal(d.handshake_vhost, www);
  assert_int_equal(d.request_vhost, admin);
  d = decide_zeroed(t, &c, "www.example.com");
  assert_int_equal(d.status, 200);
  assert_int_equal(d.vhost, www);
  /* only with the handshake vhost given is admin served */
  c.has_hs_vhost = 1;
  c.hs_vhost = admin;
  d = decide_zeroed(t, &c, "admin.example.com");
  assert_int_equal(d.status, 200);
  assert_int_equal(d.vhost, admin);
  /* hs_vhost is read only with has_hs_vhost */
  c.has_hs_vhost = 0;
  d = decide_zeroed(t, &c, "admin.example.com");
  assert_int_equal(d.status, 421);
  mdr_table_unref(t);
}

static void test_zeroed_resumption_is_unknown(void **state) {
  (void)state;
  mdr_table *t = tu_table(ZERO_VHOSTS);
  mdr_index admin = MDR_NONE, www = MDR_NONE;
  assert_int_equal(mdr_table_find_vhost(t, tu_str("admin"), &admin), 0);
  assert_int_equal(mdr_table_find_vhost(t, tu_str("www"), &www), 0);
  mdr_conn c;
  memset(&c, 0, sizeof c);
  assert_int_equal(mdr_table_find_listener(t, tu_str("web"), &c.listener), 0);
  c.resumed = 1; /* from an unknown vhost: treated as H */
  mdr_decision d = decide_zeroed(t, &c, "www.example.com");
  assert_int_equal(d.status, 200);
  assert_string_equal(mdr_reason_token(d.reason), "serve");
  assert_int_equal(d.vhost, www);
  /* a known vhost of another policy is still refused */
  c.has_resumed_from = 1;
  c.resumed_from = admin;
  d = decide_zeroed(t, &c, "www.example.com");
  assert_int_equal(d.status, 421);
  assert_string_equal(mdr_reason_token(d.reason), "resumed-cross-policy");
  /* resumed_from is read only when resumed */
  c.resumed = 0;
  d = decide_zeroed(t, &c, "www.example.com");
  assert_int_equal(d.status, 200);
  mdr_table_unref(t);
}

/* Every other zeroed input struct means its documented safe default. */
static void test_zeroed_inputs_are_safe_defaults(void **state) {
  (void)state;
  mdr_table *t = tu_table(ZERO_VHOSTS);
  mdr_conn c;
  mdr_request r;
  mdr_decision d;
  memset(&c, 0, sizeof c);
  memset(&r, 0, sizeof r);
  /* a zeroed request: HTTP/1.1 without Host, a 400 */
  assert_int_equal(mdr_decide(t, &c, &r, &d, NULL, 0), 0);
  assert_int_equal(d.status, 400);
  /* zeroed statement descriptions: the contract's defaults, or an error */
  mdr_builder *b = NULL;
  mdr_error err;
  assert_int_equal(mdr_builder_new(&b, NULL), 0);
  mdr_listener_conf l;
  memset(&l, 0, sizeof l);
  assert_int_equal(mdr_builder_add_listener(b, &l, &err), MDR_ERR_CONFIG); /* no name, port 0 */
  mdr_vhost_conf v;
  memset(&v, 0, sizeof v);
  assert_int_equal(mdr_builder_add_vhost(b, &v, &err), MDR_ERR_CONFIG);
  mdr_policy_conf p;
  memset(&p, 0, sizeof p);
  assert_int_equal(mdr_builder_add_policy(b, &p, &err), MDR_ERR_CONFIG);
  mdr_cert_conf ce;
  memset(&ce, 0, sizeof ce);
  assert_int_equal(mdr_builder_add_cert(b, &ce, &err), MDR_ERR_CONFIG);
  mdr_builder_free(b);
  /* zeroed parse options: libc, no callbacks, base_dir "." */
  mdr_parse_options o;
  memset(&o, 0, sizeof o);
  mdr_table *t2 = NULL;
  assert_int_equal(mdr_table_parse(ZERO_VHOSTS, strlen(ZERO_VHOSTS), tu_str("v"), &o, &t2, &err), 0);
  mdr_table_unref(t2);
  /* a zeroed decision is not explained as "served by vhost 0" */
  memset(&d, 0, sizeof d);
  mdr_explanation e;
  assert_int_equal(mdr_explain_decision(t, &c, &r, &d, &e), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(e.vhost, MDR_NONE);
  char buf[256];
  assert_int_equal(mdr_decision_explain(t, &c, &d, buf, sizeof buf), 0);
  mdr_table_unref(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_basic_examples),
    cmocka_unit_test(test_no_allocation_on_decision_path),
    cmocka_unit_test(test_location_building),
    cmocka_unit_test(test_origin_set_consistent_with_decide),
    cmocka_unit_test(test_explanations_name_the_parties),
    cmocka_unit_test(test_trace_visits_rules_in_order),
    cmocka_unit_test(test_invalid_arguments),
    cmocka_unit_test(test_target_bytes_every_position),
    cmocka_unit_test(test_handshake_step),
    cmocka_unit_test(test_name_listing_and_cert_cover),
    cmocka_unit_test(test_zeroed_conn_is_not_the_first_vhost),
    cmocka_unit_test(test_zeroed_resumption_is_unknown),
    cmocka_unit_test(test_zeroed_inputs_are_safe_defaults),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
