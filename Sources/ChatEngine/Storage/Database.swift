import CSQLite
import Foundation

// Over 350 lines on purpose: this file is the connection, one class whose raw SQLite handle, statement
// cache, lock and transaction depth are private to it. Splitting its methods into other files would
// mean widening those to the whole module, where a stray call could bypass the lock. The values and
// rows (SQLValue.swift) and the errors (StorageError.swift) live apart.

/// An ordered schema step. `version` is the `PRAGMA user_version` the database has after it.
public struct Migration: Sendable {
    public let version: Int
    public let apply: @Sendable (Database) throws -> Void
    public init(version: Int, _ apply: @escaping @Sendable (Database) throws -> Void) {
        self.version = version
        self.apply = apply
    }
    public init(version: Int, sql: String) {
        self.init(version: version) { try $0.executeScript(sql) }
    }
}

/// A connection to one SQLite database: WAL, busy timeout, cached prepared statements,
/// transactions that roll back on throw, migrations keyed on `PRAGMA user_version`.
/// Safe to share across threads: every call takes the connection's lock.
public final class Database: @unchecked Sendable {
    public let path: String
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    private let lock = NSRecursiveLock()
    private var transactionDepth = 0
    /// Rows returned by queries on this connection so far: tests count them to prove that a screen
    /// reads pages, not sessions.
    public private(set) var rowsRead = 0
    /// Opened with `openReadOnly`: no writes, no schema changes.
    public private(set) var readOnly = false
    private let busyTimeoutMs: Int32

    /// Opens (creating if needed) a database file. A new file gets mode 0600 and its folder 0700.
    /// A file that is not SQLite, or whose schema is newer than `migrations` know, is refused untouched.
    /// `refuseNewer: false` opens a file another program owns (its `user_version` is not ours to judge).
    /// `createFolder: false` refuses a missing folder instead of making it (a path the user typed).
    ///
    /// A process holds **one connection per file**: opening a file this process already has open (by any
    /// path: a symlink, `..`) returns that connection. A second connection would be a second descriptor,
    /// and on Linux closing any descriptor of a file drops every POSIX lock the process holds on it,
    /// SQLite's included; another process could then delete the WAL this one is still writing.
    public static func open(path: String, migrations: [Migration], busyTimeoutMs: Int32 = 5000, refuseNewer: Bool = true,
                            createFolder: Bool = true) throws -> Database {
        try ConnectionRegistry.shared.withLock { open in
            let fm = FileManager.default
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty {
                if createFolder {
                    try Paths.ensureDirectory(folder)
                } else if !fm.fileExists(atPath: folder) {
                    throw StorageError(.openFailed, path: path, "its folder \(folder) does not exist (nothing was created)")
                }
            }
            if let existing = open.connection(for: path) {
                if existing.readOnly { try existing.reopenReadWrite(busyTimeoutMs: busyTimeoutMs) }
                try existing.prepareSchema(migrations: migrations, wal: true, refuseNewer: refuseNewer)
                return existing
            }
            // WAL needs to write beside the file: a read-only folder or file is a clear error up front,
            // not SQLite's "unable to open database file".
            for target in [folder.isEmpty ? "." : folder, path] where fm.fileExists(atPath: target) && access(target, W_OK) != 0 {
                let why = errno == EROFS ? "is on a read-only filesystem" : "is not writable (\(String(cString: strerror(errno))))"
                throw StorageError(.readOnly, path: path, "\(target == path ? "the file" : "its folder \(target)") \(why); chatbench needs to write there (nothing was changed)")
            }
            if !fm.fileExists(atPath: path) {
                // No connection to this file exists in the process (it did not exist), so this short-lived
                // descriptor cannot drop anyone's locks. It makes the file 0600 from the first byte.
                let fd = Glibc.open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
                guard fd >= 0 else {
                    throw StorageError(.openFailed, path: path, "cannot create the file: \(String(cString: strerror(errno)))")
                }
                Glibc.close(fd)
            }
            let db = try Database(path: path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, busyTimeoutMs: busyTimeoutMs)
            do {
                // SQLite itself checks the header (a file that is not SQLite fails its first read with
                // SQLITE_NOTADB), so no other descriptor ever reads the file.
                try db.prepareSchema(migrations: migrations, wal: true, refuseNewer: refuseNewer)
            } catch {
                db.close()
                throw error
            }
            open.register(db)
            return db
        }
    }

    /// Opens an existing file for reading only: no WAL switch, no migration, no file created, so the
    /// file is left byte-for-byte as it was. Works in a read-only folder. Reuses this process's
    /// connection to the file if it has one.
    public static func openReadOnly(path: String, busyTimeoutMs: Int32 = 5000) throws -> Database {
        try ConnectionRegistry.shared.withLock { open in
            guard FileManager.default.fileExists(atPath: path) else {
                throw StorageError(.openFailed, path: path, "no such file")
            }
            if let existing = open.connection(for: path) { return existing }
            var db = try Database(path: path, flags: SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, busyTimeoutMs: busyTimeoutMs)
            do {
                _ = try db.userVersion()
            } catch let e as StorageError where e.kind == .openFailed || e.kind == .readOnly {
                // A WAL file in a folder where its -shm cannot be created: nobody can be writing it, so
                // read it as immutable.
                db.close()
                let uri = "file:" + (path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path) + "?immutable=1"
                db = try Database(path: path, uri: uri, flags: SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI, busyTimeoutMs: busyTimeoutMs)
            } catch let e as StorageError where e.kind == .corrupt {
                throw StorageError.notADatabase(path)
            }
            db.readOnly = true
            do {
                _ = try db.userVersion()
            } catch let e as StorageError where e.kind == .corrupt {
                throw StorageError.notADatabase(path)
            }
            open.register(db)
            return db
        }
    }

    /// An in-memory database (tests, scratch work).
    public static func inMemory(migrations: [Migration] = []) throws -> Database {
        let db = try Database(path: ":memory:", flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, busyTimeoutMs: 0)
        try db.prepareSchema(migrations: migrations, wal: false)
        return db
    }

    private init(path: String, uri: String? = nil, flags: Int32, busyTimeoutMs: Int32) throws {
        self.path = path
        self.busyTimeoutMs = busyTimeoutMs
        handle = try Self.connect(uri ?? path, path: path, flags: flags, busyTimeoutMs: busyTimeoutMs)
    }

    private static func connect(_ name: String, path: String, flags: Int32, busyTimeoutMs: Int32) throws -> OpaquePointer {
        var h: OpaquePointer?
        let rc = sqlite3_open_v2(name, &h, flags, nil)
        guard rc == SQLITE_OK, let h else {
            let msg = h.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let h { sqlite3_close_v2(h) }
            throw StorageError.from(code: rc, path: path, context: "opening the database", detail: msg)
        }
        sqlite3_extended_result_codes(h, 1)
        sqlite3_busy_timeout(h, busyTimeoutMs)
        return h
    }

    /// A read-only connection asked for by a writer in the same process becomes read-write in place:
    /// the old handle is this process's only one on the file, so closing it drops nobody else's locks.
    private func reopenReadWrite(busyTimeoutMs: Int32) throws {
        lock.lock(); defer { lock.unlock() }
        for (_, st) in statements { sqlite3_finalize(st) }
        statements.removeAll()
        if let h = handle { sqlite3_close_v2(h) }
        handle = nil
        handle = try Self.connect(path, path: path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, busyTimeoutMs: busyTimeoutMs)
        readOnly = false
    }

    deinit { close() }

    /// Closes the connection (and forgets it, so a later open makes a new one). Only for a file no
    /// other part of the process uses: connections are shared per file.
    public func close() {
        ConnectionRegistry.shared.forget(self)
        lock.lock(); defer { lock.unlock() }
        for (_, st) in statements { sqlite3_finalize(st) }
        statements.removeAll()
        if let h = handle { sqlite3_close_v2(h) }
        handle = nil
    }

    /// `PRAGMA data_version`: changes when another connection (another process) commits to the file,
    /// so a reader can tell cheaply whether anything it shows may be stale.
    public func dataVersion() throws -> Int64 {
        try query("PRAGMA data_version").first?[0].int64 ?? 0
    }

    /// Checks the schema version before anything writes to the file, then switches to WAL and migrates.
    fileprivate func prepareSchema(migrations: [Migration], wal: Bool, refuseNewer: Bool = true) throws {
        let known = migrations.map(\.version).max() ?? 0
        let current: Int
        do {
            current = try userVersion()
        } catch let e as StorageError where e.kind == .corrupt {
            throw StorageError.notADatabase(path)
        }
        if current > known && refuseNewer {
            throw StorageError(.newerSchema, path: path,
                "was written by a newer chatbench (schema version \(current); this build knows up to \(known)); it was left unchanged — upgrade chatbench to open it")
        }
        if wal, try query("PRAGMA journal_mode").first?[0].string?.lowercased() != "wal" {
            // Switching needs the file to itself, and SQLite does not wait for that: another process
            // creating the same file at the same moment is waited for here, up to the busy timeout.
            var mode = ""
            let deadline = Date().addingTimeInterval(Double(busyTimeoutMs) / 1000)
            while true {
                do {
                    mode = try query("PRAGMA journal_mode=WAL").first?[0].string ?? ""
                    break
                } catch let e as StorageError where e.kind == .busy && Date() < deadline {
                    usleep(10_000)
                }
            }
            if mode.lowercased() != "wal" {
                throw StorageError(.openFailed, path: path, "could not switch to WAL journal mode (got '\(mode)')")
            }
            try execute("PRAGMA synchronous=NORMAL")
        }
        try execute("PRAGMA foreign_keys=ON")
        // What is deleted (a session, a response, an item) is overwritten in the file, not left readable
        // in free space: deleting is how a user takes their words back.
        try execute("PRAGMA secure_delete=ON")
        for step in migrations.sorted(by: { $0.version < $1.version }) where step.version > current {
            do {
                try transaction {
                    // Another process may have migrated since the version was read: check again, inside
                    // the write transaction.
                    guard try userVersion() < step.version else { return }
                    try step.apply(self)
                    try execute("PRAGMA user_version=\(step.version)")
                }
            } catch let e as StorageError {
                throw StorageError(e.kind == .diskFull || e.kind == .readOnly || e.kind == .busy ? e.kind : .migrationFailed, path: path,
                                   "migrating to schema version \(step.version) failed: \(e.message)")
            }
        }
    }

    public func userVersion() throws -> Int {
        try query("PRAGMA user_version").first?[0].int ?? 0
    }

    // MARK: Statements

    private func error(_ rc: Int32, _ context: String) -> StorageError {
        let detail = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed"
        // An I/O error says little: the OS error behind it says what to do.
        if rc & 0xff == SQLITE_IOERR, let h = handle {
            switch sqlite3_system_errno(h) {
            case ENOSPC: return StorageError(.diskFull, path: path, "\(context) failed: the disk is full (free some space and try again; nothing was lost)")
            case EFBIG: return StorageError(.diskFull, path: path, "\(context) failed: the file size limit was reached (ulimit -f; nothing was lost)")
            case EROFS, EACCES, EPERM: return StorageError(.readOnly, path: path, "\(context) failed: the file or its folder is read-only")
            case let e where e != 0:
                return StorageError(.queryFailed, path: path, "\(context) failed: \(detail) (\(String(cString: strerror(e))))")
            default:
                // No errno: look at the disk and the process's file-size limit ourselves.
                let folder = (path as NSString).deletingLastPathComponent
                var fs = statvfs()
                if statvfs(folder.isEmpty ? "." : folder, &fs) == 0, UInt64(fs.f_bavail) * UInt64(fs.f_frsize) < 1 << 20 {
                    return StorageError(.diskFull, path: path, "\(context) failed: the disk is full (free some space and try again; nothing was lost)")
                }
                var limit = rlimit()
                if getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {
                    return StorageError(.diskFull, path: path, "\(context) failed: the file size limit (ulimit -f, \(limit.rlim_cur / 1024) KB) was reached; nothing was lost")
                }
            }
        }
        return StorageError.from(code: rc, path: path, context: context, detail: detail)
    }

    private func statement(_ sql: String) throws -> OpaquePointer {
        if let st = statements[sql] { return st }
        guard let h = handle else { throw StorageError(.queryFailed, path: path, "the database is closed") }
        var st: OpaquePointer?
        let rc = sqlite3_prepare_v2(h, sql, -1, &st, nil)
        guard rc == SQLITE_OK, let st else { throw error(rc, "preparing \(Self.brief(sql))") }
        statements[sql] = st
        return st
    }

    private static func brief(_ sql: String) -> String {
        let one = sql.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        return one.count > 60 ? "'\(one.prefix(57))...'" : "'\(one)'"
    }

    private func bind(_ st: OpaquePointer, _ params: [SQLValue]) throws {
        for (i, p) in params.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch p {
            case .null: rc = sqlite3_bind_null(st, idx)
            case .integer(let v): rc = sqlite3_bind_int64(st, idx, v)
            case .double(let v): rc = sqlite3_bind_double(st, idx, v)
            case .text(let s):
                var s = s
                rc = s.withUTF8 { buf -> Int32 in
                    guard let base = buf.baseAddress, buf.count > 0 else {
                        return sqlite3_bind_text(st, idx, "", 0, shim_SQLITE_TRANSIENT())
                    }
                    return UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: buf.count) {
                        sqlite3_bind_text(st, idx, $0, Int32(buf.count), shim_SQLITE_TRANSIENT())
                    }
                }
            case .blob(let b):
                rc = b.withUnsafeBytes { buf in
                    sqlite3_bind_blob(st, idx, buf.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(buf.count), shim_SQLITE_TRANSIENT())
                }
            }
            if rc != SQLITE_OK { throw error(rc, "binding parameter \(idx)") }
        }
    }

    private func read(_ st: OpaquePointer, _ col: Int32) -> SQLValue {
        switch sqlite3_column_type(st, col) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(st, col))
        case SQLITE_FLOAT: return .double(sqlite3_column_double(st, col))
        case SQLITE_TEXT:
            let n = Int(sqlite3_column_bytes(st, col))
            guard let p = sqlite3_column_text(st, col) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        case SQLITE_BLOB:
            let n = Int(sqlite3_column_bytes(st, col))
            guard n > 0, let p = sqlite3_column_blob(st, col) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
        default: return .null
        }
    }

    /// Runs a statement and returns its rows. The statement is reset before returning, always.
    @discardableResult
    public func query(_ sql: String, _ params: [SQLValue] = []) throws -> [Row] {
        lock.lock(); defer { lock.unlock() }
        let st = try statement(sql)
        defer { sqlite3_reset(st); sqlite3_clear_bindings(st) }
        try bind(st, params)
        let n = sqlite3_column_count(st)
        let columns = Columns((0..<n).map { String(cString: sqlite3_column_name(st, $0)) })
        var rows: [Row] = []
        while true {
            let rc = sqlite3_step(st)
            if rc == SQLITE_ROW {
                rowsRead &+= 1
                rows.append(Row(columns: columns, values: (0..<n).map { read(st, $0) }))
            } else if rc == SQLITE_DONE {
                return rows
            } else {
                throw error(rc, "running \(Self.brief(sql))")
            }
        }
    }

    /// Runs a statement that returns no rows we need.
    public func execute(_ sql: String, _ params: [SQLValue] = []) throws {
        try query(sql, params)
    }

    /// Runs several `;`-separated statements (schema scripts). Not cached.
    public func executeScript(_ sql: String) throws {
        lock.lock(); defer { lock.unlock() }
        guard let h = handle else { throw StorageError(.queryFailed, path: path, "the database is closed") }
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(h, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "error \(rc)"
            sqlite3_free(err)
            throw StorageError.from(code: rc, path: path, context: "running a schema script", detail: msg)
        }
    }

    public var lastInsertRowID: Int64 {
        lock.lock(); defer { lock.unlock() }
        return handle.map { sqlite3_last_insert_rowid($0) } ?? 0
    }

    public var changes: Int {
        lock.lock(); defer { lock.unlock() }
        return handle.map { Int(sqlite3_changes($0)) } ?? 0
    }

    /// Runs `body` in a transaction (`BEGIN IMMEDIATE`, so writers queue on the busy timeout instead of
    /// failing mid-way). Nested calls join the outer transaction through savepoints. Rolls back if `body` throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        lock.lock(); defer { lock.unlock() }
        let depth = transactionDepth
        if depth == 0 { try execute("BEGIN IMMEDIATE") } else { try execute("SAVEPOINT sp\(depth)") }
        transactionDepth += 1
        do {
            let result = try body()
            transactionDepth -= 1
            if depth == 0 { try execute("COMMIT") } else { try execute("RELEASE sp\(depth)") }
            return result
        } catch {
            transactionDepth = depth
            if depth == 0 {
                try? execute("ROLLBACK")
            } else {
                try? execute("ROLLBACK TO sp\(depth)")
                try? execute("RELEASE sp\(depth)")
            }
            throw error
        }
    }

    /// `PRAGMA integrity_check` result: "ok" when healthy.
    public func integrityCheck() throws -> String {
        try query("PRAGMA integrity_check").map { $0[0].string ?? "" }.joined(separator: "; ")
    }
}
