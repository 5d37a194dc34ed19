/* Session resumption across vhosts and policies, with the host owning the
 * callbacks (integration style 2).  A session created under vhost a (no
 * client authentication) and offered with SNI b (client certificates from
 * CA B) must not resume, and the client certificate must be demanded:
 * TLS 1.2 with session ids and with tickets, TLS 1.3 with stateless and
 * stateful tickets (PSK).  Same-vhost and same-policy resumption still
 * works; a reload that changes a CA set stops old sessions resuming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>

#include "harness.h"

static h_pki g_pki;

typedef struct mode {
  const char *name;
  int version;
  int no_ticket;   /* SSL_OP_NO_TICKET on the initial context */
} mode;

static mode m12_sid = {"TLS 1.2 session id", TLS1_2_VERSION, 1};
static mode m12_ticket = {"TLS 1.2 ticket", TLS1_2_VERSION, 0};
static mode m13_ticket = {"TLS 1.3 stateless ticket", TLS1_3_VERSION, 0};
static mode m13_stateful = {"TLS 1.3 stateful ticket", TLS1_3_VERSION, 1};

static int group_setup(void **state) {
  (void)state;
  return h_pki_init(&g_pki) ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  h_pki_free(&g_pki);
  return 0;
}

static int g_cert_cb_calls;

static int count_cert_cb(SSL *ssl, X509 **x, EVP_PKEY **k) {
  (void)ssl; (void)x; (void)k;
  g_cert_cb_calls++;
  return 0;
}

typedef struct attempt {
  h_result r;
  int reused;
  int offered;
  mdr_conn facts;
  int facts_rc;
  SSL_SESSION *sess;          /* the client's session afterwards (owned) */
  int peer_cert;              /* the server got a client certificate */
  int cert_cb_calls;
} attempt;

/* Did the last ClientHello offer the session in the way `m` resumes? */
static int offered(const mode *m) {
  if (m->version == TLS1_3_VERSION) return h_counts.offered_psk;
  return m->no_ticket ? h_counts.offered_session_id : h_counts.offered_ticket;
}

static attempt try_conn(h_server *srv, SSL_CTX *cctx, const mode *m, const char *sni,
                        SSL_SESSION *offer, int with_cert_b) {
  attempt a;
  memset(&a, 0, sizeof a);
  SSL *s = SSL_new(srv->initial);
  SSL *c = h_client(cctx, sni, sni);
  assert_non_null(s);
  assert_non_null(c);
  if (offer) assert_int_equal(SSL_set_session(c, offer), 1);
  if (with_cert_b) {
    assert_int_equal(SSL_use_certificate(c, g_pki.client_b), 1);
    assert_int_equal(SSL_use_PrivateKey(c, g_pki.client_b_key), 1);
  }
  memset(&h_counts, 0, sizeof h_counts);
  g_cert_cb_calls = 0;
  a.r = h_handshake(s, c);
  a.offered = offered(m);
  a.reused = SSL_session_reused(s);
  a.facts_rc = mdr_ossl_conn_facts(s, &a.facts);
  a.peer_cert = SSL_get0_peer_certificate(s) != NULL;
  a.cert_cb_calls = g_cert_cb_calls;
  if (a.r.client_ok && a.r.server_ok) {
    if (m->version == TLS1_3_VERSION) assert_true(h_exchange(s, c, "ping"));
    a.sess = SSL_get1_session(c);
    assert_non_null(a.sess);
    assert_true(SSL_SESSION_is_resumable(a.sess));
  }
  h_close(s, c);
  return a;
}

static void setup_server(h_server *srv, const mode *m, mdr_table *table) {
  assert_true(h_server_init_host(srv, &g_pki, "web", table));
  if (m->no_ticket) SSL_CTX_set_options(srv->initial, SSL_OP_NO_TICKET);
}

static void test_cross_policy_resumption(void **state) {
  const mode *m = *state;
  h_server srv;
  setup_server(&srv, m, NULL);
  SSL_CTX *cctx = h_client_ctx(&g_pki, m->version);
  SSL_CTX_set_client_cert_cb(cctx, count_cert_cb);
  mdr_index va = h_vhost(srv.table, "a"), vb = h_vhost(srv.table, "b"), ve = h_vhost(srv.table, "e");

  /* 1. Full handshake under a. */
  attempt a1 = try_conn(&srv, cctx, m, "a.example", NULL, 0);
  assert_true(a1.r.server_ok);
  assert_false(a1.reused);
  assert_non_null(a1.sess);

  /* 2. Same vhost: resumes, and the facts say where the session came from. */
  attempt a2 = try_conn(&srv, cctx, m, "a.example", a1.sess, 0);
  assert_true(a2.r.server_ok);
  assert_true(a2.offered);
  assert_true(a2.reused);
  assert_int_equal(a2.facts_rc, 0);
  assert_true(a2.facts.resumed);
  assert_true(a2.facts.has_resumed_from);
  assert_int_equal(a2.facts.resumed_from, va);
  assert_true(a2.facts.has_hs_vhost);
  assert_int_equal(a2.facts.hs_vhost, va);

  /* 3. Another vhost with the same policy (e): may resume; the facts name a
   * as the session's vhost. */
  attempt a3 = try_conn(&srv, cctx, m, "e.example", a1.sess, 0);
  assert_true(a3.r.server_ok);
  assert_true(a3.offered);
  assert_true(a3.reused);
  assert_int_equal(a3.facts.hs_vhost, ve);
  assert_true(a3.facts.has_resumed_from);
  assert_int_equal(a3.facts.resumed_from, va);

  /* 4. Session from a offered with SNI b, no client certificate: not
   * resumed, the certificate is demanded, the handshake fails. */
  attempt a4 = try_conn(&srv, cctx, m, "b.example", a1.sess, 0);
  assert_true(a4.offered);
  assert_false(a4.reused);
  assert_int_equal(a4.cert_cb_calls, 1);
  assert_false(a4.r.server_ok);
  assert_int_equal(ERR_GET_REASON(a4.r.server_err), SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE);

  /* 5. The same with a certificate from CA B: full handshake, verified. */
  attempt a5 = try_conn(&srv, cctx, m, "b.example", a1.sess, 1);
  assert_true(a5.offered);
  assert_false(a5.reused);
  assert_true(a5.r.server_ok);
  assert_true(a5.peer_cert);
  assert_int_equal(a5.facts.hs_vhost, vb);
  assert_false(a5.facts.resumed);

  /* 6. And the other way: b's session offered with SNI a does not resume. */
  attempt a6 = try_conn(&srv, cctx, m, "a.example", a5.sess, 0);
  assert_true(a6.offered);
  assert_false(a6.reused);
  assert_true(a6.r.server_ok);

  /* 7. b's session with SNI b resumes (with its client certificate). */
  attempt a7 = try_conn(&srv, cctx, m, "b.example", a5.sess, 1);
  assert_true(a7.offered);
  assert_true(a7.reused);
  assert_true(a7.r.server_ok);
  assert_true(a7.facts.has_resumed_from);
  assert_int_equal(a7.facts.resumed_from, vb);

  /* The adapter's servername step ran for every accepted ClientHello. */
  assert_true(h_counts.servername_calls >= 1);

  SSL_SESSION *all[] = {a1.sess, a2.sess, a3.sess, a4.sess, a5.sess, a6.sess, a7.sess};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) SSL_SESSION_free(all[i]);
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

/* A reload that changes b's CA set changes b's policy identity, so b's old
 * sessions stop resuming; a reload with the same contents keeps it. */
static void test_reload_changes_identity(void **state) {
  const mode *m = *state;
  h_server srv;
  setup_server(&srv, m, NULL);
  SSL_CTX *cctx = h_client_ctx(&g_pki, m->version);
  mdr_index vb = h_vhost(srv.table, "b");

  attempt a1 = try_conn(&srv, cctx, m, "b.example", NULL, 1);
  assert_true(a1.r.server_ok);
  assert_non_null(a1.sess);

  mdr_ossl_set_options o;
  memset(&o, 0, sizeof o);
  o.base_dir.ptr = g_pki.dir;
  o.base_dir.len = strlen(g_pki.dir);
  mdr_error err;

  /* Same contents: same identity, the session resumes under the new set. */
  mdr_table *same = h_table(&g_pki, NULL);
  mdr_ossl_set *set_same = NULL;
  assert_int_equal(mdr_ossl_set_new(&set_same, same, (mdr_str){"web", 3}, &o, &err), 0);
  uint8_t id_old[MDR_OSSL_POLICY_ID_LEN], id_new[MDR_OSSL_POLICY_ID_LEN];
  assert_int_equal(mdr_ossl_set_policy_id(srv.set, vb, id_old), 0);
  assert_int_equal(mdr_ossl_set_policy_id(set_same, vb, id_new), 0);
  assert_memory_equal(id_old, id_new, sizeof id_old);
  h_host_attach(srv.initial, set_same);
  attempt a2 = try_conn(&srv, cctx, m, "b.example", a1.sess, 1);
  assert_true(a2.offered);
  assert_true(a2.reused);

  /* b now trusts CA A and CA B: a different CA set. */
  mdr_table *changed = h_table(&g_pki, "ca-ab.pem");
  mdr_ossl_set *set_changed = NULL;
  assert_int_equal(mdr_ossl_set_new(&set_changed, changed, (mdr_str){"web", 3}, &o, &err), 0);
  assert_int_equal(mdr_ossl_set_policy_id(set_changed, vb, id_new), 0);
  assert_memory_not_equal(id_old, id_new, sizeof id_old);
  h_host_attach(srv.initial, set_changed);
  attempt a3 = try_conn(&srv, cctx, m, "b.example", a1.sess, 1);
  assert_true(a3.offered);
  assert_false(a3.reused);
  assert_true(a3.r.server_ok);
  assert_true(a3.peer_cert);

  SSL_SESSION_free(a1.sess);
  SSL_SESSION_free(a2.sess);
  SSL_SESSION_free(a3.sess);
  mdr_ossl_set_unref(set_same);
  mdr_ossl_set_unref(set_changed);
  mdr_table_unref(same);
  mdr_table_unref(changed);
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

/* Facts of a resumed connection feed mdr_decide: SNI e resumed from a
 * (same policy) serves e; the session record survives stateless tickets. */
static void test_resumed_facts_decide(void **state) {
  const mode *m = *state;
  h_server srv;
  setup_server(&srv, m, NULL);
  SSL_CTX *cctx = h_client_ctx(&g_pki, m->version);
  attempt a1 = try_conn(&srv, cctx, m, "a.example", NULL, 0);
  assert_non_null(a1.sess);
  attempt a2 = try_conn(&srv, cctx, m, "e.example", a1.sess, 0);
  assert_true(a2.reused);
  mdr_request rq;
  memset(&rq, 0, sizeof rq);
  mdr_str host = {"e.example:8443", 14};
  rq.version = MDR_HTTP_1_1;
  rq.has_target = 1;
  rq.target.ptr = "/";
  rq.target.len = 1;
  rq.host = &host;
  rq.n_host = 1;
  mdr_decision d;
  assert_int_equal(mdr_decide(srv.table, &a2.facts, &rq, &d, NULL, 0), 0);
  assert_int_equal(d.kind, MDR_SERVE);
  assert_int_equal(d.vhost, h_vhost(srv.table, "e"));
  /* Had the session come from b (another policy), the core would say 421:
   * this is what the facts protect against. */
  mdr_conn forged = a2.facts;
  forged.has_resumed_from = 1;
  forged.resumed_from = h_vhost(srv.table, "b");
  assert_int_equal(mdr_decide(srv.table, &forged, &rq, &d, NULL, 0), 0);
  assert_int_equal(d.kind, MDR_MISDIRECTED);
  assert_int_equal(d.reason, MDR_REASON_RESUMED_CROSS_POLICY);
  SSL_SESSION_free(a1.sess);
  SSL_SESSION_free(a2.sess);
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

static mdr_decision decide_get(const mdr_table *t, SSL *s, const char *host) {
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
  assert_int_equal(mdr_decide(t, &facts, &rq, &d, NULL, 0), 0);
  return d;
}

/* TLS 1.3 0-RTT: a request read as early data carries early_data = 1 in the
 * facts (425 for a vhost without early-data); after the handshake, 0. */
static void test_early_data(void **state) {
  (void)state;
  h_server srv;
  setup_server(&srv, &m13_ticket, NULL);
  assert_int_equal(SSL_CTX_set_max_early_data(srv.initial, 4096), 1);
  SSL_CTX *cctx = h_client_ctx(&g_pki, TLS1_3_VERSION);
  attempt a1 = try_conn(&srv, cctx, &m13_ticket, "a.example", NULL, 0);
  assert_non_null(a1.sess);
  assert_true(SSL_SESSION_get_max_early_data(a1.sess) > 0);

  SSL *s = SSL_new(srv.initial), *c = h_client(cctx, "a.example", "a.example");
  assert_int_equal(SSL_set_session(c, a1.sess), 1);
  h_wire(s, c);
  static const char req[] = "GET / HTTP/1.1\r\nHost: a.example:8443\r\n\r\n";
  size_t written = 0;
  assert_int_equal(SSL_write_early_data(c, req, sizeof req - 1, &written), 1);
  assert_int_equal(written, sizeof req - 1);
  char buf[256];
  size_t got = 0, rb = 0;
  for (int i = 0; i < 20 && got == 0; i++) {
    int r = SSL_read_early_data(s, buf, sizeof buf, &rb);
    assert_int_not_equal(r, SSL_READ_EARLY_DATA_ERROR);
    if (r == SSL_READ_EARLY_DATA_SUCCESS) got = rb;
    if (r == SSL_READ_EARLY_DATA_FINISH) break;
  }
  assert_int_equal(got, sizeof req - 1);
  assert_int_equal(SSL_get_early_data_status(s), SSL_EARLY_DATA_ACCEPTED);
  mdr_conn facts;
  memset(&facts, 0, sizeof facts);
  assert_int_equal(mdr_ossl_conn_facts(s, &facts), 0);
  assert_true(facts.early_data);
  assert_true(facts.resumed);
  mdr_decision d = decide_get(srv.table, s, "a.example:8443");
  assert_int_equal(d.kind, MDR_TOO_EARLY);
  assert_int_equal(d.status, 425);

  /* Finish the handshake: later requests are not early data. */
  int s_done = 0, c_done = 0;
  for (int i = 0; i < 20 && !(s_done && c_done); i++) {
    if (!c_done) c_done = SSL_do_handshake(c) == 1;
    if (!s_done) {
      int r = SSL_read_early_data(s, buf, sizeof buf, &rb);
      if (r == SSL_READ_EARLY_DATA_FINISH) s_done = SSL_do_handshake(s) == 1;
    }
    ERR_clear_error();
  }
  assert_true(s_done);
  assert_true(c_done);
  memset(&facts, 0, sizeof facts);
  assert_int_equal(mdr_ossl_conn_facts(s, &facts), 0);
  assert_false(facts.early_data);
  d = decide_get(srv.table, s, "a.example:8443");
  assert_int_equal(d.kind, MDR_SERVE);
  h_close(s, c);
  SSL_SESSION_free(a1.sess);
  SSL_CTX_free(cctx);
  h_server_free(&srv);
}

#define ALL_MODES(fn)                                                                     \
  cmocka_unit_test_prestate(fn, &m12_sid), cmocka_unit_test_prestate(fn, &m12_ticket),    \
      cmocka_unit_test_prestate(fn, &m13_ticket), cmocka_unit_test_prestate(fn, &m13_stateful)

int main(void) {
  const struct CMUnitTest tests[] = {
      ALL_MODES(test_cross_policy_resumption),
      ALL_MODES(test_reload_changes_identity),
      ALL_MODES(test_resumed_facts_decide),
      cmocka_unit_test(test_early_data),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
