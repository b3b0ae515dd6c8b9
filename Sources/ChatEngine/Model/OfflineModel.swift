import Foundation

/// The offline model: a small deterministic program (not an LLM) that visibly remembers.
///
/// It reads first-person facts from user messages — and from system/developer text such as
/// instructions and summaries, so hybrid facts and compactions reach it — later statements
/// overriding earlier ones, and answers questions about them from the context it is given only.
///
/// Supported statement forms (case-, punctuation- and contraction-tolerant; several per message):
///
/// | fact       | forms                                                                                   |
/// |------------|-----------------------------------------------------------------------------------------|
/// | name       | my name is X · my name's X · call me X · I'm X / I am X (X capitalised, clearly a name)  |
/// | home       | I live in X · I'm living in X · I'm from X · I'm based in X · my home(town) is (in) X    |
/// | job        | I work as a/an X · I'm a/an X (a job, not "a big fan") · my job is X · I work at X       |
/// | trip       | I'm planning a trip/vacation/holiday to X · I'm travelling/flying/heading/going to X · I'm visiting X · my trip is to X |
/// | move       | I'm moving/relocating to X · I'll move to X · I will be moving to X                     |
/// | favourite  | my favourite/favorite THING is X · my favourite THING's X                                |
/// | age        | I'm N · I'm N years old · my age is N · I just turned N                                  |
/// | pet        | I have a cat/dog/… named/called X · my cat's name is X · my dog is called X · I have a cat |
///
/// Question forms it answers (from the facts in its context, or saying plainly it does not know):
///
/// | about      | forms                                                                                   |
/// |------------|-----------------------------------------------------------------------------------------|
/// | name       | what's my name? · who am I? · do you know/remember my name? · what am I called?          |
/// | home       | where do I live? · where am I from? · which city am I in? · where am I based? · where's home? |
/// | job        | what do I do (for a living/for work)? · what's my job/profession/occupation? · where do I work? |
/// | trip/move  | where am I going/headed/travelling/flying/moving? · where's my trip? · what's my destination? |
/// | favourite  | what's my favourite THING? · which THING do I like best?                                 |
/// | age        | how old am I? · what's my age?                                                           |
/// | pet        | what's my cat's name? · what is my dog called? · do I have a pet? · what pets do I have? |
/// | everything | what do you know/remember about me? · what have I told you? · tell me about myself       |
///
/// A question that refers to a remembered fact gets it mentioned ("what should I pack?" → the trip;
/// "any good restaurants?" → the home city; "should I ask my boss…" → the job). Greetings use the name.
/// Anything else gets a deterministic answer that says how many earlier messages it can see.
public struct OfflineModel: TextModel {
    public let name = "offline-model"
    public init() {}

    /// What the model holds after reading a context. Serialised as the server's per-response snapshot.
    struct Memory: Codable, Equatable {
        var facts: [String: String] = [:]
        var order: [String] = []               // fact keys, in the order last stated
        var messages = 0                       // messages read so far (user, assistant, system)
        var lastUserText: String?              // the message to answer
        var messagesBeforeLast = 0             // messages before it: "I can see N earlier messages"
        var learnedFromLast: [String] = []     // keys stated in the last user message
        var replacedFromLast: [String: String] = [:]  // key -> the value it replaced
        /// Passages of earlier sessions in the context (episodic memory), newest last, at most 8.
        var episodes: [String] = []

        init() {}

        /// Tolerant of snapshots written before a field existed (the server keeps them for years).
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            facts = try c.decodeIfPresent([String: String].self, forKey: .facts) ?? [:]
            order = try c.decodeIfPresent([String].self, forKey: .order) ?? []
            messages = try c.decodeIfPresent(Int.self, forKey: .messages) ?? 0
            lastUserText = try c.decodeIfPresent(String.self, forKey: .lastUserText)
            messagesBeforeLast = try c.decodeIfPresent(Int.self, forKey: .messagesBeforeLast) ?? 0
            learnedFromLast = try c.decodeIfPresent([String].self, forKey: .learnedFromLast) ?? []
            replacedFromLast = try c.decodeIfPresent([String: String].self, forKey: .replacedFromLast) ?? [:]
            episodes = try c.decodeIfPresent([String].self, forKey: .episodes) ?? []
        }

        mutating func set(_ key: String, _ value: String) -> String? {
            let old = facts[key]
            facts[key] = value
            order.removeAll { $0 == key }
            order.append(key)
            return old
        }
    }

    // MARK: TextModel

    public func read(_ items: [Item], after snapshot: String?) -> String {
        var memory = decode(snapshot)
        for item in items { absorb(item, into: &memory) }
        return encode(memory)
    }

    public func reply(to snapshot: String, instructions: String?) -> String {
        var memory = decode(snapshot)
        if let instructions, !instructions.isEmpty {
            // Instructions come first in the context: facts in the conversation override them.
            var fromInstructions = Memory()
            for (k, v) in FactExtractor.facts(in: instructions) { _ = fromInstructions.set(k, v) }
            for key in fromInstructions.order where memory.facts[key] == nil {
                memory.facts[key] = fromInstructions.facts[key]
                memory.order.insert(key, at: 0)
            }
        }
        // The memory requests (structured output): answered from what was extracted.
        if let instructions, instructions.contains("schema \(MemoryRequests.updaterSchemaName)") {
            let facts: [JSONValue] = memory.learnedFromLast.compactMap { key in
                memory.facts[key].map { .object(["key": .string(key), "value": .string($0)]) }
            }
            return (try? WireJSON.encodeString(JSONValue.object(["facts": .array(facts)]))) ?? "{\"facts\":[]}"
        }
        if let instructions, instructions.lowercased().contains("summarize the conversation") {
            if instructions.contains("schema \(MemoryRequests.summarySchemaName)") {
                return (try? WireJSON.encodeString(JSONValue.object(["summary": .string(summary(of: memory))]))) ?? "{}"
            }
            return summary(of: memory)
        }
        return Responder(memory: memory).reply()
    }

    /// A summary that states the extracted facts in the user's words, so reading it back restores them.
    func summary(of memory: Memory) -> String {
        let statements = memory.order.compactMap { key in memory.facts[key].map { FactExtractor.statement(key: key, value: $0) } }
        var text = "Summary of the earlier conversation."
        text += statements.isEmpty ? " The user stated no facts about themselves." : " The user said: " + statements.joined(separator: " ")
        return text
    }

    // MARK: Reading

    private func absorb(_ item: Item, into memory: inout Memory) {
        guard let message = item.message else { return }
        let text = message.content.plainText
        switch message.role {
        case "user":
            memory.lastUserText = text
            memory.messagesBeforeLast = memory.messages
            memory.learnedFromLast = []
            memory.replacedFromLast = [:]
            for (key, value) in FactExtractor.facts(in: text) {
                let old = memory.set(key, value)
                memory.learnedFromLast.removeAll { $0 == key }
                memory.learnedFromLast.append(key)
                if let old, old.lowercased() != value.lowercased() { memory.replacedFromLast[key] = old }
            }
        case "system", "developer":
            for (key, value) in FactExtractor.facts(in: text) { _ = memory.set(key, value) }
            if text.hasPrefix(EpisodicMemory.passagePrefix) {
                // A passage of another session: remembered, but not a message of this conversation
                // ("I can see N earlier messages" counts only those).
                memory.episodes.append(String(text.prefix(2000)))
                if memory.episodes.count > 8 { memory.episodes.removeFirst() }
                return
            }
        default:
            break
        }
        memory.messages += 1
    }

    private func decode(_ snapshot: String?) -> Memory {
        guard let snapshot, let m = try? JSONDecoder().decode(Memory.self, from: Data(snapshot.utf8)) else { return Memory() }
        return m
    }

    private func encode(_ memory: Memory) -> String {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return (try? String(decoding: e.encode(memory), as: UTF8.self)) ?? "{}"
    }
}

