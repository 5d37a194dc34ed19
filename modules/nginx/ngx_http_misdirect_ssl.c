
/*
 * misdirect nginx module: the TLS ClientHello callback.
 *
 * Installed on the SSL_CTX of every server{} (OpenSSL takes the callback
 * from the context a connection starts with).  It reads the raw
 * server_name extension, runs mdr_handshake, switches to the handshake
 * vhost's SSL_CTX and sets the session id context to the vhost's TLS
 * policy identity before OpenSSL looks for a session to resume, so no
 * TLS 1.2 session id, ticket or TLS 1.3 PSK resumes across policies.
 * nginx's own servername callback (another slot) still runs afterwards and
 * applies its per-server settings.
 *
 * Reload safety: the module registers nothing in OpenSSL that outlives the
 * configuration cycle.  The per-connection state lives in the connection's
 * pool; the SSL ex_data index that points to it has no callbacks and is
 * released with the cycle.
 */


#include "ngx_http_misdirect.h"


#if (nginx_version >= 1029000)
/* nginx 1.29 installs a ClientHello callback itself: this module would have
 * to call nginx's from its own.  Until it does, refuse to build rather than
 * silently replace nginx's callback. */
#error "misdirect: this module supports nginx < 1.29 (see docs/nginx.md)"
#endif


static int ngx_http_misdirect_client_hello(ngx_ssl_conn_t *ssl_conn, int *al,
    void *arg);
static void ngx_http_misdirect_free_index(void *data);
static void ngx_http_misdirect_log_handshake(ngx_connection_t *c,
    const char *what, mdr_handshake_result *hs, int has_sni);


ngx_int_t
ngx_http_misdirect_ssl_init(ngx_conf_t *cf,
    ngx_http_misdirect_main_conf_t *mmcf)
{
    int                       *idx;
    ngx_uint_t                 i;
    ngx_pool_cleanup_t        *cln;
    ngx_http_ssl_srv_conf_t   *sscf;
    ngx_http_core_srv_conf_t **cscfp;
    ngx_http_core_main_conf_t *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /* no free, dup or new callbacks: nothing in OpenSSL points into this
     * module once the cycle is gone */
    mmcf->conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (mmcf->conn_index <= 0) {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "misdirect: SSL_get_ex_new_index() failed");
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, sizeof(int));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    idx = cln->data;
    *idx = mmcf->conn_index;
    cln->handler = ngx_http_misdirect_free_index;

    cscfp = cmcf->servers.elts;

    for (i = 0; i < cmcf->servers.nelts; i++) {
        sscf = cscfp[i]->ctx->srv_conf[ngx_http_ssl_module.ctx_index];

        if (sscf->ssl.ctx == NULL) {
            continue;
        }

        SSL_CTX_set_client_hello_cb(sscf->ssl.ctx,
                                    ngx_http_misdirect_client_hello, mmcf);
    }

    return NGX_OK;
}


static void
ngx_http_misdirect_free_index(void *data)
{
    int  *idx = data;

    CRYPTO_free_ex_index(CRYPTO_EX_INDEX_SSL, *idx);
}


ngx_http_misdirect_conn_t *
ngx_http_misdirect_ssl_conn(ngx_http_misdirect_main_conf_t *mmcf,
    ngx_connection_t *c)
{
    if (c->ssl == NULL || mmcf->conn_index <= 0) {
        return NULL;
    }

    return SSL_get_ex_data(c->ssl->connection, mmcf->conn_index);
}


static int
ngx_http_misdirect_client_hello(ngx_ssl_conn_t *ssl_conn, int *al, void *arg)
{
    ngx_http_misdirect_main_conf_t  *mmcf = arg;

    int                              has_sni;
    size_t                           ext_len;
    mdr_str                          sni;
    SSL_CTX                         *ctx;
    ngx_uint_t                       report;
    const u_char                    *ext;
    ngx_connection_t                *c;
    mdr_handshake_result             hs;
    ngx_http_misdirect_conn_t       *mc;
    ngx_http_misdirect_vhost_t      *vh;
    ngx_http_misdirect_listener_t   *l;
    ngx_http_misdirect_srv_conf_t   *dscf;

    c = ngx_ssl_get_connection(ssl_conn);
    if (c == NULL || mmcf->table == NULL) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }

    sni.ptr = NULL;
    sni.len = 0;
    has_sni = SSL_client_hello_get0_ext(ssl_conn, TLSEXT_TYPE_server_name,
                                        &ext, &ext_len);

    if (has_sni && mdr_sni_extension_parse(ext, ext_len, &sni) != 0) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "misdirect: handshake refused with alert decode_error: "
                      "malformed server_name extension");
        *al = SSL_AD_DECODE_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }

    mc = SSL_get_ex_data(ssl_conn, mmcf->conn_index);

    if (mc) {
        /* a second ClientHello (after HelloRetryRequest) keeps the first
         * decision and must name the same server */
        if ((ngx_uint_t) has_sni != mc->has_sni
            || (has_sni && (sni.len != mc->sni_len
                            || ngx_memcmp(sni.ptr, mc->sni, sni.len) != 0)))
        {
            *al = SSL_AD_ILLEGAL_PARAMETER;
            return SSL_CLIENT_HELLO_ERROR;
        }

        goto apply;
    }

    l = ngx_http_misdirect_find_listener(mmcf, c);
    if (l == NULL || !l->ssl) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }

    dscf = l->default_server->ctx->srv_conf[
                                        ngx_http_misdirect_module.ctx_index];

    if (dscf->mode == NGX_HTTP_MISDIRECT_OFF) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }

    report = (dscf->mode == NGX_HTTP_MISDIRECT_REPORT);

    if (mdr_handshake(mmcf->table, l->index, has_sni, sni.ptr, sni.len, &hs)
        != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "misdirect: mdr_handshake() failed");
        *al = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }

    if (hs.outcome == MDR_HS_ALERT) {
        ngx_http_misdirect_log_handshake(c, report ? "report (accepted)"
                                                   : "refused",
                                         &hs, has_sni);
        if (!report) {
            *al = (int) hs.alert;
            return SSL_CLIENT_HELLO_ERROR;
        }

        /* report: the connection goes on as nginx chooses, and its
         * requests are decided against the listener default */
        hs.vhost = MDR_NONE;
        hs.match = 0;
    }

    mc = ngx_pcalloc(c->pool, sizeof(ngx_http_misdirect_conn_t));
    if (mc == NULL) {
        *al = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }

    mc->listener = l->index;
    mc->vhost = hs.vhost;
    mc->match = hs.match;
    mc->has_sni = has_sni ? 1 : 0;
    mc->report = report;
    mc->sni_len = ngx_min(sni.len, sizeof(mc->sni));
    if (mc->sni_len) {
        ngx_memcpy(mc->sni, sni.ptr, mc->sni_len);
    }

    /* the pool outlives the SSL object: nginx frees the SSL when it closes
     * the connection, and the pool after that */
    if (SSL_set_ex_data(ssl_conn, mmcf->conn_index, mc) == 0) {
        *al = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }

apply:

    if (mc->report || mc->vhost == MDR_NONE || mc->vhost >= mmcf->nvhosts) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }

    vh = &mmcf->vhosts[mc->vhost];

    if (vh->ssl_ctx) {
        ctx = SSL_get_SSL_CTX(ssl_conn);

        if (ctx != vh->ssl_ctx && SSL_set_SSL_CTX(ssl_conn, vh->ssl_ctx)
                                  == NULL)
        {
            *al = SSL_AD_INTERNAL_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
    }

    /* after SSL_set_SSL_CTX (which may copy the context's id) and before
     * OpenSSL looks up the session: sessions resume only under the same
     * TLS policy */
    if (vh->has_policy
        && SSL_set_session_id_context(ssl_conn, vh->policy_id,
                                      sizeof(vh->policy_id))
           == 0)
    {
        *al = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }

    return SSL_CLIENT_HELLO_SUCCESS;
}


static void
ngx_http_misdirect_log_handshake(ngx_connection_t *c, const char *what,
    mdr_handshake_result *hs, int has_sni)
{
    const char  *sni;

    /* only a valid (normalised) name is logged: the raw bytes of an
     * invalid one could hold anything */
    sni = !has_sni ? "(none)" : hs->sni_valid ? hs->sni : "(invalid)";

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "misdirect: handshake %s with alert %s (%s): SNI %s",
                  what, mdr_alert_name(hs->alert),
                  mdr_reason_token(hs->reason), sni);
}
