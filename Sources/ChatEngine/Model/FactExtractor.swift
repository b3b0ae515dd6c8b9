import Foundation

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
