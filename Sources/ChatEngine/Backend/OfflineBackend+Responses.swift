import Foundation

extension OfflineBackend {
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
}
