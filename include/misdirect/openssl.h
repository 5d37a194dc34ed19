/**
 * @file openssl.h
 * @brief misdirect-openssl — the OpenSSL adapter: SNI -> vhost -> SSL_CTX, a TLS
 * policy identity per vhost, sessions that never resume across policies, and
 * connection facts for mdr_decide that the adapter vouches for.
 *
 * Requires OpenSSL >= 1.1.1 (the ClientHello callback).  Link with
 * misdirect-openssl (CMake target misdirect::openssl, pkg-config
 * misdirect-openssl).  See docs/openssl.md for complete server examples.
 *
 * Two ways to use it
 * ------------------
 * 1. One call: build a context set (mdr_ossl_set_new), then
 *    mdr_ossl_install(set, initial_ctx) installs the adapter's ClientHello,
 *    servername and ALPN callbacks on the initial SSL_CTX and on every vhost
 *    SSL_CTX.  Create each connection's SSL from initial_ctx.
 * 2. Host-owned callbacks: a callback slot of an SSL_CTX holds one function.
 *    A server that already uses those slots calls mdr_ossl_client_hello,
 *    mdr_ossl_servername and mdr_ossl_alpn_select from its own callbacks
 *    (and must install its ClientHello, servername and ALPN callbacks on
 *    every vhost SSL_CTX too: OpenSSL takes them from the context switched
 *    to, including for the second ClientHello after HelloRetryRequest).
 *
 * Per-connection data lives in a private SSL ex_data index allocated once by
 * the adapter; index 0 (SSL_set_app_data) is never touched.  Its callbacks
 * are unregistered when the code holding the adapter is unloaded or the
 * process exits (see mdr_ossl_cleanup).
 *
 * Thread safety: a context set is built by one thread; once installed (or
 * first used by a handshake) it is read-only and may serve any number of
 * connections on any threads.  mdr_ossl_set_ref/unref are atomic.  Every
 * per-connection function may be called only by the thread driving that SSL.
 *
 * Since 0.1.0.
 */
#ifndef MISDIRECT_OPENSSL_H
#define MISDIRECT_OPENSSL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include <misdirect/misdirect.h>

/**
 * @def MDR_OSSL_EXTERN
 * Marks a function of misdirect-openssl's ABI (as MDR_EXTERN; define
 * MISDIRECT_OPENSSL_STATICLIB for static use).
 * @since 0.1.0
 */
#if defined(MISDIRECT_OPENSSL_STATICLIB)
#  define MDR_OSSL_EXTERN
#elif defined(_WIN32)
#  if defined(MISDIRECT_OPENSSL_BUILDING_LIBRARY)
#    define MDR_OSSL_EXTERN __declspec(dllexport)
#  else
#    define MDR_OSSL_EXTERN __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && defined(MISDIRECT_OPENSSL_BUILDING_LIBRARY)
#  define MDR_OSSL_EXTERN __attribute__((visibility("default")))
#else
#  define MDR_OSSL_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Bytes of a TLS policy identity (SHA-256); also the session id context.  @since 0.1.0 */
#define MDR_OSSL_POLICY_ID_LEN 32

/* ------------------------------------------------------------------------ */
/* Library state                                                             */
/* ------------------------------------------------------------------------ */

/**
 * Allocate the adapter's private SSL ex_data index (since 0.3.0 the only
 * one: session records live in the session's ticket app data) and register
 * the handler that unregisters it at unload or exit (see mdr_ossl_cleanup).
 * Once-guarded and thread-safe; every other function calls it as needed, so
 * calling it explicitly is optional.
 * @return 0; MDR_ERR_NOMEM when OpenSSL could not allocate the index;
 *         MDR_ERR_INVALID_ARGUMENT after mdr_ossl_cleanup (this copy of the
 *         adapter is finished; a new dlopen gets a fresh one).
 * @threadsafety Any thread (once-guarded).
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_init(void);

/**
 * Unregister the adapter from OpenSSL before its code goes away: release
 * its SSL ex_data index (CRYPTO_free_ex_index), which replaces the index's
 * free and dup callbacks (functions of this library, which OpenSSL calls
 * for every SSL freed or duplicated in the process) by OpenSSL's own
 * no-ops.  After it, the adapter in this copy of the library refuses to
 * start (mdr_ossl_init returns MDR_ERR_INVALID_ARGUMENT).
 *
 * Since 0.3.0 it also runs by itself: mdr_ossl_init registers it with
 * atexit(), which a dlopen()ed object (a server module linking the adapter
 * statically, or misdirect-openssl loaded by one) runs at its dlclose, and
 * a program at exit before OpenSSL's own clean-up.  Calling it explicitly
 * (e.g. from a module's unload hook) is allowed and idempotent.
 *
 * What the host must still do before unloading: free the set and stop
 * using every SSL_CTX the adapter was installed on for new handshakes
 * (their callbacks point into the library; freeing them is fine).  An SSL
 * the adapter handled that is still alive is safe to free afterwards, but
 * its adapter state (a few hundred bytes and a set reference) is then
 * leaked: free connections first when possible.
 * @errors None.
 * @threadsafety Not thread-safe: no other adapter call may run meanwhile.
 * @since 0.1.0
 */
MDR_OSSL_EXTERN void mdr_ossl_cleanup(void);

/* ------------------------------------------------------------------------ */
/* Certificates: names a PEM certificate covers                              */
/* ------------------------------------------------------------------------ */

/**
 * Scratch storage for mdr_ossl_cert_names.  Zero-initialise; release with
 * mdr_ossl_names_free.  Holds the names of the last certificate examined.
 * @since 0.1.0
 */
typedef struct mdr_ossl_names {
  char *buf;                     /**< storage (OpenSSL allocator); treat as opaque */
  size_t cap;                    /**< bytes of buf */
} mdr_ossl_names;

/**
 * Release the storage of an mdr_ossl_names and leave it empty (reusable).
 * @param n the scratch storage (NULL is fine)
 * @errors None.
 * @ownership Frees n->buf (not n itself); names reported from it become invalid.
 * @threadsafety One thread at a time per mdr_ossl_names.
 * @since 0.1.0
 */
MDR_OSSL_EXTERN void mdr_ossl_names_free(mdr_ossl_names *n);

/**
 * A `cert_names` callback for mdr_parse_options: loads the first certificate
 * of the PEM file `path` and reports its subjectAltName entries: DNS names
 * (lower-cased, as written, "*.x" wildcards kept) and IP addresses (IPv4 as
 * a dotted quad, IPv6 as a bracketed RFC 5952 literal).  The common name is
 * not used.  `user` must point to an mdr_ossl_names (the names point into
 * it until its next use).
 * @return 0; MDR_ERR_IO (unreadable file or no PEM certificate);
 *         MDR_ERR_CONFIG (no usable SAN entry, or more than `cap` names);
 *         MDR_ERR_NOMEM; MDR_ERR_INVALID_ARGUMENT.  `why` gets a
 *         NUL-terminated reason.
 * @param user    an mdr_ossl_names (scratch storage for the names)
 * @param path    the PEM file (NUL-terminated)
 * @param names   receives up to cap names
 * @param cap     entries available in names
 * @param n_names receives the number of names
 * @param why     receives a reason on failure (why_cap bytes)
 * @param why_cap bytes of why
 * @ownership The names point into the mdr_ossl_names `user` until its next
 *            use or mdr_ossl_names_free.
 * @threadsafety Any thread; one thread at a time per mdr_ossl_names.
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_cert_names(void *user, const char *path, mdr_str *names, size_t cap,
                                        size_t *n_names, char *why, size_t why_cap);

/**
 * A `ca_identity` callback for mdr_parse_options: loads every certificate of
 * the PEM file `path` and reports SHA-256 over their sorted SHA-256 DER
 * digests (32 bytes), so two ca-file= paths with the same certificates give
 * equal TLS policies and a changed file gives a different one.  `user` is
 * unused.
 * @param user    unused
 * @param path    the PEM file (NUL-terminated)
 * @param out     receives the identity
 * @param cap     bytes of out (at least 32)
 * @param out_len receives 32
 * @param why     receives a reason on failure (why_cap bytes)
 * @param why_cap bytes of why
 * @return 0; MDR_ERR_IO (unreadable file or no certificate in it);
 *         MDR_ERR_NOMEM; MDR_ERR_INVALID_ARGUMENT (cap < 32).
 * @ownership All buffers are the caller's; nothing is kept.
 * @threadsafety Any thread (no state).
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_ca_identity(void *user, const char *path, uint8_t *out, size_t cap,
                                         size_t *out_len, char *why, size_t why_cap);

/**
 * mdr_table_parse with `cert_names` = mdr_ossl_cert_names and `ca_identity`
 * = mdr_ossl_ca_identity, so `cert NAME
 * file=... key=...` learns its names from the certificate.  `base_dir` is the
 * folder of the vhosts file (len 0 = ".").  `mem` may be NULL.
 * @param text     the file's bytes
 * @param len      bytes of text
 * @param source   name used in error messages
 * @param base_dir folder relative file= and ca-file= paths are joined to
 * @param mem      allocator for the parse and the table, or NULL for libc
 *                 (so is an mdr_mem with a NULL function: see mdr_mem in
 *                 misdirect.h).  The certificate files are read with
 *                 OpenSSL's own allocator.
 * @param out      receives the table
 * @param err      filled for every failure (may be NULL)
 * @return as mdr_table_parse (0, MDR_ERR_CONFIG, MDR_ERR_IO, MDR_ERR_NOMEM,
 *         MDR_ERR_LIMIT, MDR_ERR_INVALID_ARGUMENT).
 * @ownership As mdr_table_parse: the caller owns the table's one reference.
 * @threadsafety As mdr_table_parse (self-contained; reads the certificate
 *               files on the calling thread).
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_table_parse(const char *text, size_t len, mdr_str source,
                                         mdr_str base_dir, const mdr_mem *mem, mdr_table **out,
                                         mdr_error *err);

/* ------------------------------------------------------------------------ */
/* TLS policy identity                                                       */
/* ------------------------------------------------------------------------ */

/**
 * The TLS policy identity of a server SSL_CTX, derived from what the
 * handshake enforces: verify mode and depth, the client CA names, the
 * SHA-256 digests of the trusted certificates in its X509_STORE (sorted, so
 * the order of a CA file does not matter), the protocol range, the cipher
 * lists (TLS 1.2 and TLS 1.3, in order) and the security level.  The
 * server's own certificate is not part of it.  Two contexts have equal
 * identities exactly when a client certificate and protocol acceptable to
 * one is acceptable to the other.  This is what the adapter uses as the
 * session id context, so a reload that changes a CA set changes it and old
 * sessions stop resuming.
 * @param ctx a server context (finish configuring it first)
 * @param out receives the 32-byte identity
 * @return 0, MDR_ERR_INVALID_ARGUMENT, MDR_ERR_NOMEM.
 * @ownership ctx is borrowed for the call (read only); out is caller-owned.
 * @threadsafety Any thread, as long as no thread modifies ctx meanwhile.
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_policy_identity(SSL_CTX *ctx, uint8_t out[MDR_OSSL_POLICY_ID_LEN]);

/* ------------------------------------------------------------------------ */
/* Context set: the SSL_CTXs of a TLS listener's vhosts                     */
/* ------------------------------------------------------------------------ */

/**
 * A context set: the SSL_CTXs of the vhosts of one TLS listener (one per
 * distinct certificate and TLS policy, shared by the vhosts that have
 * both in common), plus the table (opaque, reference-counted).
 * @since 0.1.0
 */
typedef struct mdr_ossl_set mdr_ossl_set;

/** ALPN handling (mdr_ossl_set_options.alpn).  @since 0.1.0 */
typedef enum mdr_ossl_alpn_mode {
  /** Default.  Negotiate among the handshake vhost's protocols (h2, http/1.1,
   * http/1.0 as protocols= allows); an offer with no overlap is refused with
   * a fatal no_application_protocol alert; no offer is allowed. */
  MDR_OSSL_ALPN_STRICT = 0,
  /** As strict, but an offer with no overlap continues without ALPN. */
  MDR_OSSL_ALPN_LENIENT,
  /** The adapter installs no ALPN callback (the host negotiates ALPN). */
  MDR_OSSL_ALPN_NONE
} mdr_ossl_alpn_mode;

/* Flags for mdr_ossl_set_options.flags. */
/** Flag for mdr_ossl_set_options.flags: load nothing from the table: every vhost's SSL_CTX comes from
 * mdr_ossl_set_use_ctx.  @since 0.1.0 */
#define MDR_OSSL_NO_LOAD 0x1u

/** Options for mdr_ossl_set_new.  Zero-initialise.  @since 0.1.0 */
typedef struct mdr_ossl_set_options {
  /** Folder that relative cert file=, key= and ca-file= paths are joined to
   * (the vhosts file's folder); len 0 = ".".  Absolute paths are kept. */
  mdr_str base_dir;
  mdr_ossl_alpn_mode alpn;       /**< ALPN handling */
  unsigned flags;                /**< MDR_OSSL_* */
  /** Optional: called for every SSL_CTX the adapter creates, after it loaded
   * the certificate and policy, so the host can add settings (ciphers,
   * groups, ...).  Settings made here are part of the policy identity.
   * Since 0.3.0 a context is shared by every vhost with the same cert
   * statement and TLS policy, so this runs once per context, with `vhost`
   * the first of them (in table order): a setting that must differ
   * between such vhosts needs its own context (mdr_ossl_set_use_ctx).
   * Return 0, or a negative MDR_ERR_* to fail mdr_ossl_set_new. */
  int (*configure)(void *user, SSL_CTX *ctx, const mdr_table *t, mdr_index vhost);
  void *configure_user;          /**< passed to configure as `user` */
  /** HTTP versions this server speaks (MDR_PROTO_* bits; 0 = all): ALPN
   * negotiates only those that both the server and the handshake vhost's
   * protocols= allow (e.g. MDR_PROTO_H1 for a server without HTTP/2). */
  unsigned protocols;
} mdr_ossl_set_options;

/**
 * Build a context set for the TLS listener `listener` of table `t` (the set
 * takes a table reference).  Unless MDR_OSSL_NO_LOAD is set, every vhost on
 * the listener whose cert has file= gets an SSL_CTX (TLS server method),
 * one per distinct (cert statement, TLS policy) and shared by the vhosts
 * with both in common (since 0.3.0; before, one per vhost), so start-up
 * time and memory grow with the number of certificates and policies, not
 * of vhosts (the handshake vhost still decides ALPN, the session record
 * and the connection facts).  A context holds the
 * certificate chain from file=, key from key= (checked against the
 * certificate), and the policy: client-auth=none -> SSL_VERIFY_NONE,
 * optional -> SSL_VERIFY_PEER, required -> SSL_VERIFY_PEER |
 * SSL_VERIFY_FAIL_IF_NO_PEER_CERT; ca-file= -> trust store and client CA
 * list; min-tls= -> minimum protocol version; renegotiation disabled.
 * Vhosts whose cert lists names without file= must get a context from
 * mdr_ossl_set_use_ctx before the set is installed or used.
 * @return 0; MDR_ERR_CONFIG (err names the vhost and file: unreadable
 *         certificate or key, key not matching, client-auth without
 *         ca-file, ...); MDR_ERR_WRONG_LISTENER (cleartext listener);
 *         MDR_ERR_NOT_FOUND (no such listener); MDR_ERR_NOMEM;
 *         MDR_ERR_INVALID_ARGUMENT.
 * @param out      receives the set
 * @param t        the table (the set takes its own reference)
 * @param listener statement name of the TLS listener
 * @param opts     options, or NULL (all defaults)
 * @param err      filled on failure (may be NULL)
 * @ownership The caller owns the set's one reference (mdr_ossl_set_unref).
 *            The set holds a reference on `t` and owns the SSL_CTXs it
 *            creates; `opts` is borrowed for the call.
 * @threadsafety Any thread; the new set is built (mdr_ossl_set_use_ctx) by
 *               one thread until it is installed or used.  `configure`
 *               runs on the calling thread.
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_set_new(mdr_ossl_set **out, mdr_table *t, mdr_str listener,
                                     const mdr_ossl_set_options *opts, mdr_error *err);

/**
 * Host-supplied context for vhost `v` (replaces any loaded one for `v`
 * only, not for the vhosts sharing it; the set takes a reference; the same
 * SSL_CTX given for several vhosts is held once).  The policy identity is derived from the context now
 * (mdr_ossl_policy_identity): finish configuring it first.  The adapter adds
 * SSL_OP_NO_RENEGOTIATION to it.  Must be called before the set is
 * installed or used by a handshake.
 * @param set the set
 * @param v   vhost index (a vhost on the set's listener)
 * @param ctx the vhost's server context
 * @return 0, MDR_ERR_INVALID_ARGUMENT (bad index, vhost not on the
 *         listener, NULL ctx), MDR_ERR_NOMEM.
 * @ownership The set takes its own reference on ctx (SSL_CTX_up_ref); the
 *            caller keeps its own.  The set modifies ctx (options).
 * @threadsafety The thread building the set, before it is installed or used.
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_set_use_ctx(mdr_ossl_set *set, mdr_index v, SSL_CTX *ctx);

/**
 * Take another reference (atomic).  Returns set.
 * @param set a set, or NULL (returned as is)
 * @return set; cannot fail.
 * @ownership The caller owns the new reference (mdr_ossl_set_unref).
 * @threadsafety Any thread (atomic).
 * @since 0.1.0
 */
MDR_OSSL_EXTERN mdr_ossl_set *mdr_ossl_set_ref(mdr_ossl_set *set);
/** Drop a reference; the last one frees the set, its contexts and its table
 * reference.  Connections keep the set alive while they exist.  NULL is fine.
 * @param set a set, or NULL
 * @errors None.
 * @ownership Gives up one reference; after the caller's last one, contexts
 *            and the table obtained from the set are valid only through
 *            references of their own.
 * @threadsafety Any thread (atomic).
 * @since 0.1.0
 */
MDR_OSSL_EXTERN void mdr_ossl_set_unref(mdr_ossl_set *set);

/**
 * The table of a set.
 * @param set the set
 * @return the table, or NULL for a NULL set (it cannot fail otherwise).
 * @ownership Borrowed: valid while the set is referenced (take
 *            mdr_table_ref to keep it longer).
 * @threadsafety Any thread.
 * @since 0.1.0
 */
MDR_OSSL_EXTERN const mdr_table *mdr_ossl_set_table(const mdr_ossl_set *set);
/**
 * The listener of a set.
 * @param set the set
 * @return the listener index, or MDR_NONE for a NULL set; cannot fail.
 * @ownership set is borrowed for the call.
 * @threadsafety Any thread.
 * @since 0.1.0
 */
MDR_OSSL_EXTERN mdr_index mdr_ossl_set_listener(const mdr_ossl_set *set);

/**
 * The SSL_CTX of vhost v (borrowed; NULL if none).  Vhosts with the same
 * cert statement and TLS policy share one context (since 0.3.0).
 * @param set the set
 * @param v   vhost index
 * @return the context, or NULL (no context, bad index, NULL set); it
 *         cannot fail otherwise.
 * @ownership Borrowed: valid while the set is referenced (SSL_CTX_up_ref
 *            to keep it longer).  Do not change it once the set is in use.
 * @threadsafety Any thread.
 * @since 0.1.0
 */
MDR_OSSL_EXTERN SSL_CTX *mdr_ossl_set_ctx(const mdr_ossl_set *set, mdr_index v);

/**
 * Number of distinct SSL_CTXs the set holds (loaded, and given with
 * mdr_ossl_set_use_ctx), e.g. to check that vhosts share them.
 * @param set the set, or NULL (0)
 * @return the count; cannot fail.
 * @ownership set is borrowed for the call.
 * @threadsafety Any thread (the set is read-only once in use).
 * @since 0.3.0
 */
MDR_OSSL_EXTERN size_t mdr_ossl_set_ctx_count(const mdr_ossl_set *set);

/**
 * The policy identity of vhost v's context.  MDR_ERR_NOT_FOUND if no context.
 * @param set the set
 * @param v   vhost index
 * @param out receives the 32-byte identity
 * @return 0; MDR_ERR_NOT_FOUND (no context, or v out of range);
 *         MDR_ERR_INVALID_ARGUMENT (set or out NULL).
 * @ownership out is caller-owned.
 * @threadsafety Any thread.
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_set_policy_id(const mdr_ossl_set *set, mdr_index v,
                                           uint8_t out[MDR_OSSL_POLICY_ID_LEN]);

/**
 * Check that every vhost on the listener has a context.
 * @param set the set
 * @param err filled on MDR_ERR_CONFIG (may be NULL)
 * @return 0, or MDR_ERR_CONFIG with err naming the first vhost without one;
 *         MDR_ERR_INVALID_ARGUMENT for a NULL set.
 * @ownership Arguments are borrowed for the call.
 * @threadsafety Any thread, concurrently with handshakes using the set (it
 *               is read-only once installed or used); no locks.
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_set_check(const mdr_ossl_set *set, mdr_error *err);

/**
 * One-call install.  On `initial` (the SSL_CTX the host creates connections
 * from; it owns the session cache and ticket keys) and on every vhost
 * context (OpenSSL takes the callbacks from the context switched to, also
 * for the second ClientHello after HelloRetryRequest): the ClientHello
 * callback, servername callback and (unless MDR_OSSL_ALPN_NONE) ALPN select
 * callback, and SSL_OP_NO_RENEGOTIATION.  Overwrites any callbacks in those
 * slots.
 * `initial` needs no certificate.  The callbacks hold no reference: keep the
 * set alive as long as `initial` is used (connections hold their own).
 * @param set     the set
 * @param initial the context connections are created from
 * @param err     filled on failure (may be NULL)
 * @return 0, MDR_ERR_CONFIG (mdr_ossl_set_check failed; err filled),
 *         MDR_ERR_NOMEM, MDR_ERR_INVALID_ARGUMENT.
 * @ownership The callbacks borrow the set without a reference: keep it
 *            alive while `initial` is used.  Each connection takes its own
 *            reference on the set.
 * @threadsafety By the thread that built the set, before any handshake
 *               uses `initial` or a vhost context; from then on the set is
 *               read-only and serves any number of connections on any
 *               threads.
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_install(mdr_ossl_set *set, SSL_CTX *initial, mdr_error *err);

/* ------------------------------------------------------------------------ */
/* Functions for host-owned callbacks                                        */
/* ------------------------------------------------------------------------ */

/**
 * The ClientHello step; call it from the host's SSL_CTX_set_client_hello_cb
 * callback and return what it returns (or handle ERROR your own way).
 * Reads the raw server_name extension, parses it strictly through the core
 * (malformed -> decode_error), runs mdr_handshake (unknown / invalid name ->
 * unrecognized_name or the default; no SNI -> the default or
 * missing_extension, as the listener says), switches to the vhost's SSL_CTX
 * and re-applies what SSL_set_SSL_CTX does not copy: verify mode, callback
 * and depth, verify parameters, client CA list and CA names, options (the
 * ticket option of the initial context is kept), protocol range, cipher
 * lists, security level; and sets the session id context to the vhost's
 * policy identity, before OpenSSL looks for a session to resume.
 * Idempotent: a second ClientHello (HelloRetryRequest, or a re-entered
 * suspended callback) keeps the first decision and must carry the same
 * server_name, else illegal_parameter.  A ClientHello after a completed
 * handshake (renegotiation) is refused with no_renegotiation.
 * No SNI on a `no-sni=reject` listener is refused by mdr_ossl_servername
 * (OpenSSL turns missing_extension into handshake_failure before the
 * version is negotiated): this step then returns SUCCESS without switching
 * and with a session id context no vhost has, so nothing resumes.
 * @param ssl the connection
 * @param al  receives the alert on SSL_CLIENT_HELLO_ERROR
 * @param set the context set
 * @return SSL_CLIENT_HELLO_SUCCESS, or SSL_CLIENT_HELLO_ERROR with *al set
 *         (internal_error for the adapter's own failures, e.g. memory).
 * @ownership The SSL's adapter data (in a private ex_data slot) takes a
 *            reference on `set`, released when the SSL is freed.
 * @threadsafety Only the thread driving this SSL (OpenSSL calls it there
 *               during the handshake).
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_client_hello(SSL *ssl, int *al, mdr_ossl_set *set);

/**
 * The servername step; call it from the host's servername callback on every
 * context (initial and vhost) and return what it returns.  Acknowledges a
 * name the ClientHello step matched (SSL_TLSEXT_ERR_OK, so OpenSSL stores it
 * in the session), NOACK for no SNI or an unknown name served by the
 * default, ALERT_FATAL for a refused one (missing_extension for no SNI on a
 * no-sni=reject listener; illegal_parameter when OpenSSL's own parse of the
 * final ClientHello names another server_name than the one judged).
 * Records in the new session which
 * vhost and policy created it (the session's ticket app data); on
 * a resumed session, refuses (handshake_failure) one whose recorded policy
 * differs from this connection's.  Without a prior ClientHello step
 * (mdr_ossl_client_hello not called): ALERT_FATAL, internal_error.
 * @param ssl the connection
 * @param al  receives the alert with SSL_TLSEXT_ERR_ALERT_FATAL
 * @return SSL_TLSEXT_ERR_OK, SSL_TLSEXT_ERR_NOACK or
 *         SSL_TLSEXT_ERR_ALERT_FATAL (*al set), as described above.
 * @ownership Stores the vhost and policy in the SSL's session (ticket app
 *            data), owned and freed by OpenSSL.
 * @threadsafety Only the thread driving this SSL (OpenSSL calls it there
 *               during the handshake).
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_servername(SSL *ssl, int *al);

/**
 * The ALPN step for SSL_CTX_set_alpn_select_cb, following the set's ALPN
 * mode for the handshake vhost.  Returns SSL_TLSEXT_ERR_OK with *out and *outlen
 * pointing into `in`, SSL_TLSEXT_ERR_ALERT_FATAL (no_application_protocol)
 * or SSL_TLSEXT_ERR_NOACK.
 * @param ssl    the connection
 * @param out    receives the chosen protocol (points into in)
 * @param outlen receives its length
 * @param in     the client's offer (wire format)
 * @param inlen  bytes of in
 * @return SSL_TLSEXT_ERR_OK; SSL_TLSEXT_ERR_NOACK (lenient mode without
 *         overlap, or MDR_OSSL_ALPN_NONE); SSL_TLSEXT_ERR_ALERT_FATAL (no
 *         overlap in strict mode, a malformed offer, or no ClientHello step).
 * @ownership *out points into `in` (OpenSSL's buffer).
 * @threadsafety Only the thread driving this SSL (OpenSSL calls it there
 *               during the handshake).
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_alpn_select(SSL *ssl, const unsigned char **out,
                                         unsigned char *outlen, const unsigned char *in,
                                         unsigned int inlen);

/**
 * Strict ALPN, pure: choose from the client's offer (`in`, wire format) the
 * first of h2, http/1.1, http/1.0 that `protocols` (MDR_PROTO_* bits, 0 =
 * all) allows and the client offered.
 * @param protocols MDR_PROTO_* bits (0 = all)
 * @param in        the offer (wire format; may be NULL when inlen is 0)
 * @param inlen     bytes of in
 * @param out       receives the chosen protocol (may be NULL)
 * @param outlen    receives its length (may be NULL)
 * @return 1 chosen (*out and *outlen point into in); 0 no overlap (refuse with
 *         no_application_protocol); -1 malformed offer.
 * @ownership *out points into `in`.
 * @threadsafety Any thread (pure function, no allocation).
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_alpn_choose(unsigned protocols, const unsigned char *in,
                                         unsigned int inlen, const unsigned char **out,
                                         unsigned char *outlen);

/* ------------------------------------------------------------------------ */
/* Connection facts                                                          */
/* ------------------------------------------------------------------------ */

/**
 * Fill the TLS connection facts of `c` from a server SSL the adapter
 * handled: listener, has_hs_vhost/hs_vhost (H), has_sni/sni (the
 * normalised name when valid; the raw bytes, at most 256, when invalid),
 * has_alpn/alpn (the negotiated protocol), resumed and
 * has_resumed_from/resumed_from (the vhost recorded in the session when it
 * was created; has_resumed_from 0 if not known), early_data (1 while
 * the handshake is not finished and early data was accepted: call this for
 * every request as it is read).  ech is MDR_ECH_NONE.  The origin set fields
 * are left as they were.  Strings point into the SSL and stay valid while
 * it lives.
 * @param ssl the connection
 * @param c   the connection facts to fill (caller-owned)
 * @return 0; MDR_ERR_NOT_FOUND when the adapter did not accept a ClientHello
 *         on this SSL; MDR_ERR_INVALID_ARGUMENT.
 * @ownership c->sni and c->alpn point into the SSL: valid while it lives.
 * @threadsafety Only the thread driving this SSL (OpenSSL calls it there
 *               during the handshake).
 * @since 0.1.0
 */
MDR_OSSL_EXTERN int mdr_ossl_conn_facts(SSL *ssl, mdr_conn *c);

/**
 * The handshake vhost of an SSL (MDR_NONE before/without the ClientHello step).
 * @param ssl the connection
 * @return the vhost index, or MDR_NONE; cannot fail.
 * @ownership ssl is borrowed for the call.
 * @threadsafety Only the thread driving this SSL (OpenSSL calls it there
 *               during the handshake).
 * @since 0.1.0
 */
MDR_OSSL_EXTERN mdr_index mdr_ossl_conn_vhost(const SSL *ssl);

/**
 * The core's handshake result for this SSL (reason, SNI): for an accepted
 * ClientHello (outcome MDR_HS_ACCEPT) and, since 0.2.0, also for one the
 * core refused (outcome MDR_HS_ALERT, e.g. reason sni-unknown), so the host
 * can log why a handshake failed (see mdr_explain_handshake).
 * @param ssl the connection
 * @return the result, or NULL when the core did not judge a ClientHello on
 *         this SSL (no ClientHello step, a malformed server_name extension
 *         refused with decode_error, an adapter failure, NULL ssl); it
 *         cannot fail otherwise.
 * @ownership Points into the SSL's adapter data: valid while the SSL lives.
 * @threadsafety Only the thread driving this SSL (OpenSSL calls it there
 *               during the handshake).
 * @since 0.1.0
 */
MDR_OSSL_EXTERN const mdr_handshake_result *mdr_ossl_conn_handshake(const SSL *ssl);

#ifdef __cplusplus
}
#endif

#endif /* MISDIRECT_OPENSSL_H */
