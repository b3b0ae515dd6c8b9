import Foundation
import Testing
import TestSupport
@testable import ChatEngine

/// What only a shared state can show: two backends (as two `serve` processes would) on one Redis, the
/// re-checks at write time between them, Redis going away, and whatever Redis or a client may send.
@Suite struct RedisServerStateTests {
    func ask(_ b: OfflineBackend, _ text: String, after prev: String? = nil, conversation: String? = nil) async throws -> Response {
        try await b.createResponse(CreateResponseRequest(model: "m", input: .text(text), previousResponseID: prev, conversation: conversation))
    }

    /// Redis lost the secret (emptied, failed over): a running server writes its own back, so a server
    /// started after it agrees, and items handed out before still open (they once split the fleet).
    @Test func aLostSecretIsWrittenBackByTheServersThatHoldIt() async throws {
        guard let rig = try StateRig.make(.redis) else { return }
        defer { rig.close() }
        let trigger = Item.opaque(.object(["type": .string("compaction_trigger")]))
        let a = try rig.backend()
        let before = try await a.createResponse(CreateResponseRequest(model: "m", input: .items([.userText("My name is Ana."), trigger])))
        _ = try rig.client?.call("DEL", "\(rig.prefix):secret")
        // A compaction on the running server puts its secret back; a server started now reads it.
        _ = try await a.createResponse(CreateResponseRequest(model: "m", input: .items([.userText("I live in Oslo."), trigger])))
        let c = try rig.backend()
        let read = try await c.createResponse(CreateResponseRequest(model: "m", input: .items([before.output[0], .userText("What's my name?")])))
        #expect(read.outputText.contains("Ana"), "\(read.outputText)")
    }

    /// What the client hears and what the operator reads: no host, port or AUTH detail in the reply;
    /// the gateway's keys apart from the offline server's; ids quoted back at most 100 characters.
    @Test func errorsSayLittleToClientsAndGatewaysKeepTheirOwnKeys() throws {
        let e = RedisServerState.apiError(RedisError(.connection, "connection refused (WRONGPASS)", endpoint: "10.1.2.3:6379"))
        #expect(e.status == 503 && !e.message.contains("10.1.2.3") && !e.message.contains("WRONGPASS"))
        let url = try RedisURL(parsing: "redis://127.0.0.1:6379/0")
        #expect(RedisServerState(url: url).prefix == "chatbench:server:" && RedisServerState(url: url, gateway: true).prefix == "chatbench:gateway:")
        let long = APIError.previousResponseNotFound(String(repeating: "x", count: 10_000_000))
        #expect(long.message.utf8.count < 300)
    }

    @Test func twoBackendsOnOneRedisShareChainsConversationsAndTheSecret() async throws {
        guard let rig = try StateRig.make(.redis) else { return }
        defer { rig.close() }
        let a = try rig.backend(), b = try rig.backend()
        let r1 = try await ask(a, "My name is Priya.")
        let r2 = try await ask(b, "I live in Porto.", after: r1.id)
        let r3 = try await ask(a, "What's my name? Where do I live?", after: r2.id)
        #expect(r3.outputText.contains("Priya") && r3.outputText.contains("Porto"))
        #expect(try await b.retrieveResponse(id: r3.id) == r3)
        let conv = try await a.createConversation(items: [.userText("My name is Ana.")], metadata: [:])
        _ = try await ask(b, "I live in Oslo.", conversation: conv.id)
        let c = try await ask(a, "What's my name? Where do I live?", conversation: conv.id)
        #expect(c.outputText.contains("Ana") && c.outputText.contains("Oslo"), "\(c.outputText)")
        // One secret: a compaction item sealed by one opens on the other.
        let sealed = try await a.createResponse(CreateResponseRequest(model: "m", input: .items([.userText("My name is Ana."),
                                                                                                  .opaque(.object(["type": .string("compaction_trigger")]))])))
        let read = try await b.createResponse(CreateResponseRequest(model: "m", input: .items([sealed.output[0], .userText("What's my name?")])))
        #expect(read.outputText.contains("Ana"))
    }

    @Test func aResponseCommittedOnOneAfterItsParentWasDeletedOnTheOtherIsBroken() async throws {
        guard let rig = try StateRig.make(.redis) else { return }
        defer { rig.close() }
        let a = try rig.backend(), b = try rig.backend()
        let r1 = try await ask(a, "My name is Priya.")
        let pending = try a.lockedPrepare(CreateResponseRequest(model: "m", input: .text("I live in Lisbon."), previousResponseID: r1.id))
        _ = try await b.deleteResponse(id: r1.id)
        try a.commit(pending)
        await expectAPIError(status: 400, code: "previous_response_not_found") { _ = try await self.ask(b, "Where?", after: pending.response.id) }
        // A conversation deleted on one while the other made its turn: the turn is refused, nothing appended.
        let conv = try await a.createConversation(items: [], metadata: [:])
        let turn = try a.lockedPrepare(CreateResponseRequest(model: "m", input: .text("hi"), conversation: conv.id))
        _ = try await b.deleteConversation(id: conv.id)
        await expectAPIError(status: 404) { try a.commit(turn) }
        #expect(try rig.storedItemCount(of: a, conversation: conv.id) == 0)
    }

    /// On both states: two backends (two processes) on one conversation.
    @Test(arguments: ServerStateKind.allCases)
    func concurrentTurnsOnOneConversationFromTwoBackendsLoseNothing(kind: ServerStateKind) async throws {
        guard let rig = try StateRig.make(kind, file: true) else { return }
        defer { rig.close() }
        let a = try rig.backend(), b = try rig.backend()
        let conv = try await a.createConversation(items: [], metadata: [:])
        // Both plan from the same memory, then both commit: the second must not keep a memory without the first.
        let p1 = try a.lockedPrepare(CreateResponseRequest(model: "m", input: .text("My name is Priya."), conversation: conv.id))
        let p2 = try b.lockedPrepare(CreateResponseRequest(model: "m", input: .text("I live in Porto."), conversation: conv.id))
        try a.commit(p1)
        try b.commit(p2)
        let q = try await ask(a, "What's my name? Where do I live?", conversation: conv.id)
        #expect(q.outputText.contains("Priya") && q.outputText.contains("Porto"), "\(q.outputText)")
        // A turn planned from a memory that was current, committed after a stale turn invalidated it,
        // must not write that memory back without the stale turn's items.
        let conv2 = try await a.createConversation(items: [], metadata: [:])
        let stale = try a.lockedPrepare(CreateResponseRequest(model: "m", input: .text("My name is Ana."), conversation: conv2.id))
        let first = try b.lockedPrepare(CreateResponseRequest(model: "m", input: .text("I live in Oslo."), conversation: conv2.id))
        try b.commit(first)
        let current = try b.lockedPrepare(CreateResponseRequest(model: "m", input: .text("I'm a nurse."), conversation: conv2.id))
        try a.commit(stale)
        try b.commit(current)
        let q2 = try await ask(a, "What's my name? Where do I live?", conversation: conv2.id)
        #expect(q2.outputText.contains("Ana") && q2.outputText.contains("Oslo"), "\(q2.outputText)")
        // Many at once, from both.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<16 {
                let backend = i % 2 == 0 ? a : b
                group.addTask { _ = try await self.ask(backend, "Note \(i).", conversation: conv.id) }
                group.addTask { _ = try await backend.addConversationItems(conversationID: conv.id, items: [.userText("Added \(i).")]) }
            }
            try await group.waitForAll()
        }
        let items = try await b.listConversationItems(conversationID: conv.id, query: ListQuery(limit: 100, order: "asc"))
        let texts = items.data.map(\.text)
        #expect(texts.count == 6 + 16 * 3)
        for i in 0..<16 { #expect(texts.contains("Note \(i).") && texts.contains("Added \(i).")) }
        #expect(Set(items.data.compactMap(\.id)).count == items.data.count)
    }

    @Test func redisGoingAwayIsA503AndItIsUsedAgainWhenBack() async throws {
        guard let server = try RedisServer.start(persistent: true) else { return }
        defer { server.stop() }
        var url = server.redisURL
        url.timeout = 20   // long: were a request to wait it out, the check below would see it
        let b = try OfflineBackend(redis: url)
        let r1 = try await ask(b, "My name is Priya.")
        server.stop()
        let started = Date()
        await expectAPIError(status: 503, code: "state_unavailable") { _ = try await self.ask(b, "What's my name?", after: r1.id) }
        await expectAPIError(status: 503, code: "state_unavailable") { _ = try await b.retrieveResponse(id: r1.id) }
        await expectAPIError(status: 503, code: "state_unavailable") { _ = try await b.createConversation(items: [], metadata: [:]) }
        // At once, not after a timeout (with margin for a loaded machine's starved async work).
        #expect(Date().timeIntervalSince(started) < 15)
        try server.launch()
        // Within a second of the last failure requests fail at once; then Redis is used again.
        var back: Response?
        for _ in 0..<40 where back == nil {
            back = try? await ask(b, "What's my name?", after: r1.id)
            if back == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(back?.outputText.contains("Priya") == true)
    }

    /// Redis restarted while the server was idle, or while it was failing requests: once Redis is back
    /// and the second of fast failures has passed, the next request succeeds at the first try (the
    /// kept connection, dead since the restart, is replaced instead of failing that request).
    @Test func theFirstRequestAfterRedisCameBackSucceeds() async throws {
        guard let server = try RedisServer.start(persistent: true) else { return }
        defer { server.stop() }
        var url = server.redisURL
        url.timeout = 2
        let b = try OfflineBackend(redis: url)
        let r1 = try await ask(b, "My name is Priya.")
        server.stop()
        try server.launch()
        let r2 = try await ask(b, "What's my name?", after: r1.id)
        #expect(r2.outputText.contains("Priya"))
        // Again, with a failed request while Redis was down (which starts the fast failures).
        server.stop()
        await expectAPIError(status: 503, code: "state_unavailable") { _ = try await self.ask(b, "x", after: r1.id) }
        try server.launch()
        try await Task.sleep(for: .milliseconds(Int(RedisServerState.cooldown * 1000) + 100))
        let r3 = try await ask(b, "What's my name?", after: r2.id)
        #expect(r3.outputText.contains("Priya"))
        // And with the connection dead while idle after those failures.
        server.stop()
        try server.launch()
        #expect(try await ask(b, "What's my name?", after: r3.id).outputText.contains("Priya"))
    }

    @Test func hostileIDsAndHostileRedisDataAreErrorsNeverTraps() async throws {
        guard let rig = try StateRig.make(.redis) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let c = try #require(rig.client)
        let p = rig.prefix
        let r = try await ask(b, "My name is Priya.")
        for id in ["", "*", "\(r.id):x", "i:\(r.id)", String(repeating: "z", count: 100_000), "\u{0}\u{1b}[2J", "r:\(r.id)"] {
            await expectAPIError(status: 400, code: "previous_response_not_found") { _ = try await self.ask(b, "x", after: id) }
            await expectAPIError(status: 404) { _ = try await b.retrieveResponse(id: id) }
            await expectAPIError(status: 404) { _ = try await b.deleteResponse(id: id) }
            await expectAPIError(status: 404) { _ = try await b.getConversation(id: id) }
        }
        // Someone else's data under our keys: wrong types, numbers that are not, a chain that loops.
        try c.call("SET", "\(p):r:wrongtype", "just a string")
        await expectAPIError(status: 500, code: "state_error") { _ = try await self.ask(b, "x", after: "wrongtype") }
        try c.call("HSET", "\(p):r:nan", "stored", "1", "deleted", "0", "depth", "not a number")
        await expectAPIError(status: 400, code: "previous_response_not_found") { _ = try await self.ask(b, "x", after: "nan") }
        try c.call("HSET", "\(p):r:huge", "stored", "1", "deleted", "0", "depth", "99999999999999999999999")
        await expectAPIError(status: 400, code: "previous_response_not_found") { _ = try await self.ask(b, "x", after: "huge") }
        try c.call("HSET", "\(p):r:loop1", "stored", "1", "deleted", "0", "depth", "2", "prev", "loop2", "ps", "{garbage")
        try c.call("HSET", "\(p):r:loop2", "stored", "1", "deleted", "0", "depth", "3", "prev", "loop1")
        try c.call("RPUSH", "\(p):ri:loop1", "{not json", "[1,2]")
        let looped = try await ask(b, "x", after: "loop1")   // the walk stops where depth does not fall
        #expect(looped.previous_response_id == "loop1")
        #expect(try b.chainItems(endingAt: "loop2").count <= 2)
        try c.call("SET", "\(p):ci:wrongtype", "x")
        try c.call("HSET", "\(p):c:wrongtype", "deleted", "0", "created", "nope", "meta", "{not json")
        #expect(try await b.getConversation(id: "wrongtype").metadata == [:])
        await expectAPIError(status: 500, code: "state_error") {
            _ = try await b.listConversationItems(conversationID: "wrongtype", query: ListQuery())
        }
        // A damaged secret: refused, not used.
        try c.call("SET", "\(p):secret", "short")
        #expect(throws: StorageError.self) { _ = try rig.backend() }
    }
}
