/*
 * misdirect-nghttp2 with two real nghttp2 sessions in memory: a server
 * session submits the connection's origin set (per SNI) with the glue, the
 * bytes are pumped into a client session whose on_frame_recv_callback feeds
 * an mdr_origin_client, and the client's set must equal the set the core
 * computed for that SNI: every advertised origin present, every other
 * configured name absent (except the connection's initial origin).
 */
#include <stdarg.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <misdirect/nghttp2.h>

#include "testutil.h"

/* tests/cases/basic.vhosts, on unprivileged ports. */
static const char VHOSTS[] =
    "listener web   https 8443 default=home\n"
    "listener plain http  8080\n"
    "cert site  example.com www.example.com blog.example.com admin.example.com\n"
    "cert other other.org\n"
    "policy staff client-auth=required\n"
    "vhost home  listen=web,plain names=www.example.com redirect-names=example.com cert=site "
    "http=redirect\n"
    "vhost blog  listen=web       names=blog.example.com  cert=site\n"
    "vhost admin listen=web       names=admin.example.com cert=site policy=staff\n"
    "vhost other listen=web,plain names=other.org         cert=other\n";

static const char *const ALL_NAMES[] = {"example.com", "www.example.com", "blog.example.com",
                                        "admin.example.com", "other.org"};

static mdr_table *parse(const char *text) {
  mdr_table *t = NULL;
  mdr_error err;
  memset(&err, 0, sizeof err);
  mdr_str src = MDR_STR_LIT("test.vhosts");
  int rc = mdr_table_parse(text, strlen(text), src, NULL, &t, &err);
  if (rc != 0) fail_msg("parse: %s", err.message);
  return t;
}

static mdr_index listener(const mdr_table *t, const char *name) {
  mdr_index l = MDR_NONE;
  mdr_str s = {name, strlen(name)};
  assert_int_equal(mdr_table_find_listener(t, s, &l), 0);
  return l;
}

/* ------------------------------------------------------------------------ */
/* A server session and a client session joined in memory                    */
/* ------------------------------------------------------------------------ */

typedef struct client_side {
  mdr_origin_client set;
  mdr_origin_slot slots[1024];
  size_t origin_frames;          /* ORIGIN frames delivered by nghttp2 */
  size_t origin_processed;       /* ... that the glue processed */
  size_t max_len;                /* largest ORIGIN payload seen */
  int glue_error;
  mdr_ngh2_origin_rx rx;         /* strict mode */
  size_t strict_processed;
} client_side;

typedef struct pair {
  nghttp2_session *server, *client;
  client_side cs;
  size_t server_origin_frames;   /* ORIGIN frames the server sent */
} pair;

static int client_on_frame(nghttp2_session *s, const nghttp2_frame *frame, void *user) {
  (void)s;
  client_side *cs = user;
  if (frame->hd.type == NGHTTP2_ORIGIN) {
    cs->origin_frames++;
    if (frame->hd.length > cs->max_len) cs->max_len = frame->hd.length;
  }
  int rc = mdr_ngh2_client_on_frame(&cs->set, frame);
  if (rc < 0) cs->glue_error = rc;
  if (rc == 1) cs->origin_processed++;
  return 0;
}

static int server_on_send(nghttp2_session *s, const nghttp2_frame *frame, void *user) {
  (void)s;
  pair *p = user;
  if (frame->hd.type == NGHTTP2_ORIGIN) {
    assert_int_equal(frame->hd.stream_id, 0);
    assert_int_equal(frame->hd.flags, 0);
    assert_true(frame->hd.length <= MDR_NGH2_ORIGIN_MAX_PAYLOAD);
    p->server_origin_frames++;
  }
  return 0;
}

static int client_on_chunk(nghttp2_session *s, const nghttp2_frame_hd *hd, const uint8_t *data,
                           size_t len, void *user) {
  (void)s;
  client_side *cs = user;
  return mdr_ngh2_origin_rx_chunk(&cs->rx, hd, data, len);
}

static int client_unpack(nghttp2_session *s, void **payload, const nghttp2_frame_hd *hd,
                         void *user) {
  (void)s;
  client_side *cs = user;
  int rc = mdr_ngh2_origin_rx_unpack(&cs->rx, hd);
  if (rc < 0) cs->glue_error = rc;
  if (rc == 1) cs->strict_processed++;
  *payload = NULL;
  return 0;
}

static void pair_init_mode(pair *p, const char *sni, int strict);

/* New sessions; the client's origin set starts from `sni` and port 8443. */
static void pair_init(pair *p, const char *sni) { pair_init_mode(p, sni, 0); }

static void pair_init_mode(pair *p, const char *sni, int strict) {
  memset(p, 0, sizeof *p);
  nghttp2_session_callbacks *cb;
  assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, server_on_send);
  assert_int_equal(nghttp2_session_server_new(&p->server, cb, p), 0);
  nghttp2_session_callbacks_del(cb);

  assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, client_on_frame);
  nghttp2_option *opt;
  assert_int_equal(nghttp2_option_new(&opt), 0);
  if (strict) {
    nghttp2_session_callbacks_set_on_extension_chunk_recv_callback(cb, client_on_chunk);
    nghttp2_session_callbacks_set_unpack_extension_callback(cb, client_unpack);
    assert_int_equal(mdr_ngh2_client_enable_origin_strict(opt), 0);
  } else {
    assert_int_equal(mdr_ngh2_client_enable_origin(opt), 0);
  }
  assert_int_equal(nghttp2_session_client_new2(&p->client, cb, &p->cs, opt), 0);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);

  assert_int_equal(mdr_origin_client_init(&p->cs.set, p->cs.slots, 1024, sni, strlen(sni), 8443),
                   0);
  assert_int_equal(mdr_ngh2_origin_rx_init(&p->cs.rx, &p->cs.set), 0);
  assert_int_equal(nghttp2_submit_settings(p->server, NGHTTP2_FLAG_NONE, NULL, 0), 0);
  assert_int_equal(nghttp2_submit_settings(p->client, NGHTTP2_FLAG_NONE, NULL, 0), 0);
}

static void pair_free(pair *p) {
  nghttp2_session_del(p->server);
  nghttp2_session_del(p->client);
}

/* Move every pending byte from one session to the other until both are
 * quiet (bounded). */
static void pump(pair *p) {
  for (int round = 0; round < 64; round++) {
    size_t moved = 0;
    nghttp2_session *from[2] = {p->server, p->client}, *to[2] = {p->client, p->server};
    for (int d = 0; d < 2; d++) {
      for (int k = 0; k < 4096; k++) {
        const uint8_t *data = NULL;
        ssize_t n = nghttp2_session_mem_send(from[d], &data);
        assert_true(n >= 0);
        if (n == 0) break;
        ssize_t r = nghttp2_session_mem_recv(to[d], data, (size_t)n);
        assert_int_equal(r, n);
        moved += (size_t)n;
      }
    }
    if (moved == 0) return;
  }
  fail_msg("the sessions never went quiet");
}

/* The set the core computes, independently of the glue. */
typedef struct expect {
  size_t n;
  char origin[64][MDR_ORIGIN_BUFSIZE];
} expect;

static int expect_add(void *user, const char *origin, size_t len) {
  expect *e = user;
  assert_true(e->n < 64 && len < MDR_ORIGIN_BUFSIZE);
  memcpy(e->origin[e->n], origin, len);
  e->origin[e->n][len] = '\0';
  e->n++;
  return 0;
}

static int expected_has(const expect *e, const char *origin) {
  for (size_t i = 0; i < e->n; i++)
    if (strcmp(e->origin[i], origin) == 0) return 1;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

/* For every SNI the listener accepts: client set == server's computed set. */
static void test_client_set_equals_server_set_per_sni(void **state) {
  (void)state;
  mdr_table *t = parse(VHOSTS);
  mdr_index web = listener(t, "web");
  const char *snis[] = {"www.example.com", "example.com", "blog.example.com",
                        "admin.example.com", "other.org"};
  size_t nonempty = 0, differs = 0;
  size_t first_n = (size_t)-1;
  for (size_t s = 0; s < sizeof snis / sizeof snis[0]; s++) {
    mdr_handshake_result hs;
    assert_int_equal(mdr_handshake(t, web, 1, snis[s], strlen(snis[s]), &hs), 0);
    assert_int_equal(hs.outcome, MDR_HS_ACCEPT);

    expect e;
    memset(&e, 0, sizeof e);
    int count = mdr_origin_set_each(t, web, hs.vhost, MDR_HTTP_2, expect_add, &e);
    assert_int_equal((size_t)count, e.n);
    if (e.n) nonempty++;
    if (first_n == (size_t)-1) first_n = e.n;
    else if (e.n != first_n) differs++;

    pair p;
    pair_init(&p, snis[s]);
    mdr_ngh2_origins o;
    memset(&o, 0, sizeof o);
    size_t frames = 0;
    assert_int_equal(mdr_ngh2_server_submit_origin(p.server, &o, t, web, hs.vhost, NULL, &frames),
                     0);
    assert_int_equal(frames, 1);
    assert_int_equal(o.n, e.n);
    for (size_t i = 0; i < o.n; i++) {
      assert_int_equal(o.origins[i].len, strlen(e.origin[i]));
      assert_memory_equal(o.origins[i].ptr, e.origin[i], o.origins[i].len);
    }
    pump(&p);
    assert_int_equal(p.cs.glue_error, 0);
    assert_int_equal(p.server_origin_frames, 1);
    assert_int_equal(p.cs.origin_frames, 1);
    assert_int_equal(p.cs.origin_processed, 1);

    /* Every advertised origin is in the client's set ... */
    for (size_t i = 0; i < e.n; i++)
      assert_true(mdr_origin_client_contains(&p.cs.set, e.origin[i], strlen(e.origin[i])));
    /* ... and every other configured name is not, except the initial origin. */
    char initial[MDR_ORIGIN_BUFSIZE];
    snprintf(initial, sizeof initial, "https://%s:8443", snis[s]);
    assert_true(mdr_origin_client_contains(&p.cs.set, initial, strlen(initial)));
    for (size_t k = 0; k < sizeof ALL_NAMES / sizeof ALL_NAMES[0]; k++) {
      char origin[MDR_ORIGIN_BUFSIZE];
      snprintf(origin, sizeof origin, "https://%s:8443", ALL_NAMES[k]);
      if (expected_has(&e, origin) || strcmp(origin, initial) == 0) continue;
      if (mdr_origin_client_contains(&p.cs.set, origin, strlen(origin)))
        fail_msg("SNI %s: %s is in the client's set but was not advertised", snis[s], origin);
    }
    /* Origins without the listener port are never in it. */
    assert_false(mdr_origin_client_contains(&p.cs.set, "https://blog.example.com",
                                            strlen("https://blog.example.com")));
    /* The client-cert vhost is never advertised to a sibling's connection. */
    if (strcmp(snis[s], "admin.example.com") != 0)
      assert_false(mdr_origin_client_contains(&p.cs.set, "https://admin.example.com:8443",
                                              strlen("https://admin.example.com:8443")));

    mdr_ngh2_origins_free(&o);
    pair_free(&p);
  }
  /* The test table really gives per-SNI sets (not one per listener). */
  assert_true(nonempty >= 3);
  assert_true(differs >= 1);
  mdr_table_unref(t);
}

/* A set too large for one frame is split into several frames of whole
 * entries, and the client ends up with all of it. */
static void test_large_set_is_split(void **state) {
  (void)state;
  size_t cap = 200000;
  char *text = malloc(cap);
  assert_non_null(text);
  size_t n = (size_t)snprintf(text, cap, "listener web https 8443 default=v0\n");
  enum { NV = 600 };
  for (int i = 0; i < NV; i++) {
    /* 50-byte labels: each origin is ~73 bytes, 600 of them ~45 KB. */
    n += (size_t)snprintf(text + n, cap - n,
                          "cert c%d n%03d-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example\n"
                          "vhost v%d listen=web names=n%03d-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
                          "example cert=c%d\n",
                          i, i, i, i, i);
    assert_true(n < cap);
  }
  mdr_table *t = parse(text);
  free(text);
  mdr_index web = listener(t, "web");
  mdr_handshake_result hs;
  const char *sni = "n000-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example";
  assert_int_equal(mdr_handshake(t, web, 1, sni, strlen(sni), &hs), 0);
  assert_int_equal(hs.outcome, MDR_HS_ACCEPT);

  pair p;
  pair_init(&p, sni);
  mdr_ngh2_origins o;
  memset(&o, 0, sizeof o);
  /* Each vhost has its own cert: only its own name is in its set.  Use the
   * raw submit with a synthetic set instead: every vhost's origin. */
  mdr_str *all = calloc(NV, sizeof *all);
  char (*buf)[MDR_ORIGIN_BUFSIZE] = calloc(NV, sizeof *buf);
  assert_non_null(all);
  assert_non_null(buf);
  size_t total = 0;
  for (int i = 0; i < NV; i++) {
    int len = snprintf(buf[i], MDR_ORIGIN_BUFSIZE,
                       "https://n%03d-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example:8443", i);
    all[i].ptr = buf[i];
    all[i].len = (size_t)len;
    total += 2 + (size_t)len;
  }
  assert_true(total > 2 * MDR_NGH2_ORIGIN_MAX_PAYLOAD);
  size_t frames = 0;
  assert_int_equal(mdr_ngh2_submit_origins(p.server, all, NV, 0, &frames), 0);
  assert_int_equal(frames, (total + MDR_NGH2_ORIGIN_MAX_PAYLOAD - 1) / MDR_NGH2_ORIGIN_MAX_PAYLOAD);
  pump(&p);
  assert_int_equal(p.cs.glue_error, 0);
  assert_int_equal(p.server_origin_frames, frames);
  assert_int_equal(p.cs.origin_frames, frames);
  assert_true(p.cs.max_len <= MDR_NGH2_ORIGIN_MAX_PAYLOAD);
  assert_true(p.cs.max_len > MDR_NGH2_ORIGIN_MAX_PAYLOAD - 80);
  for (int i = 0; i < NV; i++)
    assert_true(mdr_origin_client_contains(&p.cs.set, all[i].ptr, all[i].len));

  /* A smaller caller limit gives more frames. */
  pair q;
  pair_init(&q, sni);
  assert_int_equal(mdr_ngh2_submit_origins(q.server, all, NV, 1000, &frames), 0);
  pump(&q);
  assert_true(frames >= total / 1000);
  assert_int_equal(q.cs.origin_frames, frames);
  assert_true(q.cs.max_len <= 1000);
  for (int i = 0; i < NV; i++)
    assert_true(mdr_origin_client_contains(&q.cs.set, all[i].ptr, all[i].len));

  /* The per-connection set of this table is just the SNI's own vhost. */
  assert_int_equal(mdr_ngh2_origins_compute(&o, t, web, hs.vhost, NULL), 0);
  assert_int_equal(o.n, 1);
  mdr_ngh2_origins_free(&o);
  assert_null(o.origins);
  assert_int_equal(o.n, 0);

  free(all);
  free(buf);
  pair_free(&p);
  pair_free(&q);
  mdr_table_unref(t);
}

/* An empty set is one empty ORIGIN frame: only the SNI origin remains. */
static void test_empty_set(void **state) {
  (void)state;
  pair p;
  pair_init(&p, "www.example.com");
  size_t frames = 0;
  assert_int_equal(mdr_ngh2_submit_origins(p.server, NULL, 0, 0, &frames), 0);
  assert_int_equal(frames, 1);
  pump(&p);
  assert_int_equal(p.cs.origin_frames, 1);
  assert_int_equal(p.cs.origin_processed, 1);
  assert_true(mdr_origin_client_contains(&p.cs.set, "https://www.example.com:8443",
                                         strlen("https://www.example.com:8443")));
  /* Activated: another origin is now NO rather than IF_DNS. */
  mdr_str names[] = {MDR_STR_LIT("*.example.com")};
  mdr_origin_cert_names cn = {names, 1};
  assert_int_equal(mdr_origin_client_may_reuse(&p.cs.set, "https://blog.example.com:8443",
                                               strlen("https://blog.example.com:8443"),
                                               mdr_origin_names_covers_cb, &cn),
                   MDR_ORIGIN_REUSE_NO);
  pair_free(&p);
}

/* Bad input is refused before anything is queued. */
static void test_refusals(void **state) {
  (void)state;
  pair p;
  pair_init(&p, "www.example.com");
  mdr_str bad[] = {MDR_STR_LIT("https://a.example.com:8443"), MDR_STR_LIT("https://B.example.com")};
  size_t frames = 7;
  assert_int_equal(mdr_ngh2_submit_origins(p.server, bad, 2, 0, &frames), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(frames, 0);
  /* Client sessions cannot send ORIGIN. */
  mdr_str good[] = {MDR_STR_LIT("https://a.example.com")};
  assert_int_equal(mdr_ngh2_submit_origins(p.client, good, 1, 0, NULL), NGHTTP2_ERR_INVALID_STATE);
  assert_int_equal(mdr_ngh2_submit_origins(NULL, good, 1, 0, NULL), MDR_ERR_INVALID_ARGUMENT);
  pump(&p);
  assert_int_equal(p.server_origin_frames, 0);
  assert_int_equal(p.cs.origin_frames, 0);
  pair_free(&p);

  /* Cleartext listener: no origin set. */
  mdr_table *t = parse(VHOSTS);
  mdr_ngh2_origins o;
  memset(&o, 0, sizeof o);
  assert_int_equal(mdr_ngh2_origins_compute(&o, t, listener(t, "plain"), MDR_NONE, NULL),
                   MDR_ERR_WRONG_LISTENER);
  assert_int_equal(o.n, 0);
  assert_int_equal(mdr_ngh2_origins_compute(NULL, t, 0, MDR_NONE, NULL), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_ngh2_client_enable_origin(NULL), MDR_ERR_INVALID_ARGUMENT);
  mdr_table_unref(t);
}

/* The listener default is used when the handshake had no SNI (MDR_NONE). */
static void test_no_sni_uses_default(void **state) {
  (void)state;
  mdr_table *t = parse(VHOSTS);
  mdr_index web = listener(t, "web"), home = MDR_NONE;
  mdr_str hn = MDR_STR_LIT("home");
  assert_int_equal(mdr_table_find_vhost(t, hn, &home), 0);
  mdr_ngh2_origins a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  assert_int_equal(mdr_ngh2_origins_compute(&a, t, web, MDR_NONE, NULL), 0);
  assert_int_equal(mdr_ngh2_origins_compute(&b, t, web, home, NULL), 0);
  assert_true(a.n > 0);
  assert_int_equal(a.n, b.n);
  for (size_t i = 0; i < a.n; i++) {
    assert_int_equal(a.origins[i].len, b.origins[i].len);
    assert_memory_equal(a.origins[i].ptr, b.origins[i].ptr, a.origins[i].len);
  }
  /* Recompute into a used object: replaced, not appended. */
  assert_int_equal(mdr_ngh2_origins_compute(&a, t, web, home, NULL), 0);
  assert_int_equal(a.n, b.n);
  mdr_conn c;
  memset(&c, 0, sizeof c);
  mdr_ngh2_origins_to_conn(&a, &c);
  assert_int_equal(c.has_origin_set, 1);
  assert_ptr_equal(c.origin_set, a.origins);
  assert_int_equal(c.n_origin_set, a.n);
  mdr_ngh2_origins_free(&a);
  mdr_ngh2_origins_free(&b);
  mdr_table_unref(t);
}

/* Raw ORIGIN frame bytes injected into the client after the server's
 * SETTINGS reach the glue through nghttp2's built-in receive. */
static void inject(pair *p, uint8_t flags, uint32_t stream) {
  static const char entry[] = "https://blog.example.com:8443";
  uint8_t frame[9 + 2 + sizeof entry];
  size_t el = sizeof entry - 1, pl = 2 + el;
  frame[0] = 0;
  frame[1] = 0;
  frame[2] = (uint8_t)pl;
  frame[3] = 0x0c;
  frame[4] = flags;
  frame[5] = (uint8_t)(stream >> 24);
  frame[6] = (uint8_t)(stream >> 16);
  frame[7] = (uint8_t)(stream >> 8);
  frame[8] = (uint8_t)stream;
  frame[9] = 0;
  frame[10] = (uint8_t)el;
  memcpy(frame + 11, entry, el);
  ssize_t r = nghttp2_session_mem_recv(p->client, frame, 9 + pl);
  assert_int_equal(r, (ssize_t)(9 + pl));
}

static void test_injected_frame(void **state) {
  (void)state;
  const char *blog = "https://blog.example.com:8443";
  pair p;
  pair_init(&p, "www.example.com");
  pump(&p); /* SETTINGS exchanged */
  inject(&p, 0, 0);
  assert_int_equal(p.cs.origin_processed, 1);
  assert_true(mdr_origin_client_contains(&p.cs.set, blog, strlen(blog)));
  pair_free(&p);

  /* On a non-zero stream: never reaches the set. */
  pair_init(&p, "www.example.com");
  pump(&p);
  inject(&p, 0, 1);
  assert_int_equal(p.cs.origin_processed, 0);
  assert_false(mdr_origin_client_contains(&p.cs.set, blog, strlen(blog)));
  assert_int_equal(p.cs.set.activated, 0);
  pair_free(&p);
}

/* The glue's own RFC 8336 §2.2 checks on the frame it is handed: flags
 * 0x1-0x8 -> ignored, upper flags -> processed, stream != 0 -> ignored.
 * (nghttp2 1.52's built-in receive clears the flags before the callback and
 * drops frames with an upper flag itself; see docs/origin.md.) */
static void test_reserved_flags_ignored(void **state) {
  (void)state;
  const char *blog = "https://blog.example.com:8443";
  nghttp2_origin_entry ov[1] = {{(uint8_t *)(uintptr_t)blog, strlen(blog)}};
  nghttp2_ext_origin ext = {1, ov};
  for (unsigned f = 0; f < 0x100; f++) {
    for (int32_t stream = 0; stream < 2; stream++) {
      mdr_origin_client c;
      mdr_origin_slot slots[4];
      assert_int_equal(mdr_origin_client_init(&c, slots, 4, "www.example.com", 15, 8443), 0);
      nghttp2_frame fr;
      memset(&fr, 0, sizeof fr);
      fr.hd.type = NGHTTP2_ORIGIN;
      fr.hd.flags = (uint8_t)f;
      fr.hd.stream_id = stream;
      fr.hd.length = 2 + strlen(blog);
      fr.ext.payload = &ext;
      int rc = mdr_ngh2_client_on_frame(&c, &fr);
      if ((f & 0x0f) == 0 && stream == 0) {
        assert_int_equal(rc, 1);
        assert_true(mdr_origin_client_contains(&c, blog, strlen(blog)));
      } else {
        assert_int_equal(rc, 0);
        assert_false(mdr_origin_client_contains(&c, blog, strlen(blog)));
        assert_int_equal(c.activated, 0);
      }
    }
  }
  /* Other frame types are left alone. */
  mdr_origin_client c;
  assert_int_equal(mdr_origin_client_init(&c, NULL, 0, "www.example.com", 15, 8443), 0);
  nghttp2_frame fr;
  memset(&fr, 0, sizeof fr);
  fr.hd.type = NGHTTP2_SETTINGS;
  assert_int_equal(mdr_ngh2_client_on_frame(&c, &fr), 0);
  assert_int_equal(c.activated, 0);
  assert_int_equal(mdr_ngh2_client_on_frame(NULL, &fr), MDR_ERR_INVALID_ARGUMENT);
}


/* Strict receive (ORIGIN as a user extension): the RFC 8336 flag rule holds
 * on raw frames, a truncated entry drops the whole frame, and a frame fed
 * one byte at a time is reassembled. */
static void inject_raw(pair *p, const uint8_t *frame, size_t len, size_t step) {
  for (size_t off = 0; off < len; off += step) {
    size_t n = len - off < step ? len - off : step;
    ssize_t r = nghttp2_session_mem_recv(p->client, frame + off, n);
    assert_int_equal(r, (ssize_t)n);
  }
}

static size_t build_frame(uint8_t *out, uint8_t flags, uint32_t stream, const char *const *entries,
                          size_t n, int truncate_last) {
  size_t pl = 0;
  uint8_t *q = out + 9;
  for (size_t i = 0; i < n; i++) {
    size_t el = strlen(entries[i]);
    size_t claimed = truncate_last && i + 1 == n ? el + 10 : el;
    q[0] = (uint8_t)(claimed >> 8);
    q[1] = (uint8_t)claimed;
    memcpy(q + 2, entries[i], el);
    q += 2 + el;
    pl += 2 + el;
  }
  out[0] = (uint8_t)(pl >> 16);
  out[1] = (uint8_t)(pl >> 8);
  out[2] = (uint8_t)pl;
  out[3] = 0x0c;
  out[4] = flags;
  out[5] = (uint8_t)(stream >> 24);
  out[6] = (uint8_t)(stream >> 16);
  out[7] = (uint8_t)(stream >> 8);
  out[8] = (uint8_t)stream;
  return 9 + pl;
}

static void test_strict_receive(void **state) {
  (void)state;
  const char *blog = "https://blog.example.com:8443", *other = "https://other.org:8443";
  const char *const two[] = {blog, other};
  const char *const bad[] = {"https://Blog.example.com:8443", "", other};
  uint8_t frame[256];

  /* The server's real set arrives whole through the strict path. */
  mdr_table *t = parse(VHOSTS);
  mdr_index web = listener(t, "web");
  mdr_handshake_result hs;
  assert_int_equal(mdr_handshake(t, web, 1, "www.example.com", 15, &hs), 0);
  expect e;
  memset(&e, 0, sizeof e);
  mdr_origin_set_each(t, web, hs.vhost, MDR_HTTP_2, expect_add, &e);
  pair p;
  pair_init_mode(&p, "www.example.com", 1);
  mdr_ngh2_origins o;
  memset(&o, 0, sizeof o);
  assert_int_equal(mdr_ngh2_server_submit_origin(p.server, &o, t, web, hs.vhost, NULL, NULL), 0);
  pump(&p);
  assert_int_equal(p.cs.glue_error, 0);
  assert_int_equal(p.cs.strict_processed, 1);
  assert_true(e.n > 0);
  for (size_t i = 0; i < e.n; i++)
    assert_true(mdr_origin_client_contains(&p.cs.set, e.origin[i], strlen(e.origin[i])));
  assert_false(mdr_origin_client_contains(&p.cs.set, other, strlen(other)));
  mdr_ngh2_origins_free(&o);
  pair_free(&p);
  mdr_table_unref(t);

  for (unsigned f = 0; f < 0x100; f++) {
    for (uint32_t stream = 0; stream < 2; stream++) {
      pair_init_mode(&p, "www.example.com", 1);
      pump(&p);
      size_t len = build_frame(frame, (uint8_t)f, stream, two, 2, 0);
      inject_raw(&p, frame, len, f == 0x10 ? 1 : len); /* one case byte by byte */
      int processed = (f & 0x0f) == 0 && stream == 0;
      assert_int_equal(p.cs.glue_error, 0);
      assert_int_equal(p.cs.strict_processed, (size_t)processed);
      assert_int_equal(mdr_origin_client_contains(&p.cs.set, blog, strlen(blog)), processed);
      assert_int_equal(mdr_origin_client_contains(&p.cs.set, other, strlen(other)), processed);
      assert_int_equal(p.cs.set.activated, processed);
      pair_free(&p);
    }
  }

  /* A truncated last entry: nothing from the frame is used. */
  pair_init_mode(&p, "www.example.com", 1);
  pump(&p);
  size_t len = build_frame(frame, 0, 0, two, 2, 1);
  inject_raw(&p, frame, len, len);
  assert_int_equal(p.cs.strict_processed, 0);
  assert_false(mdr_origin_client_contains(&p.cs.set, blog, strlen(blog)));
  assert_int_equal(p.cs.set.activated, 0);
  /* Then a frame with a non-canonical and an empty entry: only other.org. */
  len = build_frame(frame, 0, 0, bad, 3, 0);
  inject_raw(&p, frame, len, 3);
  assert_int_equal(p.cs.strict_processed, 1);
  assert_true(mdr_origin_client_contains(&p.cs.set, other, strlen(other)));
  assert_false(mdr_origin_client_contains(&p.cs.set, blog, strlen(blog)));
  pair_free(&p);

  assert_int_equal(mdr_ngh2_client_enable_origin_strict(NULL), MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_ngh2_origin_rx_init(NULL, NULL), MDR_ERR_INVALID_ARGUMENT);
}

/* 421 removes the request's origin; other statuses do nothing. */
static void test_421_removes(void **state) {
  (void)state;
  mdr_table *t = parse(VHOSTS);
  mdr_index web = listener(t, "web");
  mdr_handshake_result hs;
  assert_int_equal(mdr_handshake(t, web, 1, "www.example.com", 15, &hs), 0);
  pair p;
  pair_init(&p, "www.example.com");
  mdr_ngh2_origins o;
  memset(&o, 0, sizeof o);
  assert_int_equal(mdr_ngh2_server_submit_origin(p.server, &o, t, web, hs.vhost, NULL, NULL), 0);
  pump(&p);
  const char *blog = "https://blog.example.com:8443";
  assert_true(mdr_origin_client_contains(&p.cs.set, blog, strlen(blog)));
  assert_int_equal(mdr_ngh2_client_on_response(&p.cs.set, 200, "blog.example.com:8443", 21), 0);
  assert_true(mdr_origin_client_contains(&p.cs.set, blog, strlen(blog)));
  assert_int_equal(mdr_ngh2_client_on_response(&p.cs.set, 421, "Blog.Example.com:8443", 21), 0);
  assert_false(mdr_origin_client_contains(&p.cs.set, blog, strlen(blog)));
  /* The initial origin can be refused too. */
  const char *www = "https://www.example.com:8443";
  assert_int_equal(mdr_ngh2_client_on_response(&p.cs.set, 421, "www.example.com:8443", 20), 0);
  assert_false(mdr_origin_client_contains(&p.cs.set, www, strlen(www)));
  assert_int_equal(mdr_ngh2_client_on_response(&p.cs.set, 421, "bad host:8443", 13),
                   MDR_ERR_INVALID_ARGUMENT);
  assert_int_equal(mdr_ngh2_client_on_response(NULL, 421, "a", 1), MDR_ERR_INVALID_ARGUMENT);
  mdr_ngh2_origins_free(&o);
  pair_free(&p);
  mdr_table_unref(t);
}

/* Allocation failure in compute leaves the object empty. */
static int fail_after;
static void *fmalloc(size_t n, void *u) { (void)u; return fail_after-- > 0 ? malloc(n) : NULL; }
static void *frealloc(void *p, size_t n, void *u) {
  (void)u;
  return fail_after-- > 0 ? realloc(p, n) : NULL;
}
static void ffree(void *p, void *u) { (void)u; free(p); }

static void test_nomem(void **state) {
  (void)state;
  mdr_table *t = parse(VHOSTS);
  mdr_index web = listener(t, "web");
  mdr_mem mem = {NULL, fmalloc, frealloc, ffree};
  int ok = 0;
  for (int k = 0; k < 20; k++) {
    mdr_ngh2_origins o;
    memset(&o, 0, sizeof o);
    fail_after = k;
    int rc = mdr_ngh2_origins_compute(&o, t, web, MDR_NONE, &mem);
    if (rc == 0) {
      ok = 1;
      assert_true(o.n > 0);
    } else {
      assert_int_equal(rc, MDR_ERR_NOMEM);
      assert_int_equal(o.n, 0);
      assert_null(o.origins);
    }
    mdr_ngh2_origins_free(&o);
    if (ok) break;
  }
  assert_true(ok);
  mdr_table_unref(t);
}

/* ------------------------------------------------------------------------ */
/* The cap on the origin set (issue 12, section 6)                           */
/* ------------------------------------------------------------------------ */

enum { CAP_OTHER = 150, CAP_SAME = 300 };

/* 150 vhosts on another certificate (first in table order, covered by
 * big's *.other.org so they coalesce), then `own` and 300 siblings on its
 * certificate: 452 origins for SNI own.example.com. */
static mdr_table *cap_table(void) {
  size_t cap = 64 * (CAP_OTHER + CAP_SAME) + 512;
  char *text = malloc(cap);
  assert_non_null(text);
  size_t n = (size_t)snprintf(text, cap,
                              "listener web https 8443 default=own\n"
                              "listener ign https 9443 default=own sni-host=ignore\n"
                              "cert big *.example.com *.other.org\n"
                              "cert other *.other.org\n");
  for (int i = 0; i < CAP_OTHER; i++)
    n += (size_t)snprintf(text + n, cap - n, "vhost o%d listen=web,ign names=o%d.other.org cert=other\n",
                          i, i);
  n += (size_t)snprintf(text + n, cap - n,
                        "vhost own listen=web,ign names=own.example.com,own2.example.com cert=big\n");
  for (int i = 0; i < CAP_SAME; i++)
    n += (size_t)snprintf(text + n, cap - n, "vhost s%d listen=web,ign names=s%d.example.com cert=big\n",
                          i, i);
  assert_true(n < cap);
  mdr_table *t = parse(text);
  free(text);
  return t;
}

typedef struct big_expect {
  char (*origin)[MDR_ORIGIN_BUFSIZE];
  size_t n, cap;
} big_expect;

static int big_add(void *user, const char *origin, size_t len) {
  big_expect *e = user;
  assert_true(e->n < e->cap && len < MDR_ORIGIN_BUFSIZE);
  memcpy(e->origin[e->n], origin, len);
  e->origin[e->n][len] = '\0';
  e->n++;
  return 0;
}

static mdr_index vhost_of(const mdr_table *t, mdr_index web, const char *sni) {
  mdr_handshake_result hs;
  assert_int_equal(mdr_handshake(t, web, 1, sni, strlen(sni), &hs), 0);
  assert_int_equal(hs.outcome, MDR_HS_ACCEPT);
  return hs.vhost;
}

/* The core: the default cap, a zeroed options struct, small caps, no cap;
 * past the cap, the connection's own names, then its certificate's. */
static void test_origin_set_cap(void **state) {
  (void)state;
  mdr_table *t = cap_table();
  mdr_index web = listener(t, "web");
  mdr_index own = vhost_of(t, web, "own.example.com");
  big_expect e = {calloc(CAP_OTHER + CAP_SAME + 2, MDR_ORIGIN_BUFSIZE), 0,
                  CAP_OTHER + CAP_SAME + 2};
  assert_non_null(e.origin);
  char want[MDR_ORIGIN_BUFSIZE];

  /* No cap: everything, own names first, then the siblings, then others. */
  mdr_origin_set_options o;
  memset(&o, 0, sizeof o);
  o.max_origins = SIZE_MAX;
  assert_int_equal(mdr_origin_set_each2(t, web, own, MDR_HTTP_2, &o, big_add, &e),
                   CAP_OTHER + CAP_SAME + 2);
  assert_string_equal(e.origin[0], "https://own.example.com:8443");
  assert_string_equal(e.origin[1], "https://own2.example.com:8443");
  assert_string_equal(e.origin[2], "https://s0.example.com:8443");
  assert_string_equal(e.origin[2 + CAP_SAME], "https://o0.other.org:8443");

  /* The default: NULL options, a zeroed struct, and the 0.1 function. */
  for (int k = 0; k < 3; k++) {
    e.n = 0;
    memset(&o, 0, sizeof o);
    int n = k == 0   ? mdr_origin_set_each2(t, web, own, MDR_HTTP_2, NULL, big_add, &e)
            : k == 1 ? mdr_origin_set_each2(t, web, own, MDR_HTTP_2, &o, big_add, &e)
                     : mdr_origin_set_each(t, web, own, MDR_HTTP_2, big_add, &e);
    assert_int_equal(n, MDR_ORIGIN_SET_DEFAULT_MAX);
    assert_int_equal(e.n, 256);
    assert_string_equal(e.origin[0], "https://own.example.com:8443");
    assert_string_equal(e.origin[1], "https://own2.example.com:8443");
    for (size_t i = 2; i < 256; i++) {
      snprintf(want, sizeof want, "https://s%zu.example.com:8443", i - 2);
      assert_string_equal(e.origin[i], want);
    }
  }

  /* Small caps. */
  o.max_origins = 3;
  e.n = 0;
  assert_int_equal(mdr_origin_set_each2(t, web, own, MDR_HTTP_3, &o, big_add, &e), 3);
  assert_string_equal(e.origin[2], "https://s0.example.com:8443");
  o.max_origins = 1;
  e.n = 0;
  assert_int_equal(mdr_origin_set_each2(t, web, own, MDR_HTTP_2, &o, big_add, &e), 1);
  assert_string_equal(e.origin[0], "https://own.example.com:8443");

  /* Another SNI: its own name first, then its certificate's in table order. */
  mdr_index s7 = vhost_of(t, web, "s7.example.com");
  o.max_origins = 4;
  e.n = 0;
  assert_int_equal(mdr_origin_set_each2(t, web, s7, MDR_HTTP_2, &o, big_add, &e), 4);
  assert_string_equal(e.origin[0], "https://s7.example.com:8443");
  assert_string_equal(e.origin[1], "https://own.example.com:8443");
  assert_string_equal(e.origin[3], "https://s0.example.com:8443");
  /* An SNI on the other certificate: own name, then its siblings (big's
   * names are not covered by its certificate). */
  mdr_index o5 = vhost_of(t, web, "o5.other.org");
  o.max_origins = 2;
  e.n = 0;
  assert_int_equal(mdr_origin_set_each2(t, web, o5, MDR_HTTP_2, &o, big_add, &e), 2);
  assert_string_equal(e.origin[0], "https://o5.other.org:8443");
  assert_string_equal(e.origin[1], "https://o0.other.org:8443");
  free(e.origin);
  mdr_table_unref(t);
}

/* The glue: the default cap on what is submitted, the configurable cap,
 * and what mdr_decide makes of the capped set (rule 7: advertised origins
 * are served, names left out are refused on this connection). */
static void test_ngh2_origin_cap(void **state) {
  (void)state;
  mdr_table *t = cap_table();
  mdr_index web = listener(t, "web");
  mdr_index own = vhost_of(t, web, "own.example.com");
  mdr_ngh2_origins o;
  memset(&o, 0, sizeof o);
  assert_int_equal(mdr_ngh2_origins_compute(&o, t, web, own, NULL), 0);
  assert_int_equal(o.n, MDR_ORIGIN_SET_DEFAULT_MAX);
  mdr_origin_set_options opts;
  memset(&opts, 0, sizeof opts);
  assert_int_equal(mdr_ngh2_origins_compute2(&o, t, web, own, &opts, NULL), 0);
  assert_int_equal(o.n, MDR_ORIGIN_SET_DEFAULT_MAX);
  assert_int_equal(o.origins[0].len, strlen("https://own.example.com:8443"));
  assert_memory_equal(o.origins[0].ptr, "https://own.example.com:8443", o.origins[0].len);

  /* Every advertised origin is served.  A name left out is still served
   * where the set is advisory (sni-host=compatible), and refused where it
   * is the bound (sni-host=ignore: rule 7, not-in-origin-set). */
  for (int k = 0; k < 2; k++) {
    mdr_index l = listener(t, k ? "ign" : "web");
    mdr_ngh2_origins set;
    memset(&set, 0, sizeof set);
    assert_int_equal(mdr_ngh2_origins_compute2(&set, t, l, own, &opts, NULL), 0);
    assert_int_equal(set.n, MDR_ORIGIN_SET_DEFAULT_MAX);
    mdr_conn c;
    memset(&c, 0, sizeof c);
    c.listener = l;
    c.has_hs_vhost = 1;
    c.hs_vhost = own;
    c.has_sni = 1;
    c.sni = (mdr_str)MDR_STR_LIT("own.example.com");
    c.has_alpn = 1;
    c.alpn = (mdr_str)MDR_STR_LIT("h2");
    mdr_ngh2_origins_to_conn(&set, &c);
    for (size_t i = 0; i <= set.n; i++) {
      char host[MDR_ORIGIN_BUFSIZE];
      if (i < set.n)
        snprintf(host, sizeof host, "%.*s", (int)(set.origins[i].len - 8), set.origins[i].ptr + 8);
      else /* left out by the cap */
        snprintf(host, sizeof host, "s%d.example.com:%s", CAP_SAME - 1, k ? "9443" : "8443");
      mdr_str a = {host, strlen(host)};
      mdr_request r;
      memset(&r, 0, sizeof r);
      r.version = MDR_HTTP_2;
      r.has_target = 1;
      r.target = (mdr_str)MDR_STR_LIT("/");
      r.has_scheme = 1;
      r.scheme = (mdr_str)MDR_STR_LIT("https");
      r.authority = &a;
      r.n_authority = 1;
      mdr_decision d;
      char loc[512];
      assert_int_equal(mdr_decide(t, &c, &r, &d, loc, sizeof loc), 0);
      if (i < set.n || k == 0) {
        if (d.kind != MDR_SERVE) fail_msg("%s not served: %s", host, mdr_reason_token(d.reason));
      } else {
        assert_int_equal(d.status, 421);
        assert_int_equal(d.reason, MDR_REASON_NOT_IN_ORIGIN_SET);
      }
    }
    mdr_ngh2_origins_free(&set);
  }

  /* A cap of 3 on the wire: one frame, exactly those three. */
  pair p;
  pair_init(&p, "own.example.com");
  opts.max_origins = 3;
  size_t frames = 0;
  assert_int_equal(mdr_ngh2_server_submit_origin2(p.server, &o, t, web, own, &opts, NULL, &frames),
                   0);
  assert_int_equal(frames, 1);
  assert_int_equal(o.n, 3);
  pump(&p);
  assert_int_equal(p.cs.glue_error, 0);
  assert_int_equal(p.cs.origin_frames, 1);
  static const char *const in[] = {"https://own.example.com:8443", "https://own2.example.com:8443",
                                   "https://s0.example.com:8443"};
  for (size_t i = 0; i < 3; i++) assert_true(mdr_origin_client_contains(&p.cs.set, in[i], strlen(in[i])));
  assert_false(mdr_origin_client_contains(&p.cs.set, "https://s1.example.com:8443",
                                          strlen("https://s1.example.com:8443")));
  assert_false(mdr_origin_client_contains(&p.cs.set, "https://o0.other.org:8443",
                                          strlen("https://o0.other.org:8443")));
  pair_free(&p);
  mdr_ngh2_origins_free(&o);
  mdr_table_unref(t);
}

/* The allocator of mdr_ngh2_origins_compute and
 * mdr_ngh2_server_submit_origin, for each of the eight combinations of set /
 * NULL functions: the core's one rule holds (a partial mdr_mem is ignored as
 * a whole and the C library's allocator used; 0.2.0 returned
 * MDR_ERR_INVALID_ARGUMENT here), and the client receives the same set. */
static void test_each_allocator(void **state) {
  (void)state;
  mdr_table *t = parse(VHOSTS);
  mdr_index web = listener(t, "web");
  for (unsigned mask = 0; mask < 8; mask++) {
    tu_counting_mem m;
    tu_counting_mem_mask(&m, mask);
    mdr_ngh2_origins o;
    memset(&o, 0, sizeof o);
    assert_int_equal(mdr_ngh2_origins_compute(&o, t, web, MDR_NONE, &m.mem), 0);
    assert_int_equal(o.n, 3); /* example.com, www and blog: not admin (another policy) */
    mdr_ngh2_origins_free(&o);

    pair p;
    pair_init(&p, "www.example.com");
    size_t frames = 0;
    assert_int_equal(
        mdr_ngh2_server_submit_origin(p.server, &o, t, web, MDR_NONE, &m.mem, &frames), 0);
    assert_int_equal(frames, 1);
    pump(&p);
    assert_int_equal(p.cs.origin_processed, 1);
    for (size_t i = 0; i < o.n; i++)
      assert_true(mdr_origin_client_contains(&p.cs.set, o.origins[i].ptr, o.origins[i].len));
    mdr_ngh2_origins_free(&o);
    pair_free(&p);
    tu_counting_mem_check(&m, mask);
  }
  mdr_table_unref(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_client_set_equals_server_set_per_sni),
      cmocka_unit_test(test_large_set_is_split),
      cmocka_unit_test(test_empty_set),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_no_sni_uses_default),
      cmocka_unit_test(test_injected_frame),
      cmocka_unit_test(test_reserved_flags_ignored),
      cmocka_unit_test(test_strict_receive),
      cmocka_unit_test(test_421_removes),
      cmocka_unit_test(test_nomem),
      cmocka_unit_test(test_origin_set_cap),
      cmocka_unit_test(test_ngh2_origin_cap),
      cmocka_unit_test(test_each_allocator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
