/* Shared contexts (issue 12, section 6): vhosts with the same cert
 * statement and TLS policy share one SSL_CTX, so a set's size follows the
 * number of certificates and policies, not of vhosts; what differs per
 * vhost (ALPN from protocols=, the recorded vhost, client-auth of another
 * policy, resumption across policies) still follows the handshake vhost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define N_BULK 200

static h_pki g_pki;

static int group_setup(void **state) {
  (void)state;
  return h_pki_init(&g_pki) ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  h_pki_free(&g_pki);
  return 0;
}

static mdr_str S(const char *s) {
  mdr_str r = {s, strlen(s)};
  return r;
}

/* Listener web; cert "ca" (leaf-a: a.example, www.a.example, b.example,
 * e.example) for vhosts a1 (all protocols), a2 (http/1.1 only), m1 and m2
 * (two policy statements with equal settings: client-auth=required,
 * ca-a.pem), s1 (min-tls=1.3) and N_BULK more; cert "cb" (leaf-b) for y. */
static char g_bulk_names[N_BULK][24];
static mdr_str g_bulk[N_BULK];

static mdr_table *shared_table(void) {
  mdr_builder *b = NULL;
  mdr_table *t = NULL;
  mdr_error err;
  assert_int_equal(mdr_builder_new(&b, NULL), 0);
  mdr_listener_conf l;
  memset(&l, 0, sizeof l);
  l.tls = 1;
  l.name = S("web");
  l.port = 8443;
  l.default_vhost = S("a1");
  assert_int_equal(mdr_builder_add_listener(b, &l, &err), 0);

  static const mdr_str na[] = {MDR_STR_LIT("a.example"), MDR_STR_LIT("www.a.example"),
                               MDR_STR_LIT("b.example"), MDR_STR_LIT("e.example")};
  mdr_cert_conf c;
  memset(&c, 0, sizeof c);
  c.name = S("ca");
  c.names = na;
  c.n_names = 4;
  c.file = S("leaf-a.pem");
  c.key = S("leaf-a.key");
  assert_int_equal(mdr_builder_add_cert(b, &c, &err), 0);
  static const mdr_str nb[] = {MDR_STR_LIT("y.example")};
  c.name = S("cb");
  c.names = nb;
  c.n_names = 1;
  c.file = S("leaf-b.pem");
  c.key = S("leaf-b.key");
  assert_int_equal(mdr_builder_add_cert(b, &c, &err), 0);

  mdr_policy_conf pc;
  memset(&pc, 0, sizeof pc);
  pc.name = S("mtls");
  pc.client_auth = MDR_CLIENT_AUTH_REQUIRED;
  pc.ca_file = S("ca-a.pem");
  assert_int_equal(mdr_builder_add_policy(b, &pc, &err), 0);
  pc.name = S("mtls-same");
  assert_int_equal(mdr_builder_add_policy(b, &pc, &err), 0);
  memset(&pc, 0, sizeof pc);
  pc.name = S("strict");
  pc.min_tls = MDR_TLS_1_3;
  assert_int_equal(mdr_builder_add_policy(b, &pc, &err), 0);

  static const mdr_str lw[] = {MDR_STR_LIT("web")};
  static const mdr_str n_a1[] = {MDR_STR_LIT("a.example")};
  static const mdr_str n_a2[] = {MDR_STR_LIT("www.a.example")};
  static const mdr_str n_m1[] = {MDR_STR_LIT("b.example")};
  static const mdr_str n_m2[] = {MDR_STR_LIT("m2.a.example")};
  static const mdr_str n_s1[] = {MDR_STR_LIT("e.example")};
  static const mdr_str n_y[] = {MDR_STR_LIT("y.example")};
  mdr_vhost_conf v;
  memset(&v, 0, sizeof v);
  v.listeners = lw;
  v.n_listeners = 1;
  v.n_names = 1;
  v.cert = S("ca");
  v.name = S("a1"); v.names = n_a1;
  assert_int_equal(mdr_builder_add_vhost(b, &v, &err), 0);
  v.name = S("a2"); v.names = n_a2; v.protocols = MDR_PROTO_H1;
  assert_int_equal(mdr_builder_add_vhost(b, &v, &err), 0);
  v.protocols = 0;
  v.name = S("m1"); v.names = n_m1; v.policy = S("mtls");
  assert_int_equal(mdr_builder_add_vhost(b, &v, &err), 0);
  v.name = S("m2"); v.names = n_m2; v.policy = S("mtls-same");
  assert_int_equal(mdr_builder_add_vhost(b, &v, &err), 0);
  v.name = S("s1"); v.names = n_s1; v.policy = S("strict");
  assert_int_equal(mdr_builder_add_vhost(b, &v, &err), 0);
  v.policy = S("");
  for (int i = 0; i < N_BULK; i++) {
    snprintf(g_bulk_names[i], sizeof g_bulk_names[i], "v%d.a.example", i);
    g_bulk[i] = S(g_bulk_names[i]);
    v.name = g_bulk[i]; /* vhost statement named after its one name */
    v.names = &g_bulk[i];
    assert_int_equal(mdr_builder_add_vhost(b, &v, &err), 0);
  }
  v.name = S("y"); v.names = n_y; v.cert = S("cb");
  assert_int_equal(mdr_builder_add_vhost(b, &v, &err), 0);
  assert_int_equal(mdr_builder_build(b, &t, &err), 0);
  mdr_builder_free(b);
  return t;
}

static int g_configure_calls;

static int count_configure(void *user, SSL_CTX *ctx, const mdr_table *t, mdr_index v) {
  (void)user;
  (void)ctx;
  (void)t;
  (void)v;
  g_configure_calls++;
  return 0;
}

static mdr_ossl_set *shared_set(mdr_table *t) {
  mdr_ossl_set_options o;
  memset(&o, 0, sizeof o);
  o.base_dir = S(g_pki.dir);
  o.configure = count_configure;
  mdr_error err;
  mdr_ossl_set *set = NULL;
  g_configure_calls = 0;
  assert_int_equal(mdr_ossl_set_new(&set, t, S("web"), &o, &err), 0);
  return set;
}

/* One context per (cert, policy): N_BULK + 2 vhosts on (ca, default) share
 * one; m1 and m2 (equal policies) share one; s1 and y get their own. */
static void test_one_ctx_per_cert_and_policy(void **state) {
  (void)state;
  mdr_table *t = shared_table();
  mdr_ossl_set *set = shared_set(t);
  assert_int_equal(mdr_ossl_set_ctx_count(set), 4);
  assert_int_equal(g_configure_calls, 4);
  SSL_CTX *a1 = mdr_ossl_set_ctx(set, h_vhost(t, "a1"));
  assert_non_null(a1);
  assert_ptr_equal(mdr_ossl_set_ctx(set, h_vhost(t, "a2")), a1);
  for (int i = 0; i < N_BULK; i++) assert_ptr_equal(mdr_ossl_set_ctx(set, h_vhost(t, g_bulk_names[i])), a1);
  SSL_CTX *m1 = mdr_ossl_set_ctx(set, h_vhost(t, "m1"));
  assert_ptr_equal(mdr_ossl_set_ctx(set, h_vhost(t, "m2")), m1);
  SSL_CTX *s1 = mdr_ossl_set_ctx(set, h_vhost(t, "s1"));
  SSL_CTX *y = mdr_ossl_set_ctx(set, h_vhost(t, "y"));
  assert_true(m1 != a1 && s1 != a1 && s1 != m1 && y != a1 && y != m1 && y != s1);
  /* Different policies, different identities; the same policy on another
   * certificate, the same identity (the certificate is not part of it). */
  uint8_t ia[32], im[32], is[32], iy[32];
  assert_int_equal(mdr_ossl_set_policy_id(set, h_vhost(t, "a2"), ia), 0);
  assert_int_equal(mdr_ossl_set_policy_id(set, h_vhost(t, "m2"), im), 0);
  assert_int_equal(mdr_ossl_set_policy_id(set, h_vhost(t, "s1"), is), 0);
  assert_int_equal(mdr_ossl_set_policy_id(set, h_vhost(t, "y"), iy), 0);
  assert_memory_not_equal(ia, im, 32);
  assert_memory_not_equal(ia, is, 32);
  assert_memory_equal(ia, iy, 32);
  assert_int_equal(SSL_CTX_get_verify_mode(m1), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  assert_int_equal(SSL_CTX_get_verify_mode(a1), SSL_VERIFY_NONE);
  assert_int_equal(SSL_CTX_get_min_proto_version(s1), TLS1_3_VERSION);

  /* A host context for one sharing vhost replaces its mapping only; the
   * same host context given twice is held once. */
  SSL_CTX *host = SSL_CTX_new(TLS_server_method());
  assert_int_equal(SSL_CTX_use_certificate_chain_file(host, h_path(&g_pki, 0, "leaf-a.pem")), 1);
  assert_int_equal(SSL_CTX_use_PrivateKey_file(host, h_path(&g_pki, 1, "leaf-a.key"), SSL_FILETYPE_PEM), 1);
  assert_int_equal(mdr_ossl_set_use_ctx(set, h_vhost(t, g_bulk_names[0]), host), 0);
  assert_int_equal(mdr_ossl_set_use_ctx(set, h_vhost(t, g_bulk_names[1]), host), 0);
  assert_int_equal(mdr_ossl_set_ctx_count(set), 5);
  assert_ptr_equal(mdr_ossl_set_ctx(set, h_vhost(t, g_bulk_names[0])), host);
  assert_ptr_equal(mdr_ossl_set_ctx(set, h_vhost(t, g_bulk_names[1])), host);
  assert_ptr_equal(mdr_ossl_set_ctx(set, h_vhost(t, g_bulk_names[2])), a1);
  /* s1 is s1's context's only vhost: replacing it frees that context. */
  assert_int_equal(mdr_ossl_set_use_ctx(set, h_vhost(t, "s1"), host), 0);
  assert_int_equal(mdr_ossl_set_ctx_count(set), 4);
  SSL_CTX_free(host);
  mdr_ossl_set_unref(set);
  mdr_table_unref(t);
  assert_int_equal(mdr_ossl_set_ctx_count(NULL), 0);
}

typedef struct conn {
  SSL *s, *c;
  h_result r;
} conn;

static conn hs(SSL_CTX *initial, SSL_CTX *cctx, const char *sni, SSL_SESSION *resume,
               int client_cert) {
  static const unsigned char h2_h1[] = "\x02h2\x08http/1.1";
  conn x;
  x.s = SSL_new(initial);
  x.c = h_client(cctx, sni, sni);
  assert_int_equal(SSL_set_alpn_protos(x.c, h2_h1, sizeof h2_h1 - 1), 0);
  if (resume) assert_int_equal(SSL_set_session(x.c, resume), 1);
  if (client_cert) {
    assert_int_equal(SSL_use_certificate(x.c, g_pki.client_a), 1);
    assert_int_equal(SSL_use_PrivateKey(x.c, g_pki.client_a_key), 1);
  }
  x.r = h_handshake(x.s, x.c);
  return x;
}

static void expect_alpn(SSL *s, const char *proto) {
  const unsigned char *p = NULL;
  unsigned n = 0;
  SSL_get0_alpn_selected(s, &p, &n);
  assert_int_equal(n, strlen(proto));
  assert_memory_equal(p, proto, n);
}

/* Handshakes through shared contexts, TLS 1.2 and 1.3. */
static void test_shared_handshakes(void **state) {
  (void)state;
  static const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};
  mdr_table *t = shared_table();
  mdr_ossl_set *set = shared_set(t);
  SSL_CTX *initial = SSL_CTX_new(TLS_server_method());
  mdr_error err;
  assert_int_equal(mdr_ossl_install(set, initial, &err), 0);
  for (size_t k = 0; k < 2; k++) {
    SSL_CTX *cctx = h_client_ctx(&g_pki, versions[k]);
    /* a1 and a2 share a context, but ALPN follows each one's protocols=. */
    conn x = hs(initial, cctx, "a.example", NULL, 0);
    assert_true(x.r.server_ok && x.r.client_ok);
    assert_int_equal(mdr_ossl_conn_vhost(x.s), h_vhost(t, "a1"));
    expect_alpn(x.s, "h2");
    assert_int_equal(h_exchange(x.s, x.c, "hello"), 1);
    SSL_SESSION *sess_a1 = SSL_get1_session(x.c);
    SSL_CTX *shared = SSL_get_SSL_CTX(x.s);
    h_close(x.s, x.c);
    x = hs(initial, cctx, "www.a.example", NULL, 0);
    assert_true(x.r.server_ok && x.r.client_ok);
    assert_int_equal(mdr_ossl_conn_vhost(x.s), h_vhost(t, "a2"));
    assert_ptr_equal(SSL_get_SSL_CTX(x.s), shared);
    expect_alpn(x.s, "http/1.1");
    h_close(x.s, x.c);

    /* Same policy: a1's session resumes for a2, which learns where it came
     * from. */
    x = hs(initial, cctx, "www.a.example", sess_a1, 0);
    assert_true(x.r.server_ok && x.r.client_ok);
    assert_true(SSL_session_reused(x.s));
    mdr_conn facts;
    memset(&facts, 0, sizeof facts);
    assert_int_equal(mdr_ossl_conn_facts(x.s, &facts), 0);
    assert_true(facts.has_hs_vhost);
    assert_int_equal(facts.hs_vhost, h_vhost(t, "a2"));
    assert_true(facts.has_resumed_from);
    assert_int_equal(facts.resumed_from, h_vhost(t, "a1"));
    expect_alpn(x.s, "http/1.1");
    h_close(x.s, x.c);

    /* m1 (client-auth=required) shares no context with a1: no client
     * certificate, no handshake; a1's session does not resume there. */
    x = hs(initial, cctx, "b.example", NULL, 0);
    assert_false(x.r.server_ok);
    h_close(x.s, x.c);
    x = hs(initial, cctx, "b.example", sess_a1, 1);
    assert_true(x.r.server_ok && x.r.client_ok);
    assert_false(SSL_session_reused(x.s));
    assert_non_null(SSL_get0_peer_certificate(x.s));
    assert_int_equal(mdr_ossl_conn_vhost(x.s), h_vhost(t, "m1"));
    h_close(x.s, x.c);
    SSL_SESSION_free(sess_a1);
    SSL_CTX_free(cctx);
  }
  SSL_CTX_free(initial);
  mdr_ossl_set_unref(set);
  mdr_table_unref(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_ctx_per_cert_and_policy),
      cmocka_unit_test(test_shared_handshakes),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
