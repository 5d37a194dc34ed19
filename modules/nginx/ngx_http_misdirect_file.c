
/*
 * misdirect nginx module: an explicit vhosts file ("misdirect_table FILE").
 *
 * The file is parsed with the OpenSSL adapter (certificate names from
 * file=, CA identities from ca-file=).  Each server{} maps to the vhost
 * named by its misdirect_vhost, else by its first server_name; each listen
 * address:port to the file's listener with the same port and scheme.  When
 * the two disagree, nginx -t fails naming the file and the line of the
 * statement concerned (docs/nginx.md).
 */


#include "ngx_http_misdirect.h"

#include <openssl/ssl.h>
#include <misdirect/openssl.h>


typedef struct {
    ngx_str_t                        path;
    u_char                          *text;
    size_t                           len;
} ngx_http_misdirect_file_t;


static ngx_int_t ngx_http_misdirect_read(ngx_conf_t *cf,
    ngx_http_misdirect_file_t *f);
static ngx_uint_t ngx_http_misdirect_vhost_line(mdr_table *table,
    mdr_index v);
static ngx_int_t ngx_http_misdirect_server_vhost(ngx_conf_t *cf,
    ngx_http_misdirect_main_conf_t *mmcf, ngx_http_misdirect_file_t *f,
    ngx_http_core_srv_conf_t *cscf, u_char *on, ngx_uint_t *taken);
static void ngx_http_misdirect_file_cleanup(void *data);


ngx_int_t
ngx_http_misdirect_load_table(ngx_conf_t *cf,
    ngx_http_misdirect_main_conf_t *mmcf)
{
    int                              rc;
    u_char                          *on, *p;
    size_t                           nl;
    mdr_str                          source, base;
    mdr_index                        li;
    mdr_error                        err;
    ngx_uint_t                       i, k, s, pi, a, *taken;
    mdr_table                       *table;
    mdr_listener_info                linfo;
    ngx_pool_cleanup_t              *cln;
    ngx_http_conf_port_t            *port;
    ngx_http_conf_addr_t            *addr;
    ngx_http_core_srv_conf_t       **cscfp, **sp;
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_misdirect_file_t        f;
    ngx_http_misdirect_listener_t   *l;
    ngx_http_misdirect_srv_conf_t   *mscf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    f.path = mmcf->table_file;

    if (ngx_http_misdirect_read(cf, &f) != NGX_OK) {
        return NGX_ERROR;
    }

    source.ptr = (const char *) f.path.data;
    source.len = f.path.len;

    base.ptr = (const char *) f.path.data;
    base.len = 0;

    for (p = f.path.data + f.path.len; p > f.path.data; p--) {
        if (p[-1] == '/') {
            base.len = p - 1 - f.path.data;
            break;
        }
    }

    if (base.len == 0 && f.path.data[0] == '/') {
        base.len = 1;
    }

    ngx_memzero(&err, sizeof(mdr_error));

    rc = mdr_ossl_table_parse((const char *) f.text, f.len, source, base,
                              NULL, &table, &err);
    if (rc != 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "misdirect: %s",
                      err.message[0] ? err.message : mdr_strerror(rc));
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        mdr_table_unref(table);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_misdirect_file_cleanup;
    cln->data = table;
    mmcf->table = table;

    mmcf->nvhosts = mdr_table_vhost_count(table);
    nl = mdr_table_listener_count(table);

    mmcf->vhosts = ngx_pcalloc(cf->pool,
                       mmcf->nvhosts * sizeof(ngx_http_misdirect_vhost_t) + 1);
    taken = ngx_pcalloc(cf->temp_pool, mmcf->nvhosts * sizeof(ngx_uint_t) + 1);
    on = ngx_pcalloc(cf->temp_pool, cmcf->servers.nelts * (nl + 1));

    if (mmcf->vhosts == NULL || taken == NULL || on == NULL) {
        return NGX_ERROR;
    }

    cscfp = cmcf->servers.elts;

    for (s = 0; s < cmcf->servers.nelts; s++) {
        mscf = cscfp[s]->ctx->srv_conf[ngx_http_misdirect_module.ctx_index];
        mscf->vhost = (mdr_index) s;        /* the server's row in "on" */
    }

    /* every listen address:port is one of the file's listeners */

    port = cmcf->ports->elts;

    for (pi = 0; pi < cmcf->ports->nelts; pi++) {
        addr = port[pi].addrs.elts;

        for (a = 0; a < port[pi].addrs.nelts; a++) {

#if (NGX_HAVE_UNIX_DOMAIN)
            if (addr[a].opt.sockaddr->sa_family == AF_UNIX) {
                continue;
            }
#endif

            li = MDR_NONE;

            for (k = 0; k < nl; k++) {
                if (mdr_table_listener_info(table, (mdr_index) k, &linfo)
                    == 0
                    && linfo.port == port[pi].port
                    && linfo.tls == (addr[a].opt.ssl ? 1 : 0))
                {
                    li = (mdr_index) k;
                    break;
                }
            }

            if (li == MDR_NONE) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "misdirect: %V has no %s listener on port %d, "
                              "which \"listen %V%s\" needs",
                              &f.path, addr[a].opt.ssl ? "https" : "http",
                              (int) port[pi].port, &addr[a].opt.addr_text,
                              addr[a].opt.ssl ? " ssl" : "");
                return NGX_ERROR;
            }

            l = ngx_array_push(&mmcf->listeners);
            if (l == NULL) {
                return NGX_ERROR;
            }

            l->sockaddr = addr[a].opt.sockaddr;
            l->socklen = addr[a].opt.socklen;
            l->port = port[pi].port;
            l->wildcard = addr[a].opt.wildcard;
            l->ssl = addr[a].opt.ssl;
            l->index = li;
            l->default_server = addr[a].default_server;

            sp = addr[a].servers.elts;
            for (i = 0; i < addr[a].servers.nelts; i++) {
                mscf = sp[i]->ctx->srv_conf[
                                        ngx_http_misdirect_module.ctx_index];
                on[mscf->vhost * (nl + 1) + li] = 1;
                on[mscf->vhost * (nl + 1) + nl] = 1;
            }
        }
    }

    /* every server{} with a listener is one vhost, and the other way */

    for (s = 0; s < cmcf->servers.nelts; s++) {
        if (!on[s * (nl + 1) + nl]) {
            mscf = cscfp[s]->ctx->srv_conf[ngx_http_misdirect_module.ctx_index];
            mscf->vhost = MDR_NONE;
            continue;
        }

        if (ngx_http_misdirect_server_vhost(cf, mmcf, &f, cscfp[s],
                                            &on[s * (nl + 1)], taken)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < mmcf->nvhosts; i++) {
        if (!taken[i]) {
            mdr_str  name = mdr_vhost_name(table, (mdr_index) i);

            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "misdirect: %V:%ui: vhost '%*s' has no server{} "
                          "(give one \"misdirect_vhost %*s;\")",
                          &f.path,
                          ngx_http_misdirect_vhost_line(table, (mdr_index) i),
                          name.len, name.ptr, name.len, name.ptr);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_misdirect_server_vhost(ngx_conf_t *cf,
    ngx_http_misdirect_main_conf_t *mmcf, ngx_http_misdirect_file_t *f,
    ngx_http_core_srv_conf_t *cscf, u_char *on, ngx_uint_t *taken)
{
    size_t                          nl, k;
    mdr_str                         name;
    ngx_str_t                      *n;
    mdr_index                       v;
    ngx_uint_t                      i, line, want;
    mdr_vhost_info                  vi;
    mdr_listener_info               linfo;
    ngx_http_server_name_t         *sn;
    ngx_http_ssl_srv_conf_t        *sscf;
    ngx_http_misdirect_srv_conf_t  *mscf;

    mscf = cscf->ctx->srv_conf[ngx_http_misdirect_module.ctx_index];
    nl = mdr_table_listener_count(mmcf->table);

    n = NULL;
    if (mscf->vhost_name.len) {
        n = &mscf->vhost_name;

    } else {
        sn = cscf->server_names.elts;
        for (i = 0; i < cscf->server_names.nelts; i++) {
#if (NGX_PCRE)
            if (sn[i].regex) {
                continue;
            }
#endif
            if (sn[i].name.len && !(sn[i].name.len == 1
                                    && sn[i].name.data[0] == '_'))
            {
                n = &sn[i].name;
                break;
            }
        }
    }

    if (n == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "misdirect: the server in %s:%ui has no server_name: "
                      "name its vhost of %V with misdirect_vhost",
                      cscf->file_name, cscf->line, &f->path);
        return NGX_ERROR;
    }

    name.ptr = (const char *) n->data;
    name.len = n->len;

    if (mdr_table_find_vhost(mmcf->table, name, &v) != 0
        || v >= mmcf->nvhosts)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "misdirect: the server in %s:%ui: %V has no vhost "
                      "named '%V' (set misdirect_vhost)",
                      cscf->file_name, cscf->line, &f->path, n);
        return NGX_ERROR;
    }

    line = ngx_http_misdirect_vhost_line(mmcf->table, v);

    if (taken[v]) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "misdirect: %V:%ui: vhost '%V' is mapped to two "
                      "server{} blocks (the second in %s:%ui)",
                      &f->path, line, n, cscf->file_name, cscf->line);
        return NGX_ERROR;
    }

    taken[v] = 1;
    mscf->vhost = v;

    /* the same listeners on both sides */

    for (k = 0; k < nl; k++) {
        want = mdr_vhost_on_listener(mmcf->table, v, (mdr_index) k) ? 1 : 0;

        if (want == on[k]) {
            continue;
        }

        (void) mdr_table_listener_info(mmcf->table, (mdr_index) k, &linfo);

        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "misdirect: %V:%ui: vhost '%V' %s listener '%*s' "
                      "(port %d) but its server{} in %s:%ui %s",
                      &f->path, line, n, want ? "is on" : "is not on",
                      linfo.name.len, linfo.name.ptr, (int) linfo.port,
                      cscf->file_name, cscf->line,
                      want ? "does not listen there" : "listens there");
        return NGX_ERROR;
    }

    if (mdr_table_vhost_info(mmcf->table, v, &vi) != 0) {
        return NGX_ERROR;
    }

    sscf = cscf->ctx->srv_conf[ngx_http_ssl_module.ctx_index];

    /* the client-certificate requirement must be nginx's */

    if (sscf->ssl.ctx
        && vi.client_auth != (sscf->verify == 0 ? MDR_CLIENT_AUTH_NONE
                              : sscf->verify == 1 ? MDR_CLIENT_AUTH_REQUIRED
                              : MDR_CLIENT_AUTH_OPTIONAL))
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "misdirect: %V:%ui: vhost '%V' has policy '%*s' whose "
                      "client-auth= differs from ssl_verify_client of its "
                      "server{} in %s:%ui",
                      &f->path, line, n, vi.policy.len, vi.policy.ptr,
                      cscf->file_name, cscf->line);
        return NGX_ERROR;
    }

    mmcf->vhosts[v].ssl_ctx = sscf->ssl.ctx;

    if (sscf->ssl.ctx) {
        if (mdr_ossl_policy_identity(sscf->ssl.ctx,
                                     mmcf->vhosts[v].policy_id)
            != 0)
        {
            return NGX_ERROR;
        }

        mmcf->vhosts[v].has_policy = 1;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_misdirect_read(ngx_conf_t *cf, ngx_http_misdirect_file_t *f)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    if (ngx_conf_full_name(cf->cycle, &f->path, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(f->path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                      "misdirect: cannot open misdirect_table \"%V\"",
                      &f->path);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 64 * 1024 * 1024)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                      "misdirect: cannot read misdirect_table \"%V\" "
                      "(or it is larger than 64 MB)", &f->path);
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    f->len = (size_t) ngx_file_size(&fi);
    f->text = ngx_pnalloc(cf->temp_pool, f->len + 1);
    if (f->text == NULL) {
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = f->len ? ngx_read_fd(fd, f->text, f->len) : 0;
    (void) ngx_close_file(fd);

    if (n < 0 || (size_t) n != f->len) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                      "misdirect: cannot read misdirect_table \"%V\"",
                      &f->path);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* The source line of vhost v's statement, which the table keeps: one
 * lookup, where searching the file for it made a start-up with N server{}
 * blocks cost N times the file. */

static ngx_uint_t
ngx_http_misdirect_vhost_line(mdr_table *table, mdr_index v)
{
    mdr_vhost_info  vi;

    if (mdr_table_vhost_info(table, v, &vi) != 0) {
        return 0;
    }

    return vi.line;
}


static void
ngx_http_misdirect_file_cleanup(void *data)
{
    mdr_table_unref(data);
}
