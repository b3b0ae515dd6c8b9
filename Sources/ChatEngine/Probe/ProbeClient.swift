import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The probe's raw HTTP client: it must see exactly what a server sends (status, headers, the body
/// as bytes), so it does not go through the typed backends, their retries or their error mapping.
final class ProbeClient: @unchecked Sendable {
    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]   // lower-cased names
        var body: Data
        var json: JSONValue? { JSONValue.parse(String(decoding: body, as: UTF8.self)) }
        /// The first bytes of the body, for a row's detail (never the request, so never the key).
        var excerpt: String {
            let t = String(decoding: body.prefix(160), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
            return body.count > 160 ? t + "…" : t
        }
    }

    let baseURL: URL
    private let apiKey: String?
    private let session: URLSession

    init(baseURL: URL, apiKey: String?, timeout: Int) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = TimeInterval(timeout)    // no byte for this long
        c.timeoutIntervalForResource = TimeInterval(timeout)   // and the whole request
        c.urlCache = nil
        c.httpCookieStorage = nil
        session = URLSession(configuration: c)
    }

    /// Sends one request. `body` is a JSON value (encoded as is) or raw bytes.
    func call(_ method: String, _ path: String, json: JSONValue? = nil, raw: Data? = nil, query: [(String, String)] = []) async throws -> Reply {
        var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        var r = URLRequest(url: components.url!)
        r.httpMethod = method
        r.setValue("application/json", forHTTPHeaderField: "Accept")
        r.setValue("chatbench-probe/0.1", forHTTPHeaderField: "User-Agent")
        if let apiKey { r.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        if let body = try raw ?? json.map({ try WireJSON.encode($0) }) {
            r.httpBody = body
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: r)
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in http?.allHeaderFields ?? [:] {
            if let k = k as? String, let v = v as? String { headers[k.lowercased()] = v }
        }
        return Reply(status: http?.statusCode ?? 0, headers: headers, body: data)
    }
}

extension JSONValue {
    /// An integer field read without trapping on absurd numbers.
    var saturatedInt: Int? {
        switch self {
        case .int(let i): return Int(clamping: i)
        case .double(let d) where d.isFinite: return d >= 9.2e18 ? Int.max : d <= -9.2e18 ? Int.min : Int(d)
        default: return nil
        }
    }

    /// The text of a Response object's output messages (or of one output item).
    var outputText: String {
        if let items = self["output"]?.arrayValue { return items.map(\.outputText).joined() }
        return self["content"]?.arrayValue?.compactMap { $0["text"]?.stringValue }.joined() ?? ""
    }
}
