import Foundation

/// `ResponseUsage`. `input_tokens` counts the whole context the model read (what the API bills).
public struct Usage: Codable, Equatable, Sendable {
    public struct InputDetails: Codable, Equatable, Sendable {
        public var cached_tokens: Int
        public var cache_write_tokens: Int?
        public init(cached_tokens: Int = 0, cache_write_tokens: Int? = 0) {
            self.cached_tokens = cached_tokens
            self.cache_write_tokens = cache_write_tokens
        }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            cached_tokens = (try? c.decodeIfPresent(Int.self, forKey: .cached_tokens)) ?? 0
            cache_write_tokens = try? c.decodeIfPresent(Int.self, forKey: .cache_write_tokens)
        }
    }
    public struct OutputDetails: Codable, Equatable, Sendable {
        public var reasoning_tokens: Int
        public init(reasoning_tokens: Int = 0) { self.reasoning_tokens = reasoning_tokens }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            reasoning_tokens = (try? c.decodeIfPresent(Int.self, forKey: .reasoning_tokens)) ?? 0
        }
    }
    public var input_tokens: Int
    public var input_tokens_details: InputDetails?
    public var output_tokens: Int
    public var output_tokens_details: OutputDetails?
    public var total_tokens: Int

    public init(input: Int, cached: Int = 0, output: Int) {
        input_tokens = input
        input_tokens_details = InputDetails(cached_tokens: cached)
        output_tokens = output
        output_tokens_details = OutputDetails()
        let (sum, overflow) = input.addingReportingOverflow(output)
        total_tokens = overflow ? Int.max : sum   // server numbers saturate, never trap
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        input_tokens = (try? c.decodeIfPresent(Int.self, forKey: .input_tokens)) ?? 0
        input_tokens_details = try? c.decodeIfPresent(InputDetails.self, forKey: .input_tokens_details)
        output_tokens = (try? c.decodeIfPresent(Int.self, forKey: .output_tokens)) ?? 0
        output_tokens_details = try? c.decodeIfPresent(OutputDetails.self, forKey: .output_tokens_details)
        total_tokens = (try? c.decodeIfPresent(Int.self, forKey: .total_tokens)) ?? input_tokens.saturatingAdd(output_tokens)
    }

    public var cachedTokens: Int { input_tokens_details?.cached_tokens ?? 0 }

    /// Two requests' usage as one (numbers saturate: they come from servers).
    public func adding(_ other: Usage) -> Usage {
        Usage(input: input_tokens.saturatingAdd(other.input_tokens), cached: cachedTokens.saturatingAdd(other.cachedTokens),
              output: output_tokens.saturatingAdd(other.output_tokens))
    }
}

/// `{ "id": "conv_…" }` on a response.
public struct ConversationRef: Codable, Equatable, Sendable {
    public var id: String
    public init(id: String) { self.id = id }
}

/// The `conversation` request field: a string id or `{ "id": … }`. Encoded as the string form.
public struct ConversationParam: Codable, Equatable, Sendable {
    public var id: String
    public init(id: String) { self.id = id }
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { id = s } else { id = try c.decode(ConversationRef.self).id }
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(id)
    }
}

/// `response.error`: `{ code, message }`.
public struct ResponseError: Codable, Equatable, Sendable {
    public var code: String?
    public var message: String
    public init(code: String?, message: String) {
        self.code = code
        self.message = message
    }
}

/// The Response object (`id`, `status`, `output` items, `usage`, …). Decoded leniently: only `id` is needed.
public struct Response: Codable, Equatable, Sendable {
    public var id: String
    public var object: String = "response"
    public var created_at: Double = 0
    public var completed_at: Double?
    public var status: String?
    public var model: String?
    public var output: [Item] = []
    public var instructions: JSONValue?
    public var previous_response_id: String?
    public var conversation: ConversationRef?
    public var error: ResponseError?
    public var incomplete_details: JSONValue?
    public var usage: Usage?
    public var metadata: [String: String]?
    public var store: Bool?
    public var background: Bool?
    public var parallel_tool_calls: Bool?
    public var tool_choice: JSONValue?
    public var tools: [JSONValue]?
    public var temperature: Double?
    public var top_p: Double?
    public var max_output_tokens: Int?
    public var truncation: String?
    public var text: JSONValue?

    public init(id: String) { self.id = id }

    enum CodingKeys: String, CodingKey {
        case id, object, created_at, completed_at, status, model, output, instructions, previous_response_id, conversation
        case error, incomplete_details, usage, metadata, store, background, parallel_tool_calls, tool_choice, tools
        case temperature, top_p, max_output_tokens, truncation, text
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        object = (try? c.decodeIfPresent(String.self, forKey: .object)) ?? "response"
        created_at = (try? c.decodeIfPresent(Double.self, forKey: .created_at)) ?? 0
        completed_at = try? c.decodeIfPresent(Double.self, forKey: .completed_at)
        status = try? c.decodeIfPresent(String.self, forKey: .status)
        model = try? c.decodeIfPresent(String.self, forKey: .model)
        output = (try? c.decodeIfPresent([Item].self, forKey: .output)) ?? []
        instructions = try? c.decodeIfPresent(JSONValue.self, forKey: .instructions)
        previous_response_id = try? c.decodeIfPresent(String.self, forKey: .previous_response_id)
        conversation = try? c.decodeIfPresent(ConversationRef.self, forKey: .conversation)
        error = try? c.decodeIfPresent(ResponseError.self, forKey: .error)
        incomplete_details = try? c.decodeIfPresent(JSONValue.self, forKey: .incomplete_details)
        usage = try? c.decodeIfPresent(Usage.self, forKey: .usage)
        metadata = try? c.decodeIfPresent([String: String].self, forKey: .metadata)
        store = try? c.decodeIfPresent(Bool.self, forKey: .store)
        background = try? c.decodeIfPresent(Bool.self, forKey: .background)
        parallel_tool_calls = try? c.decodeIfPresent(Bool.self, forKey: .parallel_tool_calls)
        tool_choice = try? c.decodeIfPresent(JSONValue.self, forKey: .tool_choice)
        tools = try? c.decodeIfPresent([JSONValue].self, forKey: .tools)
        temperature = try? c.decodeIfPresent(Double.self, forKey: .temperature)
        top_p = try? c.decodeIfPresent(Double.self, forKey: .top_p)
        max_output_tokens = try? c.decodeIfPresent(Int.self, forKey: .max_output_tokens)
        truncation = try? c.decodeIfPresent(String.self, forKey: .truncation)
        text = try? c.decodeIfPresent(JSONValue.self, forKey: .text)
    }

    /// Ends the response `incomplete` for `reason` (as `max_output_tokens`): what it output so far stays.
    public mutating func markIncomplete(reason: String) {
        status = "incomplete"
        incomplete_details = .object(["reason": .string(reason)])
        completed_at = nil
    }

    /// The SDK-only `output_text` convenience: all `output_text` of all assistant messages, joined.
    public var outputText: String {
        output.compactMap(\.message).filter { $0.role == "assistant" }.map(\.content.plainText).joined()
    }
}

/// The `input` request field: a string ("a text input with the user role") or a list of items.
public enum ResponseInput: Codable, Equatable, Sendable {
    case text(String)
    case items([Item])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .text(s) } else { self = .items(try c.decode([Item].self)) }
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .text(let s): try c.encode(s)
        case .items(let i): try c.encode(i)
        }
    }
    /// The input as items: a string becomes one easy user message.
    public var items: [Item] {
        switch self {
        case .text(let s): return [.userText(s)]
        case .items(let i): return i
        }
    }
}

/// `POST /v1/responses` body. Fields not set are omitted when encoded; unknown fields are ignored.
public struct CreateResponseRequest: Codable, Equatable, Sendable {
    public var model: String?
    public var input: ResponseInput?
    public var instructions: String?
    public var previous_response_id: String?
    public var conversation: ConversationParam?
    public var store: Bool?
    public var stream: Bool?
    public var metadata: [String: String]?
    public var max_output_tokens: Int?
    public var include: [String]?
    public var tools: [JSONValue]?
    public var tool_choice: JSONValue?
    public var temperature: Double?
    public var top_p: Double?
    public var truncation: String?
    public var background: Bool?
    public var stream_options: JSONValue?
    public var context_management: JSONValue?
    public var text: JSONValue?
    public var reasoning: JSONValue?
    public var parallel_tool_calls: Bool?
    public var prompt_cache_key: String?
    /// `"in_memory"` (the default) or `"24h"`.
    public var prompt_cache_retention: String?

    public init(model: String? = nil, input: ResponseInput? = nil, instructions: String? = nil,
                previousResponseID: String? = nil, conversation: String? = nil, store: Bool? = nil, stream: Bool? = nil) {
        self.model = model
        self.input = input
        self.instructions = instructions
        self.previous_response_id = previousResponseID
        self.conversation = conversation.map(ConversationParam.init(id:))
        self.store = store
        self.stream = stream
    }
}

/// The reply of `POST /v1/responses/compact`: the context's user messages, then one compaction item,
/// to be sent as the next request's input.
public struct CompactedResponse: Codable, Equatable, Sendable {
    public var id: String
    public var object: String = "response.compaction"
    public var created_at: Int
    public var output: [Item]
    public var usage: Usage
    public init(id: String, created_at: Int, output: [Item], usage: Usage) {
        self.id = id
        self.created_at = created_at
        self.output = output
        self.usage = usage
    }
}

/// The Conversation object.
public struct Conversation: Codable, Equatable, Sendable {
    public var id: String
    public var object: String = "conversation"
    public var created_at: Int
    public var metadata: [String: String]

    public init(id: String, created_at: Int, metadata: [String: String]) {
        self.id = id
        self.created_at = created_at
        self.metadata = metadata
    }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        object = (try? c.decodeIfPresent(String.self, forKey: .object)) ?? "conversation"
        created_at = (try? c.decodeIfPresent(Int.self, forKey: .created_at)) ?? 0
        metadata = (try? c.decodeIfPresent([String: String].self, forKey: .metadata)) ?? [:]
    }
}

/// `{ object: "list", data, first_id, last_id, has_more }` for input items and conversation items.
public struct ItemList: Codable, Equatable, Sendable {
    public var object: String = "list"
    public var data: [Item]
    public var first_id: String?
    public var last_id: String?
    public var has_more: Bool

    public init(data: [Item], hasMore: Bool) {
        self.data = data
        first_id = data.first?.id
        last_id = data.last?.id
        has_more = hasMore
    }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        object = (try? c.decodeIfPresent(String.self, forKey: .object)) ?? "list"
        data = (try? c.decodeIfPresent([Item].self, forKey: .data)) ?? []
        first_id = try? c.decodeIfPresent(String.self, forKey: .first_id)
        last_id = try? c.decodeIfPresent(String.self, forKey: .last_id)
        has_more = (try? c.decodeIfPresent(Bool.self, forKey: .has_more)) ?? false
    }
}

/// `{ id, object: "response" | "conversation.deleted", deleted: true }`.
public struct DeletedObject: Codable, Equatable, Sendable {
    public var id: String
    public var object: String
    public var deleted: Bool
    public init(id: String, object: String, deleted: Bool = true) {
        self.id = id
        self.object = object
        self.deleted = deleted
    }
}

/// Paging for list endpoints: `limit` 1–100 (default 20), `order` asc|desc (default desc), `after` an item id.
public struct ListQuery: Equatable, Sendable {
    public var limit: Int
    public var order: String
    public var after: String?
    public init(limit: Int = 20, order: String = "desc", after: String? = nil) {
        self.limit = limit
        self.order = order
        self.after = after
    }
}

/// `POST /v1/conversations` body. Empty items or metadata are left out, as the SDKs send `{}`;
/// the runner counts and the HTTP backend sends this same body.
public struct CreateConversationBody: Codable, Equatable, Sendable {
    public var items: [Item]?
    public var metadata: [String: String]?
    public init(items: [Item], metadata: [String: String]) {
        self.items = items.isEmpty ? nil : items
        self.metadata = metadata.isEmpty ? nil : metadata
    }
}

/// `POST /v1/conversations/{id}/items` body.
public struct AddItemsBody: Codable, Equatable, Sendable {
    public var items: [Item]
    public init(items: [Item]) { self.items = items }
}
