/*
 * White-box tests of the decision-case line parser (tools/cases.c): values,
 * defaults, escapes, canonical origins, errors, bounds.  Every line is copied
 * into a heap block of exactly its length (no NUL) so that ASan catches any
 * read past the end.  A bounded pseudo-random loop feeds token soup to the
 * parser as a smoke test before real fuzzing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cases.h"

static mdrc_case *C;       /* big: one per test run, on the heap */
static char err[MDRC_ERR_MAX];
static mdr_table *T;

/* Parse `line` from an exact-size heap copy; returns mdrc_parse's result. */
static int parse_n(const char *line, size_t n) {
  char *copy = malloc(n ? n : 1);
  assert_non_null(copy);
  memcpy(copy, line, n);
  memset(err, 'X', sizeof err);
  int r = mdrc_parse(copy, n, C, err, sizeof err);
  if (r != 0) assert_non_null(memchr(err, '\0', sizeof err));
  if (r == 0 && C->expect.kind != MDRC_EXPECT_NONE) {
    /* The expectation must point into the arena, not into the (freed) line. */
    if (C->expect.arg.len)
      assert_true(C->expect.arg.ptr >= C->arena && C->expect.arg.ptr < C->arena + sizeof C->arena);
  }
  free(copy);
  return r;
}

static int parse(const char *line) { return parse_n(line, strlen(line)); }

static int parse_bind(const char *line) {
  int r = parse(line);
  if (r) return r;
  return mdrc_bind(T, C, err, sizeof err);
}

static int str_is(mdr_str s, const char *lit) {
  return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static void expect_error(const char *line, const char *needle) {
  int r = parse_bind(line);
  if (r == 0) fail_msg("accepted: %s", line);
  if (!strstr(err, needle)) fail_msg("'%s' -> '%s', wanted '%s'", line, err, needle);
}

static int setup(void **state) {
  (void)state;
  C = malloc(sizeof *C);
  if (!C) return -1;
  mdr_builder *b = NULL;
  if (mdr_builder_new(&b, NULL)) return -1;
  mdr_str lweb = MDR_STR_LIT("web"), lplain = MDR_STR_LIT("plain");
  mdr_listener_conf l;
  memset(&l, 0, sizeof l);
  l.name = lweb;
  l.tls = 1;
  l.port = 443;
  l.default_vhost = (mdr_str)MDR_STR_LIT("home");
  if (mdr_builder_add_listener(b, &l, NULL)) return -1;
  memset(&l, 0, sizeof l);
  l.name = lplain;
  l.port = 80;
  if (mdr_builder_add_listener(b, &l, NULL)) return -1;
  mdr_str cn[] = { MDR_STR_LIT("www.example.com") };
  mdr_cert_conf cc;
  memset(&cc, 0, sizeof cc);
  cc.name = (mdr_str)MDR_STR_LIT("site");
  cc.names = cn;
  cc.n_names = 1;
  if (mdr_builder_add_cert(b, &cc, NULL)) return -1;
  mdr_str ls[] = { lweb, lplain };
  mdr_vhost_conf v;
  memset(&v, 0, sizeof v);
  v.name = (mdr_str)MDR_STR_LIT("home");
  v.listeners = ls;
  v.n_listeners = 2;
  v.names = cn;
  v.n_names = 1;
  v.cert = (mdr_str)MDR_STR_LIT("site");
  if (mdr_builder_add_vhost(b, &v, NULL)) return -1;
  mdr_error e;
  int rc = mdr_builder_build(b, &T, &e);
  mdr_builder_free(b);
  return rc ? -1 : 0;
}

static int teardown(void **state) {
  (void)state;
  free(C);
  mdr_table_unref(T);
  return 0;
}

static void test_defaults_h1(void **state) {
  (void)state;
  assert_int_equal(parse_bind("case listener=web"), 0);
  assert_int_equal(C->req.version, MDR_HTTP_1_1);
  assert_true(str_is(C->req.method, "GET"));
  assert_true(C->req.has_target);
  assert_true(str_is(C->req.target, "/"));
  assert_false(C->req.has_scheme);
  assert_int_equal(C->req.n_host, 0);
  assert_int_equal(C->req.n_authority, 0);
  assert_false(C->has_sni);
  assert_false(C->conn.has_sni);
  assert_false(C->conn.has_alpn);
  assert_false(C->conn.has_origin_set);
  assert_false(C->conn.has_hs_vhost);
  assert_int_equal(C->expect.kind, MDRC_EXPECT_NONE);
}

static void test_defaults_h2_h3(void **state) {
  (void)state;
  assert_int_equal(parse_bind("case listener=web alpn=h2"), 0);
  assert_int_equal(C->req.version, MDR_HTTP_2);
  assert_true(C->req.has_scheme);
  assert_true(str_is(C->req.scheme, "https"));
  assert_int_equal(parse_bind("case listener=web alpn=h3"), 0);
  assert_int_equal(C->req.version, MDR_HTTP_3);
  assert_true(str_is(C->req.scheme, "https"));
  /* cleartext h2c: :scheme from the listener */
  assert_int_equal(parse_bind("case listener=plain version=2"), 0);
  assert_true(str_is(C->req.scheme, "http"));
  assert_int_equal(parse_bind("case listener=web alpn=h2 scheme=-"), 0);
  assert_false(C->req.has_scheme);
  assert_int_equal(parse_bind("case listener=web alpn=h2 scheme="), 0);
  assert_true(C->req.has_scheme);
  assert_int_equal(C->req.scheme.len, 0);
  assert_int_equal(parse_bind("case listener=web alpn=h2 target=-"), 0);
  assert_false(C->req.has_target);
  /* an escaped '-' is a literal one */
  assert_int_equal(parse_bind("case listener=web alpn=h2 target=\\x2d scheme=\\x2d"), 0);
  assert_true(C->req.has_target);
  assert_true(str_is(C->req.target, "-"));
  assert_true(str_is(C->req.scheme, "-"));
  /* other ALPN values keep the 1.1 default */
  assert_int_equal(parse_bind("case listener=web alpn=acme-tls/1"), 0);
  assert_int_equal(C->req.version, MDR_HTTP_1_1);
  assert_true(str_is(C->conn.alpn, "acme-tls/1"));
}

static void test_values(void **state) {
  (void)state;
  assert_int_equal(parse_bind("case\tlistener=web  sni=A.example\\x2Ecom\\s\\\\ resumed=home early-data=1 "
                              "ech=rejected version=1.0 method=POST target=/a?b host=x host= host=\\s "
                              "=> serve home reason=serve"), 0);
  assert_true(C->has_sni);
  assert_true(C->conn.has_sni);
  assert_true(str_is(C->sni, "A.example.com \\"));
  assert_true(C->conn.resumed);
  assert_true(C->conn.has_resumed_from);
  assert_int_equal(C->conn.resumed_from, 0);
  assert_true(C->conn.early_data);
  assert_int_equal(C->conn.ech, MDR_ECH_REJECTED);
  assert_int_equal(C->req.version, MDR_HTTP_1_0);
  assert_true(str_is(C->req.method, "POST"));
  assert_true(str_is(C->req.target, "/a?b"));
  assert_int_equal(C->req.n_host, 3);
  assert_true(str_is(C->req.host[0], "x"));
  assert_true(str_is(C->req.host[1], ""));
  assert_true(str_is(C->req.host[2], " "));
  assert_int_equal(C->expect.kind, MDRC_EXPECT_SERVE);
  assert_true(str_is(C->expect.arg, "home"));
  assert_true(C->expect.has_reason);
  assert_true(str_is(C->expect.reason, "serve"));
  /* empty sni= is an SNI extension with an empty name */
  assert_int_equal(parse_bind("case listener=web sni="), 0);
  assert_true(C->conn.has_sni);
  assert_int_equal(C->conn.sni.len, 0);
  /* NUL bytes survive decoding */
  assert_int_equal(parse_bind("case listener=web sni=a\\x00b"), 0);
  assert_int_equal(C->sni.len, 3);
  assert_int_equal(C->sni.ptr[1], '\0');
}

static void test_authorities_origins(void **state) {
  (void)state;
  assert_int_equal(parse_bind("case listener=web alpn=h2 authority=a authority=b "
                              "origin-set=https://a.example,https://[2001:db8::1]:8443,https://[::ffff:192.0.2.50]"), 0);
  assert_int_equal(C->req.n_authority, 2);
  assert_true(str_is(C->req.authority[1], "b"));
  assert_true(C->conn.has_origin_set);
  assert_int_equal(C->conn.n_origin_set, 3);
  assert_true(str_is(C->conn.origin_set[1], "https://[2001:db8::1]:8443"));
  assert_int_equal(parse_bind("case listener=web alpn=h3 origin-set="), 0);
  assert_true(C->conn.has_origin_set);
  assert_int_equal(C->conn.n_origin_set, 0);
}

static void test_expectations(void **state) {
  (void)state;
  assert_int_equal(parse_bind("case listener=plain => 308 https://x/a\\sb reason=redirect-https"), 0);
  assert_int_equal(C->expect.kind, MDRC_EXPECT_REDIRECT);
  assert_int_equal(C->expect.status, 308);
  assert_true(str_is(C->expect.arg, "https://x/a b"));
  static const unsigned st[] = { 400, 421, 425, 501 };
  for (size_t i = 0; i < sizeof st / sizeof *st; i++) {
    char line[64];
    snprintf(line, sizeof line, "case listener=plain => %u", st[i]);
    assert_int_equal(parse_bind(line), 0);
    assert_int_equal(C->expect.kind, MDRC_EXPECT_STATUS);
    assert_int_equal(C->expect.status, st[i]);
    assert_false(C->expect.has_reason);
  }
  assert_int_equal(parse_bind("case listener=web sni=x => alert unrecognized_name reason=sni-unknown"), 0);
  assert_int_equal(C->expect.kind, MDRC_EXPECT_ALERT);
  assert_true(str_is(C->expect.arg, "unrecognized_name"));
}

static void test_contract_errors(void **state) {
  (void)state;
  expect_error("case listener=web scheme=https", "scheme= in an HTTP/1.x case");
  expect_error("case listener=web version=1.0 authority=a", "authority= in an HTTP/1.x case");
  expect_error("case listener=web origin-set=https://a", "origin-set= in an HTTP/1.x case");
  expect_error("case listener=web target=-", "target=- in an HTTP/1.x case");
  expect_error("case listener=web alpn=h2 version=3", "alpn=h2 with version=3");
  expect_error("case listener=web alpn=h3 version=1.1", "alpn=h3 with version=1.1");
  expect_error("case listener=plain version=3", "version 3 on cleartext listener 'plain'");
  expect_error("case listener=plain sni=a", "sni= on cleartext");
  expect_error("case listener=plain alpn=h2", "alpn= on cleartext");
  expect_error("case listener=plain resumed=home", "resumed= on cleartext");
  expect_error("case listener=plain ech=accepted", "ech= on cleartext");
  expect_error("case listener=plain early-data=1", "early-data= on cleartext");
  expect_error("case listener=plain version=2 origin-set=", "origin-set= on cleartext");
  expect_error("case listener=web alpn=h2 origin-set=https://a,,https://b", "empty entry in origin-set=");
  expect_error("case listener=web alpn=h2 origin-set=,", "empty entry in origin-set=");
  expect_error("case listener=web alpn=h2 origin-set=https://A", "not a canonical https origin");
  expect_error("case listener=web sni=a sni=b", "repeated key 'sni='");
  expect_error("case listener=web method=GET method=GET", "repeated key 'method='");
  expect_error("case listener=web scheme=https scheme=https alpn=h2", "repeated key 'scheme='");
  expect_error("case listener=web bogus=1", "unknown key 'bogus'");
  expect_error("case listener=web =1", "unknown key ''");
  expect_error("case listener=web alpn=", "empty alpn=");
  expect_error("case listener=web version=4", "version= must be");
  expect_error("case listener=web ech=maybe", "ech= must be");
  expect_error("case listener=web early-data=0", "early-data= must be 1");
  expect_error("case listener=nope", "unknown listener 'nope'");
  expect_error("case listener=web resumed=ghost", "unknown resumed vhost 'ghost'");
  expect_error("case listener=", "empty listener=");
  expect_error("case", "missing listener=");
  expect_error("", "must start with 'case'");
  expect_error("cases listener=web", "must start with 'case'");
  expect_error("case listener=web host=a\\", "'\\' at the end");
  expect_error("case listener=web host=\\xg0", "two hex digits");
  expect_error("case listener=web host=\\n", "unknown escape");
  expect_error("case listener=web => serve", "needs a vhost name");
  expect_error("case listener=web => alert", "needs a TLS alert name");
  expect_error("case listener=web => 200", "unknown expectation status '200'");
  expect_error("case listener=web => 42", "unknown expectation '42'");
  expect_error("case listener=web => 421 reason=", "empty reason=");
  expect_error("case listener=web => 421 reason=nope", "unknown reason token 'nope'");
  expect_error("case listener=web => 421 reason=connect more", "unexpected 'more' after the reason");
  expect_error("case listener=web => serve ghost", "unknown vhost 'ghost'");
}

static void test_origin_canonical(void **state) {
  (void)state;
  static const char *good[] = {
    "https://a", "https://a.example.com", "https://a_b.example", "https://xn--bcher-kva.example",
    "https://a.example.com:8443", "https://a:1", "https://a:65535", "https://192.0.2.1",
    "https://0.0.0.0:80", "https://[2001:db8::1]", "https://[::1]:8443", "https://[::]",
    "https://[2001:db8::1:0:0:1]", "https://[2001:0:0:1::1]", "https://[2001:db8:1:1:1:1:1:0]",
    "https://[::ffff:192.0.2.50]", "https://[1::]", "https://example.0xg",
    "https://[::ffff:0:192.0.2.1]", "https://[64:ff9b::192.0.2.1]", "https://[::c000:201]",
    "https://[::ffff:0.0.0.0]", "https://[1:0:0:1::1]", "https://[::ffff:0:0.0.0.1]",
    "https://[::ffff:0:0:0:1]",
  };
  static const char *bad[] = {
    "", "https://", "http://a", "HTTPS://a", "https:/a", "https://A", "https://a.", "https://.a",
    "https://a..b", "https://-a", "https://a-", "https://a:443", "https://a:0", "https://a:65536",
    "https://a:08443", "https://a:", "https://a/", "https://a/x", "https://a?x", "https://*.a",
    "https://a b", "https://user@a", "https://a%41", "https://1.2.3", "https://1.2.3.04",
    "https://256.0.0.1", "https://a.123", "https://a.0x1f", "https://[2001:DB8::1]",
    "https://[2001:db8:0:0:0:0:0:1]", "https://[2001:db8::0:1]", "https://[2001:db8:0:0:1::1]",
    "https://[::ffff:c000:232]", "https://[::FFFF:192.0.2.50]", "https://[fe80::1%25eth0]",
    "https://[v1.x]", "https://[::1", "https://::1", "https://[::1]x", "https://[::1]:443",
    "https://[1:2:3:4:5:6:7:8:9]", "https://[1:2:3:4:5:6:7::8]", "https://[2001:db8::1:]",
    "https://[01::1]", "https://[::ffff:0:c000:201]", "https://[64:ff9b::c000:201]",
    "https://[::192.0.2.1]", "https://[::ffff:0:0:1]", "https://[1:0:0:1:0:0:0:1]",
  };
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    if (!mdrc_origin_is_canonical(good[i], strlen(good[i]))) fail_msg("rejected %s", good[i]);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (mdrc_origin_is_canonical(bad[i], strlen(bad[i]))) fail_msg("accepted '%s'", bad[i]);
  /* 253-byte name is fine, 254 is not */
  char name[300] = "https://";
  size_t o = 8;
  for (int l = 0; l < 4; l++) {
    int n = l < 3 ? 63 : 61;
    memset(name + o, 'a' + l, (size_t)n);
    o += (size_t)n;
    if (l < 3) name[o++] = '.';
  }
  assert_true(mdrc_origin_is_canonical(name, o));
  name[o++] = 'd';
  assert_false(mdrc_origin_is_canonical(name, o));
}

static void test_line_bounds(void **state) {
  (void)state;
  /* A line of exactly MDRC_LINE_MAX bytes is accepted, one more is not. */
  static char line[MDRC_LINE_MAX + 2];
  const char *head = "case listener=web host=";
  size_t hl = strlen(head);
  memcpy(line, head, hl);
  memset(line + hl, 'a', sizeof line - hl);
  assert_int_equal(parse_n(line, MDRC_LINE_MAX), 0);
  assert_int_equal(C->req.host[0].len, MDRC_LINE_MAX - hl);
  assert_int_equal(parse_n(line, MDRC_LINE_MAX + 1), -1);
  assert_non_null(strstr(err, "line too long"));
  /* Too many repeated values is an error, not an overflow. */
  char many[2048];
  size_t o = (size_t)snprintf(many, sizeof many, "case listener=web");
  for (int i = 0; i <= MDRC_MAX_HOSTS; i++) o += (size_t)snprintf(many + o, sizeof many - o, " host=h");
  assert_int_equal(parse(many), -1);
  assert_non_null(strstr(err, "host= values"));
  o = (size_t)snprintf(many, sizeof many, "case listener=web alpn=h2 origin-set=https://a");
  for (int i = 0; i < MDRC_MAX_ORIGINS; i++) o += (size_t)snprintf(many + o, sizeof many - o, ",https://a");
  assert_int_equal(parse(many), -1);
  assert_non_null(strstr(err, "origin-set= entries"));
}

static void test_skippable(void **state) {
  (void)state;
  assert_true(mdrc_is_skippable("", 0));
  assert_true(mdrc_is_skippable("   \t\r", 5));
  assert_true(mdrc_is_skippable("  # x", 5));
  assert_false(mdrc_is_skippable(" case", 5));
}

/* Token soup: the parser must answer 0 or -1, keep err NUL-terminated and
 * keep every value inside the arena.  Bounded: 20000 lines. */
static void test_token_soup(void **state) {
  (void)state;
  static const char *toks[] = {
    "case", "listener=web", "listener=plain", "listener=", "sni=", "sni=a.b", "alpn=h2", "alpn=h3",
    "alpn=", "alpn=x", "version=1.0", "version=2", "version=3", "version=9", "host=", "host=a",
    "host=\\x00", "host=\\", "host=\\x", "host=\\s", "authority=a", "authority=", "origin-set=",
    "origin-set=https://a", "origin-set=https://[::1]", "origin-set=https://[", "origin-set=,",
    "target=-", "target=*", "scheme=-", "scheme=", "method=CONNECT", "resumed=home", "ech=accepted",
    "early-data=1", "=>", "serve", "home", "421", "308", "https://a/", "alert", "reason=serve",
    "reason=", "=", "==", "\t", " ", "x=y", "#",
  };
  uint32_t s = 12345u;
  char line[512];
  for (int iter = 0; iter < 20000; iter++) {
    size_t o = 0;
    s = s * 1103515245u + 12345u;
    int n = (int)((s >> 16) % 12u);
    for (int k = 0; k < n && o < sizeof line - 64; k++) {
      s = s * 1103515245u + 12345u;
      const char *t = toks[(s >> 16) % (sizeof toks / sizeof *toks)];
      size_t tl = strlen(t);
      if (o) line[o++] = ' ';
      memcpy(line + o, t, tl);
      o += tl;
    }
    int r = parse_n(line, o);
    assert_true(r == 0 || r == -1);
    if (r == 0) {
      assert_true(C->req.n_host <= MDRC_MAX_HOSTS);
      assert_true(C->req.n_authority <= MDRC_MAX_AUTHORITIES);
      assert_true(C->conn.n_origin_set <= MDRC_MAX_ORIGINS);
      assert_true(C->arena_len <= sizeof C->arena);
      (void)mdrc_bind(T, C, err, sizeof err);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_defaults_h1),   cmocka_unit_test(test_defaults_h2_h3),
    cmocka_unit_test(test_values),        cmocka_unit_test(test_authorities_origins),
    cmocka_unit_test(test_expectations),  cmocka_unit_test(test_contract_errors),
    cmocka_unit_test(test_origin_canonical), cmocka_unit_test(test_line_bounds),
    cmocka_unit_test(test_skippable),     cmocka_unit_test(test_token_soup),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
