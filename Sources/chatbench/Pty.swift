import ChatEngine
import Foundation

// glibc declares these only under _XOPEN_SOURCE, which SwiftPM's Glibc import does not set.
@_silgen_name("posix_openpt") private func c_posix_openpt(_ flags: Int32) -> Int32
@_silgen_name("grantpt") private func c_grantpt(_ fd: Int32) -> Int32
@_silgen_name("unlockpt") private func c_unlockpt(_ fd: Int32) -> Int32
@_silgen_name("ptsname") private func c_ptsname(_ fd: Int32) -> UnsafeMutablePointer<CChar>?

/// Runs a program on a pseudo-terminal, for measuring the screen from outside (bench).
enum Pty {
    /// Spawns `binary` on a new 120×40 pseudo-terminal, waits until its output contains `marker`,
    /// and returns (milliseconds from spawn to marker, peak RSS in MB). The child is then asked to quit.
    static func timeFirstFrame(binary: String, env: [String], marker: String) throws -> (Double, Double) {
        let master = c_posix_openpt(O_RDWR | O_NOCTTY)
        guard master >= 0, c_grantpt(master) == 0, c_unlockpt(master) == 0, let name = c_ptsname(master) else {
            throw ConfigurationError("cannot open a pseudo-terminal")
        }
        defer { close(master) }
        let slavePath = String(cString: name)
        var size = winsize(ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0)
        let slave = open(slavePath, O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw ConfigurationError("cannot open \(slavePath)") }
        _ = ioctl(slave, UInt(TIOCSWINSZ), &size)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_adddup2(&actions, slave, fd) }
        posix_spawn_file_actions_addclose(&actions, master)
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(binary), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        let started = DispatchTime.now().uptimeNanoseconds
        let rc = posix_spawn(&pid, binary, &actions, nil, argv, envp)
        close(slave)
        guard rc == 0 else { throw ConfigurationError("cannot start \(binary): error \(rc)") }
        var seen: [UInt8] = []
        let want = Array(marker.utf8)
        var elapsed = -1.0
        var buf = [UInt8](repeating: 0, count: 65536)
        let deadline = started + 20_000_000_000
        while DispatchTime.now().uptimeNanoseconds < deadline {
            var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let n = read(master, &buf, buf.count)
            if n <= 0 { break }
            seen += buf[0..<n]
            if seen.count > 1_000_000 { seen.removeFirst(seen.count - 4096) }
            if contains(seen, want) {
                elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
                break
            }
        }
        let rss = peakRSS(pid)
        var quit: [UInt8] = [17]  // Ctrl-Q
        _ = write(master, &quit, 1)
        // Drain output until the child exits, so it never blocks on a full pty.
        var status: Int32 = 0
        let stopBy = DispatchTime.now().uptimeNanoseconds + 5_000_000_000
        while waitpid(pid, &status, WNOHANG) == 0 {
            var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 20) > 0 { _ = read(master, &buf, buf.count) }
            if DispatchTime.now().uptimeNanoseconds > stopBy { kill(pid, SIGKILL) }
        }
        guard elapsed >= 0 else {
            let tail = String(decoding: seen.suffix(400), as: UTF8.self).replacingOccurrences(of: "\u{1b}", with: "␛")
            throw ConfigurationError("the screen never showed '\(marker)'; its last output: \(tail)")
        }
        return (elapsed, rss)
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard hay.count >= needle.count else { return false }
        let from = max(0, hay.count - 200_000)
        for i in from...(hay.count - needle.count) where hay[i] == needle[0] {
            if Array(hay[i..<(i + needle.count)]) == needle { return true }
        }
        return false
    }

    /// VmHWM (peak resident set) of a process, in MB.
    static func peakRSS(_ pid: pid_t) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return .nan }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
            return kb / 1024
        }
        return .nan
    }
}
