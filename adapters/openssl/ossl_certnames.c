/* Names a certificate covers (subjectAltName), for `cert NAME file=...`. */
#include "ossl_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

const char *ossl_file_problem(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  int e = errno;
  if (f) {
    struct stat st;
    int dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    fclose(f);
    if (!dir) return NULL;
    e = EISDIR;
  }
  switch (e) {
  case ENOENT: return "not found (ENOENT)";
  case ENOTDIR: return "not found: a part of the path is not a directory (ENOTDIR)";
  case EISDIR: return "it is a directory (EISDIR)";
  case ELOOP: return "a symlink loop (ELOOP)";
  case EACCES: return "permission denied (EACCES)";
  default: snprintf(buf, cap, "%s (errno %d)", strerror(e), e); return buf;
  }
}

void mdr_ossl_names_free(mdr_ossl_names *n) {
  if (!n) return;
  OPENSSL_free(n->buf);
  n->buf = NULL;
  n->cap = 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void why_set(char *why, size_t cap, const char *fmt, ...) {
  if (!why || !cap) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, cap, fmt, ap);
  va_end(ap);
}

/* Normalise one SAN through the core's authority normaliser so the names
 * agree byte for byte with what the core compares.  Wildcards keep "*.".
 * Returns the normalised length written to out (cap >= MDR_HOST_MAX+3), or 0
 * when the entry is not a usable host name. */
static size_t normalise(const char *p, size_t len, int dns, char *out) {
  int wild = len > 2 && p[0] == '*' && p[1] == '.';
  if (wild) {
    p += 2;
    len -= 2;
  }
  for (size_t i = 0; dns && i < len; i++)
    if (p[i] == ':' || p[i] == '@' || p[i] == '[') return 0; /* no ports or userinfo in a SAN */
  mdr_authority a;
  int valid = 0;
  mdr_reason why;
  if (mdr_authority_parse(p, len, 0, &a, &valid, &why) != 0 || !valid || a.port != 0) return 0;
  if (wild && a.kind != MDR_HOST_NAME) return 0;
  size_t n = 0;
  if (wild) {
    out[n++] = '*';
    out[n++] = '.';
  }
  memcpy(out + n, a.host, a.host_len);
  return n + a.host_len;
}

static size_t ip_text(const unsigned char *ip, int len, char *out, size_t cap) {
  if (len == 4) return (size_t)snprintf(out, cap, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
  if (len != 16) return 0;
  /* Any valid textual form will do: the core's normaliser makes it RFC 5952. */
  size_t n = 0;
  out[n++] = '[';
  for (int i = 0; i < 16; i += 2) {
    n += (size_t)snprintf(out + n, cap - n, "%s%x", i ? ":" : "",
                          (unsigned)(ip[i] << 8 | ip[i + 1]));
  }
  out[n++] = ']';
  out[n] = '\0';
  return n;
}

int mdr_ossl_cert_names(void *user, const char *path, mdr_str *names, size_t cap,
                        size_t *n_names, char *why, size_t why_cap) {
  mdr_ossl_names *store = user;
  if (!store || !path || !n_names || (!names && cap)) {
    why_set(why, why_cap, "mdr_ossl_cert_names needs an mdr_ossl_names as user data");
    return MDR_ERR_INVALID_ARGUMENT;
  }
  *n_names = 0;
  char eb[128];
  const char *problem = ossl_file_problem(path, eb, sizeof eb);
  if (problem) {
    why_set(why, why_cap, "%s", problem);
    return MDR_ERR_IO;
  }
  BIO *bio = BIO_new_file(path, "r");
  X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
  BIO_free(bio);
  ERR_clear_error();
  if (!x) {
    why_set(why, why_cap, "no PEM certificate in it");
    return MDR_ERR_IO;
  }
  int rc = 0;
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  int ng = gens ? sk_GENERAL_NAME_num(gens) : 0;
  /* Worst case per entry: a name of 253 bytes plus "*." and a NUL. */
  size_t need = (size_t)(ng > 0 ? ng : 0) * (MDR_HOST_MAX + 4);
  if (need > store->cap) {
    char *nb = OPENSSL_realloc(store->buf, need);
    if (!nb) {
      rc = MDR_ERR_NOMEM;
      goto done;
    }
    store->buf = nb;
    store->cap = need;
  }
  size_t used = 0, count = 0;
  for (int i = 0; i < ng; i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
    char tmp[MDR_HOST_MAX + 64];
    size_t tl = 0;
    if (g->type == GEN_DNS) {
      const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
      int dl = ASN1_STRING_length(g->d.dNSName);
      if (dl <= 0 || (size_t)dl >= sizeof tmp) continue;
      memcpy(tmp, d, (size_t)dl);
      tl = (size_t)dl;
    } else if (g->type == GEN_IPADD) {
      tl = ip_text(ASN1_STRING_get0_data(g->d.iPAddress), ASN1_STRING_length(g->d.iPAddress), tmp,
                   sizeof tmp);
      if (!tl) continue;
    } else {
      continue;
    }
    char norm[MDR_HOST_MAX + 4];
    size_t nl = normalise(tmp, tl, g->type == GEN_DNS, norm);
    if (!nl) continue; /* not a host name HTTP can ask for: it covers nothing */
    if (count == cap) {
      why_set(why, why_cap, "certificate '%s' has more subjectAltName entries than allowed", path);
      rc = MDR_ERR_CONFIG;
      goto done;
    }
    memcpy(store->buf + used, norm, nl);
    store->buf[used + nl] = '\0';
    names[count].ptr = store->buf + used;
    names[count].len = nl;
    used += nl + 1;
    count++;
  }
  if (count == 0) {
    why_set(why, why_cap,
            "certificate '%s' has no subjectAltName DNS or IP entry (the common name is not "
            "used)",
            path);
    rc = MDR_ERR_CONFIG;
    goto done;
  }
  *n_names = count;
done:
  GENERAL_NAMES_free(gens);
  X509_free(x);
  return rc;
}

static int cmp_digest(const void *a, const void *b) { return memcmp(a, b, 32); }

int mdr_ossl_ca_identity(void *user, const char *path, uint8_t *out, size_t cap, size_t *out_len,
                         char *why, size_t why_cap) {
  (void)user;
  if (!path || !out || !out_len || cap < 32) return MDR_ERR_INVALID_ARGUMENT;
  *out_len = 0;
  char eb[128];
  const char *problem = ossl_file_problem(path, eb, sizeof eb);
  BIO *bio = problem ? NULL : BIO_new_file(path, "r");
  if (!bio) {
    why_set(why, why_cap, "%s", problem ? problem : "cannot open the file");
    ERR_clear_error();
    return MDR_ERR_IO;
  }
  unsigned char (*d)[32] = NULL;
  size_t n = 0, dcap = 0;
  int rc = 0;
  for (size_t guard = 0; guard < 100000; guard++) {
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (!x) break;
    if (n == dcap) {
      size_t nc = dcap ? dcap * 2 : 16;
      void *nd = OPENSSL_realloc(d, nc * 32);
      if (!nd) {
        X509_free(x);
        rc = MDR_ERR_NOMEM;
        break;
      }
      d = nd;
      dcap = nc;
    }
    unsigned int dl = 0;
    if (!X509_digest(x, EVP_sha256(), d[n], &dl) || dl != 32) {
      X509_free(x);
      rc = MDR_ERR_NOMEM;
      break;
    }
    n++;
    X509_free(x);
  }
  ERR_clear_error();
  BIO_free(bio);
  if (rc == 0 && n == 0) {
    why_set(why, why_cap, "no PEM certificate in it");
    rc = MDR_ERR_IO;
  }
  if (rc == 0) {
    qsort(d, n, 32, cmp_digest);
    unsigned int dl = 0;
    if (!EVP_Digest(d, n * 32, out, &dl, EVP_sha256(), NULL) || dl != 32) rc = MDR_ERR_NOMEM;
    else *out_len = 32;
  }
  OPENSSL_free(d);
  return rc;
}

int mdr_ossl_table_parse(const char *text, size_t len, mdr_str source, mdr_str base_dir,
                         const mdr_mem *mem, mdr_table **out, mdr_error *err) {
  mdr_ossl_names names = {0};
  mdr_parse_options o;
  memset(&o, 0, sizeof o);
  o.mem = mem;
  o.cert_names = mdr_ossl_cert_names;
  o.cert_names_user = &names;
  o.ca_identity = mdr_ossl_ca_identity;
  o.base_dir = base_dir;
  int rc = mdr_table_parse(text, len, source, &o, out, err);
  mdr_ossl_names_free(&names);
  return rc;
}
