import Foundation

extension OfflineBackend {
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
                    // A compaction item, when this turn compacts, comes first and whole.
                    let index = p.output.count - 1
                    for (i, item) in p.output.dropLast().enumerated() {
                        emit(.outputItem("response.output_item.added", index: i, item: item, seq: seq))
                        emit(.outputItem("response.output_item.done", index: i, item: item, seq: seq))
                    }
                    let final = p.output[index]
                    let itemID = final.id ?? ""
                    let text = final.text
                    emit(.outputItem("response.output_item.added", index: index,
                                     item: .message(Message(id: itemID, type: "message", role: "assistant", content: .parts([]), status: "in_progress")), seq: seq))
                    emit(.contentPart("response.content_part.added", itemID: itemID, index: index, part: .outputText(""), seq: seq))
                    for word in Self.words(text) {
                        try Task.checkCancellation()
                        if self.streamDelay > .zero { try await Task.sleep(for: self.streamDelay) }
                        emit(.textDelta(itemID: itemID, index: index, delta: word, seq: seq))
                    }
                    try Task.checkCancellation()
                    emit(.textDone(itemID: itemID, index: index, text: text, seq: seq))
                    emit(.contentPart("response.content_part.done", itemID: itemID, index: index, part: .outputText(text), seq: seq))
                    emit(.outputItem("response.output_item.done", index: index, item: final, seq: seq))
                    try self.locked { try self.commit(p) }
                    emit(.lifecycle(p.response.status == "incomplete" ? "response.incomplete" : "response.completed", p.response, seq: seq))
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
}
