#ifndef CHATBENCH_CNCURSESW_SHIM_H
#define CHATBENCH_CNCURSESW_SHIM_H
/* SwiftPM drops the -D flags pkg-config gives, so wide-char support is switched on here. */
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <ncursesw/curses.h>
#include <locale.h>
#include <wchar.h>

/* Globals and macros read through functions: Swift 6 rejects the globals, and cannot import the macros. */
static inline WINDOW *shim_stdscr(void) { return stdscr; }
static inline int shim_COLS(void) { return COLS; }
static inline int shim_LINES(void) { return LINES; }
static inline int shim_COLORS(void) { return COLORS; }
static inline int shim_COLOR_PAIRS(void) { return COLOR_PAIRS; }
static inline void shim_set_escdelay(int ms) { set_escdelay(ms); }
static inline attr_t shim_COLOR_PAIR(int n) { return (attr_t)COLOR_PAIR(n); }
static inline attr_t shim_A_BOLD(void) { return A_BOLD; }
static inline attr_t shim_A_DIM(void) { return A_DIM; }
static inline attr_t shim_A_REVERSE(void) { return A_REVERSE; }
static inline attr_t shim_A_UNDERLINE(void) { return A_UNDERLINE; }
static inline attr_t shim_A_ITALIC(void) { return A_ITALIC; }
static inline int shim_KEY_F(int n) { return KEY_F(n); }
static inline mmask_t shim_ALL_MOUSE_EVENTS(void) { return ALL_MOUSE_EVENTS; }
static inline mmask_t shim_BUTTON4_PRESSED(void) { return BUTTON4_PRESSED; }
static inline mmask_t shim_BUTTON5_PRESSED(void) { return BUTTON5_PRESSED; }
/* glibc declares these only under _XOPEN_SOURCE, which SwiftPM drops. */
extern int wcwidth(wchar_t c);
extern int wcswidth(const wchar_t *s, size_t n);
#endif
