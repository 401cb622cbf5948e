import DriftlineDetector
import DriftlineKafka
import DriftlineServiceRuntime
import Foundation
import Logging

/// The aggregation half of one detector instance, run beside the source half: it reads partials
/// from the profiles topic (its own consumer, in the `<groupId>.aggregation` group), performs the
/// `Aggregation`, and commits the profiles topic at the oldest partial still pending.
///
/// The loop starts one `step` at a time on the aggregation's own executor and awaits it before
/// starting the next, so the aggregation of step N overlaps the polling and profiling of step N+1
/// (it used to run between them on the loop's thread, bursting tens of milliseconds a window while
/// the lanes waited). `@unchecked Sendable`: while a step is in flight only that step touches this
/// object; the loop reads `profilesNext`, `stages` and `stepCPU` only after awaiting it. The
/// consumer's revocation callback runs inside its poll, i.e. inside the step, so it needs no lock.
final class AggregationSide: @unchecked Sendable {
    let consumer: KafkaConsumer
    let aggregation: Aggregation
    private let profilesTopic: String
    private let status: ServiceStatus
    private let logger: Logger
    /// Partials read in the current step, handled after the poll (lease and store calls are async).
    private var batchPartials: [ReadPartial] = []
    /// Per profiles partition, the offset after the last message read.
    private(set) var profilesNext: [Int32: Int64] = [:]
    private var commits: GroupCommits
    /// CPU of this side's synchronous stages in the steps since the loop last took it.
    var stepCPU = StageCPU()

    init(consumer: KafkaConsumer, aggregation: Aggregation, profilesTopic: String, publisher: OutputPublisher, status: ServiceStatus, logger: Logger) {
        self.consumer = consumer
        self.aggregation = aggregation
        self.profilesTopic = profilesTopic
        self.status = status
        self.logger = logger
        commits = GroupCommits(consumer: consumer, profilesTopic: profilesTopic, publisher: publisher, logger: logger)
        // Weak: the consumer may close from its deinit after this side is gone (a failed start).
        consumer.onRevoke = { [weak self] partitions in self?.revoke(partitions) }
    }

    /// Reads the partials available now, merges them, scores what is ready, collects finished
    /// planning runs and commits; true if partials were read or windows scored.
    func step(now: Int64) async throws -> Bool {
        let events = stepCPU.measure(DetectorStage.partialsRead.rawValue) {
            consumer.consumeBatch(maxMessages: 5_000, timeout: .zero) { message in read(message) }
        }
        if try events.handleClientEvents(client: "profiles", logger: logger) != nil { status.update { $0.ready = true } }
        await aggregation.releaseLeases()
        let partials = batchPartials
        batchPartials.removeAll()
        let progressed = try await aggregation.add(partials, now: now)
        try await aggregation.collectPlans()
        try stepCPU.measure(DetectorStage.commit.rawValue) { try commit() }
        try await aggregation.renewLeases()
        return progressed
    }

    /// Every partial up to `sent` (per profiles partition) has been read here.
    func hasRead(through sent: [Int32: Int64]) -> Bool {
        sent.allSatisfy { partition, end in (profilesNext[partition] ?? 0) >= end }
    }

    /// Commits the profiles topic where the pending partials allow (after a flush, so the outputs of
    /// every scored window are durable first).
    func commit() throws { try commits.commit(positions()) }

    /// Shutdown (after the last step): every lease goes, and the consumer leaves its group.
    func close() async throws {
        try consumer.close()
        await aggregation.releaseAll()
    }

    /// After a failure: leave the group without committing anything new.
    func abandon() {
        consumer.onRevoke = nil
        do { try consumer.close() } catch {
            // The group then rebalances after the session timeout instead of at once; nothing is lost.
            logger.warning("closing the profiles consumer after a failure: \(error)")
        }
    }

    private func read(_ message: KafkaMessageView) {
        profilesNext[message.partition] = message.offset + 1
        guard let value = message.value else { return }
        do {
            let partial = try PartialProfileMessage(decoding: value)
            batchPartials.append((message.partition, message.offset, partial))
        } catch {
            logger.error("skipping a message on \(profilesTopic)[\(message.partition)]@\(message.offset): \(error)")
        }
    }

    /// Profiles partitions at the oldest partial still pending (in an aggregator or in the batch).
    private func positions() -> [TopicPartition: Int64] {
        var pending = aggregation.pendingOffsets
        for partial in batchPartials { pending[partial.partition, default: []].append(partial.offset) }
        var result: [TopicPartition: Int64] = [:]
        for (partition, position) in CommitTracker.profilesPositions(next: profilesNext, pending: pending) {
            result[TopicPartition(profilesTopic, partition)] = position
        }
        return result
    }

    /// Called inside the poll when profiles partitions are revoked: their aggregators go (leases
    /// released after the batch); the next owner re-reads from the oldest partial still pending.
    private func revoke(_ partitions: [TopicPartition]) {
        commits.storeRevoked(partitions, positions: positions())
        let lost = Set(partitions.map(\.partition))
        aggregation.revoke(profilesPartitions: lost)
        batchPartials.removeAll { lost.contains($0.partition) }
        for partition in lost { profilesNext.removeValue(forKey: partition) }
    }
}
