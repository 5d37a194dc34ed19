/* Structured explanations (mdr_explain_decision, mdr_explain_handshake), the
 * cause tables, and the one-line mdr_decision_explain built on the same
 * choice of causes. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

static const char basic_vhosts[] =
  "listener web   https 443 default=home\n"
  "listener plain http  80\n"
  "cert site  example.com www.example.com blog.example.com admin.example.com new.example.com \\\n"
  "           ca-a.example.com ca-b.example.com\n"
  "cert other other.org\n"
  "policy staff client-auth=required\n"
  "policy modern min-tls=1.3\n"
  "policy ca-a client-auth=required ca-file=a.pem\n"
  "policy ca-b client-auth=required ca-file=b.pem\n"
  "vhost home  listen=web,plain names=www.example.com redirect-names=example.com cert=site http=redirect\n"
  "vhost blog  listen=web       names=blog.example.com  cert=site\n"
  "vhost admin listen=web       names=admin.example.com cert=site policy=staff\n"
  "vhost other listen=web,plain names=other.org         cert=other\n"
  "vhost new   listen=web       names=new.example.com   cert=site policy=modern\n"
  "vhost cab   listen=web       names=ca-b.example.com  cert=site policy=ca-b\n"
  "vhost caa   listen=web       names=ca-a.example.com  cert=site policy=ca-a\n";

/* A case and everything its pointers point to. */
typedef struct fx {
  mdr_conn c;
  mdr_request r;
  mdr_str auth, hosts[2];
  mdr_handshake_result hs;
  mdr_decision d;
  char loc[128];
} fx;

typedef struct q {
  const char *listener, *sni, *alpn;
  mdr_http_version version;
  const char *target, *authority, *host, *host2;
} q;

/* Handshake (must accept) and decision. */
static void run(const mdr_table *t, fx *f, q in) {
  memset(f, 0, sizeof *f);
  assert_int_equal(mdr_table_find_listener(t, tu_str(in.listener), &f->c.listener), 0);
  mdr_listener_info li;
  assert_int_equal(mdr_table_listener_info(t, f->c.listener, &li), 0);
  if (li.tls) {
    f->c.has_sni = in.sni != NULL;
    f->c.sni = tu_str(in.sni);
    assert_int_equal(mdr_handshake(t, f->c.listener, f->c.has_sni, f->c.sni.ptr, f->c.sni.len, &f->hs), 0);
    assert_int_equal(f->hs.outcome, MDR_HS_ACCEPT);
    f->c.has_hs_vhost = 1;
    f->c.hs_vhost = f->hs.vhost;
  }
  if (in.alpn) {
    f->c.has_alpn = 1;
    f->c.alpn = tu_str(in.alpn);
  }
  f->r.version = in.version;
  f->r.has_target = 1;
  f->r.target = tu_str(in.target ? in.target : "/");
  f->auth = tu_str(in.authority);
  f->hosts[0] = tu_str(in.host);
  f->hosts[1] = tu_str(in.host2);
  if (in.version >= MDR_HTTP_2) {
    f->r.has_scheme = 1;
    f->r.scheme = tu_str(li.tls ? "https" : "http");
    if (in.authority) {
      f->r.authority = &f->auth;
      f->r.n_authority = 1;
    }
  }
  f->r.host = f->hosts;
  f->r.n_host = in.host2 ? 2 : in.host ? 1 : 0;
  assert_int_equal(mdr_decide(t, &f->c, &f->r, &f->d, f->loc, sizeof f->loc), 0);
}

static mdr_index vh(const mdr_table *t, const char *name) {
  mdr_index v = MDR_NONE;
  assert_int_equal(mdr_table_find_vhost(t, tu_str(name), &v), 0);
  return v;
}

static void expect_causes(const mdr_explanation *e, size_t n, ...) {
  va_list ap;
  va_start(ap, n);
  if (e->n_causes != n) {
    for (size_t i = 0; i < e->n_causes; i++) print_error("cause %zu: %s\n", i, mdr_cause_token(e->causes[i]));
  }
  assert_int_equal(e->n_causes, n);
  for (size_t i = 0; i < n; i++) {
    int want = va_arg(ap, int);
    if ((int)e->causes[i] != want)
      print_error("cause %zu: got %s, want %s\n", i, mdr_cause_token(e->causes[i]),
                  mdr_cause_token((mdr_cause)want));
    assert_int_equal(e->causes[i], want);
  }
  va_end(ap);
}

static void expect_str(mdr_str s, const char *want) {
  assert_int_equal(s.len, strlen(want));
  assert_memory_equal(s.ptr, want, s.len);
}

/* ---- representative decisions, every field ----------------------------- */

static void test_policy_mismatch_h2(void **state) {
  (void)state;
  mdr_table *t = tu_table(basic_vhosts);
  fx f;
  run(t, &f, (q){ "web", "blog.example.com", "h2", MDR_HTTP_2, 0, "admin.example.com", 0, 0 });
  assert_string_equal(mdr_reason_token(f.d.reason), "policy-mismatch");
  mdr_explanation e;
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.kind, MDR_MISDIRECTED);
  assert_int_equal(e.status, 421);
  assert_int_equal(e.alert, 0);
  assert_int_equal(e.reason, MDR_REASON_POLICY_MISMATCH);
  assert_int_equal(e.rule, 7);
  assert_int_equal(e.listener, f.c.listener);
  assert_int_equal(e.handshake_vhost, vh(t, "blog"));
  assert_int_equal(e.request_vhost, vh(t, "admin"));
  assert_int_equal(e.vhost, MDR_NONE);
  assert_int_equal(e.has_sni, 1);
  assert_ptr_equal(e.sni.ptr, f.c.sni.ptr);
  assert_int_equal(e.sni.len, f.c.sni.len);
  assert_int_equal(e.has_host, 0);
  assert_int_equal(e.host.len, 0);
  assert_int_equal(e.has_authority, 1);
  assert_ptr_equal(e.authority.ptr, f.auth.ptr);
  assert_int_equal(e.authority.len, f.auth.len);
  expect_str(e.request_host, "admin.example.com");
  assert_ptr_equal(e.request_host.ptr, f.d.authority.host); /* points into the decision */
  assert_int_equal(e.request_port, 443);
  assert_int_equal(e.differs, MDR_DIFF_CLIENT_AUTH | MDR_DIFF_VHOST);
  expect_causes(&e, 3, MDR_CAUSE_CONNECTION_REUSE, MDR_CAUSE_PROXY_REWROTE_HOST, MDR_CAUSE_PROXY_NO_SNI);
  mdr_table_unref(t);
}

static void test_policy_mismatch_contexts(void **state) {
  (void)state;
  mdr_table *t = tu_table(basic_vhosts);
  fx f;
  mdr_explanation e;
  /* HTTP/1.1 with SNI: Host was rewritten (proxy or CDN), or a proxy sends one fixed SNI */
  run(t, &f, (q){ "web", "blog.example.com", 0, MDR_HTTP_1_1, 0, 0, "admin.example.com", 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.reason, MDR_REASON_POLICY_MISMATCH);
  expect_causes(&e, 3, MDR_CAUSE_PROXY_REWROTE_HOST, MDR_CAUSE_CDN_REWROTE_HOST, MDR_CAUSE_PROXY_NO_SNI);
  /* no SNI */
  run(t, &f, (q){ "web", 0, 0, MDR_HTTP_1_1, 0, 0, "admin.example.com", 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.reason, MDR_REASON_POLICY_MISMATCH);
  assert_int_equal(e.has_sni, 0);
  assert_int_equal(e.sni.len, 0);
  assert_int_equal(e.handshake_vhost, vh(t, "home"));
  expect_causes(&e, 2, MDR_CAUSE_PROXY_NO_SNI, MDR_CAUSE_CLIENT_NO_SNI);
  /* min-tls and CA set differences */
  run(t, &f, (q){ "web", "blog.example.com", "h2", MDR_HTTP_2, 0, "new.example.com", 0, 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.differs, MDR_DIFF_MIN_TLS | MDR_DIFF_VHOST);
  run(t, &f, (q){ "web", "ca-a.example.com", "h2", MDR_HTTP_2, 0, "ca-b.example.com", 0, 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.reason, MDR_REASON_POLICY_MISMATCH);
  assert_int_equal(e.differs, MDR_DIFF_CA | MDR_DIFF_VHOST);
  run(t, &f, (q){ "web", "admin.example.com", "h2", MDR_HTTP_2, 0, "ca-b.example.com", 0, 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.differs, MDR_DIFF_CA | MDR_DIFF_VHOST); /* both required, one has a CA set */
  mdr_table_unref(t);
}

/* CA sets compare by identity when an adapter supplied one, else by path. */
static void test_ca_identity(void **state) {
  (void)state;
  mdr_builder *b = NULL;
  mdr_error err;
  assert_int_equal(mdr_builder_new(&b, NULL), 0);
  mdr_listener_conf web = { .name = MDR_STR_LIT("web"), .tls = 1, .port = 443,
                            .default_vhost = MDR_STR_LIT("x") };
  assert_int_equal(mdr_builder_add_listener(b, &web, &err), 0);
  mdr_str names[] = { MDR_STR_LIT("x.example"), MDR_STR_LIT("y.example"), MDR_STR_LIT("z.example") };
  mdr_cert_conf cert = { .name = MDR_STR_LIT("c"), .names = names, .n_names = 3 };
  assert_int_equal(mdr_builder_add_cert(b, &cert, &err), 0);
  static const uint8_t id1[] = { 1, 2, 3 }, id2[] = { 1, 2, 4 };
  mdr_policy_conf px = { .name = MDR_STR_LIT("px"), .ca_file = MDR_STR_LIT("one.pem"),
                         .ca_identity = id1, .ca_identity_len = 3 };
  mdr_policy_conf py = { .name = MDR_STR_LIT("py"), .ca_file = MDR_STR_LIT("two.pem"),
                         .ca_identity = id1, .ca_identity_len = 3 };
  mdr_policy_conf pz = { .name = MDR_STR_LIT("pz"), .ca_file = MDR_STR_LIT("one.pem"),
                         .ca_identity = id2, .ca_identity_len = 3 };
  assert_int_equal(mdr_builder_add_policy(b, &px, &err), 0);
  assert_int_equal(mdr_builder_add_policy(b, &py, &err), 0);
  assert_int_equal(mdr_builder_add_policy(b, &pz, &err), 0);
  mdr_str l[] = { MDR_STR_LIT("web") };
  const char *vn[] = { "x", "y", "z" }, *pn[] = { "px", "py", "pz" };
  for (int i = 0; i < 3; i++) {
    mdr_vhost_conf v = { .name = tu_str(vn[i]), .listeners = l, .n_listeners = 1,
                         .names = &names[i], .n_names = 1, .cert = MDR_STR_LIT("c"),
                         .policy = tu_str(pn[i]) };
    assert_int_equal(mdr_builder_add_vhost(b, &v, &err), 0);
  }
  mdr_table *t = NULL;
  assert_int_equal(mdr_builder_build(b, &t, &err), 0);
  mdr_builder_free(b);
  fx f;
  mdr_explanation e;
  run(t, &f, (q){ "web", "x.example", "h2", MDR_HTTP_2, 0, "y.example", 0, 0 });
  assert_string_equal(mdr_reason_token(f.d.reason), "serve-coalesced"); /* same identity, other path */
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.differs, MDR_DIFF_VHOST);
  expect_causes(&e, 1, MDR_CAUSE_NONE);
  run(t, &f, (q){ "web", "x.example", "h2", MDR_HTTP_2, 0, "z.example", 0, 0 });
  assert_string_equal(mdr_reason_token(f.d.reason), "policy-mismatch"); /* same path, other contents */
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.differs, MDR_DIFF_CA | MDR_DIFF_VHOST);
  mdr_table_unref(t);
}

static void test_cert_not_covering_no_sni(void **state) {
  (void)state;
  mdr_table *t = tu_table(basic_vhosts);
  fx f;
  run(t, &f, (q){ "web", 0, 0, MDR_HTTP_1_1, 0, 0, "other.org", 0 });
  mdr_explanation e;
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.kind, MDR_MISDIRECTED);
  assert_int_equal(e.status, 421);
  assert_int_equal(e.reason, MDR_REASON_CERT_NOT_COVERING);
  assert_int_equal(e.rule, 7);
  assert_int_equal(e.handshake_vhost, vh(t, "home"));
  assert_int_equal(e.request_vhost, vh(t, "other"));
  assert_int_equal(e.vhost, MDR_NONE);
  assert_int_equal(e.has_sni, 0);
  assert_int_equal(e.has_host, 1);
  assert_ptr_equal(e.host.ptr, f.hosts[0].ptr);
  assert_int_equal(e.host.len, f.hosts[0].len);
  assert_int_equal(e.has_authority, 0);
  expect_str(e.request_host, "other.org");
  assert_int_equal(e.request_port, 443);
  assert_int_equal(e.differs, MDR_DIFF_CERT | MDR_DIFF_VHOST);
  expect_causes(&e, 2, MDR_CAUSE_PROXY_NO_SNI, MDR_CAUSE_CLIENT_NO_SNI);
  mdr_table_unref(t);
}

static void test_unknown_host(void **state) {
  (void)state;
  mdr_table *t = tu_table(basic_vhosts);
  fx f;
  mdr_explanation e;
  /* SNI named a configured vhost and Host names another, unknown name: rewritten */
  run(t, &f, (q){ "web", "www.example.com", 0, MDR_HTTP_1_1, 0, 0, "shop.example.com:443", 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.reason, MDR_REASON_UNKNOWN_HOST);
  assert_int_equal(e.rule, 6);
  assert_int_equal(e.handshake_vhost, vh(t, "home"));
  assert_int_equal(e.request_vhost, MDR_NONE);
  assert_int_equal(e.differs, 0);
  expect_str(e.request_host, "shop.example.com");
  assert_int_equal(e.request_port, 443);
  expect_causes(&e, 4, MDR_CAUSE_CDN_REWROTE_HOST, MDR_CAUSE_PROXY_REWROTE_HOST,
                MDR_CAUSE_MISSING_VHOST, MDR_CAUSE_WRONG_SERVER);
  /* cleartext: the configuration or the routing */
  run(t, &f, (q){ "plain", 0, 0, MDR_HTTP_1_1, 0, 0, "shop.example.com", 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.reason, MDR_REASON_UNKNOWN_HOST);
  assert_int_equal(e.handshake_vhost, MDR_NONE);
  assert_int_equal(e.request_port, 80);
  expect_causes(&e, 4, MDR_CAUSE_MISSING_VHOST, MDR_CAUSE_WRONG_SERVER,
                MDR_CAUSE_CDN_REWROTE_HOST, MDR_CAUSE_PROXY_REWROTE_HOST);
  mdr_table_unref(t);
}

static void test_bad_request(void **state) {
  (void)state;
  mdr_table *t = tu_table(basic_vhosts);
  fx f;
  mdr_explanation e;
  run(t, &f, (q){ "web", "www.example.com", 0, MDR_HTTP_1_1, 0, 0, "user@www.example.com", 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.kind, MDR_BAD_REQUEST);
  assert_int_equal(e.status, 400);
  assert_int_equal(e.reason, MDR_REASON_HOST_USERINFO);
  assert_int_equal(e.rule, 2);
  assert_int_equal(e.handshake_vhost, vh(t, "home"));
  assert_int_equal(e.request_vhost, MDR_NONE);
  assert_int_equal(e.vhost, MDR_NONE);
  assert_int_equal(e.has_host, 1);
  expect_str(e.host, "user@www.example.com");
  assert_int_equal(e.request_host.len, 0);
  assert_int_equal(e.request_port, 0);
  assert_int_equal(e.differs, 0);
  expect_causes(&e, 1, MDR_CAUSE_CLIENT_MALFORMED);
  /* an intermediary is a likely author of a second Host or a disagreeing one */
  run(t, &f, (q){ "web", "www.example.com", 0, MDR_HTTP_1_1, 0, 0, "www.example.com", "blog.example.com" });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.reason, MDR_REASON_HOST_MULTIPLE);
  expect_str(e.host, "www.example.com"); /* the first one */
  expect_causes(&e, 2, MDR_CAUSE_CLIENT_MALFORMED, MDR_CAUSE_PROXY_REWROTE_HOST);
  run(t, &f, (q){ "web", "www.example.com", "h2", MDR_HTTP_2, 0, "www.example.com", "blog.example.com", 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.reason, MDR_REASON_HOST_MISMATCH);
  assert_int_equal(e.has_host, 1);
  assert_int_equal(e.has_authority, 1);
  expect_causes(&e, 2, MDR_CAUSE_CLIENT_MALFORMED, MDR_CAUSE_PROXY_REWROTE_HOST);
  mdr_table_unref(t);
}

static void test_serve_and_redirect(void **state) {
  (void)state;
  mdr_table *t = tu_table(basic_vhosts);
  fx f;
  mdr_explanation e;
  run(t, &f, (q){ "web", "www.example.com", 0, MDR_HTTP_1_1, 0, 0, "www.example.com", 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.kind, MDR_SERVE);
  assert_int_equal(e.status, 200);
  assert_int_equal(e.reason, MDR_REASON_SERVE_HANDSHAKE_VHOST);
  assert_int_equal(e.rule, 10);
  assert_int_equal(e.vhost, vh(t, "home"));
  assert_int_equal(e.request_vhost, vh(t, "home"));
  assert_int_equal(e.handshake_vhost, vh(t, "home"));
  assert_int_equal(e.differs, 0);
  expect_causes(&e, 1, MDR_CAUSE_NONE);
  /* coalesced: another vhost, same policy, covered by the certificate */
  run(t, &f, (q){ "web", "www.example.com", "h2", MDR_HTTP_2, 0, "blog.example.com:443", 0, 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.reason, MDR_REASON_SERVE_COALESCED);
  assert_int_equal(e.differs, MDR_DIFF_VHOST);
  expect_causes(&e, 1, MDR_CAUSE_NONE);
  /* redirect of an alias on the cleartext listener */
  run(t, &f, (q){ "plain", 0, 0, MDR_HTTP_1_1, "/a", 0, "example.com", 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.kind, MDR_REDIRECT);
  assert_int_equal(e.status, 308);
  assert_int_equal(e.reason, MDR_REASON_REDIRECT_ALIAS);
  assert_int_equal(e.rule, 9);
  assert_int_equal(e.vhost, vh(t, "home"));
  assert_int_equal(e.handshake_vhost, MDR_NONE);
  assert_int_equal(e.has_sni, 0);
  expect_str(e.request_host, "example.com");
  assert_int_equal(e.request_port, 80);
  assert_int_equal(e.differs, 0); /* no H on a cleartext listener */
  expect_causes(&e, 1, MDR_CAUSE_CONFIGURED);
  /* absolute-form https target: an absent port means 443 even on port 80 */
  run(t, &f, (q){ "plain", 0, 0, MDR_HTTP_1_1, "https://other.org/", 0, "other.org", 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.reason, MDR_REASON_SCHEME_HTTPS_ON_CLEARTEXT);
  assert_int_equal(e.request_port, 443);
  expect_causes(&e, 1, MDR_CAUSE_TLS_TERMINATED_UPSTREAM);
  mdr_table_unref(t);
}

/* r may be NULL: the request's fields are empty, the rest is the same. */
static void test_request_null(void **state) {
  (void)state;
  mdr_table *t = tu_table(basic_vhosts);
  fx f;
  mdr_explanation e, e2;
  run(t, &f, (q){ "web", "blog.example.com", "h2", MDR_HTTP_2, 0, "admin.example.com", 0, 0 });
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(mdr_explain_decision(t, &f.c, NULL, &f.d, &e2), 0);
  assert_int_equal(e2.has_host, 0);
  assert_int_equal(e2.has_authority, 0);
  assert_int_equal(e2.authority.len, 0);
  assert_null(e2.authority.ptr);
  expect_str(e2.request_host, "admin.example.com");
  assert_int_equal(e2.request_port, 443);
  assert_int_equal(e2.differs, e.differs);
  assert_int_equal(e2.n_causes, e.n_causes); /* h2 known from ALPN */
  assert_memory_equal(e2.causes, e.causes, e.n_causes * sizeof e.causes[0]);
  mdr_table_unref(t);
}

static void test_invalid_arguments(void **state) {
  (void)state;
  mdr_table *t = tu_table(basic_vhosts);
  fx f;
  mdr_explanation e;
  run(t, &f, (q){ "web", "www.example.com", 0, MDR_HTTP_1_1, 0, 0, "www.example.com", 0 });
  assert_int_equal(mdr_explain_decision(NULL, &f.c, &f.r, &f.d, &e), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(e.n_causes, 0); /* cleared */
  assert_int_equal(e.vhost, MDR_NONE);
  assert_int_equal(mdr_explain_decision(t, NULL, &f.r, &f.d, &e), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, NULL, &e), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, NULL), MDR_ERR_INVALID_ARGUMENT);
  mdr_conn bad = f.c;
  bad.listener = 99;
  assert_int_equal(mdr_explain_decision(t, &bad, &f.r, &f.d, &e), MDR_ERR_INVALID_ARGUMENT);
  mdr_decision d = f.d;
  d.request_vhost = 99;
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &d, &e), MDR_ERR_INVALID_ARGUMENT);
  d = f.d;
  d.reason = MDR_REASON_COUNT_;
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &d, &e), MDR_ERR_INVALID_ARGUMENT);
  mdr_request r = f.r;
  r.host = NULL;
  assert_int_equal(mdr_explain_decision(t, &f.c, &r, &f.d, &e), MDR_ERR_INVALID_ARGUMENT);

  mdr_handshake_result hs;
  mdr_index web = f.c.listener;
  assert_int_equal(mdr_handshake(t, web, 1, "www.example.com", 15, &hs), 0);
  assert_int_equal(mdr_explain_handshake(NULL, web, 1, "www.example.com", 15, &hs, &e), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_explain_handshake(t, web, 1, "www.example.com", 15, NULL, &e), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_explain_handshake(t, web, 1, "www.example.com", 15, &hs, NULL), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_explain_handshake(t, web, 1, NULL, 15, &hs, &e), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_explain_handshake(t, 99, 1, "www.example.com", 15, &hs, &e), MDR_ERR_INVALID_ARGUMENT);
  hs.vhost = 99;
  assert_int_equal(mdr_explain_handshake(t, web, 1, "www.example.com", 15, &hs, &e), MDR_ERR_INVALID_ARGUMENT);

  assert_string_equal(mdr_cause_token(MDR_CAUSE_COUNT_), "unknown");
  assert_string_equal(mdr_cause_token((mdr_cause)-1), "unknown");
  assert_non_null(mdr_cause_text(MDR_CAUSE_COUNT_));
  assert_non_null(mdr_cause_fix((mdr_cause)1000));
  char buf[64];
  assert_int_equal(mdr_decision_explain(t, &bad, &f.d, buf, sizeof buf), 0);
  mdr_table_unref(t);
}

/* ---- handshake -------------------------------------------------------- */

static void test_handshake(void **state) {
  (void)state;
  mdr_table *t = tu_table("listener web https 443 default=a\n"
                          "listener picky https 8443 no-sni=reject\n"
                          "cert c a.example.com\n"
                          "vhost a listen=web,picky names=a.example.com cert=c\n");
  mdr_index web, picky;
  assert_int_equal(mdr_table_find_listener(t, tu_str("web"), &web), 0);
  assert_int_equal(mdr_table_find_listener(t, tu_str("picky"), &picky), 0);
  mdr_handshake_result hs;
  mdr_explanation e;

  assert_int_equal(mdr_handshake(t, picky, 0, NULL, 0, &hs), 0);
  assert_int_equal(mdr_explain_handshake(t, picky, 0, NULL, 0, &hs, &e), 0);
  assert_int_equal(e.kind, MDR_MISDIRECTED);
  assert_int_equal(e.status, 0);
  assert_int_equal(e.alert, MDR_ALERT_MISSING_EXTENSION);
  assert_int_equal(e.reason, MDR_REASON_SNI_MISSING);
  assert_int_equal(e.rule, 0);
  assert_int_equal(e.listener, picky);
  assert_int_equal(e.handshake_vhost, MDR_NONE);
  assert_int_equal(e.request_vhost, MDR_NONE);
  assert_int_equal(e.vhost, MDR_NONE);
  assert_int_equal(e.has_sni, 0);
  assert_int_equal(e.has_host, 0);
  assert_int_equal(e.has_authority, 0);
  assert_int_equal(e.request_host.len, 0);
  assert_int_equal(e.differs, 0);
  expect_causes(&e, 2, MDR_CAUSE_PROXY_NO_SNI, MDR_CAUSE_CLIENT_NO_SNI);

  const char unknown[] = "B.example.com.";
  assert_int_equal(mdr_handshake(t, web, 1, unknown, sizeof unknown - 1, &hs), 0);
  assert_int_equal(mdr_explain_handshake(t, web, 1, unknown, sizeof unknown - 1, &hs, &e), 0);
  assert_int_equal(e.alert, MDR_ALERT_UNRECOGNIZED_NAME);
  assert_int_equal(e.reason, MDR_REASON_SNI_UNKNOWN);
  assert_int_equal(e.has_sni, 1);
  assert_ptr_equal(e.sni.ptr, unknown);
  assert_int_equal(e.sni.len, sizeof unknown - 1);
  expect_str(e.request_host, "b.example.com"); /* normalised, in hs */
  assert_ptr_equal(e.request_host.ptr, hs.sni);
  expect_causes(&e, 3, MDR_CAUSE_CLIENT_BAD_SNI, MDR_CAUSE_WRONG_SERVER, MDR_CAUSE_MISSING_VHOST);

  assert_int_equal(mdr_handshake(t, web, 1, "192.0.2.1", 9, &hs), 0);
  assert_int_equal(mdr_explain_handshake(t, web, 1, "192.0.2.1", 9, &hs, &e), 0);
  assert_int_equal(e.reason, MDR_REASON_SNI_INVALID);
  assert_int_equal(e.request_host.len, 0);
  expect_causes(&e, 1, MDR_CAUSE_CLIENT_BAD_SNI);

  assert_int_equal(mdr_handshake(t, web, 1, "a.example.com", 13, &hs), 0);
  assert_int_equal(mdr_explain_handshake(t, web, 1, "a.example.com", 13, &hs, &e), 0);
  assert_int_equal(e.kind, MDR_SERVE);
  assert_int_equal(e.alert, 0);
  assert_int_equal(e.reason, MDR_REASON_SNI_MATCH);
  assert_int_equal(e.handshake_vhost, 0);
  assert_int_equal(e.vhost, 0);
  expect_causes(&e, 1, MDR_CAUSE_NONE);

  assert_int_equal(mdr_handshake(t, web, 0, NULL, 0, &hs), 0);
  assert_int_equal(mdr_explain_handshake(t, web, 0, NULL, 0, &hs, &e), 0);
  assert_int_equal(e.reason, MDR_REASON_SNI_NONE_DEFAULT);
  expect_causes(&e, 3, MDR_CAUSE_CONFIGURED, MDR_CAUSE_CLIENT_NO_SNI, MDR_CAUSE_PROXY_NO_SNI);
  mdr_table_unref(t);
}

/* ---- every reason, every context ---------------------------------------- */

static void check_causes(const mdr_explanation *e, mdr_reason reason) {
  if (e->n_causes == 0) print_error("reason %s has no cause\n", mdr_reason_token(reason));
  assert_true(e->n_causes >= 1);
  assert_true(e->n_causes <= MDR_EXPLAIN_MAX_CAUSES);
  for (size_t i = 0; i < e->n_causes; i++) {
    assert_true((unsigned)e->causes[i] < MDR_CAUSE_COUNT_);
    for (size_t j = 0; j < i; j++) assert_int_not_equal(e->causes[i], e->causes[j]);
    /* "nothing is wrong" never stands beside a real cause */
    if (e->causes[i] == MDR_CAUSE_NONE) assert_int_equal(e->n_causes, 1);
  }
}

static void test_every_reason_has_causes(void **state) {
  (void)state;
  mdr_table *t = tu_table(basic_vhosts);
  fx f;
  /* contexts: no SNI, a known SNI over HTTP/1.1 and HTTP/2, an unknown SNI
   * (as unknown-sni=default would accept), cleartext */
  const q ctx[] = {
    { "web", 0, 0, MDR_HTTP_1_1, 0, 0, "www.example.com", 0 },
    { "web", "www.example.com", 0, MDR_HTTP_1_1, 0, 0, "www.example.com", 0 },
    { "web", "www.example.com", "h2", MDR_HTTP_2, 0, "www.example.com", 0, 0 },
    { "plain", 0, 0, MDR_HTTP_1_1, 0, 0, "other.org", 0 },
  };
  mdr_index home = vh(t, "home"), admin = vh(t, "admin");
  for (size_t k = 0; k < sizeof ctx / sizeof ctx[0]; k++) {
    run(t, &f, ctx[k]);
    for (unsigned i = 0; i < MDR_REASON_COUNT_; i++) {
      mdr_decision d = f.d;
      d.reason = (mdr_reason)i;
      d.request_vhost = admin;
      mdr_explanation e;
      assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &d, &e), 0);
      check_causes(&e, d.reason);
      /* the one-line text never comes out empty either */
      char buf[2048];
      assert_true(mdr_decision_explain(t, &f.c, &d, buf, sizeof buf) > 0);
    }
  }
  /* an SNI that names no vhost, under unknown-sni=default */
  run(t, &f, ctx[1]);
  f.c.sni = tu_str("unknown.example.com");
  f.c.has_hs_vhost = 1;
  f.c.hs_vhost = home;
  for (unsigned i = 0; i < MDR_REASON_COUNT_; i++) {
    mdr_decision d = f.d;
    d.reason = (mdr_reason)i;
    mdr_explanation e;
    assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &d, &e), 0);
    check_causes(&e, d.reason);
    if (i == MDR_REASON_POLICY_MISMATCH) assert_int_equal(e.causes[0], MDR_CAUSE_CLIENT_BAD_SNI);
  }
  /* the handshake step, with and without SNI */
  mdr_index web = f.c.listener;
  for (unsigned i = 0; i < MDR_REASON_COUNT_; i++) {
    mdr_handshake_result hs;
    assert_int_equal(mdr_handshake(t, web, 1, "www.example.com", 15, &hs), 0);
    hs.reason = (mdr_reason)i;
    mdr_explanation e;
    assert_int_equal(mdr_explain_handshake(t, web, 1, "www.example.com", 15, &hs, &e), 0);
    check_causes(&e, hs.reason);
    assert_int_equal(mdr_explain_handshake(t, web, 0, NULL, 0, &hs, &e), 0);
    check_causes(&e, hs.reason);
  }
  /* the cause table: distinct non-empty tokens, texts and fixes */
  for (unsigned i = 0; i < MDR_CAUSE_COUNT_; i++) {
    mdr_cause c = (mdr_cause)i;
    assert_true(strlen(mdr_cause_token(c)) > 0);
    assert_true(strlen(mdr_cause_text(c)) > 0);
    assert_true(strlen(mdr_cause_fix(c)) > 0);
    for (unsigned j = 0; j < i; j++) assert_string_not_equal(mdr_cause_token(c), mdr_cause_token((mdr_cause)j));
  }
  mdr_table_unref(t);
}

/* Only the reasons that may come from HTTP/2 connection reuse say so. */
static void test_reasons_map_as_documented(void **state) {
  (void)state;
  mdr_table *t = tu_table(basic_vhosts);
  fx f;
  run(t, &f, (q){ "web", "www.example.com", "h2", MDR_HTTP_2, 0, "www.example.com", 0, 0 });
  struct {
    mdr_reason reason;
    mdr_cause first;
  } want[] = {
    { MDR_REASON_SCHEME_HTTPS_ON_CLEARTEXT, MDR_CAUSE_TLS_TERMINATED_UPSTREAM },
    { MDR_REASON_WRONG_PORT, MDR_CAUSE_PORT_MAPPING },
    { MDR_REASON_SCHEME_UNSUPPORTED, MDR_CAUSE_CLIENT_PROTOCOL },
    { MDR_REASON_ALPN_NOT_HTTP, MDR_CAUSE_CLIENT_PROTOCOL },
    { MDR_REASON_EARLY_DATA, MDR_CAUSE_CLIENT_PROTOCOL },
    { MDR_REASON_CONNECT, MDR_CAUSE_CLIENT_PROTOCOL },
    { MDR_REASON_REDIRECT_ALIAS, MDR_CAUSE_CONFIGURED },
    { MDR_REASON_REDIRECT_HTTPS, MDR_CAUSE_CONFIGURED },
    { MDR_REASON_SNI_HOST_STRICT, MDR_CAUSE_CONFIGURED },
    { MDR_REASON_SERVE_HANDSHAKE_VHOST, MDR_CAUSE_NONE },
    { MDR_REASON_PORT_RANGE, MDR_CAUSE_CLIENT_MALFORMED },
    { MDR_REASON_PROTOCOL_DISABLED, MDR_CAUSE_CONNECTION_REUSE },
    { MDR_REASON_NOT_IN_ORIGIN_SET, MDR_CAUSE_CONNECTION_REUSE },
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    mdr_decision d = f.d;
    d.reason = want[i].reason;
    mdr_explanation e;
    assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &d, &e), 0);
    if (e.causes[0] != want[i].first)
      print_error("%s: first cause %s\n", mdr_reason_token(want[i].reason), mdr_cause_token(e.causes[0]));
    assert_int_equal(e.causes[0], want[i].first);
  }
  /* sni-host=strict: configured, then the same causes as a policy mismatch */
  mdr_decision d = f.d;
  d.reason = MDR_REASON_SNI_HOST_STRICT;
  mdr_explanation e;
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &d, &e), 0);
  expect_causes(&e, 4, MDR_CAUSE_CONFIGURED, MDR_CAUSE_CONNECTION_REUSE,
                MDR_CAUSE_PROXY_REWROTE_HOST, MDR_CAUSE_PROXY_NO_SNI);
  mdr_table_unref(t);
}

/* ---- no allocation ------------------------------------------------------ */

static void test_no_allocation(void **state) {
  (void)state;
  tu_counting_mem m;
  tu_counting_mem_init(&m);
  mdr_parse_options opts;
  memset(&opts, 0, sizeof opts);
  opts.mem = &m.mem;
  mdr_table *t = NULL;
  mdr_error err;
  assert_int_equal(mdr_table_parse(basic_vhosts, strlen(basic_vhosts), tu_str("v"), &opts, &t, &err), 0);
  size_t before = m.calls;
  fx f;
  mdr_explanation e;
  char buf[1024];
  const q qs[] = {
    { "web", "blog.example.com", "h2", MDR_HTTP_2, 0, "admin.example.com", 0, 0 },
    { "web", 0, 0, MDR_HTTP_1_1, 0, 0, "other.org", 0 },
    { "web", "www.example.com", 0, MDR_HTTP_1_1, 0, 0, "nope.example.com", 0 },
    { "plain", 0, 0, MDR_HTTP_1_1, 0, 0, "example.com", 0 },
  };
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
    run(t, &f, qs[i]);
    assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
    assert_true(mdr_decision_explain(t, &f.c, &f.d, buf, sizeof buf) > 0);
  }
  mdr_handshake_result hs;
  assert_int_equal(mdr_handshake(t, 0, 1, "nope.example.com", 16, &hs), 0);
  assert_int_equal(mdr_explain_handshake(t, 0, 1, "nope.example.com", 16, &hs, &e), 0);
  assert_int_equal(m.calls, before);
  mdr_table_unref(t);
  assert_int_equal(m.live, 0);
}

/* ---- the one-line explanation ----------------------------------------- */

static void explain_line(const mdr_table *t, const fx *f, char *buf, size_t cap) {
  size_t n = mdr_decision_explain(t, &f->c, &f->d, buf, cap);
  assert_int_equal(n, strlen(buf));
  for (size_t i = 0; i < n; i++) assert_true(buf[i] >= 0x20 && buf[i] < 0x7f);
}

static void test_one_line_names_the_parties(void **state) {
  (void)state;
  mdr_table *t = tu_table(basic_vhosts);
  fx f;
  mdr_explanation e;
  char buf[1024];
  run(t, &f, (q){ "web", "blog.example.com", "h2", MDR_HTTP_2, 0, "admin.example.com", 0, 0 });
  explain_line(t, &f, buf, sizeof buf);
  assert_non_null(strstr(buf, "SNI named 'blog.example.com'"));
  assert_non_null(strstr(buf, "handshake vhost 'blog'"));
  assert_non_null(strstr(buf, "vhost 'admin'"));
  assert_non_null(strstr(buf, "client-auth=required"));
  /* its cause clause leads with the first structured cause */
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.causes[0], MDR_CAUSE_CONNECTION_REUSE);
  assert_non_null(strstr(buf, "reusing a connection for another origin, or a proxy that rewrote Host, causes this"));

  run(t, &f, (q){ "web", "blog.example.com", 0, MDR_HTTP_1_1, 0, 0, "admin.example.com", 0 });
  explain_line(t, &f, buf, sizeof buf);
  assert_int_equal(mdr_explain_decision(t, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.causes[0], MDR_CAUSE_PROXY_REWROTE_HOST);
  assert_non_null(strstr(buf, "; a proxy that rewrote Host, or a CDN that rewrites Host, causes this"));

  run(t, &f, (q){ "web", 0, 0, MDR_HTTP_1_1, 0, 0, "other.org", 0 });
  explain_line(t, &f, buf, sizeof buf);
  assert_non_null(strstr(buf, "no SNI"));
  assert_non_null(strstr(buf, "vhost 'home' and its cert 'site', which does not cover 'other.org' (vhost 'other')"));
  assert_non_null(strstr(buf, "does not forward SNI"));
  assert_non_null(strstr(buf, "enable SNI forwarding"));

  run(t, &f, (q){ "web", "www.example.com", 0, MDR_HTTP_1_1, 0, 0, "shop.example.com", 0 });
  explain_line(t, &f, buf, sizeof buf);
  assert_non_null(strstr(buf, "no vhost on listener 'web' serves 'shop.example.com'"));
  assert_non_null(strstr(buf, "a CDN that rewrites Host"));

  /* what the client sent is escaped: nothing can break a log line */
  mdr_table *lax = tu_table("listener web https 443 default=a unknown-sni=default\n"
                            "cert c a.example.com b.example.com\n"
                            "policy p client-auth=required\n"
                            "vhost a listen=web names=a.example.com cert=c\n"
                            "vhost b listen=web names=b.example.com cert=c policy=p\n");
  static const char sni[] = { 'x', '\n', '\'', '\\', (char)0xc3, '\0', 'y' };
  memset(&f, 0, sizeof f);
  f.c.listener = 0;
  f.c.has_sni = 1;
  f.c.sni.ptr = sni;
  f.c.sni.len = sizeof sni;
  assert_int_equal(mdr_handshake(lax, 0, 1, sni, sizeof sni, &f.hs), 0);
  assert_int_equal(f.hs.reason, MDR_REASON_SNI_UNKNOWN_DEFAULT);
  f.c.has_hs_vhost = 1;
  f.c.hs_vhost = f.hs.vhost;
  f.hosts[0] = tu_str("b.example.com");
  f.r.host = f.hosts;
  f.r.n_host = 1;
  f.r.has_target = 1;
  f.r.target = tu_str("/");
  assert_int_equal(mdr_decide(lax, &f.c, &f.r, &f.d, f.loc, sizeof f.loc), 0);
  assert_int_equal(f.d.reason, MDR_REASON_POLICY_MISMATCH);
  explain_line(lax, &f, buf, sizeof buf);
  assert_non_null(strstr(buf, "SNI named 'x\\x0a\\x27\\x5c\\xc3\\x00y'"));
  assert_int_equal(mdr_explain_decision(lax, &f.c, &f.r, &f.d, &e), 0);
  assert_int_equal(e.causes[0], MDR_CAUSE_CLIENT_BAD_SNI);
  mdr_table_unref(lax);
  mdr_table_unref(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_policy_mismatch_h2),
    cmocka_unit_test(test_policy_mismatch_contexts),
    cmocka_unit_test(test_ca_identity),
    cmocka_unit_test(test_cert_not_covering_no_sni),
    cmocka_unit_test(test_unknown_host),
    cmocka_unit_test(test_bad_request),
    cmocka_unit_test(test_serve_and_redirect),
    cmocka_unit_test(test_request_null),
    cmocka_unit_test(test_invalid_arguments),
    cmocka_unit_test(test_handshake),
    cmocka_unit_test(test_every_reason_has_causes),
    cmocka_unit_test(test_reasons_map_as_documented),
    cmocka_unit_test(test_no_allocation),
    cmocka_unit_test(test_one_line_names_the_parties),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
