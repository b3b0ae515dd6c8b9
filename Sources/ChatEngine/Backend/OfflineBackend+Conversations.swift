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
            if v.count > 512 { throw APIError.invalidRequest("Invalid 'metadata': the value of '\(APIError.clip(k))' is longer than 512 characters.", param: "metadata") }
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

    private func conversationRecord(_ id: String) throws -> ConversationRecord {
        guard let row = try state.conversation(id) else {
            throw APIError.notFound("Conversation with id '\(APIError.clip(id))' not found.", param: "conversation_id")
        }
        return row
    }

    private func conversation(from row: ConversationRecord) -> Conversation {
        let metadata = (try? WireJSON.decode([String: String].self, from: row.metadata)) ?? [:]
        return Conversation(id: row.id, created_at: row.createdAt, metadata: metadata)
    }

    /// The model's memory of a conversation's context; rebuilt from its items (from where its context
    /// starts) only after a deletion or a concurrent change.
    func conversationState(_ id: String) throws -> ConversationContext {
        guard let kept = try state.conversationContext(id) else {
            throw APIError.notFound("Conversation with id '\(APIError.clip(id))' not found.", param: "conversation_id")
        }
        if kept.snapshot != nil { return kept }
        let start = kept.start
        // The last number first: an item appended meanwhile is then after it, and a later turn's
        // commit sees the memory is behind.
        let seq = try state.lastItemSeq(id)
        let placed = try conversationItems(id, from: start).filter { $0.position <= seq }
        let items = placed.map(\.item)
        let snapshot = model.read(readable(items), after: nil)
        let tokens = TokenEstimator.tokens(items)
        try state.saveRebuiltState(id, snapshot: snapshot, seq: seq, tokens: tokens)
        return ConversationContext(snapshot: snapshot, tokens: tokens, seq: seq, start: start, prompt: nil, promptSeq: 0)
    }

    static func withID(_ item: Item, _ id: String) -> Item {
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
            try state.atomically {
                try state.createConversation(id: id, created: created, metadata: try WireJSON.encodeString(metadata), items: items)
                _ = try conversationState(id)
            }
            return Conversation(id: id, created_at: created, metadata: metadata)
        }
    }

    public func getConversation(id: String) async throws -> Conversation {
        try locked { conversation(from: try conversationRecord(id)) }
    }

    /// Replaces the metadata (the documented example replaces; merging is not documented).
    public func updateConversation(id: String, metadata: [String: String]) async throws -> Conversation {
        try locked {
            _ = try conversationRecord(id)
            try validate(metadata: metadata)
            try state.updateMetadata(id, try WireJSON.encodeString(metadata))
            return conversation(from: try conversationRecord(id))
        }
    }

    public func deleteConversation(id: String) async throws -> DeletedObject {
        try locked {
            guard try state.deleteConversation(id) else {   // items are kept
                throw APIError.notFound("Conversation with id '\(APIError.clip(id))' not found.", param: "conversation_id")
            }
            return DeletedObject(id: id, object: "conversation.deleted")
        }
    }

    public func addConversationItems(conversationID: String, items: [Item]) async throws -> ItemList {
        try locked {
            try validate(items: items)
            try checkConversationItems(items)
            let conversationContext = try conversationState(conversationID)
            let added = try state.addItems(conversationID, items, after: conversationContext) { added in
                (model.read(readable(added), after: conversationContext.snapshot), conversationContext.tokens + TokenEstimator.tokens(added))
            }
            return ItemList(data: added, hasMore: false)
        }
    }

    public func listConversationItems(conversationID: String, query q: ListQuery) async throws -> ItemList {
        try locked {
            try validate(q)
            _ = try conversationRecord(conversationID)
            var bound = q.order == "asc" ? Int64.min : Int64.max
            if let after = q.after {
                guard let seq = try state.itemSeq(conversationID, itemID: after) else {
                    throw APIError.invalidRequest("No item with id '\(APIError.clip(after))' in conversation '\(APIError.clip(conversationID))' to list after.", param: "after")
                }
                bound = seq
            }
            let items = try state.listItems(conversationID, bound: bound, ascending: q.order == "asc", limit: q.limit + 1).compactMap { Item.parse($0) }
            return ItemList(data: Array(items.prefix(q.limit)), hasMore: items.count > q.limit)
        }
    }

    public func getConversationItem(conversationID: String, itemID: String) async throws -> Item {
        try locked {
            _ = try conversationRecord(conversationID)
            guard let data = try state.conversationItem(conversationID, itemID: itemID) else {
                throw APIError.notFound("Item with id '\(APIError.clip(itemID))' not found in conversation '\(APIError.clip(conversationID))'.", param: "item_id")
            }
            guard let item = Item.parse(data) else { throw APIError(status: 500, type: "server_error", message: "stored item \(itemID) is unreadable") }
            return item
        }
    }

    public func deleteConversationItem(conversationID: String, itemID: String) async throws -> Conversation {
        try locked {
            let row = try conversationRecord(conversationID)
            guard try state.deleteConversationItem(conversationID, itemID: itemID) else {
                throw APIError.notFound("Item with id '\(APIError.clip(itemID))' not found in conversation '\(APIError.clip(conversationID))'.", param: "item_id")
            }
            return conversation(from: row)
        }
    }
}
