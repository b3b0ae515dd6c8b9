import Foundation

/// One message of a comparison script, with the text a correct reply must contain (recall questions).
public struct ScriptLine: Sendable, Equatable {
    public var text: String
    public var expect: String?
    public init(_ text: String, expect: String? = nil) {
        self.text = text
        self.expect = expect
    }

    /// States facts early and asks about them late, with filler in between.
    public static let builtIn: [ScriptLine] = [
        ScriptLine("Hi! My name is Priya and I'm moving to Lisbon."),
        ScriptLine("I work as a nurse."),
        ScriptLine("I have a cat named Miso."),
        ScriptLine("My favourite food is pastel de nata."),
        ScriptLine("I'm 34 years old."),
        ScriptLine("The weather has been lovely this week."),
        ScriptLine("I have been reading a lot of history books lately."),
        ScriptLine("What do I do for work?", expect: "nurse"),
        ScriptLine("Where am I moving?", expect: "Lisbon"),
        ScriptLine("What's my cat's name?", expect: "Miso"),
        ScriptLine("What's my name?", expect: "Priya"),
        ScriptLine("What's my favourite food?", expect: "pastel de nata"),
        episodicQuestion,
    ]

    /// The built-in script's question about its earlier session.
    public static let episodicQuestion = ScriptLine("What did I say about Kiwi?", expect: "parrot")

    /// What the built-in script's earlier session said (only episodic memory brings it back).
    public static let earlierSession: [ScriptLine] = [
        ScriptLine("I adopted a parrot named Kiwi last spring."),
        ScriptLine("The weather was grey that week."),
    ]

    /// One message per line; `message => expected` adds a recall check. Blank lines and `#` comments skip.
    public static func parse(_ text: String) -> [ScriptLine] {
        text.split(whereSeparator: \.isNewline).compactMap { raw in
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { return nil }
            if let r = line.range(of: " => ") {
                return ScriptLine(String(line[..<r.lowerBound]), expect: String(line[r.upperBound...]).trimmingCharacters(in: .whitespaces))
            }
            return ScriptLine(line)
        }
    }

    /// Whether `reply` answers with `expected`: the expected words appear as whole words (case
    /// ignored), so "4" is not found in "14 earlier messages" nor "Ana" in "Banana".
    public static func answers(_ reply: String, expected: String) -> Bool {
        let want = words(expected)
        guard !want.isEmpty else { return false }
        let have = words(reply)
        guard have.count >= want.count else { return false }
        return (0...(have.count - want.count)).contains { Array(have[$0..<($0 + want.count)]) == want }
    }

    /// Lower-cased runs of letters and digits.
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    /// The script repeated or cut to `turns` lines.
    public static func fit(_ script: [ScriptLine], turns: Int?) -> [ScriptLine] {
        guard let turns, !script.isEmpty else { return script }
        return (0..<turns).map { script[$0 % script.count] }
    }

    /// The long script (`--script builtin:long`): the built-in script's facts in the first turns,
    /// then `turns` − 10 turns of varied chatter that states nothing about the user (about 60 tokens
    /// each, so contexts pass the prompt cache's 1,024-token floor and a compaction threshold), then
    /// the five recall questions. Deterministic, so runs compare.
    public static func long(turns: Int) -> [ScriptLine] {
        let facts = Array(builtIn.prefix(5))
        let questions = builtIn.filter { $0.expect != nil && $0 != episodicQuestion }   // no earlier session here
        let topics = ["the old harbour", "a train timetable", "the city library", "a recipe for soup", "the history of maps",
                      "a walk along the river", "the night market", "an exhibition of clocks", "the rain last Tuesday", "a chess opening"]
        let details = ["with long queues and patient people", "that changed twice this month", "full of quiet reading rooms",
                       "that needs more salt than expected", "drawn by sailors from memory", "under bright autumn trees",
                       "where the lanterns come on at dusk", "each one ticking a little out of step", "that flooded the lower streets",
                       "that nobody in the club could remember"]
        let chatter = max(0, turns - facts.count - questions.count)
        let middle = (0..<chatter).map { i in
            ScriptLine("Some chatter, part \(i + 1): today I thought about \(topics[i % topics.count]) \(details[(i / topics.count) % details.count]). "
                       + "It reminded me of \(topics[(i * 7 + 3) % topics.count]) \(details[(i * 3 + 1) % details.count]). Nothing else to add.")
        }
        return Array((facts + middle + questions).prefix(max(turns, 1)))
    }
}

/// A column of a comparison: a memory mode (and client policy).
public struct CompareColumn: Sendable, Equatable {
    public var mode: MemoryMode
    public var policy: String
    /// The server modes' `ServerPolicy` ("none", "compact:N", "truncate:auto", both with "+").
    public var serverPolicy: String
    public init(mode: MemoryMode, policy: String = "all", serverPolicy: String = "none") {
        self.mode = mode
        self.policy = policy
        self.serverPolicy = mode.isServerManaged ? serverPolicy : "none"
    }
    public var label: String {
        if !mode.isServerManaged { return policy != "all" ? "\(mode.rawValue)[\(policy)]" : mode.rawValue }
        return serverPolicy == "none" ? mode.rawValue : "\(mode.rawValue)+\(serverPolicy)"
    }

    /// `chain,chain+compact:20000,client,client:window:4,hybrid` (a bare `client` takes `defaultPolicy`).
    public static func parseList(_ text: String, defaultPolicy: String) throws -> [CompareColumn] {
        let cols = try text.split(separator: ",").map { spec -> CompareColumn in
            let plus = spec.split(separator: "+", maxSplits: 1).map(String.init)
            let bits = plus[0].split(separator: ":", maxSplits: 1).map(String.init)
            guard let mode = MemoryMode(rawValue: bits[0]) else {
                throw ConfigurationError("unknown mode '\(OutsideText.line(bits[0]))' in --modes (use chain, conversation, client, hybrid; client:POLICY for a policy; MODE+compact:N or MODE+truncate:auto for a server policy)")
            }
            if plus.count == 2 && !mode.isServerManaged {
                throw ConfigurationError("'\(OutsideText.line(String(spec)))': a server policy applies to chain, conversation and hybrid, not \(mode.rawValue)")
            }
            let policy = bits.count == 2 ? bits[1] : (mode == .client ? defaultPolicy : "all")
            if bits.count == 2 && mode != .client && mode != .layered {
                throw ConfigurationError("'\(OutsideText.line(String(spec)))': a memory policy applies to client and layered, not \(mode.rawValue)")
            }
            let parsedPolicy = try MemoryPolicy(parsing: policy)
            if mode == .layered { try Workbench.checkLayeredPolicy(parsedPolicy) }
            let server = try ServerPolicy(parsing: plus.count == 2 ? plus[1] : "none")
            return CompareColumn(mode: mode, policy: policy, serverPolicy: server.description)
        }
        guard (1...4).contains(cols.count) else { throw ConfigurationError("--modes takes one to four modes") }
        // Each column is its own session and its rows are keyed by the label: a label twice would mix them.
        var seen = Set<String>()
        for c in cols where !seen.insert(c.label).inserted {
            throw ConfigurationError("--modes lists \(c.label) twice; each mode can be compared once")
        }
        return cols
    }
}

/// One turn of one column.
public struct CompareTurn: Codable, Sendable, Equatable {
    public var mode: String
    public var turn: Int
    public var request_bytes: Int
    public var items_sent: Int
    public var input_tokens: Int
    public var cached_tokens: Int
    public var output_tokens: Int
    /// The turn's overhead requests (a summarizer, the memory updater): billed apart from the turn's
    /// own tokens above, but part of its cost.
    public var overhead_input_tokens = 0
    public var overhead_cached_tokens = 0
    public var overhead_output_tokens = 0
    public var latency_ms: Double
    /// The turn's estimated cost at the price table's prices (nil: not priced, or no price for the model).
    public var cost_usd: Double?
    public var reply: String
    public var expected: String?
    public var correct: Bool?
    public var error: String?

    public init(mode: String, turn: Int, request_bytes: Int = 0, items_sent: Int = 0, input_tokens: Int = 0, cached_tokens: Int = 0,
                output_tokens: Int = 0, latency_ms: Double = 0, reply: String = "", expected: String? = nil, correct: Bool? = nil, error: String? = nil) {
        self.mode = mode
        self.turn = turn
        self.request_bytes = request_bytes
        self.items_sent = items_sent
        self.input_tokens = input_tokens
        self.cached_tokens = cached_tokens
        self.output_tokens = output_tokens
        self.latency_ms = latency_ms
        self.reply = reply
        self.expected = expected
        self.correct = correct
        self.error = error
    }
}

/// Per-column totals and the comparison against the first column.
public struct CompareSummary: Codable, Sendable, Equatable {
    public struct Column: Codable, Sendable, Equatable {
        public var mode: String
        public var session: String
        public var turns: Int
        public var total_request_bytes: Int
        public var first_request_bytes: Int
        public var last_request_bytes: Int
        public var total_input_tokens: Int
        public var total_cached_tokens: Int
        public var total_output_tokens: Int
        /// The overhead requests' input and output tokens (in the cost, not in the totals above).
        public var total_overhead_input_tokens = 0
        public var total_overhead_output_tokens = 0
        public var mean_latency_ms: Double
        public var recall_correct: Int
        public var recall_asked: Int
        public var failed_turns: Int
        /// Bytes and billed input tokens relative to the first column (1 for the first), over the
        /// turns both columns answered (a column added later is compared on its own turns only).
        public var bytes_ratio: Double
        public var input_tokens_ratio: Double
        /// Cached input tokens over input tokens (0 when none were billed).
        public var cache_hit_rate: Double
        /// The column's estimated cost: its total tokens priced once as `CompareSummary.price_model`
        /// (nil when not priced or the table has no price for it).
        public var total_cost_usd: Double?
    }
    public var columns: [Column]
    public var lines: [String]
    /// The table entry the costs are estimated with, the date of its prices, and a note that says so
    /// ("est., prices of DATE for MODEL", or "no price for MODEL in the table").
    public var price_model: String?
    public var prices_taken: String?
    public var cost_note: String?
    /// The priced columns from cheapest to dearest, and the cheapest one that answered every recall
    /// question and failed no turn (nil: none did, or nothing was priced).
    public var cost_ranking: [String] = []
    public var cheapest_full_recall: String?

    /// A latency in milliseconds to 3 decimals (a mean of such values is not: 1.3117250000000005).
    public static func roundedMs(_ ms: Double) -> Double { (ms * 1000).rounded() / 1000 }

    /// Builds the summary from the turns (pure arithmetic, so tests can check it by hand).
    /// `pricing` and `model` (the model the comparison ran on) add the estimated costs.
    public static func of(_ turns: [CompareTurn], sessions: [String: String], pricing: Pricing? = nil, model: String = "") -> CompareSummary {
        var order: [String] = []
        for t in turns where !order.contains(t.mode) { order.append(t.mode) }
        var columns: [Column] = order.map { mode in
            let ts = turns.filter { $0.mode == mode }.sorted { $0.turn < $1.turn }
            let asked = ts.filter { $0.expected != nil }
            return Column(mode: mode, session: sessions[mode] ?? "", turns: ts.count,
                          total_request_bytes: ts.saturatingSum { $0.request_bytes },
                          first_request_bytes: ts.first?.request_bytes ?? 0, last_request_bytes: ts.last?.request_bytes ?? 0,
                          total_input_tokens: ts.saturatingSum { $0.input_tokens }, total_cached_tokens: ts.saturatingSum { $0.cached_tokens },
                          total_output_tokens: ts.saturatingSum { $0.output_tokens },
                          mean_latency_ms: ts.isEmpty ? 0 : roundedMs(ts.reduce(0) { $0 + $1.latency_ms } / Double(ts.count)),
                          recall_correct: asked.filter { $0.correct == true }.count, recall_asked: asked.count,
                          failed_turns: ts.filter { $0.error != nil }.count, bytes_ratio: 1, input_tokens_ratio: 1,
                          cache_hit_rate: 0, total_cost_usd: nil)
        }
        var costs: [String: CostEstimate] = [:]
        for i in columns.indices {
            let ts = turns.filter { $0.mode == columns[i].mode }
            columns[i].total_overhead_input_tokens = ts.saturatingSum { $0.overhead_input_tokens }
            columns[i].total_overhead_output_tokens = ts.saturatingSum { $0.overhead_output_tokens }
            let overheadCached = ts.saturatingSum { $0.overhead_cached_tokens }
            let c = columns[i]
            columns[i].cache_hit_rate = c.total_input_tokens > 0 ? Double(min(c.total_cached_tokens, c.total_input_tokens)) / Double(c.total_input_tokens) : 0
            if let pricing {
                let e = pricing.estimate(model: model, inputTokens: c.total_input_tokens.saturatingAdd(c.total_overhead_input_tokens),
                                         cachedTokens: c.total_cached_tokens.saturatingAdd(overheadCached),
                                         outputTokens: c.total_output_tokens.saturatingAdd(c.total_overhead_output_tokens))
                costs[c.mode] = e
                columns[i].total_cost_usd = e.dollars
            }
        }
        // What every column's cost is: the same entry and date for all (one model), or why there is none.
        let basis = pricing?.estimate(model: model, inputTokens: 0, cachedTokens: 0, outputTokens: 0)
        let note = basis.map { b in b.priceModel.map { "est., prices of \(b.taken ?? "unknown date") for \(OutsideText.line($0))" } ?? b.label }
        guard let base = columns.first else { return CompareSummary(columns: [], lines: []) }
        let baseTurns = turns.filter { $0.mode == base.mode }
        for i in columns.indices {
            let mine = turns.filter { $0.mode == columns[i].mode }
            let shared = Set(mine.map(\.turn)).intersection(baseTurns.map(\.turn))
            func total(_ ts: [CompareTurn], _ key: (CompareTurn) -> Int) -> Int { ts.filter { shared.contains($0.turn) }.reduce(0) { $0 + key($1) } }
            columns[i].bytes_ratio = ratio(total(mine, \.request_bytes), total(baseTurns, \.request_bytes))
            columns[i].input_tokens_ratio = ratio(total(mine, \.input_tokens), total(baseTurns, \.input_tokens))
        }
        var lines: [String] = []
        for c in columns.dropFirst() {
            let sameTurns = c.turns == base.turns ? "" : " (on the \(c.turns) turn\(c.turns == 1 ? "" : "s") it answered)"
            lines.append("\(c.mode) sent \(fmt(c.bytes_ratio))× the bytes of \(base.mode); \(tokensPhrase(c.input_tokens_ratio))\(sameTurns)")
        }
        for c in columns {
            let bytes = turns.filter { $0.mode == c.mode }.sorted { $0.turn < $1.turn }.map(\.request_bytes)
            // The numbers the shape is judged on: turn 1 apart (it carries no id yet), then the range after it.
            let later = bytes.count > 1 ? "; \(bytes.dropFirst().min()!)–\(bytes.dropFirst().max()!) B on turns 2–\(bytes.count)" : ""
            var line = "\(c.mode): request bytes \(shape(bytes)) (\(c.first_request_bytes) B on turn 1\(later); \(c.total_request_bytes) B in all); billed \(c.total_input_tokens) input tokens"
            if c.recall_asked > 0 { line += "; recall \(c.recall_correct)/\(c.recall_asked) right" }
            if c.failed_turns > 0 { line += "; \(c.failed_turns) turns failed" }
            line += "; cache hit \(pct(c.cache_hit_rate))"
            if let e = costs[c.mode] { line += "; \(e.label)" }
            lines.append(line)
        }
        // Only columns that answered every turn are ranked: a column that failed turns was not billed for them.
        let ranked = columns.filter { $0.total_cost_usd != nil && $0.failed_turns == 0 }
            .sorted { ($0.total_cost_usd ?? 0, $0.mode) < ($1.total_cost_usd ?? 0, $1.mode) }
        let cheapest = ranked.first { $0.recall_asked > 0 && $0.recall_correct == $0.recall_asked }
        let unranked = columns.filter { $0.failed_turns > 0 }.map { "\($0.mode) (\($0.failed_turns) failed turns)" }
        if ranked.count > 1 || !unranked.isEmpty {
            // Columns whose costs print the same are joined by "=", not ranked by digits not shown.
            var ranking = ""
            for (i, c) in ranked.enumerated() {
                let cost = CostEstimate.format(c.total_cost_usd ?? 0)
                if i > 0 { ranking += cost == CostEstimate.format(ranked[i - 1].total_cost_usd ?? 0) ? " = " : " < " }
                ranking += "\(c.mode) \(cost)"
            }
            lines.append("cost ranking: " + ranking + (unranked.isEmpty ? "" : "; not ranked: " + unranked.joined(separator: ", ")))
            lines.append(cheapest.map { "cheapest that recalls everything: \($0.mode) (\(pct($0.cache_hit_rate)) of its input from the cache)" }
                         ?? (columns.allSatisfy { $0.recall_asked == 0 } ? "no recall questions in these turns, so recall was not compared"
                                                                         : "no column recalled everything"))
        }
        var summary = CompareSummary(columns: columns, lines: lines, price_model: basis?.priceModel, prices_taken: basis?.taken, cost_note: note)
        summary.cost_ranking = ranked.map(\.mode)
        summary.cheapest_full_recall = cheapest?.mode
        return summary
    }

    /// How request bytes behave after the first turn (which carries no id yet): "flat" when they stay
    /// within ±25 %, "growing about linearly" when they rise with the turn number (correlation ≥ 0.9),
    /// else "bounded" (a window or budget caps them).
    public static func shape(_ bytes: [Int]) -> String {
        let tail = bytes.count > 2 ? Array(bytes.dropFirst()) : bytes
        guard let lo = tail.min(), let hi = tail.max(), lo > 0 else { return "flat" }
        if Double(hi) / Double(lo) < 1.5 { return "flat" }
        let n = Double(tail.count)
        let xs = (0..<tail.count).map(Double.init), ys = tail.map(Double.init)
        let mx = xs.reduce(0, +) / n, my = ys.reduce(0, +) / n
        let cov = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let sx = sqrt(xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }), sy = sqrt(ys.reduce(0) { $0 + ($1 - my) * ($1 - my) })
        let r = sx == 0 || sy == 0 ? 0 : cov / (sx * sy)
        return r >= 0.9 ? "growing about linearly" : "bounded"
    }

    /// A share as a whole percentage: "45%".
    public static func pct(_ v: Double) -> String { v.isFinite ? "\(Int((v * 100).rounded()))%" : "?" }

    /// The turns with their estimated costs, each priced as `model` (as its column's total is).
    public static func priced(_ turns: [CompareTurn], pricing: Pricing, model: String) -> [CompareTurn] {
        turns.map { t in
            var t = t
            if t.error == nil {
                t.cost_usd = pricing.estimate(model: model, inputTokens: t.input_tokens.saturatingAdd(t.overhead_input_tokens),
                                              cachedTokens: t.cached_tokens.saturatingAdd(t.overhead_cached_tokens),
                                              outputTokens: t.output_tokens.saturatingAdd(t.overhead_output_tokens)).dollars
            }
            return t
        }
    }

    static func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? (a == 0 ? 1 : .infinity) : Double(a) / Double(b) }
    static func fmt(_ v: Double) -> String { v.isFinite ? String(format: "%.1f", v) : "∞" }

    /// Billed input tokens against the first column's, in words that say which way: "billed input
    /// tokens equal", "billed 3% more input tokens", "billed 89% fewer input tokens".
    static func tokensPhrase(_ ratio: Double) -> String {
        guard ratio.isFinite else { return "billed input tokens where the first column billed none" }
        let pct = Int((abs(ratio - 1) * 100).rounded())
        if pct == 0 { return "billed input tokens equal" }
        return "billed \(pct)% \(ratio > 1 ? "more" : "fewer") input tokens"
    }
}

/// Runs the same messages through several memory modes, each in its own (saved) session.
public final class Comparison: @unchecked Sendable {
    public let store: WorkbenchStore
    public let backend: ResponsesBackend
    public let columns: [CompareColumn]
    public private(set) var sessions: [String: String] = [:]
    /// Each column's earlier session ("an earlier session", for episodic memory), and their script.
    public private(set) var earlierSessions: [String: String] = [:]
    let earlier: [ScriptLine]

    /// Each column is its own user: its session has a long-term memory profile of its own (named like
    /// the session), so no column reads what another wrote (facts, or its messages as episodes), and
    /// nothing reaches the user's own profiles. `earlier`: messages sent first, in a chain session of
    /// each column's profile, before any turn (they are not table rows): what layered mode can
    /// retrieve as episodes.
    public init(store: WorkbenchStore, backend: ResponsesBackend, columns: [CompareColumn], prefix: String, earlier: [ScriptLine] = []) throws {
        self.store = store
        self.backend = backend
        self.columns = columns
        self.earlier = earlier
        for c in columns {
            let name = try Self.makeSession(c, prefix: prefix, store: store, backend: backend.info)
            sessions[c.label] = name
            if !earlier.isEmpty {
                earlierSessions[c.label] = try Self.makeSession(CompareColumn(mode: .chain), prefix: name + "-earlier", store: store,
                                                                backend: backend.info, profile: name)
            }
        }
    }

    /// A new session for a column, named PREFIX-LABEL (numbered when taken), with the profile
    /// `profile` (nil: a profile of its own, named like it); returns its name.
    public static func makeSession(_ c: CompareColumn, prefix: String, store: WorkbenchStore, backend: BackendInfo,
                                   profile: String? = nil) throws -> String {
        var name = "\(prefix)-\(c.label)"
        var n = 2
        while try store.session(named: name) != nil { name = "\(prefix)-\(c.label)-\(n)"; n += 1 }
        var s = try store.createSession(name: name, mode: c.mode, backend: backend.name, model: backend.defaultModel, policy: c.policy,
                                        profile: profile ?? name)
        s.policy = c.policy
        s.serverPolicy = c.serverPolicy
        try store.save(s)
        return name
    }

    /// Sends `text` in one column's session; the outcome, failed or not, becomes a table row.
    public static func row(_ runner: Runner, _ text: String, session: String, label: String, number: Int, expect: String?,
                           onDelta: @escaping @Sendable (String) -> Void = { _ in }) async -> CompareTurn {
        var t = CompareTurn(mode: label, turn: number, expected: expect)
        do {
            let r = try await runner.send(text, in: session, onDelta: onDelta)
            t.request_bytes = r.turn.requestBytes
            t.items_sent = r.turn.itemsSent
            t.input_tokens = r.turn.inputTokens ?? 0
            t.cached_tokens = r.turn.cachedTokens ?? 0
            t.output_tokens = r.turn.outputTokens ?? 0
            let o = r.turn.overheadTotals
            (t.overhead_input_tokens, t.overhead_cached_tokens, t.overhead_output_tokens) = (o.input, o.cached, o.output)
            t.latency_ms = CompareSummary.roundedMs(r.turn.latencyMs ?? 0)
            t.reply = r.reply
        } catch let f as TurnFailure {
            t.request_bytes = f.turn.requestBytes
            t.items_sent = f.turn.itemsSent
            t.error = f.underlying
        } catch is CancellationError {
            t.error = "interrupted"
        } catch {
            t.error = "\(error)"
        }
        if let expect { t.correct = t.error == nil && ScriptLine.answers(t.reply, expected: expect) }
        return t
    }

    /// Sends one message to every column (concurrently); a failing column does not stop the others.
    public func turn(_ line: ScriptLine, number: Int) async -> [CompareTurn] {
        await withTaskGroup(of: (Int, CompareTurn).self) { group in
            for (i, c) in columns.enumerated() {
                let name = sessions[c.label] ?? ""
                let runner = Runner(store: store, backend: backend, streaming: false)
                runner.cacheKeyPerSession = true
                group.addTask {
                    (i, await Self.row(runner, line.text, session: name, label: c.label, number: number, expect: line.expect))
                }
            }
            var out: [(Int, CompareTurn)] = []
            for await r in group { out.append(r) }
            return out.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    public func run(_ script: [ScriptLine], onTurn: ([CompareTurn]) -> Void = { _ in }) async -> [CompareTurn] {
        let runner = Runner(store: store, backend: backend, streaming: false)
        for session in earlierSessions.values.sorted() {
            for line in earlier { _ = try? await runner.send(line.text, in: session) }
        }
        var all: [CompareTurn] = []
        for (i, line) in script.enumerated() {
            let row = await turn(line, number: i + 1)
            onTurn(row)
            all += row
        }
        return all
    }
}

/// The comparison as table, Markdown, CSV or JSON.
public enum CompareReport {
    public static let formats = ["table", "md", "csv", "json"]

    public static func render(_ turns: [CompareTurn], _ summary: CompareSummary, format: String) throws -> String {
        switch format {
        case "json":
            struct Doc: Encodable { var turns: [CompareTurn]; var summary: CompareSummary }
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            return String(decoding: try e.encode(Doc(turns: turns, summary: summary)), as: UTF8.self) + "\n"
        case "csv":
            // One table, so the totals are rows too: turn "total", with the cache hit rate in its own column.
            var out = "mode,turn,request_bytes,items_sent,input_tokens,cached_tokens,output_tokens,latency_ms,cost_usd,cache_hit_rate,correct,reply\n"
            for t in turns {
                let correct = t.correct.map { $0 ? "true" : "false" } ?? ""
                out += "\(csv(t.mode)),\(t.turn),\(t.request_bytes),\(t.items_sent),\(t.input_tokens),\(t.cached_tokens),\(t.output_tokens),\(CompareSummary.roundedMs(t.latency_ms)),\(t.cost_usd.map { "\($0)" } ?? ""),,\(correct),\(csv(t.error.map { "ERROR: \($0)" } ?? t.reply))\n"
            }
            for c in summary.columns {
                out += "\(csv(c.mode)),total,\(c.total_request_bytes),,\(c.total_input_tokens),\(c.total_cached_tokens),\(c.total_output_tokens),\(c.mean_latency_ms),\(c.total_cost_usd.map { "\($0)" } ?? ""),\(c.cache_hit_rate),,\(csv(summary.cost_note ?? ""))\n"
            }
            return out
        case "md":
            var out = "| mode | turn | request bytes | items sent | input tokens (cached) | output tokens | latency ms | est. cost | recall |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
            for t in turns {
                out += "| \(t.mode) | \(t.turn) | \(t.request_bytes) | \(t.items_sent) | \(t.input_tokens) (\(t.cached_tokens)) | \(t.output_tokens) | \(String(format: "%.1f", t.latency_ms)) | \(dollars(t.cost_usd)) | \(recall(t)) |\n"
            }
            for c in summary.columns {
                out += "| **\(c.mode)** | total | \(c.total_request_bytes) | | \(c.total_input_tokens) (\(c.total_cached_tokens)) | \(c.total_output_tokens) | \(String(format: "%.1f", c.mean_latency_ms)) | \(dollars(c.total_cost_usd)) | cache hit \(CompareSummary.pct(c.cache_hit_rate)) |\n"
            }
            out += "\n" + summary.lines.map { "- \($0)" }.joined(separator: "\n") + "\n"
            return out
        case "table":
            // The mode column is as wide as the longest label: a cut label could name another policy.
            let modeW = max(16, turns.map(\.mode.count).max() ?? 0)
            var out = "mode".padding(toLength: modeW + 2, withPad: " ", startingAt: 0) + "turn  req bytes  items  in tok (cached)  out tok  latency ms   est. cost  recall\n"
            func money(_ d: Double?) -> String { let m = dollars(d); return String(repeating: " ", count: max(0, 11 - m.count)) + m }
            for t in turns {
                out += t.mode.padding(toLength: modeW, withPad: " ", startingAt: 0)
                    + String(format: "%6d %10d %6d %9d (%4d) %8d %11.1f ", t.turn, t.request_bytes, t.items_sent, t.input_tokens, t.cached_tokens, t.output_tokens, t.latency_ms)
                    + money(t.cost_usd) + "  " + recall(t) + "\n"
            }
            for c in summary.columns {
                out += c.mode.padding(toLength: modeW, withPad: " ", startingAt: 0)
                    + " total" + String(format: " %10d", c.total_request_bytes) + String(repeating: " ", count: 7)
                    + String(format: " %9d (%4d) %8d %11.1f ", c.total_input_tokens, c.total_cached_tokens, c.total_output_tokens, c.mean_latency_ms)
                    + money(c.total_cost_usd) + "  cache hit \(CompareSummary.pct(c.cache_hit_rate))\n"
            }
            out += "\n" + summary.lines.joined(separator: "\n") + "\n"
            return out
        default:
            throw ConfigurationError("unknown format '\(format)'; use \(formats.joined(separator: ", "))")
        }
    }

    /// "$0.000041" for a priced figure, "—" without one.
    static func dollars(_ d: Double?) -> String { d.map(CostEstimate.format) ?? "—" }

    static func recall(_ t: CompareTurn) -> String {
        if let e = t.error { return "failed: \(e.prefix(40))" }
        guard let expect = t.expected else { return "" }
        return t.correct == true ? "✓ \(expect)" : "✗ missed \(expect)"
    }

    static func csv(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
