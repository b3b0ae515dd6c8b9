import Foundation

/// One content part of a message: `input_text`, `output_text`, `refusal`, `input_image`, …
/// Known fields are typed; every other key is kept in `extra` so a part round-trips exactly.
public struct ContentPart: Codable, Equatable, Hashable, Sendable {
    public var type: String
    public var text: String?
    public var extra: [String: JSONValue]

    public init(type: String, text: String?, extra: [String: JSONValue] = [:]) {
        self.type = type
        self.text = text
        self.extra = extra
    }

    public static func inputText(_ text: String) -> ContentPart { ContentPart(type: "input_text", text: text) }
    /// `output_text` with the fields the spec requires (`annotations`, `logprobs`).
    public static func outputText(_ text: String) -> ContentPart {
        ContentPart(type: "output_text", text: text, extra: ["annotations": .array([]), "logprobs": .array([])])
    }

    /// The readable text of the part, whatever its kind (refusals included).
    public var readableText: String? { text ?? extra["refusal"]?.stringValue }

    public init(from decoder: Decoder) throws {
        self.init(json: try JSONValue(from: decoder))
    }

    /// Reads a part from JSON; a bare string becomes an `input_text` part.
    public init(json: JSONValue) {
        var all = json.objectValue ?? ["text": json]
        type = all.removeValue(forKey: "type")?.stringValue ?? "input_text"
        text = all.removeValue(forKey: "text")?.stringValue
        extra = all
    }

    public func encode(to encoder: Encoder) throws {
        var all = extra
        all["type"] = .string(type)
        if let text { all["text"] = .string(text) }
        try all.encode(to: encoder)
    }
}

/// Message content: a plain string (the "easy" input form) or a list of parts.
public enum MessageContent: Codable, Equatable, Hashable, Sendable {
    case text(String)
    case parts([ContentPart])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .text(s) } else { self = .parts(try c.decode([ContentPart].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .text(let s): try c.encode(s)
        case .parts(let p): try c.encode(p)
        }
    }

    /// All readable text, parts joined without separators (as the SDKs' `output_text` does).
    public var plainText: String {
        switch self {
        case .text(let s): return s
        case .parts(let p): return p.compactMap(\.readableText).joined()
        }
    }
}

/// A message item: `EasyInputMessage` (no `type`), `InputMessage` / `OutputMessage` (`type: "message"`).
/// Unknown keys (`provider_data`, …) are kept in `extra`.
public struct Message: Codable, Equatable, Hashable, Sendable {
    public var id: String?
    public var type: String?
    public var role: String
    public var content: MessageContent
    public var status: String?
    public var extra: [String: JSONValue]

    public init(id: String? = nil, type: String? = nil, role: String, content: MessageContent,
                status: String? = nil, extra: [String: JSONValue] = [:]) {
        self.id = id
        self.type = type
        self.role = role
        self.content = content
        self.status = status
        self.extra = extra
    }

    public init(from decoder: Decoder) throws {
        self.init(fields: try [String: JSONValue](from: decoder))
    }

    /// A message from its JSON fields; unknown keys go to `extra`.
    public init(fields: [String: JSONValue]) {
        var all = fields
        id = all.removeValue(forKey: "id")?.stringValue
        type = all.removeValue(forKey: "type")?.stringValue
        role = all.removeValue(forKey: "role")?.stringValue ?? "user"
        switch all.removeValue(forKey: "content") {
        case .string(let s): content = .text(s)
        case .array(let parts): content = .parts(parts.map(ContentPart.init(json:)))
        default: content = .text("")
        }
        status = all.removeValue(forKey: "status")?.stringValue
        extra = all
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: DynamicKey.self)
        for (k, v) in extra { try c.encode(v, forKey: DynamicKey(k)) }
        if let id { try c.encode(id, forKey: DynamicKey("id")) }
        if let type { try c.encode(type, forKey: DynamicKey("type")) }
        try c.encode(role, forKey: DynamicKey("role"))
        try c.encode(content, forKey: DynamicKey("content"))
        if let status { try c.encode(status, forKey: DynamicKey("status")) }
    }
}

struct DynamicKey: CodingKey {
    let stringValue: String
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}

/// An input or output item. Messages are typed; everything else (function calls and their outputs,
/// reasoning, compaction, tool items, unknown future types) is kept as opaque JSON, never dropped.
public enum Item: Codable, Equatable, Hashable, Sendable {
    case message(Message)
    case opaque(JSONValue)

    public init(from decoder: Decoder) throws {
        self.init(json: try JSONValue(from: decoder))
    }

    public init(json raw: JSONValue) {
        let type = raw["type"]?.stringValue
        if let fields = raw.objectValue, type == "message" || (type == nil && raw["role"] != nil) {
            self = .message(Message(fields: fields))
        } else {
            self = .opaque(raw)
        }
    }

    /// Parses an item's JSON text (nil when it is not JSON).
    public static func parse(_ text: String) -> Item? { JSONValue.parse(text).map(Item.init(json:)) }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .message(let m): try m.encode(to: encoder)
        case .opaque(let v): try v.encode(to: encoder)
        }
    }

    // MARK: Constructors

    /// A user turn as the SDKs send it: `{"role":"user","content":"…"}` (no `type`).
    public static func userText(_ text: String) -> Item { .message(Message(role: "user", content: .text(text))) }

    /// An input message in the normalised server form (`type: "message"`, `input_text` parts).
    public static func inputMessage(id: String?, role: String, text: String) -> Item {
        .message(Message(id: id, type: "message", role: role, content: .parts([.inputText(text)]), status: "completed"))
    }

    /// An assistant output message as the Responses API returns it.
    public static func assistantMessage(id: String?, text: String, status: String = "completed") -> Item {
        .message(Message(id: id, type: "message", role: "assistant", content: .parts([.outputText(text)]), status: status))
    }

    // MARK: Accessors

    public var message: Message? { if case .message(let m) = self { return m }; return nil }
    public var type: String {
        switch self {
        case .message: return "message"
        case .opaque(let v): return v["type"]?.stringValue ?? "unknown"
        }
    }
    public var id: String? {
        switch self {
        case .message(let m): return m.id
        case .opaque(let v): return v["id"]?.stringValue
        }
    }
    public var role: String? { message?.role }
    /// Readable text: a message's text, a function output, a call's name and arguments.
    public var text: String {
        switch self {
        case .message(let m): return m.content.plainText
        case .opaque(let v):
            if let out = v["output"]?.stringValue { return out }
            if let name = v["name"]?.stringValue { return "\(name)(\(v["arguments"]?.stringValue ?? ""))" }
            if let summary = v["summary"]?.arrayValue { return summary.compactMap { $0["text"]?.stringValue }.joined(separator: " ") }
            return ""
        }
    }

    /// The same item with a server id and completed status, content normalised to parts (how the
    /// server lists stored items).
    public func normalisedForStorage(id newID: String) -> Item {
        switch self {
        case .message(var m):
            if m.id == nil { m.id = newID }
            m.type = "message"
            if m.status == nil { m.status = "completed" }
            if case .text(let s) = m.content {
                m.content = .parts([m.role == "assistant" ? .outputText(s) : .inputText(s)])
            }
            return .message(m)
        case .opaque(var v):
            if case .object(var o) = v, o["id"] == nil {
                o["id"] = .string(newID)
                v = .object(o)
            }
            return .opaque(v)
        }
    }

    /// The JSON text of the item (compact, sorted keys).
    public func jsonString() -> String { (try? WireJSON.encodeString(self)) ?? "{}" }
}
