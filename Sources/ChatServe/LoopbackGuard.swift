import ChatEngine
import Foundation

/// What keeps a web page away from a server on loopback. A browser will send a page's requests to
/// 127.0.0.1 (a "simple" text/plain POST needs no preflight), and DNS rebinding makes an attacker's
/// name resolve to 127.0.0.1 so the page can read the replies too. Both are refused on the head:
/// the Host must name loopback (rebinding keeps the attacker's name in Host), and an Origin, when a
/// browser sends one, must be a loopback origin.
public enum LoopbackGuard {
    public static func check(_ head: HTTPRequestHead) -> HTTPRefusal? {
        let host = head.headers["host"] ?? ""
        guard isLoopback(hostPort: host) else {
            return refusal("Host '\(OutsideText.line(host))' is not a loopback name; this server answers only http://127.0.0.1 or http://localhost.")
        }
        if let origin = head.headers["origin"] {
            let parts = origin.components(separatedBy: "://")
            guard parts.count == 2, ["http", "https"].contains(parts[0].lowercased()), isLoopback(hostPort: parts[1]) else {
                return refusal("Cross-site requests are refused: Origin '\(OutsideText.line(origin))' is not a loopback origin.")
            }
        }
        return nil
    }

    static func refusal(_ message: String) -> HTTPRefusal {
        HTTPRefusal(status: 403, json: HTTPConnection.errorJSON(403, message))
    }

    /// `localhost`, `127.x.x.x` or `[::1]`, with an optional port.
    static func isLoopback(hostPort: String) -> Bool {
        var host = hostPort.lowercased()
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return false }
            let rest = host[host.index(after: end)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy { $0.isASCII && $0.isNumber }) else { return false }
            return host[host.index(after: host.startIndex)..<end] == "::1"
        }
        if let colon = host.firstIndex(of: ":") {
            guard host[host.index(after: colon)...].allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            host = String(host[..<colon])
        }
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { (Int($0) ?? 256) <= 255 && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }
}
