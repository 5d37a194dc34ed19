/*
 * Origin serialisation, the canonical check, the encoders (HTTP/2 split,
 * HTTP/3 varints) and the decoders (round trips, garbage, guard pages).
 */
#define _POSIX_C_SOURCE 200809L /* inet_ntop, inet_pton */
#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "origin_internal.h"
#include "origin_testutil.h"

/* ------------------------------------------------------------------------ */
/* Serialisation                                                              */
/* ------------------------------------------------------------------------ */

static void expect_serialize(const char *host, uint16_t port, const char *want) {
  char buf[MDR_ORIGIN_BUFSIZE];
  size_t len = 0;
  int rv = mdr_origin_serialize(host, strlen(host), port, buf, sizeof buf, &len);
  if (rv != 0) fail_msg("serialize(%s, %u): rv %d, want %s", host, port, rv, want);
  if (len != strlen(want) || memcmp(buf, want, len) != 0)
    fail_msg("serialize(%s, %u) = '%.*s', want '%s'", host, port, (int)len, buf, want);
  assert_int_equal(buf[len], '\0');
  assert_true(mdr_origin_is_canonical(buf, len));
}

static void expect_serialize_fails(const char *host, size_t len) {
  char buf[MDR_ORIGIN_BUFSIZE];
  size_t out = 99;
  int rv = mdr_origin_serialize(host, len, 443, buf, sizeof buf, &out);
  if (rv != MDR_ERR_INVALID_ARGUMENT) fail_msg("serialize('%.*s') rv %d, want invalid", (int)len, host, rv);
  assert_int_equal(out, 0);
}

static void test_serialize_r58(void **state) {
  (void)state;
  /* R58 */
  expect_serialize("A.Example.COM", 443, "https://a.example.com");
  expect_serialize("b.example.com", 8443, "https://b.example.com:8443");
  expect_serialize("2001:db8::1", 8443, "https://[2001:db8::1]:8443");
  /* default port omitted, 0 means default */
  expect_serialize("a.example.com", 0, "https://a.example.com");
  expect_serialize("a.example.com", 1, "https://a.example.com:1");
  expect_serialize("a.example.com", 65535, "https://a.example.com:65535");
  expect_serialize("a.example.com", 80, "https://a.example.com:80");
  /* one trailing dot stripped; '_' allowed; A-labels kept */
  expect_serialize("a.example.com.", 443, "https://a.example.com");
  expect_serialize("_srv.Example.com", 443, "https://_srv.example.com");
  expect_serialize("XN--BCHER-KVA.example", 443, "https://xn--bcher-kva.example");
  expect_serialize("localhost", 443, "https://localhost");
  /* IPv4 */
  expect_serialize("192.0.2.1", 443, "https://192.0.2.1");
  expect_serialize("192.0.2.1.", 8443, "https://192.0.2.1:8443");
  expect_serialize("0.0.0.0", 443, "https://0.0.0.0");
  /* IPv6: brackets optional on input, RFC 5952 on output */
  expect_serialize("[2001:DB8:0:0:0:0:0:1]", 443, "https://[2001:db8::1]");
  expect_serialize("2001:0db8:0000:0000:0001:0000:0000:0001", 443, "https://[2001:db8::1:0:0:1]");
  expect_serialize("2001:db8:0:0:1:0:0:1", 443, "https://[2001:db8::1:0:0:1]");
  expect_serialize("2001:db8:0:1:1:1:1:1", 443, "https://[2001:db8:0:1:1:1:1:1]");
  expect_serialize("::", 443, "https://[::]");
  expect_serialize("::1", 443, "https://[::1]");
  expect_serialize("1::", 443, "https://[1::]");
  expect_serialize("::FFFF:192.0.2.50", 443, "https://[::ffff:192.0.2.50]");
  expect_serialize("::ffff:c000:232", 443, "https://[::ffff:192.0.2.50]");
  expect_serialize("[::ffff:0:0]", 443, "https://[::ffff:0.0.0.0]");
  /* Mixed notation for the IPv4-embedding prefixes, as the core writes them. */
  expect_serialize("64:ff9b::c000:201", 443, "https://[64:ff9b::192.0.2.1]");
  expect_serialize("::ffff:0:c000:201", 443, "https://[::ffff:0:192.0.2.1]");
  expect_serialize("::192.0.2.1", 443, "https://[::c000:201]"); /* IPv4-compatible: deprecated, hex */
  expect_serialize("::ffff", 443, "https://[::ffff]");
  expect_serialize("::2", 443, "https://[::2]");
  expect_serialize("1:2:3:4:5:6:7::", 443, "https://[1:2:3:4:5:6:7:0]");
  expect_serialize("fe80::", 8443, "https://[fe80::]:8443");
}

static void test_serialize_rejects(void **state) {
  (void)state;
  const char *bad[] = {
    "", ".", "*.example.com", "*", "a.*.example.com", "a..example.com", ".a.example.com",
    "a.example.com..", "-a.example.com", "a-.example.com", "a.example.com/", "a/b",
    "user@a.example.com", "a%2eexample.com", "a example.com", "a,b.example.com",
    "a.example.com:443", "1.2.3", "192.168.01.1", "256.0.0.1", "1.2.3.4.5", "0x1", "a.0x",
    "a.0xff", "example.123", "1.2.3.04", "[fe80::1%eth0]", "fe80::1%25eth0", "[v1.x]",
    "[2001:db8::1", "2001:db8::1]", "[]", "[::1]:443", ":::", "1:2:3:4:5:6:7:8:9",
    "1::2::3", "12345::", "::g", "1:2:3:4:5:6:7", ":1::", "1::2:", "::1.2.3", "::1.2.3.04",
    "1:2:3:4:5:6:7:1.2.3.4", "[::1.2.3.256]",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_serialize_fails(bad[i], strlen(bad[i]));
  /* Non-ASCII and control bytes. */
  expect_serialize_fails("b\xc3\xbc" "cher.example", 13);
  expect_serialize_fails("a\0b.example", 11);
  expect_serialize_fails("a\tb", 3);
  /* Label and name lengths: 63 ok, 64 not; name 253 ok, 254 not. */
  char big[300];
  memset(big, 'a', 63);
  memcpy(big + 63, ".example", 9);
  char buf[MDR_ORIGIN_BUFSIZE];
  size_t len;
  assert_int_equal(mdr_origin_serialize(big, strlen(big), 443, buf, sizeof buf, &len), 0);
  memset(big, 'a', 64);
  memcpy(big + 64, ".example", 9);
  expect_serialize_fails(big, strlen(big));
  /* 253 = 4 x (62 + '.') + 1 */
  size_t k = 0;
  for (int l = 0; l < 4; l++) {
    memset(big + k, 'b', 62);
    k += 62;
    big[k++] = '.';
  }
  big[k++] = 'c';
  assert_int_equal(k, 253);
  assert_int_equal(mdr_origin_serialize(big, k, 65535, buf, sizeof buf, &len), 0);
  assert_int_equal(len, MDR_ORIGIN_MAX_LEN);
  assert_true(mdr_origin_is_canonical(buf, len));
  big[k] = '.'; /* trailing dot: still 253 */
  assert_int_equal(mdr_origin_serialize(big, k + 1, 443, buf, sizeof buf, &len), 0);
  big[k++] = 'c'; /* 254 */
  expect_serialize_fails(big, k);
  /* NULL host */
  assert_int_equal(mdr_origin_serialize(NULL, 0, 443, buf, sizeof buf, &len), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_origin_serialize(NULL, 3, 443, buf, sizeof buf, &len), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_origin_serialize("a", 1, 443, buf, sizeof buf, NULL), MDR_ERR_INVALID_ARGUMENT);
}

static void test_serialize_buffer(void **state) {
  (void)state;
  size_t len = 0;
  assert_int_equal(mdr_origin_serialize("b.example.com", 13, 8443, NULL, 0, &len), MDR_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(len, 26);
  char buf[26];
  memset(buf, 'x', sizeof buf);
  assert_int_equal(mdr_origin_serialize("b.example.com", 13, 8443, buf, 25, &len), MDR_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(len, 26);
  /* Exact size: no NUL written, nothing past the end. */
  assert_int_equal(mdr_origin_serialize("b.example.com", 13, 8443, buf, 26, &len), 0);
  assert_memory_equal(buf, "https://b.example.com:8443", 26);
}

/* Outside the IPv4-embedding prefixes RFC 5952 leaves no choice, so our
 * IPv6 text must equal glibc's inet_ntop there; inside them it must at least
 * name the same 16 bytes.  Either way the result is canonical (stable). */
static int embeds_ipv4(const uint8_t a[16]) {
  static const uint8_t z[12] = {0};
  if (memcmp(a, z, 10) == 0 && a[10] == 0xff && a[11] == 0xff) return 1;          /* ::ffff:0:0/96 */
  if (memcmp(a, z, 8) == 0 && a[8] == 0xff && a[9] == 0xff && !a[10] && !a[11]) return 1; /* ::ffff:0:0:0/96 */
  if (a[0] == 0 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && memcmp(a + 4, z, 8) == 0)
    return 1;                                                                      /* 64:ff9b::/96 */
  if (memcmp(a, z, 12) == 0 && (a[12] | a[13])) return 1; /* ::/96, where glibc uses dots */
  return 0;
}

static void check_ipv6(const uint8_t a[16]) {
  char want[INET6_ADDRSTRLEN], in[64], got[MDR_ORIGIN_BUFSIZE], again[MDR_ORIGIN_BUFSIZE];
  assert_non_null(inet_ntop(AF_INET6, a, want, sizeof want));
  /* Feed the uncompressed form with upper-case hex and leading zeros. */
  snprintf(in, sizeof in, "%02X%02X:%02X%02X:%02X%02X:%02X%02X:%02X%02X:%02X%02X:%02X%02X:%02X%02X",
           a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13],
           a[14], a[15]);
  size_t len, len2;
  assert_int_equal(mdr_origin_serialize(in, strlen(in), 443, got, sizeof got, &len), 0);
  assert_true(mdr_origin_is_canonical(got, len));
  if (!embeds_ipv4(a)) {
    char expect[96];
    snprintf(expect, sizeof expect, "https://[%s]", want);
    if (strcmp(got, expect) != 0) fail_msg("IPv6 %s: got %s, libc %s", in, got, expect);
  }
  /* The libc text (any valid form) normalises to the same origin. */
  assert_int_equal(mdr_origin_serialize(want, strlen(want), 443, again, sizeof again, &len2), 0);
  assert_string_equal(again, got);
  /* And our text names the same address. */
  uint8_t back[16];
  got[len - 1] = '\0'; /* drop ']' */
  assert_int_equal(inet_pton(AF_INET6, got + 9, back), 1);
  assert_memory_equal(back, a, 16);
}

static void test_ipv6_forms(void **state) {
  (void)state;
  uint8_t a[16];
  /* Every pattern of zero / non-zero groups, with three group values. */
  const uint16_t vals[] = {1, 0xffff, 0x0a0b};
  for (unsigned mask = 0; mask < 256; mask++) {
    for (size_t vi = 0; vi < 3; vi++) {
      for (int g = 0; g < 8; g++) {
        uint16_t v = (mask >> g) & 1 ? vals[(vi + (size_t)g) % 3] : 0;
        a[2 * g] = (uint8_t)(v >> 8);
        a[2 * g + 1] = (uint8_t)v;
      }
      check_ipv6(a);
    }
  }
  ot_rng r = {12345};
  for (int i = 0; i < 2000; i++) {
    for (int j = 0; j < 16; j++) a[j] = (uint8_t)ot_rand(&r);
    /* zero some groups to get runs */
    for (int g = 0; g < 8; g++)
      if (ot_below(&r, 2)) a[2 * g] = a[2 * g + 1] = 0;
    check_ipv6(a);
  }
}

static void test_from_authority(void **state) {
  (void)state;
  struct { const char *in, *want; } ok[] = {
    {"A.Example.COM", "https://a.example.com"},
    {"a.example.com:443", "https://a.example.com"},
    {"a.example.com:", "https://a.example.com"},
    {"a.example.com:00443", "https://a.example.com"},
    {"a.example.com:8443", "https://a.example.com:8443"},
    {"[2001:DB8::1]:8443", "https://[2001:db8::1]:8443"},
    {"[::1]", "https://[::1]"},
    {"192.0.2.1:80", "https://192.0.2.1:80"},
    {"a.example.com.:8443", "https://a.example.com:8443"},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char buf[MDR_ORIGIN_BUFSIZE];
    size_t len;
    int rv = mdr_origin_from_authority(ok[i].in, strlen(ok[i].in), buf, sizeof buf, &len);
    if (rv != 0) fail_msg("from_authority(%s) rv %d", ok[i].in, rv);
    assert_string_equal(buf, ok[i].want);
  }
  const char *bad[] = {"", ":443", "a:0", "a:65536", "a:-1", "a:8x", "a: 1", "2001:db8::1",
                       "[::1]x", "[::1", "[::1]:", "u@a", "*.a.example", "a.example.com:443:1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char buf[MDR_ORIGIN_BUFSIZE];
    size_t len;
    int rv = mdr_origin_from_authority(bad[i], strlen(bad[i]), buf, sizeof buf, &len);
    /* "[::1]:" is an empty port after a valid IPv6 literal: the default. */
    if (strcmp(bad[i], "[::1]:") == 0) {
      assert_int_equal(rv, 0);
      assert_string_equal(buf, "https://[::1]");
      continue;
    }
    if (rv != MDR_ERR_INVALID_ARGUMENT) fail_msg("from_authority(%s) rv %d", bad[i], rv);
  }
}

/* ------------------------------------------------------------------------ */
/* Canonical check and parse                                                  */
/* ------------------------------------------------------------------------ */

static void test_canonical(void **state) {
  (void)state;
  const char *yes[] = {
    "https://a.example.com", "https://b.example.com:8443", "https://[2001:db8::1]:8443",
    "https://xn--bcher-kva.example", "https://192.0.2.1", "https://[::ffff:192.0.2.50]",
    "https://a:1", "https://a:65535", "https://_x.example", "https://[::]",
  };
  const char *no[] = {
    /* F9 */
    "https://*.example.com", "a.example.com", "https://A.Example.com",
    "https://a.example.com:443", "https://a.example.com/",
    /* more */
    "", "https://", "https:", "http://a.example.com", "HTTPS://a.example.com",
    "https://a.example.com.", "https://a.example.com:", "https://a.example.com:0",
    "https://a.example.com:08443", "https://a.example.com:65536", "https://a.example.com:99999",
    "https://a.example.com:8443/", "https://a.example.com?", "https://a.example.com#x",
    "https://u@a.example.com", "https://[2001:DB8::1]", "https://[2001:db8:0::1]",
    "https://2001:db8::1", "https://[2001:db8::1]:443", "https://[::ffff:c000:232]",
    "https://192.0.2.01", "https://1.2.3", "https://a..b", "https://a.example.com:8443:1",
    "https:///a", "https://a b", "https://[fe80::1%25x]", " https://a", "https://a ",
    "https://[::1]:", "https://[::1]8443",
  };
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    if (!mdr_origin_is_canonical(yes[i], strlen(yes[i]))) fail_msg("'%s' should be canonical", yes[i]);
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    if (mdr_origin_is_canonical(no[i], strlen(no[i]))) fail_msg("'%s' should not be canonical", no[i]);
  assert_false(mdr_origin_is_canonical(NULL, 0));
  assert_false(mdr_origin_is_canonical("https://a\0b", 11));
}

static void test_parse(void **state) {
  (void)state;
  mdr_origin_parts p;
  const char *o = "https://[2001:db8::1]:8443";
  assert_int_equal(mdr_origin_parse(o, strlen(o), &p), 0);
  assert_int_equal(p.kind, MDR_HOST_IPV6);
  assert_int_equal(p.port, 8443);
  assert_int_equal(p.host.len, 13);
  assert_memory_equal(p.host.ptr, "[2001:db8::1]", 13);
  assert_ptr_equal(p.host.ptr, o + 8);
  o = "https://a.example.com";
  assert_int_equal(mdr_origin_parse(o, strlen(o), &p), 0);
  assert_int_equal(p.kind, MDR_HOST_NAME);
  assert_int_equal(p.port, 443);
  assert_int_equal(p.host.len, 13);
  o = "https://192.0.2.1:1";
  assert_int_equal(mdr_origin_parse(o, strlen(o), &p), 0);
  assert_int_equal(p.kind, MDR_HOST_IPV4);
  assert_int_equal(p.port, 1);
  o = "https://a.example.com:443";
  assert_int_equal(mdr_origin_parse(o, strlen(o), &p), MDR_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------------ */
/* HTTP/2 encoder and the R61 split                                           */
/* ------------------------------------------------------------------------ */

#define N_BIG 1000
static char g_big_str[N_BIG][32];
static mdr_str g_big[N_BIG];

static void make_big_set(void) {
  for (unsigned i = 0; i < N_BIG; i++) {
    snprintf(g_big_str[i], sizeof g_big_str[i], "https://%04u-orign.example.com", i);
    assert_int_equal(strlen(g_big_str[i]), 30);
    g_big[i].ptr = g_big_str[i];
    g_big[i].len = 30;
  }
}

/* Walk the frames of an H2 encoding: check every header and entry boundary
 * and return the entries in order through l.  Returns the frame count. */
static size_t walk_h2(const uint8_t *buf, size_t len, size_t max_payload, ot_list *l) {
  size_t off = 0, frames = 0;
  while (off < len) {
    assert_true(len - off >= 9);
    size_t plen = ((size_t)buf[off] << 16) | ((size_t)buf[off + 1] << 8) | buf[off + 2];
    assert_int_equal(buf[off + 3], 0x0c);
    assert_int_equal(buf[off + 4], 0);
    assert_int_equal(buf[off + 5] | buf[off + 6] | buf[off + 7] | buf[off + 8], 0);
    assert_true(plen <= max_payload);
    assert_true(off + 9 + plen <= len);
    /* entries end exactly at the payload's end */
    size_t p = off + 9, end = off + 9 + plen;
    while (p < end) {
      assert_true(end - p >= 2);
      size_t el = ((size_t)buf[p] << 8) | buf[p + 1];
      assert_true(el > 0 && p + 2 + el <= end);
      p += 2 + el;
    }
    assert_int_equal(p, end);
    mdr_origin_result res;
    assert_int_equal(mdr_origin_h2_decode(buf + off, len - off, ot_collect, l, &res), 0);
    assert_int_equal(res.status, MDR_ORIGIN_PROCESSED);
    assert_int_equal(res.skipped, 0);
    assert_int_equal(res.consumed, 9 + plen);
    off += 9 + plen;
    frames++;
  }
  assert_int_equal(off, len);
  return frames;
}

static void test_r61_split(void **state) {
  (void)state;
  make_big_set();
  size_t need = 0, frames = 0;
  assert_int_equal(mdr_origin_h2_encode(g_big, N_BIG, 0, NULL, 0, &need, &frames), MDR_ERR_BUFFER_TOO_SMALL);
  assert_true(frames >= 2);
  assert_int_equal(need, N_BIG * 32 + frames * 9);
  uint8_t *buf = malloc(need);
  assert_non_null(buf);
  size_t len = 0, frames2 = 0;
  assert_int_equal(mdr_origin_h2_encode(g_big, N_BIG, 0, buf, need, &len, &frames2), 0);
  assert_int_equal(len, need);
  assert_int_equal(frames2, frames);
  ot_list *l = calloc(1, sizeof *l);
  assert_non_null(l);
  assert_int_equal(walk_h2(buf, len, 16384, l), frames);
  /* Greedy packing: 512 entries of 32 bytes fill the first frame exactly. */
  assert_int_equal(frames, 2);
  assert_int_equal((buf[0] << 16) | (buf[1] << 8) | buf[2], 16384);
  assert_int_equal(l->n, N_BIG);
  for (size_t i = 0; i < N_BIG; i++) assert_string_equal(l->str[i], g_big_str[i]);
  /* One byte short of the need: nothing written is trusted, error reported. */
  assert_int_equal(mdr_origin_h2_encode(g_big, N_BIG, 0, buf, need - 1, &len, NULL), MDR_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(len, need);
  free(buf);
  free(l);
}

static void test_split_frame_sizes(void **state) {
  (void)state;
  make_big_set();
  ot_list *l = calloc(1, sizeof *l);
  assert_non_null(l);
  /* Various max frame sizes, including ones that are not multiples of 32
   * and one exactly one entry wide. */
  const size_t sizes[] = {32, 33, 63, 64, 100, 1000, 4097, 16383, 16384, 16385, 40000, 16777215,
                          99999999};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t need, frames;
    assert_int_equal(mdr_origin_h2_encode(g_big, N_BIG, sizes[s], NULL, 0, &need, &frames),
                     MDR_ERR_BUFFER_TOO_SMALL);
    uint8_t *buf = malloc(need);
    assert_non_null(buf);
    size_t len;
    assert_int_equal(mdr_origin_h2_encode(g_big, N_BIG, sizes[s], buf, need, &len, NULL), 0);
    memset(l, 0, sizeof *l);
    size_t maxp = sizes[s] > 16777215 ? 16777215 : sizes[s];
    assert_int_equal(walk_h2(buf, len, maxp, l), frames);
    size_t per = maxp / 32;
    assert_int_equal(frames, (N_BIG + per - 1) / per);
    assert_int_equal(l->n, N_BIG);
    for (size_t i = 0; i < N_BIG; i++) assert_string_equal(l->str[i], g_big_str[i]);
    free(buf);
  }
  free(l);
}

static void test_split_limits(void **state) {
  (void)state;
  mdr_str a = {"https://a.example.com", 21};
  size_t len;
  uint8_t buf[64];
  /* 2 + 21 = 23 bytes: fits a 23-byte frame, not a 22-byte one. */
  assert_int_equal(mdr_origin_h2_encode(&a, 1, 23, buf, sizeof buf, &len, NULL), 0);
  assert_int_equal(len, 32);
  assert_int_equal(mdr_origin_h2_encode(&a, 1, 22, buf, sizeof buf, &len, NULL), MDR_ERR_LIMIT);
  assert_int_equal(mdr_origin_h2_encode(&a, 1, 1, NULL, 0, &len, NULL), MDR_ERR_LIMIT);
  /* The iterator reports the same before the first frame, so nothing of the
   * set is sent; without the big entry it gives one entry per frame. */
  mdr_str set[3] = {{"https://a", 9}, {"https://b", 9}, {"https://a.example.com", 21}};
  mdr_origin_split it;
  size_t first, count, plen;
  mdr_origin_split_init(&it, set, 3, 11);
  assert_int_equal(mdr_origin_split_next(&it, &first, &count, &plen), MDR_ERR_LIMIT);
  mdr_origin_split_init(&it, set, 2, 11);
  assert_int_equal(mdr_origin_split_next(&it, &first, &count, &plen), 1);
  assert_int_equal(first, 0);
  assert_int_equal(count, 1);
  assert_int_equal(plen, 11);
  assert_int_equal(mdr_origin_split_next(&it, &first, &count, &plen), 1);
  assert_int_equal(first, 1);
  assert_int_equal(count, 1);
  assert_int_equal(mdr_origin_split_next(&it, &first, &count, &plen), 0);
  /* Empty set: exactly one empty frame. */
  mdr_origin_split_init(&it, NULL, 0, 0);
  assert_int_equal(mdr_origin_split_next(&it, &first, &count, &plen), 1);
  assert_int_equal(count, 0);
  assert_int_equal(plen, 0);
  assert_int_equal(mdr_origin_split_next(&it, &first, &count, &plen), 0);
  assert_int_equal(mdr_origin_split_next(&it, &first, &count, &plen), 0);
  /* Default max is 16384. */
  mdr_origin_split_init(&it, set, 2, 0);
  assert_int_equal(it.max_payload, 16384);
  assert_int_equal(mdr_origin_split_next(&it, &first, &count, &plen), 1);
  assert_int_equal(count, 2);
  assert_int_equal(plen, 22);
  assert_int_equal(mdr_origin_split_next(&it, &first, &count, &plen), 0);
  assert_int_equal(mdr_origin_split_next(NULL, &first, &count, &plen), MDR_ERR_INVALID_ARGUMENT);
}

static void test_encoders_refuse_noncanonical(void **state) {
  (void)state;
  const char *bad[] = {"https://*.example.com", "a.example.com", "https://A.Example.com",
                       "https://a.example.com:443", "https://a.example.com/", ""};
  uint8_t buf[256];
  size_t len;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mdr_str set[2] = {{"https://a.example.com", 21}, {bad[i], strlen(bad[i])}};
    assert_int_equal(mdr_origin_h2_encode(set, 2, 0, buf, sizeof buf, &len, NULL), MDR_ERR_INVALID_ARGUMENT);
    assert_int_equal(mdr_origin_h3_encode(set, 2, buf, sizeof buf, &len), MDR_ERR_INVALID_ARGUMENT);
    assert_int_equal(mdr_origin_payload_write(set, 2, buf, sizeof buf, &len), MDR_ERR_INVALID_ARGUMENT);
    mdr_origin_split it;
    size_t f, c, p;
    mdr_origin_split_init(&it, set, 2, 0);
    assert_int_equal(mdr_origin_split_next(&it, &f, &c, &p), MDR_ERR_INVALID_ARGUMENT);
  }
  mdr_str null_entry = {NULL, 0};
  assert_int_equal(mdr_origin_h2_encode(&null_entry, 1, 0, buf, sizeof buf, &len, NULL), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_origin_h2_encode(NULL, 1, 0, buf, sizeof buf, &len, NULL), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_origin_h2_encode(NULL, 0, 0, buf, sizeof buf, NULL, NULL), MDR_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------------ */
/* HTTP/3                                                                     */
/* ------------------------------------------------------------------------ */

static void test_varints(void **state) {
  (void)state;
  struct { uint64_t v; const char *hex; } vec[] = {
    {0, "00"}, {37, "25"}, {63, "3f"}, {64, "4040"}, {15293, "7bbd"}, {16383, "7fff"},
    {16384, "80004000"}, {494878333, "9d7f3e7d"}, {1073741823, "bfffffff"},
    {1073741824, "c000000040000000"}, {151288809941952652ULL, "c2197c5eff14e88c"},
    {0x3fffffffffffffffULL, "ffffffffffffffff"},
  };
  for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
    uint8_t want[8], got[8];
    size_t n = ot_hex(vec[i].hex, want, sizeof want);
    assert_int_equal(mdro_varint_len(vec[i].v), n);
    assert_int_equal(mdro_varint_write(vec[i].v, got), n);
    assert_memory_equal(got, want, n);
    uint64_t back = 0;
    size_t need = 0;
    assert_int_equal(mdro_varint_read(want, n, &back, &need), n);
    assert_true(back == vec[i].v);
    if (n > 1) {
      assert_int_equal(mdro_varint_read(want, n - 1, &back, &need), 0);
      assert_int_equal(need, n);
    }
  }
  /* RFC 9000 A.1: non-minimal 2-byte encoding of 37. */
  uint8_t nm[2] = {0x40, 0x25};
  uint64_t v;
  assert_int_equal(mdro_varint_read(nm, 2, &v, NULL), 2);
  assert_true(v == 37);
}

static void test_h3_layout(void **state) {
  (void)state;
  /* F2 and F3 are byte-checked by test_origin_vectors; here the varint
   * length grows to 2 bytes (64..16383) and 4 bytes (>= 16384). */
  mdr_str a = {"https://a.example.com", 21};
  mdr_str three[3] = {a, a, a}; /* 3 x 23 = 69 = 0x45 */
  uint8_t buf[128];
  size_t len;
  assert_int_equal(mdr_origin_h3_encode(three, 3, buf, sizeof buf, &len), 0);
  assert_int_equal(len, 1 + 2 + 69);
  assert_int_equal(buf[0], 0x0c);
  assert_int_equal(buf[1], 0x40);
  assert_int_equal(buf[2], 0x45);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(buf[3 + 23 * i], 0x00);
    assert_int_equal(buf[4 + 23 * i], 0x15);
    assert_memory_equal(buf + 5 + 23 * i, "https://a.example.com", 21);
  }
  /* Boundary: payload 63 is one byte of length, 64 two. */
  mdr_str e61 = {NULL, 61}, e62 = {NULL, 62};
  char s61[62], s62[63];
  memcpy(s61, "https://", 8);
  memset(s61 + 8, 'a', 53);
  memcpy(s62, "https://", 8);
  memset(s62 + 8, 'a', 54);
  e61.ptr = s61;
  e62.ptr = s62;
  assert_int_equal(mdr_origin_h3_encode(&e61, 1, buf, sizeof buf, &len), 0);
  assert_int_equal(len, 2 + 63);
  assert_int_equal(buf[1], 63);
  assert_int_equal(mdr_origin_h3_encode(&e62, 1, buf, sizeof buf, &len), 0);
  assert_int_equal(len, 3 + 64);
  assert_int_equal(buf[1], 0x40);
  assert_int_equal(buf[2], 64);
  /* 1000 x 32 = 32000 bytes: a 4-byte length 0x80007d00. */
  make_big_set();
  size_t need;
  assert_int_equal(mdr_origin_h3_encode(g_big, N_BIG, NULL, 0, &need), MDR_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(need, 1 + 4 + 32000);
  uint8_t *big = malloc(need);
  assert_non_null(big);
  assert_int_equal(mdr_origin_h3_encode(g_big, N_BIG, big, need, &len), 0);
  uint8_t hdr[5] = {0x0c, 0x80, 0x00, 0x7d, 0x00};
  assert_memory_equal(big, hdr, 5);
  ot_list *l = calloc(1, sizeof *l);
  assert_non_null(l);
  mdr_origin_result res;
  assert_int_equal(mdr_origin_h3_decode(big, len, ot_collect, l, &res), 0);
  assert_int_equal(res.status, MDR_ORIGIN_PROCESSED);
  assert_int_equal(res.consumed, len);
  assert_int_equal(l->n, N_BIG);
  free(l);
  free(big);
}

/* The server control stream: stream type 0x00, empty SETTINGS (04 00), then
 * F2 (R59).  The decoder steps over SETTINGS and reads ORIGIN. */
static void test_h3_control_stream(void **state) {
  (void)state;
  mdr_str set[2] = {{"https://a.example.com", 21}, {"https://b.example.com:8443", 26}};
  uint8_t stream[128];
  stream[0] = 0x00; /* stream type: control */
  stream[1] = 0x04; /* SETTINGS */
  stream[2] = 0x00;
  size_t len;
  assert_int_equal(mdr_origin_h3_encode(set, 2, stream + 3, sizeof stream - 3, &len), 0);
  assert_int_equal(stream[3], 0x0c);
  assert_int_equal(stream[4], 0x33);
  size_t total = 3 + len, off = 1;
  ot_list *l = calloc(1, sizeof *l);
  assert_non_null(l);
  mdr_origin_result res;
  assert_int_equal(mdr_origin_h3_decode(stream + off, total - off, ot_collect, l, &res), 0);
  assert_int_equal(res.status, MDR_ORIGIN_NOT_ORIGIN);
  assert_int_equal(res.frame_type, 4);
  assert_int_equal(res.consumed, 2);
  off += res.consumed;
  assert_int_equal(mdr_origin_h3_decode(stream + off, total - off, ot_collect, l, &res), 0);
  assert_int_equal(res.status, MDR_ORIGIN_PROCESSED);
  assert_int_equal(off + res.consumed, total);
  assert_int_equal(l->n, 2);
  assert_string_equal(l->str[1], "https://b.example.com:8443");
  /* ORIGIN type written as a non-minimal 2-byte varint still decodes. */
  uint8_t nm[4] = {0x40, 0x0c, 0x00};
  assert_int_equal(mdr_origin_h3_decode(nm, 3, NULL, NULL, &res), 0);
  assert_int_equal(res.status, MDR_ORIGIN_PROCESSED);
  assert_int_equal(res.consumed, 3);
  free(l);
}

/* ------------------------------------------------------------------------ */
/* Decoder behaviour                                                          */
/* ------------------------------------------------------------------------ */

static void test_decoder_callback_stop(void **state) {
  (void)state;
  uint8_t f1[64];
  size_t n = ot_hex("000033 0c 00 00000000"
                    "0015 68747470733a2f2f612e6578616d706c652e636f6d"
                    "001a 68747470733a2f2f622e6578616d706c652e636f6d3a38343433",
                    f1, sizeof f1);
  assert_int_equal(n, 60);
  ot_list *l = calloc(1, sizeof *l);
  assert_non_null(l);
  l->stop_at = 1;
  l->stop_rv = MDR_ERR_LIMIT;
  mdr_origin_result res;
  assert_int_equal(mdr_origin_h2_decode(f1, n, ot_collect, l, &res), MDR_ERR_LIMIT);
  assert_int_equal(l->n, 1);
  /* NULL callback: validation and counting only. */
  assert_int_equal(mdr_origin_h2_decode(f1, n, NULL, NULL, &res), 0);
  assert_int_equal(res.entries, 2);
  /* Bad arguments. */
  assert_int_equal(mdr_origin_h2_decode(f1, n, NULL, NULL, NULL), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_origin_h2_decode(NULL, 5, NULL, NULL, &res), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_origin_h3_decode(NULL, 5, NULL, NULL, &res), MDR_ERR_INVALID_ARGUMENT);
  /* Another frame type is skipped whole. */
  f1[3] = 0x0a; /* ALTSVC */
  assert_int_equal(mdr_origin_h2_decode(f1, n, ot_collect, l, &res), 0);
  assert_int_equal(res.status, MDR_ORIGIN_NOT_ORIGIN);
  assert_int_equal(res.consumed, n);
  /* Payload decode on its own. */
  size_t e, s;
  assert_int_equal(mdr_origin_payload_decode(f1 + 9, 51, NULL, NULL, &e, &s), 0);
  assert_int_equal(e, 2);
  assert_int_equal(s, 0);
  assert_int_equal(mdr_origin_payload_decode(f1 + 9, 50, NULL, NULL, &e, &s), MDR_ERR_DECODE);
  assert_int_equal(e, 0);
  assert_int_equal(mdr_origin_payload_decode(NULL, 0, NULL, NULL, &e, &s), 0);
  free(l);
}

/* Random valid host. */
static size_t random_host(ot_rng *r, char *out) {
  switch (ot_below(r, 4)) {
  case 0: { /* IPv4 */
    return (size_t)sprintf(out, "%u.%u.%u.%u", (unsigned)ot_below(r, 256), (unsigned)ot_below(r, 256),
                           (unsigned)ot_below(r, 256), (unsigned)ot_below(r, 256));
  }
  case 1: { /* IPv6, written uncompressed; the serialiser canonicalises */
    size_t n = 0;
    for (int g = 0; g < 8; g++)
      n += (size_t)sprintf(out + n, "%s%x", g ? ":" : "", ot_below(r, 3) ? 0u : (unsigned)ot_below(r, 65536));
    return n;
  }
  default: { /* DNS name with 1-5 labels */
    static const char cs[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    size_t labels = 1 + ot_below(r, 5), n = 0;
    for (size_t l = 0; l < labels; l++) {
      if (l) out[n++] = '.';
      size_t ll = 1 + ot_below(r, 20);
      for (size_t k = 0; k < ll; k++) {
        char c = cs[ot_below(r, sizeof cs - 1)];
        if (c == '-' && (k == 0 || k == ll - 1)) c = 'x';
        out[n++] = c;
      }
    }
    /* last label must not look numeric */
    out[n++] = '.';
    out[n++] = 'e';
    out[n++] = 'x';
    return n;
  }
  }
}

static void test_round_trip_random(void **state) {
  (void)state;
  ot_rng r = {20261126};
  static char strs[64][MDR_ORIGIN_BUFSIZE];
  mdr_str set[64];
  ot_list *l = calloc(1, sizeof *l);
  assert_non_null(l);
  for (int iter = 0; iter < 300; iter++) {
    size_t n = ot_below(&r, 64), maxlen = 0;
    for (size_t i = 0; i < n; i++) {
      char host[300];
      size_t hl = random_host(&r, host);
      uint16_t port = ot_below(&r, 2) ? 443 : (uint16_t)(1 + ot_below(&r, 65535));
      size_t len;
      int rv = mdr_origin_serialize(host, hl, port, strs[i], sizeof strs[i], &len);
      if (rv != 0) fail_msg("iteration %d: serialize(%.*s) rv %d", iter, (int)hl, host, rv);
      set[i].ptr = strs[i];
      set[i].len = len;
      if (len > maxlen) maxlen = len;
    }
    size_t max_frame = 2 + maxlen + ot_below(&r, 400);
    size_t need, frames;
    assert_int_equal(mdr_origin_h2_encode(set, n, max_frame, NULL, 0, &need, &frames),
                     MDR_ERR_BUFFER_TOO_SMALL);
    uint8_t *buf = malloc(need);
    assert_non_null(buf);
    size_t len;
    assert_int_equal(mdr_origin_h2_encode(set, n, max_frame, buf, need, &len, NULL), 0);
    memset(l, 0, sizeof *l);
    ot_guard g = {0};
    const uint8_t *in = ot_guard_put(&g, buf, len);
    assert_int_equal(walk_h2(in, len, max_frame, l), frames);
    ot_guard_free(&g);
    assert_int_equal(l->n, n);
    for (size_t i = 0; i < n; i++) assert_string_equal(l->str[i], strs[i]);
    free(buf);
    /* HTTP/3 */
    assert_int_equal(mdr_origin_h3_encode(set, n, NULL, 0, &need), MDR_ERR_BUFFER_TOO_SMALL);
    buf = malloc(need);
    assert_non_null(buf);
    assert_int_equal(mdr_origin_h3_encode(set, n, buf, need, &len), 0);
    memset(l, 0, sizeof *l);
    in = ot_guard_put(&g, buf, len);
    mdr_origin_result res;
    assert_int_equal(mdr_origin_h3_decode(in, len, ot_collect, l, &res), 0);
    assert_int_equal(res.status, MDR_ORIGIN_PROCESSED);
    assert_int_equal(res.consumed, len);
    ot_guard_free(&g);
    assert_int_equal(l->n, n);
    for (size_t i = 0; i < n; i++) assert_string_equal(l->str[i], strs[i]);
    free(buf);
  }
  free(l);
}

/* Random bytes: the decoders never read past the end (guard page), never
 * deliver a non-canonical entry, and a truncated payload delivers nothing. */
static int check_canonical_cb(void *user, const char *o, size_t len) {
  size_t *count = user;
  assert_true(mdr_origin_is_canonical(o, len));
  (*count)++;
  return 0;
}

static void test_decoder_garbage(void **state) {
  (void)state;
  ot_rng r = {777};
  uint8_t buf[512];
  const char *pieces[] = {"https://a.example.com", "https://A.example.com", "https://[::1]",
                          "https://x:443", "https://y:1", ""};
  for (int iter = 0; iter < 3000; iter++) {
    size_t len = 0;
    int h3 = iter & 1;
    /* Mostly plausible frames built from pieces, sometimes pure noise. */
    size_t hdr = h3 ? 2 : 9;
    size_t target = ot_below(&r, 200);
    while (len < target && hdr + len < sizeof buf - 40) {
      if (ot_below(&r, 4) == 0) {
        buf[hdr + len++] = (uint8_t)ot_rand(&r);
      } else {
        const char *p = pieces[ot_below(&r, 6)];
        size_t pl = strlen(p);
        buf[hdr + len++] = (uint8_t)(pl >> 8);
        buf[hdr + len++] = (uint8_t)pl;
        memcpy(buf + hdr + len, p, pl);
        len += pl;
      }
    }
    if (len > 63) len = 63; /* keep the H3 length a 1-byte varint */
    size_t total;
    if (h3) {
      buf[0] = 0x0c;
      buf[1] = (uint8_t)len;
      total = 2 + len;
    } else {
      buf[0] = 0;
      buf[1] = 0;
      buf[2] = (uint8_t)len;
      buf[3] = 0x0c;
      buf[4] = (uint8_t)(ot_below(&r, 4) ? 0 : ot_rand(&r));
      memset(buf + 5, 0, 4);
      total = 9 + len;
    }
    /* Sometimes cut the input short. */
    size_t feed = ot_below(&r, 8) == 0 ? ot_below(&r, total + 1) : total;
    ot_guard g = {0};
    const uint8_t *in = ot_guard_put(&g, buf, feed);
    size_t count = 0;
    mdr_origin_result res;
    int truncated = mdr_origin_payload_decode(buf + hdr, len, NULL, NULL, NULL, NULL) == MDR_ERR_DECODE;
    int rv = h3 ? mdr_origin_h3_decode(in, feed, check_canonical_cb, &count, &res)
                : mdr_origin_h2_decode(in, feed, check_canonical_cb, &count, &res);
    if (feed < total) {
      assert_int_equal(rv, 0);
      assert_int_equal(res.status, MDR_ORIGIN_INCOMPLETE);
      assert_int_equal(count, 0);
    } else if (truncated) {
      assert_int_equal(count, 0);
      if (h3) {
        assert_int_equal(rv, MDR_ERR_DECODE);
      } else {
        assert_int_equal(rv, 0);
        assert_true(res.status == MDR_ORIGIN_IGNORED_TRUNCATED || res.status == MDR_ORIGIN_IGNORED_FLAGS);
      }
    } else {
      assert_int_equal(rv, 0);
      if (res.status == MDR_ORIGIN_PROCESSED) assert_int_equal(count, res.entries);
      else assert_int_equal(count, 0);
    }
    ot_guard_free(&g);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_serialize_r58),
    cmocka_unit_test(test_serialize_rejects),
    cmocka_unit_test(test_serialize_buffer),
    cmocka_unit_test(test_ipv6_forms),
    cmocka_unit_test(test_from_authority),
    cmocka_unit_test(test_canonical),
    cmocka_unit_test(test_parse),
    cmocka_unit_test(test_r61_split),
    cmocka_unit_test(test_split_frame_sizes),
    cmocka_unit_test(test_split_limits),
    cmocka_unit_test(test_encoders_refuse_noncanonical),
    cmocka_unit_test(test_varints),
    cmocka_unit_test(test_h3_layout),
    cmocka_unit_test(test_h3_control_stream),
    cmocka_unit_test(test_decoder_callback_stop),
    cmocka_unit_test(test_round_trip_random),
    cmocka_unit_test(test_decoder_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
