import ChatEngine
import Foundation

/// The main screen: typing, sending, scrolling and paging the transcript, the keys of the key table.
extension App {
    static func main(_ state: inout AppState, _ key: Key, layout: LayoutCache) -> [Effect] {
        if case .char(let c) = key {
            if c == "?" && state.input.isEmpty { state.overlay = .help; return [] }
            state.input.insert(String(c))
            state.historyIndex = nil
            return []
        }
        let pane = pane(state)
        switch key {
        case .backspace: state.input.backspace(); return []
        case .delete: state.input.deleteForward(); return []
        case .left: state.input.left(); return []
        case .right: state.input.right(); return []
        case .wheelUp: return scroll(&state, by: -3, layout: layout)
        case .wheelDown: return scroll(&state, by: 3, layout: layout)
        default: break
        }
        guard let action = KeyTable.action(for: key) else { return [] }
        switch action {
        case .send:
            let text = state.input.text
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
            if state.streaming != nil {
                // Each Enter queues its own message (and clears the input for the next one).
                state.queued.append(text)
                if state.history.last != text { state.history.append(text) }
                state.input = InputEditor()
                state.notice = "queued \(state.queued.count): sent when the reply is done (Esc cancels the reply)"
                return []
            }
            return startSend(&state)
        case .newline:
            state.input.insert("\n")
        case .cancel:
            if state.streaming != nil && !state.cancelling {
                state.cancelling = true
                return [.cancelStream]
            }
        case .interrupt:
            if state.streaming != nil {
                if !state.cancelling { state.cancelling = true; return [.cancelStream] }
                return []
            }
            if state.quitArmed { return [.quit] }
            state.quitArmed = true
            state.notice = "press Ctrl-C again to quit"
        case .quit:
            return quit(&state)
        case .toggleMode:
            guard let mode = state.session?.mode else { return [] }
            if state.streaming != nil { state.notice = "wait for the reply (or Esc) before switching modes"; return [] }
            let all = MemoryMode.allCases
            let next = all[(all.firstIndex(of: mode)! + 1) % all.count]
            return [.switchMode(next, policy: nil, serverPolicy: nil)]
        case .modePicker:
            let current = ModeChoice.all.firstIndex {
                $0.isCurrent(mode: state.session?.mode, policy: state.session?.policy, serverPolicy: state.session?.serverPolicy)
            } ?? 0
            state.policyNumbers = PolicyNumbers(from: state.session?.policy, serverPolicy: state.session?.serverPolicy)
            state.typingPolicyNumber = false
            state.overlay = .modePicker(selected: current)
        case .help:
            state.overlay = .help
        case .browse:
            if state.streaming != nil { state.notice = "wait for the reply (or Esc) before browsing"; return [] }
            state.browser = BrowserState()
            return [.browserSearch("")]
        case .compare:
            if state.streaming != nil { state.notice = "wait for the reply (or Esc) before comparing"; return [] }
            return [.openCompare]
        case .newSession:
            // The reply in flight belongs to this session: a new one now would be left when it is recorded.
            if state.streaming != nil { state.notice = "wait for the reply (or Esc) before starting a session"; return [] }
            state.overlay = .newSession(InputEditor("session-\(Self.stamp(state))", selected: true))   // typing replaces it
        case .fork:
            guard state.streaming == nil else { state.notice = "wait for the reply (or Esc) before forking"; return [] }
            guard state.session?.clientDB == nil else { state.notice = "an Agents SDK session is forked with its own tools; Ctrl-F forks chatbench transcripts"; return [] }
            var index = state.messages.count - 1
            if case .anchored(let m, _) = state.scroll { index = min(m, state.messages.count - 1) }
            guard index >= 0 else { state.notice = "nothing to fork yet"; return [] }
            state.overlay = .forkPick(index)
        case .xray:
            guard let last = state.turns.last else { state.notice = "no turns yet: the X-ray shows what a turn sent"; return [] }
            return openXRay(&state, turn: last)
        case .redraw:
            return [.redraw]
        case .scrollUp:
            return scroll(&state, by: -max(1, pane.height - 1), layout: layout)
        case .scrollDown:
            return scroll(&state, by: max(1, pane.height - 1), layout: layout)
        case .scrollTop:
            if state.olderAvailable { return [.loadPage(.first(pageSize))] }
            state.scroll = state.displayMessages.isEmpty ? .follow : .anchored(message: 0, line: 0)
        case .scrollBottom:
            if state.newerAvailable { return [.loadPage(.last(pageSize))] }
            state.scroll = .follow
        case .historyPrevious:
            if state.input.isMultiline && state.input.verticalMove(-1) { return [] }
            guard !state.history.isEmpty else { return [] }
            if state.historyIndex == nil { state.historyDraft = state.input.text }
            let i = max(0, (state.historyIndex ?? state.history.count) - 1)
            state.historyIndex = i
            state.input.set(state.history[i])
        case .historyNext:
            if state.input.isMultiline && state.input.verticalMove(1) { return [] }
            guard let i = state.historyIndex else { return [] }
            if i + 1 < state.history.count {
                state.historyIndex = i + 1
                state.input.set(state.history[i + 1])
            } else {
                state.historyIndex = nil
                state.input.set(state.historyDraft)
            }
        case .lineStart: state.input.home()
        case .lineEnd: state.input.end()
        case .killToEnd: state.input.killToEnd()
        case .killToStart: state.input.killToStart()
        case .deleteWordBack: state.input.deleteWordBack()
        }
        return []
    }
    /// Messages read per page, and the most the window keeps (it drops the far end beyond that).
    public static let pageSize = 128
    public static let windowLimit = 1024
    /// Scrolls the pane, and asks for the next page when the view comes within a few messages of the
    /// end of the window and the store has more there.
    static func scroll(_ state: inout AppState, by delta: Int, layout: LayoutCache) -> [Effect] {
        let pane = pane(state)
        state.scroll = layout.move(state.scroll, by: delta, state.displayMessages, width: pane.width, height: pane.height)
        if state.scroll == .follow && state.newerAvailable {
            // The window's bottom is not the transcript's: stay anchored and read on.
            let top = layout.topAnchor(state.displayMessages, width: pane.width, height: pane.height)
            state.scroll = .anchored(message: top.message, line: top.line)
        }
        return pageNeeded(state)
    }
    static func pageNeeded(_ state: AppState) -> [Effect] {
        let margin = 16
        let top: Int
        switch state.scroll {
        case .follow: top = max(0, state.messages.count - 1)
        case .anchored(let m, _): top = m
        }
        if top < margin, state.olderAvailable, let first = state.messages.first { return [.loadPage(.before(first.id, pageSize))] }
        // The pane shows at most one message per row below its top.
        if top + pane(state).height > state.messages.count - margin, state.newerAvailable, let last = state.messages.last {
            return [.loadPage(.after(last.id, pageSize))]
        }
        return []
    }
    /// Adds a page to the window, keeps the view where it was, and trims the far end past the limit.
    static func pageLoaded(_ state: inout AppState, _ page: TranscriptPage, _ rows: [ChatMessage], more: Bool) {
        switch page {
        case .last:
            state.messages = rows
            state.olderAvailable = more
            state.newerAvailable = false
            state.scroll = .follow
        case .first:
            state.messages = rows
            state.olderAvailable = false
            state.newerAvailable = more
            state.scroll = rows.isEmpty ? .follow : .anchored(message: 0, line: 0)
        case .before(let id, _):
            guard state.messages.first?.id == id else { return }   // the window moved meanwhile
            state.messages.insert(contentsOf: rows, at: 0)
            state.olderAvailable = more
            if case .anchored(let m, let l) = state.scroll { state.scroll = .anchored(message: m + rows.count, line: l) }
            if state.messages.count > windowLimit, case .anchored = state.scroll {
                state.messages.removeLast(state.messages.count - windowLimit)
                state.newerAvailable = true
            }
        case .after(let id, _):
            guard state.messages.last?.id == id else { return }
            state.messages += rows
            state.newerAvailable = more
            if state.messages.count > windowLimit {
                let drop = state.messages.count - windowLimit
                state.messages.removeFirst(drop)
                state.olderAvailable = true
                if case .anchored(let m, let l) = state.scroll { state.scroll = .anchored(message: max(0, m - drop), line: l) }
            }
        }
    }
    /// Sends the input, or (`queuedText`) the next queued message, leaving the input as it is.
    static func startSend(_ state: inout AppState, queuedText: String? = nil) -> [Effect] {
        let text = queuedText ?? state.input.text
        if state.history.last != text { state.history.append(text) }
        state.historyIndex = nil
        if queuedText == nil { state.input = InputEditor() }
        state.streaming = StreamState(userText: text, reply: "", revision: 0)
        state.scroll = .follow
        state.lastError = nil
        state.notice = state.queued.isEmpty ? nil : "\(state.queued.count) more queued"
        // Scrolled back through a long session: the reply appears under the newest messages.
        return state.newerAvailable ? [.loadPage(.last(pageSize)), .send(text)] : [.send(text)]
    }
    /// A default session name from the clock the runtime gave (`state.now`, `state.timeZone`).
    static func stamp(_ state: AppState) -> String {
        let f = DateFormatter()
        f.dateFormat = "MMdd-HHmmss"   // to the second: two sessions started in one minute get two names
        f.timeZone = state.timeZone
        return f.string(from: state.now)
    }
}
