import Foundation
import Testing

/// kill -9 at random moments during `send` loops (offline, and against the fake server with slow
/// streams); then integrity, no completed turn lost, no half-written turn, and the session goes on.
/// Short runs always; CHATBENCH_LONG_TESTS=1 runs hundreds of turns.
@Suite struct CrashSafetyTests {
    static let long = ProcessInfo.processInfo.environment["CHATBENCH_LONG_TESTS"] == "1"
    @Test func killedOfflineSendsLoseNothing() async {
        let (status, output) = await runE2E("crash_e2e.py", [ChatbenchProcess.binary, String(Self.long ? 500 : 40)])
        #expect(status == 0, "\(output)")
        #expect(output.contains("lost 0"), "\(output)")
    }

    @Test func killedStreamingSendsLoseNothing() async throws {
        let server = try FakeServer(delayMs: 20)
        let (status, output) = await runE2E("crash_e2e.py", [ChatbenchProcess.binary, String(Self.long ? 200 : 15), server.baseURL])
        #expect(status == 0, "\(output)")
        #expect(output.contains("lost 0"), "\(output)")
    }
}
