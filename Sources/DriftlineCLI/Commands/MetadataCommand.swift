import ArgumentParser
import DriftlineMetadata
import DriftlineProfiling
import Foundation

struct MetadataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metadata",
        abstract: "Inspect and migrate the metadata store.",
        discussion: "STORE is a SQLite file (sqlite:PATH or a path; the embedded default) or postgres://user@host:port/database.",
        subcommands: [Migrate.self, Status.self, PinReference.self]
    )

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply the store's missing schema migrations (safe to run concurrently).")
        @Option(help: "Metadata store URL.") var store: String = "driftline-metadata.sqlite"

        func run() async throws {
            let opened = try await MetadataStores.open(store)
            defer { Task { await opened.close() } }
            let before = try await opened.appliedMigrations()
            try await opened.migrate()
            let after = try await opened.appliedMigrations()
            print("migrations applied: \(after.map(String.init).joined(separator: ", ")) (new: \(after.filter { !before.contains($0) }.map(String.init).joined(separator: ", ")))")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show which schema migrations the store has.")
        @Option(help: "Metadata store URL.") var store: String = "driftline-metadata.sqlite"

        func run() async throws {
            let opened = try await MetadataStores.open(store)
            defer { Task { await opened.close() } }
            let applied = try await opened.appliedMigrations()
            print("store: \(store)")
            print("migrations applied: \(applied.isEmpty ? "none" : applied.map(String.init).joined(separator: ", "))")
        }
    }

    struct PinReference: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pin-reference",
            abstract: "Profile a JSONL file and store it as a named reference for a source.",
            discussion: "The detector compares every window against it with `reference: {mode: pinned, name: NAME}`.")
        @Option(help: "Metadata store URL.") var store: String = "driftline-metadata.sqlite"
        @Option(help: "The source topic the reference is for.") var source: String
        @Option(help: "The reference's name.") var name: String
        @Option(help: "JSON Lines file of representative records ('-' for stdin).") var input: String
        @Option(help: "Fields tracked (match the source's maxFields).") var maxFields = 256
        @Flag(help: "Overwrite an existing reference of that name.") var replace = false

        func validate() throws {
            guard !source.isEmpty, !name.isEmpty else { throw ValidationError("--source and --name must not be empty") }
            guard maxFields > 0 else { throw ValidationError("--max-fields must be positive") }
        }

        func run() async throws {
            var configuration = ProfileConfiguration()
            configuration.maxFields = maxFields
            let profile = WindowProfile(configuration: configuration)
            let scanner = JSONScanner(options: configuration.scannerOptions)
            try LineReader(path: input).forEachLine { _ = profile.add($0, scanner: scanner) }
            guard profile.recordCount > profile.malformedCount else {
                throw ValidationError("\(input) holds no well-formed records (\(profile.malformedCount) malformed)")
            }
            let opened = try await MetadataStores.open(store)
            do {
                try await opened.migrate()
                let repository = MetadataRepository(store: opened)
                let existing = try await repository.referenceProfile(source: source, name: name)
                if existing != nil, !replace {
                    throw ValidationError("reference '\(name)' for \(source) exists; pass --replace to overwrite it")
                }
                let version = try await repository.putReferenceProfile(profile.encoded(), source: source, name: name, expectedVersion: existing?.version)
                print("pinned reference '\(name)' for \(source): \(profile.recordCount) records (\(profile.malformedCount) malformed), \(profile.fields.count) fields, version \(version)")
            } catch {
                await opened.close()
                throw error
            }
            await opened.close()
        }
    }
}

struct MetadataBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metadata",
        abstract: "Operations/s of a compare-and-set update and of a lease acquire/release cycle on a store."
    )

    @Option(help: "Metadata store URL (default: a temporary SQLite file).") var store: String?
    @Option(help: "Operations per measurement.") var operations: Int = 2_000

    func validate() throws { guard operations > 0 else { throw ValidationError("--operations must be positive") } }

    func run() async throws {
        let url = store ?? FileManager.default.temporaryDirectory.appendingPathComponent("driftline-bench-\(getpid()).sqlite").path
        let opened = try await MetadataStores.open(url)
        try await opened.migrate()
        let key = RecordKey(kind: "bench", source: "bench-\(getpid())", name: UUID().uuidString)
        var version = try await opened.write(key, value: Data("0".utf8), expectedVersion: nil, fence: nil)
        var start = DispatchTime.now()
        for index in 0..<operations {
            version = try await opened.write(key, value: Data(String(index).utf8), expectedVersion: version, fence: nil)
        }
        let casRate = Double(operations) / seconds(since: start)
        let lease = "bench-lease-\(getpid())"
        start = DispatchTime.now()
        for _ in 0..<operations {
            guard let held = try await opened.acquireLease(lease, holder: "bench", ttl: .seconds(30), now: Date()) else { throw ValidationError("lease unexpectedly held") }
            try await opened.releaseLease(held)
        }
        let leaseRate = Double(operations) / seconds(since: start)
        print("store: \(url)")
        print(String(format: "compare-and-set update: %.0f ops/s", casRate))
        print(String(format: "lease acquire + release: %.0f cycles/s", leaseRate))
        await opened.close()
        if store == nil { try? FileManager.default.removeItem(atPath: url) }
    }
}
