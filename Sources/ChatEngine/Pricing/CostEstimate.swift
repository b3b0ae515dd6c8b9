import Foundation

/// What some tokens would cost at the table's prices: an estimate, always said to be one, with the
/// date of the prices and the table entry used.
///
///     uncached input × input_cost_per_token
///   + cached input   × cache_read_input_token_cost   (the input price when the table has none)
///   + output         × output_cost_per_token
///
/// `cached` is part of `input` (as in the API's usage: `input_tokens_details.cached_tokens`).
public struct CostEstimate: Sendable, Equatable {
    /// The model priced (after --price-as and the offline default) and the table entry that priced it.
    public var model: String
    public var priceModel: String?
    /// Dollars; nil when the table has no price for the model.
    public var dollars: Double?
    /// The date the entry's prices were taken.
    public var taken: String?
    public var inputTokens: Int
    public var cachedTokens: Int
    public var outputTokens: Int
    /// Priced against no table at all (the shipped one missing, none given): said so, not "no price".
    public var noTable = false

    public init(model: String, priceModel: String?, dollars: Double?, taken: String?, inputTokens: Int, cachedTokens: Int, outputTokens: Int) {
        self.model = model
        self.priceModel = priceModel
        self.dollars = dollars
        self.taken = taken
        self.inputTokens = inputTokens
        self.cachedTokens = cachedTokens
        self.outputTokens = outputTokens
    }

    /// Prices the tokens as `model`. Token counts come from servers: negatives count as 0 and cached
    /// tokens as at most the input tokens.
    public init(model: String, inputTokens: Int, cachedTokens: Int, outputTokens: Int, table: PriceTable) {
        let input = max(0, inputTokens), output = max(0, outputTokens)
        let cached = min(max(0, cachedTokens), input)
        self.init(model: model, priceModel: nil, dollars: nil, taken: nil, inputTokens: input, cachedTokens: cached, outputTokens: output)
        noTable = table.entries.isEmpty
        guard let e = table.entry(for: model), let inPrice = e.inputCostPerToken, let outPrice = e.outputCostPerToken else { return }
        let cachedPrice = e.cacheReadInputTokenCost ?? inPrice
        priceModel = e.name
        taken = e.taken
        let exact = Double(input - cached) * inPrice + Double(cached) * cachedPrice + Double(output) * outPrice
        // To a trillionth of a dollar, so reports print 4e-05 rather than 3.9999999999999996e-05.
        dollars = (exact * 1e12).rounded() / 1e12
    }

    /// "≈$0.0123", or "no price" when the table has none.
    public var short: String { dollars.map { "≈" + Self.format($0) } ?? "no price" }

    /// "≈$0.0123 (est., prices of 2026-12-01 for gpt-4.1-mini)", or "no price for MODEL in the table"
    /// (or "no price table").
    public var label: String {
        if noTable { return "no price table (see --price-table)" }
        guard let d = dollars, let p = priceModel else { return "no price for \(OutsideText.line(model)) in the table" }
        return "≈\(Self.format(d)) (est., prices of \(taken ?? "unknown date") for \(OutsideText.line(p)))"
    }

    /// Dollars with as many decimals as small sums need: $12.34, $0.0123, $0.000041.
    public static func format(_ d: Double) -> String {
        guard d.isFinite else { return "$?" }
        if d == 0 { return "$0.00" }
        if d < 0.000001 { return "<$0.000001" }
        if d < 0.01 { return String(format: "$%.6f", d) }
        if d < 1 { return String(format: "$%.4f", d) }
        return String(format: "$%.2f", d)
    }
}

/// How turns are priced: a table and the model to price them as. Offline turns (the offline model has
/// no price) are priced as `--price-as`, else as gpt-4.1-mini; a real backend's turns as their own
/// model unless `--price-as` is given.
public struct Pricing: Sendable {
    public var table: PriceTable
    public var priceAs: String?

    /// What the offline model's turns are priced as when --price-as is not given.
    public static let offlineDefault = "gpt-4.1-mini"
    /// The offline model's name (a turn of it has no price of its own).
    public static let offlineModel = "offline-model"

    public init(table: PriceTable, priceAs: String? = nil) {
        self.table = table
        self.priceAs = priceAs.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The model a turn of `model` is priced as.
    public func model(for model: String) -> String {
        if let priceAs { return priceAs }
        return model == Self.offlineModel ? Self.offlineDefault : model
    }

    public func estimate(model: String, inputTokens: Int, cachedTokens: Int, outputTokens: Int) -> CostEstimate {
        CostEstimate(model: self.model(for: model), inputTokens: inputTokens, cachedTokens: cachedTokens, outputTokens: outputTokens, table: table)
    }
}
