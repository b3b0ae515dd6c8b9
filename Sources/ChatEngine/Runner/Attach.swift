import Foundation

extension Runner {
    /// Attaches a session to history that lives on the server — a conversation (`conv_…`) or the chain
    /// ending at a response (`resp_…`), e.g. one an agent built through `chatbench serve` — so it can be
    /// continued here. The server's messages are copied into the transcript (one "attach" turn); the
    /// session then continues that conversation, or chains from that response.
    @discardableResult
    public func attach(_ id: String, to name: String, maxResponses: Int = 1000) async throws -> SessionRecord {
        guard var s = try store.session(named: name) else { throw ConfigurationError("no session named '\(name)'") }
        guard try store.messages(session: s.id).isEmpty else {
            throw ConfigurationError("session '\(name)' already has messages: attach to a new session (--session NEW)")
        }
        var items: [Item] = []
        if id.hasPrefix("conv_") {
            items = try await allPages { try await self.backend.listConversationItems(conversationID: id, query: $0) }
            s.mode = .conversation
            s.conversationID = id
        } else if id.hasPrefix("resp_") {
            // Walk the chain back: each response's own input, then its output; oldest first in the end.
            var cursor: String? = id
            var turns: [[Item]] = []
            while let rid = cursor, turns.count < maxResponses {
                let r = try await backend.retrieveResponse(id: rid)
                let input = try await allPages { try await self.backend.listInputItems(responseID: rid, query: $0) }
                turns.append(input + r.output)
                cursor = r.previous_response_id
            }
            items = turns.reversed().flatMap { $0 }
            s.mode = s.mode == .hybrid ? .hybrid : .chain
            s.chainHead = id
        } else {
            throw ConfigurationError("attach takes a response id (resp_…) or a conversation id (conv_…)")
        }
        let messages = items.filter { ($0.role == "user" || $0.role == "assistant") && !$0.text.isEmpty }
        return try store.recordImport(messages, session: s, attachedTo: id)
    }
}

/// Every item of a paged list, oldest first (`after` paging, 100 a page).
func allPages(_ page: (ListQuery) async throws -> ItemList) async throws -> [Item] {
    var items: [Item] = []
    var after: String?
    repeat {
        let p = try await page(ListQuery(limit: 100, order: "asc", after: after))
        items += p.data
        after = p.has_more ? p.last_id : nil
    } while after != nil
    return items
}

extension WorkbenchStore {
    /// Copies server-side messages into a session's transcript as one completed "attach" turn, and saves
    /// the session's new anchors (the server holds everything imported).
    func recordImport(_ items: [Item], session: SessionRecord, attachedTo id: String) throws -> SessionRecord {
        try db.transaction {
            try db.execute("""
                INSERT INTO turns(session_id, number, mode, backend, model, response_id, conversation_id, items_sent, request_bytes, status,
                    chain_event, created_at, input_items)
                VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 'completed', 'attach', ?, ?)
                """, [.integer(session.id), .integer(Int64(try nextTurnNumber(session: session.id))), .text(session.mode.rawValue),
                      .text(session.backend), .text(session.model), SQLValue(id.hasPrefix("resp_") ? id : nil),
                      SQLValue(id.hasPrefix("conv_") ? id : nil), .double(Date().timeIntervalSince1970), .integer(Int64(items.count))])
            let turn = db.lastInsertRowID
            var last: Int64 = 0
            for item in items {
                last = try insertMessage(session: session.id, role: Role(item.role ?? "user"), item: item, status: .complete, turn: turn)
            }
            try db.execute("UPDATE turns SET user_message_id = (SELECT min(id) FROM messages WHERE turn_id = ?1), reply_message_id = ? WHERE id = ?1",
                           [.integer(turn), last == 0 ? .null : .integer(last)])
            var s = session
            if s.mode == .conversation { s.conversationCovers = last } else { s.chainCovers = last }
            try save(s)
            return s
        }
    }
}
