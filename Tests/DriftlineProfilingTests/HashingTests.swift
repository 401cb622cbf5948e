@testable import DriftlineProfiling
import Testing

/// Sketches and partials from different builds and instances must hash alike: the word-wise tail
/// gives exactly the byte-at-a-time definition, on every length and alignment.
@Suite struct HashingTests {
    /// The definition: 8-byte little-endian words, then the rest assembled one byte at a time.
    private func reference(_ bytes: [UInt8], seed: UInt64 = 0x2545_F491_4F6C_DD1D) -> UInt64 {
        var hash = seed ^ (UInt64(truncatingIfNeeded: bytes.count) &* 0x9E37_79B9_7F4A_7C15)
        var offset = 0
        while offset + 8 <= bytes.count {
            var word: UInt64 = 0
            for index in 0..<8 { word |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
            hash = (hash ^ Hash64.mix(word)) &* 0xFF51_AFD7_ED55_8CCD
            hash = (hash << 31) | (hash >> 33)
            offset += 8
        }
        if offset < bytes.count {
            var tail: UInt64 = 0
            for index in offset..<bytes.count { tail |= UInt64(bytes[index]) << (8 * UInt64(index - offset)) }
            hash = (hash ^ Hash64.mix(tail)) &* 0xFF51_AFD7_ED55_8CCD
        }
        return Hash64.mix(hash)
    }

    @Test func wordWiseTailEqualsTheByteDefinition() {
        let source: [UInt8] = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for alignment in 0..<8 {
            for length in 0...(source.count - alignment) {
                let bytes = Array(source[alignment..<alignment + length])
                let hash = source.withUnsafeBytes { Hash64.bytes(UnsafeRawBufferPointer(rebasing: $0[alignment..<alignment + length])) }
                #expect(hash == reference(bytes), "length \(length) at offset \(alignment)")
            }
        }
        #expect(Hash64.string("amount") == reference(Array("amount".utf8)))
    }
}
