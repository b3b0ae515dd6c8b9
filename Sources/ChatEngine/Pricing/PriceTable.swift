import Foundation

/// What one model costs and how much it reads, as LiteLLM's `model_prices_and_context_window.json`
/// records it (only the fields chatbench uses; the file keeps the rest).
public struct ModelPrice: Sendable, Equatable {
    /// The table's key this entry is under (e.g. `gpt-4.1-mini`).
    public var name: String
    /// Dollars per token: `input_cost_per_token`, `cache_read_input_token_cost`, `output_cost_per_token`.
    public var inputCostPerToken: Double?
    public var cacheReadInputTokenCost: Double?
    public var outputCostPerToken: Double?
    /// `max_input_tokens`, `max_output_tokens`.
    public var maxInputTokens: Int?
    public var maxOutputTokens: Int?
    /// `litellm_provider`, `mode`.
    public var provider: String?
    public var mode: String?
    /// When the prices were taken (the file's `chatbench_source.taken`, else the file's modification day).
    public var taken: String
    /// The fields the entry's file gave (an override replaces only these).
    public var present: Set<String> = []

    public init(name: String, inputCostPerToken: Double? = nil, cacheReadInputTokenCost: Double? = nil, outputCostPerToken: Double? = nil,
                maxInputTokens: Int? = nil, maxOutputTokens: Int? = nil, provider: String? = nil, mode: String? = nil, taken: String) {
        self.name = name
        self.inputCostPerToken = inputCostPerToken
        self.cacheReadInputTokenCost = cacheReadInputTokenCost
        self.outputCostPerToken = outputCostPerToken
        self.maxInputTokens = maxInputTokens
        self.maxOutputTokens = maxOutputTokens
        self.provider = provider
        self.mode = mode
        self.taken = taken
    }

    /// Priced when both the input and the output price are known (the cached price falls back to the input's).
    public var isPriced: Bool { inputCostPerToken != nil && outputCostPerToken != nil }
}

/// A price file that cannot be used at all (unreadable, not JSON, not an object of entries).
public struct PriceTableError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var problem: String
    public init(file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }
    public var description: String { "price table \(file): \(problem)" }
}

/// The price table: LiteLLM's map of model → prices and context window. chatbench ships the OpenAI chat
/// models' entries (Pricing/model_prices.json, a SwiftPM resource); a user may point at an updated copy
/// of LiteLLM's whole file and override single entries in the config folder (`prices.json`).
///
/// Everything read from a file is outside input: an entry that is not an object, or a price that is not
/// a finite number from 0 to 1 dollar a token, is left out with a note in `notes`, never trusted.
public struct PriceTable: Sendable {
    public private(set) var entries: [String: ModelPrice]
    /// The date the base table's prices were taken, and from where (e.g. "litellm 1.110.2 wheel").
    public var taken: String
    public var from: String
    /// Where the table came from: "shipped table", a file path, plus "+ FILE" for each override merged.
    public var source: String
    /// What was ignored, one line each (bad fields, non-object entries, a broken override file).
    public var notes: [String]

    /// Top-level keys that describe the file, not a model: LiteLLM's own `sample_spec` and chatbench's record.
    public static let nonModelKeys: Set<String> = ["sample_spec", "chatbench_source"]
    /// The resource's name in the ChatEngine bundle.
    public static let resourceName = "model_prices"
    /// A price file larger than this is refused (LiteLLM's whole file is a few megabytes).
    public static let maxFileBytes = 64 << 20
    /// A price above a dollar a token is not a price but a mistake (today's dearest is under a tenth of a cent).
    public static let maxDollarsPerToken = 1.0
    public static let maxTokens = 1_000_000_000

    public init(entries: [String: ModelPrice], taken: String, from: String, source: String, notes: [String] = []) {
        self.entries = entries
        self.taken = taken
        self.from = from
        self.source = source
        self.notes = notes
    }

    // MARK: Loading

    /// The table shipped with chatbench (the ChatEngine bundle's resource, beside the binary and the tests),
    /// read once per process (200 KB of JSON: the screen and the offline server both want it at start).
    public static func shipped() throws -> PriceTable { try shippedOnce.get() }

    private static let shippedOnce: Result<PriceTable, Error> = Result { try readShipped() }

    static func readShipped() throws -> PriceTable {
        guard let url = shippedURL() else {
            throw PriceTableError(file: Bundle.main.bundleURL.appendingPathComponent("chatbench_ChatEngine.resources/\(resourceName).json").path,
                                  "the shipped price table is missing beside the binary; point at a copy with --price-table FILE or CHATBENCH_PRICE_TABLE")
        }
        var t = try load(file: url.path)
        t.source = "shipped table"
        return t
    }

    /// The resource's URL, or nil when the bundle is not there. `Bundle.module` stops the process when
    /// its bundle is missing, so it is used only once the bundle is known to be where it looks first.
    static func shippedURL() -> URL? {
        let beside = Bundle.main.bundleURL.appendingPathComponent("chatbench_ChatEngine.resources")
        guard FileManager.default.fileExists(atPath: beside.appendingPathComponent("\(resourceName).json").path) else { return nil }
        return Bundle.module.url(forResource: resourceName, withExtension: "json")
    }

    /// A price file in LiteLLM's format (the shipped table, LiteLLM's whole file, or an override).
    public static func load(file: String) throws -> PriceTable {
        let attrs = try? FileManager.default.attributesOfItem(atPath: file)
        guard let attrs else { throw PriceTableError(file: file, "cannot read it (no such file?)") }
        if let size = (attrs[.size] as? NSNumber)?.intValue, size > maxFileBytes {
            throw PriceTableError(file: file, "is \(size) bytes; a price table is at most \(maxFileBytes) bytes")
        }
        guard let data = FileManager.default.contents(atPath: file) else { throw PriceTableError(file: file, "cannot read it") }
        var fileDay = "unknown date"
        if let modified = attrs[.modificationDate] as? Date { fileDay = day(modified) }
        return try parse(data, file: file, fileDay: fileDay)
    }

    /// Parses LiteLLM's format: a JSON object of model name → entry. `fileDay` dates the prices when
    /// the file has no `chatbench_source.taken`.
    public static func parse(_ data: Data, file: String, fileDay: String = "unknown date") throws -> PriceTable {
        let any: Any
        do {
            any = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw PriceTableError(file: file, "is not valid JSON (LiteLLM's format is one JSON object of model name → prices)")
        }
        guard let top = any as? [String: Any] else {
            throw PriceTableError(file: file, "is not a JSON object of model name → prices (LiteLLM's model_prices_and_context_window.json format)")
        }
        var notes: [String] = []
        var taken = fileDay, from = file
        if let src = top["chatbench_source"] as? [String: Any] {
            if let t = src["taken"] as? String, isDay(t) { taken = t } else if src["taken"] != nil {
                notes.append("\(file): chatbench_source.taken is not a YYYY-MM-DD date; using \(fileDay)")
            }
            if let f = src["from"] as? String, !f.isEmpty, f.count <= 200 { from = OutsideText.line(f) }
        }
        var entries: [String: ModelPrice] = [:]
        for (key, value) in top where !nonModelKeys.contains(key) {
            guard key.count <= 200, !key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                notes.append("\(file): ignored an entry whose name is not a model name (\(OutsideText.line(String(key.prefix(40)))))")
                continue
            }
            let shown = OutsideText.line(key)
            guard let obj = value as? [String: Any] else {
                notes.append("\(file): ignored \(shown): not an object of prices")
                continue
            }
            var p = ModelPrice(name: key, taken: taken)
            // The fields given and usable: a rejected one does not override the table's value.
            var rejected = Set<String>()
            func dollars(_ field: String) -> Double? {
                guard let raw = obj[field] else { return nil }
                if let v = number(raw), v.isFinite, v >= 0, v <= maxDollarsPerToken { return v }
                rejected.insert(field)
                notes.append("\(file): ignored \(shown).\(field): \(describe(raw)) is not a price (a number from 0 to \(Int(maxDollarsPerToken)) dollar a token)")
                return nil
            }
            func tokens(_ field: String) -> Int? {
                guard let raw = obj[field] else { return nil }
                if let v = number(raw), v.isFinite, v >= 1, v <= Double(maxTokens), v == v.rounded() { return Int(v) }
                rejected.insert(field)
                notes.append("\(file): ignored \(shown).\(field): \(describe(raw)) is not a whole number of tokens from 1 to \(maxTokens)")
                return nil
            }
            p.inputCostPerToken = dollars("input_cost_per_token")
            p.cacheReadInputTokenCost = dollars("cache_read_input_token_cost")
            p.outputCostPerToken = dollars("output_cost_per_token")
            p.maxInputTokens = tokens("max_input_tokens")
            p.maxOutputTokens = tokens("max_output_tokens")
            p.provider = obj["litellm_provider"] as? String
            p.mode = obj["mode"] as? String
            p.present = Set(obj.keys).subtracting(rejected)
            entries[key] = p
        }
        return PriceTable(entries: entries, taken: taken, from: from, source: file, notes: notes)
    }

    /// A JSON number (not a Boolean, which JSONSerialization also gives as a number).
    static func number(_ raw: Any) -> Double? {
        guard let n = raw as? NSNumber, !(raw is Bool), n.objCType.pointee != 0x63 else { return nil }
        return n.doubleValue
    }

    static func describe(_ raw: Any) -> String {
        if let s = raw as? String { return "\"\(OutsideText.line(String(s.prefix(40))))\"" }
        if let n = number(raw) { return "\(n)" }
        if raw is NSNull { return "null" }
        if raw is Bool || (raw as? NSNumber)?.objCType.pointee == 0x63 { return "a Boolean" }
        return "a \(raw is [Any] ? "list" : "object")"
    }

    static func isDay(_ s: String) -> Bool {
        s.count == 10 && s.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil
    }

    static func day(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f.string(from: d)
    }

    /// `overrides`' entries over this table's, field by field: an override that gives only
    /// `input_cost_per_token` keeps the table's other fields for that model. An entry the table lacks is added.
    public func merging(_ overrides: PriceTable) -> PriceTable {
        var out = self
        for (key, o) in overrides.entries {
            guard var base = out.entries[key] else { out.entries[key] = o; continue }
            if o.present.contains("input_cost_per_token") { base.inputCostPerToken = o.inputCostPerToken }
            if o.present.contains("cache_read_input_token_cost") { base.cacheReadInputTokenCost = o.cacheReadInputTokenCost }
            if o.present.contains("output_cost_per_token") { base.outputCostPerToken = o.outputCostPerToken }
            if o.present.contains("max_input_tokens") { base.maxInputTokens = o.maxInputTokens }
            if o.present.contains("max_output_tokens") { base.maxOutputTokens = o.maxOutputTokens }
            if o.present.contains("litellm_provider") { base.provider = o.provider }
            if o.present.contains("mode") { base.mode = o.mode }
            base.taken = o.taken
            base.present.formUnion(o.present)
            out.entries[key] = base
        }
        out.source += " + \(overrides.source)"
        out.notes += overrides.notes
        return out
    }

    /// The table a command uses: `--price-table FILE`, else `$CHATBENCH_PRICE_TABLE`, else the shipped
    /// one; then `prices.json` in the config folder merged over it. A bad table named by the flag or the
    /// variable is an error; a bad override file is left out with a note (so a typo in it cannot stop
    /// every command), as are bad entries.
    public static func resolve(file: String?, environment: [String: String], paths: Paths) throws -> PriceTable {
        var table: PriceTable
        if let file, !file.isEmpty {
            table = try load(file: file)
        } else if let env = environment["CHATBENCH_PRICE_TABLE"], !env.isEmpty {
            do { table = try load(file: env) } catch let e as PriceTableError {
                throw PriceTableError(file: e.file, e.problem + " (from CHATBENCH_PRICE_TABLE)")
            }
        } else {
            // Without its shipped table chatbench still runs: nothing is priced, and a note says why.
            do { table = try shipped() } catch let e as PriceTableError {
                table = PriceTable(entries: [:], taken: "unknown date", from: "nothing", source: "no table", notes: [e.description])
            }
        }
        let override = overrideFile(paths)
        if FileManager.default.fileExists(atPath: override) {
            do { table = table.merging(try load(file: override)) } catch let e as PriceTableError {
                table.notes.append("\(e.description); its overrides are ignored")
            }
        }
        return table
    }

    /// `$XDG_CONFIG_HOME/chatbench/prices.json`: single entries in LiteLLM's format, merged over the table.
    public static func overrideFile(_ paths: Paths) -> String { paths.configDirectory + "/prices.json" }

    // MARK: Lookup

    /// The entry for `model`: the exact name, then LiteLLM's `openai/` prefix form (either way), then a
    /// dated snapshot's base model (`gpt-4.1-mini-2025-04-14` → `gpt-4.1-mini`) the same two ways.
    public func entry(for model: String) -> ModelPrice? {
        var names = [model]
        if model.hasPrefix("openai/") { names.append(String(model.dropFirst(7))) } else { names.append("openai/" + model) }
        for n in names.prefix(2) {
            if let base = Self.undated(n) { names.append(base) }
        }
        for n in names { if let e = entries[n] { return e } }
        return nil
    }

    /// `NAME-YYYY-MM-DD` → `NAME`; nil when the name has no date at its end.
    static func undated(_ name: String) -> String? {
        guard let r = name.range(of: #"-\d{4}-\d{2}-\d{2}$"#, options: .regularExpression), r.lowerBound > name.startIndex else { return nil }
        return String(name[..<r.lowerBound])
    }

    /// The model's context window (`max_input_tokens`), found as `entry(for:)` finds it; nil when the
    /// table does not know the model or its window.
    public func contextWindow(for model: String) -> Int? { entry(for: model)?.maxInputTokens }

    /// `maxInputTokens(model)`: the same as `contextWindow(for:)`, in LiteLLM's words.
    public func maxInputTokens(_ model: String) -> Int? { contextWindow(for: model) }
}
