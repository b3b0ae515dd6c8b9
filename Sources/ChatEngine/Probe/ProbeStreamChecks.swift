import Foundation

/// The probe's checks of streaming, compaction, truncation, usage and error replies.
extension Probe {
    /// SSE events from a whole stream body: each event's JSON `data`, in order.
    static func events(_ body: Data) -> [JSONValue] {
        let text = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        return text.components(separatedBy: "\n\n").compactMap { block in
            let data = block.split(separator: "\n").filter { $0.hasPrefix("data:") }
                .map { $0.dropFirst(5).drop(while: { $0 == " " }) }.joined(separator: "\n")
            return data.isEmpty || data.hasPrefix("[DONE]") ? nil : JSONValue.parse(data)
        }
    }

    static let terminalTypes: Set<String> = ["response.completed", "response.failed", "response.incomplete", "error"]

    /// `stream: true`: created first, increasing sequence numbers, deltas that add up to the final text,
    /// exactly one terminal event and it is last.
    func streaming() async throws -> ProbeRow {
        let r = try await createRaw(["input": .string("Say hello in five words."), "stream": .bool(true)])
        guard r.status == 200 else { return ProbeRow("", .fail, "HTTP \(r.status) \(r.excerpt)") }
        let events = Self.events(r.body)
        let types = events.map { $0["type"]?.stringValue ?? "?" }
        if let id = events.first?["response"]?["id"]?.stringValue { createdResponses.append(id) }
        guard r.headers["content-type"]?.hasPrefix("text/event-stream") == true else {
            return ProbeRow("", .fail, "content-type \(r.headers["content-type"] ?? "missing"), expected text/event-stream")
        }
        guard types.first == "response.created" else { return ProbeRow("", .fail, "first event \(types.first ?? "none"), expected response.created") }
        let terminal = types.indices.filter { Self.terminalTypes.contains(types[$0]) }
        guard terminal == [types.count - 1] else {
            return ProbeRow("", .fail, terminal.isEmpty ? "no terminal event (last: \(types.last ?? "none"))" : "terminal event not last, or more than one")
        }
        guard types.last == "response.completed" else { return ProbeRow("", .fail, "the stream ended with \(types.last ?? "")") }
        let seqs = events.compactMap { $0["sequence_number"]?.saturatedInt }
        guard seqs.count == events.count, zip(seqs, seqs.dropFirst()).allSatisfy({ $0 < $1 }) else {
            return ProbeRow("", .fail, "sequence_number missing or not increasing")
        }
        let deltas = events.filter { $0["type"]?.stringValue == "response.output_text.delta" }.compactMap { $0["delta"]?.stringValue }.joined()
        let final = events.last?["response"]?.outputText ?? ""
        guard !deltas.isEmpty, deltas == final else { return ProbeRow("", .fail, "the deltas do not add up to the completed text") }
        return ProbeRow("", .pass, "\(events.count) events, created … completed")
    }

    /// `POST /responses/compact` on a chain returns a `response.compaction` with a compaction item.
    func compaction() async throws -> ProbeRow {
        let a = try await create(["input": .string("My name is \(secretName).")], what: "a turn to compact")
        let r = try await client.call("POST", "responses/compact", json: .object(["model": .string(model), "previous_response_id": a["id"] ?? .null]))
        if [404, 405, 501].contains(r.status) { return ProbeRow("", .unsupported, "POST /responses/compact: HTTP \(r.status)") }
        guard r.status == 200, let json = r.json else { return ProbeRow("", .fail, "POST /responses/compact: HTTP \(r.status) \(r.excerpt)") }
        guard json["object"]?.stringValue == "response.compaction", let output = json["output"]?.arrayValue,
              output.contains(where: { $0["type"]?.stringValue == "compaction" }) else {
            return ProbeRow("", .fail, "the reply is not a response.compaction with a compaction item")
        }
        // The compacted output is the next request's input, and the model still knows the name.
        let next = try await createRaw(["input": .array(output + [.object(["role": .string("user"), "content": .string("What's my name?")])])])
        guard next.status == 200, let reply = next.json else {
            return ProbeRow("", .fail, "the compacted output was refused as input: HTTP \(next.status) \(next.excerpt)")
        }
        // Server-side: a trailing compaction_trigger item puts a compaction item in the response's output.
        let triggered = try await createRaw(["input": .array([.object(["role": .string("user"), "content": .string("Say hello.")]),
                                                              .object(["type": .string("compaction_trigger")])]),
                                             "context_management": .array([.object(["type": .string("compaction"), "compact_threshold": .int(1000)])])])
        let serverSide = triggered.status == 200
            && triggered.json?["output"]?.arrayValue?.first?["type"]?.stringValue == "compaction"
        let recalled = reply.outputText.contains(secretName)
        return ProbeRow("", .pass, "compact → next turn \(recalled ? "recalled the name" : "accepted (name not repeated)"); "
                        + "compaction_trigger \(serverSide ? "compacted" : "not honoured (HTTP \(triggered.status))")")
    }

    /// `truncation: "auto"` is accepted and echoed.
    func truncation() async throws -> ProbeRow {
        let r = try await createRaw(["input": .string("Say hello."), "truncation": .string("auto")])
        if r.status == 400 { return ProbeRow("", .unsupported, "truncation:auto refused: \(r.json?["error"]?["message"]?.stringValue.map { String($0.prefix(80)) } ?? r.excerpt)") }
        guard r.status == 200, let json = r.json else { return ProbeRow("", .fail, "HTTP \(r.status) \(r.excerpt)") }
        let echoed = json["truncation"]?.stringValue
        guard echoed == "auto" else { return ProbeRow("", .unsupported, "accepted but the response says truncation \(echoed ?? "missing")") }
        return ProbeRow("", .pass, "truncation auto echoed")
    }

    /// `usage.input_tokens_details.cached_tokens` is reported on a chained turn, 0 ≤ cached ≤ input.
    func cachedTokens() async throws -> ProbeRow {
        let a = try await create(["input": .string("My name is \(secretName).")], what: "first turn")
        let b = try await create(["input": .string("What's my name?"), "previous_response_id": a["id"] ?? .null], what: "chained turn")
        guard let usage = b["usage"], let input = usage["input_tokens"]?.saturatedInt else { return ProbeRow("", .fail, "the response has no usage.input_tokens") }
        guard let cached = usage["input_tokens_details"]?["cached_tokens"]?.saturatedInt else {
            return ProbeRow("", .fail, "usage has no input_tokens_details.cached_tokens")
        }
        guard cached >= 0, cached <= input else { return ProbeRow("", .fail, "cached_tokens \(cached) outside 0…input_tokens (\(input))") }
        return ProbeRow("", .pass, "cached \(cached) of \(input) input tokens")
    }

    /// A malformed body gets 400 in the error envelope, and error replies carry `x-request-id`.
    func errorEnvelope() async throws -> ProbeRow {
        let bad = try await client.call("POST", "responses", raw: Data("{not json".utf8))
        guard bad.status == 400 else { return ProbeRow("", .fail, "a malformed body: HTTP \(bad.status), expected 400") }
        if let p = Self.envelopeProblem(bad) { return ProbeRow("", .fail, "a malformed body: \(p)") }
        let missing = try await client.call("GET", "responses/resp_probe0000000000000000")
        for (what, reply) in [("400", bad), ("404", missing)] where (reply.headers["x-request-id"] ?? "").isEmpty {
            return ProbeRow("", .fail, "the \(what) error reply has no x-request-id header")
        }
        return ProbeRow("", .pass, "400 envelope; x-request-id on errors")
    }
}
