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
}
