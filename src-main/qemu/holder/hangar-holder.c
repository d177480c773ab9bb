// hangar-holder: QEMU's parent for the life of one VM (see ARCHITECTURE.md, "What supervision
// costs"). A Node process per VM cost ~60 MiB; this costs about 1.5 MiB, because it only moves
// bytes: it parses nothing the guest or a client sends beyond looking for '\n', and every
// buffer is fixed or capped. Everything that interprets lives in the per-user keeper (qemu/keeper/, Node).
//
// Usage: hangar-holder RUN_DIR VM_DIR -- QEMU_BINARY QEMU_ARGS...
// The contract (stdin gate, sockets, the holder.sock lines, last-run.json) is written out in
// test/integration/holder.test.ts, which checks it point by point.
//
// HANGAR_HOLDER_SERIAL_LOG_MAX (bytes) overrides serial.log's 2 MiB cap. For tests only.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SCROLLBACK (256 * 1024)
#define STDERR_TAIL (16 * 1024)
#define SERIAL_LOG_MAX (2 * 1024 * 1024)
#define MAX_VIEWERS 64
#define VIEWER_QUEUE_MAX (1024 * 1024)
#define KEYS_MAX (64 * 1024)
#define QMP_LINE_MAX (1024 * 1024)
#define QMP_EARLY_MAX (64 * 1024)
#define QMP_OUT_MAX (8 * 1024 * 1024)
#define KEEPER_OUT_MAX (64 * 1024)
#define READ_CHUNK (64 * 1024)
#define DONE_WAIT_MS 10000
// After waitpid, how long QEMU's serial and stderr may stay open: only a child QEMU left
// behind could hold them, and that must not keep the VM's end from being told.
#define EOF_WAIT_MS 2000

// A byte queue that grows up to its owner's cap and gives its memory back once drained,
// so a viewer that caught up costs nothing.
typedef struct { char *d; size_t off, len, cap; } Queue;

static int q_push(Queue *q, const void *p, size_t n) {
  if (n == 0) return 0;
  if (q->off + q->len + n > q->cap) {
    if (q->off) memmove(q->d, q->d + q->off, q->len), q->off = 0;
    if (q->len + n > q->cap) {
      size_t cap = q->cap ? q->cap : 4096;
      while (cap < q->len + n) cap *= 2;
      char *d = realloc(q->d, cap);
      if (!d) return -1;
      q->d = d, q->cap = cap;
    }
  }
  memcpy(q->d + q->off + q->len, p, n);
  q->len += n;
  return 0;
}

static void q_drop(Queue *q, size_t n) {
  q->off += n, q->len -= n;
  if (q->len == 0) {
    q->off = 0;
    if (q->cap > 64 * 1024) free(q->d), q->d = NULL, q->cap = 0;
  }
}

static void q_free(Queue *q) { free(q->d); memset(q, 0, sizeof *q); }

// Writes what the socket takes now; -1 when the peer is gone.
static int q_flush(int fd, Queue *q) {
  while (q->len) {
    ssize_t n = write(fd, q->d + q->off, q->len);
    if (n > 0) { q_drop(q, (size_t)n); continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
  }
  return 0;
}

static const char *run_dir, *vm_dir;
static char path_pid[4096], path_console[4096], path_monitor[4096], path_holder[4096];
static char path_serial_log[4096], path_serial_old[4096], path_qemu_log[4096], path_lock[4096];
static int self_pipe[2] = {-1, -1};
static volatile sig_atomic_t term_pending;
static pid_t qemu_pid = -1;

// The serial port: scrollback ring, serial.log, viewers.
static char ring[SCROLLBACK];
static size_t ring_total;
static int serial_fd = -1, serial_log_fd = -1;
static size_t serial_log_size, serial_log_max = SERIAL_LOG_MAX;
static char log_note[6144]; // set once serial logging has stopped
static Queue keys; // viewers' keystrokes on their way to the guest
typedef struct { int fd; Queue out; } Viewer;
static Viewer viewers[MAX_VIEWERS];
static int viewer_count;

// QMP: QEMU's end, one client, what is held for the first client.
static int qmp_fd = -1, monitor_client = -1;
static Queue to_qemu, to_client, qmp_early, client_line;
static int qmp_ever_connected, qmp_early_overflowed, qemu_at_line_start = 1, client_synced;

// QEMU's stderr, and the keeper.
static int stderr_fd = -1, qemu_log_fd = -1, keeper = -1;
static char err_tail[STDERR_TAIL];
static size_t err_len;
static int err_truncated;
static Queue to_keeper;
static char sup_line[8];
static size_t sup_line_len;
static int exit_told, keeper_done;
static int exit_status, qemu_reaped;
static int listen_console = -1, listen_monitor = -1, listen_holder = -1;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void on_signal(int sig) {
  int saved = errno;
  if (sig == SIGTERM || sig == SIGINT) term_pending = 1;
  char byte = (char)sig;
  if (write(self_pipe[1], &byte, 1) < 0) {} // full pipe: a wakeup is already pending
  errno = saved;
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void close_fd(int *fd) { if (*fd >= 0) close(*fd); *fd = -1; }

// A line to the keeper. Its words must stay one line: control bytes become '?'.
static void tell_keeper(const char *fmt, ...) {
  if (keeper < 0) return;
  char line[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
  for (int i = 0; i < n; i++) if ((unsigned char)line[i] < 0x20) line[i] = '?';
  line[n++] = '\n';
  if (to_keeper.len + (size_t)n > KEEPER_OUT_MAX || q_push(&to_keeper, line, (size_t)n) < 0 || q_flush(keeper, &to_keeper) < 0) {
    close_fd(&keeper);
    q_free(&to_keeper);
  }
}

static void stop_serial_log(int err) {
  if (log_note[0]) return;
  close_fd(&serial_log_fd);
  char when[32];
  time_t t = time(NULL);
  struct tm tm;
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
  const char *why = err == ENOSPC ? "the disk is full (free some space)" : err == EDQUOT ? "your disk quota is used up" : err == EIO ? "the disk reported an input/output error" : err == EACCES || err == EPERM ? "Hangar may not write that file" : err == EROFS ? "the file system is read-only" : strerror(err);
  snprintf(log_note, sizeof log_note, "The serial output of this VM has not been saved to %s since %s: %s. It is saved again from the VM's next start.", path_serial_log, when, why);
  tell_keeper("log-stopped %s", log_note);
}

// Rotation as libvirt's virtlogd does it (one backup): rename replaces serial.log.1 in one step.
static int rotate_serial_log(void) {
  close_fd(&serial_log_fd);
  if (rename(path_serial_log, path_serial_old) < 0) return -1;
  serial_log_fd = open(path_serial_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  serial_log_size = 0;
  return serial_log_fd < 0 ? -1 : 0;
}

static void open_serial_log(void) {
  serial_log_fd = open(path_serial_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  struct stat st;
  // An older Hangar let QEMU make it; whatever its mode was, the guest's output is private.
  if (serial_log_fd < 0 || fchmod(serial_log_fd, 0600) < 0 || fstat(serial_log_fd, &st) < 0) { stop_serial_log(errno); return; }
  serial_log_size = (size_t)st.st_size;
  if (serial_log_size >= serial_log_max && rotate_serial_log() < 0) stop_serial_log(errno);
}

// A write to the page cache; a failure ends the logging, never the VM.
static void log_serial(const char *p, size_t n) {
  if (serial_log_fd < 0) return;
  if (n > serial_log_max) p += n - serial_log_max, n = serial_log_max;
  if (serial_log_size > 0 && serial_log_size + n > serial_log_max && rotate_serial_log() < 0) { stop_serial_log(errno); return; }
  while (n) {
    ssize_t w = write(serial_log_fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) { stop_serial_log(w < 0 ? errno : ENOSPC); return; }
    p += w, n -= (size_t)w, serial_log_size += (size_t)w;
  }
}

static void drop_viewer(int i) {
  close(viewers[i].fd);
  q_free(&viewers[i].out);
  viewers[i] = viewers[--viewer_count];
  memset(&viewers[viewer_count], 0, sizeof viewers[viewer_count]);
}

// To a viewer's queue; one that stopped reading past its allowance is cut off, never waited for.
static int viewer_send(int i, const void *p, size_t n) {
  Viewer *v = &viewers[i];
  int was_empty = v->out.len == 0;
  if (v->out.len + n > VIEWER_QUEUE_MAX || q_push(&v->out, p, n) < 0 || (was_empty && q_flush(v->fd, &v->out) < 0)) { drop_viewer(i); return -1; }
  return 0;
}

static void ring_put(const char *p, size_t n) {
  for (size_t i = 0; i < n;) {
    size_t at = ring_total % SCROLLBACK, take = SCROLLBACK - at;
    if (take > n - i) take = n - i;
    memcpy(ring + at, p + i, take);
    ring_total += take, i += take;
  }
}

// The last `want` bytes of a plain file, onto the ring.
static void ring_put_tail_of(const char *file, size_t want) {
  static char buf[READ_CHUNK];
  int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    size_t size = (size_t)st.st_size, at = size > want ? size - want : 0;
    while (at < size) {
      ssize_t n = pread(fd, buf, size - at < sizeof buf ? size - at : sizeof buf, (off_t)at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      ring_put(buf, (size_t)n);
      at += (size_t)n;
    }
  }
  close(fd);
}

// A QEMU that loads a saved state (-incoming) goes on with the run serial.log recorded, so
// the scrollback starts with that log's tail (serial.log.1's end first when serial.log is
// short): a viewer finds the console as it was when the VM was saved, not blank. A boot
// starts blank: the earlier run's text stays in the log.
static void seed_scrollback_if_resuming(char **qemu_args) {
  int resuming = 0;
  for (char **arg = qemu_args; *arg; arg++) resuming |= strcmp(*arg, "-incoming") == 0 || strcmp(*arg, "--incoming") == 0;
  if (!resuming) return;
  struct stat st;
  size_t newer = lstat(path_serial_log, &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size : 0;
  if (newer < SCROLLBACK) ring_put_tail_of(path_serial_old, SCROLLBACK - newer);
  ring_put_tail_of(path_serial_log, SCROLLBACK);
}

static void read_serial(void) {
  static char buf[READ_CHUNK];
  ssize_t n = read(serial_fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) { close_fd(&serial_fd); return; }
  ring_put(buf, (size_t)n);
  log_serial(buf, (size_t)n);
  for (int i = viewer_count - 1; i >= 0; i--) viewer_send(i, buf, (size_t)n);
}

static void accept_viewer(void) {
  int fd = accept4(listen_console, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;
  if (viewer_count == MAX_VIEWERS) { close(fd); return; }
  int i = viewer_count++;
  viewers[i].fd = fd;
  // The scrollback framed by its length (console-client.ts reads it), then the live stream.
  size_t kept = ring_total < SCROLLBACK ? ring_total : SCROLLBACK, oldest = ring_total < SCROLLBACK ? 0 : ring_total % SCROLLBACK;
  unsigned char head[4] = {(unsigned char)(kept >> 24), (unsigned char)(kept >> 16), (unsigned char)(kept >> 8), (unsigned char)kept};
  if (q_push(&viewers[i].out, head, 4) < 0 || q_push(&viewers[i].out, ring + oldest, kept - oldest) < 0 || q_push(&viewers[i].out, ring, oldest) < 0) { drop_viewer(i); return; }
  if (q_flush(fd, &viewers[i].out) < 0) drop_viewer(i);
}

static void read_viewer(int i) {
  char buf[4096];
  ssize_t n = read(viewers[i].fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) { drop_viewer(i); return; }
  if (serial_fd < 0) return;
  // A guest that does not read its serial port gets 64 KiB of keys queued; the rest is dropped.
  size_t room = KEYS_MAX - keys.len, take = (size_t)n < room ? (size_t)n : room;
  if (q_push(&keys, buf, take) == 0 && q_flush(serial_fd, &keys) < 0) q_drop(&keys, keys.len);
}

// QEMU's monitor output: to the client from a line boundary on, or held for the first client.
static void read_qmp(void) {
  static char buf[READ_CHUNK];
  ssize_t n = read(qmp_fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) { close_fd(&qmp_fd); return; }
  const char *p = buf;
  size_t len = (size_t)n;
  int ended_at_line = buf[n - 1] == '\n';
  if (!qmp_ever_connected) {
    if (!qmp_early_overflowed && qmp_early.len + len <= QMP_EARLY_MAX) q_push(&qmp_early, p, len);
    else qmp_early_overflowed = 1;
  } else if (monitor_client >= 0) {
    if (!client_synced) {
      const char *nl = memchr(p, '\n', len);
      if (nl) len -= (size_t)(nl + 1 - p), p = nl + 1, client_synced = 1;
      else len = 0;
    }
    if (len && (to_client.len + len > QMP_OUT_MAX || q_push(&to_client, p, len) < 0 || q_flush(monitor_client, &to_client) < 0)) {
      close_fd(&monitor_client);
      q_free(&to_client), q_free(&client_line);
    }
  }
  qemu_at_line_start = ended_at_line;
}

static void drop_monitor_client(void) {
  close_fd(&monitor_client);
  q_free(&to_client);
  q_free(&client_line); // a partial line never reaches QEMU
}

static void accept_monitor(void) {
  int fd = accept4(listen_monitor, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;
  if (monitor_client >= 0) { close(fd); return; }
  monitor_client = fd;
  if (!qmp_ever_connected) {
    qmp_ever_connected = 1;
    if (qmp_early_overflowed) {
      // Only whole lines: what was held is cut back to its last line end.
      char *last = qmp_early.len ? memrchr(qmp_early.d + qmp_early.off, '\n', qmp_early.len) : NULL;
      qmp_early.len = last ? (size_t)(last + 1 - (qmp_early.d + qmp_early.off)) : 0;
      client_synced = qemu_at_line_start;
    } else client_synced = 1;
    if (q_push(&to_client, qmp_early.d + qmp_early.off, qmp_early.len) < 0) { drop_monitor_client(); return; }
    q_free(&qmp_early);
  } else client_synced = qemu_at_line_start;
  if (q_flush(fd, &to_client) < 0) drop_monitor_client();
}

// Client to QEMU: whole lines only, so a client that leaves mid-command cannot garble the next one's.
static void read_monitor_client(void) {
  char buf[READ_CHUNK];
  ssize_t n = read(monitor_client, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) { drop_monitor_client(); return; }
  char *nl = memrchr(buf, '\n', (size_t)n);
  if (nl) {
    size_t whole = (size_t)(nl + 1 - buf);
    if (q_push(&to_qemu, client_line.d + client_line.off, client_line.len) < 0 || q_push(&to_qemu, buf, whole) < 0) { drop_monitor_client(); return; }
    q_drop(&client_line, client_line.len);
    if (q_push(&client_line, nl + 1, (size_t)n - whole) < 0) { drop_monitor_client(); return; }
    if (qmp_fd >= 0 && q_flush(qmp_fd, &to_qemu) < 0) q_free(&to_qemu);
  } else if (client_line.len + (size_t)n > QMP_LINE_MAX || q_push(&client_line, buf, (size_t)n) < 0) {
    drop_monitor_client();
    return;
  }
  if (client_line.len > QMP_LINE_MAX) drop_monitor_client();
}

static void read_stderr(void) {
  char buf[READ_CHUNK];
  ssize_t n = read(stderr_fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) { close_fd(&stderr_fd); return; }
  if (qemu_log_fd >= 0 && write(qemu_log_fd, buf, (size_t)n) < 0) {} // a full disk costs the log only
  size_t len = (size_t)n;
  const char *p = buf;
  if (len >= STDERR_TAIL) p += len - STDERR_TAIL, len = STDERR_TAIL, err_len = 0, err_truncated = 1;
  if (err_len + len > STDERR_TAIL) {
    size_t drop = err_len + len - STDERR_TAIL;
    memmove(err_tail, err_tail + drop, err_len - drop);
    err_len -= drop, err_truncated = 1;
  }
  memcpy(err_tail + err_len, p, len);
  err_len += len;
}

static void accept_keeper(void) {
  int fd = accept4(listen_holder, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;
  if (keeper >= 0) { close(fd); return; }
  keeper = fd;
  sup_line_len = 0;
  tell_keeper("hello %d %d", (int)getpid(), (int)qemu_pid);
  if (log_note[0]) tell_keeper("log-stopped %s", log_note);
}

// Before the exit line what the keeper writes is ignored; after it, only a "done" line counts.
static void read_keeper(void) {
  char buf[4096];
  ssize_t n = read(keeper, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) { close_fd(&keeper); q_free(&to_keeper); return; }
  if (!exit_told) return;
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] == '\n') {
      if (sup_line_len == 4 && memcmp(sup_line, "done", 4) == 0) keeper_done = 1;
      sup_line_len = 0;
    } else if (sup_line_len < sizeof sup_line) sup_line[sup_line_len++] = buf[i];
  }
}

// JSON string with every byte sequence that is not UTF-8 written as U+FFFD.
static void json_string(FILE *f, const unsigned char *s, size_t n) {
  fputc('"', f);
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    if (c < 0x80) {
      if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
      else if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
      else fputc((int)c, f);
      i++;
      continue;
    }
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    int ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; k++) ok = (s[i + k] & 0xc0) == 0x80;
    // Overlong forms, surrogates and code points past U+10FFFF.
    if (ok && len == 3) ok = !(c == 0xe0 && s[i + 1] < 0xa0) && !(c == 0xed && s[i + 1] >= 0xa0);
    if (ok && len == 4) ok = !(c == 0xf0 && s[i + 1] < 0x90) && !(c == 0xf4 && s[i + 1] >= 0x90);
    if (ok) fwrite(s + i, 1, len, f), i += len;
    else fputs("\xef\xbf\xbd", f), i++;
  }
  fputc('"', f);
}

static void signal_name(int sig, char *out, size_t size) {
  const char *abbrev = sigabbrev_np(sig);
  if (abbrev) snprintf(out, size, "SIG%s", abbrev);
  else snprintf(out, size, "SIG%d", sig);
}

// last-run.json (src-main/vms/run-record.ts), written when no keeper took the end over.
static void write_last_run(void) {
  int exited = WIFEXITED(exit_status), code = exited ? WEXITSTATUS(exit_status) : -1;
  char sig[32] = "";
  if (WIFSIGNALED(exit_status)) signal_name(WTERMSIG(exit_status), sig, sizeof sig);
  int stopped = exited && code == 0;
  char message[8192] = "";
  if (!stopped && sig[0]) snprintf(message, sizeof message, "QEMU ended unexpectedly (signal %s).", sig);
  else if (!stopped) snprintf(message, sizeof message, "QEMU ended with exit status %d.", code);
  if (log_note[0]) snprintf(message + strlen(message), sizeof message - strlen(message), "%s%s", message[0] ? " " : "", log_note);
  // The last 10 non-empty lines of stderr (the first is dropped when the tail cut into it).
  const char *lines[10];
  size_t lens[10], count = 0, start = 0;
  if (err_truncated) { char *nl = memchr(err_tail, '\n', err_len); start = nl ? (size_t)(nl + 1 - err_tail) : err_len; }
  for (size_t i = start; i < err_len;) {
    char *nl = memchr(err_tail + i, '\n', err_len - i);
    size_t end = nl ? (size_t)(nl - err_tail) : err_len, len = end - i;
    if (len && err_tail[i + len - 1] == '\r') len--;
    if (len) {
      if (count == 10) memmove(lines, lines + 1, 9 * sizeof *lines), memmove(lens, lens + 1, 9 * sizeof *lens), count = 9;
      lines[count] = err_tail + i, lens[count++] = len > 1000 ? 1000 : len; // the schema's lines are short
    }
    i = end + 1;
  }
  char temp[4200], final[4200], when[40];
  snprintf(final, sizeof final, "%s/last-run.json", vm_dir);
  snprintf(temp, sizeof temp, "%s/.last-run.json.%d.tmp", vm_dir, (int)getpid());
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  struct tm tm;
  strftime(when, 24, "%Y-%m-%dT%H:%M:%S", gmtime_r(&t.tv_sec, &tm));
  snprintf(when + strlen(when), sizeof when - strlen(when), ".%03dZ", (int)(t.tv_nsec / 1000000));
  int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) { if (fd >= 0) close(fd), unlink(temp); return; }
  fprintf(f, "{\"state\":\"%s\",\"problem\":", stopped ? "stopped" : "crashed");
  if (!message[0]) fputs("null", f);
  else {
    fputs("{\"message\":", f);
    json_string(f, (const unsigned char *)message, strlen(message) > 3000 ? 3000 : strlen(message));
    fputs(",\"log\":[", f);
    for (size_t i = 0; !stopped && i < count; i++) { if (i) fputc(',', f); json_string(f, (const unsigned char *)lines[i], lens[i]); }
    fputs("]}", f);
  }
  fprintf(f, ",\"endedAt\":\"%s\",\"exitCode\":", when);
  if (exited) fprintf(f, "%d", code); else fputs("null", f);
  fputs(",\"signal\":", f);
  if (sig[0]) fprintf(f, "\"%s\"", sig); else fputs("null", f);
  fputs("}\n", f);
  // Whole or absent: flushed, then renamed over the old record.
  int bad = fflush(f) != 0 || fsync(fd) != 0;
  bad |= fclose(f) != 0;
  if (bad || rename(temp, final) < 0) { unlink(temp); return; }
  int dir = open(vm_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) fsync(dir), close(dir);
}

// RUN_DIR's entries (sockets, files, one level of folders), then RUN_DIR itself.
static void remove_run_dir(void) {
  DIR *d = opendir(run_dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      if (unlinkat(dirfd(d), e->d_name, 0) == 0) continue;
      int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      DIR *sd = sub >= 0 ? fdopendir(sub) : NULL;
      if (!sd) { if (sub >= 0) close(sub); continue; }
      struct dirent *se;
      while ((se = readdir(sd))) if (strcmp(se->d_name, ".") && strcmp(se->d_name, "..")) unlinkat(sub, se->d_name, 0);
      closedir(sd);
      unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
    }
    closedir(d);
  }
  rmdir(run_dir);
}

// The VM's lock goes only when it names this holder ("PID purpose since", src-main/vms/lock.ts).
static void release_lock(void) {
  char target[256], mine[32];
  ssize_t n = readlink(path_lock, target, sizeof target - 1);
  if (n < 0) return;
  target[n] = 0;
  int len = snprintf(mine, sizeof mine, "%d ", (int)getpid());
  if (strncmp(target, mine, (size_t)len) == 0) unlink(path_lock);
}

static int listen_on(const char *file) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(file) >= sizeof addr.sun_path) { errno = ENAMETOOLONG; return -1; }
  strcpy(addr.sun_path, file);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  unlink(file);
  // 0600 from the start: the socket file takes its mode from the umask at bind().
  mode_t old = umask(0177);
  int ok = bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
  umask(old);
  if (!ok || listen(fd, SOMAXCONN) < 0) { int e = errno; close(fd); errno = e; return -1; }
  return fd;
}

static int created_run_dir;
static void fail(const char *what) {
  printf("failed %s: %s\n", what, strerror(errno));
  fflush(stdout);
  close_fd(&listen_console), close_fd(&listen_monitor), close_fd(&listen_holder);
  unlink(path_console), unlink(path_monitor), unlink(path_holder), unlink(path_pid);
  if (created_run_dir) rmdir(run_dir);
  exit(1);
}

static void usage(void) {
  fputs("Usage: hangar-holder RUN_DIR VM_DIR -- QEMU_BINARY QEMU_ARGS...\n(RUN_DIR and VM_DIR absolute; then write \"go\\n\" on its stdin)\n", stderr);
  exit(2);
}

static void path_in(char *out, const char *dir, const char *name) {
  if ((size_t)snprintf(out, 4096, "%s/%s", dir, name) >= 4096) usage();
}

int main(int argc, char **argv) {
  if (argc < 5 || argv[1][0] != '/' || argv[2][0] != '/' || strcmp(argv[3], "--") != 0) usage();
  run_dir = argv[1], vm_dir = argv[2];
  path_in(path_pid, run_dir, "holder.pid"), path_in(path_console, run_dir, "console.sock");
  path_in(path_monitor, run_dir, "monitor.sock"), path_in(path_holder, run_dir, "holder.sock");
  path_in(path_serial_log, vm_dir, "serial.log"), path_in(path_serial_old, vm_dir, "serial.log.1");
  path_in(path_qemu_log, vm_dir, "qemu.log"), path_in(path_lock, vm_dir, "lock");
  const char *cap = getenv("HANGAR_HOLDER_SERIAL_LOG_MAX");
  if (cap && strtoull(cap, NULL, 10) > 0) serial_log_max = (size_t)strtoull(cap, NULL, 10);

  umask(077);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);

  // The gate: the keeper takes the VM's lock in our name between spawning us and "go".
  char gate[16];
  size_t got = 0;
  int line_ended = 0;
  while (got < sizeof gate && !line_ended) {
    ssize_t n = read(0, gate + got, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    line_ended = gate[got++] == '\n';
  }
  if (!line_ended || got != 3 || memcmp(gate, "go", 2) != 0) return 0; // EOF, or not for us: nothing was made
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) fail("/dev/null");
  dup2(devnull, 0);

  if (mkdir(run_dir, 0700) == 0) created_run_dir = 1;
  else if (errno != EEXIST) fail(run_dir);
  int serial_pair[2], qmp_pair[2], err_pipe[2];
  if (pipe2(self_pipe, O_CLOEXEC | O_NONBLOCK) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, serial_pair) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp_pair) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) fail("cannot create QEMU's channels");
  char pid_line[32];
  int pid_len = snprintf(pid_line, sizeof pid_line, "%d\n", (int)getpid());
  int pid_fd = open(path_pid, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (pid_fd < 0 || write(pid_fd, pid_line, (size_t)pid_len) != pid_len || close(pid_fd) < 0) fail(path_pid);
  // Listening before QEMU runs: a socket that cannot be made then costs no QEMU to kill.
  if ((listen_console = listen_on(path_console)) < 0) fail(path_console);
  if ((listen_monitor = listen_on(path_monitor)) < 0) fail(path_monitor);
  if ((listen_holder = listen_on(path_holder)) < 0) fail(path_holder);
  // Before QEMU starts, so its first boot line is kept; failing to open it is only a note.
  open_serial_log();
  seed_scrollback_if_resuming(argv + 5);
  qemu_log_fd = open(path_qemu_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  qemu_pid = fork();
  if (qemu_pid < 0) fail("cannot start QEMU");
  if (qemu_pid == 0) {
    // QEMU's own signal dispositions are its business (an ignored SIGHUP or SIGPIPE would be inherited).
    int sigs[] = {SIGPIPE, SIGHUP, SIGCHLD, SIGTERM, SIGINT};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) signal(sigs[i], SIG_DFL);
    // Moved above 4 first, so that dup2 never meets a source already at its target.
    int src[5] = {fcntl(devnull, F_DUPFD, 10), fcntl(devnull, F_DUPFD, 10), fcntl(err_pipe[1], F_DUPFD, 10), fcntl(serial_pair[1], F_DUPFD, 10), fcntl(qmp_pair[1], F_DUPFD, 10)};
    for (int i = 0; i < 5; i++) if (src[i] < 0 || dup2(src[i], i) < 0) _exit(127);
    close_range(5, ~0U, 0);
    execvp(argv[4], argv + 4);
    dprintf(2, "hangar-holder: could not run %s: %s\n", argv[4], strerror(errno));
    _exit(127);
  }
  close(serial_pair[1]), close(qmp_pair[1]), close(err_pipe[1]);
  serial_fd = serial_pair[0], qmp_fd = qmp_pair[0], stderr_fd = err_pipe[0];
  set_nonblock(serial_fd), set_nonblock(qmp_fd), set_nonblock(stderr_fd);

  printf("started %d\n", (int)qemu_pid);
  fflush(stdout);
  dup2(devnull, 1);
  close(devnull);

  long long reaped_at = 0, ended_at = 0;
  for (;;) {
    if (term_pending && !qemu_reaped) { kill(qemu_pid, SIGTERM); term_pending = 0; }
    int ended = qemu_reaped && ((serial_fd < 0 && stderr_fd < 0) || now_ms() - reaped_at >= EOF_WAIT_MS);
    if (ended && !ended_at) {
      ended_at = now_ms();
      // The viewers and the monitor client see the end now; what they were sent last goes first.
      for (int i = viewer_count - 1; i >= 0; i--) { q_flush(viewers[i].fd, &viewers[i].out); drop_viewer(i); }
      if (monitor_client >= 0) q_flush(monitor_client, &to_client);
      drop_monitor_client();
      close_fd(&listen_console), close_fd(&listen_monitor);
      close_fd(&serial_fd), close_fd(&stderr_fd), close_fd(&qmp_fd);
      char code[16] = "-", sig[32] = "-";
      if (WIFEXITED(exit_status)) snprintf(code, sizeof code, "%d", WEXITSTATUS(exit_status));
      if (WIFSIGNALED(exit_status)) signal_name(WTERMSIG(exit_status), sig, sizeof sig);
      tell_keeper("exit %s %s", code, sig);
      exit_told = 1;
    }
    if (ended && (keeper < 0 || keeper_done || now_ms() - ended_at >= DONE_WAIT_MS)) break;

    struct pollfd fds[8 + MAX_VIEWERS];
    int nfds = 0, at_self, at_serial = -1, at_qmp = -1, at_err = -1, at_lc = -1, at_lm = -1, at_lh = -1, at_mc = -1, at_sup = -1, at_view = 0;
#define WATCH(var, fd_, ev) do { var = nfds; fds[nfds++] = (struct pollfd){.fd = (fd_), .events = (ev)}; } while (0)
    WATCH(at_self, self_pipe[0], POLLIN);
    if (serial_fd >= 0) WATCH(at_serial, serial_fd, POLLIN | (keys.len ? POLLOUT : 0));
    if (qmp_fd >= 0) WATCH(at_qmp, qmp_fd, POLLIN | (to_qemu.len ? POLLOUT : 0));
    if (stderr_fd >= 0) WATCH(at_err, stderr_fd, POLLIN);
    if (listen_console >= 0) WATCH(at_lc, listen_console, POLLIN);
    if (listen_monitor >= 0) WATCH(at_lm, listen_monitor, POLLIN);
    if (listen_holder >= 0) WATCH(at_lh, listen_holder, POLLIN);
    // A client whose commands QEMU has not taken yet waits: that is its backpressure.
    if (monitor_client >= 0) WATCH(at_mc, monitor_client, (to_qemu.len < QMP_LINE_MAX ? POLLIN : 0) | (to_client.len ? POLLOUT : 0));
    if (keeper >= 0) WATCH(at_sup, keeper, POLLIN | (to_keeper.len ? POLLOUT : 0));
    at_view = nfds;
    int polled_viewers = viewer_count;
    for (int i = 0; i < viewer_count; i++) fds[nfds++] = (struct pollfd){.fd = viewers[i].fd, .events = POLLIN | (viewers[i].out.len ? POLLOUT : 0)};

    int timeout = -1;
    if (qemu_reaped && !ended) timeout = (int)(EOF_WAIT_MS - (now_ms() - reaped_at));
    if (ended) timeout = (int)(DONE_WAIT_MS - (now_ms() - ended_at));
    if (timeout < -1) timeout = 0;
    if (poll(fds, (nfds_t)nfds, timeout) < 0 && errno != EINTR) break;

    if (fds[at_self].revents) {
      char drain[64];
      while (read(self_pipe[0], drain, sizeof drain) > 0) {}
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        if (pid == qemu_pid) exit_status = status, qemu_reaped = 1, reaped_at = now_ms();
    }
    // Viewers first (by fd, since dropping one moves another into its place).
    for (int k = polled_viewers - 1; k >= 0; k--) {
      struct pollfd *pf = &fds[at_view + k];
      int i = -1;
      for (int j = 0; j < viewer_count; j++) if (viewers[j].fd == pf->fd) i = j;
      if (i < 0 || !pf->revents) continue;
      if (pf->revents & POLLOUT && q_flush(viewers[i].fd, &viewers[i].out) < 0) { drop_viewer(i); continue; }
      if (pf->revents & (POLLIN | POLLHUP | POLLERR)) read_viewer(i);
    }
    if (at_serial >= 0 && serial_fd >= 0 && fds[at_serial].revents & POLLOUT && q_flush(serial_fd, &keys) < 0) q_drop(&keys, keys.len);
    if (at_serial >= 0 && serial_fd >= 0 && fds[at_serial].revents & (POLLIN | POLLHUP | POLLERR)) read_serial();
    if (at_qmp >= 0 && qmp_fd >= 0 && fds[at_qmp].revents & POLLOUT && q_flush(qmp_fd, &to_qemu) < 0) q_drop(&to_qemu, to_qemu.len);
    if (at_qmp >= 0 && qmp_fd >= 0 && fds[at_qmp].revents & (POLLIN | POLLHUP | POLLERR)) read_qmp();
    if (at_err >= 0 && stderr_fd >= 0 && fds[at_err].revents) read_stderr();
    if (at_mc >= 0 && monitor_client >= 0 && fds[at_mc].revents & POLLOUT && q_flush(monitor_client, &to_client) < 0) drop_monitor_client();
    if (at_mc >= 0 && monitor_client >= 0 && fds[at_mc].revents & (POLLIN | POLLHUP | POLLERR)) read_monitor_client();
    if (at_sup >= 0 && keeper >= 0 && fds[at_sup].revents & POLLOUT && q_flush(keeper, &to_keeper) < 0) { close_fd(&keeper); q_free(&to_keeper); }
    if (at_sup >= 0 && keeper >= 0 && fds[at_sup].revents & (POLLIN | POLLHUP | POLLERR)) read_keeper();
    if (at_lc >= 0 && listen_console >= 0 && fds[at_lc].revents) accept_viewer();
    if (at_lm >= 0 && listen_monitor >= 0 && fds[at_lm].revents) accept_monitor();
    if (at_lh >= 0 && listen_holder >= 0 && fds[at_lh].revents) accept_keeper();
  }

  // The record is ours unless the keeper said "done": it then wrote it itself.
  if (!keeper_done) write_last_run();
  close_fd(&listen_holder);
  close_fd(&serial_log_fd), close_fd(&qemu_log_fd);
  remove_run_dir();
  release_lock();
  // Closed last: its end tells the keeper that the lock and the run folder are gone.
  if (keeper >= 0) q_flush(keeper, &to_keeper);
  close_fd(&keeper);
  return 0;
}
