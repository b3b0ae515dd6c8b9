import Foundation

/// One row of a conversation as a screen shows it.
public struct TranscriptRow: Sendable, Equatable {
    public var id: Int64
    public var role: Role
    public var text: String
    public var status: MessageStatus
    /// Why a user message was not answered (its turn's error).
    public var note: String?
}

/// Which rows of a transcript to read. Every page is one indexed range scan, so reading a page of a
/// 1,000,000-message session costs what it costs in a 10-message one.
public enum TranscriptPage: Sendable, Equatable {
    /// The newest `n` rows.
    case last(Int)
    /// The oldest `n` rows.
    case first(Int)
    /// The `n` rows just before the row `id`.
    case before(Int64, Int)
    /// The `n` rows just after the row `id`.
    case after(Int64, Int)
}

extension WorkbenchStore {
    /// A page of the session's conversation, oldest first, and whether more rows lie beyond it (in the
    /// page's direction). A session continued from an Agents SDK file (`--session-db`) shows that
    /// file's items — its whole history, whoever wrote it — with their row ids.
    public func transcript(_ s: SessionRecord, _ page: TranscriptPage) throws -> (rows: [TranscriptRow], more: Bool) {
        if s.clientDB != nil {
            let agent = try agentSession(for: s)
            return try agent.rows(page)
        }
        let (order, bound, limit) = Self.range(page)
        let rows = try db.query("""
            SELECT m.id, m.role, m.content, m.status, t.error_message FROM messages m LEFT JOIN turns t ON t.id = m.turn_id
            WHERE m.session_id = ? AND \(bound.sql) ORDER BY m.id \(order) LIMIT ?
            """, [.integer(s.id), .integer(bound.value), .integer(Int64(limit + 1))]).map { r -> TranscriptRow in
            let status = MessageStatus(stored: r[3].string), role = Role(r[1].string ?? "user")
            return TranscriptRow(id: r[0].int64 ?? 0, role: role, text: r[2].string ?? "", status: status,
                                 note: status == .failed && role == .user ? r[4].string : nil)
        }
        return Self.finish(rows, page: page, limit: limit)
    }

    /// ORDER BY direction, the id bound, and the page size of a page.
    static func range(_ page: TranscriptPage) -> (String, (sql: String, value: Int64), Int) {
        switch page {
        case .last(let n): return ("DESC", ("m.id > ?", 0), max(0, n))
        case .first(let n): return ("ASC", ("m.id > ?", 0), max(0, n))
        case .before(let id, let n): return ("DESC", ("m.id < ?", id), max(0, n))
        case .after(let id, let n): return ("ASC", ("m.id > ?", id), max(0, n))
        }
    }

    /// Trims the one extra row read to learn whether more lie beyond, and puts the page oldest first.
    static func finish<T>(_ rows: [T], page: TranscriptPage, limit: Int) -> (rows: [T], more: Bool) {
        let more = rows.count > limit
        let kept = Array(rows.prefix(limit))
        switch page {
        case .last, .before: return (kept.reversed(), more)
        case .first, .after: return (kept, more)
        }
    }

    /// The newest user messages of a session, oldest first (the input's history).
    public func recentUserTexts(session: Int64, limit: Int) throws -> [String] {
        try db.query("SELECT content FROM messages WHERE session_id = ? AND role = 'user' ORDER BY id DESC LIMIT ?",
                     [.integer(session), .integer(Int64(limit))]).reversed().compactMap { $0[0].string }
    }
}

extension SQLiteAgentSession {
    /// A page of the session's items as conversation rows. Items that are not messages (tool calls and
    /// their outputs) show as "tool" rows with their readable text; unreadable rows are skipped.
    public func rows(_ page: TranscriptPage) throws -> (rows: [TranscriptRow], more: Bool) {
        let (order, bound, limit) = WorkbenchStore.range(page)
        let rows = try db.query("""
            SELECT id, message_data FROM \(messagesTable) WHERE session_id = ? AND \(bound.sql.replacingOccurrences(of: "m.id", with: "id"))
            ORDER BY id \(order) LIMIT ?
            """, [.text(sessionID), .integer(bound.value), .integer(Int64(limit + 1))]).map { r -> TranscriptRow? in
            guard let item = Item.parse(r[1].string ?? "") else { return nil }
            return TranscriptRow(id: r[0].int64 ?? 0, role: Role(item.role ?? "tool"), text: item.text, status: .complete, note: nil)
        }
        let (page, more) = WorkbenchStore.finish(rows, page: page, limit: limit)
        return (page.compactMap { $0 }, more)
    }
}

extension RedisAgentSession {
    /// A page of the Redis list as conversation rows; a row's id is its 1-based position in the list
    /// (the list only grows at its end, and shrinks there: pop_item, clear_session).
    public func rows(_ page: TranscriptPage) throws -> (rows: [TranscriptRow], more: Bool) {
        let n = try count()
        let (from, to): (Int, Int)   // 0-based, inclusive
        let more: Bool
        switch page {
        case .last(let k): from = max(0, n - k); to = n - 1; more = from > 0
        case .first(let k): from = 0; to = min(n, k) - 1; more = n > k
        case .before(let id, let k): to = Int(id) - 2; from = max(0, to - k + 1); more = from > 0
        case .after(let id, let k): from = Int(id); to = min(n - 1, from + k - 1); more = to < n - 1
        }
        guard to >= from else { return ([], false) }
        let raw = try client.call("LRANGE", messagesKey, String(from), String(to)).array ?? []
        let rows = raw.enumerated().compactMap { i, v -> TranscriptRow? in
            guard let item = Self.decode(v) else { return nil }
            return TranscriptRow(id: Int64(from + i + 1), role: Role(item.role ?? "tool"), text: item.text, status: .complete, note: nil)
        }
        return (rows, more)
    }
}
