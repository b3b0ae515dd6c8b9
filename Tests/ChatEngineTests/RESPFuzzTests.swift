import Foundation
import Testing
import TestSupport
@testable import ChatEngine

/// The RESP reader takes bytes from a socket: whatever arrives, it returns replies or a clear
/// error, never traps, and how the bytes are split into reads never changes what it returns.
@Suite struct RESPFuzzTests {
    /// A reply's wire bytes (what a server would send).
    static func encode(_ v: RESPValue) -> [UInt8] {
        switch v {
        case .simple(let s): return Array("+\(s)\r\n".utf8)
        case .error(let s): return Array("-\(s)\r\n".utf8)
        case .integer(let i): return Array(":\(i)\r\n".utf8)
        case .bulk(let b): return Array("$\(b.count)\r\n".utf8) + b + [13, 10]
        case .array(let a): return Array("*\(a.count)\r\n".utf8) + a.flatMap(encode)
        case .null: return Array("$-1\r\n".utf8)
        }
    }

    static func randomValue(_ g: inout SeededRandom, depth: Int = 0) -> RESPValue {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 6), using: &g) {
        case 0: return .simple(["OK", "QUEUED", "hash", "PONG", ""].randomElement(using: &g)!)
        case 1: return .error(["ERR unknown", "WRONGTYPE Operation against a key", "EXECABORT x"].randomElement(using: &g)!)
        case 2: return .integer(Int64.random(in: Int64.min...Int64.max, using: &g))
        case 3: return .bulk((0..<Int.random(in: 0..<40, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) })
        case 4: return .null
        default: return .array((0..<Int.random(in: 0..<5, using: &g)).map { _ in randomValue(&g, depth: depth + 1) })
        }
    }

    /// A reader fed `bytes` in random-sized pieces.
    static func chunkedReader(_ bytes: [UInt8], _ g: inout SeededRandom, limits: RESPReader.Limits = .init()) -> RESPReader {
        var sizes: [Int] = []
        var left = bytes.count
        while left > 0 {
            let n = Int.random(in: 1...max(1, min(left, 7)), using: &g)
            sizes.append(n)
            left -= n
        }
        var offset = 0, next = 0
        return RESPReader(limits: limits) { buf in
            guard next < sizes.count else { return false }
            buf += bytes[offset..<(offset + sizes[next])]
            offset += sizes[next]
            next += 1
            return true
        }
    }

    @Test func everyReplyRoundTripsHoweverTheBytesAreSplit() throws {
        var g = SeededRandom(seed: 22)
        for _ in 0..<fuzzIterations {
            let values = (0..<Int.random(in: 1...4, using: &g)).map { _ in Self.randomValue(&g) }
            let reader = Self.chunkedReader(values.flatMap(Self.encode), &g)
            for v in values { #expect(try reader.read() == v) }
            #expect { try reader.read() } throws: { ($0 as? RedisError)?.kind == .connection }
        }
    }

    @Test func hostileBytesGiveErrorsNeverATrap() {
        var g = SeededRandom(seed: 23)
        let pieces = ["+OK\r\n", "-ERR x\r\n", ":12\r\n", ":-9223372036854775808\r\n", ":99999999999999999999\r\n", "$5\r\nhello\r\n", "$-1\r\n",
                      "*2\r\n", "*-1\r\n", "*-2\r\n", "$-7\r\n", "$3\r\nab\r\n", "$999999999999\r\n", "*99999999999\r\n", "\r", "\n", "\r\n",
                      "$", "*", ":", "+", "-", "?", "0", "1", "x", "漢", "\u{0}", "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"]
        let small = RESPReader.Limits(maxLine: 64, maxBulk: 1024, maxElements: 1024, maxDepth: 4)
        for _ in 0..<fuzzIterations {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 1..<16, using: &g) { bytes += Array(pieces.randomElement(using: &g)!.utf8) }
            if Bool.random(using: &g), !bytes.isEmpty { bytes[Int.random(in: 0..<bytes.count, using: &g)] = UInt8.random(in: 0...255, using: &g) }
            let reader = Self.chunkedReader(bytes, &g, limits: small)
            for _ in 0..<32 {
                do { _ = try reader.read() } catch {
                    #expect(error is RedisError)
                    break
                }
            }
        }
    }

    @Test func limitsAreEnforcedBeforeAnythingIsAllocated() {
        let limits = RESPReader.Limits(maxLine: 16, maxBulk: 100, maxElements: 10, maxDepth: 2)
        let cases: [(String, String)] = [
            ("$101\r\n", "bulk string length"), ("*11\r\n", "array length"), ("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", "nested"),
            ("+" + String(repeating: "a", count: 40), "longer than"), ("$3\r\nabcd\r\n", "CRLF"), ("+a\rb\r\n", "CR not followed"),
            ("!3\r\n", "type byte"), (":1x\r\n", "bad number"), ("$2\r\nab", "closed"),
        ]
        for (bytes, why) in cases {
            #expect(throws: RedisError.self, "\(bytes.debugDescription)") { try RESPReader(bytes: Array(bytes.utf8), limits: limits).read() }
            #expect { try RESPReader(bytes: Array(bytes.utf8), limits: limits).read() } throws: { "\($0)".contains(why) }
        }
    }

    @Test func commandsAreEncodedAsArraysOfBulkStrings() {
        #expect(RESPEncoder.command([Array("SET".utf8), Array("k".utf8), Array("é\r\n".utf8)])
                == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\né\r\n\r\n".utf8))
    }
}
