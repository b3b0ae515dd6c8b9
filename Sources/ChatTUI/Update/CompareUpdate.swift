import ChatEngine
import Foundation

/// The compare view (F3).
extension App {
    /// Keys in the compare view: Enter sends to every column; F2 adds a column; F3 or Esc goes back.
    static func compareKey(_ state: inout AppState, _ key: Key, layout: LayoutCache) -> [Effect] {
        guard var c = state.compare else { return [] }
        switch key {
        case .escape where c.inFlight > 0:
            state.notice = "cancelling the replies…"
            return [.compareCancel]
        case .f(3), .escape:
            if c.inFlight > 0 { state.notice = "replies are still arriving (Esc cancels them)"; return [] }
            state.compare = nil
            state.notice = nil   // the compare view's notices ("added hybrid…") do not belong to the main screen
            return []
        case .enter:
            let text = state.input.text
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
            guard c.inFlight == 0 else { state.notice = "replies are still arriving (Esc cancels them)"; return [] }
            if state.history.last != text { state.history.append(text) }
            state.input = InputEditor()
            c.inFlight = c.columns.count
            c.turn += 1
            c.pendingUser = text
            for i in c.columns.indices { c.columns[i].streaming = ""; c.columns[i].error = nil }
            state.compare = c
            return [.compareSend(text)]
        case .f(2):
            guard c.inFlight == 0 else { return [] }
            if c.columns.count >= CompareViewState.maxColumns { state.notice = "at most \(CompareViewState.maxColumns) modes: Backspace drops the last one"; return [] }
            state.policyNumbers = PolicyNumbers()
            state.overlay = .modePicker(selected: 0)
            return []
        case .backspace where state.input.isEmpty && c.columns.count > 2 && c.inFlight == 0:
            c.columns.removeLast()
            state.compare = c
            return []
        case .ctrl("q"):
            return [.quit]
        default:
            // Editing keys work as on the main screen; scrolling and mode keys do not apply here.
            if case .char = key { return main(&state, key, layout: layout) }
            if let a = KeyTable.action(for: key), [.newline, .lineStart, .lineEnd, .killToEnd, .killToStart, .deleteWordBack, .historyPrevious, .historyNext, .help].contains(a) {
                return main(&state, key, layout: layout)
            }
            if [.backspace, .delete, .left, .right].contains(key) { return main(&state, key, layout: layout) }
            return []
        }
    }
}
