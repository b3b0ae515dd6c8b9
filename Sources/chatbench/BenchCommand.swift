import ChatEngine
import ChatTUI
import Foundation

/// `chatbench bench`: the figures we hold ourselves to, each the median of repeated runs with min
/// and max, on data generated in a temporary folder.
enum BenchCommand {
    static let spec = CommandSpec(
        name: "bench", summary: "measure start-up, rendering, turns, storage and streaming speed",
        positionals: "", minPositionals: 0, maxPositionals: 0,
        flags: [FlagSpec("--quick", nil, "fewer repetitions (under a minute)"),
                FlagSpec("--json", nil, "print {\"name\": {\"median\", \"min\", \"max\", \"unit\"}, …}"),
                FlagSpec("--only", "NAMES", "comma-separated figure names (prefixes) to run")],
        details: """
            Figures: first_frame_ms (a real child process on a pseudo-terminal, 10,000-message session),
            render_ms_10 / render_ms_10k / render_ms_100k (one 120×40 frame after a scroll), stream_frame_ms,
            offline_turn_ms_depth10 / offline_turn_ms_depth10k, session_add_100k_ms, session_get50_ms
            (1,000,000-item table), redis_session_add_100k_ms / redis_session_get50_ms (the same on Redis:
            $CHATBENCH_REDIS_URL, else a private redis-server), sse_mb_per_s (50 MB Responses stream), rss_mb_10k (peak RSS of the child),
            browser_open_ms_10k_sessions / browser_filter_ms_10k_sessions (10,000 sessions, 1,000,000 messages),
            serve_rps / serve_p99_ms (chatbench serve on loopback: 8 keep-alive clients, non-streamed creates).
            Build with -c release for figures worth quoting: swift run -c release chatbench bench
            """,
        run: { try run($0) })

    struct Figure {
        var name: String
        var unit: String
        var samples: [Double]
        var target: String?
        var median: Double {
            let s = samples.sorted()
            return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
        }
        var min: Double { samples.min() ?? .nan }
        var max: Double { samples.max() ?? .nan }
    }

    static func ms(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1_000_000
    }

    static func run(_ inv: Invocation) throws -> Int32 {
        let quick = inv.has("--quick")
        let only = inv.value("--only")?.split(separator: ",").map(String.init)
        /// `--only a,b`: a figure runs when its name starts with one of them.
        func wanted(_ name: String) -> Bool { only?.contains { name.hasPrefix($0) } ?? true }
        let tmp = NSTemporaryDirectory() + "chatbench-bench-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        var figures: [Figure] = []
        let reps = quick ? 5 : 15
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        if wanted("first_frame_ms") || wanted("rss_mb_10k") {
            let (frames, rss) = try firstFrame(tmp: tmp, runs: quick ? 3 : 7)
            figures.append(Figure(name: "first_frame_ms", unit: "ms", samples: frames, target: "≤ 100"))
            figures.append(Figure(name: "rss_mb_10k", unit: "MB", samples: rss, target: "≤ 64"))
        }
        if ["render_ms_10", "render_ms_10k", "render_ms_100k", "stream_frame_ms"].contains(where: wanted) {
            for (name, n) in [("render_ms_10", 10), ("render_ms_10k", 10_000), ("render_ms_100k", 100_000)] where wanted(name) {
                figures.append(Figure(name: name, unit: "ms", samples: render(messages: n, reps: reps * 4), target: n == 100_000 ? "≤ 2 and ≤ 1.5 × render_ms_10" : nil))
            }
            if wanted("stream_frame_ms") {
                figures.append(Figure(name: "stream_frame_ms", unit: "ms", samples: streamFrame(reps: reps * 4), target: nil))
            }
        }
        if wanted("offline_turn_ms_depth10") {
            for (name, depth) in [("offline_turn_ms_depth10", 10), ("offline_turn_ms_depth10k", 10_000)] where wanted(name) {
                figures.append(Figure(name: name, unit: "ms", samples: try offlineTurn(depth: depth, reps: reps * 2, tmp: tmp),
                                      target: depth == 10_000 ? "≤ 2 × depth10" : nil))
            }
        }
        if wanted("session_add_100k_ms") {
            figures.append(Figure(name: "session_add_100k_ms", unit: "ms", samples: try sessionAdd(reps: quick ? 2 : 5, tmp: tmp), target: nil))
        }
        if wanted("session_get50_ms") {
            figures.append(Figure(name: "session_get50_ms", unit: "ms", samples: try sessionGet(reps: reps * 4, tmp: tmp), target: "≤ 1"))
        }
        if wanted("redis_session_add_100k_ms") || wanted("redis_session_get50_ms") {
            figures += try redisFigures(reps: quick ? 2 : 5, tmp: tmp, environment: inv.environment)
        }
        // 1,000,000 messages take ~30 s to generate: --quick leaves the browser out unless asked for.
        if (!quick || only != nil) && (wanted("browser_open_ms_10k_sessions") || wanted("browser_filter_ms_10k_sessions")) {
            let (open, filter) = try browser(reps: reps, tmp: tmp)
            figures.append(Figure(name: "browser_open_ms_10k_sessions", unit: "ms", samples: open, target: nil))
            figures.append(Figure(name: "browser_filter_ms_10k_sessions", unit: "ms", samples: filter, target: nil))
        }
        if wanted("serve_rps") || wanted("serve_p99_ms") {
            let (rps, p99) = try serve(reps: quick ? 2 : 5, tmp: tmp)
            figures.append(Figure(name: "serve_rps", unit: "req/s", samples: rps, target: nil))
            figures.append(Figure(name: "serve_p99_ms", unit: "ms", samples: p99, target: nil))
        }
        if wanted("sse_mb_per_s") {
            figures.append(Figure(name: "sse_mb_per_s", unit: "MB/s", samples: try sse(reps: quick ? 2 : 5), target: "≥ 100"))
        }
        if inv.has("--json") {
            var obj: [String: JSONValue] = [:]
            for f in figures {
                obj[f.name] = .object(["median": .double(round3(f.median)), "min": .double(round3(f.min)), "max": .double(round3(f.max)), "unit": .string(f.unit)])
            }
            print((try? WireJSON.encodeString(JSONValue.object(obj))) ?? "{}")
        } else {
            print("figure                              median        min        max  unit   target")
            for f in figures {
                let cols = [f.median, f.min, f.max].map { String(format: "%10.3f", $0) }.joined(separator: " ")
                print(f.name.padding(toLength: 33, withPad: " ", startingAt: 0) + " " + cols + "  " + f.unit.padding(toLength: 6, withPad: " ", startingAt: 0) + " " + (f.target ?? ""))
            }
            print("\(ProcessInfo.processInfo.activeProcessorCount) cores · \(buildKind) build · medians of repeated runs")
        }
        return 0
    }

    static func round3(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }

    static var buildKind: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    // MARK: Data

    /// A session of `messages` messages written straight into a workbench file (as many turns recorded it).
    static func seedSession(home: String, name: String, messages: Int) throws {
        try Paths.ensureDirectory(home)
        let store = try WorkbenchStore(path: home + "/workbench.sqlite")
        let s = try store.createSession(name: name, mode: .chain, backend: "offline", model: "offline-model")
        try store.db.transaction {
            for i in 0..<(messages / 2) {
                let user = "Message \(i): I'm planning a trip to Japan, what should I pack for \(i % 7 + 1) days? 漢字 😀"
                let reply = "For your trip to Japan: check the weather there for your dates, then pack layers, comfortable shoes, chargers and your travel documents. (\(i))"
                try store.db.execute("""
                    INSERT INTO turns(session_id, number, mode, backend, model, previous_response_id, response_id, items_sent, input_items,
                        request_bytes, input_tokens, cached_tokens, output_tokens, latency_ms, status, chain_event, created_at)
                    VALUES (?, ?, 'chain', 'offline', 'offline-model', ?, ?, 1, 1, 180, ?, 0, 30, 1.0, 'completed', 'continue', 0)
                    """, [.integer(s.id), .integer(Int64(i + 1)), i == 0 ? .null : .text("resp_\(i - 1)"), .text("resp_\(i)"), .integer(Int64(40 * (i + 1)))])
                let turn = store.db.lastInsertRowID
                for (role, text) in [("user", user), ("assistant", reply)] {
                    let item = role == "user" ? Item.userText(text) : Item.assistantMessage(id: "msg_\(i)", text: text)
                    try store.db.execute("INSERT INTO messages(session_id, role, content, item, status, turn_id, created_at) VALUES (?, ?, ?, ?, 'complete', ?, 0)",
                                         [.integer(s.id), .text(role), .text(text), .text(item.jsonString()), .integer(turn)])
                }
            }
            try store.db.execute("UPDATE sessions SET chain_head = ? WHERE id = ?", [.text("resp_\(messages / 2 - 1)"), .integer(s.id)])
        }
        try store.setSetting("last_session", name)
    }

    static func screenState(messages n: Int) -> AppState {
        var s = AppState(width: 120, height: 40, backend: BackendInfo(name: "offline", displayName: "offline backend", defaultModel: "offline-model", isOffline: true))
        s.session = SessionRecord(id: 1, name: "bench", mode: .chain, backend: "offline", model: "offline-model", policy: "all", profile: "default",
                                  chainCovers: 0, conversationCovers: 0, clientCovers: 0, createdAt: 0, updatedAt: 0)
        s.messages = (0..<n).map { (i: Int) -> ChatMessage in
            let user = i % 2 == 0
            let text: String = user ? "Message \(i): what should I pack for \(i % 7 + 1) days? 漢字 😀"
                                    : "For your trip: pack layers, comfortable shoes, chargers and your **travel documents**. (\(i))"
            return ChatMessage(id: Int64(i + 1), role: user ? "user" : "assistant", text: text)
        }
        s.turns = (0..<Swift.min(n / 2, 200)).map { i in
            TurnRecord(sessionID: 1, number: i + 1, mode: .chain, backend: "offline", model: "offline-model", previousResponseID: "resp_\(i)",
                       responseID: "resp_\(i + 1)", itemsSent: 1, requestBytes: 180, inputTokens: 40 * i, outputTokens: 30, status: "completed",
                       chainEvent: "continue", createdAt: 0)
        }
        s.memory = MemoryState(mode: .chain, policy: "all", profile: "default", serverItems: n, serverTurns: n / 2, transcriptMessages: n,
                               clientItems: 0, facts: 0, last: s.turns.last, lastCompleted: s.turns.last, turns: n / 2, totalBytes: 180 * n / 2,
                               totalInputTokens: 1000, totalCachedTokens: 0, totalOutputTokens: 1000)
        return s
    }

    // MARK: Figures

    /// One frame after a scroll: page up (new messages to lay out each time), then render the grid.
    static func render(messages n: Int, reps: Int) -> [Double] {
        var state = screenState(messages: n)
        let cache = LayoutCache()
        _ = Views.render(state, layout: cache)
        var out: [Double] = []
        for _ in 0..<reps {
            out.append(ms {
                _ = App.update(&state, .key(.pageUp), layout: cache)
                _ = Views.render(state, layout: cache)
            })
        }
        return out
    }

    /// A frame after one delta arrives at the end of a 10,000-message session.
    static func streamFrame(reps: Int) -> [Double] {
        var state = screenState(messages: 10_000)
        let cache = LayoutCache()
        state.streaming = StreamState(userText: "What should I pack?", reply: "", revision: 0)
        _ = Views.render(state, layout: cache)
        return (0..<reps).map { i in
            ms {
                _ = App.update(&state, .engine(.delta("word\(i) ")), layout: cache)
                _ = Views.render(state, layout: cache)
            }
        }
    }

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
        let items = (0..<100_000).map { Item.userText("Item \($0): what should I pack for the trip?") }
        return try (0..<reps).map { r in
            let db = try Database.open(path: tmp + "/sdk-add-\(r).sqlite", migrations: WorkbenchStore.migrations)
            let session = SQLiteAgentSession(sessionID: "bench", database: db)
            return try ms { try session.addItems(items) }
        }
    }

    static func sessionGet(reps: Int, tmp: String) throws -> [Double] {
        let db = try Database.open(path: tmp + "/sdk-1m.sqlite", migrations: WorkbenchStore.migrations)
        try db.transaction {
            try db.execute("INSERT INTO agent_sessions(session_id) VALUES ('bench'), ('other')")
            for i in 0..<1_000_000 {
                try db.execute("INSERT INTO agent_messages(session_id, message_data) VALUES (?, ?)", [.text(i % 10 == 0 ? "other" : "bench"), .text(sampleItem)])
            }
        }
        let session = SQLiteAgentSession(sessionID: "bench", database: db)
        _ = try session.getItems(limit: 50)
        return try (0..<reps).map { _ in try ms { _ = try session.getItems(limit: 50) } }
    }

    /// The session browser over 10,000 sessions and 1,000,000 messages: listing all of them (what F4
    /// shows first), and filtering by a word that 1 in 100 sessions contains.
    static func browser(reps: Int, tmp: String) throws -> ([Double], [Double]) {
        let store = try WorkbenchStore(path: tmp + "/browser.sqlite")
        try store.db.transaction {
            for i in 0..<10_000 {
                try store.db.execute("INSERT INTO sessions(name, mode, backend, model, created_at, updated_at) VALUES (?, 'chain', 'offline', 'offline-model', ?, ?)",
                                     [.text("session-\(i)"), .double(Double(i)), .double(Double(i))])
                let sid = store.db.lastInsertRowID
                for m in 0..<100 {
                    let text = m == 7 && i % 100 == 0 ? "I'm planning a trip to Kyoto in spring (\(i))." : "Message \(m) of session \(i): what should I pack for the trip?"
                    try store.db.execute("INSERT INTO messages(session_id, role, content, item, status, created_at) VALUES (?, ?, ?, '{}', 'complete', 0)",
                                         [.integer(sid), .text(m % 2 == 0 ? "user" : "assistant"), .text(text)])
                }
            }
        }
        let open = try (0..<reps).map { _ in try ms { guard try store.listSessions().count == 10_000 else { throw ConfigurationError("browser bench: wrong count") } } }
        let filter = try (0..<reps).map { _ in try ms { guard try store.listSessions(search: "kyot").count == 100 else { throw ConfigurationError("browser bench: wrong match count") } } }
        return (open, filter)
    }

    /// `chatbench serve` on loopback: 8 keep-alive clients × 250 non-streamed creates (fresh
    /// conversations, no chain), requests per second and the 99th-percentile latency.
    static func serve(reps: Int, tmp: String) throws -> ([Double], [Double]) {
        let backend = try OfflineBackend(path: tmp + "/serve.sqlite")
        let routes = OpenAIRoutes(backend: backend, apiKey: nil)
        let server = HTTPServer(host: "127.0.0.1", port: 0, log: nil, handler: { req, conn in routes.handle(req, conn) })
        try server.bind()
        Thread.detachNewThread { server.serve() }
        defer { server.stop() }
        let body = Array(#"{"model":"offline-model","input":"My name is Priya and I'm moving to Lisbon."}"#.utf8)
        let request = Array("POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        var rpsOut: [Double] = [], p99Out: [Double] = []
        for _ in 0..<reps {
            let clients = 8, perClient = 250
            let latencies = LatencyBox()
            let group = DispatchGroup()
            let started = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<clients {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    guard let fd = connectLoopback(server.port) else { latencies.fail(); return }
                    defer { close(fd) }
                    for _ in 0..<perClient {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        guard sendAll(fd, request), readReply(fd) == 200 else { latencies.fail(); return }
                        latencies.add(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1_000_000)
                    }
                }
            }
            group.wait()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            guard latencies.failures == 0 else { throw ConfigurationError("serve bench: \(latencies.failures) requests failed") }
            let sorted = latencies.all.sorted()
            rpsOut.append(Double(sorted.count) / seconds)
            p99Out.append(sorted[Int(Double(sorted.count - 1) * 0.99)])
        }
        return (rpsOut, p99Out)
    }

    final class LatencyBox: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var all: [Double] = []
        private(set) var failures = 0
        func add(_ v: Double) { lock.lock(); all.append(v); lock.unlock() }
        func fail() { lock.lock(); failures += 1; lock.unlock() }
    }

    static func connectLoopback(_ port: UInt16) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return rc == 0 ? fd : nil
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// Reads one HTTP reply with a Content-Length body; returns its status (0 on error).
    static func readReply(_ fd: Int32) -> Int {
        var buf = [UInt8]()
        var tmp = [UInt8](repeating: 0, count: 16384)
        var headerEnd: Int?
        var length = 0
        while true {
            let n = recv(fd, &tmp, tmp.count, 0)
            if n <= 0 { return 0 }
            buf += tmp[0..<n]
            if headerEnd == nil, let r = buf.firstRange(of: [13, 10, 13, 10]) {
                headerEnd = r.upperBound
                let head = String(decoding: buf[0..<r.lowerBound], as: UTF8.self).lowercased()
                if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }) {
                    length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let h = headerEnd, buf.count >= h + length {
                let status = String(decoding: buf[9..<12], as: UTF8.self)
                return Int(status) ?? 0
            }
        }
    }

    /// Parses (framing and event decoding) a 50 MB synthetic Responses stream, in 16 KB chunks.
    static func sse(reps: Int) throws -> [Double] {
        var stream: [UInt8] = []
        stream.reserveCapacity(51_000_000)
        stream += Array("event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\",\"output\":[]},\"sequence_number\":0}\n\n".utf8)
        var seq = 1
        while stream.count < 50_000_000 {
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

    /// Starts the real binary on a pseudo-terminal (120×40) with a 10,000-message session and times
    /// process start → the first full frame (the footer, drawn last). Also reads its peak RSS.
    static func firstFrame(tmp: String, runs: Int) throws -> ([Double], [Double]) {
        let home = tmp + "/home-10k"
        try seedSession(home: home, name: "ten-thousand", messages: 10_000)
        var exe = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &exe, exe.count - 1)
        guard n > 0 else { throw ConfigurationError("cannot find the chatbench binary") }
        let binary = String(decoding: exe.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var frames: [Double] = []
        var rss: [Double] = []
        for _ in 0..<runs {
            let (t, r) = try Pty.timeFirstFrame(binary: binary, env: ["CHATBENCH_HOME=\(home)", "XDG_CONFIG_HOME=\(tmp)/config", "TERM=xterm-256color",
                                                                      "LANG=C.UTF-8", "HOME=\(tmp)", "PATH=/usr/bin:/bin"]
                                                    + (ProcessInfo.processInfo.environment["CHATBENCH_TRACE"].map { ["CHATBENCH_TRACE=\($0)"] } ?? []),
                                                marker: "Ctrl-Q")
            frames.append(t)
            rss.append(r)
        }
        return (frames, rss)
    }
}
