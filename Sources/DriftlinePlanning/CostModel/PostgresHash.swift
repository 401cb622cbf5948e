/// The partition PostgreSQL's hash partitioning puts an integer key in: `hashint8extended` /
/// `hashint4extended` with the partition seed, combined as `compute_partition_hash_value` does, then
/// the remainder by the modulus. Knowing the exact partition lets the planner tell how many
/// partitions an IN list touches and where the most common values pile up. Checked against a real
/// server in the tests (rows land where this says).
public enum PostgresHash {
    static let partitionSeed: UInt64 = 0x7A5B_2236_7996_DCFD

    public static func partition(ofInteger value: Int64, modulus: Int) -> Int {
        let low = UInt32(truncatingIfNeeded: value), high = UInt32(truncatingIfNeeded: value >> 32)
        let folded = low ^ (value >= 0 ? high : ~high)
        let hash = uint32Extended(folded, seed: partitionSeed)
        let combined = combine64(0, hash)
        return Int(combined % UInt64(modulus))
    }

    static func combine64(_ a: UInt64, _ b: UInt64) -> UInt64 {
        a ^ (b &+ 0x49A0_F4DD_15E5_A8E3 &+ (a << 54) &+ (a >> 7))
    }

    /// Bob Jenkins' lookup3 on one 32-bit word, seeded (PostgreSQL's `hash_bytes_uint32_extended`).
    static func uint32Extended(_ k: UInt32, seed: UInt64) -> UInt64 {
        var a: UInt32 = 0x9E37_79B9 &+ 4 &+ 3_923_095
        var b = a, c = a
        if seed != 0 {
            a &+= UInt32(truncatingIfNeeded: seed >> 32)
            b &+= UInt32(truncatingIfNeeded: seed)
            mix(&a, &b, &c)
        }
        a &+= k
        final(&a, &b, &c)
        return UInt64(b) << 32 | UInt64(c)
    }

    private static func rotate(_ x: UInt32, _ k: UInt32) -> UInt32 { (x << k) | (x >> (32 - k)) }

    private static func mix(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        a &-= c; a ^= rotate(c, 4); c &+= b
        b &-= a; b ^= rotate(a, 6); a &+= c
        c &-= b; c ^= rotate(b, 8); b &+= a
        a &-= c; a ^= rotate(c, 16); c &+= b
        b &-= a; b ^= rotate(a, 19); a &+= c
        c &-= b; c ^= rotate(b, 4); b &+= a
    }

    private static func final(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        c ^= b; c &-= rotate(b, 14)
        a ^= c; a &-= rotate(c, 11)
        b ^= a; b &-= rotate(a, 25)
        c ^= b; c &-= rotate(b, 16)
        a ^= c; a &-= rotate(c, 4)
        b ^= a; b &-= rotate(a, 14)
        c ^= b; c &-= rotate(b, 24)
    }
}
