import ChatEngine
import Foundation

/// `chatbench compare`: the same conversation through several memory modes, in numbers.
enum CompareCommand {
    static let spec = CommandSpec(
        name: "compare", summary: "run one scripted conversation through several memory modes and compare them",
        positionals: "", minPositionals: 0, maxPositionals: 0,
        flags: [
            FlagSpec("--modes", "LIST", "one to four, comma-separated, each once: chain, conversation, client, hybrid, layered, client:POLICY, layered:window:N, MODE+compact:N, MODE+truncate:auto (default: chain,client)"),
            FlagSpec("--policy", "POLICY", "the policy of a bare 'client' column (default: all)"),
            FlagSpec("--turns", "N", "repeat or cut the script to N turns"),
            FlagSpec("--script", "FILE", "one message per line ('message => expected' adds a recall check); builtin:long: facts, chatter, recall (200 turns unless --turns), without the earlier session: it compares how each mode keeps this one conversation"),
            FlagSpec("--format", "FORMAT", "table | md | csv | json (default: table)"),
            FlagSpec("--backend", "NAME", "offline | openai (default: openai with OPENAI_API_KEY, else offline)"),
            FlagSpec("--base-url", "URL", "OpenAI-compatible server"),
            FlagSpec("--model", "MODEL", "model (OpenAI backend)"),
        ] + PricingFlags.flags,
        details: """
            The built-in script states facts early and asks about them late, so a window policy shows
            what it forgets; before it, an earlier session (compare-TIME-earlier) mentions a parrot, and the
            script's last question asks about it: only layered mode's episodic memory brings it back.
            At most four modes, each listed once; each runs in its own saved session (compare-TIME-MODE),
            all with the comparison's own long-term memory profile (compare-TIME). A recall check passes when the reply contains the expected words as
            whole words (case ignored).
            --format json: {"turns":[{"mode","turn","request_bytes","items_sent","input_tokens",
            "cached_tokens","output_tokens","latency_ms","cost_usd","reply",…}],"summary":{"columns":[{…,
            "total_cost_usd","cache_hit_rate"}],"lines":[…],"price_model","prices_taken","cost_note",
            "cost_ranking":[mode…],"cheapest_full_recall"}}
            Costs are estimates from the price table (see --price-table): each column's total is its
            token totals priced as one model; cache hit rate is cached input tokens / input tokens.
            """,
        run: { try await run($0) })

    static func run(_ inv: Invocation) async throws -> Int32 {
        let format = inv.value("--format") ?? "table"
        guard CompareReport.formats.contains(format) else { throw ConfigurationError("unknown format '\(format)'; use \(CompareReport.formats.joined(separator: ", "))") }
        let columns = try CompareColumn.parseList(inv.value("--modes") ?? "chain,client", defaultPolicy: inv.value("--policy") ?? "all")
        var turns: Int?
        if let t = inv.value("--turns") {
            guard let n = Int(t), (1...10_000).contains(n) else { throw ConfigurationError("--turns takes a number from 1 to 10000") }
            turns = n
        }
        var script = ScriptLine.builtIn
        if inv.value("--script") == "builtin:long" {
            script = ScriptLine.long(turns: turns ?? 200)
        } else if let file = inv.value("--script") {
            guard let data = FileManager.default.contents(atPath: file) else { throw ConfigurationError("cannot read the script file '\(file)'") }
            script = ScriptLine.parse(String(decoding: data, as: UTF8.self))
            guard !script.isEmpty else { throw ConfigurationError("the script file '\(file)' has no messages") }
        }
        script = ScriptLine.fit(script, turns: turns)
        let pricing = try PricingFlags.load(inv)
        let paths = Paths(environment: inv.environment)
        let backendName = try Workbench.chooseBackend(explicit: inv.value("--backend"), session: nil, environment: inv.environment)
        let bench = try Workbench(paths: paths, backendName: backendName,
                                  connection: .init(baseURL: inv.value("--base-url"), model: inv.value("--model"), environment: inv.environment))
        let f = DateFormatter()
        f.dateFormat = "MMdd-HHmmss"
        // The earlier session only when the script still asks about it (--turns may cut the question).
        let earlier = script.contains(ScriptLine.episodicQuestion) ? ScriptLine.earlierSession : []
        let comparison = try Comparison(store: bench.store, backend: bench.backend, columns: columns, prefix: "compare-\(f.string(from: Date()))",
                                        earlier: earlier)
        // Every column runs on the backend's model: its turns and totals are priced as that one model.
        let model = bench.backend.info.defaultModel
        let all = CompareSummary.priced(await comparison.run(script), pricing: pricing, model: model)
        let summary = CompareSummary.of(all, sessions: comparison.sessions, pricing: pricing, model: model)
        // Replies and errors came from a server: control characters shown, JSON kept valid.
        let report = try CompareReport.render(all, summary, format: format)
        let out = StdoutWriter()
        out.write(format == "json" ? OutsideText.json(report) : OutsideText.visible(Secrets.redact(report)))
        try out.finish()
        return all.contains { $0.error != nil } ? 1 : 0
    }
}
