import ChatEngine
import Foundation

/// The session browser (F4).
extension App {
    /// Keys in the browser. Letters act on the selected session (Enter open, r rename, d delete,
    /// e export, f fork); `/` starts an incremental search; Esc closes a prompt, then the browser.
    static func browserKey(_ state: inout AppState, _ key: Key) -> [Effect] {
        guard var b = state.browser else { return [] }
        var closed = false
        defer { if !closed { state.browser = b } }
        b.message = nil
        func previewEffect() -> [Effect] { b.current.map { [.browserPreview($0.name)] } ?? [] }
        switch b.prompt {
        case .search:
            switch key {
            case .escape, .enter: b.prompt = .none; return []
            case .char(let c): b.query.insert(String(c))
            case .backspace: b.query.backspace()
            case .ctrl("u"): b.query.killToStart()
            case .up, .down: b.prompt = .none; return browserKey(&state, key)
            default: return []
            }
            b.selected = 0
            return [.browserSearch(b.query.text)]
        case .rename(var e), .fork(var e):
            let renaming: Bool
            if case .rename = b.prompt { renaming = true } else { renaming = false }
            switch key {
            case .escape: b.prompt = .none; return []
            case .enter:
                b.prompt = .none
                let name = e.text.trimmingCharacters(in: .whitespaces)
                guard let cur = b.current else { return [] }
                if let problem = WorkbenchStore.sessionNameProblem(name) { b.message = problem; return [] }
                if renaming { return [.browserRename(from: cur.name, to: name)] }
                guard let at = b.forkAt else { b.message = "\(cur.name) has no completed turn to fork from"; return [] }
                return [.browserFork(cur.name, as: name, at: at)]
            case .char(let c): e.insert(String(c))
            case .backspace: e.backspace()
            case .ctrl("u"): e.killToStart()
            case .left: e.left()
            case .right: e.right()
            default: break
            }
            b.prompt = renaming ? .rename(e) : .fork(e)
            return []
        case .confirmDelete:
            b.prompt = .none
            guard let cur = b.current else { return [] }
            if key == .char("y") || key == .char("s"), cur.name == state.session?.name {
                b.message = "\(cur.name) is open: open another session first"
                return []
            }
            switch key {
            case .char("y"): return [.browserDelete(cur.name, server: false)]
            case .char("s"): return [.browserDelete(cur.name, server: true)]
            default: b.message = "not deleted"; return []
            }
        case .none:
            switch key {
            case .escape, .f(4), .ctrl("o"):
                closed = true
                state.browser = nil
                return []
            case .up: b.selected = max(0, b.selected - 1); b.forkPoint = nil; return previewEffect()
            case .down: b.selected = min(max(0, b.sessions.count - 1), b.selected + 1); b.forkPoint = nil; return previewEffect()
            case .char("["): b.forkPoint = max(0, (b.forkPoint ?? b.previewTurns.count - 1) - 1)
            case .char("]"): b.forkPoint = min(max(0, b.previewTurns.count - 1), (b.forkPoint ?? b.previewTurns.count - 1) + 1)
            case .pageUp: b.selected = max(0, b.selected - 10); return previewEffect()
            case .pageDown: b.selected = min(max(0, b.sessions.count - 1), b.selected + 10); return previewEffect()
            case .char("/"): b.prompt = .search; return []
            case .enter:
                guard let cur = b.current else { return [] }
                closed = true
                state.browser = nil
                return [.openSession(cur.name)]
            case .char("r"): if let cur = b.current { b.prompt = .rename(InputEditor(cur.name)) }
            case .char("f"): if let cur = b.current { b.prompt = .fork(InputEditor(cur.name + "-fork")) }
            case .char("d"): if b.current != nil { b.prompt = .confirmDelete }
            case .char("e"): if let cur = b.current { return [.browserExport(cur.name)] }
            case .ctrl("q"): return [.quit]
            default: break
            }
            return []
        }
    }
}
