import Foundation
import Testing
import TestSupport
@testable import ChatEngine

/// The seed's memory architecture, offline (#20): semantic memory across sessions, episodic passages
/// retrieved from other sessions, a summary that keeps what working memory dropped, the updater as a
/// model request, and a context X-ray whose numbers add up.
@Suite struct LayeredMemoryTests {
    func rig() throws -> (WorkbenchStore, OfflineBackend, Runner) {
        let store = try WorkbenchStore.inMemory()
        let backend = try OfflineBackend(inMemoryWith: OfflineModel())
        return (store, backend, Runner(store: store, backend: backend))
    }

    @discardableResult
    func session(_ store: WorkbenchStore, _ name: String, _ mode: MemoryMode, policy: String = "all") throws -> SessionRecord {
        var s = try store.createSession(name: name, mode: mode, backend: "offline", model: "offline-model")
        s.policy = policy
        try store.save(s)
        return s
    }

    @Test func factsToldInOneSessionAreRecalledInANewOneThroughSemanticMemory() async throws {
        let (store, _, runner) = try rig()
        try session(store, "monday", .layered)
        let told = try await runner.send("My name is Priya and I work as a nurse.", in: "monday")
        #expect(told.turn.overhead.map(\.kind) == ["updater"] && told.turn.overhead[0].note.hasPrefix("2 facts") && told.turn.overhead[0].facts == 2)
        #expect(try store.facts(profile: "default").map(\.0).sorted() == ["job", "name"])
        try session(store, "tuesday", .layered)
        let t = try await runner.send("What's my name? What do I do for a living?", in: "tuesday")
        #expect(t.reply.contains("Priya") && t.reply.contains("nurse"), "\(t.reply)")
        #expect(t.turn.context?.contains { $0.source == "semantic" && $0.tokens > 0 } == true)
        // A plain client session with the same question knows nothing: the facts came from semantic memory.
        try session(store, "plain", .client)
        #expect(try await runner.send("What's my name?", in: "plain").reply.contains("don't know your name"))
    }

    @Test func anEpisodeIsAnsweredFromAnotherSessionAndVisibleInTheXRay() async throws {
        let (store, _, runner) = try rig()
        try session(store, "last-week", .chain)
        _ = try await runner.send("I'm planning a trip to Lisbon in the spring.", in: "last-week")
        _ = try await runner.send("The weather has been lovely.", in: "last-week")
        try session(store, "today", .layered)
        let t = try await runner.send("What did I say about Lisbon last week?", in: "today")
        #expect(t.reply.contains("trip to Lisbon in the spring"), "\(t.reply)")
        let episodic = try #require(t.turn.context?.first { $0.source == "episodic" })
        #expect(episodic.items >= 1)
        let reply = try #require(try store.requests(turn: t.turn.id).first { $0.kind == .reply })
        let request = try WireJSON.decode(CreateResponseRequest.self, from: reply.body)
        let items = try #require(request.input?.items)
        let passages = zip(items, reply.sources).filter { $0.1 == "episodic" }.map(\.0.text)
        #expect(passages.contains { $0.contains("\"last-week\"") && $0.contains("trip to Lisbon") }, "\(passages)")
        #expect(!passages.contains { $0.contains("weather") })   // retrieved for the message, not the whole session
        // A greeting retrieves nothing.
        let hi = try await runner.send("Hello there!", in: "today")
        #expect(hi.turn.context?.contains { $0.source == "episodic" } == false)
    }

    @Test func aFactTheWindowDroppedIsStillHeldByTheSummary() async throws {
        let (store, _, runner) = try rig()
        let script = ["I have a cat named Miso.", "The weather has been lovely.", "I read a history book.", "We walked by the river.",
                      "The market was busy.", "I made soup.", "Trains were late."]
        try session(store, "layered", .layered, policy: "window:4")
        try session(store, "window", .client, policy: "window:4")
        for text in script {
            _ = try await runner.send(text, in: "layered")
            _ = try await runner.send(text, in: "window")
        }
        let windowed = try await runner.send("What's my cat's name?", in: "window")
        let layered = try await runner.send("What's my cat's name?", in: "layered")
        #expect(!windowed.reply.contains("Miso"), "\(windowed.reply)")
        #expect(layered.reply.contains("Miso"), "\(layered.reply)")
        let s = try #require(try store.session(named: "layered"))
        let summary = try #require(try store.latestMemorySummary(session: s.id))
        #expect(summary.summary.contains("Miso"))
        #expect(layered.turn.context?.first { $0.source == "summary" }?.items == 1)
        #expect(layered.turn.context?.first { $0.source == "working" }.map { $0.items <= 4 + Runner.layeredSummaryEvery } == true)
        let overheadKinds = try store.turns(session: s.id).flatMap { $0.overhead.map(\.kind) }
        #expect(overheadKinds.contains("summarizer") && overheadKinds.contains("updater"))
    }

    /// A model that ignores the schema: the updater writes nothing and says why; the turn stands.
    @Test func aMalformedUpdaterReplyWritesNoFacts() async throws {
        struct Parrot: TextModel {
            let name = "parrot"
            func read(_ items: [Item], after snapshot: String?) -> String { "" }
            func reply(to snapshot: String, instructions: String?) -> String { "Sure! Your name is {not json" }
        }
        let store = try WorkbenchStore.inMemory()
        let runner = Runner(store: store, backend: try OfflineBackend(inMemoryWith: Parrot()))
        _ = try store.createSession(name: "h", mode: .hybrid, backend: "offline", model: "parrot")
        let t = try await runner.send("My name is Priya.", in: "h")
        #expect(t.turn.status == .completed)
        #expect(t.turn.overhead.first?.note.contains("not the memory_update JSON") == true && t.turn.overhead.first?.facts == nil)
        #expect(try store.facts(profile: "default").isEmpty, "hybrid no longer runs the local regexes on the reply path")
    }

    @Test func updaterRepliesAreBoundedAndCleaned() {
        let json = #"{"facts":[{"key":"Favourite Colour","value":"teal\u001b[2J"},{"key":"","value":"x"},{"key":"pet:cat","value":"Miso"},{"nope":1}]}"#
        let facts = MemoryRequests.facts(fromReply: json)
        #expect(facts?.map(\.0) == ["favourite_colour", "pet:cat"])
        #expect(facts?.first?.1.contains("\u{1b}") == false)
        #expect(MemoryRequests.facts(fromReply: "no") == nil && MemoryRequests.facts(fromReply: "{\"facts\":3}") == nil)
        let many = "{\"facts\":[" + (0..<50).map { "{\"key\":\"k\($0)\",\"value\":\"v\"}" }.joined(separator: ",") + "]}"
        #expect(MemoryRequests.facts(fromReply: many)?.count == MemoryRequests.maxFacts)
        #expect(MemoryRequests.summary(fromReply: #"{"summary":"  The user said: I live in Porto. "}"#) == "The user said: I live in Porto.")
    }

    /// The X-ray's numbers are the turn's: over 100 random turns in every mode (with switches, a lost
    /// chain and a lost conversation), the bytes of the turn's requests add up to its request_bytes, and
    /// so do its parts (a switch into a conversation, carried by a request of its own, too); the parts'
    /// items to items_sent, and their tokens to what the server billed.
    @Test func xraySumsEqualRequestBytesAndUsage() async throws {
        var rng = SeededRandom(seed: 20)
        let (store, backend, runner) = try rig()
        try session(store, "other", .chain)
        _ = try await runner.send("I'm planning a trip to Lisbon and I have a cat named Miso.", in: "other")
        try session(store, "x", .chain)
        let modes: [(MemoryMode, String)] = [(.chain, "all"), (.conversation, "all"), (.client, "window:4"), (.client, "summarize:4"),
                                             (.hybrid, "all"), (.layered, "window:4"), (.layered, "all")]
        let words = ["Lisbon", "Miso", "trip", "cat", "weather", "soup", "river"]
        for i in 0..<100 {
            var s = try #require(try store.session(named: "x"))
            if rng.next() % 4 == 0 {
                let (mode, policy) = modes[Int(rng.next() % UInt64(modes.count))]
                s = try store.setMode(session: s.id, mode, policy: policy) ?? s
            }
            if rng.next() % 11 == 0, let head = s.chainHead { _ = try? await backend.deleteResponse(id: head) }
            if rng.next() % 13 == 0, let conv = s.conversationID { _ = try? await backend.deleteConversation(id: conv) }
            let text = "Turn \(i) about \(words[Int(rng.next() % UInt64(words.count))]): my name is Ana \(i)."
            let t = try await runner.send(text, in: "x").turn
            let requests = try store.requests(turn: t.id)
            let turnRequests = requests.filter { $0.kind == .reply || $0.kind == .setup }
            #expect(turnRequests.reduce(0) { $0 + $1.bytes } == t.requestBytes, "turn \(i) \(t.mode)")
            #expect(requests.filter { $0.kind == .summarizer || $0.kind == .updater }.reduce(0) { $0 + $1.bytes }
                    == t.overhead.reduce(0) { $0 + $1.request_bytes }, "turn \(i) overhead")
            let reply = try #require(requests.last { $0.kind == .reply })
            let parts = try #require(t.context)
            #expect(parts.reduce(0) { $0 + $1.bytes } == t.requestBytes, "turn \(i) \(t.mode): parts vs request_bytes")
            #expect(parts.reduce(0) { $0 + $1.items } == t.itemsSent, "turn \(i) \(t.mode): parts vs items_sent")
            #expect(parts.allSatisfy { $0.bytes >= 0 && $0.tokens >= 0 })
            let request = try WireJSON.decode(CreateResponseRequest.self, from: reply.body)
            #expect(reply.sources.count == request.input?.items.count, "one source per item")
            let partTokens = parts.reduce(0) { $0 + $1.tokens }
            if t.mode.isServerManaged {
                #expect(partTokens == t.inputTokens, "turn \(i) \(t.mode): the server part is what it held")
            } else {
                // Nothing held by the server: the parts are exactly what the offline server billed.
                #expect(partTokens == t.inputTokens && !parts.contains { $0.source == "server" }, "turn \(i) \(t.mode)")
            }
        }
    }
}

@Suite struct LayeredCompareTests {
    /// `compare` takes layered, and its built-in script's earlier session exercises episodic recall:
    /// only layered answers what was said about Kiwi in that session.
    @Test func theBuiltInScriptsEarlierSessionIsRecalledOnlyByLayered() async throws {
        let store = try WorkbenchStore.inMemory()
        let backend = try OfflineBackend(inMemoryWith: OfflineModel())
        let columns = try CompareColumn.parseList("chain,layered,layered:window:4", defaultPolicy: "all")
        #expect(columns.map(\.label) == ["chain", "layered", "layered[window:4]"])
        #expect(throws: ConfigurationError.self) { try CompareColumn.parseList("layered+compact:2000", defaultPolicy: "all") }
        #expect(throws: ConfigurationError.self) { try CompareColumn.parseList("chain:window:4", defaultPolicy: "all") }
        let c = try Comparison(store: store, backend: backend, columns: columns, prefix: "cmp", earlier: ScriptLine.earlierSession)
        let turns = await c.run(ScriptLine.builtIn)
        let kiwi = turns.filter { $0.expected == "parrot" }
        #expect(kiwi.first { $0.mode == "chain" }?.correct == false)
        #expect(kiwi.first { $0.mode == "layered" }?.correct == true, "\(kiwi.map(\.reply))")
        let summary = CompareSummary.of(turns, sessions: c.sessions)
        let layered = try #require(summary.columns.first { $0.mode == "layered" })
        #expect(layered.recall_correct == layered.recall_asked && layered.recall_asked == 6)
        // Each column is its own user: its own profile, its own earlier session; no column reads another's.
        let layeredName = try #require(c.sessions["layered"])
        #expect(try store.session(named: layeredName)?.profile == layeredName && summary.columns.count == 3)
        #expect(try store.session(named: try #require(c.earlierSessions["layered"]))?.profile == layeredName)
        let windowSession = try #require(try store.session(named: c.sessions["layered[window:4]"]!))
        let first = try #require(try store.turns(session: windowSession.id).first)
        let episodes = try store.requests(turn: first.id).first { $0.kind == .reply }?.sources.filter { $0 == "episodic" } ?? []
        #expect(episodes.count <= 2, "at most its own earlier session's two messages")
        let bodies = try store.requests(turn: first.id).map(\.body).joined()
        #expect(!bodies.contains("cmp-chain") && !bodies.contains("cmp-layered\\\""), "another column's session was retrieved")
        #expect(try store.facts(profile: "default").isEmpty, "nothing reached the user's default profile")
    }
}

/// "Ask the server" (#20): what the server holds, read through the API, agrees with what the workbench
/// infers from its own rows.
@Suite struct ServerObservationTests {
    @Test(arguments: [MemoryMode.chain, .conversation])
    func observedMatchesInferred(mode: MemoryMode) async throws {
        let store = try WorkbenchStore.inMemory()
        let backend = try OfflineBackend(inMemoryWith: OfflineModel())
        let runner = Runner(store: store, backend: backend)
        _ = try store.createSession(name: "s", mode: mode, backend: "offline", model: "offline-model")
        for text in ["My name is Priya.", "I live in Porto.", "I have a cat named Miso."] { _ = try await runner.send(text, in: "s") }
        let s = try #require(try store.session(named: "s"))
        let last = try #require(try store.turns(session: s.id).last)
        let inferred = try #require(try store.memoryState(for: s).serverItems)
        let observed = try await ServerObservation.observe(last, backend: backend)
        #expect(observed.hasPrefix("\(inferred) items in"), "observed \(observed); inferred \(inferred)")
        #expect(observed.hasSuffix(" messages)"), "the counts by type are plural: \(observed)")
    }

    /// The counts read as English: plurals where more than one, and no "()" when there are none.
    @Test func countsArePlural() {
        #expect(ServerObservation.describe(["message": 6, "compaction": 1]) == " (1 compaction, 6 messages)")
        #expect(ServerObservation.describe([:]) == "")
        #expect(ServerObservation.count(1, "response") == "1 response" && ServerObservation.count(0, "item") == "0 items")
    }

    @Test func aChainIsObservedFromItsLastCompaction() async throws {
        let store = try WorkbenchStore.inMemory()
        let backend = try OfflineBackend(inMemoryWith: OfflineModel())
        let runner = Runner(store: store, backend: backend)
        var s = try store.createSession(name: "c", mode: .chain, backend: "offline", model: "offline-model")
        s.serverPolicy = "compact:1000"
        try store.save(s)
        _ = try await runner.send("My name is Priya.", in: "c")
        var compacted = false
        for i in 0..<20 where !compacted { compacted = try await runner.send(filler(150, i), in: "c").turn.serverEvent == .compacted }
        _ = try await runner.send("Hello.", in: "c")
        let fresh = try #require(try store.session(named: "c"))
        let last = try #require(try store.turns(session: fresh.id).last)
        let observed = try await ServerObservation.observe(last, backend: backend)
        // The compaction item and its reply, then one turn of two: what the memory panel says too.
        #expect(observed.hasPrefix("4 items in 2 responses") && observed.contains("1 compaction"), "\(observed)")
        #expect(try store.memoryState(for: fresh).serverItems == 4)
    }
}

/// From a fresh-eyed test of #20: semantic memory has a budget, layered takes only a window, and a
/// Chat Completions server is asked for the memory requests' structured output.
@Suite struct LayeredBoundsTests {
    @Test func semanticMemoryKeepsTheNewestFactsThatFitItsBudget() async throws {
        let store = try WorkbenchStore.inMemory()
        let runner = Runner(store: store, backend: try OfflineBackend(inMemoryWith: OfflineModel()))
        for i in 0..<300 { try store.saveFact(profile: "p", key: "note_\(i)", value: "value number \(i) of many", session: "s") }
        let text = try #require(try runner.factsInstructions("p"))
        #expect(TokenEstimator.tokens(text) <= Runner.semanticTokenBudget + 30)
        #expect(text.contains("note 299") && !text.contains("note 0 "), "the newest facts, not the oldest")
    }

    /// Episodic retrieval takes any message: FTS5 syntax, quotes, NUL, control characters, never an
    /// SQL error or a trap (words are quoted before they reach the engine).
    @Test func hostileMessagesNeverBreakRetrieval() async throws {
        let store = try WorkbenchStore.inMemory()
        let runner = Runner(store: store, backend: try OfflineBackend(inMemoryWith: OfflineModel()))
        _ = try store.createSession(name: "other", mode: .chain, backend: "offline", model: "offline-model")
        _ = try await runner.send("I'm planning a trip to Lisbon \"NEAR(x y)\" OR -z* : ^", in: "other")
        let me = try store.createSession(name: "me", mode: .layered, backend: "offline", model: "offline-model")
        var rng = SeededRandom(seed: 2020)
        let alphabet = Array("\"*:^-()NEAROTAND lisbon trip {}[]'\\\u{0}\u{1b}é漢")
        for _ in 0..<fuzzIterations / 4 {
            let text = String((0..<Int.random(in: 0..<40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            _ = try store.episodes(for: text, profile: "default", excludingSession: me.id, limit: 3, tokenBudget: 300)
        }
        #expect(try store.episodes(for: "lisbon \"NEAR(", profile: "default", excludingSession: me.id, limit: 3, tokenBudget: 300).count >= 1)
    }

    @Test func layeredTakesOnlyAWindow() throws {
        #expect(throws: ConfigurationError.self) { try Workbench.checkLayeredPolicy(.budget(100)) }
        #expect(throws: ConfigurationError.self) { try Workbench.checkLayeredPolicy(.summarize(6)) }
        try Workbench.checkLayeredPolicy(.window(4))
        #expect(throws: ConfigurationError.self) { try CompareColumn.parseList("layered:budget:100", defaultPolicy: "all") }
    }

    @Test func chatCompletionsAreAskedForTheSchema() throws {
        let backend = ChatCompletionsBackend(config: HTTPConfig(baseURL: URL(string: "http://127.0.0.1:1/v1")!, apiKey: nil), defaultModel: "m")
        let body = try backend.requestBody(MemoryRequests.updater(model: "m", message: .userText("My name is Priya.")))
        let json = try #require(JSONValue.parse(String(decoding: body, as: UTF8.self)))
        #expect(json["response_format"]?["type"]?.stringValue == "json_schema")
        #expect(json["response_format"]?["json_schema"]?["name"]?.stringValue == MemoryRequests.updaterSchemaName)
        #expect(json["response_format"]?["json_schema"]?["schema"]?["properties"]?["facts"] != nil)
        let plain = try backend.requestBody(CreateResponseRequest(model: "m", input: .text("hi")))
        #expect(JSONValue.parse(String(decoding: plain, as: UTF8.self))?["response_format"] == nil)
    }
}
