import Foundation

/// The turns of an `OfflineBackend` that an `Answerer` answers (the gateway). The state rules are the
/// offline backend's own (`plan`, `commit`); what differs is the answer: it needs the real item list.
///
/// The rebuilt context is read from the stored items (`contextItems`), not kept per response.
/// Storage stays linear in the number of turns; a turn reads the items of its context, which is what
/// it must send upstream anyway.
extension OfflineBackend {
    /// Plans a turn, applies the context window and rebuilds its context, all under the lock. The
    /// answerer reads compaction items as the summaries they hold.
    func answerPlan(_ request: CreateResponseRequest) throws -> (Plan, Turn) {
        try locked {
            var p = try plan(request)
            try fitWindow(&p)
            let context = try (p.kept ?? contextItems(p).map(\.item)) + p.input
            return (p, Turn(context: readable(context), instructions: request.instructions, model: request.model, text: request.text))
        }
    }

    /// A compaction item the answerer wrote, and what its request cost upstream.
    struct AnsweredCompaction {
        var item: Item
        /// The upstream's usage for the summary request (nil: it reported none).
        var usage: Usage?
    }

    /// For a turn that compacts, the compaction item: its summary is written by the answerer from the
    /// whole context, an extra upstream request whose usage the response adds to the reply's (the
    /// upstream bills it).
    func answeredCompaction(_ p: Plan, _ turn: Turn, _ answerer: Answerer) async throws -> AnsweredCompaction? {
        guard p.shouldCompact else { return nil }
        var summary = ""
        var usage: Usage?
        for try await part in answerer.answer(Turn(context: turn.context, instructions: MemoryPolicy.summaryInstructions, model: turn.model)) {
            switch part {
            case .delta(let d): summary += d
            case .done(let u): usage = u
            }
        }
        return AnsweredCompaction(item: try compactionItem(summary: summary), usage: usage)
    }

    /// Stores the finished turn. Chain and conversation changes made while the answerer worked are
    /// handled by `commit` (a response chained after one deleted meanwhile is born broken).
    func answeredCommit(_ p: Plan, id: String, text: String, itemID: String, usage: Usage?, answerer: Answerer, compaction: AnsweredCompaction?) throws -> Prepared {
        let prepared = try finish(p, id: id, output: (compaction.map { [$0.item] } ?? []) + [.assistantMessage(id: itemID, text: text)], snapshot: "",
                                  modelName: answerer.model(for: p.request.model), usage: usage, plus: compaction?.usage)
        try locked { try state.atomically { try commit(prepared) } }
        return prepared
    }

    func answeredCreate(_ request: CreateResponseRequest, _ answerer: Answerer) async throws -> Response {
        let (p, turn) = try answerPlan(request)
        let compaction = try await answeredCompaction(p, turn, answerer)
        var text = ""
        var usage: Usage?
        for try await part in answerer.answer(turn) {
            switch part {
            case .delta(let d): text += d
            case .done(let u): usage = u
            }
        }
        return try answeredCommit(p, id: IDs.make("resp"), text: text, itemID: IDs.make("msg"), usage: usage, answerer: answerer, compaction: compaction).response
    }

    /// The Responses event sequence around the answerer's deltas, each passed on as it arrives.
    /// It opens only once the answerer has answered at all, so a refusal (429, 5xx) is an error
    /// before the stream, with its status. Nothing is stored unless the answer completes.
    func answeredStream(_ request: CreateResponseRequest, _ answerer: Answerer) -> AsyncThrowingStream<ResponseStreamEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let (p, turn) = try self.answerPlan(request)
                    let compaction = try await self.answeredCompaction(p, turn, answerer)
                    var parts = answerer.answer(turn).makeAsyncIterator()
                    var next = try await parts.next()
                    var seq = 0
                    func emit(_ e: ResponseStreamEvent) { continuation.yield(e); seq += 1 }
                    let id = IDs.make("resp"), itemID = IDs.make("msg")
                    var pending = self.response(p, id: id, output: [], modelName: answerer.model(for: request.model))
                    pending.status = "in_progress"
                    pending.completed_at = nil
                    emit(.lifecycle("response.created", pending, seq: seq))
                    emit(.lifecycle("response.in_progress", pending, seq: seq))
                    let index = compaction == nil ? 0 : 1
                    if let item = compaction?.item {
                        emit(.outputItem("response.output_item.added", index: 0, item: item, seq: seq))
                        emit(.outputItem("response.output_item.done", index: 0, item: item, seq: seq))
                    }
                    emit(.outputItem("response.output_item.added", index: index,
                                     item: .message(Message(id: itemID, type: "message", role: "assistant", content: .parts([]), status: "in_progress")), seq: seq))
                    emit(.contentPart("response.content_part.added", itemID: itemID, index: index, part: .outputText(""), seq: seq))
                    var text = ""
                    var usage: Usage?
                    while let part = next {
                        switch part {
                        case .delta(let d):
                            text += d
                            emit(.textDelta(itemID: itemID, index: index, delta: d, seq: seq))
                        case .done(let u): usage = u
                        }
                        next = try await parts.next()
                    }
                    try Task.checkCancellation()
                    let done = try self.answeredCommit(p, id: id, text: text, itemID: itemID, usage: usage, answerer: answerer, compaction: compaction)
                    emit(.textDone(itemID: itemID, index: index, text: text, seq: seq))
                    emit(.contentPart("response.content_part.done", itemID: itemID, index: index, part: .outputText(text), seq: seq))
                    emit(.outputItem("response.output_item.done", index: index, item: done.output[index], seq: seq))
                    emit(.lifecycle("response.completed", done.response, seq: seq))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
