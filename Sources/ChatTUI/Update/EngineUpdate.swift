import ChatEngine
import Foundation

/// What the engine reports back: deltas, recorded turns, loaded pages and sessions, browser results.
extension App {
    static func engine(_ state: inout AppState, _ e: EngineEvent, layout: LayoutCache) -> [Effect] {
        switch e {
        case .delta(let d):
            state.streaming?.reply += d
            state.streaming?.revision += 1
        case .turnRecorded(_, _, _, let session, _) where state.session != nil && state.session?.id != session.id:
            // Recorded in a session the screen has left: it no longer streams, and shows what it shows.
            state.streaming = nil
            state.cancelling = false
        case .turnRecorded(let new, let turns, let memory, let session, let error):
            // A failed turn in an Agents SDK or Redis session: the pane shows that session's items, which
            // never got the message, so it goes back into the input to be sent again (nothing is lost).
            if error != nil, session.clientDB != nil { restoreUnsent(&state) }
            state.streaming = nil
            state.cancelling = false
            appendNewest(&state, new)
            state.turns = turns
            state.memory = memory
            state.session = session
            state.lastError = error
            if !state.queued.isEmpty { return startSend(&state, queuedText: state.queued.removeFirst()) }
        case .turnAbandoned(let message, let sent):
            // The screen is usable again, and what did not go (the message, unless its turn completed,
            // and what was queued) is back in the input rather than sent into the void.
            if sent { state.streaming = nil }
            restoreUnsent(&state)
            state.streaming = nil
            state.cancelling = false
            state.lastError = message
        case .sessionChanged(let new, let turns, let memory, let session):
            appendNewest(&state, new)
            state.turns = turns
            state.memory = memory
            state.session = session
        case .pageLoaded(let page, let rows, let more):
            pageLoaded(&state, page, rows, more: more)
            return pageNeeded(state)
        case .sessionLoaded(let session, let messages, let turns, let memory, let older, let history):
            state.session = session
            state.messages = messages
            state.olderAvailable = older
            state.newerAvailable = false
            state.turns = turns
            state.memory = memory
            state.streaming = nil
            state.scroll = .follow
            state.lastError = nil
            state.history = history
            state.historyIndex = nil
        case .modeSwitched(let session, let memory):
            state.session = session
            state.memory = memory
            let what = session.mode == .client ? "\(session.mode.title) · policy \(session.policy)" : session.mode.title
            state.notice = "switched to \(what); the next turn carries what this mode's store lacks"
        case .compareColumnAdded(let column):
            state.compare?.columns.append(column)
            state.notice = "added \(column.column.label): it starts with no history"
        case .sessionRenamed(let from, let to):
            if state.session?.name == from { state.session?.name = to }
            state.browser?.message = "renamed \(from) → \(to)"
        case .notice(let n):
            state.notice = n
        case .failure(let message):
            state.lastError = message
            state.cancelling = false
        case .compareOpened(let c):
            state.compare = c
            state.notice = nil
        case .compareDelta(let i, let text):
            guard var c = state.compare, c.columns.indices.contains(i) else { break }
            c.columns[i].streaming = (c.columns[i].streaming ?? "") + text
            c.columns[i].revision += 1
            state.compare = c
        case .browserList(let list):
            guard var b = state.browser else { break }
            let keep = b.current?.name
            b.sessions = list
            b.selected = keep.flatMap { k in list.firstIndex { $0.name == k } } ?? min(b.selected, max(0, list.count - 1))
            state.browser = b
            if let cur = b.current { return [.browserPreview(cur.name)] }
            state.browser?.preview = []
            state.browser?.previewTurns = []
        case .browserPreview(let name, let messages, let turns):
            guard state.browser?.current?.name == name else { break }
            state.browser?.preview = messages
            state.browser?.previewTurns = turns
        case .xrayLoaded(let data):
            state.xray = data
            // A turn read past the loaded ones (◂ ▸) is the one the open X-ray shows now.
            if case .xray(let shown, _) = state.overlay, shown != data.turnID { state.overlay = .xray(turn: data.turnID, scroll: 0) }
        case .serverObserved(let id, let text):
            if state.xray?.turnID == id { state.xray?.observed = text }
        case .browserMessage(let m):
            state.browser?.message = m
        case .compareTurn(let i, let row, let new):
            guard var c = state.compare, c.columns.indices.contains(i) else { break }
            c.columns[i].messages += new
            c.columns[i].streaming = nil
            c.columns[i].error = row.error
            c.rows.append(row)
            c.inFlight = max(0, c.inFlight - 1)
            if c.inFlight == 0 { c.pendingUser = nil }
            state.compare = c
        }
        return []
    }

    /// New rows at the end of the transcript: added only when the window reaches its end (else they are
    /// read when scrolling gets there), only those it lacks (a refresh may overlap), and the window stays
    /// within its limit (the oldest rows go; scrolling up reads them again).
    static func appendNewest(_ state: inout AppState, _ rows: [ChatMessage]) {
        guard !state.newerAvailable else { return }
        let last = state.messages.last?.id ?? 0
        state.messages += rows.filter { $0.id > last }
        if state.messages.count > windowLimit {
            let drop = state.messages.count - windowLimit
            state.messages.removeFirst(drop)
            state.olderAvailable = true
            if case .anchored(let m, let l) = state.scroll { state.scroll = .anchored(message: max(0, m - drop), line: l) }
        }
    }

    /// The message of a turn that did not reach the screen's store, and what was queued after it, back
    /// in the input, before anything typed meanwhile (which is kept).
    static func restoreUnsent(_ state: inout AppState) {
        let unsent = (state.streaming.map { [$0.userText] } ?? []) + state.queued
        state.queued = []
        guard !unsent.isEmpty else { return }
        state.input = InputEditor((unsent + (state.input.text.isEmpty ? [] : [state.input.text])).joined(separator: "\n"))
        state.notice = "your message is back in the input: Enter sends it again"
    }
}
