import Foundation

/// A real `chatbench serve` on a free port for one test; killed and reaped when released.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let stderrPath: String
    /// The line serve printed when it started listening.
    let banner: String
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// `stderr`: where its stderr goes (default: a file in `home`). `fdLimit`: start it under
    /// `ulimit -n` (through /bin/sh, which then execs the binary).
    init(_ args: [String], home: String, env extra: [String: String] = [:], stderr: String? = nil, fdLimit: Int? = nil) throws {
        if let fdLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(fdLimit) && exec \"$0\" \"$@\"", ChatbenchProcess.binary, "serve", "--port", "0"] + args
        } else {
            process.executableURL = URL(fileURLWithPath: ChatbenchProcess.binary)
            process.arguments = ["serve", "--port", "0"] + args
        }
        var env = ProcessInfo.processInfo.environment
        env["CHATBENCH_HOME"] = home
        env.removeValue(forKey: "OPENAI_API_KEY")
        env.removeValue(forKey: "OPENAI_BASE_URL")
        for (k, v) in extra { env[k] = v }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        stderrPath = stderr ?? home + "/serve-stderr-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        let text = firstLine(of: out)
        // "listening on http://HOST:PORT/v1 (…)": the port is what follows the host's colon.
        guard let range = text.range(of: #"http://[^:/ ]+:[0-9]+/v1"#, options: .regularExpression),
              let p = Int(text[range].split(separator: ":").last?.split(separator: "/").first ?? "") else {
            kill(process.processIdentifier, SIGKILL)   // deinit does not run for a failed init: do not leave it running
            var status: Int32 = 0
            waitpid(process.processIdentifier, &status, 0)
            throw ConfigurationErrorForTests("serve did not start: '\(text)' \((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")")
        }
        port = p
        banner = text
    }

    convenience init(_ args: [String], home: TempHome, stderr: String? = nil, fdLimit: Int? = nil) throws {
        try self.init(args, home: home.path, stderr: stderr, fdLimit: fdLimit)
    }

    /// Everything serve wrote to stderr so far (the access log and any error lines).
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    var isRunning: Bool { process.isRunning }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        let pid = process.processIdentifier
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// Runs an e2e script with the given arguments; its exit status and output.
    static func script(_ name: String, _ args: [String]) async -> (Int32, String) { await runE2E(name, args) }
}

struct ConfigurationErrorForTests: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
