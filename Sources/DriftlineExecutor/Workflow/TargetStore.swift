/// A database whose tables the executor re-partitions: the workflow's steps, each one transaction
/// (or a few), idempotent where a crash can repeat it. PostgreSQL and SQLite implement it.
public protocol TargetStore: Sendable {
    /// Checks the command against the table (exists, has a primary key, the new layout can be
    /// created: tried in a transaction that is rolled back). Returns the table's rows, or throws
    /// `TargetRejection` with the reason.
    func validate(_ command: RepartitionCommand) async throws -> Int64
    /// Creates (or finds, when resuming) the shadow table and the capture of writes; returns the
    /// largest key already copied and the rows the shadow holds.
    func prepare(_ command: RepartitionCommand) async throws -> (copiedThrough: [String]?, copiedRows: Int64)
    func copyBatch(after: [String]?, limit: Int) async throws -> (lastKey: [String]?, rows: Int64)
    func replay(limit: Int) async throws -> (rows: Int64, pending: Int64)
    /// Key ranges whose rows or checksums differ between the original and the shadow.
    func verify() async throws -> [String]
    /// nil: the lock was not granted within the timeout (nothing changed). Else the milliseconds it was held.
    func swap(lockTimeoutMilliseconds: Int) async throws -> Double?
    func cleanUp() async throws
    /// Drops what an earlier completed job kept for its rollback (its old table, the backward
    /// capture); a new job on the table replaces that rollback point. False when there was nothing.
    func retire(schema: String, table: String, commandId: String) async throws -> Bool
    /// Puts back the layout from before `commandId`'s swap (within the retention), with every row
    /// written since; returns the milliseconds the lock was held. `TargetRejection` when there is
    /// nothing to roll back or the lock was not granted in `attempts` tries.
    func rollback(schema: String, table: String, commandId: String, lockTimeoutMilliseconds: Int, attempts: Int) async throws -> Double
    /// Closes the connection.
    func close() async
}

/// A command the target refuses, with the reason (nothing was changed).
public struct TargetRejection: Error, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Rows and a checksum per key range, of the original or of the new layout.
public typealias KeyRangeChecksums = [Int64: (rows: Int64, checksum: Int64)]

extension KeyRangeChecksums {
    /// The key ranges where the new layout differs from the original, described (what `verify` returns).
    public func mismatches(against original: KeyRangeChecksums) -> [String] {
        Set(original.keys).union(keys).sorted().compactMap { bucket in
            let a = original[bucket] ?? (0, 0), b = self[bucket] ?? (0, 0)
            guard a != b else { return nil }
            return "key range \(bucket): \(a.rows) rows (checksum \(a.checksum)) in the original, \(b.rows) (checksum \(b.checksum)) in the new layout"
        }
    }
}
