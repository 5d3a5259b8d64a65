#include <histedit.h>
#include <editline/readline.h>
#include <wchar.h>

// el_wset, el_wget and history_w are variadic, which Swift cannot call. These non-variadic inline wrappers are compiled
// by Clang inside the importing Swift module (no separate C target needed). They are used by TxnNotebook's LineEditor.

typedef wchar_t *(*txn_el_prompt_fn)(EditLine *);
typedef unsigned char (*txn_el_command_fn)(EditLine *, int);

static inline int txn_el_set_prompt(EditLine *el, txn_el_prompt_fn fn, wchar_t escape) {
    return el_wset(el, EL_PROMPT_ESC, fn, escape);
}
static inline int txn_el_set_clientdata(EditLine *el, void *data) {
    return el_wset(el, EL_CLIENTDATA, data);
}
static inline void *txn_el_get_clientdata(EditLine *el) {
    void *data = NULL;
    if (el_wget(el, EL_CLIENTDATA, &data) != 0) return NULL;
    return data;
}
static inline int txn_el_set_getcfn(EditLine *el, el_rfunc_t fn) {
    return el_wset(el, EL_GETCFN, fn);
}
static inline int txn_el_add_function(EditLine *el, const wchar_t *name, const wchar_t *help, txn_el_command_fn fn) {
    return el_wset(el, EL_ADDFN, name, help, fn);
}
static inline int txn_el_set_history(EditLine *el, HistoryW *history) {
    return el_wset(el, EL_HIST, history_w, history);
}
/// Terminal width in columns as libedit knows it (0 if unknown).
static inline int txn_el_terminal_columns(EditLine *el) {
    int columns = 0;
    if (el_wget(el, EL_GETTC, "co", &columns, (char *)NULL) != 0) return 0;
    return columns;
}

static inline int txn_history_set_size(HistoryW *history, int size) {
    HistEventW event;
    return history_w(history, &event, H_SETSIZE, size);
}
static inline int txn_history_enter(HistoryW *history, const wchar_t *line) {
    HistEventW event;
    return history_w(history, &event, H_ENTER, line);
}
static inline int txn_history_clear(HistoryW *history) {
    HistEventW event;
    return history_w(history, &event, H_CLEAR);
}
/// Forget what libedit believes is on screen and redraw the prompt and line from the cursor's current position (which
/// must be at the start of a line).
static inline int txn_el_redraw(EditLine *el) {
    return el_wset(el, EL_REFRESH);
}
