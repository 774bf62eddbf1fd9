// tsbpf native addon: the thin N-API layer that performs system calls for the TypeScript side.
// No logic lives here: each function checks its arguments, makes one call and reports errno as a JS error.

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <node_api.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <uv.h>

/* ---------- error reporting ---------- */

/* Set by every failing N-API call wrapper below; a pending exception is already thrown. */
#define NAPI_CALL(env, call)                                                                          \
  do {                                                                                                \
    if ((call) != napi_ok) {                                                                          \
      throw_napi_failure((env), #call);                                                               \
      return NULL;                                                                                    \
    }                                                                                                 \
  } while (0)

static void throw_napi_failure(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  char msg[256];
  snprintf(msg, sizeof msg, "tsbpf native: %s failed: %s", what,
           info && info->error_message ? info->error_message : "unknown N-API error");
  napi_throw_error(env, "ERR_TSBPF_NAPI", msg);
}

/* Throws Error{code: errno name, errno: positive number, syscall: op, message: "op: strerror"}. */
static void throw_errno(napi_env env, const char *op, int err) {
  const char *name = strerrorname_np(err);
  char codebuf[32];
  if (name == NULL) {
    snprintf(codebuf, sizeof codebuf, "E%d", err);
    name = codebuf;
  }
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", op, strerror(err));
  napi_value code, message, error, errno_value, syscall_value;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) != napi_ok ||
      napi_create_error(env, code, message, &error) != napi_ok ||
      napi_create_int32(env, err, &errno_value) != napi_ok ||
      napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &syscall_value) != napi_ok ||
      napi_set_named_property(env, error, "errno", errno_value) != napi_ok ||
      napi_set_named_property(env, error, "syscall", syscall_value) != napi_ok) {
    throw_napi_failure(env, "creating the error object");
    return;
  }
  napi_throw(env, error);
}

static void throw_type(napi_env env, const char *fn, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "tsbpf native %s: %s", fn, what);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
}

/* ---------- argument helpers (return false with a pending exception on failure) ---------- */

#define MAX_ARGS 6

typedef struct {
  napi_value argv[MAX_ARGS];
  size_t argc;
  napi_value self;
  void *data;
} args_t;

static bool get_args(napi_env env, napi_callback_info info, args_t *a, size_t need, const char *fn) {
  a->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, &a->self, &a->data) != napi_ok) {
    throw_napi_failure(env, "napi_get_cb_info");
    return false;
  }
  if (a->argc < need) {
    char msg[96];
    snprintf(msg, sizeof msg, "expected %zu arguments, got %zu", need, a->argc);
    throw_type(env, fn, msg);
    return false;
  }
  return true;
}

static bool get_i64(napi_env env, napi_value v, int64_t *out, const char *fn) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    if (d != d || d < -9007199254740992.0 || d > 9007199254740992.0 || (double)(int64_t)d != d) {
      throw_type(env, fn, "expected a safe integer");
      return false;
    }
    *out = (int64_t)d;
    return true;
  }
  if (t == napi_bigint) {
    bool lossless;
    napi_get_value_bigint_int64(env, v, out, &lossless);
    if (!lossless) {
      /* accept values in the u64 range too (pointers, RLIM_INFINITY): reinterpret the bits */
      uint64_t u;
      napi_get_value_bigint_uint64(env, v, &u, &lossless);
      if (!lossless) {
        throw_type(env, fn, "bigint does not fit in 64 bits");
        return false;
      }
      *out = (int64_t)u;
    }
    return true;
  }
  throw_type(env, fn, "expected a number or bigint");
  return false;
}

static bool get_i32(napi_env env, napi_value v, int32_t *out, const char *fn) {
  int64_t x;
  if (!get_i64(env, v, &x, fn)) return false;
  if (x < INT32_MIN || x > (int64_t)UINT32_MAX) {
    throw_type(env, fn, "integer out of 32-bit range");
    return false;
  }
  *out = (int32_t)x;
  return true;
}

/* Data pointer and length of a TypedArray, DataView or ArrayBuffer. */
static bool get_bytes(napi_env env, napi_value v, void **data, size_t *len, const char *fn) {
  bool is;
  napi_is_typedarray(env, v, &is);
  if (is) {
    napi_typedarray_type type;
    size_t length, offset;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok) {
      throw_napi_failure(env, "napi_get_typedarray_info");
      return false;
    }
    size_t elem = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: elem = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
      default: elem = 1;
    }
    *len = length * elem;
    return true;
  }
  napi_is_dataview(env, v, &is);
  if (is) {
    napi_value ab;
    size_t offset;
    if (napi_get_dataview_info(env, v, len, data, &ab, &offset) != napi_ok) {
      throw_napi_failure(env, "napi_get_dataview_info");
      return false;
    }
    return true;
  }
  napi_is_arraybuffer(env, v, &is);
  if (is) {
    if (napi_get_arraybuffer_info(env, v, data, len) != napi_ok) {
      throw_napi_failure(env, "napi_get_arraybuffer_info");
      return false;
    }
    return true;
  }
  throw_type(env, fn, "expected a TypedArray, DataView or ArrayBuffer");
  return false;
}

/* Copies a JS string into a malloc'd NUL-terminated buffer; null/undefined give NULL when allowed. */
static bool get_string(napi_env env, napi_value v, char **out, bool nullable, const char *fn) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (nullable && (t == napi_null || t == napi_undefined)) {
    *out = NULL;
    return true;
  }
  if (t != napi_string) {
    throw_type(env, fn, "expected a string");
    return false;
  }
  size_t len;
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  char *s = malloc(len + 1);
  if (s == NULL) {
    throw_errno(env, fn, ENOMEM);
    return false;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  *out = s;
  return true;
}

static napi_value make_i64(napi_env env, int64_t x) {
  napi_value v;
  napi_create_int64(env, x, &v);
  return v;
}

static napi_value make_u64_bigint(napi_env env, uint64_t x) {
  napi_value v;
  napi_create_bigint_uint64(env, x, &v);
  return v;
}

static napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

/* ---------- bpf, perf_event_open, ioctl, close, dup ---------- */

/* bpf(cmd, attr, op): number */
static napi_value js_bpf(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 3, "bpf")) return NULL;
  int32_t cmd;
  void *attr;
  size_t size;
  char *op;
  if (!get_i32(env, a.argv[0], &cmd, "bpf") || !get_bytes(env, a.argv[1], &attr, &size, "bpf") ||
      !get_string(env, a.argv[2], &op, false, "bpf"))
    return NULL;
  long r = syscall(__NR_bpf, cmd, attr, (unsigned int)size);
  if (r < 0) {
    throw_errno(env, op, errno);
    free(op);
    return NULL;
  }
  free(op);
  return make_i64(env, r);
}

/* bpfTry(cmd, attr): number — like bpf() but returns -errno instead of throwing (cheap expected failures). */
static napi_value js_bpf_try(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 2, "bpfTry")) return NULL;
  int32_t cmd;
  void *attr;
  size_t size;
  if (!get_i32(env, a.argv[0], &cmd, "bpfTry") || !get_bytes(env, a.argv[1], &attr, &size, "bpfTry")) return NULL;
  long r = syscall(__NR_bpf, cmd, attr, (unsigned int)size);
  return make_i64(env, r < 0 ? -errno : r);
}

/* addressOf(view): bigint — address of the first byte of the view's data. */
static napi_value js_address_of(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1, "addressOf")) return NULL;
  void *data;
  size_t len;
  if (!get_bytes(env, a.argv[0], &data, &len, "addressOf")) return NULL;
  return make_u64_bigint(env, (uint64_t)(uintptr_t)data);
}

/* perfEventOpen(attr, pid, cpu, groupFd, flags): number */
static napi_value js_perf_event_open(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 5, "perfEventOpen")) return NULL;
  void *attr;
  size_t size;
  int32_t pid, cpu, group;
  int64_t flags;
  if (!get_bytes(env, a.argv[0], &attr, &size, "perfEventOpen") ||
      !get_i32(env, a.argv[1], &pid, "perfEventOpen") || !get_i32(env, a.argv[2], &cpu, "perfEventOpen") ||
      !get_i32(env, a.argv[3], &group, "perfEventOpen") || !get_i64(env, a.argv[4], &flags, "perfEventOpen"))
    return NULL;
  long r = syscall(__NR_perf_event_open, attr, pid, cpu, group, (unsigned long)flags);
  if (r < 0) {
    throw_errno(env, "perf_event_open", errno);
    return NULL;
  }
  return make_i64(env, r);
}

/* ioctl(fd, request, arg): number — arg is an integer or a pointer value. */
static napi_value js_ioctl(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 3, "ioctl")) return NULL;
  int32_t fd;
  int64_t req, arg;
  if (!get_i32(env, a.argv[0], &fd, "ioctl") || !get_i64(env, a.argv[1], &req, "ioctl") ||
      !get_i64(env, a.argv[2], &arg, "ioctl"))
    return NULL;
  int r = ioctl(fd, (unsigned long)req, (unsigned long)arg);
  if (r < 0) {
    throw_errno(env, "ioctl", errno);
    return NULL;
  }
  return make_i64(env, r);
}

/* close(fd): undefined */
static napi_value js_close(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1, "close")) return NULL;
  int32_t fd;
  if (!get_i32(env, a.argv[0], &fd, "close")) return NULL;
  if (close(fd) < 0 && errno != EINTR) {
    throw_errno(env, "close", errno);
    return NULL;
  }
  return undefined(env);
}

/* dup(fd): number — a close-on-exec duplicate. */
static napi_value js_dup(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1, "dup")) return NULL;
  int32_t fd;
  if (!get_i32(env, a.argv[0], &fd, "dup")) return NULL;
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (r < 0) {
    throw_errno(env, "dup", errno);
    return NULL;
  }
  return make_i64(env, r);
}

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434 /* the same number on every architecture */
#endif

/* pidfdOpen(pid, flags): number — a pidfd (close-on-exec by the kernel) for task storage maps. */
static napi_value js_pidfd_open(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 2, "pidfd_open")) return NULL;
  int32_t pid, flags;
  if (!get_i32(env, a.argv[0], &pid, "pidfd_open") || !get_i32(env, a.argv[1], &flags, "pidfd_open")) return NULL;
  long r = syscall(SYS_pidfd_open, pid, (unsigned int)flags);
  if (r < 0) {
    throw_errno(env, "pidfd_open", errno);
    return NULL;
  }
  return make_i64(env, r);
}

/* ---------- mmap / munmap ---------- */

typedef struct mapping {
  struct mapping *next;
  void *addr;
  size_t length;
  bool unmapped;
} mapping_t;

static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;
static mapping_t *mappings = NULL;

static void mapping_unlink(mapping_t *m) {
  for (mapping_t **p = &mappings; *p; p = &(*p)->next) {
    if (*p == m) {
      *p = m->next;
      return;
    }
  }
}

static void mapping_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  mapping_t *m = hint;
  pthread_mutex_lock(&mappings_lock);
  mapping_unlink(m);
  bool unmapped = m->unmapped;
  pthread_mutex_unlock(&mappings_lock);
  if (!unmapped) munmap(m->addr, m->length);
  free(m);
}

/* mmap(fd, length, prot, flags, offset): ArrayBuffer — an external buffer over the mapping. */
static napi_value js_mmap(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 5, "mmap")) return NULL;
  int32_t fd, prot, flags;
  int64_t length, offset;
  if (!get_i32(env, a.argv[0], &fd, "mmap") || !get_i64(env, a.argv[1], &length, "mmap") ||
      !get_i32(env, a.argv[2], &prot, "mmap") || !get_i32(env, a.argv[3], &flags, "mmap") ||
      !get_i64(env, a.argv[4], &offset, "mmap"))
    return NULL;
  if (length <= 0) {
    throw_errno(env, "mmap", EINVAL);
    return NULL;
  }
  mapping_t *m = calloc(1, sizeof *m);
  if (m == NULL) {
    throw_errno(env, "mmap", ENOMEM);
    return NULL;
  }
  void *addr = mmap(NULL, (size_t)length, prot, flags, fd, (off_t)offset);
  if (addr == MAP_FAILED) {
    int err = errno;
    free(m);
    throw_errno(env, "mmap", err);
    return NULL;
  }
  m->addr = addr;
  m->length = (size_t)length;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, (size_t)length, mapping_finalize, m, &ab) != napi_ok) {
    munmap(addr, (size_t)length);
    free(m);
    throw_napi_failure(env, "napi_create_external_arraybuffer");
    return NULL;
  }
  pthread_mutex_lock(&mappings_lock);
  m->next = mappings;
  mappings = m;
  pthread_mutex_unlock(&mappings_lock);
  return ab;
}

/* munmap(ab): undefined — detaches the ArrayBuffer first, then unmaps. */
static napi_value js_munmap(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1, "munmap")) return NULL;
  bool is;
  napi_is_arraybuffer(env, a.argv[0], &is);
  if (!is) {
    throw_type(env, "munmap", "expected the ArrayBuffer returned by mmap");
    return NULL;
  }
  bool detached;
  NAPI_CALL(env, napi_is_detached_arraybuffer(env, a.argv[0], &detached));
  if (detached) return undefined(env); /* already unmapped: a second munmap is a no-op */
  void *data;
  size_t len;
  NAPI_CALL(env, napi_get_arraybuffer_info(env, a.argv[0], &data, &len));
  pthread_mutex_lock(&mappings_lock);
  mapping_t *m = mappings;
  while (m && !(m->addr == data && !m->unmapped)) m = m->next;
  if (m) m->unmapped = true; /* claim it before detaching: the finalizer may run during detach */
  void *addr = m ? m->addr : NULL;
  size_t length = m ? m->length : 0;
  pthread_mutex_unlock(&mappings_lock);
  if (m == NULL) {
    throw_type(env, "munmap", "ArrayBuffer was not created by mmap");
    return NULL;
  }
  if (napi_detach_arraybuffer(env, a.argv[0]) != napi_ok) {
    pthread_mutex_lock(&mappings_lock);
    m->unmapped = false; /* m is still alive: the buffer was not detached, so not finalized */
    pthread_mutex_unlock(&mappings_lock);
    throw_napi_failure(env, "napi_detach_arraybuffer");
    return NULL;
  }
  if (munmap(addr, length) < 0) {
    throw_errno(env, "munmap", errno);
    return NULL;
  }
  return undefined(env);
}

/* ---------- poll: fd readiness on the libuv loop ---------- */

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;  /* strong */
  napi_ref self;      /* strong while polling is active, weak otherwise */
  napi_async_context async;
  bool active;
  bool closing;
  bool closed;
  bool finalized;
  bool unref;
  bool hooked;        /* poller_env_cleanup is registered */
} poller_t;

/*
 * Lifetime. Everything that needs the napi env (the callback and self references, the async context)
 * is released while the env is alive: by the close callback of a handle closed from JS, by the wrap's
 * finalizer, or by the env cleanup hook at teardown. The uv close callback can run after the env is
 * gone (node runs the loop once more while tearing down); when the wrapper was finalized it only frees
 * memory.
 */
static void poller_release(poller_t *p) {
  if (p->active) {
    uint32_t count;
    napi_reference_unref(p->env, p->self, &count);
    p->active = false;
  }
  if (p->callback) {
    napi_delete_reference(p->env, p->callback);
    p->callback = NULL;
  }
  if (p->async) {
    napi_async_destroy(p->env, p->async);
    p->async = NULL;
  }
}

static void poller_close_cb(uv_handle_t *h) {
  poller_t *p = h->data;
  p->closed = true;
  if (p->finalized) {
    free(p); /* the env may be gone: touch nothing of it */
    return;
  }
  /* closed from JS (or by the cleanup hook) before finalization: the env is alive */
  poller_release(p);
}

static void poller_close(poller_t *p) {
  if (p->closing) return;
  p->closing = true;
  uv_poll_stop(&p->handle);
  uv_close((uv_handle_t *)&p->handle, poller_close_cb);
}

/* Env teardown (runs before the finalizers of wrapped objects): close the handle, release napi state. */
static void poller_env_cleanup(void *arg) {
  poller_t *p = arg;
  p->hooked = false;
  poller_close(p);
  poller_release(p);
}

static void poller_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  poller_t *p = data;
  p->finalized = true;
  if (p->hooked) {
    napi_remove_env_cleanup_hook(env, poller_env_cleanup, p);
    p->hooked = false;
  }
  p->active = false; /* the object is going away: no count to drop on its reference */
  poller_release(p);
  if (p->self) {
    napi_delete_reference(env, p->self);
    p->self = NULL;
  }
  if (p->closed) free(p);
  else poller_close(p);
}

static void poller_cb(uv_poll_t *h, int status, int events) {
  poller_t *p = h->data;
  if (p->closing || p->callback == NULL) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[2], result;
  if (napi_get_reference_value(env, p->callback, &cb) == napi_ok && cb != NULL &&
      napi_get_reference_value(env, p->self, &recv) == napi_ok && recv != NULL) {
    napi_create_int32(env, status, &argv[0]);
    napi_create_int32(env, events, &argv[1]);
    napi_status s = napi_make_callback(env, p->async, recv, cb, 2, argv, &result);
    if (s == napi_pending_exception) {
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
    }
  }
  napi_close_handle_scope(env, scope);
}

static poller_t *unwrap_poller(napi_env env, napi_value self, const char *fn) {
  poller_t *p = NULL;
  if (napi_unwrap(env, self, (void **)&p) != napi_ok || p == NULL) {
    throw_type(env, fn, "not a poll handle");
    return NULL;
  }
  return p;
}

static bool poller_start(napi_env env, poller_t *p, int events) {
  int r = uv_poll_start(&p->handle, events, poller_cb);
  if (r < 0) {
    throw_errno(env, "uv_poll_start", -r);
    return false;
  }
  if (!p->active) {
    uint32_t count;
    napi_reference_ref(env, p->self, &count);
    p->active = true;
  }
  return true;
}

static void poller_stop(napi_env env, poller_t *p) {
  uv_poll_stop(&p->handle);
  if (p->active) {
    uint32_t count;
    napi_reference_unref(env, p->self, &count);
    p->active = false;
  }
}

/* handle.start(events) — resume polling (a fresh handle is already started). */
static napi_value js_poll_start(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1, "poll.start")) return NULL;
  poller_t *p = unwrap_poller(env, a.self, "poll.start");
  int32_t events;
  if (p == NULL || !get_i32(env, a.argv[0], &events, "poll.start")) return NULL;
  if (p->closing) {
    throw_errno(env, "uv_poll_start", EBADF);
    return NULL;
  }
  if (!poller_start(env, p, events)) return NULL;
  return undefined(env);
}

/* handle.stop() — stop watching; the handle no longer keeps the loop alive. */
static napi_value js_poll_stop(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 0, "poll.stop")) return NULL;
  poller_t *p = unwrap_poller(env, a.self, "poll.stop");
  if (p == NULL) return NULL;
  if (!p->closing) poller_stop(env, p);
  return undefined(env);
}

/* handle.close() — stop and release the handle; idempotent. */
static napi_value js_poll_close(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 0, "poll.close")) return NULL;
  poller_t *p = unwrap_poller(env, a.self, "poll.close");
  if (p == NULL) return NULL;
  if (!p->closing) {
    poller_stop(env, p);
    poller_close(p);
  }
  return undefined(env);
}

static napi_value js_poll_ref(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 0, "poll.ref")) return NULL;
  poller_t *p = unwrap_poller(env, a.self, "poll.ref");
  if (p == NULL) return NULL;
  if (!p->closing) uv_ref((uv_handle_t *)&p->handle);
  return undefined(env);
}

static napi_value js_poll_unref(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 0, "poll.unref")) return NULL;
  poller_t *p = unwrap_poller(env, a.self, "poll.unref");
  if (p == NULL) return NULL;
  if (!p->closing) uv_unref((uv_handle_t *)&p->handle);
  return undefined(env);
}

/* poll(fd, events, callback(status, readyEvents)): handle — starts watching immediately. */
static napi_value js_poll(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 3, "poll")) return NULL;
  int32_t fd, events;
  if (!get_i32(env, a.argv[0], &fd, "poll") || !get_i32(env, a.argv[1], &events, "poll")) return NULL;
  napi_valuetype t;
  napi_typeof(env, a.argv[2], &t);
  if (t != napi_function) {
    throw_type(env, "poll", "expected a callback function");
    return NULL;
  }
  uv_loop_t *loop;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  poller_t *p = calloc(1, sizeof *p);
  if (p == NULL) {
    throw_errno(env, "poll", ENOMEM);
    return NULL;
  }
  p->env = env;
  int r = uv_poll_init(loop, &p->handle, fd);
  if (r < 0) {
    free(p);
    throw_errno(env, "uv_poll_init", -r);
    return NULL;
  }
  p->handle.data = p;
  napi_value self, name;
  napi_property_descriptor props[] = {
      {"start", NULL, js_poll_start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, js_poll_stop, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_poll_close, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, js_poll_ref, NULL, NULL, NULL, napi_default, NULL},
      {"unref", NULL, js_poll_unref, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_create_object(env, &self) != napi_ok ||
      napi_define_properties(env, self, sizeof props / sizeof props[0], props) != napi_ok ||
      napi_create_string_utf8(env, "tsbpf.poll", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &p->async) != napi_ok ||
      napi_create_reference(env, a.argv[2], 1, &p->callback) != napi_ok ||
      napi_wrap(env, self, p, poller_finalize, NULL, NULL) != napi_ok) {
    /* the uv handle is initialised: it must be closed through the loop */
    throw_napi_failure(env, "creating the poll handle");
    poller_release(p);
    p->finalized = true;
    poller_close(p);
    return NULL;
  }
  if (napi_create_reference(env, self, 0, &p->self) != napi_ok) {
    throw_napi_failure(env, "napi_create_reference");
    return NULL; /* the wrap finalizer closes the handle */
  }
  if (napi_add_env_cleanup_hook(env, poller_env_cleanup, p) != napi_ok) {
    throw_napi_failure(env, "napi_add_env_cleanup_hook");
    return NULL; /* the wrap finalizer closes the handle */
  }
  p->hooked = true;
  if (!poller_start(env, p, events)) return NULL;
  return self;
}

/* ---------- sockets (netlink) ---------- */

static napi_value js_socket(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 3, "socket")) return NULL;
  int32_t domain, type, protocol;
  if (!get_i32(env, a.argv[0], &domain, "socket") || !get_i32(env, a.argv[1], &type, "socket") ||
      !get_i32(env, a.argv[2], &protocol, "socket"))
    return NULL;
  int fd = socket(domain, type, protocol);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return NULL;
  }
  return make_i64(env, fd);
}

static napi_value js_bind(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 2, "bind")) return NULL;
  int32_t fd;
  void *addr;
  size_t len;
  if (!get_i32(env, a.argv[0], &fd, "bind") || !get_bytes(env, a.argv[1], &addr, &len, "bind")) return NULL;
  if (bind(fd, (const struct sockaddr *)addr, (socklen_t)len) < 0) {
    throw_errno(env, "bind", errno);
    return NULL;
  }
  return undefined(env);
}

/* getsockname(fd, buf): number — bytes of the address written into buf. */
static napi_value js_getsockname(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 2, "getsockname")) return NULL;
  int32_t fd;
  void *addr;
  size_t len;
  if (!get_i32(env, a.argv[0], &fd, "getsockname") || !get_bytes(env, a.argv[1], &addr, &len, "getsockname"))
    return NULL;
  socklen_t sl = (socklen_t)len;
  if (getsockname(fd, (struct sockaddr *)addr, &sl) < 0) {
    throw_errno(env, "getsockname", errno);
    return NULL;
  }
  return make_i64(env, sl);
}

/* setsockopt(fd, level, name, value bytes) */
static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 4, "setsockopt")) return NULL;
  int32_t fd, level, name;
  void *val;
  size_t len;
  if (!get_i32(env, a.argv[0], &fd, "setsockopt") || !get_i32(env, a.argv[1], &level, "setsockopt") ||
      !get_i32(env, a.argv[2], &name, "setsockopt") || !get_bytes(env, a.argv[3], &val, &len, "setsockopt"))
    return NULL;
  if (setsockopt(fd, level, name, val, (socklen_t)len) < 0) {
    throw_errno(env, "setsockopt", errno);
    return NULL;
  }
  return undefined(env);
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 3, "send")) return NULL;
  int32_t fd, flags;
  void *buf;
  size_t len;
  if (!get_i32(env, a.argv[0], &fd, "send") || !get_bytes(env, a.argv[1], &buf, &len, "send") ||
      !get_i32(env, a.argv[2], &flags, "send"))
    return NULL;
  ssize_t r;
  do r = send(fd, buf, len, flags);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    throw_errno(env, "send", errno);
    return NULL;
  }
  return make_i64(env, r);
}

static napi_value js_recv(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 3, "recv")) return NULL;
  int32_t fd, flags;
  void *buf;
  size_t len;
  if (!get_i32(env, a.argv[0], &fd, "recv") || !get_bytes(env, a.argv[1], &buf, &len, "recv") ||
      !get_i32(env, a.argv[2], &flags, "recv"))
    return NULL;
  ssize_t r;
  do r = recv(fd, buf, len, flags);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    throw_errno(env, "recv", errno);
    return NULL;
  }
  return make_i64(env, r);
}

/* ---------- system information and setup ---------- */

static napi_value js_setrlimit(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 3, "setrlimit")) return NULL;
  int32_t resource;
  int64_t cur, max;
  if (!get_i32(env, a.argv[0], &resource, "setrlimit") || !get_i64(env, a.argv[1], &cur, "setrlimit") ||
      !get_i64(env, a.argv[2], &max, "setrlimit"))
    return NULL;
  struct rlimit rl = {.rlim_cur = (rlim_t)(uint64_t)cur, .rlim_max = (rlim_t)(uint64_t)max};
  if (setrlimit(resource, &rl) < 0) {
    throw_errno(env, "setrlimit", errno);
    return NULL;
  }
  return undefined(env);
}

static napi_value js_getrlimit(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1, "getrlimit")) return NULL;
  int32_t resource;
  if (!get_i32(env, a.argv[0], &resource, "getrlimit")) return NULL;
  struct rlimit rl;
  if (getrlimit(resource, &rl) < 0) {
    throw_errno(env, "getrlimit", errno);
    return NULL;
  }
  napi_value obj;
  NAPI_CALL(env, napi_create_object(env, &obj));
  NAPI_CALL(env, napi_set_named_property(env, obj, "cur", make_u64_bigint(env, (uint64_t)rl.rlim_cur)));
  NAPI_CALL(env, napi_set_named_property(env, obj, "max", make_u64_bigint(env, (uint64_t)rl.rlim_max)));
  return obj;
}

static napi_value make_str(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value js_uname(napi_env env, napi_callback_info info) {
  (void)info;
  struct utsname u;
  if (uname(&u) < 0) {
    throw_errno(env, "uname", errno);
    return NULL;
  }
  napi_value obj;
  NAPI_CALL(env, napi_create_object(env, &obj));
  NAPI_CALL(env, napi_set_named_property(env, obj, "sysname", make_str(env, u.sysname)));
  NAPI_CALL(env, napi_set_named_property(env, obj, "release", make_str(env, u.release)));
  NAPI_CALL(env, napi_set_named_property(env, obj, "version", make_str(env, u.version)));
  NAPI_CALL(env, napi_set_named_property(env, obj, "machine", make_str(env, u.machine)));
  return obj;
}

static napi_value js_if_name_to_index(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1, "ifNameToIndex")) return NULL;
  char *name;
  if (!get_string(env, a.argv[0], &name, false, "ifNameToIndex")) return NULL;
  unsigned int idx = if_nametoindex(name);
  int err = errno;
  free(name);
  if (idx == 0) {
    throw_errno(env, "if_nametoindex", err ? err : ENODEV);
    return NULL;
  }
  return make_i64(env, idx);
}

static napi_value js_if_index_to_name(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1, "ifIndexToName")) return NULL;
  int32_t idx;
  if (!get_i32(env, a.argv[0], &idx, "ifIndexToName")) return NULL;
  char buf[IF_NAMESIZE + 1];
  if (if_indextoname((unsigned int)idx, buf) == NULL) {
    throw_errno(env, "if_indextoname", errno);
    return NULL;
  }
  return make_str(env, buf);
}

/* mount(source, target, fstype, flags, data) — source/fstype/data may be null. */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 5, "mount")) return NULL;
  char *source = NULL, *target = NULL, *fstype = NULL, *data = NULL;
  int64_t flags;
  napi_value ret = NULL;
  if (get_string(env, a.argv[0], &source, true, "mount") && get_string(env, a.argv[1], &target, false, "mount") &&
      get_string(env, a.argv[2], &fstype, true, "mount") && get_i64(env, a.argv[3], &flags, "mount") &&
      get_string(env, a.argv[4], &data, true, "mount")) {
    if (mount(source, target, fstype, (unsigned long)flags, data) < 0) {
      throw_errno(env, "mount", errno);
    } else {
      ret = undefined(env);
    }
  }
  free(source);
  free(target);
  free(fstype);
  free(data);
  return ret;
}

/* rename2(oldpath, newpath, flags): renameat2 relative to the cwd (flags: RENAME_NOREPLACE, RENAME_EXCHANGE). */
static napi_value js_rename2(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 3, "renameat2")) return NULL;
  char *from = NULL, *to = NULL;
  int32_t flags;
  napi_value ret = NULL;
  if (get_string(env, a.argv[0], &from, false, "renameat2") && get_string(env, a.argv[1], &to, false, "renameat2") &&
      get_i32(env, a.argv[2], &flags, "renameat2")) {
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, (unsigned int)flags) < 0) {
      throw_errno(env, "renameat2", errno);
    } else {
      ret = undefined(env);
    }
  }
  free(from);
  free(to);
  return ret;
}

/* strerror(errno): string */
static napi_value js_strerror(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1, "strerror")) return NULL;
  int32_t err;
  if (!get_i32(env, a.argv[0], &err, "strerror")) return NULL;
  return make_str(env, strerror(err));
}

/* errnoName(errno): string | undefined */
static napi_value js_errno_name(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1, "errnoName")) return NULL;
  int32_t err;
  if (!get_i32(env, a.argv[0], &err, "errnoName")) return NULL;
  const char *name = strerrorname_np(err);
  return name ? make_str(env, name) : undefined(env);
}

/* pageSize(): number */
static napi_value js_page_size(napi_env env, napi_callback_info info) {
  (void)info;
  return make_i64(env, sysconf(_SC_PAGESIZE));
}

/* ---------- module ---------- */

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      {"bpf", NULL, js_bpf, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bpfTry", NULL, js_bpf_try, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addressOf", NULL, js_address_of, NULL, NULL, NULL, napi_enumerable, NULL},
      {"perfEventOpen", NULL, js_perf_event_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ioctl", NULL, js_ioctl, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dup", NULL, js_dup, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pidfdOpen", NULL, js_pidfd_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mmap", NULL, js_mmap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"munmap", NULL, js_munmap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"poll", NULL, js_poll, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socket", NULL, js_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getsockname", NULL, js_getsockname, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setsockopt", NULL, js_setsockopt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recv", NULL, js_recv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setrlimit", NULL, js_setrlimit, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getrlimit", NULL, js_getrlimit, NULL, NULL, NULL, napi_enumerable, NULL},
      {"uname", NULL, js_uname, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ifNameToIndex", NULL, js_if_name_to_index, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ifIndexToName", NULL, js_if_index_to_name, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mount", NULL, js_mount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rename2", NULL, js_rename2, NULL, NULL, NULL, napi_enumerable, NULL},
      {"strerror", NULL, js_strerror, NULL, NULL, NULL, napi_enumerable, NULL},
      {"errnoName", NULL, js_errno_name, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pageSize", NULL, js_page_size, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok) {
    throw_napi_failure(env, "napi_define_properties");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
