/* Test harness for the OpenSSL adapter: a PKI generated at test time, a
 * vhost table built through the core's builder, and in-process handshakes
 * over memory BIOs. */
#ifndef MISDIRECT_TEST_OSSL_HARNESS_H
#define MISDIRECT_TEST_OSSL_HARNESS_H

#include <stddef.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <misdirect/misdirect.h>
#include <misdirect/openssl.h>

/* Generated PKI, written as PEM files into dir. */
typedef struct h_pki {
  char dir[256];
  EVP_PKEY *server_ca_key;
  X509 *server_ca;             /* issues every server certificate */
  EVP_PKEY *client_ca_a_key, *client_ca_b_key;
  X509 *client_ca_a, *client_ca_b;
  EVP_PKEY *client_a_key, *client_b_key;
  X509 *client_a, *client_b;   /* client certificates issued by CA A / CA B */
} h_pki;

/* Files in pki.dir: server-ca.pem, ca-a.pem, ca-b.pem, ca-ab.pem (both),
 * leaf-a.pem/.key (a.example www.a.example b.example e.example),
 * leaf-b.pem/.key (b.example), leaf-c.pem/.key (c.example, IP 192.0.2.7,
 * IP 2001:db8::1), leaf-d.pem/.key (d.example). */
int h_pki_init(h_pki *p);
void h_pki_free(h_pki *p);
/* Full path of a file in the PKI folder (static buffer, one per slot 0-3). */
const char *h_path(const h_pki *p, int slot, const char *file);

/* Issue a certificate: CA when is_ca; san like "DNS:a.example,IP:192.0.2.7". */
X509 *h_issue(EVP_PKEY *key, const char *cn, const char *san, int is_ca, X509 *issuer,
              EVP_PKEY *issuer_key);
EVP_PKEY *h_key(void);
int h_write_cert(const char *path, X509 *const *certs, size_t n);
int h_write_key(const char *path, EVP_PKEY *k);

/*
 * The test table (builder API), base_dir = pki.dir:
 *   listener web    https 8443  default=a                     (strict SNI)
 *   listener lax    https 9443  default=a unknown-sni=default
 *   listener closed https 10443 default=a no-sni=reject
 *   cert ca a.example www.a.example b.example e.example file=leaf-a.pem key=leaf-a.key
 *   cert cb b.example  file=leaf-b.pem key=leaf-b.key
 *   cert cc c.example 192.0.2.7 [2001:db8::1] file=leaf-c.pem key=leaf-c.key
 *   cert cd d.example  file=leaf-d.pem key=leaf-d.key
 *   policy mtls-b client-auth=required ca-file=ca-b.pem     (b_ca_file overrides)
 *   policy mtls-a client-auth=required ca-file=ca-a.pem
 *   vhost a listen=web,lax,closed names=a.example,www.a.example cert=ca
 *   vhost b listen=web,lax,closed names=b.example cert=cb policy=mtls-b
 *   vhost c listen=web,lax        names=c.example cert=cc protocols=h1
 *   vhost d listen=web            names=d.example cert=cd policy=mtls-a
 *   vhost e listen=web            names=e.example cert=ca
 */
mdr_table *h_table(const h_pki *p, const char *b_ca_file);
mdr_index h_vhost(const mdr_table *t, const char *name);

/* A context set for `listener`, installed on a fresh initial context. */
typedef struct h_server {
  mdr_table *table;
  mdr_ossl_set *set;
  SSL_CTX *initial;
} h_server;
int h_server_init(h_server *s, const h_pki *p, const char *listener, mdr_ossl_alpn_mode alpn);
/* The same with mdr_ossl_set_options.protocols = protocols. */
int h_server_init_proto(h_server *s, const h_pki *p, const char *listener,
                        mdr_ossl_alpn_mode alpn, unsigned protocols);
void h_server_free(h_server *s);

/* A client context trusting the server CA, protocol pinned to `version`
 * (TLS1_2_VERSION or TLS1_3_VERSION), with a session cache. */
SSL_CTX *h_client_ctx(const h_pki *p, int version);
/* A client SSL: sni may be NULL; verify_name (may be NULL) is checked
 * against the peer's SAN. */
SSL *h_client(SSL_CTX *cctx, const char *sni, const char *verify_name);

/* Handshake outcome. */
typedef struct h_result {
  int client_ok, server_ok;
  int client_alert_recv;       /* alert description the client received, -1 none */
  int server_alert_sent;       /* alert description the server sent, -1 none */
  unsigned long server_err;    /* first OpenSSL error on the server side */
  int server_hellos;           /* ClientHello messages the server received */
} h_result;

/* Wire server and client with memory BIOs and run both to completion
 * (bounded).  For TLS 1.3 the client then reads the session tickets. */
h_result h_handshake(SSL *server, SSL *client);

/* Alert descriptions seen by the info callbacks h_handshake installed
 * (-1 none); h_alerts_reset clears them. */
int h_client_alert(void);
void h_alerts_reset(void);
/* Attach host-mode callbacks (calling the adapter's functions) to an
 * initial context and every vhost context of set. */
void h_host_attach(SSL_CTX *initial, mdr_ossl_set *set);

/* Wire server and client together with memory BIOs (done by h_handshake). */
void h_wire(SSL *server, SSL *client);

/* Close both ends cleanly (close_notify both ways) and free them.  OpenSSL
 * marks the session of an SSL freed without a shutdown as not resumable. */
void h_close(SSL *server, SSL *client);

/* Send `data` from one side and read it on the other (post-handshake I/O,
 * lets TLS 1.3 tickets flow). 1 ok. */
int h_exchange(SSL *from, SSL *to, const char *data);

/* Feed a raw ClientHello (TLS 1.2 record) whose server_name extension body
 * is `sni_ext` (NULL = no extension) to a fresh server SSL of s; returns the
 * alert description the server sent (-1 if none). */
int h_raw_hello(h_server *s, const unsigned char *sni_ext, size_t sni_ext_len);

/* TLS 1.3 by hand: a first ClientHello with server_name sni1 whose only key
 * share is for a group the server refuses (forcing HelloRetryRequest), then a
 * second one with server_name sni2.  *hrr_seen tells whether the server
 * answered the first with HelloRetryRequest.  Returns the alert the server
 * sent (-1 none). */
int h_raw_hello_hrr(h_server *s, const unsigned char *sni1, size_t len1,
                    const unsigned char *sni2, size_t len2, int *hrr_seen);

/* Counters of the adapter callbacks in host mode (h_server_init_host). */
typedef struct h_host_counts {
  int client_hello_calls;
  int offered_psk;             /* the last ClientHello carried a pre_shared_key */
  int offered_ticket;          /* ... a non-empty session_ticket extension */
  int offered_session_id;      /* ... a non-empty legacy session id */
  int servername_calls;
} h_host_counts;
extern h_host_counts h_counts;
/* Like h_server_init, but the host owns the callbacks and calls the
 * adapter's functions from them (integration style 2). */
int h_server_init_host(h_server *s, const h_pki *p, const char *listener, mdr_table *table);

#endif
