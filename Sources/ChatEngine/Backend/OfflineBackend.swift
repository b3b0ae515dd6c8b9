import Foundation

/// The offline backend: an in-process emulation of the Responses + Conversations server state,
/// persisted in its own SQLite file (the "server's disk"), answered by a `TextModel`.
///
/// Semantics (README, "What the offline server keeps", states them for users; where the API's own
/// documentation is silent, these are chatbench's choices):
/// - `store` defaults to true. A `store:false` response can be neither retrieved nor chained
///   (unless `storeFalseChainable`), but it still joins a conversation it was made in.
/// - The context of a request with `previous_response_id` is every earlier input and output of the
///   chain, oldest first, then the new input. Only the current request's `instructions` apply.
///   The server keeps, per response, the model's memory snapshot and the context's token count, so a
///   turn never walks the chain: depth 10,000 costs what depth 10 costs.
/// - `conversation=` prepends the conversation's items and appends the response's input and output
///   once it completes (a cancelled stream appends nothing). Deleting a conversation keeps its items.
/// - Deleting a response breaks every response chained after it: chaining from any of them fails
///   with 400 `previous_response_not_found`, naming the deleted one.
/// - `usage.input_tokens` counts the whole rebuilt context (what the real API bills), by `TokenEstimator`;
///   `cached_tokens` is 0 (prompt caching is not emulated).
/// - `input_items` lists the response's own input (not its ancestors').
public final class OfflineBackend: ResponsesBackend, @unchecked Sendable {
    public let info: BackendInfo
    public let model: TextModel
    let db: Database
    private let lock = NSLock()
    private let streamDelay: Duration
    private let storeFalseChainable: Bool
    /// When set, turns are answered by it from the rebuilt context (the gateway), not by `model`.
    let answerer: Answerer?

    public static let migrations: [Migration] = [
        Migration(version: 1, sql: """
            CREATE TABLE responses (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                previous_response_id TEXT,
                conversation_id TEXT,
                stored INTEGER NOT NULL,
                deleted INTEGER NOT NULL DEFAULT 0,
                broken_by TEXT,
                depth INTEGER NOT NULL,
                context_tokens INTEGER NOT NULL,
                model_state TEXT NOT NULL,
                created_at REAL NOT NULL,
                body TEXT NOT NULL
            );
            CREATE INDEX responses_previous ON responses(previous_response_id);
            CREATE TABLE response_items (
                response_id TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('input', 'output')),
                position INTEGER NOT NULL,
                item_id TEXT,
                data TEXT NOT NULL,
                PRIMARY KEY (response_id, kind, position)
            );
            CREATE TABLE conversations (
                id TEXT PRIMARY KEY,
                created_at INTEGER NOT NULL,
                metadata TEXT NOT NULL,
                deleted INTEGER NOT NULL DEFAULT 0,
                model_state TEXT,
                state_seq INTEGER NOT NULL DEFAULT 0,
                context_tokens INTEGER NOT NULL DEFAULT 0
            );
            CREATE TABLE conversation_items (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                conversation_id TEXT NOT NULL,
                item_id TEXT NOT NULL UNIQUE,
                data TEXT NOT NULL
            );
            CREATE INDEX conversation_items_by_conversation ON conversation_items(conversation_id, seq);
            """),
    ]

    /// Opens (creating) the server state at `path`. `streamDelay` paces streamed words (0 in tests).
    /// With an `answerer` this is the gateway: the same state, each turn answered by the answerer.
    public init(path: String, model: TextModel = OfflineModel(), streamDelay: Duration = .zero, storeFalseChainable: Bool = false,
                answerer: Answerer? = nil) throws {
        db = try Database.open(path: path, migrations: Self.migrations)
        self.model = answerer.map { NoSnapshotModel(name: $0.model(for: nil)) } ?? model
        self.streamDelay = streamDelay
        self.storeFalseChainable = storeFalseChainable
        self.answerer = answerer
        info = answerer == nil
            ? BackendInfo(name: "offline", displayName: "offline backend", defaultModel: model.name, isOffline: true)
            : BackendInfo(name: "gateway", displayName: "gateway to " + ((answerer as? ChatCompletionsAnswerer).map { "chat completions at \($0.host)" } ?? "its answerer"),
                          defaultModel: answerer!.model(for: nil), isOffline: false)
    }

    public init(inMemoryWith model: TextModel = OfflineModel(), streamDelay: Duration = .zero) throws {
        db = try Database.inMemory(migrations: Self.migrations)
        self.model = model
        self.streamDelay = streamDelay
        storeFalseChainable = false
        answerer = nil
        info = BackendInfo(name: "offline", displayName: "offline backend", defaultModel: model.name, isOffline: true)
    }

    func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock(); defer { lock.unlock() }
        return try body()
    }

    // MARK: Responses

    /// A response computed but not yet stored: streaming stores it only when the stream completes.
    struct Prepared {
        var response: Response
        var input: [Item]
        var output: [Item]
        var snapshot: String
        var contextTokens: Int
        var depth: Int
        var conversationStateSeq: Int?
    }

    /// What a turn reads from the stored state before anything answers it.
    struct Plan {
        var request: CreateResponseRequest
        var input: [Item]              // the new input, with server ids
        var snapshot: String?          // the model's memory of everything before it (nil: empty)
        var tokensBefore: Int
        var depth: Int
        var conversationSeq: Int?
    }

    /// A turn computed by this backend's own model (an `Answerer` turn goes through `plan`/`finish` instead).
    func prepare(_ request: CreateResponseRequest) throws -> Prepared {
        let p = try plan(request)
        let withInput = model.read(p.input, after: p.snapshot)
        let text = model.reply(to: withInput, instructions: request.instructions)
        let output = [Item.assistantMessage(id: IDs.make("msg"), text: text)]
        return finish(p, output: output, snapshot: model.read(output, after: withInput), modelName: model.name, usage: nil)
    }

    /// Checks a request and reads the state it continues from.
    func plan(_ request: CreateResponseRequest) throws -> Plan {
        if request.previous_response_id != nil && request.conversation != nil {
            throw APIError.invalidRequest("Cannot use 'previous_response_id' together with 'conversation'; pass one of them.",
                                          param: "conversation", code: "invalid_request")
        }
        try validate(metadata: request.metadata)
        let newInput = request.input?.items ?? []
        if newInput.isEmpty && request.conversation == nil {
            throw APIError.invalidRequest("Missing required parameter: 'input'.", param: "input", code: "missing_required_parameter")
        }
        var snapshot: String?
        var tokensBefore = 0
        var depth = 1
        var conversationSeq: Int?
        if let prev = request.previous_response_id {
            guard let row = try db.query("SELECT stored, deleted, broken_by, depth, context_tokens, model_state FROM responses WHERE id = ?",
                                         [.text(prev)]).first,
                  row["deleted"].int == 0, row["stored"].int == 1 || storeFalseChainable else {
                throw APIError.previousResponseNotFound(prev)
            }
            if let broken = row["broken_by"].string {
                throw APIError.previousResponseNotFound(prev, detail: "Response '\(broken)' earlier in its chain was deleted.")
            }
            snapshot = row["model_state"].string
            tokensBefore = row["context_tokens"].int ?? 0
            depth = (row["depth"].int ?? 0) + 1
        } else if let conv = request.conversation?.id {
            let state = try conversationState(conv)
            snapshot = state.snapshot
            tokensBefore = state.tokens
            conversationSeq = state.seq
        }
        let input = newInput.map { $0.normalisedForStorage(id: IDs.make($0.message != nil ? "msg" : "item")) }
        return Plan(request: request, input: input, snapshot: snapshot, tokensBefore: tokensBefore, depth: depth, conversationSeq: conversationSeq)
    }

    /// The response to a planned turn, given its output. `usage`: what the answerer measured (nil:
    /// estimated with `TokenEstimator` over the whole context).
    func finish(_ p: Plan, id: String = IDs.make("resp"), output: [Item], snapshot: String, modelName: String, usage: Usage?) -> Prepared {
        let request = p.request
        var r = Response(id: id)
        r.created_at = Date().timeIntervalSince1970.rounded(.down)
        r.status = "completed"
        r.completed_at = r.created_at
        r.model = modelName
        r.output = output
        r.instructions = request.instructions.map { .string($0) }
        r.previous_response_id = request.previous_response_id
        r.conversation = request.conversation.map { ConversationRef(id: $0.id) }
        r.metadata = request.metadata ?? [:]
        r.store = request.store ?? true
        r.background = false
        r.parallel_tool_calls = true
        r.tool_choice = .string("auto")
        r.tools = []
        r.temperature = 1
        r.top_p = 1
        r.truncation = "disabled"
        r.max_output_tokens = request.max_output_tokens
        let inputTokens = p.tokensBefore + TokenEstimator.tokens(instructions: request.instructions) + TokenEstimator.tokens(p.input)
        r.usage = usage ?? Usage(input: inputTokens, output: TokenEstimator.tokens(output.map(\.text).joined()))
        let contextTokens = p.tokensBefore + TokenEstimator.tokens(p.input) + TokenEstimator.tokens(output)
        return Prepared(response: r, input: p.input, output: output, snapshot: snapshot, contextTokens: contextTokens,
                        depth: p.depth, conversationStateSeq: p.conversationSeq)
    }

    /// Stores a prepared response (and appends to its conversation) in one transaction.
    func commit(_ p: Prepared) throws {
        let r = p.response
        // A store:false response is not kept (so it can be neither retrieved nor chained), unless
        // the backend was told to emulate servers that do keep them.
        let keep = r.store != false || storeFalseChainable
        try db.transaction {
            if keep { try insertResponse(p) }
            if let conv = r.conversation?.id {
                guard try db.query("SELECT 1 FROM conversations WHERE id = ? AND deleted = 0", [.text(conv)]).first != nil else {
                    throw APIError.notFound("Conversation with id '\(conv)' not found.", param: "conversation")
                }
                let lastSeq = try appendConversationItems(conv, p.input + p.output)
                let unchanged = try db.query("SELECT state_seq FROM conversations WHERE id = ?", [.text(conv)]).first?["state_seq"].int == p.conversationStateSeq
                if unchanged {
                    try db.execute("UPDATE conversations SET model_state = ?, state_seq = ?, context_tokens = ? WHERE id = ?",
                                   [.text(p.snapshot), .integer(Int64(lastSeq)), .integer(Int64(p.contextTokens)), .text(conv)])
                } else {
                    // Another request changed the conversation meanwhile: rebuild its memory on next use.
                    try db.execute("UPDATE conversations SET model_state = NULL WHERE id = ?", [.text(conv)])
                }
            }
        }
    }

    private func insertResponse(_ p: Prepared) throws {
        let r = p.response
        try db.execute("""
                INSERT INTO responses(id, previous_response_id, conversation_id, stored, depth, context_tokens, model_state, created_at, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(r.id), SQLValue(r.previous_response_id), SQLValue(r.conversation?.id), .integer(r.store == false ? 0 : 1),
                      .integer(Int64(p.depth)), .integer(Int64(p.contextTokens)), .text(p.snapshot), .double(r.created_at),
                      .text(try WireJSON.encodeString(r))])
        // The response it chains from may have been deleted while this one was computed or streamed
        // (by another request, or another process sharing the file): then this one is broken too.
        if let prev = r.previous_response_id {
            try db.execute("""
                UPDATE responses SET broken_by = (SELECT CASE WHEN deleted = 1 THEN id ELSE broken_by END FROM responses WHERE id = ?)
                WHERE id = ?
                """, [.text(prev), .text(r.id)])
        }
        for (kind, items) in [("input", p.input), ("output", p.output)] {
            for (i, item) in items.enumerated() {
                try db.execute("INSERT INTO response_items(response_id, kind, position, item_id, data) VALUES (?, ?, ?, ?, ?)",
                               [.text(r.id), .text(kind), .integer(Int64(i)), SQLValue(item.id), .text(item.jsonString())])
            }
        }
    }

    func lockedPrepare(_ request: CreateResponseRequest) throws -> Prepared {
        try locked { try prepare(request) }
    }

    public func createResponse(_ request: CreateResponseRequest) async throws -> Response {
        if let answerer { return try await answeredCreate(request, answerer) }
        // Read what it chains from and write the result in one transaction: another process on the
        // same file cannot change the chain or conversation in between.
        return try locked {
            try db.transaction {
                let p = try prepare(request)
                try commit(p)
                return p.response
            }
        }
    }

    public func streamResponse(_ request: CreateResponseRequest) -> AsyncThrowingStream<ResponseStreamEvent, Error> {
        if let answerer { return answeredStream(request, answerer) }
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let p = try self.locked { try self.prepare(request) }
                    var seq = 0
                    func emit(_ e: ResponseStreamEvent) { continuation.yield(e); seq += 1 }
                    var pending = p.response
                    pending.status = "in_progress"
                    pending.output = []
                    pending.usage = nil
                    pending.completed_at = nil
                    emit(.lifecycle("response.created", pending, seq: seq))
                    emit(.lifecycle("response.in_progress", pending, seq: seq))
                    let final = p.output[0]
                    let itemID = final.id ?? ""
                    let text = final.text
                    emit(.outputItem("response.output_item.added", index: 0,
                                     item: .message(Message(id: itemID, type: "message", role: "assistant", content: .parts([]), status: "in_progress")), seq: seq))
                    emit(.contentPart("response.content_part.added", itemID: itemID, index: 0, part: .outputText(""), seq: seq))
                    for word in Self.words(text) {
                        try Task.checkCancellation()
                        if self.streamDelay > .zero { try await Task.sleep(for: self.streamDelay) }
                        emit(.textDelta(itemID: itemID, index: 0, delta: word, seq: seq))
                    }
                    try Task.checkCancellation()
                    emit(.textDone(itemID: itemID, index: 0, text: text, seq: seq))
                    emit(.contentPart("response.content_part.done", itemID: itemID, index: 0, part: .outputText(text), seq: seq))
                    emit(.outputItem("response.output_item.done", index: 0, item: final, seq: seq))
                    try self.locked { try self.commit(p) }
                    emit(.lifecycle("response.completed", p.response, seq: seq))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Splits a reply into word-sized deltas, each word with the spaces after it.
    static func words(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for ch in text {
            if ch == " " || ch == "\n" { current.append(ch); continue }
            if let last = current.last, last == " " || last == "\n" { out.append(current); current = "" }
            current.append(ch)
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    private func storedResponseRow(_ id: String) throws -> Row {
        guard let row = try db.query("SELECT stored, deleted, body FROM responses WHERE id = ?", [.text(id)]).first,
              row["deleted"].int == 0, row["stored"].int == 1 else {
            throw APIError.notFound("Response with id '\(id)' not found.", param: "response_id")
        }
        return row
    }

    public func retrieveResponse(id: String) async throws -> Response {
        try locked {
            let row = try storedResponseRow(id)
            return try WireJSON.decode(Response.self, from: row["body"].string ?? "{}")
        }
    }

    public func deleteResponse(id: String) async throws -> DeletedObject {
        try locked {
            _ = try storedResponseRow(id)
            try db.transaction {
                try db.execute("UPDATE responses SET deleted = 1, body = '{}', model_state = '' WHERE id = ?", [.text(id)])
                try db.execute("DELETE FROM response_items WHERE response_id = ?", [.text(id)])
                try db.execute("""
                    UPDATE responses SET broken_by = coalesce(broken_by, ?1) WHERE id IN (
                        WITH RECURSIVE later(id) AS (
                            SELECT id FROM responses WHERE previous_response_id = ?1
                            UNION ALL SELECT r.id FROM responses r JOIN later ON r.previous_response_id = later.id)
                        SELECT id FROM later)
                    """, [.text(id)])
            }
            return DeletedObject(id: id, object: "response")
        }
    }

    public func listInputItems(responseID: String, query: ListQuery) async throws -> ItemList {
        try locked {
            try validate(query)
            _ = try storedResponseRow(responseID)
            let rows = try db.query("SELECT data FROM response_items WHERE response_id = ? AND kind = 'input' ORDER BY position",
                                    [.text(responseID)])
            let items = rows.compactMap { Item.parse($0["data"].string ?? "") }
            return try Self.page(items, query)
        }
    }

    /// Pages an in-memory list: `after` an item id, `order`, `limit`.
    static func page(_ all: [Item], _ q: ListQuery) throws -> ItemList {
        var items = q.order == "asc" ? all : all.reversed()
        if let after = q.after {
            guard let i = items.firstIndex(where: { $0.id == after }) else {
                throw APIError.invalidRequest("No item with id '\(after)' to list after.", param: "after")
            }
            items = Array(items[(i + 1)...])
        }
        return ItemList(data: Array(items.prefix(q.limit)), hasMore: items.count > q.limit)
    }

    // MARK: Conversations

    private func validate(metadata: [String: String]?) throws {
        guard let metadata else { return }
        if metadata.count > 16 {
            throw APIError.invalidRequest("Invalid 'metadata': at most 16 key-value pairs, got \(metadata.count).", param: "metadata")
        }
        for (k, v) in metadata {
            if k.count > 64 { throw APIError.invalidRequest("Invalid 'metadata': key '\(k.prefix(20))…' is longer than 64 characters.", param: "metadata") }
            if v.count > 512 { throw APIError.invalidRequest("Invalid 'metadata': the value of '\(k)' is longer than 512 characters.", param: "metadata") }
        }
    }

    private func validate(items: [Item]) throws {
        if items.count > 20 {
            throw APIError.invalidRequest("Invalid 'items': array too long. Expected an array with maximum length 20, but got an array with length \(items.count) instead.",
                                          param: "items", code: "array_above_max_length")
        }
    }

    private func validate(_ q: ListQuery) throws {
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

    /// The model's memory of a conversation's items; rebuilt from the items only after a deletion.
    private func conversationState(_ id: String) throws -> (snapshot: String?, tokens: Int, seq: Int) {
        let row = try conversationRow(id)
        if let snapshot = row["model_state"].string {
            return (snapshot, row["context_tokens"].int ?? 0, row["state_seq"].int ?? 0)
        }
        let rows = try db.query("SELECT seq, data FROM conversation_items WHERE conversation_id = ? ORDER BY seq", [.text(id)])
        let items = rows.compactMap { Item.parse($0["data"].string ?? "") }
        let snapshot = model.read(items, after: nil)
        let tokens = TokenEstimator.tokens(items)
        let seq = rows.last?["seq"].int ?? 0
        try db.execute("UPDATE conversations SET model_state = ?, state_seq = ?, context_tokens = ? WHERE id = ?",
                       [.text(snapshot), .integer(Int64(seq)), .integer(Int64(tokens)), .text(id)])
        return (snapshot, tokens, seq)
    }

    /// Appends items with server ids; returns the last item's sequence number.
    @discardableResult
    private func appendConversationItems(_ id: String, _ items: [Item]) throws -> Int {
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
            let state = try conversationState(conversationID)
            return try db.transaction {
                let firstNew = try db.query("SELECT coalesce(max(seq), 0) FROM conversation_items")[0][0].int ?? 0
                let last = try appendConversationItems(conversationID, items)
                let rows = try db.query("SELECT data FROM conversation_items WHERE conversation_id = ? AND seq > ? ORDER BY seq",
                                        [.text(conversationID), .integer(Int64(firstNew))])
                let added = rows.compactMap { Item.parse($0["data"].string ?? "") }
                try db.execute("UPDATE conversations SET model_state = ?, state_seq = ?, context_tokens = ? WHERE id = ?",
                               [.text(model.read(added, after: state.snapshot)), .integer(Int64(last)),
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
            try db.execute("UPDATE conversations SET model_state = NULL WHERE id = ?", [.text(conversationID)])
            return conversation(from: row)
        }
    }
}

extension OfflineBackend {
    /// Checks a request as a create would (ids, limits) without storing anything.
    public func prepareOnly(_ request: CreateResponseRequest) throws -> Bool {
        _ = try lockedPrepare(request)
        return true
    }
}
