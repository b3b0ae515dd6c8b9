import Foundation

/// The turns of an `OfflineBackend` that an `Answerer` answers (the gateway). The state rules are the
/// offline backend's own (`plan`, `commit`); what differs is the answer: it needs the real item list.
///
/// The rebuilt context is read from the stored items, not kept per response: the chain's
/// `response_items` in one recursive query (oldest response first, each response's input then output),
/// or the conversation's `conversation_items`. Storage stays linear in the number of turns; a turn
/// at depth N reads N responses' items, which is what it must send upstream anyway.
extension OfflineBackend {
    /// Every item before the new input: the chain behind `previous_response_id`, or the conversation.
    func rebuiltContext(_ p: Plan) throws -> [Item] {
        if let prev = p.request.previous_response_id { return try chainItems(endingAt: prev) }
        if let conv = p.request.conversation?.id {
            return try db.query("SELECT data FROM conversation_items WHERE conversation_id = ? ORDER BY seq", [.text(conv)])
                .compactMap { Item.parse($0["data"].string ?? "") }
        }
        return []
    }

    /// The inputs and outputs of every response from the chain's first to `last`. A chain that began
    /// in a conversation starts with that conversation's items up to the first response's output
    /// (its own input and output are among them).
    func chainItems(endingAt last: String) throws -> [Item] {
        let rows = try db.query("""
            WITH RECURSIVE chain(id, prev, conv, depth) AS (
                SELECT id, previous_response_id, conversation_id, depth FROM responses WHERE id = ?1
                UNION ALL
                SELECT r.id, r.previous_response_id, r.conversation_id, r.depth FROM responses r JOIN chain c ON r.id = c.prev)
            SELECT c.conv, i.kind, i.item_id, i.data FROM chain c JOIN response_items i ON i.response_id = c.id
            ORDER BY c.depth, i.kind, i.position
            """, [.text(last)])
        var items: [Item] = []
        var root: [Item] = []
        var rootConversation: String?
        var rootLastOutput: String?
        for row in rows {
            guard let item = Item.parse(row["data"].string ?? "") else { continue }
            if let conv = row["conv"].string {   // only a chain's first response can be in a conversation
                rootConversation = conv
                root.append(item)
                if row["kind"].string == "output" { rootLastOutput = row["item_id"].string }
            } else {
                items.append(item)
            }
        }
        if let conv = rootConversation, let out = rootLastOutput {
            let prefix = try db.query("""
                SELECT data FROM conversation_items WHERE conversation_id = ?1
                AND seq <= (SELECT seq FROM conversation_items WHERE conversation_id = ?1 AND item_id = ?2) ORDER BY seq
                """, [.text(conv), .text(out)]).compactMap { Item.parse($0["data"].string ?? "") }
            root = prefix.isEmpty ? root : prefix   // its output was deleted from the conversation: its own items
        }
        return root + items
    }

    /// Plans a turn and rebuilds its context, both under the lock.
    func answerPlan(_ request: CreateResponseRequest) throws -> (Plan, Turn) {
        try locked {
            let p = try plan(request)
            let context = try rebuiltContext(p) + p.input
            return (p, Turn(context: context, instructions: request.instructions, model: request.model))
        }
    }

    /// Stores the finished turn. Chain and conversation changes made while the answerer worked are
    /// handled by `commit` (a response chained after one deleted meanwhile is born broken).
    func answeredCommit(_ p: Plan, id: String, text: String, itemID: String, usage: Usage?, answerer: Answerer) throws -> Prepared {
        let prepared = finish(p, id: id, output: [.assistantMessage(id: itemID, text: text)], snapshot: "",
                              modelName: answerer.model(for: p.request.model), usage: usage)
        try locked { try db.transaction { try commit(prepared) } }
        return prepared
    }

    func answeredCreate(_ request: CreateResponseRequest, _ answerer: Answerer) async throws -> Response {
        let (p, turn) = try answerPlan(request)
        var text = ""
        var usage: Usage?
        for try await part in answerer.answer(turn) {
            switch part {
            case .delta(let d): text += d
            case .done(let u): usage = u
            }
        }
        return try answeredCommit(p, id: IDs.make("resp"), text: text, itemID: IDs.make("msg"), usage: usage, answerer: answerer).response
    }

    /// The Responses event sequence around the answerer's deltas, each passed on as it arrives.
    /// It opens only once the answerer has answered at all, so a refusal (429, 5xx) is an error
    /// before the stream, with its status. Nothing is stored unless the answer completes.
    func answeredStream(_ request: CreateResponseRequest, _ answerer: Answerer) -> AsyncThrowingStream<ResponseStreamEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let (p, turn) = try self.answerPlan(request)
                    var parts = answerer.answer(turn).makeAsyncIterator()
                    var next = try await parts.next()
                    var seq = 0
                    func emit(_ e: ResponseStreamEvent) { continuation.yield(e); seq += 1 }
                    let id = IDs.make("resp"), itemID = IDs.make("msg")
                    var pending = self.finish(p, id: id, output: [], snapshot: "", modelName: answerer.model(for: request.model), usage: nil).response
                    pending.status = "in_progress"
                    pending.usage = nil
                    pending.completed_at = nil
                    emit(.lifecycle("response.created", pending, seq: seq))
                    emit(.lifecycle("response.in_progress", pending, seq: seq))
                    emit(.outputItem("response.output_item.added", index: 0,
                                     item: .message(Message(id: itemID, type: "message", role: "assistant", content: .parts([]), status: "in_progress")), seq: seq))
                    emit(.contentPart("response.content_part.added", itemID: itemID, index: 0, part: .outputText(""), seq: seq))
                    var text = ""
                    var usage: Usage?
                    while let part = next {
                        switch part {
                        case .delta(let d):
                            text += d
                            emit(.textDelta(itemID: itemID, index: 0, delta: d, seq: seq))
                        case .done(let u): usage = u
                        }
                        next = try await parts.next()
                    }
                    try Task.checkCancellation()
                    let done = try self.answeredCommit(p, id: id, text: text, itemID: itemID, usage: usage, answerer: answerer)
                    emit(.textDone(itemID: itemID, index: 0, text: text, seq: seq))
                    emit(.contentPart("response.content_part.done", itemID: itemID, index: 0, part: .outputText(text), seq: seq))
                    emit(.outputItem("response.output_item.done", index: 0, item: done.output[0], seq: seq))
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
