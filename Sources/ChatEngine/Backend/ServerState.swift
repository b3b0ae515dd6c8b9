import Foundation

/// Where the offline backend (and the gateway) keeps the emulated server's state: its responses,
/// conversations, prompt-cache entries and the secret that seals compaction items. The backend decides
/// what a turn means (`plan`, `finish`); a state only stores and reads, and makes each write atomic
/// against every other process sharing it, re-checking at write time what the write depends on
/// (a chained-after response deleted meanwhile, a conversation changed or deleted meanwhile).
///
/// Two states: `SQLiteServerState` (offline-server.sqlite, the default) and `RedisServerState`
/// (`serve --state redis://…`, so several `serve` processes share chains and conversations).
protocol ServerState: AnyObject, Sendable {
    /// The 32-byte secret compaction items are sealed with, created once per state. `preferring`: the
    /// secret this process already uses, written back if the state lost its own (Redis emptied).
    func secret(preferring: [UInt8]?) throws -> [UInt8]
    /// Whether other processes can change the secret under this one (then it is read at each use).
    var secretIsShared: Bool { get }
    /// Runs `body` as one unit against other processes where the state can (SQLite: one transaction);
    /// elsewhere each write is its own atomic step that re-checks what it depends on.
    func atomically<T>(_ body: () throws -> T) throws -> T

    // Responses
    /// The row a turn continues from (nil: never stored).
    func responseRow(_ id: String) throws -> ResponseRow?
    /// A stored, undeleted response's body (nil: not found).
    func storedBody(_ id: String) throws -> String?
    /// A response's own input or output items, in order.
    func items(of id: String, output: Bool) throws -> [Item]
    /// Stores a prepared response (when `keep`) and appends to its conversation, atomically.
    /// Throws 404 when its conversation was deleted meanwhile.
    func commit(_ p: OfflineBackend.Prepared, keep: Bool) throws
    /// Deletes a stored response and breaks every response chained after it; false: not found.
    func deleteResponse(_ id: String) throws -> Bool
    /// The items of the chain ending at `last`, from the response at `startDepth` on (and whatever the
    /// chain's first response recorded about its conversation), oldest first.
    func chainRows(endingAt last: String, startDepth: Int) throws -> [ChainRow]

    // Conversations
    func createConversation(id: String, created: Int, metadata: String, items: [Item]) throws
    /// An undeleted conversation (nil: not found).
    func conversation(_ id: String) throws -> ConversationRecord?
    /// An undeleted conversation's kept state (nil: not found).
    func conversationContext(_ id: String) throws -> ConversationContext?
    /// Saves a memory rebuilt from the items up to `seq`, unless the conversation changed since.
    func saveRebuiltState(_ id: String, snapshot: String, seq: Int, tokens: Int) throws
    /// The conversation's highest item sequence number (0: none).
    func lastItemSeq(_ id: String) throws -> Int
    /// Items from sequence number `first` on, with their numbers.
    func conversationItems(_ id: String, from first: Int) throws -> [(seq: Int, data: String)]
    /// Items up to and including `itemID` (empty when it is not there).
    func conversationItems(_ id: String, through itemID: String) throws -> [Item]
    /// Appends items (the API's add-items), then saves the memory `update` computes from the added
    /// items when nothing else changed the conversation meanwhile (else it is rebuilt on next use).
    func addItems(_ id: String, _ items: [Item], after state: ConversationContext,
                  update: ([Item]) -> (snapshot: String, tokens: Int)) throws -> [Item]
    func updateMetadata(_ id: String, _ metadata: String) throws
    /// Marks a conversation deleted (its items are kept); false: not found.
    func deleteConversation(_ id: String) throws -> Bool
    /// The sequence number of an item in the conversation (nil: not there).
    func itemSeq(_ id: String, itemID: String) throws -> Int64?
    /// Up to `limit` items after (ascending) or before (descending) `bound`.
    func listItems(_ id: String, bound: Int64, ascending: Bool, limit: Int) throws -> [String]
    func conversationItem(_ id: String, itemID: String) throws -> String?
    /// Deletes one item and drops the conversation's kept memory; false: not found.
    func deleteConversationItem(_ id: String, itemID: String) throws -> Bool

    // Prompt cache
    /// The highest block count among the live entries named by `candidates` (under `key`), after
    /// dropping expired entries; then stores or touches every candidate to live until `expires`.
    func cacheLookupAndTouch(key: String, candidates: [(Int, String)], now: Double, expires: Double) throws -> Int
}

/// What a turn reads about the response it continues from.
struct ResponseRow {
    var stored: Bool
    var deleted: Bool
    var brokenBy: String?
    var depth: Int
    var contextTokens: Int
    var modelState: String?
    var startDepth: Int
    var startSkip: Int
    var promptState: String?
}

/// One item of a chain: the response's conversation (only a chain's first response has one), its
/// depth, whether it is output, and the item's JSON.
struct ChainRow {
    var conversation: String?
    var depth: Int
    var output: Bool
    var data: String
}

struct ConversationRecord {
    var id: String
    var createdAt: Int
    var metadata: String
}


/// The server state in one SQLite file (offline-server.sqlite or gateway-server.sqlite; tests: memory).
final class SQLiteServerState: ServerState, @unchecked Sendable {
    let db: Database
    let path: String

    init(path: String) throws {
        db = try Database.open(path: path, migrations: OfflineBackend.migrations)
        self.path = path
    }

    init(inMemory: Void) throws {
        db = try Database.inMemory(migrations: OfflineBackend.migrations)
        path = ":memory:"
    }

    var secretIsShared: Bool { false }

    func secret(preferring: [UInt8]?) throws -> [UInt8] {
        guard let secret = try db.query("SELECT secret FROM server_secret WHERE id = 1").first?["secret"].bytes, secret.count == 32 else {
            throw StorageError(.corrupt, path: path, "the server's secret (which seals compaction items) is missing or damaged")
        }
        return secret
    }

    func atomically<T>(_ body: () throws -> T) throws -> T { try db.transaction(body) }

    func responseRow(_ id: String) throws -> ResponseRow? {
        guard let row = try db.query("""
                SELECT stored, deleted, broken_by, depth, context_tokens, model_state, start_depth, start_skip, prompt_state
                FROM responses WHERE id = ?
                """, [.text(id)]).first else { return nil }
        return ResponseRow(stored: row["stored"].int == 1, deleted: row["deleted"].int != 0, brokenBy: row["broken_by"].string,
                           depth: row["depth"].int ?? 0, contextTokens: row["context_tokens"].int ?? 0, modelState: row["model_state"].string,
                           startDepth: row["start_depth"].int ?? 1, startSkip: row["start_skip"].int ?? 0, promptState: row["prompt_state"].string)
    }

    func storedBody(_ id: String) throws -> String? {
        guard let row = try db.query("SELECT stored, deleted, body FROM responses WHERE id = ?", [.text(id)]).first,
              row["deleted"].int == 0, row["stored"].int == 1 else { return nil }
        return row["body"].string ?? "{}"
    }

    func items(of id: String, output: Bool) throws -> [Item] {
        try db.query("SELECT data FROM response_items WHERE response_id = ? AND kind = ? ORDER BY position", [.text(id), .text(output ? "output" : "input")])
            .compactMap { Item.parse($0["data"].string ?? "") }
    }

    func commit(_ p: OfflineBackend.Prepared, keep: Bool) throws {
        let r = p.response
        try db.transaction {
            if keep { try insertResponse(p) }
            if let conv = r.conversation?.id {
                guard try db.query("SELECT 1 FROM conversations WHERE id = ? AND deleted = 0", [.text(conv)]).first != nil else {
                    throw APIError.notFound("Conversation with id '\(APIError.clip(conv))' not found.", param: "conversation")
                }
                let lastSeq = try appendConversationItems(conv, p.input + p.output)
                let lastInputSeq = lastSeq - p.output.count
                var start = p.conversationStart == OfflineBackend.Plan.fromThisInput ? lastInputSeq - p.input.count + 1 : p.conversationStart
                if p.compacted { start = lastInputSeq + 1 }
                let unchanged = try db.query("SELECT state_seq FROM conversations WHERE id = ?", [.text(conv)]).first?["state_seq"].int == p.conversationStateSeq
                if unchanged {
                    try db.execute("""
                        UPDATE conversations SET model_state = ?, state_seq = ?, context_tokens = ?, start_seq = coalesce(?, start_seq),
                            prompt_state = ?, prompt_seq = ? WHERE id = ?
                        """, [.text(p.snapshot), .integer(Int64(lastSeq)), .integer(Int64(p.contextTokens)), SQLValue(start),
                              .text(p.prompt.encoded()), .integer(Int64(lastInputSeq)), .text(conv)])
                } else {
                    // Another request changed the conversation meanwhile: rebuild its memory on next use. The
                    // seq moves off too, so a turn planned from the memory before cannot write it back.
                    try db.execute("UPDATE conversations SET model_state = NULL, prompt_state = NULL, state_seq = -1, start_seq = coalesce(?, start_seq) WHERE id = ?",
                                   [SQLValue(start), .text(conv)])
                }
            }
        }
    }

    private func insertResponse(_ p: OfflineBackend.Prepared) throws {
        let r = p.response
        try db.execute("""
                INSERT INTO responses(id, previous_response_id, conversation_id, stored, depth, context_tokens, model_state, created_at, body,
                                      start_depth, start_skip, prompt_state)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(r.id), SQLValue(r.previous_response_id), SQLValue(r.conversation?.id), .integer(r.store == false ? 0 : 1),
                      .integer(Int64(p.depth)), .integer(Int64(p.contextTokens)), .text(p.snapshot), .double(r.created_at),
                      .text(try WireJSON.encodeString(r)), .integer(Int64(p.startDepth)), .integer(Int64(p.startSkip)), .text(p.prompt.encoded())])
        // The response it chains from may have been deleted while this one was computed or streamed
        // (by another request, or another process sharing the file): then this one is broken too.
        if let prev = r.previous_response_id {
            try db.execute("""
                UPDATE responses SET broken_by = (SELECT CASE WHEN deleted = 1 THEN id ELSE broken_by END FROM responses WHERE id = ?)
                WHERE id = ?
                """, [.text(prev), .text(r.id)])
            try db.execute("UPDATE responses SET model_state = '' WHERE id = ? AND broken_by IS NOT NULL", [.text(r.id)])
        }
        for (kind, items) in [("input", p.input), ("output", p.output)] {
            for (i, item) in items.enumerated() {
                try db.execute("INSERT INTO response_items(response_id, kind, position, item_id, data) VALUES (?, ?, ?, ?, ?)",
                               [.text(r.id), .text(kind), .integer(Int64(i)), SQLValue(item.id), .text(item.jsonString())])
            }
        }
    }

    func deleteResponse(_ id: String) throws -> Bool {
        guard try storedBody(id) != nil else { return false }
        try db.transaction {
            try db.execute("UPDATE responses SET deleted = 1, body = '{}', model_state = '' WHERE id = ?", [.text(id)])
            try db.execute("DELETE FROM response_items WHERE response_id = ?", [.text(id)])
            try db.execute("""
                UPDATE responses SET broken_by = coalesce(broken_by, ?1), model_state = '' WHERE id IN (
                    WITH RECURSIVE later(id) AS (
                        SELECT id FROM responses WHERE previous_response_id = ?1
                        UNION ALL SELECT r.id FROM responses r JOIN later ON r.previous_response_id = later.id)
                    SELECT id FROM later)
                """, [.text(id)])
        }
        return true
    }

    func chainRows(endingAt last: String, startDepth: Int) throws -> [ChainRow] {
        try db.query("""
            WITH RECURSIVE chain(id, prev, conv, depth) AS (
                SELECT id, previous_response_id, conversation_id, depth FROM responses WHERE id = ?1
                UNION ALL
                SELECT r.id, r.previous_response_id, r.conversation_id, r.depth FROM responses r JOIN chain c ON r.id = c.prev
                WHERE c.depth > ?2)
            SELECT c.conv, c.depth, i.kind, i.item_id, i.data FROM chain c JOIN response_items i ON i.response_id = c.id
            ORDER BY c.depth, i.kind, i.position
            """, [.text(last), .integer(Int64(startDepth))])
            .map { ChainRow(conversation: $0["conv"].string, depth: $0["depth"].int ?? 0, output: $0["kind"].string == "output", data: $0["data"].string ?? "") }
    }

    // MARK: Conversations

    /// Appends items with server ids; returns the last item's sequence number.
    @discardableResult
    func appendConversationItems(_ id: String, _ items: [Item]) throws -> Int {
        var last = 0
        for item in items {
            var stored = item.normalisedForStorage(id: IDs.make(item.message != nil ? "msg" : "item"))
            // An item id is unique server-wide: an input item replayed from elsewhere gets a fresh one.
            if let existing = stored.id, try db.query("SELECT 1 FROM conversation_items WHERE item_id = ?", [.text(existing)]).first != nil {
                stored = OfflineBackend.withID(stored, IDs.make(item.message != nil ? "msg" : "item"))
            }
            try db.execute("INSERT INTO conversation_items(conversation_id, item_id, data) VALUES (?, ?, ?)",
                           [.text(id), .text(stored.id ?? ""), .text(stored.jsonString())])
            last = Int(db.lastInsertRowID)
        }
        return last
    }

    func createConversation(id: String, created: Int, metadata: String, items: [Item]) throws {
        try db.execute("INSERT INTO conversations(id, created_at, metadata) VALUES (?, ?, ?)",
                       [.text(id), .integer(Int64(created)), .text(metadata)])
        try appendConversationItems(id, items)
    }

    func conversation(_ id: String) throws -> ConversationRecord? {
        guard let row = try db.query("SELECT id, created_at, metadata FROM conversations WHERE id = ? AND deleted = 0", [.text(id)]).first else { return nil }
        return ConversationRecord(id: row["id"].string ?? "", createdAt: row["created_at"].int ?? 0, metadata: row["metadata"].string ?? "{}")
    }

    func conversationContext(_ id: String) throws -> ConversationContext? {
        guard let row = try db.query("""
                SELECT model_state, state_seq, context_tokens, start_seq, prompt_state, prompt_seq FROM conversations WHERE id = ? AND deleted = 0
                """, [.text(id)]).first else { return nil }
        return ConversationContext(snapshot: row["model_state"].string, tokens: row["context_tokens"].int ?? 0, seq: row["state_seq"].int ?? 0,
                                   start: row["start_seq"].int ?? 0, prompt: PromptHasher.decoded(row["prompt_state"].string), promptSeq: row["prompt_seq"].int ?? 0)
    }

    func saveRebuiltState(_ id: String, snapshot: String, seq: Int, tokens: Int) throws {
        try db.execute("UPDATE conversations SET model_state = ?, state_seq = ?, context_tokens = ?, prompt_state = NULL WHERE id = ?",
                       [.text(snapshot), .integer(Int64(seq)), .integer(Int64(tokens)), .text(id)])
    }

    func lastItemSeq(_ id: String) throws -> Int {
        try db.query("SELECT coalesce(max(seq), 0) FROM conversation_items WHERE conversation_id = ?", [.text(id)]).first?[0].int ?? 0
    }

    func conversationItems(_ id: String, from first: Int) throws -> [(seq: Int, data: String)] {
        try db.query("SELECT seq, data FROM conversation_items WHERE conversation_id = ? AND seq >= ? ORDER BY seq", [.text(id), .integer(Int64(first))])
            .map { (seq: $0["seq"].int ?? 0, data: $0["data"].string ?? "") }
    }

    func conversationItems(_ id: String, through itemID: String) throws -> [Item] {
        try db.query("""
            SELECT data FROM conversation_items WHERE conversation_id = ?1
            AND seq <= (SELECT seq FROM conversation_items WHERE conversation_id = ?1 AND item_id = ?2) ORDER BY seq
            """, [.text(id), .text(itemID)]).compactMap { Item.parse($0["data"].string ?? "") }
    }

    func addItems(_ id: String, _ items: [Item], after state: ConversationContext,
                  update: ([Item]) -> (snapshot: String, tokens: Int)) throws -> [Item] {
        try db.transaction {
            let firstNew = try db.query("SELECT coalesce(max(seq), 0) FROM conversation_items")[0][0].int ?? 0
            let last = try appendConversationItems(id, items)
            let rows = try db.query("SELECT data FROM conversation_items WHERE conversation_id = ? AND seq > ? ORDER BY seq",
                                    [.text(id), .integer(Int64(firstNew))])
            let added = rows.compactMap { Item.parse($0["data"].string ?? "") }
            let (snapshot, tokens) = update(added)
            try db.execute("UPDATE conversations SET model_state = ?, state_seq = ?, context_tokens = ? WHERE id = ?",
                           [.text(snapshot), .integer(Int64(last)), .integer(Int64(tokens)), .text(id)])
            return added
        }
    }

    func updateMetadata(_ id: String, _ metadata: String) throws {
        try db.execute("UPDATE conversations SET metadata = ? WHERE id = ?", [.text(metadata), .text(id)])
    }

    func deleteConversation(_ id: String) throws -> Bool {
        try db.execute("UPDATE conversations SET deleted = 1 WHERE id = ? AND deleted = 0", [.text(id)])  // items are kept
        return db.changes > 0
    }

    func itemSeq(_ id: String, itemID: String) throws -> Int64? {
        try db.query("SELECT seq FROM conversation_items WHERE conversation_id = ? AND item_id = ?", [.text(id), .text(itemID)]).first?["seq"].int64
    }

    func listItems(_ id: String, bound: Int64, ascending: Bool, limit: Int) throws -> [String] {
        let sql = ascending
            ? "SELECT data FROM conversation_items WHERE conversation_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?"
            : "SELECT data FROM conversation_items WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
        return try db.query(sql, [.text(id), .integer(bound), .integer(Int64(limit))]).map { $0["data"].string ?? "" }
    }

    func conversationItem(_ id: String, itemID: String) throws -> String? {
        try db.query("SELECT data FROM conversation_items WHERE conversation_id = ? AND item_id = ?", [.text(id), .text(itemID)]).first?["data"].string
    }

    func deleteConversationItem(_ id: String, itemID: String) throws -> Bool {
        try db.execute("DELETE FROM conversation_items WHERE conversation_id = ? AND item_id = ?", [.text(id), .text(itemID)])
        guard db.changes > 0 else { return false }
        try db.execute("UPDATE conversations SET model_state = NULL, prompt_state = NULL, state_seq = -1 WHERE id = ?", [.text(id)])
        return true
    }

    // MARK: Prompt cache

    func cacheLookupAndTouch(key: String, candidates: [(Int, String)], now: Double, expires: Double) throws -> Int {
        var best = 0
        for chunk in stride(from: 0, to: candidates.count, by: 400) {
            let part = candidates[chunk..<min(candidates.count, chunk + 400)]
            let marks = part.map { _ in "?" }.joined(separator: ",")
            let rows = try db.query("SELECT max(blocks) FROM prompt_cache WHERE cache_key = ? AND expires >= ? AND block IN (\(marks))",
                                    [.text(key), .double(now)] + part.map { .text($0.1) })
            best = max(best, rows.first?[0].int ?? 0)
        }
        try db.execute("DELETE FROM prompt_cache WHERE expires < ?", [.double(now)])
        for (blocks, name) in candidates {
            try db.execute("""
                INSERT INTO prompt_cache(cache_key, block, blocks, expires) VALUES (?, ?, ?, ?)
                ON CONFLICT(cache_key, block) DO UPDATE SET expires = max(expires, excluded.expires)
                """, [.text(key), .text(name), .integer(Int64(blocks)), .double(expires)])
        }
        return best
    }
}
