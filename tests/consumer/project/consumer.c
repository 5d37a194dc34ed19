/*
 * A tiny program that uses misdirect only through its installed public
 * header and library: it is built by tests/consumer against an install
 * prefix (find_package, pkg-config) and through add_subdirectory.
 * Exit status 0 when every check holds.
 */
#include <misdirect/misdirect.h>

#include <stdio.h>
#include <string.h>

static const char vhosts[] =
    "listener web https 443 default=www\n"
    "cert site www.example.com api.example.com admin.example.com\n"
    "policy staff client-auth=required\n"
    "vhost www   listen=web names=www.example.com cert=site\n"
    "vhost api   listen=web names=api.example.com cert=site\n"
    "vhost admin listen=web names=admin.example.com cert=site policy=staff\n";

static int failures;

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "consumer: FAILED: %s\n", what);
    failures++;
  }
}

/* One HTTP/2 request on a connection whose SNI was www.example.com. */
static int decide_h2(const mdr_table *t, mdr_index listener, mdr_index hs_vhost, const char *authority,
                     mdr_decision *d) {
  mdr_conn c;
  mdr_request r;
  mdr_str auth;
  char loc[256];

  memset(&c, 0, sizeof c);
  c.listener = listener;
  c.has_hs_vhost = 1;
  c.hs_vhost = hs_vhost;
  c.has_sni = 1;
  c.sni.ptr = "www.example.com";
  c.sni.len = strlen(c.sni.ptr);
  c.has_alpn = 1;
  c.alpn.ptr = "h2";
  c.alpn.len = 2;

  memset(&r, 0, sizeof r);
  r.version = MDR_HTTP_2;
  r.method.ptr = "GET";
  r.method.len = 3;
  r.has_target = 1;
  r.target.ptr = "/";
  r.target.len = 1;
  r.has_scheme = 1;
  r.scheme.ptr = "https";
  r.scheme.len = 5;
  auth.ptr = authority;
  auth.len = strlen(authority);
  r.authority = &auth;
  r.n_authority = 1;
  return mdr_decide(t, &c, &r, d, loc, sizeof loc);
}

int main(void) {
  mdr_table *t = NULL;
  mdr_error err;
  mdr_str source = MDR_STR_LIT("consumer.vhosts");
  mdr_index web = MDR_NONE, www = MDR_NONE, api = MDR_NONE;
  mdr_handshake_result hs;
  mdr_decision d;
  int rc;

  printf("misdirect %s (header %s)\n", mdr_version(), MDR_VERSION);
  check(strcmp(mdr_version(), MDR_VERSION) == 0, "library and header versions agree");
  check(mdr_version_num() == MDR_VERSION_NUM, "mdr_version_num() == MDR_VERSION_NUM");
  check(mdr_strerror(MDR_ERR_NOMEM) != NULL, "mdr_strerror gives text");

  memset(&err, 0, sizeof err);
  rc = mdr_table_parse(vhosts, sizeof vhosts - 1, source, NULL, &t, &err);
  if (rc != 0) {
    fprintf(stderr, "consumer: mdr_table_parse: %s: %s\n", mdr_strerror(rc), err.message);
    return 1;
  }
  check(mdr_table_vhost_count(t) == 3, "three vhosts");
  check(mdr_table_find_listener(t, (mdr_str)MDR_STR_LIT("web"), &web) == 0, "listener web");
  check(mdr_table_find_vhost(t, (mdr_str)MDR_STR_LIT("www"), &www) == 0, "vhost www");
  check(mdr_table_find_vhost(t, (mdr_str)MDR_STR_LIT("api"), &api) == 0, "vhost api");

  rc = mdr_handshake(t, web, 1, "www.example.com", 15, &hs);
  check(rc == 0 && hs.outcome == MDR_HS_ACCEPT && hs.vhost == www, "SNI www.example.com picks www");

  /* Coalesced HTTP/2 request for a sibling with the same certificate and policy. */
  rc = decide_h2(t, web, hs.vhost, "api.example.com", &d);
  printf("api.example.com   -> %u %s\n", d.status, mdr_reason_token(d.reason));
  check(rc == 0 && d.kind == MDR_SERVE && d.vhost == api, "api.example.com is served by api");

  /* Same certificate, but admin demands a client certificate: 421. */
  rc = decide_h2(t, web, hs.vhost, "admin.example.com", &d);
  printf("admin.example.com -> %u %s\n", d.status, mdr_reason_token(d.reason));
  check(rc == 0 && d.kind == MDR_MISDIRECTED && d.status == 421, "admin.example.com gets 421");

  mdr_table_unref(t);
  if (failures != 0) {
    fprintf(stderr, "consumer: %d check(s) failed\n", failures);
    return 1;
  }
  printf("consumer: all checks passed\n");
  return 0;
}
