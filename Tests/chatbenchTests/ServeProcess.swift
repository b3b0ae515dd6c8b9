import Foundation

/// A real `chatbench serve` on a free port for one test; killed and reaped when released.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let stderrPath: String
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    init(_ args: [String], home: String, env extra: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: ChatbenchProcess.binary)
        process.arguments = ["serve", "--port", "0"] + args
        var env = ProcessInfo.processInfo.environment
        env["CHATBENCH_HOME"] = home
        env.removeValue(forKey: "OPENAI_API_KEY")
        env.removeValue(forKey: "OPENAI_BASE_URL")
        for (k, v) in extra { env[k] = v }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        stderrPath = home + "/serve-stderr-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let b = out.fileHandleForReading.readData(ofLength: 1)
            if b.isEmpty { break }
            line.append(b)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let p = text.split(separator: ":").dropFirst(3).first.flatMap({ Int($0.split(separator: "/").first ?? "") }) else {
            kill(process.processIdentifier, SIGKILL)   // deinit does not run for a failed init: do not leave it running
            var status: Int32 = 0
            waitpid(process.processIdentifier, &status, 0)
            throw ConfigurationErrorForTests("serve did not start: '\(text)' \((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")")
        }
        port = p
    }

    /// Everything serve wrote to stderr so far (the access log and any error lines).
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    deinit {
        let pid = process.processIdentifier
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

struct ConfigurationErrorForTests: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
