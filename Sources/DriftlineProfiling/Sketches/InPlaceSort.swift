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

private func quicksort(_ base: UnsafeMutablePointer<Double>, _ count: Int) {
    guard count > 1 else { return }
    var low = 0
    var high = count - 1
    // Quicksort with median-of-three, recursing into the smaller side (stack depth ≤ log2(n)),
    // insertion sort for short runs.
    while high - low > 16 {
        let middle = low + (high - low) / 2
        if base[middle] < base[low] { swap(base, middle, low) }
        if base[high] < base[low] { swap(base, high, low) }
        if base[high] < base[middle] { swap(base, high, middle) }
        let pivot = base[middle]
        var i = low
        var j = high
        while i <= j {
            while base[i] < pivot { i += 1 }
            while base[j] > pivot { j -= 1 }
            if i <= j {
                swap(base, i, j)
                i += 1
                j -= 1
            }
        }
        if j - low < high - i {
            quicksort(base + low, j - low + 1)
            low = i
        } else {
            quicksort(base + i, high - i + 1)
            high = j
        }
    }
    if high > low { insertionSort(base + low, high - low + 1) }
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
