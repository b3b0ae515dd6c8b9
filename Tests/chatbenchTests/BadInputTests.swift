import Foundation
import Testing
@testable import ChatEngine

/// Bad files, a full disk and odd messages: a clear message, exit code 1, nothing lost.
@Suite struct BadInputTests {
    @Test func aNewerWorkbenchIsRefusedUnchanged() throws {
        let home = TempHome()
        _ = try ChatbenchProcess.run(["send", "--session", "s", "hello"], home: home.path)
        let path = home.path + "/workbench.sqlite"
        let db = try Database.open(path: path, migrations: [], refuseNewer: false)
        try db.execute("PRAGMA user_version = 99")
        try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        let before = FileManager.default.contents(atPath: path)
        let r = try ChatbenchProcess.run(["send", "--session", "s", "again"], home: home.path)
        #expect(r.status == 1 && r.stderr.contains("newer chatbench") && r.stderr.contains("version 99"))
        #expect(FileManager.default.contents(atPath: path) == before)
    }

    @Test func aLockedWorkbenchWaitsThenSaysWhy() async throws {
        let home = TempHome()
        _ = try ChatbenchProcess.run(["send", "--session", "s", "hello"], home: home.path)
        // Another process holds the write lock for longer than the busy timeout (5 s).
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", "import sqlite3,time,sys; c=sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(9)",
                            home.path + "/workbench.sqlite"]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        defer { kill(holder.processIdentifier, SIGKILL); var st: Int32 = 0; waitpid(holder.processIdentifier, &st, 0) }
        _ = out.fileHandleForReading.readData(ofLength: 6)
        let path = home.path
        let r = try await offPool { Result { try ChatbenchProcess.run(["send", "--session", "s", "blocked?"], home: path) } }.get()
        #expect(r.status == 1)
        #expect(r.stderr.contains("locked") || r.stderr.contains("busy"), "\(r.stderr)")
        #expect(r.stderr.contains("another chatbench may be holding the file"), "\(r.stderr)")
    }

    @Test func aFullDiskIsAClearErrorAndLosesNothing() async throws {
        let home = TempHome()
        _ = try ChatbenchProcess.run(["send", "--session", "s", "My name is Priya."], home: home.path)
        let sizes = (try FileManager.default.contentsOfDirectory(atPath: home.path)).map {
            (try? FileManager.default.attributesOfItem(atPath: home.path + "/" + $0)[.size] as? Int) ?? 0
        }
        let limitKB = (sizes.max() ?? 0) / 1024 + 2   // just above the files as they are: the next big write fails
        let big = String(repeating: "lorem ipsum ", count: 40_000)
        let cmd = "ulimit -f \(limitKB); CHATBENCH_HOME='\(home.path)' '\(ChatbenchProcess.binary)' send --session s - > '\(home.path)/out.txt' 2> '\(home.path)/err.txt'"
        let input = home.path + "/big.txt"
        try big.write(toFile: input, atomically: true, encoding: .utf8)
        let shell = "bash -c \"\(cmd)\" < '\(input)'"
        let status = await offPool { system(shell) }
        let err = (try? String(contentsOfFile: home.path + "/err.txt", encoding: .utf8)) ?? ""
        #expect(status != 0)
        #expect(err.contains("file size limit") || err.contains("disk is full"), "\(err)")
        // Without the limit, everything from before is there and the session goes on.
        let r = try ChatbenchProcess.run(["send", "--session", "s", "What's my name?"], home: home.path)
        #expect(r.status == 0 && r.stdout.contains("Priya"), "\(r.stderr)")
        let db = try Database.open(path: home.path + "/workbench.sqlite", migrations: WorkbenchStore.migrations)
        #expect(try db.integrityCheck() == "ok")
    }

    @Test func invalidUTF8AndNULBytesAreKeptSafely() throws {
        let home = TempHome()
        let path = home.path + "/msg.bin"
        _ = FileManager.default.createFile(atPath: path, contents: Data([0x4D, 0x79, 0x20, 0xFF, 0xFE, 0x00, 0x41, 0x20, 0x62, 0x6F, 0x78]))
        let r = try ChatbenchProcess.run(["send", "--session", "s", "--json", "-"], home: home.path,
                                         stdin: String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self))
        #expect(r.status == 0, "\(r.stderr)")
        let store = try WorkbenchStore(path: home.path + "/workbench.sqlite")
        let m = try store.messages(session: try #require(try store.session(named: "s")).id)
        #expect(m.first?.content == "My \u{FFFD}\u{FFFD}\u{0}A box")
    }

    @Test func aMegabyteOneLineMessageIsQuick() throws {
        let home = TempHome()
        let started = Date()
        let input = String(repeating: "word ", count: 200_000) + "\n"
        let r = try ChatbenchProcess.run(["send", "--session", "s", "-"], home: home.path, stdin: input)
        #expect(r.status == 0)
        #expect(Date().timeIntervalSince(started) < 30)   // a generous guard against a hang, not a timing target
        let store = try WorkbenchStore(path: home.path + "/workbench.sqlite")
        #expect(try store.messages(session: try #require(try store.session(named: "s")).id).first?.content == input)   // nothing lost
    }
}

/// A real full disk and a real read-only filesystem, on a small tmpfs (needs root and mount; the
/// tests say so and pass vacuously where mounting is not allowed).
@Suite(.serialized) struct FilesystemTests {
    func withTmpfs(size: String, _ body: (String) async throws -> Void) async throws {
        let dir = NSTemporaryDirectory() + "chatbench-fs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard await offPool({ system("mount -t tmpfs -o size=\(size) tmpfs '\(dir)' 2>/dev/null") }) == 0 else {
            print("FilesystemTests: mounting a tmpfs is not allowed here; skipped")
            return
        }
        defer { _ = system("umount '\(dir)' 2>/dev/null") }
        try await body(dir)
    }

    @Test func aReallyFullDiskSaysSoAndKeepsWhatWasWritten() async throws {
        try await withTmpfs(size: "2400k") { dir in
            let home = dir + "/home"
            var lastOK = -1
            var failure = ""
            let filler = String(repeating: "pack layers and documents ", count: 2_000)
            for i in 0..<40 {
                let r = try ChatbenchProcess.run(["send", "--session", "s", "Turn \(i): \(filler)"], home: home)
                if r.status == 0 { lastOK = i } else { failure = r.stderr; break }
            }
            #expect(failure.contains("disk is full"), "\(failure)")
            #expect(lastOK >= 0, "no turn fitted before the disk was full: the test needs a bigger tmpfs")
            let db = try Database.open(path: home + "/workbench.sqlite", migrations: WorkbenchStore.migrations)
            #expect(try db.integrityCheck() == "ok")
            let users = try db.query("SELECT content FROM messages WHERE role = 'user' AND status = 'complete'").compactMap { $0[0].string }
            #expect(users.contains { $0.hasPrefix("Turn \(lastOK):") })   // every completed turn is there
        }
    }

    @Test func aReadOnlyFilesystemIsAClearError() async throws {
        try await withTmpfs(size: "4m") { dir in
            let home = dir + "/home"
            #expect(try ChatbenchProcess.run(["send", "--session", "s", "My name is Priya."], home: home).status == 0)
            #expect(system("mount -o remount,ro '\(dir)'") == 0)
            let r = try ChatbenchProcess.run(["send", "--session", "s", "What's my name?"], home: home)
            #expect(r.status == 1)
            #expect(r.stderr.contains("read-only") || r.stderr.contains("readonly"), "\(r.stderr)")
            #expect(!r.stderr.contains("Fatal error"))
            // Commands that only read still work there: they open the file read-only.
            let list = try ChatbenchProcess.run(["sessions", "list"], home: home)
            #expect(list.status == 0 && list.stdout.contains("s "), "\(list.stderr)")
            let show = try ChatbenchProcess.run(["sessions", "show", "s"], home: home)
            #expect(show.status == 0 && show.stdout.contains("My name is Priya."), "\(show.stderr)")
            let export = try ChatbenchProcess.run(["sessions", "export", "s", "--format", "json"], home: home)
            #expect(export.status == 0 && export.stdout.contains("My name is Priya."), "\(export.stderr)")
            _ = system("mount -o remount,rw '\(dir)'")
            #expect(try ChatbenchProcess.run(["send", "--session", "s", "What's my name?"], home: home).stdout.contains("Priya"))
        }
    }
}
