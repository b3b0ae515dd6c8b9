import Foundation

/// Runs the real `chatbench` binary with a private CHATBENCH_HOME and captures its output.
struct ChatbenchProcess {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The built executable, beside the test bundle (SwiftPM puts both in the same bin folder).
    static let binary: String = {
        let fm = FileManager.default
        var candidates: [String] = []
        if let arg0 = CommandLine.arguments.first {
            var dir = URL(fileURLWithPath: arg0).deletingLastPathComponent()
            // The runner may be inside X.xctest/ on some platforms; walk up a little.
            for _ in 0..<3 {
                candidates.append(dir.appendingPathComponent("chatbench").path)
                dir.deleteLastPathComponent()
            }
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/chatbench").path)
        return candidates.first { fm.isExecutableFile(atPath: $0) } ?? candidates.last!
    }()

    static func run(_ args: [String], home: String, extraEnv: [String: String] = [:], stdin: String? = nil, cwd: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["CHATBENCH_HOME"] = home
        env["XDG_CONFIG_HOME"] = home + "/config"
        env.removeValue(forKey: "OPENAI_API_KEY")
        env.removeValue(forKey: "OPENAI_BASE_URL")
        for (k, v) in extraEnv { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(stdin.data(using: .utf8)!) }
        try inp.fileHandleForWriting.close()
        // Read both pipes fully before waiting, so a large output cannot block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data(), errData = Data()
        group.enter(); DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter(); DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}

final class TempHome: @unchecked Sendable {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "chatbench-home-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs blocking work (system(), waiting on a child) on a thread of its own, so the 2-thread
/// cooperative pool keeps serving the async tests that run alongside.
func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { c in Thread.detachNewThread { c.resume(returning: body()) } }
}

/// The first line a child writes to `pipe` (a server announcing its port), read byte by byte so nothing
/// after it is consumed.
func firstLine(of pipe: Pipe) -> String {
    var line = Data()
    while !line.contains(0x0A) {
        let b = pipe.fileHandleForReading.readData(ofLength: 1)
        if b.isEmpty { break }
        line.append(b)
    }
    return String(decoding: line, as: UTF8.self)
}

/// Runs `e2e/NAME` with Python (system(), not Process: Foundation.Process hangs when its child starts a
/// tmux server), off the cooperative pool; its exit status and everything it printed. The arguments
/// are quoted for the shell.
///
/// At most two run at once: each starts servers, tmux or Python SDKs, and on a two-core machine more
/// of them side by side (with the rest of the suite) starved each other past their own timeouts.
func runE2E(_ name: String, _ args: [String], python: String = "python3") async -> (Int32, String) {
    await E2ESlots.shared.acquire()
    defer { Task { await E2ESlots.shared.release() } }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("e2e/\(name)").path
    let log = NSTemporaryDirectory() + "chatbench-e2e-\(UUID().uuidString).log"
    defer { try? FileManager.default.removeItem(atPath: log) }
    let quoted = ([python, script] + args).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
    let command = quoted.joined(separator: " ") + " > '\(log)' 2>&1 < /dev/null"
    let status = await offPool { system(command) }
    return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
}

/// The end-to-end scripts' slots (see `runE2E`).
actor E2ESlots {
    static let shared = E2ESlots(2)
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []
    init(_ n: Int) { free = n }

    func acquire() async {
        if free > 0 { free -= 1; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}
