/* Links the shipped shared libmisdirect-openssl (not the static one), so a
 * symbol missing from the export list fails this test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <misdirect/openssl.h>

static void test_exports(void **state) {
  (void)state;
  assert_int_equal(mdr_ossl_init(), 0);
  const unsigned char *out = NULL;
  unsigned char len = 0;
  assert_int_equal(mdr_ossl_alpn_choose(0, (const unsigned char *)"\x02h2", 3, &out, &len), 1);
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  uint8_t id[MDR_OSSL_POLICY_ID_LEN];
  assert_int_equal(mdr_ossl_policy_identity(ctx, id), 0);
  SSL *s = SSL_new(ctx);
  mdr_conn c;
  memset(&c, 0, sizeof c);
  assert_int_equal(mdr_ossl_conn_facts(s, &c), MDR_ERR_NOT_FOUND);
  assert_int_equal(mdr_ossl_conn_vhost(s), MDR_NONE);
  assert_null(mdr_ossl_conn_handshake(s));
  int al = 0;
  assert_int_equal(mdr_ossl_servername(s, &al), SSL_TLSEXT_ERR_ALERT_FATAL);
  assert_int_equal(mdr_ossl_alpn_select(s, &out, &len, NULL, 0), SSL_TLSEXT_ERR_ALERT_FATAL);
  SSL_free(s);
  SSL_CTX_free(ctx);
  mdr_ossl_names n = {0};
  mdr_str names[2];
  size_t nn = 0;
  char why[64];
  assert_int_equal(mdr_ossl_cert_names(&n, "/nonexistent.pem", names, 2, &nn, why, sizeof why),
                   MDR_ERR_IO);
  mdr_ossl_names_free(&n);
  /* Every other entry point is at least linkable. */
  void (*fns[])(void) = {
      (void (*)(void))mdr_ossl_table_parse, (void (*)(void))mdr_ossl_set_new,
      (void (*)(void))mdr_ossl_set_use_ctx, (void (*)(void))mdr_ossl_set_ref,
      (void (*)(void))mdr_ossl_set_unref,   (void (*)(void))mdr_ossl_set_table,
      (void (*)(void))mdr_ossl_set_listener, (void (*)(void))mdr_ossl_set_ctx,
      (void (*)(void))mdr_ossl_set_policy_id, (void (*)(void))mdr_ossl_set_check,
      (void (*)(void))mdr_ossl_install,     (void (*)(void))mdr_ossl_client_hello,
      (void (*)(void))mdr_ossl_cleanup};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) assert_non_null(fns[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_exports)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
