/* Internals of the OpenSSL adapter (not installed). */
#ifndef MISDIRECT_OSSL_INTERNAL_H
#define MISDIRECT_OSSL_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <misdirect/openssl.h>

#if OPENSSL_VERSION_NUMBER < 0x10101000L
#  error "misdirect-openssl needs OpenSSL 1.1.1 or later (SSL_CTX_set_client_hello_cb)"
#endif

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
typedef uint64_t ossl_opts;
#else
typedef unsigned long ossl_opts;
#endif

/* One SSL_CTX of a set, shared by every vhost with the same certificate
 * and TLS policy (or given for them with mdr_ossl_set_use_ctx). */
typedef struct ossl_ctx {
  SSL_CTX *ctx;                      /* NULL: a free slot */
  uint8_t policy_id[MDR_OSSL_POLICY_ID_LEN];
  char *ciphers12;                   /* TLS <= 1.2 cipher list, "" if none */
  char *ciphers13;                   /* TLS 1.3 suites, "" if none */
  size_t users;                      /* vhosts mapped to it */
  /* What it was made for (the sharing key): a loaded context is keyed by
   * the cert statement's name and the policy class, a host-given one by
   * its pointer. */
  mdr_str cert;                      /* points into the table */
  uint32_t policy_class;
  int given;                         /* 1: from mdr_ossl_set_use_ctx */
} ossl_ctx;

struct mdr_ossl_set {
  atomic_long refs;
  mdr_table *table;
  mdr_index listener;
  mdr_ossl_alpn_mode alpn;
  unsigned protocols;                /* what the server speaks; 0 = all */
  size_t n_vh;
  uint32_t *vh_ctx;                  /* per vhost: 1 + index into ctxs; 0 = none */
  ossl_ctx *ctxs;
  size_t n_ctx, cap_ctx;
  uint32_t *hash;                    /* open addressing: 1 + index into ctxs; 0 = empty */
  size_t hash_cap;                   /* a power of two, or 0 */
};

/* The context of vhost v, or NULL. */
const ossl_ctx *ossl_set_entry(const mdr_ossl_set *set, mdr_index v);

/* Per-connection state, kept in the adapter's private SSL ex_data index. */
typedef struct ossl_conn {
  mdr_ossl_set *set;                 /* reference held */
  unsigned hellos;                   /* ClientHello steps seen */
  int accepted;                      /* 1: accepted, vhost chosen */
  int refused;                       /* 1: refused with `alert` */
  int deferred;                      /* 1: refuse with `alert` in the servername step */
  int alert;
  mdr_handshake_result hs;           /* the core's answer (first ClientHello) */
  int have_hs;                       /* 1: hs holds the core's answer (accepted or refused) */
  int has_sni;
  unsigned char sni_raw[256];        /* raw name, truncated to 256 bytes */
  size_t sni_raw_len;
  size_t sni_full_len;               /* length before truncation */
  mdr_index vhost;
  uint8_t policy_id[MDR_OSSL_POLICY_ID_LEN];
  int resume_checked;                /* servername step ran */
  mdr_index resumed_vhost;
} ossl_conn;

/* The SSL ex_data index (once-guarded; -1 after mdr_ossl_cleanup). */
int ossl_ssl_index(void);

/* Session records (ticket app data): which vhost and policy created a session. */
int ossl_session_record(SSL_SESSION *sess, const uint8_t policy_id[MDR_OSSL_POLICY_ID_LEN],
                        mdr_str vhost_name);
/* Read the record: 1 found (policy_id and name filled; name points into a
 * buffer of name_cap bytes), 0 none. */
int ossl_session_lookup(SSL_SESSION *sess, uint8_t policy_id[MDR_OSSL_POLICY_ID_LEN],
                        char *name, size_t name_cap, size_t *name_len);

/* Fill an mdr_error (message formatted like the core's). */
void ossl_error(mdr_error *err, int code, const char *token, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Apply the vhost's context to an SSL (switch + everything SSL_set_SSL_CTX
 * does not copy).  Returns 1 on success. */
int ossl_apply_ctx(SSL *ssl, const ossl_ctx *vh);

/* Compute cipher strings of a context for ossl_apply_ctx.  0 or MDR_ERR_NOMEM. */
int ossl_cipher_strings(SSL_CTX *ctx, char **c12, char **c13);

#endif
