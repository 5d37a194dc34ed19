/* Test harness for the OpenSSL adapter (see harness.h). */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* ------------------------------------------------------------------------ */
/* PKI                                                                       */
/* ------------------------------------------------------------------------ */

EVP_PKEY *h_key(void) {
  EVP_PKEY *k = NULL;
  EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
  if (pc && EVP_PKEY_keygen_init(pc) > 0 &&
      EVP_PKEY_CTX_set_ec_paramgen_curve_nid(pc, NID_X9_62_prime256v1) > 0)
    EVP_PKEY_keygen(pc, &k);
  EVP_PKEY_CTX_free(pc);
  return k;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
  X509V3_CTX ctx;
  char buf[512];
  snprintf(buf, sizeof buf, "%s", value);
  X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
  X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, buf);
  if (!e) return 0;
  int ok = X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
  return ok;
}

static long g_serial = 1000;

X509 *h_issue(EVP_PKEY *key, const char *cn, const char *san, int is_ca, X509 *issuer,
              EVP_PKEY *issuer_key) {
  X509 *x = X509_new();
  if (!x) return NULL;
  X509_NAME *name = X509_NAME_new();
  int ok = X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), g_serial++) &&
           X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
           X509_gmtime_adj(X509_getm_notAfter(x), 86400L) && name &&
           X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                                      -1, 0) &&
           X509_set_subject_name(x, name) &&
           X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) &&
           X509_set_pubkey(x, key);
  X509_NAME_free(name);
  if (ok) {
    ok = add_ext(x, issuer, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE") &&
         add_ext(x, issuer, NID_key_usage,
                 is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
         add_ext(x, issuer, NID_subject_key_identifier, "hash") &&
         (!issuer || add_ext(x, issuer, NID_authority_key_identifier, "keyid:always")) &&
         (!san || add_ext(x, issuer, NID_subject_alt_name, san));
  }
  if (ok) ok = X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
  if (!ok) {
    X509_free(x);
    return NULL;
  }
  return x;
}

int h_write_cert(const char *path, X509 *const *certs, size_t n) {
  FILE *f = fopen(path, "w");
  if (!f) return 0;
  int ok = 1;
  for (size_t i = 0; i < n; i++) ok = ok && PEM_write_X509(f, certs[i]);
  return fclose(f) == 0 && ok;
}

int h_write_key(const char *path, EVP_PKEY *k) {
  FILE *f = fopen(path, "w");
  if (!f) return 0;
  int ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
  return fclose(f) == 0 && ok;
}

const char *h_path(const h_pki *p, int slot, const char *file) {
  static char buf[4][512];
  snprintf(buf[slot & 3], sizeof buf[0], "%s/%s", p->dir, file);
  return buf[slot & 3];
}

static const char *const g_files[] = {
    "server-ca.pem", "ca-a.pem",   "ca-b.pem",   "ca-ab.pem",  "leaf-a.pem", "leaf-a.key",
    "leaf-b.pem",    "leaf-b.key", "leaf-c.pem", "leaf-c.key", "leaf-d.pem", "leaf-d.key",
    "client-a.pem",  "client-a.key", "client-b.pem", "client-b.key", "vhosts", "other.pem",
    "nosan.pem",     "sclient.out"};

static int leaf(h_pki *p, const char *stem, const char *cn, const char *san) {
  char pem[64], keyf[64];
  snprintf(pem, sizeof pem, "%s.pem", stem);
  snprintf(keyf, sizeof keyf, "%s.key", stem);
  EVP_PKEY *k = h_key();
  X509 *x = k ? h_issue(k, cn, san, 0, p->server_ca, p->server_ca_key) : NULL;
  X509 *chain[2] = {x, p->server_ca};
  int ok = x && h_write_cert(h_path(p, 0, pem), chain, 2) && h_write_key(h_path(p, 1, keyf), k);
  X509_free(x);
  EVP_PKEY_free(k);
  return ok;
}

int h_pki_init(h_pki *p) {
  memset(p, 0, sizeof *p);
  snprintf(p->dir, sizeof p->dir, "/tmp/mdr-ossl-XXXXXX");
  if (!mkdtemp(p->dir)) return 0;
  p->server_ca_key = h_key();
  p->client_ca_a_key = h_key();
  p->client_ca_b_key = h_key();
  p->client_a_key = h_key();
  p->client_b_key = h_key();
  if (!p->server_ca_key || !p->client_ca_a_key || !p->client_ca_b_key || !p->client_a_key ||
      !p->client_b_key)
    return 0;
  p->server_ca = h_issue(p->server_ca_key, "misdirect test server CA", NULL, 1, NULL, NULL);
  p->client_ca_a = h_issue(p->client_ca_a_key, "misdirect test client CA A", NULL, 1, NULL, NULL);
  p->client_ca_b = h_issue(p->client_ca_b_key, "misdirect test client CA B", NULL, 1, NULL, NULL);
  if (!p->server_ca || !p->client_ca_a || !p->client_ca_b) return 0;
  p->client_a = h_issue(p->client_a_key, "client of A", NULL, 0, p->client_ca_a, p->client_ca_a_key);
  p->client_b = h_issue(p->client_b_key, "client of B", NULL, 0, p->client_ca_b, p->client_ca_b_key);
  if (!p->client_a || !p->client_b) return 0;
  X509 *ab[2] = {p->client_ca_a, p->client_ca_b};
  return h_write_cert(h_path(p, 0, "server-ca.pem"), &p->server_ca, 1) &&
         h_write_cert(h_path(p, 0, "ca-a.pem"), &p->client_ca_a, 1) &&
         h_write_cert(h_path(p, 0, "ca-b.pem"), &p->client_ca_b, 1) &&
         h_write_cert(h_path(p, 0, "ca-ab.pem"), ab, 2) &&
         h_write_cert(h_path(p, 0, "client-a.pem"), &p->client_a, 1) &&
         h_write_key(h_path(p, 0, "client-a.key"), p->client_a_key) &&
         h_write_cert(h_path(p, 0, "client-b.pem"), &p->client_b, 1) &&
         h_write_key(h_path(p, 0, "client-b.key"), p->client_b_key) &&
         leaf(p, "leaf-a", "a.example",
              "DNS:a.example,DNS:www.a.example,DNS:b.example,DNS:e.example") &&
         leaf(p, "leaf-b", "b.example", "DNS:b.example") &&
         leaf(p, "leaf-c", "c.example", "DNS:c.example,IP:192.0.2.7,IP:2001:db8::1") &&
         leaf(p, "leaf-d", "d.example", "DNS:d.example");
}

void h_pki_free(h_pki *p) {
  EVP_PKEY_free(p->server_ca_key);
  EVP_PKEY_free(p->client_ca_a_key);
  EVP_PKEY_free(p->client_ca_b_key);
  EVP_PKEY_free(p->client_a_key);
  EVP_PKEY_free(p->client_b_key);
  X509_free(p->server_ca);
  X509_free(p->client_ca_a);
  X509_free(p->client_ca_b);
  X509_free(p->client_a);
  X509_free(p->client_b);
  if (p->dir[0]) {
    for (size_t i = 0; i < sizeof g_files / sizeof g_files[0]; i++) unlink(h_path(p, 0, g_files[i]));
    rmdir(p->dir);
  }
  memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------------------ */
/* Table                                                                     */
/* ------------------------------------------------------------------------ */

static mdr_str S(const char *s) {
  mdr_str r = {s, s ? strlen(s) : 0};
  return r;
}

mdr_table *h_table(const h_pki *p, const char *b_ca_file) {
  (void)p;
  mdr_builder *b = NULL;
  mdr_table *t = NULL;
  mdr_error err;
  if (mdr_builder_new(&b, NULL) != 0) return NULL;
  int rc = 0;
  {
    mdr_listener_conf l;
    memset(&l, 0, sizeof l);
    l.tls = 1;
    l.name = S("web");
    l.port = 8443;
    l.default_vhost = S("a");
    rc |= mdr_builder_add_listener(b, &l, &err);
    l.name = S("lax");
    l.port = 9443;
    l.unknown_sni = MDR_UNKNOWN_SNI_DEFAULT;
    rc |= mdr_builder_add_listener(b, &l, &err);
    l.name = S("closed");
    l.port = 10443;
    l.unknown_sni = MDR_UNKNOWN_SNI_REJECT;
    l.no_sni = MDR_NO_SNI_REJECT;
    rc |= mdr_builder_add_listener(b, &l, &err);
  }
  {
    static const mdr_str na[] = {MDR_STR_LIT("a.example"), MDR_STR_LIT("www.a.example"),
                                 MDR_STR_LIT("b.example"), MDR_STR_LIT("e.example")};
    static const mdr_str nb[] = {MDR_STR_LIT("b.example")};
    static const mdr_str nc[] = {MDR_STR_LIT("c.example"), MDR_STR_LIT("192.0.2.7"),
                                 MDR_STR_LIT("[2001:db8::1]")};
    static const mdr_str nd[] = {MDR_STR_LIT("d.example")};
    mdr_cert_conf c;
    memset(&c, 0, sizeof c);
    c.name = S("ca"); c.names = na; c.n_names = 4;
    c.file = S("leaf-a.pem"); c.key = S("leaf-a.key");
    rc |= mdr_builder_add_cert(b, &c, &err);
    c.name = S("cb"); c.names = nb; c.n_names = 1;
    c.file = S("leaf-b.pem"); c.key = S("leaf-b.key");
    rc |= mdr_builder_add_cert(b, &c, &err);
    c.name = S("cc"); c.names = nc; c.n_names = 3;
    c.file = S("leaf-c.pem"); c.key = S("leaf-c.key");
    rc |= mdr_builder_add_cert(b, &c, &err);
    c.name = S("cd"); c.names = nd; c.n_names = 1;
    c.file = S("leaf-d.pem"); c.key = S("leaf-d.key");
    rc |= mdr_builder_add_cert(b, &c, &err);
  }
  {
    mdr_policy_conf pc;
    memset(&pc, 0, sizeof pc);
    pc.name = S("mtls-b");
    pc.client_auth = MDR_CLIENT_AUTH_REQUIRED;
    pc.ca_file = S(b_ca_file ? b_ca_file : "ca-b.pem");
    rc |= mdr_builder_add_policy(b, &pc, &err);
    pc.name = S("mtls-a");
    pc.ca_file = S("ca-a.pem");
    rc |= mdr_builder_add_policy(b, &pc, &err);
  }
  {
    static const mdr_str l_all[] = {MDR_STR_LIT("web"), MDR_STR_LIT("lax"), MDR_STR_LIT("closed")};
    static const mdr_str n_a[] = {MDR_STR_LIT("a.example"), MDR_STR_LIT("www.a.example")};
    static const mdr_str n_b[] = {MDR_STR_LIT("b.example")};
    static const mdr_str n_c[] = {MDR_STR_LIT("c.example")};
    static const mdr_str n_d[] = {MDR_STR_LIT("d.example")};
    static const mdr_str n_e[] = {MDR_STR_LIT("e.example")};
    mdr_vhost_conf v;
    memset(&v, 0, sizeof v);
    v.name = S("a"); v.listeners = l_all; v.n_listeners = 3; v.names = n_a; v.n_names = 2;
    v.cert = S("ca");
    rc |= mdr_builder_add_vhost(b, &v, &err);
    v.name = S("b"); v.names = n_b; v.n_names = 1; v.cert = S("cb"); v.policy = S("mtls-b");
    rc |= mdr_builder_add_vhost(b, &v, &err);
    v.name = S("c"); v.n_listeners = 2; v.names = n_c; v.cert = S("cc"); v.policy = S("");
    v.protocols = MDR_PROTO_H1;
    rc |= mdr_builder_add_vhost(b, &v, &err);
    v.name = S("d"); v.n_listeners = 1; v.names = n_d; v.cert = S("cd"); v.policy = S("mtls-a");
    v.protocols = 0;
    rc |= mdr_builder_add_vhost(b, &v, &err);
    v.name = S("e"); v.names = n_e; v.cert = S("ca"); v.policy = S("");
    rc |= mdr_builder_add_vhost(b, &v, &err);
  }
  if (rc == 0 && mdr_builder_build(b, &t, &err) != 0) t = NULL;
  if (rc != 0 || !t) fprintf(stderr, "h_table: %s\n", err.message);
  mdr_builder_free(b);
  return t;
}

mdr_index h_vhost(const mdr_table *t, const char *name) {
  mdr_index v = MDR_NONE;
  if (mdr_table_find_vhost(t, S(name), &v) != 0) return MDR_NONE;
  return v;
}

/* ------------------------------------------------------------------------ */
/* Servers                                                                   */
/* ------------------------------------------------------------------------ */

static int new_set(h_server *s, const h_pki *p, const char *listener, mdr_ossl_alpn_mode alpn,
                   unsigned protocols) {
  mdr_ossl_set_options o;
  memset(&o, 0, sizeof o);
  o.protocols = protocols;
  o.base_dir = S(p->dir);
  o.alpn = alpn;
  mdr_error err;
  int rc = mdr_ossl_set_new(&s->set, s->table, S(listener), &o, &err);
  if (rc != 0) fprintf(stderr, "mdr_ossl_set_new: %s\n", err.message);
  return rc == 0;
}

int h_server_init(h_server *s, const h_pki *p, const char *listener, mdr_ossl_alpn_mode alpn) {
  return h_server_init_proto(s, p, listener, alpn, 0);
}

int h_server_init_proto(h_server *s, const h_pki *p, const char *listener,
                        mdr_ossl_alpn_mode alpn, unsigned protocols) {
  memset(s, 0, sizeof *s);
  s->table = h_table(p, NULL);
  if (!s->table || !new_set(s, p, listener, alpn, protocols)) return 0;
  s->initial = SSL_CTX_new(TLS_server_method());
  mdr_error err;
  return s->initial && mdr_ossl_install(s->set, s->initial, &err) == 0;
}

void h_server_free(h_server *s) {
  SSL_CTX_free(s->initial);
  mdr_ossl_set_unref(s->set);
  mdr_table_unref(s->table);
  memset(s, 0, sizeof *s);
}

h_host_counts h_counts;

static int host_client_hello(SSL *ssl, int *al, void *arg) {
  h_counts.client_hello_calls++;
  const unsigned char *p = NULL;
  size_t len = 0;
  h_counts.offered_psk = SSL_client_hello_get0_ext(ssl, 41 /* pre_shared_key */, &p, &len) == 1;
  h_counts.offered_ticket =
      SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_session_ticket, &p, &len) == 1 && len > 0;
  h_counts.offered_session_id = SSL_client_hello_get0_session_id(ssl, &p) > 0;
  /* The host's own logic would run here; then the adapter's step. */
  return mdr_ossl_client_hello(ssl, al, arg);
}

static int host_servername(SSL *ssl, int *al, void *arg) {
  (void)arg;
  h_counts.servername_calls++;
  return mdr_ossl_servername(ssl, al);
}

static int host_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                     const unsigned char *in, unsigned int inlen, void *arg) {
  (void)arg;
  return mdr_ossl_alpn_select(ssl, out, outlen, in, inlen);
}

void h_host_attach(SSL_CTX *initial, mdr_ossl_set *set) {
  SSL_CTX_set_client_hello_cb(initial, host_client_hello, set);
  SSL_CTX_set_tlsext_servername_callback(initial, host_servername);
  SSL_CTX_set_alpn_select_cb(initial, host_alpn, NULL);
  const mdr_table *t = mdr_ossl_set_table(set);
  for (mdr_index v = 0; v < mdr_table_vhost_count(t); v++) {
    SSL_CTX *ctx = mdr_ossl_set_ctx(set, v);
    if (!ctx) continue;
    SSL_CTX_set_client_hello_cb(ctx, host_client_hello, set);
    SSL_CTX_set_tlsext_servername_callback(ctx, host_servername);
    SSL_CTX_set_alpn_select_cb(ctx, host_alpn, NULL);
  }
}

int h_server_init_host(h_server *s, const h_pki *p, const char *listener, mdr_table *table) {
  memset(s, 0, sizeof *s);
  s->table = table ? mdr_table_ref(table) : h_table(p, NULL);
  if (!s->table || !new_set(s, p, listener, MDR_OSSL_ALPN_STRICT, 0)) return 0;
  s->initial = SSL_CTX_new(TLS_server_method());
  if (!s->initial) return 0;
  h_host_attach(s->initial, s->set);
  mdr_error err;
  return mdr_ossl_set_check(s->set, &err) == 0;
}

/* ------------------------------------------------------------------------ */
/* Clients and handshakes                                                    */
/* ------------------------------------------------------------------------ */

SSL_CTX *h_client_ctx(const h_pki *p, int version) {
  SSL_CTX *c = SSL_CTX_new(TLS_client_method());
  if (!c) return NULL;
  SSL_CTX_set_min_proto_version(c, version);
  SSL_CTX_set_max_proto_version(c, version);
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(c), p->server_ca);
  return c;
}

SSL *h_client(SSL_CTX *cctx, const char *sni, const char *verify_name) {
  SSL *c = SSL_new(cctx);
  if (!c) return NULL;
  if (sni) SSL_set_tlsext_host_name(c, sni);
  if (verify_name) SSL_set1_host(c, verify_name);
  SSL_set_connect_state(c);
  return c;
}

/* Per thread: test_ossl_threads handshakes on several threads at once. */
static _Thread_local int g_client_alert, g_server_alert, g_server_hellos;

static void client_info(const SSL *ssl, int where, int ret) {
  (void)ssl;
  if ((where & SSL_CB_READ_ALERT) && g_client_alert < 0) g_client_alert = ret & 0xff;
}

static void server_info(const SSL *ssl, int where, int ret) {
  (void)ssl;
  if ((where & SSL_CB_WRITE_ALERT) && g_server_alert < 0) g_server_alert = ret & 0xff;
}

static void server_msg(int write_p, int version, int content_type, const void *buf, size_t len,
                       SSL *ssl, void *arg) {
  (void)version; (void)ssl; (void)arg;
  if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
      ((const unsigned char *)buf)[0] == SSL3_MT_CLIENT_HELLO)
    g_server_hellos++;
}

int h_client_alert(void) {
  return g_client_alert;
}

void h_alerts_reset(void) {
  g_client_alert = g_server_alert = -1;
}

void h_wire(SSL *server, SSL *client) {
  BIO *c2s = BIO_new(BIO_s_mem()), *s2c = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(c2s, -1);
  BIO_set_mem_eof_return(s2c, -1);
  SSL_set_bio(server, c2s, s2c);
  BIO_up_ref(c2s);
  BIO_up_ref(s2c);
  SSL_set_bio(client, s2c, c2s);
  SSL_set_accept_state(server);
}

h_result h_handshake(SSL *server, SSL *client) {
  h_result r;
  memset(&r, 0, sizeof r);
  g_client_alert = g_server_alert = -1;
  g_server_hellos = 0;
  h_wire(server, client);
  SSL_set_info_callback(client, client_info);
  SSL_set_info_callback(server, server_info);
  SSL_set_msg_callback(server, server_msg);

  int c_done = 0, s_done = 0, c_fail = 0, s_fail = 0, after = 0;
  for (int i = 0; i < 100 && !(c_done && s_done); i++) {
    if (!c_done && !c_fail) {
      ERR_clear_error();
      int ret = SSL_do_handshake(client);
      if (ret == 1) c_done = 1;
      else {
        int e = SSL_get_error(client, ret);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) c_fail = 1;
      }
    }
    if (!s_done && !s_fail) {
      ERR_clear_error();
      int ret = SSL_do_handshake(server);
      if (ret == 1) s_done = 1;
      else {
        int e = SSL_get_error(server, ret);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
          s_fail = 1;
          r.server_err = ERR_peek_error();
        }
      }
    }
    if ((c_fail || s_fail) && ++after > 3) break;
  }
  /* Let the client read what the server sent last (TLS 1.3 tickets, or the
   * alert of a server that rejected the client's certificate). */
  if (c_done) {
    char b;
    ERR_clear_error();
    if (SSL_read(client, &b, 1) <= 0 && g_client_alert >= 0) c_done = 0;
  }
  ERR_clear_error();
  r.client_ok = c_done && !c_fail;
  r.server_ok = s_done && !s_fail;
  r.client_alert_recv = g_client_alert;
  r.server_alert_sent = g_server_alert;
  r.server_hellos = g_server_hellos;
  return r;
}

void h_close(SSL *server, SSL *client) {
  if (server && client && SSL_is_init_finished(server) && SSL_is_init_finished(client)) {
    SSL_shutdown(client);
    SSL_shutdown(server);
    SSL_shutdown(client);
  }
  ERR_clear_error();
  SSL_free(server);
  SSL_free(client);
}

int h_exchange(SSL *from, SSL *to, const char *data) {
  int n = (int)strlen(data);
  if (SSL_write(from, data, n) != n) return 0;
  char buf[256];
  int got = SSL_read(to, buf, (int)sizeof buf);
  return got == n && memcmp(buf, data, (size_t)n) == 0;
}

static void put16(unsigned char *p, size_t v) {
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
}

/* Build a ClientHello record into msg (cap bytes); returns its length.
 * tls13: TLS 1.3 hello (supported_versions, one key share of `share_group`);
 * else a TLS 1.2 hello. sni_ext NULL = no server_name. */
static size_t build_hello(unsigned char *msg, size_t cap, int tls13, unsigned share_group,
                          const unsigned char *sni_ext, size_t sni_ext_len) {
  static const unsigned char ext12[] = {
      0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17,             /* groups: P-256 */
      0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,                         /* point formats */
      0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03,             /* sig algs: ecdsa_p256 */
  };
  static const unsigned char ext13[] = {
      0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04,                   /* supported_versions: 1.3 */
      0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, /* groups: X25519, P-256 */
      0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03,             /* sig algs: ecdsa_p256 */
  };
  unsigned char share[4 + 6 + 65];
  size_t share_len = 0;
  if (tls13) {
    size_t kl = share_group == 0x1d ? 32 : 65;
    put16(share, 0x33);
    put16(share + 2, 2 + 4 + kl);
    put16(share + 4, 4 + kl);
    put16(share + 6, share_group);
    put16(share + 8, kl);
    for (size_t i = 0; i < kl; i++) share[10 + i] = (unsigned char)(9 + i * 3);
    if (kl == 65) share[10] = 0x04;
    share_len = 10 + kl;
  }
  const unsigned char *ext = tls13 ? ext13 : ext12;
  size_t ext_fixed = tls13 ? sizeof ext13 : sizeof ext12;
  size_t n = 9; /* record header (5) + handshake header (4) */
  msg[n++] = 0x03; msg[n++] = 0x03;                  /* legacy_version TLS 1.2 */
  for (int i = 0; i < 32; i++) msg[n++] = (unsigned char)(i * 7 + 1); /* random */
  msg[n++] = 0;                                      /* session id */
  msg[n++] = 0x00; msg[n++] = 0x02;                  /* one suite */
  msg[n++] = tls13 ? 0x13 : 0xc0;
  msg[n++] = tls13 ? 0x01 : 0x2b;
  msg[n++] = 0x01; msg[n++] = 0x00;                  /* null compression */
  size_t ext_len = ext_fixed + share_len + (sni_ext ? 4 + sni_ext_len : 0);
  if (n + 2 + ext_len > cap) return 0;
  put16(msg + n, ext_len);
  n += 2;
  if (sni_ext) { /* first, as real clients do */
    put16(msg + n, 0);
    put16(msg + n + 2, sni_ext_len);
    n += 4;
    if (sni_ext_len) memcpy(msg + n, sni_ext, sni_ext_len);
    n += sni_ext_len;
  }
  memcpy(msg + n, ext, ext_fixed);
  n += ext_fixed;
  memcpy(msg + n, share, share_len);
  n += share_len;
  msg[0] = 0x16; msg[1] = 0x03; msg[2] = 0x01;
  put16(msg + 3, n - 5);
  msg[5] = 0x01;
  msg[6] = (unsigned char)((n - 9) >> 16);
  put16(msg + 7, n - 9);
  return n;
}

/* Feed one record to ssl and return what the server wrote back. */
static int feed(SSL *ssl, BIO *in, BIO *out, const unsigned char *msg, size_t n,
                unsigned char *resp, size_t cap) {
  BIO_write(in, msg, (int)n);
  SSL_do_handshake(ssl);
  if (getenv("H_DEBUG")) ERR_print_errors_fp(stderr);
  ERR_clear_error();
  int got = BIO_read(out, resp, (int)cap);
  return got < 0 ? 0 : got;
}

int h_raw_hello_hrr(h_server *s, const unsigned char *sni1, size_t len1,
                    const unsigned char *sni2, size_t len2, int *hrr_seen) {
  static const unsigned char hrr_random[32] = {
      0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
      0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};
  unsigned char msg[2048], resp[8192];
  *hrr_seen = 0;
  SSL *ssl = SSL_new(s->initial);
  if (!ssl) return -2;
  /* The server accepts X25519 only; the first hello shares P-256. */
  if (SSL_set1_groups_list(ssl, "X25519") != 1) {
    SSL_free(ssl);
    return -2;
  }
  BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in, -1);
  BIO_set_mem_eof_return(out, -1);
  SSL_set_bio(ssl, in, out);
  SSL_set_accept_state(ssl);
  size_t n = build_hello(msg, sizeof msg, 1, 0x17, sni1, len1);
  int got = feed(ssl, in, out, msg, n, resp, sizeof resp);
  /* record(5) + type(1) + len(3) + legacy_version(2) + random(32) */
  if (got >= 43 && resp[0] == 0x16 && resp[5] == 0x02 && memcmp(resp + 11, hrr_random, 32) == 0)
    *hrr_seen = 1;
  int alert = -1;
  if (*hrr_seen) {
    n = build_hello(msg, sizeof msg, 1, 0x1d, sni2, len2);
    got = feed(ssl, in, out, msg, n, resp, sizeof resp);
    if (got >= 7 && resp[0] == 0x15) alert = resp[6];
  } else if (got >= 7 && resp[0] == 0x15) {
    alert = resp[6];
  }
  SSL_free(ssl);
  return alert;
}

int h_raw_hello(h_server *s, const unsigned char *sni_ext, size_t sni_ext_len) {
  unsigned char msg[2048];
  size_t n = build_hello(msg, sizeof msg, 0, 0, sni_ext, sni_ext_len);
  if (!n) return -2;
  SSL *ssl = SSL_new(s->initial);
  if (!ssl) return -2;
  BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in, -1);
  BIO_set_mem_eof_return(out, -1);
  SSL_set_bio(ssl, in, out);
  SSL_set_accept_state(ssl);
  BIO_write(in, msg, (int)n);
  SSL_do_handshake(ssl);
  if (getenv("H_DEBUG")) ERR_print_errors_fp(stderr);
  ERR_clear_error();
  unsigned char resp[4096];
  int got = BIO_read(out, resp, sizeof resp);
  int alert = -1;
  if (got >= 7 && resp[0] == 0x15) alert = resp[6];
  SSL_free(ssl);
  return alert;
}
