/**
 * @file nghttp2.h
 * @brief misdirect-nghttp2 — glue between misdirect's ORIGIN support
 * (misdirect-origin) and an nghttp2 session (nghttp2 >= 1.33; Debian ships
 * 1.52).
 *
 * Server side: compute the connection's origin set from the vhost table
 * (mdr_origin_set_each for the connection's listener and handshake vhost)
 * and submit it with nghttp2_submit_origin right after the server's
 * SETTINGS, split over several ORIGIN frames when it does not fit in one.
 * Client side: enable nghttp2's built-in ORIGIN receive and feed every
 * ORIGIN frame into an mdr_origin_client, and remove an origin on 421.
 *
 * Link with misdirect-nghttp2 (CMake target misdirect::nghttp2, pkg-config
 * misdirect-nghttp2).  See docs/origin.md, "nghttp2 glue".
 *
 * Conventions are those of misdirect.h: pointer + length strings, 0 or a
 * negative MDR_ERR_* code.  nghttp2 error codes returned by nghttp2 calls
 * are passed through unchanged where documented (they are in -500 .. -999
 * and never collide with MDR_ERR_*).
 *
 * Thread safety: an nghttp2_session is single-threaded, and so is every
 * call here that takes one.  mdr_ngh2_origins objects are not shared.
 *
 * Since 0.1.0.
 */
#ifndef MISDIRECT_NGHTTP2_H
#define MISDIRECT_NGHTTP2_H

#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include <misdirect/misdirect.h>
#include <misdirect/origin.h>

/**
 * @def MDR_NGH2_EXTERN
 * Marks a function of misdirect-nghttp2's ABI (as MDR_EXTERN; define
 * MISDIRECT_NGHTTP2_STATICLIB for static use).
 * @since 0.1.0
 */
#if defined(MISDIRECT_NGHTTP2_STATICLIB)
#  define MDR_NGH2_EXTERN
#elif defined(_WIN32)
#  if defined(MISDIRECT_NGHTTP2_BUILDING_LIBRARY)
#    define MDR_NGH2_EXTERN __declspec(dllexport)
#  else
#    define MDR_NGH2_EXTERN __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && defined(MISDIRECT_NGHTTP2_BUILDING_LIBRARY)
#  define MDR_NGH2_EXTERN __attribute__((visibility("default")))
#else
#  define MDR_NGH2_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Largest ORIGIN payload this glue submits or buffers (16384).
 * nghttp2_submit_origin refuses a payload above 16384 bytes whatever the
 * peer's SETTINGS_MAX_FRAME_SIZE, and 16384 is the smallest value a peer may
 * announce, so every ORIGIN frame this glue submits has a payload of at
 * most this many bytes.
 * @since 0.1.0
 */
#define MDR_NGH2_ORIGIN_MAX_PAYLOAD 16384

/* ------------------------------------------------------------------------ */
/* Server side                                                               */
/* ------------------------------------------------------------------------ */

/**
 * The origin set of one connection, owned by the caller (zero-initialise;
 * release with mdr_ngh2_origins_free).  `origins[0..n)` are canonical
 * "https://host[:port]" strings (pointers into `buf`), in the order the core
 * enumerated them.  Keep it for the connection's lifetime and hand it to
 * mdr_decide through mdr_ngh2_origins_to_conn: what was advertised is what
 * the decision checks.
 * @since 0.1.0
 */
typedef struct mdr_ngh2_origins {
  mdr_str *origins;              /**< the origins, n of them */
  size_t n;                      /**< entries in origins */
  char *buf;                     /**< storage of the strings; treat as opaque */
  /** @var mdr_ngh2_origins::buf_cap
   * Treat as opaque. */
  /** Sizes of buf and origins (buf_len, buf_cap, cap): treat as opaque. */
  size_t buf_len, buf_cap, cap;  /**< treat as opaque */
  const mdr_mem *mem;            /**< allocator used (NULL or partial = libc) */
} mdr_ngh2_origins;

/**
 * Compute the HTTP/2 origin set of a TLS connection on `listener` whose
 * handshake selected `handshake_vhost` (as in mdr_conn: MDR_NONE = the
 * listener default), replacing what `o` held: at most
 * MDR_ORIGIN_SET_DEFAULT_MAX (256) origins since 0.3.0, the connection's
 * own names first (mdr_ngh2_origins_compute2 with `opts` NULL).  Allocates with `mem` (NULL =
 * libc); on error `o` is left empty.
 * @param o               the set to fill (caller-owned, zero-initialised or
 *                        filled before)
 * @param t               the table
 * @param listener        the TLS listener
 * @param handshake_vhost H, or MDR_NONE for the listener default
 * @param mem             allocator, or NULL for libc; an mdr_mem with a NULL
 *                        function is the same as NULL (the rule of mdr_mem
 *                        in misdirect.h; before 0.3.0 it was
 *                        MDR_ERR_INVALID_ARGUMENT here); must outlive `o`'s
 *                        contents
 * @return 0; MDR_ERR_WRONG_LISTENER (cleartext listener: never send ORIGIN
 *         there); MDR_ERR_INVALID_ARGUMENT (o or t NULL, a bad index);
 *         MDR_ERR_NOMEM.
 * @ownership `o` owns copies of the origins (release with
 *            mdr_ngh2_origins_free); nothing points into the table.
 * @threadsafety Any thread; one thread at a time per `o`; any number of
 *               threads on one table.
 * @since 0.1.0
 */
MDR_NGH2_EXTERN int mdr_ngh2_origins_compute(mdr_ngh2_origins *o, const mdr_table *t,
                                             mdr_index listener, mdr_index handshake_vhost,
                                             const mdr_mem *mem);

/**
 * mdr_ngh2_origins_compute with options: the set holds at most
 * `opts->max_origins` origins (0 = MDR_ORIGIN_SET_DEFAULT_MAX, 256;
 * SIZE_MAX = no cap), chosen as mdr_origin_set_each2 says: the handshake
 * vhost's names, then the vhosts on its certificate, then the others.
 * Pass the result to mdr_ngh2_origins_to_conn as usual: a name left out by
 * the cap is then refused on this connection (421 not-in-origin-set) only
 * on a sni-host=ignore listener, where the set is the bound (rule 7).
 * @param o               the set to fill (as mdr_ngh2_origins_compute)
 * @param t               the table
 * @param listener        the TLS listener
 * @param handshake_vhost H, or MDR_NONE for the listener default
 * @param opts            options, or NULL (defaults)
 * @param mem             allocator, or NULL for libc
 * @return 0; MDR_ERR_WRONG_LISTENER (cleartext listener);
 *         MDR_ERR_INVALID_ARGUMENT (o or t NULL, a bad index, an mdr_mem
 *         with a NULL function); MDR_ERR_NOMEM.
 * @ownership As mdr_ngh2_origins_compute; `opts` is borrowed for the call.
 * @threadsafety As mdr_ngh2_origins_compute.
 * @since 0.3.0
 */
MDR_NGH2_EXTERN int mdr_ngh2_origins_compute2(mdr_ngh2_origins *o, const mdr_table *t,
                                              mdr_index listener, mdr_index handshake_vhost,
                                              const mdr_origin_set_options *opts,
                                              const mdr_mem *mem);

/**
 * Release what `o` holds and leave it empty (NULL is fine).
 * @param o the set, or NULL
 * @errors None.
 * @ownership Frees the storage o holds (not o itself); an mdr_conn pointed
 *            at it must not be used for decisions any more.
 * @threadsafety One thread at a time per `o`.
 * @since 0.1.0
 */
MDR_NGH2_EXTERN void mdr_ngh2_origins_free(mdr_ngh2_origins *o);

/**
 * Point `c`'s origin-set fields at `o` (has_origin_set = 1, origin_set,
 * n_origin_set), so mdr_decide checks requests against what the ORIGIN
 * frames advertised.  Call it only once the frames were submitted.
 * @param o the submitted set (NULL: c is left alone)
 * @param c the connection facts (NULL: nothing happens)
 * @errors None.
 * @ownership c borrows o's array: keep o alive (and unchanged) while c is
 *            used.
 * @threadsafety One thread at a time per `o` and `c`.
 * @since 0.1.0
 */
MDR_NGH2_EXTERN void mdr_ngh2_origins_to_conn(const mdr_ngh2_origins *o, mdr_conn *c);

/**
 * Submit `origins[0..n)` as ORIGIN frames on a server session: the set is
 * split with mdr_origin_split_next so that each frame's payload is at most
 * `max_payload` bytes (0 or anything above MDR_NGH2_ORIGIN_MAX_PAYLOAD means
 * MDR_NGH2_ORIGIN_MAX_PAYLOAD) and holds whole entries; an empty set is
 * one empty ORIGIN frame ("the SNI origin only").  Every entry is checked
 * before anything is submitted.  Call it right after nghttp2_submit_settings,
 * before the session sends any response; the frames go out with the next
 * nghttp2_session_send / nghttp2_session_mem_send.
 * @param frames_out optional: number of frames submitted
 * @return 0; MDR_ERR_INVALID_ARGUMENT (NULL session, a non-canonical entry);
 *         MDR_ERR_LIMIT (an entry longer than a payload); or the nghttp2
 *         error of nghttp2_submit_origin (NGHTTP2_ERR_INVALID_STATE on a
 *         client session, NGHTTP2_ERR_NOMEM), in which case frames
 *         submitted before it stay queued.
 * @param session     a server session
 * @param origins     the set: canonical origins
 * @param n           entries in origins
 * @param max_payload largest payload per frame (0 = MDR_NGH2_ORIGIN_MAX_PAYLOAD)
 * @ownership nghttp2 copies each frame's payload; `origins` is borrowed for
 *            the call.
 * @threadsafety The thread driving the session (an nghttp2_session is
 *               single-threaded); no locks.
 * @since 0.1.0
 */
MDR_NGH2_EXTERN int mdr_ngh2_submit_origins(nghttp2_session *session, const mdr_str *origins,
                                            size_t n, size_t max_payload, size_t *frames_out);

/**
 * mdr_ngh2_origins_compute, then mdr_ngh2_submit_origins, in one call: what
 * a server does for every new TLS HTTP/2 connection after
 * nghttp2_submit_settings.  On success `o` holds the submitted set (pass it
 * to mdr_ngh2_origins_to_conn).
 * @param session         a server session
 * @param o               receives the set (as mdr_ngh2_origins_compute)
 * @param t               the table
 * @param listener        the TLS listener
 * @param handshake_vhost H, or MDR_NONE for the listener default
 * @param mem             allocator, or NULL for libc (as mdr_ngh2_origins_compute)
 * @param frames_out      optional: number of frames submitted
 * @return as the two functions: 0, MDR_ERR_WRONG_LISTENER,
 *         MDR_ERR_INVALID_ARGUMENT, MDR_ERR_NOMEM, MDR_ERR_LIMIT or an
 *         nghttp2 error code.
 * @ownership As mdr_ngh2_origins_compute: `o` owns the origins.
 * @threadsafety The thread driving the session (an nghttp2_session is
 *               single-threaded); no locks.
 * @since 0.1.0
 */
MDR_NGH2_EXTERN int mdr_ngh2_server_submit_origin(nghttp2_session *session, mdr_ngh2_origins *o,
                                                  const mdr_table *t, mdr_index listener,
                                                  mdr_index handshake_vhost, const mdr_mem *mem,
                                                  size_t *frames_out);

/**
 * mdr_ngh2_server_submit_origin with options (the cap on the set, as
 * mdr_ngh2_origins_compute2).
 * @param session         a server session
 * @param o               receives the set
 * @param t               the table
 * @param listener        the TLS listener
 * @param handshake_vhost H, or MDR_NONE for the listener default
 * @param opts            options, or NULL (defaults)
 * @param mem             allocator, or NULL for libc
 * @param frames_out      optional: number of frames submitted
 * @return 0, MDR_ERR_WRONG_LISTENER, MDR_ERR_INVALID_ARGUMENT,
 *         MDR_ERR_NOMEM, MDR_ERR_LIMIT or an nghttp2 error code, as
 *         mdr_ngh2_server_submit_origin.
 * @ownership As mdr_ngh2_server_submit_origin; `opts` is borrowed.
 * @threadsafety As mdr_ngh2_server_submit_origin.
 * @since 0.3.0
 */
MDR_NGH2_EXTERN int mdr_ngh2_server_submit_origin2(nghttp2_session *session,
                                                   mdr_ngh2_origins *o, const mdr_table *t,
                                                   mdr_index listener, mdr_index handshake_vhost,
                                                   const mdr_origin_set_options *opts,
                                                   const mdr_mem *mem, size_t *frames_out);

/* ------------------------------------------------------------------------ */
/* Client side                                                               */
/* ------------------------------------------------------------------------ */

/**
 * Enable nghttp2's built-in ORIGIN receive on a client session option
 * (nghttp2_option_set_builtin_recv_extension_type(opt, NGHTTP2_ORIGIN)).
 * Without it nghttp2 drops ORIGIN frames silently.
 * @param opt the option object the client session is created with
 * @return 0; MDR_ERR_INVALID_ARGUMENT (NULL opt).
 * @ownership opt stays the caller's.
 * @threadsafety One thread at a time per option object.
 * @since 0.1.0
 */
MDR_NGH2_EXTERN int mdr_ngh2_client_enable_origin(nghttp2_option *opt);

/**
 * Call from the client's on_frame_recv_callback for every frame.  An ORIGIN
 * frame (frame->hd.type == NGHTTP2_ORIGIN) on stream 0 without any of the
 * flags 0x1-0x8 activates `c` and adds its canonical entries; other frames
 * are left alone.  The flag check is done here because nghttp2 (up to at
 * least 1.52) ignores frames with the upper flag bits set, where RFC 8336
 * §2.2 says the lower four bits; non-canonical entries are skipped by
 * mdr_origin_client_add.  An ORIGIN frame without a parsed payload (the
 * strict receive path below registers ORIGIN as a user extension) is left
 * to mdr_ngh2_origin_rx_unpack and returns 0 here.
 * @return 1 (an ORIGIN frame was processed); 0 (not an ORIGIN frame, or one
 *         to ignore); MDR_ERR_LIMIT (the set is full: RFC 8336 §4 lets the
 *         client close the connection); MDR_ERR_INVALID_ARGUMENT.
 * @param c     the connection's client origin set
 * @param frame the frame nghttp2 received
 * @ownership The entries are copied into c.
 * @threadsafety The thread driving the session (an nghttp2_session is
 *               single-threaded); no locks.
 * @since 0.1.0
 */
MDR_NGH2_EXTERN int mdr_ngh2_client_on_frame(mdr_origin_client *c, const nghttp2_frame *frame);

/**
 * A response with status 421 arrived for a request whose :authority was
 * `authority` (verbatim, as sent): remove its origin from `c`
 * (mdr_origin_from_authority, then mdr_origin_client_on_421).  Any other
 * status is a no-op returning 0, so it may be called for every response.
 * @return 0; MDR_ERR_INVALID_ARGUMENT (an authority without a canonical
 *         origin); MDR_ERR_LIMIT (no slot to remember the refusal: do not
 *         reuse the connection for that origin).
 * @param c         the connection's client origin set
 * @param status    the response status
 * @param authority the request's :authority as sent
 * @param len       bytes of authority
 * @ownership Arguments are borrowed; the refusal is copied into c.
 * @threadsafety The thread driving the session (an nghttp2_session is
 *               single-threaded); no locks.
 * @since 0.1.0
 */
MDR_NGH2_EXTERN int mdr_ngh2_client_on_response(mdr_origin_client *c, unsigned status,
                                                const char *authority, size_t len);

/* ------------------------------------------------------------------------ */
/* Client side, strict receive (RFC 8336 flag rule)                          */
/* ------------------------------------------------------------------------ */

/*
 * nghttp2's built-in ORIGIN receive (1.52) hides a frame's flags: a frame
 * with a reserved flag 0x1-0x8 (which RFC 8336 §2.2 says to ignore) is
 * delivered with flags 0, and one with an upper flag 0x10-0x80 (to be
 * processed) is dropped.  For the RFC's rule exactly, register ORIGIN as a
 * user extension instead and pass its raw bytes through misdirect's strict
 * decoder (mdr_origin_client_on_h2_frame) with an mdr_ngh2_origin_rx:
 *
 *   mdr_ngh2_client_enable_origin_strict(opt);
 *   on_extension_chunk_recv_callback: return mdr_ngh2_origin_rx_chunk(rx, hd, data, len);
 *   unpack_extension_callback:        mdr_ngh2_origin_rx_unpack(rx, hd); *payload = NULL;
 *                                     return 0 (or NGHTTP2_ERR_CANCEL to hide the frame);
 *
 * Do not also enable the built-in receive (nghttp2 gives the user handler
 * precedence anyway).
 */

/** Per-connection receive state (zero-initialise, then mdr_ngh2_origin_rx_init).  @since 0.1.0 */
typedef struct mdr_ngh2_origin_rx {
  mdr_origin_client *set;        /**< the set fed (borrowed) */
  size_t len;                    /**< payload bytes buffered for the current frame */
  int overflow;                  /**< the current frame did not fit: ignore it */
  uint8_t buf[MDR_ORIGIN_H2_HEADER_LEN + MDR_NGH2_ORIGIN_MAX_PAYLOAD]; /**< frame buffer */
} mdr_ngh2_origin_rx;

/**
 * Register ORIGIN as a user extension type on a client option.
 * (nghttp2_option_set_user_recv_extension_type), for the strict receive path.
 * @param opt the option object the client session is created with
 * @return 0; MDR_ERR_INVALID_ARGUMENT (NULL opt).
 * @ownership opt stays the caller's.
 * @threadsafety One thread at a time per option object.
 * @since 0.1.0
 */
MDR_NGH2_EXTERN int mdr_ngh2_client_enable_origin_strict(nghttp2_option *opt);

/**
 * Start receiving into `set`.
 * @param rx  the receive state (caller-owned)
 * @param set the connection's client origin set
 * @return 0; MDR_ERR_INVALID_ARGUMENT (rx or set NULL).
 * @ownership rx borrows set: keep it alive while rx is used.
 * @threadsafety The thread driving the session (an nghttp2_session is
 *               single-threaded); no locks.
 * @since 0.1.0
 */
MDR_NGH2_EXTERN int mdr_ngh2_origin_rx_init(mdr_ngh2_origin_rx *rx, mdr_origin_client *set);

/**
 * From on_extension_chunk_recv_callback: buffer a piece of an ORIGIN
 * frame's payload.  A payload above MDR_NGH2_ORIGIN_MAX_PAYLOAD (a client
 * that announced a larger SETTINGS_MAX_FRAME_SIZE) makes the frame ignored.
 * Frames of other types are left alone.
 * @param rx   the receive state
 * @param hd   the frame header nghttp2 passes
 * @param data the chunk
 * @param len  bytes of data
 * @return 0 (return it to nghttp2); MDR_ERR_INVALID_ARGUMENT.
 * @ownership The chunk is copied into rx.
 * @threadsafety The thread driving the session (an nghttp2_session is
 *               single-threaded); no locks.
 * @since 0.1.0
 */
MDR_NGH2_EXTERN int mdr_ngh2_origin_rx_chunk(mdr_ngh2_origin_rx *rx, const nghttp2_frame_hd *hd,
                                             const uint8_t *data, size_t len);

/**
 * From unpack_extension_callback, when the whole frame arrived: decode it
 * strictly (stream != 0, a flag in 0x0f or a truncated entry -> ignored;
 * non-canonical entries skipped) and feed the set.  Resets the buffer for
 * the next frame.
 * @return 1 (an ORIGIN frame was processed), 0 (ignored, or not ORIGIN),
 *         MDR_ERR_LIMIT (the set is full), MDR_ERR_INVALID_ARGUMENT.
 * @param rx the receive state
 * @param hd the frame header nghttp2 passes
 * @ownership Entries are copied into rx's set.
 * @threadsafety The thread driving the session (an nghttp2_session is
 *               single-threaded); no locks.
 * @since 0.1.0
 */
MDR_NGH2_EXTERN int mdr_ngh2_origin_rx_unpack(mdr_ngh2_origin_rx *rx, const nghttp2_frame_hd *hd);

#ifdef __cplusplus
}
#endif

#endif /* MISDIRECT_NGHTTP2_H */
