import Foundation

/// The memory architecture, as requests: the summarizer and the memory updater (overhead, billed apart
/// from the turn), the layered mode that assembles working, summary, semantic and episodic memory, and
/// the context parts the X-ray shows.
extension Runner {
    /// Layered mode's sizes: working memory is the policy's window (items; default 8, four turns),
    /// the summarizer runs once four more items than that have gathered, and episodic memory brings at
    /// most 3 passages within 300 tokens.
    static let layeredDefaultWindow = 8
    static let layeredSummaryEvery = 4
    static let episodicLimit = 3
    static let episodicTokenBudget = 300

    /// Sends an overhead request (not streamed) and records it: its body among the turn's requests,
    /// its cost among the overhead. Returns the response (nil when it failed; the note says why).
    func overhead(_ kind: SentRequest.Kind, _ request: CreateResponseRequest, sources: [ContextSource], _ sent: inout Sent,
                  note: (Response) -> String) async -> Response? {
        let body = (try? backend.requestBody(request)) ?? Data()
        sent.requests.append(SentRequest(kind: kind, body: String(decoding: body, as: UTF8.self), sources: sources))
        let items = request.input?.items.count ?? 0
        do {
            let r = try await backend.createResponse(request)
            sent.overhead.append(OverheadRequest(kind: kind.rawValue, request_bytes: body.count, items: items, usage: r.usage, note: note(r)))
            return r
        } catch {
            let why = Secrets.redact((error as? APIError).map { "\($0)" } ?? "\(error)")
            sent.overhead.append(OverheadRequest(kind: kind.rawValue, request_bytes: body.count, items: items, usage: nil,
                                                 note: "failed: " + OutsideText.line(String(why.prefix(200)))))
            return nil
        }
    }

    /// The summarizer: a summary of `input` (a previous summary and the items that left working memory).
    /// A reply that is not the schema's JSON is taken as plain text (a server may ignore `text.format`).
    func summarize(_ s: SessionRecord, _ input: [Item], _ sent: inout Sent) async throws -> (summary: String, cost: RequestCost) {
        let request = MemoryRequests.summarizer(model: s.model, input: input)
        let sources: [ContextSource] = input.map { $0.role == "developer" ? .summary : .working }
        guard let r = await overhead(.summarizer, request, sources: sources, &sent, note: { _ in "summary of \(input.count) items" }) else {
            throw APIError(status: 502, type: "server_error", code: "summarizer_failed", message: sent.overhead.last?.note ?? "the summarizer failed")
        }
        let text = MemoryRequests.summary(fromReply: r.outputText) ?? r.outputText
        let o = sent.overhead.last!
        return (text, RequestCost(requestBytes: o.request_bytes, items: o.items, inputTokens: o.input_tokens,
                                  cachedTokens: o.cached_tokens, outputTokens: o.output_tokens))
    }

    /// The memory updater: facts from the new message (a failure or a malformed reply writes none,
    /// and the overhead's note says so; the turn itself stands).
    func updateMemory(_ s: SessionRecord, _ message: Item, _ sent: inout Sent) async -> [(String, String)] {
        var facts: [(String, String)]?
        _ = await overhead(.updater, MemoryRequests.updater(model: s.model, message: message), sources: [.new], &sent) { r in
            guard let found = MemoryRequests.facts(fromReply: r.outputText) else { return "the reply was not the memory_update JSON; no facts written" }
            facts = found
            return found.isEmpty ? "no new facts" : "\(found.count) fact\(found.count == 1 ? "" : "s"): " + found.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
        }
        if let facts { sent.overhead[sent.overhead.count - 1].facts = facts.count }
        return facts ?? []
    }

    /// Layered mode. The request, in cache-friendly order (what changes least first): the profile's
    /// facts as instructions (semantic memory), the summary of turns that left working memory, working
    /// memory (the newest messages), the passages of other sessions retrieved for this message
    /// (episodic memory), then the new message. `store: false`: the client holds everything.
    func layeredTurn(_ s: SessionRecord, _ user: Item, _ sent: inout Sent, _ partial: Partial,
                     _ onDelta: @escaping @Sendable (String) -> Void) async throws -> Exchange {
        let window: Int
        if case .window(let n) = (try? MemoryPolicy(parsing: s.policy)) ?? .all { window = n } else { window = Self.layeredDefaultWindow }
        let prior = try store.latestMemorySummary(session: s.id)
        // Everything after the last summary is working memory until it outgrows the window by a few
        // items; then the oldest of it goes to the summarizer (with the previous summary).
        var working = try store.completeMessages(session: s.id, after: prior?.throughMessage ?? 0)
        var summary = prior
        var newSummary: WorkbenchStore.MemorySummary?
        if working.count >= window + Self.layeredSummaryEvery {
            let leaving = Array(working.prefix(working.count - window))
            let input = (prior.map { [Self.summaryItem($0.summary)] } ?? []) + replayItems(leaving)
            let written = try await summarize(s, input, &sent)
            newSummary = WorkbenchStore.MemorySummary(throughMessage: leaving.last!.id, summary: written.summary)
            summary = newSummary
            working = Array(working.suffix(window))
        }
        let text = user.text
        let episodes = try store.episodes(for: text, profile: s.profile, excludingSession: s.id,
                                          limit: Self.episodicLimit, tokenBudget: Self.episodicTokenBudget)
        var input: [Item] = []
        var sources: [ContextSource] = []
        if let summary { input.append(Self.summaryItem(summary.summary)); sources.append(.summary) }
        input += replayItems(working); sources += Array(repeating: .working, count: working.count)
        input += episodes.map { $0.item() }; sources += Array(repeating: .episodic, count: episodes.count)
        input.append(user); sources.append(.new)
        var request = CreateResponseRequest(model: s.model, input: .items(input), instructions: try factsInstructions(s.profile), store: false)
        let r = try await exchange(&request, &sent, partial, onDelta, sources: sources)
        var x = Exchange(response: r, previousSent: nil, conversationID: nil, event: .client)
        x.memorySummary = newSummary
        return x
    }

    /// The reply request's parts by source, plus, for the server modes, what the server held and
    /// prepended (the billed input tokens the request itself does not account for).
    func contextParts(_ sent: Sent, _ r: Response, _ s: SessionRecord) -> [ContextPart]? {
        guard let reply = sent.requests.last(where: { $0.kind == .reply }), let input = sent.replyInput else { return nil }
        var parts = reply.parts(items: input.items, instructions: input.instructions)
        // The requests before the reply (a conversation created or filled with carried items, a refused
        // chain attempt), whole, so the parts add up to every request of the turn; no tokens: the model
        // reads their items from the server, which the server part counts.
        let setup = sent.requests.filter { $0.kind == .setup }.map {
            ContextPart(source: $0.commonSource ?? .setup, items: $0.sources.count, tokens: 0, bytes: $0.bytes)
        }
        if s.mode.isServerManaged, let billed = r.usage?.input_tokens {
            let sentTokens = parts.reduce(0) { $0 + $1.tokens }
            parts.insert(ContextPart(source: .server, items: 0, tokens: max(0, billed - sentTokens), bytes: 0), at: 0)
        }
        return setup + parts
    }
}
