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
        if let instructions, instructions.lowercased().contains("summarize the conversation") {
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

// MARK: - Fact extraction

/// A compiled, case-insensitive pattern. NSRegularExpression is immutable once built.
struct Pattern: @unchecked Sendable {
    let regex: NSRegularExpression
    init(_ p: String) { regex = try! NSRegularExpression(pattern: p, options: [.caseInsensitive]) }

    /// The capture groups of the first match, as strings ("" for a group that did not take part).
    func match(_ s: String) -> [String]? {
        let ns = s as NSString
        guard let m = regex.firstMatch(in: s, range: NSRange(location: 0, length: ns.length)) else { return nil }
        return (0..<m.numberOfRanges).map { i in
            let r = m.range(at: i)
            return r.location == NSNotFound ? "" : ns.substring(with: r)
        }
    }

    func matches(_ s: String) -> Bool { match(s) != nil }
}

enum FactExtractor {
    static let petKinds = "dog|cat|puppy|kitten|rabbit|bunny|hamster|parrot|bird|fish|goldfish|turtle|tortoise|horse|snake|lizard|guinea pig|ferret|pet"

    /// Words after which a value stops ("Lisbon next month" → "Lisbon").
    static let valueStops: Set<String> = [
        "and", "but", "so", "because", "since", "now", "currently", "soon", "next", "this", "in", "on", "at", "for",
        "with", "to", "tomorrow", "today", "tonight", "yesterday", "later", "then", "though", "too", "also", "which",
        "who", "where", "when", "while", "if", "or", "as", "by", "from", "after", "before", "until", "i", "my", "we", "it",
    ]
    /// Words that follow "I'm" but are not names.
    static let notNames: Set<String> = [
        "fine", "good", "great", "ok", "okay", "well", "sorry", "sure", "here", "back", "home", "ready", "tired", "happy",
        "sad", "not", "so", "very", "really", "just", "also", "still", "going", "moving", "planning", "from", "in", "at",
        "a", "an", "the", "new", "trying", "looking", "thinking", "feeling", "working", "living", "based", "curious",
        "interested", "excited", "afraid", "glad", "done", "busy", "free", "hungry", "learning", "visiting", "travelling",
        "traveling", "flying", "heading", "english", "british", "american", "french", "german", "spanish", "italian",
        "portuguese", "chinese", "japanese", "korean", "indian", "vegan", "vegetarian", "allergic", "married", "single",
        "retired", "unemployed", "bored", "confused", "lost", "late", "early", "about", "actually", "currently", "now",
    ]
    /// First words of "I'm a …" that do not name a job.
    static let notJobs: Set<String> = [
        "bit", "little", "lot", "big", "huge", "fan", "vegetarian", "vegan", "person", "morning", "night", "fast", "slow",
        "good", "bad", "great", "terrible", "beginner", "native", "new", "quick", "fairly", "very", "real", "total",
        "complete", "massive", "light", "heavy", "picky", "huge", "sucker", "believer", "member", "parent", "mother",
        "father", "mom", "dad", "mum", "twin", "citizen", "resident", "guest", "visitor", "tourist",
    ]

    // Statement patterns: each captures the value in its last group (pets: kind, then name).
    static let name = [Pattern(#"\bmy name(?:'s| is)\s+(.+)"#), Pattern(#"\b(?:call me|i go by)\s+(.+)"#)]
    static let iAmName = Pattern(#"\bi(?:'m| am)\s+((?-i:[A-Z])[\p{L}'-]*(?:\s+(?-i:[A-Z])[\p{L}'-]*)?)"#)
    static let home = [Pattern(#"\bi(?:'m| am)?\s*(?:currently\s+)?(?:live|living|reside|residing)\s+in\s+(.+)"#),
                       Pattern(#"\bi(?:'m| am)\s+(?:originally\s+)?from\s+(.+)"#),
                       Pattern(#"\bi(?:'m| am)\s+based\s+in\s+(.+)"#),
                       Pattern(#"\bmy home(?:town| town| city)?\s+is\s+(?:in\s+)?(.+)"#)]
    static let jobAs = [Pattern(#"\bi\s+work\s+as\s+(?:an?\s+)?(.+)"#), Pattern(#"\bmy (?:job|profession|occupation) is\s+(?:an?\s+)?(.+)"#)]
    static let iAmA = Pattern(#"\bi(?:'m| am)\s+(?:an?)\s+(.+)"#)
    static let employer = Pattern(#"\bi\s+work\s+(?:at|for)\s+(.+)"#)
    /// A job with its place: "I'm a software engineer in Tokyo" (home), "I'm a nurse at St Mary's" (employer).
    static let jobIn = Pattern(#"\bi(?:'m| am|\s+work\s+as)\s+(?:an?\s+)?[\p{L}-]+(?:\s+[\p{L}-]+){0,2}?\s+(?:in|based in)\s+((?-i:[A-Z]).*)"#)
    static let jobAt = Pattern(#"\bi(?:'m| am|\s+work\s+as)\s+(?:an?\s+)?[\p{L}-]+(?:\s+[\p{L}-]+){0,2}?\s+at\s+((?-i:[A-Z]).*)"#)
    static let move = [Pattern(#"\bi(?:'m| am)\s+(?:moving|relocating)\s+to\s+(.+)"#),
                       Pattern(#"\bi(?:'ll| will)\s+(?:be\s+)?(?:move|moving|relocate|relocating)\s+to\s+(.+)"#),
                       Pattern(#"\bi(?:'m| am)\s+about to move to\s+(.+)"#)]
    static let trip = [Pattern(#"\bi(?:'m| am)\s+(?:planning|organi[sz]ing|taking|booking)\s+(?:a|my|our)\s+(?:\w+\s+)?(?:trip|vacation|holiday|visit|journey)\s+to\s+(.+)"#),
                       Pattern(#"\bmy\s+(?:\w+\s+)?(?:trip|vacation|holiday|flight|journey)\s+(?:is\s+)?to\s+(.+)"#),
                       Pattern(#"\bi(?:'m| am)\s+(?:travell?ing|flying|heading|headed|going)\s+to\s+((?-i:[A-Z]).*)"#),
                       Pattern(#"\bi(?:'m| am)\s+visiting\s+((?-i:[A-Z]).*)"#)]
    static let favourite = Pattern(#"\bmy\s+fav(?:ou?rite)?\s+([\p{L}]+(?:\s+[\p{L}]+)?)(?:\s+is|'s)\s+(.+)"#)
    static let age = [Pattern(#"\bi(?:'m| am)\s+(\d{1,3})(?:\s+years?(?:\s+old)?|\s+yo)?\s*$"#),
                      Pattern(#"\bi(?:'m| am)\s+(\d{1,3})\s+years?\s+old"#),
                      Pattern(#"\bmy age is\s+(\d{1,3})"#), Pattern(#"\bi\s+(?:just\s+)?turned\s+(\d{1,3})"#)]
    static let petNamed = [Pattern(#"\bi\s+(?:have|own|got)\s+(?:a|an|one)\s+(?:\w+\s+)?("# + petKinds + #")\s+(?:named|called)\s+(.+)"#),
                           Pattern(#"\bmy\s+("# + petKinds + #")(?:'s name is|\s+is\s+(?:named|called))\s+(.+)"#)]
    static let petPlain = Pattern(#"\bi\s+(?:have|own|got)\s+(?:a|an)\s+(?:\w+\s+)?("# + petKinds + #")\b"#)

    /// Splits a message into clauses at sentence ends and conjunctions, so each pattern sees one statement.
    static func clauses(_ text: String) -> [String] {
        let normalised = text.replacingOccurrences(of: "’", with: "'").replacingOccurrences(of: "‘", with: "'")
        var sentences: [String] = []
        var current = ""
        for ch in normalised {
            if ch == "?" { current = ""; continue }          // a question states nothing
            if ".!;\n".contains(ch) { sentences.append(current); current = ""; continue }
            current.append(ch)
        }
        sentences.append(current)
        var out: [String] = []
        for sentence in sentences where !questionStart.matches(sentence.trimmingCharacters(in: .whitespaces)) {
            var parts = [sentence]
            for sep in [" and ", " but ", ", and ", ", but ", " so "] {
                parts = parts.flatMap { $0.components(separatedBy: sep) }
            }
            out += parts.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return out
    }
    static let questionStart = Pattern(#"^(?:what|where|who|which|how|when|why|do|does|did|am|is|are|can|could|should|would)\b"#)

    /// Trims a captured value to the phrase it names: stops at punctuation or a stop word.
    static func value(_ raw: String, maxWords: Int = 4) -> String? {
        var words: [String] = []
        for w in raw.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            var word = String(w)
            let endsPhrase = word.hasSuffix(",") || word.hasSuffix(":") || word.hasSuffix(")")
            word = word.trimmingCharacters(in: CharacterSet(charactersIn: ",:;()\"“”"))
            // A word with no letters or digits (an emoji, a dash) ends the value.
            if word.isEmpty || !word.contains(where: { $0.isLetter || $0.isNumber }) { break }
            if !words.isEmpty && valueStops.contains(word.lowercased()) { break }
            words.append(word)
            if endsPhrase || words.count == maxWords { break }
        }
        let v = words.joined(separator: " ")
        return v.isEmpty || valueStops.contains(v.lowercased()) ? nil : v
    }

    /// The facts stated in `text`, in order, as (key, value). Keys: name, home, job, employer, trip, move,
    /// age, fav:THING, pet:KIND.
    /// Facts are read from the first this-many characters of a message (a megabyte of text states no
    /// more about its writer than its start does, and reading it all would stall a turn).
    static let maxCharacters = 20_000

    static func facts(in text: String) -> [(String, String)] {
        var found: [(String, String)] = []
        let text = text.count > maxCharacters ? String(text.prefix(maxCharacters)) : text
        for clause in clauses(text) {
            found += facts(inClause: clause)
        }
        return found
    }

    private static func facts(inClause c: String) -> [(String, String)] {
        var out: [(String, String)] = []
        func first(_ patterns: [Pattern], maxWords: Int = 4) -> String? {
            for p in patterns { if let g = p.match(c), let v = value(g[g.count - 1], maxWords: maxWords) { return v } }
            return nil
        }
        if let v = first(name, maxWords: 3) { out.append(("name", capitalisedName(v))) }
        else if let g = iAmName.match(c), let v = value(g[1], maxWords: 2), !notNames.contains(v.split(separator: " ")[0].lowercased()),
                !c.lowercased().contains(" years"), Int(v) == nil {
            out.append(("name", v))
        }
        if let v = first(home) { out.append(("home", v)) }
        if let v = first(move) { out.append(("move", v)) }
        else if let v = first(trip) { out.append(("trip", v)) }
        if let v = first(jobAs) { out.append(("job", v)) }
        else if let g = iAmA.match(c), let v = value(g[1], maxWords: 3) {
            let firstWord = v.split(separator: " ")[0].lowercased()
            if !notJobs.contains(firstWord) && !v.lowercased().contains("fan") { out.append(("job", v.lowercased())) }
        }
        if let g = employer.match(c), let v = value(g[1], maxWords: 3) { out.append(("employer", v)) }
        else if out.contains(where: { $0.0 == "job" }), let g = jobAt.match(c), let v = value(g[1], maxWords: 3) { out.append(("employer", v)) }
        if out.contains(where: { $0.0 == "job" }), !out.contains(where: { $0.0 == "home" }), let g = jobIn.match(c), let v = value(g[1]) {
            out.append(("home", v))
        }
        if let g = favourite.match(c), let v = value(g[2]) {
            out.append(("fav:" + canonicalThing(g[1]), v))
        }
        for p in age { if let g = p.match(c), let n = Int(g[1]), n > 0, n < 130 { out.append(("age", String(n))); break } }
        var petFound = false
        for p in petNamed {
            if let g = p.match(c), let v = value(g[2], maxWords: 2) {
                out.append(("pet:" + g[1].lowercased(), capitalisedName(v)))
                petFound = true
                break
            }
        }
        if !petFound, let g = petPlain.match(c) { out.append(("pet:" + g[1].lowercased(), "")) }
        return out
    }

    static func capitalisedName(_ v: String) -> String {
        v.split(separator: " ").map { w in w.prefix(1).uppercased() + w.dropFirst() }.joined(separator: " ")
    }

    /// "colour" and "color" are one thing; so are plural and singular.
    static func canonicalThing(_ raw: String) -> String {
        var t = raw.lowercased().replacingOccurrences(of: "colour", with: "color")
        if t.hasSuffix("s") && !t.hasSuffix("ss") && t.count > 3 { t.removeLast() }
        return t
    }

    /// A first-person sentence that states a fact (what summaries and hybrid instructions carry);
    /// `facts(in:)` reads it back to the same fact.
    static func statement(key: String, value: String) -> String {
        switch key {
        case "name": return "My name is \(value)."
        case "home": return "I live in \(value)."
        case "job": return "I work as \(article(value)) \(value)."
        case "employer": return "I work at \(value)."
        case "trip": return "I'm planning a trip to \(value)."
        case "move": return "I'm moving to \(value)."
        case "age": return "I'm \(value) years old."
        default:
            if key.hasPrefix("fav:") { return "My favourite \(key.dropFirst(4)) is \(value)." }
            if key.hasPrefix("pet:") {
                let kind = key.dropFirst(4)
                return value.isEmpty ? "I have a \(kind)." : "I have a \(kind) named \(value)."
            }
            return ""
        }
    }

    static func article(_ word: String) -> String {
        guard let f = word.lowercased().first else { return "a" }
        return "aeiou".contains(f) ? "an" : "a"
    }
}

// MARK: - Answering

private struct Responder {
    let memory: OfflineModel.Memory
    var facts: [String: String] { memory.facts }
    var seen: Int { memory.messagesBeforeLast }

    var seeing: String { "I can see \(seen) earlier message\(seen == 1 ? "" : "s") in this conversation" }
    var notInContext: String { "it isn't in the context I can see (\(seen) earlier message\(seen == 1 ? "" : "s"))" }

    /// The question, lower-cased with contractions expanded and punctuation dropped.
    static func normalise(_ text: String) -> String {
        var t = " " + text.lowercased().replacingOccurrences(of: "’", with: "'") + " "
        for (a, b) in [("what's", "what is"), ("where's", "where is"), ("who's", "who is"), ("how's", "how is"),
                       ("i'm", "i am"), ("don't", "do not"), ("didn't", "did not"), ("what're", "what are"),
                       ("whats", "what is"), ("wheres", "where is"), ("im ", "i am "), ("favorite", "favourite"),
                       ("fav ", "favourite "), ("colour", "color"), ("travelling", "traveling")] {
            t = t.replacingOccurrences(of: a, with: b)
        }
        let kept = t.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || $0 == "'" ? Character($0) : " " }
        return String(kept).split(separator: " ").joined(separator: " ")
    }

    static let everything = Pattern(#"\b(?:what (?:do|did|else do) you (?:know|remember|recall)(?: about me)?|what have i (?:told|said to) you|tell me (?:about myself|(?:what|everything) you know(?: about me)?)|what do you know about me|summari[sz]e what you know)\b"#)
    static let askName = Pattern(#"\b(?:what is my (?:full )?name|who am i|do you (?:know|remember|recall) (?:my name|who i am)|what am i called|what do (?:you|people) call me|what did i say my name (?:is|was)|my name$)"#)
    static let askHome = Pattern(#"\b(?:where do i (?:live|come from|stay)|where am i (?:from|based|living)|which (?:city|town|country|place)(?: do i live in| am i (?:in|from|living in)| is home)|what (?:city|town|country|place) (?:do i live in|am i (?:in|from))|where is (?:my )?home|where i live)\b"#)
    static let askJob = Pattern(#"\b(?:what do i do(?: for (?:a living|work|my job))?$|what is my (?:job|profession|occupation|work|career|line of work)|where do i work|what do i work as|who do i work for|what (?:is|was) my job)"#)
    static let askTrip = Pattern(#"\b(?:where am i (going|headed|heading|traveling|flying|moving|relocating|visiting)|where is my (trip|vacation|holiday|flight|move)|what is my (?:travel )?destination|where (?:will|should|do) i (?:plan to )?(go|move|travel)|which (?:city|country|place) am i (moving|going|traveling) to)\b"#)
    static let askAge = Pattern(#"\b(?:how old am i|what is my age|what age am i)\b"#)
    static let askFavourite = Pattern(#"\b(?:what is my favourite ([a-z]+(?: [a-z]+)?)|which ([a-z]+) do i (?:like|love|prefer) (?:best|most)|what ([a-z]+) do i (?:like|love) (?:best|most))\b"#)
    static let askPetName = Pattern(#"\bwhat is (?:my|the name of my) (\#(FactExtractor.petKinds))(?: s| 's|'s)?(?: name| called)?\b|\bwhat is my (\#(FactExtractor.petKinds)) called\b|\bwhat (?:is|was) my (\#(FactExtractor.petKinds)) s name\b"#)
    static let askPets = Pattern(#"\b(?:do i have (?:a |any )?pets?|what pets? do i have|what (?:kind of )?(?:pet|animal)s? do i (?:have|own))\b"#)
    static let greeting = Pattern(#"^(?:hi|hello|hey|hiya|howdy|good (?:morning|afternoon|evening)|greetings)\b"#)
    static let thanks = Pattern(#"\b(?:thanks|thank you|cheers)\b"#)
    static let questionStart = Pattern(#"^(?:what|where|who|which|how|when|why|do|does|did|can|could|should|would|will|is|are|am|any|tell|recommend|suggest)\b"#)

    static let tripTopics = Pattern(#"\b(?:pack|packing|suitcase|luggage|flight|flights|visa|itinerary|passport|jet lag|sightseeing|trip|travel|vacation|holiday|hotel|move|moving|movers|boxes|apartment hunting)\b"#)
    static let homeTopics = Pattern(#"\b(?:weather|restaurant|restaurants|neighbourhood|neighborhood|local|nearby|around here|commute|my city|my town)\b"#)
    static let jobTopics = Pattern(#"\b(?:work|job|boss|colleague|colleagues|career|office|interview|meeting|promotion|shift|salary)\b"#)
    static let petTopics = Pattern(#"\b(?:vet|walk|walks|feed|pet food|litter|toy|toys|my pet|grooming)\b"#)

    func reply() -> String {
        guard let full = memory.lastUserText else {
            return "I'm the offline model. There is no user message in the context I was given."
        }
        let text = full.count > FactExtractor.maxCharacters ? String(full.prefix(FactExtractor.maxCharacters)) : full
        let q = Self.normalise(text)
        var parts: [String] = []
        let learned = memory.learnedFromLast
        if !learned.isEmpty { parts.append(acknowledge(learned)) }
        // Each question in the message gets its answer ("Where do I live? And my name?").
        var answers: [String] = []
        for segment in Self.segments(text) {
            let sq = Self.normalise(segment)
            if let a = answer(sq, raw: segment), !answers.contains(a) { answers.append(a) }
        }
        if answers.isEmpty, let a = answer(q, raw: text) { answers.append(a) }
        if !answers.isEmpty {
            parts += answers
        } else if learned.isEmpty {
            parts.append(fallback(q, raw: text))
        }
        return parts.joined(separator: " ")
    }

    /// The message cut into sentences and " and "-joined parts, each keeping its question mark.
    static func segments(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for ch in text {
            current.append(ch)
            if "?.!;\n".contains(ch) { out.append(current); current = "" }
        }
        out.append(current)
        return out.flatMap { sentence -> [String] in
            let mark = sentence.hasSuffix("?") ? "?" : ""
            let pieces = sentence.components(separatedBy: " and ")
            return pieces.count == 1 ? [sentence] : pieces.map { $0.hasSuffix("?") ? $0 : $0 + mark }
        }.filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    // MARK: acknowledgements

    func acknowledge(_ keys: [String]) -> String {
        var out: [String] = []
        var noted: [String] = []
        for key in keys {
            guard let value = facts[key] else { continue }
            if key == "name" {
                if let old = memory.replacedFromLast[key] { out.append("Got it, you're \(value) now, not \(old).") }
                else { out.append("Nice to meet you, \(value)!") }
                continue
            }
            var phrase = describe(key, value)
            if let old = memory.replacedFromLast[key] { phrase += " (not \(old) any more)" }
            noted.append(phrase)
        }
        if !noted.isEmpty { out.append("Noted: " + list(noted) + ".") }
        return out.joined(separator: " ")
    }

    /// A fact in the second person: "you live in Porto".
    func describe(_ key: String, _ value: String) -> String {
        switch key {
        case "name": return "your name is \(value)"
        case "home": return "you live in \(value)"
        case "job": return "you work as \(FactExtractor.article(value)) \(value)"
        case "employer": return "you work at \(value)"
        case "trip": return "you're planning a trip to \(value)"
        case "move": return "you're moving to \(value)"
        case "age": return "you're \(value) years old"
        default:
            if key.hasPrefix("fav:") { return "your favourite \(key.dropFirst(4)) is \(value)" }
            if key.hasPrefix("pet:") {
                let kind = key.dropFirst(4)
                return value.isEmpty ? "you have \(FactExtractor.article(String(kind))) \(kind)" : "you have \(FactExtractor.article(String(kind))) \(kind) named \(value)"
            }
            return "\(key): \(value)"
        }
    }

    func list(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }

    func sentence(_ s: String) -> String { s.prefix(1).uppercased() + s.dropFirst() + "." }

    // MARK: answers

    func answer(_ q: String, raw: String) -> String? {
        if Self.everything.matches(q) { return everythingAnswer() }
        if Self.askName.matches(q) {
            if q.contains("who am i"), let name = facts["name"] {
                let others = memory.order.filter { $0 != "name" }.compactMap { k in facts[k].map { describe(k, $0) } }
                return others.isEmpty ? "You're \(name)." : "You're \(name): " + list(others) + "."
            }
            return facts["name"].map { "Your name is \($0)." } ?? "I don't know your name: \(notInContext)."
        }
        if let g = Self.askTrip.match(q) {
            let verb = g[1] + g[2] + g[3] + g[4]
            let wantsMove = verb.hasPrefix("mov") || verb.hasPrefix("reloc")
            let key = wantsMove ? (facts["move"] != nil ? "move" : "trip") : (facts["trip"] != nil ? "trip" : "move")
            if let v = facts[key] { return sentence(describe(key, v).replacingOccurrences(of: "you're", with: "You're")) }
            return "I don't know where you're \(wantsMove ? "moving" : "going"): \(notInContext)."
        }
        if Self.askHome.matches(q) {
            if let home = facts["home"] { return "You live in \(home)." }
            if let move = facts["move"] { return "I don't know where you live now, but you're moving to \(move)." }
            return "I don't know where you live: \(notInContext)."
        }
        if Self.askJob.matches(q) {
            switch (facts["job"], facts["employer"]) {
            case let (job?, employer?): return "You work as \(FactExtractor.article(job)) \(job) at \(employer)."
            case let (job?, nil): return "You work as \(FactExtractor.article(job)) \(job)."
            case let (nil, employer?): return "You work at \(employer)."
            default: return "I don't know what you do: \(notInContext)."
            }
        }
        if Self.askAge.matches(q) {
            return facts["age"].map { "You're \($0) years old." } ?? "I don't know how old you are: \(notInContext)."
        }
        if let g = Self.askFavourite.match(q) {
            let thing = FactExtractor.canonicalThing(g[1] + g[2] + g[3])
            if let v = facts["fav:" + thing] { return "Your favourite \(thing) is \(v)." }
            let known = memory.order.filter { $0.hasPrefix("fav:") }.map { String($0.dropFirst(4)) }
            let hint = known.isEmpty ? "" : " (I do know your favourite \(list(known)).)"
            return "I don't know your favourite \(thing): \(notInContext).\(hint)"
        }
        if let g = Self.askPetName.match(q) {
            let kind = (g[1] + g[2] + g[3]).lowercased()
            let key = kind == "pet" ? memory.order.last(where: { $0.hasPrefix("pet:") }) : "pet:" + kind
            if let key, let name = facts[key] {
                let k = key.dropFirst(4)
                return name.isEmpty ? "You have \(FactExtractor.article(String(k))) \(k), but you haven't told me its name." : "Your \(k) is named \(name)."
            }
            return "I don't know about your \(kind): \(notInContext)."
        }
        if Self.askPets.matches(q) {
            let pets = memory.order.filter { $0.hasPrefix("pet:") }
            if pets.isEmpty { return "I don't know of any pets: \(notInContext)." }
            return "Yes: " + list(pets.map { describe($0, facts[$0] ?? "") }) + "."
        }
        if Self.greeting.matches(q) {
            // "Hi, I'm Carl": "Nice to meet you, Carl!" already greets; a second hello would repeat it.
            if memory.learnedFromLast.contains("name") { return nil }
            return facts["name"].map { "Hello, \($0)!" } ?? "Hello! I'm the offline model; tell me about yourself and I'll remember it."
        }
        if Self.thanks.matches(q) {
            return facts["name"].map { "You're welcome, \($0)." } ?? "You're welcome."
        }
        return related(q, raw: raw)
    }

    func everythingAnswer() -> String {
        let known = memory.order.compactMap { k in facts[k].map { describe(k, $0) } }
        if known.isEmpty {
            return "I don't know anything about you yet: the context I can see (\(seen) earlier message\(seen == 1 ? "" : "s")) holds no facts about you."
        }
        return "Here's what I know about you: " + list(known) + "."
    }

    /// A question that refers to a remembered fact without naming it.
    func related(_ q: String, raw: String) -> String? {
        let isQuestion = raw.contains("?") || Self.questionStart.matches(q)
        guard isQuestion else { return nil }
        if Self.tripTopics.matches(q) {
            if let trip = facts["trip"] {
                return "For your trip to \(trip): check the weather there for your dates, then pack layers, comfortable shoes, chargers and your travel documents."
            }
            if let move = facts["move"] {
                return "For your move to \(move): sort your documents and address change first, pack room by room, and label every box."
            }
            if q.contains("pack") || q.contains("trip") || q.contains("travel") {
                return "I don't know about any trip of yours: \(notInContext)."
            }
        }
        if Self.petTopics.matches(q), let key = memory.order.last(where: { $0.hasPrefix("pet:") }) {
            let name = facts[key] ?? ""
            return "For \(name.isEmpty ? "your \(key.dropFirst(4))" : "\(name), your \(key.dropFirst(4))"): keep to a routine and ask your vet when in doubt."
        }
        if Self.jobTopics.matches(q), let job = facts["job"] ?? facts["employer"] {
            let who = facts["job"] != nil ? "As \(FactExtractor.article(job)) \(job)" : "Working at \(job)"
            return "\(who), you know your workplace best; I'd write down what you want to say before you raise it."
        }
        if Self.homeTopics.matches(q) {
            if let home = facts["home"] { return "In \(home), where you live, I'd ask a neighbour: I'm the offline model and know only what you tell me." }
            if let place = facts["move"] ?? facts["trip"] { return "In \(place), where you're headed, I'd check a local guide: I'm the offline model and know only what you tell me." }
        }
        return nil
    }

    func fallback(_ q: String, raw: String) -> String {
        let name = facts["name"].map { ", \($0)" } ?? ""
        let known = memory.facts.count
        let facts = known == 0 ? "no facts about you" : "\(known) fact\(known == 1 ? "" : "s") about you"
        let isQuestion = raw.contains("?") || Self.questionStart.matches(q)
        if isQuestion {
            return "I can't answer that\(name): I'm the offline model and only recall what you tell me. \(seeing), holding \(facts)."
        }
        return "I hear you\(name). \(seeing), holding \(facts)."
    }
}
