import Foundation
import Testing
@testable import ChatEngine

/// Many chatbench processes on one data folder, run for real by e2e/many_processes_e2e.py: parallel
/// `send` loops on one session, `serve` beside `send` on one offline-server.sqlite, and the screen (tmux)
/// while `send` writes to its session. After each: integrity ok, every successful send stored once,
/// unique turn numbers, linear chains. CHATBENCH_LONG_TESTS=1 runs bigger counts.
@Suite struct ManyProcessesTests {
    static let long = ProcessInfo.processInfo.environment["CHATBENCH_LONG_TESTS"] == "1"

    func run(_ scenario: String, _ count: Int) async -> (Int32, String) {
        await runE2E("many_processes_e2e.py", [ChatbenchProcess.binary, scenario, String(count)])
    }

    /// Chain, conversation and layered sessions (its summaries, facts and kept request bodies) written by
    /// two processes each at once.
    @Test func parallelSendLoopsOnOneSessionKeepEveryTurnInOneLinearChain() async {
        let (status, output) = await run("parallel", Self.long ? 50 : 8)
        #expect(status == 0, "\(output)")
        #expect(output.contains("ok parallel") && output.contains("layered turns"), "\(output)")
    }

    @Test func serveAndSendShareTheOfflineServerFile() async {
        let (status, output) = await run("serve", Self.long ? 50 : 8)
        #expect(status == 0, "\(output)")
        #expect(output.contains("ok serve"), "\(output)")
    }

    @Test func theScreenShowsAndChainsFromTurnsOtherProcessesWrite() async {
        let (status, output) = await run("screen", 1)
        #expect(status == 0, "\(output)")
        #expect(output.contains("ok screen"), "\(output)")
    }

    /// An outside process (the sqlite3 shell, a script) opening and closing the file must find this
    /// process's locks in place, and so leave its WAL alone. Before one connection per file, opening the
    /// store twice (as `send` and the screen did) dropped those locks.
    @Test func anOutsideOpenAndCloseLeavesOurWALInPlace() async throws {
        let home = TempHome()
        let paths = Paths(dataDirectory: home.path, configDirectory: home.path + "/config")
        let probe = try WorkbenchStore(path: paths.workbenchDatabase)
        let bench = try Workbench(paths: paths, backendName: "offline")
        _ = try bench.openSession(name: "s")
        let runner = Runner(store: bench.store, backend: bench.backend)
        _ = try await runner.send("My name is Carl.", in: "s")
        let wal = paths.workbenchDatabase + "-wal"
        #expect(FileManager.default.fileExists(atPath: wal))
        let db = paths.workbenchDatabase
        let status = await offPool { system("python3 -c \"import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('select count(*) from sqlite_master').fetchall(); c.close()\" '\(db)'") }
        #expect(status == 0)
        #expect(FileManager.default.fileExists(atPath: wal), "the outside close deleted the WAL this process is writing")
        _ = try await runner.send("I live in Oslo.", in: "s")
        // What a fresh process reads is what this one wrote.
        let count = await offPool { () -> String in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from turns').fetchone()[0])", db]
            let out = Pipe()
            p.standardOutput = out
            try? p.run()
            p.waitUntilExit()
            return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(count == "2")
        withExtendedLifetime(probe) {}
    }
}
