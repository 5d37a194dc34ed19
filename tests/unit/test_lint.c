/* mdr_table_lint: every finding id through the builder API (with the
 * statement lines it reports), the count/stop contract, a deterministic
 * order, argument errors, allocation failure at every index (no leak), and
 * a 100,000-vhost table (completes; finds exactly what was seeded). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE 1 /* mkdtemp */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

/* ---- a compact way to feed the builder ---------------------------------- */

#define MAXL 8

/* Split "a,b,c" into strs (pointers into s); returns the count. */
static size_t split(const char *s, mdr_str *out) {
  size_t n = 0;
  if (!s || !*s) return 0;
  const char *p = s;
  for (;;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    assert_true(n < MAXL);
    out[n].ptr = p;
    out[n].len = len;
    n++;
    if (!e) break;
    p = e + 1;
  }
  return n;
}

typedef struct lopt {
  const char *def;
  int unknown_host_default, unknown_sni_default, strict;
  const char *public_ports; /* "443,9443" */
} lopt;

static void L(mdr_builder *b, unsigned line, const char *name, int tls, unsigned port, lopt o) {
  mdr_listener_conf c;
  memset(&c, 0, sizeof c);
  uint16_t pp[MAXL];
  mdr_str ps[MAXL];
  size_t np = split(o.public_ports, ps);
  for (size_t i = 0; i < np; i++) pp[i] = (uint16_t)strtoul(ps[i].ptr, NULL, 10);
  c.name = tu_str(name);
  c.tls = tls;
  c.port = (uint16_t)port;
  c.default_vhost = tu_str(o.def);
  c.public_ports = pp;
  c.n_public_ports = np;
  c.unknown_host = o.unknown_host_default ? MDR_UNKNOWN_HOST_DEFAULT : MDR_UNKNOWN_HOST_REJECT;
  c.unknown_sni = o.unknown_sni_default ? MDR_UNKNOWN_SNI_DEFAULT : MDR_UNKNOWN_SNI_REJECT;
  c.sni_host = o.strict ? MDR_SNI_HOST_STRICT : MDR_SNI_HOST_COMPATIBLE;
  c.line = line;
  mdr_error err;
  assert_int_equal(mdr_builder_add_listener(b, &c, &err), 0);
}

static void C(mdr_builder *b, unsigned line, const char *name, const char *names) {
  mdr_cert_conf c;
  memset(&c, 0, sizeof c);
  mdr_str ns[MAXL];
  c.name = tu_str(name);
  c.names = ns;
  c.n_names = split(names, ns);
  c.line = line;
  mdr_error err;
  assert_int_equal(mdr_builder_add_cert(b, &c, &err), 0);
}

/* A policy; one that asks for client certificates names "ca.pem" (not
 * opened unless a test asks for check_files), or ca_file when given. */
static void Pca(mdr_builder *b, unsigned line, const char *name, mdr_client_auth ca, mdr_min_tls min,
                const char *ca_file) {
  mdr_policy_conf c;
  memset(&c, 0, sizeof c);
  c.name = tu_str(name);
  c.client_auth = ca;
  c.min_tls = min;
  c.ca_file = tu_str(ca_file);
  c.line = line;
  mdr_error err;
  assert_int_equal(mdr_builder_add_policy(b, &c, &err), 0);
}

static void P(mdr_builder *b, unsigned line, const char *name, mdr_client_auth ca, mdr_min_tls min) {
  Pca(b, line, name, ca, min, ca != MDR_CLIENT_AUTH_NONE ? "ca.pem" : NULL);
}

typedef struct vopt {
  const char *aliases, *cert, *policy;
  int redirect;
  unsigned protocols;
} vopt;

static void V(mdr_builder *b, unsigned line, const char *name, const char *listen, const char *names,
              vopt o) {
  mdr_vhost_conf c;
  memset(&c, 0, sizeof c);
  mdr_str ls[MAXL], ns[MAXL], as[MAXL];
  c.name = tu_str(name);
  c.listeners = ls;
  c.n_listeners = split(listen, ls);
  c.names = ns;
  c.n_names = split(names, ns);
  c.redirect_names = as;
  c.n_redirect_names = split(o.aliases, as);
  c.cert = tu_str(o.cert);
  c.policy = tu_str(o.policy);
  c.http = o.redirect ? MDR_HTTP_REDIRECT : MDR_HTTP_SERVE;
  c.protocols = o.protocols;
  c.line = line;
  mdr_error err;
  int rc = mdr_builder_add_vhost(b, &c, &err);
  if (rc) print_error("%s\n", err.message);
  assert_int_equal(rc, 0);
}

static mdr_builder *B(void) {
  mdr_builder *b = NULL;
  assert_int_equal(mdr_builder_new(&b, NULL), 0);
  return b;
}

static mdr_table *build(mdr_builder *b) {
  mdr_table *t = NULL;
  mdr_error err;
  int rc = mdr_builder_build(b, &t, &err);
  if (rc) print_error("%s\n", err.message);
  assert_int_equal(rc, 0);
  mdr_builder_free(b);
  return t;
}

/* ---- collecting findings ------------------------------------------------ */

typedef struct got {
  mdr_lint_id id;
  unsigned line;
  char vhost[32], other[32], name[64], listener[32];
  char message[512];
} got;

typedef struct col {
  const mdr_table *t;
  got g[64];
  size_t n;
  size_t total;   /* callbacks seen */
  size_t stop_at; /* return 1 on this callback (1-based); 0 = never */
} col;

static void copy_name(char *dst, size_t cap, mdr_str s) {
  size_t n = s.len < cap - 1 ? s.len : cap - 1;
  if (n) memcpy(dst, s.ptr, n);
  dst[n] = '\0';
}

static int collect(void *user, const mdr_lint_finding *f) {
  col *c = user;
  c->total++;
  assert_non_null(memchr(f->message, '\0', sizeof f->message));
  assert_true(strlen(f->message) > 0);
  assert_null(strchr(f->message, '\n'));
  if (c->n < 64) {
    got *g = &c->g[c->n++];
    g->id = f->id;
    g->line = f->line;
    copy_name(g->vhost, sizeof g->vhost, mdr_vhost_name(c->t, f->vhost));
    copy_name(g->other, sizeof g->other, mdr_vhost_name(c->t, f->other_vhost));
    copy_name(g->name, sizeof g->name, f->name);
    g->listener[0] = '\0';
    mdr_listener_info li;
    if (f->listener != MDR_NONE && mdr_table_listener_info(c->t, f->listener, &li) == 0)
      copy_name(g->listener, sizeof g->listener, li.name);
    snprintf(g->message, sizeof g->message, "%s", f->message);
  }
  return c->stop_at && c->total == c->stop_at;
}

static col *lint_all(const mdr_table *t) {
  col *c = calloc(1, sizeof *c);
  assert_non_null(c);
  c->t = t;
  int n = mdr_table_lint(t, collect, c);
  assert_int_equal(n, (int)c->total);
  return c;
}

static void expect(const got *g, mdr_lint_id id, unsigned line, const char *vhost, const char *other,
                   const char *name) {
  assert_string_equal(mdr_lint_token(g->id), mdr_lint_token(id));
  assert_int_equal(g->line, line);
  assert_string_equal(g->vhost, vhost);
  assert_string_equal(g->other, other);
  assert_string_equal(g->name, name);
}

static const lopt L0 = { 0 };

/* ---- one test per id ---------------------------------------------------- */

static void test_coalesce(void **state) {
  (void)state;
  mdr_builder *b = B();
  L(b, 1, "web", 1, 443, (lopt){ .def = "www" });
  C(b, 2, "site", "www.example.com,admin.example.com");
  C(b, 3, "adm", "admin.example.com");
  P(b, 4, "staff", MDR_CLIENT_AUTH_REQUIRED, MDR_TLS_1_2);
  V(b, 5, "www", "web", "www.example.com", (vopt){ .cert = "site" });
  V(b, 6, "admin", "web", "admin.example.com", (vopt){ .cert = "adm", .policy = "staff" });
  /* same contents as the default: no finding for it */
  P(b, 7, "same", MDR_CLIENT_AUTH_NONE, MDR_TLS_1_2);
  V(b, 8, "blog", "web", "blog.example.com", (vopt){ .cert = "site", .policy = "same" });
  mdr_table *t = build(b);
  col *c = lint_all(t);
  /* www's and blog's connections (cert site, policy contents of the
   * default) coalesce into admin: one finding on admin naming both; blog's
   * own name is not covered by site (another id) */
  assert_int_equal(c->n, 2);
  expect(&c->g[0], MDR_LINT_COALESCE_POLICY, 6, "admin", "www", "admin.example.com");
  assert_string_equal(c->g[0].listener, "web");
  assert_non_null(strstr(c->g[0].message, "and 2 vhosts with other policies share listener 'web'"));
  assert_non_null(strstr(c->g[0].message, "(cert 'site' of 'www')"));
  assert_non_null(strstr(c->g[0].message, "policy 'staff': client-auth=required"));
  assert_non_null(strstr(c->g[0].message, "'www' (policy 'default'), 'blog' (policy 'same': client-auth=none)"));
  assert_null(strstr(c->g[0].message, "more"));
  expect(&c->g[1], MDR_LINT_NAME_NOT_COVERED, 8, "blog", "", "blog.example.com");
  free(c);
  mdr_table_unref(t);
}

/* Overlap through a wildcard, both directions found once; sni-host=strict
 * listeners are not checked for coalescing. */
static void test_coalesce_wildcard_once_per_pair(void **state) {
  (void)state;
  mdr_builder *b = B();
  L(b, 1, "web", 1, 443, (lopt){ .def = "a" });
  L(b, 2, "strict", 1, 8443, (lopt){ .def = "a", .strict = 1 });
  C(b, 3, "wild", "*.example.com");
  P(b, 4, "t13", MDR_CLIENT_AUTH_NONE, MDR_TLS_1_3);
  V(b, 5, "a", "web,strict", "a.example.com", (vopt){ .cert = "wild", .protocols = MDR_PROTO_H1 });
  V(b, 6, "b", "web,strict", "b.example.com,c.example.com", (vopt){ .cert = "wild", .policy = "t13" });
  mdr_table *t = build(b);
  col *c = lint_all(t);
  assert_int_equal(c->n, 1);
  expect(&c->g[0], MDR_LINT_COALESCE_POLICY, 6, "b", "a", "b.example.com");
  assert_string_equal(c->g[0].listener, "web");
  free(c);
  mdr_table_unref(t);
}

/* Lint output is O(vhosts) (issue 12, section 4): n vhosts on one wildcard
 * certificate, every other one client-auth=required, give one finding per
 * stricter vhost (0.2.0 gave one per pair, n^2/4), each counting the n/2
 * siblings and naming three; the bytes are held too. */
typedef struct counter {
  size_t findings, bytes, grouped;
  size_t n_half;
} counter;

static int count_cb(void *user, const mdr_lint_finding *f) {
  counter *k = user;
  k->findings++;
  k->bytes += strlen(f->message);
  char want[96];
  snprintf(want, sizeof want, "and %zu vhosts with other policies", k->n_half);
  char more[64];
  snprintf(more, sizeof more, " and %zu more", k->n_half - 3);
  if (f->id == MDR_LINT_COALESCE_POLICY && strstr(f->message, want) && strstr(f->message, more))
    k->grouped++;
  return 0;
}

static counter lint_half_strict(size_t n) {
  mdr_builder *b = B();
  L(b, 1, "web", 1, 443, (lopt){ .def = "v0" });
  C(b, 2, "wild", "*.example.com");
  P(b, 3, "staff", MDR_CLIENT_AUTH_REQUIRED, MDR_TLS_1_2);
  for (size_t i = 0; i < n; i++) {
    char name[32], host[48];
    snprintf(name, sizeof name, "v%zu", i);
    snprintf(host, sizeof host, "h%zu.example.com", i);
    V(b, 10 + (unsigned)i, name, "web", host,
      (vopt){ .cert = "wild", .policy = i % 2 ? "staff" : NULL, .protocols = MDR_PROTO_H1 });
  }
  mdr_table *t = build(b);
  counter k = { 0, 0, 0, n / 2 };
  int rc = mdr_table_lint(t, count_cb, &k);
  assert_int_equal(rc, (int)k.findings);
  mdr_table_unref(t);
  return k;
}

static void test_coalesce_output_linear(void **state) {
  (void)state;
  counter a = lint_half_strict(400), d = lint_half_strict(1600);
  assert_int_equal(a.findings, 200);
  assert_int_equal(a.grouped, 200);
  assert_int_equal(d.findings, 800);
  assert_int_equal(d.grouped, 800);
  /* 4x the vhosts, about 4x the bytes (a message is a few hundred bytes) */
  assert_true(d.bytes <= 5 * a.bytes);
  assert_true(d.bytes <= 400 * 1600);
}

/* client-auth-no-ca: no ca-file= (always), and with check_files a ca-file=
 * that is missing, a directory or empty, resolved against base_dir; a
 * readable one, an unused policy and client-auth=none are not reported. */
static const char *tmpdir(void) {
  static char dir[64];
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/mdr-lint-XXXXXX");
    assert_non_null(mkdtemp(dir));
  }
  return dir;
}

static void write_file(const char *dir, const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int collect2(const mdr_table *t, const mdr_lint_options *o, col *c) {
  memset(c, 0, sizeof *c);
  c->t = t;
  return mdr_table_lint2(t, o, collect, c);
}

static void test_client_auth_no_ca(void **state) {
  (void)state;
  const char *dir = tmpdir();
  write_file(dir, "good.pem", "-----BEGIN CERTIFICATE-----\n");
  write_file(dir, "empty.pem", "");
  char sub[128];
  snprintf(sub, sizeof sub, "%s/adir.pem", dir);
  assert_int_equal(mkdir(sub, 0700), 0);
  mdr_builder *b = B();
  L(b, 1, "web", 1, 443, (lopt){ .def = "a" });
  C(b, 2, "c", "*.example");
  Pca(b, 3, "none", MDR_CLIENT_AUTH_REQUIRED, MDR_TLS_1_2, NULL);
  Pca(b, 4, "missing", MDR_CLIENT_AUTH_OPTIONAL, MDR_TLS_1_2, "missing.pem");
  Pca(b, 5, "dir", MDR_CLIENT_AUTH_REQUIRED, MDR_TLS_1_2, "adir.pem");
  Pca(b, 6, "empty", MDR_CLIENT_AUTH_REQUIRED, MDR_TLS_1_2, "empty.pem");
  Pca(b, 7, "good", MDR_CLIENT_AUTH_REQUIRED, MDR_TLS_1_2, "good.pem");
  Pca(b, 8, "unused", MDR_CLIENT_AUTH_REQUIRED, MDR_TLS_1_2, NULL);
  Pca(b, 9, "plain", MDR_CLIENT_AUTH_NONE, MDR_TLS_1_2, "missing.pem");
  const char *pol[] = { "none", "missing", "dir", "empty", "good", "plain" };
  for (unsigned i = 0; i < 6; i++) {
    char name[8], host[32];
    snprintf(name, sizeof name, "%c", 'a' + i);
    snprintf(host, sizeof host, "%c.example", 'a' + i);
    /* one listener keeps coalescing out: each vhost on its own strict one */
    V(b, 20 + i, name, "web", host, (vopt){ .cert = "c", .policy = pol[i], .protocols = MDR_PROTO_H1 });
  }
  mdr_table *t = build(b);
  col *c = calloc(1, sizeof *c);
  assert_non_null(c);
  /* without check_files: only the policy without ca-file= */
  collect2(t, NULL, c);
  size_t k = 0, n_no_ca = 0;
  for (k = 0; k < c->n; k++)
    if (c->g[k].id == MDR_LINT_CLIENT_AUTH_NO_CA) {
      n_no_ca++;
      expect(&c->g[k], MDR_LINT_CLIENT_AUTH_NO_CA, 3, "a", "", "");
      assert_non_null(strstr(c->g[k].message, "policy 'none' (client-auth=required) of vhost 'a' has no ca-file="));
    }
  assert_int_equal(n_no_ca, 1);
  /* with check_files, against the folder */
  mdr_lint_options o;
  memset(&o, 0, sizeof o);
  o.check_files = 1;
  o.base_dir = tu_str(dir);
  collect2(t, &o, c);
  const char *want[] = { "has no ca-file=", "(not found)", "(a directory)", "is empty" };
  const unsigned lines[] = { 3, 4, 5, 6 };
  n_no_ca = 0;
  for (k = 0; k < c->n; k++) {
    if (c->g[k].id != MDR_LINT_CLIENT_AUTH_NO_CA) continue;
    assert_true(n_no_ca < 4);
    assert_int_equal(c->g[k].line, lines[n_no_ca]);
    assert_non_null(strstr(c->g[k].message, want[n_no_ca]));
    n_no_ca++;
  }
  assert_int_equal(n_no_ca, 4);
  /* resolved against base_dir: the message shows the path opened */
  char shown[160];
  snprintf(shown, sizeof shown, "'%s/missing.pem' (not found)", dir);
  int seen = 0;
  for (k = 0; k < c->n; k++) seen |= strstr(c->g[k].message, shown) != NULL;
  assert_true(seen);
  /* a NULL base_dir with a length is an argument error */
  o.base_dir.ptr = NULL;
  assert_int_equal(mdr_table_lint2(t, &o, collect, c), MDR_ERR_INVALID_ARGUMENT);
  free(c);
  mdr_table_unref(t);
  char path[256];
  snprintf(path, sizeof path, "%s/good.pem", dir);
  assert_int_equal(remove(path), 0);
  snprintf(path, sizeof path, "%s/empty.pem", dir);
  assert_int_equal(remove(path), 0);
  assert_int_equal(rmdir(sub), 0);
  assert_int_equal(rmdir(dir), 0);
}

/* sni-host-ignore-client-auth: once per TLS listener with sni-host=ignore,
 * counting its client-certificate vhosts; compatible listeners and ignore
 * without such a vhost are not reported. */
static void test_sni_ignore_client_auth(void **state) {
  (void)state;
  mdr_table *t = tu_table("listener web https 443 default=blog sni-host=ignore\n"
                          "listener pub https 8443 default=blog sni-host=ignore\n"
                          "listener ok https 9443 default=blog\n"
                          "cert c blog.example admin.example ops.example\n"
                          "policy staff client-auth=required ca-file=ca.pem\n"
                          "policy opt client-auth=optional ca-file=ca.pem\n"
                          "vhost blog listen=web,pub,ok names=blog.example cert=c\n"
                          "vhost admin listen=web,ok names=admin.example cert=c policy=staff\n"
                          "vhost ops listen=web names=ops.example cert=c policy=opt\n");
  col *c = lint_all(t);
  size_t n = 0;
  for (size_t k = 0; k < c->n; k++) {
    if (c->g[k].id != MDR_LINT_SNI_IGNORE_CLIENT_AUTH) continue;
    n++;
    expect(&c->g[k], MDR_LINT_SNI_IGNORE_CLIENT_AUTH, 1, "admin", "", "admin.example");
    assert_string_equal(c->g[k].listener, "web");
    assert_non_null(strstr(c->g[k].message, "and 1 other client-certificate vhost:"));
    assert_non_null(strstr(c->g[k].message, "serve-unchecked"));
  }
  assert_int_equal(n, 1);
  free(c);
  mdr_table_unref(t);
  /* what it reports: decide serves admin on blog's connection */
  t = tu_table("listener web https 443 default=blog sni-host=ignore\n"
               "cert c blog.example admin.example\n"
               "policy staff client-auth=required ca-file=ca.pem\n"
               "vhost blog listen=web names=blog.example cert=c\n"
               "vhost admin listen=web names=admin.example cert=c policy=staff\n");
  mdr_index web = MDR_NONE, blog = MDR_NONE;
  assert_int_equal(mdr_table_find_listener(t, tu_str("web"), &web), 0);
  assert_int_equal(mdr_table_find_vhost(t, tu_str("blog"), &blog), 0);
  mdr_conn conn;
  memset(&conn, 0, sizeof conn);
  conn.listener = web;
  conn.has_sni = 1;
  conn.sni = tu_str("blog.example");
  conn.has_hs_vhost = 1;
  conn.hs_vhost = blog;
  mdr_request rq;
  memset(&rq, 0, sizeof rq);
  mdr_str host = tu_str("admin.example");
  rq.version = MDR_HTTP_1_1;
  rq.has_target = 1;
  rq.target = tu_str("/");
  rq.host = &host;
  rq.n_host = 1;
  mdr_decision d;
  char loc[256];
  assert_int_equal(mdr_decide(t, &conn, &rq, &d, loc, sizeof loc), 0);
  assert_int_equal(d.status, 200);
  assert_string_equal(mdr_reason_token(d.reason), "serve-unchecked");
  c = lint_all(t);
  assert_int_equal(c->n, 1);
  expect(&c->g[0], MDR_LINT_SNI_IGNORE_CLIENT_AUTH, 1, "admin", "", "admin.example");
  free(c);
  mdr_table_unref(t);
}

/* duplicate-listener-port: every later listener with a port taken, whatever
 * the scheme, naming the first; public-ports= are not bound and not
 * compared. */
static void test_duplicate_listener_port(void **state) {
  (void)state;
  mdr_table *t = tu_table("listener a https 443 default=v\n"
                          "listener b http 443\n"
                          "listener c http 80 public-ports=443\n"
                          "listener d http 443\n"
                          "cert k v.example\n"
                          "vhost v listen=a,b,c,d names=v.example cert=k\n");
  col *c = lint_all(t);
  assert_int_equal(c->n, 2);
  expect(&c->g[0], MDR_LINT_DUPLICATE_LISTENER_PORT, 2, "", "", "");
  assert_string_equal(c->g[0].listener, "b");
  assert_non_null(strstr(c->g[0].message, "listener 'b' (http 443) has the port of listener 'a' (https 443, line 1)"));
  expect(&c->g[1], MDR_LINT_DUPLICATE_LISTENER_PORT, 4, "", "", "");
  assert_string_equal(c->g[1].listener, "d");
  assert_non_null(strstr(c->g[1].message, "of listener 'a'"));
  free(c);
  mdr_table_unref(t);
}

static void test_not_covered(void **state) {
  (void)state;
  mdr_builder *b = B();
  L(b, 1, "web", 1, 443, (lopt){ .def = "v" });
  L(b, 2, "plain", 0, 80, L0);
  C(b, 3, "c", "v.example.com,one.w.example.com");
  V(b, 4, "v", "web", "v.example.com,x.example.com", (vopt){ .cert = "c", .aliases = "y.example.com" });
  V(b, 5, "w", "web", "*.w.example.com", (vopt){ .cert = "c", .protocols = MDR_PROTO_H1 });
  /* cleartext only: its cert is never used, nothing to check */
  V(b, 6, "p", "plain", "p.example.com", (vopt){ .cert = "c" });
  mdr_table *t = build(b);
  col *c = lint_all(t);
  assert_int_equal(c->n, 3);
  expect(&c->g[0], MDR_LINT_NAME_NOT_COVERED, 4, "v", "", "x.example.com");
  expect(&c->g[1], MDR_LINT_ALIAS_NOT_COVERED, 4, "v", "", "y.example.com");
  expect(&c->g[2], MDR_LINT_NAME_NOT_COVERED, 5, "w", "", "*.w.example.com");
  free(c);
  mdr_table_unref(t);
}

static void test_wildcard_shadow(void **state) {
  (void)state;
  mdr_builder *b = B();
  L(b, 1, "web", 1, 443, (lopt){ .def = "w", .strict = 1 });
  C(b, 2, "cw", "*.x.example");
  C(b, 3, "ce", "e.x.example,f.x.example");
  P(b, 4, "opt", MDR_CLIENT_AUTH_OPTIONAL, MDR_TLS_1_2);
  V(b, 5, "w", "web", "*.x.example", (vopt){ .cert = "cw", .protocols = MDR_PROTO_H1 });
  V(b, 6, "e", "web", "e.x.example", (vopt){ .cert = "ce", .policy = "opt", .aliases = "f.x.example" });
  mdr_table *t = build(b);
  col *c = lint_all(t);
  assert_int_equal(c->n, 2);
  expect(&c->g[0], MDR_LINT_WILDCARD_SHADOW, 6, "e", "w", "e.x.example");
  expect(&c->g[1], MDR_LINT_WILDCARD_SHADOW, 6, "e", "w", "f.x.example");
  free(c);
  mdr_table_unref(t);
}

static void test_default_stricter(void **state) {
  (void)state;
  mdr_builder *b = B();
  L(b, 1, "web", 1, 443, (lopt){ .def = "d", .unknown_host_default = 1 });
  /* unknown-sni=reject and unknown-host=reject: not checked */
  L(b, 2, "quiet", 1, 8443, (lopt){ .def = "d" });
  C(b, 3, "cd", "d.example");
  C(b, 4, "co", "o.example");
  C(b, 5, "cq", "q.example");
  P(b, 6, "req", MDR_CLIENT_AUTH_REQUIRED, MDR_TLS_1_2);
  P(b, 7, "t13", MDR_CLIENT_AUTH_NONE, MDR_TLS_1_3);
  V(b, 8, "d", "web,quiet", "d.example", (vopt){ .cert = "cd", .policy = "req" });
  V(b, 9, "o", "web,quiet", "o.example", (vopt){ .cert = "co" });
  /* required+1.2 vs none+1.3: neither is stricter */
  V(b, 10, "q", "web,quiet", "q.example", (vopt){ .cert = "cq", .policy = "t13" });
  mdr_table *t = build(b);
  col *c = lint_all(t);
  assert_int_equal(c->n, 1);
  expect(&c->g[0], MDR_LINT_DEFAULT_STRICTER, 1, "d", "o", "");
  assert_string_equal(c->g[0].listener, "web");
  free(c);
  mdr_table_unref(t);
}

static void test_redirects(void **state) {
  (void)state;
  mdr_builder *b = B();
  L(b, 1, "web", 1, 443, (lopt){ .def = "new" });
  L(b, 2, "plain", 0, 80, L0);
  C(b, 5, "all", "new.example,old.example,b.example,c.example,d.example,www.example");
  C(b, 6, "ipc", "192.0.2.1");
  /* chain (and no TLS listener) */
  V(b, 7, "new", "web", "new.example", (vopt){ .cert = "all", .aliases = "old.example" });
  V(b, 8, "old", "plain", "old.example", (vopt){ .redirect = 1 });
  /* dead end: an IP vhost redirected to https, reached without SNI */
  V(b, 9, "www", "web,plain", "www.example", (vopt){ .cert = "all", .redirect = 1 });
  V(b, 10, "ip", "web,plain", "192.0.2.1", (vopt){ .cert = "ipc", .redirect = 1 });
  mdr_table *t = build(b);
  col *c = lint_all(t);
  assert_int_equal(c->n, 3);
  expect(&c->g[0], MDR_LINT_REDIRECT_CHAIN, 8, "old", "new", "old.example");
  assert_non_null(strstr(c->g[0].message, "takes 2 redirects"));
  expect(&c->g[1], MDR_LINT_REDIRECT_NO_TLS, 8, "old", "", "old.example");
  expect(&c->g[2], MDR_LINT_REDIRECT_DEAD_END, 10, "ip", "", "192.0.2.1");
  assert_non_null(strstr(c->g[2].message, "421 (cert-not-covering)"));
  free(c);
  mdr_table_unref(t);
}

static void test_redirect_loop(void **state) {
  (void)state;
  mdr_builder *b = B();
  L(b, 1, "front", 1, 8443, (lopt){ .def = "one", .public_ports = "443" });
  L(b, 2, "back", 1, 443, (lopt){ .def = "two", .public_ports = "8443" });
  C(b, 3, "all", "b.example,c.example,d.example");
  V(b, 4, "one", "front", "c.example", (vopt){ .cert = "all", .aliases = "b.example,d.example" });
  V(b, 5, "two", "back", "d.example", (vopt){ .cert = "all", .aliases = "c.example" });
  mdr_table *t = build(b);
  col *c = lint_all(t);
  assert_int_equal(c->n, 3);
  expect(&c->g[0], MDR_LINT_REDIRECT_LOOP, 4, "one", "two", "b.example");
  expect(&c->g[1], MDR_LINT_REDIRECT_LOOP, 4, "one", "two", "d.example");
  expect(&c->g[2], MDR_LINT_REDIRECT_LOOP, 5, "two", "one", "c.example");
  free(c);
  mdr_table_unref(t);
}

/* A one-hop http->https redirect (aliases included) is no chain. */
static void test_one_hop_is_clean(void **state) {
  (void)state;
  mdr_builder *b = B();
  L(b, 1, "web", 1, 443, (lopt){ .def = "home" });
  L(b, 2, "plain", 0, 80, L0);
  C(b, 3, "site", "www.example,example");
  V(b, 4, "home", "web,plain", "www.example", (vopt){ .cert = "site", .aliases = "example", .redirect = 1 });
  mdr_table *t = build(b);
  col *c = lint_all(t);
  assert_int_equal(c->n, 0);
  free(c);
  mdr_table_unref(t);
}

static void test_wildcard_not_advertised_and_canonical(void **state) {
  (void)state;
  mdr_builder *b = B();
  L(b, 1, "web", 1, 443, (lopt){ .def = "w" });
  C(b, 2, "cw", "*.X.example.,Z.example");
  V(b, 3, "w", "web", "*.x.example", (vopt){ .cert = "cw", .protocols = MDR_PROTO_H1 | MDR_PROTO_H3 });
  V(b, 4, "z", "web", "Z.Example.", (vopt){ .cert = "cw", .protocols = MDR_PROTO_H2 });
  mdr_table *t = build(b);
  col *c = lint_all(t);
  assert_int_equal(c->n, 4);
  expect(&c->g[0], MDR_LINT_NAME_NOT_CANONICAL, 2, "", "", "*.x.example");
  assert_non_null(strstr(c->g[0].message, "upper-case letters and a trailing dot"));
  expect(&c->g[1], MDR_LINT_NAME_NOT_CANONICAL, 2, "", "", "z.example");
  assert_non_null(strstr(c->g[1].message, "cert 'cw'"));
  expect(&c->g[2], MDR_LINT_WILDCARD_NOT_ADVERTISED, 3, "w", "", "*.x.example");
  assert_non_null(strstr(c->g[2].message, "allows h3"));
  expect(&c->g[3], MDR_LINT_NAME_NOT_CANONICAL, 4, "z", "", "z.example");
  free(c);
  mdr_table_unref(t);
}

/* ---- API contract ------------------------------------------------------- */

static const char many[] =
  "listener web https 443 default=a\n"
  "listener plain http 80\n"
  "cert c a.example B.example\n"
  "policy p client-auth=required ca-file=ca.pem\n"
  "vhost a listen=web names=a.example,x.example cert=c\n"
  "vhost b listen=web names=b.example cert=c policy=p\n"
  "vhost l listen=plain names=l.example http=redirect\n"
  "vhost w listen=web names=*.w.example cert=c\n";

static void test_tokens(void **state) {
  (void)state;
  for (int i = 0; i < MDR_LINT_COUNT_; i++) {
    const char *tok = mdr_lint_token((mdr_lint_id)i);
    assert_string_not_equal(tok, "unknown");
    assert_true(strlen(mdr_lint_why((mdr_lint_id)i)) > 10);
    assert_true(strlen(mdr_lint_fix((mdr_lint_id)i)) > 10);
    for (int j = 0; j < i; j++) assert_string_not_equal(tok, mdr_lint_token((mdr_lint_id)j));
  }
  assert_string_equal(mdr_lint_token(MDR_LINT_COUNT_), "unknown");
  assert_string_equal(mdr_lint_token((mdr_lint_id)-1), "unknown");
  assert_non_null(mdr_lint_why(MDR_LINT_COUNT_));
  assert_non_null(mdr_lint_fix((mdr_lint_id)-1));
  assert_string_equal(mdr_lint_token(MDR_LINT_COALESCE_POLICY), "coalesce-policy-mismatch");
  assert_string_equal(mdr_lint_token(MDR_LINT_NAME_NOT_CANONICAL), "name-not-canonical");
}

static void test_null_args(void **state) {
  (void)state;
  mdr_table *t = tu_table(many);
  col c;
  memset(&c, 0, sizeof c);
  assert_int_equal(mdr_table_lint(NULL, collect, &c), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_table_lint(t, NULL, &c), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(c.total, 0);
  mdr_table_unref(t);
}

static void test_count_and_stop(void **state) {
  (void)state;
  mdr_table *t = tu_table(many);
  col *all = lint_all(t);
  /* B.example (cert), x.example not covered, a's and w's connections
   * coalescing into b (one grouped finding), l without TLS listener, w's
   * wildcard not covered and not advertised */
  assert_int_equal(all->total, 6);
  for (size_t k = 1; k <= all->total; k++) {
    col *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->t = t;
    c->stop_at = k;
    assert_int_equal(mdr_table_lint(t, collect, c), (int)k);
    assert_int_equal(c->total, k);
    /* the walk stops in the same order */
    for (size_t i = 0; i < k; i++) assert_string_equal(c->g[i].message, all->g[i].message);
    free(c);
  }
  free(all);
  mdr_table_unref(t);
}

static void test_deterministic_order(void **state) {
  (void)state;
  mdr_table *t = tu_table(many);
  col *a = lint_all(t), *b = lint_all(t);
  assert_int_equal(a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    assert_int_equal(a->g[i].id, b->g[i].id);
    assert_string_equal(a->g[i].message, b->g[i].message);
    if (i) assert_true(a->g[i - 1].line <= a->g[i].line);
  }
  /* by line, then by id */
  assert_int_equal(a->g[0].line, 3);
  free(a);
  free(b);
  mdr_table_unref(t);
}

static int count_only(void *user, const mdr_lint_finding *f) {
  (void)f;
  (*(size_t *)user)++;
  return 0;
}

/* Fail the 1st, 2nd, ... allocation of a lint run until it succeeds: each
 * failure returns MDR_ERR_NOMEM, reports nothing and leaks nothing. */
static void test_alloc_fail(void **state) {
  (void)state;
  tu_counting_mem cm;
  tu_counting_mem_init(&cm);
  mdr_parse_options o;
  memset(&o, 0, sizeof o);
  o.mem = &cm.mem;
  mdr_table *t = NULL;
  mdr_error err;
  assert_int_equal(mdr_table_parse(many, strlen(many), tu_str("m"), &o, &t, &err), 0);
  size_t live = cm.live, base = cm.calls;
  size_t want = 0;
  assert_int_equal(mdr_table_lint(t, count_only, &want), 6);
  assert_int_equal(cm.live, live);
  size_t used = cm.calls - base;
  assert_true(used >= 3);
  for (size_t k = 1; k <= used; k++) {
    size_t n = 0;
    cm.fail_at = cm.calls + k;
    int rc = mdr_table_lint(t, count_only, &n);
    assert_int_equal(rc, MDR_ERR_NOMEM);
    assert_int_equal(n, 0);
    assert_int_equal(cm.live, live);
  }
  cm.fail_at = 0;
  size_t n = 0;
  assert_int_equal(mdr_table_lint(t, count_only, &n), 6);
  assert_int_equal(n, 6);
  mdr_table_unref(t);
  assert_int_equal(cm.live, 0);
}

/* ---- scale ---------------------------------------------------------------- */

enum { BIG = 100000, ZONES = 1000 };

static void test_100k(void **state) {
  (void)state;
  mdr_builder *b = B();
  L(b, 1, "web", 1, 443, (lopt){ .def = "v0", .unknown_sni_default = 1 });
  L(b, 2, "plain", 0, 80, L0);
  /* one certificate: *.zone<k>.example for every zone */
  {
    static char zbuf[ZONES][32];
    mdr_str *zs = malloc(ZONES * sizeof *zs);
    assert_non_null(zs);
    for (int k = 0; k < ZONES; k++) {
      int n = snprintf(zbuf[k], sizeof zbuf[k], "*.zone%d.example", k);
      zs[k].ptr = zbuf[k];
      zs[k].len = (size_t)n;
    }
    mdr_cert_conf c;
    memset(&c, 0, sizeof c);
    c.name = tu_str("c");
    c.names = zs;
    c.n_names = ZONES;
    c.line = 3;
    mdr_error err;
    assert_int_equal(mdr_builder_add_cert(b, &c, &err), 0);
    free(zs);
  }
  C(b, 4, "solo", "s1.solo.example,s2.solo.example");
  C(b, 5, "solo2", "s2.solo.example");
  P(b, 6, "staff", MDR_CLIENT_AUTH_REQUIRED, MDR_TLS_1_2);
  for (int i = 0; i < BIG; i++) {
    char name[16], host[48];
    snprintf(name, sizeof name, "v%d", i);
    snprintf(host, sizeof host, "h%d.zone%d.example", i, i % ZONES);
    V(b, 100 + (unsigned)i, name, "web", host, (vopt){ .cert = "c" });
  }
  /* the seeds */
  V(b, 10, "lost", "web", "lost.example", (vopt){ .cert = "c" });                         /* name-not-covered */
  V(b, 11, "al", "web", "al.zone1.example", (vopt){ .cert = "c", .aliases = "al.other" }); /* alias-not-covered */
  V(b, 12, "s1", "web", "s1.solo.example", (vopt){ .cert = "solo" });
  V(b, 13, "s2", "web", "s2.solo.example", (vopt){ .cert = "solo2", .policy = "staff" }); /* coalesce */
  V(b, 14, "leg", "plain", "leg.example", (vopt){ .redirect = 1 });                       /* no TLS */
  V(b, 15, "up", "web", "UP.zone2.example", (vopt){ .cert = "c" });                       /* not canonical */
  mdr_table *t = build(b);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  col *c = lint_all(t);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  fprintf(stderr, "lint of %d vhosts: %.1f ms (one measurement, not asserted)\n", BIG + 6, ms);
  assert_int_equal(c->n, 5);
  expect(&c->g[0], MDR_LINT_NAME_NOT_COVERED, 10, "lost", "", "lost.example");
  expect(&c->g[1], MDR_LINT_ALIAS_NOT_COVERED, 11, "al", "", "al.other");
  expect(&c->g[2], MDR_LINT_COALESCE_POLICY, 13, "s2", "s1", "s2.solo.example");
  expect(&c->g[3], MDR_LINT_REDIRECT_NO_TLS, 14, "leg", "", "leg.example");
  expect(&c->g[4], MDR_LINT_NAME_NOT_CANONICAL, 15, "up", "", "up.zone2.example");
  free(c);
  mdr_table_unref(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_coalesce),
    cmocka_unit_test(test_coalesce_wildcard_once_per_pair),
    cmocka_unit_test(test_coalesce_output_linear),
    cmocka_unit_test(test_client_auth_no_ca),
    cmocka_unit_test(test_sni_ignore_client_auth),
    cmocka_unit_test(test_duplicate_listener_port),
    cmocka_unit_test(test_not_covered),
    cmocka_unit_test(test_wildcard_shadow),
    cmocka_unit_test(test_default_stricter),
    cmocka_unit_test(test_redirects),
    cmocka_unit_test(test_redirect_loop),
    cmocka_unit_test(test_one_hop_is_clean),
    cmocka_unit_test(test_wildcard_not_advertised_and_canonical),
    cmocka_unit_test(test_tokens),
    cmocka_unit_test(test_null_args),
    cmocka_unit_test(test_count_and_stop),
    cmocka_unit_test(test_deterministic_order),
    cmocka_unit_test(test_alloc_fail),
    cmocka_unit_test(test_100k),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
