import Foundation
import Testing

/// kill -9 at random moments during `send` loops (offline, and against the fake server with slow
/// streams); then integrity, no completed turn lost, no half-written turn, and the session goes on.
/// Short runs always; CHATBENCH_LONG_TESTS=1 runs hundreds of turns.
@Suite struct CrashSafetyTests {
    static let long = ProcessInfo.processInfo.environment["CHATBENCH_LONG_TESTS"] == "1"
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("e2e/crash_e2e.py").path

    func runScript(_ args: String) async -> (Int32, String) {
        let log = NSTemporaryDirectory() + "chatbench-crash-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let command = "python3 '\(Self.script)' \(args) > '\(log)' 2>&1 < /dev/null"
        let status = await offPool { system(command) }
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    @Test func killedOfflineSendsLoseNothing() async {
        let (status, output) = await runScript("'\(ChatbenchProcess.binary)' \(Self.long ? 500 : 40)")
        #expect(status == 0, "\(output)")
        #expect(output.contains("lost 0"), "\(output)")
    }

    @Test func killedStreamingSendsLoseNothing() async throws {
        let server = try FakeServer(delayMs: 20)
        let (status, output) = await runScript("'\(ChatbenchProcess.binary)' \(Self.long ? 200 : 15) '\(server.baseURL)'")
        #expect(status == 0, "\(output)")
        #expect(output.contains("lost 0"), "\(output)")
    }
}
