import DriftlineDetector
import Testing

@Suite struct TumblingWindowsTests {
    @Test func windowsCloseWhenTheWatermarkPassesEndPlusLateness() {
        var windows = TumblingWindows(size: 1_000, allowedLateness: 200)
        #expect(windows.place(partition: 0, time: 100, now: 0) == .window(start: 0))
        #expect(windows.place(partition: 0, time: 999, now: 0) == .window(start: 0))
        #expect(windows.place(partition: 0, time: 1_100, now: 0) == .window(start: 1_000))
        #expect(windows.closeReady(now: 0) == [], "watermark 1100 < 1000 + 200")
        #expect(windows.place(partition: 0, time: 1_050, now: 0) == .window(start: 1_000))
        #expect(windows.place(partition: 0, time: 950, now: 0) == .window(start: 0), "out of order but within lateness")
        #expect(windows.place(partition: 0, time: 1_200, now: 0) == .window(start: 1_000))
        #expect(windows.closeReady(now: 0) == [0])
        #expect(windows.place(partition: 0, time: 990, now: 0) == .late(windowStart: 0), "its window has closed")
        #expect(windows.lateRecords == 1)
        #expect(windows.openWindows == [1_000])
    }

    @Test func theSlowestActivePartitionHoldsWindowsOpen() {
        var windows = TumblingWindows(size: 1_000, allowedLateness: 0, idleTimeout: 5_000)
        _ = windows.place(partition: 0, time: 500, now: 0)
        _ = windows.place(partition: 1, time: 400, now: 0)
        _ = windows.place(partition: 0, time: 3_000, now: 100)
        #expect(windows.watermark(now: 100) == 400)
        #expect(windows.closeReady(now: 100) == [])
        _ = windows.place(partition: 1, time: 1_500, now: 200)
        #expect(windows.closeReady(now: 200) == [0], "both partitions are past 1000")
        // Partition 1 goes quiet; after the idle timeout it no longer holds the watermark.
        #expect(windows.closeReady(now: 4_000) == [], "partition 1 (at 1500) still counts")
        _ = windows.place(partition: 0, time: 3_100, now: 5_500)
        #expect(windows.watermark(now: 5_500) == 3_100, "partition 1 has been quiet longer than the idle timeout")
        #expect(windows.closeReady(now: 5_500) == [1_000])
        #expect(windows.openWindows == [3_000])
    }

    @Test func revokedPartitionsStopHoldingTheWatermark() {
        var windows = TumblingWindows(size: 100)
        _ = windows.place(partition: 0, time: 50, now: 0)
        _ = windows.place(partition: 1, time: 450, now: 0)
        #expect(windows.closeReady(now: 0) == [])
        windows.revoke([0])
        #expect(windows.closeReady(now: 0) == [0])
    }

    @Test func negativeTimesLandInTheRightWindow() {
        let windows = TumblingWindows(size: 1_000)
        #expect(windows.windowStart(-1) == -1_000)
        #expect(windows.windowStart(-1_000) == -1_000)
        #expect(windows.windowStart(0) == 0)
    }
}
