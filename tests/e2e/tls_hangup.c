/*
 * tls_hangup: a TLS client that hangs up when the server asks for a client
 * certificate, as a browser does when its user cancels the certificate
 * prompt.  OpenSSL calls the client-certificate callback once it has the
 * server's CertificateRequest; the callback pauses the handshake
 * (SSL_ERROR_WANT_X509_LOOKUP) and the client closes the TCP connection
 * without answering.
 *
 *   tls_hangup PORT SNI CA_FILE 1.2|1.3
 *
 * Prints "hung up at the certificate request" and exits 0 when it did;
 * exits 1 otherwise (the server asked for no certificate, or failed the
 * handshake first).  127.0.0.1 only; every wait is bounded (5 s).
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/ssl.h>

static int asked;

static int on_cert_request(SSL *ssl, X509 **x509, EVP_PKEY **pkey) {
  (void)ssl;
  (void)x509;
  (void)pkey;
  asked = 1;
  return -1; /* pause the handshake here */
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s PORT SNI CA_FILE 1.2|1.3\n", argv[0]);
    return 2;
  }
  int version = strcmp(argv[4], "1.2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1 ||
      SSL_CTX_set_min_proto_version(ctx, version) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, version) != 1) {
    fprintf(stderr, "cannot set up the TLS context\n");
    return 1;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_client_cert_cb(ctx, on_cert_request);

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("connect");
    return 1;
  }
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, argv[2]);
  int r = SSL_connect(ssl);
  int e = SSL_get_error(ssl, r);
  close(fd); /* hang up, whatever happened */
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  if (r == 1 || e != SSL_ERROR_WANT_X509_LOOKUP || !asked) {
    printf("no certificate request (SSL_connect %d, error %d)\n", r, e);
    return 1;
  }
  printf("hung up at the certificate request\n");
  return 0;
}
