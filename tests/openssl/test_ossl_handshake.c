/* In-process handshakes through the adapter (one-call install): vhost
 * selection per SNI, strict and lenient SNI, no SNI, IP-literal, case and
 * trailing dot, HelloRetryRequest, ALPN, client authentication,
 * renegotiation, malformed server_name, and facts feeding mdr_decide.
 * TLS 1.2 and TLS 1.3 each (the state of each test is the version). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>

#include "harness.h"

static h_pki g_pki;
static int v12 = TLS1_2_VERSION, v13 = TLS1_3_VERSION;

static int group_setup(void **state) {
  (void)state;
  return h_pki_init(&g_pki) ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  h_pki_free(&g_pki);
  return 0;
}

static int version_of(void **state) {
  return *(int *)*state;
}

/* One connection: server from srv, client from cctx. */
typedef struct conn {
  SSL *s, *c;
  h_result r;
} conn;

static conn connect_to(h_server *srv, SSL_CTX *cctx, const char *sni, const char *verify) {
  conn x;
  x.s = SSL_new(srv->initial);
  x.c = h_client(cctx, sni, verify);
  assert_non_null(x.s);
  assert_non_null(x.c);
  x.r = h_handshake(x.s, x.c);
  return x;
}

static void conn_free(conn *x) {
  SSL_free(x->s);
  SSL_free(x->c);
}

static void expect_vhost(h_server *srv, SSL_CTX *cctx, const char *sni, const char *vhost) {
  conn x = connect_to(srv, cctx, sni, sni);
  assert_true(x.r.client_ok);
  assert_true(x.r.server_ok);
  assert_int_equal(mdr_ossl_conn_vhost(x.s), h_vhost(srv->table, vhost));
  /* The ClientHello step switched the SSL to the vhost's context. */
  assert_ptr_equal(SSL_get_SSL_CTX(x.s), mdr_ossl_set_ctx(srv->set, h_vhost(srv->table, vhost)));
  /* The name was acknowledged and is what the server reports. */
  const char *sn = SSL_get_servername(x.s, TLSEXT_NAMETYPE_host_name);
  assert_non_null(sn);
  assert_string_equal(sn, sni);
  conn_free(&x);
}

static void test_sni_selects_vhost(void **state) {
  int v = version_of(state);
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  SSL_CTX *cctx = h_client_ctx(&g_pki, v);
  expect_vhost(&srv, cctx, "a.example", "a");
  expect_vhost(&srv, cctx, "www.a.example", "a");
  expect_vhost(&srv, cctx, "c.example", "c");
  expect_vhost(&srv, cctx, "e.example", "e");
  /* Control: the client really checks the SAN of the certificate it got
   * (c's certificate does not cover a.example). */
  conn x = connect_to(&srv, cctx, "c.example", "a.example");
  assert_false(x.r.client_ok);
  conn_free(&x);
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

static void test_unknown_sni_strict(void **state) {
  int v = version_of(state);
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  SSL_CTX *cctx = h_client_ctx(&g_pki, v);
  conn x = connect_to(&srv, cctx, "unknown.example", NULL);
  assert_false(x.r.client_ok);
  assert_false(x.r.server_ok);
  assert_int_equal(x.r.client_alert_recv, SSL_AD_UNRECOGNIZED_NAME);
  assert_int_equal(mdr_ossl_conn_vhost(x.s), MDR_NONE);
  mdr_conn facts;
  memset(&facts, 0, sizeof facts);
  assert_int_equal(mdr_ossl_conn_facts(x.s, &facts), MDR_ERR_NOT_FOUND);
  /* The core's refusal is kept so the host can log why. */
  const mdr_handshake_result *hs = mdr_ossl_conn_handshake(x.s);
  assert_non_null(hs);
  assert_int_equal(hs->outcome, MDR_HS_ALERT);
  assert_int_equal(hs->alert, MDR_ALERT_UNRECOGNIZED_NAME);
  assert_int_equal(hs->reason, MDR_REASON_SNI_UNKNOWN);
  assert_true(hs->sni_valid);
  assert_string_equal(hs->sni, "unknown.example");
  conn_free(&x);
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

static void test_unknown_sni_lenient(void **state) {
  int v = version_of(state);
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "lax", MDR_OSSL_ALPN_STRICT));
  SSL_CTX *cctx = h_client_ctx(&g_pki, v);
  /* The default vhost's certificate (a) is presented. */
  conn x = connect_to(&srv, cctx, "unknown.example", "a.example");
  assert_true(x.r.client_ok);
  assert_true(x.r.server_ok);
  assert_int_equal(mdr_ossl_conn_vhost(x.s), h_vhost(srv.table, "a"));
  const mdr_handshake_result *hs = mdr_ossl_conn_handshake(x.s);
  assert_non_null(hs);
  assert_int_equal(hs->reason, MDR_REASON_SNI_UNKNOWN_DEFAULT);
  mdr_conn facts;
  memset(&facts, 0, sizeof facts);
  assert_int_equal(mdr_ossl_conn_facts(x.s, &facts), 0);
  assert_true(facts.has_sni);
  assert_int_equal(facts.sni.len, strlen("unknown.example"));
  assert_memory_equal(facts.sni.ptr, "unknown.example", facts.sni.len);
  conn_free(&x);
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

static void test_no_sni(void **state) {
  int v = version_of(state);
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  SSL_CTX *cctx = h_client_ctx(&g_pki, v);
  conn x = connect_to(&srv, cctx, NULL, "a.example");
  assert_true(x.r.client_ok);
  assert_true(x.r.server_ok);
  assert_int_equal(mdr_ossl_conn_vhost(x.s), h_vhost(srv.table, "a"));
  mdr_conn facts;
  memset(&facts, 0, sizeof facts);
  assert_int_equal(mdr_ossl_conn_facts(x.s, &facts), 0);
  assert_false(facts.has_sni);
  assert_int_equal(facts.sni.len, 0);
  assert_int_equal(mdr_ossl_conn_handshake(x.s)->reason, MDR_REASON_SNI_NONE_DEFAULT);
  conn_free(&x);
  h_server_free(&srv);

  /* no-sni=reject: fatal missing_extension. */
  assert_true(h_server_init(&srv, &g_pki, "closed", MDR_OSSL_ALPN_STRICT));
  x = connect_to(&srv, cctx, NULL, NULL);
  assert_false(x.r.client_ok);
  assert_false(x.r.server_ok);
  /* missing_extension is a TLS 1.3 alert: OpenSSL sends handshake_failure
   * in its place on TLS 1.2 (tls1_alert_code). */
  assert_int_equal(x.r.client_alert_recv,
                   v == TLS1_3_VERSION ? SSL_AD_MISSING_EXTENSION : SSL_AD_HANDSHAKE_FAILURE);
  assert_int_equal(mdr_ossl_conn_vhost(x.s), MDR_NONE);
  const mdr_handshake_result *hs = mdr_ossl_conn_handshake(x.s);
  assert_non_null(hs);
  assert_int_equal(hs->outcome, MDR_HS_ALERT);
  assert_int_equal(hs->alert, MDR_ALERT_MISSING_EXTENSION);
  assert_int_equal(hs->reason, MDR_REASON_SNI_MISSING);
  conn_free(&x);
  /* ... while a known name still works there. */
  expect_vhost(&srv, cctx, "a.example", "a");
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

static void test_ip_literal_sni(void **state) {
  int v = version_of(state);
  h_server srv;
  SSL_CTX *cctx = h_client_ctx(&g_pki, v);
  /* c's certificate covers 192.0.2.7, but SNI never names an IP: invalid. */
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  conn x = connect_to(&srv, cctx, "192.0.2.7", NULL);
  assert_false(x.r.server_ok);
  assert_int_equal(x.r.client_alert_recv, SSL_AD_UNRECOGNIZED_NAME);
  assert_int_equal(mdr_ossl_conn_handshake(x.s)->reason, MDR_REASON_SNI_INVALID);
  assert_false(mdr_ossl_conn_handshake(x.s)->sni_valid);
  conn_free(&x);
  h_server_free(&srv);

  assert_true(h_server_init(&srv, &g_pki, "lax", MDR_OSSL_ALPN_STRICT));
  x = connect_to(&srv, cctx, "192.0.2.7", "a.example");
  assert_true(x.r.client_ok);
  assert_true(x.r.server_ok);
  assert_int_equal(mdr_ossl_conn_vhost(x.s), h_vhost(srv.table, "a"));
  const mdr_handshake_result *hs = mdr_ossl_conn_handshake(x.s);
  assert_false(hs->sni_valid);
  assert_int_equal(hs->reason, MDR_REASON_SNI_UNKNOWN_DEFAULT);
  conn_free(&x);
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

static void test_case_and_trailing_dot(void **state) {
  int v = version_of(state);
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  SSL_CTX *cctx = h_client_ctx(&g_pki, v);
  const char *names[] = {"A.Example.", "WWW.A.EXAMPLE", "a.example.", "C.EXAMPLE."};
  const char *want[] = {"a", "a", "a", "c"};
  const char *norm[] = {"a.example", "www.a.example", "a.example", "c.example"};
  for (size_t i = 0; i < 4; i++) {
    conn x = connect_to(&srv, cctx, names[i], norm[i]);
    assert_true(x.r.client_ok);
    assert_true(x.r.server_ok);
    assert_int_equal(mdr_ossl_conn_vhost(x.s), h_vhost(srv.table, want[i]));
    mdr_conn facts;
    memset(&facts, 0, sizeof facts);
    assert_int_equal(mdr_ossl_conn_facts(x.s, &facts), 0);
    assert_true(facts.has_sni);
    assert_int_equal(facts.sni.len, strlen(norm[i]));
    assert_memory_equal(facts.sni.ptr, norm[i], facts.sni.len);
    conn_free(&x);
  }
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

/* TLS 1.3 only: the client's key share (P-384) is not a group the server
 * accepts (X25519 only), so the server answers HelloRetryRequest and the
 * ClientHello step runs a second time. */
static void test_hello_retry_request(void **state) {
  (void)state;
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  SSL_CTX *cctx = h_client_ctx(&g_pki, TLS1_3_VERSION);

  /* Control: without the group mismatch there is one ClientHello. */
  conn x = connect_to(&srv, cctx, "c.example", "c.example");
  assert_true(x.r.server_ok);
  assert_int_equal(x.r.server_hellos, 1);
  conn_free(&x);

  assert_int_equal(SSL_CTX_set1_groups_list(srv.initial, "X25519"), 1);
  assert_int_equal(SSL_CTX_set1_groups_list(cctx, "P-384:X25519"), 1);
  for (int i = 0; i < 2; i++) {
    const char *sni = i ? "b.example" : "c.example";
    x = connect_to(&srv, cctx, sni, sni);
    if (i) { /* b requires a client certificate from CA B */
      SSL_free(x.s);
      SSL_free(x.c);
      x.s = SSL_new(srv.initial);
      x.c = h_client(cctx, sni, sni);
      assert_int_equal(SSL_use_certificate(x.c, g_pki.client_b), 1);
      assert_int_equal(SSL_use_PrivateKey(x.c, g_pki.client_b_key), 1);
      x.r = h_handshake(x.s, x.c);
    }
    assert_true(x.r.client_ok);
    assert_true(x.r.server_ok);
    assert_int_equal(x.r.server_hellos, 2);
    assert_int_equal(mdr_ossl_conn_vhost(x.s), h_vhost(srv.table, i ? "b" : "c"));
    assert_ptr_equal(SSL_get_SSL_CTX(x.s), mdr_ossl_set_ctx(srv.set, mdr_ossl_conn_vhost(x.s)));
    /* The policy applied after the first ClientHello survived the retry. */
    if (i) assert_non_null(SSL_get0_peer_certificate(x.s));
    conn_free(&x);
  }
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

static conn alpn_conn(h_server *srv, SSL_CTX *cctx, const char *sni, const unsigned char *offer,
                      unsigned len) {
  conn x;
  x.s = SSL_new(srv->initial);
  x.c = h_client(cctx, sni, sni);
  if (offer) assert_int_equal(SSL_set_alpn_protos(x.c, offer, len), 0);
  x.r = h_handshake(x.s, x.c);
  return x;
}

static void expect_alpn(conn *x, const char *proto) {
  const unsigned char *p = NULL;
  unsigned n = 0;
  assert_true(x->r.client_ok);
  assert_true(x->r.server_ok);
  SSL_get0_alpn_selected(x->s, &p, &n);
  if (!proto) {
    assert_int_equal(n, 0);
    return;
  }
  assert_int_equal(n, strlen(proto));
  assert_memory_equal(p, proto, n);
  mdr_conn facts;
  memset(&facts, 0, sizeof facts);
  assert_int_equal(mdr_ossl_conn_facts(x->s, &facts), 0);
  assert_true(facts.has_alpn);
  assert_int_equal(facts.alpn.len, n);
  assert_memory_equal(facts.alpn.ptr, proto, n);
}

static void test_alpn(void **state) {
  int v = version_of(state);
  static const unsigned char h2_h1[] = "\x02h2\x08http/1.1";
  static const unsigned char h2[] = "\x02h2";
  static const unsigned char acme[] = "\x0a" "acme-tls/1";
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  SSL_CTX *cctx = h_client_ctx(&g_pki, v);

  conn x = alpn_conn(&srv, cctx, "a.example", h2_h1, sizeof h2_h1 - 1);
  expect_alpn(&x, "h2");
  conn_free(&x);
  /* c has protocols=h1: the ALPN callback of the switched context chose. */
  x = alpn_conn(&srv, cctx, "c.example", h2_h1, sizeof h2_h1 - 1);
  expect_alpn(&x, "http/1.1");
  conn_free(&x);
  /* No overlap: fatal no_application_protocol. */
  x = alpn_conn(&srv, cctx, "c.example", h2, sizeof h2 - 1);
  assert_false(x.r.server_ok);
  assert_int_equal(x.r.client_alert_recv, SSL_AD_NO_APPLICATION_PROTOCOL);
  conn_free(&x);
  x = alpn_conn(&srv, cctx, "a.example", acme, sizeof acme - 1);
  assert_false(x.r.server_ok);
  assert_int_equal(x.r.client_alert_recv, SSL_AD_NO_APPLICATION_PROTOCOL);
  conn_free(&x);
  /* No ALPN offered: allowed. */
  x = alpn_conn(&srv, cctx, "c.example", NULL, 0);
  expect_alpn(&x, NULL);
  conn_free(&x);
  h_server_free(&srv);

  /* A server that speaks HTTP/1.x only: h2 is never negotiated, even for a
   * vhost that allows it. */
  assert_true(h_server_init_proto(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT, MDR_PROTO_H1));
  x = alpn_conn(&srv, cctx, "a.example", h2_h1, sizeof h2_h1 - 1);
  expect_alpn(&x, "http/1.1");
  conn_free(&x);
  x = alpn_conn(&srv, cctx, "a.example", h2, sizeof h2 - 1);
  assert_false(x.r.server_ok);
  assert_int_equal(x.r.client_alert_recv, SSL_AD_NO_APPLICATION_PROTOCOL);
  conn_free(&x);
  h_server_free(&srv);

  /* Lenient: no overlap continues without ALPN. */
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_LENIENT));
  x = alpn_conn(&srv, cctx, "c.example", h2, sizeof h2 - 1);
  expect_alpn(&x, NULL);
  conn_free(&x);
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

static int g_cert_cb_calls;

static int count_cert_cb(SSL *ssl, X509 **x, EVP_PKEY **k) {
  (void)ssl; (void)x; (void)k;
  g_cert_cb_calls++;
  return 0; /* no certificate */
}

static conn auth_conn(h_server *srv, SSL_CTX *cctx, const char *sni, X509 *cert, EVP_PKEY *key) {
  conn x;
  x.s = SSL_new(srv->initial);
  x.c = h_client(cctx, sni, sni);
  if (cert) {
    assert_int_equal(SSL_use_certificate(x.c, cert), 1);
    assert_int_equal(SSL_use_PrivateKey(x.c, key), 1);
  }
  x.r = h_handshake(x.s, x.c);
  return x;
}

static void test_client_auth(void **state) {
  int v = version_of(state);
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  SSL_CTX *cctx = h_client_ctx(&g_pki, v);
  SSL_CTX_set_client_cert_cb(cctx, count_cert_cb);

  /* a: no client authentication, no certificate is asked for. */
  g_cert_cb_calls = 0;
  conn x = auth_conn(&srv, cctx, "a.example", NULL, NULL);
  assert_true(x.r.server_ok);
  assert_int_equal(g_cert_cb_calls, 0);
  conn_free(&x);

  /* b requires a certificate from CA B. */
  g_cert_cb_calls = 0;
  x = auth_conn(&srv, cctx, "b.example", NULL, NULL);
  assert_false(x.r.server_ok);
  assert_false(x.r.client_ok);
  assert_int_equal(g_cert_cb_calls, 1);
  assert_int_equal(ERR_GET_REASON(x.r.server_err), SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE);
  conn_free(&x);

  x = auth_conn(&srv, cctx, "b.example", g_pki.client_b, g_pki.client_b_key);
  assert_true(x.r.client_ok);
  assert_true(x.r.server_ok);
  assert_non_null(SSL_get0_peer_certificate(x.s));
  assert_int_equal(SSL_get_verify_result(x.s), X509_V_OK);
  conn_free(&x);

  x = auth_conn(&srv, cctx, "b.example", g_pki.client_a, g_pki.client_a_key);
  assert_false(x.r.server_ok);
  assert_false(x.r.client_ok);
  assert_int_equal(ERR_GET_REASON(x.r.server_err), SSL_R_CERTIFICATE_VERIFY_FAILED);
  assert_int_equal(x.r.client_alert_recv, SSL_AD_UNKNOWN_CA);
  conn_free(&x);

  /* d trusts CA A only: the mirror image. */
  x = auth_conn(&srv, cctx, "d.example", g_pki.client_a, g_pki.client_a_key);
  assert_true(x.r.server_ok);
  assert_true(x.r.client_ok);
  conn_free(&x);
  x = auth_conn(&srv, cctx, "d.example", g_pki.client_b, g_pki.client_b_key);
  assert_false(x.r.server_ok);
  assert_int_equal(ERR_GET_REASON(x.r.server_err), SSL_R_CERTIFICATE_VERIFY_FAILED);
  conn_free(&x);

  /* The CertificateRequest names b's CA (the client CA list was re-applied). */
  x = auth_conn(&srv, cctx, "b.example", g_pki.client_b, g_pki.client_b_key);
  assert_true(x.r.client_ok);
  STACK_OF(X509_NAME) *cas = SSL_get_client_CA_list(x.c);
  assert_non_null(cas);
  assert_int_equal(sk_X509_NAME_num(cas), 1);
  assert_int_equal(X509_NAME_cmp(sk_X509_NAME_value(cas, 0), X509_get_subject_name(g_pki.client_ca_b)), 0);
  conn_free(&x);

  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

/* TLS 1.2 only: a ClientHello after the handshake is refused and the
 * connection keeps its vhost. */
static void test_renegotiation_refused(void **state) {
  (void)state;
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  SSL_CTX *cctx = h_client_ctx(&g_pki, TLS1_2_VERSION);
  conn x = connect_to(&srv, cctx, "a.example", "a.example");
  assert_true(x.r.server_ok);
  mdr_index before = mdr_ossl_conn_vhost(x.s);
  h_alerts_reset();
  assert_int_equal(SSL_renegotiate(x.c), 1);
  char buf[8];
  int client_failed = 0;
  for (int i = 0; i < 10 && !client_failed; i++) {
    int r = SSL_do_handshake(x.c);
    if (r <= 0) {
      int e = SSL_get_error(x.c, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) client_failed = 1;
    }
    SSL_read(x.s, buf, sizeof buf);
    ERR_clear_error();
  }
  assert_true(client_failed);
  assert_int_equal(h_client_alert(), SSL_AD_NO_RENEGOTIATION);
  assert_int_equal(mdr_ossl_conn_vhost(x.s), before);
  conn_free(&x);
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

/* Host values carry the listener's port (8443): a missing port would mean
 * 443, which this listener does not serve. */
static mdr_decision decide_host(h_server *srv, SSL *s, const char *host) {
  mdr_conn facts;
  memset(&facts, 0, sizeof facts);
  assert_int_equal(mdr_ossl_conn_facts(s, &facts), 0);
  mdr_request rq;
  memset(&rq, 0, sizeof rq);
  mdr_str h = {host, strlen(host)};
  rq.version = MDR_HTTP_1_1;
  rq.has_target = 1;
  rq.target.ptr = "/";
  rq.target.len = 1;
  rq.host = &h;
  rq.n_host = 1;
  mdr_decision d;
  char loc[256];
  assert_int_equal(mdr_decide(srv->table, &facts, &rq, &d, loc, sizeof loc), 0);
  return d;
}

static void test_facts_feed_decide(void **state) {
  int v = version_of(state);
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  SSL_CTX *cctx = h_client_ctx(&g_pki, v);
  conn x = connect_to(&srv, cctx, "a.example", "a.example");
  assert_true(x.r.server_ok);
  mdr_conn facts;
  memset(&facts, 0, sizeof facts);
  assert_int_equal(mdr_ossl_conn_facts(x.s, &facts), 0);
  assert_int_equal(facts.listener, mdr_ossl_set_listener(srv.set));
  assert_true(facts.has_hs_vhost);
  assert_int_equal(facts.hs_vhost, h_vhost(srv.table, "a"));
  assert_false(facts.resumed);
  assert_false(facts.early_data);

  /* SNI a + Host a: serve a. */
  mdr_decision d = decide_host(&srv, x.s, "a.example:8443");
  assert_int_equal(d.kind, MDR_SERVE);
  assert_int_equal(d.vhost, h_vhost(srv.table, "a"));
  /* SNI a + Host b: a's certificate covers b.example, but b's policy
   * (client certificates from CA B) differs: 421. */
  d = decide_host(&srv, x.s, "b.example:8443");
  assert_int_equal(d.kind, MDR_MISDIRECTED);
  assert_int_equal(d.status, 421);
  assert_int_equal(d.reason, MDR_REASON_POLICY_MISMATCH);
  /* SNI a + Host e: same policy, covered by a's certificate: served. */
  d = decide_host(&srv, x.s, "e.example:8443");
  assert_int_equal(d.kind, MDR_SERVE);
  assert_int_equal(d.vhost, h_vhost(srv.table, "e"));
  /* SNI a + Host c: a's certificate does not cover c.example. */
  d = decide_host(&srv, x.s, "c.example:8443");
  assert_int_equal(d.kind, MDR_MISDIRECTED);
  assert_int_equal(d.reason, MDR_REASON_CERT_NOT_COVERING);
  conn_free(&x);
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

/* The host's own ex_data index 0 (SSL_set_app_data) is left alone. */
static void test_app_data_untouched(void **state) {
  int v = version_of(state);
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  SSL_CTX *cctx = h_client_ctx(&g_pki, v);
  static int marker;
  SSL *s = SSL_new(srv.initial);
  SSL *c = h_client(cctx, "a.example", "a.example");
  assert_int_equal(SSL_set_app_data(s, &marker), 1);
  h_result r = h_handshake(s, c);
  assert_true(r.server_ok);
  assert_ptr_equal(SSL_get_app_data(s), &marker);
  assert_int_equal(mdr_ossl_conn_vhost(s), h_vhost(srv.table, "a"));
  SSL_free(s);
  SSL_free(c);
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

/* Raw ClientHellos with hand-made server_name extensions. */
static void test_raw_server_name(void **state) {
  (void)state;
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  static const unsigned char good[] = {0, 12, 0, 0, 9, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'};
  static const unsigned char bad_list_len[] = {0, 13, 0, 0, 9, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'};
  static const unsigned char bad_type[] = {0, 12, 1, 0, 9, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'};
  static const unsigned char bad_name_len[] = {0, 12, 0, 0, 8, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'};
  static const unsigned char two_names[] = {0, 16, 0, 0, 5, 'a', '.', 'e', 'x', 'a', 0, 0, 3, 'b', '.', 'e'};
  static const unsigned char empty_name[] = {0, 3, 0, 0, 0};
  static const unsigned char empty_label[] = {0, 13, 0, 0, 10, 'a', '.', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'};
  static const unsigned char with_nul[] = {0, 12, 0, 0, 9, 'a', '.', 'e', 'x', 0, 'm', 'p', 'l', 'e'};
  /* Control: the same hand-made hello with a good name draws no alert. */
  assert_int_equal(h_raw_hello(&srv, good, sizeof good), -1);
  assert_int_equal(h_raw_hello(&srv, NULL, 0), -1); /* no SNI: the default */
  assert_int_equal(h_raw_hello(&srv, bad_list_len, sizeof bad_list_len), SSL_AD_DECODE_ERROR);
  assert_int_equal(h_raw_hello(&srv, bad_type, sizeof bad_type), SSL_AD_DECODE_ERROR);
  assert_int_equal(h_raw_hello(&srv, bad_name_len, sizeof bad_name_len), SSL_AD_DECODE_ERROR);
  assert_int_equal(h_raw_hello(&srv, two_names, sizeof two_names), SSL_AD_DECODE_ERROR);
  assert_int_equal(h_raw_hello(&srv, empty_name, sizeof empty_name), SSL_AD_DECODE_ERROR);
  assert_int_equal(h_raw_hello(&srv, (const unsigned char *)"", 0), SSL_AD_DECODE_ERROR);
  assert_int_equal(h_raw_hello(&srv, with_nul, sizeof with_nul), SSL_AD_UNRECOGNIZED_NAME);
  assert_int_equal(h_raw_hello(&srv, empty_label, sizeof empty_label), SSL_AD_UNRECOGNIZED_NAME);
  /* A 256-byte name: well-formed extension, unacceptable name. */
  unsigned char longname[5 + 256];
  longname[0] = 0x01; longname[1] = 0x03; longname[2] = 0; longname[3] = 0x01; longname[4] = 0x00;
  for (size_t i = 0; i < 256; i++) longname[5 + i] = (i % 64 == 63) ? '.' : 'a';
  assert_int_equal(h_raw_hello(&srv, longname, sizeof longname), SSL_AD_UNRECOGNIZED_NAME);
  h_server_free(&srv);

  /* Lenient listener: an unacceptable name gets the default, a malformed
   * extension is still a decode error. */
  assert_true(h_server_init(&srv, &g_pki, "lax", MDR_OSSL_ALPN_STRICT));
  assert_int_equal(h_raw_hello(&srv, empty_label, sizeof empty_label), -1);
  /* OpenSSL itself refuses a name holding NUL, whatever the listener says. */
  assert_int_equal(h_raw_hello(&srv, with_nul, sizeof with_nul), SSL_AD_UNRECOGNIZED_NAME);
  assert_int_equal(h_raw_hello(&srv, bad_type, sizeof bad_type), SSL_AD_DECODE_ERROR);
  h_server_free(&srv);
}

/* A second ClientHello (after HelloRetryRequest) must carry the
 * server_name the first one was judged by (Mbed TLS HRR advisory). */
static void test_hrr_changed_server_name(void **state) {
  (void)state;
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  static const unsigned char a[] = {0, 12, 0, 0, 9, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'};
  static const unsigned char b[] = {0, 12, 0, 0, 9, 'b', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'};
  static const unsigned char a_upper[] = {0, 12, 0, 0, 9, 'A', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'};
  int hrr = 0;
  /* Control: same name twice goes through the retry without an alert. */
  assert_int_equal(h_raw_hello_hrr(&srv, a, sizeof a, a, sizeof a, &hrr), -1);
  assert_true(hrr);
  /* Another vhost's name (b: client certificates required), a changed
   * spelling, or no name at all in the second hello: refused. */
  assert_int_equal(h_raw_hello_hrr(&srv, a, sizeof a, b, sizeof b, &hrr), SSL_AD_ILLEGAL_PARAMETER);
  assert_true(hrr);
  assert_int_equal(h_raw_hello_hrr(&srv, a, sizeof a, a_upper, sizeof a_upper, &hrr),
                   SSL_AD_ILLEGAL_PARAMETER);
  assert_int_equal(h_raw_hello_hrr(&srv, a, sizeof a, NULL, 0, &hrr), SSL_AD_ILLEGAL_PARAMETER);
  assert_true(hrr);
  h_server_free(&srv);

  /* A host that forgot its ClientHello callback on the vhost contexts: the
   * servername step still compares OpenSSL's own view of the final
   * ClientHello with the name the decision was made on. */
  assert_true(h_server_init_host(&srv, &g_pki, "web", NULL));
  for (mdr_index v = 0; v < mdr_table_vhost_count(srv.table); v++)
    if (mdr_ossl_set_ctx(srv.set, v)) SSL_CTX_set_client_hello_cb(mdr_ossl_set_ctx(srv.set, v), NULL, NULL);
  assert_int_equal(h_raw_hello_hrr(&srv, a, sizeof a, a, sizeof a, &hrr), -1);
  assert_true(hrr);
  assert_int_equal(h_raw_hello_hrr(&srv, a, sizeof a, b, sizeof b, &hrr), SSL_AD_ILLEGAL_PARAMETER);
  assert_true(hrr);
  h_server_free(&srv);
}

#define BOTH(fn) cmocka_unit_test_prestate(fn, &v12), cmocka_unit_test_prestate(fn, &v13)

int main(void) {
  const struct CMUnitTest tests[] = {
      BOTH(test_sni_selects_vhost),
      BOTH(test_unknown_sni_strict),
      BOTH(test_unknown_sni_lenient),
      BOTH(test_no_sni),
      BOTH(test_ip_literal_sni),
      BOTH(test_case_and_trailing_dot),
      cmocka_unit_test(test_hello_retry_request),
      cmocka_unit_test(test_hrr_changed_server_name),
      BOTH(test_alpn),
      BOTH(test_client_auth),
      cmocka_unit_test(test_renegotiation_refused),
      BOTH(test_facts_feed_decide),
      BOTH(test_app_data_untouched),
      cmocka_unit_test(test_raw_server_name),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
