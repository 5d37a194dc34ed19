/* Unit tests of the vhosts-file parser (lib/config.c, mdr_table_parse). */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <misdirect/misdirect.h>

#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* Parse `n` bytes of `text` from an exact-size heap copy (no NUL after it,
 * so a read past the end is caught by ASan), through a counting allocator
 * that must come back to zero live blocks once the table is dropped. */
static int parse_n(const char *text, size_t n, const mdr_parse_options *o, mdr_table **t,
                   mdr_error *err) {
  char *buf = malloc(n ? n : 1);
  assert_non_null(buf);
  if (n) memcpy(buf, text, n);
  int rc = mdr_table_parse(buf, n, tu_str("vhosts"), o, t, err);
  /* The table must not point into the text. */
  memset(buf, 'Z', n);
  free(buf);
  return rc;
}

static int parse_opts(const char *text, const mdr_parse_options *o, mdr_table **t, mdr_error *err) {
  return parse_n(text, strlen(text), o, t, err);
}

static mdr_table *parse_ok_opts(const char *text, const mdr_parse_options *o) {
  mdr_table *t = NULL;
  mdr_error err;
  int rc = parse_opts(text, o, &t, &err);
  if (rc != 0) print_error("unexpected error %d: %s\n", rc, err.message);
  assert_int_equal(rc, 0);
  assert_non_null(t);
  return t;
}

static mdr_table *parse_ok(const char *text) { return parse_ok_opts(text, NULL); }

/* The parse must fail with exactly this code, message, token and line, and
 * free everything it allocated. */
static void expect_err_opts(const char *text, const mdr_parse_options *o, int code,
                            const char *msg, const char *token, unsigned line) {
  tu_counting_mem m;
  tu_counting_mem_init(&m);
  mdr_parse_options oo;
  if (o)
    oo = *o;
  else
    memset(&oo, 0, sizeof oo);
  oo.mem = &m.mem;
  mdr_table *t = (mdr_table *)&m; /* must be reset to NULL */
  mdr_error err;
  memset(&err, 0x55, sizeof err);
  int rc = parse_opts(text, &oo, &t, &err);
  if (rc != code || strcmp(err.message, msg) != 0)
    print_error("text:\n%s\ngot %d '%s'\n", text, rc, err.message);
  assert_int_equal(rc, code);
  assert_null(t);
  assert_int_equal(err.code, code);
  assert_string_equal(err.message, msg);
  assert_string_equal(err.token, token);
  assert_int_equal(err.line, line);
  assert_int_equal(m.live, 0);
}

static void expect_err(const char *text, const char *msg, const char *token, unsigned line) {
  expect_err_opts(text, NULL, MDR_ERR_CONFIG, msg, token, line);
}

static mdr_listener_info listener(const mdr_table *t, const char *name) {
  mdr_index i = MDR_NONE;
  assert_int_equal(mdr_table_find_listener(t, tu_str(name), &i), 0);
  mdr_listener_info li;
  memset(&li, 0, sizeof li);
  assert_int_equal(mdr_table_listener_info(t, i, &li), 0);
  return li;
}

static mdr_index vhost_index(const mdr_table *t, const char *name) {
  mdr_index i = MDR_NONE;
  assert_int_equal(mdr_table_find_vhost(t, tu_str(name), &i), 0);
  return i;
}

static mdr_vhost_info vhost(const mdr_table *t, const char *name) {
  mdr_vhost_info vi;
  memset(&vi, 0, sizeof vi);
  assert_int_equal(mdr_table_vhost_info(t, vhost_index(t, name), &vi), 0);
  return vi;
}

static void assert_str(mdr_str s, const char *want) {
  size_t n = strlen(want);
  if (s.len != n || (n && memcmp(s.ptr, want, n) != 0))
    print_error("got '%.*s', want '%s'\n", (int)s.len, s.ptr ? s.ptr : "", want);
  assert_int_equal(s.len, n);
  if (n) assert_memory_equal(s.ptr, want, n);
}

/* ------------------------------------------------------------------------ */
/* Valid files                                                               */
/* ------------------------------------------------------------------------ */

/* A copy of tests/cases/basic.vhosts (the worked example of
 * docs/vhosts-file.md); test_basic_example_file checks that the two agree. */
static const char basic_vhosts[] =
  "# A small example table in the vhosts file format (see docs/vhosts-file.md).\n"
  "listener web   https 443 default=home\n"
  "listener plain http  80\n"
  "\n"
  "cert site  example.com www.example.com blog.example.com admin.example.com\n"
  "cert other other.org\n"
  "\n"
  "policy staff client-auth=required\n"
  "\n"
  "vhost home  listen=web,plain names=www.example.com redirect-names=example.com cert=site "
  "http=redirect\n"
  "vhost blog  listen=web       names=blog.example.com  cert=site\n"
  "vhost admin listen=web       names=admin.example.com cert=site policy=staff\n"
  "vhost other listen=web,plain names=other.org         cert=other\n";

static void test_basic_example(void **state) {
  (void)state;
  mdr_table *t = parse_ok(basic_vhosts);
  assert_int_equal(mdr_table_listener_count(t), 2);
  assert_int_equal(mdr_table_vhost_count(t), 4);
  mdr_listener_info web = listener(t, "web"), plain = listener(t, "plain");
  assert_int_equal(web.tls, 1);
  assert_int_equal(web.port, 443);
  assert_int_equal(web.public_port, 443);
  assert_int_equal(web.default_vhost, vhost_index(t, "home"));
  assert_int_equal(web.unknown_host, MDR_UNKNOWN_HOST_REJECT);
  assert_int_equal(web.unknown_sni, MDR_UNKNOWN_SNI_REJECT);
  assert_int_equal(web.no_sni, MDR_NO_SNI_DEFAULT);
  assert_int_equal(web.sni_host, MDR_SNI_HOST_COMPATIBLE);
  assert_int_equal(plain.tls, 0);
  assert_int_equal(plain.port, 80);
  assert_int_equal(plain.default_vhost, MDR_NONE);

  mdr_vhost_info home = vhost(t, "home"), admin = vhost(t, "admin"), blog = vhost(t, "blog");
  assert_str(home.canonical, "www.example.com");
  assert_str(home.cert, "site");
  assert_str(home.cert_file, "");
  assert_str(home.policy, "default");
  assert_int_equal(home.http, MDR_HTTP_REDIRECT);
  assert_int_equal(home.redirect_status, 308);
  assert_int_equal(home.early_data, 0);
  assert_str(admin.policy, "staff");
  assert_int_equal(admin.client_auth, MDR_CLIENT_AUTH_REQUIRED);
  assert_int_not_equal(admin.policy_class, blog.policy_class);
  assert_int_equal(home.policy_class, blog.policy_class);
  assert_int_equal(blog.http, MDR_HTTP_SERVE);

  mdr_index lw = 0, lp = 0;
  assert_int_equal(mdr_table_find_listener(t, tu_str("web"), &lw), 0);
  assert_int_equal(mdr_table_find_listener(t, tu_str("plain"), &lp), 0);
  assert_int_equal(mdr_vhost_on_listener(t, vhost_index(t, "home"), lp), 1);
  assert_int_equal(mdr_vhost_on_listener(t, vhost_index(t, "blog"), lp), 0);
  assert_int_equal(mdr_vhost_on_listener(t, vhost_index(t, "blog"), lw), 1);
  mdr_index none = 0;
  assert_int_equal(mdr_table_find_vhost(t, tu_str("nope"), &none), MDR_ERR_NOT_FOUND);
  mdr_table_unref(t);
}

/* The repository's own tests/cases/basic.vhosts, read from disk (ctest sets
 * MISDIRECT_TEST_DATA to tests/): it parses, and it is the text above. */
static void test_basic_example_file(void **state) {
  (void)state;
  const char *dir = getenv("MISDIRECT_TEST_DATA");
  if (!dir) fail_msg("MISDIRECT_TEST_DATA is not set (run this test through ctest)");
  char path[4096];
  int pn = snprintf(path, sizeof path, "%s/cases/basic.vhosts", dir);
  assert_true(pn > 0 && (size_t)pn < sizeof path);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  assert_true(n < sizeof buf);
  assert_int_equal(n, sizeof basic_vhosts - 1);
  assert_memory_equal(buf, basic_vhosts, n);
  mdr_table *t = NULL;
  mdr_error err;
  assert_int_equal(parse_n(buf, n, NULL, &t, &err), 0);
  assert_int_equal(mdr_table_vhost_count(t), 4);
  mdr_table_unref(t);
}

static void test_listener_options(void **state) {
  (void)state;
  mdr_table *t = parse_ok(
    "listener a https 8443 default=x public-ports=443,4443 unknown-host=default "
    "unknown-sni=default no-sni=reject sni-host=strict\n"
    "listener b http 0080 sni-host=ignore unknown-host=reject unknown-sni=reject no-sni=default\n"
    "listener c https 65535 sni-host=compatible no-sni=reject unknown-sni=reject\n"
    "cert k x.example\n"
    "vhost x listen=a,b,c names=x.example cert=k\n");
  mdr_listener_info a = listener(t, "a"), b = listener(t, "b"), c = listener(t, "c");
  assert_int_equal(a.tls, 1);
  assert_int_equal(a.port, 8443);
  assert_int_equal(a.public_port, 443);
  assert_int_equal(a.default_vhost, vhost_index(t, "x"));
  assert_int_equal(a.unknown_host, MDR_UNKNOWN_HOST_DEFAULT);
  assert_int_equal(a.unknown_sni, MDR_UNKNOWN_SNI_DEFAULT);
  assert_int_equal(a.no_sni, MDR_NO_SNI_REJECT);
  assert_int_equal(a.sni_host, MDR_SNI_HOST_STRICT);
  assert_int_equal(b.tls, 0);
  assert_int_equal(b.port, 80);
  assert_int_equal(b.public_port, 80);
  assert_int_equal(b.sni_host, MDR_SNI_HOST_IGNORE);
  assert_int_equal(b.unknown_host, MDR_UNKNOWN_HOST_REJECT);
  assert_int_equal(b.unknown_sni, MDR_UNKNOWN_SNI_REJECT);
  assert_int_equal(b.no_sni, MDR_NO_SNI_DEFAULT);
  assert_int_equal(c.port, 65535);
  assert_int_equal(c.sni_host, MDR_SNI_HOST_COMPATIBLE);
  assert_int_equal(c.no_sni, MDR_NO_SNI_REJECT);
  assert_int_equal(c.default_vhost, MDR_NONE);
  mdr_table_unref(t);
}

static void test_vhost_options(void **state) {
  (void)state;
  mdr_table *t = parse_ok(
    "listener s https 443 default=a\n"
    "listener p http 80\n"
    "cert k a.example b.example c.example d.example e.example *.w.example\n"
    "policy strictp client-auth=optional min-tls=1.3\n"
    "vhost a listen=s,p names=a.example,*.w.example redirect-names=www.a.example,a2.example "
    "cert=k http=redirect redirect-status=301 protocols=h1,h3 early-data\n"
    "vhost b listen=s names=b.example cert=k http=serve redirect-status=302 protocols=h2 "
    "policy=strictp\n"
    "vhost c listen=s names=c.example cert=k redirect-status=307 protocols=h3,h2,h1\n"
    "vhost d listen=s names=d.example cert=k redirect-status=308\n"
    "vhost e early-data names=e.example cert=k listen=s\n");
  mdr_vhost_info a = vhost(t, "a"), b = vhost(t, "b"), c = vhost(t, "c"), d = vhost(t, "d"),
                 e = vhost(t, "e");
  assert_str(a.canonical, "a.example");
  assert_int_equal(a.http, MDR_HTTP_REDIRECT);
  assert_int_equal(a.redirect_status, 301);
  assert_int_equal(a.protocols, MDR_PROTO_H1 | MDR_PROTO_H3);
  assert_int_equal(a.early_data, 1);
  assert_str(b.policy, "strictp");
  assert_int_equal(b.client_auth, MDR_CLIENT_AUTH_OPTIONAL);
  assert_int_equal(b.min_tls, MDR_TLS_1_3);
  assert_int_equal(b.http, MDR_HTTP_SERVE);
  assert_int_equal(b.redirect_status, 302);
  assert_int_equal(b.protocols, MDR_PROTO_H2);
  assert_int_equal(c.redirect_status, 307);
  assert_int_equal(c.protocols & MDR_PROTO_ALL, MDR_PROTO_ALL);
  assert_int_equal(d.redirect_status, 308);
  assert_int_equal(d.protocols & MDR_PROTO_ALL, MDR_PROTO_ALL);
  assert_int_equal(d.early_data, 0);
  assert_int_equal(e.early_data, 1);
  assert_int_equal(e.min_tls, MDR_TLS_1_2);
  assert_int_equal(e.client_auth, MDR_CLIENT_AUTH_NONE);
  assert_str(e.ca_file, "");
  mdr_table_unref(t);
}

static void test_policy_options(void **state) {
  (void)state;
  mdr_parse_options o;
  memset(&o, 0, sizeof o);
  o.base_dir = tu_str("/etc/mdr");
  mdr_table *t = parse_ok_opts(
    "listener s https 443 default=a\n"
    "cert k a.example b.example c.example d.example\n"
    "policy none1 client-auth=none min-tls=1.2\n"
    "policy req client-auth=required ca-file=ca/clients.pem\n"
    "policy abs ca-file=/abs/ca.pem min-tls=1.3\n"
    "vhost a listen=s names=a.example cert=k policy=none1\n"
    "vhost b listen=s names=b.example cert=k policy=req\n"
    "vhost c listen=s names=c.example cert=k policy=abs\n"
    "vhost d listen=s names=d.example cert=k\n",
    &o);
  mdr_vhost_info a = vhost(t, "a"), b = vhost(t, "b"), c = vhost(t, "c"), d = vhost(t, "d");
  assert_int_equal(a.client_auth, MDR_CLIENT_AUTH_NONE);
  assert_int_equal(a.min_tls, MDR_TLS_1_2);
  /* A policy with the built-in default's contents equals it. */
  assert_int_equal(a.policy_class, d.policy_class);
  assert_int_equal(b.client_auth, MDR_CLIENT_AUTH_REQUIRED);
  assert_str(b.ca_file, "ca/clients.pem"); /* as written */
  assert_int_not_equal(b.policy_class, d.policy_class);
  assert_str(c.ca_file, "/abs/ca.pem");
  assert_int_equal(c.min_tls, MDR_TLS_1_3);
  assert_int_equal(c.client_auth, MDR_CLIENT_AUTH_NONE);
  assert_int_not_equal(c.policy_class, d.policy_class);
  assert_str(d.policy, "default");
  mdr_table_unref(t);
}

/* ------------------------------------------------------------------------ */
/* Lexical structure                                                         */
/* ------------------------------------------------------------------------ */

static void test_comments_and_blanks(void **state) {
  (void)state;
  mdr_table *t = parse_ok(
    "# leading comment\n"
    "\n"
    "   \t  \n"
    "  # indented comment with listener x http 1\n"
    "listener\tweb\t http  80   # trailing comment\n"
    "#listener y http 81\n"
    "\tvhost a listen=web names=a.example # protocols=bogus\n"
    "#");
  assert_int_equal(mdr_table_listener_count(t), 1);
  assert_int_equal(mdr_table_vhost_count(t), 1);
  assert_int_equal(listener(t, "web").port, 80);
  mdr_index none = 0;
  assert_int_equal(mdr_table_find_listener(t, tu_str("y"), &none), MDR_ERR_NOT_FOUND);
  mdr_table_unref(t);
}

/* Each statement's info names its source line (the nginx module and other
 * hosts quote it instead of searching the file), and the find functions
 * tell a listener from a vhost of the same name and refuse a name without
 * bytes. */
static void test_statement_lines_and_find(void **state) {
  (void)state;
  mdr_table *t = parse_ok(
    "# two listeners and a vhost named like one of them\n"
    "listener web https 443 default=web\n"
    "\n"
    "listener plain http 80 default=web\n"
    "cert site *.example.com\n"
    "vhost web listen=web,plain names=www.example.com cert=site\n"
    "\n"
    "\n"
    "vhost blog listen=web names=blog.example.com cert=site\n");
  mdr_listener_info li;
  mdr_vhost_info vi;
  mdr_index i = 0;
  assert_int_equal(mdr_table_find_listener(t, tu_str("plain"), &i), 0);
  assert_int_equal(mdr_table_listener_info(t, i, &li), 0);
  assert_int_equal(li.line, 4);
  assert_int_equal(mdr_table_find_listener(t, tu_str("web"), &i), 0);
  assert_int_equal(i, 0);
  assert_int_equal(mdr_table_listener_info(t, i, &li), 0);
  assert_int_equal(li.line, 2);
  assert_int_equal(mdr_table_find_vhost(t, tu_str("web"), &i), 0);
  assert_int_equal(i, 0);
  assert_int_equal(mdr_table_vhost_info(t, i, &vi), 0);
  assert_int_equal(vi.line, 6);
  assert_str(vi.name, "web");
  assert_int_equal(mdr_table_find_vhost(t, tu_str("blog"), &i), 0);
  assert_int_equal(i, 1);
  assert_int_equal(mdr_table_vhost_info(t, i, &vi), 0);
  assert_int_equal(vi.line, 9);
  /* a listener is not a vhost, a prefix is not a name */
  assert_int_equal(mdr_table_find_vhost(t, tu_str("plain"), &i), MDR_ERR_NOT_FOUND);
  assert_int_equal(i, MDR_NONE);
  assert_int_equal(mdr_table_find_vhost(t, tu_str("blo"), &i), MDR_ERR_NOT_FOUND);
  assert_int_equal(mdr_table_find_vhost(t, tu_str("blogs"), &i), MDR_ERR_NOT_FOUND);
  assert_int_equal(mdr_table_find_vhost(t, tu_str(""), &i), MDR_ERR_NOT_FOUND);
  mdr_str bad = { NULL, 3 };
  i = 0;
  assert_int_equal(mdr_table_find_vhost(t, bad, &i), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(i, MDR_NONE);
  assert_int_equal(mdr_table_find_listener(t, bad, &i), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_table_find_listener(NULL, tu_str("web"), &i), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_table_find_listener(t, tu_str("web"), NULL), MDR_ERR_INVALID_ARGUMENT);
  mdr_table_unref(t);
}

static void test_hash_inside_token(void **state) {
  (void)state;
  mdr_table *t = parse_ok(
    "listener web https 443 default=a\n"
    "cert k a.example file=k#1.pem key=k.key #comment file=other\n"
    "vhost a listen=web names=a.example cert=k # cert=other\n");
  assert_str(vhost(t, "a").cert_file, "k#1.pem");
  assert_str(vhost(t, "a").cert, "k");
  mdr_table_unref(t);
}

static void test_continuation(void **state) {
  (void)state;
  mdr_table *t = parse_ok(
    "listener web https 443 \\\n"
    "   default=a \\\n"
    "   sni-host=strict\n"
    "cert k a.example \\\n"
    "  b.example\\\n"
    "  file=a.pem key=a.key\n"
    "vhost a listen=web\\\n"
    "names=a.example,b.example \\\n"
    "\\\n"
    "  cert=k\n");
  mdr_listener_info w = listener(t, "web");
  assert_int_equal(w.sni_host, MDR_SNI_HOST_STRICT);
  assert_int_equal(w.default_vhost, vhost_index(t, "a"));
  assert_str(vhost(t, "a").cert_file, "a.pem");
  mdr_table_unref(t);

  /* A '\' ending a comment does not continue the statement. */
  t = parse_ok(
    "listener web https 443 default=a # comment \\\n"
    "cert k a.example\n"
    "vhost a listen=web names=a.example cert=k\n");
  mdr_table_unref(t);

  /* A continued last line at the end of the input ends the statement. */
  t = parse_ok(
    "listener web http 80\n"
    "vhost a listen=web names=a.example \\");
  mdr_table_unref(t);

  /* An empty or comment line after a continuation ends the statement. */
  t = parse_ok(
    "listener web http 80 \\\n"
    "\n"
    "vhost a listen=web names=a.example \\\n"
    "# done\n"
    "vhost b listen=web names=b.example\n");
  assert_int_equal(mdr_table_vhost_count(t), 2);
  mdr_table_unref(t);
}

static void test_continuation_error_lines(void **state) {
  (void)state;
  /* Errors name the physical line of the offending token. */
  expect_err("listener web http 80\n"
             "vhost a \\\n"
             "  listen=web \\\n"
             "  names=a.example \\\n"
             "  bogus=1\n",
             "vhosts:5: vhost 'a': unknown option 'bogus=1'", "bogus=1", 5);
  /* ... and a missing option names the line the statement starts on. */
  expect_err("listener web http 80\n"
             "\n"
             "vhost a \\\n"
             "  listen=web\n",
             "vhosts:3: vhost 'a': missing names=", "a", 3);
  /* A '\' followed by blanks is not a continuation: it is a stray token. */
  expect_err("listener web http 80 \\ \n"
             "  default=a\n",
             "vhosts:1: stray '\\' (a continuation '\\' must be the last character of the line)",
             "\\", 1);
  expect_err("listener web http 80 \\ default=a\n",
             "vhosts:1: stray '\\' (a continuation '\\' must be the last character of the line)",
             "\\", 1);
  /* The next line is a statement of its own when the '\' is missing. */
  expect_err("listener web http 80\n"
             "vhost a listen=web\n"
             "  names=a.example\n",
             "vhosts:2: vhost 'a': missing names=", "a", 2);
}

static void test_crlf(void **state) {
  (void)state;
  mdr_table *t = parse_ok(
    "# comment\r\n"
    "listener web https 443 default=a\r\n"
    "\r\n"
    "cert k a.example file=a.pem key=a.key\r\n"
    "vhost a listen=web \\\r\n"
    "  names=a.example cert=k early-data\r\n");
  assert_str(vhost(t, "a").cert_key, "a.key");
  assert_int_equal(vhost(t, "a").early_data, 1);
  mdr_table_unref(t);
  expect_err("listener web http 80\r\n"
             "vhost a listen=web names=a.example bad\r\n",
             "vhosts:2: vhost 'a': unknown option 'bad'", "bad", 2);
  /* A CR elsewhere is an ordinary byte (and shown escaped). */
  expect_err("listener web http 80\r\r\n",
             "vhosts:1: listener 'web': bad port '80\\x0d' (expected 1-65535)", "80\r", 1);
}

static void test_no_trailing_newline(void **state) {
  (void)state;
  mdr_table *t = parse_ok(
    "listener web http 80\n"
    "vhost a listen=web names=a.example early-data");
  assert_int_equal(vhost(t, "a").early_data, 1);
  mdr_table_unref(t);
  t = parse_ok(
    "listener web http 80\n"
    "vhost a listen=web names=a.example # the end");
  mdr_table_unref(t);
}

/* The parser reads only `len` bytes: what follows in memory is ignored. */
static void test_length_respected(void **state) {
  (void)state;
  static const char text[] =
    "listener web http 80\n"
    "vhost a listen=web names=a.example protocols=h1\n"
    "this is not a statement";
  size_t n = strlen(text) - strlen("this is not a statement");
  mdr_table *t = NULL;
  mdr_error err;
  assert_int_equal(parse_n(text, n, NULL, &t, &err), 0);
  mdr_table_unref(t);
  /* Cut in the middle of a token: "protocols=h" is a bad protocol. */
  n = strlen("listener web http 80\nvhost a listen=web names=a.example protocols=h");
  t = NULL;
  assert_int_equal(parse_n(text, n, NULL, &t, &err), MDR_ERR_CONFIG);
  assert_null(t);
  assert_string_equal(err.message,
                      "vhosts:2: vhost 'a': bad protocol 'h' in 'protocols=h' "
                      "(expected h1, h2 or h3)");
  assert_string_equal(err.token, "h");
  /* Cut right after the continuation '\'. */
  static const char text2[] = "listener web http 80\nvhost a listen=web names=a.example \\\nXX";
  t = NULL;
  assert_int_equal(parse_n(text2, strlen(text2) - 3, NULL, &t, &err), 0);
  mdr_table_unref(t);
}

static void test_nul_byte(void **state) {
  (void)state;
  static const char text[] = "listener web http 80\nvhost a listen=web\0 names=a.example\n";
  mdr_table *t = NULL;
  mdr_error err;
  assert_int_equal(parse_n(text, sizeof text - 1, NULL, &t, &err), MDR_ERR_CONFIG);
  assert_null(t);
  assert_string_equal(err.message, "vhosts:2: NUL byte in the line");
  assert_string_equal(err.token, "");
  assert_int_equal(err.line, 2);
  /* Also inside a comment. */
  static const char text2[] = "# \0\nlistener web http 80\n";
  assert_int_equal(parse_n(text2, sizeof text2 - 1, NULL, &t, &err), MDR_ERR_CONFIG);
  assert_string_equal(err.message, "vhosts:1: NUL byte in the line");
}

static void test_bom(void **state) {
  (void)state;
  expect_err("\xef\xbb\xbflistener web http 80\n",
             "vhosts:1: the file starts with a UTF-8 byte order mark; save it without one",
             "\xef\xbb\xbf", 1);
  /* Elsewhere those bytes are ordinary (and shown escaped). */
  expect_err("listener web http 80\n\xef\xbb\xbflistener x http 81\n",
             "vhosts:2: unknown statement '\\xef\\xbb\\xbflistener' (expected listener, cert, "
             "policy or vhost)",
             "\xef\xbb\xbflistener", 2);
}

static void test_long_line(void **state) {
  (void)state;
  /* 65536 bytes per line are fine (here: a comment), one more is not. */
  size_t n = 65536;
  char *buf = malloc(n + 64);
  assert_non_null(buf);
  memset(buf, 'x', n);
  buf[0] = '#';
  memcpy(buf + n, "\nlistener w http 80\n", 20);
  mdr_table *t = NULL;
  mdr_error err;
  assert_int_equal(parse_n(buf, n + 20, NULL, &t, &err), 0);
  mdr_table_unref(t);
  buf[n] = 'x';
  memcpy(buf + n + 1, "\r\nlistener w http 80\n", 21);
  t = NULL;
  assert_int_equal(parse_n(buf, n + 22, NULL, &t, &err), MDR_ERR_CONFIG);
  assert_null(t);
  assert_string_equal(err.message, "vhosts:1: line too long (65537 bytes; the limit is 65536)");
  assert_int_equal(err.line, 1);
  /* A long token is cut in the message and in err->token. */
  memcpy(buf, "listener a ", 11);
  memcpy(buf + 200, " 80\n", 4);
  t = NULL;
  assert_int_equal(parse_n(buf, 204, NULL, &t, &err), MDR_ERR_CONFIG);
  assert_int_equal(strncmp(err.message, "vhosts:1: listener 'a': bad scheme 'xxxxx", 40), 0);
  assert_int_equal(strlen(err.token), sizeof err.token - 1);
  assert_non_null(strstr(err.message, "..."));
  free(buf);
}

static void test_empty_input(void **state) {
  (void)state;
  /* Only comments and blanks: an empty table, or the builder's error for
   * it -- either way no statement error from the parser. */
  const char *texts[] = {"", "\n\n", "# nothing\n  \t\r\n", "\\"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    mdr_table *t = NULL;
    mdr_error err;
    int rc = parse_opts(texts[i], NULL, &t, &err);
    if (rc == 0) {
      assert_int_equal(mdr_table_listener_count(t), 0);
      assert_int_equal(mdr_table_vhost_count(t), 0);
      mdr_table_unref(t);
    } else {
      assert_int_equal(rc, MDR_ERR_CONFIG);
      assert_int_equal(strncmp(err.message, "vhosts:", 7), 0);
    }
  }
}

static void test_arguments(void **state) {
  (void)state;
  mdr_table *t = NULL;
  mdr_error err;
  assert_int_equal(mdr_table_parse("listener a http 80\n", 19, tu_str("v"), NULL, NULL, &err),
                   MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(err.code, MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_table_parse(NULL, 5, tu_str("v"), NULL, &t, &err),
                   MDR_ERR_INVALID_ARGUMENT);
  assert_null(t);
  mdr_str bad_source = {NULL, 3};
  assert_int_equal(mdr_table_parse("", 0, bad_source, NULL, &t, &err), MDR_ERR_INVALID_ARGUMENT);
  mdr_parse_options o;
  memset(&o, 0, sizeof o);
  o.base_dir.len = 2;
  assert_int_equal(mdr_table_parse("", 0, tu_str("v"), &o, &t, &err), MDR_ERR_INVALID_ARGUMENT);
  /* err may be NULL. */
  assert_int_equal(mdr_table_parse("bogus\n", 6, tu_str("v"), NULL, &t, NULL), MDR_ERR_CONFIG);
  assert_null(t);
  assert_int_equal(mdr_table_parse("listener a http 80\n", 19, tu_str("v"), NULL, &t, NULL), 0);
  assert_non_null(t);
  mdr_table_unref(t);
  /* The source name is taken by length and shown escaped. */
  mdr_str src = {"conf/site.vhostsXYZ", 16};
  assert_int_equal(mdr_table_parse("x\n", 2, src, NULL, &t, &err), MDR_ERR_CONFIG);
  assert_string_equal(err.message,
                      "conf/site.vhosts:1: unknown statement 'x' "
                      "(expected listener, cert, policy or vhost)");
  mdr_str empty = {NULL, 0};
  assert_int_equal(mdr_table_parse("x\n", 2, empty, NULL, &t, &err), MDR_ERR_CONFIG);
  assert_string_equal(err.message,
                      "vhosts:1: unknown statement 'x' (expected listener, cert, policy or vhost)");
}

/* ------------------------------------------------------------------------ */
/* Statement errors                                                          */
/* ------------------------------------------------------------------------ */

static void test_statement_errors(void **state) {
  (void)state;
  expect_err("listener web http 80\nvhostt a listen=web names=a\n",
             "vhosts:2: unknown statement 'vhostt' (expected listener, cert, policy or vhost)",
             "vhostt", 2);
  expect_err("Listener web http 80\n",
             "vhosts:1: unknown statement 'Listener' (expected listener, cert, policy or vhost)",
             "Listener", 1);
  expect_err("\n\nlisten=web\n",
             "vhosts:3: unknown statement 'listen=web' (expected listener, cert, policy or vhost)",
             "listen=web", 3);
  expect_err("listener\n", "vhosts:1: listener: missing NAME", "listener", 1);
  expect_err("cert # k a.example\n", "vhosts:1: cert: missing NAME", "cert", 1);
  expect_err("policy\n", "vhosts:1: policy: missing NAME", "policy", 1);
  expect_err("vhost \\\n  \n", "vhosts:1: vhost: missing NAME", "vhost", 1);
  expect_err("vhost \\\n listen=web names=a\n",
             "vhosts:2: vhost: missing NAME before 'listen=web'", "listen=web", 2);
  expect_err("listener default=a https 443\n",
             "vhosts:1: listener: missing NAME before 'default=a'", "default=a", 1);
}

static void test_listener_errors(void **state) {
  (void)state;
  expect_err("listener web\n", "vhosts:1: listener 'web': missing SCHEME (http or https)", "web",
             1);
  expect_err("listener web default=a\n",
             "vhosts:1: listener 'web': missing SCHEME (http or https) before 'default=a'",
             "default=a", 1);
  expect_err("listener web ftp 21\n",
             "vhosts:1: listener 'web': bad scheme 'ftp' (expected http or https)", "ftp", 1);
  expect_err("listener web HTTPS 443\n",
             "vhosts:1: listener 'web': bad scheme 'HTTPS' (expected http or https)", "HTTPS", 1);
  expect_err("listener web 443 https\n",
             "vhosts:1: listener 'web': bad scheme '443' (expected http or https)", "443", 1);
  expect_err("listener web https\n", "vhosts:1: listener 'web': missing PORT", "web", 1);
  expect_err("listener web https default=a\n",
             "vhosts:1: listener 'web': missing PORT before 'default=a'", "default=a", 1);
  const char *bad_ports[] = {"99999", "65536", "0", "00", "-1", "+80", "80a", "0x50",
                             "123456789012345678901234567890"};
  for (size_t i = 0; i < sizeof bad_ports / sizeof bad_ports[0]; i++) {
    char text[128], msg[256];
    snprintf(text, sizeof text, "\n\n\nlistener web http %s\n", bad_ports[i]);
    snprintf(msg, sizeof msg, "vhosts:4: listener 'web': bad port '%s' (expected 1-65535)",
             bad_ports[i]);
    expect_err(text, msg, bad_ports[i], 4);
  }
  expect_err("listener web https 443 foo=1\n",
             "vhosts:1: listener 'web': unknown option 'foo=1'", "foo=1", 1);
  expect_err("listener web https 443 extra\n",
             "vhosts:1: listener 'web': unknown option 'extra'", "extra", 1);
  expect_err("listener web https 443 default\n",
             "vhosts:1: listener 'web': option 'default' needs a value ('default=VALUE')",
             "default", 1);
  expect_err("listener web https 443 default=\n",
             "vhosts:1: listener 'web': empty value in 'default='", "default=", 1);
  expect_err("listener web https 443 sni-host=strict \\\n sni-host=ignore\n",
             "vhosts:2: listener 'web': duplicate option 'sni-host=ignore'", "sni-host=ignore", 2);
  expect_err("listener web https 443 default=a default=a\n",
             "vhosts:1: listener 'web': duplicate option 'default=a'", "default=a", 1);
  expect_err("listener web https 443 public-ports=443,,444\n",
             "vhosts:1: listener 'web': empty entry in 'public-ports=443,,444'",
             "public-ports=443,,444", 1);
  expect_err("listener web https 443 public-ports=443,\n",
             "vhosts:1: listener 'web': empty entry in 'public-ports=443,'", "public-ports=443,",
             1);
  expect_err("listener web https 443 public-ports=,443\n",
             "vhosts:1: listener 'web': empty entry in 'public-ports=,443'", "public-ports=,443",
             1);
  expect_err("listener web https 443 public-ports=443,70000\n",
             "vhosts:1: listener 'web': bad port '70000' in 'public-ports=443,70000' "
             "(expected 1-65535)",
             "70000", 1);
  expect_err("listener web https 443 unknown-host=maybe\n",
             "vhosts:1: listener 'web': bad unknown-host 'maybe' (expected reject or default)",
             "unknown-host=maybe", 1);
  expect_err("listener web https 443 unknown-sni=Default\n",
             "vhosts:1: listener 'web': bad unknown-sni 'Default' (expected reject or default)",
             "unknown-sni=Default", 1);
  expect_err("listener web https 443 no-sni=allow\n",
             "vhosts:1: listener 'web': bad no-sni 'allow' (expected default or reject)",
             "no-sni=allow", 1);
  expect_err("listener web https 443 sni-host=loose\n",
             "vhosts:1: listener 'web': bad sni-host 'loose' (expected compatible, strict or "
             "ignore)",
             "sni-host=loose", 1);
  expect_err("listener w\x01" "eb http 80 x\n",
             "vhosts:1: listener 'w\\x01eb': unknown option 'x'", "x", 1);
}

static void test_cert_errors(void **state) {
  (void)state;
  expect_err("cert k a.example key=a.key\n", "vhosts:1: cert 'k': key= without file=", "key=a.key",
             1);
  expect_err("cert k a.example file=a.pem\n", "vhosts:1: cert 'k': file= without key=",
             "file=a.pem", 1);
  expect_err("cert k file=a.pem key=a.key\n",
             "vhosts:1: cert 'k': the certificate's names cannot be read without the OpenSSL "
             "adapter; list the names it covers on the line (cert NAME HOSTNAME... file=PEM "
             "key=PEM)",
             "file=a.pem", 1);
  expect_err("cert k a.example file=a.pem key=a.key file=b.pem\n",
             "vhosts:1: cert 'k': duplicate option 'file=b.pem'", "file=b.pem", 1);
  expect_err("cert k a.example file= key=a.key\n", "vhosts:1: cert 'k': empty value in 'file='",
             "file=", 1);
  expect_err("cert k a.example chain=c.pem\n", "vhosts:1: cert 'k': unknown option 'chain=c.pem'",
             "chain=c.pem", 1);
}

static void test_policy_errors(void **state) {
  (void)state;
  expect_err("\n\n\n\n\npolicy p client-auth=maybe\n",
             "vhosts:6: policy 'p': bad client-auth 'maybe' (expected none, optional or required)",
             "client-auth=maybe", 6);
  expect_err("policy p min-tls=1.1\n",
             "vhosts:1: policy 'p': bad min-tls '1.1' (expected 1.2 or 1.3)", "min-tls=1.1", 1);
  expect_err("policy p strict\n", "vhosts:1: policy 'p': unknown option 'strict'", "strict", 1);
  expect_err("policy p ca-file=\n", "vhosts:1: policy 'p': empty value in 'ca-file='", "ca-file=",
             1);
  expect_err("policy p ca-file=a ca-file=b\n",
             "vhosts:1: policy 'p': duplicate option 'ca-file=b'", "ca-file=b", 1);
  expect_err("policy p client-auth\n",
             "vhosts:1: policy 'p': option 'client-auth' needs a value ('client-auth=VALUE')",
             "client-auth", 1);
}

static void test_vhost_errors(void **state) {
  (void)state;
  expect_err("listener w http 80\n\n\n\nvhost a names=a.example\n",
             "vhosts:5: vhost 'a': missing listen=", "a", 5);
  expect_err("listener w http 80\nvhost a listen=w\n", "vhosts:2: vhost 'a': missing names=", "a",
             2);
  expect_err("vhost a listen=w names=a,,b\n", "vhosts:1: vhost 'a': empty entry in 'names=a,,b'",
             "names=a,,b", 1);
  expect_err("vhost a listen=w, names=a\n", "vhosts:1: vhost 'a': empty entry in 'listen=w,'",
             "listen=w,", 1);
  expect_err("vhost a listen=w names=a redirect-names=,b\n",
             "vhosts:1: vhost 'a': empty entry in 'redirect-names=,b'", "redirect-names=,b", 1);
  expect_err("vhost a listen=w names=a names=b\n",
             "vhosts:1: vhost 'a': duplicate option 'names=b'", "names=b", 1);
  expect_err("vhost a listen=w names=a early-data early-data\n",
             "vhosts:1: vhost 'a': duplicate option 'early-data'", "early-data", 1);
  expect_err("vhost a listen=w names=a early-data=1\n",
             "vhosts:1: vhost 'a': option 'early-data' takes no value ('early-data=1')",
             "early-data=1", 1);
  expect_err("vhost a listen=w names=a early-data=\n",
             "vhosts:1: vhost 'a': option 'early-data' takes no value ('early-data=')",
             "early-data=", 1);
  expect_err("vhost a listen=w names=a cert\n",
             "vhosts:1: vhost 'a': option 'cert' needs a value ('cert=VALUE')", "cert", 1);
  expect_err("vhost a listen=w names=a cert=\n", "vhosts:1: vhost 'a': empty value in 'cert='",
             "cert=", 1);
  expect_err("vhost a listen=w names=a policy=\n",
             "vhosts:1: vhost 'a': empty value in 'policy='", "policy=", 1);
  expect_err("vhost a listen=w names=a http=https\n",
             "vhosts:1: vhost 'a': bad http 'https' (expected serve or redirect)", "http=https",
             1);
  expect_err("vhost a listen=w names=a redirect-status=303\n",
             "vhosts:1: vhost 'a': bad redirect-status '303' (expected 301, 302, 307 or 308)",
             "redirect-status=303", 1);
  expect_err("vhost a listen=w names=a redirect-status=0308\n",
             "vhosts:1: vhost 'a': bad redirect-status '0308' (expected 301, 302, 307 or 308)",
             "redirect-status=0308", 1);
  expect_err("vhost a listen=w names=a protocols=h1,h4\n",
             "vhosts:1: vhost 'a': bad protocol 'h4' in 'protocols=h1,h4' (expected h1, h2 or h3)",
             "h4", 1);
  expect_err("vhost a listen=w names=a protocols=http/1.1\n",
             "vhosts:1: vhost 'a': bad protocol 'http/1.1' in 'protocols=http/1.1' (expected h1, "
             "h2 or h3)",
             "http/1.1", 1);
  expect_err("vhost a listen=w names=a protocols=h2,h2\n",
             "vhosts:1: vhost 'a': protocol 'h2' listed twice in 'protocols=h2,h2'", "h2", 1);
  expect_err("vhost a listen=w names=a protocols=h2,\n",
             "vhosts:1: vhost 'a': empty entry in 'protocols=h2,'", "protocols=h2,", 1);
  expect_err("vhost a listen=w names=a protocols=\n",
             "vhosts:1: vhost 'a': empty value in 'protocols='", "protocols=", 1);
  expect_err("vhost a listen=w names=a www.a\n", "vhosts:1: vhost 'a': unknown option 'www.a'",
             "www.a", 1);
  expect_err("vhost a listen=w names=a Cert=x\n", "vhosts:1: vhost 'a': unknown option 'Cert=x'",
             "Cert=x", 1);
  expect_err("vhost a listen=w names=a =x\n", "vhosts:1: vhost 'a': unknown option '=x'", "=x",
             1);
  /* The first error wins. */
  expect_err("listener w http 80 bad=1\nvhost a\n",
             "vhosts:1: listener 'w': unknown option 'bad=1'", "bad=1", 1);
}

/* ------------------------------------------------------------------------ */
/* cert_names callback                                                       */
/* ------------------------------------------------------------------------ */

typedef struct cb_state {
  const char *names[8];
  size_t n;
  int rc;
  const char *why;
  char path[256];
  int calls;
  size_t caps[4];
  size_t many; /* report this many generated names instead */
  int grow;    /* and one more on every call */
} cb_state;

/* Generated names for cb_state.many (test-only storage). */
static char cb_store[6000][16];

static int cb_names(void *user, const char *path, mdr_str *names, size_t cap, size_t *n_names,
                    char *why, size_t why_cap) {
  cb_state *s = user;
  if (s->calls < 4) s->caps[s->calls] = cap;
  s->calls++;
  snprintf(s->path, sizeof s->path, "%s", path);
  if (s->rc) {
    if (s->why) snprintf(why, why_cap, "%s", s->why);
    return s->rc;
  }
  if (s->many) {
    if (s->grow && s->calls > 1) s->many++;
    *n_names = s->many;
    if (cap < s->many) return MDR_ERR_BUFFER_TOO_SMALL;
    for (size_t i = 0; i < s->many; i++) {
      snprintf(cb_store[i % 6000], sizeof cb_store[0], "h%u.example", (unsigned)(i % 6000));
      names[i] = tu_str(cb_store[i % 6000]);
    }
    return 0;
  }
  *n_names = s->n;
  for (size_t i = 0; i < s->n && i < cap; i++) names[i] = tu_str(s->names[i]);
  return 0;
}

static mdr_parse_options cb_opts(cb_state *s) {
  mdr_parse_options o;
  memset(&o, 0, sizeof o);
  o.cert_names = cb_names;
  o.cert_names_user = s;
  o.base_dir = tu_str("/etc/mdr");
  return o;
}

static void test_cert_names_callback(void **state) {
  (void)state;
  cb_state s;
  memset(&s, 0, sizeof s);
  s.names[0] = "a.example";
  s.names[1] = "*.b.example";
  s.names[2] = "[2001:db8::1]";
  s.n = 3;
  mdr_parse_options o = cb_opts(&s);
  /* Names from the certificate only. */
  mdr_table *t = parse_ok_opts("listener s https 443 default=a\n"
                               "cert k file=k.pem key=k.key\n"
                               "vhost a listen=s names=a.example,x.b.example cert=k\n",
                               &o);
  assert_int_equal(s.calls, 1);
  assert_string_equal(s.path, "/etc/mdr/k.pem");
  /* The table keeps the paths as written; adapters resolve them. */
  assert_str(vhost(t, "a").cert_file, "k.pem");
  assert_str(vhost(t, "a").cert_key, "k.key");
  mdr_table_unref(t);
  /* Listed names agreeing as sets: order, case, repeats, a trailing dot and
   * the IPv6 spelling do not matter. */
  s.calls = 0;
  t = parse_ok_opts("listener s https 443 default=a\n"
                    "cert k [2001:DB8:0::1] A.example. *.B.example a.example file=k.pem key=k.key\n"
                    "vhost a listen=s names=a.example cert=k\n",
                    &o);
  assert_int_equal(s.calls, 1);
  mdr_table_unref(t);
  /* No call for a cert without file=. */
  s.calls = 0;
  t = parse_ok_opts("listener s https 443 default=a\n"
                    "cert k a.example\n"
                    "vhost a listen=s names=a.example cert=k\n",
                    &o);
  assert_int_equal(s.calls, 0);
  mdr_table_unref(t);
}

static void test_cert_names_mismatch(void **state) {
  (void)state;
  cb_state s;
  memset(&s, 0, sizeof s);
  s.names[0] = "a.example";
  s.names[1] = "c.example";
  s.n = 2;
  mdr_parse_options o = cb_opts(&s);
  expect_err_opts("cert k a.example b.example \\\n file=k.pem key=k.key\n", &o, MDR_ERR_CONFIG,
                  "vhosts:2: cert 'k': the names listed do not agree with the certificate "
                  "'/etc/mdr/k.pem': listed but not in the certificate: b.example; in the "
                  "certificate but not listed: c.example",
                  "b.example", 2);
  expect_err_opts("cert k a.example file=k.pem key=k.key\n", &o, MDR_ERR_CONFIG,
                  "vhosts:1: cert 'k': the names listed do not agree with the certificate "
                  "'/etc/mdr/k.pem': listed but not in the certificate: (none); in the "
                  "certificate but not listed: c.example",
                  "c.example", 1);
  expect_err_opts("cert k a.example c.example *.c.example d.example file=k.pem key=k.key\n", &o,
                  MDR_ERR_CONFIG,
                  "vhosts:1: cert 'k': the names listed do not agree with the certificate "
                  "'/etc/mdr/k.pem': listed but not in the certificate: *.c.example, d.example; "
                  "in the certificate but not listed: (none)",
                  "*.c.example", 1);
  /* A certificate without names against listed ones. */
  s.n = 0;
  expect_err_opts("cert k a.example file=/k.pem key=k.key\n", &o, MDR_ERR_CONFIG,
                  "vhosts:1: cert 'k': the names listed do not agree with the certificate "
                  "'/k.pem': listed but not in the certificate: a.example; in the "
                  "certificate but not listed: (none)",
                  "a.example", 1);
}

static void test_cert_names_callback_errors(void **state) {
  (void)state;
  cb_state s;
  memset(&s, 0, sizeof s);
  s.rc = MDR_ERR_IO;
  s.why = "No such file or directory";
  mdr_parse_options o = cb_opts(&s);
  expect_err_opts("cert k file=k.pem key=k.key\n", &o, MDR_ERR_IO,
                  "vhosts:1: cert 'k': cannot read the names of '/etc/mdr/k.pem': No such file or "
                  "directory",
                  "file=k.pem", 1);
  s.why = NULL;
  s.rc = MDR_ERR_DECODE;
  expect_err_opts("\ncert k a.example file=k.pem key=k.key\n", &o, MDR_ERR_DECODE,
                  "vhosts:2: cert 'k': cannot read the names of '/etc/mdr/k.pem': malformed "
                  "input encoding",
                  "file=k.pem", 2);
  s.rc = -5; /* not an MDR_ERR_* code */
  expect_err_opts("cert k file=k.pem key=k.key\n", &o, MDR_ERR_CONFIG,
                  "vhosts:1: cert 'k': cannot read the names of '/etc/mdr/k.pem': the cert_names "
                  "callback returned -5",
                  "file=k.pem", 1);
  s.rc = MDR_ERR_NOMEM;
  expect_err_opts("cert k file=k.pem key=k.key\n", &o, MDR_ERR_NOMEM, "vhosts: out of memory", "",
                  0);
}

static void test_cert_names_many(void **state) {
  (void)state;
  cb_state s;
  memset(&s, 0, sizeof s);
  s.many = 100; /* fits the first call's room */
  mdr_parse_options o = cb_opts(&s);
  static const char text[] = "listener s https 443 default=a\n"
                             "cert k file=k.pem key=k.key\n"
                             "vhost a listen=s names=h99.example cert=k\n";
  mdr_table *t = parse_ok_opts(text, &o);
  assert_int_equal(s.calls, 1);
  assert_true(s.caps[0] >= 1000); /* room for a large SAN list at once */
  mdr_table_unref(t);
  /* More than the first call's room: asked again with room for all. */
  memset(&s, 0, sizeof s);
  s.many = 5000;
  t = parse_ok_opts(text, &o);
  assert_int_equal(s.calls, 2);
  assert_true(s.caps[0] < 5000);
  assert_int_equal(s.caps[1], 5000);
  mdr_table_unref(t);
  /* More than the limit: no second call. */
  memset(&s, 0, sizeof s);
  s.many = 70000;
  expect_err_opts("cert k file=k.pem key=k.key\n", &o, MDR_ERR_LIMIT,
                  "vhosts:1: cert 'k': cannot read the names of '/etc/mdr/k.pem': it covers 70000 "
                  "names; the limit is 65536",
                  "file=k.pem", 1);
  assert_int_equal(s.calls, 1);
  /* A callback that keeps asking for more room. */
  memset(&s, 0, sizeof s);
  s.many = 5000;
  s.grow = 1;
  expect_err_opts("cert k file=k.pem key=k.key\n", &o, MDR_ERR_CONFIG,
                  "vhosts:1: cert 'k': cannot read the names of '/etc/mdr/k.pem': the cert_names "
                  "callback reported 5001 names with room for 5000",
                  "file=k.pem", 1);
  assert_int_equal(s.calls, 2);
}

/* file= is joined with base_dir for the cert_names callback; the table keeps
 * file=, key= and ca-file= as written. */
static void check_join(const char *base, const char *file, const char *want) {
  cb_state s;
  memset(&s, 0, sizeof s);
  s.names[0] = "a.example";
  s.n = 1;
  mdr_parse_options o = cb_opts(&s);
  o.base_dir = tu_str(base);
  char text[512];
  snprintf(text, sizeof text,
           "listener s https 443 default=a\n"
           "cert k a.example file=%s key=keys/k.key\n"
           "policy p ca-file=ca.pem\n"
           "vhost a listen=s names=a.example cert=k policy=p\n",
           file);
  mdr_table *t = parse_ok_opts(text, &o);
  assert_int_equal(s.calls, 1);
  assert_string_equal(s.path, want);
  mdr_vhost_info a = vhost(t, "a");
  assert_str(a.cert, "k");
  assert_str(a.cert_file, file);
  assert_str(a.cert_key, "keys/k.key");
  assert_str(a.ca_file, "ca.pem");
  mdr_table_unref(t);
}

static void test_cert_paths(void **state) {
  (void)state;
  check_join("", "site.pem", "site.pem");
  check_join("conf", "site.pem", "conf/site.pem");
  check_join("/etc/mdr/", "certs/site.pem", "/etc/mdr/certs/site.pem");
  check_join("/etc/mdr", "/abs/site.pem", "/abs/site.pem");
  check_join("/", "site.pem", "/site.pem");
  /* base_dir need not be NUL-terminated: only its length counts. */
  cb_state s;
  memset(&s, 0, sizeof s);
  s.names[0] = "a.example";
  s.n = 1;
  mdr_parse_options o = cb_opts(&s);
  o.base_dir.ptr = "/srvXXXX";
  o.base_dir.len = 4;
  mdr_table *t = parse_ok_opts("listener s https 443 default=a\n"
                               "cert k file=site.pem key=k.key\n"
                               "vhost a listen=s names=a.example cert=k\n",
                               &o);
  assert_string_equal(s.path, "/srv/site.pem");
  mdr_table_unref(t);
  /* Without a callback nothing is joined or read. */
  t = parse_ok("listener s https 443 default=a\n"
               "cert k a.example file=site.pem key=k.key\n"
               "vhost a listen=s names=a.example cert=k\n");
  assert_str(vhost(t, "a").cert_file, "site.pem");
  assert_str(vhost(t, "a").cert_key, "k.key");
  mdr_table_unref(t);
}

/* ------------------------------------------------------------------------ */
/* Errors found by the builder come back with SOURCE:LINE                    */
/* ------------------------------------------------------------------------ */

static void test_builder_reference_errors(void **state) {
  (void)state;
  static const char head[] =
    "listener web https 443 default=a\n"  /* 1 */
    "listener plain http 80\n"            /* 2 */
    "cert k a.example b.example\n"        /* 3 */
    "policy p client-auth=required\n"     /* 4 */
    "\n"                                  /* 5 */
    "vhost a listen=web names=a.example cert=k\n"; /* 6 */
  char text[1024];
  snprintf(text, sizeof text, "%svhost b listen=web names=b.example cert=x\n", head);
  expect_err(text, "vhosts:7: vhost 'b': unknown cert 'x'", "x", 7);
  snprintf(text, sizeof text, "%svhost b listen=web names=b.example cert=k policy=q\n", head);
  expect_err(text, "vhosts:7: vhost 'b': unknown policy 'q'", "q", 7);
  snprintf(text, sizeof text, "%svhost b listen=plain,nope names=b.example\n", head);
  expect_err(text, "vhosts:7: vhost 'b': unknown listener 'nope'", "nope", 7);
  snprintf(text, sizeof text, "%svhost b listen=plain,web names=b.example\n", head);
  expect_err(text, "vhosts:7: vhost 'b': listens on TLS listener 'web' but has no cert=", "web", 7);
  /* No cert statement at all (UBSan once caught &certs[0] on NULL here). */
  expect_err("listener web http 80\nvhost b listen=web names=b.example cert=x\n",
             "vhosts:2: vhost 'b': unknown cert 'x'", "x", 2);
  expect_err("listener web http 80\nvhost b listen=web names=b.example policy=q\n",
             "vhosts:2: vhost 'b': unknown policy 'q'", "q", 2);
  /* A statement continued over lines is reported on its first line. */
  snprintf(text, sizeof text, "%svhost b \\\n listen=web \\\n names=b.example \\\n cert=x\n", head);
  expect_err(text, "vhosts:7: vhost 'b': unknown cert 'x'", "x", 7);
  /* Two vhosts claiming one name on one listener. */
  snprintf(text, sizeof text, "%svhost b listen=web names=b.example,A.example. cert=k\n", head);
  expect_err(text,
             "vhosts:7: vhost 'b': name 'a.example' on listener 'web' is already claimed by "
             "vhost 'a'",
             "a.example", 7);
  /* ... but on different listeners it is fine. */
  snprintf(text, sizeof text, "%svhost b listen=plain names=a.example\n", head);
  mdr_table *t = parse_ok(text);
  mdr_table_unref(t);
  /* A redirect alias counts too. */
  snprintf(text, sizeof text, "%svhost b listen=web names=b.example redirect-names=a.example cert=k\n",
           head);
  expect_err(text,
             "vhosts:7: vhost 'b': name 'a.example' on listener 'web' is already claimed by "
             "vhost 'a'",
             "a.example", 7);
}

static void test_builder_listener_errors(void **state) {
  (void)state;
  expect_err("cert k a.example\n"
             "listener web https 443 default=b\n"
             "vhost a listen=web names=a.example cert=k\n",
             "vhosts:2: listener 'web': unknown default vhost 'b'", "b", 2);
  expect_err("cert k a.example\n"
             "listener web https 443 default=a\n"
             "listener plain http 80\n"
             "vhost a listen=plain names=a.example cert=k\n",
             "vhosts:2: listener 'web': default vhost 'a' does not listen on it", "a", 2);
  expect_err("listener plain http 80\n"
             "listener web https 443\n",
             "vhosts:2: listener 'web': a TLS listener needs default= unless it has "
             "no-sni=reject and unknown-sni=reject",
             "web", 2);
  expect_err("listener web https 443 no-sni=reject unknown-sni=default\n",
             "vhosts:1: listener 'web': a TLS listener needs default= unless it has "
             "no-sni=reject and unknown-sni=reject",
             "web", 1);
  expect_err("listener web https 443 unknown-sni=reject\n",
             "vhosts:1: listener 'web': a TLS listener needs default= unless it has "
             "no-sni=reject and unknown-sni=reject",
             "web", 1);
  mdr_table *t = parse_ok("listener web https 443 no-sni=reject unknown-sni=reject\n"
                          "listener web2 https 444 no-sni=reject\n");
  assert_int_equal(listener(t, "web2").default_vhost, MDR_NONE);
  assert_int_equal(listener(t, "web").default_vhost, MDR_NONE);
  mdr_table_unref(t);
  expect_err("\nlistener plain http 80 unknown-host=default\n",
             "vhosts:2: listener 'plain': unknown-host=default needs default=", "plain", 2);
  expect_err("listener plain http 80 unknown-host=default default=w\n"
             "vhost w listen=plain names=*.example http=redirect\n",
             "vhosts:1: listener 'plain': default vhost 'w' has http=redirect but a wildcard "
             "first name, so unknown hosts could not be redirected",
             "w", 1);
}

static void test_builder_duplicate_errors(void **state) {
  (void)state;
  expect_err("listener web http 80\n\nlistener web http 81\n",
             "vhosts:3: listener 'web': defined twice (first on line 1)", "web", 3);
  expect_err("cert k a.example\ncert k b.example\n",
             "vhosts:2: cert 'k': defined twice (first on line 1)", "k", 2);
  expect_err("policy p\npolicy p min-tls=1.3\n",
             "vhosts:2: policy 'p': defined twice (first on line 1)", "p", 2);
  expect_err("listener w http 80\nvhost a listen=w names=a.example\nvhost a listen=w names=b.example\n",
             "vhosts:3: vhost 'a': defined twice (first on line 2)", "a", 3);
  expect_err("policy default client-auth=required\n",
             "vhosts:1: policy 'default': the name is taken by the built-in policy", "default", 1);
  expect_err("listener w http 80\nvhost a listen=w names=a.example,b.example,A.EXAMPLE\n",
             "vhosts:2: vhost 'a': name 'A.EXAMPLE' listed twice", "A.EXAMPLE", 2);
  expect_err("listener w http 80\nvhost a listen=w,w names=a.example\n",
             "vhosts:2: vhost 'a': listener 'w' named twice in listen=", "w", 2);
}

static void test_builder_name_errors(void **state) {
  (void)state;
  expect_err("listener w'x http 80\n", "vhosts:1: listener: invalid name 'w'x'", "w'x", 1);
  expect_err("cert k#1 a.example\n", "vhosts:1: cert: invalid name 'k#1'", "k#1", 1);
  expect_err("policy p,q\n", "vhosts:1: policy: invalid name 'p,q'", "p,q", 1);
  expect_err("vhost v,w listen=w names=a.example\n", "vhosts:1: vhost: invalid name 'v,w'", "v,w",
             1);
  expect_err("cert k a..example\n",
             "vhosts:1: cert 'k': invalid name 'a..example' (host-label-empty)", "a..example", 1);
  expect_err("listener w http 80\nvhost a listen=w names=a.example:80\n",
             "vhosts:2: vhost 'a': invalid name 'a.example:80' (names carry no port)",
             "a.example:80", 2);
  expect_err("listener w http 80\nvhost a listen=w names=a.example redirect-names=*.a.example\n",
             "vhosts:2: vhost 'a': invalid redirect name '*.a.example' (wildcards are not allowed "
             "here)",
             "*.a.example", 2);
  expect_err("listener w http 80\nvhost a listen=w names=*.a.example redirect-names=b.example\n",
             "vhosts:2: vhost 'a': redirect-names= needs a concrete first name (the redirect "
             "target), not '*.a.example'",
             "*.a.example", 2);
  expect_err("cert k a*.example\n",
             "vhosts:1: cert 'k': invalid name 'a*.example' (a wildcard must be the whole first "
             "label ('*.example.com'))",
             "a*.example", 1);
  expect_err("cert k *.192.0.2.1\n",
             "vhosts:1: cert 'k': invalid name '*.192.0.2.1' (a wildcard cannot cover an IP "
             "address)",
             "*.192.0.2.1", 1);
  expect_err("listener w http 80\nvhost a listen=w names=a#b.example\n",
             "vhosts:2: vhost 'a': invalid name 'a#b.example' (host-bad-char)", "a#b.example", 2);
  /* Names read from a certificate are checked the same way. */
  cb_state s;
  memset(&s, 0, sizeof s);
  s.names[0] = "ok.example";
  s.names[1] = "bad_-.example-";
  s.n = 2;
  mdr_parse_options o = cb_opts(&s);
  expect_err_opts("\ncert k file=k.pem key=k.key\n", &o, MDR_ERR_CONFIG,
                  "vhosts:2: cert 'k': invalid name 'bad_-.example-' (host-label-hyphen)",
                  "bad_-.example-", 2);
}

/* Statements may refer to ones defined later; policy=default is built in. */
static void test_forward_references(void **state) {
  (void)state;
  mdr_table *t = parse_ok("vhost a listen=web names=a.example cert=k policy=default\n"
                          "vhost b listen=web names=b.example cert=k policy=p\n"
                          "listener web https 443 default=a\n"
                          "policy p min-tls=1.3\n"
                          "cert k a.example b.example\n");
  assert_str(vhost(t, "a").policy, "default");
  assert_str(vhost(t, "b").policy, "p");
  assert_int_equal(listener(t, "web").default_vhost, vhost_index(t, "a"));
  mdr_table_unref(t);
}

/* IP names: IPv4 dotted quads and bracketed IPv6 literals. */
static void test_ip_names(void **state) {
  (void)state;
  mdr_table *t = parse_ok("listener s https 443 default=ip\n"
                          "cert k 192.0.2.1 [2001:db8::1] a.example\n"
                          "vhost ip listen=s names=192.0.2.1,[2001:DB8:0::1] cert=k\n"
                          "vhost a listen=s names=a.example cert=k\n");
  assert_str(vhost(t, "ip").canonical, "192.0.2.1");
  mdr_table_unref(t);
}

/* ------------------------------------------------------------------------ */
/* Allocation failures                                                       */
/* ------------------------------------------------------------------------ */

static void alloc_fail_loop(const char *text, mdr_parse_options o) {
  size_t fail;
  int done = 0;
  for (fail = 1; fail < 100000 && !done; fail++) {
    tu_counting_mem m;
    tu_counting_mem_init(&m);
    m.fail_at = fail;
    o.mem = &m.mem;
    mdr_table *t = NULL;
    mdr_error err;
    int rc = parse_opts(text, &o, &t, &err);
    if (rc == 0) {
      assert_non_null(t);
      assert_true(m.calls < fail); /* succeeded without meeting the failure */
      mdr_table_unref(t);
      done = 1;
    } else {
      if (rc != MDR_ERR_NOMEM) print_error("fail_at %zu: %d %s\n", fail, rc, err.message);
      assert_int_equal(rc, MDR_ERR_NOMEM);
      assert_null(t);
      assert_int_equal(err.code, MDR_ERR_NOMEM);
      assert_string_equal(err.message, "vhosts: out of memory");
    }
    if (m.live != 0) print_error("fail_at %zu: %zu blocks leaked\n", fail, m.live);
    assert_int_equal(m.live, 0);
  }
  assert_true(done);
  assert_true(fail > 3); /* the loop did fail some allocations */
}

static void test_alloc_failures(void **state) {
  (void)state;
  mdr_parse_options o;
  memset(&o, 0, sizeof o);
  alloc_fail_loop(basic_vhosts, o);
  cb_state s;
  memset(&s, 0, sizeof s);
  s.many = 5000; /* two calls of the callback */
  o = cb_opts(&s);
  alloc_fail_loop("listener s https 443 default=a\n"
                  "cert k file=k.pem key=k.key\n"
                  "vhost a listen=s names=h1.example cert=k\n",
                  o);
  memset(&s, 0, sizeof s);
  s.names[0] = "h0.example";
  s.names[1] = "h1.example";
  s.n = 2;
  o = cb_opts(&s);
  alloc_fail_loop("listener s https 443 default=a public-ports=443,8443\n"
                  "cert k file=k.pem key=k.key\n"
                  "cert k2 h1.example H0.example. file=k2.pem key=k2.key\n"
                  "policy p client-auth=required ca-file=ca.pem\n"
                  "vhost a listen=s names=h1.example,h0.example \\\n"
                  "  redirect-names=h3.example,h4.example cert=k policy=p protocols=h1,h2\n",
                  o);
}

/* Issue 12 section 7: messages about the vhosts file show every byte
 * outside printable ASCII as \xHH, also in names the table builder reports
 * (0.2.0 let ESC sequences and CR reach the terminal), and mark a name cut
 * short with "...". */
static void test_messages_escape_and_cut_names(void **state) {
  (void)state;
  expect_err("listener web http 80\n"
             "vhost b\x1b]0;x\x07 listen=web names=a.example\n",
             "vhosts:2: vhost: invalid name 'b\\x1b]0;x\\x07'", "b\x1b]0;x\x07", 2);
  expect_err("listener web http 80\n"
             "vhost a listen=web\x1b[31m names=a.example\n",
             "vhosts:2: vhost 'a': unknown listener 'web\\x1b[31m'", "web\x1b[31m", 2);
  char text[512], want[512], name[300];
  memset(name, 'b', sizeof name);
  name[0] = 'a';
  snprintf(text, sizeof text, "listener web http 80\nvhost %.240s listen=web names=a.example cert=x\n",
           name);
  snprintf(want, sizeof want, "vhosts:2: vhost '%.92s...': unknown cert 'x'", name);
  expect_err(text, want, "x", 2);
}

/* A file with CR-only line ends, and blanks other than space and tab
 * between options, get messages that name the real problem (0.2.0: "bad
 * port '443\x0dvhost'", "missing names="). */
static void test_messages_name_line_ends_and_blanks(void **state) {
  (void)state;
  expect_err("listener web https 443\rvhost a listen=web names=a.example\r",
             "vhosts:1: a carriage return (\\x0d) inside the line: lines end with LF or CRLF, not "
             "CR alone (a file saved with classic Mac OS line ends?)",
             "", 1);
  expect_err("# the vhosts\rlistener web http 80\r",
             "vhosts:1: a carriage return (\\x0d) inside the line: lines end with LF or CRLF, not "
             "CR alone (a file saved with classic Mac OS line ends?)",
             "", 1);
  expect_err("listener web http 80\n"
             "vhost a listen=web\xc2\xa0names=a.example\n",
             "vhosts:2: a no-break space (U+00A0, bytes \\xc2\\xa0) in "
             "'listen=web\\xc2\\xa0names=a.example': separate tokens with ASCII spaces or tabs only",
             "listen=web\xc2\xa0names=a.example", 2);
  expect_err("listener web http 80\n"
             "vhost a listen=web\fnames=a.example\n",
             "vhosts:2: a form feed (\\x0c) in 'listen=web\\x0cnames=a.example': separate tokens "
             "with ASCII spaces or tabs only",
             "listen=web\fnames=a.example", 2);
  expect_err("listener web http 80\n"
             "vhost a \\\n"
             "  listen=web\vnames=a.example\n",
             "vhosts:3: a vertical tab (\\x0b) in 'listen=web\\x0bnames=a.example': separate "
             "tokens with ASCII spaces or tabs only",
             "listen=web\vnames=a.example", 3);
  /* non-ASCII elsewhere is not a blank: a name with U+00E9 is an invalid name */
  expect_err("listener web http 80\n"
             "vhost caf\xc3\xa9 listen=web names=a.example\n",
             "vhosts:2: vhost: invalid name 'caf\\xc3\\xa9'", "caf\xc3\xa9", 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_basic_example),
    cmocka_unit_test(test_basic_example_file),
    cmocka_unit_test(test_statement_lines_and_find),
    cmocka_unit_test(test_listener_options),
    cmocka_unit_test(test_vhost_options),
    cmocka_unit_test(test_policy_options),
    cmocka_unit_test(test_cert_paths),
    cmocka_unit_test(test_comments_and_blanks),
    cmocka_unit_test(test_hash_inside_token),
    cmocka_unit_test(test_continuation),
    cmocka_unit_test(test_continuation_error_lines),
    cmocka_unit_test(test_crlf),
    cmocka_unit_test(test_no_trailing_newline),
    cmocka_unit_test(test_length_respected),
    cmocka_unit_test(test_nul_byte),
    cmocka_unit_test(test_bom),
    cmocka_unit_test(test_long_line),
    cmocka_unit_test(test_empty_input),
    cmocka_unit_test(test_arguments),
    cmocka_unit_test(test_statement_errors),
    cmocka_unit_test(test_listener_errors),
    cmocka_unit_test(test_cert_errors),
    cmocka_unit_test(test_policy_errors),
    cmocka_unit_test(test_vhost_errors),
    cmocka_unit_test(test_cert_names_callback),
    cmocka_unit_test(test_cert_names_mismatch),
    cmocka_unit_test(test_cert_names_callback_errors),
    cmocka_unit_test(test_cert_names_many),
    cmocka_unit_test(test_builder_reference_errors),
    cmocka_unit_test(test_builder_listener_errors),
    cmocka_unit_test(test_builder_duplicate_errors),
    cmocka_unit_test(test_builder_name_errors),
    cmocka_unit_test(test_forward_references),
    cmocka_unit_test(test_ip_names),
    cmocka_unit_test(test_alloc_failures),
    cmocka_unit_test(test_messages_escape_and_cut_names),
    cmocka_unit_test(test_messages_name_line_ends_and_blanks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
