/* Every parser against a guard page: each input is copied so that its last
 * byte is immediately followed by a PROT_NONE page (and, in a second pass,
 * its first byte immediately preceded by one), so any read past either end
 * crashes the test even without a sanitizer.  Every prefix of each input is
 * tried too, so a parser that runs past the end while in any state is
 * caught.  (The ORIGIN codec and the case-line parser get the same
 * treatment from the fuzz corpus replay, fuzz/replay.c.) */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

/* [PROT_NONE page][body][PROT_NONE page] */
typedef struct guard {
  uint8_t *map;
  size_t page, body;
} guard;

static guard G;

static int guard_setup(void **state) {
  (void)state;
  G.page = (size_t)sysconf(_SC_PAGESIZE);
  G.body = 16 * G.page;
  G.map = mmap(NULL, G.body + 2 * G.page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (G.map == MAP_FAILED) return -1;
  if (mprotect(G.map, G.page, PROT_NONE) != 0) return -1;
  if (mprotect(G.map + G.page + G.body, G.page, PROT_NONE) != 0) return -1;
  return 0;
}

static int guard_teardown(void **state) {
  (void)state;
  munmap(G.map, G.body + 2 * G.page);
  return 0;
}

/* Copy n bytes so they end right before the trailing guard (tail = 1) or
 * start right after the leading guard (tail = 0).  `slot` picks one of 8
 * separate areas for head placements (tail placements share one area). */
static const char *place(const void *p, size_t n, int tail, unsigned slot) {
  assert_true(n <= G.page);
  uint8_t *dst;
  if (tail) {
    dst = G.map + G.page + G.body - n;
  } else {
    assert_true(slot < 8);
    dst = G.map + G.page + slot * G.page;
  }
  if (n) memcpy(dst, p, n);
  return (const char *)dst;
}

/* The guard itself: reading one byte past a tail placement, or one before a
 * head placement, kills the process. */
static void test_guard_catches_overread(void **state) {
  (void)state;
  for (int tail = 0; tail < 2; tail++) {
    const volatile char *p = place("abc", 3, tail, 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      signal(SIGSEGV, SIG_DFL); /* cmocka's handler would catch it */
      signal(SIGBUS, SIG_DFL);
      char c = tail ? p[3] : p[-1];
      _exit(c == 0x7f ? 3 : 0); /* not reached */
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(p[0], 'a'); /* the placed bytes themselves are readable */
  }
}

static const char *const authorities[] = {
  "a.example", "A.EXAMPLE.", "a.example:8443", "a.example:", "a.example:0443", "a.example:99999",
  "[2001:db8::1]", "[2001:db8::1]:443", "[2001:DB8:0:0:0:0:0:1]", "[::ffff:192.0.2.1]:80",
  "[::1.2.3.4]", "[::]", "[fe80::1%25eth0]", "[v1.x]", "[::1", "[::1]x", "[1:2:3:4:5:6:7:8:9]",
  "192.0.2.1", "192.0.2.01", "0x7f.1", "1.2.3", "user@a.example", "a%2e.example", "a..example",
  "-a.example", "a-.example", "xn--bcher-kva.example", "_srv.a.example", "\xc3\xa9.example",
  "a b", " \ta.example\t ", "2001:db8::1", "*.a.example", "a.example,b.example", ":80", "",
  "[", "]", ":", ".", "..", "0x", "1.2.3.4.", "256.1.1.1",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
};

static void test_authority_parse(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof authorities / sizeof *authorities; i++) {
    const char *s = authorities[i];
    size_t len = strlen(s);
    for (size_t n = 0; n <= len; n++) {
      for (int tail = 0; tail < 2; tail++) {
        for (int trim = 0; trim < 2; trim++) {
          const char *p = place(s, n, tail, 0);
          mdr_authority a;
          int valid = -1;
          mdr_reason why;
          assert_int_equal(mdr_authority_parse(n ? p : NULL, n, trim, &a, &valid, &why), 0);
          assert_true(valid == 0 || valid == 1);
        }
      }
    }
  }
}

static void test_sni_extension_parse(void **state) {
  (void)state;
  static const uint8_t good[] = { 0x00, 0x0c, 0x00, 0x00, 0x09, 'a', '.', 'e', 'x',
                                  'a',  'm',  'p',  'l',  'e' };
  static const uint8_t two[] = { 0x00, 0x0a, 0x00, 0x00, 0x01, 'a', 0x00, 0x00, 0x02, 'b', 'c', 0x00 };
  static const uint8_t long_len[] = { 0x00, 0x05, 0x00, 0xff, 0xff, 'a', 'b' };
  const struct { const uint8_t *p; size_t n; } in[] = {
    { good, sizeof good }, { two, sizeof two }, { long_len, sizeof long_len } };
  for (size_t i = 0; i < 3; i++) {
    for (size_t n = 0; n <= in[i].n; n++) {
      for (int tail = 0; tail < 2; tail++) {
        const uint8_t *p = (const uint8_t *)place(in[i].p, n, tail, 0);
        mdr_str name;
        int rc = mdr_sni_extension_parse(n ? p : NULL, n, &name);
        if (i == 0 && n == in[i].n) {
          assert_int_equal(rc, 0);
          assert_int_equal(name.len, 9);
          assert_memory_equal(name.ptr, "a.example", 9);
        } else {
          assert_int_equal(rc, MDR_ERR_DECODE);
        }
      }
    }
  }
}

static mdr_table *fixture(void) {
  return tu_table("listener web https 443 default=a public-ports=443,8443\n"
                  "listener plain http 80 default=a unknown-host=default\n"
                  "cert c a.example *.a.example b.example [2001:db8::1]\n"
                  "vhost a listen=web,plain names=a.example,*.a.example redirect-names=www.a.example"
                  " cert=c http=redirect\n"
                  "vhost b listen=web,plain names=b.example,[2001:db8::1] cert=c\n");
}

static void test_handshake(void **state) {
  (void)state;
  mdr_table *t = fixture();
  const char *const snis[] = { "a.example", "X.A.EXAMPLE.", "b.example", "nope.example",
                               "192.0.2.1", "a..b", "a\0b", "" };
  for (size_t i = 0; i < sizeof snis / sizeof *snis; i++) {
    size_t len = i == 6 ? 3 : strlen(snis[i]);
    for (size_t n = 0; n <= len; n++) {
      for (int tail = 0; tail < 2; tail++) {
        const char *p = place(snis[i], n, tail, 0);
        mdr_handshake_result hs;
        assert_int_equal(mdr_handshake(t, 0, 1, n ? p : NULL, n, &hs), 0);
      }
    }
  }
  mdr_table_unref(t);
}

/* Decide with one field at a time placed against a guard page (each prefix
 * of it), the other fields in ordinary memory. */
enum { F_TARGET, F_METHOD, F_SCHEME, F_AUTHORITY, F_HOST, F_ALPN, F_SNI, F_ORIGIN, F_COUNT };

static void decide_with(const mdr_table *t, mdr_index listener, int field, const char *s, size_t n,
                        int tail) {
  const char *p = place(s, n, tail, 0);
  mdr_str v = { n ? p : NULL, n };
  mdr_str auth = MDR_STR_LIT("a.example"), host = MDR_STR_LIT("a.example");
  mdr_str origin = MDR_STR_LIT("https://a.example");
  mdr_conn c = { .listener = listener };
  mdr_request r = { .version = MDR_HTTP_1_1, .has_target = 1, .target = MDR_STR_LIT("/x?y") };
  switch (field) {
  case F_TARGET: r.target = v; r.host = &host; r.n_host = 1; break;
  case F_METHOD: r.method = v; r.host = &host; r.n_host = 1; break;
  case F_SCHEME:
    r.version = MDR_HTTP_2; r.has_scheme = 1; r.scheme = v; r.authority = &auth; r.n_authority = 1;
    break;
  case F_AUTHORITY:
    r.version = MDR_HTTP_2; r.has_scheme = 1; r.scheme = (mdr_str)MDR_STR_LIT("https");
    r.authority = &v; r.n_authority = 1; r.host = &host; r.n_host = 1;
    break;
  case F_HOST: r.host = &v; r.n_host = 1; break;
  case F_ALPN: c.has_alpn = 1; c.alpn = v; r.host = &host; r.n_host = 1; break;
  case F_SNI:
    c.has_sni = 1; c.sni = v; c.has_origin_set = 1; c.origin_set = &origin; c.n_origin_set = 1;
    r.version = MDR_HTTP_2; r.has_scheme = 1; r.scheme = (mdr_str)MDR_STR_LIT("https");
    r.authority = &auth; r.n_authority = 1;
    break;
  case F_ORIGIN:
    c.has_origin_set = 1; c.origin_set = &v; c.n_origin_set = 1;
    r.version = MDR_HTTP_2; r.has_scheme = 1; r.scheme = (mdr_str)MDR_STR_LIT("https");
    r.authority = &auth; r.n_authority = 1;
    break;
  default: fail();
  }
  mdr_decision d;
  char loc[512];
  assert_int_equal(mdr_decide(t, &c, &r, &d, loc, sizeof loc), 0);
  char why[256];
  mdr_decision_explain(t, &c, &d, why, sizeof why);
}

static void test_decide_fields(void **state) {
  (void)state;
  mdr_table *t = fixture();
  static const char *const values[F_COUNT][6] = {
    [F_TARGET] = { "/index.html?q=1", "http://a.example:80/p?q", "https://[2001:db8::1]", "*", "ftp://x/",
                   "http://a.example" },
    [F_METHOD] = { "GET", "CONNECT", "OPTIONS", "", NULL },
    [F_SCHEME] = { "https", "HTTP", "ftp", "1x", "", NULL },
    [F_AUTHORITY] = { "a.example", "A.Example.:443", "[2001:db8::1]:8443", "a.example:", "@", NULL },
    [F_HOST] = { " a.example\t", "www.a.example", "b.example:8443", "x.a.example", "a.example:80", NULL },
    [F_ALPN] = { "h2", "http/1.1", "acme-tls/1", "h3", "", NULL },
    [F_SNI] = { "a.example", "A.example.", "b.example", "192.0.2.1", "a\0", NULL },
    [F_ORIGIN] = { "https://a.example", "https://a.example:8443", "https://b.example", "", NULL },
  };
  for (int f = 0; f < F_COUNT; f++) {
    for (int k = 0; k < 6 && values[f][k]; k++) {
      const char *s = values[f][k];
      size_t len = (f == F_SNI && k == 4) ? 2 : strlen(s);
      for (size_t n = 0; n <= len; n++)
        for (int tail = 0; tail < 2; tail++)
          for (mdr_index l = 0; l < 2; l++) decide_with(t, l, f, s, n, tail);
    }
  }
  mdr_table_unref(t);
}

static void test_origin_set_entries_and_location(void **state) {
  (void)state;
  mdr_table *t = fixture();
  /* The Location is written flush against the guard too: a redirect whose
   * Location exactly fills the buffer, and one byte less. */
  mdr_str host = MDR_STR_LIT("a.example");
  mdr_conn c = { .listener = 1 };
  mdr_request r = { .version = MDR_HTTP_1_1, .has_target = 1, .target = MDR_STR_LIT("/x?y"),
                    .host = &host, .n_host = 1 };
  mdr_decision d;
  const char *want = "https://a.example/x?y";
  size_t wl = strlen(want);
  for (size_t cap = 0; cap <= wl + 1; cap++) {
    char *loc = (char *)G.map + G.page + G.body - cap;
    int rc = mdr_decide(t, &c, &r, &d, cap ? loc : NULL, cap);
    assert_int_equal(d.kind, MDR_REDIRECT);
    assert_int_equal(d.location_len, wl);
    if (cap < wl) {
      assert_int_equal(rc, MDR_ERR_BUFFER_TOO_SMALL);
    } else {
      assert_int_equal(rc, 0);
      assert_memory_equal(loc, want, wl);
    }
  }
  /* explanation buffer flush against the guard */
  for (size_t cap = 1; cap < 64; cap++) {
    char *buf = (char *)G.map + G.page + G.body - cap;
    size_t full = mdr_decision_explain(t, &c, &d, buf, cap);
    assert_true(full > cap);
    assert_int_equal(strlen(buf), cap - 1);
  }
  mdr_table_unref(t);
}

static const char vhosts_text[] =
    "# every statement\n"
    "listener web https 443 default=a public-ports=443,8443 unknown-sni=default \\\n"
    "   sni-host=compatible\n"
    "listener plain http 80 default=a unknown-host=default\n"
    "cert c a.example *.a.example b.example [2001:db8::1] 192.0.2.1\n"
    "policy p client-auth=required ca-file=ca.pem min-tls=1.3\n"
    "vhost a listen=web,plain names=a.example,*.a.example redirect-names=www.a.example cert=c"
    " http=redirect redirect-status=301 protocols=h1,h2 early-data\n"
    "vhost b listen=web names=b.example cert=c policy=p\n"
    "vhost d listen=web,plain names=192.0.2.1,[2001:db8::1] cert=c";

static void test_vhosts_parse(void **state) {
  (void)state;
  size_t len = sizeof vhosts_text - 1;
  int built = 0;
  for (size_t n = 0; n <= len; n++) {
    for (int tail = 0; tail < 2; tail++) {
      const char *p = place(vhosts_text, n, tail, 0);
      mdr_table *t = NULL;
      mdr_error err;
      int rc = mdr_table_parse(n ? p : NULL, n, tu_str("guard.vhosts"), NULL, &t, &err);
      assert_true(rc == 0 || rc == MDR_ERR_CONFIG);
      if (rc == 0) built++;
      mdr_table_unref(t);
    }
  }
  /* the complete text builds, from both placements */
  assert_true(built >= 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_guard_catches_overread),
    cmocka_unit_test(test_authority_parse),
    cmocka_unit_test(test_sni_extension_parse),
    cmocka_unit_test(test_handshake),
    cmocka_unit_test(test_decide_fields),
    cmocka_unit_test(test_origin_set_entries_and_location),
    cmocka_unit_test(test_vhosts_parse),
  };
  return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
