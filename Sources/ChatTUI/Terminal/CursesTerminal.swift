import CNcursesw
import Foundation

/// Set by the signal handlers (SIGINT, SIGTERM, SIGHUP); the UI loop sees it within one tick and
/// leaves through the normal, terminal-restoring path.
nonisolated(unsafe) private var terminationSignal: Int32 = 0
/// Set by the SIGWINCH handler: the terminal changed size.
nonisolated(unsafe) private var resizePending: Int32 = 0
/// The write end of the runtime's wake-up pipe: signal handlers write a byte so `poll` returns at once.
nonisolated(unsafe) private var wakeFD: Int32 = -1

/// Wakes the event loop from a signal handler (write(2) is async-signal-safe).
private func wakeFromSignal() {
    guard wakeFD >= 0 else { return }
    var b: UInt8 = 1
    _ = write(wakeFD, &b, 1)
}
/// The terminal modes before curses changed them, restored by the crash handler.
nonisolated(unsafe) private var savedTermios = termios()
nonisolated(unsafe) private var haveSavedTermios = false

/// Written with write(2) from the crash handler (async-signal-safe): bracketed paste and mouse off,
/// leave the alternate screen, show the cursor, reset attributes.
private let resetSequence: [UInt8] = Array("\u{1b}[?2004l\u{1b}[?1000l\u{1b}[?1006l\u{1b}[0m\u{1b}[?25h\u{1b}[?1049l".utf8)

private func crashHandler(_ sig: Int32) {
    resetSequence.withUnsafeBufferPointer { _ = write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    if haveSavedTermios { tcsetattr(STDIN_FILENO, TCSANOW, &savedTermios) }
    signal(sig, SIG_DFL)
    raise(sig)
}

/// The one adapter between the cell grid and ncurses: initialises the terminal (locale first,
/// alternate screen, raw keys, bracketed paste, mouse wheel, colours per style role), draws grids
/// (only changed cells), reads keys, and restores the terminal on every exit path.
public final class CursesTerminal {
    private var screen: OpaquePointer?
    private var previous: Grid?
    private var pairs: [Int: Int16] = [:]     // (fg, bg) key → pair number
    private var roleAttrs: [StyleRole: (attr_t, Int16)] = [:]
    private let theme: Theme
    private let useColor: Bool
    private var restored = false

    public static func stdinAndStdoutAreTerminals() -> Bool { isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1 }

    /// The signal that asked us to stop (0: none).
    public static var pendingSignal: Int32 { terminationSignal }

    /// Where signal handlers write to wake the event loop (the runtime's wake-up pipe).
    public static func setWakeDescriptor(_ fd: Int32) { wakeFD = fd }

    /// The descriptor keys arrive on, for poll(2).
    public var inputDescriptor: Int32 { STDIN_FILENO }

    /// After SIGWINCH: the terminal's new size, with curses resized to it (nil: no resize pending).
    public func pendingResize() -> Event? {
        guard resizePending != 0 else { return nil }
        resizePending = 0
        var ws = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_row > 0, ws.ws_col > 0 {
            resizeterm(Int32(ws.ws_row), Int32(ws.ws_col))
        }
        invalidate()
        return .resize(width: Int(shim_COLS()), height: Int(shim_LINES()))
    }

    public init(theme: Theme, noColor: Bool) throws {
        self.theme = theme
        if let loc = setlocale(LC_ALL, ""), String(cString: loc).lowercased().contains("utf") {} else {
            setlocale(LC_ALL, "C.UTF-8")  // otherwise wide characters draw as blanks
        }
        if tcgetattr(STDIN_FILENO, &savedTermios) == 0 { haveSavedTermios = true }
        // newterm, unlike initscr, returns NULL for an unknown TERM instead of exiting the process.
        guard let out = fdopen(STDOUT_FILENO, "w"), let inp = fdopen(STDIN_FILENO, "r"), let scr = newterm(nil, out, inp) else {
            throw ConfigurationTerminalError(message: "cannot use this terminal (TERM=\(ProcessInfo.processInfo.environment["TERM"] ?? "unset"))")
        }
        set_term(scr)
        // A terminal that cannot move the cursor (TERM=dumb) would show a blank screen while the
        // keys still act: refuse it before anything is drawn or read.
        let cup = tigetstr("cup")
        if cup == nil || Int(bitPattern: cup) == -1 {
            endwin()
            delscreen(scr)
            throw ConfigurationTerminalError(message: "this terminal cannot move the cursor (TERM=\(ProcessInfo.processInfo.environment["TERM"] ?? "unset")); "
                + "run the workbench in a terminal such as xterm-256color, or use 'chatbench send' for scripts")
        }
        screen = scr
        useColor = !noColor && has_colors()
        raw()
        noecho()
        nonl()
        keypad(shim_stdscr(), true)
        shim_set_escdelay(25)
        timeout(0)   // input is read when poll(2) says it is there; never wait in curses
        if useColor {
            start_color()
            use_default_colors()
        }
        mousemask(shim_BUTTON4_PRESSED() | shim_BUTTON5_PRESSED(), nil)
        mouseinterval(0)
        writeRaw("\u{1b}[?2004h")   // bracketed paste: a paste arrives as one event and never sends
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { s in terminationSignal = s; wakeFromSignal() }
        }
        // Our own SIGWINCH handler (instead of ncurses'): it also wakes the loop, which then reads the
        // new size itself (`pendingResize`), so a resize never waits for a key.
        signal(SIGWINCH) { _ in resizePending = 1; wakeFromSignal() }
        for sig in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE] {
            signal(sig, crashHandler)
        }
    }

    deinit { restore() }

    private func writeRaw(_ s: String) {
        let bytes = Array(s.utf8)
        bytes.withUnsafeBufferPointer { _ = write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }

    /// Puts the terminal back as it was. Safe to call more than once.
    public func restore() {
        guard !restored else { return }
        restored = true
        mousemask(0, nil)
        // Blank the screen before leaving it: after the terminal has grown, tmux and others copy rows
        // of the alternate screen into the shell's screen when it is left.
        if screen != nil {
            erase()
            wnoutrefresh(shim_stdscr())
            doupdate()
        }
        endwin()
        writeRaw("\u{1b}[?2004l")
        if let s = screen { delscreen(s) }
        screen = nil
        if haveSavedTermios { tcsetattr(STDIN_FILENO, TCSANOW, &savedTermios) }
        for sig in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE, SIGWINCH] { signal(sig, SIG_DFL) }
        wakeFD = -1
    }

    public var size: (width: Int, height: Int) { (Int(shim_COLS()), Int(shim_LINES())) }

    // MARK: Drawing

    private func colorPair(_ role: StyleRole) -> (attr_t, Int16) {
        if let cached = roleAttrs[role] { return cached }
        let rs = theme.style(role)
        var attrs: attr_t = 0
        if rs.bold { attrs |= shim_A_BOLD() }
        if rs.underline { attrs |= shim_A_UNDERLINE() }
        var pair: Int16 = 0
        if useColor {
            let colors = Int(shim_COLORS())
            let fg = rs.fg.resolve(colors: colors), bg = rs.bg.resolve(colors: colors)
            let key = (fg + 1) &* 0x1000001 &+ (bg + 1)
            if let p = pairs[key] {
                pair = p
            } else if pairs.count + 1 < Int(shim_COLOR_PAIRS()) && pairs.count < 32000 {
                pair = Int16(pairs.count + 1)
                if colors > 256 { init_extended_pair(Int32(pair), Int32(fg), Int32(bg)) } else { init_pair(pair, Int16(fg), Int16(bg)) }
                pairs[key] = pair
            }
        }
        roleAttrs[role] = (attrs, pair)
        return (attrs, pair)
    }

    /// Draws a frame: only cells that changed since the last frame, then one doupdate.
    public func draw(_ grid: Grid) {
        let full = previous == nil || previous!.width != grid.width || previous!.height != grid.height
        if full { erase() }
        for y in 0..<grid.height {
            var x = 0
            while x < grid.width {
                let cell = grid[x, y]
                if cell.isContinuation { x += 1; continue }
                if !full, let p = previous, p[x, y] == cell, (x + 1 >= grid.width || p[x + 1, y] == grid[x + 1, y]) { x += 1; continue }
                var (attrs, pair) = colorPair(cell.style.role)
                if cell.style.bold { attrs |= shim_A_BOLD() }
                if cell.style.reverse { attrs |= shim_A_REVERSE() }
                if cell.style.underline { attrs |= shim_A_UNDERLINE() }
                if cell.style.italic { attrs |= shim_A_ITALIC() }
                var wide = cell.text.unicodeScalars.prefix(5).map { wchar_t(bitPattern: $0.value) } + [0]
                var cc = cchar_t()
                setcchar(&cc, &wide, attrs, pair, nil)
                mvadd_wch(Int32(y), Int32(x), &cc)
                x += 1
            }
        }
        if let c = grid.cursor, c.x >= 0, c.x < grid.width, c.y >= 0, c.y < grid.height {
            move(Int32(c.y), Int32(c.x))
            curs_set(1)
        } else {
            curs_set(0)
        }
        wnoutrefresh(shim_stdscr())
        doupdate()
        previous = grid
    }

    /// Forgets what is on screen so the next frame repaints everything (Ctrl-L, resize).
    public func invalidate() {
        previous = nil
        clearok(shim_stdscr(), true)
    }

    // MARK: Input

    /// The next event, or nil when `timeout` passes with none. `.eof` when stdin has closed.
    public enum Input {
        case event(Event)
        case eof
    }

    /// The next key already typed, without waiting (nil: none is there). Call it when poll(2) says the
    /// input descriptor is readable, until it returns nil.
    public func read() -> Input? {
        var wc: wint_t = 0
        let rc = get_wch(&wc)
        if rc == ERR { return nil }
        if rc == KEY_CODE_YES { return functionKey(Int32(wc)).map { .event($0) } }
        return .event(character(UInt32(wc)))
    }

    private func functionKey(_ k: Int32) -> Event? {
        switch k {
        case KEY_RESIZE:
            invalidate()
            return .resize(width: Int(shim_COLS()), height: Int(shim_LINES()))
        case KEY_UP: return .key(.up)
        case KEY_DOWN: return .key(.down)
        case KEY_LEFT: return .key(.left)
        case KEY_RIGHT: return .key(.right)
        case KEY_HOME: return .key(.home)
        case KEY_END: return .key(.end)
        case KEY_PPAGE: return .key(.pageUp)
        case KEY_NPAGE: return .key(.pageDown)
        case KEY_BACKSPACE: return .key(.backspace)
        case KEY_DC: return .key(.delete)
        case KEY_BTAB: return .key(.backTab)
        case KEY_ENTER: return .key(.enter)
        case KEY_MOUSE:
            var ev = MEVENT()
            guard getmouse(&ev) == OK else { return .key(.unknown("mouse")) }
            if ev.bstate & shim_BUTTON4_PRESSED() != 0 { return .key(.wheelUp) }
            if ev.bstate & shim_BUTTON5_PRESSED() != 0 { return .key(.wheelDown) }
            return .key(.unknown("mouse"))
        default:
            for n in 1...12 where k == shim_KEY_F(Int32(n)) { return .key(.f(n)) }
            return .key(.unknown("keycode \(k)"))
        }
    }

    private func character(_ v: UInt32) -> Event {
        switch v {
        case 13: return .key(.enter)
        case 10: return .key(.ctrl("j"))
        case 9: return .key(.tab)
        case 8, 127: return .key(.backspace)
        case 27: return escapeSequence()
        case 0: return .key(.unknown("NUL"))
        case 1...26: return .key(.ctrl(Character(Unicode.Scalar(v + 96)!)))
        case 28...31: return .key(.unknown("control \(v)"))
        default:
            guard let scalar = Unicode.Scalar(v) else { return .key(.unknown("invalid \(v)")) }
            return .key(.char(Character(scalar)))
        }
    }

    /// After ESC: Alt-key, Alt-Enter, bracketed paste, another CSI sequence, or Escape alone.
    private func escapeSequence() -> Event {
        guard let next = readScalar(waitMs: 30) else { return .key(.escape) }
        if next == 13 || next == 10 { return .key(.altEnter) }
        if next == 79 /* O: SS3, one final byte follows (ncurses already decoded the ones it knows) */ {
            let final = readScalar(waitMs: 30).flatMap(Unicode.Scalar.init).map { String(Character($0)) } ?? ""
            return .key(.unknown("ESC O" + final))
        }
        guard next == 91 /* [ */ else {
            if let s = Unicode.Scalar(next), next >= 32 { return .key(.alt(Character(s))) }
            // Escape, then another key typed quickly (Ctrl-Q, say): give that key back.
            unget_wch(wchar_t(bitPattern: next))
            return .key(.escape)
        }
        var params = ""
        while let c = readScalar(waitMs: 30) {
            guard let s = Unicode.Scalar(c) else { break }
            if (0x40...0x7E).contains(c) {
                params.append(Character(s))
                break
            }
            params.append(Character(s))
        }
        if params == "200~" { return .paste(readPaste()) }
        return .key(.unknown("ESC[" + params))
    }

    /// Reads a bracketed paste up to ESC[201~ (or until input stops for a second).
    private func readPaste() -> String {
        var scalars = String.UnicodeScalarView()
        let end: [UInt32] = [27, 91, 50, 48, 49, 126]
        var tail: [UInt32] = []
        while let c = readScalar(waitMs: 1000) {
            tail.append(c)
            if tail.count > end.count { tail.removeFirst() }
            if let s = Unicode.Scalar(c) { scalars.append(s) }
            if tail == end {
                scalars.removeLast(end.count)
                break
            }
        }
        return String(scalars)
    }

    private func readScalar(waitMs: Int32) -> UInt32? {
        timeout(waitMs)
        defer { timeout(0) }
        var wc: wint_t = 0
        let rc = get_wch(&wc)
        if rc == KEY_CODE_YES {
            // A whole function key (Esc then F3, typed quickly): give it back for the next read.
            ungetch(Int32(wc))
            return nil
        }
        if rc == ERR { return nil }
        return UInt32(wc)
    }
}

public struct ConfigurationTerminalError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
