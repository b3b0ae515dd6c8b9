import ChatEngine
import Foundation

/// Engine figures: offline turns by chain depth, the Agents SDK session table, the browser's queries,
/// and SSE parsing.
extension BenchCommand {
    /// One turn on the offline backend chained at depth `depth` (built first; every measured turn chains
    /// from the same tip, so the depth stays the same).
    static func offlineTurn(depth: Int, reps: Int, tmp: String) throws -> [Double] {
        let backend = try OfflineBackend(path: tmp + "/offline-depth-\(depth).sqlite")
        let sem = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<[Double], Error> = .success([])
        Task {
            do {
                var tip: String?
                for i in 0..<depth {
                    let text = i == 0 ? "My name is Priya and I'm moving to Lisbon." : "Turn \(i): I like number \(i % 10)."
                    tip = try await backend.createResponse(CreateResponseRequest(model: "offline-model", input: .text(text), previousResponseID: tip)).id
                }
                var out: [Double] = []
                for _ in 0..<reps {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = try await backend.createResponse(CreateResponseRequest(model: "offline-model", input: .text("Where am I moving?"), previousResponseID: tip))
                    out.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1_000_000)
                }
                result = .success(out)
            } catch {
                result = .failure(error)
            }
            sem.signal()
        }
        sem.wait()
        return try result.get()
    }

    static let sampleItem = Item.assistantMessage(id: "msg_0123456789abcdef", text: "For your trip to Japan: pack layers, comfortable shoes and chargers.").jsonString()

    static func sessionAdd(reps: Int, tmp: String) throws -> [Double] {
        let items = (0..<scaled(100_000)).map { Item.userText("Item \($0): what should I pack for the trip?") }
        return try (0..<reps).map { r in
            let db = try Database.open(path: tmp + "/sdk-add-\(r).sqlite", migrations: WorkbenchStore.migrations)
            let session = SQLiteAgentSession(sessionID: "bench", database: db)
            return try ms { try session.addItems(items) }
        }
    }

    static func sessionGet(reps: Int, tmp: String) throws -> [Double] {
        let db = try Database.open(path: tmp + "/sdk-1m.sqlite", migrations: WorkbenchStore.migrations)
        // Through the session API, in batches: nine items in ten for the measured session.
        let bench = SQLiteAgentSession(sessionID: "bench", database: db), other = SQLiteAgentSession(sessionID: "other", database: db)
        let item = Item.parse(sampleItem)!
        for _ in 0..<(scaled(1_000_000) / 10_000) {
            try bench.addItems(Array(repeating: item, count: 9_000))
            try other.addItems(Array(repeating: item, count: 1_000))
        }
        let session = SQLiteAgentSession(sessionID: "bench", database: db)
        _ = try session.getItems(limit: 50)
        return try (0..<reps).map { _ in try ms { _ = try session.getItems(limit: 50) } }
    }

    /// The session browser over 10,000 sessions of 50 turns (1,000,000 messages): listing all of them (what F4
    /// shows first), and filtering by a word that 1 in 100 sessions contains.
    static func browser(reps: Int, tmp: String) throws -> ([Double], [Double]) {
        let store = try WorkbenchStore(path: tmp + "/browser.sqlite")
        let sessions = scaled(10_000)
        try store.db.transaction {
            for i in 0..<sessions {
                let s = try store.createSession(name: "session-\(i)", mode: .chain, backend: "offline", model: "offline-model")
                for m in 0..<50 {
                    let user = m == 3 && i % 100 == 0 ? "I'm planning a trip to Kyoto in spring (\(i))." : "Message \(m) of session \(i): what should I pack for the trip?"
                    try recordTurn(store, s.id, user: user, reply: "Reply \(m) of session \(i): layers and good shoes.", response: "resp_\(i)_\(m)", previous: m == 0 ? nil : "resp_\(i)_\(m - 1)")
                }
            }
        }
        let matching = (sessions + 99) / 100
        let open = try (0..<reps).map { _ in try ms { guard try store.listSessions().count == sessions else { throw ConfigurationError("browser bench: wrong count") } } }
        let filter = try (0..<reps).map { _ in try ms { guard try store.listSessions(search: "kyot").count == matching else { throw ConfigurationError("browser bench: wrong match count") } } }
        return (open, filter)
    }

    /// Parses (framing and event decoding) a 50 MB synthetic Responses stream, in 16 KB chunks.
    static func sse(reps: Int) throws -> [Double] {
        var stream: [UInt8] = []
        stream.reserveCapacity(51_000_000)
        stream += Array("event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\",\"output\":[]},\"sequence_number\":0}\n\n".utf8)
        var seq = 1
        while stream.count < scaled(50_000_000) {
            let word = seq % 13 == 0 ? "漢字 " : (seq % 17 == 0 ? "line\\n " : "word\(seq % 100) ")
            stream += Array("event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_0123456789abcdef\",\"output_index\":0,\"content_index\":0,\"delta\":\"\(word)\",\"logprobs\":[],\"sequence_number\":\(seq)}\n\n".utf8)
            seq += 1
        }
        stream += Array("event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"output\":[]},\"sequence_number\":\(seq)}\n\n".utf8)
        let mb = Double(stream.count) / 1_000_000
        return try (0..<reps).map { _ in
            var parser = SSEParser()
            var deltas = 0
            let t = try ms {
                var i = 0
                while i < stream.count {
                    let end = Swift.min(i + 16_384, stream.count)
                    for e in try parser.feed(stream[i..<end]) where try StreamEventDecoder.decode(e.data).delta != nil { deltas += 1 }
                    i = end
                }
                _ = parser.finish()
            }
            guard deltas == seq - 1 else { throw ConfigurationError("SSE bench decoded \(deltas) deltas, expected \(seq - 1)") }
            return mb / (t / 1000)
        }
    }

}
