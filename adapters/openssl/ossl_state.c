/* ex_data indices, per-connection state lifetime and session records. */
#include "ossl_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static CRYPTO_ONCE g_once = CRYPTO_ONCE_STATIC_INIT;
static int g_ssl_idx = -1;
static int g_sess_idx = -1;

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

/* --- SSL_SESSION ex_data: the session record ------------------------------- */

/* A record is "MDR1" + policy id + vhost name; the same bytes go into the
 * ticket app data so that stateless tickets carry it too. */
#define REC_MAGIC "MDR1"
#define REC_HDR (4 + MDR_OSSL_POLICY_ID_LEN)

typedef struct sess_rec {
  size_t len;
  unsigned char data[];
} sess_rec;

static void rec_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
  (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
  OPENSSL_free(ptr);
}

static int rec_dup(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, OSSL_FROM_D from_d, int idx,
                   long argl, void *argp) {
  (void)to; (void)from; (void)idx; (void)argl; (void)argp;
  sess_rec **pp = (sess_rec **)from_d;
  if (!*pp) return 1;
  sess_rec *copy = OPENSSL_malloc(sizeof *copy + (*pp)->len);
  if (!copy) {
    *pp = NULL;
    return 0;
  }
  copy->len = (*pp)->len;
  memcpy(copy->data, (*pp)->data, copy->len);
  *pp = copy;
  return 1;
}

static void init_once(void) {
  g_ssl_idx = SSL_get_ex_new_index(0, (void *)"misdirect-openssl conn", NULL, conn_dup, conn_free);
  g_sess_idx =
      SSL_SESSION_get_ex_new_index(0, (void *)"misdirect-openssl session", NULL, rec_dup, rec_free);
}

int mdr_ossl_init(void) {
  if (!CRYPTO_THREAD_run_once(&g_once, init_once)) return MDR_ERR_NOMEM;
  /* Index 0 is the host's (SSL_set_app_data): never use it. */
  if (g_ssl_idx <= 0 || g_sess_idx <= 0) return MDR_ERR_NOMEM;
  return 0;
}

void mdr_ossl_cleanup(void) {
  if (g_ssl_idx > 0) CRYPTO_free_ex_index(CRYPTO_EX_INDEX_SSL, g_ssl_idx);
  if (g_sess_idx > 0) CRYPTO_free_ex_index(CRYPTO_EX_INDEX_SSL_SESSION, g_sess_idx);
  g_ssl_idx = -1;
  g_sess_idx = -1;
}

int ossl_ssl_index(void) {
  return mdr_ossl_init() == 0 ? g_ssl_idx : -1;
}

int ossl_sess_index(void) {
  return mdr_ossl_init() == 0 ? g_sess_idx : -1;
}

int ossl_session_record(SSL_SESSION *sess, const uint8_t policy_id[MDR_OSSL_POLICY_ID_LEN],
                        mdr_str vhost_name) {
  int idx = ossl_sess_index();
  if (idx < 0 || !sess) return MDR_ERR_INVALID_ARGUMENT;
  if (vhost_name.len > 1024) return MDR_ERR_LIMIT;
  sess_rec *r = OPENSSL_malloc(sizeof *r + REC_HDR + vhost_name.len);
  if (!r) return MDR_ERR_NOMEM;
  r->len = REC_HDR + vhost_name.len;
  memcpy(r->data, REC_MAGIC, 4);
  memcpy(r->data + 4, policy_id, MDR_OSSL_POLICY_ID_LEN);
  if (vhost_name.len) memcpy(r->data + REC_HDR, vhost_name.ptr, vhost_name.len);
  /* Ticket app data is serialised with the session, so stateless tickets
   * (which lose ex_data) still say where they came from. */
  if (!SSL_SESSION_set1_ticket_appdata(sess, r->data, r->len)) {
    OPENSSL_free(r);
    return MDR_ERR_NOMEM;
  }
  sess_rec *old = SSL_SESSION_get_ex_data(sess, idx);
  if (!SSL_SESSION_set_ex_data(sess, idx, r)) {
    OPENSSL_free(r);
    return MDR_ERR_NOMEM;
  }
  OPENSSL_free(old);
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
  int idx = ossl_sess_index();
  if (idx < 0 || !sess) return 0;
  const sess_rec *r = SSL_SESSION_get_ex_data(sess, idx);
  if (r) return rec_parse(r->data, r->len, policy_id, name, name_cap, name_len);
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
