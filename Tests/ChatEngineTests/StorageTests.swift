import Foundation
import Testing
@testable import ChatEngine

@Suite struct StorageTests {
    static let schema: [Migration] = [
        Migration(version: 1, sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, i INTEGER, d REAL, s TEXT, b BLOB, n TEXT);"),
        Migration(version: 2, sql: "ALTER TABLE t ADD COLUMN extra TEXT DEFAULT 'x';"),
    ]

    @Test func everyTypeRoundTrips() throws {
        let db = try Database.inMemory(migrations: Self.schema)
        let text = "héllo 漢字 😀 \u{0}nul"  // embedded NUL survives: bound with an explicit length
        let blob: [UInt8] = [0, 1, 2, 255, 128]
        try db.execute("INSERT INTO t(i, d, s, b, n) VALUES (?, ?, ?, ?, ?)",
                       [.integer(Int64.max), .double(-1.25e300), .text(text), .blob(blob), .null])
        try db.execute("INSERT INTO t(i, d, s, b, n) VALUES (?, ?, ?, ?, ?)", [.integer(Int64.min), .double(0.5), .text(""), .blob([]), .null])
        let rows = try db.query("SELECT i, d, s, b, n, extra FROM t ORDER BY id")
        #expect(rows[0]["i"] == .integer(Int64.max))
        #expect(rows[0]["d"] == .double(-1.25e300))
        #expect(rows[0]["s"] == .text(text))
        #expect(rows[0]["b"] == .blob(blob))
        #expect(rows[0]["n"] == .null)
        #expect(rows[0]["extra"] == .text("x"))
        #expect(rows[1]["i"] == .integer(Int64.min))
        #expect(rows[1]["s"] == .text(""))
        #expect(rows[1]["b"] == .blob([]))
    }

    @Test func throwingTransactionLeavesNothingBehind() throws {
        struct Boom: Error {}
        let db = try Database.inMemory(migrations: Self.schema)
        #expect(throws: Boom.self) {
            try db.transaction {
                try db.execute("INSERT INTO t(i) VALUES (1)")
                try db.transaction { try db.execute("INSERT INTO t(i) VALUES (2)") }
                throw Boom()
            }
        }
        #expect(try db.query("SELECT count(*) FROM t")[0][0] == .integer(0))
        // A failing inner step rolls back only itself when the outer body catches it.
        try db.transaction {
            try db.execute("INSERT INTO t(i) VALUES (3)")
            try? db.transaction { try db.execute("INSERT INTO t(i) VALUES (4)"); throw Boom() }
        }
        #expect(try db.query("SELECT i FROM t").map { $0[0] } == [.integer(3)])
    }

    @Test func versionZeroFileMigratesToCurrent() throws {
        let dir = TempDir()
        let path = dir.file("old.sqlite")
        // A version-0 file with data, as an old build might have left it.
        let v0 = try Database.open(path: path, migrations: [])
        try v0.executeScript("CREATE TABLE t(id INTEGER PRIMARY KEY, i INTEGER, d REAL, s TEXT, b BLOB, n TEXT); INSERT INTO t(s) VALUES ('kept');")
        #expect(try v0.userVersion() == 0)
        v0.close()
        // Migration 1 must not re-create what exists: version 0 + table present is what v1 produces.
        let steps = [Migration(version: 1) { db in
            try db.executeScript("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, i INTEGER, d REAL, s TEXT, b BLOB, n TEXT);")
        }, Self.schema[1]]
        let db = try Database.open(path: path, migrations: steps)
        #expect(try db.userVersion() == 2)
        #expect(try db.query("SELECT s, extra FROM t")[0]["s"] == .text("kept"))
        #expect(try db.query("SELECT s, extra FROM t")[0]["extra"] == .text("x"))
    }

    /// A store written before base URLs lost their credentials is cleaned when it is next opened.
    @Test func storedBaseURLCredentialsAreRemovedOnUpgrade() throws {
        let dir = TempDir()
        let path = dir.file("workbench.sqlite")
        do {
            let store = try WorkbenchStore(path: path)
            var s = try store.createSession(name: "old", mode: .chain, backend: "openai", model: "m")
            s.baseURL = "http://agent:PASS-0a1b2c@127.0.0.1:8080/v1"
            try store.save(s)
            var plain = try store.createSession(name: "plain", mode: .chain, backend: "openai", model: "m")
            plain.baseURL = "https://example.com/v1/@odd"
            try store.save(plain)
            try store.db.execute("PRAGMA user_version=11")
        }
        let store = try WorkbenchStore(path: path)
        #expect(try store.session(named: "old")?.baseURL == "http://127.0.0.1:8080/v1")
        #expect(try store.session(named: "plain")?.baseURL == "https://example.com/v1/@odd")
        #expect(try store.db.userVersion() == 12)
    }

    @Test func failedMigrationRollsBackAndNamesTheFile() throws {
        let dir = TempDir()
        let path = dir.file("bad.sqlite")
        let steps = [Self.schema[0], Migration(version: 2, sql: "CREATE TABLE u(x); THIS IS NOT SQL;")]
        #expect {
            try Database.open(path: path, migrations: steps)
        } throws: { e in
            guard let e = e as? StorageError else { return false }
            return e.kind == .migrationFailed && e.description.contains(path) && e.message.contains("version 2")
        }
        let db = try Database.open(path: path, migrations: [Self.schema[0]])
        #expect(try db.userVersion() == 1)
        #expect(try db.query("SELECT name FROM sqlite_master WHERE name = 'u'").isEmpty)
    }

    @Test func newerSchemaIsRefusedAndLeftUnchanged() throws {
        let dir = TempDir()
        let path = dir.file("future.sqlite")
        let future = try Database.open(path: path, migrations: Self.schema + [Migration(version: 9, sql: "CREATE TABLE z(a);")])
        future.close()
        // Fold the WAL back so the main file is the whole database, then snapshot it.
        let before = fileBytes(path)
        let walBefore = fileBytes(path + "-wal")
        #expect {
            try Database.open(path: path, migrations: Self.schema)
        } throws: { e in
            guard let e = e as? StorageError else { return false }
            return e.kind == .newerSchema && e.description.contains(path) && e.message.contains("version 9")
        }
        #expect(fileBytes(path) == before)
        #expect(fileBytes(path + "-wal") == walBefore)
    }

    @Test func nonSQLiteFileIsRefusedAndLeftUnchanged() throws {
        let dir = TempDir()
        let path = dir.file("notes.sqlite")
        let content = Array("these are my notes, not a database\n".utf8)
        _ = FileManager.default.createFile(atPath: path, contents: Data(content))
        #expect {
            try Database.open(path: path, migrations: Self.schema)
        } throws: { e in
            guard let e = e as? StorageError else { return false }
            return e.kind == .notADatabase && e.description.contains(path)
        }
        #expect(fileBytes(path) == content)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func createdFilesAre0600AndFolders0700() throws {
        let dir = TempDir()
        let path = dir.file("nested/deeper/db.sqlite")
        let db = try Database.open(path: path, migrations: Self.schema)
        try db.execute("INSERT INTO t(i) VALUES (1)")
        #expect(fileMode(path) == 0o600)
        #expect(fileMode(path + "-wal") == 0o600)
        #expect(fileMode(dir.file("nested/deeper")) == 0o700)
        #expect(fileMode(dir.file("nested")) == 0o700)
        #expect(try db.query("PRAGMA journal_mode")[0][0] == .text("wal"))
    }

    @Test func twoConnectionsWritingConcurrentlyBothSucceed() throws {
        let dir = TempDir()
        let path = dir.file("shared.sqlite")
        let a = try Database.open(path: path, migrations: Self.schema)
        let b = try Database.open(path: path, migrations: Self.schema)
        let errors = ErrorBox()
        let group = DispatchGroup()
        for (db, tag) in [(a, "a"), (b, "b")] {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    for i in 0..<100 {
                        try db.transaction {
                            try db.execute("INSERT INTO t(s, i) VALUES (?, ?)", [.text(tag), .integer(Int64(i))])
                            try db.execute("UPDATE t SET d = coalesce(d, 0) + 1 WHERE s = ?", [.text(tag)])
                        }
                    }
                } catch { errors.add(error) }
            }
        }
        group.wait()
        #expect(errors.all.isEmpty, "\(errors.all)")
        #expect(try a.query("SELECT count(*) FROM t WHERE s = 'a'")[0][0] == .integer(100))
        #expect(try b.query("SELECT count(*) FROM t WHERE s = 'b'")[0][0] == .integer(100))
        #expect(try a.integrityCheck() == "ok")
    }

    @Test func pathsFollowTheEnvironment() {
        let explicit = Paths(environment: ["CHATBENCH_HOME": "/x/cb", "XDG_DATA_HOME": "/x/data", "HOME": "/home/u"])
        #expect(explicit.dataDirectory == "/x/cb")
        #expect(explicit.configDirectory == "/home/u/.config/chatbench")
        let xdg = Paths(environment: ["XDG_DATA_HOME": "/x/data", "XDG_CONFIG_HOME": "/x/conf", "HOME": "/home/u"])
        #expect(xdg.dataDirectory == "/x/data/chatbench")
        #expect(xdg.configDirectory == "/x/conf/chatbench")
        #expect(xdg.workbenchDatabase == "/x/data/chatbench/workbench.sqlite")
        #expect(xdg.offlineServerDatabase == "/x/data/chatbench/offline-server.sqlite")
        let plain = Paths(environment: ["HOME": "/home/u", "CHATBENCH_HOME": ""])
        #expect(plain.dataDirectory == "/home/u/.local/share/chatbench")
    }
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [Error] = []
    func add(_ e: Error) { lock.lock(); errors.append(e); lock.unlock() }
    var all: [Error] { lock.lock(); defer { lock.unlock() }; return errors }
}
