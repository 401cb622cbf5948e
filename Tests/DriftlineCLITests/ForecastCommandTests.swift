import Foundation
import DriftlineTestSupport
import Testing

/// `driftline forecast` end to end: the documented JSON, the fallbacks, and messages for bad input.
@Suite struct ForecastCommandTests {
    func write(_ text: String, suffix: String = "csv") throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("series-\(UUID().uuidString).\(suffix)")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    struct Output: Decodable {
        var model: String
        var season: Int?
        var times: [String]?
        var forecast: [Double]
        var lower_80: [Double], upper_80: [Double], lower_95: [Double], upper_95: [Double]
    }

    @Test func seasonalSeriesWithoutAHeaderGivesTheDocumentedJSON() async throws {
        // 10 years of a monthly pattern on a trend, one value per line and no header.
        func curve(_ t: Double) -> Double { 100 + 0.5 * t + 10 * sin(2 * .pi * t / 12) }
        let values: [Double] = (0..<120).map { t in curve(Double(t)) + Double((t * 7919) % 13) / 13 - 0.5 }
        let path = try write(values.map { String($0) }.joined(separator: "\n") + "\n")
        let result = try await runDriftline(["forecast", "--series", path, "--horizon", "12", "--season", "12", "--format", "json"])
        #expect(result.status == 0, "\(result.err)")
        let output = try JSONDecoder().decode(Output.self, from: Data(result.out.utf8))
        #expect(output.season == 12 && output.forecast.count == 12 && output.upper_95.count == 12)
        for h in 0..<12 {
            #expect(output.lower_95[h] <= output.lower_80[h] && output.lower_80[h] <= output.forecast[h])
            #expect(output.forecast[h] <= output.upper_80[h] && output.upper_80[h] <= output.upper_95[h])
            // The pattern continues: within 3 of the noiseless curve one year on.
            let expected = curve(Double(120 + h))
            #expect(abs(output.forecast[h] - expected) < 3, "step \(h + 1): \(output.forecast[h]) vs \(expected)")
        }
        #expect(result.err.contains("chosen on 3 holdout(s)"), "\(result.err)")
    }

    /// Day `day` (0-based) of 2026 as (month, day of month).
    static func monthAndDay(_ day: Int) -> (Int, Int) {
        let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        var rest = day, month = 0
        while rest >= lengths[month] { rest -= lengths[month]; month += 1 }
        return (month + 1, rest + 1)
    }

    @Test func aDatedSeriesForecastsWithProphetOnTheSameCalendarStep() async throws {
        // Four years of month starts with a yearly cycle: Prophet switches its yearly terms on from
        // the dates, and the forecast's times are the next month starts.
        var lines = ["date,value"]
        for month in 0..<48 {
            let year = 2022 + month / 12, m = month % 12 + 1
            lines.append(String(format: "%04d-%02d-01,%.3f", year, m, 50 + 0.3 * Double(month) + 8 * sin(2 * .pi * Double(month) / 12)))
        }
        let result = try await runDriftline(["forecast", "--series", try write(lines.joined(separator: "\n")), "--horizon", "3", "--model", "prophet"])
        #expect(result.status == 0, "\(result.err)")
        let output = try JSONDecoder().decode(Output.self, from: Data(result.out.utf8))
        #expect(output.model == "Prophet(linear, yearly 10)")
        #expect(output.times == ["2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"])
        for (h, value) in output.forecast.enumerated() {
            let expected = 50 + 0.3 * Double(48 + h) + 8 * sin(2 * .pi * Double(48 + h) / 12)
            #expect(abs(value - expected) < 2, "step \(h + 1): \(value) vs \(expected)")
        }
        // A share rising towards 1, with logistic growth at capacity 1: the forecast stays below it.
        let share = ["date,value"] + (0..<120).map { day -> String in
            let (month, dayOfMonth) = Self.monthAndDay(day)
            return String(format: "2026-%02d-%02d,%.4f", month, dayOfMonth, 0.95 / (1 + exp(-Double(day - 60) / 10)))
        }
        let shareFile = try write(share.joined(separator: "\n"))
        let logistic = try await runDriftline(["forecast", "--series", shareFile, "--horizon", "60", "--model", "prophet", "--growth", "logistic", "--capacity", "1"])
        #expect(logistic.status == 0, "\(logistic.err)")
        let capped = try JSONDecoder().decode(Output.self, from: Data(logistic.out.utf8))
        #expect(capped.model.hasPrefix("Prophet(logistic") && capped.forecast.allSatisfy { $0 < 1.02 }, "\(capped.model): \(capped.forecast.max() ?? 0)")
        let missing = try await runDriftline(["forecast", "--series", shareFile, "--horizon", "3", "--model", "prophet", "--growth", "logistic"])
        #expect(missing.status != 0 && missing.err.contains("--growth logistic needs --capacity"), "\(missing.err)")
        // A time that goes backwards is refused with its line.
        let backwards = try await runDriftline(["forecast", "--series", try write("date,value\n2026-01-02,1\n2026-01-01,2\n"), "--horizon", "1", "--model", "prophet"])
        #expect(backwards.status != 0 && backwards.err.contains("line 3") && backwards.err.contains("not after"), "\(backwards.err)")
    }

    @Test func constantAndGappySeriesFallBackWithANote() async throws {
        let constant = try await runDriftline(["forecast", "--series", try write("[5, 5, 5, 5, 5, 5]", suffix: "json"), "--horizon", "3", "--format", "json"])
        #expect(constant.status == 0, "\(constant.err)")
        let flat = try JSONDecoder().decode(Output.self, from: Data(constant.out.utf8))
        #expect(flat.forecast == [5, 5, 5] && flat.lower_95 == [5, 5, 5])
        #expect(constant.err.contains("the series is constant"), "\(constant.err)")

        let gappy = try await runDriftline(["forecast", "--series", try write("value\n1\n2\nnull\n4\nNaN\n6\n7\n8\n9\n10\n11\n12\n"), "--horizon", "2", "--model", "drift", "--format", "json"])
        #expect(gappy.status == 0, "\(gappy.err)")
        let line = try JSONDecoder().decode(Output.self, from: Data(gappy.out.utf8))
        #expect(abs(line.forecast[0] - 13) < 1e-9 && abs(line.forecast[1] - 14) < 1e-9, "\(line.forecast)")
        #expect(gappy.err.contains("2 missing values inside the series were interpolated"), "\(gappy.err)")
    }

    @Test(arguments: [
        (["--horizon", "0"], "[1, 2, 3]", "--horizon must be at least 1"),
        (["--horizon", "3", "--season", "1"], "[1, 2, 3]", "--season must be at least 2"),
        (["--horizon", "3"], "[7]", "the series has 1 usable values; at least 2 are needed"),
        (["--horizon", "3"], "[null, null]", "the series has 0 usable values"),
        (["--horizon", "3"], "[1, \"x\"]", "element 1 is not a number or null"),
    ])
    func badInputIsRefusedWithAReason(arguments: [String], series: String, message: String) async throws {
        let result = try await runDriftline(["forecast", "--series", try write(series, suffix: "json")] + arguments)
        #expect(result.status != 0)
        #expect(result.err.contains(message), "\(result.err)")
    }

    @Test func missingFileIsReported() async throws {
        let result = try await runDriftline(["forecast", "--series", "/nonexistent/series.csv", "--horizon", "3"])
        #expect(result.status != 0 && result.err.contains("no such file: /nonexistent/series.csv"), "\(result.err)")
    }
}
