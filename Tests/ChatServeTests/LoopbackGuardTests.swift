import Testing
@testable import ChatServe

/// The Host and Origin check that keeps web pages (and DNS rebinding) away from a loopback server.
@Suite struct LoopbackGuardTests {
    func head(host: String, origin: String? = nil) -> HTTPRequestHead {
        var headers = ["host": host]
        headers["origin"] = origin
        return HTTPRequestHead(method: "POST", target: "/v1/responses", version: "HTTP/1.1", headers: headers, keepAlive: true,
                               expectContinue: false, body: .none)
    }

    @Test func loopbackNamesPassAndLookalikesDoNot() {
        for host in ["127.0.0.1", "127.0.0.1:8088", "localhost", "LOCALHOST:1", "127.1.2.3", "[::1]:8088", "app.localhost"] {
            #expect(LoopbackGuard.check(head(host: host)) == nil, "\(host)")
        }
        for host in ["", "attacker.example", "127.0.0.1.nip.io", "localhost.attacker.example", "127.0.0.1:80:80", "127.0.0.256", "[::2]", "[::1]x", "0.0.0.0"] {
            #expect(LoopbackGuard.check(head(host: host))?.status == 403, "\(host)")
        }
    }

    @Test func onlyLoopbackOriginsPass() {
        #expect(LoopbackGuard.check(head(host: "127.0.0.1", origin: "http://localhost:3000")) == nil)
        for origin in ["https://attacker.example", "null", "http://127.0.0.1.attacker.example", "file://", "localhost",
                       "http://127.0.0.½", "http://127.0.0.٣", "http://127.0.0.+1", "http://localhost:½"] {
            #expect(LoopbackGuard.check(head(host: "127.0.0.1", origin: origin))?.status == 403, "\(origin)")
        }
    }
}
