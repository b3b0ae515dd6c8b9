import Foundation

/// The connections this process has open, one per database file, found by the file's identity
/// (device and inode) so that every path to a file — symlinks, `..`, relative — reaches the same one.
///
/// Why it exists: POSIX advisory locks belong to the process, and on Linux closing *any* descriptor of
/// a file drops *all* of them. Two connections to one file in one process therefore corrupt the
/// database the moment either closes (SQLite's "How To Corrupt An SQLite Database File", section 2.2).
/// Entries are weak: a connection nobody uses closes as before, and is then forgotten.
final class ConnectionRegistry: @unchecked Sendable {
    static let shared = ConnectionRegistry()

    private struct FileID: Hashable { let device: UInt64; let inode: UInt64 }
    private struct Entry { weak var db: Database? }

    private let lock = NSRecursiveLock()
    private var entries: [FileID: Entry] = [:]

    /// Runs `body` with the registry held, so two threads cannot open one file twice.
    func withLock<T>(_ body: (ConnectionRegistry) throws -> T) throws -> T {
        lock.lock(); defer { lock.unlock() }
        return try body(self)
    }

    private static func identity(of path: String) -> FileID? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// The live connection to the file at `path`, if this process has one.
    func connection(for path: String) -> Database? {
        lock.lock(); defer { lock.unlock() }
        guard let id = Self.identity(of: path) else { return nil }
        if let db = entries[id]?.db { return db }
        entries[id] = nil
        return nil
    }

    func register(_ db: Database) {
        lock.lock(); defer { lock.unlock() }
        guard let id = Self.identity(of: db.path) else { return }
        entries[id] = Entry(db: db)
    }

    /// Drops `db` (and any entry whose connection is gone).
    func forget(_ db: Database) {
        lock.lock(); defer { lock.unlock() }
        entries = entries.filter { entry in entry.value.db.map { $0 !== db } ?? false }
    }

    /// How many files have a live connection (tests).
    var openCount: Int {
        lock.lock(); defer { lock.unlock() }
        return entries.values.filter { $0.db != nil }.count
    }
}
