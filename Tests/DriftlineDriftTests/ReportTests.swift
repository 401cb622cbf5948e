import DriftlineDrift
import DriftlineProfiling
import DriftlineSampleData
import Foundation
import DriftlineTestSupport
import Testing

@Suite(.timeLimit(.minutes(10)))
struct ReportTests {
    static func makeReport() -> DriftReport {
        let dataset = DriftDataset(records: 6_000, driftFraction: 0.5)
        let reference = WindowProfile(), current = WindowProfile()
        var windows: [WindowProfile] = []
        let scanner = JSONScanner()
        dataset.forEachRecord { index, record in
            if index < 3_000 {
                _ = reference.add(record, scanner: scanner)
            } else {
                if (index - 3_000) % 500 == 0 { windows.append(WindowProfile()) }
                _ = current.add(record, scanner: scanner)
                windows[windows.count - 1].addScanned(scanner)
            }
        }
        return DriftReport(title: "Orders <drift> & co", reference: reference, current: current, windows: windows,
                           generatedAt: Date(timeIntervalSince1970: 1_764_000_000))
    }

    @Test func modelNamesTheDriftedFields() throws {
        let report = Self.makeReport()
        #expect(report.generatedAt == "2025-11-24T16:00:00Z")
        #expect(report.windows.count == 6 && report.windows.allSatisfy { $0.records == 500 })
        let drifted = Set(report.fields.filter { $0.score >= 0.5 }.map(\.path))
        #expect(drifted.isSuperset(of: ["amount", "currency", "quantity", "discount"]), "\(drifted)")
        #expect(report.field("quantity")?.currentTypes["string"] != nil)
        #expect(report.field("amount")?.histogram?.reference.count == 20)
        #expect(report.field("currency")?.categories?.map(\.value).sorted() == ["EUR", "GBP", "USD"])
        let json = try JSONSerialization.jsonObject(with: report.renderJSON()) as! [String: Any]
        #expect((json["fields"] as? [Any])?.count == report.fields.count)
        #expect(report.renderText().contains("top fields:"))
    }

    /// The HTML renders in a real browser: headless Chromium loads it, its DOM has the charts, and a
    /// screenshot lands in the test output folder.
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile)

    @Test(.enabled(if: chromium != nil || ProcessInfo.processInfo.environment["CI"] == "true", "chromium is not installed (ops/install-deps.sh installs it)"))
    func htmlRendersInHeadlessChromium() async throws {
        let chromium = try #require(Self.chromium, "chromium is not installed (ops/install-deps.sh installs it)")
        let html = Self.makeReport().renderHTML()
        #expect(!html.contains("<script"), "no scripts")
        #expect(!html.contains("http://") && !html.contains("https://"), "no external fetches")
        #expect(html.contains("Orders &lt;drift&gt; &amp; co"), "titles are escaped")

        let output = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/test-output")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let page = output.appendingPathComponent("drift-report.html")
        try Data(html.utf8).write(to: page)
        let screenshot = output.appendingPathComponent("drift-report.png")
        try? FileManager.default.removeItem(at: screenshot)

        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=\(output.path)/chromium-profile"]
        let dom = try await run(chromium, common + ["--dump-dom", page.absoluteString])
        #expect(dom.status == 0, "chromium failed: \(dom.err.suffix(500))")
        #expect(dom.out.components(separatedBy: "<svg").count - 1 >= 10, "charts in the DOM")
        #expect(dom.out.contains("id=\"f-amount\""))
        #expect(!dom.err.contains("Uncaught"), "no page errors")

        let shot = try await run(chromium, common + ["--screenshot=\(screenshot.path)", "--window-size=1200,3000", page.absoluteString])
        #expect(shot.status == 0)
        let png = try Data(contentsOf: screenshot)
        #expect(png.count > 10_000 && png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]), "a real PNG screenshot")
    }

    private func run(_ path: String, _ arguments: [String]) async throws -> Finished {
        try await DriftlineTestSupport.run(URL(fileURLWithPath: path), arguments)
    }
}

extension DriftReport {
    func field(_ path: String) -> FieldSection? { fields.first { $0.path == path } }
}
