// ncursesw for Swift: the wide-character API, and the macros and globals that
// do not import, as functions. Call them from one thread only.
#ifndef CNCURSES_SHIM_H
#define CNCURSES_SHIM_H

#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <wchar.h>
#include <ncursesw/curses.h>

static inline void cn_set_locale(void) { setlocale(LC_ALL, ""); }
static inline int cn_lines(void) { return LINES; }
static inline int cn_cols(void) { return COLS; }
static inline int cn_start(void) {
    if (initscr() == NULL) return -1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    return 0;
}
static inline void cn_timeout(int milliseconds) { timeout(milliseconds); }
static inline int cn_colors(void) {
    if (!has_colors()) return 0;
    start_color();
    use_default_colors();
    return 1;
}
static inline void cn_init_pair(short pair, short foreground) { init_pair(pair, foreground, -1); }
static inline int cn_get_wch(wint_t *key) { return wget_wch(stdscr, key); }
static inline int cn_ok(void) { return OK; }
static inline int cn_key_code_yes(void) { return KEY_CODE_YES; }
static inline int cn_put(int y, int x, const wchar_t *text, int count, attr_t attributes, short pair) {
    attr_set(attributes, pair, NULL);
    return mvaddnwstr(y, x, text, count);
}
static inline void cn_refresh(void) { refresh(); }
static inline void cn_clear(void) { clear(); }
static inline void cn_end(void) { endwin(); }
static inline attr_t cn_bold(void) { return A_BOLD; }
static inline attr_t cn_dim(void) { return A_DIM; }
static inline attr_t cn_reverse(void) { return A_REVERSE; }
static inline attr_t cn_normal(void) { return A_NORMAL; }
static inline int cn_key_up(void) { return KEY_UP; }
static inline int cn_key_down(void) { return KEY_DOWN; }
static inline int cn_key_left(void) { return KEY_LEFT; }
static inline int cn_key_right(void) { return KEY_RIGHT; }
static inline int cn_key_page_up(void) { return KEY_PPAGE; }
static inline int cn_key_page_down(void) { return KEY_NPAGE; }
static inline int cn_key_home(void) { return KEY_HOME; }
static inline int cn_key_end(void) { return KEY_END; }
static inline int cn_key_enter(void) { return KEY_ENTER; }
static inline int cn_key_backspace(void) { return KEY_BACKSPACE; }
static inline int cn_key_resize(void) { return KEY_RESIZE; }
static inline int cn_key_btab(void) { return KEY_BTAB; }
static inline int cn_key_f(int number) { return KEY_F(number); }
static inline short cn_colour_red(void) { return COLOR_RED; }
static inline short cn_colour_green(void) { return COLOR_GREEN; }
static inline short cn_colour_yellow(void) { return COLOR_YELLOW; }
static inline short cn_colour_blue(void) { return COLOR_BLUE; }
static inline short cn_colour_cyan(void) { return COLOR_CYAN; }
static inline short cn_colour_white(void) { return COLOR_WHITE; }

// Whether a terminal can move the cursor, asked of terminfo without taking the terminal:
// 1 it can, 0 it cannot (TERM=dumb), -1 terminfo does not know the name (or has no database).
// A null name is $TERM's.
#include <term.h>
static inline int cn_can_move_cursor(const char *name) {
    int error = 0;
    if (setupterm(name, 1, &error) != OK) return error == 1 ? 0 : -1;
    const char *move = tigetstr("cup");
    int can = move != NULL && move != (const char *)-1;
    del_curterm(cur_term);
    return can;
}

#endif
