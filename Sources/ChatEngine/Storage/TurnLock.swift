import Foundation

/// Makes the turns of one session take place one at a time, across threads and processes: an
/// exclusive `flock(2)` on a small lock file per session, beside the database (`locks/session-ID.lock`).
///
/// A turn reads the session's chain head, talks to the server for seconds, then records what came
/// back. Two turns interleaved that way would both chain from the same head and fork the chain, so the
/// model silently loses a turn. Holding a database transaction across the network call would stall
/// every other writer instead; this lock stalls only the next turn on the same session, which then
/// starts from the true head. `flock` locks belong to the open file, not the process, so they exclude
/// threads of one process too, never touch SQLite's own (POSIX) locks, and vanish when a process dies.
public final class TurnLock: @unchecked Sendable {
    private var fd: Int32

    private init(fd: Int32) { self.fd = fd }
    deinit { release() }

    /// Waits (cancellably) until no other turn on the session runs. `onWait` is called once if it must wait.
    /// An in-memory database has no file to lock beside: it gets a lock that excludes nothing.
    public static func acquire(databasePath: String, session: Int64, onWait: () -> Void = {}) async throws -> TurnLock {
        guard databasePath != ":memory:", !databasePath.isEmpty else { return TurnLock(fd: -1) }
        let folder = (databasePath as NSString).deletingLastPathComponent + "/locks"
        try Paths.ensureDirectory(folder)
        let path = folder + "/session-\(session).lock"
        let fd = Glibc.open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StorageError(.openFailed, path: path, "cannot open the session's turn lock: \(String(cString: strerror(errno)))")
        }
        let lock = TurnLock(fd: fd)
        var waited = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw StorageError(.openFailed, path: path, "cannot lock the session: \(String(cString: strerror(errno)))")
            }
            if !waited { waited = true; onWait() }
            try await Task.sleep(for: .milliseconds(10))
        }
        return lock
    }

    public func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        Glibc.close(fd)
        fd = -1
    }
}
