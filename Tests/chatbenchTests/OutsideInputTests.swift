import Foundation
import Testing
@testable import ChatEngine

/// What a hostile or careless server, name or file can make chatbench print, store or write (issue #15).
@Suite struct OutsideInputTests {
    static let key = "sk-test-OUTSIDEkey0123456789abcdef"
    static let hostile = "\u{1b}]0;owned\u{07}\u{1b}[2Jcleared \u{9b}31m red"

    /// The real binary, run off the cooperative pool (its two threads serve the fake server's client too).
    func run(_ args: [String], _ home: TempHome, env: [String: String] = [:]) async throws -> ChatbenchProcess.Result {
        let path = home.path
        return try await offPool { Result { try ChatbenchProcess.run(args, home: path, extraEnv: env) } }.get()
    }

    func send(_ home: TempHome, _ server: FakeServer, _ args: [String]) async throws -> ChatbenchProcess.Result {
        try await run(["send", "--backend", "openai", "--base-url", server.baseURL] + args, home, env: ["OPENAI_API_KEY": Self.key])
    }

    func fault(_ server: FakeServer, _ f: [String: Any]) async throws { try await server.faults([f]) }

    func hasControl(_ s: String) -> Bool { s.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7F...0x9F).contains($0.value) } }

    @Test func escapeSequencesFromRepliesAndNamesAreShownNotObeyed() async throws {
        let server = try FakeServer()
        let home = TempHome()
        let name = "evil\u{1b}[2J\u{1b}]0;title\u{07}"
        for stream in [true, false] {
            try await fault(server, ["kind": "text", "text": Self.hostile])
            let r = try await send(home, server, ["--session", name] + (stream ? [] : ["--no-stream"]) + ["hello"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(!hasControl(r.stdout) && r.stdout.contains("\\x1b]0;owned\\x07") && r.stdout.contains("\\u009b31m"), "\(r.stdout.debugDescription)")
        }
        try await fault(server, ["kind": "text", "text": Self.hostile])
        let raw = try await send(home, server, ["--session", name, "--raw", "hello"])
        #expect(raw.stdout.contains(Self.hostile), "--raw prints the reply as received")
        try await fault(server, ["kind": "text", "text": Self.hostile])
        let json = try await send(home, server, ["--session", name, "--json", "hello"])
        #expect(!hasControl(json.stdout), "\(json.stdout.debugDescription)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(obj["reply"] as? String == Self.hostile, "JSON stays valid and keeps the exact text")
        for args in [["list"], ["list", "--format", "json"], ["show", name], ["show", name, "--format", "json"],
                     ["export", name, "--format", "md"], ["export", name, "--format", "json"]] {
            let r = try await run(["sessions"] + args, home)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(!hasControl(r.stdout) && !hasControl(r.stderr), "\(args): \(r.stdout.debugDescription)")
            if args.contains("json") { #expect((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) != nil, "\(args): not JSON") }
        }
        let missing = try await run(["sessions", "show", "no\u{1b}[2Jsuch"], home)
        #expect(missing.status == 2 && !hasControl(missing.stderr) && missing.stderr.contains("\\x1b[2J"), "\(missing.stderr.debugDescription)")
    }

    @Test func compareShowsAReplysControlCharacters() async throws {
        let server = try FakeServer()
        let home = TempHome()
        for format in ["table", "md", "csv", "json"] {
            try await fault(server, ["kind": "text", "text": Self.hostile])
            let r = try await run(["compare", "--backend", "openai", "--base-url", server.baseURL, "--modes", "chain", "--turns", "1", "--format", format], home,
                                  env: ["OPENAI_API_KEY": Self.key])
            #expect(r.status == 0 && !hasControl(r.stdout), "\(format): \(r.stdout.debugDescription)")
            if format == "csv" { #expect(r.stdout.contains("\\x1b]0;owned"), "the reply column: \(r.stdout.debugDescription)") }
            if format == "json" {
                let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
                let turns = doc?["turns"] as? [[String: Any]]
                #expect(turns?.first?["reply"] as? String == Self.hostile, "JSON keeps the exact text: \(r.stdout)")
            }
        }
    }

    @Test func aServerErrorWithControlCharactersIsPrintedVisibly() async throws {
        let server = try FakeServer()
        let home = TempHome()
        try await fault(server, ["kind": "status", "status": 400, "body": ["error": ["message": "bad \u{1b}[2J\u{1b}]0;x\u{07} request", "type": "invalid_request_error"]]])
        let r = try await send(home, server, ["--session", "s", "--no-stream", "hello"])
        #expect(r.status == 1 && !hasControl(r.stderr) && r.stderr.contains("bad \\x1b[2J"), "\(r.stderr.debugDescription)")
    }

    @Test func aKeyEchoedByTheServerIsNeverStoredExportedOrPrinted() async throws {
        let server = try FakeServer()
        let home = TempHome()
        let other = "sk-proj-ANOTHERkeyABCDEFGHIJKLMNOP"
        for stream in [true, false] {
            try await fault(server, ["kind": "status", "status": 401, "body": ["error": ["message": "Incorrect API key provided: \(Self.key) (also \(other))",
                                                                               "type": "invalid_request_error", "code": "invalid_api_key"]]])
            let r = try await send(home, server, ["--session", "s"] + (stream ? [] : ["--no-stream"]) + ["hello"])
            #expect(r.status == 1 && r.stderr.contains("Incorrect API key provided: [redacted key]"), "\(r.stderr)")
            #expect(!r.stderr.contains("OUTSIDEkey") && !r.stderr.contains("ANOTHERkey"), "\(r.stderr)")
        }
        for args in [["show", "s", "--format", "json"], ["export", "s", "--format", "json"], ["export", "s", "--format", "md"]] {
            let r = try await run(["sessions"] + args, home)
            #expect(!r.stdout.contains("OUTSIDEkey") && !r.stdout.contains("ANOTHERkey"), "\(args): \(r.stdout)")
            if args.contains("json") { #expect(r.stdout.contains("[redacted key]"), "\(args): the error is kept, without the key") }
        }
        for f in FileManager.default.enumerator(atPath: home.path)?.allObjects as? [String] ?? [] {
            let text = String(decoding: FileManager.default.contents(atPath: home.path + "/" + f) ?? Data(), as: UTF8.self)
            #expect(!text.contains("OUTSIDEkey") && !text.contains("ANOTHERkey"), "a key is in \(f)")
        }
    }

    @Test func aRedirectIsRefusedSoTheKeyNeverReachesAnotherServer() async throws {
        let server = try FakeServer()
        let elsewhere = try FakeServer()
        let home = TempHome()
        for stream in [true, false] {
            try await fault(server, ["kind": "status", "status": 307, "headers": ["location": elsewhere.baseURL + "/responses"], "body": ["moved": true]])
            let r = try await send(home, server, ["--session", "s"] + (stream ? [] : ["--no-stream"]) + ["hello"])
            #expect(r.status == 1 && r.stderr.contains("redirect") && r.stderr.contains(elsewhere.baseURL), "\(r.stderr)")
            #expect(!r.stderr.contains("plain http"), "no warning for loopback")
        }
        #expect(try await elsewhere.requests().isEmpty, "the other server was contacted")
    }

    @Test func aKeyOverPlainHTTPToAnotherHostIsWarnedAboutOnce() async throws {
        let home = TempHome()
        let r = try await run(["send", "--backend", "openai", "--base-url", "http://0.0.0.0:9/v1", "--session", "s", "hello"], home,
                              env: ["OPENAI_API_KEY": Self.key])
        #expect(r.status == 1)
        #expect(r.stderr.components(separatedBy: "plain http to 0.0.0.0").count == 2, "\(r.stderr)")
    }

    @Test func exportRefusesWhatIsNotARegularFileAndReportsWriteErrors() async throws {
        let home = TempHome()
        #expect(try await run(["send", "--session", "s", "hello"], home).status == 0)
        let fifo = home.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        for target in [fifo, "/dev/null"] {
            let r = try await run(["sessions", "export", "s", "--format", "md", "-o", target], home)
            #expect(r.status == 2 && r.stderr.contains("not a regular file"), "\(target): \(r.stderr)")
        }
        var st = stat()
        #expect(lstat(fifo, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO, "the FIFO was replaced")
        let file = home.path + "/out.md"
        let ok = try await run(["sessions", "export", "s", "--format", "md", "-o", file], home)
        #expect(ok.status == 0 && ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").contains("hello"))
        for args in [["sessions", "show", "s"], ["sessions", "export", "s"], ["sessions", "list"], ["send", "--session", "s", "again"]] {
            let path = home.path
            let status = try await offPool { Result { try runToDevFull(args, home: path) } }.get()
            #expect(status == 1, "\(args) exited \(status) with its output lost")
        }
    }

    @Test func exportFileNamesStayInsideTheExportFolder() async throws {
        let dir = "/data/exports"
        var seen = Set<String>()
        for name in ["../../x", "/etc/passwd", "..", ".hidden", "a/b", "a_b", "evil\u{1b}[2J", "", "plain-name_1.2"] {
            let (md, json) = ExportFile.paths(in: dir, session: name)
            for p in [md, json] {
                let file = String(p.dropFirst(dir.count + 1))
                #expect(p.hasPrefix(dir + "/") && !file.contains("/") && !file.hasPrefix(".") && !file.unicodeScalars.contains { $0.value < 0x20 }, "\(name) -> \(p)")
            }
            #expect(seen.insert(md).inserted, "two sessions share \(md)")
        }
        #expect(ExportFile.safeName("plain-name_1.2") == "plain-name_1.2")
    }

    /// `-o -` is standard output: no file named "-" appears in the current folder.
    @Test func exportToDashIsStandardOutput() async throws {
        let home = TempHome()
        #expect(try await run(["send", "--session", "s", "hello"], home).status == 0)
        let cwd = home.path + "/cwd"
        try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        let path = home.path
        let r = try await offPool { Result { try ChatbenchProcess.run(["sessions", "export", "s", "--format", "json", "-o", "-"], home: path, cwd: cwd) } }.get()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cwd + "/-"), "a file named '-' was written")
        #expect(r.stdout.contains("\"chatbench-session/1\"") && !r.stdout.contains("exported"), "\(r.stdout)")
        let help = try await run(["help", "sessions"], home)
        #expect(help.stdout.contains("'-o -' is standard output"), "\(help.stdout)")
    }

    /// `show --format json` has the same session object as `export --format json`.
    @Test func showJSONHasExportsSessionObject() async throws {
        let home = TempHome()
        #expect(try await run(["send", "--session", "s", "hello"], home).status == 0)
        func session(_ args: [String]) async throws -> NSDictionary {
            let r = try await run(["sessions"] + args + ["s", "--format", "json"], home)
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout)")
            return try #require(doc["session"] as? NSDictionary, "\(args): no session object in \(r.stdout)")
        }
        let shown = try await session(["show"]), exported = try await session(["export"])
        #expect(shown == exported)
        for key in ["name", "mode", "backend", "model", "profile", "policy", "server_policy"] { #expect(shown[key] != nil, "no \(key)") }
        #expect(shown["name"] as? String == "s")
    }

    /// Help and the version go through the checked writer: a failed write is exit 1 with a message.
    @Test func helpAndVersionReportAFailedWrite() async throws {
        let home = TempHome()
        for args in [["help"], ["--version"], ["help", "send"], ["send", "--help"]] {
            let path = home.path
            let (status, stderr) = try await offPool { Result { try runToDevFullWithStderr(args, home: path) } }.get()
            #expect(status == 1 && stderr.contains("No space left on device"), "\(args) exited \(status): \(stderr)")
        }
        #expect(try await run(["--version"], home).status == 0)
    }

    /// Runs chatbench with standard output on /dev/full (every write fails with ENOSPC).
    @Sendable func runToDevFull(_ args: [String], home: String) throws -> Int32 {
        try runToDevFullWithStderr(args, home: home).0
    }

    @Sendable func runToDevFullWithStderr(_ args: [String], home: String) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ChatbenchProcess.binary)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["CHATBENCH_HOME"] = home
        env.removeValue(forKey: "OPENAI_API_KEY")
        env.removeValue(forKey: "OPENAI_BASE_URL")
        p.environment = env
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
        let err = Pipe()
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: stderr, as: UTF8.self))
    }
}
