/* Context sets: one SSL_CTX per vhost of a TLS listener, and the TLS policy
 * identity derived from each context. */
#include "ossl_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

/* ------------------------------------------------------------------------ */
/* Policy identity                                                           */
/* ------------------------------------------------------------------------ */

typedef struct digest_list {
  unsigned char (*d)[32];
  size_t n;
} digest_list;

static int cmp_digest(const void *a, const void *b) {
  return memcmp(a, b, 32);
}

static int hash_u64(EVP_MD_CTX *md, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (56 - 8 * i));
  return EVP_DigestUpdate(md, b, sizeof b);
}

/* Hash a labelled, sorted list of digests (count first, so "" and no list differ). */
static int hash_digests(EVP_MD_CTX *md, const char *label, digest_list *l) {
  if (l->n > 1) qsort(l->d, l->n, sizeof *l->d, cmp_digest);
  if (!EVP_DigestUpdate(md, label, strlen(label) + 1) || !hash_u64(md, l->n)) return 0;
  for (size_t i = 0; i < l->n; i++)
    if (!EVP_DigestUpdate(md, l->d[i], 32)) return 0;
  return 1;
}

static int digest_names(const STACK_OF(X509_NAME) *names, digest_list *out) {
  int n = names ? sk_X509_NAME_num(names) : 0;
  out->n = 0;
  out->d = NULL;
  if (n <= 0) return 0;
  out->d = OPENSSL_malloc((size_t)n * sizeof *out->d);
  if (!out->d) return MDR_ERR_NOMEM;
  for (int i = 0; i < n; i++) {
    unsigned char *der = NULL;
    int len = i2d_X509_NAME(sk_X509_NAME_value(names, i), &der);
    if (len < 0) return MDR_ERR_NOMEM;
    unsigned int dl = 0;
    int ok = EVP_Digest(der, (size_t)len, out->d[out->n], &dl, EVP_sha256(), NULL);
    OPENSSL_free(der);
    if (!ok) return MDR_ERR_NOMEM;
    out->n++;
  }
  return 0;
}

static int digest_store(X509_STORE *store, digest_list *out) {
  out->n = 0;
  out->d = NULL;
  if (!store) return 0;
  STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
  int n = objs ? sk_X509_OBJECT_num(objs) : 0;
  if (n <= 0) return 0;
  out->d = OPENSSL_malloc((size_t)n * sizeof *out->d);
  if (!out->d) return MDR_ERR_NOMEM;
  for (int i = 0; i < n; i++) {
    X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
    if (!x) continue; /* CRLs: their presence shows in the verify flags */
    unsigned int dl = 0;
    if (!X509_digest(x, EVP_sha256(), out->d[out->n], &dl)) return MDR_ERR_NOMEM;
    out->n++;
  }
  return 0;
}

int mdr_ossl_policy_identity(SSL_CTX *ctx, uint8_t out[MDR_OSSL_POLICY_ID_LEN]) {
  if (!ctx || !out) return MDR_ERR_INVALID_ARGUMENT;
  int rc = MDR_ERR_NOMEM;
  digest_list cas = {0}, store = {0};
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) goto done;
  static const char tag[] = "misdirect-openssl policy v1";
  if (!EVP_DigestUpdate(md, tag, sizeof tag)) goto done;

  X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(ctx);
  if (!hash_u64(md, (uint64_t)(unsigned)SSL_CTX_get_verify_mode(ctx)) ||
      !hash_u64(md, (uint64_t)(int64_t)SSL_CTX_get_verify_depth(ctx)) ||
      !hash_u64(md, (uint64_t)(vp ? X509_VERIFY_PARAM_get_flags(vp) : 0)) ||
      !hash_u64(md, (uint64_t)(int64_t)SSL_CTX_get_min_proto_version(ctx)) ||
      !hash_u64(md, (uint64_t)(int64_t)SSL_CTX_get_max_proto_version(ctx)) ||
      !hash_u64(md, (uint64_t)(SSL_CTX_get_options(ctx) & SSL_OP_NO_SSL_MASK)) ||
      !hash_u64(md, (uint64_t)(int64_t)SSL_CTX_get_security_level(ctx)))
    goto done;

  if ((rc = digest_names(SSL_CTX_get_client_CA_list(ctx), &cas)) != 0) goto done;
  rc = MDR_ERR_NOMEM;
  if (!hash_digests(md, "client-ca-names", &cas)) goto done;
  if ((rc = digest_store(SSL_CTX_get_cert_store(ctx), &store)) != 0) goto done;
  rc = MDR_ERR_NOMEM;
  if (!hash_digests(md, "trusted-certs", &store)) goto done;

  STACK_OF(SSL_CIPHER) *ciphers = SSL_CTX_get_ciphers(ctx);
  int nc = ciphers ? sk_SSL_CIPHER_num(ciphers) : 0;
  if (!EVP_DigestUpdate(md, "ciphers", 8) || !hash_u64(md, (uint64_t)(nc > 0 ? nc : 0))) goto done;
  for (int i = 0; i < nc; i++)
    if (!hash_u64(md, SSL_CIPHER_get_id(sk_SSL_CIPHER_value(ciphers, i)))) goto done;

  unsigned int len = 0;
  unsigned char d[EVP_MAX_MD_SIZE];
  if (!EVP_DigestFinal_ex(md, d, &len) || len != MDR_OSSL_POLICY_ID_LEN) goto done;
  memcpy(out, d, MDR_OSSL_POLICY_ID_LEN);
  rc = 0;
done:
  OPENSSL_free(cas.d);
  OPENSSL_free(store.d);
  EVP_MD_CTX_free(md);
  ERR_clear_error();
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Cipher strings (SSL_set_SSL_CTX does not copy the cipher lists)           */
/* ------------------------------------------------------------------------ */

int ossl_cipher_strings(SSL_CTX *ctx, char **c12, char **c13) {
  *c12 = *c13 = NULL;
  STACK_OF(SSL_CIPHER) *ciphers = SSL_CTX_get_ciphers(ctx);
  int n = ciphers ? sk_SSL_CIPHER_num(ciphers) : 0;
  size_t cap = 1;
  for (int i = 0; i < n; i++) cap += strlen(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, i))) + 1;
  char *a = OPENSSL_malloc(cap), *b = OPENSSL_malloc(cap);
  if (!a || !b) {
    OPENSSL_free(a);
    OPENSSL_free(b);
    return MDR_ERR_NOMEM;
  }
  size_t la = 0, lb = 0;
  for (int i = 0; i < n; i++) {
    const SSL_CIPHER *c = sk_SSL_CIPHER_value(ciphers, i);
    const char *name = SSL_CIPHER_get_name(c);
    size_t nl = strlen(name);
    int v13 = strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0;
    char *dst = v13 ? b : a;
    size_t *l = v13 ? &lb : &la;
    if (*l) dst[(*l)++] = ':';
    memcpy(dst + *l, name, nl);
    *l += nl;
  }
  a[la] = '\0';
  b[lb] = '\0';
  *c12 = a;
  *c13 = b;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Sets                                                                      */
/* ------------------------------------------------------------------------ */

/* A context's sharing key: (cert statement, policy class) for a loaded
 * context, the SSL_CTX pointer for a host-given one. */
typedef struct ctx_key {
  int given;
  mdr_str cert;
  uint32_t policy_class;
  const SSL_CTX *ctx;
} ctx_key;

static size_t key_hash(const ctx_key *k) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  const unsigned char *p;
  size_t n;
  uintptr_t addr = (uintptr_t)k->ctx;
  if (k->given) {
    p = (const unsigned char *)&addr;
    n = sizeof addr;
  } else {
    p = (const unsigned char *)k->cert.ptr;
    n = k->cert.len;
    h = (h ^ k->policy_class) * 1099511628211ull;
  }
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return (size_t)(h ^ (h >> 29));
}

static int key_match(const ossl_ctx *e, const ctx_key *k) {
  if (!e->ctx || e->given != k->given) return 0; /* a freed slot matches nothing */
  if (k->given) return e->ctx == k->ctx;
  return e->policy_class == k->policy_class && e->cert.len == k->cert.len &&
         (k->cert.len == 0 || memcmp(e->cert.ptr, k->cert.ptr, k->cert.len) == 0);
}

/* Index of the live context with key k, or -1. */
static long ctx_find(const mdr_ossl_set *set, const ctx_key *k) {
  if (!set->hash_cap) return -1;
  size_t mask = set->hash_cap - 1;
  for (size_t i = key_hash(k) & mask, probes = 0; probes < set->hash_cap;
       i = (i + 1) & mask, probes++) {
    uint32_t slot = set->hash[i];
    if (!slot) return -1;
    if (key_match(&set->ctxs[slot - 1], k)) return (long)(slot - 1);
  }
  return -1;
}

static ctx_key entry_key(const ossl_ctx *e) {
  ctx_key k = {e->given, e->cert, e->policy_class, e->ctx};
  return k;
}

static void hash_put(uint32_t *hash, size_t cap, const ctx_key *k, uint32_t slot) {
  size_t mask = cap - 1, i = key_hash(k) & mask;
  while (hash[i]) i = (i + 1) & mask;
  hash[i] = slot;
}

/* Room for one more context (entry array and hash at most half full). */
static int ctx_reserve(mdr_ossl_set *set) {
  if (set->n_ctx >= UINT32_MAX - 1) return MDR_ERR_LIMIT;
  if (set->n_ctx == set->cap_ctx) {
    size_t cap = set->cap_ctx ? set->cap_ctx * 2 : 8;
    ossl_ctx *n = OPENSSL_realloc(set->ctxs, cap * sizeof *n);
    if (!n) return MDR_ERR_NOMEM;
    set->ctxs = n;
    set->cap_ctx = cap;
  }
  if ((set->n_ctx + 1) * 2 > set->hash_cap) {
    size_t cap = set->hash_cap ? set->hash_cap * 2 : 16;
    uint32_t *h = OPENSSL_zalloc(cap * sizeof *h);
    if (!h) return MDR_ERR_NOMEM;
    for (size_t i = 0; i < set->n_ctx; i++) {
      if (!set->ctxs[i].ctx) continue; /* freed slots leave the hash */
      ctx_key k = entry_key(&set->ctxs[i]);
      hash_put(h, cap, &k, (uint32_t)(i + 1));
    }
    OPENSSL_free(set->hash);
    set->hash = h;
    set->hash_cap = cap;
  }
  return 0;
}

static void ctx_release(ossl_ctx *e) {
  SSL_CTX_free(e->ctx);
  OPENSSL_free(e->ciphers12);
  OPENSSL_free(e->ciphers13);
  e->ctx = NULL; /* the slot stays in the hash chain but matches nothing */
  e->ciphers12 = e->ciphers13 = NULL;
  e->users = 0;
}

/* Add ctx (a reference the caller gives up on success) under key k. */
static int ctx_add(mdr_ossl_set *set, SSL_CTX *ctx, const ctx_key *k, uint32_t *out) {
  int rc = ctx_reserve(set);
  if (rc != 0) return rc;
  ossl_ctx n;
  memset(&n, 0, sizeof n);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  rc = mdr_ossl_policy_identity(ctx, n.policy_id);
  if (rc == 0) rc = ossl_cipher_strings(ctx, &n.ciphers12, &n.ciphers13);
  if (rc != 0) {
    OPENSSL_free(n.ciphers12);
    OPENSSL_free(n.ciphers13);
    return rc;
  }
  n.ctx = ctx;
  n.given = k->given;
  n.cert = k->cert;
  n.policy_class = k->policy_class;
  uint32_t i = (uint32_t)set->n_ctx++;
  set->ctxs[i] = n;
  hash_put(set->hash, set->hash_cap, k, i + 1);
  *out = i;
  return 0;
}

/* Point vhost v at context i (releasing a context no vhost uses any more). */
static void vh_map(mdr_ossl_set *set, mdr_index v, uint32_t i) {
  uint32_t old = set->vh_ctx[v];
  set->ctxs[i].users++;
  set->vh_ctx[v] = i + 1;
  if (old && --set->ctxs[old - 1].users == 0) ctx_release(&set->ctxs[old - 1]);
}

const ossl_ctx *ossl_set_entry(const mdr_ossl_set *set, mdr_index v) {
  if (!set || v >= set->n_vh || !set->vh_ctx[v]) return NULL;
  const ossl_ctx *e = &set->ctxs[set->vh_ctx[v] - 1];
  return e->ctx ? e : NULL;
}

mdr_ossl_set *mdr_ossl_set_ref(mdr_ossl_set *set) {
  if (set) atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
  return set;
}

void mdr_ossl_set_unref(mdr_ossl_set *set) {
  if (!set) return;
  if (atomic_fetch_sub_explicit(&set->refs, 1, memory_order_acq_rel) != 1) return;
  for (size_t i = 0; i < set->n_ctx; i++) ctx_release(&set->ctxs[i]);
  OPENSSL_free(set->ctxs);
  OPENSSL_free(set->hash);
  OPENSSL_free(set->vh_ctx);
  mdr_table_unref(set->table);
  OPENSSL_free(set);
}

const mdr_table *mdr_ossl_set_table(const mdr_ossl_set *set) {
  return set ? set->table : NULL;
}

mdr_index mdr_ossl_set_listener(const mdr_ossl_set *set) {
  return set ? set->listener : MDR_NONE;
}

SSL_CTX *mdr_ossl_set_ctx(const mdr_ossl_set *set, mdr_index v) {
  const ossl_ctx *e = ossl_set_entry(set, v);
  return e ? e->ctx : NULL;
}

size_t mdr_ossl_set_ctx_count(const mdr_ossl_set *set) {
  size_t n = 0;
  if (set)
    for (size_t i = 0; i < set->n_ctx; i++) n += set->ctxs[i].ctx != NULL;
  return n;
}

int mdr_ossl_set_policy_id(const mdr_ossl_set *set, mdr_index v, uint8_t out[MDR_OSSL_POLICY_ID_LEN]) {
  if (!set || !out) return MDR_ERR_INVALID_ARGUMENT;
  const ossl_ctx *e = ossl_set_entry(set, v);
  if (!e) return MDR_ERR_NOT_FOUND;
  memcpy(out, e->policy_id, MDR_OSSL_POLICY_ID_LEN);
  return 0;
}

int mdr_ossl_set_use_ctx(mdr_ossl_set *set, mdr_index v, SSL_CTX *ctx) {
  if (!set || !ctx || v >= set->n_vh || !mdr_vhost_on_listener(set->table, v, set->listener))
    return MDR_ERR_INVALID_ARGUMENT;
  /* The same context given for several vhosts is held (and its identity
   * computed) once. */
  ctx_key k = {1, {NULL, 0}, 0, ctx};
  long found = ctx_find(set, &k);
  uint32_t i;
  if (found >= 0) {
    i = (uint32_t)found;
  } else {
    if (!SSL_CTX_up_ref(ctx)) return MDR_ERR_NOMEM;
    int rc = ctx_add(set, ctx, &k, &i);
    if (rc != 0) {
      SSL_CTX_free(ctx);
      return rc;
    }
  }
  vh_map(set, v, i);
  return 0;
}

/* "base/path" as a NUL-terminated string (path kept when absolute). */
static char *join_path(mdr_str base, mdr_str path) {
  int absolute = path.len > 0 && path.ptr[0] == '/';
  if (base.len == 0 || absolute) {
    base.ptr = ".";
    base.len = absolute ? 0 : 1;
  }
  char *s = OPENSSL_malloc(base.len + 1 + path.len + 1);
  if (!s) return NULL;
  size_t n = 0;
  if (base.len) {
    memcpy(s, base.ptr, base.len);
    n = base.len;
    if (s[n - 1] != '/') s[n++] = '/';
  }
  if (path.len) memcpy(s + n, path.ptr, path.len);
  s[n + path.len] = '\0';
  return s;
}

static const char *ossl_reason(void) {
  unsigned long e = ERR_peek_last_error();
  const char *r = e ? ERR_reason_error_string(e) : NULL;
  return r ? r : "unknown OpenSSL error";
}

/* Build the context of vhost v's cert and policy statements (shared by
 * every vhost with the same cert statement and policy class); *out
 * receives its index. */
static int load_vhost(mdr_ossl_set *set, mdr_index v, const mdr_vhost_info *vi,
                      const mdr_ossl_set_options *o, uint32_t *out, mdr_error *err) {
  mdr_str base = o ? o->base_dir : (mdr_str){NULL, 0};
  char *cert = NULL, *key = NULL, *ca = NULL;
  SSL_CTX *ctx = NULL;
  int rc = MDR_ERR_NOMEM;
  char vname[128];
  snprintf(vname, sizeof vname, "%.*s", (int)(vi->name.len < 100 ? vi->name.len : 100),
           vi->name.ptr ? vi->name.ptr : "");

  if (vi->client_auth != MDR_CLIENT_AUTH_NONE && vi->ca_file.len == 0) {
    ossl_error(err, MDR_ERR_CONFIG, vname,
               "vhost '%s': policy '%.*s' asks for client certificates but has no ca-file=; "
               "the OpenSSL adapter cannot verify them without a CA set",
               vname, (int)vi->policy.len, vi->policy.ptr ? vi->policy.ptr : "");
    return MDR_ERR_CONFIG;
  }
  cert = join_path(base, vi->cert_file);
  key = join_path(base, vi->cert_key.len ? vi->cert_key : vi->cert_file);
  ca = vi->ca_file.len ? join_path(base, vi->ca_file) : NULL;
  if (!cert || !key || (vi->ca_file.len && !ca)) goto fail_nomem;
  ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) goto fail_nomem;

  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
    ossl_error(err, MDR_ERR_CONFIG, cert, "vhost '%s': cannot load certificate file '%s': %s",
               vname, cert, ossl_reason());
    rc = MDR_ERR_CONFIG;
    goto fail;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
    ossl_error(err, MDR_ERR_CONFIG, key, "vhost '%s': cannot load key file '%s': %s", vname, key,
               ossl_reason());
    rc = MDR_ERR_CONFIG;
    goto fail;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ossl_error(err, MDR_ERR_CONFIG, key,
               "vhost '%s': key '%s' does not match certificate '%s'", vname, key, cert);
    rc = MDR_ERR_CONFIG;
    goto fail;
  }
  if (!SSL_CTX_set_min_proto_version(ctx, vi->min_tls == MDR_TLS_1_3 ? TLS1_3_VERSION
                                                                    : TLS1_2_VERSION))
    goto fail_nomem;
  if (ca) {
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
      ossl_error(err, MDR_ERR_CONFIG, ca, "vhost '%s': cannot load ca-file '%s': %s", vname, ca,
                 ossl_reason());
      rc = MDR_ERR_CONFIG;
      goto fail;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
    if (!names) {
      ossl_error(err, MDR_ERR_CONFIG, ca, "vhost '%s': ca-file '%s' holds no certificate", vname,
                 ca);
      rc = MDR_ERR_CONFIG;
      goto fail;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
  }
  int mode = SSL_VERIFY_NONE;
  if (vi->client_auth == MDR_CLIENT_AUTH_OPTIONAL) mode = SSL_VERIFY_PEER;
  if (vi->client_auth == MDR_CLIENT_AUTH_REQUIRED)
    mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, mode, NULL);

  if (o && o->configure) {
    rc = o->configure(o->configure_user, ctx, set->table, v);
    if (rc != 0) {
      ossl_error(err, rc, vname, "vhost '%s': the configure callback failed (%s)", vname,
                 mdr_strerror(rc));
      goto fail;
    }
  }
  ctx_key k = {0, vi->cert, vi->policy_class, NULL};
  rc = ctx_add(set, ctx, &k, out);
  if (rc != 0) goto fail_nomem;
  ctx = NULL;
  OPENSSL_free(cert);
  OPENSSL_free(key);
  OPENSSL_free(ca);
  ERR_clear_error();
  return 0;

fail_nomem:
  rc = MDR_ERR_NOMEM;
  ossl_error(err, rc, vname, "vhost '%s': out of memory", vname);
fail:
  SSL_CTX_free(ctx);
  OPENSSL_free(cert);
  OPENSSL_free(key);
  OPENSSL_free(ca);
  ERR_clear_error();
  return rc;
}

int mdr_ossl_set_new(mdr_ossl_set **out, mdr_table *t, mdr_str listener,
                     const mdr_ossl_set_options *opts, mdr_error *err) {
  if (!out || !t) return MDR_ERR_INVALID_ARGUMENT;
  *out = NULL;
  int rc = mdr_ossl_init();
  if (rc != 0) return rc;
  mdr_index l;
  if (mdr_table_find_listener(t, listener, &l) != 0) {
    ossl_error(err, MDR_ERR_NOT_FOUND, "", "unknown listener '%.*s'", (int)listener.len,
               listener.ptr ? listener.ptr : "");
    return MDR_ERR_NOT_FOUND;
  }
  mdr_listener_info li;
  if ((rc = mdr_table_listener_info(t, l, &li)) != 0) return rc;
  if (!li.tls) {
    ossl_error(err, MDR_ERR_WRONG_LISTENER, "", "listener '%.*s' is not a TLS listener",
               (int)listener.len, listener.ptr ? listener.ptr : "");
    return MDR_ERR_WRONG_LISTENER;
  }
  mdr_ossl_set *s = OPENSSL_zalloc(sizeof *s);
  if (!s) return MDR_ERR_NOMEM;
  atomic_init(&s->refs, 1);
  s->table = mdr_table_ref(t);
  s->listener = l;
  s->alpn = opts ? opts->alpn : MDR_OSSL_ALPN_STRICT;
  s->protocols = opts ? opts->protocols : 0;
  s->n_vh = mdr_table_vhost_count(t);
  if (s->n_vh) {
    s->vh_ctx = OPENSSL_zalloc(s->n_vh * sizeof *s->vh_ctx);
    if (!s->vh_ctx) {
      mdr_ossl_set_unref(s);
      return MDR_ERR_NOMEM;
    }
  }
  if (!(opts && (opts->flags & MDR_OSSL_NO_LOAD))) {
    for (mdr_index v = 0; v < s->n_vh; v++) {
      if (!mdr_vhost_on_listener(t, v, l)) continue;
      mdr_vhost_info vi;
      if ((rc = mdr_table_vhost_info(t, v, &vi)) != 0) goto fail;
      if (vi.cert_file.len == 0) continue; /* the host supplies this one */
      ctx_key k = {0, vi.cert, vi.policy_class, NULL};
      long found = ctx_find(s, &k);
      uint32_t i = (uint32_t)found;
      if (found < 0 && (rc = load_vhost(s, v, &vi, opts, &i, err)) != 0) goto fail;
      vh_map(s, v, i);
    }
  }
  *out = s;
  return 0;
fail:
  mdr_ossl_set_unref(s);
  return rc;
}

int mdr_ossl_set_check(const mdr_ossl_set *set, mdr_error *err) {
  if (!set) return MDR_ERR_INVALID_ARGUMENT;
  for (mdr_index v = 0; v < set->n_vh; v++) {
    if (!mdr_vhost_on_listener(set->table, v, set->listener) || ossl_set_entry(set, v)) continue;
    mdr_str n = mdr_vhost_name(set->table, v);
    ossl_error(err, MDR_ERR_CONFIG, "",
               "vhost '%.*s' has no SSL_CTX: its cert has no file= and none was given with "
               "mdr_ossl_set_use_ctx",
               (int)n.len, n.ptr ? n.ptr : "");
    return MDR_ERR_CONFIG;
  }
  return 0;
}
