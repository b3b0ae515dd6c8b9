import Foundation

/// How client mode turns a session's items into what is sent (`--policy`).
public enum MemoryPolicy: Equatable, Sendable, CustomStringConvertible {
    /// Every item.
    case all
    /// The last N items.
    case window(Int)
    /// The newest items whose tokens (by `TokenEstimator`) fit in the budget.
    case budget(Int)
    /// Once there are more than N items, older turns are replaced by one summary item the model
    /// writes; the newest `keep` items are sent as they are.
    case summarize(Int)

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let name = parts.first?.lowercased() ?? ""
        let number = parts.count == 2 ? Int(parts[1]) : nil
        switch (name, number) {
        case ("all", nil) where parts.count == 1: self = .all
        case ("window", let n?) where n >= 1: self = .window(n)
        case ("budget", let n?) where n >= 1: self = .budget(n)
        case ("summarize", let n?) where n >= 2: self = .summarize(n)
        default:
            throw ConfigurationError("bad policy '\(text)'; use all, window:N (N ≥ 1), budget:TOKENS (≥ 1) or summarize:N (N ≥ 2)")
        }
    }

    public var description: String {
        switch self {
        case .all: return "all"
        case .window(let n): return "window:\(n)"
        case .budget(let n): return "budget:\(n)"
        case .summarize(let n): return "summarize:\(n)"
        }
    }

    /// Items kept verbatim when summarizing: half of N, rounded down to whole turns, at least one turn.
    public var summarizeKeep: Int {
        guard case .summarize(let n) = self else { return 0 }
        return max(2, (n / 2) / 2 * 2)
    }

    /// Applies a non-summarizing policy: (items to send, how many were dropped).
    public func select(_ history: [Item]) -> (kept: [Item], dropped: Int) {
        switch self {
        case .all, .summarize:
            return (history, 0)
        case .window(let n):
            let kept = Array(history.suffix(n))
            return (kept, history.count - kept.count)
        case .budget(let limit):
            var total = 0
            var count = 0
            for item in history.reversed() {
                let t = TokenEstimator.tokens(item)
                if total + t > limit { break }
                total += t
                count += 1
            }
            return (Array(history.suffix(count)), history.count - count)
        }
    }

    /// The instructions that ask a model to write a summary item (the offline model recognises them).
    public static let summaryInstructions =
        "Summarize the conversation so far for your own memory. State every fact the user gave about themselves in the user's own first-person words."
}
