import Foundation
import Testing
@testable import ChatEngine

/// One connection per database file per process, turns numbered and chained inside one write
/// transaction, and reading that leaves files as they were.
@Suite struct ManyConnectionsTests {
    func tempDir() throws -> String {
        let dir = NSTemporaryDirectory() + "chatbench-conn-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The descriptors this process has open on `path` (not its -wal/-shm).
    func descriptors(on path: String) -> Int {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == target }.count
    }

    @Test func everyOpenerOfAFileSharesOneConnection() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/workbench.sqlite"
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.sqlite", withDestinationPath: path)
        let a = try WorkbenchStore(path: path)
        let b = try WorkbenchStore(path: path)
        let c = try WorkbenchStore(path: dir + "/link.sqlite")
        let d = try WorkbenchStore(path: dir + "/../" + (dir as NSString).lastPathComponent + "/workbench.sqlite")
        let sdk = try SQLiteAgentSession.openExternal(path: path, sessionID: "agent")
        let reader = try Database.openReadOnly(path: path)
        #expect(a.db === b.db && a.db === c.db && a.db === d.db && a.db === sdk.db && a.db === reader)
        _ = try a.createSession(name: "s", mode: .chain, backend: "offline", model: "m")
        try sdk.addItems([.userText("hi")])
        #expect(descriptors(on: path) == 1)
    }

    @Test func aConnectionNobodyUsesClosesAndIsForgotten() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/x.sqlite"
        do { _ = try Database.open(path: path, migrations: []) }
        #expect(descriptors(on: path) == 0)
        let again = try Database.open(path: path, migrations: [])
        #expect(descriptors(on: path) == 1)
        withExtendedLifetime(again) {}
    }

    @Test func duplicateTurnNumbersFromOlderFilesAreRepairedAndThenImpossible() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/workbench.sqlite"
        do {
            // A file as chatbench wrote it before version 7, with two turns that took the same number.
            // (Rows written with SQL: today's store reads columns a file this old does not have yet.)
            let old = try Database.open(path: path, migrations: WorkbenchStore.migrations.filter { $0.version <= 6 })
            for (id, name) in [(1, "s"), (2, "t")] {
                try old.execute("INSERT INTO sessions(id, name, mode, backend, model, created_at, updated_at) VALUES (?, ?, 'chain', 'offline', 'm', 0, 0)",
                                [.integer(Int64(id)), .text(name)])
            }
            let (sID, otherID): (Int64, Int64) = (1, 2)
            for (session, number, response) in [(sID, 1, "r1"), (sID, 2, "r2a"), (sID, 2, "r2b"), (sID, 3, "r3"), (otherID, 1, "o1")] {
                try old.execute("""
                    INSERT INTO turns(session_id, number, mode, backend, model, response_id, items_sent, request_bytes, status, created_at)
                    VALUES (?, ?, 'chain', 'offline', 'm', ?, 1, 10, 'completed', 0)
                    """, [.integer(session), .integer(Int64(number)), .text(response)])
            }
            old.close()
        }
        let store = try WorkbenchStore(path: path)
        let s = try #require(try store.session(named: "s"))
        #expect(try store.turns(session: s.id).map(\.number) == [1, 2, 3, 4])
        #expect(try store.turns(session: s.id).map(\.responseID) == ["r1", "r2a", "r2b", "r3"])
        #expect(throws: StorageError.self) {
            try store.db.execute("""
                INSERT INTO turns(session_id, number, mode, backend, model, items_sent, request_bytes, status, created_at)
                VALUES (?, 4, 'chain', 'offline', 'm', 1, 10, 'completed', 0)
                """, [.integer(s.id)])
        }
    }

    /// Two turns started at once on one session (two tasks here; two processes in ManyProcessesTests):
    /// the second waits for the first and chains from it, so the model keeps both.
    @Test func concurrentTurnsOnOneSessionChainOneAfterTheOther() async throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try WorkbenchStore(path: dir + "/workbench.sqlite")
        let backend = try OfflineBackend(path: dir + "/offline-server.sqlite", streamDelay: .milliseconds(2))
        _ = try store.createSession(name: "s", mode: .chain, backend: "offline", model: backend.info.defaultModel)
        let runner = Runner(store: store, backend: backend)
        async let a = runner.send("My name is Carl.", in: "s")
        async let b = runner.send("I have a cat named Miso.", in: "s")
        _ = try await (a, b)
        let s = try #require(try store.session(named: "s"))
        let turns = try store.turns(session: s.id)
        #expect(turns.map(\.number) == [1, 2])
        #expect(turns[0].previousResponseID == nil && turns[1].previousResponseID == turns[0].responseID)
        #expect(s.chainHead == turns[1].responseID)
        let reply = try await runner.send("What's my name and what's my cat's name?", in: "s").reply
        #expect(reply.contains("Carl") && reply.contains("Miso"), "\(reply)")
    }

    @Test func readingAnSDKFileChangesNotOneByte() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/agent.db"
        do {
            // As the Python SDK leaves it: rollback journal, not WAL.
            let db = try Database.open(path: path, migrations: [], refuseNewer: false)
            try db.execute("PRAGMA journal_mode=DELETE")
            try db.executeScript(SQLiteAgentSession.schema() + "INSERT INTO agent_sessions(session_id) VALUES ('user-1');")
            try db.execute("INSERT INTO agent_messages(session_id, message_data) VALUES ('user-1', ?)", [.text(#"{"role": "user", "content": "hi"}"#)])
            db.close()
        }
        let before = try #require(FileManager.default.contents(atPath: path))
        let list = try SQLiteAgentSession.list(path: path)
        #expect(list.count == 1 && list[0].0 == "user-1" && list[0].1 == 1)
        #expect(FileManager.default.contents(atPath: path) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func aMissingFolderForAnSDKFileIsAnErrorThatCreatesNothing() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: StorageError.self) { _ = try SQLiteAgentSession.openExternal(path: dir + "/no/such/agent.db", sessionID: "x") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/no"))
    }
}
