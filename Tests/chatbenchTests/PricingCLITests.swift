import Foundation
import Testing
import ChatEngine

/// Dollars from the real binary: the shipped table found beside it, the flags, the override file.
@Suite struct PricingCLITests {
    static let priceFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/ChatEngine/Pricing/model_prices.json").path

    /// The repo file's entry for `model` and its date, read without chatbench.
    static func prices(_ model: String) throws -> (input: Double, cached: Double, output: Double, taken: String) {
        let data = try #require(FileManager.default.contents(atPath: priceFile))
        let raw = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let e = try #require(raw[model] as? [String: Any])
        let taken = try #require((raw["chatbench_source"] as? [String: Any])?["taken"] as? String)
        let input = try #require(e["input_cost_per_token"] as? Double)
        return (input, e["cache_read_input_token_cost"] as? Double ?? input, try #require(e["output_cost_per_token"] as? Double), taken)
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not JSON: \(text)")
    }

    func byHand(_ obj: [String: Any], _ p: (input: Double, cached: Double, output: Double, taken: String)) throws -> Double {
        let usage = try #require(obj["usage"] as? [String: Any])
        let input = try #require(usage["input_tokens"] as? Int), cached = try #require(usage["cached_tokens"] as? Int)
        let output = try #require(usage["output_tokens"] as? Int)
        return Double(input - cached) * p.input + Double(cached) * p.cached + Double(output) * p.output
    }

    @Test func sendJSONPricesTheOfflineTurnAsGPT41Mini() throws {
        let home = TempHome()
        let r = try ChatbenchProcess.run(["send", "--session", "s", "--json", "My name is Priya and I'm moving to Lisbon."], home: home.path)
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try json(r.stdout)
        let p = try Self.prices("gpt-4.1-mini")
        #expect(obj["model"] as? String == "offline-model")
        #expect(obj["price_model"] as? String == "gpt-4.1-mini" && obj["prices_taken"] as? String == p.taken)
        let cost = try #require(obj["cost_usd"] as? Double)
        let hand = try byHand(obj, p)
        #expect(cost > 0 && abs(cost - hand) < 1e-12)
        #expect((obj["cost"] as? String)?.contains("est., prices of \(p.taken) for gpt-4.1-mini") == true)
        #expect(r.stderr.isEmpty, "\(r.stderr)")

        // --price-as picks another entry (a dated snapshot falls back to its model).
        let o = try json(try ChatbenchProcess.run(["send", "--session", "s", "--json", "--price-as", "gpt-4o-2099-01-01", "I work as a nurse."], home: home.path).stdout)
        #expect(o["price_model"] as? String == "gpt-4o")
        let gpt4o = try byHand(o, try Self.prices("gpt-4o"))
        #expect(abs((o["cost_usd"] as? Double ?? -1) - gpt4o) < 1e-12)

        // An unknown model: no dollars, a label that says why, exit 0.
        let u = try ChatbenchProcess.run(["send", "--session", "s", "--json", "--price-as", "no-such-model", "Hello."], home: home.path)
        #expect(u.status == 0)
        let uo = try json(u.stdout)
        #expect(uo["cost_usd"] is NSNull && uo["price_model"] is NSNull && uo["cost"] as? String == "no price for no-such-model in the table")
    }

    @Test func aUserTableTheEnvironmentAndTheOverrideFile() throws {
        let home = TempHome()
        let table = home.path + "/litellm.json"
        try #"{"gpt-4.1-mini": {"input_cost_per_token": 0.001, "output_cost_per_token": 0.002, "litellm_provider": "openai", "mode": "chat"}}"#
            .write(toFile: table, atomically: true, encoding: .utf8)
        let mine = (input: 0.001, cached: 0.001, output: 0.002, taken: "")
        for (args, env) in [(["--price-table", table], [String: String]()), ([], ["CHATBENCH_PRICE_TABLE": table])] {
            let r = try ChatbenchProcess.run(["send", "--session", "s", "--json"] + args + ["Hello there."], home: home.path, extraEnv: env)
            let obj = try json(r.stdout)
            let hand = try byHand(obj, mine)
            #expect(abs((obj["cost_usd"] as? Double ?? -1) - hand) < 1e-12, "\(args) \(env)")
        }
        // prices.json in the config folder overrides one field of the shipped table's entry.
        try FileManager.default.createDirectory(atPath: home.path + "/config/chatbench", withIntermediateDirectories: true)
        try #"{"chatbench_source": {"taken": "2031-03-04"}, "gpt-4.1-mini": {"output_cost_per_token": 0.5}}"#
            .write(toFile: home.path + "/config/chatbench/prices.json", atomically: true, encoding: .utf8)
        let obj = try json(try ChatbenchProcess.run(["send", "--session", "s", "--json", "Hello again."], home: home.path).stdout)
        var p = try Self.prices("gpt-4.1-mini")
        p.output = 0.5
        let hand = try byHand(obj, p)
        #expect(abs((obj["cost_usd"] as? Double ?? -1) - hand) < 1e-12)
        #expect(obj["prices_taken"] as? String == "2031-03-04")
    }

    @Test func aBadTableIsAClearErrorAndABadOverrideANote() throws {
        let home = TempHome()
        let bad = home.path + "/bad.json"
        try "{\"gpt-4.1-mini\": ".write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try ChatbenchProcess.run(["send", "--session", "s", "--json", "--price-table", bad, "Hi."], home: home.path)
        // No turn was sent: the JSON on stdout is the usage error alone.
        let failure = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout)")
        #expect(r.status == 2 && (failure["error"] as? [String: Any])?["kind"] as? String == "usage" && failure["turn"] == nil)
        #expect(r.stderr.contains("price table \(bad): is not valid JSON"), "\(r.stderr)")
        let env = try ChatbenchProcess.run(["compare", "--turns", "1"], home: home.path, extraEnv: ["CHATBENCH_PRICE_TABLE": home.path + "/missing.json"])
        #expect(env.status == 2 && env.stderr.contains("CHATBENCH_PRICE_TABLE"), "\(env.stderr)")
        // A bad field in the override file: that field is left out, with a note on stderr; the turn is priced.
        try FileManager.default.createDirectory(atPath: home.path + "/config/chatbench", withIntermediateDirectories: true)
        try #"{"gpt-4.1-mini": {"input_cost_per_token": -3}}"#.write(toFile: home.path + "/config/chatbench/prices.json", atomically: true, encoding: .utf8)
        let noted = try ChatbenchProcess.run(["send", "--session", "s", "--json", "Hi."], home: home.path)
        #expect(noted.status == 0 && noted.stderr.contains("note:") && noted.stderr.contains("gpt-4.1-mini.input_cost_per_token"), "\(noted.stderr)")
        let obj = try json(noted.stdout)
        let hand = try byHand(obj, try Self.prices("gpt-4.1-mini"))
        #expect(abs((obj["cost_usd"] as? Double ?? -1) - hand) < 1e-12)
    }

    @Test func compareJSONCarriesEachModesCost() throws {
        let home = TempHome()
        let r = try ChatbenchProcess.run(["compare", "--turns", "4", "--modes", "chain,client", "--format", "json"], home: home.path)
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try json(r.stdout)
        let turns = try #require(doc["turns"] as? [[String: Any]]), summary = try #require(doc["summary"] as? [String: Any])
        let p = try Self.prices("gpt-4.1-mini")
        #expect(summary["price_model"] as? String == "gpt-4.1-mini" && summary["prices_taken"] as? String == p.taken)
        for col in try #require(summary["columns"] as? [[String: Any]]) {
            let input = try #require(col["total_input_tokens"] as? Int), cached = try #require(col["total_cached_tokens"] as? Int)
            let output = try #require(col["total_output_tokens"] as? Int)
            let hand = Double(input - cached) * p.input + Double(cached) * p.cached + Double(output) * p.output
            #expect(hand > 0 && abs((col["total_cost_usd"] as? Double ?? -1) - hand) < 1e-12, "\(col)")
            #expect(abs((col["cache_hit_rate"] as? Double ?? -1) - Double(cached) / Double(input)) < 1e-12)
            let mine = turns.filter { $0["mode"] as? String == col["mode"] as? String }
            #expect(mine.count == 4 && abs(mine.reduce(0) { $0 + ($1["cost_usd"] as? Double ?? 0) } - hand) < 1e-9)
        }
    }
}
