import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import ChatEngine

/// What a failed request says: URL errors in words, no HTTP status where there was none.
@Suite struct ErrorTextTests {
    let url = URL(string: "http://127.0.0.1:8088/v1")!

    @Test func anErrorWithoutAnHTTPStatusPrintsNone() {
        let e = HTTPTransport.connectionError(URLError(.cannotConnectToHost), url: url)
        #expect(e.description == "connection_error (-1004): cannot reach http://127.0.0.1:8088: connection refused")
        #expect(APIError.invalidRequest("bad").description == "400 invalid_request_error: bad")
    }

    /// A hostile server may echo the key in any field of its error, the request id too.
    @Test func theKeyIsCutFromEveryFieldOfAnError() {
        let key = "sk-test-LEAKME1234567890"
        Secrets.register(key)
        let e = Secrets.redact(APIError(status: 401, type: "t \(key)", code: "c \(key)", param: "p \(key)", message: "m \(key)", requestID: "req_\(key)"))
        #expect(![e.message, e.code ?? "", e.param ?? "", e.requestID ?? "", e.description].contains { $0.contains("LEAKME") }, "\(e)")
    }

    @Test func urlErrorsAreWords() {
        let cases: [(URLError.Code, String)] = [(.timedOut, "timed out"), (.cannotConnectToHost, "connection refused"),
                                                (.badURL, "bad URL"), (.cannotFindHost, "unknown host"),
                                                (.networkConnectionLost, "connection was lost"), (.unknown, "network error -1"),
                                                (.badServerResponse, "the server closed the connection without a reply"),
                                                (.cannotParseResponse, "the reply is not HTTP"), (.unsupportedURL, "the reply is not HTTP")]
        for (code, words) in cases {
            let text = HTTPTransport.readable(URLError(code), url: url)
            #expect(text.hasPrefix("cannot reach http://127.0.0.1:8088: ") && text.contains(words), "\(text)")
            #expect(!text.contains("NSURLErrorDomain"))
        }
        #expect(HTTPTransport.readable(URLError(.unsupportedURL), url: URL(string: "ftp://example.com/")!).hasSuffix("bad URL"))
        #expect(HTTPTransport.readable(APIError.invalidRequest("x") as Error, url: url).contains("x"))
    }

    @Test func aBaseURLPortOutside1To65535IsRefusedWhenParsed() throws {
        for bad in ["http://127.0.0.1:99999/v1", "http://127.0.0.1:0/v1", "http://127.0.0.1:65536/v1"] {
            #expect(throws: ConfigurationError.self) { try HTTPConfig.fromEnvironment(["OPENAI_BASE_URL": bad], baseURL: nil) }
            do { _ = try HTTPConfig.fromEnvironment([:], baseURL: bad) } catch {
                #expect("\(error)".contains("outside 1-65535"), "\(error)")
            }
        }
        #expect(try HTTPConfig.fromEnvironment([:], baseURL: "http://127.0.0.1:65535/v1").baseURL.port == 65535)
        #expect(try HTTPConfig.fromEnvironment([:], baseURL: "http://127.0.0.1:1/v1").baseURL.port == 1)
    }
}
