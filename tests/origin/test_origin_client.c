/*
 * The client-side origin set (RFC 8336 §2.3-2.4) and certificate coverage
 * (RFC 9525, R51-R54).
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "origin_testutil.h"

#define S(x) (x), (sizeof(x) - 1)

static const char F1_HEX[] =
  "000033 0c 00 00000000"
  "0015 68747470733a2f2f612e6578616d706c652e636f6d"
  "001a 68747470733a2f2f622e6578616d706c652e636f6d3a38343433";

/* A certificate covering *.example.com and example.com. */
static const mdr_str g_names[] = {{"*.example.com", 13}, {"example.com", 11}};
static mdr_origin_cert_names g_cert = {g_names, 2};

static int cover_all(void *user, const char *host, size_t len) {
  (void)user;
  (void)host;
  (void)len;
  return 1;
}

static int cover_none(void *user, const char *host, size_t len) {
  (void)user;
  (void)host;
  (void)len;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Certificate names                                                          */
/* ------------------------------------------------------------------------ */

static int covers1(const char *name, const char *host) {
  mdr_str n = {name, strlen(name)};
  return mdr_origin_names_cover(&n, 1, host, strlen(host));
}

static void test_names_cover(void **state) {
  (void)state;
  /* R51 */
  assert_true(covers1("*.apps.example.com", "a.apps.example.com"));
  assert_false(covers1("*.apps.example.com", "apps.example.com"));
  assert_false(covers1("*.apps.example.com", "a.b.apps.example.com"));
  assert_true(covers1("*.APPS.example.COM.", "a.apps.example.com"));
  assert_true(covers1("*.apps.example.com", "A.APPS.EXAMPLE.COM."));
  /* R52: invalid patterns never match */
  assert_false(covers1("a*.example.com", "ab.example.com"));
  assert_false(covers1("*a.example.com", "ba.example.com"));
  assert_false(covers1("*.*.example.com", "a.b.example.com"));
  assert_false(covers1("x.*.example.com", "x.y.example.com"));
  assert_false(covers1("*", "a"));
  assert_false(covers1("**.example.com", "a.example.com"));
  assert_false(covers1("*.com", "example.com")); /* public suffix style: ignored */
  /* R55: a wildcard matches an A-label as a whole label */
  assert_true(covers1("*.apps.example.com", "xn--bcher-kva.apps.example.com"));
  assert_false(covers1("xn--*.example", "xn--a.example"));
  /* exact names, case-insensitive, trailing dot */
  assert_true(covers1("Example.COM.", "example.com"));
  assert_false(covers1("example.com", "www.example.com"));
  assert_false(covers1("example.com", "example.co"));
  /* R54: IP names match octet for octet, never via wildcards or DNS text */
  assert_true(covers1("2001:db8::10", "[2001:db8:0::10]"));
  assert_true(covers1("[2001:DB8::10]", "[2001:db8::10]"));
  assert_false(covers1("2001:db8::11", "[2001:db8::10]"));
  assert_true(covers1("192.0.2.10", "192.0.2.10"));
  assert_false(covers1("192.0.2.10", "192.0.2.1"));
  assert_false(covers1("192.0.2.10", "[::ffff:192.0.2.10]")); /* P6: no mapped equivalence */
  assert_false(covers1("*.0.2.10", "192.0.2.10"));
  assert_false(covers1("*.example.com", "[::1]"));
  /* empty or bogus entries */
  assert_false(covers1("", "a.example.com"));
  assert_false(covers1("a.example.com", ""));
  assert_false(covers1("a..example.com", "a..example.com"));
  /* lists and the callback wrapper */
  assert_true(mdr_origin_names_cover(g_names, 2, S("example.com")));
  assert_true(mdr_origin_names_cover(g_names, 2, S("www.example.com")));
  assert_false(mdr_origin_names_cover(g_names, 2, S("a.b.example.com")));
  assert_false(mdr_origin_names_cover(g_names, 0, S("example.com")));
  assert_false(mdr_origin_names_cover(NULL, 2, S("example.com")));
  assert_true(mdr_origin_names_covers_cb(&g_cert, S("www.example.com")));
  assert_false(mdr_origin_names_covers_cb(&g_cert, S("www.example.org")));
  assert_false(mdr_origin_names_covers_cb(NULL, S("www.example.com")));
}

/* ------------------------------------------------------------------------ */
/* Client origin set                                                          */
/* ------------------------------------------------------------------------ */

static void test_init(void **state) {
  (void)state;
  mdr_origin_client c;
  mdr_origin_slot slots[4];
  assert_int_equal(mdr_origin_client_init(&c, slots, 4, S("WWW.Example.com"), 443), 0);
  mdr_str i = mdr_origin_client_initial(&c);
  assert_int_equal(i.len, 23);
  assert_memory_equal(i.ptr, "https://www.example.com", 23);
  assert_true(mdr_origin_client_contains(&c, S("https://www.example.com")));
  assert_int_equal(mdr_origin_client_init(&c, slots, 4, S("www.example.com"), 8443), 0);
  i = mdr_origin_client_initial(&c);
  assert_int_equal(i.len, 28);
  assert_memory_equal(i.ptr, "https://www.example.com:8443", 28);
  /* No SNI: the server's IP. */
  assert_int_equal(mdr_origin_client_init(&c, NULL, 0, S("2001:db8::1"), 443), 0);
  i = mdr_origin_client_initial(&c);
  assert_int_equal(i.len, 21);
  assert_memory_equal(i.ptr, "https://[2001:db8::1]", 21);
  assert_int_equal(mdr_origin_client_init(&c, NULL, 0, S("192.0.2.1"), 8443), 0);
  /* Invalid. */
  assert_int_equal(mdr_origin_client_init(&c, slots, 4, S("*.example.com"), 443), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_origin_client_initial(&c).len, 0);
  assert_int_equal(mdr_origin_client_init(&c, slots, 4, S(""), 443), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_origin_client_init(&c, NULL, 4, S("a"), 443), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_origin_client_init(NULL, slots, 4, S("a"), 443), MDR_ERR_INVALID_ARGUMENT);
}

static void test_before_origin_frame(void **state) {
  (void)state;
  mdr_origin_client c;
  mdr_origin_slot slots[4];
  assert_int_equal(mdr_origin_client_init(&c, slots, 4, S("www.example.com"), 443), 0);
  /* Initial origin: yes when covered. */
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://www.example.com"), mdr_origin_names_covers_cb, &g_cert),
                   MDR_ORIGIN_REUSE_YES);
  /* Another covered origin: only with a DNS check (RFC 9110 §4.3.3). */
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://a.example.com"), mdr_origin_names_covers_cb, &g_cert),
                   MDR_ORIGIN_REUSE_IF_DNS);
  /* Not covered: never. */
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://a.example.org"), mdr_origin_names_covers_cb, &g_cert),
                   MDR_ORIGIN_REUSE_NO);
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://www.example.com"), cover_none, NULL),
                   MDR_ORIGIN_REUSE_NO);
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://www.example.com"), NULL, NULL),
                   MDR_ORIGIN_REUSE_NO);
  /* Non-canonical: never. */
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://WWW.example.com"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_NO);
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://www.example.com:443"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_NO);
  /* The port is part of the origin. */
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://www.example.com:8443"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_IF_DNS);
  assert_int_equal(mdr_origin_client_may_reuse(NULL, S("https://www.example.com"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_NO);
}

static void test_origin_frame_adds(void **state) {
  (void)state;
  uint8_t f1[64];
  size_t n = ot_hex(F1_HEX, f1, sizeof f1);
  mdr_origin_client c;
  mdr_origin_slot slots[4];
  assert_int_equal(mdr_origin_client_init(&c, slots, 4, S("www.example.com"), 443), 0);
  mdr_origin_result res;
  ot_guard g = {0};
  const uint8_t *in = ot_guard_put(&g, f1, n);
  assert_int_equal(mdr_origin_client_on_h2_frame(&c, in, n, &res), 0);
  ot_guard_free(&g);
  assert_int_equal(res.status, MDR_ORIGIN_PROCESSED);
  /* F1: initial ∪ {a, b:8443} */
  assert_true(mdr_origin_client_contains(&c, S("https://www.example.com")));
  assert_true(mdr_origin_client_contains(&c, S("https://a.example.com")));
  assert_true(mdr_origin_client_contains(&c, S("https://b.example.com:8443")));
  assert_false(mdr_origin_client_contains(&c, S("https://b.example.com")));
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://a.example.com"), mdr_origin_names_covers_cb, &g_cert),
                   MDR_ORIGIN_REUSE_YES);
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://b.example.com:8443"), mdr_origin_names_covers_cb, &g_cert),
                   MDR_ORIGIN_REUSE_YES);
  /* In the set but the certificate does not cover it: no. */
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://a.example.com"), cover_none, NULL),
                   MDR_ORIGIN_REUSE_NO);
  /* Covered but not in the set after an ORIGIN frame: no (RFC 8336 §2.4). */
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://c.example.com"), mdr_origin_names_covers_cb, &g_cert),
                   MDR_ORIGIN_REUSE_NO);
  /* The same frame again adds nothing new. */
  assert_int_equal(mdr_origin_client_on_h2_frame(&c, f1, n, &res), 0);
  assert_int_equal(c.n, 2);
}

static void test_empty_and_ignored_frames(void **state) {
  (void)state;
  mdr_origin_client c;
  mdr_origin_slot slots[4];
  mdr_origin_result res;
  uint8_t f[64];
  size_t n;
  /* F4 (stream 1), F5 (flag 0x01) and F7 (truncated) leave the set uninitialised. */
  const char *ignored[] = {
    "000033 0c 00 00000001 0015 68747470733a2f2f612e6578616d706c652e636f6d"
    "001a 68747470733a2f2f622e6578616d706c652e636f6d3a38343433",
    "000033 0c 01 00000000 0015 68747470733a2f2f612e6578616d706c652e636f6d"
    "001a 68747470733a2f2f622e6578616d706c652e636f6d3a38343433",
    "000023 0c 00 00000000 0015 68747470733a2f2f612e6578616d706c652e636f6d 001a 68747470733a2f2f622e",
  };
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(mdr_origin_client_init(&c, slots, 4, S("www.example.com"), 443), 0);
    n = ot_hex(ignored[i], f, sizeof f);
    assert_int_equal(mdr_origin_client_on_h2_frame(&c, f, n, &res), 0);
    assert_true(res.status != MDR_ORIGIN_PROCESSED);
    assert_false(mdr_origin_client_contains(&c, S("https://a.example.com")));
    assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://a.example.com"), cover_all, NULL),
                     MDR_ORIGIN_REUSE_IF_DNS);
  }
  /* F3: an empty ORIGIN frame restricts the connection to the SNI origin. */
  assert_int_equal(mdr_origin_client_init(&c, slots, 4, S("www.example.com"), 443), 0);
  n = ot_hex("000000 0c 00 00000000", f, sizeof f);
  assert_int_equal(mdr_origin_client_on_h2_frame(&c, f, n, &res), 0);
  assert_int_equal(res.status, MDR_ORIGIN_PROCESSED);
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://a.example.com"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_NO);
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://www.example.com"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_YES);
  /* HTTP/3: F3 activates; F7 is an error and adds nothing. */
  assert_int_equal(mdr_origin_client_init(&c, slots, 4, S("www.example.com"), 443), 0);
  n = ot_hex("0c 23 0015 68747470733a2f2f612e6578616d706c652e636f6d 001a 68747470733a2f2f622e", f, sizeof f);
  assert_int_equal(mdr_origin_client_on_h3_frame(&c, f, n, &res), MDR_ERR_DECODE);
  assert_false(mdr_origin_client_contains(&c, S("https://a.example.com")));
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://a.example.com"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_IF_DNS);
  n = ot_hex("0c 17 0015 68747470733a2f2f612e6578616d706c652e636f6d", f, sizeof f);
  assert_int_equal(mdr_origin_client_on_h3_frame(&c, f, n, &res), 0);
  assert_int_equal(res.status, MDR_ORIGIN_PROCESSED);
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://a.example.com"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_YES);
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://c.example.com"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_NO);
}

static void test_421_removes(void **state) {
  (void)state;
  uint8_t f1[64];
  size_t n = ot_hex(F1_HEX, f1, sizeof f1);
  mdr_origin_client c;
  mdr_origin_slot slots[4];
  mdr_origin_result res;
  assert_int_equal(mdr_origin_client_init(&c, slots, 4, S("www.example.com"), 443), 0);
  assert_int_equal(mdr_origin_client_on_h2_frame(&c, f1, n, &res), 0);
  /* A 421 for a request whose :authority was "A.example.com:443". */
  char o[MDR_ORIGIN_BUFSIZE];
  size_t ol;
  assert_int_equal(mdr_origin_from_authority(S("A.example.com:443"), o, sizeof o, &ol), 0);
  assert_int_equal(mdr_origin_client_on_421(&c, o, ol), 0);
  assert_false(mdr_origin_client_contains(&c, S("https://a.example.com")));
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://a.example.com"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_NO);
  assert_true(mdr_origin_client_contains(&c, S("https://b.example.com:8443")));
  /* A later ORIGIN frame that lists it adds it again (RFC 8336 Appendix A). */
  assert_int_equal(mdr_origin_client_on_h2_frame(&c, f1, n, &res), 0);
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://a.example.com"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_YES);
  /* A 421 for the initial origin removes it too. */
  assert_int_equal(mdr_origin_client_on_421(&c, S("https://www.example.com")), 0);
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://www.example.com"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_NO);
  assert_false(mdr_origin_client_contains(&c, S("https://www.example.com")));
  /* Non-canonical 421 origin. */
  assert_int_equal(mdr_origin_client_on_421(&c, S("https://A.example.com")), MDR_ERR_INVALID_ARGUMENT);
  /* Before any ORIGIN frame, a 421 still stops reuse (no DNS fallback). */
  assert_int_equal(mdr_origin_client_init(&c, slots, 4, S("www.example.com"), 443), 0);
  assert_int_equal(mdr_origin_client_on_421(&c, S("https://c.example.com")), 0);
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://c.example.com"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_NO);
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://d.example.com"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_IF_DNS);
  assert_int_equal(c.activated, 0);
}

static void test_capacity(void **state) {
  (void)state;
  mdr_origin_client c;
  mdr_origin_slot slots[2];
  assert_int_equal(mdr_origin_client_init(&c, slots, 2, S("www.example.com"), 443), 0);
  assert_int_equal(mdr_origin_client_add(&c, S("https://a.example.com")), 0);
  assert_int_equal(mdr_origin_client_add(&c, S("https://a.example.com")), 0); /* duplicate */
  assert_int_equal(mdr_origin_client_add(&c, S("https://www.example.com")), 0); /* the initial origin */
  assert_int_equal(mdr_origin_client_add(&c, S("https://b.example.com")), 0);
  assert_int_equal(mdr_origin_client_add(&c, S("https://c.example.com")), MDR_ERR_LIMIT);
  assert_false(mdr_origin_client_contains(&c, S("https://c.example.com")));
  /* Non-canonical entries are skipped, not stored, and use no slot. */
  assert_int_equal(mdr_origin_client_add(&c, S("https://*.example.com")), 0);
  assert_false(mdr_origin_client_contains(&c, S("https://*.example.com")));
  /* A 421 on an unknown origin needs a slot too. */
  assert_int_equal(mdr_origin_client_on_421(&c, S("https://d.example.com")), MDR_ERR_LIMIT);
  assert_int_equal(mdr_origin_client_on_421(&c, S("https://b.example.com")), 0);
  /* Zero capacity: only the initial origin. */
  assert_int_equal(mdr_origin_client_init(&c, NULL, 0, S("www.example.com"), 443), 0);
  assert_int_equal(mdr_origin_client_add(&c, S("https://a.example.com")), MDR_ERR_LIMIT);
  assert_int_equal(mdr_origin_client_may_reuse(&c, S("https://www.example.com"), cover_all, NULL),
                   MDR_ORIGIN_REUSE_YES);
  /* A full set while decoding a frame: the decoder returns MDR_ERR_LIMIT. */
  uint8_t f1[64];
  size_t n = ot_hex(F1_HEX, f1, sizeof f1);
  mdr_origin_slot one[1];
  mdr_origin_result res;
  assert_int_equal(mdr_origin_client_init(&c, one, 1, S("www.example.com"), 443), 0);
  assert_int_equal(mdr_origin_client_on_h2_frame(&c, f1, n, &res), MDR_ERR_LIMIT);
  assert_true(mdr_origin_client_contains(&c, S("https://a.example.com")));
  assert_int_equal(mdr_origin_client_add(NULL, S("https://a.example.com")), MDR_ERR_INVALID_ARGUMENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_names_cover),
    cmocka_unit_test(test_init),
    cmocka_unit_test(test_before_origin_frame),
    cmocka_unit_test(test_origin_frame_adds),
    cmocka_unit_test(test_empty_and_ignored_frames),
    cmocka_unit_test(test_421_removes),
    cmocka_unit_test(test_capacity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
