import Foundation

/// Server-side context management, as the offline server (and the gateway) emulates it:
/// compaction (`context_management`, a trailing `compaction_trigger` item, `POST /responses/compact`)
/// and truncation (`truncation: "auto" | "disabled"` against the model's context window).
///
/// Where the API is silent, chatbench's choices (README, "What the offline server keeps"):
/// - Server compaction runs when the turn's rendered input (the rebuilt context, the instructions and
///   the new input) is over `compact_threshold` tokens, or when the input ends with a
///   `compaction_trigger` item. It stands for everything up to and including the new input: the
///   response's output is the compaction item, then the reply. The reply is made from the whole
///   context; later turns of the chain or conversation see only the compaction item and what follows.
/// - `/responses/compact` returns every user message of the context followed by one compaction item
///   (the shape of the documented example); it stores nothing.
/// - A compaction item holds a summary sealed with this server's secret (`Sealer`): another server,
///   or a changed item, gets a 400 `invalid_encrypted_content`. The model reads it as a system message.
/// - Truncation `"auto"` drops whole items from the oldest end until the input fits the context
///   window; the new input itself is never dropped (an input larger than the window is a 400 either
///   way). `"disabled"` (the default) answers 400 `context_length_exceeded`. The window counts input
///   tokens only.
struct ContextOptions: Equatable {
    var compactThreshold: Int?
    var truncateAuto = false
    /// The input ended with a `compaction_trigger` item (removed from the input).
    var trigger = false

    static func parse(_ request: CreateResponseRequest) throws -> ContextOptions {
        var o = ContextOptions()
        switch request.truncation {
        case nil, "disabled": break
        case "auto": o.truncateAuto = true
        case let other?:
            throw APIError.invalidRequest("Invalid value for 'truncation': '\(OutsideText.line(String(other.prefix(40))))'. Supported values are: 'auto' and 'disabled'.",
                                          param: "truncation", code: "invalid_value")
        }
        if let key = request.prompt_cache_key, key.utf8.count > 64 {
            throw APIError.invalidRequest("Invalid 'prompt_cache_key': string too long. Expected a string with maximum length 64, but got a string with length \(key.count) instead.",
                                          param: "prompt_cache_key", code: "string_above_max_length")
        }
        switch request.prompt_cache_retention {
        case nil, "in_memory", "24h": break
        case let other?:
            throw APIError.invalidRequest("Invalid value for 'prompt_cache_retention': '\(OutsideText.line(String(other.prefix(40))))'. Supported values are: 'in_memory' and '24h'.",
                                          param: "prompt_cache_retention", code: "invalid_value")
        }
        if let cm = request.context_management, cm != .null {
            guard let entries = cm.arrayValue, !entries.isEmpty, entries.count <= 8 else {
                throw APIError.invalidRequest("Invalid 'context_management': expected an array of 1 to 8 objects.", param: "context_management", code: "invalid_type")
            }
            for entry in entries {
                guard entry["type"]?.stringValue == "compaction" else {
                    throw APIError.invalidRequest("Invalid 'context_management[].type': only 'compaction' is supported.", param: "context_management", code: "invalid_value")
                }
                if let t = entry["compact_threshold"], t != .null {
                    if let problem = t.integerProblem {
                        throw APIError.invalidRequest("Invalid 'context_management[].compact_threshold': \(problem).",
                                                      param: "context_management", code: problem.hasPrefix("the number") ? "invalid_value" : "invalid_type")
                    }
                    guard let n = t.intValue, n >= 1000 else {
                        throw APIError.invalidRequest("Invalid 'context_management[].compact_threshold': expected an integer of at least 1000.",
                                                      param: "context_management", code: "integer_below_min_value")
                    }
                    o.compactThreshold = n
                }
            }
        }
        let input = request.input?.items ?? []
        for (i, item) in input.enumerated() where item.type == "compaction_trigger" {
            guard i == input.count - 1 else {
                throw APIError.invalidRequest("Invalid 'input[\(i)]': a 'compaction_trigger' item must be the last input item.", param: "input", code: "invalid_value")
            }
            o.trigger = true
        }
        return o
    }
}

extension OfflineBackend {
    static let secretMigration = Migration(version: 3) { db in
        try db.execute("CREATE TABLE server_secret (id INTEGER PRIMARY KEY CHECK (id = 1), secret BLOB NOT NULL)")
        try db.execute("INSERT INTO server_secret(id, secret) VALUES (1, ?)", [.blob(Sealer.newSecret())])
    }

    static let contextMigration = Migration(version: 4, sql: """
        ALTER TABLE responses ADD COLUMN start_depth INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE responses ADD COLUMN start_skip INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE responses ADD COLUMN prompt_state TEXT;
        ALTER TABLE conversations ADD COLUMN start_seq INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE conversations ADD COLUMN prompt_state TEXT;
        ALTER TABLE conversations ADD COLUMN prompt_seq INTEGER NOT NULL DEFAULT 0;
        """)

    /// A new compaction item holding `summary`, sealed with this server's secret.
    func compactionItem(summary: String) throws -> Item {
        .opaque(.object(["id": .string(IDs.make("cmp")), "type": .string("compaction"), "encrypted_content": .string(try sealer().seal(summary))]))
    }

    /// Checks the compaction items of a new input: each must be one this server made, unchanged.
    func checkCompactionItems(_ items: [Item]) throws {
        for (i, item) in items.enumerated() where item.type == "compaction" {
            guard summary(ofCompaction: item) != nil else {
                throw APIError.invalidRequest(
                    "Invalid 'input[\(i)]': the compaction item's encrypted_content could not be verified. It was not made by this server, or it was changed.",
                    param: "input", code: "invalid_encrypted_content")
            }
        }
    }

    func summary(ofCompaction item: Item) -> String? {
        guard case .opaque(let v) = item, let sealed = v["encrypted_content"]?.stringValue else { return nil }
        // The state's secret when it can be asked, else the one this process holds.
        return ((try? sealer()) ?? heldSealer()).open(sealed)
    }

    /// Items as the model reads them: a compaction item becomes the system message it stands for.
    func readable(_ items: [Item]) -> [Item] {
        items.map { item in
            guard item.type == "compaction", let summary = summary(ofCompaction: item) else { return item }
            return .inputMessage(id: item.id, role: "system", text: summary)
        }
    }

    /// The error for an input over the context window (`auto`: the new input alone is too large).
    func contextTooLong(_ tokens: Int, auto: Bool = false) -> APIError {
        APIError.invalidRequest("Your input exceeds the context window of this model (\(contextWindow) tokens; the input has \(tokens)). "
                                + (auto ? "Truncation drops only earlier items, and the new input alone does not fit: shorten it."
                                        : "Shorten it, or send truncation: \"auto\" to drop the oldest items."),
                                param: "input", code: "context_length_exceeded")
    }

    /// Checks items for a conversation: compaction items must be this server's, and a compaction
    /// trigger is only meaningful as the last input item of a response request.
    func checkConversationItems(_ items: [Item]) throws {
        if let i = items.firstIndex(where: { $0.type == "compaction_trigger" }) {
            throw APIError.invalidRequest("Invalid 'items[\(i)]': a 'compaction_trigger' item is only accepted as the last input item of POST /v1/responses.",
                                          param: "items", code: "invalid_value")
        }
        try checkCompactionItems(items)
    }
}

extension OfflineBackend {
    /// `POST /responses/compact`: the context of `previous_response_id` (from where it begins) and the
    /// `input`, as its user messages followed by one compaction item holding a summary of all of it.
    /// Nothing is stored. The offline model writes the summary; the gateway asks its answerer.
    public func compactResponse(_ request: CreateResponseRequest) async throws -> CompactedResponse {
        guard request.conversation == nil else {
            throw APIError.invalidRequest("Unknown parameter: 'conversation'. /responses/compact takes 'input' and 'previous_response_id'.",
                                          param: "conversation", code: "unknown_parameter")
        }
        guard request.model?.isEmpty == false else {
            throw APIError.invalidRequest("Missing required parameter: 'model'.", param: "model", code: "missing_required_parameter")
        }
        // Planned as a turn whose input ends with a compaction trigger (so `input` may be empty).
        var asTurn = request
        let given = request.input?.items ?? []
        asTurn.input = .items(given.last?.type == "compaction_trigger" ? given : given + [.opaque(.object(["type": .string("compaction_trigger")]))])
        let (p, context, memory) = try locked { () -> (Plan, [Item], String) in
            let p = try plan(asTurn)
            let context = try contextItems(p).map(\.item) + p.input
            return (p, context, model.read(readable(p.input), after: p.snapshot))
        }
        let summaryItem: Item
        var upstreamUsage: Usage?
        if let answerer {
            guard let answered = try await answeredCompaction(p, Turn(context: readable(context), instructions: request.instructions, model: request.model), answerer) else {
                throw APIError(status: 500, type: "server_error", message: "the compaction produced nothing")
            }
            summaryItem = answered.item
            upstreamUsage = answered.usage
        } else {
            summaryItem = try compactionItem(summary: model.reply(to: memory, instructions: MemoryPolicy.summaryInstructions))
        }
        let output = context.filter { $0.role == "user" } + [summaryItem]
        let summaryTokens = summary(ofCompaction: summaryItem).map(TokenEstimator.tokens) ?? 0
        // The gateway reports what its upstream measured for the summary request; else an estimate.
        return CompactedResponse(id: IDs.make("resp"), created_at: Int(Date().timeIntervalSince1970),
                                 output: output, usage: upstreamUsage ?? Usage(input: p.inputTokens, output: summaryTokens))
    }
}
