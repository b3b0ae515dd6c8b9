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
        // IPv6 says what to do instead of sending the user round in circles through --allow-remote.
        let v6 = try ChatbenchProcess.run(["serve", "--host", "::1", "--port", "0"], home: home.path)
        #expect(v6.status == 2 && v6.stderr.contains("IPv4 only") && !v6.stderr.contains("--allow-remote"), "\(v6.stderr)")
    }

    @Test func localhostIsLoopback() throws {
        let home = TempHome()
        let server = try ServeProcess(["--host", "localhost", "--no-auth", "--quiet"], home: home.path)
        #expect(server.port > 0 && server.isRunning)
    }
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
