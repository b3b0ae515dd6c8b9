import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How to reach an OpenAI-compatible server. The key comes only from the environment and is never
/// written anywhere: descriptions show at most a masked hint.
public struct HTTPConfig: Sendable {
    public var baseURL: URL
    public var apiKey: String?
    public var organization: String?
    public var project: String?
    /// Seconds without any bytes before a request fails (URLSession truncates to whole seconds).
    public var idleTimeout: Int = 60
    /// Seconds a whole request (with retries and a full stream) may take.
    public var deadline: Double = 600
    public var maxRetries = 2
    /// Cap on a server-requested retry delay; longer requests are not retried.
    public var maxRetryDelay: Double = 60

    public static let defaultBaseURL = "https://api.openai.com/v1"

    public init(baseURL: URL, apiKey: String?, organization: String? = nil, project: String? = nil) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.organization = organization
        self.project = project
    }

    /// From `OPENAI_API_KEY`, `OPENAI_BASE_URL` (or the flag), `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`.
    public static func fromEnvironment(_ env: [String: String], baseURL flag: String?) throws -> HTTPConfig {
        let raw = flag ?? env["OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultBaseURL
        // A password in the URL is a secret like the key: no error text prints it, this one's included.
        Secrets.register(URLComponents(string: raw)?.password)
        guard let url = URL(string: raw.hasSuffix("/") ? String(raw.dropLast()) : raw), let scheme = url.scheme,
              ["http", "https"].contains(scheme.lowercased()), url.host != nil else {
            throw ConfigurationError("bad base URL '\(raw)': expected http(s)://host[:port]/path")
        }
        if let port = url.port, !(1...65_535).contains(port) {
            throw ConfigurationError("bad base URL '\(raw)': port \(port) is outside 1-65535")
        }
        let key = env["OPENAI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if key == nil && url.host == "api.openai.com" {
            throw ConfigurationError("OPENAI_API_KEY is not set (the OpenAI backend needs it; without it use --backend offline)")
        }
        var c = HTTPConfig(baseURL: url, apiKey: key, organization: env["OPENAI_ORG_ID"].flatMap { $0.isEmpty ? nil : $0 },
                           project: env["OPENAI_PROJECT_ID"].flatMap { $0.isEmpty ? nil : $0 })
        if let t = try EnvironmentNumber.whole(env, "CHATBENCH_IDLE_TIMEOUT", in: 1...86_400) { c.idleTimeout = t }
        if let d = try EnvironmentNumber.seconds(env, "CHATBENCH_DEADLINE", in: 0.001...604_800) { c.deadline = d }
        return c
    }

    /// Set when a key would travel unencrypted over a network: plain http to a host that is not loopback.
    public var plainHTTPWarning: String? {
        guard apiKey != nil, baseURL.scheme?.lowercased() == "http", let host = baseURL.host?.lowercased() else { return nil }
        let loopback = host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
        return loopback ? nil : "chatbench: warning: the API key is sent over plain http to \(host); anyone on the network path can read it (use https)"
    }

    /// Prints each distinct warning once per process, on standard error.
    public static func warnOnce(_ text: String) {
        warnedLock.lock()
        let first = warned.insert(text).inserted
        warnedLock.unlock()
        if first { FileHandle.standardError.write(Data((text + "\n").utf8)) }
    }
    nonisolated(unsafe) private static var warned: Set<String> = []
    private static let warnedLock = NSLock()

    /// `url` without the user and password a URL may carry (`http://user:secret@host/v1` →
    /// `http://host/v1`): what chatbench stores and shows of a base URL.
    public static func withoutCredentials(_ url: String) -> String {
        guard var parts = URLComponents(string: url), parts.user != nil || parts.password != nil else { return url }
        parts.user = nil
        parts.password = nil
        return parts.string ?? url
    }

    /// `sk-…abcd`: the most of a key chatbench ever shows.
    public static func maskedHint(_ key: String?) -> String {
        guard let key, key.count >= 8 else { return key == nil ? "no key" : "key set" }
        return String(key.prefix(3)) + "…" + String(key.suffix(4))
    }
}
