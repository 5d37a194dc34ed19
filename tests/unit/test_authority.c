/* The authority / SNI normaliser (docs/decision-rules.md rule 2 and the
 * handshake step). */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "internal.h"
#include "testutil.h"

static const char *norm(const char *in, int trim, unsigned *port) {
  static mdr_authority a;
  int valid = -1;
  mdr_reason r;
  assert_int_equal(mdr_authority_parse(in, strlen(in), trim, &a, &valid, &r), 0);
  if (!valid) return mdr_reason_token(r);
  if (port) *port = a.port;
  return a.host;
}

static void ok(const char *in, const char *host, unsigned port) {
  unsigned p = 12345;
  const char *h = norm(in, 1, &p);
  if (strcmp(h, host) != 0) print_error("input '%s'\n", in);
  assert_string_equal(h, host);
  assert_int_equal(p, port);
}

static void bad(const char *in, const char *reason) {
  mdr_authority a;
  int valid = -1;
  mdr_reason r;
  assert_int_equal(mdr_authority_parse(in, strlen(in), 1, &a, &valid, &r), 0);
  if (valid || strcmp(mdr_reason_token(r), reason) != 0)
    print_error("input '%s': valid=%d reason=%s\n", in, valid, valid ? "-" : mdr_reason_token(r));
  assert_int_equal(valid, 0);
  assert_string_equal(mdr_reason_token(r), reason);
}

static void test_valid_forms(void **state) {
  (void)state;
  ok("example.com", "example.com", 0);
  ok("EXAMPLE.Com", "example.com", 0);
  ok("example.com.", "example.com", 0);
  ok("example.com:", "example.com", 0);
  ok("example.com:443", "example.com", 443);
  ok("example.com:0443", "example.com", 443);
  ok("example.com:000000000000000443", "example.com", 443);
  ok("  example.com\t", "example.com", 0);
  ok("a_b.example", "a_b.example", 0);
  ok("xn--bcher-kva.example", "xn--bcher-kva.example", 0);
  ok("localhost", "localhost", 0);
  ok("192.0.2.1", "192.0.2.1", 0);
  ok("192.0.2.1.", "192.0.2.1", 0);
  ok("0.0.0.0:65535", "0.0.0.0", 65535);
  ok("[2001:db8::1]", "[2001:db8::1]", 0);
  ok("[2001:DB8:0:0:0:0:0:1]:8443", "[2001:db8::1]", 8443);
  ok("[2001:db8::10]:", "[2001:db8::10]", 0);
  ok("[::]", "[::]", 0);
  ok("[::1]", "[::1]", 0);
  ok("[1::]", "[1::]", 0);
  ok("[2001:db8:0:1:1:1:1:1]", "[2001:db8:0:1:1:1:1:1]", 0);
  ok("[2001:0:0:1:0:0:0:1]", "[2001:0:0:1::1]", 0);
  ok("[2001:db8:0:0:1:0:0:1]", "[2001:db8::1:0:0:1]", 0);
  ok("[::ffff:192.0.2.50]", "[::ffff:192.0.2.50]", 0);
  ok("[::FFFF:c000:0232]", "[::ffff:192.0.2.50]", 0);
  ok("[64:ff9b::192.0.2.33]", "[64:ff9b::192.0.2.33]", 0);
  ok("[::192.0.2.1]", "[::c000:201]", 0);
  ok("a.b-c.d", "a.b-c.d", 0);
  /* 63-byte label and 253-byte name are the limits. */
  char buf[400];
  memset(buf, 'a', 63);
  strcpy(buf + 63, ".example");
  ok(buf, buf, 0);
  /* 4 labels: 63+1+63+1+63+1+61 = 253 */
  memset(buf, 'a', 253);
  buf[63] = buf[127] = buf[191] = '.';
  buf[253] = '\0';
  ok(buf, buf, 0);
}

static void test_every_400_reason(void **state) {
  (void)state;
  bad("", "host-empty");
  bad("   ", "host-empty");
  bad(":80", "host-empty");
  bad("exa mple.com", "host-bad-char");
  bad("example.com/evil", "host-bad-char");
  bad("a,b.example", "host-bad-char");
  bad("example.com\\", "host-bad-char");
  bad("*.example.com", "host-bad-char");
  bad("b\xc3\xbc" "cher.example", "host-non-ascii");
  bad("%65xample.com", "host-percent");
  bad("example%2ecom", "host-percent");
  bad("user@example.com", "host-userinfo");
  bad("@example.com", "host-userinfo");
  bad("user:pw@example.com", "host-userinfo");
  bad("[::1]@x", "host-userinfo");
  bad(".example.com", "host-label-empty");
  bad("a..example.com", "host-label-empty");
  bad("example.com..", "host-label-empty");
  bad(".", "host-label-empty");
  bad("-a.example.com", "host-label-hyphen");
  bad("a-.example.com", "host-label-hyphen");
  bad("0x7f.0.0.1", "host-numeric");
  bad("192.000.002.010", "host-numeric");
  bad("192.168.01.1", "host-numeric");
  bad("3221225994", "host-numeric");
  bad("192.0.2", "host-numeric");
  bad("1.2.3.4.5", "host-numeric");
  bad("256.0.0.1", "host-numeric");
  bad("example.0x", "host-numeric");
  bad("example.0xff", "host-numeric");
  bad("example.123", "host-numeric");
  bad("[::1", "host-ipv6");
  bad("[1:2:3:4:5:6:7:8:9]", "host-ipv6");
  bad("[1::2::3]", "host-ipv6");
  bad("[12345::1]", "host-ipv6");
  bad("[::1]x", "host-ipv6");
  bad("[]", "host-ipv6");
  bad("[:1]", "host-ipv6");
  bad("[1:]", "host-ipv6");
  bad("[::1.2.3]", "host-ipv6");
  bad("2001:db8::10", "host-ipv6");
  bad("[fe80::1%25eth0]", "host-ipv6-zone");
  bad("[fe80::1%eth0]", "host-ipv6-zone");
  bad("[v1.fe80::a+en1]", "host-ipvfuture");
  bad("[v7.x]:443", "host-ipvfuture");
  bad("example.com:abc", "port-syntax");
  bad("example.com:80:80", "port-syntax");
  bad("example.com:-1", "port-syntax");
  bad("example.com:+80", "port-syntax");
  bad("[::1]:x", "port-syntax");
  bad("example.com:0", "port-range");
  bad("example.com:65536", "port-range");
  bad("example.com:99999999999999999999", "port-range");
  bad("example.com:000", "port-range");
  char buf[400];
  memset(buf, 'a', 64);
  strcpy(buf + 64, ".example.com");
  bad(buf, "host-label-long");
  memset(buf, 'a', 254);
  buf[63] = buf[127] = buf[191] = '.';
  buf[254] = '\0';
  bad(buf, "host-name-long");
}

static void test_bytes_by_position(void **state) {
  (void)state;
  /* Every byte value in every position class, against an independent
   * statement of which bytes each position accepts. */
  for (unsigned b = 0; b < 256; b++) {
    unsigned char c = (unsigned char)b;
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    int labelc = alnum || c == '_' || c == '-';
    char s[64];
    mdr_authority a;
    int valid;
    mdr_reason r;
    /* 1: first byte of the name */
    size_t n = (size_t)snprintf(s, sizeof s, "%cx.example", 'q');
    s[0] = (char)c;
    assert_int_equal(mdr_authority_parse(s, n, 0, &a, &valid, &r), 0);
    assert_int_equal(valid, alnum || c == '_');
    /* 2: middle of a label */
    n = (size_t)snprintf(s, sizeof s, "aqa.example");
    s[1] = (char)c;
    assert_int_equal(mdr_authority_parse(s, n, 0, &a, &valid, &r), 0);
    assert_int_equal(valid, labelc || c == '.');
    if (valid && c >= 'A' && c <= 'Z') assert_int_equal(a.host[1], c + 32);
    /* 3: last byte of a label, before a dot */
    n = (size_t)snprintf(s, sizeof s, "aq.example");
    s[1] = (char)c;
    assert_int_equal(mdr_authority_parse(s, n, 0, &a, &valid, &r), 0);
    assert_int_equal(valid, alnum || c == '_');
    /* 4: last byte of the whole value */
    n = (size_t)snprintf(s, sizeof s, "example.aq");
    s[9] = (char)c;
    assert_int_equal(mdr_authority_parse(s, n, 0, &a, &valid, &r), 0);
    assert_int_equal(valid, alnum || c == '_' || c == '.' || c == ':');
    /* 5: inside the port */
    n = (size_t)snprintf(s, sizeof s, "example.com:8q");
    s[13] = (char)c;
    assert_int_equal(mdr_authority_parse(s, n, 0, &a, &valid, &r), 0);
    assert_int_equal(valid, c >= '0' && c <= '9');
    /* 6: inside an IPv6 literal */
    n = (size_t)snprintf(s, sizeof s, "[2001:db8::q]");
    s[11] = (char)c;
    assert_int_equal(mdr_authority_parse(s, n, 0, &a, &valid, &r), 0);
    int hex = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
    assert_int_equal(valid, hex); /* ":::" and "::." are malformed */
    /* 7: leading and trailing OWS are trimmed only for field values */
    n = (size_t)snprintf(s, sizeof s, "qexample.com");
    s[0] = (char)c;
    int v0, v1;
    assert_int_equal(mdr_authority_parse(s, n, 0, &a, &v0, &r), 0);
    assert_int_equal(mdr_authority_parse(s, n, 1, &a, &v1, &r), 0);
    assert_int_equal(v0, alnum || c == '_');
    assert_int_equal(v1, alnum || c == '_' || c == ' ' || c == '\t');
  }
}

static void test_embedded_nul_and_no_overread(void **state) {
  (void)state;
  mdr_authority a;
  int valid;
  mdr_reason r;
  const char s[] = "example.com\0.evil.test";
  assert_int_equal(mdr_authority_parse(s, sizeof s - 1, 0, &a, &valid, &r), 0);
  assert_int_equal(valid, 0);
  assert_string_equal(mdr_reason_token(r), "host-bad-char");
  /* Length bounds the read: "example.com" followed by garbage not looked at. */
  assert_int_equal(mdr_authority_parse("example.comX", 11, 0, &a, &valid, &r), 0);
  assert_int_equal(valid, 1);
  assert_string_equal(a.host, "example.com");
  assert_int_equal(mdr_authority_parse(NULL, 0, 1, &a, &valid, &r), 0);
  assert_int_equal(valid, 0);
  assert_int_equal(mdr_authority_parse(NULL, 3, 1, &a, &valid, &r), MDR_ERR_INVALID_ARGUMENT);
  /* A 100 kB value is rejected, in linear time. */
  static char big[100000];
  memset(big, 'a', sizeof big);
  assert_int_equal(mdr_authority_parse(big, sizeof big, 0, &a, &valid, &r), 0);
  assert_int_equal(valid, 0);
}

static void test_sni_extension_parser(void **state) {
  (void)state;
  mdr_str name;
  const uint8_t good[] = { 0, 14, 0, 0, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm' };
  assert_int_equal(mdr_sni_extension_parse(good, sizeof good, &name), 0);
  assert_int_equal(name.len, 11);
  assert_memory_equal(name.ptr, "example.com", 11);
  /* list length wrong */
  uint8_t b1[sizeof good];
  memcpy(b1, good, sizeof good);
  b1[1] = 15;
  assert_int_equal(mdr_sni_extension_parse(b1, sizeof b1, &name), MDR_ERR_DECODE);
  /* name type not host_name */
  memcpy(b1, good, sizeof good);
  b1[2] = 1;
  assert_int_equal(mdr_sni_extension_parse(b1, sizeof b1, &name), MDR_ERR_DECODE);
  /* inner length too short / too long */
  memcpy(b1, good, sizeof good);
  b1[4] = 10;
  assert_int_equal(mdr_sni_extension_parse(b1, sizeof b1, &name), MDR_ERR_DECODE);
  b1[4] = 12;
  assert_int_equal(mdr_sni_extension_parse(b1, sizeof b1, &name), MDR_ERR_DECODE);
  /* two names */
  const uint8_t two[] = { 0, 8, 0, 0, 1, 'a', 0, 0, 1, 'b' };
  assert_int_equal(mdr_sni_extension_parse(two, sizeof two, &name), MDR_ERR_DECODE);
  /* empty name, empty list, truncated */
  const uint8_t empty_name[] = { 0, 3, 0, 0, 0 };
  assert_int_equal(mdr_sni_extension_parse(empty_name, sizeof empty_name, &name), MDR_ERR_DECODE);
  const uint8_t empty_list[] = { 0, 0 };
  assert_int_equal(mdr_sni_extension_parse(empty_list, sizeof empty_list, &name), MDR_ERR_DECODE);
  for (size_t n = 0; n < sizeof good; n++)
    assert_int_equal(mdr_sni_extension_parse(good, n, &name), MDR_ERR_DECODE);
  /* A NUL inside the name is structurally fine; the handshake step refuses it. */
  const uint8_t nul[] = { 0, 6, 0, 0, 3, 'a', 0, 'b' };
  assert_int_equal(mdr_sni_extension_parse(nul, sizeof nul, &name), 0);
  assert_int_equal(name.len, 3);
}

static void test_ipv6_canonical_roundtrip(void **state) {
  (void)state;
  /* Exhaustive over which of the 8 groups are zero (256 patterns). */
  for (unsigned mask = 0; mask < 256; mask++) {
    char in[64], expect_in[MDR_HOST_MAX + 1];
    size_t n = 0;
    n += (size_t)snprintf(in + n, sizeof in - n, "[");
    for (int g = 0; g < 8; g++)
      n += (size_t)snprintf(in + n, sizeof in - n, "%s%x", g ? ":" : "", (mask >> g) & 1 ? 0 : g + 1);
    snprintf(in + n, sizeof in - n, "]");
    mdr_authority a, b;
    int valid;
    mdr_reason r;
    assert_int_equal(mdr_authority_parse(in, strlen(in), 0, &a, &valid, &r), 0);
    assert_int_equal(valid, 1);
    /* Canonical form parses to itself and contains no uppercase, no "0:0" run
     * that could have been compressed... checked by re-parsing. */
    snprintf(expect_in, sizeof expect_in, "%s", a.host);
    assert_int_equal(mdr_authority_parse(expect_in, strlen(expect_in), 0, &b, &valid, &r), 0);
    assert_int_equal(valid, 1);
    assert_string_equal(a.host, b.host);
    assert_null(strstr(a.host, ":::"));
  }
}

/* mdri_sni_valid (the handshake's test of an SNI) against its definition:
 * no ':' at all, and the normaliser accepts a DNS name.  The function itself
 * finds a ':' from the normalised length instead of searching for it.
 * Random strings over bytes that matter (dots, colons, digits, brackets,
 * hyphens, upper case, '%', '_'), then names around the fast path's 64-byte
 * limit and 253 with a trailing dot, colon or port. */
static int sni_by_definition(const char *p, size_t n, mdr_authority *a) {
  if (n == 0 || n > 255 || memchr(p, ':', n)) return 0;
  return mdri_authority(p, n, a) == MDR_REASON_COUNT_ && a->kind == MDR_HOST_NAME;
}

/* The first dot the lookup is given: the index of the first '.' of the
 * normalised host, or its length. */
static size_t dot_by_definition(const mdr_authority *a) {
  const char *d = memchr(a->host, '.', a->host_len);
  return d ? (size_t)(d - a->host) : a->host_len;
}

static void check_sni(const char *p, size_t n) {
  mdr_authority a1, a2;
  size_t dot = 999;
  int want = sni_by_definition(p, n, &a1), got = mdri_sni_valid_dot(p, n, &a2, &dot);
  if (want != got) print_error("SNI '%.*s': want %d, got %d\n", (int)n, p, want, got);
  assert_int_equal(got, want);
  if (want) {
    assert_int_equal(a2.host_len, a1.host_len);
    assert_memory_equal(a2.host, a1.host, a1.host_len);
    assert_int_equal(dot, dot_by_definition(&a1));
  }
}

/* mdri_authority_dot: the same answer as mdri_authority, and the first dot
 * of the host it wrote, on the fast path (reg-names of up to 64 bytes) and
 * the careful one (ports, IP literals, long names, every error). */
static void check_dot(const char *p, size_t n) {
  mdr_authority a1, a2;
  size_t dot = 999;
  mdr_reason r1 = mdri_authority(p, n, &a1), r2 = mdri_authority_dot(p, n, &a2, &dot);
  assert_int_equal(r2, r1);
  if (r1 != MDR_REASON_COUNT_) return;
  assert_int_equal(a2.host_len, a1.host_len);
  assert_memory_equal(a2.host, a1.host, a1.host_len);
  if (dot != dot_by_definition(&a2))
    print_error("'%.*s': dot %zu, want %zu\n", (int)n, p, dot, dot_by_definition(&a2));
  assert_int_equal(dot, dot_by_definition(&a2));
}

static void test_authority_first_dot(void **state) {
  (void)state;
  static const char al[] = "ab.:-09[]A_.";
  static const char *const fixed[] = {
    "a", "a.", "a.b", "A.B.", "a.b:443", "a.:443", "x.example.com", "X.Example.COM.:8443",
    "1.2.3.4", "1.2.3.4:80", "[::1]", "[2001:db8::1]:443", "a..b", ".a", "a:b",
    "abcdefghabcdefghabcdefghabcdefghabcdefghabcdefghabcdefghabcdefg.h",
    "abcdefghabcdefghabcdefghabcdefghabcdefghabcdefghabcdefghabcdefgh",
    "abcdefghabcdefghabcdefghabcdefghabcdefghabcdefghabcdefghabcdefg.",
  };
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) check_dot(fixed[i], strlen(fixed[i]));
  char buf[300];
  uint64_t x = 0x9e3779b97f4a7c15ull;
  size_t valid = 0, dotted = 0;
  for (int it = 0; it < 300000; it++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t n = 1 + (size_t)(x % 70);
    uint64_t r = x;
    for (size_t i = 0; i < n; i++) {
      r = r * 6364136223846793005ull + 1442695040888963407ull;
      /* Mostly letters, so that long valid names occur. */
      buf[i] = (r >> 60) < 10 ? 'a' + (char)((r >> 40) % 26) : al[(r >> 33) % (sizeof al - 1)];
    }
    check_dot(buf, n);
    mdr_authority a;
    size_t dot;
    if (mdri_authority_dot(buf, n, &a, &dot) == MDR_REASON_COUNT_) {
      valid++;
      dotted += dot < a.host_len;
    }
  }
  assert_true(valid > 1000 && dotted > 500); /* valid names, with and without dots */
  for (size_t n = 1; n < 260; n++) {
    for (size_t i = 0; i < n; i++) buf[i] = i % 10 == 9 ? '.' : 'a';
    check_dot(buf, n);
    buf[n - 1] = '.';
    check_dot(buf, n);
    for (size_t i = 0; i < n; i++) buf[i] = 'q';
    check_dot(buf, n);
  }
}

static void test_sni_valid_definition(void **state) {
  (void)state;
  static const char al[] = "ab.:-09[]A_%";
  char buf[300];
  uint64_t x = 88172645463325252ull;
  size_t valid = 0;
  for (int it = 0; it < 300000; it++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t n = (size_t)(x % 14);
    uint64_t r = x;
    for (size_t i = 0; i < n; i++) {
      r = r * 6364136223846793005ull + 1442695040888963407ull;
      buf[i] = al[(r >> 33) % (sizeof al - 1)];
    }
    check_sni(buf, n);
    mdr_authority a;
    valid += (size_t)sni_by_definition(buf, n, &a);
  }
  assert_true(valid > 1000); /* the strings reach valid names too */
  for (size_t n = 1; n < 260; n++) {
    for (int v = 0; v < 6; v++) {
      for (size_t i = 0; i < n; i++) buf[i] = i % 10 == 9 ? '.' : 'a';
      if (v == 1) buf[n - 1] = '.';
      if (v == 2 && n > 2) buf[n - 2] = ':';
      if (v == 3) buf[n - 1] = ':';
      if (v == 4 && n > 3) buf[n - 3] = '.', buf[n - 2] = ':', buf[n - 1] = '1';
      if (v == 5 && n > 2) buf[n - 2] = '.', buf[n - 1] = ':';
      check_sni(buf, n);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_valid_forms),
    cmocka_unit_test(test_every_400_reason),
    cmocka_unit_test(test_bytes_by_position),
    cmocka_unit_test(test_embedded_nul_and_no_overread),
    cmocka_unit_test(test_sni_extension_parser),
    cmocka_unit_test(test_ipv6_canonical_roundtrip),
    cmocka_unit_test(test_sni_valid_definition),
    cmocka_unit_test(test_authority_first_dot),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
