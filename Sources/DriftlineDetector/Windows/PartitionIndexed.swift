extension Array {
    /// Per-partition state lives in arrays indexed by partition number (partitions are
    /// 0 ..< count): grows the array with `filler` so that `index` is valid.
    mutating func extend(toInclude index: Int, with filler: Element) {
        if index >= count { append(contentsOf: repeatElement(filler, count: index + 1 - count)) }
    }
}
