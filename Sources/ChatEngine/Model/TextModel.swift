import Foundation

/// A model behind the offline backend. It reads context incrementally: `read` folds items into a
/// memory snapshot, and the server keeps one snapshot per stored response, so a chained turn costs
/// the same at depth 10 and 10,000. A model sees only the items (and instructions) it is given.
public protocol TextModel: Sendable {
    /// The model id reported in responses.
    var name: String { get }
    /// The memory after reading `items` on top of `snapshot` (nil: an empty context).
    func read(_ items: [Item], after snapshot: String?) -> String
    /// The reply to the latest user message in `snapshot`, with this request's `instructions`.
    /// (Summarizing policies ask for a summary through a request with `MemoryPolicy.summaryInstructions`.)
    func reply(to snapshot: String, instructions: String?) -> String
}

/// The one token estimator (documented so every number can be checked by hand):
/// a text costs ceil(UTF-8 bytes / 4) tokens, at least 1; an item costs 4 tokens of framing plus its
/// text (a non-message item: its compact JSON). Instructions cost like one message.
public enum TokenEstimator {
    public static let perItemOverhead = 4

    public static func tokens(_ text: String) -> Int { max(1, (text.utf8.count + 3) / 4) }

    public static func tokens(_ item: Item) -> Int {
        switch item {
        case .message(let m): return perItemOverhead + tokens(m.content.plainText)
        case .opaque: return perItemOverhead + tokens(item.jsonString())
        }
    }

    /// The longest prefix of `text`, in whole characters, of at most `limit` tokens (`text` when it fits).
    public static func prefix(_ text: String, tokens limit: Int) -> String {
        guard tokens(text) > limit else { return text }
        var bytes = 0
        var end = text.startIndex
        for i in text.indices {
            bytes += text[i].utf8.count
            if bytes > limit * 4 { break }
            end = text.index(after: i)
        }
        return String(text[..<end])
    }

    public static func tokens(_ items: [Item]) -> Int { items.reduce(0) { $0 + tokens($1) } }

    public static func tokens(instructions: String?) -> Int {
        guard let instructions, !instructions.isEmpty else { return 0 }
        return perItemOverhead + tokens(instructions)
    }
}
