/* ex_data indices, per-connection state lifetime and session records. */
#include "ossl_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static CRYPTO_ONCE g_once = CRYPTO_ONCE_STATIC_INIT;
static int g_ssl_idx = -1;
static int g_closed;                 /* mdr_ossl_cleanup ran */

/* The adapter keeps one ex_data index, on SSL, whose free and dup
 * callbacks point into this library.  OpenSSL calls them for every SSL
 * freed or duplicated in the process, adapter's or not, so they must be
 * unregistered before this code is unloaded (a dlclose'd server module):
 * mdr_ossl_cleanup does it, and runs by itself when the module is unloaded
 * (an atexit handler, which a dlopen'd object runs at dlclose) or the
 * process exits.  Session records need no index: they live in the
 * session's ticket app data, which OpenSSL owns and frees. */

/* --- SSL ex_data: the per-connection state --------------------------------- */

static void conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
  (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
  ossl_conn *c = ptr;
  if (!c) return;
  mdr_ossl_set_unref(c->set);
  OPENSSL_free(c);
}

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#  define OSSL_FROM_D void **
#else
#  define OSSL_FROM_D void *
#endif

/* SSL_dup: a copy starts without adapter state (it has not seen a ClientHello). */
static int conn_dup(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, OSSL_FROM_D from_d, int idx,
                    long argl, void *argp) {
  (void)to; (void)from; (void)idx; (void)argl; (void)argp;
  *(void **)from_d = NULL;
  return 1;
}

/* --- Session records -------------------------------------------------------- */

/* A record is "MDR1" + policy id + vhost name, kept as the session's ticket
 * app data: serialised into stateless tickets, kept with cached sessions,
 * and freed by OpenSSL with the session. */
#define REC_MAGIC "MDR1"
#define REC_HDR (4 + MDR_OSSL_POLICY_ID_LEN)

static void at_unload(void) {
  mdr_ossl_cleanup();
}

static void init_once(void) {
  /* OpenSSL first, so that its own exit handler (registered at its
   * initialisation) runs after ours: handlers run in reverse order. */
  if (!OPENSSL_init_ssl(0, NULL)) return;
  g_ssl_idx = SSL_get_ex_new_index(0, (void *)"misdirect-openssl conn", NULL, conn_dup, conn_free);
  if (g_ssl_idx > 0 && atexit(at_unload) != 0) {
    CRYPTO_free_ex_index(CRYPTO_EX_INDEX_SSL, g_ssl_idx);
    g_ssl_idx = -1;
  }
}

int mdr_ossl_init(void) {
  if (!CRYPTO_THREAD_run_once(&g_once, init_once)) return MDR_ERR_NOMEM;
  if (g_closed) return MDR_ERR_INVALID_ARGUMENT;
  /* Index 0 is the host's (SSL_set_app_data): never use it. */
  if (g_ssl_idx <= 0) return MDR_ERR_NOMEM;
  return 0;
}

void mdr_ossl_cleanup(void) {
  /* CRYPTO_free_ex_index replaces the callbacks by OpenSSL's own no-ops. */
  if (g_ssl_idx > 0) CRYPTO_free_ex_index(CRYPTO_EX_INDEX_SSL, g_ssl_idx);
  g_ssl_idx = -1;
  g_closed = 1;
}

int ossl_ssl_index(void) {
  return mdr_ossl_init() == 0 ? g_ssl_idx : -1;
}

int ossl_session_record(SSL_SESSION *sess, const uint8_t policy_id[MDR_OSSL_POLICY_ID_LEN],
                        mdr_str vhost_name) {
  if (!sess) return MDR_ERR_INVALID_ARGUMENT;
  if (vhost_name.len > 1024) return MDR_ERR_LIMIT;
  unsigned char rec[REC_HDR + 1024];
  memcpy(rec, REC_MAGIC, 4);
  memcpy(rec + 4, policy_id, MDR_OSSL_POLICY_ID_LEN);
  if (vhost_name.len) memcpy(rec + REC_HDR, vhost_name.ptr, vhost_name.len);
  /* OpenSSL copies it into the session. */
  if (!SSL_SESSION_set1_ticket_appdata(sess, rec, REC_HDR + vhost_name.len))
    return MDR_ERR_NOMEM;
  return 0;
}

static int rec_parse(const unsigned char *p, size_t len, uint8_t policy_id[MDR_OSSL_POLICY_ID_LEN],
                     char *name, size_t name_cap, size_t *name_len) {
  if (len < REC_HDR || memcmp(p, REC_MAGIC, 4) != 0) return 0;
  size_t n = len - REC_HDR;
  if (n >= name_cap) return 0;
  memcpy(policy_id, p + 4, MDR_OSSL_POLICY_ID_LEN);
  if (n) memcpy(name, p + REC_HDR, n);
  name[n] = '\0';
  *name_len = n;
  return 1;
}

int ossl_session_lookup(SSL_SESSION *sess, uint8_t policy_id[MDR_OSSL_POLICY_ID_LEN], char *name,
                        size_t name_cap, size_t *name_len) {
  if (!sess) return 0;
  void *data = NULL;
  size_t len = 0;
  if (SSL_SESSION_get0_ticket_appdata(sess, &data, &len) && data)
    return rec_parse(data, len, policy_id, name, name_cap, name_len);
  return 0;
}

void ossl_error(mdr_error *err, int code, const char *token, const char *fmt, ...) {
  if (!err) return;
  memset(err, 0, sizeof *err);
  err->code = code;
  if (token) snprintf(err->token, sizeof err->token, "%s", token);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
}
