import Foundation

/// The offline server's prompt cache, by the documented rules: a prompt of at least 1,024 tokens is
/// cached; a later prompt reuses the longest cached prefix, counted in 128-token blocks up to the
/// first difference; `prompt_cache_key` separates groups; an entry lives `retention` seconds after its
/// last use (`in_memory`: the server's setting, 5 minutes by default; `"24h"`: a day).
///
/// Where the API is silent, chatbench's choices:
/// - The prompt is rendered as bytes whose length is exactly 4 × the `TokenEstimator` tokens: the
///   instructions, then each item, each as a 16-byte header naming its role or type and its text
///   (a non-message item: its JSON) padded with zero bytes to a multiple of 4 (at least 4). So a
///   128-token block is 512 bytes, and `cached_tokens` never exceeds `input_tokens`.
/// - A block is named by a chained hash: H(k) = SHA-256(H(k-1) ‖ block k), so equal names mean equal
///   prefixes. A request stores the name of every block it adds and touches its last one.
/// - A chained turn does not re-read its chain: it continues the hash from where its parent's prompt
///   ended (kept with the parent) over the parent's output and the new input. It finds a cached prefix
///   at its parent's last block or at any block it adds; a shorter prefix kept alive only by another
///   branch of the chain is not looked for.
/// - Entries live in the server's state (its SQLite file, or Redis), so every process serving it shares them.
struct PromptHasher: Codable, Equatable {
    static let blockBytes = 512
    static let minimumTokens = 1024

    /// Hash of the instructions the prompt began with (a chain continues only under the same ones).
    var instructions: String
    /// The name of the last full block ("" before the first).
    var last: String = ""
    var blocks = 0
    /// Bytes after the last full block (fewer than 512), base64.
    var tail = ""
    /// False when the prompt's context does not continue into the next turn's (a compaction replaced it).
    var continues = true

    init(instructions: String?) {
        self.instructions = Self.fingerprint(instructions)
        if let instructions, !instructions.isEmpty {
            var bytes: [UInt8] = []
            Self.render(header: "instructions", text: instructions, into: &bytes)
            _ = feedBytes(bytes)
        }
    }

    static func fingerprint(_ instructions: String?) -> String { SHA256.hash(Array((instructions ?? "").utf8)).prefix(8).map { $0 }.hex }

    /// Whether a prompt with `instructions` can continue from this one.
    func canContinue(under instructions: String?) -> Bool { continues && self.instructions == Self.fingerprint(instructions) }

    /// Feeds items; returns the (block count, name) of every block completed.
    mutating func feed(_ items: [Item]) -> [(Int, String)] {
        var bytes: [UInt8] = []
        for item in items { Self.render(item, into: &bytes) }
        return feedBytes(bytes)
    }

    private mutating func feedBytes(_ more: [UInt8]) -> [(Int, String)] {
        var bytes = (Data(base64Encoded: tail).map(Array.init) ?? []) + more
        var added: [(Int, String)] = []
        var start = 0
        while bytes.count - start >= Self.blockBytes {
            var h = SHA256()
            h.update(Array(last.utf8))
            h.update(bytes[start..<start + Self.blockBytes])
            last = h.finish().prefix(16).map { $0 }.hex
            blocks += 1
            added.append((blocks, last))
            start += Self.blockBytes
        }
        bytes.removeFirst(start)
        tail = Data(bytes).base64EncodedString()
        return added
    }

    static func render(_ item: Item, into bytes: inout [UInt8]) {
        switch item {
        case .message(let m): render(header: m.role, text: m.content.plainText, into: &bytes)
        case .opaque: render(header: item.type, text: item.jsonString(), into: &bytes)
        }
    }

    static func render(header: String, text: String, into bytes: inout [UInt8]) {
        var head = Array("<|\(header.prefix(12))|>".utf8.prefix(16))
        head += [UInt8](repeating: 0x20, count: 16 - head.count)
        bytes += head
        let body = Array(text.utf8)
        bytes += body
        let padded = max(4, (body.count + 3) / 4 * 4)
        bytes += [UInt8](repeating: 0, count: padded - body.count)
    }

    func encoded() -> String { (try? String(decoding: JSONEncoder().encode(self), as: UTF8.self)) ?? "" }
    static func decoded(_ text: String?) -> PromptHasher? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(PromptHasher.self, from: Data(text.utf8))
    }
}

/// How long cache entries live, and the request's options for them.
public struct PromptCachePolicy: Sendable, Equatable {
    /// Seconds an `in_memory` entry lives after its last use.
    public var inMemoryRetention: Double
    public static let dayRetention: Double = 86_400
    public init(inMemoryRetention: Double = 300) { self.inMemoryRetention = inMemoryRetention }

    func retention(for request: CreateResponseRequest) -> Double {
        request.prompt_cache_retention == "24h" ? Self.dayRetention : inMemoryRetention
    }
}

extension OfflineBackend {
    static let promptCacheMigration = Migration(version: 2, sql: """
        CREATE TABLE prompt_cache (
            cache_key TEXT NOT NULL,
            block TEXT NOT NULL,
            blocks INTEGER NOT NULL,
            expires REAL NOT NULL,
            PRIMARY KEY (cache_key, block)
        ) WITHOUT ROWID;
        CREATE INDEX prompt_cache_expiry ON prompt_cache(expires);
        """)

    /// Finds the longest live cached prefix of a prompt whose blocks are `base`'s last plus `added`,
    /// then stores and touches them. Returns the cached tokens (0 under 1,024 input tokens).
    func cachedTokens(base: PromptHasher?, added: [(Int, String)], inputTokens: Int, request: CreateResponseRequest) throws -> Int {
        guard inputTokens >= PromptHasher.minimumTokens else { return 0 }
        let key = request.prompt_cache_key ?? ""
        let now = clock()
        var candidates = added
        if let base, base.blocks > 0 { candidates.append((base.blocks, base.last)) }
        let best = try state.cacheLookupAndTouch(key: key, candidates: candidates, now: now, expires: now + cachePolicy.retention(for: request))
        return min(inputTokens, best * PromptHasher.blockBytes / 4)
    }
}
