import Foundation
import Testing
@testable import ChatEngine

/// The price table (LiteLLM's format, shipped as a resource), its lookups, and the cost formula.
@Suite struct PricingTests {
    /// The repo's price file, read directly (not through the bundle), to check the bundle against it.
    static let sourceFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/ChatEngine/Pricing/model_prices.json").path

    static func raw() throws -> [String: Any] {
        let data = try #require(FileManager.default.contents(atPath: sourceFile))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func rawEntry(_ name: String) throws -> [String: Any] { try #require(try raw()[name] as? [String: Any]) }

    func temp() throws -> String {
        let dir = NSTemporaryDirectory() + "prices-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func theShippedTableLoadsFromTheBundleAndMatchesTheRepoFile() throws {
        let table = try PriceTable.shipped()
        let raw = try Self.raw()
        let source = try #require(raw["chatbench_source"] as? [String: Any])
        #expect(table.taken == source["taken"] as? String && table.source == "shipped table")
        #expect(table.notes.isEmpty, "\(table.notes)")
        // Every model of the file is an entry; the two descriptive keys are not.
        let models = Set(raw.keys).subtracting(["sample_spec", "chatbench_source"])
        #expect(Set(table.entries.keys) == models)
        #expect(table.entries["sample_spec"] == nil && table.entries["chatbench_source"] == nil)
        for name in ["gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "gpt-5", "o3", "o4-mini"] {
            let e = try Self.rawEntry(name)
            let p = try #require(table.entries[name], "\(name) missing")
            #expect(p.inputCostPerToken == e["input_cost_per_token"] as? Double)
            #expect(p.outputCostPerToken == e["output_cost_per_token"] as? Double)
            #expect(p.cacheReadInputTokenCost == e["cache_read_input_token_cost"] as? Double)
            #expect(p.maxInputTokens == e["max_input_tokens"] as? Int && p.maxInputTokens != nil)
            #expect(p.provider == "openai" && (p.mode == "chat" || p.mode == "responses"))
        }
    }

    /// The file keeps LiteLLM's format: OpenAI chat/responses entries only, in LiteLLM's field names.
    @Test func theShippedFileIsLiteLLMsFormat() throws {
        for (key, value) in try Self.raw() where !PriceTable.nonModelKeys.contains(key) {
            let e = try #require(value as? [String: Any], "\(key) is not an object")
            #expect(e["litellm_provider"] as? String == "openai", "\(key)")
            #expect(["chat", "responses"].contains(e["mode"] as? String ?? ""), "\(key)")
        }
        let source = try #require(try Self.raw()["chatbench_source"] as? [String: Any])
        #expect(PriceTable.isDay(source["taken"] as? String ?? "") && (source["from"] as? String ?? "").contains("litellm"))
    }

    @Test func lookupFallsBackToThePrefixAndTheUndatedModel() throws {
        let json = #"""
        {"gpt-test": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "max_input_tokens": 5000},
         "openai/only-prefixed": {"input_cost_per_token": 3e-06, "output_cost_per_token": 4e-06, "max_input_tokens": 7000},
         "gpt-test-2030-01-02": {"input_cost_per_token": 9e-06, "output_cost_per_token": 9e-06, "max_input_tokens": 9000}}
        """#
        let t = try PriceTable.parse(Data(json.utf8), file: "t.json")
        #expect(t.entry(for: "gpt-test")?.name == "gpt-test")
        #expect(t.entry(for: "gpt-test-2030-01-02")?.name == "gpt-test-2030-01-02")   // an exact snapshot wins
        #expect(t.entry(for: "gpt-test-2031-05-06")?.name == "gpt-test")             // a snapshot without its own entry
        #expect(t.entry(for: "openai/gpt-test")?.name == "gpt-test")
        #expect(t.entry(for: "openai/gpt-test-2031-05-06")?.name == "gpt-test")
        #expect(t.entry(for: "only-prefixed")?.name == "openai/only-prefixed")
        #expect(t.entry(for: "only-prefixed-2031-05-06")?.name == "openai/only-prefixed")
        #expect(t.entry(for: "gpt-test-mini") == nil && t.entry(for: "gpt") == nil && t.entry(for: "-2031-05-06") == nil)
        #expect(t.contextWindow(for: "gpt-test-2031-05-06") == 5000 && t.maxInputTokens("only-prefixed") == 7000)
        #expect(t.contextWindow(for: "nope") == nil)
        // The shipped table: a dated snapshot it does not list takes its base model's window.
        let shipped = try PriceTable.shipped()
        let base = try Self.rawEntry("gpt-4.1-mini")["max_input_tokens"] as? Int
        #expect(shipped.contextWindow(for: "gpt-4.1-mini-2099-01-01") == base && base != nil)
    }

    /// The formula by hand, from the table's own numbers.
    @Test func costCountsCachedTokensAtTheCachedPrice() throws {
        let table = try PriceTable.shipped()
        let e = try Self.rawEntry("gpt-4.1-mini")
        let inP = try #require(e["input_cost_per_token"] as? Double), cachedP = try #require(e["cache_read_input_token_cost"] as? Double)
        let outP = try #require(e["output_cost_per_token"] as? Double)
        #expect(cachedP < inP)
        let c = CostEstimate(model: "gpt-4.1-mini", inputTokens: 12_000, cachedTokens: 9_000, outputTokens: 700, table: table)
        let byHand = 3_000 * inP + 9_000 * cachedP + 700 * outP
        #expect(abs((c.dollars ?? -1) - byHand) < 1e-12)
        #expect(c.priceModel == "gpt-4.1-mini" && c.taken == table.taken)
        #expect(c.label == "≈\(CostEstimate.format(byHand)) (est., prices of \(table.taken) for gpt-4.1-mini)")
        // Without a cached price the cached tokens cost the input price.
        let noCache = try #require(try Self.raw().first { k, v in
            let d = v as? [String: Any]
            return !PriceTable.nonModelKeys.contains(k) && d?["input_cost_per_token"] is Double && d?["output_cost_per_token"] is Double && d?["cache_read_input_token_cost"] == nil
        })
        let ne = try #require(noCache.value as? [String: Any])
        let n = CostEstimate(model: noCache.key, inputTokens: 1_000, cachedTokens: 600, outputTokens: 50, table: table)
        let nHand = 1_000 * (ne["input_cost_per_token"] as! Double) + 50 * (ne["output_cost_per_token"] as! Double)
        #expect(abs((n.dollars ?? -1) - nHand) < 1e-12)
        // Numbers from a server: cached beyond the input counts as the input; negatives as nothing.
        let odd = CostEstimate(model: "gpt-4.1-mini", inputTokens: 100, cachedTokens: 500, outputTokens: -3, table: table)
        #expect(abs((odd.dollars ?? -1) - 100 * cachedP) < 1e-12 && odd.cachedTokens == 100 && odd.outputTokens == 0)
    }

    @Test func anUnknownModelHasNoDollarsAndSaysSo() throws {
        let c = CostEstimate(model: "nope-model", inputTokens: 10, cachedTokens: 0, outputTokens: 10, table: try PriceTable.shipped())
        #expect(c.dollars == nil && c.priceModel == nil && c.short == "no price")
        #expect(c.label == "no price for nope-model in the table")
        // An entry without prices (LiteLLM lists some) prices nothing either.
        let t = try PriceTable.parse(Data(#"{"m": {"max_input_tokens": 100}}"#.utf8), file: "t.json")
        #expect(CostEstimate(model: "m", inputTokens: 1, cachedTokens: 0, outputTokens: 1, table: t).dollars == nil)
        #expect(t.contextWindow(for: "m") == 100)
        // No table at all (the shipped one missing beside the binary): it says that, not "no price for".
        let empty = PriceTable(entries: [:], taken: "unknown date", from: "nothing", source: "no table", notes: [])
        #expect(CostEstimate(model: "gpt-4.1-mini", inputTokens: 1, cachedTokens: 0, outputTokens: 1, table: empty).label == "no price table (see --price-table)")
    }

    @Test func offlineTurnsArePricedAsTheChosenModel() throws {
        let table = try PriceTable.shipped()
        #expect(Pricing(table: table).model(for: "offline-model") == "gpt-4.1-mini")
        #expect(Pricing(table: table).model(for: "gpt-4o") == "gpt-4o")
        #expect(Pricing(table: table, priceAs: "o3").model(for: "gpt-4o") == "o3")
        #expect(Pricing(table: table, priceAs: "o3").model(for: "offline-model") == "o3")
        let e = Pricing(table: table).estimate(model: "offline-model", inputTokens: 100, cachedTokens: 0, outputTokens: 10)
        #expect(e.priceModel == "gpt-4.1-mini" && e.dollars != nil)
    }

    /// --price-table (or CHATBENCH_PRICE_TABLE) replaces the shipped table; prices.json in the config
    /// folder overrides single fields of single entries.
    @Test func aUserTableAndOverridesAreMerged() throws {
        let dir = try temp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let full = dir + "/litellm.json"
        try #"""
        {"sample_spec": {"max_input_tokens": "max input tokens, if the provider specifies it", "input_cost_per_token": 0.0},
         "gpt-4.1-mini": {"input_cost_per_token": 5e-07, "output_cost_per_token": 2e-06, "cache_read_input_token_cost": 1.25e-07,
                          "max_input_tokens": 1000000, "litellm_provider": "openai", "mode": "chat"},
         "claude-x": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05, "litellm_provider": "anthropic", "mode": "chat"}}
        """#.write(toFile: full, atomically: true, encoding: .utf8)
        let paths = Paths(dataDirectory: dir + "/data", configDirectory: dir + "/config")
        let t = try PriceTable.resolve(file: full, environment: [:], paths: paths)
        #expect(t.entries.count == 2 && t.entry(for: "gpt-4.1-mini")?.inputCostPerToken == 5e-07 && t.notes.isEmpty)
        #expect(t.taken == PriceTable.day(Date()) && t.source == full)   // no chatbench_source: the file's day
        let viaEnv = try PriceTable.resolve(file: nil, environment: ["CHATBENCH_PRICE_TABLE": full], paths: paths)
        #expect(viaEnv.entry(for: "claude-x")?.outputCostPerToken == 1.5e-05)

        try FileManager.default.createDirectory(atPath: dir + "/config", withIntermediateDirectories: true)
        try #"""
        {"chatbench_source": {"taken": "2030-02-03"},
         "gpt-4.1-mini": {"input_cost_per_token": 6e-07},
         "my-model": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06, "max_input_tokens": 4096}}
        """#.write(toFile: PriceTable.overrideFile(paths), atomically: true, encoding: .utf8)
        let merged = try PriceTable.resolve(file: full, environment: [:], paths: paths)
        let mini = try #require(merged.entry(for: "gpt-4.1-mini"))
        #expect(mini.inputCostPerToken == 6e-07 && mini.outputCostPerToken == 2e-06 && mini.cacheReadInputTokenCost == 1.25e-07)
        #expect(mini.maxInputTokens == 1_000_000 && mini.taken == "2030-02-03")
        #expect(merged.contextWindow(for: "my-model") == 4096 && merged.entry(for: "claude-x")?.inputCostPerToken == 3e-06)
        #expect(merged.source == full + " + " + PriceTable.overrideFile(paths))
        let c = CostEstimate(model: "gpt-4.1-mini", inputTokens: 1_000, cachedTokens: 0, outputTokens: 0, table: merged)
        #expect(c.label.contains("prices of 2030-02-03 for gpt-4.1-mini") && abs((c.dollars ?? 0) - 1_000 * 6e-07) < 1e-12)
        // A rejected override field keeps the table's value (and says so), it does not unprice the model.
        try #"{"gpt-4.1-mini": {"output_cost_per_token": -1, "input_cost_per_token": 7e-07}}"#
            .write(toFile: PriceTable.overrideFile(paths), atomically: true, encoding: .utf8)
        let partly = try PriceTable.resolve(file: full, environment: [:], paths: paths)
        #expect(partly.entry(for: "gpt-4.1-mini")?.outputCostPerToken == 2e-06 && partly.entry(for: "gpt-4.1-mini")?.inputCostPerToken == 7e-07)
        #expect(partly.notes.count == 1 && partly.notes[0].contains("gpt-4.1-mini.output_cost_per_token"))
        try #"{"chatbench_source": {"taken": "2030-02-03"}, "gpt-4.1-mini": {"input_cost_per_token": 6e-07}}"#
            .write(toFile: PriceTable.overrideFile(paths), atomically: true, encoding: .utf8)
        // Over the shipped table too.
        let overShipped = try PriceTable.resolve(file: nil, environment: [:], paths: paths)
        #expect(overShipped.entry(for: "gpt-4.1-mini")?.inputCostPerToken == 6e-07)
        #expect(overShipped.entry(for: "gpt-4o")?.inputCostPerToken == (try Self.rawEntry("gpt-4o")["input_cost_per_token"] as? Double))
    }

    @Test func aBadFileIsAClearErrorNeverATrap() throws {
        let dir = try temp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let paths = Paths(dataDirectory: dir + "/data", configDirectory: dir + "/config")
        func error(_ text: String) throws -> PriceTableError? {
            let f = dir + "/bad-\(UUID().uuidString).json"
            try text.write(toFile: f, atomically: true, encoding: .utf8)
            do { _ = try PriceTable.resolve(file: f, environment: [:], paths: paths); return nil } catch let e as PriceTableError {
                #expect(e.file == f)
                return e
            }
        }
        #expect(try error("{not json")?.problem.contains("not valid JSON") == true)
        #expect(try error("[1, 2]")?.problem.contains("not a JSON object") == true)
        #expect(try error("")?.problem.contains("not valid JSON") == true)
        #expect(try error(#"{"m": NaN}"#) != nil)
        do {
            _ = try PriceTable.resolve(file: dir + "/missing.json", environment: [:], paths: paths)
            Issue.record("a missing file must be an error")
        } catch let e as PriceTableError { #expect(e.problem.contains("cannot read")) }
        do {
            _ = try PriceTable.resolve(file: nil, environment: ["CHATBENCH_PRICE_TABLE": dir + "/missing.json"], paths: paths)
            Issue.record("a missing file must be an error")
        } catch let e as PriceTableError { #expect(e.problem.contains("CHATBENCH_PRICE_TABLE")) }
    }

    /// Bad fields and entries are left out with a note; the rest of the file is used.
    @Test func badEntriesAreIgnoredWithANote() throws {
        let json = #"""
        {"neg": {"input_cost_per_token": -1e-06, "output_cost_per_token": 1e-06},
         "huge": {"input_cost_per_token": 1e300, "output_cost_per_token": 1e-06, "max_input_tokens": 1e30},
         "text": {"input_cost_per_token": "0.000001", "output_cost_per_token": true, "max_input_tokens": -5},
         "frac": {"max_input_tokens": 12.5},
         "list": [1, 2],
         "nullish": null,
         "good": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "max_input_tokens": 100},
         "chatbench_source": {"taken": "yesterday\u001b[31m"}}
        """#
        let t = try PriceTable.parse(Data(json.utf8), file: "f.json", fileDay: "2031-01-01")
        #expect(t.entry(for: "neg")?.inputCostPerToken == nil && t.entry(for: "neg")?.outputCostPerToken == 1e-06)
        #expect(t.entry(for: "huge")?.inputCostPerToken == nil && t.contextWindow(for: "huge") == nil)
        #expect(t.entry(for: "text")?.inputCostPerToken == nil && t.entry(for: "text")?.outputCostPerToken == nil && t.contextWindow(for: "text") == nil)
        #expect(t.contextWindow(for: "frac") == nil)
        #expect(t.entry(for: "list") == nil && t.entry(for: "nullish") == nil)
        #expect(t.entry(for: "good")?.inputCostPerToken == 1e-06 && t.contextWindow(for: "good") == 100)
        #expect(t.taken == "2031-01-01")
        for needle in ["neg.input_cost_per_token", "huge.input_cost_per_token", "huge.max_input_tokens", "text.input_cost_per_token",
                       "text.output_cost_per_token: a Boolean", "text.max_input_tokens", "frac.max_input_tokens", "ignored list", "ignored nullish",
                       "chatbench_source.taken"] {
            #expect(t.notes.contains { $0.contains(needle) }, "no note for \(needle): \(t.notes)")
        }
        #expect(!t.notes.joined().contains("\u{1b}"))
        #expect(CostEstimate(model: "neg", inputTokens: 1, cachedTokens: 0, outputTokens: 1, table: t).dollars == nil)
        // A broken override file is left out with a note, not a failure of every command.
        let dir = try temp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let paths = Paths(dataDirectory: dir + "/data", configDirectory: dir + "/config")
        try FileManager.default.createDirectory(atPath: paths.configDirectory, withIntermediateDirectories: true)
        try "{oops".write(toFile: PriceTable.overrideFile(paths), atomically: true, encoding: .utf8)
        let table = try PriceTable.resolve(file: nil, environment: [:], paths: paths)
        #expect(table.source == "shipped table" && table.entry(for: "gpt-4.1-mini") != nil)
        #expect(table.notes.count == 1 && table.notes[0].contains("prices.json") && table.notes[0].contains("ignored"))
    }

    @Test func dollarsAreWrittenWithTheDecimalsSmallSumsNeed() {
        #expect(CostEstimate.format(0) == "$0.00")
        #expect(CostEstimate.format(0.0000412) == "$0.000041")
        #expect(CostEstimate.format(0.01234) == "$0.0123")
        #expect(CostEstimate.format(12.5) == "$12.50")
        #expect(CostEstimate.format(0.0000000001) == "<$0.000001")
        #expect(CostEstimate.format(.nan) == "$?")
    }
}
