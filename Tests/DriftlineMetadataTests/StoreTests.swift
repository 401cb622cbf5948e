import DriftlineMetadata
import Foundation
import DriftlineTestSupport
import Testing

/// One suite, run against both drivers: they must behave the same.
@Suite(.timeLimit(.minutes(10)))
struct StoreTests {
    @Test(arguments: Backend.testable)
    func compareAndSetUnderEightConcurrentWriters(backend: Backend) async throws {
        try await withStore(backend) { store, url in
            let key = RecordKey(kind: "counter", source: "orders", name: "total")
            _ = try await store.write(key, value: Data("0".utf8), expectedVersion: nil, fence: nil)
            // Eight writers, each with its own connection, each adding 10 by read-modify-write.
            let successes = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let writer = try await MetadataStores.open(url)
                        var done = 0
                        while done < 10 {
                            let current = try await writer.read(key)!
                            let next = Int(String(decoding: current.value, as: UTF8.self))! + 1
                            do {
                                _ = try await writer.write(key, value: Data(String(next).utf8), expectedVersion: current.version, fence: nil)
                                done += 1
                            } catch let error as MetadataError where error.isConflict {
                                continue  // someone else won this round: re-read
                            }
                        }
                        await writer.close()
                        return done
                    }
                }
                return try await group.reduce(0, +)
            }
            let final = try await store.read(key)!
            #expect(successes == 80)
            #expect(String(decoding: final.value, as: UTF8.self) == "80", "no update lost")
            #expect(final.version == 81, "one version per successful update, plus the create")
            let error = await #expect(throws: MetadataError.self) {
                _ = try await store.write(key, value: Data(), expectedVersion: 5, fence: nil)
            }
            #expect(error == .conflict(key, currentVersion: 81))
            await #expect(throws: MetadataError.self) { _ = try await store.write(key, value: Data(), expectedVersion: nil, fence: nil) }
        }
    }

    @Test(arguments: Backend.testable)
    func leasesAreExclusiveExpireAndFenceStaleWriters(backend: Backend) async throws {
        try await withStore(backend) { store, url in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            // Eight contenders at the same instant, each on its own connection: exactly one wins.
            let winners = try await withThrowingTaskGroup(of: Lease?.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        let contender = try await MetadataStores.open(url)
                        defer { Task { await contender.close() } }
                        return try await contender.acquireLease("executor/orders", holder: "instance-\(index)", ttl: .seconds(30), now: now)
                    }
                }
                return try await group.reduce(into: [Lease]()) { if let lease = $1 { $0.append(lease) } }
            }
            #expect(winners.count == 1)
            let first = winners[0]

            // Renewing keeps the token; another holder is refused while the lease is live.
            let renewed = try await store.acquireLease("executor/orders", holder: first.holder, ttl: .seconds(30), now: now.addingTimeInterval(10))
            #expect(renewed?.token == first.token)
            #expect(try await store.acquireLease("executor/orders", holder: "intruder", ttl: .seconds(30), now: now.addingTimeInterval(20)) == nil)

            // The holder stops renewing: after expiry someone else takes over with a larger token.
            let key = RecordKey(kind: "plan", source: "orders")
            _ = try await store.write(key, value: Data("v1".utf8), expectedVersion: nil, fence: first.fence)
            let successor = try await store.acquireLease("executor/orders", holder: "instance-new", ttl: .seconds(30), now: now.addingTimeInterval(41))
            let next = try #require(successor)
            #expect(next.token > first.token)

            // The old holder's late write is rejected; the new holder's goes through.
            let stale = await #expect(throws: MetadataError.self) {
                _ = try await store.write(key, value: Data("zombie".utf8), expectedVersion: 1, fence: first.fence)
            }
            #expect(stale == .staleFencingToken(lease: "executor/orders", presented: first.token, current: next.token))
            #expect(try await store.write(key, value: Data("v2".utf8), expectedVersion: 1, fence: next.fence) == 2)

            // Releasing frees the lease at once, and tokens keep growing.
            try await store.releaseLease(next)
            let third = try await store.acquireLease("executor/orders", holder: "instance-third", ttl: .seconds(30), now: now.addingTimeInterval(42))
            #expect(third.map { $0.token > next.token } == true)
        }
    }

    @Test(arguments: Backend.testable)
    func everyKindRoundTrips(backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let repository = MetadataRepository(store: store)
            let time = Date(timeIntervalSince1970: 1_800_000_000.123)
            let fields = [InferredField(path: "id", types: ["integer"], required: true), InferredField(path: "amount", types: ["float", "string"], required: false)]
            #expect(try await repository.recordSchemaVersion("orders", fields: fields, at: time) == 1)
            #expect(try await repository.recordSchemaVersion("orders", fields: Array(fields.prefix(1)), at: time, driftEventID: "e1") == 2)
            #expect(try await repository.schemaHistory("orders").map(\.version) == [1, 2])
            #expect(try await repository.currentSchema("orders") == SchemaVersion(version: 2, fields: Array(fields.prefix(1)), createdAt: time, driftEventID: "e1"))

            let prediction = SchemaPrediction(predictedVersion: 3, changes: [.init(path: "coupon", change: "appear", expectedAt: time, confidence: 0.8)])
            let version = try await repository.put(prediction, kind: MetadataKind.schemaPrediction, source: "orders", expectedVersion: nil)
            #expect(try await repository.get(SchemaPrediction.self, kind: MetadataKind.schemaPrediction, source: "orders")?.value == prediction)
            #expect(version == 1)

            let strategy = PartitionStrategyRecord(kind: "range", columns: ["created_at"], parameters: ["interval": "1 day"], effectiveAt: time, commandID: "c1", measuredEffect: ["p50_ms_before": 120, "p50_ms_after": 35])
            try await repository.append(strategy, kind: MetadataKind.partitioning, source: "orders", at: time)
            #expect(try await repository.log(PartitionStrategyRecord.self, kind: MetadataKind.partitioning, source: "orders") == [strategy])

            let statistics = FieldStatistics(field: "amount", partition: "p0", quantiles: [1, 2, 3], histogram: [0.2, 0.8], distinctEstimate: 1234.5, frequentValues: ["EUR": 10], bytes: 4096)
            try await repository.append(statistics, kind: MetadataKind.statistics, source: "orders", at: time)
            #expect(try await repository.log(FieldStatistics.self, kind: MetadataKind.statistics, source: "orders") == [statistics])

            let event = DriftEventRecord(id: "e1", field: "amount", kind: "type_change", score: 0.93, components: ["type_change": 1], time: time)
            try await repository.append(event, kind: MetadataKind.driftEvent, source: "orders", at: time)
            #expect(try await repository.log(DriftEventRecord.self, kind: MetadataKind.driftEvent, source: "orders", since: time) == [event])

            let alert = AlertStateRecord(phase: "firing", severity: "critical", since: time)
            try await repository.put(alert, kind: MetadataKind.alertState, source: "orders", name: "amount", expectedVersion: nil)
            #expect(try await repository.get(AlertStateRecord.self, kind: MetadataKind.alertState, source: "orders", name: "amount")?.value == alert)

            let profile: [UInt8] = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            _ = try await repository.putReferenceProfile(profile, source: "orders", name: "baseline", expectedVersion: nil)
            #expect(try await repository.referenceProfile(source: "orders", name: "baseline")?.bytes == profile)

            #expect(try await store.markProcessed(commandID: "cmd-1", at: time))
            #expect(try await store.markProcessed(commandID: "cmd-1", at: time) == false, "a processed command is a duplicate")
            #expect(try await store.list(kind: MetadataKind.alertState, source: "orders").map(\.key.name) == ["amount"])
        }
    }

    @Test(arguments: Backend.testable)
    func retentionThinsOldEntries(backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            for minute in 0..<100 {
                _ = try await store.append(Data("\(minute)".utf8), to: "statistics", source: "orders", at: start.addingTimeInterval(Double(minute) * 60))
            }
            // Older than an hour: keep one entry per 10 minutes; newer ones untouched.
            let deleted = try await store.prune("statistics", source: "orders", olderThan: start.addingTimeInterval(60 * 60), keepOneEvery: .seconds(600))
            #expect(deleted == 54)
            let kept = try await store.entries(of: "statistics", source: "orders", since: nil, limit: 1000).map { String(decoding: $0.entry, as: UTF8.self) }
            #expect(kept.count == 46)
            #expect(Array(kept.prefix(6)) == ["0", "10", "20", "30", "40", "50"], "the first of every 10 minutes survives")
            #expect(kept.contains("60") && kept.contains("99"))
            #expect(try await store.prune("statistics", source: "orders", olderThan: start.addingTimeInterval(60 * 60), keepOneEvery: nil) == 6)
        }
    }

    @Test(arguments: Backend.testable)
    func migrationsFromEmptyAndFromThePreviousVersion(backend: Backend) async throws {
        guard let url = try await backend.freshURL() else { return }  // only in CI without a URL, after recording the failure
        let store = try await MetadataStores.open(url)
        #expect(try await store.appliedMigrations() == [])
        try await store.migrate(upTo: 1)
        #expect(try await store.appliedMigrations() == [1])
        let key = RecordKey(kind: "k", source: "s")
        _ = try await store.write(key, value: Data("kept".utf8), expectedVersion: nil, fence: nil)
        // Two processes migrating at once: both succeed, each version applied once.
        let other = try await MetadataStores.open(url)
        async let a: Void = store.migrate()
        async let b: Void = other.migrate()
        _ = try await (a, b)
        #expect(try await store.appliedMigrations() == [1, 2])
        #expect(try await store.read(key)?.value == Data("kept".utf8), "data survives the migration")
        #expect(try await store.markProcessed(commandID: "x", at: Date()), "version 2's table exists")
        try await store.migrate()
        #expect(try await store.appliedMigrations() == [1, 2], "idempotent")
        await other.close()
        await store.close()
    }
}

@Suite struct StoreErrorTests {
    @Test func badURLsAreRejectedWithTheReason() async {
        let error = await #expect(throws: MetadataError.self) { _ = try await MetadataStores.open("mysql://localhost/db") }
        #expect(error?.description.contains("use sqlite:PATH") == true)
        await #expect(throws: MetadataError.self) { _ = try await MetadataStores.open("postgres://localhost") }
        await #expect(throws: MetadataError.self) { _ = try await MetadataStores.open("sqlite:") }
    }

    @Test func missingDirectoryAndReadOnlyFileAreClearErrors() async throws {
        let error = await #expect(throws: MetadataError.self) { _ = try await MetadataStores.open("/nonexistent/dir/metadata.sqlite") }
        #expect(error?.description.contains("does not exist") == true)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("driftline-ro-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("metadata.sqlite").path
        let store = try await MetadataStores.open(path)
        try await store.migrate()
        await store.close()
        // Read-only for everyone (root ignores file modes, so the directory becomes read-only too and,
        // as root, the file is opened through a read-only URI check below).
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path) }
        if getuid() != 0 {
            let readOnly = await #expect(throws: MetadataError.self) {
                let store = try await MetadataStores.open(path)
                _ = try await store.write(RecordKey(kind: "k", source: "s"), value: Data(), expectedVersion: nil, fence: nil)
            }
            #expect(readOnly?.description.contains("readonly") == true || readOnly?.description.contains("read-only") == true)
        }
    }

    @Test func unreachableOrMissingPostgresDatabaseIsAClearError() async throws {
        let unreachable = await #expect(throws: MetadataError.self) {
            _ = try await PostgresMetadataStore(url: "postgres://nobody@127.0.0.1:1/db", connectTimeout: .seconds(3))
        }
        #expect(unreachable?.description.contains("metadata store unavailable") == true)
        guard let base = Backend.postgresURL else {
            // The unreachable half ran; the missing-database half needs the test server.
            if Backend.inCI { Issue.record("DRIFTLINE_TEST_POSTGRES_URL is not set: ops/test.sh starts PostgreSQL") }
            return
        }
        var components = URLComponents(string: base)!
        components.path = "/no_such_database"
        let missing = await #expect(throws: MetadataError.self) { _ = try await PostgresMetadataStore(url: components.string!) }
        #expect(missing?.description.contains("does not exist") == true, "\(String(describing: missing))")
    }
}

/// Two processes opening (and migrating) a new SQLite file at the same moment both get in: the
/// switch to WAL answers SQLITE_BUSY at once without the busy handler, so opening retries.
@Suite struct SQLiteConcurrentOpenTests {
    @Test func processesOpeningANewFileTogetherBothSucceed() async throws {
        let driftline = try #require(Self.executable(), "the driftline executable is built with the tests")
        for round in 0..<24 {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("concurrent-open-\(UUID().uuidString).sqlite").path
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }  // temporary files
            let processes = try (0..<4).map { _ in try ChildProcess(driftline, ["metadata", "migrate", "--store", path]) }
            for process in processes {
                let status = await process.wait()
                #expect(status == 0, "round \(round): a process opening \(path) at the same time failed: \(process.errors)")
            }
        }
    }

    static func executable() -> URL? {
        var directory = Bundle.main.bundleURL
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("driftline").path), directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        let url = directory.appendingPathComponent("driftline")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }
}
