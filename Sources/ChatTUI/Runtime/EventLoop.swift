import ChatEngine
import Foundation

/// A self-pipe: engine tasks and signal handlers write a byte to wake the screen's `poll(2)`.
final class WakePipe: @unchecked Sendable {
    let readFD: Int32
    let writeFD: Int32

    init?() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    /// Never blocks: a full pipe already holds a wake-up.
    func wake() {
        var b: UInt8 = 1
        _ = write(writeFD, &b, 1)
    }

    func drain() {
        var buf = [UInt8](repeating: 0, count: 256)
        while read(readFD, &buf, buf.count) > 0 {}
    }
}

/// Tells the screen that another process may have written one of its database files, without asking
/// on a timer: inotify on the files' folders, filtered to the files (and their -wal/-journal).
final class FileWatch {
    let fd: Int32
    private var names: [Int32: Set<String>] = [:]

    init?(files: [String]) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        self.fd = fd
        for file in files {
            let folder = (file as NSString).deletingLastPathComponent
            let base = (file as NSString).lastPathComponent
            let wd = inotify_add_watch(fd, folder.isEmpty ? "." : folder, UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO | IN_DELETE))
            guard wd >= 0 else { continue }
            names[wd, default: []].formUnion([base, base + "-wal", base + "-journal"])
        }
        if names.isEmpty {
            close(fd)
            return nil
        }
    }

    deinit { close(fd) }

    /// Reads the pending events; true if one touched a watched file.
    func drain() -> Bool {
        var touched = false
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buf, buf.count)
            guard n > 0 else { return touched }
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            while offset + header <= n {
                let (wd, length) = buf.withUnsafeBytes { raw -> (Int32, Int) in
                    let e = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    return (e.wd, Int(e.len))
                }
                let nameBytes = buf[(offset + header)..<min(n, offset + header + length)].prefix { $0 != 0 }
                if names[wd]?.contains(String(decoding: nameBytes, as: UTF8.self)) == true { touched = true }
                offset += header + length
            }
        }
    }
}

/// How often the screen's loop ran and drew (CHATBENCH_LOOP_STATS=FILE writes them at exit): at rest
/// the loop must not run at all.
struct LoopStats {
    var iterations = 0
    var frames = 0

    func write(to path: String?) {
        guard let path, !path.isEmpty else { return }
        try? "iterations \(iterations) frames \(frames)\n".write(toFile: path, atomically: true, encoding: .utf8)
    }
}
