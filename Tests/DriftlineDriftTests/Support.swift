import DriftlineProfiling
import Foundation

/// Profiles JSON records (one object per string) into a window.
func window(_ records: [String], configuration: ProfileConfiguration = ProfileConfiguration()) -> WindowProfile {
    let window = WindowProfile(configuration: configuration)
    let scanner = JSONScanner(options: configuration.scannerOptions)
    for record in records {
        var bytes = Array(record.utf8)
        bytes.withUnsafeMutableBytes { _ = window.add(UnsafeRawBufferPointer($0), scanner: scanner) }
    }
    return window
}

func numberRecords(_ values: [Double], field: String = "x") -> [String] {
    values.map { #"{"\#(field)": \#($0)}"# }
}

func close(_ actual: Double?, _ expected: Double, relative: Double = 1e-9, absolute: Double = 1e-12) -> Bool {
    guard let actual else { return false }
    return abs(actual - expected) <= max(absolute, relative * abs(expected))
}
