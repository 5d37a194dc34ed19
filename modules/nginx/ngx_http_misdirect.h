
/*
 * misdirect nginx module: shared declarations.
 *
 * The module derives a misdirect vhost table from nginx's own server{}
 * blocks (ngx_http_misdirect_table.c), picks the handshake vhost in a TLS
 * ClientHello callback (ngx_http_misdirect_ssl.c) and decides every request
 * in the POST_READ phase (ngx_http_misdirect_module.c).  See docs/nginx.md.
 */


#ifndef _NGX_HTTP_MISDIRECT_H_INCLUDED_
#define _NGX_HTTP_MISDIRECT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#if !(NGX_HTTP_SSL)
#error "misdirect: nginx must be configured with --with-http_ssl_module"
#endif

#define MISDIRECT_STATICLIB
#define MISDIRECT_OPENSSL_STATICLIB
#include <misdirect/misdirect.h>


#define NGX_HTTP_MISDIRECT_OFF           0
#define NGX_HTTP_MISDIRECT_ON            1
#define NGX_HTTP_MISDIRECT_REPORT        2


/* One listen address:port of the http{} block: a misdirect listener. */
typedef struct {
    struct sockaddr                 *sockaddr;
    socklen_t                        socklen;
    in_port_t                        port;
    unsigned                         wildcard:1;
    unsigned                         ssl:1;
    mdr_index                        index;
    ngx_http_core_srv_conf_t        *default_server;
} ngx_http_misdirect_listener_t;


/* What the ClientHello callback needs of each vhost (by table index). */
typedef struct {
    SSL_CTX                         *ssl_ctx;
    u_char                           policy_id[32];
    unsigned                         has_policy:1;
} ngx_http_misdirect_vhost_t;


typedef struct {
    mdr_table                       *table;
    ngx_http_misdirect_vhost_t      *vhosts;
    ngx_uint_t                       nvhosts;
    ngx_array_t                      listeners;
                                      /* ngx_http_misdirect_listener_t */
    ngx_str_t                        table_file;  /* misdirect_table */
    ngx_uint_t                       used;        /* any "misdirect" not off */
    int                              conn_index;  /* SSL ex_data, or -1 */
} ngx_http_misdirect_main_conf_t;


typedef struct {
    ngx_uint_t                       mode;
    ngx_uint_t                       unknown_sni;
    ngx_uint_t                       unknown_host;
    ngx_uint_t                       no_sni;
    ngx_str_t                        vhost_name;  /* misdirect_vhost */
    mdr_index                        vhost;
} ngx_http_misdirect_srv_conf_t;


/* What the ClientHello callback decided for a TLS connection. */
typedef struct {
    mdr_index                        listener;
    mdr_index                        vhost;
    uint32_t                         match;       /* hs.match: mdr_conn.hs_match */
    size_t                           sni_len;
    unsigned                         has_sni:1;
    unsigned                         report:1;
    u_char                           sni[256];
} ngx_http_misdirect_conn_t;


extern ngx_module_t  ngx_http_misdirect_module;


ngx_int_t ngx_http_misdirect_build_table(ngx_conf_t *cf,
    ngx_http_misdirect_main_conf_t *mmcf);
ngx_int_t ngx_http_misdirect_load_table(ngx_conf_t *cf,
    ngx_http_misdirect_main_conf_t *mmcf);
ngx_http_misdirect_listener_t *ngx_http_misdirect_find_listener(
    ngx_http_misdirect_main_conf_t *mmcf, ngx_connection_t *c);

#if (NGX_HTTP_SSL)
ngx_int_t ngx_http_misdirect_ssl_init(ngx_conf_t *cf,
    ngx_http_misdirect_main_conf_t *mmcf);
ngx_http_misdirect_conn_t *ngx_http_misdirect_ssl_conn(
    ngx_http_misdirect_main_conf_t *mmcf, ngx_connection_t *c);
#endif


#endif /* _NGX_HTTP_MISDIRECT_H_INCLUDED_ */
