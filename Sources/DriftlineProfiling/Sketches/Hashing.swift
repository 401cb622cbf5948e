/// 64-bit hashing for sketches. Not cryptographic; what matters is that every output bit depends on
/// every input bit, because HyperLogLog reads the leading bits and SpaceSaving the whole value.
enum Hash64 {
    /// The splitmix64 finalizer: a bijective avalanche over 64 bits.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    static func double(_ value: Double) -> UInt64 {
        // +0 and -0 are one value.
        mix(value == 0 ? 0 : value.bitPattern)
    }

    /// Hash of a byte string, 8 bytes at a time.
    @inline(__always)
    static func bytes(_ start: UnsafeRawPointer, _ count: Int, seed: UInt64 = 0x2545_F491_4F6C_DD1D) -> UInt64 {
        var hash = seed ^ (UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15)
        var offset = 0
        while offset + 8 <= count {
            let word = start.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            hash = (hash ^ mix(word)) &* 0xFF51_AFD7_ED55_8CCD
            hash = (hash << 31) | (hash >> 33)
            offset += 8
        }
        if offset < count {
            // The last 1–7 bytes as a little-endian word, in at most three loads (most field paths
            // and values are shorter than 8 bytes: a byte loop was most of their hash).
            let remaining = count - offset
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            if remaining & 4 != 0 {
                tail = UInt64(UInt32(littleEndian: start.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                shift = 32
                offset += 4
            }
            if remaining & 2 != 0 {
                tail |= UInt64(UInt16(littleEndian: start.loadUnaligned(fromByteOffset: offset, as: UInt16.self))) << shift
                shift += 16
                offset += 2
            }
            if remaining & 1 != 0 { tail |= UInt64(start.load(fromByteOffset: offset, as: UInt8.self)) << shift }
            hash = (hash ^ mix(tail)) &* 0xFF51_AFD7_ED55_8CCD
        }
        return mix(hash)
    }

    static func bytes(_ buffer: UnsafeRawBufferPointer) -> UInt64 {
        guard let base = buffer.baseAddress else { return bytes(UnsafeRawPointer(bitPattern: 8)!, 0) }
        return bytes(base, buffer.count)
    }

    static func string(_ text: String) -> UInt64 {
        var text = text
        return text.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
    }
}
