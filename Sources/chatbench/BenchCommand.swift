import ChatEngine
import ChatServe
import ChatTUI
import Foundation

/// `chatbench bench`: the figures we hold ourselves to, each the median of repeated runs with min
/// and max, on data generated in a temporary folder through the store's own API.
enum BenchCommand {
    static let spec = CommandSpec(
        name: "bench", summary: "measure start-up, rendering, turns, storage and streaming speed",
        positionals: "", minPositionals: 0, maxPositionals: 0,
        flags: [FlagSpec("--quick", nil, "fewer repetitions, and no million-row data unless --only asks (a few minutes)"),
                FlagSpec("--json", nil, "print {\"name\": {\"median\", \"min\", \"max\", \"unit\", \"target\", \"ok\"}, …}"),
                FlagSpec("--only", "NAMES", "comma-separated figure names (prefixes) to run"),
                FlagSpec("--check", nil, "exit 1 when a figure misses its target (check your own machine)")],
        details: """
            Screen, a real child on a 120×40 pseudo-terminal: first_frame_ms (launch to a full frame, 10,000
            messages) and rss_mb_10k; open_ms_1m and rss_mb_1m (launch to the last of 1,000,000 messages
            drawn); open_ms_sdk_200k (an Agents SDK session of 200,000 items); idle_wakeups_60s (an idle
            screen's context switches); turn_ms_e2e_depth10 / _depth10k (Enter to the reply drawn).
            Screen, in process: render_ms_10 / _10k / _100k (a frame after PgUp), pageup_ms_1m / home_ms_1m
            (a key with the pages it reads, on 1,000,000 stored messages), stream_frame_ms (a delta at the
            end of a short reply) and stream_frame_ms_100kb (at the end of a 100 KB reply).
            Engine: offline_turn_ms_depth10 / _depth10k, session_add_100k_ms, session_get50_ms (1,000,000-item
            table), redis_session_add_100k_ms / redis_session_get50_ms (the same on Redis: $CHATBENCH_REDIS_URL,
            else a private redis-server), browser_open_ms_10k_sessions / browser_filter_ms_10k_sessions, sse_mb_per_s (50 MB
            stream), serve_rps / serve_p99_ms (8 keep-alive clients on loopback), serve_rps_redis /
            serve_p99_ms_redis (the same with the server's state in Redis), serve_p99_ms_hostile /
            serve_rss_growth_mb_hostile (the same 8 clients beside 1,000 idle keep-alive connections and 3
            clients that pipeline streamed requests and never read).
            Build with -c release for figures worth quoting: swift run -c release chatbench bench
            CHATBENCH_BENCH_TINY=1 shrinks every data set (for testing the command, not for figures).
            """,
        run: { try run($0) })

    /// What a figure must reach: checked by --check, printed beside it.
    indirect enum Target {
        case atMost(Double)
        case atLeast(Double)
        /// At most `factor` times another figure's median.
        case timesAtMost(Double, String)
        case both(Target, Target)

        var text: String {
            switch self {
            case .atMost(let v): return "≤ \(Self.number(v))"
            case .atLeast(let v): return "≥ \(Self.number(v))"
            case .timesAtMost(let f, let other): return "≤ \(Self.number(f)) × \(other)"
            case .both(let a, let b): return "\(a.text) and \(b.text)"
            }
        }

        static func number(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }

        /// nil when the figure it compares with was not run.
        func met(_ value: Double, _ medians: [String: Double]) -> Bool? {
            switch self {
            case .atMost(let v): return value <= v
            case .atLeast(let v): return value >= v
            case .timesAtMost(let f, let other): return medians[other].map { value <= f * $0 }
            case .both(let a, let b):
                guard let x = a.met(value, medians), let y = b.met(value, medians) else { return nil }
                return x && y
            }
        }
    }

    struct Figure {
        var name: String
        var unit: String
        var samples: [Double]
        var target: Target?
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

    /// CHATBENCH_BENCH_TINY=1: data sets 500 times smaller, so a test can run every figure quickly.
    nonisolated(unsafe) static var tiny = false
    static func scaled(_ n: Int) -> Int { tiny ? Swift.max(2, n / 500) : n }

    static func run(_ inv: Invocation) throws -> Int32 {
        tiny = inv.environment["CHATBENCH_BENCH_TINY"] == "1"
        let quick = inv.has("--quick")
        let only = inv.value("--only")?.split(separator: ",").map(String.init)
        /// `--only a,b`: a figure runs when its name starts with one of them.
        func wanted(_ names: String...) -> Bool { names.contains { name in only?.contains { name.hasPrefix($0) } ?? true } }
        /// Million-row data takes a while to make: --quick leaves it out unless asked for by name.
        let big = !quick || only != nil || tiny
        let tmp = NSTemporaryDirectory() + "chatbench-bench-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        var figures: [Figure] = []
        func add(_ name: String, _ unit: String, _ samples: [Double], _ target: Target? = nil) {
            if wanted(name) { figures.append(Figure(name: name, unit: unit, samples: samples, target: target)) }
        }
        let reps = tiny ? 2 : (quick ? 5 : 15)
        let runs = tiny ? 1 : (quick ? 3 : 7)
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)

        if wanted("first_frame_ms", "rss_mb_10k", "idle_wakeups_60s") {
            let home = tmp + "/home-10k"
            try seedSession(home: home, name: "ten-thousand", messages: scaled(10_000))
            if wanted("first_frame_ms", "rss_mb_10k") {
                let (frames, rss) = try launch(home: home, tmp: tmp, marker: "Ctrl-Q", runs: runs)
                add("first_frame_ms", "ms", frames, .atMost(35))
                add("rss_mb_10k", "MB", rss, .atMost(64))
            }
            add("idle_wakeups_60s", "/min", wanted("idle_wakeups_60s") ? try idleWakeups(home: home, tmp: tmp, seconds: tiny ? 1 : (quick ? 10 : 60), runs: 1) : [], .atMost(5))
        }
        if big && wanted("open_ms_1m", "rss_mb_1m", "pageup_ms_1m", "home_ms_1m") {
            let home = tmp + "/home-1m"
            let messages = scaled(1_000_000)
            try seedSession(home: home, name: "one-million", messages: messages)
            let (open, rss) = try launch(home: home, tmp: tmp, marker: "(\(messages / 2 - 1))", runs: runs)
            add("open_ms_1m", "ms", open, .atMost(100))
            add("rss_mb_1m", "MB", rss, .timesAtMost(1.2, "rss_mb_10k"))
            let store = try WorkbenchStore(path: home + "/workbench.sqlite")
            add("pageup_ms_1m", "ms", try pageKey(store: store, session: "one-million", home: false, reps: reps * 4), .atMost(16))
            add("home_ms_1m", "ms", try pageKey(store: store, session: "one-million", home: true, reps: reps * 2), .atMost(16))
        }
        if big && wanted("open_ms_sdk_200k") {
            let home = tmp + "/home-sdk"
            let file = try seedAgentSession(home: home, items: scaled(200_000))
            let (open, _) = try launch(home: home, tmp: tmp, args: ["--session", "agent", "--session-db", file],
                                       marker: "(item \(scaled(200_000) - 1))", runs: runs)
            add("open_ms_sdk_200k", "ms", open, .atMost(150))
        }
        if wanted("turn_ms_e2e_depth10") {
            for (name, depth) in [("turn_ms_e2e_depth10", 10), ("turn_ms_e2e_depth10k", scaled(10_000))] where wanted(name) {
                let home = tmp + "/home-depth-\(depth)"
                try seedChain(home: home, depth: depth)
                add(name, "ms", try turnThroughScreen(home: home, tmp: tmp, depth: depth, reps: reps), depth == 10 ? nil : .timesAtMost(1.5, "turn_ms_e2e_depth10"))
            }
        }
        for (name, n) in [("render_ms_10", 10), ("render_ms_10k", 10_000), ("render_ms_100k", 100_000)] where wanted(name) {
            add(name, "ms", render(messages: n, reps: reps * 4), n == 100_000 ? .both(.atMost(2), .timesAtMost(1.5, "render_ms_10")) : nil)
        }
        if wanted("stream_frame_ms") {
            add("stream_frame_ms", "ms", streamFrame(replyBytes: 0, reps: reps * 4))
            add("stream_frame_ms_100kb", "ms", streamFrame(replyBytes: scaled(100_000), reps: reps * 4), .timesAtMost(1.5, "stream_frame_ms"))
        }
        if wanted("offline_turn_ms_depth10") {
            for (name, depth) in [("offline_turn_ms_depth10", 10), ("offline_turn_ms_depth10k", scaled(10_000))] where wanted(name) {
                add(name, "ms", try offlineTurn(depth: depth, reps: reps * 2, tmp: tmp), depth == 10 ? nil : .timesAtMost(2, "offline_turn_ms_depth10"))
            }
        }
        if wanted("session_add_100k_ms") { add("session_add_100k_ms", "ms", try sessionAdd(reps: quick ? 2 : 5, tmp: tmp)) }
        if wanted("session_get50_ms") { add("session_get50_ms", "ms", try sessionGet(reps: reps * 4, tmp: tmp), .atMost(1)) }
        if wanted("redis_session_add_100k_ms", "redis_session_get50_ms") {
            figures += try redisFigures(reps: quick ? 2 : 5, tmp: tmp, environment: inv.environment).filter { wanted($0.name) }
        }
        if big && wanted("browser_open_ms_10k_sessions", "browser_filter_ms_10k_sessions") {
            let (open, filter) = try browser(reps: reps, tmp: tmp)
            add("browser_open_ms_10k_sessions", "ms", open)
            add("browser_filter_ms_10k_sessions", "ms", filter)
        }
        if wanted("serve_rps", "serve_p99_ms") {
            let (rps, p99) = try serve(reps: quick ? 2 : 5, tmp: tmp)
            add("serve_rps", "req/s", rps)
            add("serve_p99_ms", "ms", p99)
        }
        if wanted("serve_rps_redis", "serve_p99_ms_redis"), let (rps, p99) = try serveRedis(reps: quick ? 2 : 5, tmp: tmp, environment: inv.environment) {
            add("serve_rps_redis", "req/s", rps)
            add("serve_p99_ms_redis", "ms", p99)
        }
        if wanted("serve_p99_ms_hostile", "serve_rss_growth_mb_hostile") {
            let (p99, rss) = try serveHostile(reps: quick ? 1 : 3, tmp: tmp)
            add("serve_p99_ms_hostile", "ms", p99, .atMost(20))
            add("serve_rss_growth_mb_hostile", "MB", rss, .atMost(64))
        }
        if wanted("sse_mb_per_s") { add("sse_mb_per_s", "MB/s", try sse(reps: quick ? 2 : 5), .atLeast(100)) }
        return report(figures, json: inv.has("--json"), check: inv.has("--check"))
    }

    /// Prints the figures; with `check`, returns 1 when one misses its target.
    static func report(_ figures: [Figure], json: Bool, check: Bool) -> Int32 {
        let medians = Dictionary(figures.map { ($0.name, $0.median) }, uniquingKeysWith: { a, _ in a })
        let verdicts = figures.map { f in f.target.flatMap { $0.met(f.median, medians) } }
        if json {
            var obj: [String: JSONValue] = [:]
            for (f, ok) in zip(figures, verdicts) {
                obj[f.name] = .object(["median": .double(round3(f.median)), "min": .double(round3(f.min)), "max": .double(round3(f.max)),
                                       "unit": .string(f.unit), "target": f.target.map { .string($0.text) } ?? .null, "ok": ok.map { .bool($0) } ?? .null])
            }
            print((try? WireJSON.encodeString(JSONValue.object(obj))) ?? "{}")
        } else {
            print("figure                              median        min        max  unit   target")
            for (f, ok) in zip(figures, verdicts) {
                let cols = [f.median, f.min, f.max].map { String(format: "%10.3f", $0) }.joined(separator: " ")
                let verdict = ok.map { $0 ? "  ✓" : "  ✗ missed" } ?? ""
                print(f.name.padding(toLength: 33, withPad: " ", startingAt: 0) + " " + cols + "  " + f.unit.padding(toLength: 6, withPad: " ", startingAt: 0)
                      + " " + (f.target?.text ?? "") + verdict)
            }
            print("\(ProcessInfo.processInfo.activeProcessorCount) cores · \(buildKind) build · medians of repeated runs\(tiny ? " · TINY data (not figures)" : "")")
        }
        let missed = zip(figures, verdicts).filter { $0.1 == false }.map(\.0.name)
        if check && !missed.isEmpty {
            FileHandle.standardError.write(Data("chatbench bench: missed target: \(missed.joined(separator: ", "))\n".utf8))
            return 1
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

    // MARK: Data, through the store's API

    /// Records one completed chain turn (a user message and its reply) as a real turn would.
    static func recordTurn(_ store: WorkbenchStore, _ session: Int64, user: String, reply: String, response: String, previous: String?) throws {
        let draft = TurnRecord(sessionID: session, number: 0, mode: .chain, backend: "offline", model: "offline-model", previousResponseID: previous,
                               responseID: response, itemsSent: 1, inputItems: 1, requestBytes: 180, inputTokens: 40, cachedTokens: 0, outputTokens: 30,
                               latencyMs: 1, status: .completed, chainEvent: previous == nil ? .start : .continue, createdAt: 0)
        try store.recordTurn(draft, userItem: .userText(user), userStatus: .complete,
                             reply: .assistantMessage(id: nil, text: reply), replyStatus: .complete) { s, _, replyID in
            s.chainHead = response
            if let replyID { s.chainCovers = replyID }
        }
    }

    /// A session of `messages` messages, recorded turn by turn; it becomes the session to open.
    static func seedSession(home: String, name: String, messages: Int) throws {
        try Paths.ensureDirectory(home)
        let store = try WorkbenchStore(path: home + "/workbench.sqlite")
        let s = try store.createSession(name: name, mode: .chain, backend: "offline", model: "offline-model")
        var done = 0
        while done < messages / 2 {
            // Commit in batches, so the WAL stays small.
            try store.db.transaction {
                for i in done..<Swift.min(messages / 2, done + 50_000) {
                    try recordTurn(store, s.id, user: "Message \(i): I'm planning a trip to Japan, what should I pack for \(i % 7 + 1) days? 漢字 😀",
                                   reply: "For your trip to Japan: check the weather there for your dates, then pack layers, comfortable shoes, chargers and your travel documents. (\(i))",
                                   response: "resp_\(i)", previous: i == 0 ? nil : "resp_\(i - 1)")
                }
            }
            done = Swift.min(messages / 2, done + 50_000)
        }
        try store.setSetting("last_session", name)
    }

    /// An Agents SDK session file of `items` items (as an agent writes them); returns its path.
    static func seedAgentSession(home: String, items: Int) throws -> String {
        try Paths.ensureDirectory(home)
        let file = home + "/agent.db"
        let agent = try SQLiteAgentSession.openExternal(path: file, sessionID: "agent")
        var done = 0
        while done < items {
            let batch = (done..<Swift.min(items, done + 20_000)).map { i in
                i % 2 == 0 ? Item.userText("What should I pack? (item \(i))") : Item.assistantMessage(id: "msg_\(i)", text: "Layers and good shoes. (item \(i))")
            }
            try agent.addItems(batch)
            done += batch.count
        }
        return file
    }

    /// A chain `depth` turns deep on the offline backend, recorded through the runner, so the screen's
    /// next turn chains from a real response at that depth.
    static func seedChain(home: String, depth: Int) throws {
        let paths = Paths(dataDirectory: home, configDirectory: home + "/config")
        let bench = try Workbench(paths: paths, backendName: "offline")
        _ = try bench.openSession(name: "deep", options: .init(mode: .chain))
        let runner = Runner(store: bench.store, backend: bench.backend, streaming: false)
        let sem = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: Error?
        Task {
            do {
                for i in 0..<depth {
                    _ = try await runner.send(i == 0 ? "My name is Priya and I'm moving to Lisbon." : "Turn \(i): I like number \(i % 10).", in: "deep")
                }
            } catch { failure = error }
            sem.signal()
        }
        sem.wait()
        if let failure { throw failure }
    }
}
