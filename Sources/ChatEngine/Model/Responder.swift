import Foundation

// MARK: - Answering

struct Responder {
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

    static let askEpisode = Pattern(#"\bwhat (?:did|have) i (?:say|said|tell you|told you|mention|mentioned|write|wrote) (?:about|regarding|on) ([a-z0-9' ]+)"#)
    static let episodeNoise: Set<String> = ["last", "week", "month", "year", "yesterday", "before", "earlier", "the", "my", "a", "an",
                                            "in", "on", "time", "ago", "session", "chat", "conversation", "other", "another", "day"]

    /// "What did I say about Lisbon last week?": the passages of earlier sessions in the context that
    /// mention the topic, quoted; or plainly that none does.
    func episodeAnswer(_ q: String) -> String? {
        guard let m = Self.askEpisode.match(q), m.count > 1 else { return nil }
        let topic = m[1]
        let words = topic.split(separator: " ").map(String.init).filter { !Self.episodeNoise.contains($0) }
        guard !words.isEmpty else { return nil }
        let hits = memory.episodes.filter { e in words.allSatisfy { e.lowercased().contains($0) } }
        // The user's own words first: what they said, not what was replied.
        guard let last = hits.last(where: { $0.contains(") the user said:") }) ?? hits.last else {
            // The topic as asked, in the second person, without the time words after it ("your cat").
            var asked = topic.split(separator: " ").map(String.init)
            while let w = asked.last, Self.episodeNoise.contains(w) { asked.removeLast() }
            let shown = asked.map { $0 == "my" ? "your" : $0 }.joined(separator: " ")
            // No passage, but a fact (from the instructions or this conversation) may be about it.
            let known = memory.order.filter { key in
                words.contains { key.lowercased().contains($0) || (facts[key]?.lowercased().contains($0) ?? false) }
            }.compactMap { k in facts[k].map { describe(k, $0) } }
            if !known.isEmpty { return "No passage of an earlier session I was given mentions \(shown), but I know that " + list(known) + "." }
            return "I don't see anything you said about \(shown) in the passages of earlier sessions I was given."
        }
        return "Here is what I found in an earlier session: \(last.dropFirst(EpisodicMemory.passagePrefix.count).trimmingCharacters(in: .whitespaces))"
    }

    func answer(_ q: String, raw: String) -> String? {
        if let episode = episodeAnswer(q) { return episode }
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
