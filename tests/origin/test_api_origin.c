/*
 * Public-API test: links the shipped misdirect-origin shared library (not the
 * static one), so a function missing from the export list fails to link or
 * run.  Uses only <misdirect/origin.h>.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <misdirect/origin.h>

static const uint8_t F1[] = {
  0x00, 0x00, 0x33, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x15, 'h', 't', 't', 'p', 's', ':', '/', '/', 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
  '.', 'c', 'o', 'm',
  0x00, 0x1a, 'h', 't', 't', 'p', 's', ':', '/', '/', 'b', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
  '.', 'c', 'o', 'm', ':', '8', '4', '4', '3',
};

static int count_cb(void *user, const char *o, size_t len) {
  (void)o;
  (void)len;
  (*(int *)user)++;
  return 0;
}

static void test_public_api(void **state) {
  (void)state;
  char a[MDR_ORIGIN_BUFSIZE], b[MDR_ORIGIN_BUFSIZE];
  size_t al, bl;
  assert_int_equal(mdr_origin_serialize("A.Example.COM", 13, 443, a, sizeof a, &al), 0);
  assert_int_equal(mdr_origin_from_authority("b.example.com:8443", 18, b, sizeof b, &bl), 0);
  assert_true(mdr_origin_is_canonical(a, al));
  mdr_origin_parts parts;
  assert_int_equal(mdr_origin_parse(b, bl, &parts), 0);
  assert_int_equal(parts.port, 8443);

  mdr_str set[2] = {{a, al}, {b, bl}};
  uint8_t out[128];
  size_t len, frames;
  assert_int_equal(mdr_origin_h2_encode(set, 2, 0, out, sizeof out, &len, &frames), 0);
  assert_int_equal(len, sizeof F1);
  assert_memory_equal(out, F1, sizeof F1);
  assert_int_equal(mdr_origin_payload_write(set, 2, out, sizeof out, &len), 0);
  assert_memory_equal(out, F1 + 9, len);
  assert_int_equal(mdr_origin_h3_encode(set, 2, out, sizeof out, &len), 0);
  assert_int_equal(out[0], 0x0c);
  assert_int_equal(out[1], 0x33);
  mdr_origin_split it;
  size_t first, count, plen;
  mdr_origin_split_init(&it, set, 2, 0);
  assert_int_equal(mdr_origin_split_next(&it, &first, &count, &plen), 1);
  assert_int_equal(plen, 51);

  int n = 0;
  mdr_origin_result res;
  assert_int_equal(mdr_origin_h2_decode(F1, sizeof F1, count_cb, &n, &res), 0);
  assert_int_equal(n, 2);
  assert_int_equal(mdr_origin_h3_decode(out, len, count_cb, &n, &res), 0);
  assert_int_equal(n, 4);
  size_t e, s;
  assert_int_equal(mdr_origin_payload_decode(F1 + 9, 51, NULL, NULL, &e, &s), 0);
  assert_int_equal(e, 2);

  mdr_origin_slot slots[4];
  mdr_origin_client c;
  assert_int_equal(mdr_origin_client_init(&c, slots, 4, "www.example.com", 15, 443), 0);
  assert_int_equal(mdr_origin_client_initial(&c).len, 23);
  assert_int_equal(mdr_origin_client_on_h2_frame(&c, F1, sizeof F1, &res), 0);
  assert_int_equal(mdr_origin_client_on_h3_frame(&c, out, len, &res), 0);
  mdr_origin_client_activate(&c);
  assert_int_equal(mdr_origin_client_add(&c, "https://c.example.com", 21), 0);
  assert_int_equal(mdr_origin_client_add_cb(&c, "https://d.example.com", 21), 0);
  assert_true(mdr_origin_client_contains(&c, a, al));
  mdr_str names[1] = {{"*.example.com", 13}};
  mdr_origin_cert_names cn = {names, 1};
  assert_true(mdr_origin_names_cover(names, 1, "a.example.com", 13));
  assert_int_equal(mdr_origin_client_may_reuse(&c, a, al, mdr_origin_names_covers_cb, &cn), MDR_ORIGIN_REUSE_YES);
  assert_int_equal(mdr_origin_client_on_421(&c, a, al), 0);
  assert_int_equal(mdr_origin_client_may_reuse(&c, a, al, mdr_origin_names_covers_cb, &cn), MDR_ORIGIN_REUSE_NO);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_public_api)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
