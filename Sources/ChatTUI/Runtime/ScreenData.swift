import ChatEngine
import Foundation

/// Loads what the screen shows from the store: pages, never whole sessions.
public enum ScreenData {
    /// Turns the chain panel may show (it shows the newest that fit).
    public static let chainPanelTurns = 64

    static func chatMessages(_ rows: [TranscriptRow]) -> [ChatMessage] {
        rows.map { ChatMessage(id: $0.id, role: $0.role, text: $0.text, status: ChatMessage.Status($0.status), note: $0.note) }
    }

    /// Rows after `after` (a turn just recorded, or written by another process), oldest first.
    public static func messages(_ store: WorkbenchStore, session: SessionRecord, after: Int64) throws -> [ChatMessage] {
        chatMessages(try store.transcript(session, after == 0 ? .last(App.pageSize) : .after(after, App.windowLimit)).rows)
    }

    /// What another process added to the session since the pane's last message (nil: the session is gone).
    /// An Agents SDK file can also lose items (an agent's pop_item or clear_session): its newest page is
    /// read again instead.
    public static func changes(_ store: WorkbenchStore, session id: Int64, after lastMessage: Int64) throws -> [EngineEvent]? {
        guard let s = try store.session(id: id) else { return nil }
        let state = EngineEvent.sessionChanged(newMessages: s.clientDB == nil ? try messages(store, session: s, after: lastMessage) : [],
                                               turns: try store.recentTurns(session: s.id, limit: chainPanelTurns),
                                               memory: try store.memoryState(for: s), session: s)
        return s.clientDB == nil ? [state] : [state, try page(.last(App.pageSize), of: s, store: store)]
    }

    /// A page the screen asked for, as the event that delivers it.
    public static func page(_ page: TranscriptPage, of session: SessionRecord, store: WorkbenchStore) throws -> EngineEvent {
        let (rows, more) = try store.transcript(session, page)
        return .pageLoaded(page, messages: chatMessages(rows), more: more)
    }

    /// Carries out the page reads among `effects` (and the reads they lead to) through `App.update`;
    /// other effects are the runtime's and are ignored here (bench, tests).
    public static func perform(_ effects: [Effect], _ state: inout AppState, store: WorkbenchStore, layout: LayoutCache) throws {
        var pending = effects
        while !pending.isEmpty {
            guard case .loadPage(let p) = pending.removeFirst(), let s = state.session else { continue }
            pending += App.update(&state, .engine(try page(p, of: s, store: store)), layout: layout)
        }
    }

    /// A session as the first frame needs it: the last page of messages, the newest turns, the memory
    /// (and, `withHistory`, the user's recent messages for the input's history).
    public static func load(_ store: WorkbenchStore, _ session: SessionRecord, withHistory: Bool = false) throws -> EngineEvent {
        let turns = try store.recentTurns(session: session.id, limit: chainPanelTurns)
        Trace.mark("turns loaded (\(turns.count))")
        let page = try store.transcript(session, .last(App.pageSize))
        Trace.mark("messages loaded (\(page.rows.count))")
        let memory = try store.memoryState(for: session)
        Trace.mark("memory state")
        let history = withHistory ? try store.recentUserTexts(session: session.id, limit: 200) : []
        return .sessionLoaded(session: session, messages: chatMessages(page.rows), turns: turns, memory: memory, olderAvailable: page.more,
                              history: history)
    }
}
