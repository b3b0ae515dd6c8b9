import ChatEngine
import Foundation

/// Standard output that remembers a failed write (a full disk, a closed pipe), so the command can
/// exit non-zero instead of reporting success with its output lost.
final class StdoutWriter: @unchecked Sendable {
    private var failure: Int32 = 0

    func write(_ text: String) {
        guard failure == 0 else { return }
        var bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(1, $0.baseAddress! + off, $0.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { failure = n < 0 ? errno : EIO; return }
            off += n
        }
    }

    func line(_ text: String) { write(text + "\n") }

    /// Throws when any write failed.
    func finish() throws {
        guard failure == 0 else { throw OutputError(message: "cannot write to standard output: \(String(cString: strerror(failure)))") }
    }
}

struct OutputError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
