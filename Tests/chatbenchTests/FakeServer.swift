import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import ChatEngine

/// Runs Tests/chatbenchTests/e2e/fake_openai.py on a random loopback port for one test.
final class FakeServer: @unchecked Sendable {
    let process = Process()
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// `script`: another stub in e2e/ that prints "PORT n" the same way (e.g. stateless_stub.py).
    init(delayMs: Int = 0, script name: String = "fake_openai.py", arguments: [String] = []) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("e2e/" + name).path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, String(delayMs)] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line is "PORT n".
        guard let p = firstLine(of: out).split(separator: " ").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            throw ConfigurationError("the fake server did not start")
        }
        port = p
    }

    // Process.waitUntilExit spins a run loop that never fires on a test's thread: reap it directly.
    // SIGKILL, because the child inherits the test process's blocked signals (SIGTERM among them).
    deinit {
        let pid = process.processIdentifier
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    func call(_ method: String, _ path: String, _ body: Any? = nil) async throws -> Any {
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        r.httpMethod = method
        if let body { r.httpBody = try JSONSerialization.data(withJSONObject: body) }
        let (data, _) = try await URLSession.shared.data(for: r)
        return try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed)
    }

    func faults(_ f: [[String: Any]]) async throws { _ = try await call("POST", "/_faults", ["faults": f]) }

    /// The API requests the server saw (method, path, query, headers, body, disconnected).
    func requests() async throws -> [[String: Any]] { (try await call("GET", "/_requests") as? [[String: Any]]) ?? [] }

    func config(key: String? = "sk-test-0123456789abcdef", idle: Int = 5) -> HTTPConfig {
        var c = HTTPConfig(baseURL: URL(string: baseURL)!, apiKey: key, organization: "org-test", project: nil)
        c.idleTimeout = idle
        return c
    }
}

/// The JSON of `value` re-serialised with sorted keys, for exact comparisons.
func canonical(_ value: Any?) -> String {
    guard let value, let d = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) else { return "null" }
    return String(decoding: d, as: UTF8.self)
}
