import Foundation
import Testing
@testable import ChatEngine

/// `chatbench serve` over real sockets: the real binary on a free port, driven by
/// Tests/chatbenchTests/e2e/serve_e2e.py (raw sockets, http.client and, when installed, the official SDK).
@Suite struct ServeTests {
    @Test func theServerOverRealSockets() async throws {
        let home = TempHome()
        let server = try ServeProcess(["--api-key", "sk-serve-test", "--quiet"], home: home)
        defer { server.stop() }
        let port = server.port
        let (status, output) = await ServeProcess.script("serve_e2e.py", [String(port), "sk-serve-test"])
        #expect(status == 0, "\(output)")
        for check in ["routes_and_errors", "keep_alive_chunked_and_continue", "oversized_and_malformed",
                      "disconnect_mid_stream_leaves_server_healthy", "concurrent_clients"] {
            #expect(output.contains("ok \(check)"), "\(check): \(output)")
        }
        #expect(output.contains("ok official_sdk") || output.contains("skip official_sdk: the 'openai' Python package is not installed"))
    }

    @Test func remoteServingNeedsAnExplicitFlagAndAKey() throws {
        let home = TempHome()
        let remote = try ChatbenchProcess.run(["serve", "--host", "0.0.0.0", "--port", "0"], home: home.path)
        #expect(remote.status == 2 && remote.stderr.contains("--allow-remote"))
        let keyless = try ChatbenchProcess.run(["serve", "--host", "0.0.0.0", "--allow-remote", "--port", "0"], home: home.path)
        #expect(keyless.status == 2 && keyless.stderr.contains("requires --api-key"))
        let both = try ChatbenchProcess.run(["serve", "--api-key", "k", "--no-auth"], home: home.path)
        #expect(both.status == 2)
        let badHost = try ChatbenchProcess.run(["serve", "--host", "not-an-ip", "--allow-remote", "--api-key", "k", "--port", "0"], home: home.path)
        #expect(badHost.status == 1 && badHost.stderr.contains("bad host"))
    }
}

/// `chatbench serve` running as a child process on a free port.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let port: Int

    /// `fdLimit`: start it under `ulimit -n` (through /bin/sh, which then execs the binary).
    init(_ args: [String], home: TempHome, stderr: String? = nil, fdLimit: Int? = nil) throws {
        if let fdLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(fdLimit) && exec \"$0\" \"$@\"", ChatbenchProcess.binary, "serve", "--port", "0"] + args
        } else {
            process.executableURL = URL(fileURLWithPath: ChatbenchProcess.binary)
            process.arguments = ["serve", "--port", "0"] + args
        }
        var env = ProcessInfo.processInfo.environment
        env["CHATBENCH_HOME"] = home.path
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        if let stderr {
            FileManager.default.createFile(atPath: stderr, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: stderr)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let b = out.fileHandleForReading.readData(ofLength: 1)
            if b.isEmpty { break }
            line.append(b)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let port = text.split(separator: ":").last.flatMap({ Int($0.split(separator: "/").first ?? "") }) else {
            kill(process.processIdentifier, SIGKILL)
            throw ConfigurationErrorForTests("no port in '\(text)'")
        }
        self.port = port
    }

    var isRunning: Bool { process.isRunning }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Runs an e2e script with the port as first argument; its exit status and output.
    static func script(_ name: String, _ args: [String]) async -> (Int32, String) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("e2e/\(name)").path
        let log = NSTemporaryDirectory() + "chatbench-serve-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let command = "python3 '\(script)' \(args.joined(separator: " ")) > '\(log)' 2>&1 < /dev/null"
        let status = await offPool { system(command) }
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }
}

struct ConfigurationErrorForTests: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

@Suite struct AttachCommandTests {
    @Test func aConversationBuiltThroughServeContinuesInTheWorkbench() async throws {
        let home = TempHome()
        // The agent's side: the same offline-server.sqlite that `serve` uses.
        let backend = try OfflineBackend(path: home.path + "/offline-server.sqlite")
        let conv = try await backend.createConversation(items: [.userText("My name is Priya and I'm moving to Lisbon.")], metadata: [:])
        let r = try ChatbenchProcess.run(["send", "--session", "agent", "--attach", conv.id, "--json", "Where am I moving?"], home: home.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Lisbon") && r.stdout.contains(conv.id))
    }
}
