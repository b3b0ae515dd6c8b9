import Foundation
import Testing
import TestSupport
@testable import ChatEngine
@testable import ChatServe

/// What `POST /v1/responses` refuses, and how each refusal names its field and reason; the key's
/// scheme in any case. Against the real routes on an in-process server over a loopback socket.
@Suite struct CreateValidationTests {
    /// The routes on a free loopback port, with key "K".
    final class Server: @unchecked Sendable {
        let routes: OpenAIRoutes
        let http: HTTPServer
        init() throws {
            routes = OpenAIRoutes(backend: try OfflineBackend(inMemoryWith: OfflineModel()), apiKey: "K")
            let routes = routes
            http = HTTPServer(host: "127.0.0.1", port: 0, log: nil, gate: { routes.authorize($0) ?? LoopbackGuard.check($0) },
                              handler: { req, conn in routes.handle(req, conn) })
            try http.bind()
            let http = http
            Thread.detachNewThread { http.serve() }
        }
        deinit { http.stop() }

        /// One request on its own connection; the status and the body (chunks left as sent). The
        /// blocking socket calls run on a thread of their own: the cooperative pool (2 threads on a
        /// 2-core machine) must stay free for the backend's tasks.
        func send(_ method: String = "POST", _ path: String = "/v1/responses", body: [UInt8] = [], auth: String? = "Bearer K") async throws -> (Int, String) {
            try await withCheckedThrowingContinuation { c in
                Thread.detachNewThread { c.resume(with: Result { try self.blockingSend(method, path, body: body, auth: auth) }) }
            }
        }

        func blockingSend(_ method: String, _ path: String, body: [UInt8], auth: String?) throws -> (Int, String) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(http.port).bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard ok == 0 else { throw APIError(status: 0, type: "connect", message: "connect failed") }
            // A hang fails the test instead of holding it. Generous: in the full suite, tests that block
            // the cooperative pool (running the binary) can keep the backend's tasks waiting for a while.
            var timeout = timeval(tv_sec: 120, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(http.port)\r\nConnection: close\r\nContent-Type: application/json\r\n"
            if let auth { head += "Authorization: \(auth)\r\n" }
            head += "Content-Length: \(body.count)\r\n\r\n"
            let bytes = Array(head.utf8) + body
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            var out: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(fd, &buf, buf.count)
                if n <= 0 { break }
                out += buf[0..<n]
            }
            let text = String(decoding: out, as: UTF8.self)
            let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
            let bodyText = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
            return (status, bodyText)
        }

        func post(_ json: String) async throws -> (Int, String) { try await send(body: Array(json.utf8)) }
    }

    static func error(_ body: String) -> (message: String, param: String?, code: String?) {
        let e = JSONValue.parse(body)?["error"]
        return (e?["message"]?.stringValue ?? "", e?["param"]?.stringValue, e?["code"]?.stringValue)
    }

    @Test func theBearerSchemeMatchesInAnyCase() async throws {
        let s = try Server()
        for auth in ["Bearer K", "bearer K", "BEARER K", "bEaReR K", "Bearer  K"] {
            #expect(try await s.send("GET", "/v1/models", auth: auth).0 == 200, "\(auth)")
        }
        for auth in ["Bearer k", "Bearer", "Bearer ", "BearerK", "Basic K", "K", "Bearer K2"] {
            #expect(try await s.send("GET", "/v1/models", auth: auth).0 == 401, "\(auth)")
        }
        #expect(try await s.send("GET", "/v1/models", auth: nil).0 == 401)
    }

    @Test func maxOutputTokensIsCheckedAndHonoured() async throws {
        let s = try Server()
        for n in ["-1", "0", "1", "15"] {
            let (status, body) = try await s.post(#"{"model":"m","input":"hi","max_output_tokens":\#(n)}"#)
            let e = Self.error(body)
            #expect(status == 400 && e.param == "max_output_tokens" && e.code == "integer_below_min_value", "\(n): \(body)")
            #expect(e.message.contains("greater than or equal to 16, but got \(n)"), "\(body)")
        }
        let ask = #"{"model":"m","input":"My name is Priya, I'm moving to Lisbon. Tell me everything you know about me and what I should pack.","max_output_tokens":16"#
        let (status, body) = try await s.post(ask + "}")
        let r = try #require(JSONValue.parse(body))
        #expect(status == 200 && r["status"]?.stringValue == "incomplete", "\(body)")
        #expect(r["incomplete_details"]?["reason"]?.stringValue == "max_output_tokens")
        #expect((r["usage"]?["output_tokens"]?.intValue ?? 99) <= 16)
        let (sStatus, stream) = try await s.post(ask + #","stream":true}"#)
        #expect(sStatus == 200 && stream.contains("event: response.incomplete") && !stream.contains("event: response.completed"), "\(stream)")
        // Chaining from an incomplete response works, as on the API.
        let id = try #require(r["id"]?.stringValue)
        #expect(try await s.post(#"{"model":"m","input":"Where am I moving?","previous_response_id":"\#(id)"}"#).0 == 200)
    }

    /// Valid JSON with numbers no field can hold: the message names the field and says too large.
    @Test func numbersTooLargeSaySo() async throws {
        let s = try Server()
        for n in ["1e300", "18446744073709551616", "1e999", "-1e999"] {
            let (status, body) = try await s.post(#"{"model":"m","input":"hi","max_output_tokens":\#(n)}"#)
            let e = Self.error(body)
            #expect(status == 400 && e.param == "max_output_tokens", "\(n): \(body)")
            #expect(e.message.contains("too large") || (n.hasPrefix("-") && e.message.contains("too small")), "\(n): \(body)")
            #expect(!e.message.contains("not valid JSON"), "\(body)")
        }
        let (_, decimal) = try await s.post(#"{"model":"m","input":"hi","max_output_tokens":16.5}"#)
        #expect(Self.error(decimal).message.contains("expected an integer"), "\(decimal)")
        for n in ["1e300", "18446744073709551616", "1e999"] {
            let (status, body) = try await s.post(#"{"model":"m","input":"hi","context_management":[{"type":"compaction","compact_threshold":\#(n)}]}"#)
            let e = Self.error(body)
            #expect(status == 400 && e.message.contains("compact_threshold") && e.message.contains("too large"), "\(n): \(body)")
            #expect(e.param?.hasPrefix("context_management") == true, "\(body)")
        }
        let (tStatus, tBody) = try await s.post(#"{"model":"m","input":"hi","temperature":1e999}"#)
        #expect(tStatus == 400 && Self.error(tBody).param == "temperature" && Self.error(tBody).message.contains("too large"), "\(tBody)")
        // A body over 64 KB is not decoded again per number to find the field: still a clear 400.
        let big = String(repeating: "x", count: 70_000)
        let (bStatus, bBody) = try await s.post(#"{"model":"m","input":"\#(big)","max_output_tokens":1e300}"#)
        #expect(bStatus == 400 && Self.error(bBody).message.contains("too large"), "\(bBody.prefix(300))")
    }

    @Test func eachBadBodyNamesItsProblem() async throws {
        let s = try Server()
        let cases: [([UInt8], String, String?)] = [
            (Array(#"{"model":"m","input":"h"#.utf8) + [0xFF, 0xFE] + Array(#"i"}"#.utf8), "not valid UTF-8", nil),
            (Array(#"{"model":"m","input":"h\#u{e9}"}"#.utf8).dropLast(3) + [0xC3] + Array(#""}"#.utf8), "not valid UTF-8", nil),
            (Array(#"{"model":"m","input":"hi""#.utf8), "not valid JSON", nil),
            (Array("[1]".utf8), "must be a JSON object", nil),
            (Array(#"{"model":"m","input":5}"#.utf8), "Invalid type for 'input'", "input"),
            (Array(#"{"model":"m","input":"hi","max_output_tokens":"16"}"#.utf8), "expected an integer", "max_output_tokens"),
            (Array(#"{"model":"m","input":"hi","store":"yes"}"#.utf8), "expected a boolean", "store"),
            (Array(#"{"model":"m","input":"hi","metadata":{"a":1}}"#.utf8), "Invalid type for 'metadata.a': expected a string", "metadata.a"),
            (Array(#"{"model":"m","input":"hi","temperature":0.5,"max_output_tokens":16.5}"#.utf8), "Invalid 'max_output_tokens': expected an integer", "max_output_tokens"),
        ]
        for (body, words, param) in cases {
            let (status, text) = try await s.send(body: body)
            let e = Self.error(text)
            #expect(status == 400 && e.message.contains(words), "\(words): \(text)")
            if let param { #expect(e.param == param, "\(text)") }
        }
    }

    @Test func whatTheAPIRefusesIsRefused() async throws {
        let s = try Server()
        let cases: [(String, String, String)] = [
            (#"{"input":"hi"}"#, "model", "Missing required parameter: 'model'."),
            (#"{"input":"hi","stream":true}"#, "model", "Missing required parameter: 'model'."),
            (#"{"model":"","input":"hi"}"#, "model", "Missing required parameter: 'model'."),
            (#"{"model":"m","input":"hi","temperature":2.5}"#, "temperature", "decimal above maximum value"),
            (#"{"model":"m","input":"hi","temperature":-0.1}"#, "temperature", "decimal below minimum value"),
            (#"{"model":"m","input":"hi","top_p":1.01}"#, "top_p", "decimal above maximum value"),
            (#"{"model":"m","input":"hi","top_p":-1,"stream":true}"#, "top_p", "decimal below minimum value"),
        ]
        for (body, param, words) in cases {
            let (status, text) = try await s.post(body)
            let e = Self.error(text)
            #expect(status == 400 && e.param == param && e.message.contains(words), "\(body): \(text)")
        }
        let (ok, text) = try await s.post(#"{"model":"m","input":"hi","temperature":2,"top_p":0}"#)
        #expect(ok == 200 && JSONValue.parse(text)?["temperature"]?.intValue == 2, "\(text)")
        // Kept as a choice (README): unknown item types and tool outputs without their call.
        #expect(try await s.post(#"{"model":"m","input":[{"type":"weird"},{"role":"user","content":"hi"}]}"#).0 == 200)
        #expect(try await s.post(#"{"model":"m","input":[{"type":"function_call_output","call_id":"nope","output":"x"},{"role":"user","content":"hi"}]}"#).0 == 200)
    }

    /// Seeded: a valid body with one field set to an edge value is answered 200 or a 400 that names
    /// a parameter; never a 500, never "not valid JSON" for valid JSON.
    @Test func edgeValuesAlwaysGetANamedAnswer() async throws {
        let s = try Server()
        let fields = ["max_output_tokens", "temperature", "top_p", "store", "input", "model", "metadata", "truncation", "instructions"]
        let values = ["0", "-1", "16", "1e300", "-1e300", "1e999", "18446744073709551616", "9223372036854775807", "-9223372036854775808",
                      "0.5", "2.0000001", "1E2", "-0", "null", "true", "\"\"", "\"x\"", "[]", "{}", "[1e999]", "{\"a\":1e999}", "\"\\u0000\""]
        var g = SeededRandom(seed: 7)
        for _ in 0..<min(fuzzIterations / 20, 400) {
            let field = fields.randomElement(using: &g)!, value = values.randomElement(using: &g)!
            var obj = ["\"input\"": "\"hi\"", "\"model\"": "\"m\""]
            obj["\"\(field)\""] = value
            let body = "{" + obj.map { "\($0.key):\($0.value)" }.joined(separator: ",") + "}"
            let (status, text) = try await s.post(body)
            #expect(status == 200 || status == 400, "\(body): \(status) \(text)")
            if status == 400 {
                let e = Self.error(text)
                #expect(!e.message.contains("not valid JSON") && !e.message.isEmpty, "\(body): \(text)")
                #expect(e.param != nil, "\(body): \(text)")
            }
        }
    }
}
