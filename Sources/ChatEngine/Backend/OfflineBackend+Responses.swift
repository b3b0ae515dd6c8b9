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
        /// Where the next turn's context begins (see `Plan`).
        var startDepth: Int
        var startSkip: Int
        var conversationStart: Int?
        /// The prompt-cache hash state after this turn's prompt.
        var prompt: PromptHasher
        /// The output begins with a compaction item.
        var compacted: Bool
    }

    /// What a turn reads from the stored state before anything answers it.
    struct Plan {
        var request: CreateResponseRequest
        var input: [Item]              // the new input, with server ids (a trailing compaction_trigger removed)
        var snapshot: String?          // the model's memory of everything before it (nil: empty)
        var tokensBefore: Int
        var depth: Int
        var conversationSeq: Int?
        var options: ContextOptions
        /// A chain's context begins at the response of this depth, after `startSkip` of its own items
        /// (input, then output); earlier responses are behind a compaction or were truncated away.
        var startDepth = 1
        var startSkip = 0
        /// A conversation's context begins at this item sequence number (nil: where it began before;
        /// `fromThisInput`: at this turn's input, whose numbers are known only when it is stored).
        var conversationStart: Int?
        static let fromThisInput = Int.max
        /// Where the conversation's context began before this turn.
        var conversationFrom = 0
        /// The prompt-cache hash state to continue from, and what to feed it (ending with the input).
        var promptBase: PromptHasher
        var promptFeed: [Item] = []
        /// The context truncation kept this turn (nil: not truncated).
        var kept: [Item]?

        var inputTokens: Int { tokensBefore + TokenEstimator.tokens(instructions: request.instructions) + TokenEstimator.tokens(input) }
        var shouldCompact: Bool { options.trigger || options.compactThreshold.map { inputTokens > $0 } ?? false }
    }

    /// A turn computed by this backend's own model (an `Answerer` turn goes through `plan`/`finish` instead).
    func prepare(_ request: CreateResponseRequest) throws -> Prepared {
        var p = try plan(request)
        try fitWindow(&p)
        let withInput = model.read(readable(p.input), after: p.snapshot)
        let full = model.reply(to: withInput, instructions: request.instructions)
        // `max_output_tokens` cuts the reply, and the response ends `incomplete`, as the API's does.
        let text = request.max_output_tokens.map { TokenEstimator.prefix(full, tokens: $0) } ?? full
        let cut = text != full
        let reply = Item.assistantMessage(id: IDs.make("msg"), text: text, status: cut ? "incomplete" : "completed")
        var prepared: Prepared
        if p.shouldCompact {
            let summary = model.reply(to: withInput, instructions: MemoryPolicy.summaryInstructions)
            let output = [try compactionItem(summary: summary), reply]
            prepared = try finish(p, output: output, snapshot: model.read(readable(output), after: nil), modelName: model.name, usage: nil)
        } else {
            prepared = try finish(p, output: [reply], snapshot: model.read([reply], after: withInput), modelName: model.name, usage: nil)
        }
        if cut { prepared.response.markIncomplete(reason: "max_output_tokens") }
        return prepared
    }

    /// Checks a request and reads the state it continues from.
    func plan(_ request: CreateResponseRequest) throws -> Plan {
        if request.previous_response_id != nil && request.conversation != nil {
            throw APIError.invalidRequest("Cannot use 'previous_response_id' together with 'conversation'; pass one of them.",
                                          param: "conversation", code: "invalid_request")
        }
        try validate(metadata: request.metadata)
        try Self.validateRanges(request)
        let options = try ContextOptions.parse(request)
        var newInput = request.input?.items ?? []
        if options.trigger { newInput.removeLast() }
        if newInput.isEmpty && request.conversation == nil && !(options.trigger && request.previous_response_id != nil) {
            throw APIError.invalidRequest("Missing required parameter: 'input'.", param: "input", code: "missing_required_parameter")
        }
        try checkCompactionItems(newInput)
        let input = newInput.map { $0.normalisedForStorage(id: IDs.make($0.message != nil ? "msg" : "item")) }
        var p = Plan(request: request, input: input, snapshot: nil, tokensBefore: 0, depth: 1, conversationSeq: nil,
                     options: options, promptBase: PromptHasher(instructions: request.instructions))
        if let prev = request.previous_response_id {
            guard let row = try state.responseRow(prev), !row.deleted, row.stored || storeFalseChainable else {
                throw APIError.previousResponseNotFound(prev)
            }
            if let broken = row.brokenBy {
                throw APIError.previousResponseNotFound(prev, detail: "Response '\(broken)' earlier in its chain was deleted.")
            }
            p.snapshot = row.modelState
            p.tokensBefore = row.contextTokens
            p.depth = row.depth + 1
            p.startDepth = row.startDepth
            p.startSkip = row.startSkip
            if let parent = PromptHasher.decoded(row.promptState), parent.canContinue(under: request.instructions) {
                p.promptBase = parent
                p.promptFeed = try state.items(of: prev, output: true)
            } else {
                p.promptFeed = try contextItems(p).map(\.item)
            }
        } else if let conv = request.conversation?.id {
            let state = try conversationState(conv)
            p.snapshot = state.snapshot
            p.tokensBefore = state.tokens
            p.conversationSeq = state.seq
            p.conversationFrom = state.start
            if let prompt = state.prompt, prompt.canContinue(under: request.instructions) {
                p.promptBase = prompt
                p.promptFeed = try conversationItems(conv, from: state.promptSeq + 1).map(\.item)
            } else {
                p.promptFeed = try conversationItems(conv, from: state.start).map(\.item)
            }
        }
        p.promptFeed += input
        return p
    }

    /// The API's bounds on a request's numbers: `max_output_tokens` at least 16, `temperature` 0 to 2,
    /// `top_p` 0 to 1; outside them a 400 naming the parameter, worded as the API words it.
    static func validateRanges(_ r: CreateResponseRequest) throws {
        if let n = r.max_output_tokens, n < 16 {
            throw APIError.invalidRequest("Invalid 'max_output_tokens': integer below minimum value. Expected a value greater than or equal to 16, but got \(n) instead.",
                                          param: "max_output_tokens", code: "integer_below_min_value")
        }
        func check(_ value: Double?, _ name: String, _ range: ClosedRange<Double>) throws {
            guard let v = value, !range.contains(v) else { return }
            let text = v.magnitude < 1e15 && v == v.rounded() ? String(Int(v)) : String(v)
            let (side, bound, op) = v < range.lowerBound ? ("below minimum", range.lowerBound, ">=") : ("above maximum", range.upperBound, "<=")
            throw APIError.invalidRequest("Invalid '\(name)': decimal \(side) value. Expected a value \(op) \(Int(bound)), but got \(text) instead.",
                                          param: name, code: "decimal_\(side == "below minimum" ? "below_min" : "above_max")_value")
        }
        try check(r.temperature, "temperature", 0...2)
        try check(r.top_p, "top_p", 0...1)
    }

    /// Applies the context window: nothing when the input fits; else truncation "auto" drops the oldest
    /// items and rebuilds the model's memory from the rest, and "disabled" refuses the request.
    func fitWindow(_ p: inout Plan) throws {
        let total = p.inputTokens
        guard total > contextWindow else { return }
        let own = TokenEstimator.tokens(instructions: p.request.instructions) + TokenEstimator.tokens(p.input)
        guard p.options.truncateAuto, own <= contextWindow else { throw contextTooLong(total, auto: p.options.truncateAuto) }
        let items = try contextItems(p)
        var tokens = TokenEstimator.tokens(items.map(\.item))
        var drop = 0
        while drop < items.count && tokens + own > contextWindow {
            tokens -= TokenEstimator.tokens(items[drop].item)
            drop += 1
        }
        let kept = Array(items[drop...])
        p.kept = kept.map(\.item)
        p.snapshot = kept.isEmpty ? nil : model.read(readable(kept.map(\.item)), after: nil)
        p.tokensBefore = tokens
        if p.request.conversation != nil {
            p.conversationStart = kept.first?.position ?? Plan.fromThisInput
        } else {
            p.startDepth = kept.first?.depth ?? p.depth
            p.startSkip = kept.first?.position ?? 0
        }
        p.promptBase = PromptHasher(instructions: p.request.instructions)
        p.promptFeed = kept.map(\.item) + p.input
    }

    /// The response to a planned turn, given its output. `usage`: what the answerer measured (nil:
    /// estimated with `TokenEstimator` over the whole context, with the prompt cache's hits); `plus`:
    /// another upstream request the turn made (the gateway's compaction summary), added to it.
    func finish(_ p: Plan, id: String = IDs.make("resp"), output: [Item], snapshot: String, modelName: String, usage: Usage?,
                plus extra: Usage? = nil) throws -> Prepared {
        let request = p.request
        var r = response(p, id: id, output: output, modelName: modelName)
        var prompt = p.promptBase
        let added = prompt.feed(p.promptFeed)
        let compacted = output.first?.type == "compaction"
        prompt.continues = !compacted
        if let usage {
            r.usage = usage
        } else {
            let cached = try cachedTokens(base: p.promptBase, added: added, inputTokens: p.inputTokens, request: request)
            r.usage = Usage(input: p.inputTokens, cached: cached, output: TokenEstimator.tokens(output.filter { $0.type != "compaction" }.map(\.text).joined()))
        }
        if let extra, let own = r.usage { r.usage = own.adding(extra) }
        let contextTokens = compacted ? TokenEstimator.tokens(output)
            : p.tokensBefore + TokenEstimator.tokens(p.input) + TokenEstimator.tokens(output)
        return Prepared(response: r, input: p.input, output: output, snapshot: snapshot, contextTokens: contextTokens,
                        depth: p.depth, conversationStateSeq: p.conversationSeq,
                        startDepth: compacted ? p.depth : p.startDepth, startSkip: compacted ? p.input.count : p.startSkip,
                        conversationStart: p.conversationStart, prompt: prompt, compacted: compacted)
    }

    /// The Response object of a planned turn, without usage (a stream's `response.created` shows it so).
    func response(_ p: Plan, id: String, output: [Item], modelName: String) -> Response {
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
        r.temperature = request.temperature ?? 1
        r.top_p = request.top_p ?? 1
        r.truncation = p.options.truncateAuto ? "auto" : "disabled"
        r.max_output_tokens = request.max_output_tokens
        return r
    }

    /// Stores a prepared response (and appends to its conversation) in one transaction.
    func commit(_ p: Prepared) throws {
        // A store:false response is not kept (so it can be neither retrieved nor chained), unless
        // the backend was told to emulate servers that do keep them.
        try state.commit(p, keep: p.response.store != false || storeFalseChainable)
    }

    func lockedPrepare(_ request: CreateResponseRequest) throws -> Prepared {
        try locked { try prepare(request) }
    }

    public func createResponse(_ request: CreateResponseRequest) async throws -> Response {
        if let answerer { return try await answeredCreate(request, answerer) }
        // Read what it chains from and write the result in one transaction: another process on the
        // same file cannot change the chain or conversation in between.
        return try locked {
            try state.atomically {
                let p = try prepare(request)
                try commit(p)
                return p.response
            }
        }
    }


    private func storedBody(_ id: String) throws -> String {
        guard let body = try state.storedBody(id) else {
            throw APIError.notFound("Response with id '\(APIError.clip(id))' not found.", param: "response_id")
        }
        return body
    }

    public func retrieveResponse(id: String) async throws -> Response {
        try locked { try WireJSON.decode(Response.self, from: try storedBody(id)) }
    }

    public func deleteResponse(id: String) async throws -> DeletedObject {
        try locked {
            guard try state.deleteResponse(id) else {
                throw APIError.notFound("Response with id '\(APIError.clip(id))' not found.", param: "response_id")
            }
            return DeletedObject(id: id, object: "response")
        }
    }

    public func listInputItems(responseID: String, query: ListQuery) async throws -> ItemList {
        try locked {
            try validate(query)
            _ = try storedBody(responseID)
            return try Self.page(try state.items(of: responseID, output: false), query)
        }
    }

    /// Pages an in-memory list: `after` an item id, `order`, `limit`.
    static func page(_ all: [Item], _ q: ListQuery) throws -> ItemList {
        var items = q.order == "asc" ? all : all.reversed()
        if let after = q.after {
            guard let i = items.firstIndex(where: { $0.id == after }) else {
                throw APIError.invalidRequest("No item with id '\(APIError.clip(after))' to list after.", param: "after")
            }
            items = Array(items[(i + 1)...])
        }
        return ItemList(data: Array(items.prefix(q.limit)), hasMore: items.count > q.limit)
    }
}
