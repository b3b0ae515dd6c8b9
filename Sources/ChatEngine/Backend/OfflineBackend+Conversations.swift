import Foundation

extension OfflineBackend {
    // MARK: Conversations

    func validate(metadata: [String: String]?) throws {
        guard let metadata else { return }
        if metadata.count > 16 {
            throw APIError.invalidRequest("Invalid 'metadata': at most 16 key-value pairs, got \(metadata.count).", param: "metadata")
        }
        for (k, v) in metadata {
            if k.count > 64 { throw APIError.invalidRequest("Invalid 'metadata': key '\(k.prefix(20))…' is longer than 64 characters.", param: "metadata") }
            if v.count > 512 { throw APIError.invalidRequest("Invalid 'metadata': the value of '\(k)' is longer than 512 characters.", param: "metadata") }
        }
    }

    func validate(items: [Item]) throws {
        if items.count > 20 {
            throw APIError.invalidRequest("Invalid 'items': array too long. Expected an array with maximum length 20, but got an array with length \(items.count) instead.",
                                          param: "items", code: "array_above_max_length")
        }
    }

    func validate(_ q: ListQuery) throws {
        guard (1...100).contains(q.limit) else {
            throw APIError.invalidRequest("Invalid 'limit': \(q.limit). It must be between 1 and 100.", param: "limit", code: "integer_out_of_range")
        }
        guard q.order == "asc" || q.order == "desc" else {
            throw APIError.invalidRequest("Invalid 'order': '\(q.order)'. Expected 'asc' or 'desc'.", param: "order", code: "invalid_value")
        }
    }

    private func conversationRow(_ id: String) throws -> Row {
        guard let row = try db.query("SELECT id, created_at, metadata, model_state, state_seq, context_tokens FROM conversations WHERE id = ? AND deleted = 0",
                                     [.text(id)]).first else {
            throw APIError.notFound("Conversation with id '\(id)' not found.", param: "conversation_id")
        }
        return row
    }

    private func conversation(from row: Row) -> Conversation {
        let metadata = (try? WireJSON.decode([String: String].self, from: row["metadata"].string ?? "{}")) ?? [:]
        return Conversation(id: row["id"].string ?? "", created_at: row["created_at"].int ?? 0, metadata: metadata)
    }

    /// The model's memory of a conversation's context; rebuilt from its items (from where its context
    /// starts) only after a deletion or a concurrent change.
    func conversationState(_ id: String) throws -> ConversationContext {
        guard let row = try db.query("""
                SELECT model_state, state_seq, context_tokens, start_seq, prompt_state, prompt_seq FROM conversations WHERE id = ? AND deleted = 0
                """, [.text(id)]).first else {
            throw APIError.notFound("Conversation with id '\(id)' not found.", param: "conversation_id")
        }
        let start = row["start_seq"].int ?? 0
        if let snapshot = row["model_state"].string {
            return ConversationContext(snapshot: snapshot, tokens: row["context_tokens"].int ?? 0, seq: row["state_seq"].int ?? 0, start: start,
                                       prompt: PromptHasher.decoded(row["prompt_state"].string), promptSeq: row["prompt_seq"].int ?? 0)
        }
        let placed = try conversationItems(id, from: start)
        let items = placed.map(\.item)
        let snapshot = model.read(readable(items), after: nil)
        let tokens = TokenEstimator.tokens(items)
        let seq = try db.query("SELECT coalesce(max(seq), 0) FROM conversation_items WHERE conversation_id = ?", [.text(id)]).first?[0].int ?? 0
        try db.execute("UPDATE conversations SET model_state = ?, state_seq = ?, context_tokens = ?, prompt_state = NULL WHERE id = ?",
                       [.text(snapshot), .integer(Int64(seq)), .integer(Int64(tokens)), .text(id)])
        return ConversationContext(snapshot: snapshot, tokens: tokens, seq: seq, start: start, prompt: nil, promptSeq: 0)
    }

    /// Appends items with server ids; returns the last item's sequence number.
    @discardableResult
    func appendConversationItems(_ id: String, _ items: [Item]) throws -> Int {
        var last = 0
        for item in items {
            var stored = item.normalisedForStorage(id: IDs.make(item.message != nil ? "msg" : "item"))
            // An item id is unique server-wide: an input item replayed from elsewhere gets a fresh one.
            if let existing = stored.id, try db.query("SELECT 1 FROM conversation_items WHERE item_id = ?", [.text(existing)]).first != nil {
                stored = Self.withID(stored, IDs.make(item.message != nil ? "msg" : "item"))
            }
            try db.execute("INSERT INTO conversation_items(conversation_id, item_id, data) VALUES (?, ?, ?)",
                           [.text(id), .text(stored.id ?? ""), .text(stored.jsonString())])
            last = Int(db.lastInsertRowID)
        }
        return last
    }

    private static func withID(_ item: Item, _ id: String) -> Item {
        switch item {
        case .message(var m): m.id = id; return .message(m)
        case .opaque(var v):
            if case .object(var o) = v { o["id"] = .string(id); v = .object(o) }
            return .opaque(v)
        }
    }

    public func createConversation(items: [Item], metadata: [String: String]) async throws -> Conversation {
        try locked {
            try validate(items: items)
            try checkConversationItems(items)
            try validate(metadata: metadata)
            let id = IDs.make("conv")
            let created = Int(Date().timeIntervalSince1970)
            try db.transaction {
                try db.execute("INSERT INTO conversations(id, created_at, metadata) VALUES (?, ?, ?)",
                               [.text(id), .integer(Int64(created)), .text(try WireJSON.encodeString(metadata))])
                try appendConversationItems(id, items)
                _ = try conversationState(id)
            }
            return Conversation(id: id, created_at: created, metadata: metadata)
        }
    }

    public func getConversation(id: String) async throws -> Conversation {
        try locked { conversation(from: try conversationRow(id)) }
    }

    /// Replaces the metadata (the documented example replaces; merging is not documented).
    public func updateConversation(id: String, metadata: [String: String]) async throws -> Conversation {
        try locked {
            _ = try conversationRow(id)
            try validate(metadata: metadata)
            try db.execute("UPDATE conversations SET metadata = ? WHERE id = ?", [.text(try WireJSON.encodeString(metadata)), .text(id)])
            return conversation(from: try conversationRow(id))
        }
    }

    public func deleteConversation(id: String) async throws -> DeletedObject {
        try locked {
            _ = try conversationRow(id)
            try db.execute("UPDATE conversations SET deleted = 1 WHERE id = ?", [.text(id)])  // items are kept
            return DeletedObject(id: id, object: "conversation.deleted")
        }
    }

    public func addConversationItems(conversationID: String, items: [Item]) async throws -> ItemList {
        try locked {
            try validate(items: items)
            try checkConversationItems(items)
            let state = try conversationState(conversationID)
            return try db.transaction {
                let firstNew = try db.query("SELECT coalesce(max(seq), 0) FROM conversation_items")[0][0].int ?? 0
                let last = try appendConversationItems(conversationID, items)
                let rows = try db.query("SELECT data FROM conversation_items WHERE conversation_id = ? AND seq > ? ORDER BY seq",
                                        [.text(conversationID), .integer(Int64(firstNew))])
                let added = rows.compactMap { Item.parse($0["data"].string ?? "") }
                try db.execute("UPDATE conversations SET model_state = ?, state_seq = ?, context_tokens = ? WHERE id = ?",
                               [.text(model.read(readable(added), after: state.snapshot)), .integer(Int64(last)),
                                .integer(Int64(state.tokens + TokenEstimator.tokens(added))), .text(conversationID)])
                return ItemList(data: added, hasMore: false)
            }
        }
    }

    public func listConversationItems(conversationID: String, query q: ListQuery) async throws -> ItemList {
        try locked {
            try validate(q)
            _ = try conversationRow(conversationID)
            var bound = q.order == "asc" ? Int64.min : Int64.max
            if let after = q.after {
                guard let seq = try db.query("SELECT seq FROM conversation_items WHERE conversation_id = ? AND item_id = ?",
                                             [.text(conversationID), .text(after)]).first?["seq"].int64 else {
                    throw APIError.invalidRequest("No item with id '\(after)' in conversation '\(conversationID)' to list after.", param: "after")
                }
                bound = seq
            }
            let sql = q.order == "asc"
                ? "SELECT data FROM conversation_items WHERE conversation_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?"
                : "SELECT data FROM conversation_items WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
            let rows = try db.query(sql, [.text(conversationID), .integer(bound), .integer(Int64(q.limit + 1))])
            let items = rows.compactMap { Item.parse($0["data"].string ?? "") }
            return ItemList(data: Array(items.prefix(q.limit)), hasMore: items.count > q.limit)
        }
    }

    public func getConversationItem(conversationID: String, itemID: String) async throws -> Item {
        try locked {
            _ = try conversationRow(conversationID)
            guard let row = try db.query("SELECT data FROM conversation_items WHERE conversation_id = ? AND item_id = ?",
                                         [.text(conversationID), .text(itemID)]).first else {
                throw APIError.notFound("Item with id '\(itemID)' not found in conversation '\(conversationID)'.", param: "item_id")
            }
            guard let item = Item.parse(row["data"].string ?? "") else { throw APIError(status: 500, type: "server_error", message: "stored item \(itemID) is unreadable") }
            return item
        }
    }

    public func deleteConversationItem(conversationID: String, itemID: String) async throws -> Conversation {
        try locked {
            let row = try conversationRow(conversationID)
            try db.execute("DELETE FROM conversation_items WHERE conversation_id = ? AND item_id = ?", [.text(conversationID), .text(itemID)])
            guard db.changes > 0 else {
                throw APIError.notFound("Item with id '\(itemID)' not found in conversation '\(conversationID)'.", param: "item_id")
            }
            try db.execute("UPDATE conversations SET model_state = NULL, prompt_state = NULL WHERE id = ?", [.text(conversationID)])
            return conversation(from: row)
        }
    }
}
