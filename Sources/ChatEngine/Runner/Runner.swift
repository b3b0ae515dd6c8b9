import Foundation

/// The result of one turn, as recorded.
public struct TurnResult: Sendable {
    public var turn: TurnRecord
    public var session: SessionRecord
    public var reply: String

    public init(turn: TurnRecord, session: SessionRecord, reply: String) {
        self.turn = turn
        self.session = session
        self.reply = reply
    }
}

/// A turn that could not complete. The turn (and the user's message) are recorded before this is thrown.
public struct TurnFailure: Error, CustomStringConvertible, Sendable {
    public var turn: TurnRecord
    /// The session as it was when the turn was recorded.
    public var session: SessionRecord
    public var underlying: String
    public var apiError: APIError?
    /// What of the reply arrived before the failure (kept in the session as an incomplete message).
    public var partialReply = ""
    public var description: String { underlying }
}

/// Performs one turn in a session's memory mode: builds the request, counts the exact request-body
/// bytes, streams the reply, and records the turn atomically with its metrics.
///
/// Server modes keep an anchor per store — the last transcript message the server chain (or
/// conversation) holds. A turn sends only what the anchor lacks: normally just the new message; after
/// turns in another mode, the missing messages too; with no anchor, the whole history (a replay).
/// When the server has lost the chain (`previous_response_not_found`), the runner replays the local
/// history into a new chain, the turn succeeds, and the turn row records the break.
public final class Runner: @unchecked Sendable {
    public let store: WorkbenchStore
    public let backend: ResponsesBackend
    /// Stream replies (deltas reach `onDelta` as they arrive); otherwise one create call.
    public var streaming: Bool
    /// Send each session's requests with its own `prompt_cache_key` (a hash of its name), so sessions
    /// compared side by side on the same script do not share cache entries (compare sets it).
    public var cacheKeyPerSession = false

    public init(store: WorkbenchStore, backend: ResponsesBackend, streaming: Bool = true) {
        self.store = store
        self.backend = backend
        self.streaming = streaming
    }

    /// Bytes and items sent so far in this turn: every request body the turn built (a summary
    /// request, a chain attempt the server refused before a repair); the HTTP client's retries of a
    /// body are added from the turn's `RetryMeter`.
    struct Sent {
        var bytes = 0
        var items = 0
        /// Input items of the last create request (the one whose response the turn keeps).
        var lastInputItems = 0
        /// Every request of the turn as sent, with its items' sources (the X-ray's record).
        var requests: [SentRequest] = []
        /// Requests besides the reply (summarizer, memory updater): billed apart from the turn.
        var overhead: [OverheadRequest] = []
        /// The `prompt_cache_key` of this turn's reply request (`cacheKeyPerSession`).
        var cacheKey: String?
        /// The last reply request's input items and instructions, for its context parts.
        var replyInput: (items: [Item], instructions: String?)?
        /// A setup request (a conversation created or filled).
        mutating func add<T: Encodable>(_ body: T, items n: Int, sources: [ContextSource]) throws {
            let data = try WireJSON.encode(body)
            bytes += data.count
            items += n
            requests.append(SentRequest(kind: .setup, body: String(decoding: data, as: UTF8.self), sources: sources))
        }
        /// A reply attempt the server refused (the turn then repairs): a setup request after all.
        mutating func demoteReplies() {
            for i in requests.indices where requests[i].kind == .reply { requests[i].kind = .setup }
        }
    }

    /// What the server-side part of a turn produced.
    struct Exchange {
        var response: Response
        var previousSent: String?
        var conversationID: String?
        var event: ChainEvent
        var repair: APIError? = nil
        /// Client mode: what the policy did, the transcript items the client store lacked, a new summary.
        var policyEffect: PolicyEffect? = nil
        var clientSeed: [Item] = []
        var compaction: WorkbenchStore.Compaction? = nil
        /// Layered mode: a new summary of the turns that left working memory.
        var memorySummary: WorkbenchStore.MemorySummary? = nil
    }

    /// Partial reply text collected while streaming (kept when the turn is interrupted).
    final class Partial: @unchecked Sendable {
        var text = ""
    }

    /// Sends `text` in the session named `name` (which must exist). Returns when the turn is recorded.
    /// Cancelling the calling task interrupts the reply: the partial reply is recorded as interrupted.
    /// `onWait` is called if another turn on the session (another process's, say) must finish first.
    public func send(_ text: String, in name: String, onDelta: @escaping @Sendable (String) -> Void = { _ in },
                     onWait: () -> Void = {}) async throws -> TurnResult {
        guard let named = try store.session(named: name) else {
            throw StorageError(.queryFailed, path: store.db.path, "no session named '\(name)'")
        }
        // One turn at a time per session, in every process: the session is read again once the lock
        // is held, so this turn chains from whatever the previous one (maybe another process's) left.
        let turnLock = try await TurnLock.acquire(databasePath: store.db.path, session: named.id, onWait: onWait)
        defer { turnLock.release() }
        guard let session = try store.session(id: named.id) else {
            throw StorageError(.queryFailed, path: store.db.path, "no session named '\(name)'")
        }
        let userItem = Item.userText(text)
        var sent = Sent()
        if cacheKeyPerSession { sent.cacheKey = "chatbench-" + SHA256.hash(Array(session.name.utf8)).prefix(8).map { $0 }.hex }
        let partial = Partial()
        let started = Date()
        // The number is given when the turn is recorded (in the same transaction as its insertion).
        var draft = TurnRecord(sessionID: session.id, number: 0, mode: session.mode, backend: backend.info.name, model: session.model,
                               itemsSent: 0, requestBytes: 0, status: .completed, createdAt: started.timeIntervalSince1970)
        let retries = RetryMeter()
        do {
            var exchange: Exchange = try await RetryMeter.$current.withValue(retries) {
                switch session.mode {
                case .chain:
                    return try await chainTurn(session, userItem, &sent, partial, onDelta)
                case .hybrid:
                    return try await chainTurn(session, userItem, &sent, partial, onDelta, instructions: try factsInstructions(session.profile))
                case .conversation:
                    return try await conversationTurn(session, userItem, &sent, partial, onDelta)
                case .client:
                    return try await clientTurn(session, userItem, &sent, partial, onDelta)
                case .layered:
                    return try await layeredTurn(session, userItem, &sent, partial, onDelta)
                }
            }
            // The memory updater (hybrid, layered): facts from the new message, written with the turn.
            var newFacts: [(String, String)] = []
            if session.mode == .hybrid || session.mode == .layered {
                newFacts = await updateMemory(session, userItem, &sent)
            }
            // A turn in another mode than the last one is a recorded switch (a repair says more).
            if exchange.event != .repair, let last = try store.lastTurnMode(session: session.id), last != session.mode {
                exchange.event = .switch
            }
            let r = exchange.response
            draft.previousResponseID = exchange.previousSent
            draft.responseID = r.id
            draft.conversationID = exchange.conversationID
            draft.itemsSent = sent.items
            draft.inputItems = sent.lastInputItems
            draft.requestBytes = sent.bytes.saturatingAdd(retries.bytes)
            draft.inputTokens = r.usage?.input_tokens
            draft.cachedTokens = r.usage?.cachedTokens
            draft.outputTokens = r.usage?.output_tokens
            draft.latencyMs = Date().timeIntervalSince(started) * 1000
            draft.chainEvent = exchange.event
            draft.errorCode = exchange.repair?.code
            draft.errorMessage = exchange.repair?.message
            draft.policyEffect = exchange.policyEffect
            draft.serverEvent = try serverEvent(r, exchange, session, newMessage: userItem)
            draft.context = contextParts(sent, r, session)
            draft.overhead = sent.overhead
            let replyText = r.outputText
            let replyItem = r.output.first(where: { $0.role == "assistant" }) ?? .assistantMessage(id: nil, text: replyText)
            let mode = session.mode
            let store = self.store
            let requests = sent.requests
            let (turn, updated) = try store.recordTurn(draft, userItem: userItem, userStatus: .complete, reply: replyItem,
                                                       replyStatus: .complete, requests: requests) { s, _, replyID in
                guard let replyID else { return }
                switch mode {
                case .chain:
                    s.chainHead = r.id
                    s.chainCovers = replyID
                case .hybrid:
                    s.chainHead = r.id
                    s.chainCovers = replyID
                    for (key, value) in newFacts { try store.saveFact(profile: s.profile, key: key, value: value, session: s.name) }
                case .layered:
                    for (key, value) in newFacts { try store.saveFact(profile: s.profile, key: key, value: value, session: s.name) }
                    if let summary = exchange.memorySummary { try store.saveMemorySummary(session: s.id, summary) }
                case .conversation:
                    s.conversationID = exchange.conversationID
                    s.conversationCovers = replyID
                case .client:
                    try store.agentSession(for: s).addItems(exchange.clientSeed + [userItem] + r.output)
                    s.clientCovers = replyID
                    if let c = exchange.compaction { try store.saveCompaction(session: s.id, turn: nil, c) }
                }
            }
            return TurnResult(turn: turn, session: updated, reply: replyText)
        } catch {
            // Record what happened, keep the user's message, then report.
            draft.itemsSent = sent.items
            draft.requestBytes = sent.bytes + retries.bytes
            draft.latencyMs = Date().timeIntervalSince(started) * 1000
            let interrupted = error is CancellationError || (error as? URLError)?.code == .cancelled
            draft.status = interrupted ? .interrupted : .failed
            // A server may echo the key in an error: nothing of it is stored, exported or printed.
            let api = (error as? APIError).map(Secrets.redact)
            draft.errorCode = interrupted ? "interrupted" : (api?.code ?? api.map { String($0.status) } ?? "error")
            draft.errorMessage = interrupted ? "cancelled by the user" : Secrets.redact(api.map { "\($0)" } ?? "\(error)")
            let reply: Item? = partial.text.isEmpty ? nil : .assistantMessage(id: nil, text: partial.text, status: "incomplete")
            draft.overhead = sent.overhead
            let (turn, _) = try store.recordTurn(draft, userItem: userItem, userStatus: interrupted ? .interrupted : .failed,
                                                 reply: reply, replyStatus: .interrupted, requests: sent.requests)
            if interrupted { throw CancellationError() }
            throw TurnFailure(turn: turn, session: session, underlying: Secrets.redact(api.map { "\($0)" } ?? "\(error)"), apiError: api,
                              partialReply: partial.text)
        }
    }

    /// Semantic memory's budget: the newest facts whose statements fit in this many tokens are sent.
    static let semanticTokenBudget = 400

    /// Hybrid and layered mode's instructions: the profile's newest long-term facts that fit the budget,
    /// oldest of them first, in the user's words.
    func factsInstructions(_ profile: String) throws -> String? {
        var statements: [String] = []
        var used = 0
        // At most 100 facts can fit 400 tokens (each takes at least 4): read no more than that.
        for (key, value) in try store.facts(profile: profile, newest: Self.semanticTokenBudget / 4).reversed() {
            let s = MemoryRequests.statement(key: key, value: value)
            let t = TokenEstimator.tokens(s + " ")
            if used + t > Self.semanticTokenBudget { break }
            used += t
            statements.insert(s, at: 0)
        }
        guard !statements.isEmpty else { return nil }
        return "Long-term memory: facts the user told you in earlier conversations, in the user's words. " + statements.joined(separator: " ")
    }

    /// Once a conversation holds the whole transcript, that is true whatever happens to this turn:
    /// remember it now, so an interrupted or failed turn does not orphan it on the server.
    func keepConversation(_ s: SessionRecord, _ id: String?) throws {
        try store.db.transaction {
            guard var fresh = try store.session(id: s.id) else { return }
            fresh.conversationID = id
            fresh.conversationCovers = try store.lastCompleteMessageID(session: s.id)
            try store.save(fresh)
        }
    }

    /// Creates a conversation seeded with `seed` (20 items at creation, the rest added in batches of 20).
    func createConversation(seed: [Item], _ sent: inout Sent, source: ContextSource = .carried) async throws -> String {
        let first = Array(seed.prefix(20))
        let body = CreateConversationBody(items: first, metadata: [:])
        try sent.add(body, items: first.count, sources: Array(repeating: source, count: first.count))
        let conv = try await backend.createConversation(items: first, metadata: [:])
        try await addItems(conv.id, Array(seed.dropFirst(20)), &sent, source: source)
        return conv.id
    }

    func addItems(_ id: String, _ items: [Item], _ sent: inout Sent, source: ContextSource = .carried) async throws {
        var rest = items[...]
        while !rest.isEmpty {
            let batch = Array(rest.prefix(20))
            rest = rest.dropFirst(20)
            try sent.add(AddItemsBody(items: batch), items: batch.count, sources: Array(repeating: source, count: batch.count))
            _ = try await backend.addConversationItems(conversationID: id, items: batch)
        }
    }

    /// Sends one create request (streamed or not) and returns the final response. `sources`: where
    /// each input item came from (the X-ray's tags), one per item.
    func exchange(_ request: inout CreateResponseRequest, _ sent: inout Sent, _ partial: Partial,
                  _ onDelta: @escaping @Sendable (String) -> Void, sources: [ContextSource]) async throws -> Response {
        request.stream = streaming ? true : nil
        if let key = sent.cacheKey { request.prompt_cache_key = key }
        let body = try backend.requestBody(request)
        sent.bytes += body.count
        sent.requests.append(SentRequest(kind: .reply, body: String(decoding: body, as: UTF8.self), sources: sources))
        sent.replyInput = (request.input?.items ?? [], request.instructions)
        sent.items += request.input?.items.count ?? 0
        sent.lastInputItems = request.input?.items.count ?? 0
        if !streaming {
            let r = try await backend.createResponse(request)
            onDelta(r.outputText)
            partial.text = r.outputText
            return r
        }
        var final: Response?
        for try await event in backend.streamResponse(request) {
            switch event.type {
            case "response.output_text.delta":
                let d = event.delta ?? ""
                partial.text += d
                onDelta(d)
            case "response.completed", "response.incomplete":
                // An incomplete reply (cut by max_output_tokens) is still the turn's reply: the server
                // keeps it and chains from it, so the session records it as it came.
                final = event.response
            case "response.failed":
                let r = event.response
                throw APIError(status: 500, type: "server_error", code: r?.error?.code ?? event.type,
                               message: r?.error?.message ?? "the response ended as \(r?.status ?? "failed")")
            case "error":
                throw APIError(status: 500, type: "server_error", code: event.code, param: event.param,
                               message: event.message ?? "the stream reported an error")
            default:
                break
            }
        }
        try Task.checkCancellation()
        guard let final else {
            throw APIError(status: 502, type: "stream_error", code: "truncated_stream",
                           message: "the stream ended before the response completed")
        }
        return final
    }

    /// What the server did to this turn's context. A compaction the server reports (an output item). A
    /// truncation is inferred, only under `truncate:auto` (without it the server cannot truncate): a
    /// continued chain or conversation that did not follow a compaction, whose input is smaller than
    /// the previous turn's input and output plus half the new message's estimated tokens (half, so a
    /// server's own tokenizer counting fewer tokens than chatbench's estimate is not taken for one).
    func serverEvent(_ r: Response, _ exchange: Exchange, _ s: SessionRecord, newMessage: Item) throws -> ServerEvent? {
        if r.output.contains(where: { $0.type == "compaction" }) { return .compacted }
        guard (try? ServerPolicy(parsing: s.serverPolicy))?.truncateAuto == true,
              s.mode.isServerManaged, exchange.event == .continue, let input = r.usage?.input_tokens,
              let previous = try store.lastCompletedTurn(session: s.id), previous.mode == s.mode,
              previous.serverEvent != .compacted, let before = previous.inputTokens else { return nil }
        let least = before.saturatingAdd(previous.outputTokens ?? 0).saturatingAdd(TokenEstimator.tokens(newMessage) / 2)
        return input < least ? .truncated : nil
    }
}
