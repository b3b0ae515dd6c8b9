import Foundation
import Testing
import TestSupport
@testable import ChatServe


/// Runs the parser over `bytes` fed in pieces of random sizes; every step until it needs more or fails.
func steps(_ bytes: [UInt8], limits: HTTPRequestParser.Limits, split g: inout SeededRandom?) -> [HTTPRequestParser.Step] {
    var p = HTTPRequestParser(limits: limits)
    var out: [HTTPRequestParser.Step] = []
    var i = 0
    func drain() -> Bool {
        while true {
            let s = p.next()
            if s == .needMore { return true }
            out.append(s)
            if case .failure = s { return false }
        }
    }
    while i < bytes.count {
        let n = g == nil ? bytes.count : Int.random(in: 1...max(1, min(64, bytes.count - i)), using: &g!)
        p.feed(bytes[i..<(i + n)])
        i += n
        if !drain() { break }
    }
    return out
}

/// Requests built from parts, the last one valid or broken by one mutation that RFC 9112 says must
/// not be accepted.
struct GeneratedRequest {
    var bytes: [UInt8]
    var valid: [(method: String, target: String, body: [UInt8])]   // what must be accepted, in order
    var broken: Bool                                                // then a request that must not be
}

enum HTTPFuzz {
    static let methods = ["GET", "POST", "DELETE", "HEAD", "PUT"]
    static let targets = ["/v1/models", "/v1/responses?limit=5&order=asc", "/v1/conversations/conv_1/items", "/a%20b", "/"]

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func printable(_ g: inout SeededRandom, max: Int) -> String {
        String((0..<Int.random(in: 0...max, using: &g)).map { _ in Character(Unicode.Scalar(UInt8.random(in: 0x21...0x7E, using: &g))) })
    }

    /// One valid request: its bytes and what it must parse to.
    static func valid(_ g: inout SeededRandom, chunked: Bool, bodyLength: Int) -> (head: [String], body: [UInt8], wire: [UInt8]) {
        let body = (0..<bodyLength).map { _ in UInt8.random(in: 0...255, using: &g) }
        var head = ["Host: 127.0.0.1:8088"]
        for _ in 0..<Int.random(in: 0...3, using: &g) { head.append("X-F\(Int.random(in: 0...9, using: &g)):\(Bool.random(using: &g) ? " " : "")\(printable(&g, max: 12))") }
        var wire: [UInt8] = []
        if chunked {
            head.append(Bool.random(using: &g) ? "Transfer-Encoding: chunked" : "transfer-encoding: Chunked")
            var i = 0
            while i < body.count {
                let n = Int.random(in: 1...max(1, body.count - i), using: &g)
                let ext = Bool.random(using: &g) ? "" : ";ext=\(printable(&g, max: 4).replacingOccurrences(of: ";", with: ""))"
                wire += bytes(String(n, radix: 16, uppercase: Bool.random(using: &g)) + ext + "\r\n") + body[i..<(i + n)] + bytes("\r\n")
                i += n
            }
            wire += bytes("0\r\n" + (Bool.random(using: &g) ? "X-Trailer: t\r\n" : "") + "\r\n")
        } else if !body.isEmpty || Bool.random(using: &g) {
            head.append("Content-Length: \(body.count)")
            wire = body
        }
        head.shuffle(using: &g)
        return (head, body, wire)
    }

    static func generate(_ g: inout SeededRandom) -> GeneratedRequest {
        let method = methods.randomElement(using: &g)!, target = targets.randomElement(using: &g)!
        let chunked = Int.random(in: 0..<3, using: &g) == 0
        var (head, body, wire) = valid(&g, chunked: chunked, bodyLength: Int.random(in: 0...40, using: &g))
        var requestLine = "\(method) \(target) HTTP/1.1"
        let mutation = Int.random(in: 0..<26, using: &g)   // 0...13 break it; the rest stay valid
        switch mutation {
        case 0: head.append("Content-Length: \(body.count + 1)"); head.append("Content-Length: \(body.count)")
        case 1: head.append(chunked ? "Content-Length: \(wire.count)" : "Transfer-Encoding: chunked")
        case 2: head.append("Content-Length : \(body.count)")
        case 3: head = head.filter { !$0.lowercased().hasPrefix("transfer-encoding") }; head.append("Transfer-Encoding: gzip, chunked")
        case 4: requestLine = "\(method) \(target) HTTP/1.\(Int.random(in: 2...9, using: &g))"
        case 5: head = head.filter { !$0.hasPrefix("Host") }
        case 6: head.append("X-Fold: a"); head.append(" folded")
        case 7: head.append("X-Ctl: a\u{1}b")
        case 8: requestLine = "\(method) \(target) HTTP/1.1\n"   // a bare LF inside the head
        case 9: head.append("Host: other.example")
        case 10: head.append("Content-Length: -\(body.count)"); head = head.filter { !$0.lowercased().hasPrefix("transfer-encoding") }
        case 11:   // chunk framing broken: no CRLF after the data, an empty size, or an overflowing size
            head = head.filter { !$0.lowercased().hasPrefix("content-length") && !$0.lowercased().hasPrefix("transfer-encoding") }
            head.append("Transfer-Encoding: chunked")
            wire = [bytes("1\r\naXX0\r\n\r\n"), bytes("\r\n"), bytes(";\r\n"), bytes("1\r\na\r\n7fffffffffffffff\r\na\r\n0\r\n\r\n"), bytes("g\r\n")].randomElement(using: &g)!
        case 12: requestLine = "\(method) \(target.replacingOccurrences(of: "/", with: "/ ")) HTTP/1.1"
        case 13: requestLine = "\(method)  \(target) HTTP/1.1"
        default: break
        }
        let raw = bytes(requestLine + "\r\n" + head.map { $0 + "\r\n" }.joined() + "\r\n") + wire
        return GeneratedRequest(bytes: raw, valid: mutation <= 13 ? [] : [(method, target, body)], broken: mutation <= 13)
    }
}

@Suite struct HTTPParserFuzzTests {
    /// Generated requests: a valid one parses to exactly its method, target and body however the bytes
    /// are split; one with a framing fault is never accepted; two in a row parse as two.
    @Test func validRequestsParseExactlyAndBrokenOnesAreNeverAccepted() {
        var g = SeededRandom(seed: 15)
        let limits = HTTPRequestParser.Limits()
        for _ in 0..<fuzzIterations {
            var r = HTTPFuzz.generate(&g)
            if !r.broken && Int.random(in: 0..<4, using: &g) == 0 {
                let second = HTTPFuzz.generate(&g)
                r = GeneratedRequest(bytes: r.bytes + second.bytes, valid: r.valid + second.valid, broken: second.broken)
            }
            var split: SeededRandom? = g
            let got = steps(r.bytes, limits: limits, split: &split)
            g = split!
            let requests = got.compactMap { s -> (String, String, [UInt8])? in
                if case .request(let h, let body) = s { return (h.method, h.target, body) }
                return nil
            }
            #expect(requests.count == r.valid.count && zip(requests, r.valid).allSatisfy { $0.0 == $1.method && $0.1 == $1.target && $0.2 == $1.body },
                    "\(r.broken ? "accepted a broken request" : "misparsed"): \(String(decoding: r.bytes, as: UTF8.self).debugDescription) -> \(got)")
        }
    }

    /// Random byte damage to generated requests: never a trap, never more than the limits allow, and the
    /// outcome does not depend on how the bytes arrive.
    @Test func damagedBytesNeverTrapAndSplittingNeverChangesTheOutcome() {
        var g = SeededRandom(seed: 16)
        var limits = HTTPRequestParser.Limits()
        limits.maxBodyBytes = 64
        limits.maxHeaderBytes = 256
        limits.maxLineBytes = 128
        let junk: [[UInt8]] = [[13], [10], [13, 10], [0], [0x7F], [0xFF], Array(";".utf8), Array(":".utf8), Array(" ".utf8),
                               Array("7fffffffffffffff".utf8), Array("Content-Length: 9".utf8), Array("Transfer-Encoding: chunked".utf8)]
        for _ in 0..<fuzzIterations {
            var bytes = HTTPFuzz.generate(&g).bytes
            for _ in 0..<Int.random(in: 1...4, using: &g) {
                let i = Int.random(in: 0...bytes.count, using: &g)
                switch Int.random(in: 0..<3, using: &g) {
                case 0: bytes.insert(contentsOf: junk.randomElement(using: &g)!, at: i)
                case 1: if i < bytes.count { bytes.remove(at: i) }
                default: if i < bytes.count { bytes[i] = UInt8.random(in: 0...255, using: &g) }
                }
            }
            var none: SeededRandom? = nil
            let whole = steps(bytes, limits: limits, split: &none)
            var split: SeededRandom? = g
            let pieces = steps(bytes, limits: limits, split: &split)
            g = split!
            #expect(whole == pieces, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            for case .request(_, let body) in whole { #expect(body.count <= limits.maxBodyBytes) }
        }
    }
}
