import Foundation
import Testing
import TestSupport
@testable import ChatEngine

/// The memory panel's numbers come from running counts; they must equal what walking every turn gives.
@Suite struct RunningCountsTests {
    /// The old way, kept as the oracle: walk the chain back from its head; sum the conversation's turns.
    func walked(_ store: WorkbenchStore, _ s: SessionRecord) throws -> (items: Int?, turns: Int, bytes: Int, input: Int) {
        let turns = try store.turns(session: s.id)
        let completed = turns.filter { $0.status == .completed }
        var items: Int?
        var count = 0
        switch s.mode {
        case .chain, .hybrid:
            let byResponse = Dictionary(completed.compactMap { t in t.responseID.map { ($0, t) } }, uniquingKeysWith: { a, _ in a })
            var cursor = s.chainHead
            var n = 0
            while let id = cursor, let t = byResponse[id] { n += t.inputItems + 1; count += 1; cursor = t.previousResponseID }
            items = s.chainHead == nil ? nil : n
        case .conversation:
            if let conv = s.conversationID {
                let on = completed.filter { $0.conversationID == conv }
                count = on.count
                items = on.reduce(0) { $0 + ($1.chainEvent == .repair ? $1.itemsSent - 1 : $1.itemsSent) + 1 }
            }
        case .client, .layered:
            items = nil
        }
        return (items, count, turns.reduce(0) { $0 + $1.requestBytes }, turns.reduce(0) { $0 + ($1.inputTokens ?? 0) })
    }

    @Test func runningCountsEqualTheWalkOverRandomSessions() async throws {
        var rng = SeededRandom(seed: 14)
        let store = try WorkbenchStore.inMemory()
        let backend = try OfflineBackend(inMemoryWith: OfflineModel())
        let runner = Runner(store: store, backend: backend)
        _ = try store.createSession(name: "s", mode: .chain, backend: "offline", model: backend.info.defaultModel)
        let modes: [MemoryMode] = [.chain, .conversation, .client, .hybrid, .layered]
        for i in 0..<60 {
            var s = try #require(try store.session(named: "s"))
            if rng.next() % 5 == 0 {
                s = try store.setMode(session: s.id, modes[Int(rng.next() % 5)], policy: "window:4") ?? s
            }
            if rng.next() % 9 == 0, let head = s.chainHead {
                _ = try? await backend.deleteResponse(id: head)   // the next chain turn repairs by replay
            }
            if rng.next() % 13 == 0, let conv = s.conversationID {
                _ = try? await backend.deleteConversation(id: conv)
            }
            _ = try? await runner.send("Message \(i): I have \(i) cats.", in: "s")
            let fresh = try #require(try store.session(named: "s"))
            let m = try store.memoryState(for: fresh)
            let w = try walked(store, fresh)
            #expect(m.serverItems == w.items && m.serverTurns == w.turns, "turn \(i) in \(fresh.mode)")
            #expect(m.totalBytes == w.bytes && m.totalInputTokens == w.input)
        }
        // A fork's copied turns count the same way.
        let s = try #require(try store.session(named: "s"))
        let turns = try store.turns(session: s.id).filter { $0.status == .completed && $0.mode == .chain }
        if let point = turns.dropLast().last?.responseID {
            let fork = try store.forkSession("s", at: point, as: "f")
            let m = try store.memoryState(for: fork)
            let w = try walked(store, fork)
            #expect(m.serverItems == w.items && m.serverTurns == w.turns)
        }
    }

    @Test func theMigrationCountsExistingTurns() throws {
        let dir = NSTemporaryDirectory() + "chatbench-counts-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/workbench.sqlite"
        do {
            // (Rows written with SQL: today's store reads columns a file this old does not have yet.)
            let old = try Database.open(path: path, migrations: WorkbenchStore.migrations.filter { $0.version <= 7 })
            try old.execute("INSERT INTO sessions(id, name, mode, backend, model, chain_head, created_at, updated_at) VALUES (1, 's', 'chain', 'offline', 'm', 'r9', 0, 0)")
            for i in 0..<10 {
                try old.execute("""
                    INSERT INTO turns(session_id, number, mode, backend, model, previous_response_id, response_id, items_sent, input_items,
                        request_bytes, input_tokens, status, created_at) VALUES (?, ?, 'chain', 'offline', 'm', ?, ?, ?, ?, ?, ?, 'completed', 0)
                    """, [.integer(1), .integer(Int64(i + 1)), i == 0 ? .null : .text("r\(i - 1)"), .text("r\(i)"),
                          .integer(Int64(1 + i % 3)), .integer(Int64(1 + i % 3)), .integer(Int64(100 + i)), .integer(Int64(10 * i))])
            }
            old.close()
        }
        let store = try WorkbenchStore(path: path)
        let s = try #require(try store.session(named: "s"))
        let m = try store.memoryState(for: s)
        // What the migration counted equals walking the turns it found.
        let w = try walked(store, s)
        #expect(w.turns == 10 && w.items != nil)
        #expect(m.serverItems == w.items && m.serverTurns == w.turns && m.totalBytes == w.bytes && m.totalInputTokens == w.input)
        #expect(m.turns == 10)
    }
}

/// A client turn reads what its policy sends, not the whole session: a 20,000-item agent session.
@Suite struct PolicyReadsTests {
    @Test func windowAndBudgetTurnsReadTheNewestItemsOnly() async throws {
        let dir = NSTemporaryDirectory() + "chatbench-policy-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try WorkbenchStore(path: dir + "/workbench.sqlite")
        let backend = try OfflineBackend(inMemoryWith: OfflineModel())
        let agentFile = dir + "/agent.db"
        let agent = try SQLiteAgentSession.openExternal(path: agentFile, sessionID: "a")
        try agent.addItems([.userText("My name is Priya.")] + (0..<20_000).map { .userText("Filler message \($0).") } + [.userText("I live in Oslo.")])
        var s = try store.createSession(name: "a", mode: .client, backend: "offline", model: backend.info.defaultModel)
        s.clientDB = agentFile
        s.clientCovers = 0
        try store.save(s)
        let runner = Runner(store: store, backend: backend)
        for policy in ["window:4", "budget:200"] {
            _ = try store.setMode(session: s.id, .client, policy: policy)
            let before = agent.db.rowsRead
            let r = try await runner.send("Where do I live?", in: "a")
            let read = agent.db.rowsRead - before
            #expect(r.reply.contains("Oslo"), "\(policy): \(r.reply)")
            #expect(read < 300, "\(policy) read \(read) rows of the agent session")
            #expect(r.turn.policyEffect?.dropped ?? 0 > 19_000)
        }
    }
}
