import ChatEngine
import Foundation

// glibc declares these only under _XOPEN_SOURCE, which SwiftPM's Glibc import does not set.
@_silgen_name("posix_openpt") private func c_posix_openpt(_ flags: Int32) -> Int32
@_silgen_name("grantpt") private func c_grantpt(_ fd: Int32) -> Int32
@_silgen_name("unlockpt") private func c_unlockpt(_ fd: Int32) -> Int32
@_silgen_name("ptsname") private func c_ptsname(_ fd: Int32) -> UnsafeMutablePointer<CChar>?

/// A program running on a pseudo-terminal, measured from outside (bench): what it draws, when, and
/// what it costs the machine.
final class PtyChild {
    let pid: pid_t
    private let master: Int32
    private let started: UInt64
    private var seen: [UInt8] = []
    private var buf = [UInt8](repeating: 0, count: 65536)

    /// Spawns `binary` with `args` on a new 120×40 pseudo-terminal.
    init(binary: String, args: [String] = [], env: [String]) throws {
        let master = c_posix_openpt(O_RDWR | O_NOCTTY)
        guard master >= 0, c_grantpt(master) == 0, c_unlockpt(master) == 0, let name = c_ptsname(master) else {
            throw ConfigurationError("cannot open a pseudo-terminal")
        }
        let slavePath = String(cString: name)
        var size = winsize(ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0)
        let slave = open(slavePath, O_RDWR | O_NOCTTY)
        guard slave >= 0 else { close(master); throw ConfigurationError("cannot open \(slavePath)") }
        _ = ioctl(slave, UInt(TIOCSWINSZ), &size)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_adddup2(&actions, slave, fd) }
        posix_spawn_file_actions_addclose(&actions, master)
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary] + args).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        started = DispatchTime.now().uptimeNanoseconds
        let rc = posix_spawn(&pid, binary, &actions, nil, argv, envp)
        close(slave)
        guard rc == 0 else { close(master); throw ConfigurationError("cannot start \(binary): error \(rc)") }
        self.pid = pid
        self.master = master
    }

    deinit { quit() }

    /// Milliseconds from `since` (default: the spawn) until the output contains `marker`.
    func waitFor(_ marker: String, since: UInt64? = nil, timeoutSeconds: Double = 60) throws -> Double {
        let want = Array(marker.utf8)
        let from = since ?? started
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutSeconds * 1e9)
        while DispatchTime.now().uptimeNanoseconds < deadline {
            var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let n = read(master, &buf, buf.count)
            if n <= 0 { break }
            seen += buf[0..<n]
            if seen.count > 1_000_000 { seen.removeFirst(seen.count - 4096) }
            if Self.contains(seen, want) {
                seen.removeAll(keepingCapacity: true)
                return Double(DispatchTime.now().uptimeNanoseconds - from) / 1_000_000
            }
        }
        let tail = String(decoding: seen.suffix(400), as: UTF8.self).replacingOccurrences(of: "\u{1b}", with: "␛")
        throw ConfigurationError("the screen never showed '\(marker)'; its last output: \(tail)")
    }

    /// Types `text` (a key's bytes) into the terminal; returns the time it was written.
    @discardableResult
    func type(_ text: String) -> UInt64 {
        let bytes = Array(text.utf8)
        let t = DispatchTime.now().uptimeNanoseconds
        bytes.withUnsafeBytes { _ = write(master, $0.baseAddress, bytes.count) }
        return t
    }

    /// Reads and discards output for `seconds` (so the child never blocks on a full terminal).
    func drain(seconds: Double) {
        let until = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        while DispatchTime.now().uptimeNanoseconds < until {
            var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 50) > 0 { _ = read(master, &buf, buf.count) }
        }
    }

    /// Context switches of each of the child's threads (each is a wake-up), and whether the thread is
    /// libdispatch's manager: on Linux it runs a one-second timer that watches the worker pool for as
    /// long as the process has used Swift concurrency, whatever the program does (the runtime's floor).
    func contextSwitchesByThread() -> [String: (switches: Int, dispatchManager: Bool)] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var out: [String: (Int, Bool)] = [:]
        for tid in tasks {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8) else { continue }
            let n = text.split(separator: "\n").filter { $0.contains("ctxt_switches:") }
                .compactMap { Int($0.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") }.reduce(0, +)
            let name = (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/comm", encoding: .utf8)) ?? ""
            out[tid] = (n, name.hasSuffix("qos.overcommit\n") && Self.isDispatchManager(pid: pid, tid: tid))
        }
        return out
    }

    /// libdispatch's manager thread waits in epoll on its own timer: its kernel stack says so.
    static func isDispatchManager(pid: pid_t, tid: String) -> Bool {
        let wchan = (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/wchan", encoding: .utf8)) ?? ""
        return wchan.contains("epoll")
    }

    /// VmHWM (peak resident set) of the child, in MB.
    func peakRSS() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return .nan }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return (line.split(separator: " ").compactMap { Double($0) }.first ?? .nan) / 1024
        }
        return .nan
    }

    private var exited = false

    /// Ctrl-Q, then waits for the child (killing it after 5 s), draining its output meanwhile.
    func quit() {
        guard !exited else { return }
        exited = true
        type("\u{11}")
        var status: Int32 = 0
        let stopBy = DispatchTime.now().uptimeNanoseconds + 5_000_000_000
        while waitpid(pid, &status, WNOHANG) == 0 {
            var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 20) > 0 { _ = read(master, &buf, buf.count) }
            if DispatchTime.now().uptimeNanoseconds > stopBy { kill(pid, SIGKILL) }
        }
        close(master)
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard hay.count >= needle.count else { return false }
        let from = max(0, hay.count - 200_000)
        for i in from...(hay.count - needle.count) where hay[i] == needle[0] {
            if Array(hay[i..<(i + needle.count)]) == needle { return true }
        }
        return false
    }
}
