/* One context set shared by several threads handshaking at once (the set is
 * read-only after install; per-connection state is per SSL; the set's
 * reference count is atomic).  Bounded: 4 threads x 24 handshakes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include <openssl/err.h>

#include "harness.h"

static h_pki g_pki;
static h_server g_srv;

typedef struct worker {
  int id;
  int failures;
} worker;

static void *run(void *arg) {
  worker *w = arg;
  static const char *const names[] = {"a.example", "c.example", "e.example", "www.a.example"};
  static const char *const vhosts[] = {"a", "c", "e", "a"};
  SSL_CTX *cctx = h_client_ctx(&g_pki, (w->id & 1) ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_SESSION *sess = NULL;
  for (int i = 0; i < 24 && cctx; i++) {
    int k = (w->id + i) % 4;
    SSL *s = SSL_new(g_srv.initial), *c = h_client(cctx, names[k], names[k]);
    if (!s || !c) { w->failures++; SSL_free(s); SSL_free(c); continue; }
    if (sess && k != 1) SSL_set_session(c, sess); /* a/e share a policy; c too */
    h_result r = h_handshake(s, c);
    if (!r.client_ok || !r.server_ok || mdr_ossl_conn_vhost(s) != h_vhost(g_srv.table, vhosts[k]))
      w->failures++;
    mdr_conn facts;
    memset(&facts, 0, sizeof facts);
    if (mdr_ossl_conn_facts(s, &facts) != 0) w->failures++;
    if (r.client_ok && r.server_ok && (w->id & 1) && !h_exchange(s, c, "x")) w->failures++;
    if (r.client_ok && !sess) sess = SSL_get1_session(c);
    h_close(s, c);
    ERR_clear_error();
  }
  SSL_SESSION_free(sess);
  SSL_CTX_free(cctx);
  if (!cctx) w->failures++;
  return NULL;
}

static void test_concurrent_handshakes(void **state) {
  (void)state;
  assert_true(h_pki_init(&g_pki));
  assert_true(h_server_init(&g_srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  pthread_t th[4];
  worker w[4];
  for (int i = 0; i < 4; i++) {
    w[i].id = i;
    w[i].failures = 0;
    assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
  for (int i = 0; i < 4; i++) assert_int_equal(w[i].failures, 0);
  /* Connections are gone: the set is back to the references we hold. */
  h_server_free(&g_srv);
  h_pki_free(&g_pki);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_concurrent_handshakes)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
