
/*
 * misdirect nginx module: the vhost table derived from the http{} block.
 *
 * Each server{} is a vhost; each listen address:port is a listener (https
 * when it has "ssl"), whose default is nginx's default server for it; the
 * certificate names are the subjectAltNames of every ssl_certificate of
 * the server; the TLS policy is the OpenSSL adapter's policy identity of
 * the server's SSL_CTX (verify mode, client CAs, protocols, ciphers).
 */


#include "ngx_http_misdirect.h"

#include <openssl/ssl.h>
#include <misdirect/openssl.h>


#define NGX_HTTP_MISDIRECT_MAX_CERT_NAMES  4096


typedef struct {
    ngx_array_t                      listeners;     /* mdr_str */
    ngx_array_t                      names;         /* mdr_str */
    ngx_array_t                      cert_names;    /* mdr_str */
    mdr_str                          name;
    uint8_t                         *policy_id;
    ngx_uint_t                       tls;
} ngx_http_misdirect_server_t;


/* The names read from each certificate file during one start-up, by the
 * file's full path: server{} blocks that share a certificate (the common
 * case, often through http{}'s ssl_certificate) read and parse it once,
 * where each read cost about as much as nginx's own load of the file. */

typedef struct ngx_http_misdirect_cert_seen_s  ngx_http_misdirect_cert_seen_t;

struct ngx_http_misdirect_cert_seen_s {
    ngx_http_misdirect_cert_seen_t  *next;
    ngx_str_t                        path;
    mdr_str                         *names;
    size_t                           n;
};

typedef struct {
    ngx_http_misdirect_cert_seen_t **bucket;
    ngx_uint_t                       mask;
} ngx_http_misdirect_cert_cache_t;


static ngx_int_t ngx_http_misdirect_add_listener(ngx_conf_t *cf,
    ngx_http_misdirect_main_conf_t *mmcf, ngx_http_conf_port_t *port,
    ngx_http_conf_addr_t *addr, ngx_http_misdirect_server_t *servers,
    mdr_builder *b);
static ngx_int_t ngx_http_misdirect_server_names(ngx_conf_t *cf,
    ngx_http_core_srv_conf_t *cscf, ngx_http_misdirect_server_t *srv,
    ngx_hash_keys_arrays_t *claimed);
static ngx_int_t ngx_http_misdirect_claim(ngx_conf_t *cf,
    ngx_http_misdirect_server_t *srv, ngx_hash_keys_arrays_t *claimed,
    ngx_str_t *name);
static ngx_int_t ngx_http_misdirect_push_name(ngx_conf_t *cf, ngx_array_t *a,
    u_char *p, size_t len);
static ngx_int_t ngx_http_misdirect_cert_names(ngx_conf_t *cf,
    ngx_http_core_srv_conf_t *cscf, ngx_http_misdirect_server_t *srv,
    ngx_http_misdirect_cert_cache_t *cache);
static ngx_int_t ngx_http_misdirect_add_server(ngx_conf_t *cf,
    ngx_uint_t i, ngx_http_core_srv_conf_t *cscf,
    ngx_http_misdirect_server_t *srv, mdr_builder *b);
static void ngx_http_misdirect_table_cleanup(void *data);
static mdr_str ngx_http_misdirect_mdr_str(ngx_conf_t *cf, const char *fmt,
    ngx_uint_t n);


static ngx_http_misdirect_srv_conf_t *
ngx_http_misdirect_srv(ngx_http_core_srv_conf_t *cscf)
{
    return cscf->ctx->srv_conf[ngx_http_misdirect_module.ctx_index];
}


ngx_int_t
ngx_http_misdirect_build_table(ngx_conf_t *cf,
    ngx_http_misdirect_main_conf_t *mmcf)
{
    int                           rc;
    mdr_error                     err;
    ngx_uint_t                    i, p, a;
    mdr_table                    *table;
    mdr_builder                  *b;
    ngx_pool_cleanup_t           *cln;
    ngx_http_conf_port_t         *port;
    ngx_http_conf_addr_t         *addr;
    ngx_hash_keys_arrays_t        claimed;
    ngx_http_misdirect_cert_cache_t  cache;
    ngx_http_core_srv_conf_t    **cscfp;
    ngx_http_core_main_conf_t    *cmcf;
    mdr_index                     v;
    ngx_http_ssl_srv_conf_t      *sscf;
    ngx_http_misdirect_server_t  *servers;
    ngx_http_misdirect_srv_conf_t  *mscf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    cscfp = cmcf->servers.elts;

    if (cmcf->ports == NULL || cmcf->servers.nelts == 0) {
        return NGX_OK;
    }

    servers = ngx_pcalloc(cf->temp_pool,
                   cmcf->servers.nelts * sizeof(ngx_http_misdirect_server_t));
    if (servers == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < cmcf->servers.nelts; i++) {
        ngx_http_misdirect_srv(cscfp[i])->vhost = (mdr_index) i;

        if (ngx_array_init(&servers[i].listeners, cf->temp_pool, 2,
                           sizeof(mdr_str))
            != NGX_OK
            || ngx_array_init(&servers[i].names, cf->temp_pool, 4,
                              sizeof(mdr_str))
               != NGX_OK
            || ngx_array_init(&servers[i].cert_names, cf->temp_pool, 4,
                              sizeof(mdr_str))
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (mdr_builder_new(&b, NULL) != 0) {
        return NGX_ERROR;
    }

    /* listeners, and the listeners of each server */

    port = cmcf->ports->elts;
    for (p = 0; p < cmcf->ports->nelts; p++) {
        addr = port[p].addrs.elts;
        for (a = 0; a < port[p].addrs.nelts; a++) {
            if (ngx_http_misdirect_add_listener(cf, mmcf, &port[p], &addr[a],
                                                servers, b)
                != NGX_OK)
            {
                goto failed;
            }
        }
    }

    /* names: a name claimed by an earlier server on a shared listener is
     * left to that server, as nginx does ("conflicting server name") */

    claimed.pool = cf->pool;
    claimed.temp_pool = cf->temp_pool;

    if (ngx_hash_keys_array_init(&claimed, NGX_HASH_LARGE) != NGX_OK) {
        goto failed;
    }

    for (cache.mask = 15; cache.mask < cmcf->servers.nelts; ) {
        cache.mask = cache.mask * 2 + 1;
    }

    cache.bucket = ngx_pcalloc(cf->temp_pool,
                    (cache.mask + 1) * sizeof(ngx_http_misdirect_cert_seen_t *));
    if (cache.bucket == NULL) {
        goto failed;
    }

    for (i = 0; i < cmcf->servers.nelts; i++) {
        if (servers[i].listeners.nelts == 0) {
            continue;
        }

        if (ngx_http_misdirect_server_names(cf, cscfp[i], &servers[i],
                                            &claimed)
            != NGX_OK)
        {
            goto failed;
        }

        if (servers[i].tls
            && ngx_http_misdirect_cert_names(cf, cscfp[i], &servers[i],
                                             &cache)
               != NGX_OK)
        {
            goto failed;
        }

        if (ngx_http_misdirect_add_server(cf, i, cscfp[i], &servers[i], b)
            != NGX_OK)
        {
            goto failed;
        }
    }

    ngx_memzero(&err, sizeof(mdr_error));

    rc = mdr_builder_build(b, &table, &err);
    if (rc != 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "misdirect: the table derived from the server "
                      "blocks is invalid: %s",
                      rc == MDR_ERR_CONFIG ? err.message
                                           : mdr_strerror(rc));
        goto failed;
    }

    mdr_builder_free(b);

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        mdr_table_unref(table);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_misdirect_table_cleanup;
    cln->data = table;
    mmcf->table = table;

    /* each server{} learns its vhost index, each vhost its SSL_CTX and
     * policy identity */

    mmcf->nvhosts = mdr_table_vhost_count(table);
    mmcf->vhosts = ngx_pcalloc(cf->pool,
                       mmcf->nvhosts * sizeof(ngx_http_misdirect_vhost_t) + 1);
    if (mmcf->vhosts == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < cmcf->servers.nelts; i++) {
        mscf = ngx_http_misdirect_srv(cscfp[i]);
        mscf->vhost = MDR_NONE;

        if (servers[i].name.len == 0
            || mdr_table_find_vhost(table, servers[i].name, &v) != 0
            || v >= mmcf->nvhosts)
        {
            continue;
        }

        mscf->vhost = v;

        sscf = cscfp[i]->ctx->srv_conf[ngx_http_ssl_module.ctx_index];
        mmcf->vhosts[v].ssl_ctx = sscf->ssl.ctx;

        if (servers[i].policy_id) {
            ngx_memcpy(mmcf->vhosts[v].policy_id, servers[i].policy_id,
                       MDR_OSSL_POLICY_ID_LEN);
            mmcf->vhosts[v].has_policy = 1;
        }
    }

    return NGX_OK;

failed:

    mdr_builder_free(b);
    return NGX_ERROR;
}


static void
ngx_http_misdirect_table_cleanup(void *data)
{
    mdr_table_unref(data);
}


static ngx_int_t
ngx_http_misdirect_add_listener(ngx_conf_t *cf,
    ngx_http_misdirect_main_conf_t *mmcf, ngx_http_conf_port_t *port,
    ngx_http_conf_addr_t *addr, ngx_http_misdirect_server_t *servers,
    mdr_builder *b)
{
    int                              rc;
    u_char                          *text;
    size_t                           len;
    mdr_str                         *ls;
    mdr_error                        err;
    ngx_uint_t                       s, k;
    mdr_listener_conf                lc;
    ngx_http_core_srv_conf_t       **cscfp;
    ngx_http_misdirect_listener_t   *l;
    ngx_http_misdirect_srv_conf_t   *dscf;
    ngx_http_misdirect_server_t     *srv;

#if (NGX_HAVE_UNIX_DOMAIN)
    /* a UNIX-domain socket has no port and no host: misdirect has nothing
     * to check there, and its requests are not decided */
    if (addr->opt.sockaddr->sa_family == AF_UNIX) {
        return NGX_OK;
    }
#endif

    text = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN);
    if (text == NULL) {
        return NGX_ERROR;
    }

    len = ngx_sock_ntop(addr->opt.sockaddr, addr->opt.socklen, text,
                        NGX_SOCKADDR_STRLEN, 1);

    l = ngx_array_push(&mmcf->listeners);
    if (l == NULL) {
        return NGX_ERROR;
    }

    l->sockaddr = addr->opt.sockaddr;
    l->socklen = addr->opt.socklen;
    l->port = port->port;
    l->wildcard = addr->opt.wildcard;
    l->ssl = addr->opt.ssl;
    l->index = (mdr_index) (mmcf->listeners.nelts - 1);
    l->default_server = addr->default_server;

    dscf = ngx_http_misdirect_srv(addr->default_server);

    ngx_memzero(&lc, sizeof(mdr_listener_conf));
    lc.name.ptr = (const char *) text;
    lc.name.len = len;
    lc.tls = addr->opt.ssl ? 1 : 0;
    lc.port = (uint16_t) port->port;
    lc.unknown_host = dscf->unknown_host ? MDR_UNKNOWN_HOST_DEFAULT
                                         : MDR_UNKNOWN_HOST_REJECT;
    lc.unknown_sni = dscf->unknown_sni ? MDR_UNKNOWN_SNI_DEFAULT
                                       : MDR_UNKNOWN_SNI_REJECT;
    lc.no_sni = dscf->no_sni ? MDR_NO_SNI_REJECT : MDR_NO_SNI_DEFAULT;

    /* the default vhost's statement name is known only later: it is the
     * server's index, see ngx_http_misdirect_add_server() */
    lc.default_vhost = ngx_http_misdirect_mdr_str(cf, "server-%ui",
                                                  dscf->vhost + 1);
    if (lc.default_vhost.ptr == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&err, sizeof(mdr_error));

    rc = mdr_builder_add_listener(b, &lc, &err);
    if (rc != 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "misdirect: listener %*s: %s", len, text,
                      rc == MDR_ERR_CONFIG ? err.message
                                           : mdr_strerror(rc));
        return NGX_ERROR;
    }

    cscfp = addr->servers.elts;
    for (s = 0; s < addr->servers.nelts; s++) {
        srv = &servers[ngx_http_misdirect_srv(cscfp[s])->vhost];

        /* a server listed twice on one address (several listen lines
         * resolving to it) is one vhost on one listener */
        ls = srv->listeners.elts;
        for (k = 0; k < srv->listeners.nelts; k++) {
            if (ls[k].ptr == (const char *) text) {
                break;
            }
        }

        if (k < srv->listeners.nelts) {
            continue;
        }

        ls = ngx_array_push(&srv->listeners);
        if (ls == NULL) {
            return NGX_ERROR;
        }

        *ls = lc.name;

        if (addr->opt.ssl) {
            srv->tls = 1;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_misdirect_server_names(ngx_conf_t *cf,
    ngx_http_core_srv_conf_t *cscf, ngx_http_misdirect_server_t *srv,
    ngx_hash_keys_arrays_t *claimed)
{
    u_char                  *p;
    ngx_str_t                name, wild;
    ngx_uint_t               i, n;
    mdr_authority            auth;
    int                      valid;
    ngx_http_server_name_t  *sn;

    sn = cscf->server_names.elts;

    for (i = 0; i < cscf->server_names.nelts; i++) {

#if (NGX_PCRE)
        if (sn[i].regex) {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "misdirect: regex server_name \"~%V\" in %s:%ui "
                          "cannot be decided by misdirect: requests for "
                          "its names are treated as unknown",
                          &sn[i].name, cscf->file_name, cscf->line);
            continue;
        }
#endif

        name = sn[i].name;

        /* "" and "_" are the catch-all idioms: they name nothing */
        if (name.len == 0 || (name.len == 1 && name.data[0] == '_')) {
            continue;
        }

        if (name.data[name.len - 1] == '*') {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "misdirect: server_name \"%V\" in %s:%ui: "
                          "trailing wildcards are not supported: requests "
                          "for its names are treated as unknown",
                          &name, cscf->file_name, cscf->line);
            continue;
        }

        /* ".a.b" is "a.b" and "*.a.b" */
        n = 1;
        if (name.data[0] == '.') {
            wild.len = name.len + 1;
            wild.data = ngx_pnalloc(cf->pool, wild.len);
            if (wild.data == NULL) {
                return NGX_ERROR;
            }

            wild.data[0] = '*';
            ngx_memcpy(wild.data + 1, name.data, name.len);
            name.data++;
            name.len--;
            n = 2;
        }

        /* the name without its "*." must be a host misdirect accepts */
        p = name.data;
        if (name.len > 2 && p[0] == '*' && p[1] == '.') {
            p += 2;
        }

        if (mdr_authority_parse((const char *) p, name.data + name.len - p,
                                0, &auth, &valid, NULL)
               != 0
            || !valid || auth.port != 0)
        {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "misdirect: server_name \"%V\" in %s:%ui is not "
                          "a host name misdirect accepts: requests for it "
                          "are treated as unknown",
                          &sn[i].name, cscf->file_name, cscf->line);
            continue;
        }

        if (ngx_http_misdirect_claim(cf, srv, claimed, &name) != NGX_OK) {
            return NGX_ERROR;
        }

        if (n == 2
            && ngx_http_misdirect_claim(cf, srv, claimed, &wild) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* Add a name to srv unless another server claimed it on a shared listener
 * (or srv already has it).  Linear: one hash probe per listener. */

static ngx_int_t
ngx_http_misdirect_claim(ngx_conf_t *cf, ngx_http_misdirect_server_t *srv,
    ngx_hash_keys_arrays_t *claimed, ngx_str_t *name)
{
    u_char      *p;
    ngx_str_t    key, *keys;
    mdr_str     *ls;
    ngx_uint_t   i, k, h, pass;
    ngx_array_t *bucket;

    ls = srv->listeners.elts;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < srv->listeners.nelts; i++) {

            key.len = ls[i].len + 1 + name->len;
            key.data = ngx_pnalloc(cf->temp_pool, key.len);
            if (key.data == NULL) {
                return NGX_ERROR;
            }

            p = ngx_cpymem(key.data, ls[i].ptr, ls[i].len);
            *p++ = ' ';
            ngx_strlow(p, name->data, name->len);

            if (pass == 1) {
                if (ngx_hash_add_key(claimed, &key, srv,
                                     NGX_HASH_READONLY_KEY)
                    == NGX_ERROR)
                {
                    return NGX_ERROR;
                }

                continue;
            }

            h = ngx_hash_key(key.data, key.len) % claimed->hsize;
            bucket = &claimed->keys_hash[h];
            keys = bucket->elts;

            for (k = 0; k < bucket->nelts; k++) {
                if (keys[k].len == key.len
                    && ngx_strncmp(keys[k].data, key.data, key.len) == 0)
                {
                    /* the same server may name it twice ("a.b" and
                     * ".a.b"); nginx itself warned about another one */
                    return NGX_OK;
                }
            }
        }
    }

    return ngx_http_misdirect_push_name(cf, &srv->names, name->data,
                                        name->len);
}


static ngx_int_t
ngx_http_misdirect_push_name(ngx_conf_t *cf, ngx_array_t *a, u_char *p,
    size_t len)
{
    mdr_str  *s;
    u_char   *copy;

    copy = ngx_pnalloc(cf->temp_pool, len ? len : 1);
    if (copy == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(copy, p, len);

    s = ngx_array_push(a);
    if (s == NULL) {
        return NGX_ERROR;
    }

    s->ptr = (const char *) copy;
    s->len = len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_misdirect_cert_names(ngx_conf_t *cf, ngx_http_core_srv_conf_t *cscf,
    ngx_http_misdirect_server_t *srv, ngx_http_misdirect_cert_cache_t *cache)
{
    int                              rc;
    char                             why[256];
    size_t                           n, k;
    mdr_str                         *names, *s;
    ngx_str_t                       *cert, path;
    ngx_uint_t                       i, h;
    mdr_ossl_names                   scratch;
    ngx_http_ssl_srv_conf_t         *sscf;
    ngx_http_misdirect_cert_seen_t  *seen;

    sscf = cscf->ctx->srv_conf[ngx_http_ssl_module.ctx_index];

    if (sscf->certificates == NULL) {
        return NGX_OK;
    }

    names = ngx_palloc(cf->temp_pool,
                       NGX_HTTP_MISDIRECT_MAX_CERT_NAMES * sizeof(mdr_str));
    if (names == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&scratch, sizeof(mdr_ossl_names));

    cert = sscf->certificates->elts;

    for (i = 0; i < sscf->certificates->nelts; i++) {

        if (ngx_strlchr(cert[i].data, cert[i].data + cert[i].len, '$')
            || (cert[i].len > 5 && ngx_strncmp(cert[i].data, "data:", 5) == 0))
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "misdirect: ssl_certificate \"%V\" of the "
                          "server in %s:%ui uses variables or data: "
                          "misdirect needs the certificate's names at "
                          "start-up",
                          &cert[i], cscf->file_name, cscf->line);
            mdr_ossl_names_free(&scratch);
            return NGX_ERROR;
        }

        /* a NUL-terminated copy, relative to the configuration prefix */
        path.len = cert[i].len;
        path.data = ngx_pnalloc(cf->temp_pool, path.len + 1);
        if (path.data == NULL) {
            mdr_ossl_names_free(&scratch);
            return NGX_ERROR;
        }

        ngx_cpystrn(path.data, cert[i].data, path.len + 1);

        if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
            mdr_ossl_names_free(&scratch);
            return NGX_ERROR;
        }

        /* a file already read during this start-up */

        h = ngx_hash_key(path.data, path.len) & cache->mask;

        for (seen = cache->bucket[h]; seen; seen = seen->next) {
            if (seen->path.len == path.len
                && ngx_memcmp(seen->path.data, path.data, path.len) == 0)
            {
                break;
            }
        }

        if (seen) {
            /* the first server{}'s copies live as long as these will */
            for (k = 0; k < seen->n; k++) {
                s = ngx_array_push(&srv->cert_names);
                if (s == NULL) {
                    mdr_ossl_names_free(&scratch);
                    return NGX_ERROR;
                }

                *s = seen->names[k];
            }

            continue;
        }

        why[0] = '\0';
        n = 0;

        rc = mdr_ossl_cert_names(&scratch, (const char *) path.data, names,
                                 NGX_HTTP_MISDIRECT_MAX_CERT_NAMES, &n, why,
                                 sizeof(why));
        if (rc != 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "misdirect: cannot read the names of "
                          "ssl_certificate \"%V\" (server in %s:%ui): "
                          "%s",
                          &path, cscf->file_name, cscf->line,
                          why[0] ? why : mdr_strerror(rc));
            mdr_ossl_names_free(&scratch);
            return NGX_ERROR;
        }

        /* the names point into the scratch storage: copy them now, and
         * remember the copies for the next server{} with this file */

        seen = ngx_palloc(cf->temp_pool,
                          sizeof(ngx_http_misdirect_cert_seen_t));
        if (seen == NULL) {
            mdr_ossl_names_free(&scratch);
            return NGX_ERROR;
        }

        seen->path = path;
        seen->n = n;
        seen->names = ngx_palloc(cf->temp_pool, (n ? n : 1) * sizeof(mdr_str));
        if (seen->names == NULL) {
            mdr_ossl_names_free(&scratch);
            return NGX_ERROR;
        }

        for (k = 0; k < n; k++) {
            if (ngx_http_misdirect_push_name(cf, &srv->cert_names,
                                             (u_char *) names[k].ptr,
                                             names[k].len)
                != NGX_OK)
            {
                mdr_ossl_names_free(&scratch);
                return NGX_ERROR;
            }

            seen->names[k] = ((mdr_str *) srv->cert_names.elts)
                                 [srv->cert_names.nelts - 1];
        }

        seen->next = cache->bucket[h];
        cache->bucket[h] = seen;
    }

    mdr_ossl_names_free(&scratch);

    return NGX_OK;
}


static ngx_int_t
ngx_http_misdirect_add_server(ngx_conf_t *cf, ngx_uint_t i,
    ngx_http_core_srv_conf_t *cscf, ngx_http_misdirect_server_t *srv,
    mdr_builder *b)
{
    int                       rc;
    uint8_t                  *id;
    mdr_str                   placeholder;
    mdr_error                 err;
    mdr_cert_conf             cc;
    mdr_vhost_conf            vc;
    mdr_policy_conf           pc;
    ngx_http_ssl_srv_conf_t  *sscf;

    ngx_memzero(&vc, sizeof(mdr_vhost_conf));
    ngx_memzero(&err, sizeof(mdr_error));

    vc.name = ngx_http_misdirect_mdr_str(cf, "server-%ui", i + 1);
    if (vc.name.ptr == NULL) {
        return NGX_ERROR;
    }

    srv->name = vc.name;

    vc.listeners = srv->listeners.elts;
    vc.n_listeners = srv->listeners.nelts;
    vc.http = MDR_HTTP_SERVE;
    vc.line = (unsigned) cscf->line;

    if (srv->names.nelts) {
        vc.names = srv->names.elts;
        vc.n_names = srv->names.nelts;

    } else {
        /* a server without names is reached only as a listener default;
         * the table needs one name: one no client sends (RFC 2606) */
        placeholder = ngx_http_misdirect_mdr_str(cf,
                                             "server-%ui.misdirect.invalid",
                                             i + 1);
        if (placeholder.ptr == NULL) {
            return NGX_ERROR;
        }

        vc.names = &placeholder;
        vc.n_names = 1;
    }

    if (srv->tls) {
        sscf = cscf->ctx->srv_conf[ngx_http_ssl_module.ctx_index];

        ngx_memzero(&cc, sizeof(mdr_cert_conf));
        cc.name = ngx_http_misdirect_mdr_str(cf, "cert-%ui", i + 1);
        cc.names = srv->cert_names.elts;
        cc.n_names = srv->cert_names.nelts;
        cc.line = vc.line;

        ngx_memzero(&pc, sizeof(mdr_policy_conf));
        pc.name = ngx_http_misdirect_mdr_str(cf, "policy-%ui", i + 1);
        pc.line = vc.line;

        if (cc.name.ptr == NULL || pc.name.ptr == NULL) {
            return NGX_ERROR;
        }

        switch (sscf->verify) {
        case 0:
            pc.client_auth = MDR_CLIENT_AUTH_NONE;
            break;
        case 1:
            pc.client_auth = MDR_CLIENT_AUTH_REQUIRED;
            break;
        default:
            pc.client_auth = MDR_CLIENT_AUTH_OPTIONAL;
            break;
        }

        if (sscf->client_certificate.len) {
            pc.ca_file.ptr = (const char *) sscf->client_certificate.data;
            pc.ca_file.len = sscf->client_certificate.len;

        } else if (sscf->trusted_certificate.len) {
            pc.ca_file.ptr = (const char *) sscf->trusted_certificate.data;
            pc.ca_file.len = sscf->trusted_certificate.len;
        }

        if ((sscf->protocols & NGX_SSL_TLSv1_3)
            && !(sscf->protocols & (NGX_SSL_TLSv1_2 | NGX_SSL_TLSv1_1
                                    | NGX_SSL_TLSv1 | NGX_SSL_SSLv3
                                    | NGX_SSL_SSLv2)))
        {
            pc.min_tls = MDR_TLS_1_3;
        }

        /* what the handshake enforces, as the OpenSSL adapter sees it:
         * equal identities are equal policies */
        if (sscf->ssl.ctx) {
            id = ngx_palloc(cf->temp_pool, MDR_OSSL_POLICY_ID_LEN);
            if (id == NULL) {
                return NGX_ERROR;
            }

            if (mdr_ossl_policy_identity(sscf->ssl.ctx, id) != 0) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "misdirect: cannot derive the TLS policy "
                              "of the server in %s:%ui",
                              cscf->file_name, cscf->line);
                return NGX_ERROR;
            }

            pc.ca_identity = id;
            pc.ca_identity_len = MDR_OSSL_POLICY_ID_LEN;
            srv->policy_id = id;
        }

        rc = mdr_builder_add_cert(b, &cc, &err);
        if (rc == 0) {
            rc = mdr_builder_add_policy(b, &pc, &err);
        }

        if (rc != 0) {
            goto failed;
        }

        vc.cert = cc.name;
        vc.policy = pc.name;
    }

    rc = mdr_builder_add_vhost(b, &vc, &err);
    if (rc == 0) {
        return NGX_OK;
    }

failed:

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "misdirect: the server in %s:%ui: %s",
                  cscf->file_name, cscf->line,
                  rc == MDR_ERR_CONFIG ? err.message : mdr_strerror(rc));
    return NGX_ERROR;
}


static mdr_str
ngx_http_misdirect_mdr_str(ngx_conf_t *cf, const char *fmt, ngx_uint_t n)
{
    u_char   *p, *last;
    mdr_str   s;

    s.ptr = NULL;
    s.len = 0;

    p = ngx_pnalloc(cf->pool, 64);
    if (p == NULL) {
        return s;
    }

    last = ngx_snprintf(p, 64, fmt, n);

    s.ptr = (const char *) p;
    s.len = last - p;

    return s;
}


ngx_http_misdirect_listener_t *
ngx_http_misdirect_find_listener(ngx_http_misdirect_main_conf_t *mmcf,
    ngx_connection_t *c)
{
    in_port_t                       port;
    ngx_uint_t                      i;
    ngx_http_misdirect_listener_t  *l, *wild;

    if (ngx_connection_local_sockaddr(c, NULL, 0) != NGX_OK) {
        return NULL;
    }

    port = ngx_inet_get_port(c->local_sockaddr);
    wild = NULL;
    l = mmcf->listeners.elts;

    /* as nginx picks the address: an exact one first, else the wildcard
     * of the port */
    for (i = 0; i < mmcf->listeners.nelts; i++) {
        if (l[i].port != port
            || l[i].sockaddr->sa_family != c->local_sockaddr->sa_family)
        {
            continue;
        }

        if (l[i].wildcard) {
            wild = &l[i];
            continue;
        }

        if (ngx_cmp_sockaddr(l[i].sockaddr, l[i].socklen,
                             c->local_sockaddr, c->local_socklen, 0)
            == NGX_OK)
        {
            return &l[i];
        }
    }

    return wild;
}
