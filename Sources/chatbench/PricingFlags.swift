import ChatEngine
import Foundation

/// `--price-table FILE` and `--price-as MODEL`, shared by the commands that show dollars.
enum PricingFlags {
    static let flags = [
        FlagSpec("--price-table", "FILE", "price table in LiteLLM's model_prices_and_context_window.json format (default: $CHATBENCH_PRICE_TABLE, else the shipped one; $XDG_CONFIG_HOME/chatbench/prices.json overrides entries)"),
        FlagSpec("--price-as", "MODEL", "price every turn as MODEL (default: the turn's own model; the offline model's as \(Pricing.offlineDefault))"),
    ]

    /// The table and --price-as. A table that cannot be used is a configuration error; what was
    /// ignored in it is printed to standard error when `warn` (the screen shows it instead).
    static func load(_ inv: Invocation, warn: Bool = true) throws -> Pricing {
        let table: PriceTable
        do {
            table = try PriceTable.resolve(file: inv.value("--price-table"), environment: inv.environment, paths: Paths(environment: inv.environment))
        } catch let e as PriceTableError {
            throw ConfigurationError(e.description)
        }
        if warn { for line in noteLines(table) { CLI.printError("chatbench: note: " + line) } }
        if let m = inv.value("--price-as"), m.isEmpty || m.count > 200 { throw ConfigurationError("--price-as takes a model name from the price table") }
        return Pricing(table: table, priceAs: inv.value("--price-as"))
    }

    /// At most a few notes, then how many more (LiteLLM's whole file may hold many odd entries).
    static func noteLines(_ t: PriceTable) -> [String] {
        t.notes.count <= 3 ? t.notes : Array(t.notes.prefix(3)) + ["… and \(t.notes.count - 3) more ignored fields or entries"]
    }
}
