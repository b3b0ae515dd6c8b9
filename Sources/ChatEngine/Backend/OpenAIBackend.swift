import Foundation

/// Decodes SSE events into Responses stream events and checks that the stream really ended.
func responseEvents(_ sse: AsyncThrowingStream<SSEEvent, Error>, cancel: StreamCancel) -> AsyncThrowingStream<ResponseStreamEvent, Error> {
    AsyncThrowingStream { continuation in
        let task = Task {
            do {
                var ended = false
                for try await e in sse {
                    if e.data.hasPrefix("[DONE]") { break }
                    let event: ResponseStreamEvent
                    do {
                        event = try StreamEventDecoder.decode(e.data)
                    } catch {
                        // A data payload with a top-level "error" is an error (as the SDK reads it).
                        if let env = try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(e.data.utf8)) {
                            throw env.apiError(status: 500, requestID: nil)
                        }
                        throw APIError(status: 200, type: "invalid_response", code: "malformed_event",
                                       message: unreadableResponseEvent(e.data))
                    }
                    continuation.yield(event)
                    if event.isTerminal { ended = true; break }
                }
                try Task.checkCancellation()
                if !ended {
                    throw APIError(status: 200, type: "stream_error", code: "truncated_stream",
                                   message: "the stream ended before the response completed (no response.completed event)")
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.stopOnTermination(task, cancel)   // the request stops now, not when the decoding task next runs
    }
}

/// Why a Responses stream event could not be read: text that does not parse is "not valid JSON";
/// valid JSON of another shape is "not a Responses stream event", with a hint when it is a Chat
/// Completions chunk (the Responses backend pointed at a chat-only server).
func unreadableResponseEvent(_ data: String) -> String {
    guard let json = try? JSONSerialization.jsonObject(with: Data(data.utf8), options: .fragmentsAllowed) else {
        return "the stream sent an event that is not valid JSON: \(data.prefix(80))"
    }
    var text = "the stream sent an event that is not a Responses stream event: \(data.prefix(80))"
    if let object = json as? [String: Any], object["object"] as? String == "chat.completion.chunk" || (object["type"] == nil && object["choices"] != nil) {
        text += " (it looks like a Chat Completions chunk: for a chat-only server use --api chat, or --backend gateway to keep the Responses state in chatbench)"
    }
    return text
}

/// The OpenAI Responses + Conversations API (or any server with the same API) over HTTP.
public final class OpenAIBackend: ResponsesBackend, @unchecked Sendable {
    public let info: BackendInfo
    let http: HTTPTransport

    public init(config: HTTPConfig, defaultModel: String = "gpt-4.1-mini") {
        http = HTTPTransport(config: config)
        let official = config.baseURL.host == "api.openai.com"
        let place = official ? "OpenAI API" : "server at \(config.baseURL.host ?? "?")\(config.baseURL.port.map { ":\($0)" } ?? "")"
        info = BackendInfo(name: "openai", displayName: "\(place) (key \(HTTPConfig.maskedHint(config.apiKey)))", defaultModel: defaultModel, isOffline: false)
    }

    static func enc<T: Encodable>(_ v: T) throws -> Data { try WireJSON.encode(v) }
    static func listQuery(_ q: ListQuery) -> [(String, String)] {
        var out = [("limit", String(q.limit)), ("order", q.order)]
        if let after = q.after { out.append(("after", after)) }
        return out
    }

    public func createResponse(_ request: CreateResponseRequest) async throws -> Response {
        var r = request
        r.stream = nil
        return try await http.json(Response.self, "POST", "responses", body: try requestBody(r))
    }

    public func streamResponse(_ request: CreateResponseRequest) -> AsyncThrowingStream<ResponseStreamEvent, Error> {
        var r = request
        r.stream = true
        guard let body = try? requestBody(r) else {
            return AsyncThrowingStream { $0.finish(throwing: APIError.invalidRequest("the request could not be encoded")) }
        }
        let cancel = StreamCancel()
        return responseEvents(http.stream("responses", body: body, cancel: cancel), cancel: cancel)
    }

    public func retrieveResponse(id: String) async throws -> Response {
        try await http.json(Response.self, "GET", "responses/\(id)")
    }

    public func compactResponse(_ request: CreateResponseRequest) async throws -> CompactedResponse {
        try await http.json(CompactedResponse.self, "POST", "responses/compact", body: try WireJSON.encode(request))
    }

    public func deleteResponse(id: String) async throws -> DeletedObject {
        let data = try await http.send("DELETE", "responses/\(id)")
        return (try? JSONDecoder().decode(DeletedObject.self, from: data)) ?? DeletedObject(id: id, object: "response")
    }

    public func listInputItems(responseID: String, query: ListQuery) async throws -> ItemList {
        try await http.json(ItemList.self, "GET", "responses/\(responseID)/input_items", query: Self.listQuery(query))
    }

    public func createConversation(items: [Item], metadata: [String: String]) async throws -> Conversation {
        try await http.json(Conversation.self, "POST", "conversations",
                            body: try Self.enc(CreateConversationBody(items: items, metadata: metadata)))
    }

    public func getConversation(id: String) async throws -> Conversation {
        try await http.json(Conversation.self, "GET", "conversations/\(id)")
    }

    public func updateConversation(id: String, metadata: [String: String]) async throws -> Conversation {
        try await http.json(Conversation.self, "POST", "conversations/\(id)", body: try Self.enc(["metadata": metadata]))
    }

    public func deleteConversation(id: String) async throws -> DeletedObject {
        try await http.json(DeletedObject.self, "DELETE", "conversations/\(id)")
    }

    public func addConversationItems(conversationID: String, items: [Item]) async throws -> ItemList {
        try await http.json(ItemList.self, "POST", "conversations/\(conversationID)/items", body: try Self.enc(AddItemsBody(items: items)))
    }

    public func listConversationItems(conversationID: String, query: ListQuery) async throws -> ItemList {
        try await http.json(ItemList.self, "GET", "conversations/\(conversationID)/items", query: Self.listQuery(query))
    }

    public func getConversationItem(conversationID: String, itemID: String) async throws -> Item {
        try await http.json(Item.self, "GET", "conversations/\(conversationID)/items/\(itemID)")
    }

    public func deleteConversationItem(conversationID: String, itemID: String) async throws -> Conversation {
        try await http.json(Conversation.self, "DELETE", "conversations/\(conversationID)/items/\(itemID)")
    }
}

// MARK: - Chat Completions

/// Chat Completions wire shapes: `messages` in, one `choices[0].message` (or `delta` chunks) out.
struct ChatRequest: Codable {
    struct Msg: Codable { var role: String; var content: String }
    var model: String
    var messages: [Msg]
    var stream: Bool?
    var stream_options: [String: Bool]?
    /// Structured output: the Responses `text.format` json_schema in Chat Completions' form.
    var response_format: JSONValue?
}

struct ChatReply: Decodable {
    struct Choice: Decodable {
        struct Message: Decodable { var content: String? }
        var message: Message?
        var delta: Message?
        var finish_reason: String?
    }
    struct ChatUsage: Decodable {
        struct Details: Decodable {
            var cached_tokens: Int?
            enum CodingKeys: String, CodingKey { case cached_tokens }
            init(from decoder: Decoder) throws {
                cached_tokens = try decoder.container(keyedBy: CodingKeys.self).saturatedCount(.cached_tokens)
            }
        }
        var prompt_tokens: Int?
        var completion_tokens: Int?
        var prompt_tokens_details: Details?
        enum CodingKeys: String, CodingKey { case prompt_tokens, completion_tokens, prompt_tokens_details }
        /// A server's counts are read without trapping or failing: absurd numbers saturate, negatives are 0.
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            prompt_tokens = c.saturatedCount(.prompt_tokens)
            completion_tokens = c.saturatedCount(.completion_tokens)
            prompt_tokens_details = try? c.decodeIfPresent(Details.self, forKey: .prompt_tokens_details)
        }
    }
    var id: String?
    var choices: [Choice]?
    var usage: ChatUsage?

    var asUsage: Usage? {
        usage.map { Usage(input: $0.prompt_tokens ?? 0, cached: $0.prompt_tokens_details?.cached_tokens ?? 0, output: $0.completion_tokens ?? 0) }
    }
}

extension KeyedDecodingContainer {
    /// A token count from a server: saturated to 0…Int.max; nil when absent or not a number.
    func saturatedCount(_ key: Key) -> Int? {
        guard let v = try? decodeIfPresent(JSONValue.self, forKey: key) else { return nil }
        switch v {
        case .int(let i): return Int(clamping: max(0, i))
        case .double(let d) where d.isFinite: return d <= 0 ? 0 : d >= 9.2e18 ? Int.max : Int(d)
        default: return nil
        }
    }
}

/// Client mode against servers that only speak Chat Completions (Ollama, llama.cpp, vLLM): the whole
/// history as `messages`, instructions as a leading system message. Such servers keep no state, so the
/// server-side operations answer with a clear error.
public final class ChatCompletionsBackend: ResponsesBackend, @unchecked Sendable {
    public let info: BackendInfo
    let http: HTTPTransport

    public init(config: HTTPConfig, defaultModel: String = "gpt-4.1-mini") {
        http = HTTPTransport(config: config)
        info = BackendInfo(name: "openai", displayName: "chat completions at \(config.baseURL.host ?? "?")\(config.baseURL.port.map { ":\($0)" } ?? "") (key \(HTTPConfig.maskedHint(config.apiKey)))",
                           defaultModel: defaultModel, isOffline: false)
    }

    static let noState = APIError(status: 400, type: "unsupported", code: "stateless_api",
                                  message: "the Chat Completions API keeps no server state; use client mode (--mode client)")

    func chatRequest(_ r: CreateResponseRequest, stream: Bool) -> ChatRequest {
        var messages: [ChatRequest.Msg] = []
        if let i = r.instructions, !i.isEmpty { messages.append(.init(role: "system", content: i)) }
        for item in r.input?.items ?? [] {
            guard let m = item.message else { continue }  // tool items have no Chat Completions form here
            messages.append(.init(role: m.role == "developer" ? "system" : m.role, content: m.content.plainText))
        }
        var format: JSONValue?
        if let f = r.text?["format"], f["type"]?.stringValue == "json_schema" {
            var schema: [String: JSONValue] = [:]
            for key in ["name", "schema", "strict", "description"] { if let v = f[key] { schema[key] = v } }
            format = .object(["type": .string("json_schema"), "json_schema": .object(schema)])
        }
        return ChatRequest(model: r.model ?? info.defaultModel, messages: messages, stream: stream ? true : nil,
                           stream_options: stream ? ["include_usage": true] : nil, response_format: format)
    }

    public func requestBody(_ request: CreateResponseRequest) throws -> Data {
        try WireJSON.encode(chatRequest(request, stream: request.stream == true))
    }

    func response(id: String?, text: String, usage: Usage?, model: String?) -> Response {
        var r = Response(id: id ?? IDs.make("chatcmpl"))
        r.status = "completed"
        r.model = model
        r.output = [.assistantMessage(id: IDs.make("msg"), text: text)]
        r.usage = usage
        return r
    }

    public func createResponse(_ request: CreateResponseRequest) async throws -> Response {
        guard request.previous_response_id == nil, request.conversation == nil else { throw Self.noState }
        var r = request
        r.stream = nil
        let reply = try await http.json(ChatReply.self, "POST", "chat/completions", body: try requestBody(r))
        guard let text = reply.choices?.first?.message?.content else {
            throw APIError(status: 200, type: "invalid_response", code: "no_choices", message: "the chat completion has no message")
        }
        return response(id: reply.id, text: text, usage: reply.asUsage, model: request.model)
    }

    /// Maps the data-only chunk stream (ending in `[DONE]`, an optional usage chunk before it) onto the
    /// Responses events the runner reads: text deltas, then `response.completed`.
    public func streamResponse(_ request: CreateResponseRequest) -> AsyncThrowingStream<ResponseStreamEvent, Error> {
        guard request.previous_response_id == nil, request.conversation == nil else {
            return AsyncThrowingStream { $0.finish(throwing: Self.noState) }
        }
        var r = request
        r.stream = true
        guard let body = try? requestBody(r) else {
            return AsyncThrowingStream { $0.finish(throwing: APIError.invalidRequest("the request could not be encoded")) }
        }
        let cancel = StreamCancel()
        let sse = http.stream("chat/completions", body: body, cancel: cancel)
        return AsyncThrowingStream { continuation in
            let task = Task { [self] in
                do {
                    var text = ""
                    var id: String?
                    var usage: Usage?
                    var finished = false
                    var done = false
                    var seq = 0
                    for try await e in sse {
                        if e.data.hasPrefix("[DONE]") { done = true; break }
                        guard let chunk = try? JSONDecoder().decode(ChatReply.self, from: Data(e.data.utf8)) else {
                            if let env = try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(e.data.utf8)) {
                                throw env.apiError(status: 500, requestID: nil)
                            }
                            throw APIError(status: 200, type: "invalid_response", code: "malformed_event",
                                           message: "the stream sent a chunk that is not valid JSON: \(e.data.prefix(80))")
                        }
                        id = id ?? chunk.id
                        if let u = chunk.asUsage { usage = u }
                        for choice in chunk.choices ?? [] {
                            if let d = choice.delta?.content, !d.isEmpty {
                                text += d
                                continuation.yield(.textDelta(itemID: id ?? "", index: 0, delta: d, seq: seq))
                                seq += 1
                            }
                            if choice.finish_reason != nil { finished = true }
                        }
                    }
                    try Task.checkCancellation()
                    guard done || finished else {
                        throw APIError(status: 200, type: "stream_error", code: "truncated_stream",
                                       message: "the stream ended before the completion finished (no finish_reason or [DONE])")
                    }
                    continuation.yield(.lifecycle("response.completed", response(id: id, text: text, usage: usage, model: request.model), seq: seq))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.stopOnTermination(task, cancel)
        }
    }

    public func retrieveResponse(id: String) async throws -> Response { throw Self.noState }
    public func deleteResponse(id: String) async throws -> DeletedObject { throw Self.noState }
    public func listInputItems(responseID: String, query: ListQuery) async throws -> ItemList { throw Self.noState }
    public func createConversation(items: [Item], metadata: [String: String]) async throws -> Conversation { throw Self.noState }
    public func getConversation(id: String) async throws -> Conversation { throw Self.noState }
    public func updateConversation(id: String, metadata: [String: String]) async throws -> Conversation { throw Self.noState }
    public func deleteConversation(id: String) async throws -> DeletedObject { throw Self.noState }
    public func addConversationItems(conversationID: String, items: [Item]) async throws -> ItemList { throw Self.noState }
    public func listConversationItems(conversationID: String, query: ListQuery) async throws -> ItemList { throw Self.noState }
    public func getConversationItem(conversationID: String, itemID: String) async throws -> Item { throw Self.noState }
    public func deleteConversationItem(conversationID: String, itemID: String) async throws -> Conversation { throw Self.noState }
}
