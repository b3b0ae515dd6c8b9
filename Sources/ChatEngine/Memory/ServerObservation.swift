import Foundation

/// "Ask the server": what a server really holds for a turn's chain or conversation, read through the
/// API (paged), to set beside what the workbench infers from its own rows. Bounded: at most
/// `maxRequests` requests, and it says when it stopped early.
public enum ServerObservation {
    public static let maxRequests = 60

    public static func observe(_ t: TurnRecord, backend: ResponsesBackend) async throws -> String {
        var requests = 0
        if t.mode == .conversation, let conv = t.conversationID {
            let (items, complete) = try await all(&requests) { after in
                try await backend.listConversationItems(conversationID: conv, query: ListQuery(limit: 100, order: "asc", after: after))
            }
            return "\(count(items.count, "item")) in \(IDs.short(conv))\(describe(counts(items)))" + (complete ? "" : ", stopped after \(requests) pages")
        }
        guard let id = t.responseID else { return "no response to ask about" }
        // A chain: each response's own input items and output, walking back along previous_response_id.
        var cursor: String? = id
        var responses = 0, total = 0
        var counts: [String: Int] = [:]
        while let current = cursor, requests < maxRequests {
            let r: Response
            do { r = try await backend.retrieveResponse(id: current) } catch let e as APIError where e.status == 404 {
                return "\(count(total, "item")) in \(count(responses, "response")); \(IDs.short(current)) is gone (\(e.code ?? "404"))"
            }
            requests += 1
            // Past a compaction the server no longer reads what came before it: the compaction item on.
            if let c = r.output.firstIndex(where: { $0.type == "compaction" }) {
                for item in r.output[c...] { counts[item.type, default: 0] += 1 }
                total += r.output.count - c
                responses += 1
                cursor = nil
                break
            }
            let (input, _) = try await all(&requests) { after in
                try await backend.listInputItems(responseID: current, query: ListQuery(limit: 100, order: "asc", after: after))
            }
            for item in input { counts[item.type, default: 0] += 1 }
            total += input.count
            for item in r.output { counts[item.type, default: 0] += 1 }
            total += r.output.count
            responses += 1
            cursor = r.previous_response_id
        }
        return "\(count(total, "item")) in \(count(responses, "response"))\(describe(counts))" + (cursor != nil ? ", stopped after \(requests) requests" : "")
    }

    /// Every item of a paged list, oldest first, within the request budget (`complete`: it was all read).
    static func all(_ requests: inout Int, _ page: (String?) async throws -> ItemList) async throws -> (items: [Item], complete: Bool) {
        var items: [Item] = []
        var after: String?
        repeat {
            let p = try await page(after)
            requests += 1
            items += p.data
            after = p.has_more ? p.data.last?.id : nil
        } while after != nil && requests < maxRequests
        return (items, after == nil)
    }

    static func counts(_ items: [Item]) -> [String: Int] { items.reduce(into: [:]) { $0[$1.type, default: 0] += 1 } }

    /// The items by type, in parentheses after a space (" (1 compaction, 6 messages)"); nothing when none.
    static func describe(_ counts: [String: Int]) -> String {
        counts.isEmpty ? "" : " (" + counts.sorted { $0.key < $1.key }.map { count($0.value, $0.key) }.joined(separator: ", ") + ")"
    }

    /// "1 message", "6 messages".
    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
}
