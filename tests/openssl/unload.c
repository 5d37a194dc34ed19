/* Unloading (issue 12, section 6): a server that loads misdirect as a
 * plug-in (a shared object linking the adapter statically, like an nginx
 * dynamic module) and dlclose()s it must leave no OpenSSL callback pointing
 * into the unloaded code.  OpenSSL calls an ex_data index's free callback
 * for every SSL freed in the process, so before the fix freeing any SSL
 * after the dlclose jumped into unmapped memory.  Each case dlopen()s the
 * plug-in, installs it on an SSL_CTX, runs a real handshake, dlclose()s it
 * (checking that it really was unmapped), then frees and creates SSL
 * objects. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#ifndef PLUGIN_PATH
#  error "PLUGIN_PATH must name the plug-in shared object"
#endif

typedef int (*start_fn)(const char *dir, SSL_CTX *initial);
typedef void (*stop_fn)(int cleanup);

static char g_dir[64];
static char g_cert[128], g_key[128];

/* A self-signed P-256 certificate for x.example. */
static int make_cert(void) {
  EVP_PKEY *k = NULL;
  EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
  int ok = kc && EVP_PKEY_keygen_init(kc) > 0 &&
           EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1) > 0 &&
           EVP_PKEY_keygen(kc, &k) > 0;
  EVP_PKEY_CTX_free(kc);
  X509 *x = ok ? X509_new() : NULL;
  ok = ok && x && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
       X509_gmtime_adj(X509_getm_notBefore(x), -60) &&
       X509_gmtime_adj(X509_getm_notAfter(x), 3600) && X509_set_pubkey(x, k);
  X509_NAME *n = ok ? X509_get_subject_name(x) : NULL;
  ok = ok && X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"x.example",
                                        -1, -1, 0) &&
       X509_set_issuer_name(x, n);
  X509_EXTENSION *e = ok ? X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:x.example")
                         : NULL;
  ok = ok && e && X509_add_ext(x, e, -1) && X509_sign(x, k, EVP_sha256());
  X509_EXTENSION_free(e);
  FILE *f = ok ? fopen(g_cert, "w") : NULL;
  ok = ok && f && PEM_write_X509(f, x);
  if (f) fclose(f);
  f = ok ? fopen(g_key, "w") : NULL;
  ok = ok && f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
  if (f) fclose(f);
  X509_free(x);
  EVP_PKEY_free(k);
  return ok;
}

static int group_setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/mdr-unload-XXXXXX");
  if (!mkdtemp(g_dir)) return -1;
  snprintf(g_cert, sizeof g_cert, "%s/cert.pem", g_dir);
  snprintf(g_key, sizeof g_key, "%s/key.pem", g_dir);
  return make_cert() ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  unlink(g_cert);
  unlink(g_key);
  rmdir(g_dir);
  return 0;
}

/* Handshake over a BIO pair, bounded; 1 when both sides finished. */
static int handshake(SSL *s, SSL *c) {
  BIO *bs = NULL, *bc = NULL;
  if (!BIO_new_bio_pair(&bs, 0, &bc, 0)) return 0;
  SSL_set_bio(s, bs, bs);
  SSL_set_bio(c, bc, bc);
  SSL_set_accept_state(s);
  SSL_set_connect_state(c);
  int sd = 0, cd = 0;
  for (int i = 0; i < 100 && !(sd && cd); i++) {
    if (!cd) {
      int r = SSL_do_handshake(c);
      if (r == 1) cd = 1;
      else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ) return 0;
    }
    if (!sd) {
      int r = SSL_do_handshake(s);
      if (r == 1) sd = 1;
      else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ) return 0;
    }
  }
  return sd && cd;
}

static SSL *client(SSL_CTX *cctx) {
  SSL *c = SSL_new(cctx);
  if (c) SSL_set_tlsext_host_name(c, "x.example");
  return c;
}

static void *load(start_fn *start, stop_fn *stop) {
  void *h = dlopen(PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
  if (!h) fprintf(stderr, "dlopen: %s\n", dlerror());
  assert_non_null(h);
  *(void **)start = dlsym(h, "plugin_start");
  *(void **)stop = dlsym(h, "plugin_stop");
  assert_non_null(*(void **)start);
  assert_non_null(*(void **)stop);
  return h;
}

/* dlclose, and prove the code is gone (else the test could not fail). */
static void unload(void *h) {
  assert_int_equal(dlclose(h), 0);
  assert_null(dlopen(PLUGIN_PATH, RTLD_NOW | RTLD_NOLOAD));
}

/* After the unload: a fresh handshake with contexts the plug-in never
 * touched, SSL_dup (the dup callback), and frees. */
static int life_goes_on(SSL_CTX *cctx) {
  SSL_CTX *p = SSL_CTX_new(TLS_server_method());
  int ok = p && SSL_CTX_use_certificate_chain_file(p, g_cert) == 1 &&
           SSL_CTX_use_PrivateKey_file(p, g_key, SSL_FILETYPE_PEM) == 1;
  SSL *s = ok ? SSL_new(p) : NULL, *c = client(cctx);
  SSL *d = s ? SSL_dup(s) : NULL;
  ok = ok && d && handshake(s, c);
  SSL_free(d);
  SSL_free(s);
  SSL_free(c);
  SSL_CTX_free(p);
  return ok;
}

static void run_unload(int explicit_cleanup) {
  start_fn start;
  stop_fn stop;
  void *h = load(&start, &stop);
  SSL_CTX *initial = SSL_CTX_new(TLS_server_method());
  SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
  assert_non_null(initial);
  assert_non_null(cctx);
  assert_int_equal(SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION), 1);
  assert_int_equal(start(g_dir, initial), 0);

  SSL *s = SSL_new(initial), *c = client(cctx);
  assert_true(handshake(s, c));
  assert_string_equal(SSL_get_servername(s, TLSEXT_NAMETYPE_host_name), "x.example");
  SSL_SESSION *sess = SSL_get1_session(s); /* carries the adapter's record */
  assert_non_null(sess);
  SSL *pristine = SSL_new(initial); /* never saw a handshake */
  SSL_free(s);
  SSL_free(c);

  stop(explicit_cleanup);
  unload(h);

  SSL_free(pristine); /* OpenSSL runs every SSL index's free callback */
  SSL_SESSION_free(sess);
  SSL_CTX_free(initial); /* its callbacks are never called again */
  assert_true(life_goes_on(cctx));
  SSL_CTX_free(cctx);
}

/* The module does nothing special: the adapter unregisters itself. */
static void test_unload_automatic(void **state) {
  (void)state;
  run_unload(0);
}

/* The module calls mdr_ossl_cleanup before dlclose (and it runs again,
 * harmlessly, at dlclose). */
static void test_unload_explicit_cleanup(void **state) {
  (void)state;
  run_unload(1);
}

/* A connection still open at the unload: freeing it afterwards must not
 * crash (its adapter state is then leaked, as docs/openssl.md says, so
 * this runs in a child that leaves with _exit, without a leak report). */
static void test_unload_with_open_connection(void **state) {
  (void)state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    start_fn start;
    stop_fn stop;
    void *h = dlopen(PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!h) _exit(10);
    *(void **)&start = dlsym(h, "plugin_start");
    *(void **)&stop = dlsym(h, "plugin_stop");
    SSL_CTX *initial = SSL_CTX_new(TLS_server_method());
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    if (!start || !stop || !initial || !cctx || start(g_dir, initial) != 0) _exit(11);
    SSL *s = SSL_new(initial), *c = client(cctx);
    if (!handshake(s, c)) _exit(12);
    stop(0);
    if (dlclose(h) != 0 || dlopen(PLUGIN_PATH, RTLD_NOW | RTLD_NOLOAD)) _exit(13);
    SSL_free(s);
    SSL_free(c);
    SSL_CTX_free(initial);
    if (!life_goes_on(cctx)) _exit(14);
    SSL_CTX_free(cctx);
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (WIFSIGNALED(status)) fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unload_automatic),
      cmocka_unit_test(test_unload_explicit_cleanup),
      cmocka_unit_test(test_unload_with_open_connection),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
