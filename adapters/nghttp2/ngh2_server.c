/*
 * misdirect-nghttp2, server side: the connection's origin set from the core,
 * submitted as one or more ORIGIN frames through nghttp2_submit_origin.
 */
#include <misdirect/nghttp2.h>

#include <stdint.h>
#include <string.h>

#include "mem.h" /* the core's allocator front end (lib/mem.h) */

void mdr_ngh2_origins_free(mdr_ngh2_origins *o) {
  if (!o) return;
  mdri_free(o->mem, o->origins);
  mdri_free(o->mem, o->buf);
  memset(o, 0, sizeof *o);
}

/* Collector state for mdr_origin_set_each: offsets first (buf may move). */
typedef struct collect {
  mdr_ngh2_origins *o;
  size_t *ends;                  /* end offset of each origin in o->buf */
  size_t ends_cap;
  int err;
} collect;

static int collect_one(void *user, const char *origin, size_t len) {
  collect *c = user;
  mdr_ngh2_origins *o = c->o;
  if (o->n == c->ends_cap) {
    void *e = c->ends;
    if (mdri_grow(o->mem, &e, &c->ends_cap, o->n + 1, sizeof *c->ends)) goto nomem;
    c->ends = e;
  }
  if (len > o->buf_cap - o->buf_len) {
    void *b = o->buf;
    if (len > SIZE_MAX - o->buf_len ||
        mdri_grow(o->mem, &b, &o->buf_cap, o->buf_len + len, 1))
      goto nomem;
    o->buf = b;
  }
  memcpy(o->buf + o->buf_len, origin, len);
  o->buf_len += len;
  c->ends[o->n++] = o->buf_len;
  return 0;
nomem:
  c->err = MDR_ERR_NOMEM;
  return 1;
}

int mdr_ngh2_origins_compute(mdr_ngh2_origins *o, const mdr_table *t, mdr_index listener,
                             mdr_index handshake_vhost, const mdr_mem *mem) {
  return mdr_ngh2_origins_compute2(o, t, listener, handshake_vhost, NULL, mem);
}

int mdr_ngh2_origins_compute2(mdr_ngh2_origins *o, const mdr_table *t, mdr_index listener,
                              mdr_index handshake_vhost, const mdr_origin_set_options *opts,
                              const mdr_mem *mem) {
  if (!o || !t) return MDR_ERR_INVALID_ARGUMENT;
  mdr_ngh2_origins_free(o);
  o->mem = mem;
  collect c = {o, NULL, 0, 0};
  int rc = mdr_origin_set_each2(t, listener, handshake_vhost, MDR_HTTP_2, opts, collect_one, &c);
  if (rc >= 0 && c.err) rc = c.err;
  if (rc >= 0 && o->n > 0) {
    o->origins = mdri_alloc_array(mem, o->n, sizeof *o->origins);
    if (!o->origins) rc = MDR_ERR_NOMEM;
  }
  if (rc < 0) {
    mdri_free(mem, c.ends);
    mdr_ngh2_origins_free(o);
    o->mem = mem;
    return rc;
  }
  o->cap = o->n;
  size_t start = 0;
  for (size_t i = 0; i < o->n; i++) {
    o->origins[i].ptr = o->buf + start;
    o->origins[i].len = c.ends[i] - start;
    start = c.ends[i];
  }
  mdri_free(mem, c.ends);
  return 0;
}

void mdr_ngh2_origins_to_conn(const mdr_ngh2_origins *o, mdr_conn *c) {
  if (!o || !c) return;
  c->has_origin_set = 1;
  c->origin_set = o->origins;
  c->n_origin_set = o->n;
}

/* Entries per nghttp2_submit_origin call are converted in chunks of this
 * many, so no allocation is needed (nghttp2 copies them). */
#define NGH2_CHUNK 64

int mdr_ngh2_submit_origins(nghttp2_session *session, const mdr_str *origins, size_t n,
                            size_t max_payload, size_t *frames_out) {
  if (frames_out) *frames_out = 0;
  if (!session || (n > 0 && !origins)) return MDR_ERR_INVALID_ARGUMENT;
  if (max_payload == 0 || max_payload > MDR_NGH2_ORIGIN_MAX_PAYLOAD)
    max_payload = MDR_NGH2_ORIGIN_MAX_PAYLOAD;
  if (!nghttp2_session_check_server_session(session)) return NGHTTP2_ERR_INVALID_STATE;

  mdr_origin_split it;
  mdr_origin_split_init(&it, origins, n, max_payload);
  size_t frames = 0;
  for (;;) {
    size_t first = 0, count = 0, payload = 0;
    int rc = mdr_origin_split_next(&it, &first, &count, &payload);
    if (rc < 0) return rc;
    if (rc == 0) break;
    /* One frame: nghttp2 wants the whole frame's entries in one array.  A
     * 16384-byte payload holds at most 16384 / (2 + 9) entries ("https://"
     * + one byte is the shortest canonical origin). */
    nghttp2_origin_entry ov[MDR_NGH2_ORIGIN_MAX_PAYLOAD / 11 + 1];
    if (count > sizeof ov / sizeof ov[0]) return MDR_ERR_LIMIT;
    for (size_t i = 0; i < count; i++) {
      /* nghttp2 copies the entries and never writes through the pointer.
       * The splitter only hands out [first, first + count) within the n
       * origins mdr_ngh2_origins_compute filled; the analyzer cannot see
       * that through the callback that fills them. */
      // NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign)
      const char *src = origins[first + i].ptr;
      uint8_t *dst;
      memcpy(&dst, &src, sizeof dst); /* drop const without an integer cast */
      ov[i].origin = dst;
      ov[i].origin_len = origins[first + i].len;
    }
    rc = nghttp2_submit_origin(session, NGHTTP2_FLAG_NONE, count ? ov : NULL, count);
    if (rc != 0) {
      if (frames_out) *frames_out = frames;
      return rc;
    }
    frames++;
  }
  if (frames_out) *frames_out = frames;
  return 0;
}

int mdr_ngh2_server_submit_origin(nghttp2_session *session, mdr_ngh2_origins *o,
                                  const mdr_table *t, mdr_index listener,
                                  mdr_index handshake_vhost, const mdr_mem *mem,
                                  size_t *frames_out) {
  return mdr_ngh2_server_submit_origin2(session, o, t, listener, handshake_vhost, NULL, mem,
                                        frames_out);
}

int mdr_ngh2_server_submit_origin2(nghttp2_session *session, mdr_ngh2_origins *o,
                                   const mdr_table *t, mdr_index listener,
                                   mdr_index handshake_vhost, const mdr_origin_set_options *opts,
                                   const mdr_mem *mem, size_t *frames_out) {
  if (frames_out) *frames_out = 0;
  if (!session || !o) return MDR_ERR_INVALID_ARGUMENT;
  int rc = mdr_ngh2_origins_compute2(o, t, listener, handshake_vhost, opts, mem);
  if (rc != 0) return rc;
  return mdr_ngh2_submit_origins(session, o->origins, o->n, 0, frames_out);
}
