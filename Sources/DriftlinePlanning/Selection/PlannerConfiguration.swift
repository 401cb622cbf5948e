/// The planner's knobs. Costs are in buffer accesses (8 KiB pages read, what `EXPLAIN (BUFFERS)`
/// counts); times convert at `scanBuffersPerSecond`.
public struct PlannerConfiguration: Equatable, Sendable {
    public var horizonDays: Double = 30
    /// A change must save this much more than it costs (0.25: the saving over the horizon is at
    /// least 1.25 × the re-partitioning cost), the planner's hysteresis against flapping.
    public var margin: Double = 0.25
    /// …and cut the workload's cost by at least this fraction.
    public var minimumImprovement: Double = 0.10
    /// PostgreSQL plans well up to about a thousand partitions when queries prune; more, and
    /// planning and locking costs dominate.
    public var maximumPartitions: Int = 1024
    /// Partitions smaller than this are not worth their catalog entries.
    public var minimumPartitionBytes: Double = 1_048_576
    /// Rows the executor copies per second (the executor's benchmark measures this).
    public var copyRowsPerSecond: Double = 200_000
    /// Shared-buffer page reads per second of one backend, to turn seconds into buffer accesses.
    public var scanBuffersPerSecond: Double = 150_000
    /// Planning and executor start-up per partition that survives plan-time pruning (~15 µs).
    public var planningBuffersPerPartition: Double = 2
    /// Creating (and attaching) one partition later in the horizon.
    public var maintenanceSecondsPerPartition: Double = 0.05
    /// Catalog entries, free-space and visibility maps per partition and index.
    public var storageBuffersPerPartition: Double = 3
    /// How much of the gap between the largest scanned partition and the mean a parallel scan pays.
    public var parallelSkewWeight: Double = 0.05
    /// The period a log covers when its lines carry no time (plain SQL files): one day.
    public var periodDays: Double?

    public init() {}
}
