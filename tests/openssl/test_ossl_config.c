/* Certificates and policies from the real objects: names from a
 * certificate's SANs, the policy identity of contexts, context sets built
 * from the table (errors), host-supplied contexts, strict ALPN (pure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>

#include "harness.h"
#include "testutil.h"

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

static void expect_names(const char *file, const char *const *want, size_t n_want) {
  mdr_ossl_names store = {0};
  mdr_str names[16];
  size_t n = 99;
  char why[256] = "";
  assert_int_equal(mdr_ossl_cert_names(&store, h_path(&g_pki, 0, file), names, 16, &n, why,
                                       sizeof why),
                   0);
  assert_int_equal(n, n_want);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(names[i].len, strlen(want[i]));
    assert_memory_equal(names[i].ptr, want[i], names[i].len);
  }
  mdr_ossl_names_free(&store);
}

static void test_cert_names(void **state) {
  (void)state;
  static const char *const a[] = {"a.example", "www.a.example", "b.example", "e.example"};
  static const char *const c[] = {"c.example", "192.0.2.7", "[2001:db8::1]"};
  expect_names("leaf-a.pem", a, 4);
  expect_names("leaf-c.pem", c, 3);

  /* Case, wildcards, a long-form IPv6 address, an IPv4-mapped address and an
   * entry that is no host name (skipped). */
  EVP_PKEY *k = h_key();
  X509 *x = h_issue(k, "other", "DNS:WWW.Other.Example,DNS:*.Wild.Example,DNS:not a name,"
                    "IP:2001:DB8:0:0:0:0:0:2,IP:::ffff:192.0.2.50,email:x@example.com",
                    0, g_pki.server_ca, g_pki.server_ca_key);
  assert_non_null(x);
  assert_true(h_write_cert(h_path(&g_pki, 0, "other.pem"), &x, 1));
  static const char *const o[] = {"www.other.example", "*.wild.example", "[2001:db8::2]",
                                  "[::ffff:192.0.2.50]"};
  expect_names("other.pem", o, 4);
  X509_free(x);

  /* No SAN at all: an error that says the common name is not used. */
  x = h_issue(k, "nosan.example", NULL, 0, g_pki.server_ca, g_pki.server_ca_key);
  assert_true(h_write_cert(h_path(&g_pki, 0, "nosan.pem"), &x, 1));
  X509_free(x);
  EVP_PKEY_free(k);
  mdr_ossl_names store = {0};
  mdr_str names[4];
  size_t n = 0;
  char why[256] = "";
  assert_int_equal(mdr_ossl_cert_names(&store, h_path(&g_pki, 0, "nosan.pem"), names, 4, &n, why,
                                       sizeof why),
                   MDR_ERR_CONFIG);
  assert_non_null(strstr(why, "subjectAltName"));
  assert_non_null(strstr(why, "common name"));
  /* Too many names for the caller's array. */
  assert_int_equal(mdr_ossl_cert_names(&store, h_path(&g_pki, 0, "leaf-a.pem"), names, 2, &n, why,
                                       sizeof why),
                   MDR_ERR_CONFIG);
  /* Missing file, key instead of a certificate. */
  assert_int_equal(mdr_ossl_cert_names(&store, h_path(&g_pki, 0, "missing.pem"), names, 4, &n, why,
                                       sizeof why),
                   MDR_ERR_IO);
  assert_non_null(strstr(why, "missing.pem"));
  assert_int_equal(mdr_ossl_cert_names(&store, h_path(&g_pki, 0, "leaf-a.key"), names, 4, &n, why,
                                       sizeof why),
                   MDR_ERR_IO);
  /* No storage. */
  assert_int_equal(mdr_ossl_cert_names(NULL, h_path(&g_pki, 0, "leaf-a.pem"), names, 4, &n, why,
                                       sizeof why),
                   MDR_ERR_INVALID_ARGUMENT);
  mdr_ossl_names_free(&store);
}

/* `cert NAME file=...` through the vhosts parser. */
static void test_table_parse_learns_names(void **state) {
  (void)state;
  static const char text[] =
      "listener web https 443 default=a\n"
      "cert ca file=leaf-a.pem key=leaf-a.key\n"
      "cert cc c.example 192.0.2.7 [2001:db8::1] file=leaf-c.pem key=leaf-c.key\n"
      "vhost a listen=web names=a.example cert=ca\n"
      "vhost c listen=web names=c.example cert=cc\n";
  mdr_table *t = NULL;
  mdr_error err;
  memset(&err, 0, sizeof err);
  int rc = mdr_ossl_table_parse(text, sizeof text - 1, S("vhosts"), S(g_pki.dir), NULL, &t, &err);
  assert_int_equal(rc, 0);
  assert_non_null(t);
  /* a's certificate covers b.example: learnt from its SANs. */
  mdr_index l;
  assert_int_equal(mdr_table_find_listener(t, S("web"), &l), 0);
  mdr_handshake_result hs;
  assert_int_equal(mdr_handshake(t, l, 1, "a.example", 9, &hs), 0);
  assert_int_equal(hs.outcome, MDR_HS_ACCEPT);
  /* file= is kept as written; the adapter joins it to its base_dir. */
  mdr_vhost_info vi;
  assert_int_equal(mdr_table_vhost_info(t, hs.vhost, &vi), 0);
  assert_int_equal(vi.cert_file.len, strlen("leaf-a.pem"));

  /* The whole file-based path: parse, load, install, handshake. */
  mdr_ossl_set *set = NULL;
  mdr_ossl_set_options o;
  memset(&o, 0, sizeof o);
  o.base_dir = S(g_pki.dir);
  assert_int_equal(mdr_ossl_set_new(&set, t, S("web"), &o, &err), 0);
  SSL_CTX *initial = SSL_CTX_new(TLS_server_method());
  assert_int_equal(mdr_ossl_install(set, initial, &err), 0);
  SSL_CTX *cctx = h_client_ctx(&g_pki, TLS1_3_VERSION);
  SSL *sv = SSL_new(initial), *cl = h_client(cctx, "c.example", "c.example");
  h_result r = h_handshake(sv, cl);
  assert_true(r.client_ok);
  assert_true(r.server_ok);
  mdr_index vc;
  assert_int_equal(mdr_table_find_vhost(t, S("c"), &vc), 0);
  assert_int_equal(mdr_ossl_conn_vhost(sv), vc);
  h_close(sv, cl);
  SSL_CTX_free(cctx);
  SSL_CTX_free(initial);
  mdr_ossl_set_unref(set);
  mdr_table_unref(t);

  /* Names listed that disagree with the certificate: an error. */
  static const char bad[] = "listener web https 443 default=a\n"
                            "cert ca a.example other.example file=leaf-a.pem key=leaf-a.key\n"
                            "vhost a listen=web names=a.example cert=ca\n";
  rc = mdr_ossl_table_parse(bad, sizeof bad - 1, S("vhosts"), S(g_pki.dir), NULL, &t, &err);
  assert_int_equal(rc, MDR_ERR_CONFIG);
  assert_non_null(strstr(err.message, "vhosts:2"));
}

/* mdr_ossl_table_parse's allocator, for each of the eight combinations of
 * set / NULL functions: the core's one rule (a partial mdr_mem is ignored as
 * a whole, the C library's allocator is used) holds through the adapter,
 * for the parse, the table's lint and its release. */
static int count_finding(void *user, const mdr_lint_finding *f) {
  (void)f;
  (*(size_t *)user)++;
  return 0;
}

static void test_table_parse_each_allocator(void **state) {
  (void)state;
  static const char text[] =
      "listener web https 443 default=a\n"
      "cert ca file=leaf-a.pem key=leaf-a.key\n"
      "cert cc c.example 192.0.2.7 [2001:db8::1] file=leaf-c.pem key=leaf-c.key\n"
      "policy mtls client-auth=required ca-file=ca-a.pem\n"
      "vhost a listen=web names=a.example cert=ca\n"
      "vhost b listen=web names=b.example cert=ca policy=mtls\n"
      "vhost c listen=web names=c.example cert=cc\n";
  for (unsigned mask = 0; mask < 8; mask++) {
    tu_counting_mem m;
    tu_counting_mem_mask(&m, mask);
    mdr_table *t = NULL;
    mdr_error err;
    int rc = mdr_ossl_table_parse(text, sizeof text - 1, S("vhosts"), S(g_pki.dir), &m.mem, &t,
                                  &err);
    if (rc) print_error("mask %u: %s\n", mask, err.message);
    assert_int_equal(rc, 0);
    mdr_index l;
    assert_int_equal(mdr_table_find_listener(t, S("web"), &l), 0);
    mdr_handshake_result hs;
    assert_int_equal(mdr_handshake(t, l, 1, "b.example", 9, &hs), 0);
    assert_int_equal(hs.outcome, MDR_HS_ACCEPT);
    size_t n = 0;
    assert_true(mdr_table_lint(t, count_finding, &n) > 0); /* b coalesces into a */
    mdr_table_unref(t);
    tu_counting_mem_check(&m, mask);
  }
}

/* ca-file= identity by contents: two paths holding the same CA are one TLS
 * policy; a different CA is another; an unreadable file is a config error. */
static void test_ca_identity_by_contents(void **state) {
  (void)state;
  /* A copy of ca-a.pem under another name. */
  char copy[512];
  snprintf(copy, sizeof copy, "%s/ca-a-copy.pem", g_pki.dir);
  X509 *certs[1] = { g_pki.client_ca_a };
  assert_int_equal(h_write_cert(copy, certs, 1), 1);
  static const char text[] =
      "listener web https 443 default=a\n"
      "cert ca file=leaf-a.pem key=leaf-a.key\n"
      "policy p1 client-auth=required ca-file=ca-a.pem\n"
      "policy p2 client-auth=required ca-file=ca-a-copy.pem\n"
      "policy p3 client-auth=required ca-file=ca-b.pem\n"
      "vhost a listen=web names=a.example cert=ca policy=p1\n"
      "vhost b listen=web names=b.example cert=ca policy=p2\n"
      "vhost e listen=web names=e.example cert=ca policy=p3\n";
  mdr_table *t = NULL;
  mdr_error err;
  memset(&err, 0, sizeof err);
  int rc = mdr_ossl_table_parse(text, sizeof text - 1, S("vhosts"), S(g_pki.dir), NULL, &t, &err);
  if (rc) print_error("%s\n", err.message);
  assert_int_equal(rc, 0);
  mdr_vhost_info a, b, e;
  assert_int_equal(mdr_table_vhost_info(t, h_vhost(t, "a"), &a), 0);
  assert_int_equal(mdr_table_vhost_info(t, h_vhost(t, "b"), &b), 0);
  assert_int_equal(mdr_table_vhost_info(t, h_vhost(t, "e"), &e), 0);
  assert_int_equal(a.policy_class, b.policy_class);
  assert_int_not_equal(a.policy_class, e.policy_class);
  mdr_table_unref(t);
  /* Without the adapter's callback the paths differ, so the policies do. */
  mdr_parse_options o;
  memset(&o, 0, sizeof o);
  o.cert_names = mdr_ossl_cert_names;
  mdr_ossl_names names = {0};
  o.cert_names_user = &names;
  o.base_dir = S(g_pki.dir);
  assert_int_equal(mdr_table_parse(text, sizeof text - 1, S("vhosts"), &o, &t, &err), 0);
  assert_int_equal(mdr_table_vhost_info(t, h_vhost(t, "a"), &a), 0);
  assert_int_equal(mdr_table_vhost_info(t, h_vhost(t, "b"), &b), 0);
  assert_int_not_equal(a.policy_class, b.policy_class);
  mdr_table_unref(t);
  mdr_ossl_names_free(&names);
  static const char missing[] = "listener web https 443 default=a\n"
                                "cert ca file=leaf-a.pem key=leaf-a.key\n"
                                "policy p1 client-auth=required ca-file=nope.pem\n"
                                "vhost a listen=web names=a.example cert=ca policy=p1\n";
  rc = mdr_ossl_table_parse(missing, sizeof missing - 1, S("vhosts"), S(g_pki.dir), NULL, &t, &err);
  assert_int_equal(rc, MDR_ERR_IO);
  assert_non_null(strstr(err.message, "vhosts:3: policy 'p1': cannot read the CA set"));
  assert_non_null(strstr(err.message, "cannot open the file"));
  assert_string_equal(err.token, "nope.pem");
  remove(copy);
}

static SSL_CTX *ctx_with(const char *ca_file, int mode) {
  SSL_CTX *c = SSL_CTX_new(TLS_server_method());
  assert_non_null(c);
  if (ca_file) {
    assert_int_equal(SSL_CTX_load_verify_locations(c, h_path(&g_pki, 3, ca_file), NULL), 1);
    SSL_CTX_set_client_CA_list(c, SSL_load_client_CA_file(h_path(&g_pki, 3, ca_file)));
  }
  SSL_CTX_set_verify(c, mode, NULL);
  return c;
}

static void id_of(SSL_CTX *c, uint8_t out[MDR_OSSL_POLICY_ID_LEN]) {
  assert_int_equal(mdr_ossl_policy_identity(c, out), 0);
}

static void test_policy_identity(void **state) {
  (void)state;
  uint8_t a[MDR_OSSL_POLICY_ID_LEN], b[MDR_OSSL_POLICY_ID_LEN];
  int req = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX *x = ctx_with("ca-b.pem", req), *y = ctx_with("ca-b.pem", req);
  /* Equal contents, equal identity (also across separately built contexts,
   * so a reload with the same files keeps sessions resumable). */
  id_of(x, a);
  id_of(y, b);
  assert_memory_equal(a, b, sizeof a);
  /* The server certificate is not part of the policy. */
  assert_int_equal(SSL_CTX_use_certificate_chain_file(y, h_path(&g_pki, 0, "leaf-c.pem")), 1);
  id_of(y, b);
  assert_memory_equal(a, b, sizeof a);
  SSL_CTX_free(y);
  /* Each enforced setting changes it. */
  struct {
    const char *what;
    SSL_CTX *c;
  } v[8];
  size_t n = 0;
  v[n].what = "other CA";
  v[n++].c = ctx_with("ca-a.pem", req);
  v[n].what = "CA set grown";
  v[n++].c = ctx_with("ca-ab.pem", req);
  v[n].what = "optional";
  v[n++].c = ctx_with("ca-b.pem", SSL_VERIFY_PEER);
  v[n].what = "depth";
  v[n].c = ctx_with("ca-b.pem", req);
  SSL_CTX_set_verify_depth(v[n++].c, 2);
  v[n].what = "min TLS 1.3";
  v[n].c = ctx_with("ca-b.pem", req);
  SSL_CTX_set_min_proto_version(v[n++].c, TLS1_3_VERSION);
  v[n].what = "max TLS 1.2";
  v[n].c = ctx_with("ca-b.pem", req);
  SSL_CTX_set_max_proto_version(v[n++].c, TLS1_2_VERSION);
  v[n].what = "ciphers";
  v[n].c = ctx_with("ca-b.pem", req);
  assert_int_equal(SSL_CTX_set_cipher_list(v[n++].c, "ECDHE-ECDSA-AES128-GCM-SHA256"), 1);
  v[n].what = "TLS 1.3 suites";
  v[n].c = ctx_with("ca-b.pem", req);
  assert_int_equal(SSL_CTX_set_ciphersuites(v[n++].c, "TLS_AES_128_GCM_SHA256"), 1);
  for (size_t i = 0; i < n; i++) {
    id_of(v[i].c, b);
    if (memcmp(a, b, sizeof a) == 0) fail_msg("identity unchanged by: %s", v[i].what);
    for (size_t j = 0; j < i; j++) {
      uint8_t c2[MDR_OSSL_POLICY_ID_LEN];
      id_of(v[j].c, c2);
      if (memcmp(c2, b, sizeof b) == 0) fail_msg("%s == %s", v[i].what, v[j].what);
    }
  }
  for (size_t i = 0; i < n; i++) SSL_CTX_free(v[i].c);
  /* The order of certificates in a CA file does not matter. */
  X509 *ba[2] = {g_pki.client_ca_b, g_pki.client_ca_a};
  assert_true(h_write_cert(h_path(&g_pki, 0, "other.pem"), ba, 2));
  SSL_CTX *p = ctx_with("ca-ab.pem", req);
  SSL_CTX *q = SSL_CTX_new(TLS_server_method());
  assert_int_equal(SSL_CTX_load_verify_locations(q, h_path(&g_pki, 0, "other.pem"), NULL), 1);
  SSL_CTX_set_client_CA_list(q, SSL_load_client_CA_file(h_path(&g_pki, 0, "other.pem")));
  SSL_CTX_set_verify(q, req, NULL);
  id_of(p, a);
  id_of(q, b);
  assert_memory_equal(a, b, sizeof a);
  SSL_CTX_free(p);
  SSL_CTX_free(q);
  SSL_CTX_free(x);
  assert_int_equal(mdr_ossl_policy_identity(NULL, a), MDR_ERR_INVALID_ARGUMENT);
}

/* The identities of a set built from the table follow the policies. */
static void test_set_identities(void **state) {
  (void)state;
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  uint8_t ia[32], ib[32], ic[32], id[32], ie[32];
  mdr_table *t = srv.table;
  assert_int_equal(mdr_ossl_set_policy_id(srv.set, h_vhost(t, "a"), ia), 0);
  assert_int_equal(mdr_ossl_set_policy_id(srv.set, h_vhost(t, "b"), ib), 0);
  assert_int_equal(mdr_ossl_set_policy_id(srv.set, h_vhost(t, "c"), ic), 0);
  assert_int_equal(mdr_ossl_set_policy_id(srv.set, h_vhost(t, "d"), id), 0);
  assert_int_equal(mdr_ossl_set_policy_id(srv.set, h_vhost(t, "e"), ie), 0);
  /* a, c, e: the built-in default policy, different certificates. */
  assert_memory_equal(ia, ic, 32);
  assert_memory_equal(ia, ie, 32);
  assert_memory_not_equal(ia, ib, 32);
  assert_memory_not_equal(ib, id, 32);
  /* ... and the core agrees on which vhosts share a policy. */
  mdr_vhost_info va, vb, vc;
  assert_int_equal(mdr_table_vhost_info(t, h_vhost(t, "a"), &va), 0);
  assert_int_equal(mdr_table_vhost_info(t, h_vhost(t, "b"), &vb), 0);
  assert_int_equal(mdr_table_vhost_info(t, h_vhost(t, "c"), &vc), 0);
  assert_int_equal(va.policy_class, vc.policy_class);
  assert_int_not_equal(va.policy_class, vb.policy_class);
  /* The contexts carry the policy. */
  SSL_CTX *cb = mdr_ossl_set_ctx(srv.set, h_vhost(t, "b"));
  assert_int_equal(SSL_CTX_get_verify_mode(cb), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  assert_int_equal(SSL_CTX_get_min_proto_version(cb), TLS1_2_VERSION);
  assert_true(SSL_CTX_get_options(cb) & SSL_OP_NO_RENEGOTIATION);
  assert_null(mdr_ossl_set_ctx(srv.set, MDR_NONE));
  h_server_free(&srv);
}

/* Errors from building a set name the vhost and the file. */
static void test_set_errors(void **state) {
  (void)state;
  mdr_table *t = h_table(&g_pki, "no-such-ca.pem");
  assert_non_null(t);
  mdr_ossl_set *set = NULL;
  mdr_ossl_set_options o;
  memset(&o, 0, sizeof o);
  o.base_dir = S(g_pki.dir);
  mdr_error err;
  assert_int_equal(mdr_ossl_set_new(&set, t, S("web"), &o, &err), MDR_ERR_CONFIG);
  assert_null(set);
  assert_non_null(strstr(err.message, "vhost 'b'"));
  assert_non_null(strstr(err.message, "no-such-ca.pem"));
  assert_int_equal(mdr_ossl_set_new(&set, t, S("nope"), &o, &err), MDR_ERR_NOT_FOUND);
  mdr_table_unref(t);

  /* Wrong base folder: the certificate file cannot be read. */
  t = h_table(&g_pki, NULL);
  o.base_dir = S("/nonexistent");
  assert_int_equal(mdr_ossl_set_new(&set, t, S("web"), &o, &err), MDR_ERR_CONFIG);
  assert_non_null(strstr(err.message, "/nonexistent/leaf-a.pem"));
  assert_non_null(strstr(err.message, "certificate"));
  mdr_table_unref(t);
}

static int g_configure_calls;

static int configure_cb(void *user, SSL_CTX *ctx, const mdr_table *t, mdr_index v) {
  (void)t;
  (void)v;
  g_configure_calls++;
  if (user) return MDR_ERR_CONFIG;
  return SSL_CTX_set_ciphersuites(ctx, "TLS_CHACHA20_POLY1305_SHA256") == 1 ? 0 : MDR_ERR_CONFIG;
}

/* Host-supplied contexts (no loading): nothing works until every vhost has
 * one; the identity comes from the context. */
static void test_host_supplied_contexts(void **state) {
  (void)state;
  mdr_table *t = h_table(&g_pki, NULL);
  mdr_ossl_set *set = NULL;
  mdr_ossl_set_options o;
  memset(&o, 0, sizeof o);
  o.flags = MDR_OSSL_NO_LOAD;
  mdr_error err;
  assert_int_equal(mdr_ossl_set_new(&set, t, S("lax"), &o, &err), 0);
  SSL_CTX *initial = SSL_CTX_new(TLS_server_method());
  assert_int_equal(mdr_ossl_install(set, initial, &err), MDR_ERR_CONFIG);
  assert_non_null(strstr(err.message, "vhost 'a'"));
  static const char *const vh[] = {"a", "b", "c"};
  static const char *const files[] = {"leaf-a", "leaf-b", "leaf-c"};
  for (size_t i = 0; i < 3; i++) {
    char pem[64], key[64];
    snprintf(pem, sizeof pem, "%s.pem", files[i]);
    snprintf(key, sizeof key, "%s.key", files[i]);
    SSL_CTX *c = i == 1 ? ctx_with("ca-b.pem", SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT)
                        : SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate_chain_file(c, h_path(&g_pki, 0, pem)), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(c, h_path(&g_pki, 1, key), SSL_FILETYPE_PEM), 1);
    assert_int_equal(mdr_ossl_set_use_ctx(set, h_vhost(t, vh[i]), c), 0);
    SSL_CTX_free(c); /* the set holds its own reference */
  }
  /* d is not on listener lax. */
  SSL_CTX *stray = SSL_CTX_new(TLS_server_method());
  assert_int_equal(mdr_ossl_set_use_ctx(set, h_vhost(t, "d"), stray), MDR_ERR_INVALID_ARGUMENT);
  SSL_CTX_free(stray);
  assert_int_equal(mdr_ossl_install(set, initial, &err), 0);
  uint8_t ia[32], ib[32];
  assert_int_equal(mdr_ossl_set_policy_id(set, h_vhost(t, "a"), ia), 0);
  assert_int_equal(mdr_ossl_set_policy_id(set, h_vhost(t, "b"), ib), 0);
  assert_memory_not_equal(ia, ib, 32);

  /* A handshake through host-supplied contexts, client certificate demanded
   * by b's host-made context. */
  SSL_CTX *cctx = h_client_ctx(&g_pki, TLS1_3_VERSION);
  SSL *s = SSL_new(initial), *c = h_client(cctx, "b.example", "b.example");
  assert_int_equal(SSL_use_certificate(c, g_pki.client_b), 1);
  assert_int_equal(SSL_use_PrivateKey(c, g_pki.client_b_key), 1);
  h_result r = h_handshake(s, c);
  assert_true(r.server_ok);
  assert_non_null(SSL_get0_peer_certificate(s));
  assert_int_equal(mdr_ossl_conn_vhost(s), h_vhost(t, "b"));
  h_close(s, c);
  SSL_CTX_free(cctx);
  SSL_CTX_free(initial);
  mdr_ossl_set_unref(set);

  /* The configure hook runs per loaded context, and its settings count. */
  memset(&o, 0, sizeof o);
  o.base_dir = S(g_pki.dir);
  o.configure = configure_cb;
  g_configure_calls = 0;
  assert_int_equal(mdr_ossl_set_new(&set, t, S("lax"), &o, &err), 0);
  assert_int_equal(g_configure_calls, 3);
  SSL_CTX *ca = mdr_ossl_set_ctx(set, h_vhost(t, "a"));
  int has_chacha = 0, n = sk_SSL_CIPHER_num(SSL_CTX_get_ciphers(ca));
  for (int i = 0; i < n; i++)
    if (strcmp(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(SSL_CTX_get_ciphers(ca), i)),
               "TLS_CHACHA20_POLY1305_SHA256") == 0)
      has_chacha = 1;
  assert_true(has_chacha);
  mdr_ossl_set_unref(set);
  o.configure_user = &o; /* make it fail */
  assert_int_equal(mdr_ossl_set_new(&set, t, S("lax"), &o, &err), MDR_ERR_CONFIG);
  assert_non_null(strstr(err.message, "configure"));
  mdr_table_unref(t);
}

static void test_alpn_choose(void **state) {
  (void)state;
  const unsigned char *out = NULL;
  unsigned char len = 0;
  static const unsigned char h1_h2[] = "\x08http/1.1\x02h2";
  static const unsigned char only_h10[] = "\x08http/1.0";
  static const unsigned char acme[] = "\x0a" "acme-tls/1";
  static const unsigned char bad[] = "\x05h2";
  /* Server preference: h2 first even when the client lists it second. */
  assert_int_equal(mdr_ossl_alpn_choose(0, h1_h2, sizeof h1_h2 - 1, &out, &len), 1);
  assert_int_equal(len, 2);
  assert_memory_equal(out, "h2", 2);
  assert_int_equal(mdr_ossl_alpn_choose(MDR_PROTO_H1, h1_h2, sizeof h1_h2 - 1, &out, &len), 1);
  assert_int_equal(len, 8);
  assert_memory_equal(out, "http/1.1", 8);
  assert_int_equal(mdr_ossl_alpn_choose(MDR_PROTO_H1, only_h10, sizeof only_h10 - 1, &out, &len), 1);
  assert_memory_equal(out, "http/1.0", 8);
  assert_int_equal(mdr_ossl_alpn_choose(MDR_PROTO_H2, only_h10, sizeof only_h10 - 1, &out, &len), 0);
  assert_int_equal(mdr_ossl_alpn_choose(MDR_PROTO_H3, h1_h2, sizeof h1_h2 - 1, &out, &len), 0);
  assert_int_equal(mdr_ossl_alpn_choose(0, acme, sizeof acme - 1, &out, &len), 0);
  assert_int_equal(mdr_ossl_alpn_choose(0, bad, sizeof bad - 1, &out, &len), -1);
  assert_int_equal(mdr_ossl_alpn_choose(0, (const unsigned char *)"\0", 1, &out, &len), -1);
}

static void test_not_our_ssl(void **state) {
  (void)state;
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  SSL *s = SSL_new(ctx);
  mdr_conn c;
  memset(&c, 0, sizeof c);
  assert_int_equal(mdr_ossl_conn_facts(s, &c), MDR_ERR_NOT_FOUND);
  assert_int_equal(mdr_ossl_conn_facts(NULL, &c), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_ossl_conn_vhost(s), MDR_NONE);
  assert_null(mdr_ossl_conn_handshake(s));
  int al = 0;
  assert_int_equal(mdr_ossl_servername(s, &al), SSL_TLSEXT_ERR_ALERT_FATAL);
  assert_int_equal(al, SSL_AD_INTERNAL_ERROR);
  assert_int_equal(mdr_ossl_client_hello(s, &al, NULL), SSL_CLIENT_HELLO_ERROR);
  assert_int_equal(al, SSL_AD_INTERNAL_ERROR);
  SSL_free(s);
  SSL_CTX_free(ctx);
  assert_int_equal(mdr_ossl_init(), 0);
  assert_int_equal(mdr_ossl_init(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cert_names),
      cmocka_unit_test(test_table_parse_learns_names),
      cmocka_unit_test(test_table_parse_each_allocator),
    cmocka_unit_test(test_ca_identity_by_contents),
      cmocka_unit_test(test_policy_identity),
      cmocka_unit_test(test_set_identities),
      cmocka_unit_test(test_set_errors),
      cmocka_unit_test(test_host_supplied_contexts),
      cmocka_unit_test(test_alpn_choose),
      cmocka_unit_test(test_not_our_ssl),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
