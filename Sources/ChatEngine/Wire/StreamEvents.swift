import Foundation

/// An API error: the OpenAI error envelope plus HTTP status and `x-request-id`.
/// Its description never contains request headers (so never the key).
public struct APIError: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: Int
    public var type: String
    public var code: String?
    public var param: String?
    public var message: String
    public var requestID: String?

    public init(status: Int, type: String, code: String? = nil, param: String? = nil, message: String, requestID: String? = nil) {
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.message = message
        self.requestID = requestID
    }

    /// "STATUS type (code): message"; without the status when there was no HTTP reply (status 0).
    public var description: String {
        var s = status == 0 ? type : "\(status) \(type)"
        if let code { s += " (\(code))" }
        s += ": \(message)"
        if let requestID { s += " [request \(requestID)]" }
        return s
    }

    public var isPreviousResponseNotFound: Bool { code == "previous_response_not_found" }

    // Constructors for the cases the offline backend and `serve` produce.
    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 400, type: "invalid_request_error", code: code, param: param, message: message)
    }
    /// An id from a client, as it is quoted back in an error: at most 100 characters (a 10 MB id once
    /// came back whole).
    public static func clip(_ id: String) -> String { id.count <= 100 ? id : String(id.prefix(100)) + "…" }

    public static func notFound(_ message: String, param: String? = nil) -> APIError {
        APIError(status: 404, type: "invalid_request_error", code: "not_found", param: param, message: message)
    }
    public static func previousResponseNotFound(_ id: String, detail: String? = nil) -> APIError {
        APIError(status: 400, type: "invalid_request_error", code: "previous_response_not_found", param: "previous_response_id",
                 message: "Previous response with id '\(clip(id))' not found." + (detail.map { " \($0)" } ?? ""))
    }
}

/// `{"error": {"message", "type", "param", "code"}}`; `param` and `code` are written even when null.
public struct ErrorEnvelope: Codable, Equatable, Sendable {
    public struct Body: Codable, Equatable, Sendable {
        public var message: String
        public var type: String
        public var param: String?
        public var code: String?
        enum CodingKeys: String, CodingKey { case message, type, param, code }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(message, forKey: .message)
            try c.encode(type, forKey: .type)
            try c.encode(param, forKey: .param)
            try c.encode(code, forKey: .code)
        }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            message = (try? c.decodeIfPresent(String.self, forKey: .message)) ?? "unknown error"
            type = (try? c.decodeIfPresent(String.self, forKey: .type)) ?? "api_error"
            param = try? c.decodeIfPresent(String.self, forKey: .param)
            // `code` is sometimes a number on other servers: keep its text.
            if let s = try? c.decodeIfPresent(String.self, forKey: .code) { code = s }
            else if let i = try? c.decodeIfPresent(Int.self, forKey: .code) { code = String(i) }
            else { code = nil }
        }
        init(message: String, type: String, param: String?, code: String?) {
            self.message = message
            self.type = type
            self.param = param
            self.code = code
        }
    }
    public var error: Body

    public init(_ e: APIError) { error = Body(message: e.message, type: e.type, param: e.param, code: e.code) }

    public func apiError(status: Int, requestID: String?) -> APIError {
        APIError(status: status, type: error.type, code: error.code, param: error.param, message: error.message, requestID: requestID)
    }
}

/// One Responses streaming event (`response.created` … `response.completed`, or `error`). Every event type shares this flat shape:
/// fields an event does not have stay nil and are omitted; unknown event types decode too.
public struct ResponseStreamEvent: Codable, Equatable, Sendable {
    public var type: String
    public var sequence_number: Int?
    public var response: Response?
    public var output_index: Int?
    public var item: Item?
    public var item_id: String?
    public var content_index: Int?
    public var part: ContentPart?
    public var delta: String?
    public var text: String?
    public var logprobs: [JSONValue]?
    public var obfuscation: String?
    // `error` events
    public var code: String?
    public var message: String?
    public var param: String?

    public init(type: String, sequence: Int?) {
        self.type = type
        self.sequence_number = sequence
    }

    enum CodingKeys: String, CodingKey {
        case type, sequence_number, response, output_index, item, item_id, content_index, part, delta, text, logprobs, obfuscation
        case code, message, param
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        sequence_number = try? c.decodeIfPresent(Int.self, forKey: .sequence_number)
        response = try c.decodeIfPresent(Response.self, forKey: .response)
        output_index = try? c.decodeIfPresent(Int.self, forKey: .output_index)
        item = try c.decodeIfPresent(Item.self, forKey: .item)
        item_id = try? c.decodeIfPresent(String.self, forKey: .item_id)
        content_index = try? c.decodeIfPresent(Int.self, forKey: .content_index)
        part = try? c.decodeIfPresent(ContentPart.self, forKey: .part)
        delta = try? c.decodeIfPresent(String.self, forKey: .delta)
        text = try? c.decodeIfPresent(String.self, forKey: .text)
        logprobs = try? c.decodeIfPresent([JSONValue].self, forKey: .logprobs)
        obfuscation = try? c.decodeIfPresent(String.self, forKey: .obfuscation)
        code = try? c.decodeIfPresent(String.self, forKey: .code)
        message = try? c.decodeIfPresent(String.self, forKey: .message)
        param = try? c.decodeIfPresent(String.self, forKey: .param)
    }

    // MARK: The events of a plain text reply, in order, with the fields the spec requires.

    public static func lifecycle(_ type: String, _ response: Response, seq: Int) -> ResponseStreamEvent {
        var e = ResponseStreamEvent(type: type, sequence: seq)
        e.response = response
        return e
    }
    public static func outputItem(_ type: String, index: Int, item: Item, seq: Int) -> ResponseStreamEvent {
        var e = ResponseStreamEvent(type: type, sequence: seq)
        e.output_index = index
        e.item = item
        return e
    }
    public static func contentPart(_ type: String, itemID: String, index: Int, part: ContentPart, seq: Int) -> ResponseStreamEvent {
        var e = ResponseStreamEvent(type: type, sequence: seq)
        e.item_id = itemID
        e.output_index = index
        e.content_index = 0
        e.part = part
        return e
    }
    public static func textDelta(itemID: String, index: Int, delta: String, seq: Int) -> ResponseStreamEvent {
        var e = ResponseStreamEvent(type: "response.output_text.delta", sequence: seq)
        e.item_id = itemID
        e.output_index = index
        e.content_index = 0
        e.delta = delta
        e.logprobs = []
        return e
    }
    public static func textDone(itemID: String, index: Int, text: String, seq: Int) -> ResponseStreamEvent {
        var e = ResponseStreamEvent(type: "response.output_text.done", sequence: seq)
        e.item_id = itemID
        e.output_index = index
        e.content_index = 0
        e.text = text
        e.logprobs = []
        return e
    }
    public static func error(code: String?, message: String, param: String?, seq: Int) -> ResponseStreamEvent {
        var e = ResponseStreamEvent(type: "error", sequence: seq)
        e.code = code
        e.message = message
        e.param = param
        return e
    }

    /// True for the events after which no more come: completed, incomplete, failed, error.
    public var isTerminal: Bool {
        ["response.completed", "response.incomplete", "response.failed", "error"].contains(type)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encodeIfPresent(sequence_number, forKey: .sequence_number)
        try c.encodeIfPresent(response, forKey: .response)
        try c.encodeIfPresent(output_index, forKey: .output_index)
        try c.encodeIfPresent(item, forKey: .item)
        try c.encodeIfPresent(item_id, forKey: .item_id)
        try c.encodeIfPresent(content_index, forKey: .content_index)
        try c.encodeIfPresent(part, forKey: .part)
        try c.encodeIfPresent(delta, forKey: .delta)
        try c.encodeIfPresent(text, forKey: .text)
        try c.encodeIfPresent(logprobs, forKey: .logprobs)
        try c.encodeIfPresent(obfuscation, forKey: .obfuscation)
        if type == "error" {
            // All five fields of an `error` event are required, code and param nullable.
            try c.encode(code, forKey: .code)
            try c.encode(message ?? "", forKey: .message)
            try c.encode(param, forKey: .param)
        }
    }
}
