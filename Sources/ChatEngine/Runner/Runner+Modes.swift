import Foundation

extension Runner {
    // MARK: Modes

    /// History as input items: complete messages in the easy form, without server ids, so any server
    /// accepts them (ids from another server would be refused).
    func replayItems(_ messages: [MessageRecord]) -> [Item] {
        messages.map { m in
            switch m.item {
            case .message(let msg): return .message(Message(role: msg.role, content: .text(msg.content.plainText)))
            case .opaque(var v):
                if case .object(var o) = v { o.removeValue(forKey: "id"); v = .object(o) }
                return .opaque(v)
            }
        }
    }

    func chainTurn(_ s: SessionRecord, _ user: Item, _ sent: inout Sent, _ partial: Partial,
                   _ onDelta: @escaping @Sendable (String) -> Void, instructions: String? = nil) async throws -> Exchange {
        var prev = s.chainHead
        var input: [Item]
        var event: ChainEvent
        if let _ = prev {
            let missing = try store.completeMessages(session: s.id, after: s.chainCovers)
            input = replayItems(missing) + [user]
            event = missing.isEmpty ? .continue : .switch
        } else {
            let history = try store.completeMessages(session: s.id)
            input = replayItems(history) + [user]
            event = history.isEmpty ? .start : .switch
        }
        let sources = Array(repeating: ContextSource.carried, count: input.count - 1) + [.new]
        let serverPolicy = try ServerPolicy(parsing: s.serverPolicy)
        var request = CreateResponseRequest(model: s.model, input: .items(input), instructions: instructions, previousResponseID: prev)
        serverPolicy.apply(to: &request)
        do {
            let r = try await exchange(&request, &sent, partial, onDelta, sources: sources)
            return Exchange(response: r, previousSent: prev, conversationID: nil, event: event)
        } catch let e as APIError where e.isPreviousResponseNotFound {
            // The server lost the chain: replay the local history into a new one.
            let history = try store.completeMessages(session: s.id)
            prev = nil
            request = CreateResponseRequest(model: s.model, input: .items(replayItems(history) + [user]), instructions: instructions)
            serverPolicy.apply(to: &request)
            partial.text = ""
            sent.demoteReplies()
            let r = try await exchange(&request, &sent, partial, onDelta,
                                       sources: Array(repeating: .replayed, count: history.count) + [.new])
            return Exchange(response: r, previousSent: nil, conversationID: nil, event: .repair, repair: e)
        }
    }

    func conversationTurn(_ s: SessionRecord, _ user: Item, _ sent: inout Sent, _ partial: Partial,
                          _ onDelta: @escaping @Sendable (String) -> Void) async throws -> Exchange {
        var event = ChainEvent.continue
        var conversation = s.conversationID
        if let id = conversation {
            let missing = try store.completeMessages(session: s.id, after: s.conversationCovers)
            if !missing.isEmpty {
                event = .switch
                do {
                    try await addItems(id, replayItems(missing), &sent)
                } catch let e as APIError where e.status == 404 {
                    conversation = nil
                    _ = e
                }
            }
        }
        var repair: APIError?
        if conversation == nil {
            let history = try store.completeMessages(session: s.id)
            conversation = try await createConversation(seed: replayItems(history), &sent)
            event = history.isEmpty ? .start : .switch
        }
        try keepConversation(s, conversation)
        let serverPolicy = try ServerPolicy(parsing: s.serverPolicy)
        var request = CreateResponseRequest(model: s.model, input: .items([user]), conversation: conversation)
        serverPolicy.apply(to: &request)
        do {
            let r = try await exchange(&request, &sent, partial, onDelta, sources: [.new])
            return Exchange(response: r, previousSent: nil, conversationID: conversation, event: event)
        } catch let e as APIError where e.status == 404 && e.param?.hasPrefix("conversation") == true {
            // The conversation is gone on the server: seed a new one from the local history.
            repair = e
            sent.demoteReplies()
            let history = try store.completeMessages(session: s.id)
            conversation = try await createConversation(seed: replayItems(history), &sent, source: .replayed)
            try keepConversation(s, conversation)
            request = CreateResponseRequest(model: s.model, input: .items([user]), conversation: conversation)
            serverPolicy.apply(to: &request)
            partial.text = ""
            let r = try await exchange(&request, &sent, partial, onDelta, sources: [.new])
            return Exchange(response: r, previousSent: nil, conversationID: conversation, event: .repair, repair: repair)
        }
    }

    /// Client mode: the session's items from its Agents SDK session (plus any transcript messages it
    /// lacks after turns in other modes), filtered by the memory policy, then the new message.
    /// Requests carry `store: false`, so the server keeps nothing of the session.
    func clientTurn(_ s: SessionRecord, _ user: Item, _ sent: inout Sent, _ partial: Partial,
                    _ onDelta: @escaping @Sendable (String) -> Void) async throws -> Exchange {
        let agentSession = try store.agentSession(for: s)
        let seed = replayItems(try store.completeMessages(session: s.id, after: s.clientCovers))
        // Read only what the policy needs: the newest items (a window, a budget, what a summary lacks),
        // so a turn in a 200,000-item agent session reads a few rows, not the session.
        let total = try agentSession.count() + seed.count
        func newest(_ k: Int) throws -> [Item] {
            guard k < total else { return try agentSession.getItems(limit: nil).map(Self.cleanForInput) + seed }
            let fromStore = max(0, k - seed.count)
            return (fromStore == 0 ? [] : try agentSession.getItems(limit: fromStore).map(Self.cleanForInput)) + seed.suffix(k)
        }
        let policy = try MemoryPolicy(parsing: s.policy)
        var context: [Item]
        var effect: PolicyEffect
        var compaction: WorkbenchStore.Compaction?
        var contextSources: [ContextSource]
        if case .summarize(let n) = policy, total > n {
            let keep = policy.summarizeKeep
            let olderCount = total - keep
            let prior = try store.latestCompaction(session: s.id)
            // Items the previous summary already covers (none if it covers more than is old now).
            let covered = prior.map { $0.covers <= olderCount ? $0.covers : 0 } ?? 0
            let recent = try newest(total - covered)   // what the summary lacks, then the items kept verbatim
            var summary: String
            var summaryCost: RequestCost?
            if let prior, prior.covers == olderCount {
                summary = prior.summary
            } else {
                // Incremental: the previous summary plus what became old since it (overhead, billed apart).
                var input: [Item] = []
                if let prior, prior.covers < olderCount { input.append(Self.summaryItem(prior.summary)) }
                input += recent.dropLast(keep)
                let written = try await summarize(s, input, &sent)
                summary = written.summary
                summaryCost = written.cost
                compaction = WorkbenchStore.Compaction(covers: olderCount, summarized: olderCount, summary: summary)
            }
            context = [Self.summaryItem(summary)] + recent.suffix(keep)
            contextSources = [.summary] + Array(repeating: .working, count: context.count - 1)
            effect = PolicyEffect(policy: policy.description, kept: keep, dropped: 0, summarized: olderCount, summary: summaryCost)
        } else {
            var kept: [Item]
            switch policy {
            case .window(let n):
                kept = try newest(n)
            case .budget:
                // Widen the tail until the budget stops inside it (or it is the whole history).
                var k = 64
                while true {
                    let tail = try newest(k)
                    kept = policy.select(tail).kept
                    if kept.count < tail.count || tail.count >= total { break }
                    k *= 4
                }
            case .all, .summarize:
                kept = try newest(total)
            }
            context = kept
            contextSources = Array(repeating: .working, count: kept.count)
            effect = PolicyEffect(policy: policy.description, kept: kept.count, dropped: total - kept.count, summarized: 0)
        }
        // store:false: the client holds the history, so the server need not keep a copy.
        var request = CreateResponseRequest(model: s.model, input: .items(context + [user]), store: false)
        let r = try await exchange(&request, &sent, partial, onDelta, sources: contextSources + [.new])
        return Exchange(response: r, previousSent: nil, conversationID: nil, event: .client, policyEffect: effect,
                        clientSeed: seed, compaction: compaction)
    }

    /// A summary as an input item: developer text the model reads as context.
    static func summaryItem(_ text: String) -> Item { .message(Message(role: "developer", content: .text(text))) }

    /// What the Agents SDK strips before sending stored items to the Responses API: the fake ids and
    /// `provider_data` of Chat Completions items.
    static func cleanForInput(_ item: Item) -> Item {
        guard case .message(var m) = item else { return item }
        if m.id == "__fake_id__" { m.id = nil }
        m.extra.removeValue(forKey: "provider_data")
        return .message(m)
    }
}
