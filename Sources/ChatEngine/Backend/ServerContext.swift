import Foundation

/// One item of a rebuilt context and where it sits. In a chain: the depth of the response it belongs
/// to and its index among that response's own items (input, then output; -1 for the conversation
/// items a chain's first response was made after). In a conversation: its sequence number.
struct PlacedItem {
    var item: Item
    var depth: Int
    var position: Int
}

/// What the server keeps for a conversation between turns (see `conversationState`).
struct ConversationContext {
    /// The model's memory of its context (nil, as stored: to be rebuilt from the items).
    var snapshot: String?
    var tokens: Int
    var seq: Int
    /// The first item of its context (earlier ones are behind a compaction or truncated away).
    var start: Int
    /// The prompt-cache hash state after the last turn's prompt, and that prompt's last item.
    var prompt: PromptHasher?
    var promptSeq: Int
}

extension OfflineBackend {
    /// Every item a turn sees before its new input, oldest first: the chain behind
    /// `previous_response_id` from where its context begins, or the conversation's items from its start.
    /// Used when the model's memory or the prompt-cache state must be rebuilt, and by the gateway.
    func contextItems(_ p: Plan) throws -> [PlacedItem] {
        if let prev = p.request.previous_response_id { return try chainItems(endingAt: prev, startDepth: p.startDepth, startSkip: p.startSkip) }
        if let conv = p.request.conversation?.id { return try conversationItems(conv, from: p.conversationFrom) }
        return []
    }

    /// The items of the responses from depth `startDepth` to `last` (one recursive query that stops
    /// there), minus the first `startSkip` items of the response at `startDepth`. A chain that began
    /// in a conversation starts with that conversation's items up to its first response's output.
    func chainItems(endingAt last: String, startDepth: Int = 1, startSkip: Int = 0) throws -> [PlacedItem] {
        let rows = try state.chainRows(endingAt: last, startDepth: startDepth)
        var items: [PlacedItem] = []
        var root: [PlacedItem] = []
        var rootConversation: String?
        var rootLastOutput: String?
        var depth = -1, index = 0
        for row in rows {
            guard let item = Item.parse(row.data) else { continue }
            let d = row.depth
            if d != depth { depth = d; index = 0 }
            let placed = PlacedItem(item: item, depth: d, position: index)
            index += 1
            if let conv = row.conversation {   // only a chain's first response can be in a conversation
                rootConversation = conv
                root.append(placed)
                if row.output { rootLastOutput = item.id }
            } else {
                items.append(placed)
            }
        }
        if let conv = rootConversation, let out = rootLastOutput, let rootDepth = root.first?.depth {
            let prefix = try state.conversationItems(conv, through: out)
            if !prefix.isEmpty {   // (its output was deleted from the conversation: its own items)
                let own = Dictionary(root.compactMap { p in p.item.id.map { ($0, p.position) } }, uniquingKeysWith: { a, _ in a })
                root = prefix.map { PlacedItem(item: $0, depth: rootDepth, position: $0.id.flatMap { own[$0] } ?? -1) }
            }
        }
        return (root + items).filter { p in
            p.depth > startDepth || (p.depth == startDepth && (p.position >= startSkip || (p.position == -1 && startSkip == 0)))
        }
    }

    /// A conversation's items from sequence number `first` on.
    func conversationItems(_ id: String, from first: Int) throws -> [PlacedItem] {
        try state.conversationItems(id, from: first)
            .compactMap { row in Item.parse(row.data).map { PlacedItem(item: $0, depth: 0, position: row.seq) } }
    }
}
