// Measures heap allocations on the profiling hot path, which must allocate nothing per record once
// warm. Run with the interposer preloaded, e.g.
//   LD_PRELOAD=.build/debug/libMallocInterposerSwift.so .build/debug/ProfileAllocationProbe 200000
// Prints one line of JSON: records measured and malloc calls during scan-only and scan+profile.
import DriftlineProfiling
import DriftlineSampleData
import MallocInterposerSwift

let records = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 200_000
let dataset = DriftDataset(records: records)
var lines: [[UInt8]] = []
lines.reserveCapacity(records)
dataset.forEachRecord { _, record in lines.append(Array(record)) }

let scanner = JSONScanner()
let window = WindowProfile()
let warmUp = records / 2

// Warm up: buffers grow to the largest record, every field and sketch is created.
for line in lines[..<warmUp] { line.withUnsafeBytes { _ = window.add($0, scanner: scanner) } }

MallocInterposerSwift.initialize()
MallocInterposerSwift.reset()
MallocInterposerSwift.hook()
for line in lines[warmUp...] { line.withUnsafeBytes { try? scanner.scan($0) } }
MallocInterposerSwift.unhook()
let scanMallocs = MallocInterposerSwift.getStatistics().mallocCount

MallocInterposerSwift.reset()
MallocInterposerSwift.hook()
for line in lines[warmUp...] { line.withUnsafeBytes { _ = window.add($0, scanner: scanner) } }
MallocInterposerSwift.unhook()
let profileMallocs = MallocInterposerSwift.getStatistics().mallocCount

print(#"{"records": \#(records - warmUp), "scanMallocs": \#(scanMallocs), "profileMallocs": \#(profileMallocs), "profiled": \#(window.recordCount)}"#)
