/**
 * @file origin.h
 * @brief misdirect-origin — the ORIGIN frame codec (RFC 8336 for HTTP/2, RFC 9412
 * for HTTP/3) and a client-side origin set.
 *
 * Link with misdirect-origin (CMake target misdirect::origin, pkg-config
 * misdirect-origin).  See docs/origin.md.  It links only the core, whose
 * table-free host normaliser (mdr_authority_parse) decides what a canonical
 * host is, so the origins the core enumerates (mdr_origin_set_each) are
 * canonical here by construction.  Nothing in this library uses a vhost
 * table.
 *
 * Conventions (as in misdirect.h)
 * -------------------------------
 * - Strings are pointer + length; NUL termination is never required and a
 *   pointer may be NULL when its length is 0.
 * - Functions return 0 (or a documented non-negative count) on success, or a
 *   negative MDR_ERR_* code.
 * - Nothing here allocates, locks or touches global state.  Every function is
 *   safe to call from any thread on distinct objects; an mdr_origin_client is
 *   not thread-safe (one connection, one thread at a time).
 *
 * Canonical origin
 * ----------------
 * An ORIGIN entry is the RFC 6454 serialisation of an https origin, in the
 * single canonical form this library emits and the strict decoder accepts:
 *
 *     "https://" HOST [ ":" PORT ]
 *
 * - HOST is exactly what the core's mdr_authority_parse produces: a lower
 *   case DNS name in A-label form (labels of letters, digits, '-' and '_',
 *   1-63 bytes, no '-' at either end, no trailing dot, at most 253 bytes,
 *   last label not numeric or 0x-hex unless the whole host is an IPv4
 *   address), an IPv4 dotted quad without leading zeros, or a bracketed IPv6
 *   address in RFC 5952 form (see mdr_origin_serialize);
 * - PORT is present only when it is not 443, in decimal without leading
 *   zeros, 1-65535;
 * - no path, no trailing '/', no userinfo, no wildcard.
 *
 * Since 0.1.0 unless noted.
 */
#ifndef MISDIRECT_ORIGIN_H
#define MISDIRECT_ORIGIN_H

#include <stddef.h>
#include <stdint.h>

#include <misdirect/misdirect.h>

/**
 * @def MDR_ORIGIN_EXTERN
 * Marks a function of misdirect-origin's ABI (as MDR_EXTERN; define
 * MISDIRECT_ORIGIN_STATICLIB for static use).
 * @since 0.1.0
 */
#if defined(MISDIRECT_ORIGIN_STATICLIB)
#  define MDR_ORIGIN_EXTERN
#elif defined(_WIN32)
#  if defined(MISDIRECT_ORIGIN_BUILDING_LIBRARY)
#    define MDR_ORIGIN_EXTERN __declspec(dllexport)
#  else
#    define MDR_ORIGIN_EXTERN __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && defined(MISDIRECT_ORIGIN_BUILDING_LIBRARY)
#  define MDR_ORIGIN_EXTERN __attribute__((visibility("default")))
#else
#  define MDR_ORIGIN_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Constants                                                                  */
/* ------------------------------------------------------------------------ */

/** Frame type of ORIGIN in HTTP/2 and HTTP/3.  @since 0.1.0 */
#define MDR_ORIGIN_FRAME_TYPE 0x0c
/** Size of an HTTP/2 frame header.  @since 0.1.0 */
#define MDR_ORIGIN_H2_HEADER_LEN 9
/** Default (and minimum legal) HTTP/2 SETTINGS_MAX_FRAME_SIZE.  @since 0.1.0 */
#define MDR_ORIGIN_H2_DEFAULT_MAX_FRAME 16384
/** Largest HTTP/2 frame payload (2^24 - 1).  @since 0.1.0 */
#define MDR_ORIGIN_H2_MAX_FRAME_LIMIT 16777215
/** HTTP/2 ORIGIN flags whose presence makes a client ignore the frame.  @since 0.1.0 */
#define MDR_ORIGIN_H2_RESERVED_FLAGS 0x0f
/** Longest canonical origin: "https://" + 253-byte name + ":65535".  @since 0.1.0 */
#define MDR_ORIGIN_MAX_LEN 267
/** A buffer that always holds a canonical origin plus a NUL.  @since 0.1.0 */
#define MDR_ORIGIN_BUFSIZE (MDR_ORIGIN_MAX_LEN + 1)
/** HTTP/3 error code H3_FRAME_ERROR (RFC 9114 §8.1), for callers of the H3 decoder.  @since 0.1.0 */
#define MDR_ORIGIN_H3_FRAME_ERROR 0x0106

/* ------------------------------------------------------------------------ */
/* Serialisation and the canonical check                                      */
/* ------------------------------------------------------------------------ */

/**
 * Serialise the https origin (host, port) canonically.
 *
 * `host` may be a DNS name (any case, one trailing dot allowed), an IPv4
 * dotted quad, or an IPv6 address with or without brackets (any valid RFC
 * 4291 text form; a zone id is refused).  The host is normalised by the
 * core's mdr_authority_parse (docs/decision-rules.md rule 2).  IPv6 comes out in RFC 5952
 * form: lower-case hex, no leading zeros, the longest run of two or more
 * zero groups (the first on a tie) as "::", and mixed notation for the
 * IPv4-embedding prefixes IPv4-mapped \::ffff:0:0/96 ("\::ffff:192.0.2.50"),
 * IPv4-translated \::ffff:0:0:0/96 and NAT64 64:ff9b::/96 (not for the
 * deprecated IPv4-compatible ::/96).  `port` 0 or 443 means the default
 * port, which is omitted.
 *
 * Wildcards ("*.example.com"), empty hosts, non-ASCII (send A-labels),
 * percent-encoding, userinfo, paths and every other invalid host are refused.
 * No allocation.
 *
 * @param buf     output (not NUL-terminated; a NUL is added when room remains);
 *                may be NULL when cap is 0 (size query)
 * @param len_out receives the origin's length (also on BUFFER_TOO_SMALL)
 * @param host     the host (need not be NUL-terminated)
 * @param host_len bytes of host
 * @param port     the port; 0 or 443 for the default
 * @param cap      bytes of buf
 * @return 0; MDR_ERR_INVALID_ARGUMENT (invalid host, NULL len_out);
 *         MDR_ERR_BUFFER_TOO_SMALL (cap < *len_out; nothing useful written).
 * @ownership `host` is borrowed for the call; buf is caller-owned.
 * @threadsafety Any thread (no state); no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_serialize(const char *host, size_t host_len, uint16_t port,
                                           char *buf, size_t cap, size_t *len_out);

/**
 * The https origin of an authority "host[:port]" (as in :authority or Host,
 * taken verbatim: no whitespace trimming).  An empty or absent port means
 * 443.  The host must be bracketed when it is IPv6.  For the client side:
 * the origin of a request that got a 421.
 * @param authority the authority as received ("host[:port]")
 * @param len       bytes of authority
 * @param buf       output, as for mdr_origin_serialize (may be NULL when cap is 0)
 * @param cap       bytes of buf
 * @param len_out   receives the origin's length
 * @return as mdr_origin_serialize; MDR_ERR_INVALID_ARGUMENT for a bad port.
 * @ownership `authority` is borrowed for the call; buf is caller-owned.
 * @threadsafety Any thread (no state); no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_from_authority(const char *authority, size_t len, char *buf,
                                                size_t cap, size_t *len_out);

/**
 * 1 if `origin` is a canonical https origin (the header comment above), else
 * 0.  This is the strict decoder's entry check: "https://A.Example.com",
 * "https://a.example.com:443", "https://a.example.com/", a wildcard "https://" "*.x.com",
 * "a.example.com" and "" are all 0.
 * @param origin the string to check (may be NULL: 0)
 * @param len    bytes of origin
 * @return 1 or 0; it cannot fail.
 * @ownership `origin` is borrowed for the call.
 * @threadsafety Any thread (no state); no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_is_canonical(const char *origin, size_t len);

/** Parts of a canonical origin; pointers into the origin string.  @since 0.1.0 */
typedef struct mdr_origin_parts {
  mdr_str host;                  /**< IPv6 includes its brackets */
  mdr_host_kind kind;            /**< from misdirect.h */
  uint16_t port;                 /**< 443 when the origin has no port */
} mdr_origin_parts;

/**
 * Split a canonical origin.
 * @param origin the origin
 * @param len    bytes of origin
 * @param out    receives the parts (may be NULL: only check)
 * @return 0; MDR_ERR_INVALID_ARGUMENT when the origin is not canonical.
 * @ownership out->host points into `origin`: valid as long as it is.
 * @threadsafety Any thread (no state); no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_parse(const char *origin, size_t len, mdr_origin_parts *out);

/* ------------------------------------------------------------------------ */
/* Encoders                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Every encoder takes the set as an array of canonical origins and refuses
 * (MDR_ERR_INVALID_ARGUMENT) any entry that is not canonical: the encoders
 * never emit something a strict decoder would skip.  Entries are written in
 * the order given; duplicates are written as given.
 */

/**
 * Iterator that splits a set into HTTP/2 frames: each frame's payload is at
 * most `max_payload` bytes and holds whole entries only.  An empty set gives
 * one empty frame (RFC 8336 Appendix B: "only the SNI origin").  Use it to
 * feed nghttp2_submit_origin() one group at a time.
 * @since 0.1.0
 */
typedef struct mdr_origin_split {
  const mdr_str *origins;        /**< the set (borrowed) */
  size_t n;                      /**< entries in origins */
  size_t max_payload;            /**< largest payload of a frame */
  size_t next;                   /**< first entry of the next frame */
  int started;                   /**< 1 once the first frame was produced */
} mdr_origin_split;

/**
 * Start splitting.  `max_payload` 0 means 16384; values above 2^24-1 are
 * clamped to it.  The array must outlive the iterator.
 * @param it          the iterator (caller-owned; NULL is ignored)
 * @param origins     the set: canonical origins
 * @param n           entries in origins
 * @param max_payload largest payload of one frame
 * @errors None: errors in the set are reported by mdr_origin_split_next.
 * @ownership `origins` is borrowed by the iterator: it must outlive it.
 * @threadsafety Any thread; one thread at a time per iterator.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN void mdr_origin_split_init(mdr_origin_split *it, const mdr_str *origins, size_t n,
                                             size_t max_payload);

/**
 * Next frame: entries origins[*first .. *first + *count) with a payload of
 * *payload_len bytes.
 * The first call checks the whole set, so an error comes before any frame
 * and a caller never sends part of a set.
 * @return 1 (a frame), 0 (no more frames), MDR_ERR_INVALID_ARGUMENT (a
 *         non-canonical entry, or a NULL argument), MDR_ERR_LIMIT (an entry
 *         that does not fit in a payload of max_payload bytes).
 * @param it          the iterator
 * @param first       receives the index of the frame's first entry
 * @param count       receives the number of entries in the frame
 * @param payload_len receives the frame's payload length
 * @ownership The indexes refer to the array given to mdr_origin_split_init.
 * @threadsafety Any thread; one thread at a time per iterator.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_split_next(mdr_origin_split *it, size_t *first, size_t *count,
                                            size_t *payload_len);

/**
 * Write the ORIGIN payload (Origin-Len + ASCII-Origin, repeated) for
 * origins[0..n) without any frame header.
 * @param origins the set: canonical origins
 * @param n       entries in origins
 * @param buf     output (may be NULL when cap is 0, to learn the size)
 * @param cap     bytes of buf
 * @param len_out receives the payload length
 * @return 0; MDR_ERR_BUFFER_TOO_SMALL (needed size in *len_out);
 *         MDR_ERR_INVALID_ARGUMENT.
 * @ownership `origins` is borrowed for the call; buf is caller-owned.
 * @threadsafety Any thread (no state); no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_payload_write(const mdr_str *origins, size_t n, uint8_t *buf,
                                               size_t cap, size_t *len_out);

/**
 * Write the whole set as one or more complete HTTP/2 ORIGIN frames (9-byte
 * header: 24-bit length, type 0x0c, flags 0, stream 0; then the payload),
 * back to back, each payload <= max_frame (0 = 16384) and never splitting an
 * entry.  Call with buf NULL / cap 0 to learn the size.
 * @param origins the set: canonical origins
 * @param n       entries in origins
 * @param max_frame largest payload of a frame (0 = 16384)
 * @param buf     output (may be NULL when cap is 0)
 * @param cap     bytes of buf
 * @param len_out receives the bytes written (or needed)
 * @param frames_out optional: number of frames written (or needed)
 * @return 0; MDR_ERR_BUFFER_TOO_SMALL (needed bytes in *len_out, nothing
 *         useful written); MDR_ERR_INVALID_ARGUMENT; MDR_ERR_LIMIT (an entry
 *         cannot fit in any frame).
 * @ownership `origins` is borrowed for the call; buf is caller-owned.
 * @threadsafety Any thread (no state); no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_h2_encode(const mdr_str *origins, size_t n, size_t max_frame,
                                           uint8_t *buf, size_t cap, size_t *len_out,
                                           size_t *frames_out);

/**
 * Write the set as one HTTP/3 ORIGIN frame: varint type 0x0c, varint payload
 * length (RFC 9000 §16, shortest form), payload.  It goes on the server's
 * control stream after SETTINGS.  Size query as for mdr_origin_h2_encode.
 * @param origins the set: canonical origins
 * @param n       entries in origins
 * @param buf     output (may be NULL when cap is 0)
 * @param cap     bytes of buf
 * @param len_out receives the bytes written (or needed)
 * @return 0; MDR_ERR_BUFFER_TOO_SMALL; MDR_ERR_INVALID_ARGUMENT.
 * @ownership `origins` is borrowed for the call; buf is caller-owned.
 * @threadsafety Any thread (no state); no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_h3_encode(const mdr_str *origins, size_t n, uint8_t *buf,
                                           size_t cap, size_t *len_out);

/* ------------------------------------------------------------------------ */
/* Strict decoder                                                             */
/* ------------------------------------------------------------------------ */

/**
 * Called once per canonical entry, in frame order (duplicates included).
 * `origin` points into the caller's frame.  Return 0 to continue; any other
 * value stops decoding and is returned by the decoder unchanged (use a
 * negative MDR_ERR_* code).
 * @since 0.1.0
 */
typedef int (*mdr_origin_entry_fn)(void *user, const char *origin, size_t len);

/** What the decoder did with a frame.  @since 0.1.0 */
typedef enum mdr_origin_status {
  MDR_ORIGIN_PROCESSED = 0,      /**< entries delivered (the frame counts as an ORIGIN frame) */
  MDR_ORIGIN_IGNORED_STREAM,     /**< HTTP/2: stream id not 0 (RFC 8336 §2.2) */
  MDR_ORIGIN_IGNORED_FLAGS,      /**< HTTP/2: a flag in 0x0f set (RFC 8336 §2.2) */
  MDR_ORIGIN_IGNORED_TRUNCATED,  /**< HTTP/2: an entry overruns the payload; whole frame ignored */
  MDR_ORIGIN_NOT_ORIGIN,         /**< another frame type: skipped */
  MDR_ORIGIN_INCOMPLETE          /**< the input ends before the frame does: supply more bytes */
} mdr_origin_status;

/** Details of one decoded frame.  Filled by every successful call.  @since 0.1.0 */
typedef struct mdr_origin_result {
  mdr_origin_status status;      /**< what was done with the frame */
  size_t consumed;               /**< bytes of the input taken by this frame (0 if INCOMPLETE) */
  size_t needed;                 /**< INCOMPLETE: total bytes needed when known, else 0 */
  uint64_t frame_type;           /**< the frame's type */
  uint8_t flags;                 /**< HTTP/2 only */
  uint32_t stream_id;            /**< HTTP/2 only (reserved bit cleared) */
  size_t payload_len;            /**< the frame's payload length */
  size_t entries;                /**< canonical entries delivered */
  size_t skipped;                /**< entries skipped: empty or non-canonical */
} mdr_origin_result;

/**
 * Decode an ORIGIN payload (entries only) strictly: the whole payload is
 * checked first, and on truncation nothing is delivered.  `fn` may be NULL
 * (validation only).  `entries`/`skipped` may be NULL.
 * @param payload the payload (may be NULL when len is 0)
 * @param len     bytes of payload
 * @param fn      called per canonical entry (may be NULL)
 * @param user    passed to fn
 * @param entries receives the canonical entries delivered (may be NULL)
 * @param skipped receives the entries skipped (may be NULL)
 * @return 0; MDR_ERR_DECODE (an entry overruns the payload);
 *         MDR_ERR_INVALID_ARGUMENT (payload NULL with len > 0); or the
 *         callback's non-zero value.
 * @ownership The entries passed to fn point into `payload`.
 * @threadsafety Any thread (no state); fn runs on the calling thread.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_payload_decode(const uint8_t *payload, size_t len,
                                                mdr_origin_entry_fn fn, void *user,
                                                size_t *entries, size_t *skipped);

/**
 * Decode one HTTP/2 frame at the start of `in` (client side, RFC 8336 §2.2):
 * non-zero stream → ignored; any flag in 0x0f → ignored (other flags do not
 * matter); a truncated entry → the whole frame ignored (the nghttp2 choice;
 * no entry is delivered); empty and non-canonical entries skipped; other
 * frame types skipped.  Bytes after the frame are left alone (see
 * res->consumed), so a run of frames decodes in a loop.
 * @param in   received bytes starting at a frame header
 * @param len  bytes of in
 * @param fn   called per canonical entry (may be NULL)
 * @param user passed to fn
 * @param res  receives the details
 * @return 0 (see res->status); MDR_ERR_INVALID_ARGUMENT (NULL res, or NULL in
 *         with len > 0); or the callback's non-zero value.
 * @ownership The entries passed to fn point into `in`.
 * @threadsafety Any thread (no state); fn runs on the calling thread.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_h2_decode(const uint8_t *in, size_t len, mdr_origin_entry_fn fn,
                                           void *user, mdr_origin_result *res);

/**
 * Decode one HTTP/3 frame (varint type, varint length, payload) at the start
 * of `in`, as read from the server's control stream.  Other frame types are
 * skipped (NOT_ORIGIN).
 * @return 0 (see res->status); MDR_ERR_DECODE when an entry overruns the
 *         frame payload — a connection error of type H3_FRAME_ERROR
 *         (RFC 9114 §7.1), nothing delivered; MDR_ERR_INVALID_ARGUMENT; or
 *         the callback's non-zero value.
 * @param in   received bytes starting at a frame
 * @param len  bytes of in
 * @param fn   called per canonical entry (may be NULL)
 * @param user passed to fn
 * @param res  receives the details
 * @ownership The entries passed to fn point into `in`.
 * @threadsafety Any thread (no state); fn runs on the calling thread.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_h3_decode(const uint8_t *in, size_t len, mdr_origin_entry_fn fn,
                                           void *user, mdr_origin_result *res);

/* ------------------------------------------------------------------------ */
/* Certificate coverage (RFC 9525)                                            */
/* ------------------------------------------------------------------------ */

/**
 * 1 if a certificate presenting `names` covers the canonical host `host`
 * (as in mdr_origin_parts.host), else 0.  DNS names match case-insensitively
 * (one trailing dot ignored); "*.example.com" matches exactly one extra label
 * (never the apex, never two labels, never an IP); any other use of '*', and
 * a wildcard over a single label ("*.com"), make the name invalid and
 * ignored.  Names that parse as IP addresses ("192.0.2.1", "2001:db8::1" or
 * "[2001:db8::1]") are taken as IP SANs and match an IP host of the same
 * address only (no IPv4-mapped equivalence).
 * @param names    the certificate's names (SAN entries)
 * @param n        entries in names
 * @param host     the canonical host
 * @param host_len bytes of host
 * @return 1 or 0 (also 0 for NULL names or host); it cannot fail.
 * @ownership All arguments are borrowed for the call.
 * @threadsafety Any thread (no state); no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_names_cover(const mdr_str *names, size_t n, const char *host,
                                             size_t host_len);

/* ------------------------------------------------------------------------ */
/* Client-side origin set (RFC 8336 §2.3-2.4)                                 */
/* ------------------------------------------------------------------------ */

/** One stored origin.  Treat as opaque.  @since 0.1.0 */
typedef struct mdr_origin_slot {
  uint16_t len;                  /**< bytes of origin */
  uint8_t refused;               /**< removed by a 421 */
  char origin[MDR_ORIGIN_MAX_LEN]; /**< the origin (not NUL-terminated) */
} mdr_origin_slot;

/**
 * The origin set of one client connection, in caller-provided storage.
 * Treat the fields as opaque.  Not thread-safe.
 * @since 0.1.0
 */
typedef struct mdr_origin_client {
  mdr_origin_slot *slots;        /**< caller's slot array */
  size_t cap;                    /**< slots available */
  size_t n;                      /**< slots used */
  int activated;                 /**< an ORIGIN frame was processed */
  int initial_refused;           /**< the initial origin got a 421 */
  size_t initial_len;            /**< 0 = no initial origin */
  char initial[MDR_ORIGIN_BUFSIZE]; /**< the initial origin */
} mdr_origin_client;

/**
 * Start the set of a new connection.  The initial origin is https + the SNI
 * (lower-cased; or the server's IP address when no SNI was sent) + the
 * connection's remote port.  `slots`/`cap` hold the origins ORIGIN frames
 * add and those a 421 refuses (cap may be 0).
 * @param c         the set to initialise (caller-owned)
 * @param slots     storage for added and refused origins (may be NULL when cap is 0)
 * @param cap       entries in slots
 * @param sni_or_ip the SNI sent, or the server's IP address
 * @param len       bytes of sni_or_ip
 * @param port      the connection's remote port
 * @return 0; MDR_ERR_INVALID_ARGUMENT (invalid host; c NULL; slots NULL with
 *         cap > 0).
 * @ownership `slots` is borrowed by the set for its whole life; the set
 *            copies the initial origin and every origin it stores.
 * @threadsafety One thread at a time per client set; no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_client_init(mdr_origin_client *c, mdr_origin_slot *slots,
                                             size_t cap, const char *sni_or_ip, size_t len,
                                             uint16_t port);

/**
 * The initial origin (pointer into c).
 * @param c the set
 * @return the initial origin; empty (NULL, 0) for a NULL c or none; it
 *         cannot fail.
 * @ownership Points into c: valid while c is unchanged.  Not NUL-terminated.
 * @threadsafety One thread at a time per client set; no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN mdr_str mdr_origin_client_initial(const mdr_origin_client *c);

/**
 * Mark that an ORIGIN frame was processed (even an empty one): from now on
 * the connection is authoritative only for origins in the set.
 * @param c the set (NULL is ignored)
 * @errors None.
 * @ownership c is borrowed for the call.
 * @threadsafety One thread at a time per client set; no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN void mdr_origin_client_activate(mdr_origin_client *c);

/**
 * Add one origin from a processed ORIGIN frame (also activates).  A
 * non-canonical origin is skipped (returns 0, not added).  Adding an origin
 * already present is a no-op, except that a later ORIGIN frame listing an
 * origin refused by a 421 lists it again (RFC 8336 Appendix A).
 * @param c      the set
 * @param origin the origin
 * @param len    bytes of origin
 * @return 0; MDR_ERR_LIMIT (no free slot: RFC 8336 §4 lets the client close
 *         the connection); MDR_ERR_INVALID_ARGUMENT (c NULL).
 * @ownership The origin is copied into a slot.
 * @threadsafety One thread at a time per client set; no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_client_add(mdr_origin_client *c, const char *origin, size_t len);

/**
 * An mdr_origin_entry_fn that adds to the mdr_origin_client passed as user.
 * @param client the mdr_origin_client
 * @param origin the origin
 * @param len    bytes of origin
 * @return as mdr_origin_client_add (0, MDR_ERR_LIMIT or MDR_ERR_INVALID_ARGUMENT).
 * @ownership As mdr_origin_client_add.
 * @threadsafety One thread at a time per client set; no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_client_add_cb(void *client, const char *origin, size_t len);

/**
 * Feed a received HTTP/2 frame (mdr_origin_h2_decode) into the set; a
 * processed ORIGIN frame activates the set and adds its entries.
 * @param c   the set
 * @param in  received bytes starting at a frame header
 * @param len bytes of in
 * @param res receives the details
 * @return as mdr_origin_h2_decode (MDR_ERR_LIMIT when the set is full;
 *         MDR_ERR_INVALID_ARGUMENT for a NULL c).
 * @ownership Entries are copied into the set.
 * @threadsafety One thread at a time per client set; no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_client_on_h2_frame(mdr_origin_client *c, const uint8_t *in,
                                                    size_t len, mdr_origin_result *res);

/**
 * As mdr_origin_client_on_h2_frame for HTTP/3 (MDR_ERR_DECODE = H3_FRAME_ERROR).
 * @param c   the set
 * @param in  bytes read from the server's control stream, starting at a frame
 * @param len bytes of in
 * @param res receives the details
 * @return as mdr_origin_h3_decode: 0, MDR_ERR_DECODE (close the connection
 *         with H3_FRAME_ERROR), MDR_ERR_LIMIT, MDR_ERR_INVALID_ARGUMENT.
 * @ownership Entries are copied into the set.
 * @threadsafety One thread at a time per client set; no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_client_on_h3_frame(mdr_origin_client *c, const uint8_t *in,
                                                    size_t len, mdr_origin_result *res);

/**
 * A 421 for a request to `origin` (canonical, e.g. from
 * mdr_origin_from_authority): remove it from the set; the connection is never
 * again used for it unless a later ORIGIN frame lists it.  Works before any
 * ORIGIN frame too.
 * @param c      the set
 * @param origin the canonical origin of the refused request
 * @param len    bytes of origin
 * @return 0; MDR_ERR_INVALID_ARGUMENT (not canonical); MDR_ERR_LIMIT (no slot
 *         to remember the refusal: do not reuse the connection for it).
 * @ownership The origin is copied when a slot remembers it.
 * @threadsafety One thread at a time per client set; no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_client_on_421(mdr_origin_client *c, const char *origin, size_t len);

/**
 * 1 if the origin is in the set (the initial origin counts unless refused).
 * @param c      the set
 * @param origin the origin
 * @param len    bytes of origin
 * @return 1 or 0 (also 0 for NULL arguments); it cannot fail.
 * @ownership Arguments are borrowed for the call.
 * @threadsafety One thread at a time per client set; no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_client_contains(const mdr_origin_client *c, const char *origin,
                                                 size_t len);

/** Certificate coverage callback: 1 if the connection's certificate covers `host`.  @since 0.1.0 */
typedef int (*mdr_origin_covers_fn)(void *user, const char *host, size_t host_len);

/** Names of a certificate, for mdr_origin_names_covers_cb.  @since 0.1.0 */
typedef struct mdr_origin_cert_names {
  const mdr_str *names;          /**< the certificate's names (borrowed) */
  size_t n;                      /**< entries in names */
} mdr_origin_cert_names;

/**
 * An mdr_origin_covers_fn over an mdr_origin_cert_names passed as user.
 * @param cert_names the mdr_origin_cert_names (NULL: 0)
 * @param host       the canonical host
 * @param host_len   bytes of host
 * @return as mdr_origin_names_cover: 1 or 0; it cannot fail.
 * @ownership Arguments are borrowed for the call.
 * @threadsafety Any thread (no state); no allocation.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN int mdr_origin_names_covers_cb(void *cert_names, const char *host,
                                                 size_t host_len);

/** Whether a client may send a request for an origin on a connection.  @since 0.1.0 */
typedef enum mdr_origin_reuse {
  MDR_ORIGIN_REUSE_NO = 0,       /**< do not send requests for this origin on the connection */
  MDR_ORIGIN_REUSE_YES = 1,      /**< in the origin set and covered by the certificate */
  MDR_ORIGIN_REUSE_IF_DNS = 2    /**< no ORIGIN frame yet: reuse only if DNS for the host
                                    includes the connection's address (RFC 9110 §4.3.3) */
} mdr_origin_reuse;

/**
 * May a request for `origin` (canonical) use this connection?  The
 * certificate must cover the origin's host (`covers`; NULL = not covered) in
 * every case; a canonical origin refused by a 421 is NO; the initial origin
 * is YES; after an ORIGIN frame an origin in the set is YES and any other NO;
 * before any ORIGIN frame any other origin is IF_DNS.
 * @param c      the set
 * @param origin the canonical origin of the request
 * @param len    bytes of origin
 * @param covers certificate coverage test (NULL = not covered)
 * @param user   passed to covers
 * @return the verdict; NO also for a NULL c, a non-canonical origin or no
 *         `covers` (it cannot fail).
 * @ownership Arguments are borrowed for the call.
 * @threadsafety One thread at a time per client set; covers runs on the
 *               calling thread.
 * @since 0.1.0
 */
MDR_ORIGIN_EXTERN mdr_origin_reuse mdr_origin_client_may_reuse(const mdr_origin_client *c,
                                                               const char *origin, size_t len,
                                                               mdr_origin_covers_fn covers,
                                                               void *user);

#ifdef __cplusplus
}
#endif

#endif /* MISDIRECT_ORIGIN_H */
