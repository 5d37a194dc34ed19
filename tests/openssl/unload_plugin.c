/* A server module in miniature: a shared object that links the OpenSSL
 * adapter statically, as an nginx dynamic module would, for
 * test_ossl_unload.  It builds a one-vhost table, a context set, and
 * installs the adapter on the host's initial SSL_CTX. */
#include <stdio.h>
#include <string.h>

#include <misdirect/openssl.h>

#if defined(__GNUC__)
#  define PLUGIN_API __attribute__((visibility("default")))
#else
#  define PLUGIN_API
#endif

PLUGIN_API int plugin_start(const char *dir, SSL_CTX *initial);
PLUGIN_API void plugin_stop(int cleanup);

static mdr_table *g_table;
static mdr_ossl_set *g_set;

static mdr_str S(const char *s) {
  mdr_str r = {s, strlen(s)};
  return r;
}

int plugin_start(const char *dir, SSL_CTX *initial) {
  static const mdr_str names[] = {MDR_STR_LIT("x.example")};
  static const mdr_str listeners[] = {MDR_STR_LIT("web")};
  mdr_builder *b = NULL;
  mdr_error err;
  memset(&err, 0, sizeof err);
  if (mdr_builder_new(&b, NULL) != 0) return -1;
  mdr_listener_conf l;
  memset(&l, 0, sizeof l);
  l.tls = 1;
  l.name = S("web");
  l.port = 8443;
  l.default_vhost = S("x");
  mdr_cert_conf c;
  memset(&c, 0, sizeof c);
  c.name = S("x");
  c.names = names;
  c.n_names = 1;
  c.file = S("cert.pem");
  c.key = S("key.pem");
  mdr_vhost_conf v;
  memset(&v, 0, sizeof v);
  v.name = S("x");
  v.listeners = listeners;
  v.n_listeners = 1;
  v.names = names;
  v.n_names = 1;
  v.cert = S("x");
  int rc = mdr_builder_add_listener(b, &l, &err);
  if (rc == 0) rc = mdr_builder_add_cert(b, &c, &err);
  if (rc == 0) rc = mdr_builder_add_vhost(b, &v, &err);
  if (rc == 0) rc = mdr_builder_build(b, &g_table, &err);
  mdr_builder_free(b);
  mdr_ossl_set_options o;
  memset(&o, 0, sizeof o);
  o.base_dir = S(dir);
  if (rc == 0) rc = mdr_ossl_set_new(&g_set, g_table, S("web"), &o, &err);
  if (rc == 0) rc = mdr_ossl_install(g_set, initial, &err);
  if (rc != 0) fprintf(stderr, "plugin_start: %s\n", err.message);
  return rc;
}

/* The module's own cleanup: drop its references (connections still open
 * hold theirs), and with `cleanup` call mdr_ossl_cleanup explicitly (it
 * also runs by itself at dlclose). */
void plugin_stop(int cleanup) {
  mdr_ossl_set_unref(g_set);
  mdr_table_unref(g_table);
  g_set = NULL;
  g_table = NULL;
  if (cleanup) mdr_ossl_cleanup();
}
