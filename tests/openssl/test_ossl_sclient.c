/* The real `openssl s_client` against a loopback listener that uses the
 * adapter (one-call install).  127.0.0.1, ephemeral port, every wait
 * bounded; only the child this test started is ever signalled. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "harness.h"

#ifndef H_OPENSSL_EXE
#  define H_OPENSSL_EXE "openssl"
#endif

extern char **environ;

static h_pki g_pki;

static int group_setup(void **state) {
  (void)state;
  signal(SIGPIPE, SIG_IGN);
  return h_pki_init(&g_pki) ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  h_pki_free(&g_pki);
  return 0;
}

static int listen_loopback(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 4), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static pid_t spawn_sclient(uint16_t port, const char *sni, const char *out_path) {
  char connect[64];
  snprintf(connect, sizeof connect, "127.0.0.1:%u", (unsigned)port);
  const char *ca = h_path(&g_pki, 2, "server-ca.pem");
  char *argv[] = {(char *)H_OPENSSL_EXE, (char *)"s_client", (char *)"-connect", connect,
                  (char *)"-servername", (char *)sni, (char *)"-verify_hostname", (char *)sni,
                  (char *)"-CAfile", (char *)ca, (char *)"-verify_return_error",
                  (char *)"-alpn", (char *)"h2,http/1.1", (char *)"-brief", NULL};
  posix_spawn_file_actions_t fa;
  assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
  assert_int_equal(posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0), 0);
  assert_int_equal(
      posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
  assert_int_equal(posix_spawn_file_actions_adddup2(&fa, 1, 2), 0);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, H_OPENSSL_EXE, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  assert_int_equal(rc, 0);
  return pid;
}

/* Wait at most ~10 s for our child; kill it (by its PID) if it hangs. */
static int wait_child(pid_t pid) {
  int status = 0;
  for (int i = 0; i < 200; i++) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  fail_msg("openssl s_client did not finish in time");
  return -1;
}

static void read_file(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* Accept one connection (bounded) and run the server side of TLS on it. */
static SSL *serve_one(int lfd, h_server *srv, int *accepted_ok) {
  struct pollfd p = {lfd, POLLIN, 0};
  assert_int_equal(poll(&p, 1, 10000), 1);
  int fd = accept(lfd, NULL, NULL);
  assert_true(fd >= 0);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  SSL *s = SSL_new(srv->initial);
  assert_non_null(s);
  SSL_set_fd(s, fd);
  ERR_clear_error();
  *accepted_ok = SSL_accept(s) == 1;
  return s;
}

static void finish(SSL *s) {
  int fd = SSL_get_fd(s);
  if (SSL_is_init_finished(s)) {
    char buf[64];
    static const char hello[] = "hello from misdirect\n";
    SSL_write(s, hello, (int)sizeof hello - 1);
    SSL_read(s, buf, sizeof buf); /* s_client closes on stdin EOF */
    SSL_shutdown(s);
  }
  ERR_clear_error();
  SSL_free(s);
  close(fd);
}

static void test_s_client(void **state) {
  (void)state;
  h_server srv;
  assert_true(h_server_init(&srv, &g_pki, "web", MDR_OSSL_ALPN_STRICT));
  uint16_t port = 0;
  int lfd = listen_loopback(&port);
  char out[8192];
  const char *out_path = h_path(&g_pki, 0, "sclient.out");

  /* Known name: c's certificate, verified by s_client; ALPN among c's
   * protocols (h1 only). */
  pid_t pid = spawn_sclient(port, "C.Example", out_path);
  int ok = 0;
  SSL *s = serve_one(lfd, &srv, &ok);
  assert_true(ok);
  assert_int_equal(mdr_ossl_conn_vhost(s), h_vhost(srv.table, "c"));
  mdr_conn facts;
  memset(&facts, 0, sizeof facts);
  assert_int_equal(mdr_ossl_conn_facts(s, &facts), 0);
  assert_int_equal(facts.sni.len, 9);
  assert_memory_equal(facts.sni.ptr, "c.example", 9);
  assert_true(facts.has_alpn);
  assert_int_equal(facts.alpn.len, 8);
  assert_memory_equal(facts.alpn.ptr, "http/1.1", 8);
  finish(s);
  int code = wait_child(pid);
  read_file(out_path, out, sizeof out);
  if (code != 0 || !strstr(out, "Verification: OK")) fail_msg("s_client (exit %d):\n%s", code, out);
  assert_non_null(strstr(out, "c.example"));

  /* Unknown name on a strict listener: s_client sees unrecognized_name. */
  pid = spawn_sclient(port, "unknown.example", out_path);
  s = serve_one(lfd, &srv, &ok);
  assert_false(ok);
  assert_int_equal(mdr_ossl_conn_vhost(s), MDR_NONE);
  finish(s);
  code = wait_child(pid);
  read_file(out_path, out, sizeof out);
  assert_int_not_equal(code, 0);
  if (!strstr(out, "unrecognized name")) fail_msg("s_client output:\n%s", out);

  close(lfd);
  h_server_free(&srv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_s_client),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
