import Foundation
import Testing
import TestSupport
@testable import ChatEngine

/// `send --store redis://…` and CHATBENCH_REDIS_URL with the real binary and a private redis-server.
@Suite struct RedisCLITests {
    func items(_ server: RedisServer, _ session: String) throws -> [Item] {
        try RedisAgentSession(sessionID: session, client: RedisClient(url: server.redisURL)).getItems()
    }

    @Test func sendKeepsClientHistoryInRedisAndTheSessionRemembersTheStore() throws {
        guard let server = try RedisServer.start() else { return }
        let home = TempHome()
        let r1 = try ChatbenchProcess.run(["send", "--session", "r", "--store", server.url, "--json", "My name is Priya and I'm moving to Lisbon."], home: home.path)
        #expect(r1.status == 0, "\(r1.stderr)")
        #expect(r1.stdout.contains("\"mode\":\"client\""))
        #expect(try items(server, "r").map(\.role) == ["user", "assistant"])
        // No --store now: the session remembers it; the reply knows what is in Redis.
        let r2 = try ChatbenchProcess.run(["send", "--session", "r", "Where am I moving?"], home: home.path)
        #expect(r2.status == 0 && r2.stdout.contains("Lisbon"), "\(r2.stdout) \(r2.stderr)")
        #expect(try items(server, "r").count == 4)
        // Another program appends to the shared session; chatbench's next turn sees it.
        try RedisAgentSession(sessionID: "r", client: RedisClient(url: server.redisURL)).addItems([.userText("My cat is named Miso.")])
        let r3 = try ChatbenchProcess.run(["send", "--session", "r", "What is my cat's name?"], home: home.path)
        #expect(r3.status == 0 && r3.stdout.contains("Miso"), "\(r3.stdout) \(r3.stderr)")
        // The local workbench keeps no Redis items of its own.
        let db = try Database.open(path: home.path + "/workbench.sqlite", migrations: [], refuseNewer: false)
        #expect(try db.query("SELECT count(*) FROM agent_messages")[0][0].int == 0)
        #expect(try db.query("SELECT client_db FROM sessions WHERE name = 'r'")[0][0].string == "redis://127.0.0.1:\(server.port)/0")
        // Its name is the shared Redis session's id: renaming is refused, nothing changes.
        let rename = try ChatbenchProcess.run(["sessions", "rename", "r", "r2"], home: home.path)
        #expect(rename.status == 2 && rename.stderr.contains("shared Redis session"), "\(rename.stderr)")
        #expect(try db.query("SELECT count(*) FROM sessions WHERE name = 'r'")[0][0].int == 1)
    }

    @Test func theEnvironmentChoosesRedisForNewSessionsAndPasswordsAreNeverSaved() throws {
        guard let server = try RedisServer.start(password: "pw-\(UUID().uuidString.prefix(6))") else { return }
        let home = TempHome()
        let withPassword = "redis://:\(server.password!)@127.0.0.1:\(server.port)/0"
        let r = try ChatbenchProcess.run(["send", "--session", "e", "hello there"], home: home.path, extraEnv: ["CHATBENCH_REDIS_URL": withPassword])
        #expect(r.status == 0, "\(r.stderr)")
        var url = server.redisURL
        url.password = server.password
        #expect(try RedisAgentSession(sessionID: "e", client: RedisClient(url: url)).count() == 2)
        let file = try #require(FileManager.default.contents(atPath: home.path + "/workbench.sqlite"))
        #expect(file.range(of: Data(server.password!.utf8)) == nil)
        // A later process without the password is told what to do; with it in the environment it works.
        let noPw = try ChatbenchProcess.run(["send", "--session", "e", "again"], home: home.path)
        #expect(noPw.status == 1 && noPw.stderr.contains("NOAUTH") && noPw.stderr.contains("CHATBENCH_REDIS_PASSWORD"), "\(noPw.stderr)")
        let ok = try ChatbenchProcess.run(["send", "--session", "e", "again"], home: home.path, extraEnv: ["CHATBENCH_REDIS_PASSWORD": server.password!])
        #expect(ok.status == 0, "\(ok.stderr)")
        // A session asked to be server-managed ignores the default store.
        let chain = try ChatbenchProcess.run(["send", "--session", "c", "--mode", "chain", "hi"], home: home.path, extraEnv: ["CHATBENCH_REDIS_URL": withPassword])
        #expect(chain.status == 0, "\(chain.stderr)")
    }

    /// A session named like another's SDK key is refused (exit 2, the reason named), with `--store`
    /// or CHATBENCH_REDIS_URL, and nothing is written to Redis or to the workbench.
    @Test func sessionNamesEndingInMessagesOrCounterAreRefused() throws {
        guard let server = try RedisServer.start() else { return }
        let home = TempHome()
        let ok = try ChatbenchProcess.run(["send", "--session", "u1", "--store", server.url, "My name is Priya."], home: home.path)
        #expect(ok.status == 0, "\(ok.stderr)")
        let byFlag = try ChatbenchProcess.run(["send", "--session", "u1:messages", "--store", server.url, "hi"], home: home.path)
        #expect(byFlag.status == 2 && byFlag.stderr.contains("u1:messages") && byFlag.stderr.contains("collide"), "\(byFlag.stderr)")
        let byEnv = try ChatbenchProcess.run(["send", "--session", "u1:counter", "hi"], home: home.path, extraEnv: ["CHATBENCH_REDIS_URL": server.url])
        #expect(byEnv.status == 2 && byEnv.stderr.contains("u1:counter") && byEnv.stderr.contains("collide"), "\(byEnv.stderr)")
        #expect(try items(server, "u1").count == 2)
        let keys = try RedisClient(url: server.redisURL).call("KEYS", "*").array?.compactMap(\.string).sorted()
        #expect(keys == ["agents:session:u1", "agents:session:u1:messages"])
        let db = try Database.open(path: home.path + "/workbench.sqlite", migrations: [], refuseNewer: false)
        #expect(try db.query("SELECT name FROM sessions").map { $0[0].string } == ["u1"])
    }

    /// Two "machines" (two data folders, so no shared lock) with concurrent `send` processes on one
    /// Redis session: every turn's items land once, each user message directly followed by its reply.
    @Test func concurrentSendsFromTwoDataFoldersLoseNothing() throws {
        guard let server = try RedisServer.start() else { return }
        let homes = [TempHome(), TempHome()]
        nonisolated(unsafe) var failures: [String] = []
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 4) { w in
            for i in 0..<5 {
                let r = try? ChatbenchProcess.run(["send", "--session", "team", "--store", server.url, "note w\(w)-\(i)"], home: homes[w % 2].path)
                if r?.status != 0 { lock.withLock { failures.append("w\(w)-\(i): \(r?.stderr ?? "did not run")") } }
            }
        }
        #expect(failures.isEmpty, "\(failures)")
        let items = try items(server, "team")
        #expect(items.count == 40)
        let users = items.enumerated().filter { $0.element.role == "user" }
        #expect(Set(users.map(\.element.text)) == Set((0..<4).flatMap { w in (0..<5).map { "note w\(w)-\($0)" } }))
        for (i, _) in users { #expect(i + 1 < items.count && items[i + 1].role == "assistant") }
    }

    @Test func sessionsListShowsTheRedisSessionsUnderAPrefix() throws {
        guard let server = try RedisServer.start() else { return }
        let url = try RedisURL(parsing: server.url + "?key_prefix=team*:s")
        let client = RedisClient(url: url)
        try RedisAgentSession(sessionID: "alpha", client: client).addItems([.userText("a")])
        try client.call("HSET", "team*:s:beta:x", "updated_at", "1")   // an id may hold a colon
        try RedisAgentSession(sessionID: "gamma", client: client).addItems([.userText("a"), .userText("b")])
        try client.call("HSET", "teamX:s:other", "updated_at", "1")    // another prefix: the * is literal
        try client.call("HSET", "agents:session:default", "updated_at", "1")
        let r = try ChatbenchProcess.run(["sessions", "list", "--store", server.url + "?key_prefix=team*:s"], home: TempHome().path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Set(r.stdout.split(separator: "\n").map(String.init)) == ["alpha\t1 items", "gamma\t2 items", "beta:x\t0 items"], "\(r.stdout)")
    }

    @Test func badStoreFlagsAreUsageErrors() throws {
        let home = TempHome()
        for (args, message) in [(["--store", "/tmp/x.db"], "redis://"), (["--store", "redis://h:99999/0"], "port"),
                                (["--store", "redis://h/0", "--session-db", "/tmp/x"], "give one"),
                                (["--store", "redis://h/0", "--mode", "chain"], "--mode client")] {
            let r = try ChatbenchProcess.run(["send", "--session", "b"] + args + ["hi"], home: home.path)
            #expect(r.status == 2 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        let list = try ChatbenchProcess.run(["sessions", "list", "--format", "json"], home: home.path)
        #expect(!list.stdout.contains("\"b\""), "\(list.stdout)")
    }

    /// Redis stopped mid-session: a clear error, the local transcript keeps the message, and the
    /// session carries on when Redis is back.
    @Test func redisDownIsAClearErrorAndWorkResumesWhenItReturns() throws {
        guard let server = try RedisServer.start(persistent: true) else { return }
        let home = TempHome()
        let store = server.url + "?timeout=2"
        let first = try ChatbenchProcess.run(["send", "--session", "d", "--store", store, "My name is Priya and I'm moving to Lisbon."], home: home.path)
        #expect(first.status == 0, "\(first.stderr)")
        server.stop()
        let down = try ChatbenchProcess.run(["send", "--session", "d", "--json", "Where am I moving?"], home: home.path)
        #expect(down.status == 1, "\(down.stdout)")
        #expect(down.stderr.contains("Redis at 127.0.0.1:\(server.port)") && down.stderr.contains("cannot connect"), "\(down.stderr)")
        let show = try ChatbenchProcess.run(["sessions", "export", "d", "--format", "json"], home: home.path)
        #expect(show.status == 0 && show.stdout.contains("Where am I moving?") && show.stdout.contains("Lisbon"), "\(show.stdout)")
        try server.launch()
        let back = try ChatbenchProcess.run(["send", "--session", "d", "Where am I moving?"], home: home.path)
        #expect(back.status == 0 && back.stdout.contains("Lisbon"), "\(back.stdout) \(back.stderr)")
        #expect(try items(server, "d").map(\.text).filter { $0 == "Where am I moving?" }.count == 1)
    }
}
