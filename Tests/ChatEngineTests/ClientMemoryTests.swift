import Foundation
import Testing
@testable import ChatEngine

@Suite struct AgentSessionTests {
    @Test func followsTheSDKSessionProtocol() throws {
        let db = try Database.inMemory(migrations: WorkbenchStore.migrations)
        let s = SQLiteAgentSession(sessionID: "user-1", database: db)
        #expect(try s.getItems(limit: nil).isEmpty)
        #expect(try s.popItem() == nil)
        try s.addItems([])
        try s.addItems((1...5).map { Item.userText("m\($0)") })
        #expect(try s.getItems(limit: nil).map(\.text) == ["m1", "m2", "m3", "m4", "m5"])
        #expect(try s.getItems(limit: 2).map(\.text) == ["m4", "m5"])     // the latest N, in chronological order
        #expect(try s.getItems(limit: 10).count == 5)
        #expect(try s.popItem()?.text == "m5")
        #expect(try s.getItems(limit: nil).count == 4)
        let other = SQLiteAgentSession(sessionID: "user-2", database: db)
        try other.addItems([.userText("x")])
        try s.clearSession()
        #expect(try s.getItems(limit: nil).isEmpty)
        #expect(try other.getItems(limit: nil).count == 1)
        #expect(try db.query("SELECT count(*) FROM agent_sessions WHERE session_id = 'user-1'")[0][0] == .integer(0))
    }

    @Test func skipsUnreadableRowsAndGrowsTheWindow() throws {
        let db = try Database.inMemory(migrations: WorkbenchStore.migrations)
        let s = SQLiteAgentSession(sessionID: "u", database: db)
        try s.addItems([.userText("a"), .userText("b")])
        for _ in 0..<5 { try db.execute("INSERT INTO agent_messages(session_id, message_data) VALUES ('u', '{not json')") }
        try s.addItems([.userText("c")])
        #expect(try s.getItems(limit: nil).map(\.text) == ["a", "b", "c"])
        #expect(try s.getItems(limit: 2).map(\.text) == ["b", "c"])
        #expect(try s.getItems(limit: 3).map(\.text) == ["a", "b", "c"])
        try db.execute("INSERT INTO agent_messages(session_id, message_data) VALUES ('u', 'garbage')")
        #expect(try s.popItem()?.text == "c")   // the corrupt newest row is skipped
    }

    /// Rows exactly as the Python Agents SDK's SQLiteSession writes them, in both JSON separator styles.
    static let pythonRows = [
        #"{"content": "First question", "role": "user"}"#,
        #"{"id": "msg_2e00", "content": [{"annotations": [], "text": "Hello from stub", "type": "output_text", "logprobs": []}], "role": "assistant", "status": "completed", "type": "message"}"#,
        #"{"arguments":"{\"city\":\"Paris\"}","call_id":"call_1","name":"get_weather","type":"function_call","id":"fc_94bf","status":"completed"}"#,
        #"{"call_id":"call_1","output":"Sunny in Paris","type":"function_call_output"}"#,
        #"{"id":"__fake_id__","content":[{"annotations":[],"text":"It is sunny.","type":"output_text","logprobs":[]}],"role":"assistant","status":"completed","type":"message","provider_data":{"model":"llama3","response_id":"chatcmpl-1"}}"#,
        #"{"type": "some_future_item", "payload": {"x": [1, 2]}}"#,
    ]

    static func writePythonFile(_ path: String) throws {
        let db = try Database.open(path: path, migrations: [], refuseNewer: false)
        try db.executeScript(SQLiteAgentSession.schema())
        try db.execute("INSERT OR IGNORE INTO agent_sessions(session_id) VALUES ('user-1')")
        for row in pythonRows { try db.execute("INSERT INTO agent_messages(session_id, message_data) VALUES ('user-1', ?)", [.text(row)]) }
        db.close()
    }

    @Test func readsEveryItemShapeTheSDKWrites() throws {
        let dir = TempDir()
        let path = dir.file("agent.db")
        try Self.writePythonFile(path)
        let s = try SQLiteAgentSession.openExternal(path: path, sessionID: "user-1")
        let items = try s.getItems(limit: nil)
        #expect(items.count == Self.pythonRows.count)
        #expect(items.map(\.type) == ["message", "message", "function_call", "function_call_output", "message", "some_future_item"])
        for (item, row) in zip(items, Self.pythonRows) {
            // Item for item: the JSON chatbench holds equals the row's JSON.
            #expect(try WireJSON.decode(JSONValue.self, from: item.jsonString()) == WireJSON.decode(JSONValue.self, from: row))
        }
        // The SDK strips the Chat Completions fake id and provider data before sending.
        let cleaned = Runner.cleanForInput(items[4])
        #expect(cleaned.id == nil && cleaned.message?.extra["provider_data"] == nil)
        #expect(try SQLiteAgentSession.list(in: s.db).map(\.0) == ["user-1"])
    }
}

@Suite struct ClientAndHybridMemoryTests {
    @Test(arguments: [MemoryMode.chain, .conversation, .client, .hybrid])
    func recallScenarioInEveryMode(mode: MemoryMode) async throws {
        let rig = try Rig()
        try rig.session("s", mode)
        _ = try await rig.send("My name is Priya and I'm moving to Lisbon.", "s")
        _ = try await rig.send("I have a cat named Miso.", "s")
        let t = try await rig.send("Where am I moving, and what is my name?", "s")
        #expect(t.reply.contains("Lisbon") && t.reply.contains("Priya"), "\(mode): \(t.reply)")
    }

    func sixTurns(policy: String) async throws -> [TurnResult] {
        let rig = try Rig()
        var s = try rig.session("s", .client)
        s.policy = policy
        try rig.store.save(s)
        var out: [TurnResult] = []
        for text in ["My name is Priya and I'm moving to Lisbon.", "I have a cat named Miso.", "I work as a nurse.",
                     "Where am I moving?", "My favourite colour is green.", "What's my name, and where am I moving?"] {
            out.append(try await rig.send(text, "s"))
        }
        return out
    }

    @Test func aWindowForgetsAndSummarizingRemembers() async throws {
        let window = try await sixTurns(policy: "window:2")
        #expect(window[3].reply.contains("don't know where you're moving"), "\(window[3].reply)")
        #expect(window[3].turn.policyEffect == PolicyEffect(policy: "window:2", kept: 2, dropped: 4, summarized: 0))
        let all = try await sixTurns(policy: "all")
        #expect(all[5].reply.contains("Priya") && all[5].reply.contains("Lisbon"))
        #expect(all[5].turn.policyEffect == PolicyEffect(policy: "all", kept: 10, dropped: 0, summarized: 0))
        let summarized = try await sixTurns(policy: "summarize:4")
        #expect(summarized[5].reply.contains("Priya") && summarized[5].reply.contains("Lisbon"), "\(summarized[5].reply)")
        let effect = try #require(summarized[5].turn.policyEffect)
        #expect(effect.policy == "summarize:4" && effect.kept == 2 && effect.dropped == 0 && effect.summarized == 8)
        // Summarizing sends less than keeping everything, and the summary's own cost is counted.
        #expect(summarized[5].turn.itemsSent < all[5].turn.itemsSent)
        let budget = try await sixTurns(policy: "budget:40")
        #expect((budget[5].turn.policyEffect?.dropped ?? 0) > 0)
        #expect(budget[5].reply.contains("don't know your name"))
    }

    /// The summary request is overhead: billed apart from the turn (its `overhead`, the session's overhead
    /// totals), not the model's context. The turn's request is the summary item, the kept items and the
    /// message, and its tokens are what the server billed it.
    @Test func aSummaryRequestIsNotPartOfTheReplysContext() async throws {
        let rig = try Rig()
        var s = try rig.session("s", .client)
        s.policy = "summarize:4"
        try rig.store.save(s)
        var last: TurnResult?
        for text in ["My name is Priya.", "I live in Porto.", "I have a dog named Rex.", "Hello again."] { last = try await rig.send(text, "s") }
        let t = try #require(last).turn
        let summary = try #require(t.policyEffect?.summary)
        #expect(summary.items == 4 && summary.requestBytes > 0 && (summary.inputTokens ?? 0) > 0)
        #expect(t.reply.items == 1 + 2 + 1)   // summary item, the newest turn kept verbatim, the new message
        let overhead = try #require(t.overhead.first)
        #expect(t.overhead.count == 1 && overhead.kind == "summarizer" && overhead.request_bytes == summary.requestBytes)
        #expect(overhead.input_tokens == summary.inputTokens && overhead.output_tokens == summary.outputTokens)
        let requests = try rig.store.requests(turn: t.id)
        #expect(requests.map(\.kind) == [.summarizer, .reply])
        #expect(requests[1].bytes == t.requestBytes && requests[0].bytes == summary.requestBytes)
        // The same reply request sent again (the offline model is deterministic) is billed the same.
        let stored = try rig.store.agentSession(for: try #require(try rig.store.session(named: "s"))).getItems(limit: nil).map(Runner.cleanForInput)
        let compaction = try #require(try rig.store.latestCompaction(session: s.id))
        let context = [Runner.summaryItem(compaction.summary)] + stored[4..<6] + [Item.userText("Hello again.")]
        let again = try await rig.backend.createResponse(CreateResponseRequest(model: "offline-model", input: .items(Array(context)), store: false))
        let billed = try #require(again.usage)
        #expect(t.reply.inputTokens == billed.input_tokens && t.reply.outputTokens == billed.output_tokens)
        let memory = try rig.store.memoryState(for: try #require(try rig.store.session(named: "s")))
        #expect(memory.contextTokens == billed.input_tokens)
        let turns = try rig.store.turns(session: s.id)
        #expect(memory.totalInputTokens == turns.reduce(0) { $0 + ($1.inputTokens ?? 0) })
        #expect(memory.overheadInputTokens == turns.reduce(0) { $0 + ($1.overhead.first?.input_tokens ?? 0) } && memory.overheadInputTokens >= (summary.inputTokens ?? 0))
    }

    @Test func summariesAreRecordedAsCompactionsAndReused() async throws {
        let rig = try Rig()
        var s = try rig.session("s", .client)
        s.policy = "summarize:4"
        try rig.store.save(s)
        for text in ["My name is Priya.", "I live in Porto.", "I have a dog named Rex.", "Hello again."] { _ = try await rig.send(text, "s") }
        let c = try #require(try rig.store.latestCompaction(session: s.id))
        #expect(c.covers == 4 && c.summary.contains("Priya") && c.summary.contains("Porto"))
        #expect(!c.summary.contains("Rex"))  // the newest turn is kept verbatim, not summarized
    }

    @Test func clientItemsAreStoredInTheSDKTablesInOrder() async throws {
        let rig = try Rig()
        try rig.session("my-session", .client)
        _ = try await rig.send("Hello", "my-session")
        _ = try await rig.send("I'm Ana.", "my-session")
        let rows = try rig.store.db.query("SELECT message_data FROM agent_messages WHERE session_id = 'my-session' ORDER BY id")
        let parsed = try rows.map { try JSONSerialization.jsonObject(with: Data(($0[0].string ?? "").utf8)) as? [String: Any] }
        #expect(parsed.count == 4)
        #expect(parsed.map { $0?["role"] as? String } == ["user", "assistant", "user", "assistant"])
        #expect(parsed[0]?["content"] as? String == "Hello" && parsed[0]?["type"] == nil)  // the easy form, like the SDK
        #expect(parsed[1]?["type"] as? String == "message")
    }

    @Test func hybridSessionsShareFactsChainSessionsDoNot() async throws {
        let rig = try Rig()
        try rig.session("teacher", .hybrid)
        _ = try await rig.send("My name is Priya and I'm moving to Lisbon.", "teacher")
        try rig.session("student", .hybrid)
        let learned = try await rig.send("What's my name, and where am I moving?", "student")
        #expect(learned.reply.contains("Priya") && learned.reply.contains("Lisbon"))
        try rig.session("plain", .chain)
        #expect(try await rig.send("What's my name?", "plain").reply.contains("don't know"))
        var other = try rig.session("elsewhere", .hybrid)
        other.profile = "work"
        try rig.store.save(other)
        #expect(try await rig.send("What's my name?", "elsewhere").reply.contains("don't know"))
        // The facts reach the server as instructions on every turn (the chain does not carry them).
        let r = try await rig.backend.retrieveResponse(id: learned.turn.responseID!)
        #expect(r.instructions?.stringValue?.contains("My name is Priya.") == true)
    }

    @Test func switchingThroughEveryModeKeepsRecall() async throws {
        let rig = try Rig()
        try rig.session("s", .chain)
        _ = try await rig.send("My name is Priya and I'm moving to Lisbon.", "s")
        var events: [ChainEvent?] = []
        for (mode, text) in [(MemoryMode.client, "I have a cat named Miso."), (.conversation, "I work as a nurse."), (.hybrid, "I'm 34.")] {
            try rig.session("s", mode)
            let t = try await rig.send(text, "s")
            events.append(t.turn.chainEvent)
        }
        #expect(events == [.switch, .switch, .switch])
        let t = try await rig.send("What do you know about me?", "s")
        for fact in ["Priya", "Lisbon", "Miso", "nurse", "34"] { #expect(t.reply.contains(fact), "\(t.reply)") }
        let turns = try rig.store.turns(session: t.session.id)
        #expect(turns.map(\.mode) == [.chain, .client, .conversation, .hybrid, .hybrid])
    }

    @Test func policiesParseOrExplain() throws {
        #expect(try MemoryPolicy(parsing: "all") == .all)
        #expect(try MemoryPolicy(parsing: "window:3") == .window(3))
        #expect(try MemoryPolicy(parsing: "budget:500") == .budget(500))
        #expect(try MemoryPolicy(parsing: "summarize:6") == .summarize(6))
        for bad in ["", "window", "window:0", "window:x", "summarize:1", "all:3", "lru:5"] {
            #expect(throws: ConfigurationError.self) { try MemoryPolicy(parsing: bad) }
        }
        #expect(MemoryPolicy.summarize(4).summarizeKeep == 2 && MemoryPolicy.summarize(10).summarizeKeep == 4)
    }
}
