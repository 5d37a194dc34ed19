/**
 * @file misdirect.h
 * @brief misdirect — decide, per HTTP request, whether this connection may serve it
 * and by which virtual host, or whether the answer is 421, 400, 425, 501 or a
 * redirect.
 *
 * Public API of the core library (no dependencies): link `misdirect`
 * (CMake target misdirect::misdirect, pkg-config misdirect).
 *
 * Conventions used throughout this header
 * ---------------------------------------
 * - Strings are pointer + length (mdr_str).  NUL termination is never
 *   required; the pointer may be NULL when the length is 0.
 * - Functions return 0 on success or a negative MDR_ERR_* code.  An HTTP
 *   outcome (400, 421, ...) is NOT an error: it is a valid answer carried in
 *   an mdr_decision.
 * - Objects with a lifecycle (mdr_builder, mdr_table) are opaque.  Input and
 *   output structs are public; new fields are only ever appended.
 * - Thread safety: an mdr_builder is single-threaded.  A frozen mdr_table is
 *   immutable: any number of threads may call every const-taking function on
 *   it at once.  mdr_table_ref / mdr_table_unref use atomic reference counts
 *   and may be called from any thread.
 * - The handshake step (mdr_handshake) and the decision (mdr_decide) never
 *   allocate, lock or touch global state: they are safe inside TLS callbacks.
 * - Ownership: the caller owns everything it passes in; nothing a call
 *   returns is allocated for the caller.  An mdr_str taken from a table
 *   points into the table and is valid while the caller holds a reference
 *   to it.  No mdr_str is NUL-terminated unless its description says so.
 *
 * Since 0.1.0 unless noted.
 */
#ifndef MISDIRECT_MISDIRECT_H
#define MISDIRECT_MISDIRECT_H

#include <stddef.h>
#include <stdint.h>

#include <misdirect/version.h>

/**
 * @def MDR_EXTERN
 * Marks a function of the core library's ABI: default visibility while the
 * library is built, `__declspec(dllimport)` for Windows users, nothing for
 * static use (define MISDIRECT_STATICLIB when linking the static library).
 * @since 0.1.0
 */
#if defined(MISDIRECT_STATICLIB)
#  define MDR_EXTERN
#elif defined(_WIN32)
#  if defined(MISDIRECT_BUILDING_LIBRARY)
#    define MDR_EXTERN __declspec(dllexport)
#  else
#    define MDR_EXTERN __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && defined(MISDIRECT_BUILDING_LIBRARY)
#  define MDR_EXTERN __attribute__((visibility("default")))
#else
#  define MDR_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Basic types                                                               */
/* ------------------------------------------------------------------------ */

/**
 * A byte string: pointer + length; ptr may be NULL when len == 0.
 * Never NUL-terminated as far as the library is concerned: inputs need no
 * NUL, and outputs carry none unless their description says so.  An mdr_str
 * borrows its bytes: whoever filled it says how long they stay valid.
 * @since 0.1.0
 */
typedef struct mdr_str {
  const char *ptr;               /**< first byte; may be NULL when len == 0 */
  size_t len;                    /**< number of bytes */
} mdr_str;

/**
 * Build an mdr_str from a NUL-terminated literal or array (convenience).
 * An initializer: use it as `mdr_str s = MDR_STR_LIT("x");` or in a compound
 * literal `(mdr_str)MDR_STR_LIT("x")`.
 * @param s a string literal or char array (its last byte, the NUL, is left out)
 * @since 0.1.0
 */
#define MDR_STR_LIT(s) { (s), sizeof(s) - 1 }

/**
 * Index of a listener or vhost inside a frozen table.  0-based, meaningful
 * only for the table it came from.
 * @since 0.1.0
 */
typedef uint32_t mdr_index;
/** "No vhost" / "no listener".  @since 0.1.0 */
#define MDR_NONE ((mdr_index)0xffffffffu)

/**
 * Per-object allocator (nghttp2 style).  Passing NULL anywhere an mdr_mem is
 * accepted means the C library's malloc/realloc/free.  The functions receive
 * `user` unchanged.  `realloc` must behave like C realloc (NULL ptr = malloc).
 * The allocator must outlive every object created with it.
 *
 * The one rule for a partial mdr_mem, the same at every function that takes
 * one (mdr_builder_new, mdr_parse_options.mem for mdr_table_parse,
 * mdr_holder_new, and the adapters' mdr_ossl_table_parse,
 * mdr_ngh2_origins_compute and mdr_ngh2_server_submit_origin): an mdr_mem
 * with any of the three functions NULL, a zeroed one included, is ignored
 * as a whole and is the same as passing NULL.  The C library's three
 * functions are used, never a mix with the ones that are set, and none of
 * the mdr_mem's functions is ever called.  It is not an error (since 0.3.0
 * also in mdr_table_parse, which crashed before, and in the nghttp2 glue,
 * which returned MDR_ERR_INVALID_ARGUMENT).  A builder
 * calls it from one thread at a time.  A table calls it to free itself, in
 * the mdr_table_unref that drops the last reference, on that caller's
 * thread (so it must allow a free from another thread than the malloc),
 * and (since 0.2.0) for mdr_table_lint's temporary memory, on the threads
 * that call mdr_table_lint: an allocator shared by concurrent lints must be
 * thread-safe.  The decision path never calls it.
 * @since 0.1.0
 */
typedef struct mdr_mem {
  void *user;                                           /**< passed unchanged to the three functions */
  void *(*malloc)(size_t size, void *user);             /**< like C malloc */
  void *(*realloc)(void *ptr, size_t size, void *user); /**< like C realloc (NULL ptr = malloc) */
  void (*free)(void *ptr, void *user);                  /**< like C free */
} mdr_mem;

/* ------------------------------------------------------------------------ */
/* Error codes                                                               */
/* ------------------------------------------------------------------------ */

/**
 * Error codes (negative, reserved range -100 .. -199).  X(name, value, text).
 * The text is what mdr_strerror returns.  The one list from which
 * mdr_errcode, mdr_strerror and mdr_errname are generated; expand it with
 * your own X to build tables of your own.
 * @param X a macro taking (name, value, text)
 * @since 0.1.0
 */
#define MDR_ERROR_MAP(X)                                                     \
  X(INVALID_ARGUMENT, -101, "invalid argument")                             \
  X(NOMEM, -102, "out of memory")                                           \
  X(CONFIG, -103, "invalid configuration (see the mdr_error message)")      \
  X(NOT_FOUND, -104, "no such name in the table")                           \
  X(BUFFER_TOO_SMALL, -105, "output buffer too small")                      \
  X(DECODE, -106, "malformed input encoding")                               \
  X(LIMIT, -107, "a size limit was exceeded")                               \
  X(WRONG_LISTENER, -108, "operation does not apply to this listener kind")  \
  X(UNSUPPORTED, -109, "not supported by this build")                       \
  X(IO, -110, "file could not be read")

/**
 * Return codes: MDR_OK (0) or one MDR_ERR_* per MDR_ERROR_MAP entry.
 * Functions return them as int; nghttp2 glue functions may also pass
 * nghttp2's own codes through (-500 .. -999).  MDR_ERR_MIN_ only fixes the
 * range and is never returned.
 * @since 0.1.0
 */
typedef enum mdr_errcode {
  MDR_OK = 0,
#define MDR_X_(name, value, text) MDR_ERR_##name = value,
  MDR_ERROR_MAP(MDR_X_)
#undef MDR_X_
  MDR_ERR_MIN_ = -199
} mdr_errcode;

/**
 * Static text for an error code; a fixed string for unknown codes.
 * Never returns NULL; the string must not be freed.
 * @param code MDR_OK or an MDR_ERR_* code (any int is accepted)
 * @return the code's text from MDR_ERROR_MAP, "success" for 0, or
 *         "unknown error code"; never NULL, cannot fail.
 * @ownership Static storage: valid for the life of the program, never freed.
 * @threadsafety Any thread, any time (no state).
 * @since 0.1.0
 */
MDR_EXTERN const char *mdr_strerror(int code);

/**
 * Symbolic name for an error code ("MDR_ERR_NOMEM"); "MDR_ERR_UNKNOWN" otherwise.
 * @param code MDR_OK or an MDR_ERR_* code (any int is accepted)
 * @return "MDR_OK", "MDR_ERR_<name>" or "MDR_ERR_UNKNOWN"; never NULL,
 *         cannot fail.
 * @ownership Static storage: valid for the life of the program, never freed.
 * @threadsafety Any thread, any time (no state).
 * @since 0.1.0
 */
MDR_EXTERN const char *mdr_errname(int code);

/**
 * Details of a configuration error.  `message` is NUL-terminated and one
 * line.  From mdr_table_parse it reads "SOURCE:LINE: WHAT", e.g.
 * "vhosts:7: vhost 'b': unknown cert 'x'".  From the builder functions it is
 * just "WHAT" (the builder knows no source name) and `line` is the `line`
 * field of the statement concerned.  `token` is the offending token (may be
 * empty).  Caller-owned (usually on the stack).  The builder functions fill
 * it only when they return MDR_ERR_CONFIG; mdr_table_parse fills it for
 * every failure.
 * @since 0.1.0
 */
typedef struct mdr_error {
  int code;            /**< MDR_ERR_* */
  unsigned line;       /**< 1-based; 0 if unknown */
  char token[128];     /**< offending token, NUL-terminated, truncated if long */
  char message[512];   /**< full one-line message, NUL-terminated */
} mdr_error;

/**
 * Version string of the library in use ("0.1.0").
 * Compare with MDR_VERSION (the headers compiled against) to detect a
 * mismatched shared library.
 * @return the version, e.g. "0.2.0"; never NULL, cannot fail.
 * @ownership Static storage, never freed.
 * @threadsafety Any thread, any time.
 * @since 0.1.0
 */
MDR_EXTERN const char *mdr_version(void);
/**
 * Version as MDR_VERSION_NUM (0xMMmmpp).
 * @return the version number of the library in use; cannot fail.
 * @threadsafety Any thread, any time.
 * @since 0.1.0
 */
MDR_EXTERN unsigned mdr_version_num(void);

/* ------------------------------------------------------------------------ */
/* Configuration enums                                                        */
/* ------------------------------------------------------------------------ */

/**
 * A listener's unknown-host=: a request for a host no vhost on the listener
 * serves is refused (MDR_UNKNOWN_HOST_REJECT, 421 unknown-host; the default)
 * or served by the listener default (MDR_UNKNOWN_HOST_DEFAULT).
 * @since 0.1.0
 */
typedef enum mdr_unknown_host { MDR_UNKNOWN_HOST_REJECT = 0, MDR_UNKNOWN_HOST_DEFAULT } mdr_unknown_host;
/**
 * A TLS listener's unknown-sni=: an SNI naming no vhost (or an invalid one)
 * is refused with unrecognized_name (MDR_UNKNOWN_SNI_REJECT, the default) or
 * handed to the listener default (MDR_UNKNOWN_SNI_DEFAULT).
 * @since 0.1.0
 */
typedef enum mdr_unknown_sni { MDR_UNKNOWN_SNI_REJECT = 0, MDR_UNKNOWN_SNI_DEFAULT } mdr_unknown_sni;
/**
 * A TLS listener's no-sni=: a ClientHello without SNI gets the listener
 * default (MDR_NO_SNI_DEFAULT, the default) or a missing_extension alert
 * (MDR_NO_SNI_REJECT).
 * @since 0.1.0
 */
typedef enum mdr_no_sni { MDR_NO_SNI_DEFAULT = 0, MDR_NO_SNI_REJECT } mdr_no_sni;
/**
 * A TLS listener's sni-host=: how the request's vhost must relate to the
 * handshake's (docs/decision-rules.md, rule 7).
 * @since 0.1.0
 */
typedef enum mdr_sni_host {
  MDR_SNI_HOST_COMPATIBLE = 0, /**< serve if same vhost, or cert covers host and same TLS policy */
  MDR_SNI_HOST_STRICT,         /**< request vhost must be the handshake vhost */
  MDR_SNI_HOST_IGNORE          /**< no check: only behind a trusted TLS-terminating proxy */
} mdr_sni_host;
/**
 * A policy's client-auth=: no client certificate requested (NONE, the
 * default), requested (OPTIONAL) or required (REQUIRED).
 * @since 0.1.0
 */
typedef enum mdr_client_auth { MDR_CLIENT_AUTH_NONE = 0, MDR_CLIENT_AUTH_OPTIONAL, MDR_CLIENT_AUTH_REQUIRED } mdr_client_auth;
/** A policy's min-tls=: TLS 1.2 (the default) or TLS 1.3.  @since 0.1.0 */
typedef enum mdr_min_tls { MDR_TLS_1_2 = 0, MDR_TLS_1_3 } mdr_min_tls;
/**
 * A vhost's http=: cleartext requests are served (MDR_HTTP_SERVE, the
 * default) or redirected to the https origin (MDR_HTTP_REDIRECT).
 * @since 0.1.0
 */
typedef enum mdr_http_mode { MDR_HTTP_SERVE = 0, MDR_HTTP_REDIRECT } mdr_http_mode;

/** Bits for mdr_vhost_conf.protocols; 0 means "all".  This one: HTTP/1.x.  @since 0.1.0 */
#define MDR_PROTO_H1 0x1u
/** Protocol bit: HTTP/2.  @since 0.1.0 */
#define MDR_PROTO_H2 0x2u
/** Protocol bit: HTTP/3.  @since 0.1.0 */
#define MDR_PROTO_H3 0x4u
/** Every protocol bit.  @since 0.1.0 */
#define MDR_PROTO_ALL (MDR_PROTO_H1 | MDR_PROTO_H2 | MDR_PROTO_H3)

/* ------------------------------------------------------------------------ */
/* Builder (single-threaded)                                                  */
/* ------------------------------------------------------------------------ */

/**
 * Collects statements, then freezes them into a table (opaque).
 * Single-threaded: one thread at a time per builder; distinct builders are
 * independent.
 * @since 0.1.0
 */
typedef struct mdr_builder mdr_builder;
/**
 * A frozen, immutable, reference-counted vhost table (opaque).  Any number
 * of threads may use one table at once; see mdr_table_ref.
 * @since 0.1.0
 */
typedef struct mdr_table mdr_table;

/**
 * A `listener` statement.  Statement descriptions (this and the three
 * below): zero-initialise, then set fields: a zeroed field
 * means the contract's default.  Names are copied by the builder; the caller
 * keeps ownership of everything it passes.  `line` (optional) is the source
 * line reported in errors.
 * @since 0.1.0
 */
typedef struct mdr_listener_conf {
  mdr_str name;                  /**< statement name */
  int tls;                       /**< 1 = https listener, 0 = http */
  uint16_t port;                 /**< 1..65535 */
  mdr_str default_vhost;         /**< len 0 = none */
  const uint16_t *public_ports;  /**< may be NULL when n_public_ports == 0 */
  size_t n_public_ports;         /**< entries in public_ports */
  mdr_unknown_host unknown_host; /**< unknown-host= */
  mdr_unknown_sni unknown_sni;   /**< unknown-sni= (TLS only) */
  mdr_no_sni no_sni;             /**< no-sni= (TLS only) */
  mdr_sni_host sni_host;         /**< sni-host= (TLS only) */
  unsigned line;                 /**< source line for errors; 0 = none */
} mdr_listener_conf;

/** A `cert` statement (see mdr_listener_conf for the conventions).  @since 0.1.0 */
typedef struct mdr_cert_conf {
  mdr_str name;                  /**< statement name */
  const mdr_str *names;          /**< host names it covers: DNS, *.x, IPv4, [IPv6] */
  size_t n_names;                /**< entries in names */
  mdr_str file;                  /**< PEM paths as written; resolved by adapters */
  mdr_str key;                   /**< key= path as written (len 0 = none) */
  unsigned line;                 /**< source line for errors; 0 = none */
} mdr_cert_conf;

/** A `policy` statement (see mdr_listener_conf for the conventions).  @since 0.1.0 */
typedef struct mdr_policy_conf {
  mdr_str name;                  /**< statement name */
  mdr_client_auth client_auth;   /**< client-auth= */
  mdr_str ca_file;               /**< len 0 = no CA set */
  mdr_min_tls min_tls;           /**< min-tls= */
  /** Optional identity of the CA set's contents (e.g. a digest of the loaded
   * certificates, supplied by an adapter).  When given it is compared instead
   * of the ca_file path.  */
  const uint8_t *ca_identity;
  size_t ca_identity_len;        /**< bytes of ca_identity; 0 = none */
  unsigned line;                 /**< source line for errors; 0 = none */
} mdr_policy_conf;

/** A `vhost` statement (see mdr_listener_conf for the conventions).  @since 0.1.0 */
typedef struct mdr_vhost_conf {
  mdr_str name;                  /**< statement name */
  const mdr_str *listeners;      /**< listener names (at least one) */
  size_t n_listeners;            /**< entries in listeners */
  const mdr_str *names;          /**< first one is canonical; *.x wildcards allowed */
  size_t n_names;                /**< entries in names */
  const mdr_str *redirect_names; /**< concrete names only */
  size_t n_redirect_names;       /**< entries in redirect_names */
  mdr_str cert;                  /**< len 0 = none (error on a TLS listener) */
  mdr_str policy;                /**< len 0 = built-in "default" */
  mdr_http_mode http;            /**< http= */
  unsigned redirect_status;      /**< 0 = 308; else 301, 302, 307 or 308 */
  unsigned protocols;            /**< MDR_PROTO_* bits; 0 = all */
  int early_data;                /**< accept 0-RTT requests */
  unsigned line;                 /**< source line for errors; 0 = none */
} mdr_vhost_conf;

/**
 * Create a builder.  `mem` may be NULL (libc).  The table built from it uses
 * the same allocator.
 * @param out receives the builder (NULL on failure)
 * @param mem allocator, or NULL for libc (so is an mdr_mem with a NULL
 *            function: see mdr_mem); must outlive the builder and every
 *            table built from it
 * @return 0, MDR_ERR_INVALID_ARGUMENT (out NULL) or MDR_ERR_NOMEM.
 * @ownership The caller owns the new builder and frees it with
 *            mdr_builder_free; `mem` is borrowed (not copied).
 * @threadsafety Any thread; the new builder is then single-threaded.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_builder_new(mdr_builder **out, const mdr_mem *mem);

/**
 * Free a builder (NULL is fine).  Tables already built stay valid.
 * @param b the builder, or NULL
 * @errors None.
 * @ownership Frees b and everything it copied; tables built from it are
 *            independent of it.
 * @threadsafety Must not race with any other call on b.
 * @since 0.1.0
 */
MDR_EXTERN void mdr_builder_free(mdr_builder *b);

/**
 * Add a `listener` statement.  Each add function checks what it can see alone (syntax of names and
 * values, duplicates of the statement name) and returns MDR_ERR_CONFIG with
 * `err` filled (err may be NULL); cross references are checked by
 * mdr_builder_build.  MDR_ERR_NOMEM on allocation failure.  After an error the
 * builder is unchanged and may still be used.  MDR_ERR_INVALID_ARGUMENT for
 * NULL pointers with a non-zero count, enum values out of range or unknown
 * protocol bits; MDR_ERR_LIMIT when a vhost has more than 2^31 names.
 * @param b   the builder
 * @param c   the statement (zero-initialised, then set)
 * @param err filled on MDR_ERR_CONFIG (may be NULL); unspecified on other errors
 * @return 0; MDR_ERR_CONFIG; MDR_ERR_INVALID_ARGUMENT (b or c NULL, ...);
 *         MDR_ERR_NOMEM; MDR_ERR_LIMIT (vhosts only).
 * @ownership Every name, string and array in `c` is copied: the caller may
 *            free or reuse them when the call returns.
 * @threadsafety Single-threaded per builder.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_builder_add_listener(mdr_builder *b, const mdr_listener_conf *c, mdr_error *err);
/** Add a `cert` statement.  @copydetails mdr_builder_add_listener */
MDR_EXTERN int mdr_builder_add_cert(mdr_builder *b, const mdr_cert_conf *c, mdr_error *err);
/** Add a `policy` statement.  @copydetails mdr_builder_add_listener */
MDR_EXTERN int mdr_builder_add_policy(mdr_builder *b, const mdr_policy_conf *c, mdr_error *err);
/** Add a `vhost` statement.  @copydetails mdr_builder_add_listener */
MDR_EXTERN int mdr_builder_add_vhost(mdr_builder *b, const mdr_vhost_conf *c, mdr_error *err);

/**
 * Freeze the statements into an immutable table (reference count 1).
 * The builder may be freed afterwards or used to build again.
 * @param b   the builder (not modified)
 * @param out receives the table (NULL on failure)
 * @param err filled on MDR_ERR_CONFIG (may be NULL)
 * @return 0; MDR_ERR_CONFIG (err filled: unknown references, two vhosts
 *         claiming one name on a listener, missing default=, ...);
 *         MDR_ERR_NOMEM; MDR_ERR_INVALID_ARGUMENT; MDR_ERR_LIMIT (more
 *         than 2^30 vhosts or names, 2^22 listeners or 2^22 certificates).
 * @ownership The caller owns the one reference of the new table (release
 *            with mdr_table_unref); the table copies what it needs and does
 *            not refer to the builder.
 * @threadsafety Single-threaded per builder; the table it returns may be
 *               shared by any number of threads.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_builder_build(mdr_builder *b, mdr_table **out, mdr_error *err);

/* ------------------------------------------------------------------------ */
/* The vhosts file                                                            */
/* ------------------------------------------------------------------------ */

/**
 * Options for mdr_table_parse.  Zero-initialise.
 * The callbacks run on the thread calling mdr_table_parse, during the call.
 * @since 0.1.0
 */
typedef struct mdr_parse_options {
  const mdr_mem *mem;            /**< NULL = libc (so is a partial mdr_mem, see mdr_mem) */
  /**
   * Optional: called for every `cert` statement that has file= so an adapter
   * can load the certificate and report the names it covers (its SANs).
   * `path` is file= joined with base_dir (NUL-terminated).  The callback
   * fills up to `cap` names into `names` (each copied by the parser before
   * the callback's next call) and sets *n_names; it returns 0 or a negative
   * MDR_ERR_* and may write a reason into `why` (NUL-terminated, why_cap
   * bytes).  Without a callback, a cert with file= must list its names.
   */
  int (*cert_names)(void *user, const char *path, mdr_str *names, size_t cap, size_t *n_names,
                    char *why, size_t why_cap);
  void *cert_names_user;         /**< passed to cert_names as `user` */
  mdr_str base_dir;              /**< folder of the vhosts file; len 0 = "." */
  /**
   * Optional (since 0.1.0): called for every `policy` with ca-file= so an
   * adapter can report an identity of the CA set's CONTENTS (e.g. a digest
   * of the sorted certificate digests).  Policies are then equal when their
   * identities are, whatever the paths (docs/decision-rules.md, rule 7).  `path` is ca-file=
   * joined with base_dir.  Write up to `cap` (>= 64) bytes into `out`, set
   * *out_len; return 0 or a negative MDR_ERR_* with a reason in `why`.
   * Without a callback the ca-file= path as written stands for the set.
   */
  int (*ca_identity)(void *user, const char *path, uint8_t *out, size_t cap, size_t *out_len,
                     char *why, size_t why_cap);
  void *ca_identity_user;        /**< passed to ca_identity as `user` */
} mdr_parse_options;

/**
 * The largest vhosts file, in bytes, that the misdirect tool and the
 * example servers read: 256 MiB (a file of a million vhosts is well under
 * it).  It guards against reading a wrong file (a disk image, a log) into
 * memory.  mdr_table_parse itself has no such limit: it takes any length.
 * @since 0.3.0
 */
#define MDR_VHOSTS_FILE_MAX ((size_t)256 * 1024 * 1024)

/**
 * Parse a vhosts file held in memory (`text`, `len`; need not be
 * NUL-terminated) into a frozen table.  `source` names the text in error
 * messages (e.g. the file name).  `opts` may be NULL.
 * @return 0; MDR_ERR_CONFIG with err->message = "SOURCE:LINE: WHAT"
 *         naming the token; MDR_ERR_NOMEM; MDR_ERR_INVALID_ARGUMENT;
 *         MDR_ERR_LIMIT (a certificate with more than 65,536 names); or the
 *         MDR_ERR_* code a cert_names / ca_identity callback returned (e.g.
 *         MDR_ERR_IO; a value outside the MDR_ERR_* range becomes
 *         MDR_ERR_CONFIG).  err is filled for every failure.
 * @param text   the file's bytes (may be NULL when len is 0)
 * @param len    bytes of text
 * @param source name used in error messages
 * @param opts   options, or NULL (libc allocator, no callbacks, base_dir ".")
 * @param out    receives the table (NULL on failure)
 * @param err    filled for every failure (may be NULL)
 * @ownership `text`, `source` and `opts` are borrowed for the call only
 *            (the table copies what it keeps; the library never reads files
 *            itself).  The caller owns the one reference of the new table.
 *            Paths passed to the callbacks belong to the parser and are
 *            valid during the callback only.
 * @threadsafety Self-contained: several threads may each parse their own
 *               text at once, as far as their allocators and callbacks allow.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_table_parse(const char *text, size_t len, mdr_str source,
                               const mdr_parse_options *opts, mdr_table **out, mdr_error *err);

/* ------------------------------------------------------------------------ */
/* Frozen table                                                               */
/* ------------------------------------------------------------------------ */

/**
 * Take another reference (atomic).  Returns t.
 * @param t a table, or NULL (returned as is)
 * @return t; cannot fail.
 * @ownership The caller owns the new reference and releases it with
 *            mdr_table_unref.
 * @threadsafety Any thread, concurrently with any other call on t.
 * @since 0.1.0
 */
MDR_EXTERN mdr_table *mdr_table_ref(mdr_table *t);
/**
 * Drop a reference (atomic); the last one frees the table.  NULL is fine.
 * @param t a table, or NULL
 * @errors None.
 * @ownership Gives up one reference.  After the caller's last unref no
 *            pointer into the table (names, info structs, mdr_vhost_name,
 *            ...) is valid.  The last unref frees through the table's
 *            allocator on the calling thread.
 * @threadsafety Any thread, concurrently with any other call on t.
 * @since 0.1.0
 */
MDR_EXTERN void mdr_table_unref(mdr_table *t);

/**
 * Number of listeners; valid listener indexes are 0 .. count - 1.
 * @param t the table (NULL gives 0)
 * @return the count; cannot fail.
 * @ownership t is borrowed for the call.
 * @threadsafety Any number of threads on one table; no allocation, no locks.
 * @since 0.1.0
 */
MDR_EXTERN size_t mdr_table_listener_count(const mdr_table *t);
/**
 * Number of vhosts; valid vhost indexes are 0 .. count - 1.
 * @param t the table (NULL gives 0)
 * @return the count; cannot fail.
 * @ownership t is borrowed for the call.
 * @threadsafety Any number of threads on one table; no allocation, no locks.
 * @since 0.1.0
 */
MDR_EXTERN size_t mdr_table_vhost_count(const mdr_table *t);
/**
 * Find a listener by statement name, in expected constant time (a hash of
 * the statement names is built with the table; 0.1.0-0.2.0 searched
 * linearly).  Names compare exactly.
 * @param t    the table
 * @param name statement name (not a host name)
 * @param out  receives the index
 * @return 0; MDR_ERR_NOT_FOUND (and *out = MDR_NONE);
 *         MDR_ERR_INVALID_ARGUMENT (t or out NULL, or name.ptr NULL with
 *         name.len > 0; *out = MDR_NONE when out is not NULL).
 * @ownership `name` is borrowed for the call.
 * @threadsafety Any number of threads on one table; no allocation, no locks.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_table_find_listener(const mdr_table *t, mdr_str name, mdr_index *out);
/** Find a vhost by statement name.  @copydetails mdr_table_find_listener */
MDR_EXTERN int mdr_table_find_vhost(const mdr_table *t, mdr_str name, mdr_index *out);

/**
 * Read-only view of a listener (pointers into the table).
 * Filled by mdr_table_listener_info; valid while the table is referenced.
 * @since 0.1.0
 */
typedef struct mdr_listener_info {
  mdr_str name;                  /**< statement name */
  int tls;                       /**< 1 = https, 0 = http */
  uint16_t port;                 /**< port= */
  uint16_t public_port;          /**< first public-ports= entry, else port */
  mdr_index default_vhost;       /**< MDR_NONE if none */
  mdr_unknown_host unknown_host; /**< unknown-host= */
  mdr_unknown_sni unknown_sni;   /**< unknown-sni= */
  mdr_no_sni no_sni;             /**< no-sni= */
  mdr_sni_host sni_host;         /**< sni-host= */
  unsigned line;                 /**< source line of the statement (mdr_table_parse, or mdr_listener_conf.line); 0 if unknown.  @since 0.3.0 */
} mdr_listener_info;

/**
 * Read-only view of a vhost (pointers into the table).
 * Filled by mdr_table_vhost_info; valid while the table is referenced.
 * @since 0.1.0
 */
typedef struct mdr_vhost_info {
  mdr_str name;                  /**< statement name */
  mdr_str canonical;             /**< first name */
  mdr_str cert;                  /**< cert statement name; len 0 if none */
  /** The cert statement's file= (cert_file) and key= (cert_key), as written in the file (len 0 if none). */
  mdr_str cert_file, cert_key;   /**< as written in the file (len 0 if none) */
  mdr_str policy;                /**< policy statement name ("default" if none) */
  mdr_client_auth client_auth;   /**< the policy's client-auth= */
  mdr_str ca_file;               /**< the policy's ca-file= (len 0 if none) */
  mdr_min_tls min_tls;           /**< the policy's min-tls= */
  uint32_t policy_class;         /**< equal iff the TLS policies are equal */
  mdr_http_mode http;            /**< http= */
  unsigned redirect_status;      /**< redirect status (301, 302, 307 or 308) */
  unsigned protocols;            /**< MDR_PROTO_* bits */
  int early_data;                /**< 1 if 0-RTT requests are accepted */
  unsigned line;                 /**< source line of the statement (mdr_table_parse, or mdr_vhost_conf.line); 0 if unknown.  @since 0.3.0 */
} mdr_vhost_info;

/**
 * Fill a read-only view of listener l.
 * @param t   the table
 * @param l   listener index
 * @param out receives the view
 * @return 0, or MDR_ERR_INVALID_ARGUMENT (bad index, NULL).
 * @ownership `*out` is caller-owned; its mdr_str fields point into the
 *            table and are valid while the caller holds a reference.
 * @threadsafety Any number of threads on one table; no allocation, no locks.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_table_listener_info(const mdr_table *t, mdr_index l, mdr_listener_info *out);
/**
 * Fill a read-only view of vhost v.
 * @param t   the table
 * @param v   vhost index
 * @param out receives the view
 * @return 0, or MDR_ERR_INVALID_ARGUMENT (bad index, NULL).
 * @ownership `*out` is caller-owned; its mdr_str fields point into the
 *            table and are valid while the caller holds a reference.
 * @threadsafety Any number of threads on one table; no allocation, no locks.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_table_vhost_info(const mdr_table *t, mdr_index v, mdr_vhost_info *out);

/**
 * The i-th configured name of vhost v (names= first, then redirect-names=),
 * as normalised in the table (wildcards keep their leading "*.").  *is_alias
 * (may be NULL) is set to 1 for redirect names.
 * @param t        the table
 * @param v        vhost index
 * @param i        0-based name number; loop until MDR_ERR_NOT_FOUND
 * @param name     receives the name
 * @param is_alias receives 1 for a redirect name, else 0 (may be NULL)
 * @return 0; MDR_ERR_NOT_FOUND when i is past the last name;
 *         MDR_ERR_INVALID_ARGUMENT for a bad table or vhost.
 * @ownership `*name` points into the table (valid while referenced).
 * @threadsafety Any number of threads on one table; no allocation, no locks.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_table_vhost_name_at(const mdr_table *t, mdr_index v, size_t i, mdr_str *name,
                                       int *is_alias);

/**
 * Does vhost v's certificate (its cert= statement's names) cover `host`
 * (normalised like a Host value; exact name, single-label wildcard or IP)?
 * @param t    the table
 * @param v    vhost index
 * @param host the host (no port, blanks not trimmed)
 * @return 1 or 0; 0 also for an invalid host, a host with a port, or a
 *         vhost without cert=, a NULL table or a bad index: it cannot fail.
 * @ownership `host` is borrowed for the call.
 * @threadsafety Any number of threads on one table; no allocation, no locks.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_table_cert_covers(const mdr_table *t, mdr_index v, mdr_str host);

/**
 * 1 if vhost v listens on listener l, else 0.
 * @param t the table
 * @param v vhost index
 * @param l listener index
 * @return 1 or 0 (also 0 for a NULL table or a bad index); cannot fail.
 * @ownership t is borrowed for the call.
 * @threadsafety Any number of threads on one table; no allocation, no locks.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_vhost_on_listener(const mdr_table *t, mdr_index v, mdr_index l);

/* ------------------------------------------------------------------------ */
/* Reasons                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * Every decision and handshake outcome carries one reason.
 * X(ENUM, "token", "one-line explanation with the likely cause and fix").
 * Tokens are stable; explanations may be reworded.  The one list from
 * which mdr_reason, mdr_reason_token and mdr_reason_text are generated;
 * docs/decision-rules.md gives the rule behind each reason.
 * @param X a macro taking (ENUM, token, text)
 * @since 0.1.0
 */
#define MDR_REASON_MAP(X)                                                                        \
  /* serve */                                                                                    \
  X(SERVE_HANDSHAKE_VHOST, "serve", "the request names the vhost the TLS handshake selected (or any vhost on a cleartext listener); nothing to fix") \
  X(SERVE_COALESCED, "serve-coalesced", "the request names a sibling vhost whose name the connection's certificate covers and whose TLS policy equals the handshake's (HTTP/2 connection reuse); nothing to fix") \
  X(SERVE_DEFAULT, "serve-default", "no configured vhost names this host, and the listener's unknown-host=default sent it to the default vhost") \
  X(SERVE_UNCHECKED, "serve-unchecked", "served without comparing SNI and Host because the listener has sni-host=ignore; only safe behind a trusted TLS-terminating proxy") \
  /* redirects */                                                                                \
  X(REDIRECT_ALIAS, "redirect-alias", "the host is a redirect alias; the client is sent to the vhost's canonical name") \
  X(REDIRECT_HTTPS, "redirect-https", "the vhost has http=redirect, so cleartext requests are sent to its https origin") \
  /* 400: request target */                                                                      \
  X(TARGET_BAD_BYTE, "target-bad-byte", "the request-target holds a byte outside 0x21-0x7e or a '#'; the client or an intermediary sent a malformed request line") \
  X(TARGET_EMPTY, "target-empty", "the request-target (or :path) is empty; fix the client") \
  X(TARGET_FORM, "target-form", "the request-target is neither origin-form, absolute-form nor '*'; fix the client") \
  X(TARGET_ASTERISK, "target-asterisk", "the asterisk-form target '*' is only allowed with OPTIONS") \
  X(TARGET_PATH_FORM, "target-path-form", "an HTTP/2 or HTTP/3 :path must start with '/' or be '*'; fix the client") \
  X(TARGET_MISSING_PATH, "target-missing-path", "an HTTP/2 or HTTP/3 request other than CONNECT has no :path; fix the client") \
  X(SCHEME_MISSING, "scheme-missing", "the HTTP/2 or HTTP/3 request has no (or an empty) :scheme; fix the client or proxy") \
  X(SCHEME_SYNTAX, "scheme-syntax", "the scheme is not a valid URI scheme name; fix the client") \
  /* 400: Host / :authority presence */                                                           \
  X(HOST_MISSING, "host-missing", "an HTTP/1.1 request must carry exactly one Host header (HTTP/1.0 without Host needs unknown-host=default); fix the client") \
  X(HOST_MULTIPLE, "host-multiple", "the request carries more than one Host header, which is never valid; an intermediary may have added one") \
  X(AUTHORITY_MULTIPLE, "authority-multiple", "the request carries more than one :authority; fix the client") \
  X(AUTHORITY_EMPTY, "authority-empty", "the :authority pseudo-header is empty; fix the client") \
  X(AUTHORITY_MISSING, "authority-missing", "the HTTP/2 or HTTP/3 request has neither :authority nor Host; fix the client") \
  X(HOST_MISMATCH, "host-mismatch", "the Host header names a different host or port than the request-target or :authority; a proxy may have rewritten one of them") \
  /* 400: authority syntax */                                                                      \
  X(HOST_EMPTY, "host-empty", "the host is empty; fix the client") \
  X(HOST_BAD_CHAR, "host-bad-char", "the host holds a byte not allowed in a host name (space, comma, '/', control, ...); the value is malformed") \
  X(HOST_NON_ASCII, "host-non-ascii", "the host holds non-ASCII bytes; internationalised names must be sent as A-labels (xn--...)") \
  X(HOST_PERCENT, "host-percent", "the host is percent-encoded; send the plain name") \
  X(HOST_USERINFO, "host-userinfo", "the authority carries userinfo ('user@'), which HTTP forbids") \
  X(HOST_LABEL_EMPTY, "host-label-empty", "the host name has an empty label (leading dot, '..' or more than one trailing dot)") \
  X(HOST_LABEL_LONG, "host-label-long", "a label of the host name is longer than 63 bytes") \
  X(HOST_LABEL_HYPHEN, "host-label-hyphen", "a label of the host name starts or ends with '-'") \
  X(HOST_NAME_LONG, "host-name-long", "the host name is longer than 253 bytes") \
  X(HOST_NUMERIC, "host-numeric", "the host looks like an IPv4 address (numeric or 0x last label) but is not a dotted quad without leading zeros") \
  X(HOST_IPV6, "host-ipv6", "the bracketed IPv6 literal is malformed (or unbracketed)") \
  X(HOST_IPV6_ZONE, "host-ipv6-zone", "the IPv6 literal carries a zone id, which is never valid in HTTP") \
  X(HOST_IPVFUTURE, "host-ipvfuture", "IPvFuture literals ([v1.x]) are not supported") \
  X(PORT_SYNTAX, "port-syntax", "the port holds something other than digits") \
  X(PORT_RANGE, "port-range", "the port is outside 1-65535") \
  /* 421 */                                                                                       \
  X(SCHEME_UNSUPPORTED, "scheme-unsupported", "the request names a scheme other than http or https; this server is an origin for http and https only") \
  X(ALPN_NOT_HTTP, "alpn-not-http", "the TLS connection negotiated an ALPN protocol that is not HTTP (e.g. acme-tls/1 or h2c); HTTP requests are refused on it") \
  X(ECH_REJECTED, "ech-rejected", "Encrypted ClientHello was rejected, so the connection only authenticates the public name; the client must retry with the retry configs") \
  X(RESUMED_CROSS_POLICY, "resumed-cross-policy", "the TLS session was resumed from a vhost whose TLS policy differs from the handshake vhost's; open a fresh connection") \
  X(SCHEME_HTTPS_ON_CLEARTEXT, "https-on-cleartext", "an https request arrived on a cleartext listener; a proxy or load balancer probably terminated TLS and forwarded to the http port") \
  X(SCHEME_HTTP_ON_TLS, "http-on-tls", "an http request arrived on a TLS listener; opportunistic http over TLS (RFC 8164) is not supported, send it to the cleartext port") \
  X(WRONG_PORT, "wrong-port", "the authority names a port this listener does not serve; fix the link, or declare the port mapping with public-ports=") \
  X(UNKNOWN_HOST, "unknown-host", "no vhost on this listener serves this host; a CDN, load balancer or DNS record sends it to the wrong server, or the vhost is missing from the configuration") \
  X(PROTOCOL_DISABLED, "protocol-disabled", "the vhost disables this HTTP version (protocols=); the client reused a connection of another protocol, and a fresh connection will work") \
  X(CERT_NOT_COVERING, "cert-not-covering", "the connection's certificate (chosen by SNI) does not cover the requested host; a proxy that does not forward SNI, or a client reusing a connection for another origin, causes this - enable SNI forwarding") \
  X(POLICY_MISMATCH, "policy-mismatch", "SNI selected a vhost whose TLS policy differs from the requested vhost's (e.g. its client-certificate requirement); a proxy that does not forward SNI, or HTTP/2 connection reuse, causes this - enable SNI forwarding") \
  X(SNI_HOST_STRICT, "sni-host-strict", "the listener has sni-host=strict and the request names a different vhost than SNI did; the client must open a connection with SNI for this host") \
  X(NOT_IN_ORIGIN_SET, "not-in-origin-set", "the request's origin is neither in the ORIGIN frame the server sent nor the connection's initial origin, on a sni-host=ignore listener where that frame is the only bound; the client must not reuse this connection for it") \
  X(DEFAULT_NOT_HANDSHAKE, "default-not-handshake", "the request names no host and the listener default is not the vhost the TLS handshake selected; send a Host header") \
  X(REDIRECT_ONLY_CLEARTEXT, "redirect-only-cleartext", "the vhost has http=redirect and serves nothing in cleartext, but this request (OPTIONS * or CONNECT) cannot be redirected; use https") \
  /* 425 */                                                                                       \
  X(EARLY_DATA, "early-data", "the request arrived as TLS 0-RTT early data and the vhost does not accept early-data; the client retries after the handshake") \
  /* 501 */                                                                                       \
  X(CONNECT, "connect", "CONNECT (a proxy tunnel) was sent to an origin server; configure the client's proxy correctly") \
  /* handshake step */                                                                            \
  X(SNI_MATCH, "sni-match", "the SNI names a configured vhost") \
  X(SNI_NONE_DEFAULT, "sni-none-default", "the client sent no SNI; the listener default vhost's certificate is used") \
  X(SNI_UNKNOWN_DEFAULT, "sni-unknown-default", "the SNI names no configured vhost (or is invalid); unknown-sni=default uses the listener default") \
  X(SNI_UNKNOWN, "sni-unknown", "the SNI names no vhost on this listener; fix the client's or proxy's server name, or add the name to a vhost") \
  X(SNI_INVALID, "sni-invalid", "the SNI is not a valid host name (IP literal, empty, NUL, too long or bad syntax); clients must send a DNS name") \
  X(SNI_MISSING, "sni-missing", "the client sent no SNI and the listener has no-sni=reject; a proxy that does not forward SNI causes this - enable SNI forwarding")

/**
 * Why a decision or handshake step came out as it did: MDR_REASON_<ENUM>
 * for every MDR_REASON_MAP entry, in its order.  MDR_REASON_COUNT_ is the
 * number of reasons, not a reason.
 * @since 0.1.0
 */
typedef enum mdr_reason {
#define MDR_X_(e, tok, text) MDR_REASON_##e,
  MDR_REASON_MAP(MDR_X_)
#undef MDR_X_
  MDR_REASON_COUNT_
} mdr_reason;

/**
 * Stable token ("policy-mismatch"); "unknown" for out-of-range values.
 * @param r a reason
 * @return the token; never NULL, cannot fail.
 * @ownership Static storage, never freed.
 * @threadsafety Any thread, any time (no state).
 * @since 0.1.0
 */
MDR_EXTERN const char *mdr_reason_token(mdr_reason r);
/**
 * One-line explanation with the likely cause and fix. Never NULL.
 * For a text naming the hosts and vhosts involved use mdr_decision_explain.
 * @param r a reason
 * @return the text, or "unknown reason" for out-of-range values; cannot fail.
 * @ownership Static storage, never freed.
 * @threadsafety Any thread, any time (no state).
 * @since 0.1.0
 */
MDR_EXTERN const char *mdr_reason_text(mdr_reason r);
/**
 * Reverse lookup of a token; MDR_ERR_NOT_FOUND if unknown.
 * Exact and case-sensitive.
 * @param token the token
 * @param out   receives the reason (may be NULL: only test the token)
 * @return 0, or MDR_ERR_NOT_FOUND for an unknown token.
 * @ownership `token` is borrowed for the call.
 * @threadsafety Any thread, any time (no state).
 * @since 0.1.0
 */
MDR_EXTERN int mdr_reason_from_token(mdr_str token, mdr_reason *out);

/* ------------------------------------------------------------------------ */
/* Host normaliser (shared by SNI, Host, :authority and targets)             */
/* ------------------------------------------------------------------------ */

/** What a normalised host is: a DNS name, an IPv4 or an IPv6 address.  @since 0.1.0 */
typedef enum mdr_host_kind { MDR_HOST_NAME = 0, MDR_HOST_IPV4, MDR_HOST_IPV6 } mdr_host_kind;

/** Longest normalised host: 253 (name) or "[" + 45 + "]".  @since 0.1.0 */
#define MDR_HOST_MAX 253

/**
 * A normalised authority: lower-case host, no trailing dot, canonical IPv6.
 * Self-contained (the host is stored in the struct).
 * @since 0.1.0
 */
typedef struct mdr_authority {
  char host[MDR_HOST_MAX + 1];   /**< NUL-terminated; IPv6 includes brackets */
  size_t host_len;               /**< bytes of host, without the NUL */
  mdr_host_kind kind;            /**< name, IPv4 or IPv6 */
  uint16_t port;                 /**< 0 = absent or empty (scheme default) */
} mdr_authority;

/**
 * Normalise an authority (host[:port]) as docs/decision-rules.md rule 2 says.  `trim_ows`
 * strips leading/trailing SP/HTAB first (for Host field values).
 * On a valid value *valid_out = 1, *out is filled and *reason_out is
 * unspecified; on an invalid one *valid_out = 0 and *reason_out is the 400
 * reason.  valid_out and reason_out may be NULL.  Never allocates.
 * An invalid value is not an error (the call returns 0).
 * @param p          the value (need not be NUL-terminated)
 * @param len        bytes of p
 * @param trim_ows   1 to strip leading/trailing SP and HTAB first
 * @param out        receives the normalised authority when valid
 * @param valid_out  receives 1 (valid) or 0 (invalid); may be NULL
 * @param reason_out receives the 400 reason when invalid; may be NULL
 * @return 0, or MDR_ERR_INVALID_ARGUMENT (out NULL, or p NULL with len > 0).
 * @ownership `p` is borrowed for the call; `*out` is caller-owned and
 *            self-contained.
 * @threadsafety Any thread; no allocation, no locks, no global state.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_authority_parse(const char *p, size_t len, int trim_ows, mdr_authority *out,
                                   int *valid_out, mdr_reason *reason_out);

/**
 * Parse the body of a TLS server_name extension (RFC 6066 §3) strictly:
 * list length, exactly one entry of type host_name, 1..65535-byte name
 * fitting exactly.  The name is returned as a pointer into `ext`; whether it
 * is acceptable (length, NUL, syntax) is the handshake step's job.
 * @param ext      the extension body (extension_data of server_name)
 * @param len      bytes of ext
 * @param name_out receives the host_name
 * @return 0, or MDR_ERR_DECODE for a malformed extension (send decode_error),
 *         or MDR_ERR_INVALID_ARGUMENT (name_out NULL, ext NULL with len > 0).
 * @ownership `*name_out` points into `ext`: valid as long as ext is.
 * @threadsafety Any thread; no allocation, no locks, no global state.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_sni_extension_parse(const uint8_t *ext, size_t len, mdr_str *name_out);

/* ------------------------------------------------------------------------ */
/* Handshake step                                                             */
/* ------------------------------------------------------------------------ */

/**
 * Result of the handshake step: continue with a handshake vhost
 * (MDR_HS_ACCEPT) or send a fatal alert (MDR_HS_ALERT).
 * @since 0.1.0
 */
typedef enum mdr_hs_outcome { MDR_HS_ACCEPT = 0, MDR_HS_ALERT } mdr_hs_outcome;

/** TLS alert numbers used by the handshake step.  This one: unrecognized_name (112).  @since 0.1.0 */
#define MDR_ALERT_UNRECOGNIZED_NAME 112
/** TLS alert missing_extension (109): no SNI on a no-sni=reject listener.  @since 0.1.0 */
#define MDR_ALERT_MISSING_EXTENSION 109
/** TLS alert no_application_protocol (120): no ALPN overlap.  @since 0.1.0 */
#define MDR_ALERT_NO_APPLICATION_PROTOCOL 120
/** TLS alert decode_error (50): a malformed server_name extension.  @since 0.1.0 */
#define MDR_ALERT_DECODE_ERROR 50

/**
 * What the handshake step decided.  Caller-owned and self-contained (the
 * normalised SNI is stored in it).
 * @since 0.1.0
 */
typedef struct mdr_handshake_result {
  mdr_hs_outcome outcome;        /**< accept or alert */
  unsigned alert;                /**< MDR_ALERT_* when outcome == MDR_HS_ALERT */
  mdr_index vhost;               /**< handshake vhost H when accepted */
  mdr_reason reason;             /**< why (MDR_REASON_SNI_*) */
  int sni_valid;                 /**< SNI present and a valid name */
  char sni[MDR_HOST_MAX + 1];    /**< normalised SNI when sni_valid */
  size_t sni_len;                /**< bytes of sni, without the NUL */
  uint32_t match;                /**< where in the table the SNI matched a name, exact or wildcard (opaque; 0 = it did not): pass it on as mdr_conn.hs_match.  @since 0.3.0 */
} mdr_handshake_result;

/**
 * The handshake step: SNI bytes -> handshake vhost or a fatal alert.
 * `has_sni` = 0 means the ClientHello had no server_name extension; an empty
 * name with has_sni = 1 is an (invalid) empty name.  No allocation.
 * An alert is a valid outcome, not an error: see out->outcome.
 * @param t        the table
 * @param listener index of the TLS listener the connection arrived on
 * @param has_sni  1 if the ClientHello had a server_name extension
 * @param sni      the host_name bytes as sent (need not be NUL-terminated)
 * @param sni_len  bytes of sni
 * @param out      receives the outcome
 * @return 0, or MDR_ERR_INVALID_ARGUMENT (t or out NULL, sni NULL with
 *         sni_len > 0, listener out of range) / MDR_ERR_WRONG_LISTENER
 *         (cleartext).
 * @ownership `sni` is borrowed for the call; `*out` is caller-owned and
 *            holds its own copy of the normalised SNI.
 * @threadsafety Any number of threads on one table; never allocates, locks
 *               or touches global state: safe inside TLS callbacks.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_handshake(const mdr_table *t, mdr_index listener, int has_sni, const char *sni,
                             size_t sni_len, mdr_handshake_result *out);

/**
 * Name of a TLS alert ("unrecognized_name"), as the IANA "TLS Alerts"
 * registry spells it: every registered alert is named (since 0.3.0:
 * "certificate_required", "handshake_failure", ...; 0.2.0 named only the
 * four MDR_ALERT_* the core sends); "unknown_alert" for an unassigned number.
 * @param alert an alert number (MDR_ALERT_*, or any alert a TLS stack
 *              sent or received)
 * @return the name; never NULL, cannot fail.
 * @ownership Static storage, never freed.
 * @threadsafety Any thread, any time (no state).
 * @since 0.1.0
 */
MDR_EXTERN const char *mdr_alert_name(unsigned alert);

/* ------------------------------------------------------------------------ */
/* Decision                                                                   */
/* ------------------------------------------------------------------------ */

/** HTTP version of a request: 1.1 (the zero default), 1.0, 2 or 3.  @since 0.1.0 */
typedef enum mdr_http_version { MDR_HTTP_1_1 = 0, MDR_HTTP_1_0, MDR_HTTP_2, MDR_HTTP_3 } mdr_http_version;
/** Encrypted ClientHello: not offered (the zero default), accepted, or rejected.  @since 0.1.0 */
typedef enum mdr_ech { MDR_ECH_NONE = 0, MDR_ECH_ACCEPTED, MDR_ECH_REJECTED } mdr_ech;

/**
 * Connection facts.  Zero-initialise, then set.  Every field's zero value
 * is the safe default: no handshake vhost known (the listener default, and
 * its TLS policy, stand for H), no SNI, no ALPN, no ECH, not resumed (or
 * resumed from an unknown vhost, treated as H), not 0-RTT, no origin set.
 * `listener` has no default: it must be set (0 is the first listener).
 * Caller-owned; the mdr_decide call only reads it (the strings and arrays
 * are borrowed for the call).  With the OpenSSL adapter,
 * mdr_ossl_conn_facts fills the TLS fields.
 *
 * Since 0.3.0 the handshake and resumption vhosts carry explicit has_
 * flags (in 0.1.0-0.2.0 the fields handshake_vhost and resumed_vhost meant
 * "none" only when MDR_NONE, so a zeroed struct named vhost 0).
 * @since 0.1.0
 */
typedef struct mdr_conn {
  mdr_index listener;            /**< listener the connection arrived on (required) */
  /* TLS only: */
  int has_hs_vhost;              /**< 1 when hs_vhost is H from mdr_handshake; 0 = unknown: the listener default stands for H.  @since 0.3.0 */
  mdr_index hs_vhost;            /**< H (read only when has_hs_vhost; must then be a vhost of the table).  @since 0.3.0 */
  int has_sni;                   /**< SNI of the final ClientHello (inner when ECH accepted) */
  mdr_str sni;                   /**< the SNI as sent (when has_sni) */
  int has_alpn;                  /**< 0 = no ALPN negotiated */
  mdr_str alpn;                  /**< the negotiated ALPN protocol id (when has_alpn) */
  mdr_ech ech;                   /**< ECH state of the handshake */
  int resumed;                   /**< session resumed ... */
  int has_resumed_from;          /**< ... and 1 when resumed_from is known; 0 = unknown: treated as H.  @since 0.3.0 */
  mdr_index resumed_from;        /**< the vhost the session was created under (read only when resumed and has_resumed_from; must then be a vhost of the table).  @since 0.3.0 */
  int early_data;                /**< request arrived as 0-RTT */
  int has_origin_set;            /**< an ORIGIN frame was sent with these entries */
  const mdr_str *origin_set;     /**< canonical "https://host[:port]" entries */
  size_t n_origin_set;           /**< entries in origin_set */
  uint32_t hs_match;             /**< mdr_handshake_result.match of this connection's handshake, or 0.  A hint only: every value gives the same decision (mdr_decide checks it against the table), and the right one spares the name lookup when the request names the SNI.  @since 0.3.0 */
} mdr_conn;

/**
 * Request facts.  Zero-initialise, then set: a zeroed request is an
 * HTTP/1.1 GET with no request-target, no Host and no :authority (a 400).
 * Header values as received.
 * Caller-owned; borrowed by mdr_decide for the call.
 * @since 0.1.0
 */
typedef struct mdr_request {
  mdr_http_version version;      /**< HTTP version */
  mdr_str method;                /**< len 0 = GET */
  int has_target;                /**< 0 = no request-target / :path */
  mdr_str target;                /**< request-target (HTTP/1.x) or :path */
  int has_scheme;                /**< :scheme present (HTTP/2 and HTTP/3 only) */
  mdr_str scheme;                /**< :scheme value */
  const mdr_str *authority;      /**< :authority values (HTTP/2, HTTP/3) */
  size_t n_authority;            /**< entries in authority */
  const mdr_str *host;           /**< every Host header value */
  size_t n_host;                 /**< entries in host */
} mdr_request;

/** Kind of answer a decision gives.  @since 0.1.0 */
typedef enum mdr_kind {
  MDR_SERVE = 0,                 /**< serve (200 ...) with mdr_decision.vhost */
  MDR_MISDIRECTED,               /**< 421 */
  MDR_REDIRECT,                  /**< 301, 302, 307, 308 */
  MDR_BAD_REQUEST,               /**< 400 */
  MDR_TOO_EARLY,                 /**< 425 */
  MDR_NOT_IMPLEMENTED            /**< 501 */
} mdr_kind;

/**
 * The answer for one request (filled by mdr_decide).  Caller-owned and
 * self-contained: the normalised authority is stored in it.
 * @since 0.1.0
 */
typedef struct mdr_decision {
  mdr_kind kind;                 /**< kind of answer */
  unsigned status;               /**< 200 for serve */
  mdr_index vhost;               /**< serving / redirecting vhost, else MDR_NONE */
  mdr_reason reason;             /**< why */
  unsigned rule;                 /**< rule number (1-10, docs/decision-rules.md) that decided */
  size_t location_len;           /**< bytes of Location written (redirects) */
  mdr_authority authority;       /**< the normalised request authority (valid when has_authority) */
  int has_authority;             /**< 1 when authority is valid */
  mdr_index request_vhost;       /**< vhost the request named (R), even when refused; else MDR_NONE */
  mdr_index handshake_vhost;     /**< H used for the decision (TLS), else MDR_NONE */
} mdr_decision;

/**
 * Trace callback for mdr_decide_trace: one call per rule step.
 * Runs on the calling thread, inside the call.  `what` (what_len bytes,
 * not NUL-terminated) describes the step and is valid during the callback
 * only.
 * @since 0.1.0
 */
typedef void (*mdr_trace_fn)(void *user, unsigned rule, const char *what, size_t what_len);

/**
 * Decide.  `loc`/`loc_cap` receive the Location of a redirect (not
 * NUL-terminated; NUL added when room).  No allocation, no locks.
 * @return 0 (the decision is in *out);
 *         MDR_ERR_BUFFER_TOO_SMALL: a redirect whose Location needs
 *         out->location_len bytes (the decision is otherwise filled);
 *         MDR_ERR_INVALID_ARGUMENT: bad listener/vhost index or NULL pointers.
 * An HTTP answer (421, 400, 3xx, 425, 501) is not an error: it comes with 0.
 * @param t       the table
 * @param c       connection facts
 * @param r       request facts
 * @param out     receives the decision
 * @param loc     buffer for a redirect's Location (may be NULL when loc_cap is 0)
 * @param loc_cap bytes of loc
 * @ownership `c`, `r` and what they point to are borrowed for the call;
 *            `*out` and `loc` are caller-owned.  Nothing is allocated.
 * @threadsafety Any number of threads on one table; never allocates, locks
 *               or touches global state: safe inside TLS callbacks.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_decide(const mdr_table *t, const mdr_conn *c, const mdr_request *r,
                          mdr_decision *out, char *loc, size_t loc_cap);

/**
 * As mdr_decide, and calls `fn` for every rule step (for `misdirect explain`).
 * It formats text for the trace: use mdr_decide on hot paths.
 * @param t       the table
 * @param c       connection facts
 * @param r       request facts
 * @param out     receives the decision
 * @param loc     buffer for a redirect's Location (may be NULL when loc_cap is 0)
 * @param loc_cap bytes of loc
 * @param fn      trace callback (may be NULL)
 * @param user    passed to fn
 * @return as mdr_decide: 0, MDR_ERR_BUFFER_TOO_SMALL or MDR_ERR_INVALID_ARGUMENT.
 * @ownership As mdr_decide; the text passed to fn is valid during the
 *            callback only.
 * @threadsafety As mdr_decide; fn runs on the calling thread.  No allocation.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_decide_trace(const mdr_table *t, const mdr_conn *c, const mdr_request *r,
                                mdr_decision *out, char *loc, size_t loc_cap, mdr_trace_fn fn,
                                void *user);

/**
 * Write a one-line, specific explanation of a decision (names the SNI, the
 * host and the vhosts involved) into buf (NUL-terminated, truncated to cap).
 * Returns the length it would have had (like snprintf); 0 for NULL
 * arguments.  No allocation.
 * @param t   the table the decision was made on
 * @param c   the connection facts used for the decision
 * @param d   the decision
 * @param buf output (may be NULL when cap is 0, to measure)
 * @param cap bytes of buf
 * @return the full length without the NUL; 0 when t, c or d is NULL, d has
 *         status 0 (a zeroed decision, since 0.3.0), or buf
 *         is NULL with cap > 0 (it cannot fail otherwise).
 * @ownership All arguments are borrowed for the call; buf is caller-owned.
 * @threadsafety Any number of threads on one table; no allocation, no locks.
 * @since 0.1.0
 */
MDR_EXTERN size_t mdr_decision_explain(const mdr_table *t, const mdr_conn *c,
                                       const mdr_decision *d, char *buf, size_t cap);

/**
 * The vhost's statement name (pointer into the table); empty if v is invalid.
 * @param t the table
 * @param v vhost index
 * @return the name, or an empty string (len 0, ptr not NULL) for a NULL
 *         table or an invalid v such as MDR_NONE; cannot fail.
 * @ownership Points into the table: valid while the caller holds a
 *            reference.  Not NUL-terminated.
 * @threadsafety Any number of threads on one table; no allocation, no locks.
 * @since 0.1.0
 */
MDR_EXTERN mdr_str mdr_vhost_name(const mdr_table *t, mdr_index v);

/* ------------------------------------------------------------------------ */
/* Origin set of a connection (what an ORIGIN frame carries)                 */
/* ------------------------------------------------------------------------ */

/**
 * Called once per origin ("https://name[:port]"); return non-zero to stop.
 * `origin` (len bytes, not NUL-terminated) is valid during the call only.
 * @since 0.1.0
 */
typedef int (*mdr_origin_fn)(void *user, const char *origin, size_t len);

/**
 * Default cap on the origins of one connection's origin set (256 origins,
 * at most about 70 KB of ORIGIN frames).  @since 0.3.0
 */
#define MDR_ORIGIN_SET_DEFAULT_MAX 256

/**
 * Options for mdr_origin_set_each2.  Zero-initialise: a zeroed struct (or
 * NULL) means the defaults.  Append-only.  @since 0.3.0
 */
typedef struct mdr_origin_set_options {
  /** Most origins enumerated: 0 = MDR_ORIGIN_SET_DEFAULT_MAX (256);
   * SIZE_MAX = no cap. */
  size_t max_origins;
} mdr_origin_set_options;

/**
 * Enumerate the origin set of a TLS connection on `listener` whose handshake
 * selected `handshake_vhost`, for requests of HTTP version `version` (2 or 3):
 * the concrete names the core would serve or redirect on this connection,
 * at most MDR_ORIGIN_SET_DEFAULT_MAX (256) of them (since 0.3.0; before, all:
 * 100,000 vhosts on one certificate sent 3.9 MB of ORIGIN frames per
 * connection).  Same as mdr_origin_set_each2 with `opts` NULL.
 * No allocation.
 * @return number of origins enumerated (>= 0; when fn stops the walk, the
 *         origin it stopped at is counted), or MDR_ERR_INVALID_ARGUMENT /
 *         MDR_ERR_WRONG_LISTENER (cleartext listener).  INVALID_ARGUMENT for
 *         t or fn NULL, a bad listener, a version other than 2 or 3, or an
 *         H (given, or the listener default for MDR_NONE) that is no vhost.
 * @param t               the table
 * @param listener        the TLS listener
 * @param handshake_vhost H, or MDR_NONE for the listener default
 * @param version         MDR_HTTP_2 or MDR_HTTP_3
 * @param fn              called once per origin
 * @param user            passed to fn
 * @ownership The origin strings passed to fn are valid during the callback
 *            only: copy what you keep (mdr_ngh2_origins_compute does).
 * @threadsafety Any number of threads on one table; no allocation, no
 *               locks; fn runs on the calling thread.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_origin_set_each(const mdr_table *t, mdr_index listener, mdr_index handshake_vhost,
                                   mdr_http_version version, mdr_origin_fn fn, void *user);

/**
 * mdr_origin_set_each with options: enumerate at most `opts->max_origins`
 * origins (0 = MDR_ORIGIN_SET_DEFAULT_MAX).  The order says what a cap
 * keeps: first the names of the handshake vhost H (the connection's own
 * name), then those of the other vhosts with H's cert statement (what a
 * client most likely reuses the connection for), then the rest, each group
 * in table order.  Time is at most linear in the listener's vhosts and
 * their names, whatever the cap; on a sni-host=strict listener it is
 * linear in H's names, and on a compatible one when H's certificate has at
 * most 256 names, in those names and the names of other vhosts those
 * certificate names cover (since 0.3.0; docs/origin.md).
 *
 * With a cap, a name left out is not advertised.  Given the advertised set
 * (mdr_conn.has_origin_set), mdr_decide still serves it where rule 7 allows
 * on sni-host=compatible and strict listeners (the set is advisory there),
 * and answers 421 not-in-origin-set for it on a sni-host=ignore listener
 * (see docs/origin.md, "Capping the origin set").
 * @return number of origins enumerated (0 .. the cap; when fn stops the
 *         walk, the origin it stopped at is counted), or
 *         MDR_ERR_INVALID_ARGUMENT / MDR_ERR_WRONG_LISTENER as
 *         mdr_origin_set_each.
 * @param t               the table
 * @param listener        the TLS listener
 * @param handshake_vhost H, or MDR_NONE for the listener default
 * @param version         MDR_HTTP_2 or MDR_HTTP_3
 * @param opts            options, or NULL (defaults)
 * @param fn              called once per origin
 * @param user            passed to fn
 * @ownership The origin strings passed to fn are valid during the callback
 *            only; `opts` is borrowed for the call.
 * @threadsafety Any number of threads on one table; no allocation, no
 *               locks; fn runs on the calling thread.
 * @since 0.3.0
 */
MDR_EXTERN int mdr_origin_set_each2(const mdr_table *t, mdr_index listener,
                                    mdr_index handshake_vhost, mdr_http_version version,
                                    const mdr_origin_set_options *opts, mdr_origin_fn fn,
                                    void *user);

/* ------------------------------------------------------------------------ */
/* Structured explanation (since 0.2.0)                                      */
/* ------------------------------------------------------------------------ */

/**
 * Likely causes of an outcome, each with a stable token, what happened and
 * what to change.  X(ENUM, "token", "cause", "fix").  Tokens are stable;
 * texts may be reworded.
 * @param X a macro taking (ENUM, token, cause, fix)
 * @since 0.2.0
 */
#define MDR_CAUSE_MAP(X)                                                                         \
  X(NONE, "none", "nothing is wrong: the request was served as configured", "nothing to change") \
  X(PROXY_NO_SNI, "proxy-no-sni", "a reverse proxy or load balancer in front of this server opened the TLS connection without SNI (or with a fixed SNI) instead of the client's server name", "make the proxy forward the client's SNI (e.g. nginx proxy_ssl_server_name on; HAProxy 'sni req.hdr(host)'), or give the listener a default vhost meant for such connections") \
  X(PROXY_REWROTE_HOST, "proxy-rewrote-host", "a proxy or load balancer rewrote the Host header (or :authority) so it no longer names the host the client connected to", "make the proxy pass the original Host through (e.g. nginx proxy_set_header Host $host), or configure a vhost for the rewritten name") \
  X(CDN_REWROTE_HOST, "cdn-rewrote-host", "a CDN forwards requests with its own origin hostname (or a rewritten Host) that no vhost here serves", "set the CDN's origin host header to a name a vhost serves, or add that name to the vhost") \
  X(CONNECTION_REUSE, "connection-reuse", "a client reused a connection or TLS session opened for another origin (HTTP/2 or HTTP/3 connection coalescing, or session resumption across names; the certificate covers both)", "nothing is broken: the client retries on a new connection; to avoid the extra round trip give vhosts with different TLS policies or protocols= separate certificates") \
  X(TLS_TERMINATED_UPSTREAM, "tls-terminated-upstream", "TLS was terminated in front of this server and the request was forwarded to a cleartext port while still claiming https", "make the proxy connect to the TLS listener (re-encrypt), or have it forward the request to the cleartext listener as http (scheme http, or a Host-only HTTP/1.1 request) so a vhost on that listener serves it") \
  X(WRONG_SERVER, "wrong-server", "DNS, a load balancer or a CDN sends this host to a server that does not serve it", "point the name at the right server, or add the name to a vhost on this listener") \
  X(MISSING_VHOST, "missing-vhost", "the configuration has no vhost (server block) for this scheme and authority", "add the name to a vhost's names= on this listener, or set unknown-host=default to send it to the listener default") \
  X(PORT_MAPPING, "port-mapping", "the request names a port this listener does not serve, usually because a proxy or NAT maps a public port to it", "declare the public port with public-ports=, or fix the link that carries the port") \
  X(CLIENT_NO_SNI, "client-no-sni", "the client sent no SNI (an old client, a script using an IP address, or a health check)", "send SNI for the host name, or set no-sni=default with a default vhost for such clients") \
  X(CLIENT_BAD_SNI, "client-bad-sni", "the client's SNI is not a configured name, or not a DNS name at all", "connect with the configured host name, or add the name to a vhost") \
  X(CLIENT_MALFORMED, "client-malformed", "the client or an intermediary sent a malformed request line, Host or :authority", "fix the client or the intermediary that builds the request; the server cannot guess what was meant") \
  X(CLIENT_PROTOCOL, "client-protocol", "the client used a protocol feature this vhost does not accept (an HTTP version, ALPN, 0-RTT, CONNECT or a scheme)", "retry on a fresh connection with a supported protocol, or enable it on the vhost") \
  X(CONFIGURED, "configured", "the configuration asks for exactly this (a redirect, strict SNI, a default vhost)", "nothing, unless the configuration is not what was intended")

/**
 * A likely cause of an outcome: MDR_CAUSE_<ENUM> for every MDR_CAUSE_MAP
 * entry, in its order.  MDR_CAUSE_COUNT_ is the number of causes, not a cause.
 * @since 0.2.0
 */
typedef enum mdr_cause {
#define MDR_X_(e, tok, cause, fix) MDR_CAUSE_##e,
  MDR_CAUSE_MAP(MDR_X_)
#undef MDR_X_
  MDR_CAUSE_COUNT_
} mdr_cause;

/**
 * Stable token of a cause ("proxy-no-sni"); "unknown" for out-of-range values.
 * @param c a cause
 * @return the token; never NULL, cannot fail.
 * @ownership Static storage, never freed.
 * @threadsafety Any thread, any time (no state).
 * @since 0.2.0
 */
MDR_EXTERN const char *mdr_cause_token(mdr_cause c);
/**
 * What happened, in one line.  Never NULL.
 * @param c a cause
 * @return the text (a fixed text for out-of-range values); cannot fail.
 * @ownership Static storage, never freed.
 * @threadsafety Any thread, any time (no state).
 * @since 0.2.0
 */
MDR_EXTERN const char *mdr_cause_text(mdr_cause c);
/**
 * What to change, in one line.  Never NULL.
 * @param c a cause
 * @return the text (a fixed text for out-of-range values); cannot fail.
 * @ownership Static storage, never freed.
 * @threadsafety Any thread, any time (no state).
 * @since 0.2.0
 */
MDR_EXTERN const char *mdr_cause_fix(mdr_cause c);

/* Bits of mdr_explanation.differs: how the request vhost R differs from the
 * handshake vhost H. */
#define MDR_DIFF_CLIENT_AUTH 0x01u  /**< client-auth= differs.  @since 0.2.0 */
#define MDR_DIFF_CA          0x02u  /**< the CA set (ca-file= or its contents) differs.  @since 0.2.0 */
#define MDR_DIFF_MIN_TLS     0x04u  /**< min-tls= differs.  @since 0.2.0 */
#define MDR_DIFF_CERT        0x08u  /**< H's certificate does not cover the requested host.  @since 0.2.0 */
#define MDR_DIFF_VHOST       0x10u  /**< R is not H.  @since 0.2.0 */

/** Most causes an explanation lists.  @since 0.2.0 */
#define MDR_EXPLAIN_MAX_CAUSES 4

/**
 * A structured explanation of one outcome, for servers that log in their
 * own format.  Filled by mdr_explain_decision / mdr_explain_handshake
 * without allocation.  mdr_str fields point into the table, the mdr_conn,
 * the mdr_request or the mdr_decision passed in: they are valid while those
 * are.
 * @since 0.2.0
 */
typedef struct mdr_explanation {
  mdr_kind kind;                 /**< the decision's kind (handshake: MDR_MISDIRECTED for an alert, MDR_SERVE when accepted) */
  unsigned status;               /**< HTTP status, or 0 for a handshake explanation */
  unsigned alert;                /**< MDR_ALERT_* for a handshake alert, else 0 */
  mdr_reason reason;             /**< the outcome's reason */
  unsigned rule;                 /**< rule that decided (docs/decision-rules.md; 0 = handshake step) */
  mdr_index listener;            /**< listener of the connection */
  mdr_index handshake_vhost;     /**< H, or MDR_NONE */
  mdr_index request_vhost;       /**< R, or MDR_NONE */
  mdr_index vhost;               /**< serving or redirecting vhost (handshake: H when accepted), or MDR_NONE */
  int has_sni;                   /**< 1 if the client sent SNI */
  mdr_str sni;                   /**< SNI as sent */
  int has_host;                  /**< 1 if the request had a Host header */
  mdr_str host;                  /**< first Host header value as received */
  int has_authority;             /**< 1 if the request had :authority */
  mdr_str authority;             /**< first :authority value as received */
  mdr_str request_host;          /**< the normalised host the decision used (handshake: the normalised SNI); len 0 if none */
  unsigned request_port;         /**< its port (the scheme default when absent), 0 if none */
  unsigned differs;              /**< MDR_DIFF_* between R and H (0 when either is missing) */
  size_t n_causes;               /**< most likely first */
  mdr_cause causes[MDR_EXPLAIN_MAX_CAUSES]; /**< the likely causes, n_causes of them */
} mdr_explanation;

/**
 * Explain a decision made by mdr_decide for (c, r).  `r` may be NULL (the
 * Host and :authority fields are then empty).  No allocation, no locks.
 * @param t   the table the decision was made on
 * @param c   the connection facts used for the decision
 * @param r   the request facts used for the decision, or NULL
 * @param d   the decision
 * @param out receives the explanation
 * @return 0, or MDR_ERR_INVALID_ARGUMENT (NULL t/c/d/out, bad listener,
 *         vhost index or reason in d, a d with status 0 such as a zeroed
 *         one (since 0.3.0: no mdr_decide answer has it), NULL arrays with
 *         counts in r); *out
 *         is then cleared (no causes, indexes MDR_NONE) when out is not NULL.
 * @ownership `*out` is caller-owned; its mdr_str fields borrow from t, c,
 *            r and d (valid while those are).
 * @threadsafety Any number of threads on one table; no allocation, no locks.
 * @since 0.2.0
 */
MDR_EXTERN int mdr_explain_decision(const mdr_table *t, const mdr_conn *c, const mdr_request *r,
                                    const mdr_decision *d, mdr_explanation *out);

/**
 * Explain a handshake step's result for a connection on `listener` that
 * sent (has_sni, sni, sni_len): rule 0, no request fields, request_host =
 * the normalised SNI (pointing into hs).  No allocation, no locks.
 * @param t        the table
 * @param listener the TLS listener
 * @param has_sni  1 if the ClientHello had SNI
 * @param sni      the SNI as sent
 * @param sni_len  bytes of sni
 * @param hs       the result mdr_handshake gave for these arguments
 * @param out      receives the explanation
 * @return 0, or MDR_ERR_INVALID_ARGUMENT (NULL t/hs/out, sni NULL with
 *         sni_len > 0, bad listener, or a bad vhost or reason in hs).
 * @ownership `*out` is caller-owned; its mdr_str fields borrow from t, sni
 *            and hs (valid while those are).
 * @threadsafety Any number of threads on one table; no allocation, no locks.
 * @since 0.2.0
 */
MDR_EXTERN int mdr_explain_handshake(const mdr_table *t, mdr_index listener, int has_sni,
                                     const char *sni, size_t sni_len,
                                     const mdr_handshake_result *hs, mdr_explanation *out);

/* ------------------------------------------------------------------------ */
/* Configuration lint (since 0.2.0)                                           */
/* ------------------------------------------------------------------------ */

/**
 * Lint findings.  X(ENUM, "id", "why it matters", "how to fix").  The ids
 * are stable; texts may be reworded.
 * @param X a macro taking (ENUM, id, why, fix)
 * @since 0.2.0
 */
#define MDR_LINT_MAP(X)                                                                          \
  X(COALESCE_POLICY, "coalesce-policy-mismatch", "vhosts on one TLS listener share or overlap certificates but have different TLS policies: browsers coalesce HTTP/2 connections across the names and get 421", "give the stricter vhost its own certificate that covers only its names, or make the policies equal") \
  X(NAME_NOT_COVERED, "name-not-covered", "a vhost name is not covered by the vhost's certificate: clients connecting with that SNI get a certificate error", "add the name to the certificate, or move it to a vhost whose certificate covers it") \
  X(ALIAS_NOT_COVERED, "alias-not-covered", "a redirect alias is not covered by the vhost's certificate: https clients fail the handshake before they can be redirected", "add the alias to the certificate, or drop it from redirect-names=") \
  X(WILDCARD_SHADOW, "wildcard-shadow-policy", "an exact name and a wildcard covering it belong to vhosts with different TLS policies: which policy applies depends on the exact spelling the client uses", "give both vhosts the same policy, or use separate certificates") \
  X(DEFAULT_STRICTER, "default-stricter-policy", "unknown-host=default or unknown-sni=default sends unknown names to a default vhost whose TLS policy is stricter than other vhosts' on the listener: their clients meet client-certificate or TLS-version failures", "make a vhost with the listener's loosest policy the default, or set unknown-host=reject / unknown-sni=reject") \
  X(REDIRECT_CHAIN, "redirect-chain", "a request is redirected more than once before it is served: each hop costs a round trip", "point the first redirect at the final origin (e.g. make the alias part of the final vhost)") \
  X(REDIRECT_LOOP, "redirect-loop", "redirects lead back to an origin already visited: clients give up", "make one of the vhosts in the loop serve instead of redirect") \
  X(REDIRECT_DEAD_END, "redirect-dead-end", "a redirect points at an origin this configuration refuses (421, 400 or a handshake alert)", "make the redirect target served by a vhost on the target listener") \
  X(REDIRECT_NO_TLS, "redirect-no-tls-listener", "a vhost with http=redirect has no TLS listener: it redirects to an https origin on port 443 served elsewhere", "add the vhost to a TLS listener, or use http=serve") \
  X(WILDCARD_NOT_ADVERTISED, "wildcard-not-advertised", "a wildcard name on a TLS listener that allows HTTP/2 or HTTP/3 can never be listed in an ORIGIN frame, so clients that rely on ORIGIN will not reuse connections for it", "list the concrete names in names= if connection reuse matters") \
  X(NAME_NOT_CANONICAL, "name-not-canonical", "a name is written with upper-case letters or a trailing dot: it is normalised, so it works, but the file does not show what is matched", "write names in lower case without the trailing dot") \
  X(CLIENT_AUTH_NO_CA, "client-auth-no-ca", "a policy asks for client certificates (client-auth=required or optional) but has no ca-file=, or its ca-file= cannot be read: the server cannot verify client certificates and refuses the vhosts file at start-up", "add ca-file= naming a readable PEM bundle of the CAs that issue the client certificates (relative to the vhosts file's folder)") \
  X(SNI_IGNORE_CLIENT_AUTH, "sni-host-ignore-client-auth", "sni-host=ignore on a listener with a client-certificate vhost: a request for that vhost on a connection made for another name, where no client certificate was asked for, is served (200 serve-unchecked), bypassing the client-certificate requirement", "remove sni-host=ignore (compatible, the default, answers such requests 421), or move the client-certificate vhost to a listener of its own") \
  X(DUPLICATE_LISTENER_PORT, "duplicate-listener-port", "two listeners have the same port: a listener has no address in the vhosts file and a server binds every listener at its port, so the second cannot listen (address in use) and only the first one's vhosts are reachable there", "give each listener a port of its own; name the ports clients use in public-ports= when a proxy or NAT maps them")

/**
 * A kind of lint finding: MDR_LINT_<ENUM> for every MDR_LINT_MAP entry, in
 * its order.  MDR_LINT_COUNT_ is the number of kinds, not a kind.
 * @since 0.2.0
 */
typedef enum mdr_lint_id {
#define MDR_X_(e, id, why, fix) MDR_LINT_##e,
  MDR_LINT_MAP(MDR_X_)
#undef MDR_X_
  MDR_LINT_COUNT_
} mdr_lint_id;

/**
 * Stable id of a finding ("coalesce-policy-mismatch"); "unknown" when out of range.
 * @param id a finding kind
 * @return the id; never NULL, cannot fail.
 * @ownership Static storage, never freed.
 * @threadsafety Any thread, any time (no state).
 * @since 0.2.0
 */
MDR_EXTERN const char *mdr_lint_token(mdr_lint_id id);
/**
 * Why it matters, in one line.  Never NULL.
 * @param id a finding kind
 * @return the text (a fixed text for out-of-range values); cannot fail.
 * @ownership Static storage, never freed.
 * @threadsafety Any thread, any time (no state).
 * @since 0.2.0
 */
MDR_EXTERN const char *mdr_lint_why(mdr_lint_id id);
/**
 * How to fix it, in one line.  Never NULL.
 * @param id a finding kind
 * @return the text (a fixed text for out-of-range values); cannot fail.
 * @ownership Static storage, never freed.
 * @threadsafety Any thread, any time (no state).
 * @since 0.2.0
 */
MDR_EXTERN const char *mdr_lint_fix(mdr_lint_id id);

/** One lint finding.  mdr_str fields point into the table.  @since 0.2.0 */
typedef struct mdr_lint_finding {
  mdr_lint_id id;                /**< what was found */
  unsigned line;                 /**< source line of the statement concerned; 0 if unknown */
  mdr_index listener;            /**< listener concerned, or MDR_NONE */
  mdr_index vhost;               /**< vhost concerned, or MDR_NONE */
  mdr_index other_vhost;         /**< the second vhost (coalescing, shadowing, redirect target), or MDR_NONE */
  mdr_str name;                  /**< host name concerned, or empty */
  char message[512];             /**< specific one-line message naming the statements, NUL-terminated */
} mdr_lint_finding;

/**
 * Called once per finding; return non-zero to stop.
 * `f` is valid during the call only (copy what you keep); it runs on the
 * thread calling mdr_table_lint.
 * @since 0.2.0
 */
typedef int (*mdr_lint_fn)(void *user, const mdr_lint_finding *f);

/**
 * Check a frozen table for the configurations listed in MDR_LINT_MAP and
 * call fn for each finding, in a deterministic order.  May allocate
 * temporary memory with the table's allocator (setup use, not per request).
 * @return the number of findings reported (>= 0; when fn stops the walk
 *         the finding it stopped at is counted), MDR_ERR_NOMEM or
 *         MDR_ERR_INVALID_ARGUMENT.
 * @param t    the table
 * @param fn   called once per finding
 * @param user passed to fn
 * @ownership Temporary memory is freed before the call returns; the
 *            finding passed to fn is valid during the callback only.
 * @threadsafety Any number of threads on one table (it only reads it), as
 *               far as the table's allocator allows concurrent use; fn runs
 *               on the calling thread.
 * @since 0.2.0
 */
MDR_EXTERN int mdr_table_lint(const mdr_table *t, mdr_lint_fn fn, void *user);

/**
 * Options of mdr_table_lint2.  Zero-initialised: the checks of
 * mdr_table_lint, no file-system access.  Append-only.
 * @since 0.3.0
 */
typedef struct mdr_lint_options {
  /** Non-zero: also open every ca-file= of a policy that asks for client
   * certificates and a vhost uses, and report client-auth-no-ca when it
   * cannot be read or is empty (what a server refuses at start-up).  Only
   * that it opens and holds a byte is checked, not its PEM contents. */
  int check_files;
  /** Folder a relative ca-file= is resolved against (the vhosts file's
   * folder, as the server resolves it); empty = the current directory. */
  mdr_str base_dir;
} mdr_lint_options;

/**
 * mdr_table_lint with options.  `o` may be NULL (the same as zero).
 * @return the number of findings reported (>= 0, as mdr_table_lint),
 *         MDR_ERR_NOMEM, or MDR_ERR_INVALID_ARGUMENT (t or fn NULL, or
 *         o->base_dir with a length and a NULL pointer).  A file that cannot
 *         be read is a finding, not an error.
 * @param t    the table
 * @param o    options, or NULL
 * @param fn   called once per finding
 * @param user passed to fn
 * @ownership as mdr_table_lint; `o` is read during the call only.
 * @threadsafety as mdr_table_lint (with check_files, it opens files for
 *               reading and closes them before returning).
 * @since 0.3.0
 */
MDR_EXTERN int mdr_table_lint2(const mdr_table *t, const mdr_lint_options *o, mdr_lint_fn fn,
                               void *user);

#ifdef __cplusplus
}
#endif

#endif /* MISDIRECT_MISDIRECT_H */
