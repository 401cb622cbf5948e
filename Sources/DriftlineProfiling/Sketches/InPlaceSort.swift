/// Sorts doubles in place without allocating (Swift's `sort()` may allocate a merge buffer, and the
/// quantile sketch sorts on the hot path).
@inline(__always)
func sortInPlace(_ base: UnsafeMutablePointer<Double>, _ count: Int) {
    guard count > 1 else { return }
    // Ids and timestamps arrive in order within a partition, so a quantile sketch's levels for them
    // are already sorted: one pass finds that (and stops at the first descent otherwise).
    var sorted = true
    for index in 1..<count where base[index] < base[index - 1] {
        sorted = false
        break
    }
    if !sorted { quicksort(base, count) }
}

private func quicksort(_ start: UnsafeMutablePointer<Double>, _ total: Int) {
    var base = start
    var count = total
    // Quicksort with median-of-three, recursing into the smaller side (stack depth ≤ log2(n)),
    // insertion sort for short runs. The partition is branchless (Lomuto, every item swapped, the
    // boundary moved by the comparison's result as a number; `? 1 : 0` compiled to a branch):
    // level 0 of a quantile sketch holds values in random order, and the branch of a classic
    // partition mispredicted on half of them (the sort was 5% of the detector's CPU).
    while count > 16 {
        let middle = count / 2
        let last = count - 1
        if base[middle] < base[0] { swap(base, middle, 0) }
        if base[last] < base[0] { swap(base, last, 0) }
        if base[last] < base[middle] { swap(base, last, middle) }
        swap(base, 0, middle)
        let pivot = base[0]
        // base[1 ..< less] < pivot ≤ base[less ..< index].
        var less = 1
        for index in 1..<count {
            let value = base[index]
            base[index] = base[less]
            base[less] = value
            less &+= Int(unsafeBitCast(value < pivot, to: UInt8.self))
        }
        swap(base, 0, less - 1)
        var right = less
        if less == 1 {
            // Nothing below the pivot: move the items equal to it next to it, so many duplicates
            // (integer codes, quantities) do not make each round take one item.
            for index in less..<count {
                let value = base[index]
                base[index] = base[right]
                base[right] = value
                right &+= Int(unsafeBitCast(value == pivot, to: UInt8.self))
            }
        }
        let leftCount = less - 1
        let rightCount = count - right
        if leftCount < rightCount {
            quicksort(base, leftCount)
            base += right
            count = rightCount
        } else {
            quicksort(base + right, rightCount)
            count = leftCount
        }
    }
    if count > 1 { insertionSort(base, count) }
}

@inline(__always)
private func swap(_ base: UnsafeMutablePointer<Double>, _ a: Int, _ b: Int) {
    let t = base[a]
    base[a] = base[b]
    base[b] = t
}

@inline(__always)
private func insertionSort(_ base: UnsafeMutablePointer<Double>, _ count: Int) {
    var i = 1
    while i < count {
        let value = base[i]
        var j = i - 1
        while j >= 0, base[j] > value {
            base[j + 1] = base[j]
            j -= 1
        }
        base[j + 1] = value
        i += 1
    }
}
