import Foundation
import Testing
@testable import ChatEngine

@Suite struct SessionsTests {
    func populated() async throws -> Rig {
        let rig = try Rig()
        try rig.session("trip", .chain)
        _ = try await rig.send("My name is Priya and I'm moving to Lisbon.", "trip")
        _ = try await rig.send("I have a cat named Miso.", "trip")
        try rig.session("work", .client)
        _ = try await rig.send("I work as a nurse in Porto.", "work")
        return rig
    }

    @Test func searchFindsNamesAndMessageTextByWordPrefix() async throws {
        let rig = try await populated()
        #expect(try rig.store.listSessions().map(\.name) == ["work", "trip"])   // newest first
        #expect(try rig.store.listSessions(search: "lisb").map(\.name) == ["trip"])
        #expect(try rig.store.listSessions(search: "nurse porto").map(\.name) == ["work"])
        #expect(try rig.store.listSessions(search: "wor").map(\.name) == ["work"])   // the name
        #expect(try rig.store.listSessions(search: "zebra").isEmpty)
        #expect(try rig.store.listSessions(search: "\"quotes\" and 100%").isEmpty)   // odd input is just text
        let trip = try #require(try rig.store.listSessions().first { $0.name == "trip" })
        #expect(trip.turns == 2 && trip.messages == 4 && trip.bytes > 0)
    }

    /// The X-ray walks a session's turns one at a time through the store: by id, and the neighbour
    /// before or after a number, within the session only.
    @Test func turnsAreReadOneByOneForTheXRay() async throws {
        let rig = try await populated()
        let trip = try #require(try rig.store.session(named: "trip"))
        let turns = try rig.store.turns(session: trip.id)
        #expect(turns.count == 2)
        #expect(try rig.store.turn(id: turns[1].id)?.number == 2)
        #expect(try rig.store.turn(id: 999_999) == nil)
        #expect(try rig.store.neighbourTurn(session: trip.id, number: 2, older: true)?.id == turns[0].id)
        #expect(try rig.store.neighbourTurn(session: trip.id, number: 1, older: true) == nil)
        #expect(try rig.store.neighbourTurn(session: trip.id, number: 1, older: false)?.id == turns[1].id)
        #expect(try rig.store.neighbourTurn(session: trip.id, number: 2, older: false) == nil)   // not the other session's
    }

    @Test func renameMovesTheSDKSessionToo() async throws {
        let rig = try await populated()
        try rig.store.renameSession("work", to: "job")
        #expect(try rig.store.session(named: "work") == nil)
        #expect(try rig.store.db.query("SELECT count(*) FROM agent_messages WHERE session_id = 'job'")[0][0] == .integer(2))
        #expect(try rig.store.db.query("SELECT count(*) FROM agent_messages WHERE session_id = 'work'")[0][0] == .integer(0))
        #expect(try await rig.send("What do I do?", "job").reply.contains("nurse"))
        #expect(throws: ConfigurationError.self) { try rig.store.renameSession("job", to: "trip") }
        #expect(throws: ConfigurationError.self) { try rig.store.renameSession("nope", to: "x") }
        // The renamed session is still searchable by its text.
        #expect(try rig.store.listSessions(search: "nurse").map(\.name) == ["job"])
    }

    @Test func deleteRemovesExactlyTheSessionsLocalData() async throws {
        let rig = try await populated()
        try rig.session("h", .hybrid)
        _ = try await rig.send("I'm 34.", "h")
        let h = try #require(try rig.store.session(named: "h"))
        let before = try rig.store.db.query("SELECT count(*) FROM messages WHERE session_id != ?", [.integer(h.id)])[0][0]
        try rig.store.deleteSession("h")
        for table in ["messages", "turns", "compactions"] {
            #expect(try rig.store.db.query("SELECT count(*) FROM \(table) WHERE session_id = ?", [.integer(h.id)])[0][0] == .integer(0))
        }
        #expect(try rig.store.db.query("SELECT count(*) FROM messages")[0][0] == before)   // other sessions untouched
        #expect(try rig.store.db.query("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '\"34\"'")[0][0] == .integer(0))
        #expect(try rig.store.facts(profile: "default").count == 1)   // the profile's facts stay
        try rig.store.deleteSession("work")
        #expect(try rig.store.db.query("SELECT count(*) FROM agent_messages WHERE session_id = 'work'")[0][0] == .integer(0))
        #expect(try rig.store.listSessions().map(\.name) == ["trip"])
        // The server side, on request: its responses and conversation.
        let (responses, _) = try rig.store.serverObjects("trip")
        #expect(responses.count == 2)
    }

    @Test(arguments: [MemoryMode.chain, .hybrid, .conversation, .client])
    func forkInEachMode(mode: MemoryMode) async throws {
        let rig = try Rig()
        try rig.session("orig", mode)
        let t1 = try await rig.send("My name is Priya and I'm moving to Lisbon.", "orig")
        _ = try await rig.send("I have a cat named Miso.", "orig")
        let origMessages = try rig.store.messages(session: t1.session.id)
        let origTurns = try rig.store.turns(session: t1.session.id)
        let point = mode == .client ? "\(t1.turn.replyMessageID!)" : t1.turn.responseID!
        let fork = try rig.store.forkSession("orig", at: point, as: "fork")
        let next = try await rig.send("Where am I moving? What's my cat's name?", "fork")
        #expect(next.reply.contains("Lisbon"), "\(mode): \(next.reply)")
        if mode == .hybrid {
            // Hybrid's long-term facts belong to the profile, so even a fork made before the cat knows it.
            #expect(next.reply.contains("Miso"), "\(next.reply)")
        } else {
            #expect(next.reply.contains("don't know about your cat"), "\(mode): \(next.reply)")   // the fork ends before the cat
        }
        if mode == .chain || mode == .hybrid {
            #expect(fork.chainHead == t1.turn.responseID)
            #expect(next.turn.previousResponseID == t1.turn.responseID && next.turn.chainEvent == .continue)
        }
        // The original is untouched and still knows everything.
        #expect(try rig.store.messages(session: t1.session.id) == origMessages)
        #expect(try rig.store.turns(session: t1.session.id) == origTurns)
        #expect(try await rig.send("What's my cat's name?", "orig").reply.contains("Miso"))
        // Both know about the fork.
        #expect(try rig.store.memoryState(for: try #require(try rig.store.session(named: "fork"))).forkedFrom == "orig@\(point)")
        #expect(try rig.store.memoryState(for: try #require(try rig.store.session(named: "orig"))).forks == ["fork@\(point)"])
        #expect(throws: ConfigurationError.self) { try rig.store.forkSession("orig", at: "resp_nope", as: "f2") }
        #expect(throws: ConfigurationError.self) { try rig.store.forkSession("orig", at: point, as: "fork") }
    }

    @Test func jsonExportRoundTripsTheItems() async throws {
        let rig = try await populated()
        let text = try rig.store.exportJSON("trip")
        let doc = try #require(JSONValue.parse(text))
        #expect(doc["format"]?.stringValue == "chatbench-session/1")
        let messages = try #require(doc["messages"]?.arrayValue)
        let stored = try rig.store.messages(session: try #require(try rig.store.session(named: "trip")).id)
        #expect(messages.count == stored.count)
        for (m, s) in zip(messages, stored) {
            let item = Item(json: try #require(m["item"]))
            #expect(item == s.item)
            #expect(m["content"]?.stringValue == s.content)
        }
        let turns = try #require(doc["turns"]?.arrayValue)
        #expect(turns.count == 2 && turns[1]["previous_response_id"] == turns[0]["response_id"])
        #expect(turns[0]["request_bytes"]?.intValue ?? 0 > 0)
    }

    @Test func markdownExportSnapshot() async throws {
        let store = try WorkbenchStore.inMemory()
        let s = try store.createSession(name: "trip", mode: .chain, backend: "offline", model: "offline-model")
        let draft = TurnRecord(sessionID: s.id, number: 1, mode: .chain, backend: "offline", model: "offline-model", previousResponseID: nil,
                               responseID: "resp_0001", itemsSent: 1, inputItems: 1, requestBytes: 120, inputTokens: 15, cachedTokens: 0,
                               outputTokens: 14, latencyMs: 2.5, status: .completed, chainEvent: .start, createdAt: 0)
        try store.recordTurn(draft, userItem: .userText("My name is Priya."), userStatus: .complete,
                             reply: .assistantMessage(id: "msg_1", text: "Nice to meet you, Priya!"), replyStatus: .complete)
        let md = try store.exportMarkdown("trip")
        #expect(md == """
            # trip

            Mode: SERVER CHAIN · backend: offline · model: offline-model

            **You**:

            My name is Priya.

            **Assistant** (`resp_0001`):

            Nice to meet you, Priya!

            ## Turns

            | turn | mode | response | previous | request bytes | items | input tokens (cached) | output tokens | latency ms | status |
            |---:|---|---|---|---:|---:|---:|---:|---:|---|
            | 1 | chain | `resp_0001` | — | 120 | 1 | 15 (0) | 14 | 2.5 | completed · start |

            """)
    }
}
