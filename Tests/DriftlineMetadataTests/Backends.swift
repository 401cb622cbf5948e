import DriftlineMetadata
import Foundation
import Logging
import PostgresNIO
import Testing

/// The two drivers every store test runs against.
enum Backend: String, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }

    static var postgresURL: String? { ProcessInfo.processInfo.environment["DRIFTLINE_TEST_POSTGRES_URL"] }
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The backends the store tests run against: PostgreSQL when its URL is set, and always in CI
    /// (where a missing server fails the test). Outside CI without it, the PostgreSQL cases are not
    /// made, and `PostgresAvailabilityTests` shows as skipped, saying why.
    static var testable: [Backend] { postgresURL != nil || inCI ? [.sqlite, .postgres] : [.sqlite] }

    /// A fresh, empty store URL (a new file, or a new database on the test server); nil to skip.
    func freshURL() async throws -> String? {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("driftline-meta-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return directory.appendingPathComponent("metadata.sqlite").path
        case .postgres:
            guard let base = Self.postgresURL else {
                if ProcessInfo.processInfo.environment["CI"] == "true" {
                    Issue.record("DRIFTLINE_TEST_POSTGRES_URL is not set: ops/test.sh starts PostgreSQL for these tests")
                }
                return nil
            }
            let name = "driftline_test_\(UInt32.random(in: 0...UInt32.max))"
            try await Self.admin(base) { client in try await client.query("CREATE DATABASE \(unescaped: name)") }
            var components = URLComponents(string: base)!
            components.path = "/\(name)"
            return components.string!
        }
    }

    /// Runs `body` with a client on the test server's own database.
    static func admin(_ url: String, _ body: (PostgresClient) async throws -> Void) async throws {
        let components = URLComponents(string: url)!
        let configuration = PostgresClient.Configuration(
            host: components.host!, port: components.port ?? 5432, username: components.user!, password: components.password,
            database: String(components.path.dropFirst()), tls: .disable)
        let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "test.admin"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }

    func open(_ url: String) async throws -> any MetadataStore {
        let store = try await MetadataStores.open(url)
        try await store.migrate()
        return store
    }
}

/// Opens a fresh migrated store of `backend`.
func withStore(_ backend: Backend, _ body: (any MetadataStore, String) async throws -> Void) async throws {
    guard let url = try await backend.freshURL() else { return }  // only in CI without a URL, after recording the failure
    let store = try await backend.open(url)
    do {
        try await body(store, url)
    } catch {
        await store.close()
        throw error
    }
    await store.close()
}

/// Shows, as a skipped test, that the PostgreSQL cases of the store tests did not run.
@Suite struct PostgresAvailabilityTests {
    @Test(.enabled(if: Backend.postgresURL != nil || Backend.inCI, "DRIFTLINE_TEST_POSTGRES_URL is not set: run ops/test.sh, which starts PostgreSQL"))
    func theTestServerAnswers() async throws {
        let url = try #require(Backend.postgresURL, "DRIFTLINE_TEST_POSTGRES_URL is not set: ops/test.sh starts PostgreSQL for these tests")
        try await Backend.admin(url) { client in
            let version = try await client.query("SHOW server_version_num").collect().first?.decode(String.self)
            #expect((Int(version ?? "") ?? 0) >= 150_000, "PostgreSQL 15 or later, got \(version ?? "nothing")")
        }
    }
}
