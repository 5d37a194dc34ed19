/* The handshake steps (ClientHello, servername, ALPN), the one-call install
 * and the connection facts. */
#include "ossl_internal.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/tls1.h>

static ossl_conn *conn_get(const SSL *ssl) {
  int idx = ossl_ssl_index();
  return idx > 0 ? SSL_get_ex_data(ssl, idx) : NULL;
}

/* ------------------------------------------------------------------------ */
/* Switching                                                                 */
/* ------------------------------------------------------------------------ */

int ossl_apply_ctx(SSL *ssl, const ossl_ctx *vh) {
  SSL_CTX *ctx = vh->ctx;
  /* Ticket policy belongs to the initial context (it owns the ticket keys and
   * the session cache): never toggle SSL_OP_NO_TICKET per vhost. */
  ossl_opts keep = SSL_get_options(ssl) & SSL_OP_NO_TICKET;
  if (SSL_set_SSL_CTX(ssl, ctx) != ctx) return 0;
  ossl_opts want = (SSL_CTX_get_options(ctx) & ~(ossl_opts)SSL_OP_NO_TICKET) | keep |
                   SSL_OP_NO_RENEGOTIATION;
  SSL_clear_options(ssl, SSL_get_options(ssl) & ~want);
  SSL_set_options(ssl, want);

  /* Verification: parameters first (they carry a depth), then mode,
   * callback and depth as the context says. */
  if (!SSL_set1_param(ssl, SSL_CTX_get0_param(ctx))) return 0;
  SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_verify_callback(ctx));
  SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));

  /* Client CA names sent in CertificateRequest, and the
   * certificate_authorities extension list. */
  const STACK_OF(X509_NAME) *cas = SSL_CTX_get_client_CA_list(ctx);
  STACK_OF(X509_NAME) *dup = NULL;
  if (cas && !(dup = SSL_dup_CA_list(cas))) return 0;
  SSL_set_client_CA_list(ssl, dup);
  const STACK_OF(X509_NAME) *ca0 = SSL_CTX_get0_CA_list(ctx);
  dup = NULL;
  if (ca0 && !(dup = SSL_dup_CA_list(ca0))) return 0;
  SSL_set0_CA_list(ssl, dup);

  /* Protocol range: the ClientHello callback runs before version
   * negotiation, so this takes effect for this handshake. */
  if (!SSL_set_min_proto_version(ssl, SSL_CTX_get_min_proto_version(ctx)) ||
      !SSL_set_max_proto_version(ssl, SSL_CTX_get_max_proto_version(ctx)))
    return 0;
  SSL_set_security_level(ssl, SSL_CTX_get_security_level(ctx));
  if (vh->ciphers12 && vh->ciphers12[0] && !SSL_set_cipher_list(ssl, vh->ciphers12)) return 0;
  if (vh->ciphers13 && !SSL_set_ciphersuites(ssl, vh->ciphers13)) return 0;

  /* Sessions resume only under the same TLS policy.  Set before OpenSSL
   * looks up the session (after this callback returns). */
  if (!SSL_set_session_id_context(ssl, vh->policy_id, MDR_OSSL_POLICY_ID_LEN)) return 0;
  return 1;
}

/* ------------------------------------------------------------------------ */
/* ClientHello step                                                          */
/* ------------------------------------------------------------------------ */

static int refuse(ossl_conn *c, int *al, int alert) {
  if (c && !c->accepted) {
    c->refused = 1;
    c->alert = alert;
  }
  if (al) *al = alert;
  return SSL_CLIENT_HELLO_ERROR;
}

/* Read and run the core on this ClientHello's server_name. */
static int hello_decide(SSL *ssl, const mdr_ossl_set *set, int *has_sni, mdr_str *name,
                        mdr_handshake_result *hs, int *alert) {
  const unsigned char *ext = NULL;
  size_t ext_len = 0;
  *has_sni = SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &ext_len) == 1;
  name->ptr = NULL;
  name->len = 0;
  if (*has_sni && mdr_sni_extension_parse(ext, ext_len, name) != 0) {
    *alert = SSL_AD_DECODE_ERROR;
    return 0;
  }
  if (mdr_handshake(set->table, set->listener, *has_sni, name->ptr, name->len, hs) != 0) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return 0;
  }
  if (hs->outcome != MDR_HS_ACCEPT) {
    *alert = (int)hs->alert;
    return 0;
  }
  return 1;
}

int mdr_ossl_client_hello(SSL *ssl, int *al, mdr_ossl_set *set) {
  int idx = ossl_ssl_index();
  if (!ssl || !set || idx <= 0) return refuse(NULL, al, SSL_AD_INTERNAL_ERROR);
  ossl_conn *c = SSL_get_ex_data(ssl, idx);
  if (!c) {
    c = OPENSSL_zalloc(sizeof *c);
    if (!c) return refuse(NULL, al, SSL_AD_INTERNAL_ERROR);
    c->set = mdr_ossl_set_ref(set);
    c->vhost = MDR_NONE;
    c->resumed_vhost = MDR_NONE;
    if (!SSL_set_ex_data(ssl, idx, c)) {
      mdr_ossl_set_unref(c->set);
      OPENSSL_free(c);
      return refuse(NULL, al, SSL_AD_INTERNAL_ERROR);
    }
  }
  c->hellos++;
  if (c->refused) return refuse(c, al, c->alert);
  if (c->deferred) return SSL_CLIENT_HELLO_SUCCESS; /* refused in the servername step */

  /* A ClientHello after a completed handshake is a renegotiation: the
   * connection's identity must not change, so refuse it. */
  unsigned char fin[1];
  if (c->accepted && SSL_get_peer_finished(ssl, fin, sizeof fin) > 0)
    return refuse(c, al, SSL_AD_NO_RENEGOTIATION);

  int has_sni;
  mdr_str name;
  mdr_handshake_result hs;
  hs.outcome = MDR_HS_ACCEPT; /* read below even when the core did not run */
  int alert = 0;
  const mdr_ossl_set *use = c->set; /* the set this connection started with */
  int ok = hello_decide(ssl, use, &has_sni, &name, &hs, &alert);

  if (c->accepted) {
    /* Second ClientHello (HelloRetryRequest) or a re-entered callback: the
     * decision must not change.  Fail closed if the client changed or
     * dropped its server_name. */
    size_t keep = name.len < sizeof c->sni_raw ? name.len : sizeof c->sni_raw;
    if (!ok || hs.vhost != c->vhost || has_sni != c->has_sni || name.len != c->sni_full_len ||
        (keep && memcmp(name.ptr, c->sni_raw, keep) != 0))
      return refuse(c, al, SSL_AD_ILLEGAL_PARAMETER);
    return SSL_CLIENT_HELLO_SUCCESS;
  }
  if (!ok && alert == SSL_AD_MISSING_EXTENSION) {
    /* OpenSSL maps missing_extension to handshake_failure while the version
     * is not yet negotiated (it is a TLS 1.3 alert).  Refuse in the
     * servername step instead, which runs after version negotiation; until
     * then no session may resume: the session id context names no policy. */
    static const unsigned char refused_ctx[] = "misdirect-openssl: refused";
    if (!SSL_set_session_id_context(ssl, refused_ctx, sizeof refused_ctx - 1))
      return refuse(c, al, SSL_AD_INTERNAL_ERROR);
    c->hs = hs;
    c->have_hs = 1;
    c->has_sni = 0;
    c->deferred = 1;
    c->alert = alert;
    return SSL_CLIENT_HELLO_SUCCESS;
  }
  if (!ok) {
    /* Keep the core's refusal (reason, SNI) so the host can log why. */
    if (hs.outcome == MDR_HS_ALERT && alert == (int)hs.alert) {
      c->hs = hs;
      c->have_hs = 1;
      c->has_sni = has_sni;
    }
    return refuse(c, al, alert);
  }
  const ossl_ctx *e = ossl_set_entry(use, hs.vhost);
  if (!e) return refuse(c, al, SSL_AD_INTERNAL_ERROR);
  if (!ossl_apply_ctx(ssl, e)) {
    ERR_clear_error();
    return refuse(c, al, SSL_AD_INTERNAL_ERROR);
  }
  c->hs = hs;
  c->have_hs = 1;
  c->has_sni = has_sni;
  c->sni_full_len = name.len;
  c->sni_raw_len = name.len < sizeof c->sni_raw ? name.len : sizeof c->sni_raw;
  if (c->sni_raw_len) memcpy(c->sni_raw, name.ptr, c->sni_raw_len);
  c->vhost = hs.vhost;
  memcpy(c->policy_id, e->policy_id, MDR_OSSL_POLICY_ID_LEN);
  c->accepted = 1;
  return SSL_CLIENT_HELLO_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* servername step                                                           */
/* ------------------------------------------------------------------------ */

int mdr_ossl_servername(SSL *ssl, int *al) {
  ossl_conn *c = ssl ? conn_get(ssl) : NULL;
  if (!c || !c->accepted) {
    if (al) *al = c && (c->refused || c->deferred) ? c->alert : SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  /* OpenSSL's own parse of the final ClientHello must name what the
   * ClientHello step judged (a second lock against a server_name changed
   * after HelloRetryRequest when a host forgot the ClientHello callback on
   * a vhost context).  On a TLS 1.2 resumption OpenSSL reports the
   * session's name instead, so the check does not apply there. */
  if (!(SSL_session_reused(ssl) && SSL_version(ssl) < TLS1_3_VERSION)) {
    const char *hn = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    size_t hl = hn ? strlen(hn) : 0;
    size_t cmp = hl < sizeof c->sni_raw ? hl : sizeof c->sni_raw;
    if ((hn != NULL) != (c->has_sni != 0) ||
        (hn && (hl != c->sni_full_len || memcmp(hn, c->sni_raw, cmp) != 0))) {
      if (al) *al = SSL_AD_ILLEGAL_PARAMETER;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
  }
  SSL_SESSION *sess = SSL_get_session(ssl);
  mdr_str vname = mdr_vhost_name(c->set->table, c->vhost);
  if (SSL_session_reused(ssl)) {
    uint8_t pid[MDR_OSSL_POLICY_ID_LEN];
    char name[1025];
    size_t nlen = 0;
    if (ossl_session_lookup(sess, pid, name, sizeof name, &nlen)) {
      /* The session id context already keeps sessions within one policy;
       * this is the second lock on the door. */
      if (memcmp(pid, c->policy_id, sizeof pid) != 0) {
        if (al) *al = SSL_AD_HANDSHAKE_FAILURE;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
      }
      mdr_index rv;
      if (mdr_table_find_vhost(c->set->table, (mdr_str){name, nlen}, &rv) == 0 &&
          mdr_vhost_on_listener(c->set->table, rv, c->set->listener))
        c->resumed_vhost = rv;
      else
        c->resumed_vhost = MDR_NONE;
    }
  } else if (sess && !c->resume_checked) {
    if (ossl_session_record(sess, c->policy_id, vname) != 0) {
      if (al) *al = SSL_AD_INTERNAL_ERROR;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
  }
  c->resume_checked = 1;
  /* Acknowledge a name that selected its vhost, so OpenSSL stores it in the
   * session; an unknown name served by the default is not acknowledged. */
  return c->hs.reason == MDR_REASON_SNI_MATCH ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
}

/* ------------------------------------------------------------------------ */
/* ALPN                                                                      */
/* ------------------------------------------------------------------------ */

int mdr_ossl_alpn_choose(unsigned protocols, const unsigned char *in, unsigned int inlen,
                         const unsigned char **out, unsigned char *outlen) {
  static const struct {
    unsigned bit;
    const char *id;
  } prefs[] = {{MDR_PROTO_H2, "h2"}, {MDR_PROTO_H1, "http/1.1"}, {MDR_PROTO_H1, "http/1.0"}};
  if (!in && inlen) return -1;
  /* Validate the whole list first. */
  for (unsigned i = 0; i < inlen;) {
    unsigned l = in[i];
    if (l == 0 || l > inlen - i - 1) return -1;
    i += 1 + l;
  }
  if (protocols == 0) protocols = MDR_PROTO_ALL;
  for (size_t p = 0; p < sizeof prefs / sizeof prefs[0]; p++) {
    if (!(protocols & prefs[p].bit)) continue;
    size_t pl = strlen(prefs[p].id);
    for (unsigned i = 0; i < inlen; i += 1u + in[i]) {
      if (in[i] == pl && memcmp(in + i + 1, prefs[p].id, pl) == 0) {
        if (out) *out = in + i + 1;
        if (outlen) *outlen = (unsigned char)pl;
        return 1;
      }
    }
  }
  return 0;
}

int mdr_ossl_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                         const unsigned char *in, unsigned int inlen) {
  ossl_conn *c = ssl ? conn_get(ssl) : NULL;
  if (!c || !c->accepted) return SSL_TLSEXT_ERR_ALERT_FATAL;
  if (c->set->alpn == MDR_OSSL_ALPN_NONE) return SSL_TLSEXT_ERR_NOACK;
  mdr_vhost_info vi;
  if (mdr_table_vhost_info(c->set->table, c->vhost, &vi) != 0) return SSL_TLSEXT_ERR_ALERT_FATAL;
  unsigned vp = vi.protocols ? vi.protocols : MDR_PROTO_ALL;
  unsigned sp = c->set->protocols ? c->set->protocols : MDR_PROTO_ALL;
  int r = (vp & sp) ? mdr_ossl_alpn_choose(vp & sp, in, inlen, out, outlen) : 0;
  if (r == 1) return SSL_TLSEXT_ERR_OK;
  if (r == 0 && c->set->alpn == MDR_OSSL_ALPN_LENIENT) return SSL_TLSEXT_ERR_NOACK;
  return SSL_TLSEXT_ERR_ALERT_FATAL; /* OpenSSL sends no_application_protocol */
}

/* ------------------------------------------------------------------------ */
/* One-call install                                                          */
/* ------------------------------------------------------------------------ */

static int cb_client_hello(SSL *ssl, int *al, void *arg) {
  return mdr_ossl_client_hello(ssl, al, arg);
}

static int cb_servername(SSL *ssl, int *al, void *arg) {
  (void)arg;
  return mdr_ossl_servername(ssl, al);
}

static int cb_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg) {
  (void)arg;
  return mdr_ossl_alpn_select(ssl, out, outlen, in, inlen);
}

static void install_common(SSL_CTX *ctx, mdr_ossl_set *set) {
  /* After the switch OpenSSL takes every callback from the vhost context:
   * the ClientHello callback too (a second ClientHello after
   * HelloRetryRequest runs it from there). */
  SSL_CTX_set_client_hello_cb(ctx, cb_client_hello, set);
  SSL_CTX_set_tlsext_servername_callback(ctx, cb_servername);
  SSL_CTX_set_tlsext_servername_arg(ctx, NULL);
  if (set->alpn != MDR_OSSL_ALPN_NONE) SSL_CTX_set_alpn_select_cb(ctx, cb_alpn, NULL);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
}

int mdr_ossl_install(mdr_ossl_set *set, SSL_CTX *initial, mdr_error *err) {
  if (!set || !initial) return MDR_ERR_INVALID_ARGUMENT;
  int rc = mdr_ossl_set_check(set, err);
  if (rc != 0) return rc;
  install_common(initial, set);
  /* OpenSSL takes the ClientHello, servername and ALPN callbacks from the
   * context switched to, so every vhost context needs them too (each
   * shared context once). */
  for (size_t i = 0; i < set->n_ctx; i++)
    if (set->ctxs[i].ctx) install_common(set->ctxs[i].ctx, set);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Facts                                                                     */
/* ------------------------------------------------------------------------ */

int mdr_ossl_conn_facts(SSL *ssl, mdr_conn *out) {
  if (!ssl || !out) return MDR_ERR_INVALID_ARGUMENT;
  ossl_conn *c = conn_get(ssl);
  if (!c || !c->accepted) return MDR_ERR_NOT_FOUND;
  out->listener = c->set->listener;
  out->has_hs_vhost = c->vhost != MDR_NONE;
  out->hs_vhost = c->vhost;
  out->hs_match = c->vhost != MDR_NONE ? c->hs.match : 0; /* a hint: checked by mdr_decide */
  out->has_sni = c->has_sni;
  if (c->has_sni && c->hs.sni_valid) {
    out->sni.ptr = c->hs.sni;
    out->sni.len = c->hs.sni_len;
  } else {
    out->sni.ptr = c->has_sni ? (const char *)c->sni_raw : NULL;
    out->sni.len = c->has_sni ? c->sni_raw_len : 0;
  }
  const unsigned char *alpn = NULL;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  out->has_alpn = alpn_len > 0;
  out->alpn.ptr = alpn_len ? (const char *)alpn : NULL;
  out->alpn.len = alpn_len;
  out->ech = MDR_ECH_NONE;
  out->resumed = SSL_session_reused(ssl) ? 1 : 0;
  out->has_resumed_from = out->resumed && c->resumed_vhost != MDR_NONE;
  out->resumed_from = out->has_resumed_from ? c->resumed_vhost : 0;
  out->early_data =
      SSL_get_early_data_status(ssl) == SSL_EARLY_DATA_ACCEPTED && !SSL_is_init_finished(ssl);
  return 0;
}

mdr_index mdr_ossl_conn_vhost(const SSL *ssl) {
  ossl_conn *c = ssl ? conn_get(ssl) : NULL;
  return c && c->accepted ? c->vhost : MDR_NONE;
}

const mdr_handshake_result *mdr_ossl_conn_handshake(const SSL *ssl) {
  ossl_conn *c = ssl ? conn_get(ssl) : NULL;
  return c && c->have_hs ? &c->hs : NULL;
}
