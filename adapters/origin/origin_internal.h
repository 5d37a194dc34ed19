/* Internal helpers of misdirect-origin (not installed). */
#ifndef MISDIRECT_ORIGIN_INTERNAL_H
#define MISDIRECT_ORIGIN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <misdirect/origin.h>

/* Room for any normalised host plus a NUL. */
#define MDRO_HOST_BUF (MDR_HOST_MAX + 1)

/*
 * Normalise a host with the core's mdr_authority_parse (docs/decision-rules.md rule 2, no
 * whitespace trimming, no port): lower case, one trailing dot stripped, IPv4
 * dotted quads checked, IPv6 written bracketed in the core's RFC 5952 form.
 * `bare_ipv6` accepts an unbracketed IPv6 address too.  `out` needs
 * MDRO_HOST_BUF bytes; it is NUL-terminated.  Returns 0, or -1 when invalid.
 */
int mdro_host_normalize(const char *p, size_t len, int bare_ipv6, char *out, size_t *out_len,
                        mdr_host_kind *kind);

/* 1 if p[0..len) is already a normalised host (bracketed when IPv6). */
int mdro_host_is_canonical(const char *p, size_t len, mdr_host_kind *kind);

/* QUIC variable-length integers (RFC 9000 §16). */
#define MDRO_VARINT_MAX ((uint64_t)0x3fffffffffffffffULL)
/* Bytes needed for v (1, 2, 4 or 8); v must be <= MDRO_VARINT_MAX. */
size_t mdro_varint_len(uint64_t v);
/* Write v in shortest form; out needs mdro_varint_len(v) bytes.  Returns that length. */
size_t mdro_varint_write(uint64_t v, uint8_t *out);
/* Read a varint: returns its length, or 0 when `len` bytes are not enough
 * (then *need, if not NULL, receives the varint's length, or 1 when len is 0). */
size_t mdro_varint_read(const uint8_t *in, size_t len, uint64_t *v, size_t *need);

#endif
