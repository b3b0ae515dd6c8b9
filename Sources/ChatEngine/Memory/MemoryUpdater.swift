import Foundation

/// The memory updater and the summarizer: model requests with structured output (`text.format`
/// json_schema), so a real model writes the facts and summaries and the same code path runs offline
/// (the offline model answers both schemas from what it extracts). Their replies come from a model:
/// anything that is not the expected JSON is ignored with a note, never trusted further.
public enum MemoryRequests {
    public static let updaterSchemaName = "memory_update"
    public static let summarySchemaName = "memory_summary"

    /// Fact keys the updater may write (those the offline model knows, and any short snake_case key a
    /// model proposes).
    public static let maxFacts = 20

    public static let updaterInstructions = """
        You are a memory updater. From the user's latest message, extract durable facts about the user \
        (name, home, job, trips, moves, favourites, age, pets, preferences) as short key/value pairs in \
        the user's own words. Extract nothing from questions. Reply with JSON matching the schema \(updaterSchemaName).
        """

    public static let summarizerInstructions = MemoryPolicy.summaryInstructions + " Reply with JSON matching the schema \(summarySchemaName)."

    static func format(name: String, properties: JSONValue, required: [String]) -> JSONValue {
        .object(["format": .object([
            "type": .string("json_schema"), "name": .string(name), "strict": .bool(true),
            "schema": .object(["type": .string("object"), "properties": properties,
                               "required": .array(required.map { .string($0) }), "additionalProperties": .bool(false)]),
        ])])
    }

    /// The updater's request: the user's message alone, not stored by the server.
    public static func updater(model: String, message: Item) -> CreateResponseRequest {
        var r = CreateResponseRequest(model: model, input: .items([message]), instructions: updaterInstructions, store: false)
        let fact: JSONValue = .object(["type": .string("object"), "additionalProperties": .bool(false), "required": .array([.string("key"), .string("value")]),
                                       "properties": .object(["key": .object(["type": .string("string")]), "value": .object(["type": .string("string")])])])
        r.text = format(name: updaterSchemaName, properties: .object(["facts": .object(["type": .string("array"), "items": fact])]), required: ["facts"])
        return r
    }

    /// The summarizer's request: the previous summary (if any) and the turns that left working memory.
    public static func summarizer(model: String, input: [Item]) -> CreateResponseRequest {
        var r = CreateResponseRequest(model: model, input: .items(input), instructions: summarizerInstructions, store: false)
        r.text = format(name: summarySchemaName, properties: .object(["summary": .object(["type": .string("string")])]), required: ["summary"])
        return r
    }

    /// A fact as a first-person sentence: the offline extractor's own form for the keys it knows
    /// (so reading it back gives the same fact), else "My KEY is VALUE."
    public static func statement(key: String, value: String) -> String {
        let known = FactExtractor.statement(key: key, value: value)
        return known.isEmpty ? "My \(key.replacingOccurrences(of: "_", with: " ")) is \(value)." : known
    }

    /// The facts in an updater reply: keys normalised to snake_case (at most 40 characters), values
    /// trimmed to one line of at most 200; nil when the reply is not the schema's JSON.
    public static func facts(fromReply text: String) -> [(String, String)]? {
        guard let v = JSONValue.parse(text), let list = v["facts"]?.arrayValue else { return nil }
        var out: [(String, String)] = []
        for f in list.prefix(maxFacts) {
            guard let k = f["key"]?.stringValue, let value = f["value"]?.stringValue else { continue }
            let key = String(k.lowercased().map { $0.isLetter || $0.isNumber || $0 == ":" ? $0 : "_" }.prefix(40))
            // Control and bidi characters are dropped (a fact is sent to models and shown on screens).
            let kept = value.unicodeScalars.filter { u in
                !(u.value < 0x20 || (0x7F...0x9F).contains(u.value) || (0x202A...0x202E).contains(u.value) || (0x2066...0x2069).contains(u.value))
            }
            let clean = String(String.UnicodeScalarView(kept)).trimmingCharacters(in: .whitespacesAndNewlines).prefix(200)
            guard !key.isEmpty, !clean.isEmpty else { continue }
            out.append((key, String(clean)))
        }
        return out
    }

    /// The summary in a summarizer reply (nil when it is not the schema's JSON or is empty).
    public static func summary(fromReply text: String) -> String? {
        guard let s = JSONValue.parse(text)?["summary"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !s.isEmpty else { return nil }
        return String(s.prefix(20_000))
    }
}
