
/*
 * misdirect nginx module: directives, variables and the POST_READ phase
 * handler that decides every request (HTTP/1.x and every HTTP/2 stream)
 * through mdr_decide.  See docs/nginx.md.
 */


#include "ngx_http_misdirect.h"


typedef struct {
    mdr_decision                     decision;
    mdr_cause                        cause;
    ngx_uint_t                       mode;
} ngx_http_misdirect_ctx_t;


static ngx_int_t ngx_http_misdirect_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_misdirect_refuse(ngx_http_request_t *r,
    mdr_decision *d);
static ngx_int_t ngx_http_misdirect_redirect(ngx_http_request_t *r,
    mdr_decision *d, u_char *location);
static void ngx_http_misdirect_request_facts(ngx_http_request_t *r,
    mdr_request *req, mdr_str *host);
static void ngx_http_misdirect_log(ngx_http_request_t *r, mdr_table *t,
    mdr_conn *conn, mdr_decision *d, ngx_uint_t mode);
static ngx_int_t ngx_http_misdirect_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_misdirect_add_variables(ngx_conf_t *cf);
static void *ngx_http_misdirect_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_misdirect_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_misdirect_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_misdirect_init(ngx_conf_t *cf);


static ngx_conf_enum_t  ngx_http_misdirect_modes[] = {
    { ngx_string("off"), NGX_HTTP_MISDIRECT_OFF },
    { ngx_string("on"), NGX_HTTP_MISDIRECT_ON },
    { ngx_string("report"), NGX_HTTP_MISDIRECT_REPORT },
    { ngx_null_string, 0 }
};


/* 0 is the strict value of each of the three: reject / reject / default */

static ngx_conf_enum_t  ngx_http_misdirect_unknown[] = {
    { ngx_string("reject"), 0 },
    { ngx_string("default"), 1 },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_misdirect_no_sni[] = {
    { ngx_string("default"), 0 },
    { ngx_string("reject"), 1 },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_misdirect_commands[] = {

    { ngx_string("misdirect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_misdirect_srv_conf_t, mode),
      &ngx_http_misdirect_modes },

    { ngx_string("misdirect_unknown_sni"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_misdirect_srv_conf_t, unknown_sni),
      &ngx_http_misdirect_unknown },

    { ngx_string("misdirect_unknown_host"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_misdirect_srv_conf_t, unknown_host),
      &ngx_http_misdirect_unknown },

    { ngx_string("misdirect_no_sni"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_misdirect_srv_conf_t, no_sni),
      &ngx_http_misdirect_no_sni },

    { ngx_string("misdirect_table"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_misdirect_main_conf_t, table_file),
      NULL },

    { ngx_string("misdirect_vhost"),
      NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_misdirect_srv_conf_t, vhost_name),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_misdirect_module_ctx = {
    ngx_http_misdirect_add_variables,      /* preconfiguration */
    ngx_http_misdirect_init,               /* postconfiguration */

    ngx_http_misdirect_create_main_conf,   /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_http_misdirect_create_srv_conf,    /* create server configuration */
    ngx_http_misdirect_merge_srv_conf,     /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_misdirect_module = {
    NGX_MODULE_V1,
    &ngx_http_misdirect_module_ctx,        /* module context */
    ngx_http_misdirect_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


#define NGX_HTTP_MISDIRECT_VAR_STATUS  0
#define NGX_HTTP_MISDIRECT_VAR_REASON  1
#define NGX_HTTP_MISDIRECT_VAR_VHOST   2
#define NGX_HTTP_MISDIRECT_VAR_CAUSE   3


static ngx_http_variable_t  ngx_http_misdirect_vars[] = {

    { ngx_string("misdirect_status"), NULL, ngx_http_misdirect_variable,
      NGX_HTTP_MISDIRECT_VAR_STATUS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("misdirect_reason"), NULL, ngx_http_misdirect_variable,
      NGX_HTTP_MISDIRECT_VAR_REASON, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("misdirect_vhost"), NULL, ngx_http_misdirect_variable,
      NGX_HTTP_MISDIRECT_VAR_VHOST, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("misdirect_cause"), NULL, ngx_http_misdirect_variable,
      NGX_HTTP_MISDIRECT_VAR_CAUSE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_misdirect_handler(ngx_http_request_t *r)
{
    int                              rc;
    char                             loc[1024];
    u_char                          *location;
    mdr_str                          host;
    mdr_conn                         conn;
    ngx_uint_t                       mode;
    mdr_request                      req;
    mdr_explanation                  ex;
    ngx_connection_t                *c;
    ngx_http_misdirect_ctx_t        *ctx;
    ngx_http_misdirect_conn_t       *mc;
    ngx_http_misdirect_listener_t   *l;
    ngx_http_misdirect_srv_conf_t   *mscf;
    ngx_http_misdirect_main_conf_t  *mmcf;

    if (r != r->main || ngx_http_get_module_ctx(r, ngx_http_misdirect_module)) {
        return NGX_DECLINED;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_misdirect_module);
    mscf = ngx_http_get_module_srv_conf(r, ngx_http_misdirect_module);

    mode = mscf->mode;

    if (mode == NGX_HTTP_MISDIRECT_OFF || mmcf->table == NULL) {
        return NGX_DECLINED;
    }

    c = r->connection;

    l = ngx_http_misdirect_find_listener(mmcf, c);
    if (l == NULL) {
#if (NGX_HAVE_UNIX_DOMAIN)
        if (c->local_sockaddr && c->local_sockaddr->sa_family == AF_UNIX) {
            return NGX_DECLINED;
        }
#endif
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "misdirect: no listener for the connection's address");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* zeroed: no handshake vhost and no resumption vhost known */
    ngx_memzero(&conn, sizeof(mdr_conn));
    conn.listener = l->index;

    if (l->ssl) {
        if (c->ssl == NULL) {
            return NGX_DECLINED;
        }

        /* NULL when the handshake was not judged: the listener's default
         * server has "misdirect off", so there is nothing to compare the
         * request with */
        mc = ngx_http_misdirect_ssl_conn(mmcf, c);
        if (mc == NULL) {
            return NGX_DECLINED;
        }

        if (mc->vhost != MDR_NONE) {
            conn.has_hs_vhost = 1;
            conn.hs_vhost = mc->vhost;
            conn.hs_match = mc->match; /* spares the lookup when Host is the SNI */
        }

        conn.has_sni = mc->has_sni;
        conn.sni.ptr = (const char *) mc->sni;
        conn.sni.len = mc->sni_len;

        {
            const unsigned char  *alpn;
            unsigned int          alpn_len;

            SSL_get0_alpn_selected(c->ssl->connection, &alpn, &alpn_len);

            if (alpn_len) {
                conn.has_alpn = 1;
                conn.alpn.ptr = (const char *) alpn;
                conn.alpn.len = alpn_len;
            }
        }

        conn.resumed = SSL_session_reused(c->ssl->connection) ? 1 : 0;
        conn.early_data = c->ssl->in_early ? 1 : 0;
    }

    ngx_http_misdirect_request_facts(r, &req, &host);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_misdirect_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    location = (u_char *) loc;

    rc = mdr_decide(mmcf->table, &conn, &req, &ctx->decision, loc,
                    sizeof(loc));

    if (rc == MDR_ERR_BUFFER_TOO_SMALL) {
        /* a redirect longer than the buffer: decide again into the pool */
        location = ngx_pnalloc(r->pool, ctx->decision.location_len + 1);
        if (location == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = mdr_decide(mmcf->table, &conn, &req, &ctx->decision,
                        (char *) location, ctx->decision.location_len + 1);
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "misdirect: mdr_decide() failed: %s",
                      mdr_strerror(rc));
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a serve's cause is always "none": explain only the other answers */
    ctx->cause = MDR_CAUSE_NONE;
    if (ctx->decision.kind != MDR_SERVE
        && mdr_explain_decision(mmcf->table, &conn, &req, &ctx->decision,
                                &ex)
           == 0
        && ex.n_causes)
    {
        ctx->cause = ex.causes[0];
    }

    ctx->mode = mode;
    ngx_http_set_ctx(r, ctx, ngx_http_misdirect_module);

    if (ctx->decision.kind == MDR_SERVE) {
        return NGX_DECLINED;
    }

    ngx_http_misdirect_log(r, mmcf->table, &conn, &ctx->decision, mode);

    if (mode == NGX_HTTP_MISDIRECT_REPORT) {
        return NGX_DECLINED;
    }

    if (ctx->decision.kind == MDR_REDIRECT) {
        return ngx_http_misdirect_redirect(r, &ctx->decision, location);
    }

    return ngx_http_misdirect_refuse(r, &ctx->decision);
}


static void
ngx_http_misdirect_request_facts(ngx_http_request_t *r, mdr_request *req,
    mdr_str *host)
{
    u_char  *p, *last;

    ngx_memzero(req, sizeof(mdr_request));

    req->method.ptr = (const char *) r->method_name.data;
    req->method.len = r->method_name.len;

#if (NGX_HTTP_V2)
    if (r->stream) {
        req->version = MDR_HTTP_2;

        /* :path */
        req->has_target = r->unparsed_uri.len ? 1 : 0;
        req->target.ptr = (const char *) r->unparsed_uri.data;
        req->target.len = r->unparsed_uri.len;

        if (r->schema.len) {
            req->has_scheme = 1;
            req->scheme.ptr = (const char *) r->schema.data;
            req->scheme.len = r->schema.len;
        }

        /* nginx 1.22 turns :authority into a Host header (and refuses a
         * request with both): the Host below is the :authority */

    } else
#endif
    {
        req->version = (r->http_version == NGX_HTTP_VERSION_11)
                       ? MDR_HTTP_1_1 : MDR_HTTP_1_0;

        /* the request-target as sent: the request line without the method
         * and the protocol version */
        p = r->request_line.data + r->method_name.len;
        last = r->request_line.data + r->request_line.len;

        if (r->http_protocol.len && last - p > (ssize_t) r->http_protocol.len
            && last - r->http_protocol.len == r->http_protocol.data)
        {
            last = r->http_protocol.data;
        }

        while (p < last && *p == ' ') {
            p++;
        }

        while (last > p && last[-1] == ' ') {
            last--;
        }

        req->has_target = (last > p) ? 1 : 0;
        req->target.ptr = (const char *) p;
        req->target.len = last - p;
    }

    if (r->headers_in.host) {
        host->ptr = (const char *) r->headers_in.host->value.data;
        host->len = r->headers_in.host->value.len;
        req->host = host;
        req->n_host = 1;
    }
}


static void
ngx_http_misdirect_log(ngx_http_request_t *r, mdr_table *t, mdr_conn *conn,
    mdr_decision *d, ngx_uint_t mode)
{
    char    buf[1024];
    size_t  n;

    if (r->connection->log->log_level < NGX_LOG_INFO) {
        return;
    }

    n = mdr_decision_explain(t, conn, d, buf, sizeof(buf));
    if (n >= sizeof(buf)) {
        n = sizeof(buf) - 1;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "misdirect%s: %ui %s: %*s",
                  mode == NGX_HTTP_MISDIRECT_REPORT ? " report (served)" : "",
                  (ngx_uint_t) d->status, mdr_reason_token(d->reason),
                  n, buf);
}


/* Redirects come only from a misdirect_table file: nginx's own response
 * for the status, with the Location the decision wrote. */

static ngx_int_t
ngx_http_misdirect_redirect(ngx_http_request_t *r, mdr_decision *d,
    u_char *location)
{
    u_char           *p;
    ngx_table_elt_t  *h;

    p = ngx_pnalloc(r->pool, d->location_len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, location, d->location_len);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value.data = p;
    h->value.len = d->location_len;

    ngx_http_clear_location(r);
    r->headers_out.location = h;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    return d->status;
}


static ngx_int_t
ngx_http_misdirect_refuse(ngx_http_request_t *r, mdr_decision *d)
{
    size_t        len;
    u_char       *p;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_str_t     line;
    ngx_chain_t   out;
    const char   *token;

    switch (d->status) {
    case 400:
        ngx_str_set(&line, "400 Bad Request");
        break;
    case 421:
        ngx_str_set(&line, "421 Misdirected Request");
        break;
    case 425:
        ngx_str_set(&line, "425 Too Early");
        break;
    case 501:
        ngx_str_set(&line, "501 Not Implemented");
        break;
    default:
        /* redirects come only from an explicit table, which this module
         * does not read: nothing else is expected */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "misdirect: unexpected status %ui",
                      (ngx_uint_t) d->status);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    if (d->status == 400) {
        r->keepalive = 0;
    }

    token = mdr_reason_token(d->reason);
    len = line.len + 1 + ngx_strlen(token) + 1;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(b->last, line.data, line.len);
    *p++ = '\n';
    p = ngx_cpymem(p, token, ngx_strlen(token));
    *p++ = '\n';
    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = d->status;
    r->headers_out.status_line = line;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    out.buf = b;
    out.next = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));
    return NGX_DONE;
}


static ngx_int_t
ngx_http_misdirect_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                          *p;
    mdr_str                          name;
    const char                      *s;
    ngx_http_misdirect_ctx_t        *ctx;
    ngx_http_misdirect_main_conf_t  *mmcf;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_misdirect_module);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_MISDIRECT_VAR_STATUS:
        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->len = ngx_sprintf(p, "%ui", (ngx_uint_t) ctx->decision.status)
                 - p;
        v->data = p;
        break;

    case NGX_HTTP_MISDIRECT_VAR_REASON:
        s = mdr_reason_token(ctx->decision.reason);
        v->len = ngx_strlen(s);
        v->data = (u_char *) s;
        break;

    case NGX_HTTP_MISDIRECT_VAR_VHOST:
        mmcf = ngx_http_get_module_main_conf(r, ngx_http_misdirect_module);
        name = mdr_vhost_name(mmcf->table, ctx->decision.vhost);
        if (name.len == 0) {
            v->not_found = 1;
            return NGX_OK;
        }

        v->len = name.len;
        v->data = (u_char *) name.ptr;
        break;

    default: /* NGX_HTTP_MISDIRECT_VAR_CAUSE */
        s = mdr_cause_token(ctx->cause);
        v->len = ngx_strlen(s);
        v->data = (u_char *) s;
        break;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_misdirect_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_misdirect_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_http_misdirect_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_misdirect_main_conf_t  *mmcf;

    mmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_misdirect_main_conf_t));
    if (mmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&mmcf->listeners, cf->pool, 4,
                       sizeof(ngx_http_misdirect_listener_t))
        != NGX_OK)
    {
        return NULL;
    }

    mmcf->conn_index = -1;

    return mmcf;
}


static void *
ngx_http_misdirect_create_srv_conf(ngx_conf_t *cf)
{
    ngx_http_misdirect_srv_conf_t  *mscf;

    mscf = ngx_pcalloc(cf->pool, sizeof(ngx_http_misdirect_srv_conf_t));
    if (mscf == NULL) {
        return NULL;
    }

    mscf->mode = NGX_CONF_UNSET_UINT;
    mscf->unknown_sni = NGX_CONF_UNSET_UINT;
    mscf->unknown_host = NGX_CONF_UNSET_UINT;
    mscf->no_sni = NGX_CONF_UNSET_UINT;
    mscf->vhost = MDR_NONE;

    return mscf;
}


static char *
ngx_http_misdirect_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_misdirect_srv_conf_t  *prev = parent;
    ngx_http_misdirect_srv_conf_t  *conf = child;

    ngx_conf_merge_uint_value(conf->mode, prev->mode,
                              NGX_HTTP_MISDIRECT_OFF);
    ngx_conf_merge_uint_value(conf->unknown_sni, prev->unknown_sni, 0);
    ngx_conf_merge_uint_value(conf->unknown_host, prev->unknown_host, 0);
    ngx_conf_merge_uint_value(conf->no_sni, prev->no_sni, 0);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_misdirect_init(ngx_conf_t *cf)
{
    ngx_uint_t                       i;
    ngx_http_handler_pt             *h;
    ngx_http_core_srv_conf_t       **cscfp;
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_misdirect_srv_conf_t   *mscf;
    ngx_http_misdirect_main_conf_t  *mmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_misdirect_module);

    cscfp = cmcf->servers.elts;

    for (i = 0; i < cmcf->servers.nelts; i++) {
        mscf = cscfp[i]->ctx->srv_conf[ngx_http_misdirect_module.ctx_index];

        if (mscf->mode != NGX_HTTP_MISDIRECT_OFF) {
            mmcf->used = 1;
            break;
        }
    }

    if (!mmcf->used) {
        return NGX_OK;
    }

    if (mmcf->table_file.len) {
        if (ngx_http_misdirect_load_table(cf, mmcf) != NGX_OK) {
            return NGX_ERROR;
        }

    } else if (ngx_http_misdirect_build_table(cf, mmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_misdirect_ssl_init(cf, mmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_misdirect_handler;

    return NGX_OK;
}
