/*
 * Public-API test of misdirect-nghttp2 linked as the shared library: every
 * exported function is called once, so a symbol missing from the export
 * list fails the link or the test.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <misdirect/nghttp2.h>

static void test_exports(void **state) {
  (void)state;
  static const char v[] = "listener web https 8443 default=a\n"
                          "cert c a.example b.example\n"
                          "vhost a listen=web names=a.example cert=c\n"
                          "vhost b listen=web names=b.example cert=c\n";
  mdr_table *t = NULL;
  mdr_error err;
  mdr_str src = MDR_STR_LIT("api");
  assert_int_equal(mdr_table_parse(v, strlen(v), src, NULL, &t, &err), 0);

  nghttp2_session_callbacks *cb;
  assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
  nghttp2_session *server;
  assert_int_equal(nghttp2_session_server_new(&server, cb, NULL), 0);
  mdr_ngh2_origins o;
  memset(&o, 0, sizeof o);
  size_t frames = 0;
  assert_int_equal(mdr_ngh2_server_submit_origin(server, &o, t, 0, MDR_NONE, NULL, &frames), 0);
  assert_int_equal(o.n, 2);
  assert_int_equal(frames, 1);
  assert_int_equal(mdr_ngh2_submit_origins(server, o.origins, o.n, 0, &frames), 0);
  mdr_conn c;
  memset(&c, 0, sizeof c);
  mdr_ngh2_origins_to_conn(&o, &c);
  assert_int_equal(c.n_origin_set, 2);
  mdr_ngh2_origins_free(&o);
  assert_int_equal(mdr_ngh2_origins_compute(&o, t, 0, MDR_NONE, NULL), 0);
  mdr_ngh2_origins_free(&o);

  nghttp2_option *opt;
  assert_int_equal(nghttp2_option_new(&opt), 0);
  assert_int_equal(mdr_ngh2_client_enable_origin(opt), 0);
  nghttp2_option_del(opt);
  mdr_origin_client oc;
  assert_int_equal(mdr_origin_client_init(&oc, NULL, 0, "a.example", 9, 8443), 0);
  nghttp2_frame f;
  memset(&f, 0, sizeof f);
  f.hd.type = NGHTTP2_DATA;
  assert_int_equal(mdr_ngh2_client_on_frame(&oc, &f), 0);
  assert_int_equal(mdr_ngh2_client_on_response(&oc, 200, "a.example:8443", 14), 0);

  /* Strict receive: a raw ORIGIN frame with flags 0x10 (to be processed). */
  assert_int_equal(nghttp2_option_new(&opt), 0);
  assert_int_equal(mdr_ngh2_client_enable_origin_strict(opt), 0);
  nghttp2_option_del(opt);
  static mdr_ngh2_origin_rx rx;
  mdr_origin_slot slots[2];
  assert_int_equal(mdr_origin_client_init(&oc, slots, 2, "a.example", 9, 8443), 0);
  assert_int_equal(mdr_ngh2_origin_rx_init(&rx, &oc), 0);
  static const char b[] = "https://b.example:8443";
  uint8_t payload[2 + sizeof b];
  payload[0] = 0;
  payload[1] = (uint8_t)(sizeof b - 1);
  memcpy(payload + 2, b, sizeof b - 1);
  nghttp2_frame_hd hd;
  memset(&hd, 0, sizeof hd);
  hd.type = NGHTTP2_ORIGIN;
  hd.flags = 0x10;
  hd.length = 2 + sizeof b - 1;
  assert_int_equal(mdr_ngh2_origin_rx_chunk(&rx, &hd, payload, 5), 0);
  assert_int_equal(mdr_ngh2_origin_rx_chunk(&rx, &hd, payload + 5, hd.length - 5), 0);
  assert_int_equal(mdr_ngh2_origin_rx_unpack(&rx, &hd), 1);
  assert_true(mdr_origin_client_contains(&oc, b, sizeof b - 1));
  hd.flags = 0x01;
  assert_int_equal(mdr_ngh2_origin_rx_chunk(&rx, &hd, payload, hd.length), 0);
  assert_int_equal(mdr_ngh2_origin_rx_unpack(&rx, &hd), 0);

  nghttp2_session_del(server);
  nghttp2_session_callbacks_del(cb);
  mdr_table_unref(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_exports)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
