/* Replay runner: calls LLVMFuzzerTestOneInput for every file named on the
 * command line (directories are walked, one level, in name order), without
 * libFuzzer, so any compiler's build replays the corpus as a ctest test.
 * Each input is copied so that its last byte sits right before a PROT_NONE
 * page: a read past the end crashes even without ASan. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int read_file(const char *path, uint8_t **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  if (!buf) {
    fclose(f);
    return -1;
  }
  for (;;) {
    if (n == cap) {
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        fclose(f);
        return -1;
      }
      buf = nb;
      cap *= 2;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    return -1;
  }
  *out = buf;
  *len = n;
  return 0;
}

/* Run one input placed flush against a guard page. */
static int run_guarded(const uint8_t *data, size_t size) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t body = (size + page - 1) / page * page;
  if (body == 0) body = page;
  uint8_t *map = mmap(NULL, body + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) return -1;
  if (mprotect(map + body, page, PROT_NONE) != 0) {
    munmap(map, body + page);
    return -1;
  }
  uint8_t *p = map + body - size;
  if (size) memcpy(p, data, size);
  LLVMFuzzerTestOneInput(p, size);
  munmap(map, body + page);
  return 0;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_path(const char *path, size_t *count) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    if (!d) return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      if (n == cap) {
        cap = cap ? cap * 2 : 64;
        char **nn = realloc(names, cap * sizeof *nn);
        if (!nn) abort();
        names = nn;
      }
      size_t len = strlen(path) + strlen(e->d_name) + 2;
      names[n] = malloc(len);
      if (!names[n]) abort();
      snprintf(names[n], len, "%s/%s", path, e->d_name);
      n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
      if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
        rc = replay_path(names[i], count);
      free(names[i]);
    }
    free(names);
    return rc;
  }
  uint8_t *data;
  size_t size;
  if (read_file(path, &data, &size) != 0) {
    fprintf(stderr, "replay: cannot read %s\n", path);
    return -1;
  }
  if (getenv("MISDIRECT_REPLAY_VERBOSE")) fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
  int rc = run_guarded(data, size);
  free(data);
  if (rc != 0) {
    fprintf(stderr, "replay: cannot map a guard page for %s\n", path);
    return -1;
  }
  (*count)++;
  return 0;
}

int main(int argc, char **argv) {
  LLVMFuzzerInitialize(&argc, &argv);
  size_t count = 0;
  for (int i = 1; i < argc; i++)
    if (replay_path(argv[i], &count) != 0) return 1;
  printf("replayed %zu inputs\n", count);
  return count > 0 ? 0 : 1;
}
