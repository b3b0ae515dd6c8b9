import Foundation
import Testing
@testable import ChatEngine

@Suite struct CompareTests {
    func t(_ mode: String, _ n: Int, bytes: Int, input: Int, expect: String? = nil, correct: Bool? = nil, error: String? = nil) -> CompareTurn {
        CompareTurn(mode: mode, turn: n, request_bytes: bytes, items_sent: 1, input_tokens: input, cached_tokens: 0, output_tokens: 10,
                    latency_ms: Double(n), reply: "reply, with \"quotes\"\nand a newline", expected: expect, correct: correct, error: error)
    }

    var sample: [CompareTurn] {
        [t("chain", 1, bytes: 100, input: 10), t("client", 1, bytes: 100, input: 10),
         t("chain", 2, bytes: 150, input: 30), t("client", 2, bytes: 400, input: 30),
         t("chain", 3, bytes: 150, input: 50, expect: "Lisbon", correct: true), t("client", 3, bytes: 700, input: 51, expect: "Lisbon", correct: false)]
    }

    @Test func summaryArithmetic() {
        let s = CompareSummary.of(sample, sessions: ["chain": "c-chain", "client": "c-client"])
        #expect(s.columns.map(\.mode) == ["chain", "client"])
        let chain = s.columns[0], client = s.columns[1]
        #expect(chain.total_request_bytes == 400 && client.total_request_bytes == 1200)
        #expect(chain.total_input_tokens == 90 && client.total_input_tokens == 91)
        #expect(client.bytes_ratio == 3 && chain.bytes_ratio == 1)
        #expect(abs(client.input_tokens_ratio - 91.0 / 90.0) < 1e-9)
        #expect(chain.mean_latency_ms == 2 && chain.first_request_bytes == 100 && chain.last_request_bytes == 150)
        #expect(chain.recall_correct == 1 && chain.recall_asked == 1 && client.recall_correct == 0)
        #expect(client.session == "c-client")
        #expect(s.lines[0] == "client sent 3.0× the bytes of chain; billed 1% more input tokens")
        #expect(s.lines[1].hasPrefix("chain: request bytes flat") && s.lines[1].contains("recall 1/1 right"))
        #expect(s.lines[2].hasPrefix("client: request bytes growing about linearly"))
        #expect(CompareSummary.shape([10, 100, 100, 110]) == "flat")
        #expect(CompareSummary.shape([10, 100, 400, 300, 400, 350, 400]) == "bounded")
        #expect(CompareSummary.tokensPhrase(0.11) == "billed 89% fewer input tokens")
        #expect(CompareSummary.tokensPhrase(1.001) == "billed input tokens equal")
        #expect(CompareSummary.tokensPhrase(2.5) == "billed 150% more input tokens")
    }

    /// A column added on turn 6 is compared with the first column's turn 6, not with its six turns.
    @Test func aLateColumnIsComparedOnTheTurnsItAnswered() {
        var turns = (1...6).map { t("chain", $0, bytes: 100, input: 10) }
        turns.append(t("client", 6, bytes: 300, input: 20))
        let s = CompareSummary.of(turns, sessions: [:])
        #expect(s.columns[1].bytes_ratio == 3 && s.columns[1].input_tokens_ratio == 2)
        #expect(s.lines[0] == "client sent 3.0× the bytes of chain; billed 100% more input tokens (on the 1 turn it answered)")
    }

    @Test func recallMatchesWholeWords() {
        #expect(!ScriptLine.answers("I can see 14 earlier messages.", expected: "4"))
        #expect(ScriptLine.answers("You are 4 years old.", expected: "4"))
        #expect(!ScriptLine.answers("Banana bread.", expected: "Ana"))
        #expect(ScriptLine.answers("Your favourite food is Pastel de Nata!", expected: "pastel de nata"))
        #expect(!ScriptLine.answers("pastel, then nata", expected: "pastel de nata"))
    }

    @Test func aRecallCheckOnTheRealRunnerIsWholeWord() async throws {
        let store = try WorkbenchStore.inMemory()
        let backend = try OfflineBackend(inMemoryWith: OfflineModel())
        let comparison = try Comparison(store: store, backend: backend, columns: [CompareColumn(mode: .client, policy: "window:14")], prefix: "w")
        // The age falls out of the window; the reply says it can see "14 earlier messages".
        for (i, text) in (["I'm 4 years old."] + (1...9).map { "The weather was nice on day \($0)." }).enumerated() {
            _ = await comparison.turn(ScriptLine(text), number: i + 1)
        }
        let row = await comparison.turn(ScriptLine("How old am I?", expect: "4"), number: 11)
        #expect(row[0].reply.contains("14") && row[0].correct == false, "\(row[0].reply)")
    }

    @Test func theTableNeverCutsAModeLabel() throws {
        let turns = [t("chain", 1, bytes: 100, input: 10), t("client[budget:200]", 1, bytes: 100, input: 10)]
        let table = try CompareReport.render(turns, CompareSummary.of(turns, sessions: [:]), format: "table")
        #expect(table.contains("client[budget:200]     1"))
        // The turn numbers stay under the "turn" heading.
        let lines = table.split(separator: "\n").map(String.init)
        let end = try #require(lines[0].range(of: "turn")).upperBound.utf16Offset(in: lines[0])
        for row in lines[1...2] { #expect(row.prefix(end).hasSuffix(" 1"), "\(row)") }
    }

    @Test func csvParsesBackToTheSameNumbers() throws {
        let csv = try CompareReport.render(sample, CompareSummary.of(sample, sessions: [:]), format: "csv")
        let rows = parseCSV(csv)
        #expect(rows[0] == ["mode", "turn", "request_bytes", "items_sent", "input_tokens", "cached_tokens", "output_tokens", "latency_ms", "cost_usd", "cache_hit_rate", "correct", "reply"])
        #expect(rows.count == sample.count + 1 + 2)   // a total row per mode
        for (row, turn) in zip(rows.dropFirst(), sample) {
            #expect(row[0] == turn.mode && Int(row[1]) == turn.turn && Int(row[2]) == turn.request_bytes && Int(row[4]) == turn.input_tokens)
            #expect(Double(row[7]) == turn.latency_ms && row[11] == turn.reply)
            #expect(row[10] == (turn.correct.map { $0 ? "true" : "false" } ?? ""))
        }
        #expect(rows.suffix(2).map { [$0[0], $0[1], $0[4]] } == [["chain", "total", "90"], ["client", "total", "91"]])
    }

    @Test func latenciesAreRoundedToThreeDecimalsInEveryFormat() throws {
        var turns = [t("chain", 1, bytes: 100, input: 10), t("chain", 2, bytes: 100, input: 10), t("chain", 3, bytes: 100, input: 10)]
        for (i, ms) in [0.1, 0.2, 0.4].enumerated() { turns[i].latency_ms = ms }   // mean 0.23333333333333336 unrounded
        let summary = CompareSummary.of(turns, sessions: [:])
        #expect(summary.columns[0].mean_latency_ms == 0.233)
        let csv = parseCSV(try CompareReport.render(turns, summary, format: "csv"))
        #expect(csv.last?[1] == "total" && csv.last?[7] == "0.233", "\(csv.last ?? [])")
        for row in csv.dropFirst() { #expect((row[7].split(separator: ".").last?.count ?? 0) <= 3, "\(row[7])") }
        let json = try CompareReport.render(turns, summary, format: "json")
        #expect(json.contains("\"mean_latency_ms\" : 0.233") && !json.contains("0.2333"), "\(json)")
        for format in ["table", "md"] { #expect(!(try CompareReport.render(turns, summary, format: format)).contains("0.2333")) }
    }

    @Test func jsonParsesBackToTheSameNumbers() throws {
        let summary = CompareSummary.of(sample, sessions: [:])
        let json = try CompareReport.render(sample, summary, format: "json")
        struct Doc: Decodable { var turns: [CompareTurn]; var summary: CompareSummary }
        let doc = try JSONDecoder().decode(Doc.self, from: Data(json.utf8))
        #expect(doc.turns == sample)
        #expect(doc.summary == summary)
        let raw = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let first = try #require((raw["turns"] as? [[String: Any]])?.first)
        for key in ["mode", "turn", "request_bytes", "items_sent", "input_tokens", "cached_tokens", "output_tokens", "latency_ms", "reply"] {
            #expect(first[key] != nil, "missing \(key)")
        }
    }

    @Test func tableAndMarkdownCarryTheNumbersAndSummary() throws {
        let summary = CompareSummary.of(sample, sessions: [:])
        let md = try CompareReport.render(sample, summary, format: "md")
        #expect(md.contains("| client | 3 | 700 | 1 | 51 (0) | 10 | 3.0 | — | ✗ missed Lisbon |"))
        #expect(md.contains("- client sent 3.0× the bytes of chain"))
        let table = try CompareReport.render(sample, summary, format: "table")
        #expect(table.contains("✓ Lisbon") && table.contains(summary.lines[0]))
        #expect(throws: ConfigurationError.self) { try CompareReport.render(sample, summary, format: "xml") }
    }

    /// A table whose numbers the test knows, so the costs can be worked out by hand.
    static let prices = #"""
    {"chatbench_source": {"taken": "2030-01-02", "from": "test"},
     "m-priced": {"input_cost_per_token": 2e-06, "cache_read_input_token_cost": 5e-07, "output_cost_per_token": 8e-06, "max_input_tokens": 1000}}
    """#

    /// Every format carries each mode's estimated cost and cache hit rate (cached / input), priced by hand here.
    @Test func everyFormatCarriesCostsAndCacheHitRate() throws {
        let pricing = Pricing(table: try PriceTable.parse(Data(Self.prices.utf8), file: "p.json"))
        var turns = sample
        for i in turns.indices where turns[i].mode == "client" { turns[i].cached_tokens = turns[i].input_tokens / 2 }
        turns = CompareSummary.priced(turns, pricing: pricing, model: "m-priced")
        let summary = CompareSummary.of(turns, sessions: [:], pricing: pricing, model: "m-priced")
        // chain: 90 input (none cached), 30 output; client: 91 input of which 5+15+25 = 45 cached, 30 output.
        let chainHand = 90 * 2e-06 + 30 * 8e-06
        let clientHand = 46 * 2e-06 + 45 * 5e-07 + 30 * 8e-06
        let chain = summary.columns[0], client = summary.columns[1]
        #expect(abs((chain.total_cost_usd ?? -1) - chainHand) < 1e-12 && abs((client.total_cost_usd ?? -1) - clientHand) < 1e-12)
        #expect(chain.cache_hit_rate == 0 && abs(client.cache_hit_rate - 45.0 / 91.0) < 1e-12)
        #expect(summary.price_model == "m-priced" && summary.prices_taken == "2030-01-02")
        #expect(summary.cost_note == "est., prices of 2030-01-02 for m-priced")
        // Each turn is priced the same way; they add up to the column's total.
        let clientTurns = turns.filter { $0.mode == "client" }
        #expect(abs(clientTurns.reduce(0) { $0 + ($1.cost_usd ?? 0) } - clientHand) < 1e-12)
        #expect(abs((turns[0].cost_usd ?? -1) - (10 * 2e-06 + 10 * 8e-06)) < 1e-12)

        let json = try CompareReport.render(turns, summary, format: "json")
        let raw = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let sum = try #require(raw["summary"] as? [String: Any]), cols = try #require(sum["columns"] as? [[String: Any]])
        #expect(abs((cols[1]["total_cost_usd"] as? Double ?? -1) - clientHand) < 1e-12)
        #expect(abs((cols[1]["cache_hit_rate"] as? Double ?? -1) - 45.0 / 91.0) < 1e-12)
        #expect(sum["price_model"] as? String == "m-priced" && sum["prices_taken"] as? String == "2030-01-02")
        #expect(((raw["turns"] as? [[String: Any]])?.first?["cost_usd"] as? Double) == turns[0].cost_usd)

        let csv = parseCSV(try CompareReport.render(turns, summary, format: "csv"))
        let total = try #require(csv.first { $0.count > 1 && $0[0] == "client" && $0[1] == "total" })
        #expect(abs((Double(total[8]) ?? -1) - clientHand) < 1e-12 && abs((Double(total[9]) ?? -1) - 45.0 / 91.0) < 1e-12)
        #expect(total[11] == summary.cost_note)
        let rate = CompareSummary.pct(45.0 / 91.0)
        #expect(rate == "49%")
        for format in ["md", "table"] {
            let text = try CompareReport.render(turns, summary, format: format)
            #expect(text.contains(CostEstimate.format(clientHand)) && text.contains("cache hit \(rate)"), "\(format):\n\(text)")
            #expect(text.contains("prices of 2030-01-02 for m-priced"), "\(format)")
        }
        // A model the table lacks: no dollars anywhere, and the summary says so.
        let none = CompareSummary.of(turns, sessions: [:], pricing: pricing, model: "unknown-x")
        #expect(none.columns.allSatisfy { $0.total_cost_usd == nil } && none.lines.last?.contains("no price for unknown-x in the table") == true)
        #expect(none.cost_note == "no price for unknown-x in the table" && none.price_model == nil)
    }

    /// Columns whose displayed costs are equal are joined by "=" (not ranked by digits not shown), and
    /// turns without recall questions say so rather than "no column recalled everything".
    @Test func equalCostsAndNoRecallQuestions() throws {
        let pricing = Pricing(table: try PriceTable.parse(Data(Self.prices.utf8), file: "p.json"))
        // $0.020000 and $0.020002: both shown as $0.0200 (four decimals from a cent up).
        let turns = [CompareTurn(mode: "chain", turn: 1, input_tokens: 10_000),
                     CompareTurn(mode: "client", turn: 1, input_tokens: 10_001),
                     CompareTurn(mode: "hybrid", turn: 1, input_tokens: 20_000)]
        let summary = CompareSummary.of(turns, sessions: [:], pricing: pricing, model: "m-priced")
        let costs = summary.columns.map { CostEstimate.format($0.total_cost_usd ?? 0) }
        #expect(summary.columns[0].total_cost_usd != summary.columns[1].total_cost_usd && costs[0] == costs[1], "\(costs)")
        #expect(summary.lines.contains("cost ranking: chain \(costs[0]) = client \(costs[1]) < hybrid \(costs[2])"), "\(summary.lines)")
        #expect(summary.lines.contains("no recall questions in these turns, so recall was not compared"), "\(summary.lines)")
        #expect(!summary.lines.contains("no column recalled everything"))
        // With a recall question that every column missed, it says that.
        var asked = turns
        for i in asked.indices { asked[i].expected = "Lisbon"; asked[i].correct = false }
        #expect(CompareSummary.of(asked, sessions: [:], pricing: pricing, model: "m-priced").lines.contains("no column recalled everything"))
    }

    /// The shape ("flat", "bounded", …) is judged after turn 1, and the line shows those numbers: not
    /// turn 1 beside the last turn, which read as growth called flat.
    @Test func theBytesLineShowsWhatItsShapeIsJudgedOn() throws {
        let pricing = Pricing(table: try PriceTable.parse(Data(Self.prices.utf8), file: "p.json"))
        let sizes = [172, 300, 350, 400, 420, 432]
        let turns = sizes.enumerated().map { CompareTurn(mode: "client", turn: $0.offset + 1, request_bytes: $0.element) }
        let lines = CompareSummary.of(turns, sessions: [:], pricing: pricing, model: "m-priced").lines
        #expect(lines.contains { $0.hasPrefix("client: request bytes flat (172 B on turn 1; 300–432 B on turns 2–6; 2074 B in all)") }, "\(lines)")
        let one = CompareSummary.of([CompareTurn(mode: "chain", turn: 1, request_bytes: 158)], sessions: [:], pricing: pricing, model: "m-priced").lines
        #expect(one.contains { $0.contains("(158 B on turn 1; 158 B in all)") }, "\(one)")
    }

    @Test func scriptsAndColumns() throws {
        let script = ScriptLine.parse("# a comment\nMy name is Ana.\n\nWhat's my name? => Ana\n")
        #expect(script == [ScriptLine("My name is Ana."), ScriptLine("What's my name?", expect: "Ana")])
        #expect(ScriptLine.fit(script, turns: 5).map(\.text) == ["My name is Ana.", "What's my name?", "My name is Ana.", "What's my name?", "My name is Ana."])
        #expect(ScriptLine.fit(ScriptLine.builtIn, turns: 3).count == 3)
        let cols = try CompareColumn.parseList("chain,client,client:window:4,hybrid", defaultPolicy: "budget:500")
        #expect(cols.map(\.label) == ["chain", "client[budget:500]", "client[window:4]", "hybrid"])
        #expect(throws: ConfigurationError.self) { try CompareColumn.parseList("chain,telepathy", defaultPolicy: "all") }
        #expect(throws: ConfigurationError.self) { try CompareColumn.parseList("chain,client,hybrid,conversation,chain", defaultPolicy: "all") }
        #expect(throws: ConfigurationError.self) { try CompareColumn.parseList("client:window:0", defaultPolicy: "all") }
        #expect(throws: ConfigurationError.self) { try CompareColumn.parseList("chain,chain", defaultPolicy: "all") }
        #expect(throws: ConfigurationError.self) { try CompareColumn.parseList("client,client:all", defaultPolicy: "all") }
        #expect(try CompareColumn.parseList("client:window:2,client:window:4", defaultPolicy: "all").count == 2)
    }

    @Test func aFailingColumnDoesNotStopTheOthers() async throws {
        let store = try WorkbenchStore.inMemory()
        let backend = try OfflineBackend(inMemoryWith: OfflineModel())
        let comparison = try Comparison(store: store, backend: backend, columns: [CompareColumn(mode: .chain), CompareColumn(mode: .conversation)], prefix: "t")
        // Break the conversation column: its session points at a conversation that is gone AND cannot be re-created.
        var s = try #require(try store.session(named: "t-conversation"))
        s.conversationID = "conv_gone"
        try store.save(s)
        let row = await comparison.turn(ScriptLine("My name is Priya."), number: 1)
        #expect(row.count == 2 && row[0].error == nil && row[0].reply.contains("Priya"))
        #expect(row[1].error == nil)  // repaired by the runner, not fatal
    }

    func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var it = Array(text).makeIterator()
        while let c = it.next() {
            if quoted {
                if c == "\"" { if let n = it.next() { if n == "\"" { field.append("\"") } else { quoted = false; if n == "," { row.append(field); field = "" } else if n == "\n" { row.append(field); rows.append(row); row = []; field = "" } } } else { quoted = false } }
                else { field.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { row.append(field); field = "" }
            else if c == "\n" { row.append(field); rows.append(row); row = []; field = "" }
            else { field.append(c) }
        }
        return rows
    }
}
