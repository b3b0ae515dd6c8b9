import Foundation

/// What a backend is, for the status bar and the turn records.
public struct BackendInfo: Sendable, Equatable {
    public var name: String          // "offline" | "openai"
    public var displayName: String   // "offline backend (offline model)" …
    public var defaultModel: String
    public var isOffline: Bool
    public init(name: String, displayName: String, defaultModel: String, isOffline: Bool) {
        self.name = name
        self.displayName = displayName
        self.defaultModel = defaultModel
        self.isOffline = isOffline
    }
}

/// The Responses + Conversations operations (create, stream, retrieve, delete, input items;
/// conversations and their items). The offline backend and the
/// HTTP backend implement the same protocol, with the same wire types and the same errors (`APIError`).
public protocol ResponsesBackend: Sendable {
    var info: BackendInfo { get }

    func createResponse(_ request: CreateResponseRequest) async throws -> Response
    /// Streaming create: the event sequence of §5.2 ending in a terminal event. Throws `APIError`
    /// for a request the server refuses before streaming. Ending the iteration cancels the request.
    func streamResponse(_ request: CreateResponseRequest) -> AsyncThrowingStream<ResponseStreamEvent, Error>
    func retrieveResponse(id: String) async throws -> Response
    func deleteResponse(id: String) async throws -> DeletedObject
    func listInputItems(responseID: String, query: ListQuery) async throws -> ItemList

    func createConversation(items: [Item], metadata: [String: String]) async throws -> Conversation
    func getConversation(id: String) async throws -> Conversation
    func updateConversation(id: String, metadata: [String: String]) async throws -> Conversation
    func deleteConversation(id: String) async throws -> DeletedObject
    func addConversationItems(conversationID: String, items: [Item]) async throws -> ItemList
    func listConversationItems(conversationID: String, query: ListQuery) async throws -> ItemList
    func getConversationItem(conversationID: String, itemID: String) async throws -> Item
    func deleteConversationItem(conversationID: String, itemID: String) async throws -> Conversation

    /// The exact HTTP body this backend sends for a create request (what `request_bytes` counts).
    func requestBody(_ request: CreateResponseRequest) throws -> Data

    /// `POST /responses/compact`: the context of `previous_response_id` and/or `input`, compacted.
    func compactResponse(_ request: CreateResponseRequest) async throws -> CompactedResponse
}

extension ResponsesBackend {
    public func requestBody(_ request: CreateResponseRequest) throws -> Data { try WireJSON.encode(request) }

    public func compactResponse(_ request: CreateResponseRequest) async throws -> CompactedResponse {
        throw APIError.invalidRequest("The \(info.displayName) has no compaction endpoint.", code: "unsupported")
    }
}

/// Random, unguessable ids with the API's prefixes: `resp_`, `msg_`, `conv_`, … followed by 48 hex digits
/// (192 bits from the system's secure generator).
public enum IDs {
    public static func make(_ prefix: String) -> String {
        var g = SystemRandomNumberGenerator()
        let hex = (0..<3).map { _ in String(format: "%016llx", g.next() as UInt64) }.joined()
        return prefix + "_" + hex
    }
    /// "resp_7f3a1c…" → "resp_7f3a" (for panels).
    public static func short(_ id: String, keep: Int = 4) -> String {
        guard let us = id.firstIndex(of: "_") else { return String(id.prefix(keep + 5)) }
        let body = id[id.index(after: us)...]
        return String(id[...us]) + body.prefix(keep) + (body.count > keep ? "…" : "")
    }
}
