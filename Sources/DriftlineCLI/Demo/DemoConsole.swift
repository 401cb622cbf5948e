import DriftlineExecutor
import DriftlineKafka
import DriftlineMessages
import DriftlineMetadata
import Foundation

/// The demo's live summary: reads the alert, command and status topics as an outside subscriber
/// would and prints what arrives, with the detectors' progress every few seconds; the plan of the
/// first command goes to the output folder.
final class DemoConsole {
    private let consumer: KafkaConsumer
    private let topics: DriftlineTopics
    private let folder: URL
    private let admin: KafkaAdmin
    private var starts: [TopicPartitionOffset] = []
    /// The next offset to read per partition (what was read so far).
    private var positions: [TopicPartition: Int64] = [:]
    private var lastProgress = Date.distantPast
    private var lastProgressLine = ""
    private(set) var alertsRead: Int64 = 0
    /// Ids of the dead letters read: a record re-read after a rebalance between the two detectors
    /// is sampled again, with the same id.
    private(set) var deadLetterIDs = Set<String>()
    private(set) var planPath: String?
    private(set) var commandID: String?
    private(set) var lastState: String?
    private(set) var commandEnded = false
    private(set) var completed = false
    /// The planner's decisions shown so far, and the last one (why no command came, if none did).
    private var decisionsShown = 0
    private(set) var lastDecision: PlanDecisionRecord?

    init(client: KafkaClientConfiguration, topics: DriftlineTopics, folder: URL) throws {
        var configuration = KafkaConsumerConfiguration(client: client, groupID: "driftline-demo-console-\(UUID().uuidString.prefix(8))")
        configuration.queuedMinMessages = 100
        consumer = try KafkaConsumer(configuration: configuration)
        // From the topics' ends now: on a cluster used before (--brokers), earlier runs' alerts and
        // statuses are not this run's.
        admin = try KafkaAdmin(configuration: client)
        let metadata = try admin.describeCluster()
        var starts: [TopicPartitionOffset] = []
        for name in [topics.alerts, topics.repartitionCommands, topics.repartitionStatus, topics.deadLetter] {
            for partition in metadata.topic(name)?.partitions ?? [] {
                starts.append(TopicPartitionOffset(topic: name, partition: partition.id, offset: try admin.watermarks(TopicPartition(name, partition.id)).high))
            }
        }
        try consumer.assign(starts)
        self.starts = starts
        for start in starts { positions[start.topicPartition] = start.offset }
        self.topics = topics
        self.folder = folder
    }

    /// Reads until every partition's end as of now (the services have stopped: nothing more comes),
    /// at most 30 s.
    func drain() throws {
        var ends: [TopicPartition: Int64] = [:]
        for start in starts { ends[start.topicPartition] = try admin.watermarks(start.topicPartition).high }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, ends.contains(where: { (positions[$0.key] ?? 0) < $0.value }) { try poll() }
    }

    func close() { try? consumer.close() }  // the demo is over; a failed leave only delays the group's cleanup

    /// Prints what arrived since the last call.
    func poll() throws {
        for event in consumer.poll(maxMessages: 500, timeout: .milliseconds(50)) {
            guard case let .message(message) = event else { continue }
            positions[message.topicPartition] = message.offset + 1
            guard let value = message.value.map({ Data($0) }) else { continue }
            switch message.topic {
            case topics.alerts:
                alertsRead += 1
                if let alert = try? JSONDecoder().decode(AlertMessage.self, from: value) {  // not an alert: someone else's message, skipped
                    print("  alert [\(alert.state)] \(alert.message)")
                }
            case topics.deadLetter:
                // Not JSON: someone else's message on the topic, skipped.
                if let object = try? JSONSerialization.jsonObject(with: value) as? [String: Any], let id = object["id"] as? String { deadLetterIDs.insert(id) }
            case topics.repartitionCommands:
                guard let command = try? JSONDecoder().decode(RepartitionCommand.self, from: value) else { continue }  // as above
                let plan = command.plan
                print("  plan for \(command.table): \(plan.strategy.summary) — \(plan.reason)")
                print(String(format: "    predicted to save %.0f%% of the table's read cost over %.0f days; moving it copies %.0f rows", plan.estimated.improvement * 100,
                             plan.estimated.horizonDays, Double(plan.resources.rows)))
                print("    command \(command.id) sent to \(topics.repartitionCommands)\(command.dryRun ? " (dry run)" : "")")
                if planPath == nil {
                    let path = folder.appendingPathComponent("plan.json")
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    try encoder.encode(plan).write(to: path)
                    planPath = path.path
                }
                commandID = command.id
            case topics.repartitionStatus:
                guard let status = try? JSONDecoder().decode(RepartitionStatus.self, from: value) else { continue }  // as above
                lastState = status.state.rawValue
                var line = "  executor: \(status.state.rawValue)"
                if status.rowsTotal > 0, [.copying, .replaying, .verifying].contains(status.state) { line += " \(status.rowsDone)/\(status.rowsTotal) rows" }
                if let rate = status.rate, status.state == .copying { line += String(format: " at %.0f rows/s", rate) }
                if let eta = status.etaSeconds, status.state == .copying { line += String(format: ", %.0f s left", eta) }
                if let message = status.message { line += " — \(message)" }
                if let error = status.error { line += " — \(error)" }
                print(line)
                if status.commandId == commandID, [.completed, .failed, .rejected, .rolledBack].contains(status.state) {
                    commandEnded = true
                    completed = status.state == .completed
                }
            default:
                break
            }
        }
    }

    /// Prints the planner's decisions on `table` recorded since the last call (a change is shown by
    /// its command, from the commands topic).
    func showPlanDecisions(_ repository: MetadataRepository, table: String) async throws {
        let decisions = try await repository.log(PlanDecisionRecord.self, kind: MetadataKind.planDecision, source: table)
        for decision in decisions.dropFirst(decisionsShown) where decision.decision != "repartition" {
            print("  planner (\(decision.trigger)): \(decision.decision) — \(decision.reason)")
        }
        decisionsShown = max(decisionsShown, decisions.count)
        lastDecision = decisions.last ?? lastDecision
    }

    /// The detectors' progress, every 2 s when it changed.
    func progress(consumed: Int64, of total: Int64, scored: Int64) {
        let line = "  detectors: \(min(consumed, total))/\(total) records, \(scored) windows scored"
        guard Date().timeIntervalSince(lastProgress) >= 2, line != lastProgressLine else { return }
        lastProgress = Date()
        lastProgressLine = line
        print(line)
    }

    func endProgress() {}
}
