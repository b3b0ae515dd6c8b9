import Foundation
import Testing
@testable import ChatEngine

/// Drives the offline model the way the server does: read a context, then reply to its last message.
struct Conversation_ {
    let model = OfflineModel()
    var snapshot: String? = nil

    mutating func say(_ text: String, instructions: String? = nil) -> String {
        let withInput = model.read([.userText(text)], after: snapshot)
        let reply = model.reply(to: withInput, instructions: instructions)
        snapshot = model.read([.assistantMessage(id: nil, text: reply)], after: withInput)
        return reply
    }
}

@Suite struct OfflineModelTests {
    @Test func extractsFactsInManyPhrasings() {
        let cases: [(String, String, String)] = [
            ("My name is Priya and I'm moving to Lisbon.", "name", "Priya"),
            ("My name is Priya and I'm moving to Lisbon.", "move", "Lisbon"),
            ("hi! my name's jo", "name", "Jo"),
            ("Please call me Sam.", "name", "Sam"),
            ("I’m Aiko, nice to meet you", "name", "Aiko"),
            ("I am Mateo Garcia", "name", "Mateo Garcia"),
            ("I live in Porto now", "home", "Porto"),
            ("I'm from Nairobi, Kenya", "home", "Nairobi"),
            ("I am based in São Paulo.", "home", "São Paulo"),
            ("I work as a nurse at the city hospital", "job", "nurse"),
            ("I'm a software engineer.", "job", "software engineer"),
            ("I'm a software engineer in Tokyo.", "job", "software engineer"),
            ("I'm a software engineer in Tokyo.", "home", "Tokyo"),
            ("I work as a nurse in Porto", "home", "Porto"),
            ("I'm a nurse at St Mary's.", "employer", "St Mary's"),
            ("I work at Acme Corp", "employer", "Acme Corp"),
            ("I'm planning a trip to Japan in April", "trip", "Japan"),
            ("I am flying to New York tomorrow", "trip", "New York"),
            ("I'll be moving to Berlin next month", "move", "Berlin"),
            ("My favourite colour is green", "fav:color", "green"),
            ("my favorite food's ramen!", "fav:food", "ramen"),
            ("I'm 34 years old", "age", "34"),
            ("I just turned 40.", "age", "40"),
            ("I have a cat named Miso", "pet:cat", "Miso"),
            ("My dog is called rex", "pet:dog", "Rex"),
            ("I have a cat named Miso 🐱", "pet:cat", "Miso"),
            ("I'm moving to Lisbon 🇵🇹 next year", "move", "Lisbon"),
        ]
        for (text, key, value) in cases {
            let facts = Dictionary(FactExtractor.facts(in: text), uniquingKeysWith: { _, b in b })
            #expect(facts[key] == value, "\(text) → \(facts)")
        }
    }

    @Test func doesNotMistakeStatesQuestionsOrHobbiesForFacts() {
        for text in ["I'm tired", "I'm going to bed", "I'm a big fan of jazz", "Am I moving to Lisbon?",
                     "I'm Very happy today", "Where am I moving?", "I'm 5 minutes away"] {
            let facts = FactExtractor.facts(in: text)
            #expect(facts.filter { ["name", "move", "trip", "job", "age"].contains($0.0) }.isEmpty, "\(text) → \(facts)")
        }
    }

    @Test func recallsAcrossTurnsInNaturalForms() {
        var c = Conversation_()
        #expect(c.say("My name is Priya and I'm moving to Lisbon.").contains("Priya"))
        #expect(c.say("Where am I moving?").contains("Lisbon"))
        #expect(c.say("what's my name").contains("Priya"))
        #expect(c.say("Who am I?").contains("Priya"))
        _ = c.say("I work as an architect. My favorite color is teal. I have a dog named Biscuit. I'm 29.")
        #expect(c.say("What do I do for a living?").contains("architect"))
        #expect(c.say("What's my favourite colour?").contains("teal"))
        #expect(c.say("what is my dog's name").contains("Biscuit"))
        #expect(c.say("HOW OLD AM I???").contains("29"))
        let all = c.say("What do you know about me?")
        for fact in ["Priya", "Lisbon", "architect", "teal", "Biscuit", "29"] { #expect(all.contains(fact), "\(all)") }
    }

    @Test func laterStatementsOverrideEarlierOnes() {
        var c = Conversation_()
        _ = c.say("I live in Paris.")
        let ack = c.say("Actually I live in Berlin now.")
        #expect(ack.contains("Berlin") && ack.contains("Paris"))
        #expect(c.say("Where do I live?") == "You live in Berlin.")
    }

    @Test func saysPlainlyWhenTheContextLacksTheAnswer() {
        var c = Conversation_()
        let r = c.say("What's my name?")
        #expect(r.contains("don't know your name"))
        #expect(r.contains("0 earlier messages"))
        _ = c.say("Hello there")
        #expect(c.say("which city am I in?").contains("4 earlier messages"))  // it counts what it sees
        #expect(c.say("where do I live?").contains("don't know where you live"))
    }

    /// Passages of other sessions (episodic memory) are read, but they are not messages of this
    /// conversation: the count it gives is of this conversation's messages only.
    @Test func passagesOfOtherSessionsAreNotCountedAsThisConversationsMessages() {
        let m = OfflineModel()
        let passages: [Item] = (1...3).map { .message(Message(role: "developer", content: .text("\(EpisodicMemory.passagePrefix) (\"trip\", 2026-11-2\($0)) the user said: I'm planning a trip to Lisbon."))) }
        let memory = m.read(passages + [.userText("The sky is nice today")], after: nil)
        let reply = m.reply(to: memory, instructions: nil)
        #expect(reply.contains("0 earlier messages"), "\(reply)")
        #expect(m.reply(to: m.read([.userText("What did I say about Lisbon?")], after: memory), instructions: nil).contains("Lisbon"))
    }

    /// "What did I say about my cat last week?" with no passage about it: a fact it was given (hybrid
    /// sends them as instructions) still answers; the topic is said back as "your cat".
    @Test func anEpisodeQuestionWithoutAPassageFallsBackToTheFacts() {
        let m = OfflineModel()
        let memory = m.read([.userText("What did I say about my cat last week?")], after: nil)
        let known = m.reply(to: memory, instructions: "Long-term memory: I have a cat named Tofu.")
        #expect(known.contains("you have a cat named Tofu") && known.contains("your cat") && !known.contains("about cat"), "\(known)")
        let none = m.reply(to: memory, instructions: nil)
        #expect(none == "I don't see anything you said about your cat in the passages of earlier sessions I was given.", "\(none)")
    }

    @Test func mentionsRememberedFactsInRelatedQuestions() {
        var c = Conversation_()
        _ = c.say("I'm planning a trip to Japan.")
        #expect(c.say("What should I pack?").contains("Japan"))
        var d = Conversation_()
        #expect(d.say("What should I pack?").contains("don't know about any trip"))
    }

    @Test func greetsByNameAndCountsMessages() {
        var c = Conversation_()
        _ = c.say("I'm Aiko.")
        #expect(c.say("hello!") == "Hello, Aiko!")
        let other = c.say("The sky is nice today")
        #expect(other.contains("4 earlier messages"), "\(other)")
        // A greeting that gives the name is answered once.
        var d = Conversation_()
        #expect(d.say("Hi, my name is Ana.") == "Nice to meet you, Ana!")
        #expect(d.say("Hi! My name is Priya and I'm moving to Lisbon.") == "Got it, you're Priya now, not Ana. Noted: you're moving to Lisbon.")
        var e = Conversation_()
        _ = e.say("I'm a software engineer in Tokyo.")
        let known = e.say("What do you know about me?")
        #expect(known.contains("software engineer") && known.contains("Tokyo"), "\(known)")
    }

    @Test func readsFactsFromInstructionsButConversationWins() {
        var c = Conversation_()
        let instructions = "Known facts about the user, in their words: My name is Priya. I live in Lisbon."
        #expect(c.say("What's my name?", instructions: instructions).contains("Priya"))
        _ = c.say("I live in Madrid.", instructions: instructions)
        #expect(c.say("Where do I live?", instructions: instructions).contains("Madrid"))
        // Without the instructions, the facts are gone: instructions are not part of the context.
        #expect(c.say("What's my name?").contains("don't know"))
    }

    @Test func summaryStatesTheFactsAndReadsBack() {
        let model = OfflineModel()
        let items: [Item] = [.userText("My name is Priya and I'm moving to Lisbon."), .assistantMessage(id: nil, text: "Nice!"),
                             .userText("My favourite food is bacalhau.")]
        // As the runner asks for it: a request carrying the summary instructions.
        let summary = model.reply(to: model.read(items, after: nil), instructions: MemoryPolicy.summaryInstructions)
        #expect(summary.contains("Priya") && summary.contains("Lisbon") && summary.contains("bacalhau"))
        let snapshot = model.read([.message(Message(role: "system", content: .text(summary))), .userText("where am I moving to?")], after: nil)
        #expect(model.reply(to: snapshot, instructions: nil).contains("Lisbon"))
    }

    @Test func isDeterministic() {
        var a = Conversation_(), b = Conversation_()
        for line in ["hi", "My name is Ana", "what is the meaning of life?", "I have a cat", "what's my cat's name?"] {
            #expect(a.say(line) == b.say(line))
        }
    }
}
