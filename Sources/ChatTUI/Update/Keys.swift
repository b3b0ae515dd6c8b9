/// A key press, decoded from the terminal.
public enum Key: Equatable, Hashable, Sendable {
    case char(Character)
    case enter, tab, backTab, backspace, delete, escape
    case left, right, up, down, home, end, pageUp, pageDown
    case f(Int)
    case ctrl(Character)          // ctrl("a") … ctrl("z")
    case alt(Character)
    case altEnter
    case wheelUp, wheelDown
    case unknown(String)
}

/// What a key does. The key table maps keys to actions; footer hints and the help screen are
/// generated from the same table, so they cannot disagree with what the keys do.
public enum Action: String, Sendable, CaseIterable {
    case send, newline, cancel, quit, interrupt, toggleMode, modePicker, compare, browse, fork, help, newSession, redraw, xray
    case scrollUp, scrollDown, scrollTop, scrollBottom, historyPrevious, historyNext
    case lineStart, lineEnd, killToEnd, killToStart, deleteWordBack
}

public struct KeyBinding: Sendable {
    public let keys: [Key]
    public let label: String       // how the key is written in hints
    public let action: Action
    public let help: String
    public let inFooter: Bool
}

public enum KeyTable {
    public static let bindings: [KeyBinding] = [
        KeyBinding(keys: [.enter], label: "Enter", action: .send, help: "send the message", inFooter: true),
        KeyBinding(keys: [.ctrl("j"), .altEnter], label: "Ctrl-J", action: .newline, help: "insert a newline (also Alt-Enter; pasting never sends)", inFooter: false),
        KeyBinding(keys: [.tab], label: "Tab", action: .toggleMode, help: "switch memory mode: chain → conversation → client → hybrid → layered", inFooter: true),
        KeyBinding(keys: [.f(2)], label: "F2", action: .modePicker, help: "pick a mode and client memory policy (◂ ▸ or digits set window:N, budget:N, summarize:N)", inFooter: true),
        KeyBinding(keys: [.f(3)], label: "F3", action: .compare, help: "compare modes side by side: every message goes to each column (F2 adds a mode, up to four; Backspace on an empty input drops one; Esc cancels replies; F3/Esc back)", inFooter: true),
        KeyBinding(keys: [.f(4), .ctrl("o")], label: "F4", action: .browse, help: "browse sessions (also Ctrl-O): / search, Enter open, r rename, d delete, e export, f fork", inFooter: true),
        KeyBinding(keys: [.ctrl("n")], label: "Ctrl-N", action: .newSession, help: "start a new session", inFooter: true),
        KeyBinding(keys: [.f(5)], label: "F5", action: .xray, help: "context X-ray: the last turn's request as sent, each item by memory source with tokens and bytes; ◂ ▸ other turns", inFooter: false),
        KeyBinding(keys: [.ctrl("f")], label: "Ctrl-F", action: .fork, help: "fork the session: Up/Down choose the message, Enter forks (it keeps that message and all before)", inFooter: false),
        KeyBinding(keys: [.escape], label: "Esc", action: .cancel, help: "cancel a streaming reply (it is kept, marked interrupted); close a dialog", inFooter: false),
        KeyBinding(keys: [.pageUp], label: "PgUp", action: .scrollUp, help: "scroll the conversation up a page (mouse wheel: 3 lines)", inFooter: false),
        KeyBinding(keys: [.pageDown], label: "PgDn", action: .scrollDown, help: "scroll the conversation down a page", inFooter: false),
        KeyBinding(keys: [.home], label: "Home", action: .scrollTop, help: "jump to the first message", inFooter: false),
        KeyBinding(keys: [.end], label: "End", action: .scrollBottom, help: "jump to the newest message and follow it", inFooter: false),
        KeyBinding(keys: [.up], label: "Up", action: .historyPrevious, help: "recall an earlier input (moves between lines in a multi-line input)", inFooter: false),
        KeyBinding(keys: [.down], label: "Down", action: .historyNext, help: "recall a later input", inFooter: false),
        KeyBinding(keys: [.ctrl("a")], label: "Ctrl-A", action: .lineStart, help: "caret to the start of the line", inFooter: false),
        KeyBinding(keys: [.ctrl("e")], label: "Ctrl-E", action: .lineEnd, help: "caret to the end of the line", inFooter: false),
        KeyBinding(keys: [.ctrl("k")], label: "Ctrl-K", action: .killToEnd, help: "delete to the end of the line", inFooter: false),
        KeyBinding(keys: [.ctrl("u")], label: "Ctrl-U", action: .killToStart, help: "delete to the start of the line", inFooter: false),
        KeyBinding(keys: [.ctrl("w")], label: "Ctrl-W", action: .deleteWordBack, help: "delete the word before the caret", inFooter: false),
        KeyBinding(keys: [.ctrl("l")], label: "Ctrl-L", action: .redraw, help: "redraw the screen", inFooter: false),
        KeyBinding(keys: [.f(1)], label: "F1", action: .help, help: "this help (also ? when the input is empty)", inFooter: true),
        KeyBinding(keys: [.ctrl("c")], label: "Ctrl-C", action: .interrupt, help: "cancel a streaming reply; pressed twice while idle, quit", inFooter: false),
        KeyBinding(keys: [.ctrl("q")], label: "Ctrl-Q", action: .quit, help: "quit", inFooter: true),
    ]

    public static func action(for key: Key) -> Action? {
        bindings.first { $0.keys.contains(key) }?.action
    }

    /// Footer hints that fit in `width` cells: in table order, dropping the least essential first
    /// (new session, mode picker, compare, mode toggle) so that help and quit always show.
    public static func footerHints(width: Int) -> [(String, String)] {
        var hints = footerHints
        func length(_ h: [(String, String)]) -> Int { h.reduce(0) { $0 + $1.0.count + $1.1.count + 4 } }
        for drop in ["new", "mode+policy", "sessions", "compare", "mode"] where length(hints) > width - 2 {
            hints.removeAll { $0.1 == drop }
        }
        return hints
    }

    /// "Enter send · Tab mode · …" in table order.
    public static var footerHints: [(String, String)] {
        bindings.filter(\.inFooter).map { b in
            let short: String
            switch b.action {
            case .send: short = "send"
            case .toggleMode: short = "mode"
            case .modePicker: short = "mode+policy"
            case .compare: short = "compare"
            case .browse: short = "sessions"
            case .newSession: short = "new"
            case .help: short = "help"
            case .quit: short = "quit"
            default: short = b.action.rawValue
            }
            return (b.label, short)
        }
    }
}
