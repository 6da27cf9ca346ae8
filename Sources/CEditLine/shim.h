#ifndef SGK_CEDITLINE_SHIM_H
#define SGK_CEDITLINE_SHIM_H

// Swift cannot call C variadic functions, and Swift 6 rejects mutable C
// globals such as stdin/stdout/stderr: these static inline wrappers give
// the REPL a fixed-arity, global-free view of libedit.

#include <stdio.h>
#include <wchar.h>
#include <histedit.h>
#include <sys/ioctl.h>

typedef unsigned char (*sgk_el_fn_t)(EditLine *, int);
typedef char *(*sgk_el_prompt_t)(EditLine *);

static inline FILE *sgk_stdin(void) { return stdin; }
static inline FILE *sgk_stdout(void) { return stdout; }
static inline FILE *sgk_stderr(void) { return stderr; }

/// The terminal's width in columns (80 when unknown).
static inline int sgk_terminal_width(int fd) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
}

static inline EditLine *sgk_el_init(const char *prog) {
    return el_init(prog, stdin, stdout, stderr);
}

static inline int sgk_el_set_prompt(EditLine *el, sgk_el_prompt_t f) { return el_set(el, EL_PROMPT, f); }
static inline int sgk_el_set_editor(EditLine *el, const char *mode) { return el_set(el, EL_EDITOR, mode); }
static inline int sgk_el_set_signal(EditLine *el, int on) { return el_set(el, EL_SIGNAL, on); }
static inline int sgk_el_set_getcfn(EditLine *el, el_rfunc_t f) { return el_set(el, EL_GETCFN, f); }
static inline int sgk_el_set_clientdata(EditLine *el, void *data) { return el_set(el, EL_CLIENTDATA, data); }
static inline void *sgk_el_get_clientdata(EditLine *el) {
    void *data = NULL;
    if (el_get(el, EL_CLIENTDATA, &data) != 0) return NULL;
    return data;
}
static inline int sgk_el_set_hist(EditLine *el, History *h) { return el_set(el, EL_HIST, history, h); }
static inline int sgk_el_addfn(EditLine *el, const char *name, const char *help, sgk_el_fn_t f) {
    return el_set(el, EL_ADDFN, name, help, f);
}
static inline int sgk_el_bind(EditLine *el, const char *key, const char *fn) {
    return el_set(el, EL_BIND, key, fn, NULL);
}

static inline History *sgk_history_init(int size) {
    History *h = history_init();
    HistEvent ev;
    if (h == NULL) return NULL;
    history(h, &ev, H_SETSIZE, size);
    history(h, &ev, H_SETUNIQUE, 1);
    return h;
}
static inline int sgk_history_enter(History *h, const char *line) {
    HistEvent ev;
    return history(h, &ev, H_ENTER, line);
}

#endif
