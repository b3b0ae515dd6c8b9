import Foundation
import Testing
@testable import ChatEngine

/// The workbench's server policy (#19): sent as the real fields, recorded as server events, shown in
/// the memory state, compared in dollars.
@Suite struct ServerPolicyTests {
    func rig(window: Int = OfflineBackend.defaultContextWindow) throws -> (WorkbenchStore, Runner) {
        let store = try WorkbenchStore.inMemory()
        let backend = try OfflineBackend(inMemoryWith: OfflineModel(), settings: .init(contextWindow: window))
        return (store, Runner(store: store, backend: backend))
    }

    @Test func parsesAndAppliesTheRealFields() throws {
        #expect(try ServerPolicy(parsing: "none") == .none)
        #expect(throws: ConfigurationError.self) { try ServerPolicy(parsing: " ") }
        let both = try ServerPolicy(parsing: "truncate:auto+compact:20000")
        #expect(both.description == "compact:20000+truncate:auto")
        var r = CreateResponseRequest(model: "m", input: .text("hi"))
        both.apply(to: &r)
        #expect(r.truncation == "auto")
        #expect(r.context_management == .array([.object(["type": .string("compaction"), "compact_threshold": .int(20000)])]))
        var plain = CreateResponseRequest(model: "m", input: .text("hi"))
        ServerPolicy.none.apply(to: &plain)
        #expect(plain.truncation == nil && plain.context_management == nil)   // the SDK sends nothing by default; so do we
        for bad in ["compact:999", "compact:", "compact:x", "truncate:disabled", "window:4", "compact:2000+compact:3000", "none+x"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try ServerPolicy(parsing: bad) }
        }
    }

    @Test func aChainCompactsRecordsItAndTheMemoryStateShowsWhatTheServerHolds() async throws {
        let (store, runner) = try rig()
        var s = try store.createSession(name: "s", mode: .chain, backend: "offline", model: "offline-model")
        s.serverPolicy = "compact:1000"
        try store.save(s)
        _ = try await runner.send("My name is Priya.", in: "s")
        var compactedTurn: TurnResult?
        for i in 0..<20 {
            let t = try await runner.send(filler(150, i), in: "s")
            if t.turn.serverEvent == .compacted { compactedTurn = t; break }
        }
        let compacted = try #require(compactedTurn)
        #expect(try store.turns(session: s.id).filter { $0.serverEvent != nil }.map(\.number) == [compacted.turn.number])
        _ = try await runner.send("Tell me something.", in: "s")
        let after = try await runner.send("What's my name?", in: "s")
        #expect(after.reply.contains("Priya"))
        #expect(after.turn.serverEvent == nil, "a smaller input right after a compaction is not a truncation")
        let m = try store.memoryState(for: try #require(try store.session(named: "s")))
        #expect(m.serverPolicy == "compact:1000" && m.compactedAtTurn == compacted.turn.number)
        // The compaction item and its reply, then two turns of two items each.
        #expect(m.serverItems == 1 + 1 + 4)
    }

    @Test func aTruncatedChainIsInferredAndRecorded() async throws {
        let (store, runner) = try rig(window: 400)
        var s = try store.createSession(name: "t", mode: .chain, backend: "offline", model: "offline-model")
        s.serverPolicy = "truncate:auto"
        try store.save(s)
        var events: [ServerEvent?] = []
        for i in 0..<12 { events.append(try await runner.send(filler(40, i), in: "t").turn.serverEvent) }
        #expect(events.contains(.truncated))
        #expect(events.prefix(3).allSatisfy { $0 == nil })
        let m = try store.memoryState(for: try #require(try store.session(named: "t")))
        #expect(m.truncatedAtTurn != nil)
        // Without truncate:auto the same chain fails past the window, and says why.
        var d = try store.createSession(name: "d", mode: .chain, backend: "offline", model: "offline-model")
        d.serverPolicy = "none"
        try store.save(d)
        await #expect(throws: TurnFailure.self) { for i in 0..<12 { _ = try await runner.send(filler(40, i), in: "d") } }
        let failed = try store.turns(session: d.id).last
        #expect(failed?.errorCode == "context_length_exceeded")
    }

    @Test func compareTakesServerPoliciesAndNamesTheCheapestFullRecall() async throws {
        let cols = try CompareColumn.parseList("chain,chain+compact:1000,conversation+truncate:auto,client:window:4", defaultPolicy: "all")
        #expect(cols.map(\.label) == ["chain", "chain+compact:1000", "conversation+truncate:auto", "client[window:4]"])
        #expect(cols[1].serverPolicy == "compact:1000")
        #expect(throws: ConfigurationError.self) { try CompareColumn.parseList("client+compact:1000", defaultPolicy: "all") }
        #expect(throws: ConfigurationError.self) { try CompareColumn.parseList("chain+compact:10", defaultPolicy: "all") }

        let script = ScriptLine.long(turns: 40)
        #expect(script.count == 40 && script.prefix(5) == ScriptLine.builtIn.prefix(5))
        #expect(script.suffix(5).allSatisfy { $0.expect != nil } && script.dropLast(5).allSatisfy { $0.expect == nil })

        let (store, runner) = try rig()
        let comparison = try Comparison(store: store, backend: runner.backend, columns: try CompareColumn.parseList("chain,chain+compact:1000,client:window:4", defaultPolicy: "all"),
                                        prefix: "cmp")
        let pricing = Pricing(table: try PriceTable.shipped())
        let turns = CompareSummary.priced(await comparison.run(script), pricing: pricing, model: "gpt-4.1-mini")
        let summary = CompareSummary.of(turns, sessions: comparison.sessions, pricing: pricing, model: "gpt-4.1-mini")
        let byMode = Dictionary(uniqueKeysWithValues: summary.columns.map { ($0.mode, $0) })
        let chain = try #require(byMode["chain"]), compact = try #require(byMode["chain+compact:1000"]), window = try #require(byMode["client[window:4]"])
        #expect(chain.recall_correct == 5 && compact.recall_correct == 5 && window.recall_correct < 5)
        #expect(compact.total_input_tokens < chain.total_input_tokens)
        #expect(chain.cache_hit_rate > 0.5 && window.cache_hit_rate == 0, "a chain keeps its prefix; a sliding window never does")
        // The ranking is by the columns' own totals, and the cheapest full recall is the cheapest column
        // that answered every question.
        let costs = summary.cost_ranking.map { m in summary.columns.first { $0.mode == m }!.total_cost_usd! }
        #expect(costs == costs.sorted() && summary.cost_ranking.count == 3)
        let full = summary.columns.filter { $0.recall_correct == $0.recall_asked }.min { $0.total_cost_usd! < $1.total_cost_usd! }
        #expect(summary.cheapest_full_recall == full?.mode && full?.mode == "chain+compact:1000")
        #expect(summary.lines.contains { $0.hasPrefix("cheapest that recalls everything: chain+compact:1000") })
        #expect(try store.session(named: comparison.sessions["chain+compact:1000"]!)?.serverPolicy == "compact:1000")
    }
}

@Suite struct CompareFairnessTests {
    /// A column that failed turns was not billed for them: it is not ranked (it looked cheapest).
    @Test func aColumnWithFailedTurnsIsNotRanked() {
        func t(_ mode: String, _ n: Int, input: Int, error: String? = nil, correct: Bool? = nil) -> CompareTurn {
            CompareTurn(mode: mode, turn: n, request_bytes: 10, items_sent: 1, input_tokens: error == nil ? input : 0, output_tokens: error == nil ? 5 : 0,
                        expected: correct == nil ? nil : "x", correct: correct, error: error)
        }
        let turns = [t("a", 1, input: 100), t("a", 2, input: 100, correct: true),
                     t("b", 1, input: 0, error: "context_length_exceeded"), t("b", 2, input: 10, correct: true),
                     t("c", 1, input: 300), t("c", 2, input: 300, correct: true)]
        let pricing = Pricing(table: try! PriceTable.shipped())
        let s = CompareSummary.of(turns, sessions: [:], pricing: pricing, model: "gpt-4.1-mini")
        #expect(s.cost_ranking == ["a", "c"] && s.cheapest_full_recall == "a")
        #expect(s.lines.contains { $0.contains("not ranked: b (1 failed turns)") })
    }

    /// Each compared session has its own prompt-cache key: a second run on the same server state costs
    /// what the first did (it once found the first run's entries and looked cheaper).
    @Test func aSecondRunIsBilledLikeTheFirst() async throws {
        let store = try WorkbenchStore.inMemory()
        let backend = try OfflineBackend(inMemoryWith: OfflineModel())
        var cached: [Int] = []
        for run in 0..<2 {
            let c = try Comparison(store: store, backend: backend, columns: try CompareColumn.parseList("chain,client", defaultPolicy: "all"), prefix: "run\(run)")
            let turns = await c.run(ScriptLine.long(turns: 30))
            cached.append(turns.reduce(0) { $0 + $1.cached_tokens })
        }
        #expect(cached[0] > 0 && cached[0] == cached[1])
    }
}

@Suite struct CompareOverheadTests {
    /// A summarizing column pays for its summaries: overhead tokens are in each turn's cost and in the
    /// column's total (a summarize column once looked cheaper than it was).
    @Test func overheadIsPriced() async throws {
        let pricing = Pricing(table: try PriceTable.shipped())
        var t = CompareTurn(mode: "client[summarize:4]", turn: 1, input_tokens: 100, cached_tokens: 0, output_tokens: 10)
        t.overhead_input_tokens = 400
        t.overhead_output_tokens = 50
        let priced = CompareSummary.priced([t], pricing: pricing, model: "gpt-4.1-mini")
        let byHand = pricing.estimate(model: "gpt-4.1-mini", inputTokens: 500, cachedTokens: 0, outputTokens: 60).dollars!
        #expect(abs((priced[0].cost_usd ?? 0) - byHand) < 1e-12)
        let s = CompareSummary.of(priced, sessions: [:], pricing: pricing, model: "gpt-4.1-mini")
        #expect(abs((s.columns[0].total_cost_usd ?? 0) - byHand) < 1e-12 && s.columns[0].total_overhead_input_tokens == 400)
        // From the real runner: a summarize column's rows carry its summarizer's tokens.
        let store = try WorkbenchStore.inMemory()
        let c = try Comparison(store: store, backend: try OfflineBackend(inMemoryWith: OfflineModel()),
                               columns: try CompareColumn.parseList("client:summarize:4", defaultPolicy: "all"), prefix: "o")
        let rows = await c.run(Array(ScriptLine.builtIn.prefix(8)))
        #expect(rows.contains { $0.overhead_input_tokens > 0 })
    }
}
