import Foundation
import Synchronization
import Testing
import TestSupport
@testable import ChatEngine

/// `RedisAgentSession` against a real redis-server the test starts: the SDK's key layout, its
/// transactions, and clear errors when Redis misbehaves or goes away.
@Suite struct RedisSessionTests {
    func session(_ server: RedisServer, _ id: String = "user-1", query: String = "") throws -> RedisAgentSession {
        RedisAgentSession(sessionID: id, client: RedisClient(url: try RedisURL(parsing: server.url + query)))
    }

    @Test func writesTheAgentsSDKLayout() throws {
        guard let server = try RedisServer.start() else { return }
        let s = try session(server)
        let raw = s.client
        try s.addItems([.userText("Hi, I'm Priya"), .assistantMessage(id: "msg_1", text: "Hello Priya")])
        #expect(try raw.call("TYPE", "agents:session:user-1") == .simple("hash"))
        #expect(try raw.call("TYPE", "agents:session:user-1:messages") == .simple("list"))
        #expect(try raw.call("EXISTS", "agents:session:user-1:counter") == .integer(0))   // reserved, as in the SDK
        let hash = try #require(try raw.call("HGETALL", "agents:session:user-1").array).compactMap(\.string)
        let fields = Dictionary(uniqueKeysWithValues: stride(from: 0, to: hash.count, by: 2).map { (hash[$0], hash[$0 + 1]) })
        #expect(Set(fields.keys) == ["session_id", "created_at", "updated_at"])
        #expect(fields["session_id"] == "user-1")
        let serverNow = try #require(try raw.call("TIME").array?.first?.int)
        let created = try #require(Int64(fields["created_at"] ?? ""))
        #expect(abs(created - serverNow) <= 5)
        let rows = try #require(try raw.call("LRANGE", "agents:session:user-1:messages", "0", "-1").array).compactMap(\.string)
        #expect(rows == [#"{"content":"Hi, I'm Priya","role":"user"}"#, Item.assistantMessage(id: "msg_1", text: "Hello Priya").jsonString()])
        // created_at is kept on later writes; the items come back in order.
        try raw.call("HSET", "agents:session:user-1", "created_at", "1")
        try s.addItems([.userText("again")])
        #expect(try raw.call("HGET", "agents:session:user-1", "created_at") == .bulk(Array("1".utf8)))
        #expect(try s.getItems().map(\.text) == ["Hi, I'm Priya", "Hello Priya", "again"])
        #expect(try s.getItems(limit: 2).map(\.text) == ["Hello Priya", "again"])
        #expect(try s.count() == 3)
    }

    /// The test server itself: a port another process took between picking and binding makes
    /// redis-server exit; the helper then starts on a fresh port instead of failing the test.
    @Test func aTakenPortIsRetriedOnAFreshOne() throws {
        guard RedisServer.binary != nil else { return }
        guard let squatter = try RedisServer.start() else { return }
        var offered: [Int] = []
        let server = try #require(try RedisServer.start(nextPort: {
            offered.append(offered.isEmpty ? squatter.port : try RedisServer.freePort())
            return offered.last!
        }))
        #expect(offered.count == 2 && server.port == offered[1] && server.port != squatter.port)
        #expect(try RedisClient(url: server.redisURL).call("PING") == .simple("PONG"))
    }

    /// The screen pages a Redis session like a SQLite one: a row's id is its place in the list.
    @Test func pagesOfTheListForTheScreen() throws {
        guard let server = try RedisServer.start() else { return }
        let s = try session(server, "paged")
        try s.addItems((1...10).map { .userText("item \($0)") })
        let last = try s.rows(.last(4))
        #expect(last.rows.map(\.id) == [7, 8, 9, 10] && last.rows.map(\.text) == ["item 7", "item 8", "item 9", "item 10"] && last.more)
        let before = try s.rows(.before(7, 3))
        #expect(before.rows.map(\.id) == [4, 5, 6] && before.more)
        #expect(try s.rows(.before(3, 5)).rows.map(\.id) == [1, 2])
        #expect(try s.rows(.before(3, 5)).more == false)
        let after = try s.rows(.after(6, 2))
        #expect(after.rows.map(\.text) == ["item 7", "item 8"] && after.more)
        #expect(try s.rows(.first(20)).rows.count == 10 && (try s.rows(.first(20)).more) == false)
        #expect(try s.rows(.after(10, 5)).rows.isEmpty)
    }

    @Test func skipsUnreadableItemsAndClearsAllThreeKeys() throws {
        guard let server = try RedisServer.start() else { return }
        let s = try session(server, "s", query: "?key_prefix=myapp:chats")
        try s.addItems([.userText("a"), .userText("b")])
        try s.client.call("RPUSH", "myapp:chats:s:messages", "not json", "{\"role\":\"user\",\"content\":\"c\"}", "{broken")
        try s.client.call("SET", "myapp:chats:s:counter", "7")
        #expect(try s.getItems(limit: 2).map(\.text) == ["b", "c"])   // the window grew past the broken ones
        #expect(try s.getItems().map(\.text) == ["a", "b", "c"])
        #expect(try s.popItem()?.text == "c")                          // "{broken" was dropped on the way
        #expect(try s.client.call("LLEN", "myapp:chats:s:messages") == .integer(3))
        try s.clearSession()
        #expect(try s.client.call("EXISTS", "myapp:chats:s", "myapp:chats:s:messages", "myapp:chats:s:counter") == .integer(0))
        #expect(try s.popItem() == nil)
        #expect(try s.getItems().isEmpty)
    }

    @Test func aKeyOfTheWrongTypeIsAClearErrorAndNothingIsWritten() throws {
        guard let server = try RedisServer.start() else { return }
        let s = try session(server)
        try s.client.call("SET", "agents:session:user-1:messages", "a string")
        #expect {
            try s.addItems([.userText("x")])
        } throws: { ($0 as? RedisError)?.code == "WRONGTYPE" && "\($0)".contains("agents:session:user-1:messages") }
        #expect(try s.client.call("EXISTS", "agents:session:user-1") == .integer(0))
        #expect { try s.clearSession() } throws: { ($0 as? RedisError)?.code == "WRONGTYPE" }
        #expect(try s.client.call("GET", "agents:session:user-1:messages") == .bulk(Array("a string".utf8)))
        #expect { try s.getItems() } throws: { ($0 as? RedisError)?.code == "WRONGTYPE" }
        #expect(try s.client.call("PING") == .simple("PONG"))   // the connection is still usable
        // A counter of another type blocks what would delete or expire it (clear, ttl), not a plain append.
        let other = try session(server, "other"), withTTL = try session(server, "other", query: "?ttl=60")
        try s.client.call("HSET", "agents:session:other:counter", "f", "v")
        try other.addItems([.userText("fine")])
        #expect { try withTTL.addItems([.userText("x")]) } throws: { "\($0)".contains("counter") }
        #expect { try other.clearSession() } throws: { ($0 as? RedisError)?.code == "WRONGTYPE" }
        #expect(try other.getItems().map(\.text) == ["fine"])
    }

    @Test func ttlExpiresAllThreeKeysAtServerTime() throws {
        guard let server = try RedisServer.start() else { return }
        let s = try session(server, query: "?ttl=300")
        try s.client.call("SET", "agents:session:user-1:counter", "0")
        try s.addItems([.userText("x")])
        for key in ["agents:session:user-1", "agents:session:user-1:messages", "agents:session:user-1:counter"] {
            let ms = try #require(try s.client.call("PTTL", key).int)
            #expect(ms > 290_000 && ms <= 300_000, "\(key): \(ms)")
        }
    }

    /// Many writers on one session, each on its own connection: WATCH/EXEC retries keep every item.
    @Test func concurrentWritersLoseNothing() throws {
        guard let server = try RedisServer.start() else { return }
        let url = try RedisURL(parsing: server.url)
        DispatchQueue.concurrentPerform(iterations: 6) { w in
            let s = RedisAgentSession(sessionID: "shared", client: RedisClient(url: url))
            for i in 0..<40 { try! s.addItems([.userText("w\(w)-\(i)"), .userText("w\(w)-\(i)b")]) }
        }
        let items = try RedisAgentSession(sessionID: "shared", client: RedisClient(url: url)).getItems().map(\.text)
        #expect(items.count == 480)
        #expect(Set(items).count == 480)
        // Each writer's pairs stay adjacent and in order: one RPUSH per transaction.
        for w in 0..<6 {
            let mine = items.filter { $0.hasPrefix("w\(w)-") }
            #expect(mine == (0..<40).flatMap { ["w\(w)-\($0)", "w\(w)-\($0)b"] })
        }
    }

    /// `u1:messages` would use u1's message list as its metadata hash (WRONGTYPE, or worse): refused
    /// through the store API with a configuration error, before anything is written anywhere.
    @Test func sessionNamesThatCollideWithTheSDKLayoutAreRefused() throws {
        guard let server = try RedisServer.start() else { return }
        try session(server, "u1").addItems([.userText("u1's own")])
        let home = TempHome()
        let bench = try Workbench(paths: Paths(dataDirectory: home.path, configDirectory: home.path + "/config"), backendName: "offline")
        for name in ["u1:messages", "u1:counter"] {
            #expect { try RedisAgentSession.open(url: server.redisURL, sessionID: name) } throws: {
                $0 is ConfigurationError && "\($0)".contains("'\(name)'") && "\($0)".contains("collide")
            }
            #expect { _ = try bench.openSession(name: name, options: .init(clientDB: server.url)) } throws: { $0 is ConfigurationError }
            #expect(try bench.store.session(named: name) == nil)
        }
        let keys = try session(server).client.call("KEYS", "*").array?.compactMap(\.string).sorted()
        #expect(keys == ["agents:session:u1", "agents:session:u1:messages"])
        // Names that merely contain the words are fine.
        _ = try RedisAgentSession.open(url: server.redisURL, sessionID: "u1:messages:old")
        _ = try RedisAgentSession.open(url: server.redisURL, sessionID: "my-counter")
    }

    /// Redis restarted while the client sat idle: its kept connection is dead. The first command after
    /// Redis is back replaces it and succeeds; it is not reported as a lost connection.
    @Test func aConnectionThatDiedWhileIdleIsReplacedOnFirstUse() throws {
        guard let server = try RedisServer.start(persistent: true) else { return }
        defer { server.stop() }
        let s = RedisAgentSession(sessionID: "idle", client: RedisClient(url: server.redisURL))
        try s.addItems([.userText("before")])
        server.stop()
        try server.launch()
        #expect(try s.getItems().map(\.text) == ["before"])
        server.stop()
        try server.launch()
        try s.addItems([.userText("after")])   // a WATCH … EXEC write, on a fresh connection
        #expect(try s.getItems().map(\.text) == ["before", "after"])
    }

    /// The dead connection is not replaced where re-sending could do harm: inside an `exclusive`
    /// section that already used it (a WATCH on it would be lost), or once a reply had begun.
    @Test func aDeadConnectionIsNotReplacedMidTransactionOrMidReply() throws {
        guard let server = try RedisServer.start(persistent: true) else { return }
        defer { server.stop() }
        let c = RedisClient(url: server.redisURL)
        try c.call("PING")
        #expect { try c.exclusive {
            try c.call("WATCH", "k")
            server.stop()
            try server.launch()
            try c.call("MULTI")
        } } throws: { ($0 as? RedisError)?.kind == .connection }
        #expect(try c.call("PING") == .simple("PONG"))

        // A fake server: answers the first command on a connection, starts the second reply and hangs up.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        let port = try RedisServer.freePort()
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(bound == 0 && listen(listener, 4) == 0)
        let accepted = Mutex(0)
        Thread.detachNewThread {
            while true {
                let conn = accept(listener, nil, nil)
                if conn < 0 { return }
                accepted.withLock { $0 += 1 }
                var buf = [UInt8](repeating: 0, count: 4096)
                _ = recv(conn, &buf, buf.count, 0)
                _ = send(conn, "+OK\r\n", 5, 0)
                _ = recv(conn, &buf, buf.count, 0)
                _ = send(conn, "$10\r\nabc", 9, 0)
                close(conn)
            }
        }
        let fake = RedisClient(url: RedisURL(host: "127.0.0.1", port: port))
        #expect(try fake.call("PING") == .simple("OK"))
        #expect { try fake.call("INCR", "n") } throws: { ($0 as? RedisError)?.kind == .connection }
        #expect(accepted.withLock { $0 } == 1)   // INCR was not sent again on a new connection
        shutdown(listener, Int32(SHUT_RDWR))
    }

    @Test func connectionAndAuthErrorsAreClearAndAReturningServerIsUsedAgain() throws {
        let closed = try RedisServer.freePort()
        let nobody = RedisAgentSession(sessionID: "x", client: RedisClient(url: RedisURL(host: "127.0.0.1", port: closed)))
        #expect { try nobody.getItems() } throws: {
            ($0 as? RedisError)?.kind == .connection && "\($0)".contains("127.0.0.1:\(closed)") && "\($0)".contains("is redis-server running")
        }
        guard let server = try RedisServer.start(password: "s3cret") else { return }
        let noPassword = try session(server)
        #expect { try noPassword.addItems([.userText("x")]) } throws: { ($0 as? RedisError)?.kind == .auth && "\($0)".contains("CHATBENCH_REDIS_PASSWORD") }
        let wrong = try session(server, query: "").client.url
        var bad = wrong
        bad.password = "nope"
        #expect { try RedisClient(url: bad).call("PING") } throws: { ($0 as? RedisError)?.kind == .auth }
        var good = wrong
        good.password = "s3cret"
        let s = RedisAgentSession(sessionID: "x", client: RedisClient(url: good))
        try s.addItems([.userText("before")])
        server.stop()
        #expect { try s.addItems([.userText("while down")]) } throws: { ($0 as? RedisError)?.kind == .connection }
        #expect { try s.getItems() } throws: { ($0 as? RedisError)?.kind == .connection }
        try server.launch()   // a fresh, empty server on the same port (nothing is saved)
        try s.addItems([.userText("after")])
        #expect(try s.getItems().map(\.text) == ["after"])
    }

    /// The hook a live view polls: it moves on every change another writer makes, and only then.
    @Test func theChangeTokenMovesWhenAnyWriterChangesTheSession() throws {
        guard let server = try RedisServer.start() else { return }
        let mine = try session(server), theirs = try session(server)
        let sqlite = SQLiteAgentSession(sessionID: "user-1", database: try Database.inMemory(migrations: WorkbenchStore.migrations))
        for (a, b) in [(mine as any AgentSession, theirs as any AgentSession), (sqlite, sqlite)] {
            var seen = try a.changeToken()
            #expect(try a.changeToken() == seen)
            for change in [{ try b.addItems([.userText("x")]) }, { _ = try b.popItem() }, { try b.addItems([.userText("y")]) },
                           { _ = try b.popItem(); try b.addItems([.userText("z")]) }, { try b.clearSession() }] {
                try change()
                let now = try a.changeToken()
                #expect(now != seen)
                seen = now
            }
        }
    }

    /// The store-level hook: a Redis-backed session's token moves when another program appends.
    @Test func theStoreReportsOutsideChangesToARedisBackedSession() throws {
        guard let server = try RedisServer.start() else { return }
        let store = try WorkbenchStore.inMemory()
        var rec = try store.createSession(name: "live", mode: .client, backend: "offline", model: "offline-model")
        #expect(try store.externalChangeToken(for: rec) == nil)   // local items: data_version covers them
        rec.clientDB = server.url
        try store.save(rec)
        let before = try #require(try store.externalChangeToken(for: rec))
        try RedisAgentSession(sessionID: "live", client: RedisClient(url: server.redisURL)).addItems([.userText("from Python")])
        #expect(try store.externalChangeToken(for: rec) != before)
    }

    @Test func urlsParseAndNeverShowThePassword() throws {
        let u = try RedisURL(parsing: "redis://app:pw@cache.local:6380/3?key_prefix=a:b&ttl=60&timeout=2.5")
        #expect(u.host == "cache.local" && u.port == 6380 && u.db == 3 && u.username == "app" && u.password == "pw")
        #expect(u.keyPrefix == "a:b" && u.ttl == 60 && u.timeout == 2.5)
        #expect(u.redacted == "redis://app@cache.local:6380/3?key_prefix=a:b&ttl=60&timeout=2.5")
        #expect(try RedisURL(parsing: "redis://localhost").redacted == "redis://localhost:6379/0")
        for bad in ["redis://", "redis://h:0", "redis://h/x", "redis://h?ttl=0", "redis://h?size=3", "rediss://h", "http://h"] {
            #expect(throws: RedisError.self, "\(bad)") { try RedisURL(parsing: bad) }
        }
        #expect { try RedisURL(parsing: "redis://:hunter2@h/x") } throws: { !"\($0)".contains("hunter2") }
    }
}
