/*
 * misdirect-nghttp2, client side: built-in ORIGIN receive feeding an
 * mdr_origin_client, and removal of an origin on 421.
 */
#include <misdirect/nghttp2.h>

int mdr_ngh2_client_enable_origin(nghttp2_option *opt) {
  if (!opt) return MDR_ERR_INVALID_ARGUMENT;
  nghttp2_option_set_builtin_recv_extension_type(opt, NGHTTP2_ORIGIN);
  return 0;
}

int mdr_ngh2_client_on_frame(mdr_origin_client *c, const nghttp2_frame *frame) {
  if (!c || !frame) return MDR_ERR_INVALID_ARGUMENT;
  if (frame->hd.type != NGHTTP2_ORIGIN) return 0;
  /* RFC 8336 §2.2: ignore on a non-zero stream and with any of the flags
   * reserved for incompatible changes (0x1, 0x2, 0x4, 0x8). */
  if (frame->hd.stream_id != 0) return 0;
  if (frame->hd.flags & MDR_ORIGIN_H2_RESERVED_FLAGS) return 0;
  const nghttp2_ext_origin *ext = frame->ext.payload;
  mdr_origin_client_activate(c);
  if (!ext) return 1;
  for (size_t i = 0; i < ext->nov; i++) {
    int rc = mdr_origin_client_add(c, (const char *)ext->ov[i].origin, ext->ov[i].origin_len);
    if (rc < 0) return rc;
  }
  return 1;
}

int mdr_ngh2_client_on_response(mdr_origin_client *c, unsigned status, const char *authority,
                                size_t len) {
  if (!c) return MDR_ERR_INVALID_ARGUMENT;
  if (status != 421) return 0;
  char origin[MDR_ORIGIN_BUFSIZE];
  size_t olen = 0;
  int rc = mdr_origin_from_authority(authority, len, origin, sizeof origin, &olen);
  if (rc != 0) return MDR_ERR_INVALID_ARGUMENT;
  return mdr_origin_client_on_421(c, origin, olen);
}
